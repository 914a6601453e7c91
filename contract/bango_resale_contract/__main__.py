"""`python -m bango_resale_contract`: the `bango-resale-contract` command line (see `cli`)."""

from __future__ import annotations

import sys

from bango_resale_contract.cli import main

if __name__ == "__main__":
    sys.exit(main())

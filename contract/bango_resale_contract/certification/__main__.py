"""`python -m bango_resale_contract.certification`: the name `bango-resale-contract certify` had
before the contract command line had commands, kept so that scripts and CI jobs written then
keep working. The same options, the same exit statuses (see `bango_resale_contract.cli`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bango_resale_contract.cli import main as contract_main


def main(argv: Sequence[str] | None = None) -> int:
    """`bango-resale-contract certify` with these arguments."""
    return contract_main(["certify", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

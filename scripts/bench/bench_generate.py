"""Time `make generate`'s work twice and show the two outputs are byte-identical.

Prints the wall time of each run (target: under 10 s) and the number of files compared.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generate


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        trees = []
        for run in (1, 2):
            target = Path(scratch) / f"run{run}"
            started = time.perf_counter()
            generate.validate_spec(generate.SPEC)
            generate.generate_into(target)
            elapsed = time.perf_counter() - started
            print(f"generate run {run}: {elapsed:.2f} s (target < 10 s)")
            trees.append(digest(target))
        identical = trees[0] == trees[1]
        print(f"files: {len(trees[0])}, byte-identical: {identical}")
        return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())

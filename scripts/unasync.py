"""Write the blocking client from the asyncio one, or check it has not drifted.

    python scripts/unasync.py           regenerate overrides/bango_resale/_sync_client.py
    python scripts/unasync.py --check   fail if the committed file differs from what it produces

`_async_client.py` is the one hand-written client; the blocking `ResaleClient` is the same text
with `async`/`await` dropped and each asyncio name swapped for its blocking twin (the approach of
httpcore's unasync script), then formatted by the pinned ruff. Methods and docstrings of the two
clients are therefore identical by construction.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "overrides" / "bango_resale"
SOURCE = PACKAGE / "_async_client.py"
TARGET = PACKAGE / "_sync_client.py"

# Whole words only, applied in order; `async_` helpers have blocking twins without the prefix.
SUBSTITUTIONS = (
    (r"\bAsyncResaleClient\b", "ResaleClient"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\bhttpx\.AsyncBaseTransport\b", "httpx.BaseTransport"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\basync_(\w+)\b", r"\1"),
    (r"\basync (def|with|for)\b", r"\1"),
    (r"\bawait ", ""),
)

HEADER = '''"""`ResaleClient`: the blocking twin of `AsyncResaleClient`.

Generated from `_async_client.py` by `scripts/unasync.py`; do not edit. Change the asyncio
client and run `make generate` (`make drift` fails while the two disagree).
"""
'''


def twin(text: str) -> str:
    """`text` with every asyncio name swapped for its blocking twin."""
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text)
    return text


def unasync(source: str) -> str:
    """The blocking client's module text from the asyncio client's (before formatting)."""
    body = re.sub(r'\A""".*?"""\n', "", source, count=1, flags=re.DOTALL)
    if body == source:
        raise ValueError(f"{SOURCE.name} must start with its module docstring")
    body = twin(body)
    leftover = re.search(r"\bAsync[A-Z]\w*", body)
    if leftover:
        raise ValueError(f"{SOURCE.name}: no blocking twin for {leftover.group(0)!r}")
    return HEADER + body


def formatted(text: str) -> str:
    """`text` through the project's ruff format (as the committed file is)."""
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if _sync_client.py drifted")
    args = parser.parse_args(argv)
    expected = formatted(unasync(SOURCE.read_text()))
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != expected:
            print(f"{TARGET.name} does not match {SOURCE.name}; run `make generate`")
            return 1
        print(f"{TARGET.name} matches {SOURCE.name}")
        return 0
    TARGET.write_text(expected)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

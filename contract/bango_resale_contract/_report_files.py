"""Report files written whole or not at all: a CI job reading one while it is written, or a
run killed half-way, never finds a truncated JSON or JUnit file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def write_atomically(directory: Path, outputs: Mapping[str, bytes]) -> list[Path]:
    """Each `name: bytes` of `outputs` as `directory/name` (made if missing), written to a
    temporary file first and renamed into place; the paths written, in order."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in outputs.items():
        target = directory / name
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
        written.append(target)
    return written

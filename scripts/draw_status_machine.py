"""Draw the partner spec's status machine (`x-status-machine`) as SVG files.

`status-machine.svg` holds every row (the partner reference embeds it by that name);
`status-machine-<STATUS>.svg` the rows that can fire from one status, and
`status-machine-start.svg` the creates. The drawing is `bango_resale_spec.diagram`'s, pure
Python; `make docs` draws the same pictures into the site through `scripts/build_docs.py`.

    python scripts/draw_status_machine.py [OUTPUT_DIR]    # default reports/docs
"""

from __future__ import annotations

import sys
from pathlib import Path

import bango_resale_spec as spec
from bango_resale_spec import diagram

SVG_NAME = "status-machine.svg"


def pictures() -> dict[str, str]:
    """File name -> SVG text, for the whole machine and for each status."""
    machine = spec.status_machine()
    drawn = {SVG_NAME: diagram.status_machine_svg(machine)}
    drawn["status-machine-start.svg"] = diagram.moves_from_svg(machine, None)
    for status in spec.entitlement_statuses():
        drawn[f"status-machine-{status}.svg"] = diagram.moves_from_svg(machine, status)
    return drawn


def draw(output_dir: Path) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in pictures().items():
        target = output_dir / name
        target.write_text(svg, encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in draw(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("reports/docs")):
        print(f"drew {path}")

"""Draw the partner spec's status machine (`x-status-machine`) as an SVG state diagram.

Statuses are nodes (a start point stands for "no entitlement yet"); every row of the table is
an edge labelled with its id, its answer (or its event) and the notifications it sends. Rows
that leave the status alone are drawn as loops; a 202 `OK` that defers the change is dotted,
a platform event dashed. Graphviz `dot` (Debian package `graphviz`, listed in
system-packages.txt) renders it offline. `make docs` runs this before rendering the reference,
which shows the picture (the spec's `info.description` embeds `status-machine.svg`).

    python scripts/draw_status_machine.py [OUTPUT_DIR]    # default reports/docs
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import bango_resale_spec as spec
from bango_resale_spec import StatusMachine, Transition

START = "start"
SVG_NAME = "status-machine.svg"


def _label(row: Transition) -> str:
    answer = row.event if row.event else f"{row.http_status} {row.response_code}"
    sent = ", ".join(row.notifications) if row.notifications else "no notification"
    return f"{row.id}: {answer} → {sent}"


def _style(row: Transition) -> str:
    if row.event:
        return "dashed"
    if row.defers:
        return "dotted"
    return "solid"


def _quote(text: str) -> str:
    """A DOT string; backslash escapes (the label line breaks) are kept as they are."""
    return '"' + text.replace('"', '\\"') + '"'


def dot_source(machine: StatusMachine) -> str:
    """The diagram in Graphviz's language: one edge per (row, starting status)."""
    terminal = set(spec.terminal_statuses())
    edges: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for row in machine:
        for before in row.from_statuses or (START,):
            after = row.result(None if before == START else before) or before
            edges[(before, after, _style(row))].append(_label(row))
    lines = [
        "digraph status_machine {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.6, ranksep=1.2,'
        ' label="Entitlement status machine (x-status-machine): solid = answered at once,'
        ' dotted = 202 OK (deferred), dashed = platform event", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f'  {START} [shape=circle, label="", width=0.25, fillcolor="#333333"];',
    ]
    for status in spec.entitlement_statuses():
        fill = "#f6e3e3" if status in terminal else "#eef3fb"
        lines.append(f"  {_quote(status)} [fillcolor={_quote(fill)}];")
    for (before, after, style), labels in sorted(edges.items()):
        label = "\\l".join(labels) + "\\l"
        lines.append(
            f"  {_quote(before)} -> {_quote(after)} [style={style}, label={_quote(label)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(output_dir: Path) -> Path:
    """Write status-machine.dot and render status-machine.svg into `output_dir`."""
    dot = shutil.which("dot")
    if dot is None:
        raise SystemExit("Graphviz `dot` is missing: run `make install` (system-packages.txt)")
    output_dir.mkdir(parents=True, exist_ok=True)
    source = output_dir / "status-machine.dot"
    source.write_text(dot_source(spec.status_machine()), encoding="utf-8")
    target = output_dir / SVG_NAME
    subprocess.run([dot, "-Tsvg", "-o", str(target), str(source)], check=True)
    return target


if __name__ == "__main__":
    out = draw(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("reports/docs"))
    print(f"drew {out}")

"""`bango_resale_spec.diagram`: the status machine drawn as SVG from the table, in pure Python."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

import bango_resale_spec as spec
from bango_resale_spec import diagram

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[ElementTree.Element]:
    return list(ElementTree.fromstring(svg).iter(f"{SVG}text"))


def _words(svg: str) -> str:
    return " ".join("".join(t.itertext()) for t in _texts(svg))


def _rows(element: ElementTree.Element) -> list[str]:
    """The row ids of the moves drawn inside `element`, in drawing order."""
    return [g.get("data-row", "") for g in element.iter(f"{SVG}g") if g.get("class") == "move"]


def test_every_row_and_status_is_drawn() -> None:
    svg = diagram.status_machine_svg()
    words = _words(svg)
    assert sorted(_rows(ElementTree.fromstring(svg))) == sorted(r.id for r in spec.status_machine())
    for row in spec.status_machine():
        assert row.id in words, row.id
    for status in spec.entitlement_statuses():
        assert status in words, status
    assert diagram.BEFORE_CREATE in words


def test_the_drawing_is_narrow_and_grows_downwards() -> None:
    root = ElementTree.fromstring(diagram.status_machine_svg())
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    assert width == diagram.DEFAULT_WIDTH
    assert height > 4 * width
    assert root.get("viewBox") == f"0 0 {width:g} {height:g}"


def test_no_text_runs_past_the_right_edge() -> None:
    """By the drawing's own estimate of text width (generous for sans-serif faces)."""
    for svg in (diagram.status_machine_svg(), diagram.moves_from_svg(None, "ACTIVE")):
        width = float(ElementTree.fromstring(svg).get("width", 0))
        for text in _texts(svg):
            size = float(text.get("font-size", 0))
            assert size >= min(diagram.FONT_SIZES.values())
            content = "".join(text.itertext())
            x = float(text.get("x", 0))
            span = diagram.text_width(content, size)
            anchor = text.get("text-anchor", "start")
            left = {"start": x, "middle": x - span / 2, "end": x - span}[anchor]
            assert left >= 0 and left + span <= width, (content, left, span, width)


def test_moves_from_a_status_are_its_rows() -> None:
    machine = spec.status_machine()
    for status in (None, *spec.entitlement_statuses()):
        moves = diagram.moves_from(machine, status)
        expected = [
            row.id
            for row in machine
            if (status in row.from_statuses if status is not None else not row.from_statuses)
        ]
        assert [move.row.id for move in moves] == expected, status
        for move in moves:
            assert move.allowed == move.row.accepts
            if move.allowed:
                assert move.to_status == move.row.result(status)
    suspend = {m.row.id: m for m in diagram.moves_from(machine, "ACTIVE")}["suspend"]
    assert (suspend.to_status, suspend.kind, suspend.unchanged) == ("SUSPENDED", "at once", False)
    refused = {m.row.id: m for m in diagram.moves_from(machine, "ACTIVE")}["reactivate-live"]
    assert not refused.allowed and refused.to_status is None
    assert diagram.moves_from(machine, "REVOKED") == ()


def test_moves_from_one_status_draws_only_those() -> None:
    machine = spec.status_machine()
    drawn = _rows(ElementTree.fromstring(diagram.moves_from_svg(machine, "SUSPENDED")))
    assert drawn == [row.id for row in machine if "SUSPENDED" in row.from_statuses]
    assert "final" in _words(diagram.moves_from_svg(machine, "REVOKED"))


def test_marking_a_status_fades_the_rows_that_cannot_fire_from_it() -> None:
    plain = diagram.status_machine_svg()
    marked = diagram.status_machine_svg(mark="CANCELLED")
    assert "opacity" not in plain
    faded = ElementTree.fromstring(marked).findall(f"{SVG}g[@opacity]")
    # Every block but the one starting from CANCELLED (the reactivate rows) fades.
    starts = {row.from_statuses for row in spec.status_machine()}
    assert len(faded) == len(starts) - 1
    faded_rows = {row for group in faded for row in _rows(group)}
    reactivate = {row.id for row in spec.status_machine() if row.from_statuses == ("CANCELLED",)}
    assert faded_rows == {row.id for row in spec.status_machine()} - reactivate
    with pytest.raises(ValueError, match="unknown status 'ACTIVATED'"):
        diagram.status_machine_svg(mark="ACTIVATED")


def test_any_copy_of_the_table_can_be_drawn() -> None:
    """The drawing reads the machine it is given (the sandbox may run on another copy)."""
    document = dict(spec.load_partner_spec())
    rows = [row for row in document["x-status-machine"] if row["id"] != "suspend"]
    machine = spec.machine_from({**document, "x-status-machine": rows})
    drawn = _rows(ElementTree.fromstring(diagram.status_machine_svg(machine)))
    assert "suspend-deferred" in drawn and "suspend" not in drawn

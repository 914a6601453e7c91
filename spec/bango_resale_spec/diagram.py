"""The status machine drawn as SVG, from a `StatusMachine`, in pure Python.

The drawing reads top to bottom. Rows of the table that start from the same statuses form one
block, headed by those statuses; each row is one arrow from the block's rail to the status it
leads to, labelled with its trigger and answer above and what it sends below. Every label is
horizontal text at a size meant to be read at 100 %: the picture is narrow (520 px by default,
the room Redoc's middle column leaves at a 1280 px window) and grows downwards instead of
sideways.

- `status_machine_svg(machine)`: every row; `mark="ACTIVE"` highlights that status and the
  rows that can fire from it, and fades the rest (a page showing one entitlement).
- `moves_from_svg(machine, "ACTIVE")`: only the rows that can fire from one status (None:
  before an entitlement exists), under one header.
- `moves_from(machine, status)`: the same rows as data (`Move`), for a page that lists them.

Arrows: solid for an answer that takes effect at once, dotted for a 202 `OK` (the change
waits for the merchant's confirmation, an event row), dashed for a platform event; a refusal
row (e.g. reactivate of a live entitlement) ends in a grey "refused" box. Nothing here needs
Graphviz or a browser: the sandbox can draw the machine at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from .machine import StatusMachine, Transition, status_machine
from .tables import entitlement_statuses, terminal_statuses

__all__ = [
    "DEFAULT_WIDTH",
    "FONT_SIZES",
    "Move",
    "moves_from",
    "moves_from_svg",
    "status_machine_svg",
]

#: Width of the drawing in CSS pixels (its natural size; pages may scale it down).
DEFAULT_WIDTH = 520
#: The font sizes the drawing uses, in CSS pixels at natural size (the smallest is the floor a
#: page can check against the size it shows the picture at).
FONT_SIZES = {"header": 14.0, "label": 13.0, "detail": 12.0, "box": 12.5}

_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# Estimated advance of a character as a share of the font size in a sans-serif face (capitals
# and digits, lower case, the rest); used to wrap and fit text, on the generous side so that
# nothing runs past the edge whichever face the reader's system picks.
_CAPITAL_WIDTH = 0.7
_LOWER_WIDTH = 0.56
_OTHER_WIDTH = 0.4
_PAD = 10
_RAIL_X = 22
_BOX_WIDTH = 124
_BOX_HEIGHT = 26
_HEADER_HEIGHT = 34
_ROW_GAP = 10
_BLOCK_GAP = 22
_LINE = 16  # line pitch of label text

# Status colours by position in the status enum (fill, border); terminal statuses get the
# red family, FAILED (last) grey. A status the palette does not know gets the neutral pair.
_LIVE_COLOURS = (
    ("#fff4d6", "#b7791f"),  # PENDING
    ("#e3f4e8", "#2f855a"),  # ACTIVE
    ("#fdebd3", "#c05621"),  # ACTIVE-ENDING
    ("#e6edf8", "#2b6cb0"),  # SUSPENDED
)
_TERMINAL_COLOURS = ("#fbe3e4", "#c53030")
_OTHER_COLOURS = ("#eceff3", "#4a5568")
_START_COLOURS = ("#2d3748", "#2d3748")
_REFUSED_COLOURS = ("#f4f4f5", "#9aa1ab")
_TEXT = "#1d2330"
_MUTED = "#525a66"
_MARK = "#d69e2e"

#: How the drawing names "no entitlement yet" (rows that create one start there).
BEFORE_CREATE = "no entitlement yet"


@dataclass(frozen=True, slots=True)
class Move:
    """One row of the table as drawn from one starting status."""

    row: Transition
    #: The status the row leads to from that start (None for a refusal).
    to_status: str | None
    #: Whether the status stays what it was.
    unchanged: bool
    #: "at once", "deferred" (202 OK: the merchant confirms later) or "event".
    kind: str
    #: Whether the row accepts (2xx, or an event): a move the status allows.
    allowed: bool

    @property
    def trigger(self) -> str:
        return trigger_label(self.row)

    @property
    def answer(self) -> str:
        row = self.row
        return "" if row.event else f"{row.http_status} {row.response_code}"

    @property
    def sends(self) -> str:
        notifications = ", ".join(self.row.notifications)
        if self.kind == "deferred":
            return "sends nothing yet: the merchant confirms later"
        return f"sends {notifications}" if notifications else "no notification"


def trigger_label(row: Transition) -> str:
    """The row's trigger in few words: `cancelEntitlement`, `updateEntitlement: suspend`,
    `updateEntitlement: productKey`, or `event PAID_PERIOD_ENDED`."""
    if row.event is not None:
        return f"event {row.event}"
    if not row.request:
        return str(row.operation)
    if "." in row.request:
        detail = row.request.rsplit(".", 1)[1]
    else:
        detail = row.request.replace("Entitlement", "").replace("Request", "").lower()
    return f"{row.operation}: {detail or row.request}"


def _move(row: Transition, start: str | None) -> Move:
    kind = "event" if row.event else "deferred" if row.defers else "at once"
    after = row.result(start) if row.accepts else None
    return Move(
        row=row,
        to_status=after,
        unchanged=row.accepts and after == start,
        kind=kind,
        allowed=row.accepts,
    )


def moves_from(machine: StatusMachine | None, status: str | None) -> tuple[Move, ...]:
    """The rows that can fire from `status` (None: before an entitlement exists), in table
    order: what a page showing one entitlement offers as its next moves."""
    machine = machine or status_machine()
    return tuple(
        _move(row, status)
        for row in machine
        if (status in row.from_statuses if status is not None else not row.from_statuses)
    )


# Layout -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Block:
    starts: tuple[str | None, ...]
    moves: tuple[Move, ...]


def _blocks(machine: StatusMachine) -> list[_Block]:
    """Rows grouped by the statuses they start from, in order of first appearance."""
    groups: dict[tuple[str, ...], list[Transition]] = {}
    for row in machine:
        groups.setdefault(row.from_statuses, []).append(row)
    blocks = []
    for starts, rows in groups.items():
        # A row that keeps or changes the status reads from any one start; the moves are
        # drawn from the first, and an unchanged status is shown as "unchanged".
        first = starts[0] if starts else None
        blocks.append(
            _Block(
                starts=tuple(starts) if starts else (None,),
                moves=tuple(_move(row, first) for row in rows),
            )
        )
    return blocks


def _colours(status: str | None) -> tuple[str, str]:
    if status is None:
        return _START_COLOURS
    statuses = entitlement_statuses()
    if status in terminal_statuses():
        return _TERMINAL_COLOURS
    live = [s for s in statuses if s not in terminal_statuses()]
    index = live.index(status) if status in live else len(_LIVE_COLOURS)
    return _LIVE_COLOURS[index] if index < len(_LIVE_COLOURS) else _OTHER_COLOURS


def text_width(text: str, size: float) -> float:
    """Estimated width of `text` at font size `size` (bold included)."""
    shares = (
        _CAPITAL_WIDTH
        if c.isupper() or c.isdigit()
        else _LOWER_WIDTH
        if c.isalpha()
        else _OTHER_WIDTH
        for c in text
    )
    return sum(shares) * size


def _fits(text: str, size: float, room: float) -> bool:
    return text_width(text, size) <= room


def _wrap(text: str, size: float, room: float) -> list[str]:
    """Greedy word wrap to the estimated room; a word longer than a line stands alone."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}".strip()
        if current and not _fits(candidate, size, room):
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


class _Canvas:
    """SVG elements in drawing order, and the running height."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.parts: list[str] = []
        self.y = float(_PAD)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: str,
        fill: str = _TEXT,
        weight: str = "normal",
        anchor: str = "start",
        css: str = "",
    ) -> None:
        cls = f' class="{css}"' if css else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT_SIZES[size]:g}"'
            f' font-weight="{weight}" fill="{fill}" text-anchor="{anchor}"{cls}>'
            f"{escape(content)}</text>"
        )

    def box(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        colours: tuple[str, str],
        *,
        dashed: bool = False,
        stroke_width: float = 1.4,
    ) -> None:
        fill, border = colours
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" rx="6"'
            f' fill="{fill}" stroke="{border}" stroke-width="{stroke_width:g}"{dash}/>'
        )


def _status_chip(canvas: _Canvas, x: float, y: float, status: str | None, marked: bool) -> float:
    """A small status box in a block header; returns its width."""
    label = BEFORE_CREATE if status is None else status
    width = text_width(label, FONT_SIZES["box"]) + 16
    fill, border = _colours(status)
    if status is None:
        fill, border = "#ffffff", _START_COLOURS[1]
    canvas.box(
        x,
        y,
        width,
        _BOX_HEIGHT - 4,
        (fill, _MARK if marked else border),
        stroke_width=3 if marked else 1.4,
    )
    canvas.text(
        x + width / 2, y + 15.5, label, size="box", weight="bold", anchor="middle", fill=_TEXT
    )
    return width


def _header(canvas: _Canvas, block: _Block, mark: str | None) -> None:
    """The block's header: "From" and one chip per status, wrapped over lines as needed."""
    top = canvas.y
    canvas.text(_PAD, top + 17, "From", size="header", weight="bold")
    x: float = _PAD + 44
    y = top + 2
    for start in block.starts:
        label = BEFORE_CREATE if start is None else start
        width = text_width(label, FONT_SIZES["box"]) + 16
        if x + width > canvas.width - _PAD:
            x = _PAD + 44
            y += _BOX_HEIGHT
        x += _status_chip(canvas, x, y, start, marked=start == mark and mark is not None) + 6
    canvas.y = y + _HEADER_HEIGHT


def _arrow_style(move: Move) -> str:
    if move.kind == "deferred":
        return ' stroke-dasharray="2 4"'
    if move.kind == "event":
        return ' stroke-dasharray="7 4"'
    return ""


def _row(canvas: _Canvas, move: Move, starts: tuple[str | None, ...], highlighted: bool) -> None:
    width = canvas.width
    box_x = width - _PAD - _BOX_WIDTH
    text_x = _RAIL_X + 12
    room = box_x - 14 - text_x
    top = canvas.y
    # Line(s) above the arrow: trigger, answer and the merchant behaviour the row needs.
    title = move.trigger + (f" → {move.answer}" if move.answer else "")
    if move.row.behaviour:
        title += f" (merchant {move.row.behaviour})"
    above = _wrap(title, FONT_SIZES["label"], room)
    below = _wrap(f"{move.sends} · row {move.row.id}", FONT_SIZES["detail"], room)
    y = top
    # One group per row, named by its id and target: a page can find, style or link a move.
    target = escape(move.to_status or "", quote=True)
    canvas.parts.append(
        f'<g class="move" data-row="{escape(move.row.id, quote=True)}" data-to="{target}"'
        f' data-allowed="{str(move.allowed).lower()}">'
    )
    for line in above:
        y += _LINE
        canvas.text(text_x, y, line, size="label", fill=_TEXT if move.allowed else _MUTED)
    arrow_y = y + 9
    colour = _MARK if highlighted else (_TEXT if move.allowed else _REFUSED_COLOURS[1])
    canvas.parts.append(
        f'<path d="M{_RAIL_X} {arrow_y:.1f} H{box_x - 8:.1f}" stroke="{colour}"'
        f' stroke-width="{2.2 if highlighted else 1.4}" fill="none"{_arrow_style(move)}/>'
        f'<path d="M{box_x - 9:.1f} {arrow_y - 5:.1f} L{box_x - 1:.1f} {arrow_y:.1f}'
        f' L{box_x - 9:.1f} {arrow_y + 5:.1f} Z" fill="{colour}"/>'
    )
    y = arrow_y + 3
    for line in below:
        y += _LINE - 2
        canvas.text(text_x, y, line, size="detail", fill=_MUTED)
    # The box the arrow leads to.
    box_y = arrow_y - _BOX_HEIGHT / 2
    if not move.allowed:
        label, colours, dashed = "refused", _REFUSED_COLOURS, True
    elif move.unchanged:
        start = starts[0] if len(starts) == 1 else None
        label = "unchanged" if start is None else start
        colours, dashed = ("#ffffff", _colours(start)[1]), True
    else:
        label, colours, dashed = str(move.to_status), _colours(move.to_status), False
    canvas.box(box_x, box_y, _BOX_WIDTH, _BOX_HEIGHT, colours, dashed=dashed)
    canvas.text(
        box_x + _BOX_WIDTH / 2,
        box_y + 17.5,
        label,
        size="box",
        weight="bold" if move.allowed and not move.unchanged else "normal",
        anchor="middle",
    )
    canvas.parts.append("</g>")
    canvas.y = max(y, box_y + _BOX_HEIGHT) + _ROW_GAP


def _draw(blocks: Sequence[_Block], *, mark: str | None, width: int, title: str) -> str:
    canvas = _Canvas(width)
    canvas.parts.append(
        f'<text x="{_PAD}" y="{_PAD + 14}" font-size="{FONT_SIZES["header"]:g}"'
        f' font-weight="bold" fill="{_TEXT}">{escape(title)}</text>'
    )
    canvas.y += 22
    legend = "solid: answered at once · dotted: 202, merchant confirms later · dashed: event"
    for line in _wrap(legend, FONT_SIZES["detail"], width - 2 * _PAD):
        canvas.y += _LINE - 2
        canvas.text(_PAD, canvas.y, line, size="detail", fill=_MUTED)
    canvas.y += _BLOCK_GAP - 6
    for block in blocks:
        involved = mark is None or mark in block.starts
        first = len(canvas.parts)
        block_top = canvas.y
        _header(canvas, block, mark)
        rail_top = canvas.y - 8
        if not block.moves:
            canvas.text(
                _RAIL_X,
                canvas.y + 8,
                "No row starts here: the status is final.",
                size="label",
                fill=_MUTED,
            )
            canvas.y += 16 + _ROW_GAP
            rail_top = canvas.y
        for move in block.moves:
            _row(
                canvas,
                move,
                block.starts,
                highlighted=involved and mark is not None and move.allowed,
            )
        canvas.parts.append(
            f'<path d="M{_RAIL_X} {rail_top:.1f} V{canvas.y - _ROW_GAP - 8:.1f}"'
            f' stroke="{_TEXT}" stroke-width="1.4" fill="none"/>'
        )
        if not involved:
            # Faded, not hidden: the page still shows the whole machine around the mark.
            canvas.parts.insert(first, '<g opacity="0.35">')
            canvas.parts.append("</g>")
        elif mark is not None:
            canvas.parts.insert(
                first,
                f'<rect x="2" y="{block_top - 6:.1f}" width="{width - 4}"'
                f' height="{canvas.y - block_top:.1f}" rx="8" fill="#fffaf0"'
                f' stroke="{_MARK}" stroke-width="1.5"/>',
            )
        canvas.y += _BLOCK_GAP
    height = round(canvas.y - _BLOCK_GAP + _PAD)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" font-family="{escape(_FONT)}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(canvas.parts)
        + "</svg>\n"
    )


def status_machine_svg(
    machine: StatusMachine | None = None, *, mark: str | None = None, width: int = DEFAULT_WIDTH
) -> str:
    """Every row of the machine, grouped by the statuses it starts from.

    `mark` names a status (None for none): its chips are outlined, the blocks of rows that can
    fire from it stand out and the others fade.
    """
    machine = machine or status_machine()
    _check_status(mark)
    title = "Entitlement status machine" + (f": {mark} marked" if mark else "")
    return _draw(_blocks(machine), mark=mark, width=width, title=title)


def moves_from_svg(
    machine: StatusMachine | None, status: str | None, *, width: int = DEFAULT_WIDTH
) -> str:
    """Only the rows that can fire from `status` (None: before an entitlement exists)."""
    _check_status(status)
    block = _Block(starts=(status,), moves=moves_from(machine, status))
    name = BEFORE_CREATE if status is None else status
    return _draw([block], mark=None, width=width, title=f"What can happen from {name}")


def _check_status(status: str | None) -> None:
    if status is not None and status not in entitlement_statuses():
        raise ValueError(
            f"unknown status {status!r}; the statuses are {', '.join(entitlement_statuses())}"
        )

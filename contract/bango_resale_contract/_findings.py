"""What the live judge records: violations and exchanges it could not judge, with a
reproducer for each violation, written so that whatever bytes the traffic carried, each is
one printable line and every report stays well-formed (control characters escaped, long
texts cut)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import TypeVar

from bango_resale_contract.scenarios import CREDENTIAL_HEADERS

Headers = Sequence[tuple[bytes, bytes]]
# Characters of an expected or got text kept in a violation; the rest is cut, and counted.
KEPT_TEXT = 1000


def escaped(text: str) -> str:
    """`text` on one line and printable: every control, format, separator or unpaired
    surrogate character written as its Python escape (newline as \\n, NUL as \\x00)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _cut(text: str) -> str:
    if len(text) <= KEPT_TEXT:
        return text
    return f"{text[:KEPT_TEXT]}... ({len(text) - KEPT_TEXT} more characters)"


@dataclass(frozen=True, slots=True)
class NotJudged:
    """An exchange the judge could not judge, and why: it is reported, never passed."""

    operation: str
    target: str
    why: str

    def line(self) -> str:
        return f"NOT JUDGED operation={self.operation} {self.target}: {self.why}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule in one exchange."""

    rule: str
    operation: str
    entitlement: str
    expected: str
    got: str
    reproduce: str

    def line(self) -> str:
        """The violation as one log line."""
        return (
            f"VIOLATION rule={self.rule} operation={self.operation}"
            f" entitlement={self.entitlement or '-'} expected={self.expected!r}"
            f" got={self.got!r} reproduce: {self.reproduce}"
        )

    def to_json(self) -> dict[str, str]:
        return asdict(self)


_Record = TypeVar("_Record", Violation, NotJudged)


def safe(record: _Record) -> _Record:
    """A violation or not-judged record with every text field escaped, and cut but for the
    reproducer (which is of use only whole)."""
    changed = {
        f.name: _cut(escaped(value)) if f.name != "reproduce" else escaped(value)
        for f in fields(record)
        if isinstance(value := getattr(record, f.name), str)
    }
    return replace(record, **changed)


# Headers a reproducer leaves out: set by curl itself, belonging to one connection, or
# carrying credentials (the reader's shell supplies those).
_NOT_REPEATED = frozenset(
    {
        "host",
        "accept",
        "accept-encoding",
        "connection",
        "user-agent",
        "content-length",
        "transfer-encoding",
        "expect",
        *CREDENTIAL_HEADERS,
    }
)


def _shell_word(text: str) -> str:
    """`text` as one shell word on one line: quoted as usual, or, when it holds characters
    that cannot stand on a line, in bash's $'...' form with those escaped."""
    if text.isprintable():
        return shlex.quote(text)
    inner = "".join(
        c if c.isprintable() and c not in "\\'" else ("\\" + c if c in "\\'" else repr(c)[1:-1])
        for c in text
    )
    return f"$'{inner}'"


def reproducer(method: str, url: str, headers: Headers, body: bytes) -> str:
    """A curl command that sends the request again, on one line, credentials left out."""
    parts = ["curl", "-X", _shell_word(method), "-u", '"$BANGO_USER:$BANGO_PASSWORD"']
    for name, value in headers:
        text = name.decode("latin-1").lower()
        if text not in _NOT_REPEATED:
            parts += ["-H", _shell_word(f"{text}: {value.decode('latin-1')}")]
    if body:
        parts += ["--data-binary", _shell_word(body.decode("utf-8", "replace"))]
    parts.append(_shell_word(url))
    return " ".join(parts)

"""The request log's entries: how they are written into a batch, and read back.

Storage keeps the log as batches (one row per reseller per write of `RequestJournal`), each a
JSON array of entries, an entry an array of `FIELDS`. An entry's cursor is its batch's
sequence number times CURSOR_SPAN plus its place in the batch, so cursors only grow, and a
reader that follows them (`since`) sees each entry once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _json
from ..storage import EntitlementStore

#: An entry's fields, in the order a batch holds them.
FIELDS = (
    "at",
    "operationId",
    "method",
    "path",
    "entitlementId",
    "httpStatus",
    "responseCode",
    "responseMessage",
    "requestIdentifier",
    "milliseconds",
)
#: Cursors of one batch: a batch holds fewer entries than this.
CURSOR_SPAN = 1 << 20
# Batches read from storage at a time while looking for entries that match.
_BATCHES_PER_READ = 64


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One entry of the request log."""

    cursor: int
    at: float
    operation_id: str
    method: str
    path: str
    entitlement_id: str | None
    http_status: int
    response_code: str | None
    response_message: str | None
    request_id: str | None
    milliseconds: float


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Which entries to read: those matching every field given; newest first below cursor
    `before`, or oldest first after cursor `after`; at most `limit` of them."""

    entitlement_id: str | None = None
    operation_id: str | None = None
    # HTTP statuses from `status_from` to `status_to`, both included (one status, or a class).
    status_from: int | None = None
    status_to: int | None = None
    before: int | None = None
    after: int | None = None
    limit: int = 100

    def admits(self, entry: Sequence[Any]) -> bool:
        return (
            (self.entitlement_id is None or entry[4] == self.entitlement_id)
            and (self.operation_id is None or entry[1] == self.operation_id)
            and (self.status_from is None or entry[5] >= self.status_from)
            and (self.status_to is None or entry[5] <= self.status_to)
        )


def encode(entries: Sequence[Sequence[Any]]) -> bytes:
    """A batch's body: the entries (each in `FIELDS` order) as one JSON array."""
    return _json.dumps(entries)


async def read(store: EntitlementStore, reseller: str, which: RequestFilter) -> list[LoggedRequest]:
    """The reseller's entries that `which` admits, at most `which.limit` of them."""
    found: list[LoggedRequest] = []
    async for cursor, entry in _Walk(store, reseller, which):
        if which.admits(entry):
            found.append(LoggedRequest(cursor, *entry))
            if len(found) == which.limit:
                break
    return found


async def latest_cursor(store: EntitlementStore, reseller: str) -> int:
    """The cursor of the reseller's newest entry (0 when the log is empty)."""
    newest = await store.latest_request_batch(reseller)
    return 0 if newest is None else newest[0] * CURSOR_SPAN + newest[1] - 1


class _Walk:
    """The reseller's entries with their cursors, in the order `which` asks for, read from
    storage a few batches at a time (an async iterator)."""

    def __init__(self, store: EntitlementStore, reseller: str, which: RequestFilter) -> None:
        self.store = store
        self.reseller = reseller
        self.which = which
        self.pending: Iterator[tuple[int, list[Any]]] = iter(())
        self.done = False
        if which.after is not None:
            self.next_batch: int | None = which.after // CURSOR_SPAN  # read from here up
        elif which.before is not None:
            self.next_batch = which.before // CURSOR_SPAN + 1  # read below this
        else:
            self.next_batch = None

    def __aiter__(self) -> _Walk:
        return self

    async def __anext__(self) -> tuple[int, list[Any]]:
        while True:
            for cursor, entry in self.pending:
                if self._in_range(cursor):
                    return cursor, entry
            if self.done:
                raise StopAsyncIteration
            await self._read_more()

    def _in_range(self, cursor: int) -> bool:
        which = self.which
        if which.after is not None and cursor <= which.after:
            return False
        return which.before is None or cursor < which.before

    async def _read_more(self) -> None:
        upward = self.which.after is not None
        batches = await self.store.request_batches(
            self.reseller,
            below=None if upward else self.next_batch,
            since=self.next_batch if upward else None,
            limit=_BATCHES_PER_READ,
        )
        if len(batches) < _BATCHES_PER_READ:
            self.done = True
        if batches:
            last = batches[-1][0]
            self.next_batch = last + 1 if upward else last
        self.pending = _entries(batches, newest_first=not upward)


def _entries(
    batches: Sequence[tuple[int, bytes]], *, newest_first: bool
) -> Iterator[tuple[int, list[Any]]]:
    for seq, body in batches:
        entries = _json.loads(body)
        numbered = list(enumerate(entries))
        for index, entry in reversed(numbered) if newest_first else numbered:
            yield seq * CURSOR_SPAN + index, entry

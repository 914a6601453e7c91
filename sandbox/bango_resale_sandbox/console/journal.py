"""The request log's writer: each request the pipeline answers for a reseller, kept cheaply.

The pipeline opens an entry once a request's credentials are checked (`open`) and closes it
with the answer (`close`): two clock readings, one small object and one list append on the
request's path. Everything else waits for the writer task, which every FLUSH_SECONDS turns the
closed entries into the log's form (which entitlement they named, the answer's responseCode, a
refusal's message; see `requestlog`) and writes them in one transaction, one batch per
reseller, so that a request costs a fraction of a row. Every PRUNE_SHARE of `keep` entries a
reseller's log is pruned to its newest `keep` entries (give or take that share and a batch).

The log is a view of the traffic, not an acknowledged write: a sandbox stopped abruptly loses
its last fraction of a second of entries, and while the database refuses writes the batches
wait in memory, up to MAX_WAITING entries (the oldest are dropped past that, and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from bango_resale_spec.compiled import Operation

from .. import _json
from ..asgi import JSON, Receive, Response, Scope
from ..storage import EntitlementStore, StoreUnavailable
from .requestlog import CURSOR_SPAN, encode

log = logging.getLogger("bango_resale_sandbox.console")

#: How often the writer writes what came since it last did.
FLUSH_SECONDS = 0.2
#: Entries kept in memory while the database refuses them; the oldest go first past this.
MAX_WAITING = 100_000
#: How much of `keep` a reseller's log may grow by between two prunings.
PRUNE_SHARE = 0.02
#: The longest X-RequestIdentifier kept (the header allows 128 characters; a refused request
#: may carry anything up to the size of a request head).
MAX_REQUEST_ID = 128

_CODE_PREFIX = b'{"responseCode":"'
_CODE_START = len(_CODE_PREFIX)


class _Entry:
    """One request between `open` and the writer."""

    __slots__ = (
        "at",
        "chunks",
        "entitlement_id",
        "operation",
        "path",
        "request_id",
        "reseller",
        "source",
    )

    def __init__(
        self,
        reseller: str,
        operation: Operation,
        path: str,
        entitlement_id: str | None,
        request_id: bytes | None,
        source: Receive,
    ) -> None:
        self.at = time.time()
        self.reseller = reseller
        self.operation = operation
        self.path = path
        self.entitlement_id = entitlement_id
        self.request_id = request_id
        self.source = source
        self.chunks: list[bytes] | None = None

    async def receive(self) -> Mapping[str, Any]:
        """The request's `receive`, keeping the body's chunks: a write may name its
        entitlement only in its body (an update, a refused create)."""
        message = await self.source()
        chunk = message.get("body")
        if chunk:
            if self.chunks is None:
                self.chunks = []
            self.chunks.append(chunk)
        return message


class RequestJournal:
    """Collects answered requests and writes them to the store's request log."""

    def __init__(self, store: EntitlementStore, keep: int, logged: Iterable[str]) -> None:
        """`keep`: entries kept per reseller; `logged`: the operationIds whose requests are
        logged (the others' `open` gives None)."""
        self.store = store
        self.keep = keep
        self._logged = frozenset(logged)
        self._closed: list[tuple[str, list[Any]]] = []  # (reseller, row)
        # Rows of `_closed` still to be finished from a body: (row, answer, request chunks).
        self._unfinished: list[tuple[list[Any], bytes, list[bytes] | None]] = []
        # Batches the database refused, to write again: (reseller, entries).
        self._waiting: list[tuple[str, list[list[Any]]]] = []
        self._unpruned: dict[str, int] = {}  # entries written per reseller since its pruning
        self._prune_every = max(1, int(keep * PRUNE_SHARE))
        self.dropped = 0
        self._writer: asyncio.Task[None] | None = None

    # -- on the request's path -----------------------------------------------------------

    def open(
        self,
        reseller: str,
        operation: Operation,
        path_params: Mapping[str, str],
        scope: Scope,
        headers: Mapping[bytes, bytes],
        receive: Receive,
    ) -> _Entry | None:
        """An entry for a request whose credentials name `reseller`; None when the operation
        is not logged. Pass the entry's `receive` on in place of the request's own."""
        if operation.operation_id not in self._logged:
            return None
        return _Entry(
            reseller,
            operation,
            scope["path"],
            path_params.get("entitlementId"),
            headers.get(b"x-requestidentifier"),
            receive,
        )

    def close(self, entry: _Entry, response: Response) -> None:
        """The request was answered with `response`: its row of the log, in the form of
        `requestlog.FIELDS`, but for what needs a body parsed (a refusal's message, the
        entitlement a write named in its body), which `flush` adds."""
        elapsed = time.time() - entry.at
        body = response.body
        status = response.status
        code = None
        if response.content_type == JSON and body.startswith(_CODE_PREFIX):
            end = body.find(b'"', _CODE_START)
            if end > 0:
                code = body[_CODE_START:end].decode()
        request_id = entry.request_id
        row = [
            entry.at,
            entry.operation.operation_id,
            entry.operation.method,
            entry.path,
            entry.entitlement_id,
            status,
            code,
            None,
            None if request_id is None else request_id[:MAX_REQUEST_ID].decode("latin-1"),
            round(elapsed * 1000, 3),
        ]
        if status >= 400 or entry.entitlement_id is None:
            self._unfinished.append((row, body if code is not None else b"", entry.chunks))
        self._closed.append((entry.reseller, row))

    # -- the writer ----------------------------------------------------------------------

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(
            self._write_forever(), name="sandbox-request-log"
        )

    async def stop(self) -> None:
        """Stop the writer, after writing what is left."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        with contextlib.suppress(StoreUnavailable):
            await self.flush()

    async def _write_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except StoreUnavailable:
                pass  # the store reports the episode; the batches wait for the next round
            except Exception:
                log.exception("writing the request log failed")

    async def flush(self) -> int:
        """Write every entry closed so far; how many were written."""
        closed, self._closed = self._closed, []
        unfinished, self._unfinished = self._unfinished, []
        for row, answer, chunks in unfinished:
            _finish(row, answer, chunks)
        batches, self._waiting = self._waiting, []
        by_reseller: dict[str, list[list[Any]]] = {}
        for reseller, row in closed:
            by_reseller.setdefault(reseller, []).append(row)
        for reseller, rows in by_reseller.items():
            for start in range(0, len(rows), CURSOR_SPAN - 1):
                batches.append((reseller, rows[start : start + CURSOR_SPAN - 1]))
        if not batches:
            return 0
        written = 0
        try:
            async with self.store.transaction():
                # Each reseller's batches are written under its lock, taken in one order: its
                # cursors then commit in the order they are numbered, on every instance.
                for reseller in sorted({reseller for reseller, _rows in batches}):
                    await self.store.lock(reseller, "request-log")
                for reseller, rows in batches:
                    await self.store.add_request_batch(reseller, len(rows), encode(rows))
                    written += len(rows)
                    self._unpruned[reseller] = self._unpruned.get(reseller, 0) + len(rows)
                for reseller, count in list(self._unpruned.items()):
                    if count >= self._prune_every:
                        await self.store.prune_request_log(reseller, self.keep)
                        del self._unpruned[reseller]
        except BaseException:
            self._keep_waiting(batches)
            raise
        return written

    def _keep_waiting(self, batches: list[tuple[str, list[list[Any]]]]) -> None:
        """Hold batches the database refused for the next round, within MAX_WAITING entries."""
        held = batches + self._waiting
        excess = sum(len(rows) for _reseller, rows in held) - MAX_WAITING
        while excess > 0 and held:
            reseller, rows = held[0]
            if len(rows) <= excess:
                held.pop(0)
                dropped = len(rows)
            else:
                held[0] = (reseller, rows[excess:])
                dropped = excess
            if not self.dropped:
                log.warning(
                    "the request log is dropping its oldest entries: the database has refused"
                    " them for too long"
                )
            self.dropped += dropped
            excess -= dropped
        self._waiting = held


def _finish(row: list[Any], answer: bytes, chunks: list[bytes] | None) -> None:
    """Add to a refusal's row its message, and to a row without its entitlement the one the
    answer or the request body names."""
    document = _parsed(answer)
    if row[5] >= 400 and isinstance(document, dict):
        message = document.get("responseMessage")
        row[7] = message if isinstance(message, str) else None
    if row[4] is None:
        row[4] = _named(document) or _named(_parsed(b"".join(chunks or ())))


def _parsed(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return _json.loads(raw)
    except _json.JSONDecodeError:
        return None


def _named(document: Any) -> str | None:
    """The entitlement a JSON body names: its own `entitlementId`, or that of the
    notification or entitlement it carries (a redelivery's answer, an event's)."""
    if not isinstance(document, dict):
        return None
    for holder in (document, document.get("notification"), document.get("entitlement")):
        if isinstance(holder, dict):
            value = holder.get("entitlementId")
            if isinstance(value, str):
                return value
    return None

"""The request log's writer: each request the pipeline answers for a reseller, kept cheaply.

The pipeline opens an entry once a request's credentials are checked (`open`) and closes it
with the answer (`close`): two clock readings, one small object and one list append on the
request's path. Everything else waits for the writer task, which every FLUSH_SECONDS turns the
closed entries into rows (which entitlement they named, the answer's responseCode, a refusal's
message) and writes them in one transaction, pruning each reseller's log to its newest `keep`
entries as it goes (`EntitlementStore.append_requests`).

The log is a view of the traffic, not an acknowledged write: a sandbox stopped abruptly loses
its last fraction of a second of entries, and while the database refuses writes the entries
wait in memory, up to MAX_WAITING of them (the oldest are dropped past that, and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..asgi import JSON, Receive, Response, Scope
from ..routes import Operation
from ..storage import EntitlementStore, StoreUnavailable

log = logging.getLogger("bango_resale_sandbox.console")

#: How often the writer writes what came since it last did.
FLUSH_SECONDS = 0.2
#: Entries kept in memory while the database refuses them; the oldest go first past this.
MAX_WAITING = 100_000
#: The longest X-RequestIdentifier kept (the header allows 128 characters; a refused request
#: may carry anything up to the size of a request head).
MAX_REQUEST_ID = 128

_CODE_PREFIX = b'{"responseCode":"'


class _Entry:
    """One request between `open` and the writer."""

    __slots__ = (
        "at",
        "body",
        "chunks",
        "elapsed",
        "entitlement_id",
        "method",
        "operation_id",
        "path",
        "request_id",
        "reseller",
        "response",
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
        self.operation_id = operation.operation_id
        self.method = operation.method
        self.path = path
        self.entitlement_id = entitlement_id
        self.request_id = request_id
        self.source = source
        self.chunks: list[bytes] = []
        self.response: Response | None = None
        self.elapsed = 0.0

    async def receive(self) -> Mapping[str, Any]:
        """The request's `receive`, keeping the body's chunks: a write may name its
        entitlement only in its body (an update, a refused create)."""
        message = await self.source()
        chunk = message.get("body")
        if chunk:
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
        self._closed: list[_Entry] = []
        self._waiting: list[tuple[Any, ...]] = []  # rows the database refused, to write again
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
        """The request was answered with `response`."""
        entry.elapsed = time.time() - entry.at
        entry.response = response
        self._closed.append(entry)

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
                pass  # the store reports the episode; the rows wait for the next round
            except Exception:
                log.exception("writing the request log failed")

    async def flush(self) -> int:
        """Write every entry closed so far; how many were written."""
        closed, self._closed = self._closed, []
        rows = self._waiting + [_row(entry) for entry in closed]
        self._waiting = []
        if not rows:
            return 0
        try:
            async with self.store.transaction():
                await self.store.append_requests(rows, self.keep)
        except BaseException:
            self._keep_waiting(rows)
            raise
        return len(rows)

    def _keep_waiting(self, rows: list[tuple[Any, ...]]) -> None:
        """Hold rows the database refused for the next round, within MAX_WAITING."""
        excess = len(rows) + len(self._waiting) - MAX_WAITING
        if excess > 0:
            if not self.dropped:
                log.warning(
                    "the request log is dropping its oldest entries: the database has refused"
                    " them for too long"
                )
            self.dropped += excess
            rows = rows[excess:]
        self._waiting = rows + self._waiting


def _row(entry: _Entry) -> tuple[Any, ...]:
    """An entry as the store's request-log row (`REQUEST_LOG_COLUMNS`)."""
    response = entry.response
    assert response is not None
    body = response.body
    status = response.status
    code = message = None
    document: Any = None
    if response.content_type == JSON and body.startswith(_CODE_PREFIX):
        end = body.find(b'"', len(_CODE_PREFIX))
        code = body[len(_CODE_PREFIX) : end].decode() if end > 0 else None
        if status >= 400 or entry.entitlement_id is None:
            document = _json(body)
            if status >= 400 and isinstance(document, dict):
                text = document.get("responseMessage")
                message = text if isinstance(text, str) else None
    entitlement_id = entry.entitlement_id
    if entitlement_id is None:
        entitlement_id = _named(document) or _named(_json(b"".join(entry.chunks)))
    request_id = None
    if entry.request_id is not None:
        request_id = entry.request_id[:MAX_REQUEST_ID].decode("latin-1")
    return (
        entry.reseller,
        entry.at,
        entry.operation_id,
        entry.method,
        entry.path,
        entitlement_id,
        status,
        code,
        message,
        request_id,
        round(entry.elapsed * 1000, 3),
    )


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
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

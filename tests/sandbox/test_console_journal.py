"""The request log's writer, on a real SQLite store without a server: what each entry says of
its request and answer, and what happens to entries while the database refuses them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from bango_resale_sandbox.asgi import Response
from bango_resale_sandbox.console import journal, logged_operations, requestlog
from bango_resale_sandbox.console.requestlog import LoggedRequest, RequestFilter
from bango_resale_sandbox.storage import SqliteStore, StoreUnavailable
from bango_resale_spec import compiled

PARTNER = compiled.partner()
CONTROLS = compiled.sandbox()


class Request:
    """One request through a journal as the pipeline hands it over: opened, its body read by
    the operation (if it has one), answered."""

    def __init__(self, method: str, path: str, body: bytes = b"", **headers: str) -> None:
        router = CONTROLS if path.startswith("/sandbox/") else PARTNER
        operation, params, _allowed = router.match(method, path)
        assert operation is not None, path
        self.operation, self.params, self.path, self.body = operation, params, path, body
        self.headers = {
            name.replace("_", "-").lower().encode(): v.encode() for name, v in headers.items()
        }

    async def through(
        self, log: journal.RequestJournal, answer: Response, reseller: str = "demo"
    ) -> bool:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": self.body, "more_body": False}

        entry = log.open(
            reseller, self.operation, self.params, {"path": self.path}, self.headers, receive
        )
        if entry is None:
            return False
        if self.body:
            await entry.receive()
        log.close(entry, answer)
        return True


def envelope(http_status: int, code: str, message: str, **fields: Any) -> Response:
    body = {"responseCode": code, "responseMessage": message, **fields}
    return Response(http_status, orjson.dumps(body))


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "log.sqlite3")


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


async def everything(store: SqliteStore, reseller: str = "demo") -> list[LoggedRequest]:
    return await requestlog.read(store, reseller, RequestFilter(after=0, limit=1000))


def test_each_entry_names_its_entitlement_wherever_the_request_or_answer_did(
    store: SqliteStore,
) -> None:
    async def test() -> None:
        log = journal.RequestJournal(store, 100, logged_operations())
        update = b'{"entitlementId": "in-the-body", "entitlementBenefits": "NORMAL"}'
        created = {"entitlementId": "from-the-answer", "status": "ACTIVE"}  # a record's status
        redelivered = {"notification": {"notificationId": "n-1", "entitlementId": "notified"}}
        long_id = "r" * 300
        assert await Request(
            "GET", "/v1/entitlement/in-the-path", X_RequestIdentifier=long_id
        ).through(log, Response(200, b'{"responseCode":"OK","responseMessage":"Success","x":1}'))
        assert await Request("PATCH", "/v1/entitlement", update).through(
            log, envelope(409, "NOT_AVAILABLE", "not from ACTIVE")
        )
        assert await Request("POST", "/v1/entitlement", b"{}").through(
            log, envelope(200, "OK", "Success", **created)
        )
        assert await Request("POST", "/sandbox/notifications/n-1/redeliver").through(
            log, envelope(200, "OK", "queued again", **redelivered)
        )
        assert await Request("GET", "/v1/echo/ping").through(
            log, Response(500, b"Internal Server Error", b"text/plain")
        )
        # Reads of the sandbox's own controls are not logged.
        assert not await Request("GET", "/sandbox/requests").through(log, envelope(200, "OK", "x"))
        assert await log.flush() == 5
        read, refused, create, redelivery, broken = await everything(store)
        assert (read.entitlement_id, read.response_code, read.response_message) == (
            "in-the-path",
            "OK",
            None,
        )
        assert read.request_id == long_id[: journal.MAX_REQUEST_ID]
        assert (refused.entitlement_id, refused.http_status, refused.response_message) == (
            "in-the-body",
            409,
            "not from ACTIVE",
        )
        assert (create.entitlement_id, create.response_message) == ("from-the-answer", None)
        assert (redelivery.operation_id, redelivery.entitlement_id) == (
            "redeliverNotification",
            "notified",
        )
        assert (broken.http_status, broken.response_code, broken.entitlement_id) == (
            500,
            None,
            None,
        )
        assert [e.cursor for e in (read, refused, create, redelivery, broken)] == sorted(
            e.cursor for e in (read, refused, create, redelivery, broken)
        )

    run(test)


class Refusing:
    """A store whose request-log writes fail while `refusing` is set (storage trouble)."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.refusing = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def add_request_batch(self, reseller: str, entries: int, body: bytes) -> None:
        if self.refusing:
            raise StoreUnavailable("the database is away")
        await self.store.add_request_batch(reseller, entries, body)


def test_entries_wait_while_the_database_refuses_them_and_the_oldest_go_past_the_cap(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def test() -> None:
        monkeypatch.setattr(journal, "MAX_WAITING", 5)
        refusing = Refusing(store)
        log = journal.RequestJournal(refusing, 100, logged_operations())  # type: ignore[arg-type]
        for number in range(4):
            await Request("GET", f"/v1/entitlement/e-{number}").through(
                log, envelope(200, "OK", "x")
            )
        with pytest.raises(StoreUnavailable):
            await log.flush()
        for number in range(4, 7):
            await Request("GET", f"/v1/entitlement/e-{number}").through(
                log, envelope(200, "OK", "x")
            )
        with pytest.raises(StoreUnavailable):
            await log.flush()
        assert log.dropped == 2  # seven waited, five fit: the two oldest went
        refusing.refusing = False
        assert await log.flush() == 5
        kept = [e.entitlement_id for e in await everything(store)]
        assert kept == [f"e-{n}" for n in range(2, 7)]  # in the order they came

    run(test)


def test_a_batch_per_reseller_and_each_resellers_log_apart(store: SqliteStore) -> None:
    async def test() -> None:
        log = journal.RequestJournal(store, 100, logged_operations())
        await Request("GET", "/v1/entitlement/mine").through(log, envelope(200, "OK", "x"))
        await Request("GET", "/v1/entitlement/theirs").through(
            log, envelope(404, "NOT_FOUND", "no"), reseller="demo2"
        )
        await log.flush()
        assert [e.entitlement_id for e in await everything(store)] == ["mine"]
        assert [e.entitlement_id for e in await everything(store, "demo2")] == ["theirs"]
        assert len(await store.request_batches("demo", limit=10)) == 1

    run(test)

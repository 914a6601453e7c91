"""The HTTP surface: a plain ASGI application serving the partner API and the sandbox controls.

Requests are matched and validated against the two OpenAPI documents (compiled at start-up),
authenticated, rate-limited, checked for `X-Magic-Number` and `X-RequestIdentifier`, and then
handed to the service inside one store transaction. Every answer is a JSON envelope except the
activation page, which is HTML for a person's browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

import bango_resale_spec as partner_spec
from bango_resale_spec import StatusMachine

from . import activation, limits, magic, wire
from .asgi import (
    JSON,
    Receive,
    Response,
    Scope,
    Send,
    base_url,
    header_text,
    read_body,
    send_response,
)
from .auth import Authenticator
from .behaviour import Behaviour, Faults
from .config import SandboxConfig
from .delivery import Deliverer
from .domain import DomainError, format_time
from .envelopes import Envelopes, envelope
from .magic import MagicNumber, UnknownMagicNumber
from .ratelimit import LoginThrottle, RateLimiter, SharedBuckets
from .routes import Operation, RequestInvalid, Router
from .service import EntitlementService
from .store import EntitlementStore, OutboxRow, SqliteStore, StoredResponse

log = logging.getLogger("bango_resale_sandbox")

RETRY_AFTER_SECONDS = 1
# The largest page of GET /sandbox/notifications (the default `limit`).
NOTIFICATION_PAGE_MAX = 1000
# The RequestIdentifier schema's pattern and length, as bytes.
_ECHOABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_TRANSIENT_STATUSES = frozenset({429, 500, 503})
_GET_PREFIX = b'{"responseCode":"OK","responseMessage":"Success",'


def open_store(database: str, config: SandboxConfig) -> EntitlementStore:
    """A SQLite file path, or a `postgresql://` URL for a sandbox shared by several processes."""
    if database.startswith(("postgresql://", "postgres://")):
        from .pgstore import PostgresStore  # psycopg is loaded only for PostgreSQL

        # A claimed notification stays claimed past one attempt (connect, send, read: each
        # phase may take the whole timeout); a crashed instance's claims fall due after it.
        lease = 3 * config.delivery.timeout_seconds + 5
        return PostgresStore(
            database,
            claim_lease_seconds=lease,
            synchronous_commit=config.postgresql_synchronous_commit,
        )
    return SqliteStore(database, synchronous=config.sqlite_synchronous)


class SandboxApp:
    """The ASGI application. Create it with a configuration and a database path."""

    def __init__(
        self, config: SandboxConfig, db_path: str, machine: StatusMachine | None = None
    ) -> None:
        """`machine`: the status machine to execute; the shipped partner spec's by default
        (tests pass a changed copy)."""
        self.config = config
        self.store = open_store(db_path, config)
        self.partner = Router(partner_spec.load_partner_spec())
        self.controls = Router(partner_spec.load_sandbox_spec())
        self._reused = partner_spec.response_code_row_for(partner_spec.REQUEST_IDENTIFIER_REUSED)
        self.faults = Faults.of(config.faults)
        self.envelopes = Envelopes(self.faults)
        # Until the handlers move out of this class: their names for the envelope writers.
        self.status_for = self.envelopes.status_for
        self._error = self.envelopes.error
        self._retry_later = self.envelopes.retry_later
        self._entitlement = self.envelopes.entitlement
        self._result = self.envelopes.result
        self._done = self.envelopes.done
        self.deliverer = Deliverer(
            self.store,
            config.delivery,
            {name: r.notification_auth for name, r in config.resellers.items()},
        )
        self.service = EntitlementService(
            config,
            self.store,
            on_notification=self.deliverer.wake,
            machine=machine,
        )
        self.auth = Authenticator(config.resellers)
        shared = self.store if isinstance(self.store, SharedBuckets) else None
        self.limiter = RateLimiter(config.rate_limit, shared=shared)
        self.logins = LoginThrottle(config.failed_logins_per_source, config.failed_logins_per_user)
        self._first_reseller = next(iter(config.resellers), None)
        self._sweeper: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[_Request], Awaitable[Response]]] = {
            "createEntitlement": self._create,
            "getEntitlement": self._get,
            "queryEntitlements": self._query,
            "updateEntitlement": self._update,
            "cancelEntitlement": self._cancel,
            "revokeEntitlement": self._revoke,
            "getActivationInfo": self._activation_info,
            "reactivateEntitlement": self._reactivate,
            "echo": self._echo,
            "completePendingOperation": self._complete,
            "merchantCancelEntitlement": self._merchant_cancel,
            "merchantRevokeEntitlement": self._merchant_revoke,
            "failEntitlement": self._fail,
            "advanceClock": self._advance_clock,
            "getClock": self._get_clock,
            "listNotifications": self._list_notifications,
            "followNotifications": self._follow_notifications,
            "redeliverNotification": self._redeliver_notification,
            "resetSandbox": self._reset,
            "getHealth": self._health,
            "listMagicNumbers": self._magic_numbers,
        }
        missing = {op.operation_id for op in (*self.partner.operations, *self.controls.operations)}
        missing -= {*self._handlers, *activation.PAGE_OPERATIONS}
        if missing:
            raise RuntimeError(f"no handler for operations {sorted(missing)}")

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        try:
            response = await self._dispatch(scope, headers, receive)
        except Exception:
            log.exception("unhandled error for %s %s", scope["method"], scope["path"])
            response = envelope(500, "INTERNAL_ERROR", "An unexpected error occurred")
        request_id = headers.get(b"x-requestidentifier")
        # Echo only a well-formed id: the response header has the request header's schema.
        echo = (
            ((b"x-requestidentifier", request_id),)
            if request_id is not None
            and _ECHOABLE_REQUEST_ID.fullmatch(request_id)
            and not self.faults.request_id_not_echoed
            else ()
        )
        await send_response(send, response, echo)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        await self.store.open()
        await self.service.clock.load()
        # Everything allocated so far lives as long as the process: keep the collector off
        # it, and collect the young generation less often (fewer pauses under load).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        self.deliverer.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sandbox-clock-sweeper")

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.deliverer.stop()
        await self.store.close()

    async def _sweep_forever(self) -> None:
        """Fire time-driven changes (period ends, expiries, 202 completions) once a second."""
        while True:
            for reseller in self.config.resellers:
                try:
                    async with self.store.transaction():
                        await self.service.run_due(reseller)
                except Exception:
                    log.exception("sweep for reseller %s failed", reseller)
            await asyncio.sleep(1.0)

    # -- request pipeline ---------------------------------------------------------------

    async def _dispatch(
        self, scope: Scope, headers: Mapping[bytes, bytes], receive: Receive
    ) -> Response:
        method, path = scope["method"], scope["path"]
        router = self.controls if path.startswith("/sandbox/") else self.partner
        operation, path_params, allowed = router.match(method, path)
        if operation is None:
            if allowed:
                response = envelope(405, "BAD_REQUEST", f"{method} is not allowed on {path}")
                response.headers.append((b"allow", ", ".join(sorted(allowed)).encode()))
                return response
            return self._error("NOT_FOUND", f"no such resource: {path}")
        if operation.operation_id in activation.PAGE_OPERATIONS:
            status, page = await activation.serve_page(
                self.service,
                self.store,
                self.status_for,
                operation.operation_id,
                path_params["token"],
                receive,
            )
            return Response(status, page, activation.HTML)
        if operation.operation_id == "getHealth":
            return await self._health(_Request(operation, "", {}, {}, None, Behaviour(), b"", ""))

        authorization = headers.get(b"authorization")
        source = str((scope.get("client") or ("unknown",))[0])
        if self.logins.watching():  # after a failed login; until then, skip the decoding
            wait = await self.logins.wait(source, Authenticator.claimed_user(authorization))
            if wait:
                return self._retry_later("TOO_MANY_REQUESTS", "Too many failed logins", wait)
        reseller = self.auth.reseller_for(authorization)
        if reseller is None:
            if self.faults.ignore_auth and (operation.operation_id == "getEntitlement"):
                reseller = self._first_reseller
            if reseller is None:
                user = Authenticator.claimed_user(authorization)
                if user is not None:  # only a user:password pair is a guess worth slowing
                    await self.logins.failed(source, user)
                response = self._error("UNAUTHORIZED", "The user name or password was not accepted")
                response.headers.append((b"www-authenticate", b'Basic realm="bango-resale"'))
                return response
        wait = await self.limiter.acquire(reseller)
        if wait:
            return self._retry_later("TOO_MANY_REQUESTS", "Request limit reached", wait)
        try:
            forced = magic.parse(header_text(headers.get(b"x-magic-number")))
        except (UnknownMagicNumber, UnicodeDecodeError) as exc:
            return self._error("BAD_REQUEST", str(exc))
        if forced is MagicNumber.ANY_REQUEST_RETURNS_INTERNAL_ERROR:
            return self._error("INTERNAL_ERROR", "Forced by X-Magic-Number")
        if forced is MagicNumber.ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE:
            return self._retry_later(
                "SERVICE_UNAVAILABLE", "Forced by X-Magic-Number", RETRY_AFTER_SECONDS
            )
        if forced is MagicNumber.ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS:
            return self._retry_later(
                "TOO_MANY_REQUESTS", "Forced by X-Magic-Number", RETRY_AFTER_SECONDS
            )
        try:
            request_id = self._request_id(operation, headers)
            operation.check_path(path_params)
            query = (
                operation.check_query(
                    parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                )
                if scope["query_string"]
                else {}
            )
            # A request without a declared body has none to wait for (the GET hot path).
            has_body = b"content-length" in headers or b"transfer-encoding" in headers
            raw = await read_body(receive, headers, self.config.max_body_bytes) if has_body else b""
            body = self._parse_body(operation, raw)
        except RequestInvalid as exc:
            return self._error("BAD_REQUEST", str(exc))
        request = _Request(
            operation,
            reseller,
            path_params,
            query,
            body,
            Behaviour(self.faults, forced),
            raw,
            base_url(scope, self.config.public_base_url),
        )
        handler = self._handlers[operation.operation_id]
        if operation.method == "GET":
            # A read is never stored or replayed, whatever X-RequestIdentifier it carries (the
            # id is only echoed): a repeated read shows the record as it is now. No
            # transaction either: there is nothing to undo.
            try:
                return await handler(request)
            except DomainError as exc:
                return self._error(exc.response_code, exc.message)
        if request_id is None:
            async with self.store.transaction():
                return await self._run(handler, request)
        return await self._idempotent(handler, request, request_id, method, scope)

    async def _run(
        self, handler: Callable[[_Request], Awaitable[Response]], request: _Request
    ) -> Response:
        """Run a handler inside the open transaction; a refusal undoes the handler's writes."""
        try:
            async with self.store.savepoint():
                return await handler(request)
        except DomainError as exc:
            return self._error(exc.response_code, exc.message)

    async def _idempotent(
        self,
        handler: Callable[[_Request], Awaitable[Response]],
        request: _Request,
        request_id: str,
        method: str,
        scope: Scope,
    ) -> Response:
        fingerprint = hashlib.sha256(
            b"\0".join(
                (
                    method.encode(),
                    scope["path"].encode(),
                    scope["query_string"],
                    request.raw_body,
                )
            )
        ).digest()
        async with self.store.transaction():
            stored = await self.store.get_response(request.reseller, request_id)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    # A conflict with the request stored under this id: the spec's row for
                    # this cause gives the HTTP status and the responseCode.
                    return envelope(
                        self._reused.http_status,
                        self._reused.response_code,
                        f"X-RequestIdentifier {request_id} already stands for a different "
                        "request; send a new id for a new request",
                    )
                return Response(stored.status, stored.body)
            response = await self._run(handler, request)
            # Transient failures are not remembered, so that a retry can succeed.
            if response.status not in _TRANSIENT_STATUSES and response.content_type == JSON:
                await self.store.put_response(
                    request.reseller,
                    request_id,
                    StoredResponse(fingerprint, response.status, response.body),
                )
            return response

    def _request_id(self, operation: Operation, headers: Mapping[bytes, bytes]) -> str | None:
        raw = headers.get(b"x-requestidentifier")
        if raw is None:
            return None
        value = header_text(raw) or ""
        validator = operation.header_params.get("X-RequestIdentifier")
        if validator is not None:
            validator.check(value, "X-RequestIdentifier")
        elif not value:
            raise RequestInvalid("X-RequestIdentifier: must not be empty")
        return value

    def _parse_body(self, operation: Operation, raw: bytes) -> Any:
        # The content type is not checked: clients such as curl send form types by default,
        # and a body that parses as JSON is what matters.
        if not operation.json_body:
            return None
        if not raw.strip():
            if operation.body_required:
                raise RequestInvalid("body: a JSON object is required")
            return None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestInvalid(f"body: not valid JSON ({exc})") from None
        # Before schema validation and storage: deep JSON is cheap to send, costly to walk
        # and store, and past ~250 levels cannot be serialised back at all.
        problem = limits.too_deep(body, "body", limits.max_json_depth())
        if problem is not None:
            raise RequestInvalid(problem)
        if operation.body is not None:
            operation.body.check(body, "body")
        return body

    # -- partner operations -------------------------------------------------------------

    async def _create(self, request: _Request) -> Response:
        if self.faults.server_error and "offerKey" in request.body:
            return Response(500, b"Internal Server Error", b"text/plain; charset=utf-8")
        command = wire.create_command(request.body)
        return self._result(
            await self.service.create(
                request.reseller, command, request.behaviour, request.base_url
            )
        )

    async def _get(self, request: _Request) -> Response:
        entitlement_id = request.path_params["entitlementId"]
        stored = await self.store.get_record_json(request.reseller, entitlement_id)
        if stored is None:
            return self._error("NOT_FOUND", f"No entitlement {entitlement_id}")
        if self.faults.extra_field:
            return self._entitlement(200, "OK", "Success", orjson.loads(stored))
        # The hot path: splice the stored JSON record into the envelope without parsing it.
        return Response(200, _GET_PREFIX + stored[1:])

    async def _query(self, request: _Request) -> Response:
        command = wire.query_command(request.body)
        if self.faults.query_ignores_status:
            command = replace(command, status=None)
        records = await self.service.query(request.reseller, command)
        return envelope(200, "OK", f"{len(records)} entitlement(s) found", entitlements=records)

    async def _update(self, request: _Request) -> Response:
        return self._result(
            await self.service.update(
                request.reseller,
                wire.update_command(request.body),
                request.behaviour,
                request.base_url,
            )
        )

    async def _cancel(self, request: _Request) -> Response:
        return self._result(
            await self.service.terminate(
                request.reseller,
                wire.end_command(request.path_params["entitlementId"], request.body, revoke=False),
                request.behaviour,
            )
        )

    async def _revoke(self, request: _Request) -> Response:
        return self._result(
            await self.service.terminate(
                request.reseller,
                wire.end_command(request.path_params["entitlementId"], request.body, revoke=True),
                request.behaviour,
            )
        )

    async def _activation_info(self, request: _Request) -> Response:
        return self._result(
            await self.service.activation_info(
                request.reseller,
                request.path_params["entitlementId"],
                request.behaviour,
                request.base_url,
            )
        )

    async def _reactivate(self, request: _Request) -> Response:
        return self._result(
            await self.service.reactivate(
                request.reseller,
                request.path_params["entitlementId"],
                request.behaviour,
                request.base_url,
            )
        )

    async def _echo(self, request: _Request) -> Response:
        echo = request.path_params["echoRequestId"]
        if self.faults.echo_mangled:
            echo = echo.upper()
        return envelope(200, "OK", "Success", echo=echo)

    # -- sandbox controls ---------------------------------------------------------------

    async def _complete(self, request: _Request) -> Response:
        entitlement = await self.service.complete_pending(
            request.reseller, request.path_params["entitlementId"]
        )
        return self._done(entitlement, "The merchant confirmed the pending operation")

    async def _merchant_cancel(self, request: _Request) -> Response:
        command = wire.merchant_end_command(
            request.path_params["entitlementId"], request.body, revoke=False
        )
        entitlement = await self.service.merchant_end(request.reseller, command)
        return self._done(entitlement, "The merchant cancelled the entitlement")

    async def _merchant_revoke(self, request: _Request) -> Response:
        command = wire.merchant_end_command(
            request.path_params["entitlementId"], request.body, revoke=True
        )
        entitlement = await self.service.merchant_end(request.reseller, command)
        return self._done(entitlement, "The merchant revoked the entitlement")

    async def _fail(self, request: _Request) -> Response:
        entitlement = await self.service.fail(
            request.reseller, request.path_params["entitlementId"]
        )
        return self._done(entitlement, "The platform lost track of the entitlement")

    async def _advance_clock(self, request: _Request) -> Response:
        now, changed = await self.service.advance_clock(
            request.reseller, float(request.body["seconds"])
        )
        return envelope(
            200,
            "OK",
            f"Clock advanced; {changed} change(s) fired",
            now=_iso(now.timestamp()),
            changed=changed,
        )

    async def _get_clock(self, request: _Request) -> Response:
        await self.service.clock.refresh(request.reseller)
        epoch = self.service.clock.epoch(request.reseller)
        return envelope(
            200,
            "OK",
            "Sandbox time",
            now=_iso(epoch),
            offsetSeconds=round(epoch - _wall_clock(), 3),
        )

    async def _list_notifications(self, request: _Request) -> Response:
        limit = int(request.query.get("limit", NOTIFICATION_PAGE_MAX))
        # One row more than the page shows whether another page follows.
        rows = await self.service.notifications(
            request.reseller,
            entitlement_id=request.query.get("entitlementId"),
            state=request.query.get("state"),
            after_seq=int(request.query.get("cursor", "0")),
            limit=limit + 1,
        )
        page = rows[:limit]
        more = len(rows) > limit
        return envelope(
            200,
            "OK",
            f"{len(page)} notification(s)" + ("; more follow" if more else ""),
            notifications=[_notification_view(row) for row in page],
            nextCursor=str(page[-1].seq) if more else None,
        )

    async def _follow_notifications(self, request: _Request) -> Response:
        after = int(request.query.get("after", 0))
        entries, latest = await self.service.notification_feed(
            request.reseller,
            after=after,
            entitlement_id=request.query.get("entitlementId"),
            limit=int(request.query.get("limit", 100)),
        )
        auth = self.config.resellers[request.reseller].notification_auth
        return envelope(
            200,
            "OK",
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}",
            entries=[
                {
                    "cursor": entry.cursor,
                    "queuedAt": _iso(entry.queued_at),
                    "rawBody": entry.row.body.decode(),
                    "notification": _notification_view(entry.row),
                }
                for entry in entries
            ],
            nextCursor=entries[-1].cursor if entries else after,
            latestCursor=latest,
            headers={"Content-Type": "application/json", **auth.headers()},
        )

    async def _redeliver_notification(self, request: _Request) -> Response:
        row = await self.service.redeliver(request.reseller, request.path_params["notificationId"])
        return envelope(
            200,
            "OK",
            f"Notification {row.notification_id} queued again ({row.state})",
            notification=_notification_view(row),
        )

    async def _reset(self, request: _Request) -> Response:
        await self.service.reset(request.reseller)
        return envelope(200, "OK", f"Every record of reseller {request.reseller} was removed")

    async def _magic_numbers(self, request: _Request) -> Response:
        del request
        known = [{"magicNumber": m.value, "effect": magic.EFFECTS[m]} for m in MagicNumber]
        return envelope(200, "OK", f"{len(known)} magic number(s)", magicNumbers=known)

    async def _health(self, request: _Request) -> Response:
        del request
        return envelope(200, "OK", "The sandbox is running", status="ok")


@dataclass(frozen=True, slots=True)
class _Request:
    operation: Operation
    reseller: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    behaviour: Behaviour
    raw_body: bytes
    base_url: str


def _wall_clock() -> float:
    return time.time()


def _iso(epoch: float) -> str:
    return format_time(datetime.fromtimestamp(epoch, UTC))


def _notification_view(row: OutboxRow) -> dict[str, Any]:
    return {
        "notificationId": row.notification_id,
        "entitlementId": row.entitlement_id,
        "notificationType": row.notification_type,
        "url": row.url,
        "state": row.state,
        "attempts": row.attempts,
        "lastError": row.last_error,
        "createdAt": _iso(row.created_at),
        "deliveredAt": None if row.delivered_at is None else _iso(row.delivered_at),
        "body": orjson.loads(row.body),
    }

"""The sandbox as an ASGI application: wiring and lifecycle.

`SandboxApp` builds the parts (store, services, envelope writer, handlers, the request
pipeline, the notification deliverer), with the deliberate faults switched on in the
configuration built into them (`faults/`), hands each HTTP request to the pipeline and echoes
`X-RequestIdentifier`, and on start-up tunes the garbage collector and starts the deliverer
and the sweeper that fires time-driven changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from bango_resale_spec import StatusMachine

from .asgi import Receive, Scope, Send, send_response
from .config import SandboxConfig
from .delivery import Deliverer
from .envelopes import Envelopes, envelope
from .faults.wrappers import refine_for
from .handlers import all_handlers
from .pipeline import RETRY_AFTER_SECONDS, Pipeline
from .ratelimit import RateLimiter, SharedBuckets
from .services import Services
from .store import EntitlementStore, SqliteStore, StoreUnavailable

log = logging.getLogger("bango_resale_sandbox")


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
        self.deliverer = Deliverer(
            self.store,
            config.delivery,
            {name: r.notification_auth for name, r in config.resellers.items()},
        )
        # Each part as the reference builds it, or its subclass with the faults switched on.
        refine = refine_for(config.faults)
        self.services = Services.build(
            config,
            self.store,
            machine=machine,
            on_notification=self.deliverer.wake,
            refine=refine,
        )
        self.envelopes = refine(Envelopes)()
        shared = self.store if isinstance(self.store, SharedBuckets) else None
        self.pipeline = refine(Pipeline)(
            config,
            self.store,
            self.services.signup,
            self.envelopes,
            all_handlers(config, self.store, self.services, self.envelopes, refine),
            RateLimiter(config.rate_limit, shared=shared),
        )
        self._sweeper: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        try:
            response = await self.pipeline.handle(scope, headers, receive)
        except StoreUnavailable as exc:
            log.warning("database unavailable for %s %s: %s", scope["method"], scope["path"], exc)
            response = self.envelopes.retry_later(
                "SERVICE_UNAVAILABLE", "The sandbox's database is unreachable", RETRY_AFTER_SECONDS
            )
        except Exception:
            log.exception("unhandled error for %s %s", scope["method"], scope["path"])
            response = envelope(500, "INTERNAL_ERROR", "An unexpected error occurred")
        request_id = headers.get(b"x-requestidentifier")
        echo = () if request_id is None else self.envelopes.echo(request_id)
        await send_response(send, response, echo)

    # -- lifecycle ----------------------------------------------------------------------

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
        await self.services.clock.load()
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
                        await self.services.events.run_due(reseller)
                except StoreUnavailable as exc:
                    log.warning("sweep for reseller %s skipped: %s", reseller, exc)
                except Exception:
                    log.exception("sweep for reseller %s failed", reseller)
            await asyncio.sleep(1.0)

"""The sandbox as an ASGI application: wiring and lifecycle.

`SandboxApp` builds the parts (store, services, envelope writer, handlers, the console and
its request log, the request pipeline, the notification deliverer), with the deliberate
faults switched on in the configuration built into them (`faults/`), hands each HTTP request
to the pipeline and echoes `X-RequestIdentifier`, and on start-up tunes the garbage
collector and starts the deliverer, the request log's writer and the sweeper that fires
time-driven changes.

Storage trouble is answered here: `503 SERVICE_UNAVAILABLE` with `Retry-After` for any request
that meets it (the store logs each episode once, not each request), and for every request,
health included, once the store can no longer be used until a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

import bango_resale_spec as spec
from bango_resale_spec import StatusMachine

from . import examples
from .asgi import Receive, Response, Scope, Send, send_response
from .config import SandboxConfig
from .console import Console
from .delivery import Deliverer
from .envelopes import Envelopes, envelope
from .faults.wrappers import refine_for
from .handlers import all_handlers
from .pipeline import RETRY_AFTER_SECONDS, Pipeline
from .ratelimit import RateLimiter, SharedBuckets
from .services import Services
from .storage import StoreUnavailable, open_store

log = logging.getLogger("bango_resale_sandbox")


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
        # The console's operations, and the request log the pipeline feeds.
        self.console = Console(
            config, self.store, self.services, self.envelopes, machine or spec.status_machine()
        )
        self.pipeline = refine(Pipeline)(
            config,
            self.store,
            self.services.signup,
            self.envelopes,
            {
                **all_handlers(config, self.store, self.services, self.envelopes, refine),
                **self.console.handlers,
            },
            RateLimiter(config.rate_limit, shared=shared),
            journal=self.console.journal,
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
            # A store that can no longer be used until a restart: nothing acknowledged now
            # would survive it, so every caller, health checks included, hears so.
            response = (
                await self.pipeline.handle(scope, headers, receive)
                if self.store.unusable is None
                else self._storage_refusal()
            )
        except StoreUnavailable:  # the store logs the episode, not each request
            response = self._storage_refusal()
        except Exception:
            log.exception("unhandled error for %s %s", scope["method"], scope["path"])
            response = envelope(500, "INTERNAL_ERROR", "An unexpected error occurred")
        request_id = headers.get(b"x-requestidentifier")
        echo = () if request_id is None else self.envelopes.echo(request_id)
        await send_response(send, response, echo)

    def _storage_refusal(self) -> Response:
        return self.envelopes.retry_later(
            "SERVICE_UNAVAILABLE",
            self.store.unusable or "The sandbox's database is unavailable",
            RETRY_AFTER_SECONDS,
        )

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
        if self.config.resellers:
            await examples.seed(self.store, next(iter(self.config.resellers)))
        # Everything allocated so far lives as long as the process: keep the collector off
        # it, and collect the young generation less often (fewer pauses under load).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        self.deliverer.start()
        self.console.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sandbox-clock-sweeper")

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.deliverer.stop()
        await self.console.stop()
        await self.store.close()

    async def _sweep_forever(self) -> None:
        """Fire time-driven changes (period ends, expiries, 202 completions) once a second."""
        while True:
            for reseller in self.config.resellers:
                try:
                    async with self.store.transaction():
                        await self.services.events.run_due(reseller)
                except StoreUnavailable:
                    pass  # the store reports the episode; the next sweep tries again
                except Exception:
                    log.exception("sweep for reseller %s failed", reseller)
            await asyncio.sleep(1.0)

"""The sandbox console: the sandbox seen and driven from a browser, and the data behind it.

- `journal`: the request log's writer, fed by the pipeline (`RequestJournal`);
- `history`: the controls that show what happened: the reseller's entitlements, one
  entitlement's timeline with the events it may take next, the request log;
- `pages`: the pages for a browser at `/sandbox/console/`, their script, style sheet and the
  status machine's drawings (`templates/` and `assets/` are package data).

`Console` builds them for one app: its `handlers` join the other operations' in the pipeline,
its `journal` is the pipeline's, and the app starts and stops it with itself. Events are
raised through the merchant controls (`raiseEvent`); the console's buttons call them.
"""

from __future__ import annotations

from bango_resale_spec import StatusMachine, load_partner_spec, load_sandbox_spec

from ..config import SandboxConfig
from ..envelopes import Envelopes
from ..pipeline import Handler
from ..services import Services
from ..storage import EntitlementStore
from .history import HistoryHandlers
from .journal import RequestJournal
from .pages import ConsolePages

__all__ = ["Console", "RequestJournal", "logged_operations"]

_METHODS = ("get", "put", "post", "patch", "delete")


def logged_operations() -> frozenset[str]:
    """The operations whose requests the request log keeps: every operation of the partner
    API, and the sandbox's controls that change something (reads of the sandbox's own, the
    console's polling among them, would only bury the traffic worth seeing)."""
    found = set()
    for document, reads in ((load_partner_spec(), True), (load_sandbox_spec(), False)):
        for item in document["paths"].values():
            for method in _METHODS:
                if method in item and (reads or method != "get"):
                    found.add(str(item[method]["operationId"]))
    return frozenset(found)


class Console:
    """The console's parts for one app."""

    def __init__(
        self,
        config: SandboxConfig,
        store: EntitlementStore,
        services: Services,
        envelopes: Envelopes,
        machine: StatusMachine,
    ) -> None:
        logged = logged_operations()
        size = config.request_log_size
        #: The request log's writer; None when the configuration switches the log off.
        self.journal = RequestJournal(store, size, logged) if size else None
        history = HistoryHandlers(store, services.events, machine, envelopes, self.journal)
        pages = ConsolePages(store, machine, logged, size)
        #: The handlers of the console's operations, by operationId.
        self.handlers: dict[str, Handler] = {**history.routes(), **pages.routes()}

    def start(self) -> None:
        if self.journal is not None:
            self.journal.start()

    async def stop(self) -> None:
        if self.journal is not None:
            await self.journal.stop()

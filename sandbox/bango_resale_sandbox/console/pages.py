"""The console's pages, script, style sheet and drawings (the `console` tag of the sandbox spec).

A page is a small HTML skeleton from `templates/`, with the few values it names escaped; the
script (`assets/console.js`) fills it in from the sandbox's controls and keeps it current,
building every element with `textContent`, never from markup. Every answer here carries
headers that keep it so: a Content-Security-Policy that allows scripts, styles, pictures and
requests from the sandbox itself only, and no inline script or framing; `nosniff`; no referrer;
no caching of the pages.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from html import escape
from importlib import resources
from string import Template

import bango_resale_spec as spec
from bango_resale_spec import StatusMachine
from bango_resale_spec.diagram import moves_from_svg, status_machine_svg

from ..asgi import Response
from ..envelopes import envelope
from ..pipeline import Handler, Request
from ..storage import EntitlementStore

_PACKAGE = __name__.rpartition(".")[0]  # templates/ and assets/ are its package data
HTML = b"text/html; charset=utf-8"
SVG = b"image/svg+xml"
ASSET_TYPES = {
    "console.js": b"text/javascript; charset=utf-8",
    "console.css": b"text/css",
    "icon.svg": SVG,
}
#: What a page may load and run: only the sandbox's own script, styles, pictures and answers.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PAGE_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)
# A file or a drawing changes only with the package: the browser checks it again each time.
_FILE_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-cache"),
)


class ConsolePages:
    def __init__(
        self,
        store: EntitlementStore,
        machine: StatusMachine,
        logged_operations: Iterable[str],
        request_log_size: int,
    ) -> None:
        self.store = store
        self.machine = machine
        self.logged_operations = sorted(logged_operations)
        self.request_log_size = request_log_size
        self._drawings: dict[tuple[str, str | None], bytes] = {}

    def routes(self) -> dict[str, Handler]:
        return {
            "showConsole": self.entitlements,
            "showConsoleEntitlement": self.entitlement,
            "showConsoleRequests": self.requests,
            "getConsoleAsset": self.asset,
            "getStatusMachineDrawing": self.machine_drawing,
            "getMovesDrawing": self.moves_drawing,
        }

    async def entitlements(self, request: Request) -> Response:
        options = _options(spec.entitlement_statuses())
        return _page(
            200,
            request.reseller,
            "entitlements",
            "Entitlements",
            _template("entitlements.html").substitute(status_options=options),
        )

    async def entitlement(self, request: Request) -> Response:
        entitlement_id = request.path_params["entitlementId"]
        shown = escape(entitlement_id)
        if await self.store.get_record_json(request.reseller, entitlement_id) is None:
            main = _template("not_found.html").substitute(entitlement_id=shown)
            return _page(404, request.reseller, "missing", "No such entitlement", main)
        return _page(
            200,
            request.reseller,
            "entitlement",
            entitlement_id,
            _template("entitlement.html").substitute(entitlement_id=shown),
            attributes={"data-entitlement-id": entitlement_id},
        )

    async def requests(self, request: Request) -> Response:
        size = self.request_log_size
        note = (
            "Each request your credentials opened (the partner API, and the sandbox controls"
            " that change something), newest first, as they come. The log keeps the newest"
            f" {size:,} of them."
            if size
            else "The request log is switched off in this sandbox's configuration"
            " (request_log_size = 0 in the [console] table)."
        )
        main = _template("requests.html").substitute(
            log_note=escape(note), operation_options=_options(self.logged_operations)
        )
        return _page(200, request.reseller, "requests", "Requests", main)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["asset"]
        return Response(200, _asset(name), ASSET_TYPES[name], list(_FILE_HEADERS))

    async def machine_drawing(self, request: Request) -> Response:
        return self._drawing("machine", request.query.get("mark"))

    async def moves_drawing(self, request: Request) -> Response:
        status = request.query.get("from")
        if status is None:
            # The spec makes `from` required; the route's checks vouch for the values of
            # the parameters that came, not for the presence of those that did not.
            return envelope(400, "BAD_REQUEST", "from: the status to draw from is required")
        return self._drawing("moves", status)

    def _drawing(self, view: str, status: str | None) -> Response:
        key = (view, status)
        drawing = self._drawings.get(key)
        if drawing is None:
            text = (
                status_machine_svg(self.machine, mark=status)
                if view == "machine"
                else moves_from_svg(self.machine, status)
            )
            drawing = self._drawings[key] = text.encode()
        return Response(200, drawing, SVG, list(_FILE_HEADERS))


def _page(
    status: int,
    reseller: str,
    page: str,
    title: str,
    main: str,
    attributes: dict[str, str] | None = None,
) -> Response:
    extra = "".join(
        f' {name}="{escape(value, quote=True)}"' for name, value in (attributes or {}).items()
    )
    current = ' aria-current="page"'
    html = _template("layout.html").substitute(
        title=escape(title),
        page=page,
        attributes=extra,
        reseller=escape(reseller),
        entitlements_current=current if page == "entitlements" else "",
        requests_current=current if page == "requests" else "",
        main=main,
    )
    return Response(status, html.encode(), HTML, list(_PAGE_HEADERS))


def _options(values: Iterable[str]) -> str:
    return "\n".join(
        f'    <option value="{escape(value, quote=True)}">{escape(value)}</option>'
        for value in values
    )


@functools.cache
def _template(name: str) -> Template:
    return Template(resources.files(_PACKAGE).joinpath("templates", name).read_text("utf-8"))


@functools.cache
def _asset(name: str) -> bytes:
    return resources.files(_PACKAGE).joinpath("assets", name).read_bytes()

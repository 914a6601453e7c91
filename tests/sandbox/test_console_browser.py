"""The console in a real browser: Debian's headless Chromium, driven by Playwright, against real
sandboxes over loopback (one in this process on SQLite; two processes sharing a PostgreSQL
schema). One browser serves the whole module.

What a developer does with it: create through the client and see the entitlement listed, open
it, press an event button and watch the status and the delivered notification appear without
a reload, redeliver and see the receiver get the same notificationId again, see a change made
elsewhere (the API, another browser, another instance) within LIVE_MS. And what it must never
do: show another reseller anything, run a customer's extensionData as markup, load anything
from another host, or let another site's page change anything.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import Request as BrowserRequest

from bango_resale import ResaleClient
from bango_resale_sandbox.testing import (
    DEMO_RESELLER,
    SECOND_DEMO_RESELLER,
    SandboxProcess,
    SandboxThread,
)

from support.postgres import PostgresServer
from support.receivers import NotificationSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.xdist_group("console-browser"),
]

#: How soon a change made elsewhere must show on an open page.
LIVE_MS = 2000
WINDOW = {"width": 1280, "height": 900}
# Values a customer controls that would run as script, or change the page, if shown as markup.
HOSTILE = {
    "note": '<img src="x" onerror="window.__pwned = 1">',
    "html": "<script>window.__pwned = 2</script><b>bold?</b>",
}


@pytest.fixture(scope="module")
def browser(chromium_flags: list[str]) -> Iterator[Browser]:
    binary = shutil.which("chromium")
    assert binary, "Debian chromium is missing: it is in system-packages.txt (make install)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=chromium_flags)
        yield launched
        launched.close()


@dataclass
class Tab:
    """One signed-in browser tab, and what it did that it must not."""

    page: Page
    password: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert self.foreign == [], f"asked another host for {self.foreign}"
        assert self.errors == [], self.errors
        # The credentials travel in the Authorization header only, never in an address
        # (where history, logs and Referer headers would keep them).
        assert self.addresses, "the tab asked for nothing"
        exposed = [url for url in self.addresses if "@" in url or self.password in url]
        assert exposed == [], f"credentials in addresses: {exposed}"


@contextmanager
def signed_in(
    browser: Browser, origin: str, credentials: tuple[str, str] = DEMO_RESELLER
) -> Iterator[Tab]:
    """A fresh browser context that answers the sandbox's Basic challenge with `credentials`,
    as a person at the prompt would; every request for another origin is refused and kept."""
    user, password = credentials
    context: BrowserContext = browser.new_context(
        viewport=WINDOW, http_credentials={"username": user, "password": password}
    )
    tab = Tab(context.new_page(), password)

    def route(route: Route, request: BrowserRequest) -> None:
        tab.addresses.append(request.url)
        if request.url.startswith(origin) or request.url.startswith(("data:", "about:")):
            route.continue_()
        else:
            tab.foreign.append(request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        # Errors, and the warnings a Content-Security-Policy gives for what it stopped.
        blocked = message.type == "warning" and "Content Security Policy" in message.text
        if (message.type == "error" and "401" not in message.text) or blocked:
            tab.errors.append(message.text)

    context.route("**/*", route)
    tab.page.on("console", console)
    tab.page.on("pageerror", lambda error: tab.errors.append(f"uncaught: {error}"))
    try:
        yield tab
    finally:
        context.close()


def created(base_url: str, customer: str, notification_url: str | None = None) -> str:
    user, password = DEMO_RESELLER
    with ResaleClient(base_url, user, password) as client:
        return client.create(
            customer_identifier=customer,
            merchant_account_key="BANGO",
            product_key="BangoMusic",
            notification_url=notification_url,
            extension_data=HOSTILE,
        ).entitlement.entitlement_id


def status_of(page: Page) -> Any:
    return page.locator("#status .status")


def stays_the_same_page(page: Page) -> Callable[[], None]:
    """Marks the loaded page; the returned check fails if it was reloaded or left since."""
    page.evaluate("window.__sameLoad = true")
    return lambda: page.evaluate("window.__sameLoad") is True or pytest.fail("the page reloaded")


# -- one sandbox, SQLite --------------------------------------------------------------------


def test_list_open_press_an_event_and_redeliver_without_a_reload(
    browser: Browser, sandbox: SandboxThread, receiver: NotificationSink
) -> None:
    customer = f"browser-{uuid.uuid4().hex[:8]}"
    entitlement_id = created(sandbox.base_url, customer, receiver.url)
    receiver.wait_for(1)
    with signed_in(browser, sandbox.base_url) as tab:
        page = tab.page
        page.goto(f"{sandbox.base_url}/sandbox/console/?customer={customer}")
        row = page.locator("#entitlements tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(entitlement_id)
        expect(row).to_contain_text("ACTIVE")
        expect(row).to_contain_text("BANGO / BangoMusic")
        page.get_by_role("link", name=entitlement_id).click()
        page.wait_for_url(f"**/sandbox/console/entitlements/{entitlement_id}")
        expect(status_of(page)).to_have_text("ACTIVE")
        same = stays_the_same_page(page)

        # One button per event the machine allows from ACTIVE, named by the spec.
        buttons = page.locator("#events button")
        expect(buttons).to_have_text(
            [
                "MERCHANT_CONFIRMED",
                "EXPIRY_REACHED",
                "MERCHANT_CANCELLED",
                "MERCHANT_REVOKED",
                "MERCHANT_STATE_LOST",
            ]
        )
        expect(page.get_by_role("button", name="MERCHANT_CONFIRMED")).to_be_disabled()
        page.get_by_role("button", name="MERCHANT_CANCELLED").click()
        expect(status_of(page)).to_have_text("CANCELLED", timeout=LIVE_MS)
        expect(page.locator("#notice")).to_contain_text("row merchant-cancelled")
        ended = page.locator(".entry.notification", has_text="TERMINATION_SUCCESS")
        expect(ended.locator(".deliveries li")).to_contain_text("HTTP 200", timeout=5000)
        expect(page.locator(".entry.transition", has_text="merchant-cancelled")).to_contain_text(
            "ACTIVE → CANCELLED"
        )
        # From CANCELLED only a confirmation (of a reactivate) is left.
        expect(buttons).to_have_text(["MERCHANT_CONFIRMED"])

        (termination,) = [
            n for n in receiver.wait_for(2) if n["notificationType"] == "TERMINATION_SUCCESS"
        ]
        ended.get_by_role("button", name="Redeliver").click()
        expect(page.locator("#notice")).to_contain_text("queued again")
        expect(ended.locator(".deliveries li")).to_have_count(2, timeout=5000)
        again = [
            n for n in receiver.received if n["notificationId"] == termination["notificationId"]
        ]
        assert len(again) == 2 and again[0] == again[1]  # same id, same body
        same()
        tab.clean()


def test_changes_made_elsewhere_show_on_an_open_page(
    browser: Browser, sandbox: SandboxThread
) -> None:
    entitlement_id = created(sandbox.base_url, f"live-{uuid.uuid4().hex[:8]}")
    page_url = f"{sandbox.base_url}/sandbox/console/entitlements/{entitlement_id}"
    with (
        signed_in(browser, sandbox.base_url) as watcher,
        signed_in(browser, sandbox.base_url) as other,
    ):
        watcher.page.goto(page_url)
        expect(status_of(watcher.page)).to_have_text("ACTIVE")
        same = stays_the_same_page(watcher.page)
        # Through the API.
        user, password = DEMO_RESELLER
        with ResaleClient(sandbox.base_url, user, password) as client:
            client.suspend(entitlement_id, "ACTIVATION_ROLLBACK/FRAUD_CHECK")
        expect(status_of(watcher.page)).to_have_text("SUSPENDED", timeout=LIVE_MS)
        expect(watcher.page.locator(".entry.request", has_text="updateEntitlement")).to_have_count(
            1, timeout=LIVE_MS
        )
        # From another browser.
        other.page.goto(page_url)
        other.page.get_by_role("button", name="MERCHANT_STATE_LOST").click()
        expect(status_of(other.page)).to_have_text("FAILED")
        expect(status_of(watcher.page)).to_have_text("FAILED", timeout=LIVE_MS)
        same()
        watcher.clean()
        other.clean()


def test_customer_values_show_as_text_and_nothing_loads_from_elsewhere(
    browser: Browser, sandbox: SandboxThread
) -> None:
    entitlement_id = created(sandbox.base_url, '<i>"cust"</i>')
    with signed_in(browser, sandbox.base_url) as tab:
        page = tab.page
        page.goto(f"{sandbox.base_url}/sandbox/console/entitlements/{entitlement_id}")
        record = page.locator("#record")
        expect(record).to_contain_text(HOSTILE["note"])
        expect(record).to_contain_text(HOSTILE["html"])
        expect(record).to_contain_text('<i>"cust"</i>')
        assert record.locator("img, script, b, i").count() == 0
        page.goto(f"{sandbox.base_url}/sandbox/console/")
        expect(page.locator("#entitlements")).to_contain_text('<i>"cust"</i>')
        page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned") is None
        headers = httpx.get(f"{sandbox.base_url}/sandbox/console/", auth=DEMO_RESELLER).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        tab.clean()


def test_values_a_caller_sent_show_as_text_in_the_timeline_and_the_request_log(
    browser: Browser, sandbox: SandboxThread
) -> None:
    # The request log keeps what callers sent: a refused request's X-RequestIdentifier, and a
    # refusal's message quoting a value from the body.
    entitlement_id = created(sandbox.base_url, f"logged-{uuid.uuid4().hex[:8]}")
    request_id = '<img src="x" onerror="window.__pwned = 3">'
    refused = httpx.get(
        f"{sandbox.base_url}/v1/entitlement/{entitlement_id}",
        headers={"X-RequestIdentifier": request_id},
        auth=DEMO_RESELLER,
    )
    assert refused.status_code == 400
    product = HOSTILE["html"]
    unknown = httpx.post(
        f"{sandbox.base_url}/v1/entitlement",
        json={"customerIdentifier": "logged", "merchantAccountKey": "BANGO", "productKey": product},
        auth=DEMO_RESELLER,
    )
    assert unknown.status_code == 409 and product in unknown.json()["responseMessage"]
    with signed_in(browser, sandbox.base_url) as tab:
        page = tab.page
        page.goto(f"{sandbox.base_url}/sandbox/console/entitlements/{entitlement_id}")
        timeline = page.locator("#timeline")
        expect(timeline.locator(".entry.request", has_text="400 BAD_REQUEST")).to_contain_text(
            request_id
        )
        assert timeline.locator("img, script").count() == 0
        page.goto(f"{sandbox.base_url}/sandbox/console/requests?status=4xx")
        rows = page.locator("#requests tbody")
        expect(rows).to_contain_text(request_id)
        expect(rows).to_contain_text(product)
        assert rows.locator("img, script").count() == 0
        assert rows.locator("b", has_text="bold?").count() == 0
        assert page.evaluate("window.__pwned") is None
        tab.clean()


def test_another_reseller_sees_nothing_of_it(browser: Browser, sandbox: SandboxThread) -> None:
    customer = f"private-{uuid.uuid4().hex[:8]}"
    entitlement_id = created(sandbox.base_url, customer)
    with signed_in(browser, sandbox.base_url, SECOND_DEMO_RESELLER) as tab:
        page = tab.page
        page.goto(f"{sandbox.base_url}/sandbox/console/?customer={customer}")
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#entitlements tbody tr")).to_have_count(0)
        answer = page.goto(f"{sandbox.base_url}/sandbox/console/entitlements/{entitlement_id}")
        assert answer is not None and answer.status == 404
        expect(page.locator("h1")).to_have_text("No such entitlement")
        tab.errors.remove(
            "Failed to load resource: the server responded with a status of 404 (Not Found)"
        )
        page.goto(f"{sandbox.base_url}/sandbox/console/requests?entitlementId={entitlement_id}")
        expect(page.locator("#empty")).to_be_visible()
        tab.clean()


@contextmanager
def another_site(page_for: Callable[[str], str]) -> Iterator[str]:
    """A web server on another port of this host serving one page; yields its address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            html = page_for(self.path).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_form_posted_from_another_site_changes_nothing(
    browser: Browser, sandbox: SandboxThread
) -> None:
    entitlement_id = created(sandbox.base_url, f"csrf-{uuid.uuid4().hex[:8]}")
    target = f"{sandbox.base_url}/sandbox/entitlements/{entitlement_id}/events/MERCHANT_REVOKED"
    form = (
        f'<!doctype html><form method="post" action="{target}">'
        '<button type="submit">Win a prize</button></form>'
    )
    with another_site(lambda path: form) as site:
        user, password = DEMO_RESELLER
        context = browser.new_context(http_credentials={"username": user, "password": password})
        try:
            page = context.new_page()
            # The browser holds the reseller's credentials for the sandbox already.
            page.goto(f"{sandbox.base_url}/sandbox/console/")
            page.goto(site)
            with page.expect_response(target) as posted:
                page.get_by_role("button", name="Win a prize").click()
            assert posted.value.status == 403
            assert posted.value.json()["responseCode"] == "UNAUTHORIZED"
        finally:
            context.close()
    assert (
        httpx.get(f"{sandbox.base_url}/v1/entitlement/{entitlement_id}", auth=DEMO_RESELLER).json()[
            "status"
        ]
        == "ACTIVE"
    )


def test_the_clock_moves_forward_and_the_request_log_filters(
    browser: Browser, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    server = in_process_sandbox()  # its own clock
    entitlement_id = created(server.base_url, "clock-customer")
    httpx.get(f"{server.base_url}/v1/entitlement/no-such-one", auth=DEMO_RESELLER)
    with signed_in(browser, server.base_url) as tab:
        page = tab.page
        page.goto(f"{server.base_url}/sandbox/console/requests")
        expect(page.locator("#clock-offset")).to_have_text("(real time)")
        page.locator("#clock-step").fill("2d")
        page.get_by_role("button", name="Advance").click()
        expect(page.locator("#notice")).to_contain_text("Clock advanced")
        expect(page.locator("#clock-offset")).to_have_text("(2d ahead)")
        rows = page.locator("#requests tbody tr")
        expect(rows.first).to_contain_text("advanceClock")  # newest first, as it came
        page.locator("#filter-status").fill("4xx")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("404 NOT_FOUND")
        page.goto(f"{server.base_url}/sandbox/console/requests?entitlementId={entitlement_id}")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("createEntitlement")
        tab.clean()


# -- two instances, one PostgreSQL schema -------------------------------------------------------


@pytest.fixture
def two_instances(postgres: PostgresServer, tmp_path: Path) -> Iterator[list[SandboxProcess]]:
    url = postgres.url(f"console_{uuid.uuid4().hex[:12]}")
    started = [
        SandboxProcess(url, log_path=tmp_path / f"instance-{n}.log").start() for n in range(2)
    ]
    yield started
    for server in started:
        server.stop()


def test_instances_sharing_a_schema_show_each_others_changes_and_requests(
    browser: Browser, two_instances: list[SandboxProcess], receiver: NotificationSink
) -> None:
    first, second = two_instances
    entitlement_id = created(second.base_url, f"shared-{uuid.uuid4().hex[:8]}", receiver.url)
    with signed_in(browser, first.base_url) as tab:
        page = tab.page
        page.goto(f"{first.base_url}/sandbox/console/")
        expect(page.locator("#entitlements")).to_contain_text(entitlement_id)
        page.goto(f"{first.base_url}/sandbox/console/entitlements/{entitlement_id}")
        expect(status_of(page)).to_have_text("ACTIVE")
        # The create went through the other instance: its request is in the one log.
        expect(page.locator(".entry.request", has_text="createEntitlement")).to_have_count(1)
        same = stays_the_same_page(page)
        user, password = DEMO_RESELLER
        with ResaleClient(second.base_url, user, password) as client:
            client.terminate(entitlement_id, "CUSTOMER_CANCELLED/NOT_RENEWED", immediate=False)
        expect(status_of(page)).to_have_text("CANCELLED", timeout=LIVE_MS)
        expect(page.locator(".entry.request", has_text="cancelEntitlement")).to_have_count(
            1, timeout=LIVE_MS
        )
        # A button pressed on this instance is seen by the other.
        page.get_by_role("button", name="MERCHANT_CONFIRMED").wait_for()
        ended = page.locator(".entry.notification", has_text="TERMINATION_SUCCESS")
        expect(ended.locator(".deliveries li")).to_contain_text("HTTP 200", timeout=5000)
        ended.get_by_role("button", name="Redeliver").click()
        expect(ended.locator(".deliveries li")).to_have_count(2, timeout=5000)
        same()
        tab.clean()
    termination = [n for n in receiver.received if n["notificationType"] == "TERMINATION_SUCCESS"]
    assert len(termination) == 2 and termination[0] == termination[1]

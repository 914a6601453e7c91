"""Take the screenshots of the sandbox console that docs/console.md shows.

Starts a sandbox of its own (a SQLite file in a temporary folder) and a notification receiver
that refuses its first delivery, makes a few entitlements live through the client and the
sandbox's controls, and photographs the console's three pages in Debian's headless Chromium
(driven by Playwright) at a 1280 px window. Run it by hand after changing the console:

    .venv/bin/python scripts/console_screenshots.py [--out docs/assets]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import FloatRect, ViewportSize, expect, sync_playwright

from bango_resale import ResaleClient
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread

ROOT = Path(__file__).resolve().parent.parent
# The tests' receiver that can refuse the first deliveries (tests/support/receivers.py).
sys.path.insert(0, str(ROOT / "tests"))
from support.receivers import NotificationSink  # noqa: E402

WINDOW: ViewportSize = {"width": 1280, "height": 1000}
# The lists' pictures: their top, enough to see what a row says.
LIST_CLIP: FloatRect = {"x": 0, "y": 0, "width": 1280, "height": 640}
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def populate(base_url: str, receiver: str) -> str:
    """Entitlements in several statuses; returns the one whose page is shown."""
    user, password = DEMO_RESELLER
    auth = DEMO_RESELLER
    with ResaleClient(base_url, user, password) as client:

        def create(customer: str, merchant: str, product: str, **extra: object) -> str:
            return client.create(
                customer_identifier=customer,
                merchant_account_key=merchant,
                product_key=product,
                **extra,  # type: ignore[arg-type]
            ).entitlement.entitlement_id

        ending = create("cust-2207", "BANGO_US", "MUSIC")
        httpx.post(
            f"{base_url}/sandbox/entitlements/{ending}/events/ACTIVATION_COMPLETED", auth=auth
        )
        client.terminate(ending, "CUSTOMER_CANCELLED/NOT_RENEWED", immediate=False)
        create("cust-3318", "BANGO_US", "MUSIC")  # waits for the customer's sign-up
        revoked = create("cust-4410", "BANGO", "BangoMusic")
        client.terminate(revoked, "ACTIVATION_ROLLBACK/FRAUD", immediate=True)
        shown = create(
            "cust-7f3a9c",
            "BANGO",
            "BangoMusic",
            notification_url=receiver,
            extension_data={"plan": "family", "note": "<b>shown as text</b>"},
            request_id="order-7781",
        )
        client.suspend(shown, "ACTIVATION_ROLLBACK/FRAUD_CHECK")
        httpx.patch(
            f"{base_url}/v1/entitlement",
            json={"entitlementId": shown, "entitlementBenefits": "SUSPENDED"},
            auth=auth,
        )  # refused: a suspend names its reason
        client.resume(shown)
        client.get(shown)
        return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "assets")
    args = parser.parse_args()
    binary = shutil.which("chromium")
    if binary is None:
        print("Debian chromium is missing (system-packages.txt)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as work,
        SandboxThread(Path(work) / "console.sqlite3") as sandbox,
        NotificationSink(fail_first=1) as receiver,
        sync_playwright() as playwright,
    ):
        shown = populate(sandbox.base_url, receiver.url)
        receiver.wait_for(3)
        browser = playwright.chromium.launch(executable_path=binary, args=FLAGS)
        user, password = DEMO_RESELLER
        context = browser.new_context(
            viewport=WINDOW, http_credentials={"username": user, "password": password}
        )
        page = context.new_page()
        console = f"{sandbox.base_url}/sandbox/console"

        page.goto(f"{console}/")
        expect(page.locator("#entitlements tbody tr").first).to_be_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=args.out / "console-entitlements.png", clip=LIST_CLIP)

        page.goto(f"{console}/entitlements/{shown}")
        expect(page.locator(".entry.notification .deliveries li").first).to_be_visible()
        expect(page.locator("#moves")).to_have_js_property("complete", True)
        page.wait_for_timeout(500)
        page.screenshot(path=args.out / "console-entitlement.png")

        page.goto(f"{console}/requests")
        expect(page.locator("#requests tbody tr").first).to_be_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=args.out / "console-requests.png", clip=LIST_CLIP)
        browser.close()
    for name in ("entitlements", "entitlement", "requests"):
        print(args.out / f"console-{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make docs`: the site, opened from the file system in headless Chromium (Debian's, driven by
Playwright) at a 1280 px window, as a reader would.

Every page: no request leaves for another host, no script error, no console error, nothing
wider than the window; every status machine drawing's text at a readable size; the API
references render every operation, with a clean menu. The failed certification report is held
to the same width rule. One browser serves the whole module. A screenshot of each page, whole,
goes to reports/screenshots/, for a person to look at what the checks cannot judge.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

from bango_resale_spec import diagram

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("docs-site")]

WINDOW = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"
#: The smallest text a drawing may show at a 1280 px window, in CSS pixels.
READABLE_PX = 11.0
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# The rendered size of every text of every inline drawing: its font size times the scale the
# page shows the picture at.
INLINE_TEXT_SIZES = """
() => [...document.querySelectorAll('figure.status-machine svg text')].map(t => {
  const matrix = t.getScreenCTM();
  return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(matrix.a, matrix.b);
})
"""
# Images of drawings (the Redoc page embeds one as a data: URI): shown width over natural width.
IMAGE_SCALES = """
() => [...document.querySelectorAll('img[src^="data:image/svg+xml"]')].map(img => ({
  src: img.src, scale: img.getBoundingClientRect().width / img.naturalWidth,
  complete: img.complete && img.naturalWidth > 0,
}))
"""
OVERFLOW = """
() => {
  // The right edge of the page's content: the window, or the body's content box if narrower.
  const body = document.body.getBoundingClientRect();
  const edge = Math.min(window.innerWidth,
                        body.right - parseFloat(getComputedStyle(document.body).paddingRight));
  return {page: document.documentElement.scrollWidth, window: window.innerWidth, edge,
          wide: [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > edge + 1
                         && e.checkVisibility({opacityProperty: true, visibilityProperty: true})
                         && getComputedStyle(e).position !== 'fixed'
                         && !e.closest('pre, .md-typeset__scrollwrap, .md-sidebar, .menu-content'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)};
}
"""


@dataclass
class Visit:
    """What one page did in the browser."""

    page: Page
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "scripts/build_docs.py", "--out", str(out)],
        cwd=repo_root,
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = shutil.which("chromium")
    assert binary, "Debian chromium is missing: it is in system-packages.txt (make install)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        yield launched
        launched.close()


@contextmanager
def visit(browser: Browser, url: str, settle_ms: int = 500) -> Iterator[Visit]:
    context = browser.new_context(viewport=WINDOW)
    page = context.new_page()
    seen = Visit(page)

    def route(route: Route, request: Request) -> None:
        if request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            seen.foreign.append(request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        # Errors, and the warnings a Content-Security-Policy gives for what it stopped.
        blocked = message.type == "warning" and "Content Security Policy" in message.text
        if message.type == "error" or blocked:
            seen.errors.append(message.text)

    context.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(settle_ms)
    try:
        yield seen
    finally:
        context.close()


def _guide_pages(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("*.html") if p.name != "404.html")


GUIDES = sorted(
    f"{p.stem}.html" for p in (Path(__file__).resolve().parents[2] / "docs").glob("*.md")
)


@pytest.mark.parametrize("name", GUIDES)
def test_guide_page_is_self_contained_and_fits(name: str, site: Path, browser: Browser) -> None:
    assert sorted(GUIDES) == _guide_pages(site), "a page was not built (or is not in docs/)"
    with visit(browser, (site / name).as_uri()) as seen:
        assert seen.foreign == [], f"{name} asked another host for {seen.foreign}"
        assert seen.errors == [], f"{name}: {seen.errors}"
        width = seen.page.evaluate(OVERFLOW)
        assert width["page"] <= width["window"], f"{name} is wider than the window: {width}"
        assert width["wide"] == [], f"{name}: elements run off the right edge: {width}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        seen.page.screenshot(path=SCREENSHOTS / name.replace(".html", ".png"), full_page=True)
        sizes = seen.page.evaluate(INLINE_TEXT_SIZES)
        if name == "status-machine.html":
            assert len(sizes) > 500, "the status machine page lost its drawings"
        if sizes:
            assert min(sizes) >= READABLE_PX, f"{name}: diagram text {min(sizes):.1f} px"


def test_every_link_inside_the_site_leads_somewhere(site: Path) -> None:
    # 404.html is for a web server to send from any path: its links start at the root.
    for page in set(site.rglob("*.html")) - {site / "404.html"}:
        for target in re.findall(
            r'href="([^"#:]+\.(?:html|svg|js|css))(?:#[^"]*)?"', page.read_text()
        ):
            assert (page.parent / target).resolve().is_file(), f"{page.name} -> {target}"


def test_search_works_from_the_file_system(site: Path, browser: Browser) -> None:
    with visit(browser, (site / "index.html").as_uri()) as seen:
        # The index is searched by a worker, which iframe-worker's shim runs from file://.
        seen.page.locator(".md-search__input").first.click()
        seen.page.keyboard.type("magic number")
        results = seen.page.locator(".md-search-result__item")
        results.first.wait_for(timeout=15_000)
        assert results.count() > 0
        assert seen.errors == [] and seen.foreign == []


def _operation_ids(spec: Path) -> set[str]:
    document = yaml.safe_load(spec.read_text())
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }


@pytest.mark.parametrize("spec_name", ["bango-resale", "sandbox"])
def test_api_reference_renders_offline_with_a_clean_menu(
    spec_name: str, site: Path, browser: Browser, repo_root: Path
) -> None:
    page_path = site / "reference" / f"{spec_name}.html"
    with visit(browser, page_path.as_uri(), settle_ms=2500) as seen:
        page = seen.page
        assert seen.foreign == [], f"{spec_name} asked another host for {seen.foreign}"
        assert seen.errors == [], seen.errors
        html = page.content()
        rendered = set(re.findall(r"operation/([A-Za-z]+)", html))
        expected = _operation_ids(repo_root / "spec" / f"{spec_name}.openapi.yaml")
        assert expected <= rendered, f"not rendered: {sorted(expected - rendered)}"
        # Navigation works from file://: links into the page are anchors; the bar leads home.
        assert 'href="#tag/' in html
        assert page.locator('nav.guides a[href="../index.html"]').count() == 1
        menu = [
            label.strip()
            for label in page.locator(".menu-content label").all_inner_texts()
            if label.strip()
        ]
        assert menu, "Redoc's menu is empty"
        assert not [m for m in menu if "<" in m], f"markup shown as text in the menu: {menu}"
        assert len(menu) == len(set(menu)), f"a menu entry appears twice: {menu}"
        headings = [h.strip() for h in page.locator("h1, h2").all_inner_texts() if h.strip()]
        assert len(headings) == len(set(headings)), f"a heading appears twice: {headings}"
        assert not [h for h in headings if "<code>" in h], headings
        width = page.evaluate(OVERFLOW)
        assert width["page"] <= width["window"], width
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"reference-{spec_name}.png")
        if spec_name == "bango-resale":
            _assert_embedded_diagram_readable(page.evaluate(IMAGE_SCALES))


def _assert_embedded_diagram_readable(images: list[dict[str, Any]]) -> None:
    assert len(images) == 1, f"expected the status machine picture once, found {len(images)}"
    (image,) = images
    assert image["complete"], "the status machine picture did not load"
    svg = base64.b64decode(image["src"].split(",", 1)[1]).decode()
    sizes = [float(size) for size in re.findall(r'font-size="([\d.]+)"', svg)]
    assert min(sizes) == min(diagram.FONT_SIZES.values())
    shown = min(sizes) * image["scale"]
    assert shown >= READABLE_PX, f"the smallest diagram text shows at {shown:.1f} px"


def test_failed_certification_report_fits_the_window(
    tmp_path: Path, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bango_resale_contract.certification import CertificationOptions, certify, write_reports

    monkeypatch.chdir(tmp_path)  # as a wheel user would run it: no checkout around
    run = certify(
        CertificationOptions(
            report_dir=tmp_path / "report",
            faults=("drop_cancel_reason",),
            workflows=("cancel-with-reason",),
        )
    )
    files = write_reports(run, tmp_path / "report")
    with visit(browser, files.html.as_uri()) as seen:
        assert "FAILED: 0 of 1 journeys passed" in seen.page.content()
        assert seen.errors == [] and seen.foreign == []
        width = seen.page.evaluate(OVERFLOW)
        assert width["page"] <= width["window"], f"the report is wider than the window: {width}"
        assert width["wide"] == [], width

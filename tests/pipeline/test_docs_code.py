"""The code in the docs runs: every Python and shell block of README.md and docs/*.md, in page
order, against a real sandbox on loopback, with the commands of this checkout.

A block that cannot run here says why on the line before its fence, with one of the reasons
of `NO_RUN`; each reason names what a block must hold to claim it, so a block is never left
out by accident.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bango_resale import ResaleClient
from bango_resale_sandbox.testing import SandboxThread

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
RUNNABLE = {"python", "bash"}
#: Languages a block may be written in (anything else is a typo, e.g. `sh` for `bash`).
LANGUAGES = RUNNABLE | {"text", "json", "toml", "yaml"}

#: Why a block may stay unrun, and the text such a block must hold to claim the reason.
NO_RUN: dict[str, tuple[str, str]] = {
    "server": (
        "starts a server that runs until stopped; the tests start their own",
        r"bango-resale-sandbox|make sandbox|proxy",
    ),
    "install": ("installs packages; tests/pipeline/test_wheel.py does so in a fresh venv", "pip "),
    "make": ("a make verb: CI runs `make test`, and the others take minutes", r"^make "),
    "bango": ("needs Bango's hosted sandbox and test credentials", r"sandbox\.bango\.com"),
    "postgres": ("needs a PostgreSQL server of your own", r"postgresql://"),
    "your-service": ("needs a service of your own", r"example\.(com|net)|<[a-z ]+>"),
    "shown": ("a file shown whole; its own test runs it", r"^--8<-- "),
}

FENCE = re.compile(
    r"(?:^<!-- no-run: (?P<reason>[a-z-]+) -->\n)?^```(?P<language>\w*)[^\n]*\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
MARKER = re.compile(r"^<!-- no-run: ([^>]*?) -->", re.MULTILINE)

#: What each page's blocks must print, beyond running: they show what the prose says.
PYTHON_OUTPUT = {
    "README.md": ["ACTIVE", "REVOKED"],
    "getting-started.md": ["ACTIVE final", "CANCELLED"],
    "sandbox.md": ["from-a-test"],
    "client.md": [
        "hello",
        "ACTIVE final",
        "True ('update', 'change_product', 'suspend', 'cancel', 'revoke')",
        "Closest valid pairs",
        "send the customer to",
        "NOT_FOUND",
        "NOT_AVAILABLE",
        "TERMINATION_SUCCESS",
    ],
}
SHELL_OUTPUT = {
    "README.md": ['"status": "ACTIVE"'],
    "cli.md": [
        "warning: reactivate is deprecated",
        "NAVIGATE_TO_URL http",
        '"responseCode": "NOT_FOUND"',
        "exit status 1",
    ],
    "sandbox.md": [
        '"status":"ACTIVE"',
        '"status": "CANCELLED"',
        "CREATE_REQUEST_RETURNS",
        'must be sent as application/json"} HTTP 415',
        'a page of another site may not change anything here"} HTTP 403',
        'protocol upgrades (WebSocket, h2c, CONNECT) are not supported"} HTTP 400',
    ],
    "contract-testing.md": [
        "receiver  play the platform",
        "proxy: error: --upstream: 'resale.example.com' is not an http(s) URL with a host",
        "exit status 2",
    ],
    "proxy.md": ["transitions exercised: 1/41"],
    "certification.md": ["exit status 1: the fault was caught", "cancelEntitlement answered 200"],
}


@dataclass(frozen=True, slots=True)
class Block:
    page: str
    language: str
    body: str
    no_run: str | None

    @property
    def runs(self) -> bool:
        return self.language in RUNNABLE and self.no_run is None


def blocks(page: Path) -> list[Block]:
    return [
        Block(page.name, m.group("language"), m.group("body"), m.group("reason"))
        for m in FENCE.finditer(page.read_text("utf-8"))
    ]


def _pages_with(language: str) -> list[Path]:
    return [p for p in PAGES if any(b.runs and b.language == language for b in blocks(p))]


def test_every_block_runs_or_says_why_not() -> None:
    found = [block for page in PAGES for block in blocks(page)]
    assert sum(block.runs for block in found) >= 20, "the docs lost their runnable blocks"
    for block in found:
        where = f"{block.page}: ```{block.language} {block.body[:60]!r}"
        assert block.language in LANGUAGES, f"{where}: unknown language"
        if block.no_run is None:
            continue
        assert block.language in RUNNABLE, f"{where}: only runnable blocks need a no-run reason"
        assert block.no_run in NO_RUN, f"{where}: no-run reason must be one of {sorted(NO_RUN)}"
        evidence = NO_RUN[block.no_run][1]
        assert re.search(evidence, block.body, re.MULTILINE), (
            f"{where}: marked no-run ({block.no_run}) but holds nothing that needs it"
            f" ({evidence}): let it run"
        )
    # Every marker is attached to a fence (a marker anywhere else leaves nothing out).
    for page in PAGES:
        text = page.read_text("utf-8")
        attached = sum(1 for b in blocks(page) if b.no_run is not None)
        assert len(MARKER.findall(text)) == attached, f"{page.name}: a no-run marker lies loose"


def test_the_marking_bites() -> None:
    """A no-run marker without what its reason needs is refused by the check above."""
    page = "<!-- no-run: server -->\n```bash\nbango-resale echo\n```\n"
    (block,) = [Block("x.md", m["language"], m["body"], m["reason"]) for m in FENCE.finditer(page)]
    assert block.no_run == "server" and not block.runs
    assert not re.search(NO_RUN["server"][1], block.body, re.MULTILINE)


@pytest.fixture
def docs_sandbox(in_process_sandbox: Callable[..., SandboxThread]) -> SandboxThread:
    """A fresh sandbox per page: pages move the demo reseller's clock."""
    return in_process_sandbox()


@pytest.mark.parametrize("page", _pages_with("python"), ids=lambda p: p.name)
def test_python_blocks_run_in_order(page: Path, docs_sandbox: SandboxThread) -> None:
    namespace: dict[str, object] = {"__name__": "docs"}
    printed = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            warnings.simplefilter("error", DeprecationWarning)
            for block in blocks(page):
                if block.runs and block.language == "python":
                    code = block.body.replace("http://127.0.0.1:8000", docs_sandbox.base_url)
                    exec(compile(code, f"{page.name}", "exec"), namespace)
    finally:
        for value in namespace.values():
            if isinstance(value, ResaleClient):
                value.close()
    for marker in PYTHON_OUTPUT.get(page.name, []):
        assert marker in printed.getvalue(), f"{page.name} did not print {marker!r}"


@pytest.mark.parametrize("page", _pages_with("bash"), ids=lambda p: p.name)
def test_shell_blocks_run_in_order(
    page: Path,
    docs_sandbox: SandboxThread,
    tmp_path: Path,
    run_shell_block: Callable[[str, str, Path, Path], str],
) -> None:
    script = "\n".join(
        block.body for block in blocks(page) if block.runs and block.language == "bash"
    )
    output = run_shell_block(script, docs_sandbox.base_url, Path(sys.executable).parent, tmp_path)
    for marker in SHELL_OUTPUT.get(page.name, []):
        assert marker in output, f"{page.name} did not print {marker!r}"


def test_the_readme_is_a_front_door(repo_root: Path) -> None:
    text = (repo_root / "README.md").read_text("utf-8")
    lines = text.splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move detail into docs/"
    # The two commands that do everything come first.
    first = next(b for b in blocks(repo_root / "README.md"))
    assert first.body.splitlines()[:2] == [
        line for line in first.body.splitlines() if line.startswith(("make contract", "make test"))
    ]
    # The install line names the file `make wheel` builds.
    version = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["version"]
    wheel = f"dist/bango_resale-{version}-py3-none-any.whl["
    assert wheel in text, f"README.md should install {wheel}...]"
    for page in PAGES:
        assert "bango_resale-0" not in page.read_text().replace(wheel, ""), page.name
    # Every relative link leads to a file of the repository (they work on any git host).
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (repo_root / target).exists(), f"README.md links to missing {target}"
    assert "make docs" in text

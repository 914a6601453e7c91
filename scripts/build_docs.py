"""The documentation site: `make docs` builds it with MkDocs (Material) into reports/docs/.

Run as a script it builds the site (`mkdocs build --strict`); MkDocs also loads this file as a
hook (`hooks:` in mkdocs.yml), which adds what Markdown alone cannot hold:

- the two API references, rendered by Redoc into `reference/bango-resale.html` and
  `reference/sandbox.html`, each spec bundled into one JSON document by the pinned Redocly CLI
  and inlined, Redoc's standalone bundle (pinned `redoc` npm package) beside them;
- the status machine, drawn from the spec by `bango_resale_spec.diagram`: `<!-- status-machine
  -->` in a page becomes the whole drawing, `<!-- status-machine: ACTIVE -->` the moves from
  one status (`start` for the creates), both inline SVG (its text is text: searchable,
  selectable, sharp at any zoom); the partner reference embeds the whole drawing too;
- iframe-worker's shim (pinned npm package), which Material's offline plugin needs for search
  from `file://`; without a local copy the plugin would load it from a CDN.

Nothing is loaded from another host: Material's fonts are off (`theme.font: false`), each
reference page carries a Content-Security-Policy that allows nothing from the network, and
Redoc's footer logo (which it would fetch from its CDN) is dropped from the copied bundle.

    python scripts/build_docs.py [--out reports/docs]
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
REDOCLY = NODE_MODULES / ".bin" / "redocly"
REDOC_BUNDLE = NODE_MODULES / "redoc" / "bundles" / "redoc.standalone.js"
IFRAME_WORKER_SHIM = NODE_MODULES / "iframe-worker" / "shim" / "index.js"
#: Where the site keeps the shim (mkdocs.yml names it under `extra.polyfills`).
SHIM_URI = "assets/javascripts/iframe-worker-shim.js"

#: The reference pages: spec file -> (page in the site, its title in the navigation).
REFERENCES = {
    "bango-resale.openapi.yaml": ("reference/bango-resale.html", "Partner API"),
    "sandbox.openapi.yaml": ("reference/sandbox.html", "Sandbox controls"),
}
#: The picture the partner spec's description embeds by file name.
STATUS_MACHINE_PICTURE = "status-machine.svg"

#: Nothing from the network: the Redoc file beside the page, inline scripts and styles, data:
#: images, Redoc's search worker (created from a blob).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' blob:; worker-src blob:; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src blob: data:"
)

#: Redoc's options (https://redocly.com/docs/redoc/config): open the success answers, keep the
#: schema's own property order, leave room for the bar linking back to the guides.
REDOC_OPTIONS: dict[str, Any] = {
    "expandResponses": "200,201,202",
    "sortPropsAlphabetically": False,
    "scrollYOffset": 44,
}

#: Redoc renders its footer logo as an <img> from its CDN; the copied bundle points it at a
#: data: URI that is no image, so Redoc's own error handler drops the <img> and no request
#: leaves the page. `redoc_bundle()` fails when the bundle no longer has this text.
REDOC_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"
NO_IMAGE = "data:,"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
<style>
body {{ margin: 0; padding: 0; }}
.guides {{ position: fixed; top: 0; left: 0; right: 0; height: 44px; z-index: 100;
  display: flex; align-items: center; gap: 1.5em; padding: 0 20px; box-sizing: border-box;
  background: #4051b5; color: #fff;
  font: 15px/1 system-ui, -apple-system, "Segoe UI", sans-serif; }}
.guides a {{ color: #fff; text-decoration: none; }}
.guides a:hover {{ text-decoration: underline; }}
#redoc {{ padding-top: 44px; }}
</style>
</head>
<body>
<nav class="guides"><a href="../index.html"><strong>bango-resale</strong> documentation</a>
{links}</nav>
<div id="redoc"></div>
<script src="{redoc}"></script>
<script>
Redoc.init({spec}, {options}, document.getElementById("redoc"));
</script>
</body>
</html>
"""


def _script_safe(json_text: str) -> str:
    """JSON that cannot close the <script> element it is inlined in."""
    return json_text.replace("</", "<\\/")


def bundle(spec: Path) -> dict[str, Any]:
    """The spec with every external reference resolved, as one JSON document."""
    if not REDOCLY.exists():
        raise FileNotFoundError(f"{REDOCLY} is missing: run `make install`")
    with tempfile.TemporaryDirectory() as work:
        output = Path(work) / "bundle.json"
        subprocess.run(
            [str(REDOCLY), "bundle", str(spec), "--ext", "json", "-o", str(output)],
            check=True,
            capture_output=True,
            text=True,
        )
        document: dict[str, Any] = json.loads(output.read_text())
        return document


#: A Markdown image that names a local file: `![alt](name.svg)`.
LOCAL_IMAGE = re.compile(r"(!\[[^\]]*\]\()([\w.-]+\.svg)(\))")
#: A Markdown heading line.
HEADING = re.compile(r"^(#{1,6} )(.*)$", re.MULTILINE)


def inline_images(text: str, pictures: dict[str, str]) -> str:
    """`text` with each Markdown image naming one of `pictures` as a data: URI."""

    def data_uri(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in pictures:
            raise FileNotFoundError(f"the description embeds {name}, which nothing draws")
        encoded = _base64(pictures[name])
        return f"{match.group(1)}data:image/svg+xml;base64,{encoded}{match.group(3)}"

    return LOCAL_IMAGE.sub(data_uri, text)


def _base64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def plain_headings(text: str) -> str:
    """Headings without code spans: Redoc puts a heading's HTML, escaped, into its menu."""
    return HEADING.sub(lambda m: m.group(1) + m.group(2).replace("`", ""), text)


def redoc_options(document: dict[str, Any]) -> dict[str, Any]:
    """Redoc adds an "Authentication" section of its own unless told not to; a description
    that has its own heading of that name gets none (two sections of one name collide, and
    Redoc then shows both twice)."""
    options = dict(REDOC_OPTIONS)
    description = str(document.get("info", {}).get("description", ""))
    if re.search(r"^#{1,6} Authentication\s*$", description, re.MULTILINE):
        options["noAutoAuth"] = True
    return options


def render(spec: Path, pictures: dict[str, str]) -> str:
    """The Redoc page of one spec."""
    document = bundle(spec)
    info = document.get("info")
    if isinstance(info, dict) and isinstance(info.get("description"), str):
        info["description"] = plain_headings(inline_images(info["description"], pictures))
    for tag in document.get("tags", ()):
        if isinstance(tag.get("description"), str):
            tag["description"] = plain_headings(tag["description"])
    title = info.get("title", spec.stem) if isinstance(info, dict) else spec.stem
    links = "".join(
        f'<a href="{html.escape(Path(page).name)}">{html.escape(name)} reference</a>'
        for page, name in REFERENCES.values()
    )
    return PAGE.format(
        csp=CONTENT_SECURITY_POLICY,
        title=html.escape(str(title)),
        links=links,
        redoc=html.escape(REDOC_BUNDLE.name),
        spec=_script_safe(json.dumps(document, ensure_ascii=False)),
        options=json.dumps(redoc_options(document)),
    )


def redoc_bundle() -> str:
    """Redoc's standalone bundle, its CDN logo replaced (see REDOC_LOGO_URL)."""
    if not REDOC_BUNDLE.is_file():
        raise FileNotFoundError(f"{REDOC_BUNDLE} is missing: run `make install`")
    text = REDOC_BUNDLE.read_text("utf-8")
    if text.count(REDOC_LOGO_URL) != 1:
        raise RuntimeError(
            f"{REDOC_BUNDLE} no longer holds {REDOC_LOGO_URL} once: check how this Redoc"
            " release shows its logo before building the reference pages"
        )
    return text.replace(REDOC_LOGO_URL, NO_IMAGE)


# The status machine in pages -----------------------------------------------------------------

#: `<!-- status-machine -->` or `<!-- status-machine: STATUS -->` (`start`: the creates).
DIAGRAM_MARKER = re.compile(r"^<!-- status-machine(?::\s*([A-Za-z-]+))? -->$", re.MULTILINE)


def diagrams_in(markdown: str) -> str:
    """`markdown` with each status machine marker replaced by the inline drawing."""
    from bango_resale_spec import diagram

    def drawing(match: re.Match[str]) -> str:
        status = match.group(1)
        if status is None:
            svg = diagram.status_machine_svg()
        else:
            svg = diagram.moves_from_svg(None, None if status == "start" else status)
        return f'<figure class="status-machine">\n{svg.strip()}\n</figure>'

    return DIAGRAM_MARKER.sub(drawing, markdown)


# MkDocs hook events (https://www.mkdocs.org/user-guide/configuration/#hooks) ---------------------


def on_files(files: Any, config: Any) -> Any:
    """Add the reference pages, Redoc's bundle, the drawings and the worker shim."""
    from mkdocs.structure.files import File

    from bango_resale_spec import diagram

    pictures = {STATUS_MACHINE_PICTURE: diagram.status_machine_svg()}
    generated: dict[str, str] = {
        f"reference/{REDOC_BUNDLE.name}": redoc_bundle(),
        f"reference/{STATUS_MACHINE_PICTURE}": pictures[STATUS_MACHINE_PICTURE],
        SHIM_URI: IFRAME_WORKER_SHIM.read_text("utf-8"),
    }
    for spec_name, (page, _) in REFERENCES.items():
        generated[page] = render(ROOT / "spec" / spec_name, pictures)
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files


def on_nav(nav: Any, config: Any, files: Any) -> Any:
    """The reference pages as links at the end of the navigation (MkDocs would take a nav
    entry naming a generated HTML file for a page to render)."""
    from mkdocs.structure.nav import Link, Section

    links = [Link(f"{name} reference", page) for page, name in REFERENCES.values()]
    nav.items.append(Section("API reference", links))
    return nav


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return diagrams_in(markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "docs")
    args = parser.parse_args(argv)
    for needed in (REDOC_BUNDLE, IFRAME_WORKER_SHIM, REDOCLY):
        if not needed.exists():
            print(f"error: {needed} is missing: run `make install`", file=sys.stderr)
            return 2
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "--config-file",
        str(ROOT / "mkdocs.yml"),
        "--site-dir",
        str(args.out.resolve()),
    ]
    # Material's notice about its end of life and its successor says nothing about this build.
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    completed = subprocess.run(command, check=False, cwd=ROOT, env=environment)
    if completed.returncode == 0:
        print(f"site: {args.out / 'index.html'}")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())

"""Render each spec as an HTML reference page that works offline (`make docs`).

Each page inlines its spec, bundled into one JSON document by the pinned Redocly CLI (the
sandbox spec refers to the partner spec), and loads Redoc's standalone bundle, copied from the
pinned `redoc` npm package, from beside it: keep the folder together. Redoc 2 links with `#`
anchors, so navigation works from a `file://` URL. A Content-Security-Policy lets the page load
nothing from the network (Redoc's footer would otherwise fetch its logo from a CDN), so what
renders offline is what renders anywhere. Pictures the description embeds by file name (the
status machine's `status-machine.svg`, drawn into the same folder first) are inlined as data: URIs,
so the page needs nothing but the Redoc file beside it.

    python scripts/build_docs.py [--out reports/docs] [SPEC ...]
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
REDOC_BUNDLE = ROOT / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
DEFAULT_SPECS = sorted((ROOT / "spec").glob("*.openapi.yaml"))

#: Nothing from the network: the Redoc file beside the page, inline scripts and styles, data:
#: images, Redoc's search worker (created from a blob).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' blob:; worker-src blob:; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src blob: data:"
)

#: Redoc's options (https://redocly.com/docs/redoc/config): open the success answers, show
#: the schema's own property order.
REDOC_OPTIONS = {"expandResponses": "200,201,202", "sortPropsAlphabetically": False}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
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


def bundle(spec: Path) -> dict[str, object]:
    """The spec with every external reference resolved, as one JSON document."""
    with tempfile.TemporaryDirectory() as work:
        output = Path(work) / "bundle.json"
        subprocess.run(
            [str(REDOCLY), "bundle", str(spec), "--ext", "json", "-o", str(output)],
            check=True,
            capture_output=True,
            text=True,
        )
        document: dict[str, object] = json.loads(output.read_text())
        return document


#: A Markdown image that names a local file: `![alt](name.svg)`.
LOCAL_IMAGE = re.compile(r"(!\[[^\]]*\]\()([\w.-]+\.svg)(\))")


def inline_images(text: str, folder: Path) -> str:
    """`text` with each Markdown image naming an SVG file present in `folder` as a data: URI."""

    def data_uri(match: re.Match[str]) -> str:
        picture = folder / match.group(2)
        if not picture.is_file():
            raise FileNotFoundError(
                f"{picture} is missing: draw it first (scripts/draw_status_machine.py {folder};"
                " `make docs` runs both)"
            )
        encoded = base64.b64encode(picture.read_bytes()).decode()
        return f"{match.group(1)}data:image/svg+xml;base64,{encoded}{match.group(3)}"

    return LOCAL_IMAGE.sub(data_uri, text)


def render(spec: Path, folder: Path) -> str:
    document = bundle(spec)
    info = document.get("info")
    if isinstance(info, dict) and isinstance(info.get("description"), str):
        info["description"] = inline_images(info["description"], folder)
    title = info.get("title", spec.stem) if isinstance(info, dict) else spec.stem
    return PAGE.format(
        csp=CONTENT_SECURITY_POLICY,
        title=html.escape(str(title)),
        redoc=html.escape(REDOC_BUNDLE.name),
        spec=_script_safe(json.dumps(document, ensure_ascii=False)),
        options=json.dumps(REDOC_OPTIONS),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "docs")
    parser.add_argument("specs", nargs="*", type=Path, default=DEFAULT_SPECS)
    args = parser.parse_args(argv)
    if not REDOC_BUNDLE.is_file():
        print(f"error: {REDOC_BUNDLE} is missing: run `make install`", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REDOC_BUNDLE, args.out / REDOC_BUNDLE.name)
    for spec in args.specs:
        target = args.out / f"{spec.name.removesuffix('.openapi.yaml')}.html"
        try:
            target.write_text(render(spec, args.out))
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{spec} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

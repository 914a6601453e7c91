"""Facts about the installed `bango-resale` distribution that messages to its users need.

The sandbox and the contract suite come with extras; a command whose extra is missing says how
to add it. `pip install 'bango-resale[sandbox]'` only works once the distribution is on an
index: installed from a wheel file, the right command names that file, and installed from a
checkout (editable), that folder. pip records where it installed from (`direct_url.json`,
PEP 610); this reads it.
"""

from __future__ import annotations

import json
from importlib import metadata
from urllib.parse import urlsplit
from urllib.request import url2pathname

__all__ = ["DISTRIBUTION", "install_command"]

DISTRIBUTION = "bango-resale"


def install_command(extra: str) -> str:
    """The pip command that adds `extra` to this installation, e.g.
    `pip install '/home/me/dist/bango_resale-0.1.0-py3-none-any.whl[sandbox]'`."""
    source = _installed_from()
    if source is None:
        return f"pip install '{DISTRIBUTION}[{extra}]'"
    path, editable = source
    if editable:
        return f"pip install -e '{path}[{extra}]' (in that checkout, `make install` has them all)"
    return f"pip install '{path}[{extra}]'"


def _installed_from() -> tuple[str, bool] | None:
    """(local path, editable) when pip installed the distribution from a file or folder."""
    try:
        recorded = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not recorded:
        return None
    try:
        direct_url = json.loads(recorded)
    except ValueError:
        return None
    url = str(direct_url.get("url", ""))
    if not url.startswith("file:"):
        return None
    editable = bool(direct_url.get("dir_info", {}).get("editable", False))
    return url2pathname(urlsplit(url).path), editable

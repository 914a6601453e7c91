"""Recorded traffic (HAR 1.2, from a browser's network panel or Redocly's proxy), judged offline
by the live judge, entry by entry in the order they were sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bango_resale_contract._findings import Headers, Violation
from bango_resale_contract.live import LiveJudge


class HarError(ValueError):
    """The file is not a HAR this audit can read; the message says what is wrong."""


def _headers(entries: Any) -> Headers:
    return [
        (str(h.get("name", "")).encode("latin-1"), str(h.get("value", "")).encode("latin-1"))
        for h in entries or ()
        if isinstance(h, Mapping)
    ]


def _response_body(content: Mapping[str, Any]) -> bytes:
    text = content.get("text")
    if not isinstance(text, str):
        return b""
    if content.get("encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def exchanges(document: Any) -> Iterator[tuple[str, str, Headers, bytes, int, Headers, bytes]]:
    """The exchanges of a HAR document, oldest first (entries without an answer are skipped)."""
    try:
        entries = list(document["log"]["entries"])
    except (KeyError, TypeError) as error:
        raise HarError("not a HAR: it has no log.entries list") from error
    entries.sort(key=lambda e: str(e.get("startedDateTime", "")) if isinstance(e, Mapping) else "")
    for number, entry in enumerate(entries):
        try:
            request, response = entry["request"], entry["response"]
            status = int(response["status"])
            method, url = str(request["method"]), str(request["url"])
        except (KeyError, TypeError, ValueError) as error:
            raise HarError(f"entry {number}: missing request or response field {error}") from error
        if status <= 0:  # a request the recorder saw go out but never answered
            continue
        post = request.get("postData") or {}
        sent = str(post.get("text") or "").encode("utf-8")
        yield (
            method,
            url,
            _headers(request.get("headers")),
            sent,
            status,
            _headers(response.get("headers")),
            _response_body(response.get("content") or {}),
        )


def audit(path: Path, judge: LiveJudge | None = None) -> tuple[LiveJudge, list[Violation]]:
    """Judge every exchange of the HAR file at `path`."""
    judge = judge or LiveJudge()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HarError(f"{path}: {error}") from error
    found = [v for exchange in exchanges(document) for v in judge.exchange(*exchange)]
    return judge, found

"""Helpers shared by the client tests (a scripted transport, canned bodies, the CLI in-process)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import httpx

from bango_resale.cli import main
from bango_resale.testing import sample_entitlement


def record(status: str = "ACTIVE", entitlement_id: str = "ent-1") -> dict[str, Any]:
    return sample_entitlement(status=status, entitlement_id=entitlement_id).to_json()


def envelope(code: str, message: str = "text", **fields: Any) -> dict[str, Any]:
    return {"responseCode": code, "responseMessage": message, **fields}


class Script:
    """A MockTransport that answers from a queue and records every request it saw."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response | Exception | Callable[[httpx.Request], Any]] = []

    def then(self, status: int, body: Any = None, **kwargs: Any) -> Script:
        if isinstance(body, dict | list):
            self.answers.append(httpx.Response(status, json=body, **kwargs))
        else:
            self.answers.append(httpx.Response(status, content=body or b"", **kwargs))
        return self

    def then_raise(self, exc: Exception) -> Script:
        self.answers.append(exc)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`bango-resale ARGV...` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()

"""Following a sandbox (`listen`, `logs --follow`) rides out a sandbox that restarts or is
busy, and stops for anything else: unit tests over a scripted stand-in for its controls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from bango_resale import ApiError, TransportError
from bango_resale._listen import tail_requests
from bango_resale._sandbox import RequestPage, SandboxControls


def api_error(status: int) -> ApiError:
    return ApiError(
        f"HTTP {status}",
        http_status=status,
        response_code=None,
        response_message=None,
        request_identifier=None,
        body=b"",
    )


class ScriptedLog:
    """Answers `requests` calls from a script: a page, or an error to raise."""

    def __init__(self, *answers: RequestPage | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[Mapping[str, Any]] = []

    def requests(self, **params: Any) -> RequestPage:
        self.asked.append(params)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def follow(log: ScriptedLog, count: int) -> tuple[list[Any], list[str], list[float]]:
    entries: list[Any] = []
    problems: list[str] = []
    sleeps: list[float] = []
    tail_requests(
        cast(SandboxControls, log),
        filters={"entitlementId": "e-1", "operationId": None, "status": None},
        count=count,
        poll_seconds=0.1,
        on_entry=entries.append,
        on_ready=lambda cursor: None,
        on_transient=lambda error: problems.append(str(error)),
        sleep=sleeps.append,
    )
    return entries, problems, sleeps


def test_a_restarting_or_busy_sandbox_is_waited_out_from_the_same_cursor() -> None:
    restarting = TransportError("connection refused", request_identifier=None, attempts=1)
    log = ScriptedLog(
        RequestPage([], None, 7),  # where following starts
        restarting,
        api_error(503),
        RequestPage([], None, 7),  # nothing new yet
        RequestPage([{"cursor": 8}, {"cursor": 9}], 9, 9),
    )
    entries, problems, sleeps = follow(log, count=2)
    assert entries == [{"cursor": 8}, {"cursor": 9}]
    assert problems == ["connection refused", "HTTP 503"]
    # At least a second after a failure; the poll interval when nothing came.
    assert sleeps == [1.0, 1.0, 0.1]
    assert [params.get("after") for params in log.asked] == [None, 7, 7, 7, 7]
    assert all(params.get("entitlementId") == "e-1" for params in log.asked[1:])


def test_a_refusal_that_waiting_cannot_mend_stops_the_follower() -> None:
    log = ScriptedLog(RequestPage([], None, 0), api_error(401))
    with pytest.raises(ApiError) as refused:
        follow(log, count=1)
    assert refused.value.http_status == 401

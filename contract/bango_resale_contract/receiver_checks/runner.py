"""Running the checks: one plan, sent one request at a time by a synchronous or an asynchronous
client (real HTTP, or an app in the caller's process through a transport), judged as the
answers come."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator

import httpx

from bango_resale_contract.receiver_checks.credentials import ArgumentError, Credentials
from bango_resale_contract.receiver_checks.notifications import platform_delivery_timeout
from bango_resale_contract.receiver_checks.plan import Check, Delivery, plan
from bango_resale_contract.receiver_checks.verdict import (
    Answer,
    CheckResult,
    ReceiverVerdict,
    curl,
    judge,
    judge_time,
)

# Characters of an answer's body a result keeps.
ANSWER_EXCERPT = 200


def _session(
    url: str,
    credentials: Credentials,
    timeout: float,
    on_result: Callable[[CheckResult], None] | None,
) -> Generator[Delivery, Answer, ReceiverVerdict]:
    """Sends (yields) each delivery, takes its answer back, judges: one plan for both the
    synchronous and the asynchronous runner."""
    results: list[CheckResult] = []
    timed: list[tuple[Check, Delivery, Answer]] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    for check in plan(url, credentials):
        answers = []
        for delivery in check.deliveries:
            answer = yield delivery
            if not answer.connected and not results:
                record(
                    CheckResult(
                        "connect",
                        "the first notification",
                        "an answer",
                        False,
                        (answer,),
                        problem=f"cannot connect to {url} ({answer.error})",
                        rule="the receiver must be reachable; no other check was run",
                        reproduce=curl(url, delivery),
                    )
                )
                return ReceiverVerdict(url, credentials.kind, timeout, tuple(results))
            answers.append(answer)
            if check.timed:
                timed.append((check, delivery, answer))
        record(judge(url, check, answers))
    record(judge_time(url, timeout, timed))
    return ReceiverVerdict(url, credentials.kind, timeout, tuple(results))


def _answered(response: httpx.Response, started: float) -> Answer:
    return Answer(
        response.status_code, time.perf_counter() - started, response.text[:ANSWER_EXCERPT]
    )


def _failed(error: BaseException, started: float, timeout: float) -> Answer:
    seconds = time.perf_counter() - started
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return Answer(None, seconds, error=f"{type(error).__name__}: {error}", connected=False)
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return Answer(None, seconds, error=f"nothing within {timeout:g} s", timed_out=True)
    return Answer(None, seconds, error=f"{type(error).__name__}: {error}")


def checked_arguments(
    url: str,
    basic: tuple[str, str] | None,
    api_key: str | None,
    bearer_token: str | None,
    delivery_timeout: float | None,
) -> tuple[Credentials, float]:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ArgumentError("url", f"{url!r} is not a URL ({error})") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise ArgumentError("url", f"{url!r} is not an http(s) URL with a host")
    credentials = Credentials.of(basic, api_key, bearer_token)
    timeout = platform_delivery_timeout() if delivery_timeout is None else delivery_timeout
    if not timeout > 0:
        raise ArgumentError("delivery_timeout", f"{timeout} is not a positive number of seconds")
    return credentials, timeout


def check_receiver(
    url: str,
    *,
    basic: tuple[str, str] | None = None,
    api_key: str | None = None,
    bearer_token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    delivery_timeout: float | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ReceiverVerdict:
    """Run every check against the receiver at `url`, one request at a time.

    Give the credentials the platform sends: exactly one of `basic=(user, password)`,
    `api_key=` or `bearer_token=`. `transport` reaches an app in this process
    (`httpx.WSGITransport(app=...)`); None sends real HTTP. `delivery_timeout` defaults to the
    platform's (`platform_delivery_timeout()`). `on_result` sees each result as it comes.
    Raises `ArgumentError` (a ValueError naming the argument) for a bad URL or credentials.
    """
    credentials, timeout = checked_arguments(url, basic, api_key, bearer_token, delivery_timeout)
    session = _session(url, credentials, timeout, on_result)
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as client:

        def send(delivery: Delivery) -> Answer:
            started = time.perf_counter()
            try:
                response = client.post(url, content=delivery.body, headers=delivery.headers)
            except Exception as error:  # an in-process app's own exception is an answer too
                return _failed(error, started, timeout)
            return _answered(response, started)

        try:
            delivery = next(session)
            while True:
                delivery = session.send(send(delivery))
        except StopIteration as finished:
            verdict: ReceiverVerdict = finished.value
            return verdict


async def check_receiver_async(
    url: str,
    *,
    basic: tuple[str, str] | None = None,
    api_key: str | None = None,
    bearer_token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    delivery_timeout: float | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ReceiverVerdict:
    """`check_receiver` for an event loop; `transport` may be `httpx.ASGITransport(app=...)`.
    Each answer is also cut off at the delivery timeout, so a hung in-process app fails the
    check instead of hanging the test."""
    credentials, timeout = checked_arguments(url, basic, api_key, bearer_token, delivery_timeout)
    session = _session(url, credentials, timeout, on_result)
    async with httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False
    ) as client:

        async def send(delivery: Delivery) -> Answer:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    response = await client.post(
                        url, content=delivery.body, headers=delivery.headers
                    )
            except Exception as error:  # an in-process app's own exception is an answer too
                return _failed(error, started, timeout)
            return _answered(response, started)

        try:
            delivery = next(session)
            while True:
                delivery = session.send(await send(delivery))
        except StopIteration as finished:
            verdict: ReceiverVerdict = finished.value
            return verdict

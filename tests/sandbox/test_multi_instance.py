"""Several sandbox processes on one PostgreSQL schema behave as one sandbox.

Requests are spread over the instances; the assertions are the ones a single sandbox must meet:
one transition and one notification for concurrent cancels, the first answer for a reused
request id, one clock, one rate limit, and no acknowledged write or notification lost when an
instance is killed (-9) under write load while another keeps serving.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import cycle
from pathlib import Path

import httpx
import pytest

from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess

from support.api import REASON, Api
from support.postgres import PostgresServer
from support.receivers import NotificationSink
from support.waiting import until_reached

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 32
WRITERS = 16
# Creates acknowledged before the kill: enough that some are surely in flight at the kill.
ACKNOWLEDGED_BEFORE_THE_CRASH = 300


@pytest.fixture
def instances(
    postgres: PostgresServer, tmp_path: Path
) -> Iterator[Callable[..., list[SandboxProcess]]]:
    """`instances(n, config_text=...)`: n sandboxes sharing one new schema."""
    started: list[SandboxProcess] = []

    def start(count: int, config_text: str | None = None) -> list[SandboxProcess]:
        url = postgres.url(f"multi_{uuid.uuid4().hex[:12]}")
        config = None
        if config_text is not None:
            config = tmp_path / f"config-{len(started)}.toml"
            config.write_text(config_text, "utf-8")
        for number in range(count):
            log = tmp_path / f"instance-{len(started)}-{number}.log"
            started.append(SandboxProcess(url, config=config, log_path=log).start())
        return started[-count:]

    yield start
    for server in started:
        server.stop()


def _config(**replace: str) -> str:
    text = default_config_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


async def cancel_across(urls: list[str], entitlement_id: str) -> list[httpx.Response]:
    clients = [httpx.AsyncClient(base_url=url, auth=DEMO_RESELLER, timeout=30) for url in urls]
    start = asyncio.Event()

    async def one(client: httpx.AsyncClient) -> httpx.Response:
        await start.wait()
        return await client.post(f"/v1/entitlement/cancel/{entitlement_id}", json=REASON)

    try:
        chosen = cycle(clients)
        tasks = [asyncio.create_task(one(next(chosen))) for _ in range(CLIENTS)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)
    finally:
        for client in clients:
            await client.aclose()


def test_concurrent_cancels_spread_over_three_instances_make_one_transition(
    instances: Callable[..., list[SandboxProcess]], receiver: NotificationSink
) -> None:
    servers = instances(3)
    api = Api(servers[0].base_url, DEMO_RESELLER)
    entitlement_id = api.create_id("multi-cancel", notificationUrl=receiver.url)
    responses = asyncio.run(cancel_across([s.base_url for s in servers], entitlement_id))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    for server in servers:  # every instance reads the one outcome
        assert Api(server.base_url, DEMO_RESELLER).status(entitlement_id) == "CANCELLED"
    assert api.notification_types(entitlement_id) == ["ACTIVATION_SUCCESS", "TERMINATION_SUCCESS"]
    received = receiver.wait_for(2)
    time.sleep(1.5)  # a double send by a second instance would arrive within its poll
    assert sorted(n["notificationType"] for n in receiver.received) == [
        "ACTIVATION_SUCCESS",
        "TERMINATION_SUCCESS",
    ], received


def test_a_reused_request_id_gets_the_first_answer_from_another_instance(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    first, second = instances(2)
    body = {"customerIdentifier": "multi-idem", "merchantAccountKey": "BANGO"}
    body["productKey"] = "BangoMusic"
    headers = {"X-RequestIdentifier": f"req-{uuid.uuid4().hex}"}
    answers = [
        httpx.post(f"{s.base_url}/v1/entitlement", json=body, headers=headers, auth=DEMO_RESELLER)
        for s in (first, second)
    ]
    assert [a.status_code for a in answers] == [answers[0].status_code] * 2
    assert answers[0].json() == answers[1].json()
    query = Api(second.base_url, DEMO_RESELLER).query("multi-idem").json()
    assert len(query["entitlements"]) == 1


def test_the_clock_moved_on_one_instance_is_the_clock_of_all(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    first, second = instances(2)
    Api(first.base_url, DEMO_RESELLER).advance(10 * 86400)
    seen = [
        Api(s.base_url, DEMO_RESELLER).http.get("/sandbox/clock").json() for s in (first, second)
    ]
    assert all(9.9 * 86400 < c["offsetSeconds"] <= 10 * 86400 for c in seen), seen


def test_the_rate_limit_of_a_reseller_holds_across_instances(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    # A token every 10,000 s: none comes back while the test runs, however slowly it runs.
    limited = _config(**{"requests_per_second = 100000": "requests_per_second = 0.0001"})
    limited = limited.replace("burst = 200000", "burst = 6")
    servers = instances(2, limited)
    statuses = [
        httpx.get(f"{s.base_url}/v1/echo/hi", auth=DEMO_RESELLER).status_code for s in servers * 5
    ]
    # 6 tokens in all, not 6 per instance.
    assert statuses.count(429) == 4, statuses


async def write_until_stopped(
    urls: list[str],
    notification_url: str,
    acknowledged: list[tuple[int, str]],
    stop: threading.Event,
) -> None:
    clients = [httpx.AsyncClient(base_url=url, auth=DEMO_RESELLER, timeout=5) for url in urls]

    async def writer(number: int) -> None:
        sequence = 0
        index = number % len(clients)
        while not stop.is_set():
            sequence += 1
            try:
                response = await clients[index].post(
                    "/v1/entitlement",
                    json={
                        "customerIdentifier": f"multi-crash-{number}-{sequence}",
                        "merchantAccountKey": "BANGO",
                        "productKey": "BangoMusic",
                        "notificationUrl": notification_url,
                    },
                    headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"},
                )
            except httpx.HTTPError:
                index = (index + 1) % len(clients)  # that instance is gone: use another
                continue
            if 200 <= response.status_code < 300:
                acknowledged.append((index, response.json()["entitlementId"]))

    try:
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    finally:
        for client in clients:
            await client.aclose()


def test_kill_9_of_one_instance_under_load_loses_nothing_while_the_other_serves(
    instances: Callable[..., list[SandboxProcess]], receiver: NotificationSink
) -> None:
    # A short delivery timeout keeps the killed instance's claims short (lease = 3 x timeout + 5).
    fast = _config(**{"timeout_seconds = 5.0": "timeout_seconds = 1.0"})
    victim, survivor = instances(2, fast)
    acknowledged: list[tuple[int, str]] = []
    stop = threading.Event()
    load = threading.Thread(
        target=lambda: asyncio.run(
            write_until_stopped(
                [victim.base_url, survivor.base_url], receiver.url, acknowledged, stop
            )
        )
    )
    load.start()
    try:
        # However long this machine takes to acknowledge them: only a hang fails the wait.
        until_reached(lambda: len(acknowledged), ACKNOWLEDGED_BEFORE_THE_CRASH)
        victim.kill()  # SIGKILL while writers are still sending to both
        at_kill = len(acknowledged)
        # The survivor keeps taking writes, also from the victim's writers.
        until_reached(lambda: len(acknowledged), at_kill + WRITERS)
    finally:
        stop.set()
        load.join(timeout=60)
    assert not load.is_alive(), "the writers did not stop"
    from_victim = sum(1 for index, _ in acknowledged if index == 0)
    assert from_victim > 0

    api = Api(survivor.base_url, DEMO_RESELLER)
    ids = {entitlement_id for _, entitlement_id in acknowledged}
    assert [e for e in ids if api.get(e).status_code != 200] == []
    expected = {
        n["notificationId"]
        for n in api.notifications()
        if n["entitlementId"] in ids and n["notificationType"] == "ACTIVATION_SUCCESS"
    }
    assert len(expected) == len(ids)  # one ACTIVATION_SUCCESS per acknowledged create

    def delivered() -> set[str]:
        return receiver.ids() & expected

    # The killed instance's claims lapse and the survivor delivers them, however long that
    # takes here; only a stall (longer than the deliverer's longest retry delay) fails.
    until_reached(lambda: len(delivered()), len(expected), stalled_after=120)
    print(
        f"\nmulti-instance crash: kill -9 of one of two instances after {at_kill} acknowledged"
        f" creates ({from_victim} through the killed one), {len(acknowledged)} in all; all"
        f" present; {len(expected)} notifications delivered ({len(receiver.received)} POSTs)"
    )


def test_an_unusable_database_url_is_one_line_without_the_password(
    postgres: PostgresServer,
) -> None:
    closed = postgres.url().replace(f":{postgres.port}/", ":1/").replace("postgres@", "u:s3cret@")
    for url, says in ((closed, "Connection refused"), (postgres.url("Bad-Name"), "schema")):
        done = subprocess.run(
            [sys.executable, "-m", "bango_resale_sandbox", "--port", "0", "--db", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot use database"), lines
        assert says in lines[0] and "s3cret" not in lines[0]


def test_one_request_id_sent_to_two_instances_at_once_is_created_once(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    servers = instances(2)
    body = {"customerIdentifier": "multi-idem-race", "merchantAccountKey": "BANGO"}
    body["productKey"] = "BangoMusic"
    headers = {"X-RequestIdentifier": f"req-{uuid.uuid4().hex}"}

    async def send_all() -> list[httpx.Response]:
        clients = [httpx.AsyncClient(base_url=s.base_url, auth=DEMO_RESELLER) for s in servers]
        try:
            chosen = cycle(clients)
            return await asyncio.gather(
                *(
                    client.post("/v1/entitlement", json=body, headers=headers)
                    for client in (next(chosen) for _ in range(16))
                )
            )
        finally:
            for client in clients:
                await client.aclose()

    answers = asyncio.run(send_all())
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1  # every one the first answer, byte for byte
    query = Api(servers[1].base_url, DEMO_RESELLER).query("multi-idem-race").json()
    assert len(query["entitlements"]) == 1


def test_failed_logins_are_counted_across_instances(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    strict = _config(
        **{"per_user_burst = 100": "per_user_burst = 3"},
        **{"per_user_per_second = 0.1": "per_user_per_second = 0.01"},
    )
    first, second = instances(2, strict)
    wrong = (DEMO_RESELLER[0], "not-the-password")
    # Three failures in all, spread over both instances: the user's bucket is spent, although
    # neither instance saw three.
    for server in (first, second, first):
        answer = httpx.get(f"{server.base_url}/v1/echo/hi", auth=wrong)
        assert answer.status_code == 401
    for server in (first, second):  # now even the right password waits, on either instance
        answer = httpx.get(f"{server.base_url}/v1/echo/hi", auth=DEMO_RESELLER)
        assert answer.status_code == 429, answer.text
        assert int(answer.headers["retry-after"]) > 0


def test_an_address_a_user_logged_in_from_is_known_to_every_instance(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    strict = _config(
        **{"per_user_burst = 100": "per_user_burst = 3"},
        **{"per_user_per_second = 0.1": "per_user_per_second = 0.001"},
    )
    first, second = instances(2, strict)
    assert httpx.get(f"{first.base_url}/v1/echo/in", auth=DEMO_RESELLER).status_code == 200
    wrong = (DEMO_RESELLER[0], "not-the-password")
    for number, server in enumerate((first, second, second)):  # guesses from three addresses
        transport = httpx.HTTPTransport(local_address=f"127.0.5.{number + 1}")
        with httpx.Client(transport=transport, auth=wrong) as guesser:
            assert guesser.get(f"{server.base_url}/v1/echo/g").status_code == 401
    # The user's bucket is spent: a new address waits on either instance, while the address
    # the user logged in from (on the first) is still checked on the second.
    newcomer = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.6.1"))
    with newcomer:
        answer = newcomer.get(f"{second.base_url}/v1/echo/new", auth=DEMO_RESELLER)
    assert answer.status_code == 429
    assert httpx.get(f"{second.base_url}/v1/echo/k", auth=DEMO_RESELLER).status_code == 200


def test_a_database_outage_is_a_503_and_the_sandbox_recovers_after(tmp_path: Path) -> None:
    with PostgresServer() as database:
        log = tmp_path / "outage.log"
        with SandboxProcess(database.url("outage"), log_path=log) as sandbox:
            api = Api(sandbox.base_url, DEMO_RESELLER)
            kept = api.create_id("outage-before")
            database.halt()
            try:
                read = api.get(kept)
                write = api.http.post(
                    "/v1/entitlement",
                    json={
                        "customerIdentifier": "outage-during",
                        "merchantAccountKey": "BANGO",
                        "productKey": "BangoMusic",
                    },
                )
                for answer in (read, write):
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["responseCode"] == "SERVICE_UNAVAILABLE"
                    assert int(answer.headers["retry-after"]) >= 1
            finally:
                database.resume()
            deadline = time.monotonic() + 20
            while api.get(kept).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert api.get(kept).json()["entitlementId"] == kept
            assert api.status(api.create_id("outage-after")) == "ACTIVE"
        assert "Traceback" not in log.read_text()


def test_expiries_swept_by_two_instances_fire_once(
    instances: Callable[..., list[SandboxProcess]],
) -> None:
    """Both instances' sweepers find the same entitlements due: each expires once, with one
    notification."""
    first, second = instances(2)
    api = Api(first.base_url, DEMO_RESELLER)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    expiry = soon.isoformat(timespec="seconds").replace("+00:00", "Z")
    ids = [api.create_id(f"multi-expiry-{n}", dateExpiry=expiry) for n in range(12)]
    deadline = time.monotonic() + 20
    other = Api(second.base_url, DEMO_RESELLER)
    while time.monotonic() < deadline:
        if all(other.status(e) != "ACTIVE" for e in ids):
            break
        time.sleep(0.2)
    time.sleep(2.5)  # both sweepers have run again since
    histories = [api.notification_types(e) for e in ids]
    assert all(len(h) == 2 and h[0] == "ACTIVATION_SUCCESS" for h in histories), histories

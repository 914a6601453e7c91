"""Client overhead: a typed `get` through `ResaleClient` versus bare httpx plus `json.loads`.

Both sides use the same in-memory `httpx.MockTransport` answering with the same canned
entitlement, so the difference is what the client layer adds (validation, headers, decoding
into `EntitlementResult`). Target: at most 1.5x. Exit status 1 when the target is missed.

    .venv/bin/python scripts/bench/bench_client_overhead.py [--iterations N]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from collections.abc import Callable

import httpx

from bango_resale import ResaleClient
from bango_resale.testing import sample_entitlement

TARGET_RATIO = 1.5
BASE_URL = "http://bango.bench"


def canned_transport() -> httpx.MockTransport:
    body = json.dumps(
        {"responseCode": "OK", "responseMessage": "Success", **sample_entitlement().to_json()}
    ).encode()
    headers = {"Content-Type": "application/json"}
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body, headers=headers))


def per_call_seconds(
    calls: dict[str, Callable[[], object]], iterations: int, rounds: int = 7
) -> dict[str, float]:
    """Median per-call time of each callable, rounds interleaved so drift hits both alike."""
    for call in calls.values():
        for _ in range(min(300, iterations)):
            call()  # warm-up: connection pool, caches, spec loading
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(iterations):
                call()
            samples[name].append((time.perf_counter() - started) / iterations)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args(argv)

    transport = canned_transport()
    # The bare side sends the same Authorization header, prebuilt (cheaper than httpx.BasicAuth).
    # The canned transport answers whatever the credentials: no server checks them.
    basic = "Basic " + base64.b64encode(b"bench:bench-secret").decode()
    bare = httpx.Client(base_url=BASE_URL, transport=transport, headers={"Authorization": basic})
    client = ResaleClient(BASE_URL, "bench", "bench-secret", transport=transport)
    entitlement_id = "5f0c1c9e-8a51-4c59-9d9e-2f1e6f3f6a10"

    def bare_get() -> object:
        return json.loads(bare.get(f"/v1/entitlement/{entitlement_id}").content)

    def typed_get() -> object:
        return client.get(entitlement_id).entitlement

    with bare, client:
        timings = per_call_seconds({"bare": bare_get, "typed": typed_get}, args.iterations)
    bare_time, typed_time = timings["bare"], timings["typed"]
    ratio = typed_time / bare_time
    print(f"bare httpx + json.loads : {bare_time * 1e6:8.1f} us/call")
    print(f"ResaleClient.get (typed): {typed_time * 1e6:8.1f} us/call")
    print(f"ratio                   : {ratio:8.2f}x (target <= {TARGET_RATIO}x)")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

"""A fuzz pass over every operation of both specs, against a real sandbox over HTTP: no input
may get a 5xx answer (or a dropped connection), and nothing it stores may break a later read.

Inputs mix plausible bodies (the spec's own property names with arbitrary JSON values), JSON
nested from a few to 1,100 levels, values up to the body limit, bytes that are not JSON,
arbitrary path and query parameters, and arbitrary or valid magic numbers, request ids and
credentials. Hypothesis runs derandomized, so every run tries the same inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bango_resale_sandbox.testing import SandboxThread
from bango_resale_spec import compiled, load_partner_spec, magic_numbers
from bango_resale_spec import load_sandbox_spec as sandbox_spec

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 120
# Forced on purpose by the caller: the only 5xx answers allowed.
FORCED_5XX = {"ANY_REQUEST_RETURNS_INTERNAL_ERROR", "ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE"}
OPERATIONS = sorted(
    (
        (op.operation_id, op.method, op.path_template)
        for op in (*compiled.partner().operations, *compiled.sandbox().operations)
    ),
)


def _property_names(document: Any) -> set[str]:
    names: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(properties)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


NAMES = sorted(_property_names(load_partner_spec()) | _property_names(sandbox_spec()))
# Entitlements the fixture creates, so that inputs reach past "not found".
KNOWN_IDS = [f"fuzz-{i}" for i in range(6)]
KNOWN_CUSTOMERS = [f"fuzz-customer-{i}" for i in range(6)]


def _example_bodies() -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The spec's request-body examples per (METHOD, path template)."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for document in (load_partner_spec(), sandbox_spec()):
        for template, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "requestBody" not in operation:
                    continue
                media = operation["requestBody"].get("content", {}).get("application/json", {})
                for example in media.get("examples", {}).values():
                    ref = example.get("$ref")
                    if ref is not None:
                        example = document["components"]["examples"][ref.rsplit("/", 1)[1]]
                    if isinstance(example.get("value"), dict):
                        found.setdefault((method.upper(), template), []).append(example["value"])
    return found


EXAMPLES = _example_bodies()

# What an HTTP/1.1 client can put in a header value (obs-text included).
HEADER_CHARS = st.characters(min_codepoint=33, max_codepoint=255, exclude_characters="\x7f")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["ACTIVE", "CANCELLED", "BANGO", "BangoMusic", "http://127.0.0.1:9/h"]),
    st.text(min_size=3000, max_size=20000, alphabet="ab\u00e9\u2603"),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))


def _deep(depth: int, opener: str) -> str:
    closer = "]" if opener == "[" else "}"
    head = "[" if opener == "[" else '{"a":'
    return head * depth + "1" + closer * depth


@st.composite
def bodies(draw: st.DrawFn, examples: list[dict[str, Any]]) -> bytes | None:
    kinds = ["none", "object", "deep", "bytes", "huge"] + ["example"] * 4 * bool(examples)
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "example":
        body = dict(draw(st.sampled_from(examples)))
        if "entitlementId" in body:
            body["entitlementId"] = draw(st.sampled_from(KNOWN_IDS))
        if "customerIdentifier" in body:
            body["customerIdentifier"] = "fuzz-customer"
        body.update(draw(st.dictionaries(keys, json_values, max_size=3)))
        if draw(st.booleans()):
            body[draw(keys)] = "@@"
            depth = draw(st.sampled_from([14, 15, 16, 300, 1100]))
            return json.dumps(body).replace('"@@"', _deep(depth, "{")).encode()
        return json.dumps(body).encode()
    if kind == "object":
        return json.dumps(draw(st.dictionaries(keys, json_values, max_size=8))).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([15, 16, 17, 50, 253, 254, 255, 600, 1023, 1025, 1100]))
        where = draw(st.sampled_from(NAMES))
        deep = _deep(depth, draw(st.sampled_from(["[", "{"])))
        return (
            json.dumps({where: "@@", **draw(st.dictionaries(keys, scalars, max_size=3))})
            .replace('"@@"', deep)
            .encode()
        )
    if kind == "huge":
        return json.dumps(
            {draw(st.sampled_from(NAMES)): "x" * draw(st.integers(60000, 70000))}
        ).encode()
    return draw(st.binary(max_size=200))


@st.composite
def requests(draw: st.DrawFn, operation: tuple[str, str, str]) -> dict[str, Any]:
    _, method, template = operation
    path = template
    while "{" in path:
        name = path[path.index("{") + 1 : path.index("}")]
        value = draw(
            st.one_of(
                st.sampled_from(KNOWN_IDS),
                st.text(min_size=1, max_size=80),
                st.sampled_from(["x", "a" * 300]),
            )
        )
        path = path.replace("{" + name + "}", quote(value, safe=""), 1)
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["X-Magic-Number"] = draw(
            st.one_of(
                st.sampled_from([m.value for m in magic_numbers() if m.value not in FORCED_5XX]),
                st.text(alphabet=HEADER_CHARS, max_size=30),
            )
        )
    if draw(st.booleans()):
        headers["X-RequestIdentifier"] = draw(st.text(alphabet=HEADER_CHARS, max_size=140))
    auth = draw(st.sampled_from(["good", "good", "good", "wrong", "garbled", "none"]))
    if auth == "garbled":
        headers["Authorization"] = draw(st.text(alphabet=HEADER_CHARS, max_size=60))
    params = draw(
        st.dictionaries(
            st.one_of(
                st.sampled_from(["entitlementId", "state", "limit", "cursor"]), st.text(max_size=5)
            ),
            st.text(max_size=30),
            max_size=2,
        )
    )
    return {
        "method": method,
        "url": path,
        "headers": {name: value.encode("latin-1") for name, value in headers.items()},
        "params": params,
        "content": draw(bodies(EXAMPLES.get((method, template), []))),
        "auth": {"good": ("demo", "demo-secret"), "wrong": ("demo", "nope")}.get(auth),
    }


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    folder = tmp_path_factory.mktemp("fuzz")
    # Wrong credentials are part of the fuzz; throttling them would hide everything after.
    with SandboxThread(folder / "fuzz.sqlite3", login_throttle=False) as server:
        yield server


@pytest.fixture
def fuzz_target(fuzz_server: SandboxThread) -> SandboxThread:
    """The module's sandbox with the known entitlements present, whatever an earlier test did
    to them (resetSandbox's inputs forget them all): each test starts from the same ground."""
    with httpx.Client(base_url=fuzz_server.base_url, auth=("demo", "demo-secret")) as demo:
        magic = ["CREATE_REQUEST_RETURNS_ACTIVATED", "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"]
        for i, entitlement_id in enumerate(KNOWN_IDS):
            if demo.get(f"/v1/entitlement/{entitlement_id}").status_code == 200:
                continue
            created = demo.post(
                "/v1/entitlement",
                json={
                    "entitlementId": entitlement_id,
                    "customerIdentifier": KNOWN_CUSTOMERS[i],
                    "merchantAccountKey": "BANGO_US" if i % 3 == 2 else "BANGO",
                    "productKey": "MUSIC_PREMIUM" if i % 3 == 2 else "BangoMusic",
                    "notificationUrl": f"{fuzz_server.base_url}/sandbox/health",
                },
                headers={"X-Magic-Number": magic[i % 2]} if i % 3 != 2 else {},
            )
            assert created.status_code < 300, created.text
    return fuzz_server


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op[0] for op in OPERATIONS])
def test_no_input_gets_a_server_error_or_breaks_a_later_read(
    fuzz_target: SandboxThread, operation: tuple[str, str, str]
) -> None:
    """Each operation's inputs, then every read of what they may have stored: the test needs no
    other to have run before it (whichever worker runs it, in whatever order)."""
    client = httpx.Client(base_url=fuzz_target.base_url, timeout=10.0)
    tried = 0

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(operation))
    def check(request: dict[str, Any]) -> None:
        nonlocal tried
        tried += 1
        auth = request.pop("auth")
        response = client.request(**request, auth=auth) if auth else client.request(**request)
        assert response.status_code < 500, (request, response.status_code, response.text[:300])

    with client:
        check()
    assert tried >= EXAMPLES_PER_OPERATION
    _every_listing_is_readable(fuzz_target)


def _every_listing_is_readable(target: SandboxThread) -> None:
    """The notifications, and the records of the known customers and of every customer fuzzing
    touched, read back whole."""
    with httpx.Client(base_url=target.base_url, auth=("demo", "demo-secret")) as demo:
        listing = demo.get("/sandbox/notifications")
        assert listing.status_code == 200, listing.text
        customers = {n["body"].get("customerIdentifier") for n in listing.json()["notifications"]}
        touched = sorted(c for c in customers if isinstance(c, str) and c not in KNOWN_CUSTOMERS)
        for customer in [*KNOWN_CUSTOMERS, *touched[:50]]:
            report = demo.post("/v1/entitlement/report", json={"customerIdentifier": customer})
            assert report.status_code == 200, report.text

"""Feed the published partner spec to the tools partners use, the way they would, and check that
what comes out works.

    python scripts/portability.py                   every check
    python scripts/portability.py --only specmatic  some of them (comma-separated names)

Every tool gets `spec/bango-resale.openapi.yaml` as it is: no `--skip-validate-spec`, no
normaliser, no edited copy. The checks:

- `python`: openapi-generator's python client generates, imports, has the nine operations, types
  every date as a datetime, and runs a short flow against a real sandbox on loopback (create,
  get, cancel with a reason, query, a 409, a 404).
- `typescript-fetch`: openapi-generator's TypeScript client generates and compiles with
  `tsc --strict`.
- `java`: openapi-generator's Java client generates cleanly (building it needs Maven Central,
  which this machine cannot reach).
- `openapi-typescript`: the types generate and compile with `tsc --strict`, and a response
  without its optional headers fits them.
- `specmatic`: Specmatic's contract test against a fresh sandbox runs one test per request
  example paired with a response example, and every one passes.
- `prism`: every paired example request, sent through Prism's validation proxy to a fresh
  sandbox, gets its example's status and no violation.

openapi-python-client, the generator of our own client, is checked by `make drift` and the
client's tests. The tools are pinned: openapi-generator-cli in pyproject.toml (its wheel
bundles the jar; it runs on Java 17, from system-packages.txt), Specmatic, Prism,
openapi-typescript and TypeScript in package.json. What they write goes to partner-clients/
(git-ignored), kept for reading.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread
from bango_resale_spec import example_pairs

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "bango-resale.openapi.yaml"
OUT = ROOT / "partner-clients"
NODE_BIN = ROOT / "node_modules" / ".bin"
SPECMATIC_JAR = ROOT / "node_modules" / "specmatic" / "specmatic.jar"
GENERATOR = Path(sys.executable).with_name("openapi-generator-cli")
PYTHON_PACKAGE = "bango_partner"
NINE_OPERATIONS = {
    "EntitlementsApi": {
        "create_entitlement",
        "get_entitlement",
        "query_entitlements",
        "update_entitlement",
        "cancel_entitlement",
        "revoke_entitlement",
    },
    "ActivationApi": {"get_activation_info", "reactivate_entitlement"},
    "DiagnosticsApi": {"echo"},
}
# What openapi-generator logs when its output is wrong although it exits 0: two tags' files
# written to one path, models it could not find. (It also notes that its OpenAPI 3.1 support
# is in beta and that some inline schemas have no name; those change nothing it writes.)
GENERATOR_FAULTS = re.compile(r"^\[main\] (ERROR|WARN .*(FILEPATH_COLLISION|lookup model))")
# Strict, with the library declarations unchecked as `tsc --init` sets a project up (checking
# lib.dom.d.ts would triple the time and test TypeScript, not the spec).
TSC_STRICT = [
    *("--strict", "--noEmit", "--skipLibCheck", "--target", "es2020", "--module", "es2020"),
    *("--moduleResolution", "node", "--lib", "es2020,dom"),
]


class CheckFailed(RuntimeError):
    """A tool refused the spec, or what it produced does not build or work."""


def run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a command; its output, or CheckFailed with the output's tail."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        shown = " ".join(Path(part).name if "/" in part else part for part in command[:4])
        raise CheckFailed(f"`{shown} ...` exited {result.returncode}:\n{output[-4000:]}")
    return output


def generate(spec: Path, generator: str, target: Path, *options: str) -> None:
    """Generate with openapi-generator, its validation on; CheckFailed if it refuses or faults."""
    shutil.rmtree(target, ignore_errors=True)
    command = [str(GENERATOR), "generate", "-i", str(spec), "-g", generator, "-o", str(target)]
    log = run([*command, *options])
    faults = [line for line in log.splitlines() if GENERATOR_FAULTS.search(line)]
    if faults:
        raise CheckFailed(f"openapi-generator {generator} reported:\n" + "\n".join(faults[:20]))


def tsc(folder: Path, *files: str) -> None:
    run([str(NODE_BIN / "tsc"), *TSC_STRICT, *files], cwd=folder)


def check_python(spec: Path) -> str:
    target = OUT / "python"
    generate(spec, "python", target, "--package-name", PYTHON_PACKAGE)
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "sandbox.sqlite3"
        with SandboxThread(database, login_throttle=False) as sandbox:
            # In a child process: the generated package and its imports stay out of this one.
            output = run(
                [sys.executable, __file__, "--python-flow", sandbox.base_url],
                env={"PYTHONPATH": str(target)},
            )
    return output.strip().splitlines()[-1]


def python_flow(base_url: str) -> str:
    """The short flow through the generated python client (run with it on PYTHONPATH)."""
    import bango_partner as partner  # type: ignore[import-not-found]

    for api, operations in NINE_OPERATIONS.items():
        missing = operations - set(dir(getattr(partner, api)))
        if missing:
            raise CheckFailed(f"{api} lacks {sorted(missing)}")
    user, password = DEMO_RESELLER
    config = partner.Configuration(host=base_url, username=user, password=password)
    customer = f"portability-{uuid.uuid4().hex[:12]}"
    with partner.ApiClient(config) as client:
        entitlements = partner.EntitlementsApi(client)
        created = entitlements.create_entitlement(
            partner.CreateEntitlementRequest(
                customer_identifier=customer, merchant_account_key="BANGO", product_key="BangoMusic"
            )
        )
        expect(created.status.actual_instance == "ACTIVE", f"created: {created.status}")
        read = entitlements.get_entitlement(created.entitlement_id)
        expect(read.entitlement_id == created.entitlement_id, "get returned another entitlement")
        expect_dates(read)
        cancelled = entitlements.cancel_entitlement(
            created.entitlement_id,
            partner.TerminateEntitlementRequest(
                cancel_reason_category=partner.ReasonCategory.CUSTOMER_CANCELLED,
                cancel_reason_code=partner.ReasonCode.NOT_RENEWED,
                cancel_reason_description="Customer has not renewed their entitlement",
            ),
        )
        expect(cancelled.status.actual_instance == "CANCELLED", f"cancelled: {cancelled.status}")
        expect(cancelled.extension_data.get("cancelReasonCode") == "NOT_RENEWED", "no reason kept")
        expect_dates(cancelled)
        found = entitlements.query_entitlements(
            partner.QueryEntitlementsRequest(customer_identifier=customer)
        )
        expect(
            [e.entitlement_id for e in found.entitlements] == [created.entitlement_id],
            f"query found {found.entitlements}",
        )
        for record in found.entitlements:
            expect_dates(record)
        refused = expect_error(
            partner.exceptions.ConflictException,
            lambda: entitlements.cancel_entitlement(
                created.entitlement_id,
                partner.TerminateEntitlementRequest(
                    cancel_reason_category=partner.ReasonCategory.CUSTOMER_CANCELLED,
                    cancel_reason_code=partner.ReasonCode.NOT_RENEWED,
                ),
            ),
        )
        expect(refused.data.response_code.actual_instance == "NOT_AVAILABLE", f"{refused.data}")
        unknown = expect_error(
            partner.exceptions.NotFoundException,
            lambda: entitlements.get_entitlement(f"no-such-{uuid.uuid4().hex}"),
        )
        expect(unknown.data.response_code.actual_instance == "NOT_FOUND", f"{unknown.data}")
    return (
        "nine operations; create, get, cancel with a reason, query, 409 NOT_AVAILABLE, "
        "404 NOT_FOUND against the sandbox; every date a datetime"
    )


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_dates(record: Any) -> None:
    """Every date field of a generated record is a datetime (or None where the spec allows)."""
    dates = {name: getattr(record, name) for name in type(record).model_fields if "date" in name}
    expect(len(dates) == 7, f"{type(record).__name__} has dates {sorted(dates)}")
    expect(isinstance(record.date_created, datetime.datetime), "dateCreated is not a datetime")
    for name, value in dates.items():
        expect(value is None or isinstance(value, datetime.datetime), f"{name} is {value!r}")


def expect_error(kind: type[Exception], call: Callable[[], object]) -> Any:
    try:
        call()
    except kind as error:
        return error
    raise CheckFailed(f"expected {kind.__name__}")


def check_typescript_fetch(spec: Path) -> str:
    target = OUT / "typescript-fetch"
    generate(spec, "typescript-fetch", target)
    tsc(target, "index.ts")
    return "compiles with tsc --strict"


def check_java(spec: Path) -> str:
    target = OUT / "java"
    generate(spec, "java", target)
    apis = {p.stem for p in target.rglob("*Api.java") if "/api/" in p.as_posix()}
    expect({"EntitlementsApi", "ActivationApi", "DiagnosticsApi"} <= apis, f"APIs: {apis}")
    return f"generates {len(apis)} API classes (not built: Maven Central is out of reach)"


# A response without X-RequestIdentifier (and a 503 without Retry-After) must fit the types.
OPTIONAL_HEADERS_TS = """\
import type { paths } from "./schema";

type Get = paths["/v1/entitlement/{entitlementId}"]["get"]["responses"];
export const ok: Get[200]["headers"] = {};
export const unavailable: Get[503]["headers"] = {};
"""


def check_openapi_typescript(spec: Path) -> str:
    target = OUT / "openapi-typescript"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    # From its own folder, as a partner would run it: in ours it would read our redocly.yaml.
    # A .ts file rather than the usual .d.ts, so that --skipLibCheck still checks it.
    run([str(NODE_BIN / "openapi-typescript"), str(spec), "-o", "schema.ts"], cwd=target)
    (target / "headers.ts").write_text(OPTIONAL_HEADERS_TS)
    tsc(target, "headers.ts")
    return "compiles with tsc --strict; optional response headers are optional"


def check_specmatic(spec: Path) -> str:
    java = shutil.which("java")
    if java is None:
        raise CheckFailed("no java on PATH: `make install` installs openjdk-17-jre-headless")
    expected = len(example_pairs(yaml.safe_load(spec.read_text())))
    expect(expected > 0, "no request example has a response example of its name")
    token = base64.b64encode(":".join(DEMO_RESELLER).encode()).decode()
    with (
        tempfile.TemporaryDirectory() as scratch,
        SandboxThread(Path(scratch) / "sandbox.sqlite3", login_throttle=False) as sandbox,
    ):
        command = [java, "-jar", str(SPECMATIC_JAR), "test", str(spec)]
        output = run(
            [*command, "--testBaseURL", sandbox.base_url],
            cwd=Path(scratch),  # Specmatic writes its reports under the working folder
            env={
                "SPECMATIC_BASIC_AUTH_TOKEN": token,
                # One test per example, no generated variations of it.
                "MAX_TEST_REQUEST_COMBINATIONS": "1",
            },
        )
    summary = re.search(r"Tests run: (\d+), Successes: (\d+), Failures: (\d+)", output)
    if summary is None:
        raise CheckFailed(f"no Specmatic summary:\n{output[-3000:]}")
    tests, passed, failed = (int(n) for n in summary.groups())
    from_examples = len(re.findall(r"^Scenario: .* from the example ", output, re.M))
    expect(failed == 0 and passed == tests, f"Specmatic: {summary.group(0)}")
    expect(
        tests == from_examples == expected,
        f"Specmatic ran {tests} tests, {from_examples} from examples; the spec pairs {expected}",
    )
    return f"{passed}/{tests} tests pass, one per paired example"


def check_prism(spec: Path) -> str:
    """Prism's validation proxy in front of a fresh sandbox: every paired example request goes
    through it and comes back with its example's status and no violation reported."""
    pairs = example_pairs(yaml.safe_load(spec.read_text()))
    expect(bool(pairs), "no request example has a response example of its name")
    problems = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        SandboxThread(Path(scratch) / "sandbox.sqlite3", login_throttle=False) as sandbox,
        open(Path(scratch) / "prism.log", "w+") as log,
    ):
        command = [str(NODE_BIN / "prism"), "proxy", str(spec), sandbox.base_url]
        proxy = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", "0"], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base_url = _listening_url(proxy, log, r"Prism is listening on (http://\S+)")
            with httpx.Client(base_url=base_url, auth=DEMO_RESELLER) as http:
                for pair in pairs:
                    answer = http.request(pair.method, pair.path, json=pair.body, timeout=30)
                    violations = answer.headers.get("sl-violations")
                    if answer.status_code != pair.status or violations:
                        problems.append(
                            f"{pair.operation_id} {pair.name!r}: {answer.status_code},"
                            f" expected {pair.status}; {violations or answer.text[:300]}"
                        )
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    expect(not problems, "\n".join(problems))
    return f"{len(pairs)} example requests through the validation proxy, no violation"


def _listening_url(process: subprocess.Popen[bytes], log: Any, pattern: str) -> str:
    """The URL a server prints once it listens (it chose its own port)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        log.seek(0)
        found = re.search(pattern, log.read())
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise CheckFailed(f"it exited {process.returncode}")
        time.sleep(0.2)
    raise CheckFailed("it did not start listening within 120 s")


CHECKS: dict[str, Callable[[Path], str]] = {
    "python": check_python,
    "typescript-fetch": check_typescript_fetch,
    "java": check_java,
    "openapi-typescript": check_openapi_typescript,
    "specmatic": check_specmatic,
    "prism": check_prism,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated checks out of {', '.join(CHECKS)}")
    parser.add_argument("--spec", type=Path, default=SPEC, help="the document to feed them")
    parser.add_argument("--python-flow", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.python_flow:
        print(python_flow(args.python_flow))
        return 0
    names = args.only.split(",") if args.only else list(CHECKS)
    unknown = set(names) - set(CHECKS)
    if unknown:
        parser.error(f"unknown checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
    failed = []
    started = time.perf_counter()
    for name in names:
        began = time.perf_counter()
        try:
            outcome = CHECKS[name](args.spec.resolve())
        except CheckFailed as exc:
            failed.append(name)
            outcome = f"FAILED: {exc}"
        print(f"{name:<20} {time.perf_counter() - began:5.1f} s  {outcome}", flush=True)
    took = time.perf_counter() - started
    print(f"{len(names) - len(failed)}/{len(names)} checks passed in {took:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

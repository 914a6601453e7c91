"""Drive `wrk` (C, so it leaves the CPU to the server under test) and parse its report.

Used by the benchmarks when `wrk` is on PATH; `ensure_wrk()` tries `apt-get install wrk` when
running as root. Falls back to nothing: callers use loadgen.py when this returns None.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from loadgen import LoadResult

_LUA_COUNTER = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(BODY_FORMAT, counter)
  return wrk.format(METHOD, PATH, HEADERS, body)
end
"""


def ensure_wrk() -> str | None:
    """The path of `wrk`, installing it with apt-get when missing and allowed."""
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_NO_WRK"):
        return None if os.environ.get("BENCH_NO_WRK") else found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(
    wrk: str,
    url: str,
    *,
    auth_header: str,
    connections: int,
    seconds: float,
    method: str = "GET",
    body_format: str | None = None,
    threads: int = 1,
) -> LoadResult:
    """Run wrk against `url`; with `body_format` ("...%d..."), each request gets a new body."""
    command = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:.0f}s",
        "--latency",
        "-H",
        f"Authorization: {auth_header}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if body_format is not None:
            path = "/" + url.split("/", 3)[3]
            script = Path(tmp) / "request.lua"
            headers = (
                '{["Content-Type"] = "application/json", ["Authorization"] = '
                + _lua_string(auth_header)
                + "}"
            )
            script.write_text(
                _LUA_COUNTER.replace("BODY_FORMAT", _lua_string(body_format))
                .replace("METHOD", _lua_string(method))
                .replace("PATH", _lua_string(path))
                .replace("HEADERS", headers)
            )
            command += ["-s", str(script)]
        output = subprocess.run(
            [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    return parse_report(output, seconds)


def _millis(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise RuntimeError(f"unexpected wrk duration {text!r}")
    return (
        float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[found.group(2)]
    )


def parse_report(output: str, seconds: float) -> LoadResult:
    percentiles = {
        int(p): _millis(v)
        for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE)
    }
    totals = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    if totals is None or 99 not in percentiles:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    requests = int(totals.group(1))
    seconds = _millis(totals.group(2) + totals.group(3)) / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    statuses = {200: requests - (int(non_2xx.group(1)) if non_2xx else 0)}
    if non_2xx:
        statuses[0] = int(non_2xx.group(1))
    return LoadResult(
        requests,
        seconds,
        [],
        statuses,
        fixed_percentiles=percentiles,
        note=errors.group(1) if errors else "",
        tool="wrk",
    )

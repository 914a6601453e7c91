"""Storage trouble under a running sandbox, with real processes, database files and sockets.

Whatever happens to the database (its file deleted or replaced, a lock held by another
process, a full disk, a file system turned read-only, PostgreSQL stopped, its connections
killed or its transactions made read-only), the sandbox answers `503 SERVICE_UNAVAILABLE`
with `Retry-After` instead of a 500, never acknowledges a write that a restart would not
find, keeps answering health checks and reads while a write waits for a lock, and logs one
line when the trouble starts and one when it ends, not one per request.

How "nothing acknowledged is lost" is checked: every create answered 2xx is recorded, the
sandbox is stopped and started again on the same database, and each recorded id must be
found by `getEntitlement`.

The full disk is a 2 MB tmpfs (mounted as root); where mounting is refused, a file-size limit
on the sandbox process (`prlimit --fsize`) makes SQLite's writes fail the way a full disk
does. The read-only file system is an ext4 image on a loop device that an error turns
read-only (`errors=remount-ro`), which needs root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess

from support.api import Api
from support.postgres import PostgresServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Large enough that a 2 MB disk fills within ~100 creates, under the record's limit.
FILLER = {"extensionData": {"filler": "x" * 12_000}}
SANDBOX = (sys.executable, "-m", "bango_resale_sandbox")

# A second process that takes SQLite's write lock and holds it until told to let go.
HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
db.close()
"""


# -- helpers --------------------------------------------------------------------------------


def assert_refused(answer: httpx.Response) -> None:
    """Storage trouble: 503 SERVICE_UNAVAILABLE with a Retry-After of at least a second."""
    assert answer.status_code == 503, answer.text
    assert answer.json()["responseCode"] == "SERVICE_UNAVAILABLE"
    assert int(answer.headers["retry-after"]) >= 1


def assert_all_found(db: Path | str, acknowledged: list[str], log: Path) -> None:
    """Restart a sandbox on `db`: every acknowledged create is there."""
    with SandboxProcess(db, log_path=log) as restarted:
        api = Api(restarted.base_url, DEMO_RESELLER)
        missing = [e for e in acknowledged if api.get(e).status_code != 200]
        api.close()
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged creates lost"


def warnings_in(log: Path) -> list[str]:
    """The log's WARNING and ERROR lines, but the notification deliverer's: it reports each
    delivery round it skips on its own (delivery.py), apart from the storage episodes."""
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if (" WARNING " in line or " ERROR " in line or " CRITICAL " in line)
        and "bango_resale_sandbox.delivery:" not in line
    ]


def assert_one_episode(log: Path) -> None:
    """One line as the trouble starts, one as it ends; no traceback, nothing per request."""
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    lines = warnings_in(log)
    assert len(lines) == 2, "\n".join(lines[:20])
    assert "storage trouble" in lines[0], lines
    assert "storage works again" in lines[1], lines


def create(api: Api, customer: str, **fields: Any) -> httpx.Response:
    return api.create(customer, magic="CREATE_REQUEST_RETURNS_ACTIVATED", **fields)


def record(answer: httpx.Response, acknowledged: list[str]) -> None:
    """Keep the id of a 2xx create; anything else must be a refusal for storage trouble."""
    if answer.is_success:
        acknowledged.append(answer.json()["entitlementId"])
    else:
        assert_refused(answer)


def fill_then_grow(disk: SmallDisk, db: Path | str, log: Path, **launch: Any) -> None:
    """Under a running sandbox, fill the disk until 25 creates are refused (reads go on),
    give it room and create again; after a restart every acknowledged create is there, and
    the log told one episode."""
    acknowledged: list[str] = []
    refused = 0
    with SandboxProcess(db, log_path=log, **launch) as sandbox:
        api = Api(sandbox.base_url, DEMO_RESELLER)
        for number in range(2000):
            answer = create(api, f"filling-{number}", **FILLER)
            record(answer, acknowledged)
            refused += not answer.is_success
            if refused == 25:
                break
        assert refused == 25, "the disk never filled"
        assert len(acknowledged) > 10
        assert api.get(acknowledged[-1]).status_code == 200
        disk.grow(sandbox)
        answer = create(api, "after-the-disk-grew")
        assert answer.is_success, answer.text
        record(answer, acknowledged)
        api.close()
    assert_all_found(db, acknowledged, log.with_name("restarted.log"))
    assert_one_episode(log)


class SmallDisk:
    """A folder on a small file system of its own: a tmpfs where mounting is allowed,
    otherwise a plain folder with the sandbox's file sizes capped (`prlimit --fsize`)."""

    def __init__(self, folder: Path, size_bytes: int) -> None:
        self.folder = folder
        self.size = size_bytes
        folder.mkdir()
        mount = ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)]
        self.mounted = (
            shutil.which("mount") is not None
            and subprocess.run(mount, capture_output=True, check=False).returncode == 0
        )

    def program(self) -> tuple[str, ...]:
        """The command that starts a sandbox limited to this disk's size."""
        return SANDBOX if self.mounted else ("prlimit", f"--fsize={self.size}:unlimited", *SANDBOX)

    def grow(self, sandbox: SandboxProcess) -> None:
        """Room again: a larger tmpfs, or the running sandbox's size limit lifted."""
        if self.mounted:
            self._remount(f"size={self.size * 8}")
        else:
            assert sandbox.process is not None
            pid = str(sandbox.process.pid)
            subprocess.run(["prlimit", "--pid", pid, "--fsize=unlimited"], check=True)

    def _remount(self, option: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{option}", str(self.folder)], check=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "disk", 2 * 1024 * 1024)
    yield disk
    disk.close()


# -- the database file deleted or replaced --------------------------------------------------


def _remove_all(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):  # what "delete it to start over" leads people to do
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _replace(db: Path) -> None:
    other = db.with_name("other.sqlite3")
    sqlite3.connect(other).close()
    os.replace(other, db)


def _remove_wal(db: Path) -> None:
    Path(f"{db}-wal").unlink()


@pytest.mark.parametrize("change", [_remove_all, _replace, _remove_wal], ids=lambda f: f.__name__)
def test_a_database_file_removed_or_replaced_is_refused_not_acknowledged(
    tmp_path: Path, change: Callable[[Path], None]
) -> None:
    db, log = tmp_path / "sandbox.sqlite3", tmp_path / "sandbox.log"
    acknowledged: list[str] = []
    with SandboxProcess(db, log_path=log) as sandbox:
        api = Api(sandbox.base_url, DEMO_RESELLER)
        create(api, "before-the-change")
        change(db)
        answers = [create(api, f"after-the-change-{n}") for n in range(25)]
        for answer in answers:
            record(answer, acknowledged)
        health = httpx.get(f"{sandbox.base_url}/sandbox/health")
        api.close()
    assert_all_found(db, acknowledged, tmp_path / "restarted.log")
    assert acknowledged == []
    # Health says so too: the sandbox cannot keep anything until it is restarted.
    assert_refused(health)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    lines = warnings_in(log)
    assert len(lines) == 1 and "removed or replaced" in lines[0], lines


# -- a lock held by another process ---------------------------------------------------------


@pytest.mark.parametrize("released", [True, False], ids=["released-in-time", "held-too-long"])
def test_a_write_waiting_for_another_process_lock_leaves_health_and_reads_answering(
    tmp_path: Path, released: bool
) -> None:
    db, log = tmp_path / "sandbox.sqlite3", tmp_path / "sandbox.log"
    acknowledged: list[str] = []
    with SandboxProcess(db, log_path=log) as sandbox:
        reader = Api(sandbox.base_url, DEMO_RESELLER)
        writer = Api(sandbox.base_url, DEMO_RESELLER)
        record(create(reader, "before-the-lock"), acknowledged)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            with ThreadPoolExecutor(1) as pool:
                write = pool.submit(create, writer, "during-the-lock")
                time.sleep(0.3)  # the write reaches the sandbox and waits for the lock
                for _ in range(10):
                    assert reader.http.get("/sandbox/health").status_code == 200
                    assert reader.get(acknowledged[0]).status_code == 200
                # Ten health checks and reads were answered, and the write still waits.
                assert not write.done(), write.result().text
                if released:
                    holder.stdin.write("\n")
                    holder.stdin.flush()
                    answer = write.result()
                    assert answer.is_success, answer.text
                else:
                    answer = write.result()
                    assert_refused(answer)
                    holder.stdin.write("\n")
                    holder.stdin.flush()
                record(answer, acknowledged)
        finally:
            holder.stdin.close()
            holder.wait(timeout=10)
            holder.stdout.close()
        record(create(writer, "after-the-lock"), acknowledged)
        reader.close()
        writer.close()
    assert_all_found(db, acknowledged, tmp_path / "restarted.log")
    if released:
        assert "Traceback" not in log.read_text(errors="replace")
    else:
        assert_one_episode(log)


# -- a full disk, a read-only file system ---------------------------------------------------


def test_a_full_disk_is_a_503_per_write_and_loses_nothing(
    tmp_path: Path, small_disk: SmallDisk
) -> None:
    db = small_disk.folder / "sandbox.sqlite3"
    fill_then_grow(small_disk, db, tmp_path / "sandbox.log", program=small_disk.program())


class BreakableDisk:
    """A small ext4 file system on a loop device that turns read-only on its first error, as
    ext4 does with `errors=remount-ro` when its disk fails. Needs root."""

    def __init__(self, folder: Path) -> None:
        self.image = folder / "ext4.img"
        self.folder = folder / "ext4"
        self.folder.mkdir()
        with self.image.open("wb") as image:
            image.truncate(16 * 1024 * 1024)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(self.image)], check=True)
        self.mount()

    def mount(self) -> None:
        options = "loop,errors=remount-ro"
        subprocess.run(["mount", "-o", options, str(self.image), str(self.folder)], check=True)

    def fail(self) -> None:
        """An error of the file system: from now on it refuses every write."""
        os.sync()  # what was written so far is on the disk, as it would be after a while
        device = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(self.folder)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        Path(f"/sys/fs/ext4/{Path(device).name}/trigger_fs_error").write_text("test\n")

    def repair(self) -> None:
        """Unmount, check and mount again, writable."""
        subprocess.run(["umount", str(self.folder)], check=True)
        checked = subprocess.run(["e2fsck", "-f", "-y", str(self.image)], capture_output=True)
        assert checked.returncode in (0, 1), checked.stdout  # 1: errors were corrected
        self.mount()

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.folder)], check=False, capture_output=True)


@pytest.fixture
def breakable_disk(tmp_path: Path) -> Iterator[BreakableDisk]:
    if os.geteuid() != 0:
        pytest.skip("turning a file system read-only under a running process needs root")
    disk = BreakableDisk(tmp_path)
    yield disk
    disk.close()


def test_a_file_system_turned_read_only_is_a_503_per_write_and_loses_nothing(
    tmp_path: Path, breakable_disk: BreakableDisk
) -> None:
    db, log = breakable_disk.folder / "sandbox.sqlite3", tmp_path / "sandbox.log"
    acknowledged: list[str] = []
    with SandboxProcess(db, log_path=log) as sandbox:
        api = Api(sandbox.base_url, DEMO_RESELLER)
        for number in range(5):
            record(create(api, f"before-read-only-{number}"), acknowledged)
        breakable_disk.fail()
        for number in range(25):
            assert_refused(create(api, f"read-only-{number}"))
        assert api.get(acknowledged[0]).status_code == 200  # reads go on
        api.close()
    breakable_disk.repair()
    assert_all_found(db, acknowledged, tmp_path / "restarted.log")
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    lines = warnings_in(log)
    assert len(lines) == 1 and "storage trouble" in lines[0], lines


# -- PostgreSQL -----------------------------------------------------------------------------


class Writers:
    """Creates sent one after another by a few threads until stopped; 2xx ids recorded."""

    def __init__(self, base_url: str, count: int = 4) -> None:
        self.acknowledged: list[str] = []
        self.answers: list[httpx.Response] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(base_url, n)) for n in range(count)
        ]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _write(self, base_url: str, number: int) -> None:
        api = Api(base_url, DEMO_RESELLER)
        api.http.timeout = httpx.Timeout(60)
        sequence = 0
        while not self._stop.is_set():
            sequence += 1
            answer = create(api, f"writer-{number}-{sequence}")
            with self._lock:
                self.answers.append(answer)
                if answer.is_success:
                    self.acknowledged.append(answer.json()["entitlementId"])
        api.close()

    def wait_for(self, refused: int = 0, acknowledged: int = 0, timeout: float = 60) -> None:
        """Until at least that many refusals and acknowledgements have come in, in all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                failed = sum(not a.is_success for a in self.answers)
                if failed >= refused and len(self.acknowledged) >= acknowledged:
                    return
            time.sleep(0.05)
        raise AssertionError(f"waited for {refused} refusals and {acknowledged} creates")

    def check(self) -> None:
        for answer in self.answers:
            if not answer.is_success:
                assert_refused(answer)


@contextlib.contextmanager
def sandbox_on_postgres(tmp_path: Path) -> Iterator[tuple[PostgresServer, SandboxProcess]]:
    with PostgresServer() as database:
        box = SandboxProcess(database.url("trouble"), log_path=tmp_path / "sandbox.log")
        with box:
            yield database, box


def _admin(database: PostgresServer, *statements: str) -> None:
    import psycopg

    with psycopg.connect(database.url(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def test_postgresql_stopped_and_started_under_running_writers_loses_nothing(
    tmp_path: Path,
) -> None:
    with sandbox_on_postgres(tmp_path) as (database, sandbox):
        with Writers(sandbox.base_url) as writers:
            writers.wait_for(acknowledged=20)
            database.halt()
            try:
                writers.wait_for(refused=8)
            finally:
                database.resume()
            seen = len(writers.acknowledged)
            writers.wait_for(refused=8, acknowledged=seen + 20)
        writers.check()
        sandbox.stop()
        assert_all_found(database.url("trouble"), writers.acknowledged, tmp_path / "again.log")
    assert_one_episode(tmp_path / "sandbox.log")


def test_postgresql_connections_killed_under_running_writers_lose_nothing(
    tmp_path: Path,
) -> None:
    with sandbox_on_postgres(tmp_path) as (database, sandbox):
        with Writers(sandbox.base_url) as writers:
            writers.wait_for(acknowledged=20)
            _admin(
                database,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
            seen = len(writers.acknowledged)
            writers.wait_for(acknowledged=seen + 20)
        writers.check()
        sandbox.stop()
        assert_all_found(database.url("trouble"), writers.acknowledged, tmp_path / "again.log")
    lines = warnings_in(tmp_path / "sandbox.log")
    # Killed connections may cost a request or two (one episode), or none at all.
    assert len(lines) in (0, 2), lines
    assert "Traceback" not in (tmp_path / "sandbox.log").read_text()


def test_postgresql_turned_read_only_is_a_503_per_write_and_loses_nothing(
    tmp_path: Path,
) -> None:
    with sandbox_on_postgres(tmp_path) as (database, sandbox):
        api = Api(sandbox.base_url, DEMO_RESELLER)
        acknowledged: list[str] = []
        record(create(api, "before-read-only"), acknowledged)
        _admin(
            database,
            "ALTER SYSTEM SET default_transaction_read_only = on",
            "SELECT pg_reload_conf()",
        )
        try:
            answers: list[httpx.Response] = []
            deadline = time.monotonic() + 20
            while sum(not a.is_success for a in answers) < 25 and time.monotonic() < deadline:
                answers.append(create(api, f"read-only-{len(answers)}"))
            for answer in answers:
                record(answer, acknowledged)
            assert sum(not a.is_success for a in answers) == 25
            assert api.get(acknowledged[0]).status_code == 200
        finally:
            _admin(database, "ALTER SYSTEM RESET default_transaction_read_only")
            _admin(database, "SELECT pg_reload_conf()")
        deadline = time.monotonic() + 20
        while not (answer := create(api, "writable-again")).is_success:
            assert time.monotonic() < deadline, answer.text
            assert_refused(answer)
            time.sleep(0.1)
        record(answer, acknowledged)
        api.close()
        sandbox.stop()
        assert_all_found(database.url("trouble"), acknowledged, tmp_path / "again.log")
    assert_one_episode(tmp_path / "sandbox.log")


def test_postgresql_out_of_disk_is_a_503_per_write_and_loses_nothing(tmp_path: Path) -> None:
    """The sandbox's tables on a tablespace of their own, on a 2 MB tmpfs."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system for a tablespace needs root")
    # Outside pytest's folders, which the server's user (not root) cannot enter.
    base = Path(tempfile.mkdtemp(prefix="bango-tablespace-"))
    disk = SmallDisk(base / "tiny", 2 * 1024 * 1024)
    assert disk.mounted, "mounting a tmpfs was refused"
    try:
        with PostgresServer() as database:
            for folder in (base, disk.folder):  # the server's user writes there
                shutil.chown(folder, database.data.owner())
            _admin(
                database,
                f"CREATE TABLESPACE tiny LOCATION '{disk.folder}'",
                "ALTER DATABASE postgres SET default_tablespace = tiny",
            )
            fill_then_grow(disk, database.url("trouble"), tmp_path / "sandbox.log")
    finally:
        disk.close()
        shutil.rmtree(base, ignore_errors=True)

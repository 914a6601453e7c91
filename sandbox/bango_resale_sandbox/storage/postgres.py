"""`PostgresStore`: the sandbox's storage in a PostgreSQL schema shared by any number of
sandbox processes, which then behave as one sandbox.

How the instances stay one sandbox (transactions are READ COMMITTED; none waits for another
unless both touch the same entitlement, customer or reseller sweep):
- A status change reads its entitlement with `SELECT ... FOR UPDATE` (`get` in a
  transaction), so concurrent changes of one entitlement, on any instance, run one after the
  other and each sees the committed result of the one before: one transition, one
  notification. The notification's outbox row is written before the lock is released, so the
  outbox order of an entitlement is the order of its changes.
- What no existing row guards takes a named lock (`lock`: a transaction-scoped advisory lock
  on a hash of the name): a create, per customer and per requested entitlementId (twin, id,
  live-entitlement limit), and the sweep of a reseller's period ends, expiries and
  confirmations, which also locks the rows it changes.
- Idempotency: `claim_response` inserts the request id under its unique key first, so a
  second request with the id, on any instance, waits for the first and replays its answer.
- The outbox is claimed, not just read: `due_notifications` moves each claimed row's
  `next_attempt_at` one lease ahead inside `FOR UPDATE SKIP LOCKED`, so no other instance picks
  it up while it is being sent; a crashed sender's rows fall due again when the lease ends
  (at-least-once). Only the oldest pending row of an entitlement is ever due, so a claimed
  head row holds back the entitlement's later rows on every instance: order is kept.
- The sandbox clocks live in the database, and `shared` tells the clock to read them for
  every operation; rate-limit and failed-login buckets live there too (`take_tokens`).

Each sandbox keeps its tables in its own schema (`?schema=` in the URL, default
`bango_sandbox`), so several sandboxes, or tests, can share one database.

Storage trouble (the server down or restarting, a connection lost, no connection free in time,
a lock or statement given up, a full disk, transactions made read-only) raises
StoreUnavailable, reported once per episode; waits happen on the event loop, never blocking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .protocol import OutboxRow
from .queries import DUE_HEADS, OUTBOX_COLUMNS, SqlStore
from .schema import POSTGRESQL, schema, statements
from .trouble import TroubleReport

DEFAULT_SCHEMA = "bango_sandbox"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

SCHEMA_VERSION = 1
# How long to wait for a connection: at start-up, and per request while the server is away.
CONNECT_TIMEOUT_SECONDS = 5
# Errors of the database rather than of a statement: answered 503, never 500. Operational
# errors are the connection's and the server's (lost, refused, shutting down, disk full, lock
# or statement timeout, serialization failure); a read-only transaction (a replica, or
# default_transaction_read_only) refuses writes with an error of its own class.
_TROUBLE = (psycopg.OperationalError, PoolTimeout, errors.ReadOnlySqlTransaction)
# The shared tables, and this store's own: its schema version and the rate-limit buckets that
# every instance spends from.
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
"""
    + schema(POSTGRESQL)
    + """;
CREATE TABLE IF NOT EXISTS rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    stamp DOUBLE PRECISION NOT NULL,
    taken DOUBLE PRECISION NOT NULL
);
-- When the bucket is full again, and so the same as no row: pruned from then on.
ALTER TABLE rate_buckets ADD COLUMN IF NOT EXISTS full_at DOUBLE PRECISION
"""
)
# How often (seconds of the buckets' own clock) full buckets are deleted: failed logins under
# ever-new user names must not grow the table without bound.
PRUNE_BUCKETS_EVERY_SECONDS = 60.0
# The bucket refilled to `now` (`b`: the row as it was), the whole tokens taken from it, and
# what is left: one statement computes them, for the answer and for when it is full again.
_REFILLED = "LEAST(%(burst)s, b.tokens + GREATEST(%(now)s - b.stamp, 0) * %(rate)s)"
_TAKEN = f"LEAST(%(want)s, floor({_REFILLED}))"
_LEFT = f"{_REFILLED} - {_TAKEN}"
_TAKE_TOKENS = (
    "INSERT INTO rate_buckets AS b (key, tokens, stamp, taken, full_at) VALUES (%(key)s,"
    " %(burst)s - LEAST(%(want)s, floor(%(burst)s)), %(now)s, LEAST(%(want)s, floor(%(burst)s)),"
    " %(now)s + LEAST(%(want)s, floor(%(burst)s)) / NULLIF(%(rate)s, 0))"
    f" ON CONFLICT (key) DO UPDATE SET stamp = %(now)s, taken = {_TAKEN}, tokens = {_LEFT},"
    f" full_at = %(now)s + (%(burst)s - ({_LEFT})) / NULLIF(%(rate)s, 0)"
    " RETURNING taken, tokens"
)


def split_schema(url: str) -> tuple[str, str]:
    """The libpq URL without our `schema` parameter, and the schema it names."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    name = next((value for key, value in query if key == "schema"), DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.fullmatch(name):
        raise ValueError(
            f"schema {name!r} in the database URL: use lower-case letters, digits and _"
        )
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), name


class PostgresStore(SqlStore):
    """`EntitlementStore` on a PostgreSQL schema, shared safely by several processes.

    A pool of connections per process. `transaction()` takes one from the pool and binds it to
    the current task, so concurrent requests run their transactions side by side on different
    connections (and PostgreSQL flushes their commits together); a statement outside any
    transaction borrows a connection for itself. Call `open()` in the running event loop
    before use.
    """

    shared = True  # other processes may change the data: read the clocks every time
    unusable: str | None = None  # the server may come back: its trouble is never for good
    dialect = POSTGRESQL

    def __init__(
        self,
        url: str,
        *,
        claim_lease_seconds: float = 30.0,
        synchronous_commit: str = "off",
        min_connections: int = 2,
        max_connections: int = 16,
    ) -> None:
        conninfo, self.schema = split_schema(url)
        self.path = url
        self._trouble = TroubleReport(f"the PostgreSQL schema {self.schema}")
        # The pool logs every failed connection attempt and every broken connection it drops;
        # the TroubleReport says the same once per episode.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        self._lease = claim_lease_seconds
        self._buckets_pruned_at = float("-inf")
        self._converted: dict[str, str] = {}
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=min_connections,
            max_size=max_connections,
            timeout=CONNECT_TIMEOUT_SECONDS,
            open=False,
            kwargs={
                "autocommit": True,
                "prepare_threshold": 0,
                # Session settings, so that no transaction spends a statement on them: the
                # durability of a commit (WAL flushed or not) and how long a statement may
                # wait for a lock before it fails (and the request gets a 503).
                "options": f"-c search_path={self.schema}"
                f" -c synchronous_commit={synchronous_commit} -c lock_timeout=30s",
            },
            name=f"sandbox-{self.schema}",
        )
        self._checking: asyncio.Task[None] | None = None  # the pool's check after a failure
        # The getEntitlement reads being gathered into one query, with their answers to come.
        self._reads: dict[tuple[str, str], asyncio.Future[bytes | None]] | None = None
        # The transaction the current task has open (its connection, and that task).
        self._bound: ContextVar[_Transaction | None] = ContextVar(
            f"pgstore-{id(self)}", default=None
        )
        # Start-up lock of the schema: instances starting together create its tables in turn.
        self._lock_key = zlib.crc32(self.schema.encode()) - 2**31
        self._migrate(conninfo)

    def _migrate(self, conninfo: str) -> None:
        """Create the schema, or check its version, on a connection of its own: a database
        that cannot be used fails here, in the constructor, before the server starts."""
        name = sql.Identifier(self.schema)
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            # Under the schema's lock: a second instance starting too waits for the first.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(name))
            for statement in statements(SCHEMA):
                conn.execute(statement)
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = row[0] if row else None
            if version is None:
                conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise psycopg.DataError(
                    f"schema {self.schema} has version {version}; this sandbox knows"
                    f" {SCHEMA_VERSION}: upgrade the sandbox"
                )
            # Leaving the block commits.

    async def open(self) -> None:
        """Open the pool (in the event loop that will use it)."""
        await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self._pool.close()
        self._trouble.close()

    def _sql(self, query: str) -> str:
        """The shared queries' `?` placeholders as psycopg's `%s`."""
        converted = self._converted.get(query)
        if converted is None:
            converted = self._converted[query] = query.replace("?", "%s")
        return converted

    def _current(self) -> _Transaction | None:
        tx = self._bound.get()
        if tx is None or tx.task is not asyncio.current_task():
            return None  # none open, or the context was copied into a task started inside
        return tx

    async def fetch_one(self, query: str, args: Sequence[Any] | dict[str, Any] = ()) -> Any:
        tx = self._current()
        if tx is not None:
            return await (await tx.send(self._sql(query), args)).fetchone()
        with self._reachable():
            async with self._pool.connection() as conn:
                return await (await conn.execute(self._sql(query), args)).fetchone()

    async def fetch_all(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        tx = self._current()
        if tx is not None:
            return await (await tx.send(self._sql(query), args)).fetchall()
        with self._reachable():
            async with self._pool.connection() as conn:
                return await (await conn.execute(self._sql(query), args)).fetchall()

    async def execute(self, query: str, args: Sequence[Any] = ()) -> None:
        tx = self._current()
        if tx is not None:
            tx.defer(self._sql(query), args, writes=True)
            return
        with self._reachable():
            async with self._pool.connection() as conn:
                await conn.execute(self._sql(query), args)
        self._trouble.wrote()

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        """Turn storage trouble (see _TROUBLE) into StoreUnavailable, and have the pool check
        its idle connections: after a database restart they are all broken, and each would
        otherwise fail one request before being replaced."""
        try:
            yield
        except _TROUBLE as exc:
            if self._checking is None or self._checking.done():
                self._checking = asyncio.get_running_loop().create_task(self._pool.check())
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise self._trouble.failed(reason) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block atomically (READ COMMITTED, with the row and named locks that the
        reads take); nested use by the same task joins the outer transaction."""
        if self._current() is not None:
            yield
            return
        with self._reachable():
            async with self._pool.connection() as conn:
                tx = _Transaction(conn, asyncio.current_task())
                token = self._bound.set(tx)
                try:
                    yield
                    await tx.commit()
                except BaseException:
                    await tx.rollback()
                    raise
                finally:
                    self._bound.reset(token)
        if tx.writes:
            self._trouble.wrote()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside `transaction()`: if the block raises, undo only the block's own writes."""
        tx = self._current()
        if tx is None:
            raise RuntimeError("savepoint() needs an open transaction()")
        mark = tx.savepoint()
        try:
            yield
        except BaseException:
            tx.rollback_to(mark)
            raise
        tx.release(mark)

    def lock_clause(self) -> str:
        return " FOR UPDATE" if self._current() is not None else ""

    async def lock(self, reseller: str, name: str) -> None:
        # A transaction-scoped advisory lock on a 64-bit hash of the name: two names that
        # collide only wait for each other, which is harmless.
        tx = self._current()
        if tx is None:
            raise RuntimeError("lock() needs an open transaction()")
        tx.defer(
            self._sql("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))"),
            (f"{self.schema}/{reseller}/{name}",),
            writes=False,
        )

    async def get_record_json(self, reseller: str, entitlement_id: str) -> bytes | None:
        """The read hot path, outside transactions: reads that arrive together share one
        query (and one connection), so a burst of concurrent GETs costs one round trip."""
        if self._current() is not None:
            return await super().get_record_json(reseller, entitlement_id)
        key = (reseller, entitlement_id)
        batch = self._reads
        if batch is not None:  # a batch is being gathered: join it
            joined = batch.get(key)
            if joined is None:
                joined = batch[key] = asyncio.get_running_loop().create_future()
            return await joined
        batch = self._reads = {}
        batch[key] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.sleep(0)  # let the reads that are ready to run now join
        finally:
            self._reads = None
        try:
            resellers, ids = zip(*batch, strict=True)
            rows = await self.fetch_all(
                "SELECT reseller, entitlement_id, record FROM entitlements"
                " WHERE (reseller, entitlement_id) IN"
                " (SELECT * FROM unnest(?::text[], ?::text[]))",
                (list(resellers), list(ids)),
            )
        except BaseException as exc:
            for waiting in batch.values():  # the caller's own future too: others may share it
                if not waiting.done():
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved, even if nobody else awaits it
            raise
        found = {(row[0], row[1]): bytes(row[2]) for row in rows}
        for other, waiting in batch.items():
            if not waiting.done():
                waiting.set_result(found.get(other))
        return found.get(key)

    async def take_tokens(
        self, key: str, rate: float, burst: float, now: float, want: float
    ) -> tuple[float, float]:
        """Refill `key`'s bucket to `now` and take up to `want` whole tokens, in one atomic
        statement: (tokens taken, tokens left in the bucket)."""
        if now - self._buckets_pruned_at >= PRUNE_BUCKETS_EVERY_SECONDS:
            self._buckets_pruned_at = now
            await self.execute("DELETE FROM rate_buckets WHERE full_at <= ?", (now,))
        row = await self.fetch_one(
            _TAKE_TOKENS, {"key": key, "rate": rate, "burst": burst, "now": now, "want": want}
        )
        return (0.0, 0.0) if row is None else (float(row[0]), float(row[1]))

    async def peek_tokens(self, key: str, rate: float, burst: float, now: float) -> float:
        """The tokens in `key`'s bucket at `now`, taking none (a bucket never used is full)."""
        row = await self.fetch_one(
            "SELECT LEAST(?, tokens + GREATEST(? - stamp, 0) * ?) FROM rate_buckets WHERE key = ?",
            (burst, now, rate, key),
        )
        return burst if row is None else float(row[0])

    async def due_notifications(self, now: float, limit: int) -> list[OutboxRow]:
        """Claim up to `limit` due head rows (oldest pending row of their entitlement) for one
        lease; rows another instance is claiming right now are skipped, not waited for."""
        rows = await self.fetch_all(
            f"WITH due AS (SELECT seq FROM notifications AS n WHERE {DUE_HEADS}"
            " ORDER BY next_attempt_at, seq LIMIT ? FOR UPDATE SKIP LOCKED)"
            " UPDATE notifications AS n SET next_attempt_at = ? FROM due WHERE n.seq = due.seq"
            f" RETURNING {', '.join(f'n.{c.strip()}' for c in OUTBOX_COLUMNS.split(','))}",
            (now, limit, now + self._lease),
        )
        return sorted((OutboxRow(*row) for row in rows), key=lambda r: r.seq)


class _Transaction:
    """One transaction on one connection, sending as few round trips as it can.

    Statements whose results nobody reads (BEGIN, SAVEPOINT, RELEASE, the locks and the
    writes) are not sent on their own: they wait and go out in one message with the next
    statement that returns rows, or with COMMIT. A create thus takes three round trips instead
    of a dozen. Such a batch runs as one simple-protocol query with its parameters bound on the
    client (psycopg's client-side cursor quotes them), and an error in any of its statements
    aborts the transaction as it would have one by one. A transaction that never sent anything
    commits or rolls back without a round trip. A savepoint is only written before the first
    write inside it (reads need no undoing), and left out altogether when its block ends
    before anything after it was sent: most requests never pay for one.
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any], task: object) -> None:
        self.conn = conn
        self.task = task
        self._cursor = psycopg.AsyncClientCursor(conn)
        self._waiting: list[str] = ["BEGIN"]
        self._sent = False  # BEGIN went out
        self._flushes = 0  # batches sent so far
        self._savepoints = 0
        self._unwritten: list[_Savepoint] = []  # open savepoints with no SAVEPOINT yet
        self.writes = False  # a write was among the statements

    def defer(self, query: str, args: Any = (), *, writes: bool) -> None:
        """A statement whose result nobody reads: a write, or (`writes=False`) a lock."""
        self.writes = self.writes or writes
        for mark in self._unwritten:
            self._waiting.append(f"SAVEPOINT {mark.name}")
            mark.index, mark.flushes = len(self._waiting) - 1, self._flushes
        self._unwritten.clear()
        self._waiting.append(self._bind(query, args))

    def _bind(self, query: str, args: Any) -> str:
        return self._cursor.mogrify(query, args) if args else query

    async def send(self, query: str, args: Any = ()) -> psycopg.AsyncClientCursor[Any]:
        """Send the waiting statements and this one; the cursor holds this one's rows."""
        self._waiting.append(self._bind(query, args))
        await self._flush()
        while self._cursor.nextset():  # the batch's results come first; this one's is last
            pass
        return self._cursor

    async def _flush(self) -> None:
        batch, self._waiting = ";\n".join(q for q in self._waiting if q), []
        self._sent = True
        self._flushes += 1
        await self._cursor.execute(batch.encode())

    def savepoint(self) -> _Savepoint:
        self._savepoints += 1
        mark = _Savepoint(f"s{self._savepoints}")
        self._unwritten.append(mark)
        return mark

    def release(self, mark: _Savepoint) -> None:
        if mark.index is None:  # nothing was written inside: nothing to keep or undo
            self._unwritten.remove(mark)
        elif mark.flushes == self._flushes:  # never sent: the block's statements simply stay
            self._waiting[mark.index] = ""
        else:
            self._waiting.append(f"RELEASE SAVEPOINT {mark.name}")

    def rollback_to(self, mark: _Savepoint) -> None:
        if mark.index is None:
            self._unwritten.remove(mark)
        elif mark.flushes == self._flushes:  # never sent: drop the block's statements unsent
            del self._waiting[mark.index :]
        else:
            self._waiting.append(f"ROLLBACK TO SAVEPOINT {mark.name}")
            self._waiting.append(f"RELEASE SAVEPOINT {mark.name}")

    async def commit(self) -> None:
        if self._sent or any(self._waiting[1:]):
            self._waiting.append("COMMIT")
            await self._flush()

    async def rollback(self) -> None:
        self._waiting = []
        if self._sent and not self.conn.closed:
            # After a lost connection there is nothing to roll back: the server did it; the
            # pool drops the broken connection when it comes back.
            with contextlib.suppress(psycopg.OperationalError):
                await self.conn.execute("ROLLBACK")


@dataclass(slots=True)
class _Savepoint:
    name: str
    index: int | None = None  # of its SAVEPOINT statement among the waiting ones, once written
    flushes: int = 0  # the transaction's batch count when it was written

"""The external state store that keeps NF replicas stateless.

Registrations, authentication challenges, subscriber data and sequence numbers live here,
not in a replica's memory, so any replica can serve any request and a replica can die or
be scaled away without losing state. Three backends share one contract (:class:`Store`):

``memory://`` (or ``memory://name``, shared by every store of that name in the process)
    a dict, for tests and single-process runs;
``sqlite:///path/to/file.db``
    the embedded default of the single-machine runtime: one file shared by every NF
    process, no daemon. WAL journal with ``synchronous=NORMAL`` (readers never block the
    writer), ``busy_timeout`` so concurrent writers queue instead of failing, ``BEGIN
    IMMEDIATE`` around the read-modify-write of ``incr`` and ``compare_and_set``, an
    ``expires`` column (wall-clock seconds, shared by all processes) honoured on every read
    and purged lazily. Calls take microseconds and run on the event loop thread;
``redis://host:port/db``
    Redis through ``redis.asyncio`` with a bounded connection pool: ``SET .. PX`` for TTLs,
    ``SET NX``, ``INCRBY``, and a Lua script for an atomic compare-and-set (scripts run
    atomically, Redis "EVAL" documentation).

Values are bytes. Counters created by :meth:`Store.incr` hold the decimal ASCII digits, as
Redis stores them. A ``ttl`` is in seconds (> 0); ``None`` means the key never expires.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import heapq
import logging
import math
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from .config import ConfigError

_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])

__all__ = [
    "MemoryStore",
    "RedisStore",
    "SqliteStore",
    "Store",
    "StoreConfigError",
    "StoreError",
    "open_store",
]

log = logging.getLogger("nfv.store")

# Expired entries are swept at most this often (seconds) by each process, on a write;
# reads never return them in between.
PURGE_INTERVAL = 1.0
# SQLite keys covered per sweep (~0.25 ms when none expired, ~0.5 ms deleting half). There
# is deliberately no index on ``expires``: it would double the cost of every write with a
# TTL (most writes: registrations, auth challenges). Instead each process walks the key
# space, PURGE_BATCH keys per sweep, resuming where it stopped, with one range DELETE of
# the expired rows; while most keys it covers have expired it sweeps PURGE_BACKLOG_SPEEDUP
# times as often.
PURGE_BATCH = 500
PURGE_BACKLOG_SPEEDUP = 20
# How long a SQLite writer waits for the lock held by another process before failing.
SQLITE_BUSY_TIMEOUT = 5.0
# Keys per ``SELECT ... IN (...)``: below SQLite's historical 999 bound-parameter limit.
SQLITE_IN_BATCH = 500
# Redis: connections per process (callers beyond it wait up to REDIS_POOL_TIMEOUT), and
# socket timeouts, so a dead Redis fails calls instead of hanging them.
REDIS_MAX_CONNECTIONS = 64
REDIS_POOL_TIMEOUT = 5.0
REDIS_CONNECT_TIMEOUT = 2.0
REDIS_SOCKET_TIMEOUT = 5.0


class StoreError(Exception):
    """The store is unreachable or failed; the message names the store and the reason."""


class StoreConfigError(StoreError, ConfigError):
    """The store URL is malformed or names an unsupported backend."""


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _check_ttl(ttl: float | None) -> float | None:
    if ttl is None:
        return None
    if not ttl > 0 or math.isinf(ttl):  # also rejects NaN
        raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
    return float(ttl)


def _check_value(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"store values are bytes, not {type(value).__name__}")


def _parse_counter(store: str, key: str, value: bytes) -> int:
    try:
        if not value.strip().lstrip(b"-").isdigit():
            raise ValueError
        return int(value)
    except ValueError:
        raise StoreError(f"store {store}: incr {key!r}: the value is not an integer") from None


class Store(abc.ABC):
    """A key-value store with TTLs, atomic counters and compare-and-set.

    Every method raises :class:`StoreError` when the store cannot be used. All operations
    on one key are atomic with respect to every process using the same store.
    """

    url: str

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value``, replacing any value and TTL."""

    @abc.abstractmethod
    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Store ``value`` only if the key is absent (or expired); True if stored."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove the key; True if it existed (and had not expired)."""

    @abc.abstractmethod
    async def incr(self, key: str, amount: int = 1) -> int:
        """Add ``amount`` to the integer at ``key`` (absent = 0) and return the new value.

        An existing TTL is kept; a new counter does not expire."""

    @abc.abstractmethod
    async def keys(self, prefix: str) -> list[str]:
        """Every live key starting with ``prefix``, sorted."""

    @abc.abstractmethod
    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values of ``keys``, in order (None for absent ones)."""

    @abc.abstractmethod
    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        """Atomically: if the current value equals ``expected`` (None = absent), store
        ``value`` (None = delete the key) with ``ttl``, and return True; else False."""

    async def set_many(self, items: dict[str, bytes], *, ttl: float | None = None) -> None:
        """Store several keys with one ``ttl``, as :meth:`set` each (the backends do it in
        one round trip: one SQLite transaction, one Redis pipeline). Each key is written
        atomically; readers may see some keys updated before the others."""
        for key, value in items.items():
            await self.set(key, value, ttl=ttl)

    async def take(self, key: str) -> bytes | None:
        """Atomically fetch and delete a key (Redis GETDEL): the value, or None when it
        was absent or expired. Of several processes taking one key, one gets the value."""
        while True:
            value = await self.get(key)
            if value is None or await self.compare_and_set(key, value, None):
                return value

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return if the store answers, raise :class:`StoreError` otherwise."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


# -- memory --------------------------------------------------------------------------------


class _MemoryData:
    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, float | None]] = {}
        self.expiries: list[tuple[float, str]] = []  # heap of (deadline, key)
        self.next_purge = 0.0


class MemoryStore(Store):
    """A store in this process's memory (deadlines on the monotonic clock)."""

    _shared: ClassVar[dict[str, _MemoryData]] = {}

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        name = url.partition("://")[2]
        self._data = self._shared.setdefault(name, _MemoryData()) if name else _MemoryData()
        self._closed = False

    def _items(self) -> dict[str, tuple[bytes, float | None]]:
        if self._closed:
            raise StoreError(f"store {self.url} is closed")
        return self._data.items

    def _live(self, key: str, now: float) -> bytes | None:
        entry = self._data.items.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= now:
            del self._data.items[key]
            return None
        return entry[0]

    def _put(self, key: str, value: bytes, ttl: float | None, now: float) -> None:
        data = self._data
        if ttl is None:
            data.items[key] = (value, None)
        else:
            deadline = now + ttl
            data.items[key] = (value, deadline)
            heapq.heappush(data.expiries, (deadline, key))
        if now >= data.next_purge:
            self._purge(now)

    def _purge(self, now: float) -> None:
        data = self._data
        data.next_purge = now + PURGE_INTERVAL
        heap = data.expiries
        while heap and heap[0][0] <= now:
            deadline, key = heapq.heappop(heap)
            entry = data.items.get(key)
            if entry is not None and entry[1] == deadline:
                del data.items[key]

    async def get(self, key: str) -> bytes | None:
        self._items()
        return self._live(key, time.monotonic())

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._items()
        self._put(key, _check_value(value), _check_ttl(ttl), time.monotonic())

    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        self._items()
        value, ttl = _check_value(value), _check_ttl(ttl)
        now = time.monotonic()
        if self._live(key, now) is not None:
            return False
        self._put(key, value, ttl, now)
        return True

    async def delete(self, key: str) -> bool:
        self._items()
        found = self._live(key, time.monotonic()) is not None
        self._data.items.pop(key, None)
        return found

    async def incr(self, key: str, amount: int = 1) -> int:
        items = self._items()
        now = time.monotonic()
        current = self._live(key, now)
        n = amount if current is None else _parse_counter(self.url, key, current) + amount
        deadline = None if current is None else items[key][1]
        items[key] = (str(n).encode(), deadline)
        return n

    async def keys(self, prefix: str) -> list[str]:
        items = self._items()
        now = time.monotonic()
        return sorted(
            k for k, (_, dl) in items.items() if k.startswith(prefix) and (dl is None or dl > now)
        )

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        self._items()
        now = time.monotonic()
        return [self._live(k, now) for k in keys]

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        self._items()
        ttl = _check_ttl(ttl)
        if value is not None:
            value = _check_value(value)
        now = time.monotonic()
        if self._live(key, now) != expected:
            return False
        if value is None:
            self._data.items.pop(key, None)
        else:
            self._put(key, value, ttl, now)
        return True

    async def set_many(self, items: dict[str, bytes], *, ttl: float | None = None) -> None:
        self._items()
        ttl = _check_ttl(ttl)
        checked = {k: _check_value(v) for k, v in items.items()}
        now = time.monotonic()
        for key, value in checked.items():
            self._put(key, value, ttl, now)

    async def take(self, key: str) -> bytes | None:
        self._items()
        value = self._live(key, time.monotonic())
        self._data.items.pop(key, None)
        return value

    async def ping(self) -> None:
        self._items()

    async def close(self) -> None:
        self._closed = True


# -- sqlite --------------------------------------------------------------------------------

_SQL_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv ("
    " key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, expires REAL"
    ") WITHOUT ROWID",
)
_SQL_GET = "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)"
_SQL_GET_ROW = "SELECT value, expires FROM kv WHERE key = ?"
_SQL_SET = (
    "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)
# Inserts, or overwrites only an expired row: one statement, so atomic without BEGIN.
_SQL_SET_NX = (
    "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
    "WHERE kv.expires IS NOT NULL AND kv.expires <= ?"
)
_SQL_UPDATE_VALUE = "UPDATE kv SET value = ? WHERE key = ?"
# set_many writes up to this many keys with one multi-row INSERT (3 bound parameters each,
# under SQLite's historical limit of 999); more go through executemany in a transaction.
SQLITE_SET_MANY_ROWS = 100


@functools.lru_cache(maxsize=SQLITE_SET_MANY_ROWS)
def _sql_set_rows(n: int) -> str:
    """_SQL_SET for ``n`` rows in one statement."""
    rows = ", ".join(["(?, ?, ?)"] * n)
    return (
        f"INSERT INTO kv (key, value, expires) VALUES {rows} "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
    )


_SQL_DELETE = "DELETE FROM kv WHERE key = ? RETURNING expires"
_SQL_DELETE_PLAIN = "DELETE FROM kv WHERE key = ?"
# One statement, so the read and the delete are atomic without BEGIN.
_SQL_TAKE = "DELETE FROM kv WHERE key = ? RETURNING value, expires"
_SQL_KEYS_ALL = "SELECT key FROM kv WHERE (expires IS NULL OR expires > ?) ORDER BY key"
_SQL_KEYS_FROM = (
    "SELECT key FROM kv WHERE key >= ? AND (expires IS NULL OR expires > ?) ORDER BY key"
)
_SQL_KEYS_RANGE = (
    "SELECT key FROM kv WHERE key >= ? AND key < ? AND (expires IS NULL OR expires > ?) "
    "ORDER BY key"
)
_SQL_SWEEP_END_FIRST = "SELECT key FROM kv ORDER BY key LIMIT 1 OFFSET ?"
_SQL_SWEEP_END_NEXT = "SELECT key FROM kv WHERE key > ? ORDER BY key LIMIT 1 OFFSET ?"
# Expired keys in (start, end]; a missing bound is unbounded. The expiry is re-checked at
# delete time, so a key another process refreshed in the meantime stays.
_SQL_SWEEP_EXPIRED = "expires IS NOT NULL AND expires <= ?"
_SQL_SWEEP_DELETE = {
    (False, False): f"DELETE FROM kv WHERE {_SQL_SWEEP_EXPIRED}",
    (True, False): f"DELETE FROM kv WHERE key > ? AND {_SQL_SWEEP_EXPIRED}",
    (False, True): f"DELETE FROM kv WHERE key <= ? AND {_SQL_SWEEP_EXPIRED}",
    (True, True): f"DELETE FROM kv WHERE key > ? AND key <= ? AND {_SQL_SWEEP_EXPIRED}",
}


def _prefix_successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (SQLite's
    BINARY collation compares UTF-8 bytes, which orders like code points)."""
    chars = list(prefix)
    while chars:
        c = ord(chars.pop())
        if c < 0x10FFFF:
            nxt = c + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be encoded in UTF-8
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None


def _is_busy(exc: BaseException | None) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def _retry_busy(fn: _F) -> _F:
    """Retry an operation that found the database locked by another process, waiting on the
    event loop (asyncio.sleep, doubling from 0.2 ms to 10 ms) rather than in SQLite's busy
    handler, which would sleep the whole process — every other request with it — for up to
    100 ms at a time. Each operation is one transaction, rolled back when it fails, so it is
    safe to run again. Gives up after SQLITE_BUSY_TIMEOUT with the StoreError.
    """

    @functools.wraps(fn)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
        delay = 0.0002
        while True:
            try:
                return await fn(self, *args, **kwargs)
            except StoreError as exc:
                if not _is_busy(exc.__cause__) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.01)

    return cast(_F, wrapper)


class SqliteStore(Store):
    """A store in a SQLite file shared by every process of the machine."""

    def __init__(self, url: str, path: Path) -> None:
        self.url = url
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection per store; callers may use threads
        self._closed = False
        self._next_purge = 0.0
        self._sweep_from: str | None = None  # None = from the first key

    # -- connection ---------------------------------------------------------------------
    def _error(self, op: str, key: str | None, exc: BaseException) -> StoreError:
        what = f"{op} {key!r}" if key is not None else op
        return StoreError(f"store {self.url}: {what} failed: {exc}")

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"store {self.url} is closed")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path),
                timeout=0,  # never sleep inside SQLite: see _retry_busy
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,
                cached_statements=64,
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error("open", None, exc) from exc
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            # Switching to WAL needs a moment alone with the file; when several processes
            # open it at once the switch can report "locked" without waiting, so retry.
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(
                    f"cannot use the WAL journal (got {mode!r}; a network file system?)"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            for statement in _SQL_SCHEMA:
                conn.execute(statement)
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("open", None, exc) from exc
        self._conn = conn
        return conn

    def _c(self) -> sqlite3.Connection:
        conn = self._conn
        return conn if conn is not None else self._open()

    def _maybe_purge(self, conn: sqlite3.Connection, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_INTERVAL
        try:
            # The next PURGE_BATCH keys after where the last sweep stopped, as a key range
            # (the end key is found by the B-tree walk alone), then one range DELETE.
            start = self._sweep_from
            if start is None:
                row = conn.execute(_SQL_SWEEP_END_FIRST, (PURGE_BATCH - 1,)).fetchone()
            else:
                row = conn.execute(_SQL_SWEEP_END_NEXT, (start, PURGE_BATCH - 1)).fetchone()
            end = None if row is None else str(row[0])
            bounds = tuple(b for b in (start, end) if b is not None)
            sql = _SQL_SWEEP_DELETE[(start is not None, end is not None)]
            cur = conn.execute(sql, (*bounds, now))
            self._sweep_from = end
            if 2 * cur.rowcount > PURGE_BATCH:
                self._next_purge = now + PURGE_INTERVAL / PURGE_BACKLOG_SPEEDUP
        except sqlite3.Error as exc:  # the caller's write succeeded; sweeping can wait
            log.warning("store %s: sweeping expired keys failed: %s", self.url, exc)

    # -- operations ---------------------------------------------------------------------
    @_retry_busy
    async def get(self, key: str) -> bytes | None:
        with self._lock:
            try:
                row = self._c().execute(_SQL_GET, (key, time.time())).fetchone()
            except sqlite3.Error as exc:
                raise self._error("get", key, exc) from exc
        return None if row is None else bytes(row[0])

    @_retry_busy
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        value, ttl = _check_value(value), _check_ttl(ttl)
        with self._lock:
            try:
                conn = self._c()
                now = time.time()
                conn.execute(_SQL_SET, (key, value, None if ttl is None else now + ttl))
                self._maybe_purge(conn, now)
            except sqlite3.Error as exc:
                raise self._error("set", key, exc) from exc

    @_retry_busy
    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        value, ttl = _check_value(value), _check_ttl(ttl)
        with self._lock:
            try:
                conn = self._c()
                now = time.time()
                cur = conn.execute(
                    _SQL_SET_NX, (key, value, None if ttl is None else now + ttl, now)
                )
                stored = cur.rowcount > 0
                self._maybe_purge(conn, now)
            except sqlite3.Error as exc:
                raise self._error("set_if_absent", key, exc) from exc
        return stored

    @_retry_busy
    async def delete(self, key: str) -> bool:
        with self._lock:
            try:
                now = time.time()
                rows = self._c().execute(_SQL_DELETE, (key,)).fetchall()
            except sqlite3.Error as exc:
                raise self._error("delete", key, exc) from exc
        return bool(rows) and (rows[0][0] is None or rows[0][0] > now)

    @_retry_busy
    async def set_many(self, items: dict[str, bytes], *, ttl: float | None = None) -> None:
        ttl = _check_ttl(ttl)
        checked = {k: _check_value(v) for k, v in items.items()}
        if not checked:
            return
        with self._lock:
            try:
                conn = self._c()
                now = time.time()
                expires = None if ttl is None else now + ttl
                rows = [(k, v, expires) for k, v in checked.items()]
                if len(rows) <= SQLITE_SET_MANY_ROWS:
                    # One INSERT of every row: a single statement is atomic on its own, so
                    # one commit (one WAL append) and no BEGIN/COMMIT round trips.
                    flat = [x for row in rows for x in row]
                    conn.execute(_sql_set_rows(len(rows)), flat)
                else:
                    self._transaction(conn)
                    try:
                        conn.executemany(_SQL_SET, rows)
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                self._maybe_purge(conn, now)
            except sqlite3.Error as exc:
                raise self._error("set_many", next(iter(checked)), exc) from exc

    @_retry_busy
    async def take(self, key: str) -> bytes | None:
        with self._lock:
            try:
                now = time.time()
                rows = self._c().execute(_SQL_TAKE, (key,)).fetchall()
            except sqlite3.Error as exc:
                raise self._error("take", key, exc) from exc
        if not rows or (rows[0][1] is not None and rows[0][1] <= now):
            return None
        return bytes(rows[0][0])

    def _transaction(self, conn: sqlite3.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so
        # the read that follows cannot be invalidated by another process's write.
        conn.execute("BEGIN IMMEDIATE")

    @_retry_busy
    async def incr(self, key: str, amount: int = 1) -> int:
        with self._lock:
            try:
                conn = self._c()
                self._transaction(conn)
                try:
                    now = time.time()
                    row = conn.execute(_SQL_GET_ROW, (key,)).fetchone()
                    if row is None or (row[1] is not None and row[1] <= now):
                        n = amount
                        conn.execute(_SQL_SET, (key, str(n).encode(), None))
                    else:
                        n = _parse_counter(self.url, key, bytes(row[0])) + amount
                        conn.execute(_SQL_UPDATE_VALUE, (str(n).encode(), key))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error("incr", key, exc) from exc
        return n

    @_retry_busy
    async def keys(self, prefix: str) -> list[str]:
        with self._lock:
            try:
                conn = self._c()
                now = time.time()
                if not prefix:
                    cur = conn.execute(_SQL_KEYS_ALL, (now,))
                else:
                    upper = _prefix_successor(prefix)
                    if upper is None:
                        cur = conn.execute(_SQL_KEYS_FROM, (prefix, now))
                    else:
                        cur = conn.execute(_SQL_KEYS_RANGE, (prefix, upper, now))
                return [row[0] for row in cur.fetchall()]
            except sqlite3.Error as exc:
                raise self._error("keys", prefix, exc) from exc

    @_retry_busy
    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        found: dict[str, bytes] = {}
        with self._lock:
            try:
                conn = self._c()
                now = time.time()
                unique = list(dict.fromkeys(keys))
                for i in range(0, len(unique), SQLITE_IN_BATCH):
                    batch = unique[i : i + SQLITE_IN_BATCH]
                    marks = ",".join("?" * len(batch))
                    sql = (
                        f"SELECT key, value FROM kv WHERE key IN ({marks}) "
                        "AND (expires IS NULL OR expires > ?)"
                    )
                    for k, v in conn.execute(sql, (*batch, now)):
                        found[k] = bytes(v)
            except sqlite3.Error as exc:
                raise self._error("get_many", None, exc) from exc
        return [found.get(k) for k in keys]

    @_retry_busy
    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        ttl = _check_ttl(ttl)
        if value is not None:
            value = _check_value(value)
        if expected is not None:
            expected = _check_value(expected)
        with self._lock:
            try:
                conn = self._c()
                self._transaction(conn)
                try:
                    now = time.time()
                    row = conn.execute(_SQL_GET_ROW, (key,)).fetchone()
                    live = row is not None and (row[1] is None or row[1] > now)
                    current = bytes(row[0]) if row is not None and live else None
                    if current != expected:
                        conn.execute("ROLLBACK")
                        return False
                    if value is None:
                        if row is not None:
                            conn.execute(_SQL_DELETE_PLAIN, (key,))
                    else:
                        expires = None if ttl is None else now + ttl
                        conn.execute(_SQL_SET, (key, value, expires))
                    conn.execute("COMMIT")
                    self._maybe_purge(conn, now)
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error("compare_and_set", key, exc) from exc
        return True

    @_retry_busy
    async def ping(self) -> None:
        with self._lock:
            try:
                self._c().execute("SELECT 1 FROM kv LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                raise self._error("ping", None, exc) from exc

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()


# -- redis ---------------------------------------------------------------------------------

# KEYS[1] key; ARGV: expected-present ('1'/'0'), expected, value-present, value, ttl ms
# ('0' = none). Redis runs a script atomically, so GET and SET/DEL cannot interleave.
_CAS_LUA = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if ARGV[3] == '1' then
  if ARGV[5] ~= '0' then
    redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], ARGV[4])
  end
else
  redis.call('DEL', KEYS[1])
end
return 1
"""

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _ttl_ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, math.ceil(ttl * 1000))


class RedisStore(Store):
    """A store in Redis (a StatefulSet on Kubernetes), shared by every replica."""

    def __init__(self, url: str) -> None:
        self.url = _redact(url)
        try:
            import redis.asyncio as aioredis
            from redis.exceptions import RedisError
        except ImportError:
            raise StoreConfigError(
                f"store {self.url}: the redis package is not installed (pip install nfv[redis])"
            ) from None
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        try:
            self._pool = aioredis.BlockingConnectionPool.from_url(
                url,
                max_connections=REDIS_MAX_CONNECTIONS,
                timeout=REDIS_POOL_TIMEOUT,
                socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                socket_timeout=REDIS_SOCKET_TIMEOUT,
            )
        except ValueError as exc:
            raise StoreConfigError(f"store {self.url}: bad Redis URL: {exc}") from None
        self._redis: Any = aioredis.Redis(connection_pool=self._pool)
        self._cas = self._redis.register_script(_CAS_LUA)
        self._closed = False

    def _error(self, op: str, key: str | None, exc: BaseException) -> StoreError:
        what = f"{op} {key!r}" if key is not None else op
        return StoreError(f"store {self.url}: {what} failed: {type(exc).__name__}: {exc}")

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"store {self.url} is closed")

    async def get(self, key: str) -> bytes | None:
        self._check_open()
        try:
            value = await self._redis.get(key)
        except self._errors as exc:
            raise self._error("get", key, exc) from exc
        return None if value is None else bytes(value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._check_open()
        value, ttl = _check_value(value), _check_ttl(ttl)
        try:
            await self._redis.set(key, value, px=_ttl_ms(ttl))
        except self._errors as exc:
            raise self._error("set", key, exc) from exc

    async def set_if_absent(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        self._check_open()
        value, ttl = _check_value(value), _check_ttl(ttl)
        try:
            return bool(await self._redis.set(key, value, px=_ttl_ms(ttl), nx=True))
        except self._errors as exc:
            raise self._error("set_if_absent", key, exc) from exc

    async def delete(self, key: str) -> bool:
        self._check_open()
        try:
            return int(await self._redis.delete(key)) > 0
        except self._errors as exc:
            raise self._error("delete", key, exc) from exc

    async def incr(self, key: str, amount: int = 1) -> int:
        self._check_open()
        try:
            return int(await self._redis.incrby(key, amount))
        except self._errors as exc:
            raise self._error("incr", key, exc) from exc

    async def keys(self, prefix: str) -> list[str]:
        self._check_open()
        pattern = _GLOB_SPECIAL.sub(r"\\\1", prefix) + "*"
        found: set[str] = set()
        try:
            async for k in self._redis.scan_iter(match=pattern, count=1000):
                found.add(k.decode() if isinstance(k, bytes) else str(k))
        except self._errors as exc:
            raise self._error("keys", prefix, exc) from exc
        return sorted(found)

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        self._check_open()
        if not keys:
            return []
        try:
            values = await self._redis.mget(keys)
        except self._errors as exc:
            raise self._error("get_many", None, exc) from exc
        return [None if v is None else bytes(v) for v in values]

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        self._check_open()
        ttl = _check_ttl(ttl)
        args = [
            b"0" if expected is None else b"1",
            b"" if expected is None else _check_value(expected),
            b"0" if value is None else b"1",
            b"" if value is None else _check_value(value),
            str(_ttl_ms(ttl) or 0).encode(),
        ]
        try:
            return int(await self._cas(keys=[key], args=args)) == 1
        except self._errors as exc:
            raise self._error("compare_and_set", key, exc) from exc

    async def set_many(self, items: dict[str, bytes], *, ttl: float | None = None) -> None:
        self._check_open()
        ttl = _check_ttl(ttl)
        checked = {k: _check_value(v) for k, v in items.items()}
        if not checked:
            return
        try:
            # One round trip; MULTI/EXEC is not needed (each SET is atomic on its own).
            pipe = self._redis.pipeline(transaction=False)
            for key, value in checked.items():
                pipe.set(key, value, px=_ttl_ms(ttl))
            await pipe.execute()
        except self._errors as exc:
            raise self._error("set_many", next(iter(checked)), exc) from exc

    async def take(self, key: str) -> bytes | None:
        self._check_open()
        try:
            value = await self._redis.getdel(key)  # Redis >= 6.2
        except self._errors as exc:
            raise self._error("take", key, exc) from exc
        return None if value is None else bytes(value)

    async def ping(self) -> None:
        self._check_open()
        try:
            await self._redis.ping()
        except self._errors as exc:
            raise self._error("ping", None, exc) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._redis.aclose()
            await self._pool.aclose()
        except self._errors:
            pass


# -- factory -------------------------------------------------------------------------------

_USAGE = "use memory://, sqlite:///path/to/file.db or redis://host:port/db"


def open_store(url: str) -> Store:
    """The store for ``url``. Connections open lazily: a store that is down shows up as a
    :class:`StoreError` from the first call (and from :meth:`Store.ping`), not here.

    ``sqlite://`` takes the rest of the URL as the path: ``sqlite:///var/lib/nfv/state.db``
    is absolute, ``sqlite://state.db`` relative to the working directory. A malformed or
    unsupported URL raises :class:`StoreConfigError` (a ``ConfigError`` and a
    ``StoreError``).
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise StoreConfigError(f"store URL {_redact(url)!r} has no scheme: {_USAGE}")
    if scheme == "memory":
        return MemoryStore(url)
    if scheme == "sqlite":
        path = rest.split("?", 1)[0]
        if not path or path.endswith("/"):
            raise StoreConfigError(f"store URL {url!r} names no file: {_USAGE}")
        return SqliteStore(url, Path(path))
    if scheme in ("redis", "rediss", "unix"):
        return RedisStore(url)
    raise StoreConfigError(f"store URL {_redact(url)!r}: unsupported scheme {scheme!r}: {_USAGE}")

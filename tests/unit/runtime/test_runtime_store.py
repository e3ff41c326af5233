"""The Store contract on the memory and SQLite backends, plus backend specifics.

The Redis backend runs the same contract in tests/integration/test_store_redis.py, and the
multi-process SQLite tests (several OS processes on one file) live there too, since the
unit tier starts no subprocesses.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.runtime import store as store_mod
from network_functions.runtime.config import ConfigError
from network_functions.runtime.store import (
    MemoryStore,
    RedisStore,
    SqliteStore,
    StoreConfigError,
    StoreError,
    open_store,
)

pytestmark = pytest.mark.unit


def _load_contract() -> Any:
    name = "nfv_tests_store_contract"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / "store_contract.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


contract = _load_contract()
StoreContract: Any = contract.StoreContract


class TestMemoryStore(StoreContract):  # type: ignore[misc]
    @pytest.fixture
    def store_url(self) -> str:
        return f"memory://contract-{uuid.uuid4().hex}"


class TestSqliteStore(StoreContract):  # type: ignore[misc]
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"sqlite://{tmp_path}/state/store.db"


# -- open_store ----------------------------------------------------------------------------


def test_open_store_schemes(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    s = open_store(f"sqlite://{tmp_path}/a.db")
    assert isinstance(s, SqliteStore) and s.path == tmp_path / "a.db"
    assert isinstance(open_store("redis://127.0.0.1:6379/0"), RedisStore)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "no scheme"),
        ("/tmp/x.db", "no scheme"),
        ("postgres://db/x", "unsupported scheme"),
        ("sqlite://", "names no file"),
        ("sqlite:///tmp/", "names no file"),
        ("redis://host:notaport/0", "bad Redis URL"),
    ],
)
def test_open_store_rejects_bad_urls(url: str, problem: str) -> None:
    with pytest.raises(StoreConfigError, match=problem) as info:
        open_store(url)
    # callers may catch it as a configuration problem or as a store problem
    assert isinstance(info.value, ConfigError) and isinstance(info.value, StoreError)


def test_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def main() -> None:
        s = open_store("sqlite://data/rel.db")
        await s.set("k", b"v")
        await s.close()

    asyncio.run(main())
    assert (tmp_path / "data" / "rel.db").exists()


def test_redis_password_is_redacted() -> None:
    s = open_store("redis://user:s3cret@127.0.0.1:6379/0")
    assert "s3cret" not in s.url and "***" in s.url and "s3cret" not in repr(s)
    with pytest.raises(StoreConfigError) as info:
        open_store("nosuch://:s3cret@host/")
    assert "s3cret" not in str(info.value)


def test_redis_unreachable_is_a_store_error() -> None:
    import socket

    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

        async def main() -> None:
            s = open_store(f"redis://127.0.0.1:{port}/0")
            try:
                with pytest.raises(StoreError, match=f"127.0.0.1:{port}.*ping failed"):
                    await asyncio.wait_for(s.ping(), 10)
                with pytest.raises(StoreError, match="get 'k' failed"):
                    await asyncio.wait_for(s.get("k"), 10)
            finally:
                await s.close()

        asyncio.run(main())


# -- memory specifics ------------------------------------------------------------------------


def test_unnamed_memory_stores_are_separate() -> None:
    async def main() -> None:
        a, b = open_store("memory://"), open_store("memory://")
        await a.set("k", b"1")
        assert await b.get("k") is None

    asyncio.run(main())


def test_memory_purges_expired_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        s = MemoryStore()
        for i in range(100):
            await s.set(f"k{i}", b"v", ttl=0.01)
        await asyncio.sleep(0.05)
        s._data.next_purge = 0
        await s.set("other", b"v")
        assert list(s._data.items) == ["other"]
        assert s._data.expiries == []

    asyncio.run(main())


# -- sqlite specifics ------------------------------------------------------------------------


def test_sqlite_uses_wal_and_purges_lazily(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def main() -> None:
        s = open_store(f"sqlite://{path}")
        assert isinstance(s, SqliteStore)
        await s.set("short", b"v", ttl=0.05)
        await s.set("long", b"v", ttl=60)
        await s.set("forever", b"v")
        await asyncio.sleep(0.1)
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # expired but not yet purged: present in the table, absent for readers
        assert raw.execute("SELECT count(*) FROM kv").fetchone()[0] == 3
        assert await s.get("short") is None
        s._next_purge = 0.0
        await s.set("trigger", b"v")
        keys = sorted(r[0] for r in raw.execute("SELECT key FROM kv"))
        assert keys == ["forever", "long", "trigger"]
        raw.close()
        await s.close()

    asyncio.run(main())


def test_sqlite_sweep_walks_the_whole_key_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_mod, "PURGE_BATCH", 7)
    path = tmp_path / "sweep.db"

    async def main() -> None:
        s = open_store(f"sqlite://{path}")
        assert isinstance(s, SqliteStore)
        for i in range(60):
            await s.set(f"k{i:03}", b"v", ttl=0.05 if i % 3 else 60)
        await s.set("", b"empty key, expired", ttl=0.05)
        await asyncio.sleep(0.1)
        raw = sqlite3.connect(path)
        sweeps = 0
        while raw.execute("SELECT count(*) FROM kv").fetchone()[0] > 20 and sweeps < 30:
            s._next_purge = 0.0
            await s.set("k000", b"v", ttl=60)  # any write may sweep
            sweeps += 1
        assert 60 // 7 <= sweeps <= 60 // 7 + 2  # one pass over the keys, 7 at a time
        live = sorted(r[0] for r in raw.execute("SELECT key FROM kv"))
        assert live == [f"k{i:03}" for i in range(0, 60, 3)]
        assert s._sweep_from is None or s._sweep_from <= "k999"
        raw.close()
        await s.close()

    asyncio.run(main())


def test_sqlite_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    async def main() -> None:
        s = open_store(f"sqlite://{blocker}/x.db")
        with pytest.raises(StoreError, match=r"store sqlite://.*open failed"):
            await s.ping()
        with pytest.raises(StoreError):
            await s.set("k", b"v")

    asyncio.run(main())


def test_sqlite_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite" * 100)

    async def main() -> None:
        with pytest.raises(StoreError, match=r"garbage\.db"):
            await open_store(f"sqlite://{path}").get("k")

    asyncio.run(main())


def test_sqlite_data_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/p.db"

    async def write() -> None:
        s = open_store(url)
        await s.set("persist", b"yes")
        await s.incr("n", 5)
        await s.close()

    async def read() -> None:
        s = open_store(url)
        assert await s.get("persist") == b"yes"
        assert await s.incr("n") == 6
        await s.close()

    asyncio.run(write())
    asyncio.run(read())


def test_sqlite_from_threads(tmp_path: Path) -> None:
    """One store used from several threads (each with its own loop) stays consistent."""
    import threading

    s = open_store(f"sqlite://{tmp_path}/t.db")

    def worker() -> None:
        async def main() -> None:
            for _ in range(200):
                await s.incr("threads")

        asyncio.run(main())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def check() -> None:
        assert await s.get("threads") == b"800"
        await s.close()

    asyncio.run(check())


prefixes = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=4)


@settings(max_examples=300, deadline=None)
@given(prefixes, prefixes, prefixes)
def test_prefix_successor_bounds_the_prefix_range(prefix: str, suffix: str, other: str) -> None:
    upper = store_mod._prefix_successor(prefix)
    if upper is None:
        assert set(prefix) <= {"\U0010ffff"}
        return
    upper.encode()  # encodable in UTF-8 (no surrogates)
    assert prefix + suffix < upper
    if not other.startswith(prefix) and other >= prefix:
        assert other >= upper


def test_sqlite_set_many_in_one_statement_or_a_transaction(tmp_path: Path) -> None:
    """Up to SQLITE_SET_MANY_ROWS keys go in one INSERT; more in one transaction. Both
    replace existing keys and TTLs."""

    async def main() -> None:
        s = open_store(f"sqlite:///{tmp_path}/m.db")
        try:
            for n in (2, store_mod.SQLITE_SET_MANY_ROWS, store_mod.SQLITE_SET_MANY_ROWS + 7):
                await s.set("k0", b"old", ttl=0.1)
                items = {f"k{i}": str(n).encode() for i in range(n)}
                await s.set_many(items)
                assert await s.get_many(list(items)) == [str(n).encode()] * n
            await asyncio.sleep(0.2)
            assert await s.get("k0") == str(store_mod.SQLITE_SET_MANY_ROWS + 7).encode()
        finally:
            await s.close()

    asyncio.run(main())

"""The Store contract against a real redis-server, and the SQLite store shared by several
OS processes (counters, compare-and-set and set-if-absent races across processes)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from network_functions.runtime.store import StoreError, open_store

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent


def _load(name: str, path: Path) -> Any:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


contract = _load("nfv_tests_store_contract", TESTS / "unit" / "runtime" / "store_contract.py")
redis_helper = _load("nfv_tests_conftest_redis", TESTS / "integration" / "conftest_redis.py")
StoreContract: Any = contract.StoreContract


@pytest.fixture(scope="module")
def redis() -> Iterator[Any]:
    try:
        with redis_helper.redis_server() as server:
            yield server
    except redis_helper.RedisUnavailable as exc:
        pytest.skip(str(exc))


class TestRedisStore(StoreContract):  # type: ignore[misc]
    @pytest.fixture
    def store_url(self, redis: Any) -> str:
        redis.flush()
        return str(redis.url(0))


def test_redis_db_selection(redis: Any) -> None:
    async def main() -> None:
        a, b = open_store(redis.url(1)), open_store(redis.url(2))
        await a.set("k", b"db1")
        assert await b.get("k") is None
        await a.close()
        await b.close()

    redis.flush()
    asyncio.run(main())


def test_redis_ttl_is_set_in_milliseconds(redis: Any) -> None:
    async def main() -> None:
        s = open_store(redis.url())
        await s.set("px", b"v", ttl=2.5)
        await s.compare_and_set("cas-px", None, b"v", ttl=0.0004)  # rounds up to 1 ms
        await s.close()

    redis.flush()
    asyncio.run(main())
    pttl = int(redis.command("PTTL", "px")[1:])
    assert 2000 < pttl <= 2500


def test_redis_going_away_is_a_store_error() -> None:
    try:
        ctx = redis_helper.redis_server()
        server = ctx.__enter__()
    except redis_helper.RedisUnavailable as exc:
        pytest.skip(str(exc))
    try:

        async def main() -> None:
            s = open_store(server.url())
            await s.set("k", b"v")
            server.stop()
            with pytest.raises(StoreError, match=r"store redis://127\.0\.0\.1:\d+/0: get 'k'"):
                await asyncio.wait_for(s.get("k"), 20)
            with pytest.raises(StoreError):
                await asyncio.wait_for(s.ping(), 20)
            await s.close()

        asyncio.run(main())
    finally:
        ctx.__exit__(None, None, None)


# -- several processes on one store ---------------------------------------------------------

WORKER = r"""
import asyncio, json, os, random, sys, time
from network_functions.runtime.store import open_store

url, mode, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

async def main():
    store = open_store(url)
    await store.ping()
    print("ready", flush=True)
    while not os.path.exists(go):  # start together for maximum contention
        time.sleep(0.001)
    result = {"pid": os.getpid()}
    if mode == "incr":
        result["values"] = [await store.incr("counter") for _ in range(n)]
    elif mode == "cas":
        retries = 0
        for _ in range(n):
            while True:
                cur = await store.get("cas-counter")
                time.sleep(random.random() * 0.0005)  # widen the read-to-CAS window
                new = str(int(cur or b"0") + 1).encode()
                if await store.compare_and_set("cas-counter", cur, new):
                    break
                retries += 1
        result["retries"] = retries
    elif mode == "nx":
        result["won"] = [i for i in range(n)
                         if await store.set_if_absent(f"lock:{i}", str(os.getpid()).encode())]
    await store.close()
    print(json.dumps(result), flush=True)

asyncio.run(main())
"""

PROCESSES = 4


def run_workers(url: str, mode: str, n: int, tmp_path: Path) -> list[dict[str, Any]]:
    go = tmp_path / f"go-{mode}"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, mode, str(n), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line == b"ready\n", (line, p.stderr.read() if p.stderr else b"")
        go.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:  # only our own children, by their Popen handle (PID)
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/shared.db"
    server = request.getfixturevalue("redis")
    server.flush()
    return str(server.url())


def _get(url: str, key: str) -> bytes | None:
    async def main() -> bytes | None:
        s = open_store(url)
        try:
            return await s.get(key)
        finally:
            await s.close()

    return asyncio.run(main())


def test_incr_from_four_processes(shared_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    results = run_workers(shared_url, "incr", 500, tmp_path)
    elapsed = time.monotonic() - started
    values = sorted(v for r in results for v in r["values"])
    assert values == list(range(1, PROCESSES * 500 + 1))  # every value handed out once
    assert _get(shared_url, "counter") == b"2000"
    print(f"{shared_url.split(':')[0]}: 4x500 incr in {elapsed:.2f}s")


def test_cas_race_between_processes(shared_url: str, tmp_path: Path) -> None:
    results = run_workers(shared_url, "cas", 150, tmp_path)
    assert _get(shared_url, "cas-counter") == str(PROCESSES * 150).encode()
    print("CAS retries per process:", [r["retries"] for r in results])


def test_set_if_absent_race_between_processes(shared_url: str, tmp_path: Path) -> None:
    results = run_workers(shared_url, "nx", 300, tmp_path)
    won = [i for r in results for i in r["won"]]
    assert sorted(won) == list(range(300))  # each lock won by exactly one process
    pids = {str(r["pid"]).encode(): set(r["won"]) for r in results}
    for i in (0, 150, 299):
        owner = _get(shared_url, f"lock:{i}")
        assert owner is not None and i in pids[owner]

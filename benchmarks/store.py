"""Micro-benchmark of the state store backends: µs per get / set / incr / compare_and_set.

Run from the repository root: ``python benchmarks/store.py [iterations]``. Measures
``memory://``, ``sqlite://`` (a fresh file in a temporary directory, WAL, one connection)
and ``redis://`` — the URL in ``NFV_BENCH_REDIS_URL`` if set, else a throw-away
``redis-server`` on a free loopback port (skipped when not installed), stopped by its PID
afterwards. Operations run sequentially on one event loop (uvloop when installed and
``--uvloop`` is given), i.e. the latency one NF coroutine sees, not the store's throughput.
Values are 200 bytes, about a serialised registration binding.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.runtime.store import Store, open_store

KEYS = 1000  # distinct keys cycled through
# Two values, alternating on each pass over the keys: every write changes the stored bytes
# (SQLite skips rewriting a page whose content does not change, which would flatter it).
VALUES = (b"a" * 200, b"b" * 200)


async def _timed(n: int, op: Callable[[int], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for i in range(n):
        await op(i)
    return (time.perf_counter() - started) / n * 1e6


async def bench(url: str, n: int) -> dict[str, float]:
    store: Store = open_store(url)
    try:
        await store.ping()
        keys = [f"reg:sip:user{i}@ims.example.net" for i in range(KEYS)]

        def value(i: int) -> bytes:
            return VALUES[(i // KEYS) & 1]

        await _timed(KEYS, lambda i: store.set(keys[i % KEYS], VALUES[1]))  # warm up
        results = {
            "set": await _timed(n, lambda i: store.set(keys[i % KEYS], value(i))),
            "set+ttl": await _timed(n, lambda i: store.set(keys[i % KEYS], value(i), ttl=600)),
            "get": await _timed(n, lambda i: store.get(keys[i % KEYS])),
            "get miss": await _timed(n, lambda i: store.get(f"missing{i}")),
            "incr": await _timed(n, lambda _i: store.incr("bench:counter")),
        }

        async def cas(i: int) -> None:
            key = keys[i % KEYS]
            cur = await store.get(key)
            await store.compare_and_set(key, cur, value(i + 1), ttl=600)

        results["get+cas"] = await _timed(n, cas)
        return results
    finally:
        await store.close()


@contextlib.contextmanager
def redis_url() -> Iterator[str | None]:
    url = os.environ.get("NFV_BENCH_REDIS_URL")
    if url:
        yield url
        return
    exe = shutil.which("redis-server")
    if exe is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=1) as c,
                ):
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        break
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 20_000
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("memory", asyncio.run(bench("memory://", n))))
        rows.append(("sqlite", asyncio.run(bench(f"sqlite://{tmp}/bench.db", n))))
        with redis_url() as url:
            if url is None:
                print("redis: skipped (no redis-server and no NFV_BENCH_REDIS_URL)")
            else:
                rows.append(("redis", asyncio.run(bench(url, max(1, n // 4)))))
    ops = list(rows[0][1])
    print(f"µs/op, {n} iterations (redis {max(1, n // 4)}), 200-byte values, one coroutine")
    print(f"{'backend':<8}" + "".join(f"{op:>10}" for op in ops))
    for name, res in rows:
        print(f"{name:<8}" + "".join(f"{res[op]:>10.1f}" for op in ops))


if __name__ == "__main__":
    main()

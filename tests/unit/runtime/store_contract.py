"""The Store contract, shared by every backend's tests (not collected on its own).

A test class inherits :class:`StoreContract` and provides a ``store_url`` fixture naming a
fresh, empty store; each test opens the store(s) it needs inside its own event loop.
Test modules load this file by path (``importlib``), so the unit and the integration tiers
share one copy whatever pytest's import mode and ``sys.path``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from network_functions.runtime.store import Store, StoreError, open_store

TTL = 0.15  # short enough for a quick suite, long enough for slow CI machines
AFTER_TTL = 0.35

StoreTest = Callable[[Store], Awaitable[None]]


def run_with(url: str, test: StoreTest) -> None:
    async def main() -> None:
        store = open_store(url)
        try:
            await test(store)
        finally:
            await store.close()

    asyncio.run(main())


async def cas_increment(store: Store, key: str, times: int) -> int:
    """Increment a counter with compare_and_set, retrying on conflict; returns retries."""
    retries = 0
    for _ in range(times):
        while True:
            current = await store.get(key)
            await asyncio.sleep(0)  # let other tasks interleave between read and CAS
            new = str(int(current or b"0") + 1).encode()
            if await store.compare_and_set(key, current, new):
                break
            retries += 1
    return retries


class StoreContract:
    """Behaviour every backend must have. Subclasses define the ``store_url`` fixture."""

    def test_get_missing(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            assert await s.get("missing") is None

        run_with(store_url, t)

    def test_set_get_binary_and_empty(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            blob = bytes(range(256)) * 3
            await s.set("bin", blob)
            assert await s.get("bin") == blob
            await s.set("empty", b"")
            assert await s.get("empty") == b""
            await s.set("ba", bytearray(b"xy"))  # type: ignore[arg-type]
            got = await s.get("ba")
            assert got == b"xy" and type(got) is bytes
            await s.set("big", b"v" * (1 << 20))
            assert await s.get("big") == b"v" * (1 << 20)
            await s.set("ключ/ü", b"unicode key")
            assert await s.get("ключ/ü") == b"unicode key"

        run_with(store_url, t)

    def test_set_overwrites_value_and_ttl(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            await s.set("k", b"1", ttl=TTL)
            await s.set("k", b"2")  # no ttl: the key no longer expires
            await asyncio.sleep(AFTER_TTL)
            assert await s.get("k") == b"2"
            await s.set("k", b"3", ttl=TTL)
            assert await s.get("k") == b"3"
            await asyncio.sleep(AFTER_TTL)
            assert await s.get("k") is None

        run_with(store_url, t)

    def test_expired_keys_are_absent_everywhere(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            await s.set("exp:a", b"a", ttl=TTL)
            await s.set("exp:b", b"b", ttl=60)
            await s.set("exp:c", b"c")
            assert await s.keys("exp:") == ["exp:a", "exp:b", "exp:c"]
            for k in ("x:delete", "x:nx", "x:cas"):
                await s.set(k, b"old", ttl=TTL)
            await s.set("x:incr", b"41", ttl=TTL)
            await asyncio.sleep(AFTER_TTL)
            assert await s.get("exp:a") is None
            assert await s.keys("exp:") == ["exp:b", "exp:c"]
            assert await s.get_many(["exp:a", "exp:b"]) == [None, b"b"]
            assert await s.delete("x:delete") is False
            assert await s.set_if_absent("x:nx", b"new") is True
            assert await s.get("x:nx") == b"new"
            assert await s.compare_and_set("x:cas", b"old", b"g") is False
            assert await s.compare_and_set("x:cas", None, b"g") is True
            assert await s.get("x:cas") == b"g"
            assert await s.incr("x:incr") == 1  # an expired counter restarts from 0

        run_with(store_url, t)

    def test_set_if_absent(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            assert await s.set_if_absent("nx", b"first") is True
            assert await s.set_if_absent("nx", b"second") is False
            assert await s.get("nx") == b"first"
            assert await s.set_if_absent("nx-ttl", b"x", ttl=TTL) is True
            await asyncio.sleep(AFTER_TTL)
            assert await s.get("nx-ttl") is None

        run_with(store_url, t)

    def test_delete(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            await s.set("d", b"1")
            assert await s.delete("d") is True
            assert await s.delete("d") is False
            assert await s.get("d") is None

        run_with(store_url, t)

    def test_incr(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            assert await s.incr("n") == 1
            assert await s.incr("n", 10) == 11
            assert await s.incr("n", -20) == -9
            assert await s.get("n") == b"-9"
            await s.set("m", b"41")
            assert await s.incr("m") == 42
            await s.set("t", b"5", ttl=TTL)
            assert await s.incr("t") == 6  # keeps the ttl
            await asyncio.sleep(AFTER_TTL)
            assert await s.get("t") is None
            await s.set("text", b"abc")
            with pytest.raises(StoreError, match="text"):
                await s.incr("text")
            assert await s.get("text") == b"abc"

        run_with(store_url, t)

    def test_keys_prefix(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            for k in ["reg:b", "reg:a", "reg:a:1", "regx", "auth:1", "a*b", "a*c", "a[1]", "a?"]:
                await s.set(k, b"1")
            await s.set("reg:\U0010ffff", b"1")
            await s.set("ü1", b"1")
            assert await s.keys("reg:") == ["reg:a", "reg:a:1", "reg:b", "reg:\U0010ffff"]
            assert await s.keys("reg") == ["reg:a", "reg:a:1", "reg:b", "reg:\U0010ffff", "regx"]
            assert await s.keys("a*") == ["a*b", "a*c"]
            assert await s.keys("a[") == ["a[1]"]
            assert await s.keys("a?") == ["a?"]
            assert await s.keys("ü") == ["ü1"]
            assert await s.keys("nothing") == []
            assert len(await s.keys("")) == 11

        run_with(store_url, t)

    def test_get_many(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            assert await s.get_many([]) == []
            await s.set("g1", b"1")
            await s.set("g2", b"2")
            assert await s.get_many(["g2", "nope", "g1", "g2"]) == [b"2", None, b"1", b"2"]
            keys = [f"many:{i}" for i in range(1200)]
            for i, k in enumerate(keys[::2]):
                await s.set(k, str(i).encode())
            got = await s.get_many(keys)
            assert got[0::2] == [str(i).encode() for i in range(600)]
            assert got[1::2] == [None] * 600

        run_with(store_url, t)

    def test_compare_and_set(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            assert await s.compare_and_set("c", None, b"1") is True  # create if absent
            assert await s.compare_and_set("c", None, b"x") is False  # exists
            assert await s.compare_and_set("c", b"2", b"x") is False  # mismatch
            assert await s.get("c") == b"1"
            assert await s.compare_and_set("c", b"1", b"2") is True
            assert await s.get("c") == b"2"
            assert await s.compare_and_set("c", b"2", None) is True  # delete
            assert await s.get("c") is None
            assert await s.compare_and_set("c", b"2", None) is False
            assert await s.compare_and_set("absent", None, None) is True  # absent stays absent
            assert await s.get("absent") is None
            assert await s.compare_and_set("c", None, b"t", ttl=TTL) is True
            await asyncio.sleep(AFTER_TTL)
            assert await s.get("c") is None
            await s.set("e", b"")
            assert await s.compare_and_set("e", None, b"x") is False  # b"" is present
            assert await s.compare_and_set("e", b"", b"x") is True
            bin_ = bytes(range(256))
            await s.set("b", bin_)
            assert await s.compare_and_set("b", bin_, bin_[::-1]) is True
            assert await s.get("b") == bin_[::-1]

        run_with(store_url, t)

    def test_cas_race_between_tasks_and_instances(self, store_url: str) -> None:
        """40 tasks over two store instances increment by CAS: no update is lost."""

        async def t(s: Store) -> None:
            other = open_store(store_url)
            try:
                stores = [s, other]
                results = await asyncio.gather(
                    *(cas_increment(stores[i % 2], "race", 10) for i in range(40))
                )
                assert await s.get("race") == b"400"
                assert await other.get("race") == b"400"
                assert sum(results) > 0  # there were conflicts, and they were detected
            finally:
                await other.close()

        run_with(store_url, t)

    def test_set_if_absent_race(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            other = open_store(store_url)
            try:
                stores = [s, other]
                won = await asyncio.gather(
                    *(stores[i % 2].set_if_absent("lock", str(i).encode()) for i in range(50))
                )
                assert won.count(True) == 1
                winner = won.index(True)
                assert await s.get("lock") == str(winner).encode()
            finally:
                await other.close()

        run_with(store_url, t)

    def test_incr_race(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            other = open_store(store_url)
            try:
                stores = [s, other]
                values = await asyncio.gather(*(stores[i % 2].incr("ctr") for i in range(200)))
                assert sorted(values) == list(range(1, 201))
            finally:
                await other.close()

        run_with(store_url, t)

    def test_set_many(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            await s.set("m:old", b"old", ttl=60)
            await s.set_many({"m:a": b"1", "m:b": b"", "m:old": b"new"}, ttl=TTL)
            await s.set_many({"m:keep": b"k"})
            await s.set_many({})
            assert await s.get_many(["m:a", "m:b", "m:old", "m:keep"]) == [b"1", b"", b"new", b"k"]
            await asyncio.sleep(AFTER_TTL)  # the TTL of the call replaced the old one
            assert await s.keys("m:") == ["m:keep"]
            with pytest.raises(ValueError, match="ttl"):
                await s.set_many({"m:x": b"x"}, ttl=0)
            with pytest.raises(TypeError, match="bytes"):
                await s.set_many({"m:x": b"x", "m:y": "text"})  # type: ignore[dict-item]
            assert await s.get("m:x") is None  # nothing written when one value is bad

        run_with(store_url, t)

    def test_take(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            await s.set("t:a", b"va")
            assert await s.take("t:a") == b"va"
            assert await s.take("t:a") is None
            assert await s.get("t:a") is None
            assert await s.take("t:missing") is None
            await s.set("t:exp", b"x", ttl=TTL)
            await asyncio.sleep(AFTER_TTL)
            assert await s.take("t:exp") is None

        run_with(store_url, t)

    def test_take_race(self, store_url: str) -> None:
        """Of 30 tasks over two instances taking one key, exactly one gets the value."""

        async def t(s: Store) -> None:
            other = open_store(store_url)
            try:
                stores = [s, other]
                for round_ in range(3):
                    await s.set("t:nonce", str(round_).encode())
                    got = await asyncio.gather(*(stores[i % 2].take("t:nonce") for i in range(30)))
                    assert [g for g in got if g is not None] == [str(round_).encode()]
            finally:
                await other.close()

        run_with(store_url, t)

    def test_instances_share_state(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            other = open_store(store_url)
            try:
                await s.set("shared", b"v")
                assert await other.get("shared") == b"v"
                assert await other.delete("shared") is True
                assert await s.get("shared") is None
            finally:
                await other.close()

        run_with(store_url, t)

    def test_argument_validation(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            for bad in (0, -1, float("nan"), float("inf")):
                with pytest.raises(ValueError, match="ttl"):
                    await s.set("k", b"v", ttl=bad)
                with pytest.raises(ValueError, match="ttl"):
                    await s.set_if_absent("k", b"v", ttl=bad)
                with pytest.raises(ValueError, match="ttl"):
                    await s.compare_and_set("k", None, b"v", ttl=bad)
            with pytest.raises(TypeError, match="bytes"):
                await s.set("k", "text")  # type: ignore[arg-type]
            assert await s.get("k") is None

        run_with(store_url, t)

    def test_ping_and_close(self, store_url: str) -> None:
        async def t(s: Store) -> None:
            await s.ping()
            extra = open_store(store_url)
            await extra.ping()
            await extra.close()
            with pytest.raises(StoreError, match="closed"):
                await extra.get("k")
            with pytest.raises(StoreError):
                await extra.ping()
            await extra.close()  # idempotent
            assert s.url and store_url.split("://")[0] in repr(s)

        run_with(store_url, t)

    def test_random_operations_match_a_model(self, store_url: str) -> None:
        """A seeded random walk of every operation against a dict model (no TTLs)."""

        async def t(s: Store) -> None:
            rng = random.Random(1234)
            model: dict[str, bytes] = {}
            keys = [f"r:{i}" for i in range(8)]
            values = [b"", b"a", b"b", b"1", b"22", b"\x00\xff"]
            for _ in range(600):
                op = rng.choice(["get", "set", "nx", "del", "incr", "cas", "keys", "many"])
                k = rng.choice(keys)
                if op == "get":
                    assert await s.get(k) == model.get(k)
                elif op == "set":
                    v = rng.choice(values)
                    await s.set(k, v)
                    model[k] = v
                elif op == "nx":
                    v = rng.choice(values)
                    assert await s.set_if_absent(k, v) == (k not in model)
                    model.setdefault(k, v)
                elif op == "del":
                    assert await s.delete(k) == (k in model)
                    model.pop(k, None)
                elif op == "incr":
                    cur = model.get(k)
                    if cur is None or cur.lstrip(b"-").isdigit():
                        n = rng.randint(-3, 3)
                        new = int(cur or b"0") + n
                        assert await s.incr(k, n) == new
                        model[k] = str(new).encode()
                    else:
                        with pytest.raises(StoreError):
                            await s.incr(k)
                elif op == "cas":
                    expected = rng.choice([None, model.get(k), *values[:3]])
                    new_v = rng.choice([None, *values])
                    ok = model.get(k) == expected
                    assert await s.compare_and_set(k, expected, new_v) == ok
                    if ok:
                        if new_v is None:
                            model.pop(k, None)
                        else:
                            model[k] = new_v
                elif op == "keys":
                    assert await s.keys("r:") == sorted(model)
                else:
                    ks = rng.sample(keys, 3)
                    assert await s.get_many(ks) == [model.get(x) for x in ks]

        run_with(store_url, t)

"""The PGW-C's UE address pool and APN matching, and TEID blocks, on the in-memory store:
addresses are unique among concurrent allocators, an exhausted pool gives cause 84, released
addresses come back, and bad pools are configuration errors."""

from __future__ import annotations

import asyncio

import pytest

from network_functions.pgw.app import AddressPool, apn_network_identifier
from network_functions.protocols import gtpv2c as g
from network_functions.runtime.config import ConfigError
from network_functions.runtime.gtp import TeidAllocator
from network_functions.runtime.store import MemoryStore

pytestmark = pytest.mark.unit


def test_apn_network_identifier() -> None:
    assert apn_network_identifier("internet") == "internet"
    assert apn_network_identifier("Internet.MNC001.MCC001.GPRS") == "internet"
    assert apn_network_identifier("ims.example.org") == "ims.example.org"
    assert apn_network_identifier("a.mnc001.mcc001.gprs") == "a"


def test_pool_allocates_unique_addresses_until_full() -> None:
    async def run() -> None:
        store = MemoryStore()
        pools = [AddressPool(store, "tiny", "10.99.0.0/28") for _ in range(3)]  # 13 usable
        assert pools[0].size == 13

        async def take(pool: AddressPool, n: int) -> list[str]:
            out = []
            for i in range(n):
                try:
                    out.append(await pool.allocate(f"{id(pool)}-{i}"))
                except g.GtpError as exc:
                    assert exc.cause == g.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED
            return out

        got = await asyncio.gather(*(take(p, 6) for p in pools))
        ips = [ip for chunk in got for ip in chunk]
        assert len(ips) == 13 == len(set(ips))
        assert "10.99.0.0" not in ips and "10.99.0.1" not in ips and "10.99.0.15" not in ips
        # Release two (only by their owner), and exactly two can be allocated again.
        owner = f"{id(pools[0])}-0"
        assert not await pools[1].release(got[0][0], "someone-else")
        assert await pools[1].release(got[0][0], owner)
        assert not await pools[1].release(got[0][0], owner)  # once
        assert await pools[0].release(got[0][1], f"{id(pools[0])}-1")
        again = {await pools[2].allocate("x"), await pools[2].allocate("y")}
        assert again == {got[0][0], got[0][1]}
        with pytest.raises(g.GtpError):
            await pools[2].allocate("z")

    asyncio.run(run())


@pytest.mark.parametrize("pool", ["10.0.0.0/31", "not-a-pool", "10.0.0.1/24", ""])
def test_bad_pools_are_config_errors(pool: str) -> None:
    with pytest.raises(ConfigError):
        AddressPool(MemoryStore(), "apn", pool)


def test_teid_allocator_blocks_and_wrap() -> None:
    async def run() -> None:
        store = MemoryStore()
        a, b = TeidAllocator(store, "k", block=4), TeidAllocator(store, "k", block=4)
        first = [await a.allocate() for _ in range(5)] + [await b.allocate() for _ in range(5)]
        assert len(set(first)) == 10 and 0 not in first
        # Near the end of the 32-bit space the block index wraps, skipping block 0.
        await store.set("k", str((1 << 30) - 1).encode())
        c = TeidAllocator(store, "k", block=4)
        assert [await c.allocate() for _ in range(4)] == [4, 5, 6, 7]

    asyncio.run(run())

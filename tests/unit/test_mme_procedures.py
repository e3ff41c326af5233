"""The MME's pieces that need no process: UE contexts in the store, identifier blocks, the
cause mappings of the attach procedure, algorithm selection and the config model."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from network_functions.mme.app import mme_fqdn
from network_functions.mme.config import MmeConfig
from network_functions.mme.contexts import (
    BLOCK_SIZE,
    BlockAllocator,
    ContextError,
    UeContext,
    UeContextRepository,
)
from network_functions.mme.procedures import (
    emm_cause_for_s6a,
    esm_cause_for_gtp,
    select_algorithms,
)
from network_functions.protocols import gtpv2c
from network_functions.protocols.diameter import s6a
from network_functions.runtime.store import MemoryStore

pytestmark = pytest.mark.unit

EPC = {
    "realm": "epc.mnc001.mcc001.3gppnetwork.org",
    "mcc": "001",
    "mnc": "01",
    "mme_group_id": 1,
    "mme_code": 2,
    "tacs": [1, 2],
    "apns": [{"name": "internet"}],
}


HSS = {"peers": [{"name": "hss", "port": 3868}]}


def config(**epc: object) -> MmeConfig:
    return MmeConfig.model_validate(
        {
            "nf": "mme",
            "domain": "ims.example",
            "realm": "ims.example",
            "epc": {**EPC, **epc},
            "diameter": HSS,
        }
    )


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_context_round_trips_through_json() -> None:
    ctx = UeContext(imsi="001010000000001", kasme=bytes(range(32)), m_tmsi=7, ul_count=3)
    ctx.bearer.ue_ip = "10.45.0.2"
    ctx.bearer.sgw_s11_teid = 0xDEADBEEF
    ctx.ue_network_capability = b"\xe0\xe0"
    again = UeContext.from_json(ctx.to_json())
    assert again == ctx


@pytest.mark.parametrize("raw", [b"", b"[]", b"{}", b'{"imsi": "1", "bearer": 5}', b"\xff"])
def test_corrupt_context_is_a_context_error(raw: bytes) -> None:
    with pytest.raises(ContextError):
        UeContext.from_json(raw)


def test_repository_by_imsi_and_m_tmsi() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        repo = UeContextRepository(store)
        ctx = UeContext(imsi="001010000000001", m_tmsi=await repo.new_m_tmsi())
        await repo.save(ctx, index_tmsi=True)
        assert await repo.get(ctx.imsi) == ctx
        assert await repo.by_m_tmsi(ctx.m_tmsi) == ctx
        # The UE got a new GUTI: the old index entry no longer finds it.
        old = ctx.m_tmsi
        ctx.m_tmsi = await repo.new_m_tmsi()
        await repo.save(ctx, index_tmsi=True)
        assert await repo.by_m_tmsi(old) is None
        assert await repo.by_m_tmsi(ctx.m_tmsi) == ctx
        await repo.delete(ctx)
        assert await repo.get(ctx.imsi) is None
        assert await repo.by_m_tmsi(ctx.m_tmsi) is None

    run(scenario())


def test_m_tmsis_are_unique_across_replicas_sharing_a_store() -> None:
    async def scenario() -> list[int]:
        store = MemoryStore()
        a, b = UeContextRepository(store), UeContextRepository(store)
        out = []
        for _ in range(BLOCK_SIZE + 10):
            out.append(await a.new_m_tmsi())
            out.append(await b.new_m_tmsi())
        return out

    values = run(scenario())
    assert isinstance(values, list)
    assert len(set(values)) == len(values)
    assert 0 not in values


def test_block_allocator_never_hands_out_zero_and_wraps() -> None:
    async def scenario() -> list[int]:
        store = MemoryStore()
        await store.incr("k", (1 << 32) - 3)  # just below the end of the 32-bit space
        alloc = BlockAllocator(store, "k", block=4)
        return [await alloc.next() for _ in range(8)]

    values = run(scenario())
    assert isinstance(values, list)
    assert 0 not in values and all(0 < v < 1 << 32 for v in values)
    assert len(set(values)) == len(values)


def test_algorithm_selection_follows_the_configured_preference() -> None:
    all_algs = b"\xe0\xe0"  # EEA0-2, EIA0-2
    assert select_algorithms(all_algs, ciphering=[2, 0], integrity=[2]) == (2, 2)
    assert select_algorithms(all_algs, ciphering=[0, 2], integrity=[2]) == (0, 2)
    only_eea0 = b"\x80\xe0"
    assert select_algorithms(only_eea0, ciphering=[2, 0], integrity=[2]) == (0, 2)
    no_eia2 = b"\xe0\xc0"  # EIA0 and EIA1 only
    assert select_algorithms(no_eia2, ciphering=[0], integrity=[2]) is None
    assert select_algorithms(b"\xe0", ciphering=[0], integrity=[2]) is None


def answer(**result: int) -> object:
    req = s6a.make_air(
        session_id="mme;1;1",
        origin_host="mme.epc",
        origin_realm="epc",
        destination_realm="epc",
        imsi="001010000000001",
        visited_plmn_id=b"\x00\xf1\x10",
    )
    return s6a.s6a_answer(req, origin_host="hss.epc", origin_realm="epc", **result)


@pytest.mark.parametrize(
    ("result", "cause"),
    [
        ({"result_code": 2001}, None),
        ({"experimental_result_code": 5001}, 8),  # user unknown
        ({"experimental_result_code": 5420}, 15),  # no EPS subscription
        ({"experimental_result_code": 5004}, 11),  # roaming not allowed
        ({"experimental_result_code": 4181}, 17),  # authentication data unavailable
        ({"result_code": 3002}, 17),  # unable to deliver
    ],
)
def test_s6a_results_map_to_emm_causes(result: dict[str, int], cause: int | None) -> None:
    assert emm_cause_for_s6a(answer(**result)) == cause  # type: ignore[arg-type]


def test_gtp_causes_map_to_esm_causes() -> None:
    assert esm_cause_for_gtp(gtpv2c.CAUSE_MISSING_OR_UNKNOWN_APN) == 27
    assert esm_cause_for_gtp(gtpv2c.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED) == 26
    assert esm_cause_for_gtp(gtpv2c.CAUSE_REMOTE_PEER_NOT_RESPONDING) == 30
    assert esm_cause_for_gtp(None) == 38


def test_config_checks_the_network_identity() -> None:
    assert mme_fqdn(config()) == "mmec02.mmegi0001.mme.epc.mnc001.mcc001.3gppnetwork.org"
    with pytest.raises(ValidationError, match="16-bit"):
        config(tacs=[70000])
    with pytest.raises(ValidationError):
        config(mcc="1")
    with pytest.raises(ValidationError, match="EIA2"):
        MmeConfig.model_validate(
            {
                "nf": "mme",
                "domain": "d",
                "realm": "r",
                "epc": EPC,
                "diameter": HSS,
                "security": {"integrity": [1]},
            }
        )
    with pytest.raises(ValidationError, match="HSS"):
        MmeConfig.model_validate({"nf": "mme", "domain": "d", "realm": "r", "epc": EPC})

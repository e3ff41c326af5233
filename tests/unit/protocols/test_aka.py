"""AKA (TS 33.102 §6.3): vectors, the USIM side, MAC and sync failures, resynchronisation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols import aka, milenage
from network_functions.protocols.aka import (
    SQN_MAX,
    AkaError,
    AkaVector,
    MacFailure,
    SyncFailure,
    UeAkaResult,
    generate_vector,
    next_sqn,
    resync,
    ue_authenticate,
)

pytestmark = pytest.mark.unit

H = bytes.fromhex

# TS 35.208 §4.3 test sets 1, 3 and 6 (inputs and the outputs AUTN is built from):
# K, RAND, SQN, AMF, OPc, f1 (MAC-A), f2 (RES), f3 (CK), f4 (IK), f5 (AK), f5* (AK*).
SETS = [
    (
        "465b5ce8b199b49faa5f0a2ee238a6bc",
        "23553cbe9637a89d218ae64dae47bf35",
        "ff9bb4d0b607",
        "b9b9",
        "cd63cb71954a9f4e48a5994e37a02baf",
        "4a9ffac354dfafb3",
        "a54211d5e3ba50bf",
        "b40ba9a3c58b2a05bbf0d987b21bf8cb",
        "f769bcd751044604127672711c6d3441",
        "aa689c648370",
        "451e8beca43b",
    ),
    (
        "fec86ba6eb707ed08905757b1bb44b8f",
        "9f7c8d021accf4db213ccff0c7f71a6a",
        "9d0277595ffc",
        "725c",
        "1006020f0a478bf6b699f15c062e42b3",
        "9cabc3e99baf7281",
        "8011c48c0c214ed2",
        "5dbdbb2954e8f3cde665b046179a5098",
        "59a92d3b476a0443487055cf88b2307b",
        "33484dc2136b",
        "deacdd848cc6",
    ),
    (
        "6c38a116ac280c454f59332ee35c8c4f",
        "ee6466bc96202c5a557abbeff8babf63",
        "414b98222181",
        "4464",
        "3803ef5363b947c6aaa225e58fae3934",
        "078adfb488241a57",
        "16c8233f05a0ac28",
        "3f8c7587fe8e4b233af676aede30ba3b",
        "a7466cc1e6b2a1337d49d3b66e95d7b4",
        "45b0f69ab06c",
        "1f53cd2b1113",
    ),
]

K = H("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = H("cd63cb71954a9f4e48a5994e37a02baf")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("s", SETS, ids=["set1", "set3", "set6"])
def test_vector_from_35_208_data(s: tuple[str, ...]) -> None:
    k, rand, sqn, amf, opc, f1, f2, f3, f4, f5, _f5s = (H(x) for x in s)
    v = generate_vector(k, opc, int.from_bytes(sqn, "big"), amf=amf, rand=rand)
    assert isinstance(v, AkaVector)
    # TS 33.102 §6.3.2: AUTN = SQN xor AK || AMF || MAC-A.
    assert v.autn == _xor(sqn, f5) + amf + f1
    assert (v.rand, v.xres, v.ck, v.ik, v.ak) == (rand, f2, f3, f4, f5)


@pytest.mark.parametrize("s", SETS, ids=["set1", "set3", "set6"])
def test_ue_answers_35_208_vector(s: tuple[str, ...]) -> None:
    k, rand, sqn, amf, opc, f1, f2, f3, f4, f5, _f5s = (H(x) for x in s)
    autn = _xor(sqn, f5) + amf + f1
    r = ue_authenticate(k, opc, rand, autn)
    assert r == UeAkaResult(res=f2, ck=f3, ik=f4, sqn=int.from_bytes(sqn, "big"))


@pytest.mark.parametrize("s", SETS, ids=["set1", "set3", "set6"])
def test_auts_layout_uses_f5_star_and_zero_amf(s: tuple[str, ...]) -> None:
    k, rand, sqn, amf, opc, f1, _f2, _f3, _f4, f5, f5s = (H(x) for x in s)
    autn = _xor(sqn, f5) + amf + f1
    sqn_ms = int.from_bytes(sqn, "big")  # the USIM has already seen this SQN: replay
    with pytest.raises(SyncFailure) as ei:
        ue_authenticate(k, opc, rand, autn, sqn_ms=sqn_ms)
    auts = ei.value.auts
    assert len(auts) == aka.AUTS_LEN == 14
    # TS 33.102 §6.3.3: AUTS = SQN_MS xor AK* || MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF=0000).
    assert auts[:6] == _xor(sqn, f5s)
    assert auts[6:] == milenage.f1_star(k, opc, rand, sqn, b"\x00\x00")
    assert resync(k, opc, rand, auts) == sqn_ms


def test_full_loop_with_random_rand() -> None:
    v = generate_vector(K, OPC, 0x20)
    assert len(v.rand) == 16 and len(v.autn) == 16 and len(v.ak) == 6
    assert v.autn[6:8] == aka.DEFAULT_AMF == b"\x80\x00"
    r = ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=0)
    assert r.res == v.xres
    assert (r.ck, r.ik, r.sqn) == (v.ck, v.ik, 0x20)
    other = generate_vector(K, OPC, 0x20)
    assert other.rand != v.rand  # drawn from the CSPRNG


def test_full_loop_from_op() -> None:
    opc = milenage.compute_opc(bytes(range(16)), bytes(range(16, 32)))
    sqn = 0
    sqn_ms = 0
    for _ in range(5):
        sqn = next_sqn(sqn)
        v = generate_vector(bytes(range(16)), opc, sqn)
        r = ue_authenticate(bytes(range(16)), opc, v.rand, v.autn, sqn_ms=sqn_ms)
        assert r.res == v.xres and r.sqn == sqn
        sqn_ms = r.sqn


@pytest.mark.parametrize("octet", range(16))
def test_any_autn_change_is_a_mac_failure(octet: int) -> None:
    v = generate_vector(K, OPC, 1000)
    bad = bytearray(v.autn)
    bad[octet] ^= 0x01
    with pytest.raises(MacFailure) as ei:
        ue_authenticate(K, OPC, v.rand, bytes(bad), sqn_ms=0)
    assert ei.value.cause == 20


def test_wrong_key_or_rand_is_a_mac_failure() -> None:
    v = generate_vector(K, OPC, 1000)
    with pytest.raises(MacFailure):
        ue_authenticate(bytes(16), OPC, v.rand, v.autn)
    with pytest.raises(MacFailure):
        ue_authenticate(K, bytes(16), v.rand, v.autn)
    with pytest.raises(MacFailure):
        ue_authenticate(K, OPC, _xor(v.rand, b"\x01" + bytes(15)), v.autn)


def test_mac_is_checked_before_sqn() -> None:
    # A forged AUTN with a stale SQN must not make the USIM emit AUTS (§6.3.3 order).
    v = generate_vector(K, OPC, 10)
    bad = v.autn[:-1] + bytes([v.autn[-1] ^ 0xFF])
    with pytest.raises(MacFailure):
        ue_authenticate(K, OPC, v.rand, bad, sqn_ms=1_000_000)


def test_sync_failure_then_resync_recovers_sqn_ms() -> None:
    sqn_ms = 0x0000_1234_5660  # the USIM is ahead of the HSS (e.g. HSS restored from backup)
    v = generate_vector(K, OPC, 0x40)
    with pytest.raises(SyncFailure) as ei:
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=sqn_ms)
    err = ei.value
    assert isinstance(err, AkaError)
    assert err.cause == 21
    # HSS side: recover SQN_MS, continue past it; the USIM then accepts.
    recovered = resync(K, OPC, v.rand, err.auts)
    assert recovered == sqn_ms
    v2 = generate_vector(K, OPC, next_sqn(recovered))
    r = ue_authenticate(K, OPC, v2.rand, v2.autn, sqn_ms=sqn_ms)
    assert r.res == v2.xres
    assert r.sqn > sqn_ms


def test_sqn_too_far_ahead_is_a_sync_failure() -> None:
    v = generate_vector(K, OPC, 100 + 33)
    ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=100, delta=33)  # exactly at the limit
    with pytest.raises(SyncFailure) as ei:
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=100, delta=32)
    assert resync(K, OPC, v.rand, ei.value.auts) == 100


def test_equal_sqn_is_a_replay() -> None:
    v = generate_vector(K, OPC, 500)
    with pytest.raises(SyncFailure):
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=500)


@pytest.mark.parametrize("octet", range(14))
def test_tampered_auts_is_a_mac_failure(octet: int) -> None:
    v = generate_vector(K, OPC, 1)
    with pytest.raises(SyncFailure) as ei:
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=64)
    bad = bytearray(ei.value.auts)
    bad[octet] ^= 0x80
    with pytest.raises(MacFailure):
        resync(K, OPC, v.rand, bytes(bad))


def test_resync_with_other_rand_fails() -> None:
    v = generate_vector(K, OPC, 1)
    with pytest.raises(SyncFailure) as ei:
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=64)
    with pytest.raises(MacFailure):
        resync(K, OPC, bytes(16), ei.value.auts)


@pytest.mark.parametrize(
    ("rand", "blob"),
    [(bytes(15), bytes(16)), (bytes(17), bytes(16)), (bytes(16), bytes(15)), (bytes(16), b"")],
)
def test_malformed_peer_fields_raise_aka_error(rand: bytes, blob: bytes) -> None:
    with pytest.raises(AkaError):
        ue_authenticate(K, OPC, rand, blob)
    with pytest.raises(AkaError):
        resync(K, OPC, rand, blob[:14] if len(blob) == 16 else blob)
    with pytest.raises(AkaError):
        ue_authenticate(K, OPC, bytes(16), "x" * 16)  # type: ignore[arg-type]


def test_local_argument_errors_are_value_errors() -> None:
    for bad_sqn in (-1, SQN_MAX + 1):
        with pytest.raises(ValueError, match="sqn"):
            generate_vector(K, OPC, bad_sqn)
    with pytest.raises(ValueError):
        generate_vector(K, OPC, True)
    with pytest.raises(milenage.MilenageError):
        generate_vector(bytes(15), OPC, 1)
    with pytest.raises(milenage.MilenageError):
        generate_vector(K, OPC, 1, amf=b"\x80")
    v = generate_vector(K, OPC, 1)
    with pytest.raises(ValueError, match="sqn_ms"):
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=-5)
    with pytest.raises(ValueError, match="delta"):
        ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=0, delta=0)


def test_vector_is_frozen() -> None:
    v = generate_vector(K, OPC, 1)
    with pytest.raises(AttributeError):
        v.xres = b""  # type: ignore[misc]


def test_next_sqn_keeps_ind_and_steps_seq() -> None:
    assert next_sqn(0) == 32
    assert next_sqn(0x21) == 0x41  # SEQ 1 -> 2, IND 1 kept
    assert next_sqn(0x3F) == 0x5F
    assert next_sqn(SQN_MAX - 63) == SQN_MAX - 31
    with pytest.raises(ValueError, match="exhausted"):
        next_sqn(SQN_MAX)
    with pytest.raises(ValueError):
        next_sqn(-1)


@given(st.integers(min_value=0, max_value=SQN_MAX - 32))
def test_next_sqn_is_strictly_increasing(sqn: int) -> None:
    n = next_sqn(sqn)
    assert n > sqn
    assert n & 31 == sqn & 31
    assert (n >> 5) == (sqn >> 5) + 1


@settings(max_examples=150, deadline=None)
@given(
    sqn=st.integers(min_value=0, max_value=SQN_MAX),
    sqn_ms=st.integers(min_value=0, max_value=SQN_MAX),
    delta=st.sampled_from([1, 32, 2**28, 2**47]),
)
def test_freshness_rule(sqn: int, sqn_ms: int, delta: int) -> None:
    v = generate_vector(K, OPC, sqn, rand=bytes(16))
    fresh = sqn_ms < sqn <= sqn_ms + delta
    try:
        r = ue_authenticate(K, OPC, v.rand, v.autn, sqn_ms=sqn_ms, delta=delta)
    except SyncFailure as e:
        assert not fresh
        assert resync(K, OPC, v.rand, e.auts) == sqn_ms
    else:
        assert fresh
        assert r.sqn == sqn


@settings(max_examples=200, deadline=None)
@given(rand=st.binary(max_size=20), autn=st.binary(max_size=20), auts=st.binary(max_size=20))
def test_arbitrary_peer_input_raises_only_aka_error(rand: bytes, autn: bytes, auts: bytes) -> None:
    try:
        ue_authenticate(K, OPC, rand, autn, sqn_ms=1 << 40)
    except AkaError:
        pass
    try:
        resync(K, OPC, rand, auts)
    except AkaError:
        pass

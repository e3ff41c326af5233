"""Property tests: on any input the GTPv2-C decoder and validator raise nothing but GtpError
(docs/CONTRIBUTING-helpers.md), decoding is stable under re-encoding, and messages built from
arbitrary field values round-trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.gtpv2c import Fteid, GtpError, Ie, Message

from .test_gtpv2c import all_messages

pytestmark = pytest.mark.unit

FUZZ = settings(
    max_examples=400,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEEDS = [m.encode() for m in all_messages()]


def _survive(data: bytes) -> None:
    try:
        msg = g.decode(data)
    except GtpError as exc:
        assert exc.action in ("reply", "discard", "version")
        rsp = g.error_response(exc)
        if rsp is not None:
            g.decode(rsp.encode())
        return
    try:
        g.validate(msg)
    except GtpError as exc:
        rsp = g.error_response(exc)
        if rsp is not None:
            assert g.decode(rsp.encode()).sequence == msg.sequence
    # Whatever decoded re-encodes, and decodes to the same structure again.
    again = g.decode(msg.encode())
    assert (again.type, again.sequence, again.teid) == (msg.type, msg.sequence, msg.teid)
    assert [(i.type, i.instance, i.raw) for i in again.ies] == [
        (i.type, i.instance, i.raw) for i in msg.ies
    ]
    for ie in msg.ies:
        _ = ie.name, ie.valid
    _ = msg.name, msg.cause, msg.is_request


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _survive(data)


@FUZZ
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    st.integers(0, 400),
)
def test_mutated_messages(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    _survive(bytes(data))
    _survive(bytes(data[: max(0, len(data) - cut)]))


@FUZZ
@given(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=40), st.integers(0, 200))
def test_inserted_bytes_with_fixed_length(seed: bytes, junk: bytes, at: int) -> None:
    """Junk inside the IE area with the header's length field adjusted to match."""
    hlen = 12 if seed[0] & 0x08 else 8
    at = hlen + at % (len(seed) - hlen + 1)
    data = bytearray(seed[:at] + junk + seed[at:])
    data[2:4] = (len(data) - 4).to_bytes(2, "big")
    _survive(bytes(data))


ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
digits = st.text("0123456789", min_size=1, max_size=16)
plmn = st.builds(
    g.Plmn,
    st.text("0123456789", min_size=3, max_size=3),
    st.text("0123456789", min_size=2, max_size=3),
)
fteid = st.builds(Fteid, st.integers(0, 63), st.integers(0, 0xFFFFFFFF), ipv4)
qos = st.builds(
    g.BearerQos,
    st.integers(0, 255),
    st.integers(0, 15),
    st.integers(0, 1),
    st.integers(0, 1),
    *[st.integers(0, 2**40 - 1)] * 4,
)
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@FUZZ
@given(
    seq=st.integers(0, g.MAX_SEQUENCE),
    teid=st.integers(0, 0xFFFFFFFF),
    imsi=digits,
    msisdn=st.none() | digits,
    sender=fteid,
    apn=st.lists(label, min_size=1, max_size=4).map(".".join),
    ebi=st.integers(0, 15),
    q=qos,
    sn=st.none() | plmn,
    tac=st.integers(0, 0xFFFF),
    eci=st.integers(0, 0x0FFFFFFF),
    ambr=st.none() | st.builds(g.Ambr, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    pco=st.none() | st.binary(max_size=50),
    fteids=st.lists(st.tuples(st.integers(0, 15), fteid), max_size=3),
)
def test_create_session_request_round_trip(
    seq: int,
    teid: int,
    imsi: str,
    msisdn: str | None,
    sender: Fteid,
    apn: str,
    ebi: int,
    q: g.BearerQos,
    sn: g.Plmn | None,
    tac: int,
    eci: int,
    ambr: g.Ambr | None,
    pco: bytes | None,
    fteids: list[tuple[int, Fteid]],
) -> None:
    uli = None if sn is None else g.Uli(g.Tai(sn, tac), g.Ecgi(sn, eci))
    msg = g.create_session_request(
        sequence=seq,
        teid=teid,
        imsi=imsi,
        msisdn=msisdn,
        sender_fteid=sender,
        apn=apn,
        ebi=ebi,
        qos=q,
        serving_network=sn,
        uli=uli,
        apn_ambr=ambr,
        pco=pco,
        bearer_fteids=fteids,
    )
    back = g.validate(g.decode(msg.encode()))
    assert back.encode() == msg.encode()
    for ours, theirs in zip(msg.ies, back.ies, strict=True):
        if ours.type == g.IE_BEARER_CONTEXT:
            assert [i.value for i in theirs.value] == [i.value for i in ours.value]
        else:
            assert theirs.value == ours.value


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 15), st.binary(max_size=30))))
def test_any_ie_list_round_trips_raw(ies: list[tuple[int, int, bytes]]) -> None:
    msg = Message(g.DELETE_SESSION_REQUEST, 1, [Ie(t, None, n, raw=v) for t, n, v in ies], 7)
    wire = msg.encode()
    back = g.decode(wire)
    assert back.encode() == wire
    assert [(i.type, i.instance, i.raw) for i in back.ies] == [(t, n, v) for t, n, v in ies]

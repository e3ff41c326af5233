"""Property tests: on any input the Diameter codec raises nothing but DiameterParseError
(docs/CONTRIBUTING-helpers.md), and generated messages round-trip byte-exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network_functions.protocols.diameter import (
    APP_CX,
    AUTH_SCHEME_AKAV1_MD5,
    Avp,
    DiameterParseError,
    Grouped,
    Message,
    StreamParser,
    cx_answer,
    make_cer,
    make_lir,
    make_mar,
    make_sar,
    make_uar,
    validate,
)

pytestmark = pytest.mark.unit

FUZZ = settings(
    max_examples=400,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seeds() -> list[bytes]:
    cx = {
        "session_id": "scscf.example;1;2",
        "origin_host": "scscf.example",
        "origin_realm": "example",
        "destination_realm": "example",
        "hop_by_hop": 1,
        "end_to_end": 2,
    }
    mar = make_mar(
        public_identity="sip:a@x",
        user_name="a@x",
        server_name="sip:s",
        sip_authorization=bytes(30),
        **cx,
    )
    maa = cx_answer(mar, origin_host="hss", origin_realm="example", experimental_result_code=2001)
    maa.add(
        "SIP-Auth-Data-Item",
        [
            ("SIP-Item-Number", 1),
            ("SIP-Authentication-Scheme", AUTH_SCHEME_AKAV1_MD5),
            ("SIP-Authenticate", bytes(32)),
            ("Integrity-Key", bytes(16)),
        ],
    )
    maa.add("Event-Timestamp", 3155673600).add("Failed-AVP", [Avp(1, b"x", flags=0x40)])
    return [
        m.encode()
        for m in (
            make_cer(
                origin_host="h",
                origin_realm="r",
                host_ip_addresses=["10.0.0.1", "::2"],
                vendor_id=1,
                product_name="p",
                vendor_specific_application_ids=[(10415, APP_CX)],
                hop_by_hop=1,
                end_to_end=1,
            ),
            make_uar(
                public_identity="sip:a@x", user_name="a@x", visited_network_identifier="v", **cx
            ),
            mar,
            maa,
            make_sar(
                public_identity=["sip:a@x", "tel:1"],
                server_name="sip:s",
                server_assignment_type=1,
                **cx,
            ),
            make_lir(public_identity="sip:a@x", originating_request=True, **cx),
        )
    ]


SEEDS = _seeds()


def exercise(msg: Message) -> None:
    """Everything a consumer might do with a decoded message."""
    validate(msg)
    msg.dump()
    for a in msg.avps:
        v = a.value
        if isinstance(v, Grouped):
            for inner in v.avps:
                _ = inner.value
    msg.get("Session-Id")
    msg.get_all("Public-Identity")
    if msg.request:
        msg.answer(2001, origin_host="h", origin_realm="r").encode()


def decode_and_exercise(data: bytes) -> None:
    try:
        msg = Message.decode(data)
    except DiameterParseError as exc:
        assert isinstance(exc.result_code, int)
        return
    try:
        exercise(msg)
    except DiameterParseError:
        pass
    # A decoded message re-encodes to the same length and decodes to itself (only the
    # reserved header bits and the content of padding octets may differ from the input).
    wire = msg.encode()
    assert len(wire) == len(data) and wire[:4] == data[:4] and wire[5:20] == data[5:20]
    assert Message.decode(wire) == msg


@FUZZ
@given(st.binary(max_size=512))
def test_decode_random_bytes(data: bytes) -> None:
    decode_and_exercise(data)


@FUZZ
@given(st.binary(max_size=400))
def test_decode_random_body_with_valid_header(body: bytes) -> None:
    body = body[: len(body) & ~3]
    header = (
        bytes([1])
        + (20 + len(body)).to_bytes(3, "big")
        + bytes([0xC0])
        + (303).to_bytes(3, "big")
        + APP_CX.to_bytes(4, "big")
        + bytes(8)
    )
    decode_and_exercise(header + body)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[i : i + draw(st.integers(1, 8))]
    if draw(st.booleans()):  # keep the length field consistent to get past framing
        data[1:4] = len(data).to_bytes(3, "big")[-3:] if len(data) >= 4 else data[1:4]
    return bytes(data)


@FUZZ
@given(mutated())
def test_decode_mutated_messages(data: bytes) -> None:
    decode_and_exercise(data)


@FUZZ
@given(st.lists(st.one_of(mutated(), st.binary(max_size=64)), max_size=6), st.data())
def test_stream_parser_random_input(pieces: list[bytes], data: st.DataObject) -> None:
    parser = StreamParser()
    stream = b"".join(pieces)
    pos = 0
    try:
        while pos < len(stream):
            step = data.draw(st.integers(1, 64))
            for msg in parser.feed(stream[pos : pos + step]):
                try:
                    exercise(msg)
                except DiameterParseError:
                    pass
            pos += step
    except DiameterParseError as exc:
        assert exc.fatal


# --- generated round trips ----------------------------------------------------------------------

_VALUES: list[tuple[str, st.SearchStrategy[object]]] = [
    ("Session-Id", st.text(max_size=30)),
    ("Origin-Host", st.from_regex(r"[a-z.]{1,20}", fullmatch=True)),
    ("Result-Code", st.integers(0, 2**32 - 1)),
    ("Host-IP-Address", st.ip_addresses().map(str)),
    ("Public-Identity", st.text(max_size=40)),
    ("User-Data", st.binary(max_size=100)),
    ("Accounting-Sub-Session-Id", st.integers(0, 2**64 - 1)),
    ("Disconnect-Cause", st.integers(-(2**31), 2**31 - 1)),
]


def _avp_items(depth: int) -> st.SearchStrategy[list[tuple[str, object]]]:
    leaf = st.one_of(*[st.tuples(st.just(n), s) for n, s in _VALUES])
    if depth == 0:
        return st.lists(leaf, max_size=6)
    nested = st.tuples(st.just("Proxy-Info"), _avp_items(depth - 1))
    return st.lists(st.one_of(leaf, nested), max_size=6)


@settings(max_examples=200, database=None, deadline=None)
@given(
    _avp_items(3),
    st.integers(0, 2**24 - 1),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_generated_messages_round_trip(
    items: list[tuple[str, object]], code: int, app: int, request: bool, hbh: int
) -> None:
    msg = Message(
        code, app, request=request, proxiable=not request, hop_by_hop=hbh, end_to_end=hbh ^ 0xFFFF
    )
    for name, value in items:
        msg.add(name, value)
    wire = msg.encode()
    assert len(wire) % 4 == 0
    back = Message.decode(wire)
    assert back == msg and back.encode() == wire
    for (name, value), avp in zip(items, back.avps, strict=True):
        if name == "Proxy-Info":
            assert isinstance(avp.value, Grouped)
        else:
            assert avp.value == value
    frames = StreamParser().feed(wire + wire)
    assert frames == [msg, msg]

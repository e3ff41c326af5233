"""Property tests of the SIP codec: nothing but SipParseError escapes on any input, and
serialise(parse(x)) is a fixed point."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network_functions.protocols.sip import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    StreamParser,
    Via,
    client_key,
    make_response,
    parse_message,
    parse_params,
    server_key,
)

pytestmark = pytest.mark.unit

PROPS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Structured generators cost more in hypothesis than in the codec: fewer examples.
GEN = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEEDS = [
    (
        b"REGISTER sip:ims.example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b'From: "Alice" <sip:alice@ims.example.com>;tag=1928301774\r\n'
        b"To: <sip:alice@ims.example.com>\r\n"
        b"Call-ID: a84b4c76e66710@10.0.0.1\r\n"
        b"CSeq: 1 REGISTER\r\n"
        b'Contact: <sip:alice@10.0.0.1:5060>;expires=600;+sip.instance="<urn:x;y>"\r\n'
        b'Authorization: Digest username="alice", realm="ims", nonce="", uri="sip:ims"\r\n'
        b"Supported: path, gruu\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
    (
        b"INVITE sip:bob@[2001:db8::1]:5070;transport=tcp SIP/2.0\r\n"
        b"v: SIP/2.0/TCP [2001:db8::2]:5060;branch=z9hG4bK74bf9, SIP/2.0/UDP p.example.com\r\n"
        b" ;branch=z9hG4bK2;received=192.0.2.1\r\n"
        b"Record-Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\r\n"
        b"f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
        b"t: sip:bob@biloxi.example.com\r\n"
        b"i: 3848276298220188511@atlanta.example.com\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"c: application/sdp\r\n"
        b"l: 25\r\n\r\n"
        b"v=0\r\no=alice 1 1 IN IP4 x\r\n"
    ),
    (
        b"SIP/2.0 401 Unauthorized\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport=5060;received=1.2.3.4\r\n"
        b"From: <sip:alice@ims.example.com>;tag=1928301774\r\n"
        b"To: <sip:alice@ims.example.com>;tag=xyz\r\n"
        b"Call-ID: a84b4c76e66710@10.0.0.1\r\n"
        b"CSeq: 1 REGISTER\r\n"
        b'WWW-Authenticate: Digest realm="ims", nonce="abc", qop="auth",\r\n'
        b" algorithm=AKAv1-MD5\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
    (
        b"MESSAGE tel:+1-201-555-0123;phone-context=x SIP/2.0\n"
        b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n"
        b"From: <tel:+15551234>;tag=1\n"
        b"To: <tel:+1-201-555-0123>\n"
        b"Call-ID: x\n"
        b"CSeq: 1 MESSAGE\n"
        b"Content-Type: text/plain\n\n"
        b"hi"
    ),
]

# Bytes that matter to the grammar, to make mutations interesting.
SPECIAL = b'\r\n \t:;,=<>"\\@[]/?%0123456789abcSIPzZ\x00\xff\xc3'


def exercise(msg: SipRequest | SipResponse) -> None:
    """Touch everything lazily parsed; only SipParseError may come out."""
    for action in (
        lambda: msg.call_id,
        lambda: msg.cseq,
        lambda: msg.vias,
        lambda: msg.top_via,
        lambda: msg.from_,
        lambda: msg.to,
        msg.validate,
        lambda: [NameAddr.parse(c) for c in msg.headers.get_all("Contact")],
        lambda: msg.headers.pop_first("Route"),
    ):
        try:
            action()
        except SipParseError:
            pass
    if isinstance(msg, SipRequest):
        try:
            server_key(msg)
        except SipParseError:
            pass
        if msg.method != "ACK":
            try:
                make_response(msg, 200, to_tag="t").to_bytes()
            except SipParseError:
                pass
    else:
        try:
            client_key(msg)
        except SipParseError:
            pass


def check_fixed_point(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        assert 400 <= exc.status <= 599
        assert exc.reason
        return
    out = msg.to_bytes()
    again = parse_message(out)
    assert again.to_bytes() == out
    assert again.body == msg.body
    assert type(again) is type(msg)
    clen = str(len(msg.body))
    expected = [(n, clen if n == "Content-Length" else v) for n, v in msg.headers.items()]
    if "Content-Length" not in msg.headers:
        expected.append(("Content-Length", clen))
    assert again.headers.items() == expected
    exercise(msg)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if not data:
            break
        pos = draw(st.integers(min_value=0, max_value=len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup-line", "truncate"]))
        byte = draw(st.sampled_from(list(SPECIAL)) | st.integers(min_value=0, max_value=255))
        if op == "flip":
            data[pos] = byte
        elif op == "insert":
            data[pos:pos] = bytes([byte]) * draw(st.integers(min_value=1, max_value=3))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=8))]
        elif op == "dup-line":
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            if end > 0:
                data[start:start] = data[start : end + 1]
        else:
            del data[pos:]
    return bytes(data)


@PROPS
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_sip_parse_error(data: bytes) -> None:
    check_fixed_point(data)


@PROPS
@given(st.sampled_from(SEEDS), st.binary(max_size=40))
def test_seed_with_random_tail(seed: bytes, tail: bytes) -> None:
    check_fixed_point(seed + tail)


@PROPS
@given(mutated())
def test_mutated_messages_raise_only_sip_parse_error(data: bytes) -> None:
    check_fixed_point(data)


def test_seeds_parse() -> None:
    for seed in SEEDS:
        msg = parse_message(seed)
        msg.validate()
        check_fixed_point(seed)


@PROPS
@given(st.lists(mutated(), min_size=1, max_size=3), st.lists(st.integers(0, 2000), max_size=6))
def test_stream_parser_on_mutated_streams(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    bounds = [0, *sorted(c for c in cuts if c <= len(stream)), len(stream)]
    parser = StreamParser()
    try:
        for a, b in itertools.pairwise(bounds):
            for msg in parser.feed(stream[a:b]):
                exercise(msg)
    except SipParseError as exc:
        assert exc.status in (400, 413, 416, 505)


# ---------------------------------------------------------------------------------------------
# Generated well-formed messages round-trip structurally.

tokens = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
hostnames = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8),
    min_size=1,
    max_size=4,
).map(".".join)
hosts = hostnames | st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(lambda a: f"[{a}]")
ports = st.none() | st.integers(min_value=0, max_value=65535)
users = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,;?/", min_size=1, max_size=12
)
param_dicts = st.dictionaries(tokens.map(str.lower), st.none() | tokens, max_size=3)


@st.composite
def sip_uris(draw: st.DrawFn) -> SipUri:
    return SipUri(
        draw(st.sampled_from(["sip", "sips"])),
        draw(st.none() | users),
        None,
        draw(hosts),
        draw(ports),
        draw(
            st.dictionaries(
                st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8),
                st.none()
                | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8),
                max_size=3,
            )
        ),
    )


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    display = draw(
        st.none() | st.text(max_size=12).filter(lambda s: "\r" not in s and "\n" not in s)
    )
    return NameAddr(display, draw(sip_uris()), draw(param_dicts))


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params = draw(param_dicts)
    params["branch"] = "z9hG4bK" + draw(tokens)
    return Via(
        draw(st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS"])), draw(hosts), draw(ports), params
    )


@st.composite
def requests(draw: st.DrawFn) -> SipRequest:
    method = draw(st.sampled_from(["INVITE", "REGISTER", "OPTIONS", "MESSAGE", "BYE"]) | tokens)
    via_list = draw(st.lists(vias(), min_size=1, max_size=3))
    headers = Headers()
    for via in via_list:
        headers.add("Via", str(via))
    headers.add("Max-Forwards", str(draw(st.integers(0, 255))))
    headers.add("From", str(draw(name_addrs())))
    headers.add("To", str(draw(name_addrs())))
    headers.add("Call-ID", draw(tokens) + "@" + draw(hostnames))
    headers.add("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}")
    for _ in range(draw(st.integers(0, 3))):
        headers.add(
            "X-" + draw(tokens),
            draw(st.text(max_size=20)).replace("\r", "").replace("\n", "").strip(" \t"),
        )
    body = draw(st.binary(max_size=50))
    if body:
        headers.add("Content-Type", "application/octet-stream")
    return SipRequest(method, str(draw(sip_uris())), headers, body)


@GEN
@given(requests())
def test_generated_requests_round_trip(req: SipRequest) -> None:
    msg = parse_message(req.to_bytes())
    assert isinstance(msg, SipRequest)
    assert (msg.method, msg.uri, msg.body) == (req.method, req.uri, req.body)
    assert msg.vias == req.vias
    assert msg.from_ == req.from_
    assert msg.to == req.to
    assert msg.cseq == req.cseq
    assert msg.headers.items()[:-1] == req.headers.items()
    msg.validate()
    assert msg.to_bytes() == req.to_bytes()


@GEN
@given(sip_uris())
def test_uri_str_parse_round_trip(uri: SipUri) -> None:
    assert SipUri.parse(str(uri)) == uri


@GEN
@given(name_addrs())
def test_name_addr_str_parse_round_trip(na: NameAddr) -> None:
    assert NameAddr.parse(str(na)) == na


def check_value_parsers(text: str) -> None:
    for parse in (SipUri.parse, NameAddr.parse, Via.parse):
        try:
            value = parse(text)
        except SipParseError:
            continue
        assert parse(str(value)) == value
    try:
        params = parse_params(text)
    except SipParseError:
        return
    assert parse_params(";".join(k if v is None else f"{k}={v}" for k, v in params.items())) == (
        params
    )


@PROPS
@given(st.text(max_size=80))
def test_value_parsers_raise_only_sip_parse_error(text: str) -> None:
    check_value_parsers(text)


@PROPS
@given(st.text(alphabet='<>",;=:@ sip\\abc[]/?', max_size=40))
def test_value_parsers_on_grammar_characters(text: str) -> None:
    check_value_parsers(text)
    headers = Headers([("Route", text.replace("\r", "").replace("\n", ""))])
    assert isinstance(headers.get_all("Route"), list)
    headers.pop_first("Route")


def test_response_round_trip_with_make_response() -> None:
    req = parse_message(SEEDS[0])
    assert isinstance(req, SipRequest)
    resp = make_response(req, 401, to_tag="abc")
    resp.headers.add("WWW-Authenticate", 'Digest realm="ims", nonce="x", algorithm=AKAv1-MD5')
    parsed = parse_message(resp.to_bytes())
    assert isinstance(parsed, SipResponse)
    assert parsed.status == 401
    assert client_key(parsed) == ("z9hG4bK776asdhds", "REGISTER")

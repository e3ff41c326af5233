"""SIP message codec: parsing, serialisation, headers, make_response, RFC 3665 call flows."""

from __future__ import annotations

import pytest

from network_functions.protocols.sip import (
    MAX_MESSAGE_SIZE,
    REASON_PHRASES,
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
)

pytestmark = pytest.mark.unit


def wire(text: str, body: bytes = b"") -> bytes:
    """Message text written with \\n line ends -> CRLF wire form; CLEN -> len(body)."""
    text = text.replace("CLEN", str(len(body)))
    return text.replace("\n", "\r\n").encode() + body


def parse_request(data: bytes) -> SipRequest:
    msg = parse_message(data)
    assert isinstance(msg, SipRequest)
    return msg


def parse_response(data: bytes) -> SipResponse:
    msg = parse_message(data)
    assert isinstance(msg, SipResponse)
    return msg


def reparse(data: bytes) -> bytes:
    return parse_message(data).to_bytes()


# ---------------------------------------------------------------------------------------------
# RFC 3665 §2.1 "Successful New Registration" (Bob registers over TLS, digest challenge).

REG_F1 = wire(
    """REGISTER sips:ss2.biloxi.example.com SIP/2.0
Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7
Max-Forwards: 70
From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl
To: Bob <sips:bob@biloxi.example.com>
Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
CSeq: 1 REGISTER
Contact: <sips:bob@client.biloxi.example.com>
Content-Length: 0

"""
)

REG_F2 = wire(
    """SIP/2.0 401 Unauthorized
Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7
 ;received=192.0.2.201
From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl
To: Bob <sips:bob@biloxi.example.com>;tag=1410948204
Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm="atlanta.example.com", qop="auth",
 nonce="ea9c8e88df84f1cec4341ae6cbe5a359",
 opaque="", stale=FALSE, algorithm=MD5
Content-Length: 0

"""
)

REG_F3 = wire(
    """REGISTER sips:ss2.biloxi.example.com SIP/2.0
Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashd92
Max-Forwards: 70
From: Bob <sips:bob@biloxi.example.com>;tag=ja743ks76zlflH
To: Bob <sips:bob@biloxi.example.com>
Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
CSeq: 2 REGISTER
Contact: <sips:bob@client.biloxi.example.com>
Authorization: Digest username="bob", realm="atlanta.example.com",
 nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="",
 uri="sips:ss2.biloxi.example.com",
 response="dfe56131d1958046689d83306477ecc"
Content-Length: 0

"""
)

REG_F4 = wire(
    """SIP/2.0 200 OK
Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashd92
 ;received=192.0.2.201
From: Bob <sips:bob@biloxi.example.com>;tag=ja743ks76zlflH
To: Bob <sips:bob@biloxi.example.com>;tag=37GkEhwl6
Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
CSeq: 2 REGISTER
Contact: <sips:bob@client.biloxi.example.com>;expires=3600
Content-Length: 0

"""
)


def test_rfc3665_register_request() -> None:
    msg = parse_request(REG_F1)
    assert msg.method == "REGISTER"
    assert msg.uri == "sips:ss2.biloxi.example.com"
    assert msg.request_uri.scheme == "sips"
    assert msg.cseq == (1, "REGISTER")
    assert msg.call_id == "1j9FpLxk3uxtm8tn@biloxi.example.com"
    assert msg.from_.display == "Bob"
    assert msg.from_.tag == "a73kszlfl"
    assert msg.to.tag is None
    assert msg.to.uri.aor == "sips:bob@biloxi.example.com"
    assert msg.top_via.transport == "TLS"
    assert msg.top_via.sent_by == ("client.biloxi.example.com", 5061)
    assert msg.top_via.branch == "z9hG4bKnashds7"
    assert msg.headers.get("Max-Forwards") == "70"
    assert msg.body == b""
    assert msg.content_length == 0
    msg.validate()
    assert msg.to_bytes() == REG_F1


def test_rfc3665_401_challenge_is_unfolded_and_not_split() -> None:
    msg = parse_response(REG_F2)
    assert msg.status == 401
    assert msg.reason == "Unauthorized"
    via = msg.top_via
    assert via.received == "192.0.2.201"
    assert via.branch == "z9hG4bKnashds7"
    challenge = msg.headers.get_all("WWW-Authenticate")
    assert challenge == [
        'Digest realm="atlanta.example.com", qop="auth", '
        'nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", stale=FALSE, algorithm=MD5'
    ]
    msg.validate()
    # Serialised form is unfolded and stable.
    out = msg.to_bytes()
    assert b"\r\n " not in out
    assert reparse(out) == out


def test_rfc3665_register_with_credentials_and_200() -> None:
    f3 = parse_request(REG_F3)
    assert f3.cseq == (2, "REGISTER")
    auth = f3.headers.get("authorization")
    assert auth is not None and auth.startswith('Digest username="bob"')
    assert auth.endswith('response="dfe56131d1958046689d83306477ecc"')
    assert len(f3.headers.get_all("Authorization")) == 1
    f4 = parse_response(REG_F4)
    contact = NameAddr.parse(f4.headers.get_all("Contact")[0])
    assert contact.params == {"expires": "3600"}
    assert f4.to.tag == "37GkEhwl6"


# RFC 3665 §3.2 "Session Establishment Through Two Proxies" (Alice calls Bob).

SDP_ALICE = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.101\r\n"
    b"t=0 0\r\n"
    b"m=audio 49172 RTP/AVP 0\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
)

INV_F1 = wire(
    """INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>
Content-Type: application/sdp
Content-Length: CLEN

""",
    SDP_ALICE,
)

INV_F7 = wire(
    """INVITE sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP ss2.biloxi.example.com:5060;branch=z9hG4bK721e4.1
Via: SIP/2.0/TCP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1
 ;received=192.0.2.111
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
 ;received=192.0.2.101
Max-Forwards: 68
Record-Route: <sip:ss2.biloxi.example.com;lr>,
 <sip:ss1.atlanta.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>
Content-Type: application/sdp
Content-Length: CLEN

""",
    SDP_ALICE,
)

ACK_F13 = wire(
    """ACK sip:bob@client.biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b76
Max-Forwards: 70
Route: <sip:ss1.atlanta.example.com;lr>,
 <sip:ss2.biloxi.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 ACK
Content-Length: 0

"""
)


def test_rfc3665_invite_with_sdp() -> None:
    msg = parse_request(INV_F1)
    assert msg.body == SDP_ALICE
    assert msg.content_length == len(SDP_ALICE)
    assert msg.headers.get("Content-Type") == "application/sdp"
    contact = NameAddr.parse(msg.headers.get_all("Contact")[0])
    assert contact.uri.params == {"transport": "tcp"}
    assert msg.to_bytes() == INV_F1


def test_rfc3665_proxied_invite_vias_and_record_route() -> None:
    msg = parse_request(INV_F7)
    vias = msg.vias
    assert [v.host for v in vias] == [
        "ss2.biloxi.example.com",
        "ss1.atlanta.example.com",
        "client.atlanta.example.com",
    ]
    assert vias[1].received == "192.0.2.111"
    assert msg.headers.get_all("Record-Route") == [
        "<sip:ss2.biloxi.example.com;lr>",
        "<sip:ss1.atlanta.example.com;lr>",
    ]
    msg.validate()


def test_rfc3665_180_built_by_uas_carries_record_route_and_tag() -> None:
    invite = parse_request(INV_F7)
    ringing = make_response(invite, 180, to_tag="314159")
    assert ringing.reason == "Ringing"
    assert ringing.to.tag == "314159"
    assert ringing.headers.get_all("Record-Route") == invite.headers.get_all("Record-Route")
    assert [v.branch for v in ringing.vias] == [v.branch for v in invite.vias]
    again = parse_response(ringing.to_bytes())
    assert again.status == 180
    assert again.cseq == (1, "INVITE")


def test_rfc3665_ack_with_route_set() -> None:
    msg = parse_request(ACK_F13)
    assert msg.cseq == (1, "ACK")
    assert msg.headers.pop_first("Route") == "<sip:ss1.atlanta.example.com;lr>"
    assert msg.headers.get_all("Route") == ["<sip:ss2.biloxi.example.com;lr>"]
    assert msg.headers.pop_first("Route") == "<sip:ss2.biloxi.example.com;lr>"
    assert "Route" not in msg.headers
    assert msg.headers.pop_first("Route") is None


# ---------------------------------------------------------------------------------------------
# Parsing details.


def test_compact_forms_are_normalised() -> None:
    data = wire(
        """OPTIONS sip:carol@chicago.example.com SIP/2.0
v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877
f: <sip:alice@atlanta.example.com>;tag=1928301774
t: <sip:carol@chicago.example.com>
i: a84b4c76e66710
CSeq: 63104 OPTIONS
m: <sip:alice@pc33.atlanta.example.com>
k: path, outbound
s: lunch
o: reg
u: presence
r: <sip:x@example.com>
x: 1800;refresher=uas
b: <sip:y@example.com>
l: 0

"""
    )
    msg = parse_request(data)
    names = [name for name, _ in msg.headers.items()]
    assert names == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Supported",
        "Subject",
        "Event",
        "Allow-Events",
        "Refer-To",
        "Session-Expires",
        "Referred-By",
        "Content-Length",
    ]
    assert msg.call_id == "a84b4c76e66710"
    assert msg.headers.get("i") == "a84b4c76e66710"  # compact name works for lookups too
    assert msg.headers.get_all("Supported") == ["path", "outbound"]
    out = msg.to_bytes()
    assert out.startswith(b"OPTIONS sip:carol@chicago.example.com SIP/2.0\r\nVia: SIP/2.0/UDP")
    assert b"\r\nContent-Length: 0\r\n\r\n" in out


def test_header_names_are_case_insensitive_and_canonicalised() -> None:
    data = wire(
        """MESSAGE sip:bob@example.com SIP/2.0
VIA: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
call-id: abc
cseq: 1 MESSAGE
FROM: <sip:a@example.com>;tag=1
to: <sip:bob@example.com>
p-asserted-identity: <sip:a@example.com>, <tel:+15551234>
www-authenticate: Digest realm="x"
security-client: ipsec-3gpp;alg=hmac-sha-1-96, ipsec-3gpp;alg=hmac-md5-96
x-Custom-Thing: 1
content-length: 0

"""
    )
    msg = parse_request(data)
    assert [n for n, _ in msg.headers.items()] == [
        "Via",
        "Call-ID",
        "CSeq",
        "From",
        "To",
        "P-Asserted-Identity",
        "WWW-Authenticate",
        "Security-Client",
        "x-Custom-Thing",
        "Content-Length",
    ]
    assert msg.headers.get("X-CUSTOM-THING") == "1"
    assert msg.headers.get_all("P-Asserted-Identity") == ["<sip:a@example.com>", "<tel:+15551234>"]
    assert msg.headers.get_all("security-client") == [
        "ipsec-3gpp;alg=hmac-sha-1-96",
        "ipsec-3gpp;alg=hmac-md5-96",
    ]


def test_response_parsing_and_reason_phrase() -> None:
    data = wire(
        """SIP/2.0 486 Busy Here Right Now
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>;tag=2
Call-ID: abc
CSeq: 5 INVITE
Content-Length: 0

"""
    )
    msg = parse_response(data)
    assert (msg.status, msg.reason) == (486, "Busy Here Right Now")
    assert msg.cseq == (5, "INVITE")
    assert msg.to_bytes() == data


def test_datagram_body_longer_than_content_length_is_truncated() -> None:
    data = wire(
        """MESSAGE sip:b@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>
Call-ID: abc
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: 5

""",
        b"hello, and some trailing octets",
    )
    assert parse_message(data).body == b"hello"


def test_datagram_without_content_length_takes_rest_of_datagram() -> None:
    data = wire(
        """MESSAGE sip:b@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>
Call-ID: abc
CSeq: 1 MESSAGE
Content-Type: text/plain

""",
        b"hi there",
    )
    msg = parse_message(data)
    assert msg.body == b"hi there"
    assert msg.to_bytes().endswith(b"Content-Length: 8\r\n\r\nhi there")


def test_leading_crlf_and_bare_lf_line_ends_are_tolerated() -> None:
    data = (
        b"\r\n\r\nOPTIONS sip:b@example.com SIP/2.0\n"
        b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n"
        b"From: <sip:a@example.com>;tag=1\n"
        b"To: <sip:b@example.com>\n"
        b"Call-ID: abc\n"
        b"CSeq: 1 OPTIONS\n"
        b"Content-Length: 0\n\n"
    )
    msg = parse_request(data)
    assert msg.method == "OPTIONS"
    assert msg.to_bytes().count(b"\r\n") == 8


def test_missing_max_forwards_is_accepted() -> None:
    data = wire(
        """OPTIONS sip:b@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>
Call-ID: abc
CSeq: 1 OPTIONS

"""
    )
    msg = parse_request(data)
    assert "Max-Forwards" not in msg.headers


def test_oversize_datagram_is_413() -> None:
    data = wire(
        """MESSAGE sip:b@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>
Call-ID: abc
CSeq: 1 MESSAGE
Content-Type: text/plain

""",
        b"x" * MAX_MESSAGE_SIZE,
    )
    with pytest.raises(SipParseError) as err:
        parse_message(data)
    assert err.value.status == 413


# ---------------------------------------------------------------------------------------------
# Serialisation.


def test_to_bytes_recomputes_content_length_in_place() -> None:
    msg = parse_request(INV_F1)
    msg.body = b"v=0\r\n"
    out = msg.to_bytes()
    assert b"Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n" in out
    assert out.count(b"Content-Length") == 1


def test_built_request_serialises_with_content_length_last() -> None:
    headers = Headers(
        [
            ("Via", f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:alice@example.com>;tag={new_tag()}"),
            ("To", "<sip:bob@example.com>"),
            ("Call-ID", new_call_id("192.0.2.1")),
            ("CSeq", "1 MESSAGE"),
            ("Content-Type", "text/plain"),
        ]
    )
    req = SipRequest("MESSAGE", "sip:bob@example.com", headers, b"hello")
    out = req.to_bytes()
    assert out.startswith(b"MESSAGE sip:bob@example.com SIP/2.0\r\n")
    assert out.endswith(b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
    again = parse_request(out)
    assert again.body == b"hello"
    assert again.headers.items() == [*req.headers.items(), ("Content-Length", "5")]


def test_response_defaults() -> None:
    assert SipResponse(200).reason == "OK"
    assert SipResponse(404).reason == "Not Found"
    assert SipResponse(499).reason == "Request Failure"
    assert SipResponse(200, "Fine").reason == "Fine"
    assert SipResponse(100).to_bytes() == b"SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n"
    assert REASON_PHRASES[416] == "Unsupported URI Scheme"
    with pytest.raises(ValueError):
        SipResponse(700)


def test_ids() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100
    assert all(b.startswith("z9hG4bK") and len(b) > 7 for b in branches)
    assert len({new_tag() for _ in range(100)}) == 100
    call_id = new_call_id("[2001:db8::1]")
    assert call_id.endswith("@[2001:db8::1]")
    assert " " not in call_id


# ---------------------------------------------------------------------------------------------
# Headers API.


def test_headers_multidict_operations() -> None:
    h = Headers()
    h.add("Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>")
    h.add("route", "<sip:p3.example.com;lr>")
    h.add("Via", "SIP/2.0/UDP b.example.com;branch=z9hG4bK2")
    h.add("v", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1", first=True)
    assert h.items() == [
        ("Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"),
        ("Route", "<sip:p3.example.com;lr>"),
        ("Via", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1"),
        ("Via", "SIP/2.0/UDP b.example.com;branch=z9hG4bK2"),
    ]
    assert h.get("ROUTE") == "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"
    assert h.get_all("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
        "<sip:p3.example.com;lr>",
    ]
    assert "route" in h and "Contact" not in h and 42 not in h
    assert len(h) == 4

    copy = h.copy()
    assert h.pop_first("Route") == "<sip:p1.example.com;lr>"
    assert h.get("Route") == "<sip:p2.example.com;lr>"
    assert copy.get_all("Route")[0] == "<sip:p1.example.com;lr>"  # copy is independent

    h.set("Route", "<sip:only.example.com;lr>")
    assert h.get_all("Route") == ["<sip:only.example.com;lr>"]
    assert h.items()[0] == ("Route", "<sip:only.example.com;lr>")  # kept at first position
    h.set("Expires", "60")
    assert h.items()[-1] == ("Expires", "60")
    h.remove("VIA")
    assert "Via" not in h
    assert h.pop_first("Expires") == "60"
    assert h.get("Expires") is None
    assert h.get_all("Expires") == []


def test_headers_add_first_without_existing_goes_to_top() -> None:
    h = Headers([("From", "<sip:a@example.com>")])
    h.add("Via", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1", first=True)
    assert h.items()[0][0] == "Via"


def test_get_all_splits_only_list_headers() -> None:
    h = Headers(
        [
            ("Contact", '"Smith, John" <sip:j@example.com;a=b,c>;q=0.5, <sip:k@example.com>'),
            ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
            ("Authorization", 'Digest username="a", realm="b"'),
            ("Proxy-Authenticate", 'Digest realm="b", nonce="c"'),
            ("Allow", "INVITE, ACK,CANCEL , BYE"),
            ("Require", "sec-agree"),
            ("Subject", "hello, world"),
        ]
    )
    assert h.get_all("Contact") == [
        '"Smith, John" <sip:j@example.com;a=b,c>;q=0.5',
        "<sip:k@example.com>",
    ]
    assert h.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert h.get_all("Authorization") == ['Digest username="a", realm="b"']
    assert h.get_all("Proxy-Authenticate") == ['Digest realm="b", nonce="c"']
    assert h.get_all("Allow") == ["INVITE", "ACK", "CANCEL", "BYE"]
    assert h.get_all("Require") == ["sec-agree"]
    assert h.get_all("Subject") == ["hello, world"]


def test_headers_refuse_injection() -> None:
    h = Headers()
    with pytest.raises(ValueError):
        h.add("Subject", "x\r\nVia: evil")
    with pytest.raises(ValueError):
        h.add("Bad Name", "x")
    with pytest.raises(ValueError):
        h.set("Sub:ject", "x")


# ---------------------------------------------------------------------------------------------
# make_response (RFC 3261 §8.2.6).


def test_make_response_copies_the_right_headers() -> None:
    invite = parse_request(INV_F7)
    invite.headers.add("Timestamp", "54")
    trying = make_response(invite, 100)
    assert [n for n, _ in trying.headers.items()] == [
        "Via",
        "Via",
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Timestamp",
    ]
    assert trying.to.tag is None
    assert trying.to_bytes().startswith(b"SIP/2.0 100 Trying\r\n")

    busy = make_response(invite, 486, to_tag="abc")
    assert "Record-Route" not in busy.headers
    assert "Timestamp" not in busy.headers
    assert busy.to.tag == "abc"
    assert busy.headers.get_all("Via") == invite.headers.get_all("Via")

    ok = make_response(
        invite,
        200,
        to_tag="abc",
        headers=Headers(
            [
                ("Contact", "<sip:bob@client.biloxi.example.com>"),
                ("Content-Type", "application/sdp"),
            ]
        ),
        body=b"v=0\r\n",
    )
    assert ok.headers.get_all("Record-Route") == invite.headers.get_all("Record-Route")
    assert ok.headers.items()[-2] == ("Contact", "<sip:bob@client.biloxi.example.com>")
    assert ok.body == b"v=0\r\n"
    assert parse_response(ok.to_bytes()).content_length == 5


def test_make_response_keeps_an_existing_to_tag() -> None:
    bye = wire(
        """BYE sip:alice@client.atlanta.example.com SIP/2.0
Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
From: Bob <sip:bob@biloxi.example.com>;tag=8321234356
To: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 BYE
Content-Length: 0

"""
    )
    resp = make_response(parse_request(bye), 200, to_tag="other")
    assert resp.to.tag == "9fxced76sl"
    assert resp.reason == "OK"


def test_make_response_to_register_has_no_record_route() -> None:
    req = parse_request(REG_F1)
    req.headers.add("Record-Route", "<sip:p.example.com;lr>")
    assert "Record-Route" not in make_response(req, 200, to_tag="x").headers

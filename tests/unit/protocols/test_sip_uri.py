"""SIP structured values: SipUri (RFC 3261 §19.1, RFC 3966, RFC 5118), NameAddr, Via, params."""

from __future__ import annotations

import pytest

from network_functions.protocols.sip import NameAddr, SipParseError, SipUri, Via, parse_params

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------------------------
# SipUri


@pytest.mark.parametrize(
    ("text", "scheme", "user", "password", "host", "port", "params", "headers"),
    [
        ("sip:alice@atlanta.com", "sip", "alice", None, "atlanta.com", None, {}, {}),
        (
            "sip:alice:secretword@atlanta.com;transport=tcp",
            "sip",
            "alice",
            "secretword",
            "atlanta.com",
            None,
            {"transport": "tcp"},
            {},
        ),
        (
            "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sips",
            "alice",
            None,
            "atlanta.com",
            None,
            {},
            {"subject": "project%20x", "priority": "urgent"},
        ),
        (
            "sip:+1-212-555-1212:1234@gateway.com;user=phone",
            "sip",
            "+1-212-555-1212",
            "1234",
            "gateway.com",
            None,
            {"user": "phone"},
            {},
        ),
        ("sips:1212@gateway.com", "sips", "1212", None, "gateway.com", None, {}, {}),
        ("sip:alice@192.0.2.4", "sip", "alice", None, "192.0.2.4", None, {}, {}),
        (
            "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
            "sip",
            None,
            None,
            "atlanta.com",
            None,
            {"method": "REGISTER"},
            {"to": "alice%40atlanta.com"},
        ),
        (
            "sip:alice;day=tuesday@atlanta.com",
            "sip",
            "alice;day=tuesday",
            None,
            "atlanta.com",
            None,
            {},
            {},
        ),
        (
            "sip:p1.example.com:5070;lr;Maddr=192.0.2.1",
            "sip",
            None,
            None,
            "p1.example.com",
            5070,
            {"lr": None, "maddr": "192.0.2.1"},
            {},
        ),
        ("SIP:Bob@Example.COM", "sip", "Bob", None, "Example.COM", None, {}, {}),
        ("sip:[2001:db8::10]", "sip", None, None, "[2001:db8::10]", None, {}, {}),
        ("sip:[2001:db8::10]:5070", "sip", None, None, "[2001:db8::10]", 5070, {}, {}),
        (
            "sip:user@[::ffff:192.0.2.10]:5060",
            "sip",
            "user",
            None,
            "[::ffff:192.0.2.10]",
            5060,
            {},
            {},
        ),
        ("sip:[2001:db8::10:5070]", "sip", None, None, "[2001:db8::10:5070]", None, {}, {}),
    ],
)
def test_sip_uri_parse(
    text: str,
    scheme: str,
    user: str | None,
    password: str | None,
    host: str,
    port: int | None,
    params: dict[str, str | None],
    headers: dict[str, str],
) -> None:
    uri = SipUri.parse(text)
    assert uri == SipUri(scheme, user, password, host, port, params, headers)
    assert SipUri.parse(str(uri)) == uri


def test_sip_uri_str_round_trip_exact() -> None:
    for text in (
        "sip:alice@atlanta.com",
        "sips:alice:pw@atlanta.com:5061;transport=tls;lr?subject=x&h=",
        "sip:[2001:db8::1]:5060;transport=udp",
        "tel:+1-201-555-0123",
        "tel:7042;phone-context=example.com",
    ):
        assert str(SipUri.parse(text)) == text


def test_aor() -> None:
    assert SipUri.parse("sip:Alice:pw@Atlanta.COM:5060;transport=tcp?x=y").aor == (
        "sip:Alice@atlanta.com"
    )
    assert SipUri.parse("sips:bob@biloxi.example.com").aor == "sips:bob@biloxi.example.com"
    assert SipUri.parse("sip:example.com:5060").aor == "sip:example.com"
    assert SipUri.parse("tel:+1-201-555-0123;ext=1").aor == "tel:+1-201-555-0123"


def test_tel_uri() -> None:
    uri = SipUri.parse("tel:+1-201-555-0123")
    assert (uri.scheme, uri.user, uri.host, uri.port) == ("tel", "+1-201-555-0123", "", None)
    local = SipUri.parse("tel:7042;phone-context=example.com")
    assert local.user == "7042"
    assert local.params == {"phone-context": "example.com"}
    hexy = SipUri.parse("tel:*21#;phone-context=+1234")
    assert hexy.user == "*21#"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("http://www.example.com", 416),
        ("mailto:alice@example.com", 416),
        ("nobodyknowsthisscheme:totallyopaquecontent", 416),
        ("soap.beep://192.0.2.103:3002", 416),
        ("urn:service:sos", 416),
        ("<sip:alice@example.com>", 400),
        ("sip alice@example.com", 400),
        ("alice@example.com", 400),
        ("", 400),
        ("sip:", 400),
        ("sip:@example.com", 400),
        ("sip:alice@", 400),
        ("sip:alice@exa mple.com", 400),
        ("sip:alice@example.com:99999", 400),
        ("sip:alice@example.com:5x", 400),
        ("sip:alice@example.com:", 400),
        ("sip:alice@-example.com", 400),
        ("sip:alice@example..com", 400),
        ("sip:2001:db8::10", 400),
        ("sip:[2001:db8::10", 400),
        ("sip:[2001:db8:::10]", 400),
        ("sip:[2001:db8::10]x", 400),
        ("sip:alice@example.com;", 400),
        ("sip:alice@example.com;a b", 400),
        ("sip:alice@example.com?noequals", 400),
        ("sip:al ice@example.com", 400),
        ("sip:alice@example.com;lr=", 400),
        ("tel:+", 400),
        ("tel:12 34", 400),
        ("tel:1234", 400),  # local number without phone-context (RFC 3966 §5.1.5)
        ("tel:+1234?x=y", 400),
        ("1tel:+1234", 400),
    ],
)
def test_sip_uri_errors(text: str, status: int) -> None:
    with pytest.raises(SipParseError) as err:
        SipUri.parse(text)
    assert err.value.status == status
    assert err.value.reason


# ---------------------------------------------------------------------------------------------
# NameAddr (RFC 3261 §20.10)


def test_name_addr_forms() -> None:
    a = NameAddr.parse('"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s')
    assert a.display == "A. G. Bell"
    assert a.uri.aor == "sip:agb@bell-telephone.com"
    assert a.tag == "a48s"
    assert str(a) == '"A. G. Bell" <sip:agb@bell-telephone.com>;tag=a48s'

    b = NameAddr.parse("sip:+12125551212@server.phone2net.com;tag=887s")
    assert b.display is None
    assert b.uri.params == {}  # bare addr-spec: params belong to the header (§20.10)
    assert b.params == {"tag": "887s"}
    assert str(b) == "<sip:+12125551212@server.phone2net.com>;tag=887s"

    c = NameAddr.parse("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8")
    assert c.display == "Anonymous"
    assert str(c) == '"Anonymous" <sip:c8oqz84zk7z@privacy.org>;tag=hyh8'

    d = NameAddr.parse("<sip:alice@atlanta.com;transport=tcp>;expires=60;q=0.5")
    assert d.uri.params == {"transport": "tcp"}
    assert d.params == {"expires": "60", "q": "0.5"}

    e = NameAddr.parse("Mr  Watson <sip:watson@worcester.bell-telephone.com>")
    assert e.display == "Mr Watson"

    f = NameAddr.parse("<sip:a@example.com>;tag")
    assert f.params == {"tag": None}


def test_name_addr_quoted_display_escapes() -> None:
    na = NameAddr.parse('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8')
    assert na.display == 'J Rosenberg \\"'
    assert NameAddr.parse(str(na)) == na
    empty = NameAddr.parse('"" <sip:x@example.com>')
    assert empty.display == ""
    assert str(empty) == '"" <sip:x@example.com>'
    brackets = NameAddr.parse('"a <b>, c" <sip:x@example.com>')
    assert brackets.display == "a <b>, c"


def test_name_addr_tag_setter() -> None:
    na = NameAddr.parse("<sip:bob@biloxi.example.com>")
    assert na.tag is None
    na.tag = "1234"
    assert str(na) == "<sip:bob@biloxi.example.com>;tag=1234"
    na.tag = None
    assert str(na) == "<sip:bob@biloxi.example.com>"


def test_name_addr_with_contact_params() -> None:
    na = NameAddr.parse(
        '<sip:u@10.0.0.1:5060>;expires=600;+sip.instance="<urn:gsma:imei:35-1;x>";'
        "+g.3gpp.smsip;reg-id=1"
    )
    assert na.params == {
        "expires": "600",
        "+sip.instance": '"<urn:gsma:imei:35-1;x>"',
        "+g.3gpp.smsip": None,
        "reg-id": "1",
    }
    assert NameAddr.parse(str(na)) == na


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ('"Mr. J. User <sip:j.user@example.com>', 400),  # unterminated quote
        ("Bell, Alexander <sip:a.g.bell@example.com>;tag=43", 400),  # non-token display
        ("<sip:a@example.com", 400),
        ("< sip:t.watson@example.org >", 400),  # LWS inside <>
        ('"x" sip:a@example.com', 400),
        ("<sip:a@example.com> junk", 400),
        ("<sip:a@example.com>;;", 400),
        ("sip:user@example.com?Route=%3Csip:sip.example.com%3E", 400),
        ("<http://www.example.com>;tag=3234233", 416),
        ("isbn:2983792873", 416),
        ("*", 400),
        ("", 400),
    ],
)
def test_name_addr_errors(text: str, status: int) -> None:
    with pytest.raises(SipParseError) as err:
        NameAddr.parse(text)
    assert err.value.status == status


# ---------------------------------------------------------------------------------------------
# Via (RFC 3261 §20.42, RFC 3581, RFC 5118)


def test_via_parse_and_str() -> None:
    via = Via.parse("SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7")
    assert via == Via("UDP", "erlang.bell-telephone.com", 5060, {"branch": "z9hG4bK87asdks7"})
    assert str(via) == "SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7"
    assert via.branch == "z9hG4bK87asdks7"


def test_via_weird_but_valid_spacing() -> None:
    via = Via.parse("SIP  /   2.0  / tcp     spindle.example.com   :  5070 ;  branch  =  z9hG4bK9")
    assert via.transport == "TCP"
    assert via.sent_by == ("spindle.example.com", 5070)
    assert via.branch == "z9hG4bK9"
    assert str(via) == "SIP/2.0/TCP spindle.example.com:5070;branch=z9hG4bK9"


def test_via_ipv6_and_received() -> None:
    via = Via.parse(
        "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;received=[2001:db8::9:255]"
    )
    assert via.host == "[2001:db8::9:1]"
    assert via.port == 6050
    assert via.received == "[2001:db8::9:255]"
    plain = Via.parse("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKx")
    assert plain.port is None
    assert plain.received == "2001:db8::9:255"


def test_via_unknown_transports_and_params() -> None:
    for transport in ("UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "UNKNOWN"):
        assert Via.parse(f"SIP/2.0/{transport} a.example.com").transport == transport
    via = Via.parse("SIP/2.0/UDP a.example.com;ttl=1;maddr=239.255.255.1;x-flag")
    assert via.params == {"ttl": "1", "maddr": "239.255.255.1", "x-flag": None}


def test_via_received_and_rport_helpers() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport")
    assert via.wants_rport and via.rport is None
    via.stamp_received("198.51.100.7", 40123)
    assert via.params == {"branch": "z9hG4bK1", "rport": "40123", "received": "198.51.100.7"}
    assert via.response_address() == ("198.51.100.7", 40123)

    same = Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1")
    same.stamp_received("10.0.0.1", 5060)
    assert same.received is None  # §18.2.1: only when the source differs
    assert same.response_address() == ("10.0.0.1", 5060)

    nat = Via.parse("SIP/2.0/UDP pc.example.com;branch=z9hG4bK1")
    nat.stamp_received("192.0.2.4", 5060)
    assert nat.received == "192.0.2.4"
    assert nat.response_address() == ("192.0.2.4", 5060)

    v6 = Via.parse("SIP/2.0/TLS [2001:db8::1];branch=z9hG4bK1")
    v6.stamp_received("2001:db8::2", 5061)
    assert v6.received == "[2001:db8::2]"
    assert v6.response_address() == ("[2001:db8::2]", 5061)

    maddr = Via.parse("SIP/2.0/UDP a.example.com:5070;maddr=239.1.1.1;received=192.0.2.1")
    assert maddr.response_address() == ("239.1.1.1", 5070)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0 UDP host",
        "SIP/3.0/UDP host",
        "HTTP/2.0/UDP host",
        "SIP/2.0/UDP host:port",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP [2001:db8::1",
        "SIP/2.0/UDP [2001:db8::1]x",
        "SIP/2.0/UDP 192.0.2.15;;",
        "SIP/2.0/UDP host;branch=a b",
        'SIP/2.0/UDP host;branch="open',
        "SIP/2.0/UDPhost",
    ],
)
def test_via_errors(text: str) -> None:
    with pytest.raises(SipParseError):
        Via.parse(text)


# ---------------------------------------------------------------------------------------------
# parse_params


def test_parse_params() -> None:
    assert parse_params("") == {}
    assert parse_params(";lr") == {"lr": None}
    assert parse_params("tag=1;Q = 0.5 ; Expires=3600") == {
        "tag": "1",
        "q": "0.5",
        "expires": "3600",
    }
    assert parse_params(';a="x;y=\\"z\\"";b') == {"a": '"x;y=\\"z\\""', "b": None}
    assert parse_params(";received=[2001:db8::1]") == {"received": "[2001:db8::1]"}
    for bad in (";", "a=", "a==b", ";a;;b", 'a="x', "a b=c", "a=<x>"):
        with pytest.raises(SipParseError):
            parse_params(bad)

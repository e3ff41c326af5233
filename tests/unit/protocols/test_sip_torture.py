"""Torture tests in the spirit of RFC 4475 (and RFC 5118 for IPv6), written from the RFC's
descriptions of each case: valid-but-weird messages must parse, invalid ones must raise
SipParseError naming the problem, with the right status."""

from __future__ import annotations

import pytest

from network_functions.protocols.sip import (
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    make_response,
    parse_message,
    server_key,
)

pytestmark = pytest.mark.unit

COMMON = """Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bK43fd9
From: <sip:caller@example.net>;tag=134161461246
To: <sip:user@example.com>
Call-ID: torture.2be28fa@host1.example.com
"""


def wire(text: str, body: bytes = b"") -> bytes:
    text = text.replace("CLEN", str(len(body)))
    return text.replace("\n", "\r\n").encode() + body


def req(start: str, extra: str = "", cseq: str | None = None, body: bytes = b"") -> bytes:
    method = start.split(" ", 1)[0]
    cseq = cseq if cseq is not None else f"1 {method}"
    ctype = "Content-Type: text/plain\n" if body else ""
    return wire(
        f"{start}\n{COMMON}CSeq: {cseq}\nMax-Forwards: 70\n{ctype}{extra}Content-Length: CLEN\n\n",
        body,
    )


def parse_req(data: bytes) -> SipRequest:
    msg = parse_message(data)
    assert isinstance(msg, SipRequest)
    return msg


def assert_rejected(data: bytes, status: int, *words: str) -> SipParseError:
    with pytest.raises(SipParseError) as err:
        parse_message(data)
    assert err.value.status == status
    for word in words:
        assert word.lower() in err.value.reason.lower(), err.value.reason
    return err.value


# ---------------------------------------------------------------------------------------------
# RFC 4475 §3.1.1 valid messages.

SDP = (
    b"v=0\r\no=x 1 1 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)

# §3.1.1.1 "A Short Tortuous INVITE": odd case in names, LWS before colons, folded values,
# leading zeros, compact forms, empty Subject, unknown headers with odd values, several
# Vias on one folded line, name-addr with escaped quotes in display names.
TORTUOUS = wire(
    """INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : CLEN
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

""",
    SDP,
)


def test_short_tortuous_invite() -> None:
    msg = parse_req(TORTUOUS)
    assert msg.method == "INVITE"
    assert msg.request_uri.params == {"unknownparam": None}
    assert msg.cseq == (9, "INVITE")
    assert msg.headers.get("Max-Forwards") == "0068"
    to = msg.to
    assert to.uri.aor == "sip:vivekg@chair-dnrc.example.com"
    assert to.tag == "1918181833n"
    frm = msg.from_
    assert frm.display == 'J Rosenberg \\"'
    assert frm.tag == "98asjd8"
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get_all("UnknownHeaderWithUnusualValue") == [";;,,;;,;"]
    vias = msg.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    contact = NameAddr.parse(msg.headers.get_all("Contact")[0])
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    route = NameAddr.parse(msg.headers.get_all("Route")[0])
    assert route.uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    assert msg.body == SDP
    msg.validate()
    # The 3261 fallback key still works for the legacy branch of the top Via.
    assert server_key(msg)[0].startswith("rfc2543|")
    # Serialisation normalises and is stable.
    out = msg.to_bytes()
    again = parse_req(out)
    assert again.to_bytes() == out
    assert again.vias == vias


# §3.1.1.2 "Wide Range of Valid Characters": every token character in the method, the
# user/password character sets in the Request-URI, odd Call-ID words, UTF-8 values.
WIDE_METHOD = "!interesting-Method0123456789_*+`.%indeed'~"
WIDE_URI = (
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    ":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"
)
WIDE_TO = (
    'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" '
    "<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>"
)
WIDE_FROM = (
    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;"
    "fromParam''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439\";"
    "tag=_token~1'+`*%!-."
)
WIDE = wire(
    f"""{WIDE_METHOD} {WIDE_URI} SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
{WIDE_TO}
{WIDE_FROM}
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/"][?}}{{
CSeq: 139122385 {WIDE_METHOD}
Max-Forwards: 255
extensionHeader-!.%*+_`'~: \ufeff\u5927\u505c\u96fb
Content-Length: 0

"""
)


def test_wide_range_of_valid_characters() -> None:
    msg = parse_req(WIDE)
    assert msg.method == WIDE_METHOD
    uri = msg.request_uri
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert msg.cseq == (139122385, WIDE_METHOD)
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    frm = msg.from_
    assert frm.display == "token1~` token2'+_ token3*%!.-"
    assert frm.tag == "_token~1'+`*%!-."
    assert msg.headers.get("extensionheader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"
    assert msg.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert parse_message(msg.to_bytes()).to_bytes() == msg.to_bytes()


def test_valid_percent_escapes() -> None:
    # §3.1.1.3: escaped characters in Request-URI user part, To/From and Contact params.
    data = req(
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
        "Contact: <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n",
    )
    msg = parse_req(data)
    assert msg.request_uri.user == "sips%3Auser%40example.com"
    assert msg.request_uri.host == "example.net"
    contact = NameAddr.parse(msg.headers.get_all("Contact")[0])
    assert contact.uri.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}
    # §3.1.1.4: an escaped NUL in a URI is just data.
    escnull = parse_req(req("OPTIONS sip:null-%00-null@example.com SIP/2.0"))
    assert escnull.request_uri.user == "null-%00-null"


def test_percent_that_is_not_an_escape() -> None:
    # §3.1.1.5: "%" is a token character: a method and display names may contain it.
    data = wire(
        """RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

"""
    )
    msg = parse_req(data)
    assert msg.method == "RE%47IST%45R"
    assert msg.to.display == "%Z%45"
    assert len(msg.headers.get_all("Contact")) == 2  # "C%6Fntact" is another header
    assert msg.headers.get("c%6fntact") == "<sip:alias2@host2.example.com>"


def test_no_lws_between_display_name_and_laquot() -> None:
    # §3.1.1.6
    data = wire(
        """OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

"""
    )
    msg = parse_req(data)
    assert msg.from_.display == "caller"
    assert msg.from_.tag == "323"
    assert msg.to.uri.user == "user"


def test_long_values() -> None:
    # §3.1.1.7: very long tags, display names, many Vias, long unknown header.
    long_tag = "12" * 300
    long_to = (
        f'To: "I have a user name of {"extreme" * 60} proportion" <sip:user@example.com:6000;'
        f"unknownparam1=verylonguserparamvalue{'x' * 200};unknownparam2=a>"
    )
    long_unknown = (
        f"Unknown-{'LongLong' * 40}-Name: unknown-{'long' * 200}-value; "
        f"unknown-{'long' * 40}-parameter-name = unknown-{'long' * 40}-parameter-value"
    )
    vias = "".join(
        f"Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i}x{'a' * 40}\n" for i in range(40)
    )
    data = wire(
        f"""INVITE sip:user@example.com SIP/2.0
{long_to}
From: sip:caller@example.net;tag={long_tag}
Call-ID: longreq.one{"really" * 80}longcallid
CSeq: 3882340 INVITE
{long_unknown}
{vias}Max-Forwards: 70
Content-Length: 0

"""
    )
    msg = parse_req(data)
    assert len(msg.vias) == 40
    assert msg.from_.tag == long_tag
    assert msg.to.uri.port == 6000
    assert parse_message(msg.to_bytes()).to_bytes() == msg.to_bytes()


def test_extra_trailing_octets_in_datagram() -> None:
    # §3.1.1.8: a REGISTER with Content-Length: 0 followed by a whole INVITE in one
    # datagram: the INVITE is ignored.
    register = req("REGISTER sip:example.com SIP/2.0")
    invite = req("INVITE sip:joe@example.com SIP/2.0")
    msg = parse_req(register + invite)
    assert msg.method == "REGISTER"
    assert msg.body == b""


def test_semicolon_in_uri_user_part() -> None:
    # §3.1.1.9
    msg = parse_req(req("OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0"))
    assert msg.request_uri.user == "user;par=u%40example.net"
    assert msg.request_uri.host == "example.com"
    assert msg.request_uri.params == {}


def test_varied_and_unknown_transports() -> None:
    # §3.1.1.10
    vias = (
        "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\n"
        "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\n"
        "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\n"
        "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\n"
        "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\n"
    )
    data = wire(
        f"""OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
{vias}l: 0

"""
    )
    msg = parse_req(data)
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_multipart_body_is_opaque() -> None:
    # §3.1.1.11
    body = (
        b"--boundary42\r\nContent-Type: application/sdp\r\n\r\n"
        b"v=0\r\n\r\n--boundary42\r\nContent-Type: image/gif\r\n\r\nGIF89a\x00\x01\xff\r\n"
        b"--boundary42--\r\n"
    )
    data = wire(
        f"""MESSAGE sip:kumiko@example.org SIP/2.0
{COMMON}CSeq: 1 MESSAGE
Max-Forwards: 70
Content-Type: multipart/mixed;boundary=boundary42
Content-Length: CLEN

""",
        body,
    )
    assert parse_message(data).body == body


def test_unusual_and_empty_reason_phrases() -> None:
    # §3.1.1.12 (UTF-8 reason phrase) and §3.1.1.13 (empty reason phrase).
    phrase = "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e"
    for line, reason in ((f"SIP/2.0 200 {phrase}", phrase), ("SIP/2.0 100 ", "")):
        data = wire(
            f"""{line}
{COMMON.replace("<sip:user@example.com>", "<sip:user@example.com>;tag=2")}CSeq: 35 INVITE
Content-Length: 0

"""
        )
        msg = parse_message(data)
        assert isinstance(msg, SipResponse)
        assert msg.reason == reason
        assert msg.to_bytes() == data


# ---------------------------------------------------------------------------------------------
# RFC 4475 §3.1.2 invalid messages.


def test_extraneous_header_field_separators() -> None:
    # §3.1.2.1: parsing succeeds (values are lazy) but the broken values are rejected.
    data = req(
        "INVITE sip:user@example.com SIP/2.0",
        'Contact: "Joe" <sip:joe@example.org>;;;;\n',
    ).replace(b"branch=z9hG4bK43fd9", b"branch=z9hG4bK43fd9;;,;,,")
    msg = parse_message(data)
    with pytest.raises(SipParseError, match="parameter"):
        msg.top_via  # noqa: B018
    with pytest.raises(SipParseError):
        msg.validate()
    with pytest.raises(SipParseError, match="parameter"):
        NameAddr.parse(msg.headers.get_all("Contact")[0])


def test_content_length_larger_than_message() -> None:
    # §3.1.2.2
    data = req("INVITE sip:user@example.com SIP/2.0", body=b"v=0\r\n").replace(
        b"Content-Length: 5", b"Content-Length: 9999"
    )
    assert_rejected(data, 400, "Content-Length 9999 exceeds body length 5")


def test_negative_content_length() -> None:
    # §3.1.2.3
    data = req("INVITE sip:user@example.com SIP/2.0", body=b"v=0\r\n").replace(
        b"Content-Length: 5", b"Content-Length: -999"
    )
    assert_rejected(data, 400, "Malformed Content-Length header")


def test_overlarge_scalar_fields_in_request() -> None:
    # §3.1.2.4
    assert_rejected(
        req("REGISTER sip:example.com SIP/2.0", cseq="36893488147419103232 REGISTER"),
        400,
        "Malformed CSeq header",
    )
    assert_rejected(
        req("REGISTER sip:example.com SIP/2.0", cseq="2147483648 REGISTER"),
        400,
        "CSeq",
        "range",
    )
    parse_message(req("REGISTER sip:example.com SIP/2.0", cseq="2147483647 REGISTER"))
    assert_rejected(
        req("REGISTER sip:example.com SIP/2.0").replace(b"Max-Forwards: 70", b"Max-Forwards: 300"),
        400,
        "Malformed Max-Forwards header",
    )


def test_overlarge_scalar_fields_in_response() -> None:
    # §3.1.2.5 / §3.1.2.19: a status code that does not fit, and an overlarge CSeq.
    data = wire(
        f"""SIP/2.0 503 Service Unavailable
{COMMON}CSeq: 36893488147419103232 INVITE
Retry-After: 18446744073709551616
Content-Length: 0

"""
    )
    assert_rejected(data, 400, "CSeq")
    big = data.replace(b"503 Service Unavailable", b"4294967301 better not break the receiver")
    assert_rejected(big, 400, "status code")


def test_unterminated_quoted_display_name() -> None:
    # §3.1.2.6
    data = req("INVITE sip:user@example.com SIP/2.0").replace(
        b"To: <sip:user@example.com>", b'To: "Mr. J. User <sip:j.user@example.com>'
    )
    msg = parse_message(data)
    with pytest.raises(SipParseError, match="Unterminated quoted string"):
        msg.to  # noqa: B018


@pytest.mark.parametrize(
    ("start", "status", "words"),
    [
        # §3.1.2.7 <> around the Request-URI
        ("INVITE <sip:user@example.com> SIP/2.0", 400, ("URI",)),
        # §3.1.2.8 LWS inside the Request-URI
        ("INVITE sip:user@example.com; lr SIP/2.0", 400, ("request line",)),
        # §3.1.2.9 several SP between Request-Line elements
        ("INVITE  sip:user@example.com  SIP/2.0", 400, ("request line",)),
        # §3.1.2.10 SP at the end of the Request-Line
        ("OPTIONS sip:user@example.com SIP/2.0  ", 400, ("request line",)),
        # §3.1.2.11 escaped headers in the Request-URI
        ("INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0", 400, ("headers",)),
        # §3.1.2.16 unknown protocol version
        ("OPTIONS sip:t.watson@example.org SIP/7.0", 505, ("version",)),
        # §3.3.2 / §3.3.3 unknown and atypical schemes
        ("OPTIONS nobodyknowsthisscheme:totallyopaquecontent SIP/2.0", 416, ("scheme",)),
        ("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", 416, ("scheme",)),
        # not a SIP version at all / bad method token
        ("OPTIONS sip:user@example.com HTTP/1.1", 400, ("version",)),
        ("OPT(IONS sip:user@example.com SIP/2.0", 400, ("method",)),
        # RFC 5118 §4.9: IPv6 address without brackets
        ("REGISTER sip:2001:db8::10 SIP/2.0", 400, ("port",)),
    ],
)
def test_bad_request_lines(start: str, status: int, words: tuple[str, ...]) -> None:
    assert_rejected(req(start), status, *words)


def test_invalid_time_zone_in_date_is_accepted() -> None:
    # §3.1.2.12: a bad Date is not the parser's business.
    msg = parse_message(
        req("INVITE sip:user@example.com SIP/2.0", "Date: Fri, 01 Jan 2010 16:00:00 EST\n")
    )
    assert msg.headers.get_all("Date") == ["Fri, 01 Jan 2010 16:00:00 EST"]


def test_name_addr_uri_with_headers_not_in_angle_brackets() -> None:
    # §3.1.2.13
    msg = parse_message(
        req(
            "REGISTER sip:example.com SIP/2.0",
            "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\n",
        )
    )
    with pytest.raises(SipParseError, match="enclosed"):
        msg.validate()


def test_spaces_within_addr_spec_and_non_token_display_name() -> None:
    # §3.1.2.14 and §3.1.2.15
    spaces = parse_message(
        req("OPTIONS sip:user@example.com SIP/2.0").replace(
            b"To: <sip:user@example.com>", b'To: "Watson, Thomas" < sip:t.watson@example.org >'
        )
    )
    with pytest.raises(SipParseError, match="URI"):
        spaces.to  # noqa: B018
    dn = parse_message(
        req("OPTIONS sip:user@example.com SIP/2.0").replace(
            b"From: <sip:caller@example.net>;tag=134161461246",
            b"From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
        )
    )
    with pytest.raises(SipParseError, match="display name"):
        dn.from_  # noqa: B018


def test_cseq_method_mismatch() -> None:
    # §3.1.2.17 and §3.1.2.18
    assert_rejected(
        req("OPTIONS sip:user@example.com SIP/2.0", cseq="8 INVITE"),
        400,
        "CSeq method does not match request method",
    )
    assert_rejected(
        req("NEWMETHOD sip:user@example.com SIP/2.0", cseq="8 INVITE"),
        400,
        "CSeq method does not match request method",
    )


# ---------------------------------------------------------------------------------------------
# RFC 4475 §3.2 / §3.3 / §3.4 transaction and application layer cases the parser meets.


def test_missing_transaction_identifier() -> None:
    # §3.2.1: branch is the bare magic cookie: fall back to RFC 2543 matching.
    msg = parse_req(
        req("OPTIONS sip:user@example.com SIP/2.0").replace(b"z9hG4bK43fd9", b"z9hG4bK")
    )
    key = server_key(msg)
    assert key[0].startswith("rfc2543|")
    assert key[1:] == ("host1.example.com", None, "OPTIONS")


def test_missing_required_headers() -> None:
    # §3.3.1
    data = wire(
        """INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Length: 0

"""
    )
    assert_rejected(data, 400, "Missing From, To, Call-ID headers")
    for header in ("Via", "From", "To", "Call-ID", "CSeq"):
        lines = [
            ln
            for ln in req("OPTIONS sip:user@example.com SIP/2.0").split(b"\r\n")
            if not ln.startswith(header.encode() + b":")
        ]
        assert_rejected(b"\r\n".join(lines), 400, f"Missing {header} header")


def test_unknown_schemes_in_header_fields() -> None:
    # §3.3.4: the message is fine; only reading those values as SIP URIs fails (416).
    data = req("OPTIONS sip:user@example.com SIP/2.0", "Contact: <name:John_Smith>\n").replace(
        b"To: <sip:user@example.com>", b"To: isbn:2983792873"
    )
    msg = parse_message(data)
    with pytest.raises(SipParseError) as err:
        msg.to  # noqa: B018
    assert err.value.status == 416
    with pytest.raises(SipParseError):
        msg.validate()


def test_require_and_proxy_require_lists() -> None:
    # §3.3.5
    msg = parse_message(
        req(
            "OPTIONS sip:user@example.com SIP/2.0",
            "Require: nothingSupportsThis, nothingSupportsThisEither\n"
            "Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\n",
        )
    )
    assert msg.headers.get_all("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert msg.headers.get_all("Proxy-Require") == [
        "noProxiesSupportThis",
        "norDoAnyProxiesSupportThis",
    ]


def test_unknown_authorization_scheme() -> None:
    # §3.3.7
    msg = parse_message(
        req(
            "REGISTER sip:example.com SIP/2.0",
            "Authorization: NoOneKnowsThisScheme opaque-data=here, more=stuff\n",
        )
    )
    assert msg.headers.get_all("Authorization") == [
        "NoOneKnowsThisScheme opaque-data=here, more=stuff"
    ]


@pytest.mark.parametrize("header", ["Call-ID", "To", "From", "CSeq", "Max-Forwards"])
def test_multiple_values_in_single_value_fields(header: str) -> None:
    # §3.3.8
    values = {
        "Call-ID": "other@example.com",
        "To": "<sip:other@example.com>",
        "From": "<sip:other@example.com>;tag=9",
        "CSeq": "2 REGISTER",
        "Max-Forwards": "70",
    }
    data = req("REGISTER sip:example.com SIP/2.0", f"{header}: {values[header]}\n")
    assert_rejected(data, 400, f"Multiple {header} headers")


def test_multiple_content_length_rejected() -> None:
    data = req("MESSAGE sip:user@example.com SIP/2.0", "l: 0\n")
    assert_rejected(data, 400, "Multiple Content-Length headers")


def test_zero_max_forwards_parses() -> None:
    # §3.3.11: the application answers 483; parsing is fine.
    msg = parse_message(
        req("OPTIONS sip:user@example.com SIP/2.0").replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
    )
    assert msg.headers.get("Max-Forwards") == "0"


def test_contact_header_parameter_versus_uri_parameter() -> None:
    # §3.3.12 / §3.3.13 / §3.3.14
    header_param = NameAddr.parse("sip:+19725552222@gw1.example.net;unknownparam")
    assert header_param.params == {"unknownparam": None}
    assert header_param.uri.params == {}
    uri_param = NameAddr.parse("<sip:+19725552222@gw1.example.net;unknownparam>")
    assert uri_param.params == {}
    assert uri_param.uri.params == {"unknownparam": None}
    escaped = NameAddr.parse("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")
    assert escaped.uri.headers == {"Route": "%3Csip:sip.example.com%3E"}


def test_rfc2543_style_invite() -> None:
    # §3.4.1: no branch cookie, no tags; parses, matches by the RFC 2543 rules.
    data = wire(
        """INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp
Content-Length: CLEN

""",
        SDP,
    )
    invite = parse_req(data)
    invite.validate()
    assert invite.top_via.branch is None
    assert invite.to.params == {"user": "phone"}  # bare addr-spec: header parameter
    resp = make_response(invite, 404, to_tag="x")
    ack = wire(
        f"""ACK sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
To: {resp.headers.get("To")}
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 ACK
Content-Length: 0

"""
    )
    assert server_key(parse_req(ack)) == server_key(invite)


# ---------------------------------------------------------------------------------------------
# Other malformed framing.


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 400, ("Empty",)),
        (b"\r\n\r\n", 400, ("Empty",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: x", 400, ("empty line",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\n bad\r\n\r\n", 400, ("continuation",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\nNoColon\r\n\r\n", 400, ("no colon",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\nBad Name: x\r\n\r\n", 400, ("header name",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\n: x\r\n\r\n", 400, ("header name",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\nA: \xff\r\n\r\n", 400, ("UTF-8",)),
        (b"OPTIONS sip:a@example.com SIP/2.0\r\nA: x\ry\r\n\r\n", 400, ("Bare CR",)),
        (b"SIP/2.0 20 OK\r\n\r\n", 400, ("status code",)),
        (b"SIP/2.0 099 Odd\r\n\r\n", 400, ("status code",)),
        (b"SIP/2.0 7000 Odd\r\n\r\n", 400, ("status code",)),
        (b"SIP/3.0 200 OK\r\n\r\n", 505, ("version",)),
        (b"SIP/2.x 200 OK\r\n\r\n", 400, ("version",)),
    ],
)
def test_malformed_framing(data: bytes, status: int, words: tuple[str, ...]) -> None:
    assert_rejected(data, status, *words)


def test_body_without_content_type() -> None:
    data = req("MESSAGE sip:user@example.com SIP/2.0", body=b"hello").replace(
        b"Content-Type: text/plain\r\n", b""
    )
    assert_rejected(data, 400, "Missing Content-Type header")


def test_bad_call_id() -> None:
    data = req("OPTIONS sip:user@example.com SIP/2.0").replace(
        b"Call-ID: torture.2be28fa@host1.example.com", b"Call-ID: has space@example.com"
    )
    assert_rejected(data, 400, "Malformed Call-ID header")


# ---------------------------------------------------------------------------------------------
# RFC 5118 IPv6 torture cases.


def test_ipv6_request_uri_and_via() -> None:
    data = wire(
        """REGISTER sip:[2001:db8::10] SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Max-Forwards: 70
Contact: "Caller" <sip:caller@[2001:db8::1]>
CSeq: 98176 REGISTER
Content-Length: 0

"""
    )
    msg = parse_req(data)
    assert msg.request_uri.host == "[2001:db8::10]"
    assert msg.top_via.host == "[2001:db8::9:1]"
    assert NameAddr.parse(msg.headers.get_all("Contact")[0]).uri.host == "[2001:db8::1]"
    assert server_key(msg) == ("z9hG4bKas3-111", "[2001:db8::9:1]", None, "REGISTER")


@pytest.mark.parametrize(
    ("uri", "host", "port"),
    [
        ("sip:[2001:db8::10]:5070", "[2001:db8::10]", 5070),
        ("sip:[2001:db8::10:5070]", "[2001:db8::10:5070]", None),  # §4.3: port-ambiguous
        ("sip:user@[::ffff:192.0.2.10]", "[::ffff:192.0.2.10]", None),  # §4.7 IPv4-mapped
        ("sip:user@[::ffff:c000:280]", "[::ffff:c000:280]", None),
    ],
)
def test_ipv6_request_uris(uri: str, host: str, port: int | None) -> None:
    msg = parse_req(req(f"REGISTER {uri} SIP/2.0"))
    assert (msg.request_uri.host, msg.request_uri.port) == (host, port)


def test_ipv6_multiple_vias_one_line() -> None:
    msg = parse_req(
        req("OPTIONS sip:user@example.com SIP/2.0").replace(
            b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bK43fd9",
            b"Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;"
            b"received=[2001:db8::9:255],"
            b" SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144",
        )
    )
    vias = msg.vias
    assert [(v.host, v.port) for v in vias] == [("[2001:db8::9:1]", 6050), ("192.0.2.1", None)]
    assert vias[0].received == "[2001:db8::9:255]"

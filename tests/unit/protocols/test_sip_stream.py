"""StreamParser: Content-Length framing on TCP/TLS (RFC 3261 §18.3), keep-alives (RFC 5626
§3.5.1), limits."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols.sip import (
    SipParseError,
    SipRequest,
    SipResponse,
    StreamParser,
    parse_message,
)

pytestmark = pytest.mark.unit


def message(method: str, n: int, body: bytes = b"") -> bytes:
    ctype = "Content-Type: text/plain\r\n" if body else ""
    return (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{n}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=1\r\n"
        "To: <sip:bob@example.com>\r\n"
        f"Call-ID: call{n}@192.0.2.1\r\n"
        f"CSeq: {n} {method}\r\n"
        f"{ctype}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def response(n: int) -> bytes:
    return (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{n}\r\n"
        "From: <sip:alice@example.com>;tag=1\r\n"
        "To: <sip:bob@example.com>;tag=2\r\n"
        f"Call-ID: call{n}@192.0.2.1\r\n"
        f"CSeq: {n} OPTIONS\r\n"
        "l: 0\r\n\r\n"
    ).encode()


STREAM = (
    message("MESSAGE", 1, b"hello\r\n\r\nworld")
    + b"\r\n\r\n"  # RFC 5626 ping between messages
    + message("OPTIONS", 2)
    + response(3)
    + message("INFO", 4, b"x" * 300)
)
EXPECTED = [(SipRequest, 1), (SipRequest, 2), (SipResponse, 3), (SipRequest, 4)]


def summary(msgs: list[SipRequest | SipResponse]) -> list[tuple[type, int]]:
    return [(type(m), m.cseq[0]) for m in msgs]


def test_whole_stream_in_one_feed() -> None:
    parser = StreamParser()
    msgs = parser.feed(STREAM)
    assert summary(msgs) == EXPECTED
    first = msgs[0]
    assert first.body == b"hello\r\n\r\nworld"  # CRLFCRLF inside a body is not a boundary
    assert parser.take_pings() == 1
    assert parser.take_pings() == 0


def test_byte_by_byte() -> None:
    parser = StreamParser()
    msgs: list[SipRequest | SipResponse] = []
    for i in range(len(STREAM)):
        msgs += parser.feed(STREAM[i : i + 1])
    assert summary(msgs) == EXPECTED
    assert parser.take_pings() == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=20))
def test_arbitrary_chunk_boundaries(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    parser = StreamParser()
    msgs: list[SipRequest | SipResponse] = []
    for a, b in itertools.pairwise(bounds):
        msgs += parser.feed(STREAM[a:b])
    assert summary(msgs) == EXPECTED
    assert [m.to_bytes() for m in msgs] == [m.to_bytes() for m in StreamParser().feed(STREAM)]


def test_keepalives_only() -> None:
    parser = StreamParser()
    assert parser.feed(b"\r\n\r\n") == []
    assert parser.feed(b"\r\n") == []
    assert parser.feed(b"\r\n") == []  # a ping split across two reads
    assert parser.feed(b"\r\n\r\n\r\n\r\n") == []
    assert parser.take_pings() == 4
    assert parser.feed(b"\r\n") == []  # a lone CRLF (pong) is skipped, not a ping
    msgs = parser.feed(message("OPTIONS", 9))
    assert summary(msgs) == [(SipRequest, 9)]
    assert parser.take_pings() == 0


def test_partial_message_waits() -> None:
    parser = StreamParser()
    data = message("MESSAGE", 1, b"0123456789")
    assert parser.feed(data[:-1]) == []
    assert summary(parser.feed(data[-1:])) == [(SipRequest, 1)]


def test_compact_and_folded_content_length() -> None:
    data = message("MESSAGE", 1, b"abc").replace(b"Content-Length: 3", b"l:\r\n  3")
    msgs = StreamParser().feed(data + message("OPTIONS", 2))
    assert summary(msgs) == [(SipRequest, 1), (SipRequest, 2)]
    assert msgs[0].body == b"abc"


def test_missing_content_length_is_400_and_kills_the_stream() -> None:
    data = message("OPTIONS", 1).replace(b"Content-Length: 0\r\n", b"")
    parser = StreamParser()
    with pytest.raises(SipParseError) as err:
        parser.feed(data)
    assert err.value.status == 400
    assert "Content-Length" in err.value.reason
    with pytest.raises(SipParseError) as again:
        parser.feed(message("OPTIONS", 2))
    assert again.value.status == 400
    assert "earlier error" in again.value.reason


def test_messages_before_an_error_are_handed_over() -> None:
    parser = StreamParser()
    with pytest.raises(SipParseError) as err:
        parser.feed(message("OPTIONS", 1) + message("OPTIONS", 2).replace(b"CSeq: 2", b"CSeq: x"))
    assert summary(err.value.messages) == [(SipRequest, 1)]


def test_malformed_content_length_on_stream() -> None:
    data = message("OPTIONS", 1).replace(b"Content-Length: 0", b"Content-Length: -1")
    with pytest.raises(SipParseError, match="Malformed Content-Length"):
        StreamParser().feed(data)


def test_oversize_message_is_413() -> None:
    parser = StreamParser(max_size=1000)
    with pytest.raises(SipParseError) as err:
        parser.feed(message("MESSAGE", 1, b"x" * 1000)[:400])  # headers say: too big
    assert err.value.status == 413


def test_endless_header_section_is_413() -> None:
    parser = StreamParser(max_size=1000)
    assert parser.feed(b"OPTIONS sip:a@example.com SIP/2.0\r\n") == []
    with pytest.raises(SipParseError) as err:
        for _ in range(100):
            parser.feed(b"X-Filler: " + b"y" * 50 + b"\r\n")
    assert err.value.status == 413


def test_stream_messages_equal_datagram_parse() -> None:
    data = message("MESSAGE", 7, b"payload")
    (msg,) = StreamParser().feed(data)
    assert msg.to_bytes() == parse_message(data).to_bytes() == data


def test_max_size_is_configurable() -> None:
    big = message("MESSAGE", 1, b"z" * 70000)
    (msg,) = StreamParser(max_size=80000).feed(big)
    assert len(msg.body) == 70000
    with pytest.raises(SipParseError) as err:
        StreamParser().feed(big)
    assert err.value.status == 413

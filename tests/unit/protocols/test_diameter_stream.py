"""StreamParser: TCP framing by Message Length (RFC 6733 §3) under arbitrary chunking, fatal
framing errors, and answerable malformed frames."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols.diameter import (
    APP_CX,
    CMD_UAR,
    MAX_MESSAGE_SIZE,
    DiameterParseError,
    Message,
    StreamParser,
    error_answer,
    make_dwr,
    make_mar,
    make_uar,
    validate,
)

pytestmark = pytest.mark.unit


def sample_messages() -> list[Message]:
    out: list[Message] = []
    for i in range(4):
        out.append(
            make_dwr(origin_host="a.example", origin_realm="example", hop_by_hop=i, end_to_end=i)
        )
        out.append(
            make_mar(
                session_id=f"s;{i}",
                origin_host="s.example",
                origin_realm="example",
                destination_realm="example",
                public_identity=f"sip:{i}@example",
                user_name=f"{i}@example",
                server_name="sip:s.example",
                hop_by_hop=100 + i,
                end_to_end=200 + i,
            )
        )
    return out


MESSAGES = sample_messages()
STREAM = b"".join(m.encode() for m in MESSAGES)


def feed_chunks(parser: StreamParser, data: bytes, cuts: list[int]) -> list[Message]:
    out: list[Message] = []
    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        out.extend(parser.feed(data[prev:cut]))
        prev = cut
    return out


def test_whole_stream_in_one_feed() -> None:
    parser = StreamParser()
    assert parser.feed(STREAM) == MESSAGES
    assert parser.buffered == 0


def test_one_byte_at_a_time() -> None:
    parser = StreamParser()
    got: list[Message] = []
    for i in range(len(STREAM)):
        got.extend(parser.feed(STREAM[i : i + 1]))
    assert got == MESSAGES


def test_partial_message_stays_buffered() -> None:
    parser = StreamParser()
    first = MESSAGES[0].encode()
    assert parser.feed(first[:-1]) == []
    assert parser.buffered == len(first) - 1
    assert parser.feed(first[-1:] + b"\x01") == [MESSAGES[0]]
    assert parser.buffered == 1


@settings(max_examples=300, database=None, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_arbitrary_chunking(cuts: list[int]) -> None:
    assert feed_chunks(StreamParser(), STREAM, cuts) == MESSAGES


@settings(max_examples=100, database=None, deadline=None)
@given(st.lists(st.binary(max_size=1), min_size=0, max_size=30))
def test_empty_feeds_are_harmless(empties: list[bytes]) -> None:
    parser = StreamParser()
    for e in empties:
        assert parser.feed(e[:0]) == []
    assert parser.feed(STREAM) == MESSAGES


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (b"\x02\x00\x00\x14", 5011),  # version 2
        (b"\x01\x00\x00\x10", 5015),  # length 16 < header
        (b"\x01\x00\x00\x15", 5015),  # not a multiple of 4
        (b"\x01" + (MAX_MESSAGE_SIZE + 4).to_bytes(3, "big"), 5015),  # too large
        (b"GET ", 5011),  # someone speaking HTTP
    ],
)
def test_fatal_framing_errors(header: bytes, code: int) -> None:
    parser = StreamParser()
    assert parser.feed(MESSAGES[0].encode()) == [MESSAGES[0]]
    with pytest.raises(DiameterParseError) as ei:
        parser.feed(header + bytes(16))
    assert ei.value.fatal and ei.value.result_code == code
    with pytest.raises(DiameterParseError) as again:  # stays broken
        parser.feed(MESSAGES[0].encode())
    assert again.value.fatal


def test_fatal_detected_from_first_four_octets() -> None:
    with pytest.raises(DiameterParseError):
        StreamParser().feed(b"\x01\xff\xff\xff")


def test_custom_max_size() -> None:
    parser = StreamParser(max_message_size=64)
    with pytest.raises(DiameterParseError) as ei:
        parser.feed(MESSAGES[1].encode())
    assert ei.value.fatal


def _uar(hbh: int) -> Message:
    return make_uar(
        session_id=f"sess;{hbh}",
        origin_host="i.example",
        origin_realm="example",
        destination_realm="example",
        public_identity="sip:a@example",
        user_name="a@example",
        visited_network_identifier="example",
        hop_by_hop=hbh,
        end_to_end=hbh,
    )


def test_malformed_frame_is_returned_with_decode_error() -> None:
    good1, good2 = _uar(1).encode(), _uar(3).encode()
    bad = bytearray(_uar(2).encode())
    # Break the length of the second AVP (Vendor-Specific-Application-Id) so it overruns.
    off = 20 + ((int.from_bytes(bad[25:28], "big") + 3) & ~3)
    bad[off + 5 : off + 8] = (0xFFFF).to_bytes(3, "big")
    parser = StreamParser()
    out = parser.feed(good1 + bytes(bad) + good2)
    assert [m.hop_by_hop for m in out] == [1, 2, 3]
    assert out[0].decode_error is None and out[2].decode_error is None
    partial = out[1]
    assert partial.decode_error is not None and partial.decode_error.result_code == 5014
    assert partial.get("Session-Id") == "sess;2"  # decoded before the fault
    with pytest.raises(DiameterParseError) as ei:
        validate(partial)
    ans = error_answer(partial, ei.value, origin_host="hss.example", origin_realm="example")
    assert (ans.command_code, ans.application_id, ans.hop_by_hop) == (CMD_UAR, APP_CX, 2)
    assert ans.get("Result-Code") == 5014 and ans.get("Session-Id") == "sess;2"
    assert ans.get("Failed-AVP").avps[0].code == 260
    validate(Message.decode(ans.encode()))


def test_e_bit_request_in_stream_is_answerable_3008() -> None:
    wire = bytearray(_uar(9).encode())
    wire[4] |= 0x20
    (msg,) = StreamParser().feed(bytes(wire))
    with pytest.raises(DiameterParseError) as ei:
        validate(msg)
    assert ei.value.result_code == 3008 and not ei.value.fatal
    ans = error_answer(msg, ei.value, origin_host="h", origin_realm="r")
    assert ans.is_error and ans.hop_by_hop == 9

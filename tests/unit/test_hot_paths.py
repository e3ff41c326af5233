"""The fast paths added for throughput give the same answers as the careful ones: Digest
parameter parsing, the name memo (dropped when the table changes), transaction keys from a
pre-parsed Via, and coalesced Diameter writes (flushed before a close)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols.diameter import CMD_DWR, Message
from network_functions.protocols.sip import SipRequest, digest, parse_message, server_key
from network_functions.protocols.sip.transaction import ClientTransaction, ServerTransaction
from network_functions.runtime.diameter import _Connection
from network_functions.runtime.names import NameTable

pytestmark = pytest.mark.unit

CREDENTIALS = (
    'Digest username="001010000000001@ims.example.org", realm="ims.example.org", '
    'cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:ims.example.org",'
    'nonce="abcdef0123456789", response="0123456789abcdef0123456789abcdef",algorithm=MD5'
)


def test_digest_fast_path_matches_careful_parser() -> None:
    fast = digest._parse_params_fast(CREDENTIALS)
    assert fast is not None
    assert fast["username"] == "001010000000001@ims.example.org"
    assert fast["nc"] == "00000001"
    # The same value through the character-by-character parser (a quoted-pair forces it).
    careful = digest._parse_params(CREDENTIALS + ', x="\\a"', header="h")
    careful.pop("x")
    assert careful == fast


@pytest.mark.parametrize(
    "value",
    [
        'Digest a="1", a="2"',  # duplicate
        'Digest a="1\x01"',  # control character
        "Digest a=1 b=2",  # missing comma
        'Digest a="1',  # unterminated
        "Digest,a=1",  # no space after the scheme
        'Digest a="1"\n',  # a stray line feed at the end
        "Basic a=1",
    ],
)
def test_digest_fast_path_leaves_problems_to_the_careful_parser(value: str) -> None:
    assert digest._parse_params_fast(value) is None
    with pytest.raises(digest.DigestError):
        digest._parse_params(value, header="h")


_piece = st.sampled_from(
    ["Digest ", "digest\t", " ", ",", "=", '"', "\\", "\t", "a", "nc", "q+/", "\x00", "é", "x y"]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_piece, max_size=14).map("".join))
def test_digest_fast_path_agrees_or_defers(value: str) -> None:
    fast = digest._parse_params_fast(value)
    if fast is not None:
        assert fast == digest._parse_params(value, header="h")


def _write(path: Path, table: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(table))
    os.replace(tmp, path)


def test_name_memo_follows_the_table(tmp_path: Path) -> None:
    path = tmp_path / "names.json"
    _write(path, {"hss": ["127.0.10.1", "127.0.10.2"]})
    names = NameTable(path)
    assert names.cached("hss") is None  # not resolved yet
    assert asyncio.run(names.resolve_async("hss")) == "127.0.10.1"
    assert names.cached("hss") == "127.0.10.1"
    assert names.cached("127.0.0.9") is None
    assert names.resolve("127.0.0.9") == "127.0.0.9"
    assert names.cached("127.0.0.9") == "127.0.0.9"
    _write(path, {"hss": "127.0.10.7", "pad": "x" * 10})  # another size: a new stamp
    assert names.cached("hss") is None
    assert names.resolve("hss") == "127.0.10.7"


REQUEST = (
    b"REGISTER sip:ims.example.org SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"
    b"From: <sip:a@ims.example.org>;tag=1\r\nTo: <sip:a@ims.example.org>\r\n"
    b"Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
)


def test_transaction_keys_from_a_parsed_via() -> None:
    request = parse_message(REQUEST)
    assert isinstance(request, SipRequest)
    via = request.top_via
    assert server_key(request, via) == server_key(request)
    txn = ServerTransaction(request, reliable=False, key=server_key(request, via))
    assert txn.key == server_key(request)
    client = ClientTransaction(request, reliable=False, branch="z9hG4bK-1")
    assert client.key == ("z9hG4bK-1", "REGISTER")


class _FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def test_diameter_writes_of_one_iteration_are_coalesced() -> None:
    async def run() -> tuple[list[bytes], list[bytes], bytes]:
        conn = _Connection(lambda c, m: None, lambda c: None)
        transport = _FakeTransport()
        conn.transport = transport
        messages = [Message(CMD_DWR, 0, request=True, hop_by_hop=i) for i in range(3)]
        for message in messages:
            conn.send(message)
        assert transport.writes == []
        await asyncio.sleep(0)
        coalesced = list(transport.writes)
        conn.send(messages[0])
        conn.close()  # flushes first
        return coalesced, transport.writes[1:], b"".join(m.encode() for m in messages)

    coalesced, after_close, expected = asyncio.run(run())
    assert coalesced == [expected]
    assert after_close == [Message(CMD_DWR, 0, request=True, hop_by_hop=0).encode()]

"""The asyncio GTP-C endpoint on loopback sockets (TS 29.274 §7.6): T3/N3 retransmission,
matching responses by (peer, sequence number), the duplicate-request cache, rejections from
handlers, Echo with the Recovery counter, and TEID blocks unique across store clients."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import cast

import pytest

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.gtpv2c import GtpError, Message
from network_functions.runtime.gtp import GtpEndpoint, GtpTimeout, Peer, TeidAllocator
from network_functions.runtime.metrics import Registry
from network_functions.runtime.store import open_store

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


def dsr(teid: int = 1) -> Message:
    return g.delete_session_request(sequence=0, teid=teid, ebi=5)


class Lossy(asyncio.DatagramProtocol):
    """A peer that drops the first ``drop`` copies of each request, then answers."""

    def __init__(self, drop: int, answer: bool = True) -> None:
        self.drop, self.answer = drop, answer
        self.seen: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.seen.append(data)
        if len(self.seen) <= self.drop or not self.answer:
            return
        req = g.decode(data)
        rsp = g.delete_session_response(sequence=req.sequence, teid=9, cause=16, recovery=4)
        assert self.transport is not None
        self.transport.sendto(rsp.encode(), addr)


async def _lossy(drop: int, answer: bool = True) -> tuple[Lossy, Peer, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    proto = Lossy(drop, answer)
    transport, _ = await loop.create_datagram_endpoint(lambda: proto, local_addr=(HOST, 0))
    return proto, transport.get_extra_info("sockname")[:2], transport


def test_retransmits_every_t3_until_answered() -> None:
    async def run() -> None:
        proto, peer, transport = await _lossy(drop=2)
        reg = Registry()
        ep = GtpEndpoint(HOST, 0, t3=0.05, n3=3, metrics=reg)
        await ep.start()
        rsp = await ep.request(peer, dsr())
        assert rsp.cause == 16 and rsp.teid == 9
        assert len(proto.seen) == 3 and len(set(proto.seen)) == 1  # the same octets
        assert "gtp_retransmissions_total 2" in reg.render()
        assert ep.peer_recovery[peer] == 4
        await ep.close()
        transport.close()

    asyncio.run(run())


def test_gives_up_after_n3_retransmissions() -> None:
    async def run() -> None:
        proto, peer, transport = await _lossy(drop=0, answer=False)
        ep = GtpEndpoint(HOST, 0, t3=0.03, n3=2)
        await ep.start()
        with pytest.raises(GtpTimeout):
            await ep.request(peer, dsr())
        assert len(proto.seen) == 3  # the original and N3 = 2 retransmissions
        await ep.close()
        transport.close()

    asyncio.run(run())


def test_response_from_another_peer_does_not_match() -> None:
    async def run() -> None:
        proto, peer, transport = await _lossy(drop=0, answer=False)
        ep = GtpEndpoint(HOST, 0, t3=0.2, n3=0)
        await ep.start()
        task = asyncio.create_task(ep.request(peer, dsr()))
        while not proto.seen:
            await asyncio.sleep(0.005)
        seq = g.decode(proto.seen[0]).sequence
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind((HOST, 0))
            rsp = g.delete_session_response(sequence=seq, teid=9, cause=16)
            other.sendto(rsp.encode(), ep.address)
        with pytest.raises(GtpTimeout):
            await task
        await ep.close()
        transport.close()

    asyncio.run(run())


def test_duplicate_requests_are_answered_from_the_cache() -> None:
    async def run() -> None:
        calls: list[int] = []

        async def handler(req: Message, peer: Peer) -> Message | None:
            calls.append(req.sequence)
            await asyncio.sleep(0.1)
            return g.delete_session_response(sequence=0, teid=77, cause=16)

        reg = Registry()
        server = GtpEndpoint(HOST, 0, handler=handler, metrics=reg)
        await server.start()
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            s.setblocking(False)
            req = dsr()
            req.sequence = 0x4242
            wire = req.encode()
            await loop.sock_sendto(s, wire, server.address)
            await asyncio.sleep(0.02)
            await loop.sock_sendto(s, wire, server.address)  # while in flight: ignored
            first = await asyncio.wait_for(loop.sock_recv(s, 4096), 2)
            await loop.sock_sendto(s, wire, server.address)  # after: from the cache
            second = await asyncio.wait_for(loop.sock_recv(s, 4096), 2)
            assert first == second
            rsp = g.decode(first)
            assert (rsp.sequence, rsp.teid, rsp.cause) == (0x4242, 77, 16)
            # A new sequence number is a new request.
            req.sequence = 0x4243
            await loop.sock_sendto(s, req.encode(), server.address)
            third = g.decode(await asyncio.wait_for(loop.sock_recv(s, 4096), 2))
            assert third.sequence == 0x4243
        assert calls == [0x4242, 0x4243]
        assert "gtp_duplicate_requests_total 2" in reg.render()
        await server.close()

    asyncio.run(run())


def test_handler_errors_become_rejections() -> None:
    async def run() -> None:
        async def handler(req: Message, peer: Peer) -> Message | None:
            if req.type == g.CREATE_SESSION_REQUEST:
                raise GtpError(g.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED, "full")
            if req.teid == 1:
                raise GtpError(g.CAUSE_CONTEXT_NOT_FOUND, "nope", offending=(g.IE_EBI, 0))
            if req.teid == 2:
                raise GtpError(g.CAUSE_MISSING_OR_UNKNOWN_APN, "apn", teid=0xABC)
            raise RuntimeError("bug")

        server = GtpEndpoint(HOST, 0, handler=handler)
        client = GtpEndpoint(HOST, 0, t3=1.0, n3=0)
        await server.start()
        await client.start()
        rsp = await client.request(server.address, dsr(1))
        assert (rsp.type, rsp.teid) == (g.DELETE_SESSION_RESPONSE, 0)
        assert rsp.get(g.IE_CAUSE) == g.Cause(64, offending=(g.IE_EBI, 0))
        rsp = await client.request(server.address, dsr(2))
        assert (rsp.cause, rsp.teid) == (78, 0xABC)
        rsp = await client.request(server.address, dsr(3))
        assert rsp.cause == g.CAUSE_SYSTEM_FAILURE
        # A request failing validation never reaches the handler: 70 with the offending IE.
        csr = g.create_session_request(
            sequence=0,
            teid=0,
            imsi="001010000000001",
            sender_fteid=g.Fteid(g.IF_S11_MME, 5, HOST),
            apn="internet",
            ebi=5,
            qos=g.BearerQos(9, 8),
        )
        # A handler's rejection of a Create Session goes to the Sender F-TEID's TEID.
        rsp = await client.request(server.address, csr)
        assert (rsp.cause, rsp.teid) == (g.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED, 5)
        csr.ies = [i for i in csr.ies if i.type != g.IE_RAT_TYPE]
        rsp = await client.request(server.address, csr)
        assert rsp.get(g.IE_CAUSE) == g.Cause(70, offending=(g.IE_RAT_TYPE, 0))
        assert rsp.teid == 5
        await client.close()
        await server.close()

    asyncio.run(run())


def test_bad_response_is_an_error_for_the_caller() -> None:
    async def run() -> None:
        async def handler(req: Message, peer: Peer) -> Message | None:
            return Message(g.DELETE_SESSION_RESPONSE, 0, [], 5)  # no Cause

        server = GtpEndpoint(HOST, 0, handler=handler)
        client = GtpEndpoint(HOST, 0, t3=1.0, n3=0)
        await server.start()
        await client.start()
        with pytest.raises(GtpError) as info:
            await client.request(server.address, dsr())
        assert info.value.cause == g.CAUSE_MANDATORY_IE_MISSING
        await client.close()
        await server.close()

    asyncio.run(run())


def test_malformed_response_fails_the_request_at_once() -> None:
    async def run() -> None:
        proto, peer, transport = await _lossy(drop=0, answer=False)
        ep = GtpEndpoint(HOST, 0, t3=5.0, n3=0)
        await ep.start()
        task = asyncio.create_task(ep.request(peer, dsr()))
        while not proto.seen:
            await asyncio.sleep(0.005)
        seq = g.decode(proto.seen[0]).sequence
        wire = g.delete_session_response(sequence=seq, teid=9, cause=16).encode()
        assert proto.transport is not None
        proto.transport.sendto(wire + b"\0", ep.address)  # one octet beyond the length
        with pytest.raises(GtpError) as info:
            await asyncio.wait_for(task, 1.0)
        assert info.value.cause == g.CAUSE_INVALID_LENGTH
        await ep.close()
        transport.close()

    asyncio.run(run())


def test_echo_and_peer_restart() -> None:
    async def run() -> None:
        restarts: list[tuple[Peer, int, int]] = []
        server = GtpEndpoint(HOST, 0, recovery=7)
        client = GtpEndpoint(
            HOST,
            0,
            recovery=1,
            t3=1.0,
            n3=0,
            on_peer_restart=lambda p, o, n: restarts.append((p, o, n)),
        )
        await server.start()
        await client.start()
        assert await client.echo(server.address) == 7
        server.recovery = 8  # the peer restarted
        assert await client.echo(server.address) == 8
        assert restarts == [(server.address, 7, 8)]
        # The server learnt the client's counter from its Echo Requests.
        assert server.peer_recovery[client.address] == 1
        await client.close()
        await server.close()

    asyncio.run(run())


def test_teid_blocks_are_unique_across_replicas(tmp_path: Path) -> None:
    async def run() -> None:
        url = f"sqlite:///{tmp_path}/store.db"
        stores = [open_store(url) for _ in range(2)]
        allocators = [TeidAllocator(s, "t:block", block=16) for s in stores]

        async def take(a: TeidAllocator) -> list[int]:
            return [await a.allocate() for _ in range(100)]

        got = await asyncio.gather(*(take(a) for a in allocators), *(take(a) for a in allocators))
        teids = [t for chunk in got for t in chunk]
        assert len(teids) == len(set(teids)) == 400
        assert 0 not in teids and all(0 < t <= 0xFFFFFFFF for t in teids)
        for s in stores:
            await s.close()

    asyncio.run(run())

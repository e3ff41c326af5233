"""Two replicas of one NF on one address (SO_REUSEPORT, as the local platform runs them):
a response to a request one replica sent from the shared service socket (a flow, RFC 5626
§3.3) that the kernel hands to the other replica is passed on to the sender, whose client
transaction then completes instead of timing out."""

from __future__ import annotations

import asyncio
import socket

import pytest

from network_functions.protocols.sip import (
    Headers,
    SipRequest,
    SipResponse,
    make_response,
    parse_message,
)
from network_functions.runtime.metrics import Registry
from network_functions.runtime.sip import REPLICA_PARAM, IncomingRequest, SipEndpoint, Target

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


class Handler:
    def __init__(self) -> None:
        self.stray: list[SipResponse] = []

    async def on_request(self, incoming: IncomingRequest) -> None:
        incoming.reply(501)

    def on_stray_response(self, response: SipResponse) -> None:
        self.stray.append(response)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
    return port


def options(ue_port: int) -> SipRequest:
    h = Headers()
    h.add("Max-Forwards", "70")
    h.add("From", "<sip:pcscf@ims.example.org>;tag=f1")
    h.add("To", "<sip:ue@ims.example.org>")
    h.add("Call-ID", "replica-test-1")
    h.add("CSeq", "1 OPTIONS")
    return SipRequest("OPTIONS", f"sip:ue@{HOST}:{ue_port}", h)


def test_response_reaching_the_other_replica_is_passed_on() -> None:
    async def main() -> None:
        port = free_udp_port()
        handlers = [Handler(), Handler()]
        a, b = (
            SipEndpoint(
                host=HOST,
                port=port,
                advertise=HOST,
                transports=("udp",),
                handler=h,
                metrics=Registry(),
                client_sockets=2,
            )
            for h in handlers
        )
        await a.start()
        await b.start()
        ue = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ue.bind((HOST, 0))
        ue.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            ue_port = ue.getsockname()[1]
            future = a.send_request(options(ue_port), Target(HOST, ue_port, "udp", flow=True))
            data, source = await loop.sock_recvfrom(ue, 65535)
            assert source == (HOST, port)  # from the shared service socket (the flow)
            request = parse_message(data)
            assert isinstance(request, SipRequest)
            assert request.top_via.params.get(REPLICA_PARAM) == str(a._client_ports[0])
            answer = make_response(request, 200, "OK").to_bytes()
            # The kernel hashed the UE's answer to replica b (what SO_REUSEPORT may do):
            assert b._server_udp is not None
            b._on_datagram(answer, ue.getsockname(), b._server_udp)
            final = await asyncio.wait_for(future, 5)
            assert final.status == 200
            assert handlers[1].stray == []
            assert b.metrics_replica_forwards.value == 1
            # A response naming b's own port is not bounced back and forth: b treats it as
            # stray (its transaction is gone), a never sees it.
            own = make_response(request, 200, "OK")
            own.headers.pop_first("Via")
            own.headers.add(
                "Via",
                f"SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK-gone;rport"
                f";{REPLICA_PARAM}={b._client_ports[0]}",
                first=True,
            )
            b._on_datagram(own.to_bytes(), ue.getsockname(), b._server_udp)
            assert len(handlers[1].stray) == 1
        finally:
            ue.close()
            await a.close()
            await b.close()

    asyncio.run(main())


class Answering(Handler):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.served = 0

    async def on_request(self, incoming: IncomingRequest) -> None:
        self.served += 1
        incoming.reply(200, f"OK from {self.name}")


def test_a_draining_replica_serves_then_leaves_the_service() -> None:
    """Drain (SIGTERM) on the local platform: the replica answers what the kernel still
    hands it (no 503), leaves the SO_REUSEPORT group once idle, and from then on every
    flow reaches the remaining replica."""

    async def main() -> None:
        port = free_udp_port()
        handlers = [Answering("a"), Answering("b")]
        a, b = (
            SipEndpoint(
                host=HOST,
                port=port,
                advertise=HOST,
                transports=("udp",),
                handler=h,
                metrics=Registry(),
                client_sockets=1,
            )
            for h in handlers
        )
        await a.start()
        await b.start()
        loop = asyncio.get_running_loop()
        ues = []
        try:
            a.stop_accepting()
            for i in range(24):  # flows from 24 source ports: the kernel spreads them
                ue = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                ue.bind((HOST, 0))
                ue.setblocking(False)
                ues.append(ue)
                req = options(port)
                req.headers.set("Call-ID", f"drain-{i}")
                req.headers.add(
                    "Via", f"SIP/2.0/UDP {HOST}:{ue.getsockname()[1]};branch=z9hG4bK-d{i}"
                )
                await loop.sock_sendto(ue, req.to_bytes(), (HOST, port))
                answer = parse_message(await asyncio.wait_for(loop.sock_recv(ue, 65535), 5))
                assert isinstance(answer, SipResponse) and answer.status == 200
            assert handlers[0].served > 0, "the kernel gave replica a none of 24 flows"
            await asyncio.wait_for(a.wait_idle(), 5)
            served_by_a = handlers[0].served
            for i, ue in enumerate(ues):
                req = options(port)
                req.headers.set("Call-ID", f"after-{i}")
                req.headers.add(
                    "Via", f"SIP/2.0/UDP {HOST}:{ue.getsockname()[1]};branch=z9hG4bK-e{i}"
                )
                await loop.sock_sendto(ue, req.to_bytes(), (HOST, port))
                answer = parse_message(await asyncio.wait_for(loop.sock_recv(ue, 65535), 5))
                assert isinstance(answer, SipResponse) and answer.reason == "OK from b"
            assert handlers[0].served == served_by_a
        finally:
            for ue in ues:
                ue.close()
            await a.close()
            await b.close()

    asyncio.run(main())

"""SIP transport and transaction layer for NFs: sockets around the sans-IO SIP codec.

One :class:`SipEndpoint` per NF replica:

* a **service socket** per transport, bound to the NF's address and port with
  SO_REUSEPORT, shared by every replica: the kernel spreads UDP flows and TCP connections
  over the replicas (the local stand-in for a Kubernetes Service);
* a small pool of **client UDP sockets** on ephemeral ports of this replica. Requests this
  replica sends carry one of them in their Via sent-by (RFC 3261 §18.1.1), so responses come
  back to the replica that holds the client transaction, and several source ports spread
  the load over the next hop's replicas (ARCHITECTURE principle 6);
* the RFC 3261 §17 transactions, driven by timers on the event loop.

The NF gives a handler with ``on_request(IncomingRequest)`` (a coroutine function) and
``on_stray_response(SipResponse)``; :meth:`SipEndpoint.proxy` implements a transaction-
stateful proxy hop (RFC 3261 §16) on top of ``send_request``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import platform
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, cast

from network_functions.protocols.sip import (
    MAX_MESSAGE_SIZE,
    CancelTimer,
    ClientTransaction,
    DeliverAck,
    DeliverResponse,
    Headers,
    SendMessage,
    ServerTransaction,
    SipError,
    SipParseError,
    SipRequest,
    SipResponse,
    StartTimer,
    StreamParser,
    Terminated,
    Timeout,
    client_key,
    make_response,
    new_branch,
    parse_message,
    server_key,
)

from .metrics import Registry
from .timers import TimerWheel, WheelTimer

log = logging.getLogger("nfv.sip")

# Receive buffer for the UDP sockets: overload shows as kernel drops, so give bursts room.
UDP_RCVBUF = 4 * 1024 * 1024
# SO_RCVBUFFORCE (socket(7)), which Python's socket module does not export: 33 in Linux's
# asm-generic/socket.h; alpha, mips, parisc and sparc number it differently (not tried there).
_SO_RCVBUFFORCE: int | None = getattr(socket, "SO_RCVBUFFORCE", None)
if (
    _SO_RCVBUFFORCE is None
    and sys.platform == "linux"
    and not platform.machine().startswith(("alpha", "mips", "parisc", "sparc"))
):
    _SO_RCVBUFFORCE = 33
# How many ephemeral client sockets a replica sends requests from (see module docstring):
# the next hop's SO_REUSEPORT group hashes each source port to one of its replicas, so with
# 16 ports a replica of 3 is left without work with probability (2/3)^16 ≈ 0.2 %.
CLIENT_SOCKETS = 16
# Requests being handled at once (waiting for a downstream answer, the store or the HSS)
# beyond which new requests get 503 + Retry-After. At the measured ~500 registrations/s and
# ~10 ms per hop a replica has a few in progress; hundreds mean a queue of ~0.5 s.
MAX_PENDING = 200
# Via parameter of requests sent from the shared service socket (flows, RFC 5626 §3.3): the
# client port of the replica holding the transaction, for responses that the kernel's
# SO_REUSEPORT hashing delivers to another replica of the same NF (RFC 3261 §18.2.2 sends
# them to the source address, which all replicas share).
REPLICA_PARAM = "nfv-replica"
# Idle TCP connections we opened are closed after this many seconds.
TCP_IDLE_TIMEOUT = 300.0


# Transaction states in which a final response is still owed (RFC 3261 §17).
_OPEN_STATES = frozenset({"calling", "trying", "proceeding"})


@dataclass(frozen=True, slots=True)
class Target:
    """Where a message goes: an IP (or name already resolved), a port and a transport.

    ``flow`` marks the address a peer's requests came from (a NAT's or a port publisher's
    mapping, RFC 5626 §3.3 "flow"): requests to it leave from the service socket (UDP) or
    over the peer's own connection (TCP), the only way back through the mapping.
    """

    host: str
    port: int
    transport: str = "udp"
    flow: bool = False


class SipHandler(Protocol):
    def on_request(self, incoming: IncomingRequest) -> Coroutine[Any, Any, None]: ...

    def on_stray_response(self, response: SipResponse) -> None: ...


class IncomingRequest:
    """A request received by this replica, with the server transaction to answer on."""

    __slots__ = ("_endpoint", "received_at", "request", "source", "txn")

    def __init__(
        self,
        endpoint: SipEndpoint,
        request: SipRequest,
        source: Target,
        txn: ServerTransaction | None,
    ) -> None:
        self._endpoint = endpoint
        self.request = request
        self.source = source
        self.txn = txn
        self.received_at = time.monotonic()

    def respond(self, response: SipResponse) -> None:
        """Send a response on this request's server transaction (no-op for an ACK)."""
        if self.txn is None:
            return
        self._endpoint._run_server(self.txn, self.source, self.txn.send_response(response))

    def reply(self, status: int, reason: str | None = None, **kwargs: Any) -> SipResponse:
        response = make_response(self.request, status, reason, **kwargs)
        self.respond(response)
        return response


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.endpoint._on_datagram(data, (str(addr[0]), int(addr[1])), self)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        self.endpoint.metrics_transport_errors.inc()


class _TcpConnection(asyncio.Protocol):
    def __init__(self, endpoint: SipEndpoint, *, outgoing: bool) -> None:
        self.endpoint = endpoint
        self.outgoing = outgoing
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.last_used = time.monotonic()
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), int(peer[1]))
        self.endpoint._tcp[self.peer] = self
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.last_used = time.monotonic()
        try:
            messages = self.parser.feed(data)
        except SipParseError as exc:
            # RFC 3261 §18.3: a stream we cannot frame any more must be closed — after
            # answering the request whose header we still have (e.g. 413 for an oversized
            # message, §21.4.11), when it carries what a response needs.
            self.endpoint.metrics_parse_errors.inc()
            log.info("closing SIP/TCP connection from %s:%s: %s", *self.peer, exc.reason)
            for message in exc.messages:
                self.endpoint._on_message(message, Target(self.peer[0], self.peer[1], "tcp"))
            answer = _best_effort_error(data, exc.status, exc.reason)
            if answer is not None:
                self.write(answer)
            if self.transport is not None:
                self.transport.close()
            return
        source = Target(self.peer[0], self.peer[1], "tcp")
        for message in messages:
            self.endpoint._on_message(message, source)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.endpoint._tcp.get(self.peer) is self:
            del self.endpoint._tcp[self.peer]
        if not self.closed.done():
            self.closed.set_result(None)

    def write(self, data: bytes) -> None:
        self.last_used = time.monotonic()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


def _size_rcvbuf(sock: socket.socket) -> None:
    """UDP_RCVBUF for a UDP socket: SO_RCVBUF is capped by net.core.rmem_max, so first try
    SO_RCVBUFFORCE (allowed with CAP_NET_ADMIN), silently falling back to the capped size."""
    if _SO_RCVBUFFORCE is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, UDP_RCVBUF)
            return
        except OSError:
            pass
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)


def _reuse_port_socket(kind: int, host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if kind == socket.SOCK_DGRAM:
            _size_rcvbuf(sock)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class SipEndpoint:
    """Sockets + transactions of one NF replica. See the module docstring."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        advertise: str,
        transports: tuple[str, ...] | list[str],
        handler: SipHandler,
        metrics: Registry,
        t1: float = 0.5,
        client_sockets: int = CLIENT_SOCKETS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.max_pending = max_pending
        self.host = host
        self.port = port
        self.advertise = advertise
        self.transports = tuple(transports)
        self.handler = handler
        self.t1 = t1
        self._n_client = client_sockets
        self._server_udp: _UdpProtocol | None = None
        self._client_udp: list[_UdpProtocol] = []
        self._client_ports: list[int] = []
        self._rr = itertools.count()
        self._tcp_server: asyncio.Server | None = None
        self._tcp: dict[tuple[str, int], _TcpConnection] = {}
        self._tcp_connecting: dict[tuple[str, int], asyncio.Future[_TcpConnection]] = {}
        self._server_txns: dict[tuple[Any, ...], tuple[ServerTransaction, Target]] = {}
        self._client_txns: dict[tuple[Any, ...], _ClientEntry] = {}
        # server INVITE transaction key → the client transaction we forwarded it in (§16.10)
        self._forwarded: dict[tuple[Any, ...], _ClientEntry] = {}
        # RFC 3261 §17 timers of the transactions, on a coarse wheel (timers.py): nearly all
        # are cancelled early, and a loop.call_later each costs more than the wheel's insert.
        self._wheel = TimerWheel()
        self._timers: dict[tuple[int, str], WheelTimer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True
        self.draining = False

        self.metrics_requests = metrics.counter(
            "sip_requests_total", "SIP requests received", ("method",)
        )
        self.metrics_responses = metrics.counter(
            "sip_responses_sent_total", "SIP final responses sent", ("code",)
        )
        self.metrics_parse_errors = metrics.counter(
            "sip_parse_errors_total", "SIP messages that failed to parse"
        )
        self.metrics_dropped_responses = metrics.counter(
            "sip_dropped_responses_total", "malformed or stray SIP responses dropped"
        )
        self.metrics_transport_errors = metrics.counter(
            "sip_transport_errors_total", "SIP socket errors"
        )
        self.metrics_overload = metrics.counter(
            "sip_overload_rejections_total", "requests refused with 503 because of overload"
        )
        self.metrics_replica_forwards = metrics.counter(
            "sip_responses_forwarded_to_replica_total",
            "responses for another replica's transaction passed on to it",
        )
        self.metrics_timeouts = metrics.counter(
            "sip_transaction_timeouts_total", "client transactions that timed out"
        )
        self.metrics_latency = metrics.histogram(
            "sip_client_transaction_seconds", "time to the final response of requests we sent"
        )
        inflight = metrics.gauge("sip_transactions_in_flight", "open server transactions")
        inflight.set_function(lambda: float(len(self._server_txns)))

    # -- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if "udp" in self.transports:
            sock = _reuse_port_socket(socket.SOCK_DGRAM, self.host, self.port)
            _, proto = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=sock)
            self._server_udp = proto
            if self.port == 0:
                self.port = sock.getsockname()[1]
        if "tcp" in self.transports:
            tsock = _reuse_port_socket(socket.SOCK_STREAM, self.host, self.port)
            if self.port == 0:
                self.port = tsock.getsockname()[1]
            self._tcp_server = await loop.create_server(
                lambda: _TcpConnection(self, outgoing=False), sock=tsock, backlog=1024
            )
        for _ in range(self._n_client):
            csock = socket.socket(
                socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM
            )
            _size_rcvbuf(csock)
            csock.bind((self.host, 0))
            csock.setblocking(False)
            _, cproto = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=csock)
            self._client_udp.append(cproto)
            self._client_ports.append(csock.getsockname()[1])

    def stop_accepting(self) -> None:
        """Drain step 1. New requests are still served: the replica still has its peers,
        and on the local platform the kernel keeps handing it flows (SO_REUSEPORT) as long
        as its service socket is open, so refusing them would fail procedures. The socket
        is closed by :meth:`wait_idle`; requests arriving after that (on TCP connections
        that stay open) get 503 + Retry-After."""
        self.draining = True

    @property
    def in_flight(self) -> int:
        """Transactions still waiting for a final response (not those merely absorbing
        retransmissions in the completed/confirmed states)."""
        busy = sum(1 for txn, _ in self._server_txns.values() if txn.state in _OPEN_STATES)
        return busy + sum(1 for e in self._client_txns.values() if e.txn.state in _OPEN_STATES)

    async def wait_idle(self, poll: float = 0.005) -> None:
        """Drain step 2: at the first moment no transaction and no handler is in progress,
        leave the service (close the service UDP socket and the TCP listener: the kernel
        then hashes new flows to the other replicas) and return. The check and the close
        happen with no await in between, so no request is taken and then abandoned.
        Datagrams still queued in the closed socket are lost; their senders retransmit
        (RFC 3261 §17.1.1.2, §17.1.2.2) and reach a remaining replica."""
        while self.in_flight or self._tasks:
            await asyncio.sleep(poll)
        self.leave_service()

    def leave_service(self) -> None:
        """Stop receiving new flows and connections on the shared service port."""
        self.accepting = False
        if self._server_udp is not None and self._server_udp.transport is not None:
            self._server_udp.transport.close()
        if self._tcp_server is not None:
            self._tcp_server.close()

    async def close(self) -> None:
        self._wheel.close()
        self._timers.clear()
        if self._tcp_server is not None:
            self._tcp_server.close()
        for conn in list(self._tcp.values()):
            if conn.transport is not None:
                conn.transport.close()
        for proto in [self._server_udp, *self._client_udp]:
            if proto is not None and proto.transport is not None:
                proto.transport.close()
        for entry in self._client_txns.values():
            if not entry.future.done():
                entry.future.cancel()
        self._client_txns.clear()
        self._server_txns.clear()

    # -- receiving ------------------------------------------------------------------------
    def _on_datagram(self, data: bytes, addr: tuple[str, int], proto: _UdpProtocol) -> None:
        if data.strip(b"\r\n") == b"":
            return  # RFC 5626 keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.metrics_parse_errors.inc()
            self._answer_malformed(data, exc, Target(addr[0], addr[1], "udp"))
            return
        self._on_message(message, Target(addr[0], addr[1], "udp"))

    def _answer_malformed(self, data: bytes, exc: SipParseError, source: Target) -> None:
        """RFC 3261 §21.4.1: answer a malformed *request* with 400 naming the problem."""
        response = _best_effort_error(data, exc.status, exc.reason)
        if response is not None:
            self.send_to(response, source)
        else:
            self.metrics_dropped_responses.inc()

    def _on_message(self, message: SipRequest | SipResponse, source: Target) -> None:
        if isinstance(message, SipResponse):
            self._on_response(message)
        else:
            self._on_request(message, source)

    def _on_request(self, request: SipRequest, source: Target) -> None:
        try:
            via = request.top_via
            # RFC 3261 §18.2.1 / RFC 3581: note where the request really came from.
            if via.host != source.host or "rport" in via.params:
                via.params["received"] = source.host
                if "rport" in via.params:
                    via.params["rport"] = str(source.port)
                request.headers.pop_first("Via")
                request.headers.add("Via", str(via), first=True)
            key = server_key(request, via)
        except SipParseError as exc:
            self.metrics_parse_errors.inc()
            self.send_to(make_response(request, exc.status, exc.reason).to_bytes(), source)
            return
        method = request.method
        self.metrics_requests.labels(method).inc()
        found = self._server_txns.get(key)
        if found is not None:
            txn, _ = found
            self._run_server(txn, source, txn.receive_request(request))
            return
        if method == "CANCEL":
            self._on_cancel(request, source, key)
            return
        if method == "ACK":
            # An ACK for a 2xx is its own transaction-less request (§17): to the TU.
            self._spawn(self.handler.on_request(IncomingRequest(self, request, source, None)))
            return
        txn = ServerTransaction(request, reliable=source.transport != "udp", t1=self.t1, key=key)
        self._server_txns[key] = (txn, source)
        incoming = IncomingRequest(self, request, source, txn)
        self._run_server(txn, source, txn.start())
        if not self.accepting:
            incoming.respond(
                make_response(
                    request, 503, "Service Unavailable (draining)", headers=_retry_after(1)
                )
            )
            return
        if len(self._tasks) >= self.max_pending:
            # Overload (RFC 3261 §21.5.4, RFC 5390): refuse new work at once rather than
            # queue it until every hop retransmits, which collapses the throughput.
            self.metrics_overload.inc()
            incoming.respond(
                make_response(
                    request, 503, "Service Unavailable (overload)", headers=_retry_after(1)
                )
            )
            return
        self._spawn(self._handle(incoming))

    def _on_cancel(
        self, cancel: SipRequest, source: Target, key: tuple[str, str, int | None, str]
    ) -> None:
        """§16.10: answer the CANCEL hop by hop and cancel what we forwarded downstream."""
        txn = ServerTransaction(cancel, reliable=source.transport != "udp", t1=self.t1, key=key)
        self._server_txns[key] = (txn, source)
        self._run_server(txn, source, txn.start())
        invite_key = (*key[:3], "INVITE")
        found = self._server_txns.get(invite_key)
        if found is None:
            status, reason = 481, "Call/Transaction Does Not Exist"
        else:
            status, reason = 200, "OK"
        self._run_server(txn, source, txn.send_response(make_response(cancel, status, reason)))
        if found is None:
            return
        invite_txn = found[0]
        forwarded = self._forwarded.get(invite_txn.key)
        if forwarded is None:
            if invite_txn.state in _OPEN_STATES:
                # Not forwarded (yet): answer the INVITE ourselves (§9.2).
                self._run_server(
                    invite_txn,
                    found[1],
                    invite_txn.send_response(
                        make_response(invite_txn.request, 487, "Request Terminated")
                    ),
                )
            return
        entry = self._client_txns.get(forwarded.txn.key)
        if entry is None or entry.txn.state not in ("proceeding",):
            # §9.1: a CANCEL goes only after a provisional; the response will end it.
            if entry is not None:
                entry.cancel_pending = True
            return
        self._send_cancel(entry)

    def _send_cancel(self, entry: _ClientEntry) -> None:
        """§9.1: CANCEL with the INVITE's Request-URI, Call-ID, To, From, CSeq number, Route
        and top Via (same branch), in a client transaction of its own."""
        invite = entry.txn.request
        h = Headers()
        h.add("Via", invite.headers.get_all("Via")[0])
        for name in ("Max-Forwards", "From", "To", "Call-ID"):
            value = invite.headers.get(name)
            if value is not None:
                h.add(name, value)
        h.add("CSeq", f"{invite.cseq[0]} CANCEL")
        for route in invite.headers.get_all("Route"):
            h.add("Route", route)
        cancel = SipRequest("CANCEL", invite.uri, h)
        txn = ClientTransaction(cancel, reliable=entry.target.transport != "udp", t1=self.t1)
        future: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        centry = _ClientEntry(txn, entry.target, entry.index, future, None, time.monotonic())
        self._client_txns[txn.key] = centry
        self._run_client(centry, txn.start())

    async def _handle(self, incoming: IncomingRequest) -> None:
        try:
            await self.handler.on_request(incoming)
        except SipError as exc:
            log.warning("request handling failed: %s", exc)
            if incoming.txn is not None and incoming.txn.state in ("trying", "proceeding"):
                status = getattr(exc, "status", 500)
                incoming.respond(make_response(incoming.request, status, str(exc)[:80]))
        except Exception:
            log.exception("request handler crashed", extra={"call_id": _safe_call_id(incoming)})
            if incoming.txn is not None and incoming.txn.state in ("trying", "proceeding"):
                incoming.respond(make_response(incoming.request, 500, "Server Internal Error"))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_response(self, response: SipResponse) -> None:
        try:
            key = client_key(response)
        except SipParseError:
            self.metrics_dropped_responses.inc()
            return
        entry = self._client_txns.get(key)
        if entry is None:
            if not self._forward_to_replica(response):
                self.handler.on_stray_response(response)
            return
        self._run_client(entry, entry.txn.receive_response(response))

    def _forward_to_replica(self, response: SipResponse) -> bool:
        """A response to a request another replica of this NF sent from the shared service
        socket (its top Via, ours, names that replica's client port): pass it on there."""
        via = response.top_via  # parsed before by client_key
        port = via.params.get(REPLICA_PARAM)
        if (
            port is None
            or not port.isdigit()
            or via.host != self.advertise
            or via.port != self.port
            or not 0 < int(port) < 65536
            or int(port) in self._client_ports
        ):
            return False
        self.metrics_replica_forwards.inc()
        host = self.advertise if self.host in ("0.0.0.0", "::", "") else self.host
        self.send_to(response.to_bytes(), Target(host, int(port)))
        return True

    # -- sending --------------------------------------------------------------------------
    def send_to(self, data: bytes, target: Target, *, from_client: int | None = None) -> None:
        """Write bytes to a target; UDP from the service socket unless a client socket."""
        if target.transport == "tcp":
            self._spawn(self._tcp_send(data, target))
            return
        proto = self._server_udp if from_client is None else self._client_udp[from_client]
        if proto is None or proto.transport is None or proto.transport.is_closing():
            proto = self._client_udp[0]  # no service socket (left the service while draining)
        if proto.transport is not None:
            proto.transport.sendto(data, (target.host, target.port))

    async def _tcp_send(self, data: bytes, target: Target) -> None:
        addr = (target.host, target.port)
        conn = self._tcp.get(addr)
        if conn is None:
            pending = self._tcp_connecting.get(addr)
            if pending is None:
                loop = asyncio.get_running_loop()
                pending = loop.create_future()
                self._tcp_connecting[addr] = pending
                try:
                    _, conn = await loop.create_connection(
                        lambda: _TcpConnection(self, outgoing=True), target.host, target.port
                    )
                    pending.set_result(conn)
                except OSError as exc:
                    self.metrics_transport_errors.inc()
                    log.info("SIP/TCP connect to %s:%s failed: %s", *addr, exc)
                    pending.set_exception(exc)
                    pending.exception()  # mark retrieved
                    return
                finally:
                    del self._tcp_connecting[addr]
            else:
                try:
                    conn = await pending
                except OSError:
                    return
        conn.write(data)

    def _via_for(self, transport: str, *, flow: bool = False) -> tuple[str, str, int | None]:
        """(our Via value, its branch, the client socket to send from or None)."""
        branch = new_branch()
        if transport == "tcp":
            return f"SIP/2.0/TCP {self.advertise}:{self.port};branch={branch}", branch, None
        if flow:
            # From the service socket, the address the flow's peer sends to; its responses
            # come back there too, and SO_REUSEPORT may hand them to another replica of this
            # NF. REPLICA_PARAM names this replica's first client socket, where that replica
            # forwards them (_on_response).
            via = (
                f"SIP/2.0/UDP {self.advertise}:{self.port};branch={branch};rport"
                f";{REPLICA_PARAM}={self._client_ports[0]}"
            )
            return via, branch, None
        index = next(self._rr) % len(self._client_udp)
        port = self._client_ports[index]
        return f"SIP/2.0/UDP {self.advertise}:{port};branch={branch};rport", branch, index

    def send_request(
        self,
        request: SipRequest,
        target: Target,
        *,
        on_provisional: Callable[[SipResponse], None] | None = None,
    ) -> asyncio.Future[SipResponse]:
        """Send a request in a new client transaction; resolves with the final response.

        Adds this replica's Via (§16.6 step 8). A timeout resolves with a locally made 408
        whose reason says so (§8.1.3.1), so callers handle one kind of result.
        """
        via, branch, index = self._via_for(target.transport, flow=target.flow)
        request.headers.add("Via", via, first=True)
        txn = ClientTransaction(
            request, reliable=target.transport != "udp", t1=self.t1, branch=branch
        )
        future: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        entry = _ClientEntry(txn, target, index, future, on_provisional, time.monotonic())
        self._client_txns[txn.key] = entry
        self._run_client(entry, txn.start())
        return future

    def forward_stateless(self, request: SipRequest, target: Target) -> None:
        """Forward without a transaction (ACK for 2xx, §16.11), adding our Via."""
        via, _, index = self._via_for(target.transport, flow=target.flow)
        request.headers.add("Via", via, first=True)
        self.send_to(request.to_bytes(), target, from_client=index)

    def send_response_upstream(self, response: SipResponse) -> None:
        """Send a response statelessly to its top Via (§18.2.2): stray 2xx retransmissions."""
        try:
            via = response.top_via
        except SipParseError:
            self.metrics_dropped_responses.inc()
            return
        host = via.params.get("received") or via.host
        rport = via.params.get("rport")
        port = int(rport) if rport else (via.port or 5060)
        self.send_to(response.to_bytes(), Target(host, port, via.transport.lower()))

    async def proxy(
        self,
        incoming: IncomingRequest,
        request: SipRequest,
        target: Target,
        *,
        rewrite: Callable[[SipResponse], None] | None = None,
    ) -> SipResponse:
        """Transaction-stateful proxy hop (§16): relay provisional and final responses.

        *rewrite* may edit the final response before it goes upstream (§16.7 step 5).
        """
        if request.method == "INVITE":
            incoming.reply(100, "Trying")  # §16.2: the proxy answers 100 at once

        def relay(response: SipResponse) -> None:
            if response.status == 100:
                return  # §16.7 step 3: 100 is hop by hop
            response.headers.pop_first("Via")
            incoming.respond(response)

        future = self.send_request(request, target, on_provisional=relay)
        tracked = incoming.txn is not None and request.method == "INVITE"
        if tracked:
            assert incoming.txn is not None
            self._forwarded[incoming.txn.key] = self._client_txns[
                (request.top_via.branch or "", "INVITE")
            ]
        try:
            final = await future
        finally:
            if tracked:
                assert incoming.txn is not None
                self._forwarded.pop(incoming.txn.key, None)
        if final.headers.get("Via") is None:  # made here: the next hop never answered
            out = make_response(incoming.request, final.status, final.reason)
        else:
            final.headers.pop_first("Via")
            out = final
            if rewrite is not None:
                rewrite(out)
        incoming.respond(out)
        return out

    # -- running the sans-IO state machines ------------------------------------------------
    def _run_server(self, txn: ServerTransaction, target: Target, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, SendMessage):
                msg = action.message
                if isinstance(msg, SipResponse) and msg.status >= 200:
                    self.metrics_responses.labels(str(msg.status)).inc()
                self.send_to(msg.to_bytes(), target)
            elif isinstance(action, StartTimer):
                self._start_timer(txn, action.name, action.delay, server=True)
            elif isinstance(action, CancelTimer):
                self._cancel_timer(txn, action.name)
            elif isinstance(action, Terminated):
                self._forget_server(txn)
            elif isinstance(action, DeliverAck | Timeout):
                pass  # ACK for a non-2xx, or no ACK came (timer H): nothing for the TU

    def _forget_server(self, txn: ServerTransaction) -> None:
        self._server_txns.pop(txn.key, None)
        for name in "GHIJ":
            self._cancel_timer(txn, name)

    def _run_client(self, entry: _ClientEntry, actions: list[Any]) -> None:
        txn = entry.txn
        for action in actions:
            if isinstance(action, SendMessage):
                self.send_to(action.message.to_bytes(), entry.target, from_client=entry.index)
            elif isinstance(action, StartTimer):
                self._start_timer(txn, action.name, action.delay, server=False)
            elif isinstance(action, CancelTimer):
                self._cancel_timer(txn, action.name)
            elif isinstance(action, DeliverResponse):
                response = action.response
                if response.status < 200:
                    if entry.cancel_pending:
                        entry.cancel_pending = False
                        self._send_cancel(entry)
                    if entry.on_provisional is not None:
                        entry.on_provisional(response)
                elif not entry.future.done():
                    self.metrics_latency.observe(time.monotonic() - entry.started)
                    entry.future.set_result(response)
            elif isinstance(action, Timeout):
                self.metrics_timeouts.inc()
                if not entry.future.done():
                    timeout = make_response(
                        txn.request, 408, "Request Timeout (no answer from next hop)"
                    )
                    timeout.headers.remove("Via")
                    entry.future.set_result(timeout)
            elif isinstance(action, Terminated):
                self._client_txns.pop(txn.key, None)
                for name in "ABDEFK":
                    self._cancel_timer(txn, name)

    def _start_timer(
        self, txn: ClientTransaction | ServerTransaction, name: str, delay: float, *, server: bool
    ) -> None:
        key = (id(txn), name)
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = self._wheel.call_later(delay, self._timer_fired, txn, name, server)

    def _cancel_timer(self, txn: ClientTransaction | ServerTransaction, name: str) -> None:
        handle = self._timers.pop((id(txn), name), None)
        if handle is not None:
            handle.cancel()

    def _timer_fired(
        self, txn: ClientTransaction | ServerTransaction, name: str, server: bool
    ) -> None:
        self._timers.pop((id(txn), name), None)
        if server:
            assert isinstance(txn, ServerTransaction)
            found = self._server_txns.get(txn.key)
            if found is not None and found[0] is txn:
                self._run_server(txn, found[1], txn.timer_fired(name))
        else:
            assert isinstance(txn, ClientTransaction)
            entry = self._client_txns.get(txn.key)
            if entry is not None and entry.txn is txn:
                self._run_client(entry, txn.timer_fired(name))


@dataclass(slots=True)
class _ClientEntry:
    txn: ClientTransaction
    target: Target
    index: int | None
    future: asyncio.Future[SipResponse]
    on_provisional: Callable[[SipResponse], None] | None
    started: float
    cancel_pending: bool = False


def _retry_after(seconds: int) -> Headers:
    h = Headers()
    h.add("Retry-After", str(seconds))
    return h


def _safe_call_id(incoming: IncomingRequest) -> str:
    try:
        return incoming.request.call_id
    except SipError:
        return ""


_COPY = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")


def _best_effort_error(data: bytes, status: int, reason: str) -> bytes | None:
    """Build an error response for a request the codec rejected, from its raw header lines.

    Only for requests (a malformed response is dropped, §16.7 / §18.1.2) that still carry
    the headers a response needs to be matched: Via, From, To, Call-ID, CSeq.
    """
    if len(data) > MAX_MESSAGE_SIZE:
        data = data[:MAX_MESSAGE_SIZE]
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    if not lines or lines[0].startswith("SIP/") or "SIP/2.0" not in lines[0]:
        return None
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        lname = name.strip().lower()
        if sep and lname in _COPY:
            kept.append(f"{name.strip()}: {value.strip()}")
            seen.add({"v": "via", "f": "from", "t": "to", "i": "call-id"}.get(lname, lname))
    if "via" not in seen:
        return None
    safe_reason = "".join(ch for ch in reason if ch.isprintable())[:120]
    out = [f"SIP/2.0 {status} {safe_reason}", *kept, "Content-Length: 0", "", ""]
    return "\r\n".join(out).encode()

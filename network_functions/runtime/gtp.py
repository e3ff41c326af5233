"""An asyncio GTP-C endpoint (TS 29.274 §7.6): one UDP socket that is both a client and a
server of GTPv2-C, used by the SGW-C, the PGW-C and the MME's S11 client.

Client side — :meth:`GtpEndpoint.request`::

    ep = GtpEndpoint("127.0.0.1", 0, recovery=restart_counter)
    await ep.start()
    msg = gtpv2c.create_session_request(sequence=0, teid=0, imsi=..., ...)
    response = await ep.request((sgw_ip, 2123), msg)   # sequence number filled in
    if response.cause != gtpv2c.CAUSE_REQUEST_ACCEPTED: ...

``request`` gives the message a fresh 24-bit sequence number, sends it, retransmits the
same octets every ``t3`` seconds at most ``n3`` times (§7.6: T3-RESPONSE, N3-REQUESTS)
and returns the response whose (peer, sequence number) match. It raises
:class:`GtpTimeout` when none came, and :class:`~network_functions.protocols.gtpv2c.GtpError`
when the response did not decode or validate (the caller usually answers its own peer
with cause 107 "Invalid reply from remote peer" then). Responses are validated against
their §7 table before they are returned.

Server side — a handler: ``async def handler(request: Message, peer) -> Message | None``.
It receives decoded, validated requests of the types it registered for and returns the
response (its sequence number is set here to the request's) or None for no answer. A
:class:`GtpError` it raises becomes the §7.7 rejection (same sequence number, Cause with
the offending IE, TEID ``err.teid``); a request that fails to decode or validate is
rejected the same way without reaching the handler, and one the spec says to drop
(§7.7.3, §7.7.4) is dropped. Duplicates (§7.6): a request whose (peer, sequence number)
was answered in the last ``cache_ttl`` seconds is answered again from the response cache
without calling the handler; one still being handled is ignored (the answer will come).

Echo (§7.1): the endpoint answers Echo Requests itself with its Recovery (restart)
counter, and :meth:`GtpEndpoint.echo` asks a peer for its own. Every Recovery IE a peer
sends updates :attr:`GtpEndpoint.peer_recovery`; ``on_peer_restart(peer, old, new)``
is called when it changes (§7.1.1: the peer restarted and lost its contexts).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols import gtpv2c
from network_functions.protocols.gtpv2c import GtpError, Message

from .metrics import Registry
from .store import Store

__all__ = ["GtpConfig", "GtpEndpoint", "GtpHandler", "GtpTimeout", "Peer", "TeidAllocator"]

log = logging.getLogger("nfv.gtp")

Peer = tuple[str, int]
GtpHandler = Callable[[Message, Peer], Awaitable[Message | None]]

# §7.6 defaults: T3-RESPONSE and N3-REQUESTS are operator settings; 3 s x 3 is common.
DEFAULT_T3 = 3.0
DEFAULT_N3 = 3
# Answered requests are remembered at least as long as the peer may retransmit them
# (T3 x (N3 + 1) with the peer's defaults) so a duplicate is never processed twice.
DEFAULT_CACHE_TTL = 15.0
# Bound on cached responses (memory): ~100 bytes each; 200 k covers 13 k requests/s x 15 s.
CACHE_LIMIT = 200_000
# A busy endpoint queues bursts in the kernel instead of dropping them.
SOCKET_BUFFER = 4 * 1024 * 1024


class GtpTimeout(Exception):
    """No response after the N3 retransmissions of a request."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: GtpEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.endpoint._received(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        log.debug("gtp socket error: %s", exc)


class GtpEndpoint:
    """One GTP-C UDP socket: requests out with retransmission, requests in to a handler."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        recovery: int = 0,
        handler: GtpHandler | None = None,
        t3: float = DEFAULT_T3,
        n3: int = DEFAULT_N3,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        metrics: Registry | None = None,
        on_peer_restart: Callable[[Peer, int, int], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.recovery = recovery & 0xFF
        self.handler = handler
        self.t3, self.n3, self.cache_ttl = t3, n3, cache_ttl
        self.on_peer_restart = on_peer_restart
        self.peer_recovery: dict[Peer, int] = {}
        self._transport: asyncio.DatagramTransport | None = None  # the server socket
        self._client: asyncio.DatagramTransport | None = None  # requests leave from here
        self._seq = random.randrange(gtpv2c.MAX_SEQUENCE)
        self._pending: dict[tuple[Peer, int], asyncio.Future[Message]] = {}
        self._cache: OrderedDict[tuple[Peer, int], tuple[float, bytes]] = OrderedDict()
        self._inflight: set[tuple[Peer, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        reg = metrics if metrics is not None else Registry()
        self.m_in = reg.counter("gtp_messages_received_total", "GTP-C messages in", ("type",))
        self.m_out = reg.counter("gtp_messages_sent_total", "GTP-C messages out", ("type",))
        self.m_retrans = reg.counter(
            "gtp_retransmissions_total", "GTP-C requests retransmitted (T3 expired)"
        )
        self.m_timeouts = reg.counter(
            "gtp_request_timeouts_total", "GTP-C requests without a response after N3"
        )
        self.m_dups = reg.counter(
            "gtp_duplicate_requests_total", "retransmitted requests answered from the cache"
        )
        self.m_errors = reg.counter(
            "gtp_rejected_total", "GTP-C messages rejected or dropped by error", ("cause",)
        )

    # -- life cycle -------------------------------------------------------------------------
    async def _open(self, port: int, *, shared: bool) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            if shared:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.host, port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        return transport

    async def start(self) -> None:
        """Bind the sockets. With a fixed port (a server: SGW-C, PGW-C) the port is shared
        by every replica on the same address (SO_REUSEPORT: the local platform gives all
        replicas of an NF one address; the kernel pins each peer's flow to one of them), and
        requests this endpoint sends leave from a second, ephemeral socket of its own, so
        their responses come back to this replica (§4.2.2: a response goes to the request's
        source port) and not to whichever replica the shared port would hash them to. With
        port 0 (a client such as the MME's S11) one ephemeral socket does both."""
        if self.port:
            self._transport = await self._open(self.port, shared=True)
            self._client = await self._open(0, shared=False)
        else:
            self._transport = self._client = await self._open(0, shared=False)
            self.port = self._transport.get_extra_info("sockname")[1]

    @property
    def address(self) -> Peer:
        return (self.host, self.port)

    async def drain(self) -> None:
        """Stop handling new requests; wait for the handlers and requests in flight."""
        self._closing = True
        while self._tasks or self._pending:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(GtpTimeout("endpoint closed"))
        self._pending.clear()
        for transport in {self._transport, self._client}:
            if transport is not None:
                transport.close()
        self._transport = self._client = None

    # -- client side --------------------------------------------------------------------------
    def next_sequence(self) -> int:
        self._seq = (self._seq + 1) & gtpv2c.MAX_SEQUENCE
        return self._seq

    def _send(self, data: bytes, peer: Peer, *, request: bool = False) -> None:
        transport = self._client if request else self._transport
        if transport is None:
            raise GtpTimeout("endpoint is not started")
        transport.sendto(data, peer)

    async def request(
        self, peer: Peer, msg: Message, *, t3: float | None = None, n3: int | None = None
    ) -> Message:
        """Send request ``msg`` (its sequence number is set here) and return the validated
        response. Raises GtpTimeout after N3 retransmissions, GtpError on a bad response."""
        t3 = self.t3 if t3 is None else t3
        n3 = self.n3 if n3 is None else n3
        msg.sequence = self.next_sequence()
        key = (peer, msg.sequence)
        while key in self._pending:  # 2^24 wrap with a request still open: skip
            msg.sequence = self.next_sequence()
            key = (peer, msg.sequence)
        data = msg.encode()
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        name = msg.name
        try:
            for attempt in range(n3 + 1):
                self._send(data, peer, request=True)
                self.m_out.labels(name).inc()
                if attempt:
                    self.m_retrans.inc()
                try:
                    return await asyncio.wait_for(asyncio.shield(fut), t3)
                except TimeoutError:
                    continue
            self.m_timeouts.inc()
            raise GtpTimeout(f"no response to {name} from {peer[0]}:{peer[1]} after {n3} retries")
        finally:
            self._pending.pop(key, None)
            if not fut.done():
                fut.cancel()

    async def echo(self, peer: Peer, *, t3: float | None = None, n3: int | None = None) -> int:
        """Echo Request (§7.1.1); returns the peer's Recovery counter."""
        req = gtpv2c.echo_request(0, self.recovery)
        resp = await self.request(peer, req, t3=t3, n3=n3)
        value = resp.get(gtpv2c.IE_RECOVERY)
        return int(value) if value is not None else 0

    # -- receive path ---------------------------------------------------------------------------
    def _note_recovery(self, peer: Peer, msg: Message) -> None:
        value = msg.get(gtpv2c.IE_RECOVERY)
        if value is None:
            return
        old = self.peer_recovery.get(peer)
        self.peer_recovery[peer] = value
        if old is not None and old != value and self.on_peer_restart is not None:
            self.on_peer_restart(peer, old, value)

    def _received(self, data: bytes, peer: Peer) -> None:
        try:
            msg = gtpv2c.decode(data)
        except GtpError as exc:
            head = exc.header
            fut = None if head is None else self._pending.get((peer, head.sequence))
            if head is not None and head.type in gtpv2c.RESPONSES and fut and not fut.done():
                # A malformed response to an open request fails it now, not after N3 x T3.
                self.m_errors.labels(str(exc.cause)).inc()
                fut.set_exception(exc)
                return
            self._reject(exc, peer)
            return
        self.m_in.labels(msg.name).inc()
        if msg.type in gtpv2c.REQUESTS:
            self._request_in(msg, peer)
        else:
            self._response_in(msg, peer)

    def _response_in(self, msg: Message, peer: Peer) -> None:
        fut = self._pending.get((peer, msg.sequence))
        if fut is None or fut.done():
            # §7.6: a response to no open request (late duplicate) is discarded.
            return
        self._note_recovery(peer, msg)
        try:
            gtpv2c.validate(msg)
        except GtpError as exc:
            self.m_errors.labels(str(exc.cause)).inc()
            fut.set_exception(exc)
            return
        fut.set_result(msg)

    def _request_in(self, msg: Message, peer: Peer) -> None:
        key = (peer, msg.sequence)
        cached = self._cache.get(key)
        if cached is not None:
            if cached[0] > time.monotonic():
                self.m_dups.inc()
                self._send(cached[1], peer)
                return
            del self._cache[key]
        if key in self._inflight:
            self.m_dups.inc()
            return
        if msg.type == gtpv2c.ECHO_REQUEST:
            self._note_recovery(peer, msg)
            self._reply(key, gtpv2c.echo_response(msg, self.recovery).encode(), peer)
            return
        if self.handler is None or self._closing:
            return
        try:
            gtpv2c.validate(msg)
        except GtpError as exc:
            self._reject(exc, peer)
            return
        self._inflight.add(key)
        task = asyncio.get_running_loop().create_task(self._handle(msg, peer, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, msg: Message, peer: Peer, key: tuple[Peer, int]) -> None:
        assert self.handler is not None
        try:
            try:
                response = await self.handler(msg, peer)
            except GtpError as exc:
                if exc.header is None:
                    exc.header = gtpv2c.Header(msg.type, msg.teid, msg.sequence, 0)
                sender = msg.get(gtpv2c.IE_FTEID, 0)
                if not exc.teid and msg.type == gtpv2c.CREATE_SESSION_REQUEST and sender:
                    # §5.5.2: reject to the requester's TEID from its Sender F-TEID.
                    exc.teid = sender.teid
                self.m_errors.labels(str(exc.cause)).inc()
                response = gtpv2c.error_response(exc, sequence=msg.sequence)
            except Exception:
                log.exception("GTP handler failed on %s from %s", msg.name, peer)
                err = GtpError(
                    gtpv2c.CAUSE_SYSTEM_FAILURE,
                    "handler failed",
                    header=gtpv2c.Header(msg.type, msg.teid, msg.sequence, 0),
                )
                response = gtpv2c.error_response(err)
            if response is not None:
                response.sequence = msg.sequence
                self._reply(key, response.encode(), peer)
        finally:
            self._inflight.discard(key)

    def _reply(self, key: tuple[Peer, int], data: bytes, peer: Peer) -> None:
        now = time.monotonic()
        cache = self._cache
        cache[key] = (now + self.cache_ttl, data)
        cache.move_to_end(key)
        while cache:
            first = next(iter(cache.values()))
            if first[0] > now and len(cache) <= CACHE_LIMIT:
                break
            cache.popitem(last=False)
        self.m_out.labels(gtpv2c.MESSAGE_NAMES.get(data[1], str(data[1]))).inc()
        self._send(data, peer)

    def _reject(self, exc: GtpError, peer: Peer) -> None:
        self.m_errors.labels(str(exc.cause)).inc()
        log.info("GTP-C message from %s:%s rejected: %s", peer[0], peer[1], exc)
        if exc.action == "version":
            seq = exc.header.sequence if exc.header is not None else 0
            self._send(gtpv2c.version_not_supported(seq), peer)
            return
        response = gtpv2c.error_response(exc)
        if response is None or exc.header is None:
            return
        if response.type == gtpv2c.ECHO_RESPONSE:
            response = gtpv2c.echo_response(response, self.recovery)
        self._reply((peer, exc.header.sequence), response.encode(), peer)


# -- shared by the GTP-C NFs -----------------------------------------------------------------
class GtpConfig(BaseModel):
    """The ``gtp:`` section of a GTP-C NF's config (SGW-C, PGW-C)."""

    model_config = ConfigDict(extra="forbid")
    port: int = Field(default=gtpv2c.GTPC_PORT, ge=0, le=65535)
    # §7.6 T3-RESPONSE (seconds) and N3-REQUESTS towards the next hop.
    t3: float = Field(default=DEFAULT_T3, gt=0)
    n3: int = Field(default=DEFAULT_N3, ge=0, le=10)
    # Echo Request period towards the next hop (§7.1; path management, TS 23.007 §20).
    echo_interval: float = Field(default=5.0, gt=0)
    # TEIDs taken from the store per refill (see TeidAllocator).
    teid_block: int = Field(default=1024, ge=1, le=1 << 20)

    def endpoint(self, host: str, *, handler: GtpHandler, metrics: Registry) -> GtpEndpoint:
        """The NF's GTP-C socket on ``host`` with this section's port and T3/N3."""
        return GtpEndpoint(
            host, self.port, handler=handler, t3=self.t3, n3=self.n3, metrics=metrics
        )

    async def restore(
        self, store: Store, endpoint: GtpEndpoint, *, prefix: str, replica: str
    ) -> TeidAllocator:
        """What a GTP-C NF takes from the shared store on start: its TEID allocator (block
        counter ``<prefix>:teid-block``) and, on ``endpoint``, this replica's Recovery value,
        one more on every restart (§8.5, TS 23.007 §18: a peer seeing it change knows our
        contexts are gone)."""
        teids = TeidAllocator(store, f"{prefix}:teid-block", block=self.teid_block)
        endpoint.recovery = (await store.incr(f"{prefix}:recovery:{replica}")) & 0xFF
        return teids


class TeidAllocator:
    """TEIDs unique across every replica sharing a store (TS 29.274 §5.5.2 wants them
    unique per GTP-C entity; replicas share one identity behind a Service, so they share
    one TEID space). Each replica takes a block of ``block`` TEIDs at a time with an
    atomic ``incr`` on ``key`` and hands them out from memory, so the store is touched
    once per block. TEID 0 is never allocated (§5.5.2: "not yet known"). After 2^32
    TEIDs the blocks wrap around; by then the sessions of the first ones are long gone.
    """

    def __init__(self, store: Store, key: str, *, block: int = 1024) -> None:
        self.store, self.key, self.block = store, key, block
        self._next = 0
        self._end = 0
        self._lock = asyncio.Lock()
        self._blocks = (gtpv2c.MAX_TEID + 1) // block

    async def allocate(self) -> int:
        """A fresh TEID; raises StoreError when the store cannot be reached."""
        if self._next >= self._end:
            async with self._lock:
                if self._next >= self._end:
                    n = await self.store.incr(self.key)
                    index = n % self._blocks or 1  # block 0 would include TEID 0
                    self._next = index * self.block
                    self._end = self._next + self.block
        teid = self._next
        self._next += 1
        return teid

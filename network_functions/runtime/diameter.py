"""Diameter peers over TCP (RFC 6733 §5): the server side and the client pool.

* :class:`DiameterServer` accepts connections (SO_REUSEPORT, so replicas share the port),
  runs capabilities exchange (CER/CEA, with an Origin-Host allowlist and application
  check), answers DWR and DPR, validates requests against the dictionary and hands them to
  the NF's handler; protocol errors get the RFC's result codes, broken framing closes the
  connection (§3, §7).
  It can also send requests to a connected peer (:meth:`DiameterServer.request`, e.g. the
  HSS's Cancel-Location to the old MME, the PCRF's Re-Auth to the PGW) and match the answers.
* :class:`DiameterClient` keeps a small pool of connections to a peer *service* found by
  name. Requests that the peer sends on those connections (CLR, RAR) go to an optional
  ``request_handler``; without one they are answered DIAMETER_COMMAND_UNSUPPORTED. Each
  connection does CER on connect and DWR when idle (§5.5, Tw), and reconnects
  with exponential backoff. Requests rotate over the open connections, so the peer's
  replicas share the load, and a new replica gets work as soon as a connection lands on
  it (ARCHITECTURE principle 6: connections are re-opened periodically).

SCTP is used instead of TCP where the kernel has it and the config asks for it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import cast

from network_functions.protocols.diameter import (
    CMD_CER,
    CMD_DPR,
    CMD_DWR,
    DiameterParseError,
    IdGenerator,
    Message,
    ResultCode,
    StreamParser,
    error_answer,
    make_cer,
    make_dpr,
    make_dwr,
    validate,
)

from .metrics import Registry
from .names import NameResolutionError, NameTable
from .timers import TimerWheel

log = logging.getLogger("nfv.diameter")

PRODUCT_NAME = "nfv"
VENDOR_ID = 0
# Seconds to wait for an answer before failing a request (§5.5.4 failover is not done here).
REQUEST_TIMEOUT = 5.0
# Backoff bounds when (re)connecting to a peer.
RECONNECT_MIN = 0.2
RECONNECT_MAX = 5.0
# A client connection is re-opened after this long so new peer replicas get a share.
CONNECTION_MAX_AGE = 30.0

Handler = Callable[[Message], Awaitable[Message]]


def sctp_available() -> bool:
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    except OSError:
        return False
    s.close()
    return True


class TransportUnavailable(OSError):
    """The configured transport cannot be used on this host (e.g. no SCTP in the kernel)."""


def stream_socket(host: str, transport: str) -> socket.socket:
    """A TCP or SCTP (one-to-one style, RFC 6733 §2.1) socket for *host*'s family."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if transport == "tcp":
        return socket.socket(family, socket.SOCK_STREAM)
    if transport != "sctp":
        raise TransportUnavailable(f"unknown Diameter transport {transport!r} (tcp or sctp)")
    try:
        return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    except OSError as exc:
        raise TransportUnavailable(
            f"Diameter over SCTP was configured but this kernel has no SCTP ({exc.strerror});"
            " set diameter.transport: tcp"
        ) from exc


class _Connection(asyncio.Protocol):
    """One Diameter transport connection, either side."""

    def __init__(
        self,
        on_message: Callable[[_Connection, Message], None],
        on_lost: Callable[[_Connection], None],
    ) -> None:
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.peer_host = ""  # Origin-Host learnt from CER/CEA
        self.peer_addr: tuple[str, int] = ("", 0)
        self.open = False
        self._on_message = on_message
        self._on_lost = on_lost
        self.last_rx = time.monotonic()
        self._outbox: list[bytes] = []  # encoded messages waiting for _flush
        # Requests we sent on a server-side connection, by hop-by-hop id (DiameterServer.request).
        self.pending: dict[int, asyncio.Future[Message]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer_addr = (str(peer[0]), int(peer[1]))
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.proto != socket.IPPROTO_SCTP:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        try:
            messages = self.parser.feed(data)
        except DiameterParseError as exc:
            log.info(
                "closing Diameter connection from %s:%s: framing broken (%s)", *self.peer_addr, exc
            )
            self.close()
            return
        for message in messages:
            self._on_message(self, message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._on_lost(self)

    def send(self, message: Message) -> None:
        """Queue a message; the messages queued in one event-loop iteration (answers of the
        requests that arrived together, requests of concurrent transactions) go out in one
        write, i.e. one system call instead of one each."""
        if self.transport is None or self.transport.is_closing():
            return
        data = message.encode()
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(data)

    def _flush(self) -> None:
        outbox = self._outbox
        if not outbox:
            return
        self._outbox = []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(outbox[0] if len(outbox) == 1 else b"".join(outbox))

    def close(self) -> None:
        self.open = False
        self._flush()  # what was sent before closing still goes out (e.g. a refusing CEA)
        if self.transport is not None:
            self.transport.close()


class DiameterServer:
    """Accepts Diameter peers and serves requests of the given applications."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        origin_host: str,
        origin_realm: str,
        advertise: str,
        auth_applications: list[int],
        vendor_applications: list[tuple[int, int]],
        handler: Handler,
        metrics: Registry,
        allow: list[str] | None = None,
        transport: str = "tcp",
    ) -> None:
        self.host, self.port = host, port
        self.origin_host, self.origin_realm = origin_host, origin_realm
        self.advertise = advertise
        self.auth_applications = auth_applications
        self.vendor_applications = vendor_applications
        self.handler = handler
        self.allow = allow or []
        self.transport = transport
        self.ids = IdGenerator()
        self._rr = itertools.count()
        self._server: asyncio.Server | None = None
        self._conns: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True
        self.m_requests = metrics.counter(
            "diameter_requests_total", "Diameter requests received", ("command",)
        )
        self.m_answers = metrics.counter(
            "diameter_answers_sent_total", "Diameter answers sent", ("command", "result")
        )
        self.m_latency = metrics.histogram(
            "diameter_request_seconds", "time to answer a Diameter request", ("command",)
        )
        peers = metrics.gauge("diameter_peers", "open Diameter peer connections")
        peers.set_function(lambda: float(sum(1 for c in self._conns if c.open)))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = stream_socket(self.host, self.transport)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        if self.port == 0:
            self.port = sock.getsockname()[1]
        self._server = await loop.create_server(self._make_conn, sock=sock, backlog=256)

    def _make_conn(self) -> _Connection:
        conn = _Connection(self._on_message, self._lost)
        self._conns.add(conn)
        return conn

    def _lost(self, conn: _Connection) -> None:
        self._conns.discard(conn)
        for future in conn.pending.values():
            if not future.done():
                future.set_exception(DiameterUnavailable(f"connection to {conn.peer_host} lost"))
        conn.pending.clear()

    def connected_peers(self) -> set[str]:
        """Origin-Hosts of the peers with an open connection to this server."""
        return {c.peer_host for c in self._conns if c.open}

    async def request(
        self, peer_host: str, msg: Message, *, timeout: float = REQUEST_TIMEOUT
    ) -> Message:
        """Send a request to a peer connected to this server (by its Origin-Host) and await
        the answer (RFC 6733 §6.1: a server sends requests on the peer connection, too).

        Fills hop-by-hop and end-to-end ids. Raises DiameterUnavailable when the peer has no
        open connection here or does not answer in time.
        """
        conns = [c for c in self._conns if c.open and c.peer_host == peer_host]
        if not conns:
            raise DiameterUnavailable(f"no open Diameter connection from {peer_host}")
        conn = conns[next(self._rr) % len(conns)]
        msg.hop_by_hop = self.ids.next_hop_by_hop()
        msg.end_to_end = self.ids.next_end_to_end()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Message] = loop.create_future()
        conn.pending[msg.hop_by_hop] = future
        conn.send(msg)
        timer = loop.call_later(timeout, _expire, future)
        try:
            return await future
        except TimeoutError:
            raise DiameterUnavailable(
                f"{peer_host} did not answer {msg.name} in {timeout}s"
            ) from None
        finally:
            timer.cancel()
            conn.pending.pop(msg.hop_by_hop, None)

    def _allowed(self, origin_host: str) -> bool:
        if not self.allow:
            return origin_host == self.origin_realm or origin_host.endswith("." + self.origin_realm)
        return any(origin_host == a or origin_host.endswith("." + a) for a in self.allow)

    def _on_message(self, conn: _Connection, msg: Message) -> None:
        if not msg.is_request:
            # Answers to our requests (request()); the DPA to the DPR sent on close has no
            # waiter and is dropped.
            future = conn.pending.pop(msg.hop_by_hop, None)
            if future is not None and not future.done():
                if msg.decode_error is not None:
                    future.set_exception(
                        DiameterUnavailable(f"{conn.peer_host} sent a malformed {msg.name}")
                    )
                else:
                    future.set_result(msg)
            return
        cmd = msg.command_code
        if cmd == CMD_CER:
            self._on_cer(conn, msg)
            return
        if not conn.open:
            # §5.6: requests before CER are answered only by closing.
            conn.close()
            return
        if cmd == CMD_DWR:
            conn.send(self._answer(msg, ResultCode.DIAMETER_SUCCESS))
            return
        if cmd == CMD_DPR:
            conn.send(self._answer(msg, ResultCode.DIAMETER_SUCCESS))
            asyncio.get_running_loop().call_later(0.5, conn.close)
            return
        task = asyncio.get_running_loop().create_task(self._serve(conn, msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _answer(self, req: Message, code: int) -> Message:
        return req.answer(code, origin_host=self.origin_host, origin_realm=self.origin_realm)

    def _on_cer(self, conn: _Connection, cer: Message) -> None:
        try:
            if cer.decode_error is not None:
                raise cer.decode_error
            validate(cer)
        except DiameterParseError as exc:
            conn.send(
                error_answer(cer, exc, origin_host=self.origin_host, origin_realm=self.origin_realm)
            )
            conn.close()
            return
        origin = str(cer.get("Origin-Host", ""))
        if not self._allowed(origin):
            log.warning("refusing Diameter peer %s (not in the allowlist)", origin)
            cea = self._cea(cer, ResultCode.DIAMETER_UNKNOWN_PEER)
            conn.send(cea)
            asyncio.get_running_loop().call_later(0.2, conn.close)
            return
        offered_auth = set(cer.get_all("Auth-Application-Id"))
        offered_vendor = set()
        for vsa in cer.get_all("Vendor-Specific-Application-Id"):
            app = vsa.get("Auth-Application-Id")
            if app is not None:
                offered_vendor.add(int(app))
        ours = set(self.auth_applications) | {a for _, a in self.vendor_applications}
        relay = 0xFFFFFFFF
        if not (ours & (offered_auth | offered_vendor)) and relay not in offered_auth:
            conn.send(self._cea(cer, ResultCode.DIAMETER_NO_COMMON_APPLICATION))
            asyncio.get_running_loop().call_later(0.2, conn.close)
            return
        conn.peer_host = origin
        conn.open = True
        conn.send(self._cea(cer, ResultCode.DIAMETER_SUCCESS))
        log.info("Diameter peer %s connected from %s:%s", origin, *conn.peer_addr)

    def _cea(self, cer: Message, code: int) -> Message:
        cea = self._answer(cer, code)
        cea.add("Host-IP-Address", self.advertise)
        cea.add("Vendor-Id", VENDOR_ID)
        cea.add("Product-Name", PRODUCT_NAME)
        for app in self.auth_applications:
            cea.add("Auth-Application-Id", app)
        for vendor, app in self.vendor_applications:
            cea.add("Supported-Vendor-Id", vendor)
            cea.add(
                "Vendor-Specific-Application-Id",
                [("Vendor-Id", vendor), ("Auth-Application-Id", app)],
            )
        return cea

    async def _serve(self, conn: _Connection, req: Message) -> None:
        started = time.monotonic()
        name = req.name
        self.m_requests.labels(name).inc()
        try:
            if req.decode_error is not None:
                raise req.decode_error
            validate(req)
            answer = await self.handler(req)
        except DiameterParseError as exc:
            answer = error_answer(
                req, exc, origin_host=self.origin_host, origin_realm=self.origin_realm
            )
        except Exception:
            log.exception("Diameter handler crashed on %s", name)
            answer = self._answer(req, ResultCode.DIAMETER_UNABLE_TO_COMPLY)
        code = answer.get("Result-Code")
        if code is None:
            exp = answer.get("Experimental-Result")
            code = exp.get("Experimental-Result-Code") if exp is not None else 0
        self.m_answers.labels(answer.name, str(code)).inc()
        self.m_latency.labels(name).observe(time.monotonic() - started)
        conn.send(answer)

    async def drain(self) -> None:
        self.accepting = False
        if self._server is not None:
            self._server.close()
        while self._tasks:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            if conn.open:
                conn.send(
                    make_dpr(
                        origin_host=self.origin_host,
                        origin_realm=self.origin_realm,
                        disconnect_cause=0,
                        hop_by_hop=self.ids.next_hop_by_hop(),
                        end_to_end=self.ids.next_end_to_end(),
                    )
                )
            conn.close()


def _expire(future: asyncio.Future[Message]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class DiameterUnavailable(Exception):
    """No open connection to the peer, or it did not answer in time."""


class _ClientConn:
    def __init__(self, client: DiameterClient, slot: int) -> None:
        self.client = client
        self.slot = slot
        self.conn: _Connection | None = None
        self.pending: dict[int, asyncio.Future[Message]] = {}
        self.opened_at = 0.0
        self.task: asyncio.Task[None] | None = None
        self.lost: asyncio.Future[None] | None = None


class DiameterClient:
    """A pool of connections to one peer service, found by name."""

    def __init__(
        self,
        *,
        peer: str,
        port: int,
        names: NameTable,
        origin_host: str,
        origin_realm: str,
        advertise: str,
        auth_applications: list[int],
        vendor_applications: list[tuple[int, int]],
        metrics: Registry,
        connections: int = 2,
        watchdog: float = 6.0,
        transport: str = "tcp",
        request_handler: Handler | None = None,
    ) -> None:
        self.peer, self.port, self.names = peer, port, names
        # Serves requests the peer sends on our connections (e.g. CLR, RAR); validated first.
        self.request_handler = request_handler
        self._tasks: set[asyncio.Task[None]] = set()
        self.origin_host, self.origin_realm = origin_host, origin_realm
        self.advertise = advertise
        self.auth_applications = auth_applications
        self.vendor_applications = vendor_applications
        self.watchdog = watchdog
        self.transport = transport
        self.ids = IdGenerator()
        self._slots = [_ClientConn(self, i) for i in range(connections)]
        self._rr = itertools.count()
        # Answer timeouts (one per request, nearly all cancelled) on a coarse wheel (timers.py).
        self._timeouts = TimerWheel(tick=0.05)
        self._closing = False
        self.peer_host = ""
        self.m_requests = metrics.counter(
            "diameter_client_requests_total", "Diameter requests sent", ("peer", "command")
        )
        self.m_failures = metrics.counter(
            "diameter_client_failures_total", "Diameter requests without an answer", ("peer",)
        )

    @property
    def ready(self) -> bool:
        return any(s.conn is not None and s.conn.open for s in self._slots)

    async def readiness(self) -> str | None:
        if self.ready:
            return None
        return f"no Diameter connection to {self.peer}:{self.port} (CER not answered yet)"

    def start(self) -> None:
        for slot in self._slots:
            slot.task = asyncio.get_running_loop().create_task(self._keep(slot))

    async def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.ready

    async def _keep(self, slot: _ClientConn) -> None:
        """Connect, CER, watchdog; on loss reconnect with exponential backoff + jitter."""
        backoff = RECONNECT_MIN
        while not self._closing:
            try:
                await self._connect(slot)
                backoff = RECONNECT_MIN
                await self._watch(slot)
            except (OSError, DiameterUnavailable, TimeoutError, NameResolutionError) as exc:
                # A peer Service without ready endpoints has no DNS name yet (Kubernetes
                # headless Service): retry like a refused connection.
                log.info("Diameter peer %s:%s: %s", self.peer, self.port, exc)
            finally:
                self._fail_pending(slot, "connection lost")
                if slot.conn is not None:
                    slot.conn.close()
                    slot.conn = None
            if self._closing:
                return
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, RECONNECT_MAX)

    async def _connect(self, slot: _ClientConn) -> None:
        loop = asyncio.get_running_loop()
        host = await self.names.resolve_async(self.peer)
        lost: asyncio.Future[None] = loop.create_future()

        def on_lost(_c: _Connection) -> None:
            if not lost.done():
                lost.set_result(None)

        sock = stream_socket(host, self.transport)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, self.port)), REQUEST_TIMEOUT)
        except BaseException:
            sock.close()
            raise
        _, conn = await loop.create_connection(
            lambda: _Connection(lambda c, m: self._on_message(slot, m), on_lost), sock=sock
        )
        slot.conn = conn
        slot.lost = lost
        cer = make_cer(
            origin_host=self.origin_host,
            origin_realm=self.origin_realm,
            host_ip_addresses=[self.advertise],
            vendor_id=VENDOR_ID,
            product_name=PRODUCT_NAME,
            auth_application_ids=self.auth_applications,
            vendor_specific_application_ids=self.vendor_applications,
            hop_by_hop=self.ids.next_hop_by_hop(),
            end_to_end=self.ids.next_end_to_end(),
        )
        cea = await self._exchange(slot, cer, opened=False)
        code = cea.get("Result-Code")
        if code != ResultCode.DIAMETER_SUCCESS:
            raise DiameterUnavailable(f"CER refused with Result-Code {code}")
        self.peer_host = str(cea.get("Origin-Host", ""))
        conn.peer_host = self.peer_host
        conn.open = True
        slot.opened_at = time.monotonic()
        log.info("Diameter connection to %s (%s:%s) open", self.peer_host, host, self.port)

    async def _watch(self, slot: _ClientConn) -> None:
        conn = slot.conn
        assert conn is not None
        lost = slot.lost
        assert lost is not None
        while not self._closing:
            interval = self.watchdog * (0.9 + 0.2 * random.random())  # §5.5.3 jitter
            try:
                await asyncio.wait_for(asyncio.shield(lost), interval)
                return  # connection lost
            except TimeoutError:
                pass
            if time.monotonic() - slot.opened_at > CONNECTION_MAX_AGE and self._others_open(slot):
                # Rotate so that new replicas of the peer get a share of the connections.
                await self._disconnect(slot, cause=0)
                return
            if time.monotonic() - conn.last_rx >= interval * 0.9:
                dwr = make_dwr(
                    origin_host=self.origin_host,
                    origin_realm=self.origin_realm,
                    hop_by_hop=self.ids.next_hop_by_hop(),
                    end_to_end=self.ids.next_end_to_end(),
                )
                await self._exchange(slot, dwr)

    def _others_open(self, slot: _ClientConn) -> bool:
        return any(s is not slot and s.conn is not None and s.conn.open for s in self._slots)

    async def _disconnect(self, slot: _ClientConn, *, cause: int) -> None:
        conn = slot.conn
        if conn is None:
            return
        conn.open = False  # no new requests on it
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while slot.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        dpr = make_dpr(
            origin_host=self.origin_host,
            origin_realm=self.origin_realm,
            disconnect_cause=cause,
            hop_by_hop=self.ids.next_hop_by_hop(),
            end_to_end=self.ids.next_end_to_end(),
        )
        try:
            await self._exchange(slot, dpr, opened=False, timeout=1.0)
        except (DiameterUnavailable, TimeoutError):
            pass
        conn.close()

    def _on_message(self, slot: _ClientConn, msg: Message) -> None:
        conn = slot.conn
        if msg.is_request:
            if conn is None:
                return
            if msg.command_code == CMD_DWR:
                conn.send(
                    msg.answer(
                        ResultCode.DIAMETER_SUCCESS,
                        origin_host=self.origin_host,
                        origin_realm=self.origin_realm,
                    )
                )
            elif msg.command_code == CMD_DPR:
                conn.send(
                    msg.answer(
                        ResultCode.DIAMETER_SUCCESS,
                        origin_host=self.origin_host,
                        origin_realm=self.origin_realm,
                    )
                )
                conn.open = False
            elif self.request_handler is not None and conn.open:
                task = asyncio.get_running_loop().create_task(self._serve(conn, msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                conn.send(
                    msg.answer(
                        ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                        origin_host=self.origin_host,
                        origin_realm=self.origin_realm,
                    )
                )
            return
        future = slot.pending.pop(msg.hop_by_hop, None)
        if future is None or future.done():
            return
        if msg.decode_error is not None:
            future.set_exception(
                DiameterUnavailable(f"{self.peer} sent a malformed {msg.name}: {msg.decode_error}")
            )
        else:
            future.set_result(msg)

    async def _serve(self, conn: _Connection, req: Message) -> None:
        """Answer a request from the peer with the request handler (RFC 6733 §7 errors)."""
        handler = self.request_handler
        assert handler is not None
        try:
            validate(req)
            answer = await handler(req)
        except DiameterParseError as exc:
            answer = error_answer(
                req, exc, origin_host=self.origin_host, origin_realm=self.origin_realm
            )
        except Exception:
            log.exception("Diameter request handler crashed on %s", req.name)
            answer = req.answer(
                ResultCode.DIAMETER_UNABLE_TO_COMPLY,
                origin_host=self.origin_host,
                origin_realm=self.origin_realm,
            )
        conn.send(answer)

    def _fail_pending(self, slot: _ClientConn, why: str) -> None:
        for future in slot.pending.values():
            if not future.done():
                future.set_exception(DiameterUnavailable(f"{self.peer}: {why}"))
        slot.pending.clear()

    async def _exchange(
        self,
        slot: _ClientConn,
        msg: Message,
        *,
        opened: bool = True,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Message:
        conn = slot.conn
        if conn is None or (opened and not conn.open):
            raise DiameterUnavailable(f"no open connection to {self.peer}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Message] = loop.create_future()
        slot.pending[msg.hop_by_hop] = future
        conn.send(msg)
        # One timer on the future rather than asyncio.wait_for (a task-like wrapper each).
        timer = self._timeouts.call_later(timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()
            slot.pending.pop(msg.hop_by_hop, None)

    async def request(self, msg: Message, *, timeout: float = REQUEST_TIMEOUT) -> Message:
        """Send a request on the next open connection and await its answer.

        Fills hop-by-hop and end-to-end ids. Raises DiameterUnavailable when no connection
        is open or no answer comes in time.
        """
        open_slots = [s for s in self._slots if s.conn is not None and s.conn.open]
        if not open_slots:
            self.m_failures.labels(self.peer).inc()
            raise DiameterUnavailable(f"no open Diameter connection to {self.peer}")
        slot = open_slots[next(self._rr) % len(open_slots)]
        msg.hop_by_hop = self.ids.next_hop_by_hop()
        msg.end_to_end = self.ids.next_end_to_end()
        self.m_requests.labels(self.peer, msg.name).inc()
        try:
            return await self._exchange(slot, msg, timeout=timeout)
        except TimeoutError:
            self.m_failures.labels(self.peer).inc()
            raise DiameterUnavailable(
                f"{self.peer} did not answer {msg.name} in {timeout}s"
            ) from None
        except DiameterUnavailable:
            self.m_failures.labels(self.peer).inc()
            raise

    async def close(self) -> None:
        self._closing = True
        for slot in self._slots:
            if slot.conn is not None and slot.conn.open:
                await self._disconnect(slot, cause=0)  # REBOOTING
        for slot in self._slots:
            if slot.task is not None:
                slot.task.cancel()
        for task in list(self._tasks):  # requests from the peer still being served
            task.cancel()
        self._timeouts.close()

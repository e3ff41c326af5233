"""A synchronous SIP UE for tests, benchmarks and Locust users (gevent-friendly sockets).

It speaks real SIP through the shared codec: REGISTER with MD5 digest or IMS-AKA (RES
computed with Milenage from K/OPc, as a USIM would, including AUTS re-synchronisation),
de-register, and step-wise calls so that one thread can play caller and callee::

    alice.register(); bob.register()
    call = alice.invite(bob.impu)
    inv = bob.expect_request("INVITE"); bob.respond(inv, 180); bob.respond(inv, 200)
    alice.await_answer(call)            # sends the ACK for the 2xx
    bob.expect_request("ACK")
    alice.bye(call, peer=bob)           # BYE through the Record-Route set, 200 from bob

UDP requests are retransmitted with RFC 3261 §17.1 timers (T1 doubling, capped at T2).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from network_functions.protocols import aka
from network_functions.protocols.sip import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    StreamParser,
    digest,
    make_response,
    new_branch,
    new_tag,
    parse_message,
)

T1 = 0.5
T2 = 4.0
SDP_OFFER = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 97\r\na=rtpmap:97 AMR-WB/16000\r\n"
)


class UEError(Exception):
    """The network answered unexpectedly or not at all; the message says what happened."""


@dataclass
class Call:
    call_id: str
    local_tag: str
    target: str
    cseq: int = 1
    remote_tag: str = ""
    remote_target: str = ""
    route_set: list[str] = field(default_factory=list)
    invite: SipRequest | None = None
    provisional: list[int] = field(default_factory=list)
    final: SipResponse | None = None
    started: float = 0.0
    answered: float = 0.0


class UE:
    def __init__(
        self,
        *,
        impu: str,
        impi: str,
        domain: str,
        pcscf: tuple[str, int],
        password: str | None = None,
        k: str | None = None,
        opc: str | None = None,
        transport: str = "udp",
        local_host: str = "127.0.0.1",
        timeout: float = 5.0,
    ) -> None:
        self.impu, self.impi, self.domain = impu, impi, domain
        self.pcscf = pcscf
        self.password = password
        self.k = bytes.fromhex(k) if k else None
        self.opc = bytes.fromhex(opc) if opc else None
        self.transport = transport
        self.timeout = timeout
        self.sqn_ms: int | None = None
        self._inbox: deque[SipRequest | SipResponse] = deque()
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local_host, 0))
            self._stream: StreamParser | None = None
        else:
            self.sock = socket.create_connection(pcscf, timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._stream = StreamParser()
        self.local = self.sock.getsockname()[:2]
        user = impu.split(":", 1)[1].split("@", 1)[0]
        param = ";transport=tcp" if transport == "tcp" else ""
        self.contact = f"sip:{user}@{self.local[0]}:{self.local[1]}{param}"
        self.reg_call_id = f"{uuid.uuid4().hex}@{self.local[0]}"
        self.reg_cseq = 0
        self.service_route: list[str] = []
        self.associated: list[str] = []
        self.registered_expires = 0

    def close(self) -> None:
        self.sock.close()

    def discard_pending(self) -> int:
        """Drop messages received but not taken (late retransmissions); returns how many."""
        n = len(self._inbox)
        self._inbox.clear()
        return n

    def __enter__(self) -> UE:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- wire --------------------------------------------------------------------------------
    def _via(self) -> str:
        proto = "TCP" if self.transport == "tcp" else "UDP"
        return f"SIP/2.0/{proto} {self.local[0]}:{self.local[1]};branch={new_branch()};rport"

    def send(self, message: SipRequest | SipResponse) -> None:
        data = message.to_bytes()
        if self.transport == "udp":
            self.sock.sendto(data, self.pcscf)
        else:
            self.sock.sendall(data)

    def _read(self, timeout: float) -> bool:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            if self.transport == "udp":
                data, _ = self.sock.recvfrom(65535)
                self._inbox.append(parse_message(data))
            else:
                data = self.sock.recv(65535)
                if not data:
                    raise UEError("the P-CSCF closed the TCP connection")
                assert self._stream is not None
                self._inbox.extend(self._stream.feed(data))
        except TimeoutError:
            return False
        except SipParseError as exc:
            raise UEError(f"unparseable message from the network: {exc.reason}") from exc
        return True

    def _take(self, predicate: object, timeout: float) -> SipRequest | SipResponse | None:
        deadline = time.monotonic() + timeout
        while True:
            for msg in list(self._inbox):
                if predicate(msg):  # type: ignore[operator]
                    self._inbox.remove(msg)
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._read(left)

    def transaction(self, request: SipRequest) -> SipResponse:
        """Send a request and wait for its final response, retransmitting over UDP."""
        branch = request.top_via.branch
        method = request.method

        def mine(m: SipRequest | SipResponse) -> bool:
            return (
                isinstance(m, SipResponse) and m.top_via.branch == branch and (m.cseq[1] == method)
            )

        self.send(request)
        deadline = time.monotonic() + self.timeout
        interval = T1
        provisional_seen = False
        while time.monotonic() < deadline:
            wait = min(interval, deadline - time.monotonic())
            msg = self._take(mine, wait)
            if msg is None:
                if self.transport == "udp" and not (provisional_seen and method == "INVITE"):
                    self.send(request)
                interval = min(interval * 2, T2)
                continue
            assert isinstance(msg, SipResponse)
            if msg.status < 200:
                provisional_seen = True
                continue
            return msg
        raise UEError(f"no final response to {method} within {self.timeout}s")

    # -- registration ------------------------------------------------------------------------
    def _register_request(self, expires: int, authorization: str | None) -> SipRequest:
        self.reg_cseq += 1
        h = Headers()
        h.add("Via", self._via())
        h.add("Max-Forwards", "70")
        h.add("From", f"<{self.impu}>;tag={new_tag()}")
        h.add("To", f"<{self.impu}>")
        h.add("Call-ID", self.reg_call_id)
        h.add("CSeq", f"{self.reg_cseq} REGISTER")
        h.add("Contact", f"<{self.contact}>;expires={expires}")
        h.add("Expires", str(expires))
        h.add("Supported", "path")
        # The initial REGISTER names the UE's identity and, with an ISIM, the AKA scheme
        # (TS 24.229 §5.1.1.2.1).
        algorithm = ", algorithm=AKAv1-MD5" if self.k is not None else ""
        h.add(
            "Authorization",
            authorization
            or (
                f'Digest username="{self.impi}", realm="{self.domain}", nonce="", '
                f'uri="sip:{self.domain}", response=""{algorithm}'
            ),
        )
        return SipRequest("REGISTER", f"sip:{self.domain}", h)

    def _answer_challenge(self, response: SipResponse, method: str, uri: str) -> str:
        value = response.headers.get("WWW-Authenticate")
        if value is None:
            raise UEError("401 without WWW-Authenticate")
        challenge = digest.parse_challenge(value)
        if challenge.algorithm.upper().startswith("AKAV1"):
            if self.k is None or self.opc is None:
                raise UEError("AKA challenge but this UE has no K/OPc")
            rand, autn, _ = digest.split_aka_nonce(challenge.nonce)
            try:
                result = aka.ue_authenticate(self.k, self.opc, rand, autn, sqn_ms=self.sqn_ms)
            except aka.SyncFailure as exc:
                # RFC 3310 §3.4: an empty password and the AUTS ask for re-synchronisation.
                creds = digest.make_credentials(
                    username=self.impi,
                    realm=challenge.realm,
                    password=b"",
                    method=method,
                    uri=uri,
                    challenge=challenge,
                    auts=exc.auts,
                )
                return creds.to_header()
            except aka.MacFailure as exc:
                raise UEError("network authentication failed (MAC mismatch)") from exc
            self.sqn_ms = result.sqn
            password: str | bytes = result.res
        else:
            if self.password is None:
                raise UEError("digest challenge but this UE has no password")
            password = self.password
        creds = digest.make_credentials(
            username=self.impi,
            realm=challenge.realm,
            password=password,
            method=method,
            uri=uri,
            challenge=challenge,
        )
        return creds.to_header()

    def register(self, expires: int = 600) -> SipResponse:
        """Register (answering the challenge); raises UEError unless 200 OK."""
        response = self.transaction(self._register_request(expires, None))
        for _ in range(2):  # a challenge, and possibly a re-synchronisation round
            if response.status != 401:
                break
            auth = self._answer_challenge(response, "REGISTER", f"sip:{self.domain}")
            response = self.transaction(self._register_request(expires, auth))
        if response.status != 200:
            raise UEError(f"REGISTER answered {response.status} {response.reason}")
        self.service_route = response.headers.get_all("Service-Route")
        self.associated = response.headers.get_all("P-Associated-URI")
        self.registered_expires = expires
        return response

    def deregister(self) -> SipResponse:
        return self.register(expires=0)

    # -- calls -------------------------------------------------------------------------------
    def invite(self, target: str, *, sdp: str = SDP_OFFER) -> Call:
        call = Call(
            call_id=f"{uuid.uuid4().hex}@{self.local[0]}", local_tag=new_tag(), target=target
        )
        h = Headers()
        h.add("Via", self._via())
        h.add("Max-Forwards", "70")
        h.add("From", f"<{self.impu}>;tag={call.local_tag}")
        h.add("To", f"<{target}>")
        h.add("Call-ID", call.call_id)
        h.add("CSeq", f"{call.cseq} INVITE")
        h.add("Contact", f"<{self.contact}>")
        for route in self.service_route:
            h.add("Route", route)
        h.add("Content-Type", "application/sdp")
        call.invite = SipRequest("INVITE", target, h, sdp.encode())
        call.started = time.monotonic()
        self.send(call.invite)
        return call

    def await_answer(self, call: Call) -> SipResponse:
        """Wait for the INVITE's final response; ACK a 2xx end to end (RFC 3261 §13.2.2.4)."""
        assert call.invite is not None
        branch = call.invite.top_via.branch

        def mine(m: SipRequest | SipResponse) -> bool:
            return (
                isinstance(m, SipResponse) and m.call_id == call.call_id and (m.cseq[1] == "INVITE")
            )

        deadline = time.monotonic() + self.timeout
        interval, got_provisional = T1, False
        while time.monotonic() < deadline:
            msg = self._take(mine, min(interval, deadline - time.monotonic()))
            if msg is None:
                if self.transport == "udp" and not got_provisional:
                    self.send(call.invite)  # Timer A
                interval = min(interval * 2, T2)
                continue
            assert isinstance(msg, SipResponse)
            if msg.status < 200:
                got_provisional = True
                call.provisional.append(msg.status)
                continue
            call.final = msg
            call.answered = time.monotonic()
            if msg.status < 300:
                call.remote_tag = msg.to.tag or ""
                contact = msg.headers.get("Contact")
                call.remote_target = str(NameAddr.parse(contact).uri) if contact else call.target
                call.route_set = list(reversed(msg.headers.get_all("Record-Route")))
                self.send(self._in_dialog(call, "ACK", cseq=call.cseq))
            elif msg.top_via.branch == branch:
                self.send(self._ack_non_2xx(call.invite, msg))
            return msg
        raise UEError(f"no final response to INVITE within {self.timeout}s")

    @staticmethod
    def _ack_non_2xx(invite: SipRequest, response: SipResponse) -> SipRequest:
        """RFC 3261 §17.1.1.3: the ACK for a non-2xx final is part of the INVITE transaction."""
        h = Headers()
        h.add("Via", invite.headers.get_all("Via")[0])
        h.add("Max-Forwards", "70")
        for name in ("From", "Call-ID"):
            h.add(name, invite.headers.get(name) or "")
        h.add("To", response.headers.get("To") or "")
        h.add("CSeq", f"{invite.cseq[0]} ACK")
        for route in invite.headers.get_all("Route"):
            h.add("Route", route)
        return SipRequest("ACK", invite.uri, h)

    def cancel(self, call: Call) -> SipResponse:
        """RFC 3261 §9.1: cancel a pending INVITE; returns the CANCEL's final response."""
        assert call.invite is not None
        invite = call.invite
        h = Headers()
        h.add("Via", invite.headers.get_all("Via")[0])
        h.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            h.add(name, invite.headers.get(name) or "")
        h.add("CSeq", f"{invite.cseq[0]} CANCEL")
        for route in invite.headers.get_all("Route"):
            h.add("Route", route)
        return self.transaction(SipRequest("CANCEL", invite.uri, h))

    def _in_dialog(self, call: Call, method: str, *, cseq: int | None = None) -> SipRequest:
        if cseq is None:
            call.cseq += 1
            cseq = call.cseq
        h = Headers()
        h.add("Via", self._via())
        h.add("Max-Forwards", "70")
        h.add("From", f"<{self.impu}>;tag={call.local_tag}")
        h.add("To", f"<{call.target}>;tag={call.remote_tag}")
        h.add("Call-ID", call.call_id)
        h.add("CSeq", f"{cseq} {method}")
        for route in call.route_set:
            h.add("Route", route)
        return SipRequest(method, call.remote_target, h)

    def bye(self, call: Call) -> SipResponse:
        return self.transaction(self._in_dialog(call, "BYE"))

    # -- the callee side ---------------------------------------------------------------------
    def expect_request(
        self, method: str, *, timeout: float | None = None, call_id: str | None = None
    ) -> SipRequest:
        """The next *method* request (of dialog *call_id*, if given: a stale retransmission
        of an earlier call's request must not be taken for this one's)."""

        def wanted(m: SipRequest | SipResponse) -> bool:
            return (
                isinstance(m, SipRequest)
                and m.method == method
                and (call_id is None or m.call_id == call_id)
            )

        msg = self._take(wanted, self.timeout if timeout is None else timeout)
        if msg is None:
            raise UEError(f"no {method} arrived within {self.timeout}s")
        assert isinstance(msg, SipRequest)
        return msg

    def respond(
        self, request: SipRequest, status: int, *, tag: str | None = None, sdp: str | None = None
    ) -> SipResponse:
        """Answer a request; for 18x/2xx to INVITE a Contact and a To tag are added."""
        body = b""
        response = make_response(request, status, to_tag=tag)
        if request.method == "INVITE" and 100 < status < 300:
            response.headers.add("Contact", f"<{self.contact}>")
            if status >= 200:
                body = (sdp or SDP_OFFER).encode()
                response.headers.add("Content-Type", "application/sdp")
        response.body = body
        self.send(response)
        return response


def place_call(caller: UE, callee: UE, *, hold: float = 0.0) -> dict[str, float]:
    """A whole VoLTE call: INVITE, 100, 180, 200, ACK, (hold), BYE, 200. Returns timings."""
    t0 = time.monotonic()
    call = caller.invite(callee.impu)
    invite = callee.expect_request("INVITE")
    tag = new_tag()
    callee.respond(invite, 180, tag=tag)
    callee.respond(invite, 200, tag=tag)
    final = caller.await_answer(call)
    if final.status != 200:
        raise UEError(f"INVITE answered {final.status} {final.reason}")
    callee.expect_request("ACK")
    setup = time.monotonic() - t0
    if hold:
        time.sleep(hold)
    t1 = time.monotonic()
    bye_sent = caller._in_dialog(call, "BYE")
    caller.send(bye_sent)
    bye = callee.expect_request("BYE")
    callee.respond(bye, 200)

    def mine(m: SipRequest | SipResponse) -> bool:
        return isinstance(m, SipResponse) and m.cseq[1] == "BYE" and m.call_id == call.call_id

    ok = caller._take(mine, caller.timeout)
    if ok is None or not isinstance(ok, SipResponse) or ok.status != 200:
        raise UEError("BYE was not answered with 200")
    return {
        "setup": setup,
        "teardown": time.monotonic() - t1,
        "provisional": float(len(call.provisional)),
    }

"""SIP transaction state machines (RFC 3261 §17), sans-IO.

``ClientTransaction`` implements the INVITE (§17.1.1, Figure 5) and non-INVITE (§17.1.2,
Figure 6) client machines, ``ServerTransaction`` the INVITE (§17.2.1, Figure 7) and non-INVITE
(§17.2.2, Figure 8) server machines. They never touch a socket or a clock: every method returns
a list of actions (send this message to the transaction's peer, start/cancel a named timer,
hand this to the TU, the transaction is over) which the runtime carries out, and the runtime
calls ``timer_fired`` when a started timer expires. Starting a timer that is already running
replaces it. Before ``Terminated`` the machine cancels its running timers, so the runtime can
simply drop the transaction. ``server_key``/``client_key`` give the matching keys of §17.2.3
and §17.1.3 so that incoming messages can be routed to transactions.

Deliberate choices: the 2xx to an INVITE ends both INVITE machines at once (RFC 3261 as
written; the TU/core retransmits the 2xx and sends the ACK); timers D, I, J and K, which are
zero on reliable transports, are not started there and the machine terminates immediately;
the server INVITE machine reports the ACK of a non-2xx final to the TU (``DeliverAck``) and
does not send 100 Trying itself (the TU decides, §17.2.1 allows it within 200 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from .errors import SipParseError, TransactionError
from .headers import Headers
from .message import SipRequest, SipResponse, parse_cseq
from .uri import MAGIC_COOKIE, Via

__all__ = [
    "T1",
    "T2",
    "T4",
    "TIMER_A",
    "TIMER_B",
    "TIMER_D",
    "TIMER_E",
    "TIMER_F",
    "TIMER_G",
    "TIMER_H",
    "TIMER_I",
    "TIMER_J",
    "TIMER_K",
    "Action",
    "CancelTimer",
    "ClientTransaction",
    "DeliverAck",
    "DeliverResponse",
    "SendMessage",
    "ServerTransaction",
    "StartTimer",
    "Terminated",
    "Timeout",
    "client_key",
    "server_key",
]

# RFC 3261 §17.1.1.1 / Table 4 (seconds).
T1 = 0.5  # RTT estimate
T2 = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # maximum duration a message remains in the network
TIMER_A = T1  # INVITE request retransmit, initially T1, doubling (§17.1.1.2)
TIMER_B = 64 * T1  # INVITE transaction timeout
TIMER_D = 32.0  # wait time for response retransmits, >32 s unreliable, 0 reliable
TIMER_E = T1  # non-INVITE request retransmit, initially T1, doubling up to T2 (§17.1.2.2)
TIMER_F = 64 * T1  # non-INVITE transaction timeout
TIMER_G = T1  # INVITE response retransmit, initially T1, doubling up to T2 (§17.2.1)
TIMER_H = 64 * T1  # wait time for ACK receipt
TIMER_I = T4  # wait time for ACK retransmits, 0 reliable
TIMER_J = 64 * T1  # wait time for non-INVITE request retransmits, 0 reliable
TIMER_K = T4  # wait time for non-INVITE response retransmits, 0 reliable


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send ``message`` to the transaction's peer (same destination/connection)."""

    message: SipRequest | SipResponse


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Start (or restart) the named timer to fire after ``delay`` seconds."""

    name: str
    delay: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Cancel the named timer."""

    name: str


@dataclass(frozen=True, slots=True)
class DeliverResponse:
    """Client transaction: pass ``response`` to the TU."""

    response: SipResponse


@dataclass(frozen=True, slots=True)
class DeliverAck:
    """Server INVITE transaction: the ACK for its non-2xx final response arrived."""

    request: SipRequest


@dataclass(frozen=True, slots=True)
class Timeout:
    """Client: Timer B/F fired (the TU acts as on a 408, §8.1.3.1). Server: Timer H fired,
    the ACK never came (§17.2.1)."""


@dataclass(frozen=True, slots=True)
class Terminated:
    """The transaction is over; the runtime forgets it."""


Action: TypeAlias = (
    SendMessage | StartTimer | CancelTimer | DeliverResponse | DeliverAck | Timeout | Terminated
)


def server_key(request: SipRequest, via: Via | None = None) -> tuple[str, str, int | None, str]:
    """Server transaction key (§17.2.3): (branch, sent-by host, sent-by port, method), with
    ACK mapped to INVITE. For a branch without the RFC 3261 magic cookie (RFC 2543 peers, or
    the bare cookie of RFC 4475 §3.2.1) the branch slot holds a synthetic ID built from
    Request-URI, From tag, Call-ID, CSeq number and the branch, per the §17.2.3 fallback (the
    To tag is left out so that the ACK of a non-2xx matches its INVITE). ``via`` is the
    request's top Via when the caller has it parsed already."""
    if via is None:
        via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch is None or not branch.startswith(MAGIC_COOKIE) or len(branch) == len(MAGIC_COOKIE):
        branch = "|".join(
            (
                "rfc2543",
                request.uri,
                request.from_.tag or "",
                request.call_id,
                str(request.cseq[0]),
                branch or "",
            )
        )
    return branch, via.host.lower(), via.port, method


def client_key(response: SipResponse) -> tuple[str, str]:
    """Client transaction key (§17.1.3): (top Via branch, CSeq method)."""
    branch = response.top_via.branch
    if not branch:
        raise SipParseError("Missing branch parameter in top Via header")
    return branch, response.cseq[1]


class _Transaction:
    """Timer bookkeeping shared by the four machines."""

    def __init__(self, request: SipRequest, reliable: bool, t1: float, t2: float, t4: float):
        self.request = request
        self.reliable = reliable
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
        self.is_invite = request.method == "INVITE"
        self.state = ""
        self._timers: dict[str, float] = {}  # running timers -> their current interval
        self._timer_names: frozenset[str] = frozenset()  # the timers of this machine

    def _start(self, name: str, delay: float, out: list[Action]) -> None:
        self._timers[name] = delay
        out.append(StartTimer(name, delay))

    def _cancel(self, name: str, out: list[Action]) -> None:
        if self._timers.pop(name, None) is not None:
            out.append(CancelTimer(name))

    def _terminate(self, out: list[Action]) -> None:
        for name in list(self._timers):
            self._cancel(name, out)
        self.state = "terminated"
        out.append(Terminated())

    def _expire(self, name: str) -> float | None:
        """Interval of a fired timer, None if stale (cancelled/replaced: ignore it)."""
        if name not in self._timer_names:
            raise TransactionError(f"timer {name!r} does not belong to this transaction")
        return self._timers.pop(name, None)

    @property
    def running_timers(self) -> dict[str, float]:
        """Timers started and neither fired nor cancelled, with their current interval."""
        return dict(self._timers)


class ClientTransaction(_Transaction):
    """Client transaction (RFC 3261 §17.1): INVITE or non-INVITE by ``request.method``.

    States: INVITE "calling", "proceeding", "completed", "terminated"; non-INVITE "trying",
    "proceeding", "completed", "terminated".
    """

    def __init__(
        self,
        request: SipRequest,
        *,
        reliable: bool,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
        branch: str | None = None,
    ) -> None:
        """``branch``: the branch of the request's top Via when the caller knows it (it made
        that Via), to save parsing it again."""
        if request.method == "ACK":
            raise TransactionError("ACK is sent without a client transaction (§17.1)")
        super().__init__(request, reliable, t1, t2, t4)
        if branch is None:
            branch = request.top_via.branch
        if not branch or not branch.startswith(MAGIC_COOKIE) or branch == MAGIC_COOKIE:
            raise TransactionError("client request needs an RFC 3261 branch (§8.1.1.7)")
        self._key = (branch, request.method)
        self._timer_names = frozenset("ABD") if self.is_invite else frozenset("EFK")
        self.state = "calling" if self.is_invite else "trying"
        self._started = False
        self.ack: SipRequest | None = None  # the ACK sent for a non-2xx final (INVITE)

    @property
    def key(self) -> tuple[str, str]:
        """(branch, method), as ``client_key`` of a matching response (§17.1.3)."""
        return self._key

    def start(self) -> list[Action]:
        """Send the request and start the timers (§17.1.1.2, §17.1.2.2)."""
        if self._started:
            raise TransactionError("client transaction already started")
        self._started = True
        out: list[Action] = [SendMessage(self.request)]
        if self.is_invite:
            if not self.reliable:
                self._start("A", self.t1, out)
            self._start("B", 64 * self.t1, out)
        else:
            if not self.reliable:
                self._start("E", self.t1, out)
            self._start("F", 64 * self.t1, out)
        return out

    def receive_response(self, response: SipResponse) -> list[Action]:
        """Handle a response matched to this transaction."""
        if not self._started:
            raise TransactionError("response received before the transaction was started")
        out: list[Action] = []
        if self.state == "terminated":
            return out
        status = response.status
        if self.is_invite:
            self._invite_response(response, status, out)
        else:
            self._non_invite_response(response, status, out)
        return out

    def _invite_response(self, response: SipResponse, status: int, out: list[Action]) -> None:
        # Figure 5.
        if self.state in ("calling", "proceeding"):
            if status < 200:
                if self.state == "calling":
                    # §17.1.1.2: no more retransmissions; Timer B only guards "calling".
                    self._cancel("A", out)
                    self._cancel("B", out)
                    self.state = "proceeding"
                out.append(DeliverResponse(response))
            elif status < 300:
                out.append(DeliverResponse(response))
                self._terminate(out)
            else:
                self._cancel("A", out)
                self._cancel("B", out)
                self.ack = self._build_ack(response)
                out.append(SendMessage(self.ack))
                out.append(DeliverResponse(response))
                self.state = "completed"
                if self.reliable:
                    self._terminate(out)  # Timer D is zero on reliable transports
                else:
                    self._start("D", TIMER_D, out)
        elif self.state == "completed" and status >= 300 and self.ack is not None:
            out.append(SendMessage(self.ack))  # retransmitted final: ACK again, not to TU

    def _non_invite_response(self, response: SipResponse, status: int, out: list[Action]) -> None:
        # Figure 6; in "completed" every response is a retransmission and is absorbed.
        if self.state not in ("trying", "proceeding"):
            return
        if status < 200:
            self.state = "proceeding"
            out.append(DeliverResponse(response))
            return
        self._cancel("E", out)
        self._cancel("F", out)
        out.append(DeliverResponse(response))
        self.state = "completed"
        if self.reliable:
            self._terminate(out)  # Timer K is zero on reliable transports
        else:
            self._start("K", self.t4, out)

    def timer_fired(self, name: str) -> list[Action]:
        """Handle expiry of a timer this transaction started."""
        interval = self._expire(name)
        out: list[Action] = []
        if interval is None or self.state == "terminated":
            return out
        if name == "A" and self.state == "calling":
            out.append(SendMessage(self.request))
            self._start("A", 2 * interval, out)  # §17.1.1.2: doubles, no T2 cap
        elif name == "E" and self.state in ("trying", "proceeding"):
            out.append(SendMessage(self.request))
            # §17.1.2.2: doubling up to T2 in "trying", T2 in "proceeding".
            delay = min(2 * interval, self.t2) if self.state == "trying" else self.t2
            self._start("E", delay, out)
        elif (name == "B" and self.state == "calling") or (
            name == "F" and self.state in ("trying", "proceeding")
        ):
            out.append(Timeout())
            self._terminate(out)
        elif (name == "D" or name == "K") and self.state == "completed":
            self._terminate(out)
        return out

    def _build_ack(self, response: SipResponse) -> SipRequest:
        # §17.1.1.3: same Request-URI, Call-ID, From, CSeq number and Route set as the INVITE,
        # To of the response, a single Via equal to the INVITE's top Via.
        request = self.request
        headers = Headers()
        headers.add("Via", request.headers.get_all("Via")[0])
        headers.add("Max-Forwards", "70")
        for name, value in request.headers.items():
            if name == "Route":
                headers.add("Route", value)
        headers.add("From", request.headers.get("From") or "")
        headers.add("To", response.headers.get("To") or "")
        headers.add("Call-ID", request.headers.get("Call-ID") or "")
        headers.add("CSeq", f"{parse_cseq(request.headers.get('CSeq') or '')[0]} ACK")
        return SipRequest("ACK", request.uri, headers)


class ServerTransaction(_Transaction):
    """Server transaction (RFC 3261 §17.2): INVITE or non-INVITE by ``request.method``.

    States: INVITE "proceeding", "completed", "confirmed", "terminated"; non-INVITE "trying",
    "proceeding", "completed", "terminated".
    """

    def __init__(
        self,
        request: SipRequest,
        *,
        reliable: bool,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
        key: tuple[str, str, int | None, str] | None = None,
    ) -> None:
        """``key``: ``server_key(request)`` when the caller computed it already."""
        if request.method == "ACK":
            raise TransactionError("an ACK does not create a server transaction (§17.2)")
        super().__init__(request, reliable, t1, t2, t4)
        self._key = server_key(request) if key is None else key
        self._timer_names = frozenset("GHI") if self.is_invite else frozenset("J")
        self.state = "proceeding" if self.is_invite else "trying"
        self.last_response: SipResponse | None = None

    @property
    def key(self) -> tuple[str, str, int | None, str]:
        """As ``server_key`` of the request (§17.2.3)."""
        return self._key

    def start(self) -> list[Action]:
        """Nothing to do: an INVITE server transaction leaves 100 Trying to the TU."""
        return []

    def receive_request(self, request: SipRequest) -> list[Action]:
        """Handle a retransmission of the request, or the ACK (INVITE)."""
        out: list[Action] = []
        if request.method == "ACK":
            if self.is_invite and self.state == "completed":
                # §17.2.1: ACK for the non-2xx final.
                self._cancel("G", out)
                self._cancel("H", out)
                self.state = "confirmed"
                out.append(DeliverAck(request))
                if self.reliable:
                    self._terminate(out)  # Timer I is zero on reliable transports
                else:
                    self._start("I", self.t4, out)
            return out  # in "confirmed" further ACKs are absorbed
        if self.state in ("proceeding", "completed") and self.last_response is not None:
            out.append(SendMessage(self.last_response))  # §17.2.1, §17.2.2
        return out

    def send_response(self, response: SipResponse) -> list[Action]:
        """Send a response from the TU. Raises ``TransactionError`` once a final response
        was sent (§17.2.2: later ones are discarded; here they are refused loudly)."""
        if self.state not in ("trying", "proceeding"):
            raise TransactionError(
                f"cannot send {response.status} on a transaction in state {self.state!r}"
            )
        status = response.status
        self.last_response = response
        out: list[Action] = [SendMessage(response)]
        if status < 200:
            self.state = "proceeding"
        elif self.is_invite:
            if status < 300:
                self._terminate(out)  # §17.2.1: the TU retransmits the 2xx
            else:
                self.state = "completed"
                if not self.reliable:
                    self._start("G", self.t1, out)
                self._start("H", 64 * self.t1, out)
        else:
            self.state = "completed"
            if self.reliable:
                self._terminate(out)  # Timer J is zero on reliable transports
            else:
                self._start("J", 64 * self.t1, out)
        return out

    def timer_fired(self, name: str) -> list[Action]:
        """Handle expiry of a timer this transaction started."""
        interval = self._expire(name)
        out: list[Action] = []
        if interval is None or self.state == "terminated":
            return out
        if name == "G" and self.state == "completed" and self.last_response is not None:
            out.append(SendMessage(self.last_response))
            self._start("G", min(2 * interval, self.t2), out)
        elif name == "H" and self.state == "completed":
            out.append(Timeout())
            self._terminate(out)
        elif (name == "I" and self.state == "confirmed") or (
            name == "J" and self.state == "completed"
        ):
            self._terminate(out)
        return out

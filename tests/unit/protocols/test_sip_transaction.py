"""SIP transaction state machines, RFC 3261 §17 Figures 5-8, driven without I/O."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from network_functions.protocols.sip import (
    T1,
    T2,
    T4,
    TIMER_B,
    TIMER_D,
    TIMER_F,
    TIMER_H,
    TIMER_I,
    TIMER_J,
    TIMER_K,
    Action,
    CancelTimer,
    ClientTransaction,
    DeliverAck,
    DeliverResponse,
    Headers,
    SendMessage,
    ServerTransaction,
    SipRequest,
    SipResponse,
    StartTimer,
    Terminated,
    Timeout,
    TransactionError,
    client_key,
    make_response,
    parse_message,
    server_key,
)

pytestmark = pytest.mark.unit


def request(method: str, branch: str = "z9hG4bK74bf9", cseq: int = 1) -> SipRequest:
    headers = Headers(
        [
            ("Via", f"SIP/2.0/UDP client.atlanta.example.com:5060;branch={branch}"),
            ("Max-Forwards", "70"),
            ("Route", "<sip:ss1.atlanta.example.com;lr>, <sip:ss2.biloxi.example.com;lr>"),
            ("From", "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl"),
            ("To", "Bob <sip:bob@biloxi.example.com>"),
            ("Call-ID", "3848276298220188511@atlanta.example.com"),
            ("CSeq", f"{cseq} {method}"),
        ]
    )
    return SipRequest(method, "sip:bob@biloxi.example.com", headers)


def ack_for(invite: SipRequest, response: SipResponse) -> SipRequest:
    headers = Headers(
        [
            ("Via", invite.headers.get_all("Via")[0]),
            ("From", invite.headers.get("From") or ""),
            ("To", response.headers.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{invite.cseq[0]} ACK"),
        ]
    )
    return SipRequest("ACK", invite.uri, headers)


def resp(req: SipRequest, status: int) -> SipResponse:
    return make_response(req, status, to_tag=None if status == 100 else "314159")


def kinds(actions: Sequence[Action]) -> list[str]:
    """Compact rendering: Send:<what>, Start:<name>=<delay>, Cancel:<name>, ..."""
    out = []
    for a in actions:
        if isinstance(a, SendMessage):
            m = a.message
            out.append(f"Send:{m.method if isinstance(m, SipRequest) else m.status}")
        elif isinstance(a, StartTimer):
            out.append(f"Start:{a.name}={a.delay:g}")
        elif isinstance(a, CancelTimer):
            out.append(f"Cancel:{a.name}")
        elif isinstance(a, DeliverResponse):
            out.append(f"Deliver:{a.response.status}")
        elif isinstance(a, DeliverAck):
            out.append("DeliverAck")
        elif isinstance(a, Timeout):
            out.append("Timeout")
        elif isinstance(a, Terminated):
            out.append("Terminated")
    return out


class VirtualRuntime:
    """Carries out timer actions on a virtual clock and records when messages are sent."""

    def __init__(self, txn: ClientTransaction | ServerTransaction) -> None:
        self.txn = txn
        self.now = 0.0
        self.timers: dict[str, float] = {}
        self.sent: list[tuple[float, str]] = []
        self.events: list[tuple[float, str]] = []
        self.terminated = False

    def apply(self, actions: Sequence[Action]) -> None:
        for a in actions:
            if isinstance(a, StartTimer):
                self.timers[a.name] = self.now + a.delay
            elif isinstance(a, CancelTimer):
                self.timers.pop(a.name, None)
            elif isinstance(a, SendMessage):
                m = a.message
                self.sent.append(
                    (self.now, m.method if isinstance(m, SipRequest) else str(m.status))
                )
            elif isinstance(a, Terminated):
                self.terminated = True
                assert not self.timers, "timers must be cancelled before Terminated"
            else:
                self.events.append((self.now, kinds([a])[0]))

    def run(self, until: float = 1000.0) -> None:
        while self.timers and not self.terminated:
            name, when = min(self.timers.items(), key=lambda kv: kv[1])
            if when > until:
                return
            self.now = when
            del self.timers[name]
            self.apply(self.txn.timer_fired(name))


# ---------------------------------------------------------------------------------------------
# Constants (RFC 3261 Table 4).


def test_timer_values() -> None:
    assert (T1, T2, T4) == (0.5, 4.0, 5.0)
    assert TIMER_B == TIMER_F == TIMER_H == TIMER_J == 64 * T1 == 32.0
    assert TIMER_D == 32.0
    assert TIMER_I == TIMER_K == T4


# ---------------------------------------------------------------------------------------------
# INVITE client transaction (§17.1.1, Figure 5).


def test_invite_client_unreliable_retransmits_doubling_until_timer_b() -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=False)
    assert txn.state == "calling"
    assert txn.key == ("z9hG4bK74bf9", "INVITE")
    rt = VirtualRuntime(txn)
    first = txn.start()
    assert kinds(first) == ["Send:INVITE", "Start:A=0.5", "Start:B=32"]
    rt.apply(first)
    rt.run()
    # Sent at 0, then A fires at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 (interval doubling without a
    # T2 cap for INVITE); Timer B at 32 s ends it: 7 transmissions.
    assert [t for t, _ in rt.sent] == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert rt.events == [(32.0, "Timeout")]
    assert rt.terminated and txn.state == "terminated"


def test_invite_client_timer_a_doubles() -> None:
    txn = ClientTransaction(request("INVITE"), reliable=False)
    txn.start()
    delays = []
    for _ in range(6):
        actions = txn.timer_fired("A")
        assert isinstance(actions[0], SendMessage) and actions[0].message is txn.request
        assert isinstance(actions[1], StartTimer)
        delays.append(actions[1].delay)
    assert delays == [1, 2, 4, 8, 16, 32]


def test_invite_client_timer_b_in_calling() -> None:
    txn = ClientTransaction(request("INVITE"), reliable=False)
    txn.start()
    assert kinds(txn.timer_fired("B")) == ["Timeout", "Cancel:A", "Terminated"]
    assert txn.state == "terminated"
    assert txn.timer_fired("A") == []  # stale timer after termination


def test_invite_client_reliable_no_retransmissions() -> None:
    txn = ClientTransaction(request("INVITE"), reliable=True)
    assert kinds(txn.start()) == ["Send:INVITE", "Start:B=32"]
    rt = VirtualRuntime(txn)
    rt.apply([StartTimer("B", 32.0)])
    rt.run()
    assert rt.sent == []
    assert rt.events == [(32.0, "Timeout")]


def test_invite_client_provisional_then_2xx() -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=False)
    txn.start()
    assert kinds(txn.receive_response(resp(invite, 100))) == [
        "Cancel:A",
        "Cancel:B",
        "Deliver:100",
    ]
    assert txn.state == "proceeding"
    assert txn.running_timers == {}
    assert kinds(txn.receive_response(resp(invite, 180))) == ["Deliver:180"]
    assert kinds(txn.receive_response(resp(invite, 183))) == ["Deliver:183"]
    assert kinds(txn.receive_response(resp(invite, 200))) == ["Deliver:200", "Terminated"]
    assert txn.state == "terminated"
    assert txn.receive_response(resp(invite, 200)) == []  # 2xx retransmissions: not ours


def test_invite_client_2xx_in_calling() -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=False)
    txn.start()
    assert kinds(txn.receive_response(resp(invite, 200))) == [
        "Deliver:200",
        "Cancel:A",
        "Cancel:B",
        "Terminated",
    ]


@pytest.mark.parametrize("status", [300, 404, 486, 500, 603])
def test_invite_client_non_2xx_final_generates_ack(status: int) -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=False)
    txn.start()
    txn.receive_response(resp(invite, 180))
    final = resp(invite, status)
    actions = txn.receive_response(final)
    assert kinds(actions) == ["Send:ACK", f"Deliver:{status}", "Start:D=32"]
    assert txn.state == "completed"
    send = actions[0]
    assert isinstance(send, SendMessage) and isinstance(send.message, SipRequest)
    ack = send.message
    # §17.1.1.3
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert ack.headers.get_all("Via") == [invite.headers.get_all("Via")[0]]
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.to.tag == "314159"
    assert ack.call_id == invite.call_id
    assert ack.cseq == (1, "ACK")
    assert ack.headers.get_all("Route") == invite.headers.get_all("Route")
    wire = parse_message(ack.to_bytes())
    assert isinstance(wire, SipRequest)
    assert server_key(wire) == server_key(invite)  # matches the server's INVITE transaction

    # Retransmitted final: ACK again, TU not bothered.
    again = txn.receive_response(resp(invite, status))
    assert len(again) == 1
    assert isinstance(again[0], SendMessage) and again[0].message is ack
    assert txn.receive_response(resp(invite, 180)) == []
    assert txn.receive_response(resp(invite, 200)) == []
    assert kinds(txn.timer_fired("D")) == ["Terminated"]
    assert txn.state == "terminated"


def test_invite_client_non_2xx_from_calling_and_reliable_has_no_timer_d() -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=True)
    txn.start()
    assert kinds(txn.receive_response(resp(invite, 486))) == [
        "Cancel:B",
        "Send:ACK",
        "Deliver:486",
        "Terminated",
    ]


def test_invite_client_non_2xx_from_calling_unreliable() -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=False)
    txn.start()
    assert kinds(txn.receive_response(resp(invite, 404))) == [
        "Cancel:A",
        "Cancel:B",
        "Send:ACK",
        "Deliver:404",
        "Start:D=32",
    ]


def test_client_key_matches() -> None:
    invite = request("INVITE")
    txn = ClientTransaction(invite, reliable=False)
    assert client_key(resp(invite, 180)) == txn.key
    cancel = request("CANCEL")
    assert client_key(resp(cancel, 200)) == ("z9hG4bK74bf9", "CANCEL") != txn.key


# ---------------------------------------------------------------------------------------------
# Non-INVITE client transaction (§17.1.2, Figure 6).


def test_non_invite_client_unreliable_timer_e_capped_at_t2_until_f() -> None:
    txn = ClientTransaction(request("REGISTER"), reliable=False)
    assert txn.state == "trying"
    rt = VirtualRuntime(txn)
    first = txn.start()
    assert kinds(first) == ["Send:REGISTER", "Start:E=0.5", "Start:F=32"]
    rt.apply(first)
    rt.run()
    times = [t for t, _ in rt.sent]
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert rt.events == [(32.0, "Timeout")]
    assert txn.state == "terminated"


def test_non_invite_client_timer_e_in_proceeding_is_t2() -> None:
    req = request("OPTIONS")
    txn = ClientTransaction(req, reliable=False)
    txn.start()
    assert kinds(txn.timer_fired("E")) == ["Send:OPTIONS", "Start:E=1"]
    assert kinds(txn.receive_response(resp(req, 100))) == ["Deliver:100"]
    assert txn.state == "proceeding"
    assert kinds(txn.timer_fired("E")) == ["Send:OPTIONS", "Start:E=4"]
    assert kinds(txn.timer_fired("E")) == ["Send:OPTIONS", "Start:E=4"]
    assert kinds(txn.receive_response(resp(req, 100))) == ["Deliver:100"]
    assert kinds(txn.timer_fired("F")) == ["Timeout", "Cancel:E", "Terminated"]


@pytest.mark.parametrize("status", [200, 202, 302, 401, 408, 503, 603])
def test_non_invite_client_final_then_timer_k(status: int) -> None:
    req = request("REGISTER")
    txn = ClientTransaction(req, reliable=False)
    txn.start()
    assert kinds(txn.receive_response(resp(req, status))) == [
        "Cancel:E",
        "Cancel:F",
        f"Deliver:{status}",
        "Start:K=5",
    ]
    assert txn.state == "completed"
    assert txn.receive_response(resp(req, status)) == []  # absorbed
    assert txn.receive_response(resp(req, 100)) == []
    assert txn.timer_fired("E") == []  # stale
    assert kinds(txn.timer_fired("K")) == ["Terminated"]


def test_non_invite_client_reliable() -> None:
    req = request("MESSAGE")
    txn = ClientTransaction(req, reliable=True)
    assert kinds(txn.start()) == ["Send:MESSAGE", "Start:F=32"]
    assert kinds(txn.receive_response(resp(req, 180))) == ["Deliver:180"]
    assert kinds(txn.receive_response(resp(req, 200))) == [
        "Cancel:F",
        "Deliver:200",
        "Terminated",
    ]


def test_client_custom_timer_values() -> None:
    txn = ClientTransaction(request("OPTIONS"), reliable=False, t1=0.1, t2=0.25, t4=1.0)
    assert kinds(txn.start()) == ["Send:OPTIONS", "Start:E=0.1", "Start:F=6.4"]
    delays = [a.delay for _ in range(4) for a in txn.timer_fired("E") if isinstance(a, StartTimer)]
    assert delays == [0.2, 0.25, 0.25, 0.25]
    txn.receive_response(resp(txn.request, 200))
    assert txn.running_timers == {"K": 1.0}


def test_client_transaction_misuse() -> None:
    with pytest.raises(TransactionError):
        ClientTransaction(request("ACK"), reliable=False)
    with pytest.raises(TransactionError):
        ClientTransaction(request("INVITE", branch="1234"), reliable=False)
    with pytest.raises(TransactionError):
        ClientTransaction(request("INVITE", branch="z9hG4bK"), reliable=False)
    txn = ClientTransaction(request("INVITE"), reliable=False)
    with pytest.raises(TransactionError):
        txn.receive_response(resp(txn.request, 180))
    txn.start()
    with pytest.raises(TransactionError):
        txn.start()
    with pytest.raises(TransactionError):
        txn.timer_fired("E")  # not an INVITE client timer
    with pytest.raises(TransactionError):
        ClientTransaction(request("OPTIONS"), reliable=False).timer_fired("A")


# ---------------------------------------------------------------------------------------------
# INVITE server transaction (§17.2.1, Figure 7).


def test_invite_server_provisional_and_retransmissions() -> None:
    invite = request("INVITE")
    txn = ServerTransaction(invite, reliable=False)
    assert txn.state == "proceeding"
    assert txn.start() == []  # no automatic 100 Trying
    assert txn.receive_request(invite) == []  # nothing sent yet to repeat
    assert kinds(txn.send_response(resp(invite, 100))) == ["Send:100"]
    assert kinds(txn.receive_request(invite)) == ["Send:100"]
    ringing = resp(invite, 180)
    assert kinds(txn.send_response(ringing)) == ["Send:180"]
    again = txn.receive_request(invite)
    assert isinstance(again[0], SendMessage) and again[0].message is ringing
    assert txn.state == "proceeding"


def test_invite_server_2xx_terminates() -> None:
    invite = request("INVITE")
    txn = ServerTransaction(invite, reliable=False)
    txn.send_response(resp(invite, 180))
    assert kinds(txn.send_response(resp(invite, 200))) == ["Send:200", "Terminated"]
    assert txn.state == "terminated"
    with pytest.raises(TransactionError):
        txn.send_response(resp(invite, 200))
    assert txn.receive_request(invite) == []


def test_invite_server_non_2xx_timer_g_doubles_to_t2_and_timer_h() -> None:
    invite = request("INVITE")
    txn = ServerTransaction(invite, reliable=False)
    rt = VirtualRuntime(txn)
    busy = resp(invite, 486)
    actions = txn.send_response(busy)
    assert kinds(actions) == ["Send:486", "Start:G=0.5", "Start:H=32"]
    assert txn.state == "completed"
    rt.apply(actions)
    rt.run()
    times = [t for t, _ in rt.sent]
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert rt.events == [(32.0, "Timeout")]  # no ACK ever came
    assert txn.state == "terminated"


def test_invite_server_ack_confirms_then_timer_i() -> None:
    invite = request("INVITE")
    txn = ServerTransaction(invite, reliable=False)
    busy = resp(invite, 486)
    txn.send_response(busy)
    assert kinds(txn.timer_fired("G")) == ["Send:486", "Start:G=1"]
    assert kinds(txn.receive_request(invite)) == ["Send:486"]  # INVITE retransmission
    with pytest.raises(TransactionError):
        txn.send_response(resp(invite, 500))
    ack = ack_for(invite, busy)
    assert server_key(ack) == txn.key
    actions = txn.receive_request(ack)
    assert kinds(actions) == ["Cancel:G", "Cancel:H", "DeliverAck", "Start:I=5"]
    delivered = actions[2]
    assert isinstance(delivered, DeliverAck) and delivered.request is ack
    assert txn.state == "confirmed"
    assert txn.receive_request(ack) == []  # ACK retransmissions absorbed
    assert txn.receive_request(invite) == []
    assert txn.timer_fired("G") == []  # stale
    assert kinds(txn.timer_fired("I")) == ["Terminated"]


def test_invite_server_reliable() -> None:
    invite = request("INVITE")
    txn = ServerTransaction(invite, reliable=True)
    busy = resp(invite, 603)
    assert kinds(txn.send_response(busy)) == ["Send:603", "Start:H=32"]
    assert kinds(txn.receive_request(ack_for(invite, busy))) == [
        "Cancel:H",
        "DeliverAck",
        "Terminated",
    ]


def test_invite_server_ack_before_final_is_ignored() -> None:
    invite = request("INVITE")
    txn = ServerTransaction(invite, reliable=False)
    assert txn.receive_request(ack_for(invite, resp(invite, 180))) == []
    assert txn.state == "proceeding"


# ---------------------------------------------------------------------------------------------
# Non-INVITE server transaction (§17.2.2, Figure 8).


def test_non_invite_server_full_cycle_unreliable() -> None:
    req = request("REGISTER")
    txn = ServerTransaction(req, reliable=False)
    assert txn.state == "trying"
    assert txn.start() == []
    assert txn.receive_request(req) == []  # trying: retransmission discarded
    assert kinds(txn.send_response(resp(req, 100))) == ["Send:100"]
    assert txn.state == "proceeding"
    assert kinds(txn.receive_request(req)) == ["Send:100"]
    ok = resp(req, 200)
    assert kinds(txn.send_response(ok)) == ["Send:200", "Start:J=32"]
    assert txn.state == "completed"
    again = txn.receive_request(req)
    assert len(again) == 1 and isinstance(again[0], SendMessage) and again[0].message is ok
    with pytest.raises(TransactionError):
        txn.send_response(resp(req, 200))
    assert kinds(txn.timer_fired("J")) == ["Terminated"]
    assert txn.state == "terminated"
    with pytest.raises(TransactionError):
        txn.send_response(resp(req, 200))


def test_non_invite_server_final_from_trying_reliable() -> None:
    req = request("OPTIONS")
    txn = ServerTransaction(req, reliable=True)
    assert kinds(txn.send_response(resp(req, 200))) == ["Send:200", "Terminated"]


def test_non_invite_server_custom_timer_j() -> None:
    req = request("BYE")
    txn = ServerTransaction(req, reliable=False, t1=0.1)
    assert kinds(txn.send_response(resp(req, 481))) == ["Send:481", "Start:J=6.4"]


def test_server_transaction_misuse() -> None:
    with pytest.raises(TransactionError):
        ServerTransaction(request("ACK"), reliable=False)
    txn = ServerTransaction(request("OPTIONS"), reliable=False)
    with pytest.raises(TransactionError):
        txn.timer_fired("G")
    assert txn.timer_fired("J") == []  # never started: stale


# ---------------------------------------------------------------------------------------------
# Server transaction keys (§17.2.3).


def test_server_keys() -> None:
    invite = request("INVITE")
    key = server_key(invite)
    assert key == ("z9hG4bK74bf9", "client.atlanta.example.com", 5060, "INVITE")
    assert ServerTransaction(invite, reliable=False).key == key
    assert server_key(request("CANCEL")) == (
        "z9hG4bK74bf9",
        "client.atlanta.example.com",
        5060,
        "CANCEL",
    )
    assert server_key(request("INVITE", branch="z9hG4bKother")) != key
    # sent-by host compares case-insensitively
    upper = request("INVITE")
    upper.headers.set("Via", "SIP/2.0/UDP CLIENT.atlanta.example.com:5060;branch=z9hG4bK74bf9")
    assert server_key(upper) == key


def test_legacy_server_keys() -> None:
    invite = request("INVITE", branch="1234")
    key = server_key(invite)
    assert key[0].startswith("rfc2543|")
    assert server_key(ack_for(invite, resp(invite, 404))) == key
    other = request("INVITE", branch="1234", cseq=2)
    assert server_key(other) != key

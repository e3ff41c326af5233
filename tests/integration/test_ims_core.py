"""The IMS core end to end: real NF processes, real SIP over UDP/TCP, real Diameter Cx."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from network_functions.protocols.diameter import (
    APP_CX,
    CMD_UAR,
    VENDOR_3GPP,
    IdGenerator,
    Message,
    StreamParser,
    answer_code,
    make_cer,
)
from network_functions.protocols.sip import parse_message
from network_functions.runtime.http import http_request_sync
from network_functions.runtime.metrics import parse_metrics
from network_functions.sim.ue import UE, UEError, place_call
from nfv.check import make_ue, run_check

from .conftest_redis import RedisUnavailable, redis_server
from .corelab import CoreLab, lab_values, running_core

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    with running_core(tmp_path_factory.mktemp("core")) as lab:
        yield lab


def ue(core: CoreLab, i: int, *, aka: bool = False, transport: str = "udp") -> UE:
    return make_ue(
        core.subscriber(i), domain=core.domain, pcscf=core.pcscf, aka=aka, transport=transport
    )


def test_check_registers_calls_and_deregisters_over_udp(core: CoreLab) -> None:
    report = run_check(core.subscribers[:2], domain=core.domain, pcscf=core.pcscf)
    steps = [s for s, _ in report.steps]
    assert any("digest" in s for s in steps) and any("IMS-AKA" in s for s in steps)
    assert len(steps) == 5


def test_check_over_tcp(core: CoreLab) -> None:
    run_check(core.subscribers[2:4], domain=core.domain, pcscf=core.pcscf, transport="tcp")


def test_tcp_caller_reaches_udp_callee(core: CoreLab) -> None:
    with ue(core, 4, transport="tcp") as alice, ue(core, 5, aka=True) as bob:
        alice.register()
        bob.register()
        timings = place_call(alice, bob)
        assert timings["provisional"] >= 1  # the 180 came back through every hop


def test_registration_headers(core: CoreLab) -> None:
    with ue(core, 6) as alice:
        ok = alice.register(expires=300)
        service_route = ok.headers.get_all("Service-Route")
        assert service_route and "orig@scscf." in service_route[0] and ";lr" in service_route[0]
        assert any("pcscf" in p for p in ok.headers.get_all("Path"))
        assert f"sip:{core.subscriber(6)['msisdn']}@{core.domain}" in " ".join(
            ok.headers.get_all("P-Associated-URI")
        )
        contact = ok.headers.get_all("Contact")
        assert len(contact) == 1 and "expires=" in contact[0]
        expires = int(contact[0].split("expires=")[1].split(";")[0])
        assert 295 <= expires <= 300
        # Re-registration keeps one binding and refreshes it.
        again = alice.register(expires=600)
        assert len(again.headers.get_all("Contact")) == 1
        gone = alice.deregister()
        assert gone.status == 200 and not gone.headers.get_all("Contact")


def test_deregistered_callee_is_unavailable(core: CoreLab) -> None:
    with ue(core, 7) as alice, ue(core, 8) as bob:
        alice.register()
        bob.register()
        bob.deregister()
        call = alice.invite(bob.impu)
        final = alice.await_answer(call)
        assert final.status == 480


def test_caller_cancels_a_ringing_call(core: CoreLab) -> None:
    with ue(core, 15) as alice, ue(core, 16) as bob:
        alice.register()
        bob.register()
        call = alice.invite(bob.impu)
        invite = bob.expect_request("INVITE")
        tag = "callee-tag"
        bob.respond(invite, 180, tag=tag)
        # Wait until the 180 is back, so every hop is in the proceeding state (§9.1).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
            getattr(m, "status", 0) == 180 for m in alice._inbox
        ):
            alice._read(0.05)
        assert alice.cancel(call).status == 200
        cancel = bob.expect_request("CANCEL")  # the CANCEL travelled hop by hop
        bob.respond(cancel, 200)
        bob.respond(invite, 487, tag=tag)
        assert alice.await_answer(call).status == 487
        bob.expect_request("ACK")  # the P-CSCF's client transaction ACKs the 487


def test_unknown_callee_is_not_found(core: CoreLab) -> None:
    with ue(core, 9) as alice:
        alice.register()
        call = alice.invite(f"sip:19999999999@{core.domain}")
        assert alice.await_answer(call).status == 404


def test_unregistered_caller_is_forbidden(core: CoreLab) -> None:
    with ue(core, 10) as alice, ue(core, 11) as bob:
        bob.register()
        call = alice.invite(bob.impu)
        final = alice.await_answer(call)
        assert final.status == 403 and "not registered" in final.reason


def test_unknown_user_cannot_register(core: CoreLab) -> None:
    stranger = UE(
        impu=f"sip:12345@{core.domain}",
        impi=f"001019999999999@{core.domain}",
        domain=core.domain,
        pcscf=core.pcscf,
        password="x",
    )
    with stranger, pytest.raises(UEError, match="403"):
        stranger.register()


def test_wrong_password_is_forbidden(core: CoreLab) -> None:
    sub = dict(core.subscriber(12), password="not-the-password")
    with (
        make_ue(sub, domain=core.domain, pcscf=core.pcscf, aka=False) as alice,
        pytest.raises(UEError, match="403"),
    ):
        alice.register()


def test_wrong_aka_key_is_forbidden_or_rejected(core: CoreLab) -> None:
    sub = dict(core.subscriber(13), k="00" * 16)
    with (
        make_ue(sub, domain=core.domain, pcscf=core.pcscf, aka=True) as alice,
        pytest.raises(UEError, match="MAC"),
    ):
        alice.register()  # the USIM refuses a network it cannot authenticate


def test_aka_resynchronisation(core: CoreLab) -> None:
    with ue(core, 14, aka=True) as alice:
        alice.sqn_ms = 2**40  # the USIM is far ahead of the HSS: AUTS, then a fresh vector
        ok = alice.register()
        assert ok.status == 200
        assert alice.sqn_ms is not None and alice.sqn_ms > 2**40


def _udp_exchange(target: tuple[str, int], data: bytes, timeout: float = 3.0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        s.sendto(data.replace(b"PORT", str(s.getsockname()[1]).encode()), target)
        return s.recvfrom(65535)[0]


BAD_REGISTER = (
    b"REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bKbad1\r\n"
    b"From: <sip:1@ims.mnc001.mcc001.3gppnetwork.org>;tag=1\r\n"
    b"To: <sip:1@ims.mnc001.mcc001.3gppnetwork.org>\r\n"
    b"CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
)


def test_malformed_request_gets_400_naming_the_problem(core: CoreLab) -> None:
    # The answer can only echo the headers the request had (here: no Call-ID).
    raw = _udp_exchange(core.pcscf, BAD_REGISTER)
    assert raw.startswith(b"SIP/2.0 400 Missing Call-ID header\r\n"), raw
    assert b"branch=z9hG4bKbad1" in raw
    bad_cseq = BAD_REGISTER.replace(b"CSeq: 1 REGISTER", b"Call-ID: x\r\nCSeq: 1 INVITE")
    reply = parse_message(_udp_exchange(core.pcscf, bad_cseq))
    assert reply.status == 400 and "CSeq" in reply.reason  # type: ignore[union-attr]
    # Garbage and a malformed response are dropped; the P-CSCF stays up and ready.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\x00\xff garbage \r\n\r\n", core.pcscf)
        s.sendto(b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n", core.pcscf)
    time.sleep(0.2)
    pcscf = next(r for r in core.replicas if r.nf == "pcscf")
    assert pcscf.proc.poll() is None and pcscf.ready()
    metrics = parse_metrics(pcscf.metrics())
    assert metrics[("sip_parse_errors_total", ())] >= 3


def test_oversized_message_over_tcp_is_refused_with_413(core: CoreLab) -> None:
    big = BAD_REGISTER.replace(
        b"CSeq: 1 REGISTER\r\nContent-Length: 0",
        (
            b"Call-ID: big@x\r\nCSeq: 1 REGISTER\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 200000"
        ),
    )
    with socket.create_connection(core.pcscf, timeout=3) as s:
        s.sendall(big + b"x" * 1000)
        reply = b""
        while chunk := s.recv(65535):
            reply += chunk  # the P-CSCF answers, then closes the connection (RFC 3261 §18.3)
    assert reply.startswith(b"SIP/2.0 413 "), reply
    pcscf = next(r for r in core.replicas if r.nf == "pcscf")
    assert pcscf.proc.poll() is None and pcscf.ready()


def _diameter_session(core: CoreLab) -> tuple[socket.socket, StreamParser, IdGenerator]:
    sock = socket.create_connection((core.address("hss"), 3868), timeout=3)
    parser, ids = StreamParser(), IdGenerator()
    cer = make_cer(
        origin_host=f"test.{core.domain}",
        origin_realm=core.domain,
        host_ip_addresses=["127.0.0.1"],
        vendor_id=0,
        product_name="test",
        vendor_specific_application_ids=[(VENDOR_3GPP, APP_CX)],
        hop_by_hop=ids.next_hop_by_hop(),
        end_to_end=ids.next_end_to_end(),
    )
    sock.sendall(cer.encode())
    cea = _read_one(sock, parser)
    assert cea.get("Result-Code") == 2001
    return sock, parser, ids


def _read_one(sock: socket.socket, parser: StreamParser) -> Message:
    while True:
        msgs = parser.feed(sock.recv(65535))
        if msgs:
            return msgs[0]


def _uar(core: CoreLab, ids: IdGenerator, *, user: str | None, impu: str) -> Message:
    msg = Message(
        CMD_UAR,
        APP_CX,
        request=True,
        hop_by_hop=ids.next_hop_by_hop(),
        end_to_end=ids.next_end_to_end(),
    )
    msg.add("Session-Id", f"test.{core.domain};1;{ids.next_hop_by_hop()}")
    msg.add(
        "Vendor-Specific-Application-Id",
        [("Vendor-Id", VENDOR_3GPP), ("Auth-Application-Id", APP_CX)],
    )
    msg.add("Auth-Session-State", 1)
    msg.add("Origin-Host", f"test.{core.domain}")
    msg.add("Origin-Realm", core.domain)
    msg.add("Destination-Realm", core.domain)
    if user is not None:
        msg.add("User-Name", user)
    msg.add("Public-Identity", impu)
    msg.add("Visited-Network-Identifier", core.domain)
    return msg


def test_hss_answers_cx_errors_with_rfc_codes(core: CoreLab) -> None:
    sock, parser, ids = _diameter_session(core)
    sub = core.subscriber(0)
    impi, impu = f"{sub['imsi']}@{core.domain}", f"sip:{sub['msisdn']}@{core.domain}"
    with sock:
        sock.sendall(_uar(core, ids, user=impi, impu=impu).encode())
        assert answer_code(_read_one(sock, parser)) in (2001, 2002)
        # Unknown user: DIAMETER_ERROR_USER_UNKNOWN (TS 29.229 §6.2.2.1).
        sock.sendall(_uar(core, ids, user=f"999@{core.domain}", impu=impu).encode())
        assert answer_code(_read_one(sock, parser)) == 5001
        # IMPU of someone else: DIAMETER_ERROR_IDENTITIES_DONT_MATCH.
        other = f"sip:{core.subscriber(1)['msisdn']}@{core.domain}"
        sock.sendall(_uar(core, ids, user=impi, impu=other).encode())
        assert answer_code(_read_one(sock, parser)) == 5002
        # Missing mandatory User-Name: DIAMETER_MISSING_AVP with a Failed-AVP.
        sock.sendall(_uar(core, ids, user=None, impu=impu).encode())
        ans = _read_one(sock, parser)
        assert answer_code(ans) == 5005 and ans.find("Failed-AVP") is not None
        # An AVP whose length field lies: DIAMETER_INVALID_AVP_LENGTH (RFC 6733 §7.1.5).
        raw = bytearray(_uar(core, ids, user=impi, impu=impu).encode())
        # The first AVP (Session-Id) starts at byte 20; make its length too short for a header.
        raw[25:28] = (4).to_bytes(3, "big")
        sock.sendall(bytes(raw))
        ans = _read_one(sock, parser)
        assert answer_code(ans) in (5014, 5004)
    hss = next(r for r in core.replicas if r.nf == "hss")
    assert hss.proc.poll() is None and hss.ready()


def test_hss_closes_connection_on_broken_framing(core: CoreLab) -> None:
    sock, _parser, _ids = _diameter_session(core)
    with sock:
        sock.sendall(struct.pack("!I", (2 << 24) | 20) + b"\x00" * 16)  # version 2
        sock.settimeout(3)
        data = sock.recv(65535)
        # RFC 6733 §3: an unsupported version may be answered (5011), then the link closes.
        while data:
            data = sock.recv(65535)


def test_provisioning_api_and_a_new_subscriber_registers(core: CoreLab) -> None:
    host, port = core.address("hss"), core.catalog["hss"].port("provisioning")
    record = {
        "imsi": "001010000009001",
        "msisdn": "15550009001",
        "k": "465b5ce8b199b49faa5f0a2ee238a6bc",
        "opc": "cd63cb71954a9f4e48a5994e37a02baf",
        "password": "pw-9001",
    }
    status, body = http_request_sync(
        host, port, "POST", "/subscribers", json.dumps(record).encode()
    )
    assert status == 201, body
    status, _ = http_request_sync(host, port, "POST", "/subscribers", json.dumps(record).encode())
    assert status == 409
    status, body = http_request_sync(host, port, "POST", "/subscribers", b'{"imsi": "12"}')
    assert status == 400 and b"imsi" in body
    status, body = http_request_sync(host, port, "GET", "/subscribers")
    listed = json.loads(body)
    assert any(s["imsi"] == record["imsi"] for s in listed)
    assert all("k" not in s and "opc" not in s for s in listed)  # keys never listed
    with make_ue(record, domain=core.domain, pcscf=core.pcscf, aka=False) as new:
        new.register()
        status, body = http_request_sync(host, port, "GET", f"/subscribers/{record['imsi']}")
        assert json.loads(body)["registered"] is True
        new.deregister()
    status, _ = http_request_sync(host, port, "DELETE", f"/subscribers/{record['imsi']}")
    assert status == 204
    status, _ = http_request_sync(host, port, "GET", f"/subscribers/{record['imsi']}")
    assert status == 404


def test_metrics_count_work(core: CoreLab) -> None:
    scscf = next(r for r in core.replicas if r.nf == "scscf")
    m = parse_metrics(scscf.metrics())
    assert m[("sip_requests_total", (("method", "REGISTER"),))] > 0
    assert m[("scscf_registrations_total", (("outcome", "registered"),))] > 0


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shared.db"
        return
    try:
        with redis_server() as server:
            yield server.url(0)
    except RedisUnavailable as exc:
        pytest.skip(str(exc))


def test_two_scscfs_share_registrations(tmp_path: Path, store_url: str) -> None:
    """Register through one S-CSCF process, then call through another: state is shared."""
    lab = CoreLab(tmp_path, lab_values(), store_url=store_url)
    try:
        lab.start_core()
        with ue(lab, 0) as alice, ue(lab, 1, aka=True) as bob:
            alice.register()
            bob.register()
            first = next(r for r in lab.replicas if r.nf == "scscf")
            second_addr = lab.new_address()
            second = lab.start("scscf", address=second_addr)
            lab.wait_ready()
            lab.set_address("scscf", second_addr)  # the service now points at the new one
            lab.stop(first)
            place_call(alice, bob)
            m = parse_metrics(second.metrics())
            assert m[("scscf_sessions_total", (("leg", "orig"), ("outcome", "200")))] >= 1
            assert m[("scscf_sessions_total", (("leg", "term"), ("outcome", "200")))] >= 1
            alice.register()  # a re-registration served by the second S-CSCF
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    lab = CoreLab(tmp_path, lab_values())
    try:
        lab.start_core()
        for r in list(lab.replicas):
            assert lab.stop(r) == 0, r.log.read_text()[-2000:]
    finally:
        lab.stop_all()


def test_registrations_expire_and_the_hss_is_told(tmp_path: Path) -> None:
    values = lab_values(sip={"registration": {"min_expires": 1, "sweep_interval": 0.3}})
    lab = CoreLab(tmp_path, values)
    try:
        lab.start_core()
        with ue(lab, 0) as alice, ue(lab, 1) as bob:
            alice.register()
            bob.register(expires=1)
            hss = (lab.address("hss"), lab.catalog["hss"].port("provisioning"))
            imsi = lab.subscriber(1)["imsi"]
            _, body = http_request_sync(*hss, "GET", f"/subscribers/{imsi}")
            assert json.loads(body)["registered"] is True
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                _, body = http_request_sync(*hss, "GET", f"/subscribers/{imsi}")
                if not json.loads(body)["registered"]:
                    break
                time.sleep(0.2)
            else:
                pytest.fail("the HSS still sees the expired registration")
            call = alice.invite(bob.impu)
            assert alice.await_answer(call).status == 480
            scscf = next(r for r in lab.replicas if r.nf == "scscf")
            time.sleep(0.5)
            assert parse_metrics(scscf.metrics())[("scscf_active_registrations", ())] == 1
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def test_sctp_on_a_kernel_without_it_is_a_clear_startup_error(tmp_path: Path) -> None:
    from network_functions.runtime.diameter import sctp_available

    if sctp_available():
        pytest.skip("this kernel has SCTP")
    lab = CoreLab(tmp_path, lab_values(diameter={"transport": "sctp"}))
    hss = lab.start("hss")
    try:
        assert hss.proc.wait(10) == 1
        assert "no SCTP" in hss.log.read_text()
    finally:
        lab.stop_all()


def test_overload_is_refused_with_503(tmp_path: Path) -> None:
    """With more requests in progress than sip.max_pending, new ones get 503 at once."""
    # the IMS alone (with a PCRF enabled the P-CSCF would wait for its Rx peer)
    lab = CoreLab(tmp_path, lab_values(nfs={"pcrf": {"enabled": False}}))
    try:
        lab.start("hss")
        pcscf = lab.start("pcscf", env={"NFV__SIP__MAX_PENDING": "1"})
        lab.wait_ready()  # no I-CSCF runs: a REGISTER the P-CSCF forwards stays pending
        with ue(lab, 0) as first, ue(lab, 1) as second:
            first.send(first._register_request(600, None))
            time.sleep(0.3)
            second.timeout = 3.0
            reply = second.transaction(second._register_request(600, None))
            assert reply.status == 503 and "overload" in reply.reason
            assert reply.headers.get("Retry-After") == "1"
        metrics = parse_metrics(pcscf.metrics())
        assert metrics[("sip_overload_rejections_total", ())] >= 1
    finally:
        lab.stop_all()

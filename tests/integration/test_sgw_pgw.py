"""SGW-C and PGW-C as real processes (two SGW replicas sharing one store, one PGW), driven
by a GTP-C client acting as the MME on S11: many sessions created, modified and deleted
across replicas, with no duplicate UE address or TEID, and malformed or unserviceable
requests answered with the TS 29.274 causes."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.gtpv2c import Fteid, Ie, Message
from network_functions.runtime.gtp import GtpEndpoint
from tests.integration.corelab import CoreLab, lab_values

# SGW-C and PGW-C alone: without a PCRF the PGW-C runs with Gx off (test_pgw_gx.py has Gx).
GATEWAYS_ONLY = {"pcrf": {"enabled": False}}

pytestmark = pytest.mark.integration

SESSIONS = 120
PLMN = g.Plmn("001", "01")
TINY_POOL = "10.99.0.0/29"  # 8 addresses: network, gateway, broadcast reserved -> 5


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    root: Path = tmp_path_factory.mktemp("sgwpgw")
    lab = CoreLab(root, lab_values(nfs=GATEWAYS_ONLY))
    try:
        # A third APN with a tiny pool to exhaust (list items are addressed by index).
        tiny = {"NFV__EPC__APNS__2__NAME": "tiny", "NFV__EPC__APNS__2__POOL": TINY_POOL}
        # Two PGW-C replicas behind the one name "pgw" (both addresses in the name table,
        # as a headless Service gives them): the SGWs spread S5 over both.
        first = lab.start("pgw", env=tiny)
        second = lab.start("pgw", address=lab.new_address(), env=tiny)
        lab.names["pgw"] = [first.address, second.address]  # type: ignore[assignment]
        tmp = lab.root / "names.json.tmp"
        tmp.write_text(json.dumps(lab.names))
        tmp.replace(lab.root / "names.json")
        lab.start("sgw")
        lab.start("sgw", address=lab.new_address())
        lab.wait_ready()
        yield lab
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def sgw_peers(lab: CoreLab) -> list[tuple[str, int]]:
    return [(r.address, 2123) for r in lab.replicas if r.nf == "sgw"]


_imsis = itertools.count(1)


def csr(mme: GtpEndpoint, imsi: str, *, apn: str = "internet", **kw: Any) -> Message:
    return g.create_session_request(
        sequence=0,
        teid=0,
        imsi=imsi,
        msisdn="1555" + imsi[-7:],
        mei="3534900698733190",
        uli=g.Uli(g.Tai(PLMN, 1), g.Ecgi(PLMN, 0x100 + int(imsi[-4:]))),
        serving_network=PLMN,
        sender_fteid=Fteid(g.IF_S11_MME, int(imsi[-6:]) + 1, mme.host),
        apn=apn,
        ebi=5,
        qos=g.BearerQos(qci=9, pl=8),
        apn_ambr=g.Ambr(50_000, 50_000),
        pco=b"\x80\x80\x21\x10\x01\x00\x00\x10\x81\x06\x00\x00\x00\x00",
        **kw,
    )


def new_imsi() -> str:
    return f"00101{next(_imsis):010d}"


async def _mme(lab: CoreLab) -> GtpEndpoint:
    mme = GtpEndpoint(lab.new_address(), 0, t3=2.0, n3=2)
    await mme.start()
    return mme


def test_many_sessions_across_replicas(lab: CoreLab) -> None:
    async def run() -> None:
        mme = await _mme(lab)
        peers = sgw_peers(lab)
        assert len(peers) == 2
        gate = asyncio.Semaphore(40)

        async def one(i: int) -> dict[str, Any]:
            imsi = new_imsi()
            a, b = peers[i % 2], peers[(i + 1) % 2]
            async with gate:
                rsp = await mme.request(a, csr(mme, imsi))
            assert rsp.type == g.CREATE_SESSION_RESPONSE
            assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED, rsp
            assert rsp.teid == int(imsi[-6:]) + 1  # the MME's S11 TEID
            s11: Fteid = rsp.get(g.IE_FTEID, 0)
            pgw_c: Fteid = rsp.get(g.IE_FTEID, 1)
            assert s11.interface == g.IF_S11S4_SGW and s11.ipv4 == a[0]
            assert pgw_c.interface == g.IF_S5S8_PGW_C
            paa: g.Paa = rsp.get(g.IE_PAA)
            assert paa.pdn_type == g.PDN_IPV4 and paa.ipv4 is not None
            assert paa.ipv4.startswith("10.45.")
            assert rsp.get(g.IE_AMBR) == g.Ambr(100_000, 100_000)  # from the APN config
            assert rsp.get(g.IE_PCO) is not None
            bc = rsp.get(g.IE_BEARER_CONTEXT)
            s1u: Fteid = g.find(bc, g.IE_FTEID, 0)
            s5u: Fteid = g.find(bc, g.IE_FTEID, 2)
            assert s1u.interface == g.IF_S1U_SGW and s5u.interface == g.IF_S5S8_PGW_U
            qos: g.BearerQos = g.find(bc, g.IE_BEARER_QOS)
            assert (qos.qci, qos.pl) == (9, 8)
            assert g.find(bc, g.IE_CHARGING_ID) is not None
            # Modify Bearer through the OTHER replica (the session is in the store).
            async with gate:
                mbr = await mme.request(
                    b,
                    g.modify_bearer_request(
                        sequence=0,
                        teid=s11.teid,
                        ebi=5,
                        enb_fteid=Fteid(g.IF_S1U_ENB, 0xE000 + i, "127.0.0.99"),
                    ),
                )
            assert mbr.cause == g.CAUSE_REQUEST_ACCEPTED, mbr
            assert mbr.teid == int(imsi[-6:]) + 1
            mbc = mbr.get(g.IE_BEARER_CONTEXT)
            assert g.find(mbc, g.IE_FTEID, 0) == s1u
            return {
                "imsi": imsi,
                "ip": paa.ipv4,
                "teids": [s11.teid, s1u.teid],
                "pgw": [pgw_c.teid, s5u.teid],
                "s11": s11,
                "via": a,
                "other": b,
            }

        sessions = await asyncio.gather(*(one(i) for i in range(SESSIONS)))
        ips = [s["ip"] for s in sessions]
        assert len(set(ips)) == SESSIONS, "duplicate UE address"
        sgw_teids = [t for s in sessions for t in s["teids"]]
        assert len(set(sgw_teids)) == len(sgw_teids), "duplicate SGW TEID"
        assert 0 not in sgw_teids
        pgw_teids = [t for s in sessions for t in s["pgw"]]
        assert len(set(pgw_teids)) == len(pgw_teids), "duplicate PGW TEID"

        # Delete every session through the replica that did NOT create it.
        async def delete(s: dict[str, Any]) -> None:
            req = g.delete_session_request(sequence=0, teid=s["s11"].teid, ebi=5)
            async with gate:
                rsp = await mme.request(s["other"], req)
            assert rsp.type == g.DELETE_SESSION_RESPONSE
            assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED, rsp
            # Deleted is deleted, on either replica.
            async with gate:
                again = await mme.request(s["via"], req)
            assert again.cause == g.CAUSE_CONTEXT_NOT_FOUND
            assert again.teid == 0

        await asyncio.gather(*(delete(s) for s in sessions))
        await mme.close()

    asyncio.run(run())
    # Both replicas served requests.
    for r in lab.replicas:
        if r.nf == "sgw":
            text = r.metrics()
            assert 'sgw_sessions_total{procedure="delete",cause="16"}' in text, r.name
    # Both PGW replicas allocated addresses (from one pool, without duplicates: above), and
    # every session created was deleted again.
    created = deleted = 0.0
    for pgw in (r for r in lab.replicas if r.nf == "pgw"):
        text = pgw.metrics()
        made = _metric(text, 'pgw_sessions_total{procedure="create",cause="16"}')
        assert made >= SESSIONS / 4, pgw.name
        created += made
        deleted += _metric(text, 'pgw_sessions_total{procedure="delete",cause="16"}')
    assert created >= SESSIONS and deleted == created


def _metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_pool_exhaustion_and_release(lab: CoreLab) -> None:
    async def run() -> None:
        mme = await _mme(lab)
        peer = sgw_peers(lab)[0]
        made = []
        for _ in range(5):
            rsp = await mme.request(peer, csr(mme, new_imsi(), apn="tiny"))
            assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED, rsp
            made.append(rsp)
        ips = {r.get(g.IE_PAA).ipv4 for r in made}
        assert ips == {f"10.99.0.{n}" for n in range(2, 7)}
        imsi = new_imsi()
        full = await mme.request(peer, csr(mme, imsi, apn="tiny"))
        assert full.cause == g.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED
        assert full.teid == int(imsi[-6:]) + 1  # answered to the MME's S11 TEID
        # Release one, and its address can be handed out again.
        first = made[0]
        s11 = first.get(g.IE_FTEID, 0)
        dsr = await mme.request(peer, g.delete_session_request(sequence=0, teid=s11.teid))
        assert dsr.cause == g.CAUSE_REQUEST_ACCEPTED
        again = await mme.request(peer, csr(mme, new_imsi(), apn="tiny"))
        assert again.cause == g.CAUSE_REQUEST_ACCEPTED
        assert again.get(g.IE_PAA).ipv4 == first.get(g.IE_PAA).ipv4
        for r in [*made[1:], again]:
            t = r.get(g.IE_FTEID, 0).teid
            rsp = await mme.request(peer, g.delete_session_request(sequence=0, teid=t))
            assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED
        await mme.close()

    asyncio.run(run())


def test_rejections_carry_the_spec_causes(lab: CoreLab) -> None:
    async def run() -> None:
        mme = await _mme(lab)
        peer = sgw_peers(lab)[1]

        # Unknown APN -> 78 (from the PGW, relayed by the SGW to the MME's TEID).
        rsp = await mme.request(peer, csr(mme, new_imsi(), apn="nosuchapn"))
        assert rsp.cause == g.CAUSE_MISSING_OR_UNKNOWN_APN
        assert rsp.teid != 0
        # The APN's operator identifier is ignored: internet.mnc001.mcc001.gprs is "internet".
        rsp = await mme.request(peer, csr(mme, new_imsi(), apn="internet.mnc001.mcc001.gprs"))
        assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED
        t = rsp.get(g.IE_FTEID, 0).teid
        await mme.request(peer, g.delete_session_request(sequence=0, teid=t))
        # IPv6-only PDN -> 83.
        rsp = await mme.request(peer, csr(mme, new_imsi(), pdn_type=g.PDN_IPV6))
        assert rsp.cause == g.CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED

        # Mandatory IE missing (APN) -> 70 with the offending IE.
        bad = csr(mme, new_imsi())
        bad.ies = [i for i in bad.ies if i.type != g.IE_APN]
        rsp = await mme.request(peer, bad)
        cause: g.Cause = rsp.get(g.IE_CAUSE)
        assert cause.value == g.CAUSE_MANDATORY_IE_MISSING
        assert cause.offending == (g.IE_APN, 0)
        # Missing EBI inside the Bearer Context -> 70 with the BCE flag.
        bad = csr(mme, new_imsi())
        bc = next(i for i in bad.ies if i.type == g.IE_BEARER_CONTEXT)
        bc.value = [i for i in bc.value if i.type != g.IE_EBI]
        cause = (await mme.request(peer, bad)).get(g.IE_CAUSE)
        assert (cause.value, cause.bce, cause.offending) == (
            g.CAUSE_MANDATORY_IE_MISSING,
            True,
            (g.IE_EBI, 0),
        )
        # Mandatory IE incorrect: an F-TEID without any address -> 69.
        bad = csr(mme, new_imsi())
        for i, ie in enumerate(bad.ies):
            if ie.type == g.IE_FTEID:
                bad.ies[i] = Ie(g.IE_FTEID, None, 0, raw=bytes([g.IF_S11_MME]) + b"\0\0\0\1")
        cause = (await mme.request(peer, bad)).get(g.IE_CAUSE)
        assert (cause.value, cause.offending) == (g.CAUSE_MANDATORY_IE_INCORRECT, (g.IE_FTEID, 0))
        # Unknown TEID -> 64 Context Not Found, TEID 0 in the response.
        for req in (
            g.modify_bearer_request(sequence=0, teid=0x7FFFFFF0, ebi=5),
            g.delete_session_request(sequence=0, teid=0x7FFFFFF1),
        ):
            rsp = await mme.request(peer, req)
            assert (rsp.cause, rsp.teid) == (g.CAUSE_CONTEXT_NOT_FOUND, 0)
        # Echo: the SGW answers with its Recovery counter.
        assert 0 <= await mme.echo(peer) <= 255
        await mme.close()

    asyncio.run(run())


def test_malformed_datagrams(lab: CoreLab) -> None:
    """Raw datagrams: a request whose length field disagrees with the datagram gets
    "Invalid length" (67) with its sequence number; one too short for a header, or of an
    unknown message type, is silently dropped (§7.7.3, §7.7.4); GTPv1 gets Version Not
    Supported (§7.7.2); an unknown IE is ignored (§7.7.9); a retransmitted request is
    answered from the cache, not processed twice (§7.6)."""
    peer = sgw_peers(lab)[0]
    src = lab.new_address()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(3.0)
        mme_fteid = Fteid(g.IF_S11_MME, 77, src)
        req = g.create_session_request(
            sequence=4242,
            teid=0,
            imsi=new_imsi(),
            sender_fteid=mme_fteid,
            apn="internet",
            ebi=5,
            qos=g.BearerQos(9, 8),
        )
        wire = req.encode()
        s.sendto(wire + b"\0\0", peer)  # two stray octets beyond the length field
        rsp = g.decode(s.recv(4096))
        assert (rsp.type, rsp.sequence, rsp.cause) == (
            g.CREATE_SESSION_RESPONSE,
            4242,
            g.CAUSE_INVALID_LENGTH,
        )
        # Too short, unknown type: no answer at all.
        s.settimeout(0.5)
        for junk in (b"\x48\x20\x00", bytes([0x48, 200, 0, 8]) + bytes(8)):
            s.sendto(junk, peer)
            with pytest.raises(TimeoutError):
                s.recv(4096)
        s.settimeout(3.0)
        # GTPv1 header -> Version Not Supported Indication.
        s.sendto(bytes([0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]), peer)
        vns = g.decode(s.recv(4096))
        assert vns.type == g.VERSION_NOT_SUPPORTED
        # Unknown IE (type 250) + a retransmission with the same sequence number.
        req.sequence = 4243
        req.ies.append(Ie(250, b"whatever"))
        wire = req.encode()
        s.sendto(wire, peer)
        first = s.recv(4096)
        s.sendto(wire, peer)
        second = s.recv(4096)
        assert first == second
        rsp = g.decode(first)
        assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED
        # The duplicate was not processed: exactly one session exists for this IMSI, so
        # one Delete Session succeeds and the replica counted a duplicate.
        teid = rsp.get(g.IE_FTEID, 0).teid
        dsr = g.delete_session_request(sequence=4244, teid=teid)
        s.sendto(dsr.encode(), peer)
        assert g.decode(s.recv(4096)).cause == g.CAUSE_REQUEST_ACCEPTED
    replica = next(r for r in lab.replicas if r.address == peer[0])
    assert _metric(replica.metrics(), "gtp_duplicate_requests_total") >= 1


def test_store_holds_state_as_json(lab: CoreLab) -> None:
    """The SGW's session is readable by any replica: check its shape in the shared store."""
    import sqlite3

    async def run() -> int:
        mme = await _mme(lab)
        rsp = await mme.request(sgw_peers(lab)[0], csr(mme, new_imsi()))
        await mme.close()
        teid: int = rsp.get(g.IE_FTEID, 0).teid
        return teid

    teid = asyncio.run(run())
    db = sqlite3.connect(lab.root / "store-sgw.db")
    try:
        row = db.execute("SELECT value FROM kv WHERE key = ?", (f"sgw:s:{teid}",)).fetchone()
    finally:
        db.close()
    assert row is not None
    session = json.loads(row[0])
    assert session["s11"] == teid and session["ebi"] == 5 and session["ue_ip"]


def test_racing_deletes_succeed_exactly_once(lab: CoreLab) -> None:
    """The same Delete Session sent to both replicas at once: one 16, one 64, and the
    PGW-C's address is released once."""

    async def run() -> None:
        mme = await _mme(lab)
        peers = sgw_peers(lab)
        for _ in range(10):
            rsp = await mme.request(peers[0], csr(mme, new_imsi()))
            teid = rsp.get(g.IE_FTEID, 0).teid
            answers = await asyncio.gather(
                *(mme.request(p, g.delete_session_request(sequence=0, teid=teid)) for p in peers)
            )
            assert sorted(a.cause or 0 for a in answers) == [16, 64]
        await mme.close()

    asyncio.run(run())


def test_replicas_sharing_one_address(tmp_path: Path) -> None:
    """As the local platform runs them: two SGW-C replicas on ONE address and port
    (SO_REUSEPORT). Each MME socket's flow lands on one replica; their S5 requests leave
    from per-replica sockets, so the PGW's answers reach the replica that asked."""
    lab = CoreLab(tmp_path, lab_values(nfs=GATEWAYS_ONLY))
    try:
        lab.start("pgw")
        lab.start("sgw")
        lab.start("sgw", address=lab.address("sgw"))
        lab.wait_ready()

        async def run() -> None:
            mmes = [await _mme(lab) for _ in range(8)]
            peer = (lab.address("sgw"), 2123)

            async def one(mme: GtpEndpoint) -> None:
                for _ in range(15):
                    rsp = await mme.request(peer, csr(mme, new_imsi()))
                    assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED, rsp
                    teid = rsp.get(g.IE_FTEID, 0).teid
                    dsr = g.delete_session_request(sequence=0, teid=teid, ebi=5)
                    assert (await mme.request(peer, dsr)).cause == g.CAUSE_REQUEST_ACCEPTED

            await asyncio.gather(*(one(m) for m in mmes))
            for m in mmes:
                await m.close()

        asyncio.run(run())
        served = [
            _metric(r.metrics(), 'sgw_sessions_total{procedure="create",cause="16"}')
            for r in lab.replicas
            if r.nf == "sgw"
        ]
        assert sum(served) == 120 and all(n > 0 for n in served), served
        # No S5 request went unanswered (its response reached the replica that sent it).
        lost = sum(
            _metric(r.metrics(), 'sgw_sessions_total{procedure="create",cause="pgw-timeout"}')
            for r in lab.replicas
            if r.nf == "sgw"
        )
        assert lost == 0
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def test_sgw_is_ready_only_while_the_pgw_answers_echo(tmp_path: Path) -> None:
    """ARCHITECTURE principle 5: the SGW-C's /readyz follows the PGW-C's Echo Responses."""
    lab = CoreLab(tmp_path, lab_values(nfs=GATEWAYS_ONLY))
    fast = {"NFV__GTP__ECHO_INTERVAL": "0.2"}
    try:
        sgw = lab.start("sgw", env=fast)
        time.sleep(1.0)
        assert sgw.proc.poll() is None and not sgw.ready()  # no PGW-C yet
        pgw = lab.start("pgw")
        lab.wait_ready()
        assert sgw.ready()
        lab.stop(pgw)
        deadline = time.monotonic() + 10
        while sgw.ready() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sgw.ready()
        lab.start("pgw")
        lab.wait_ready()
        assert sgw.ready()
        # SIGTERM: drained (the Echo loop stopped) and exited 0 well within drain_timeout.
        assert lab.stop(sgw) == 0
        assert "drain timed out" not in sgw.log.read_text()
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()

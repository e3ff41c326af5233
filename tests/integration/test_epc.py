"""The EPC end to end: real MME, HSS, SGW-C, PGW-C and PCRF processes on loopback, driven by
the eNB/UE simulator (real S1AP over TCP, NAS with EPS AKA and NAS security, S6a, GTPv2-C,
Gx): attach and detach of many UEs, across MME replicas, and the failure paths."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from network_functions.protocols import nas, s1ap
from network_functions.runtime.metrics import parse_metrics
from network_functions.sim.enb import (
    AttachRejected,
    AttachResult,
    AuthenticationRejected,
    DetachResult,
    Enb,
    S1SetupFailed,
    SimTimeout,
    SimUe,
)
from nfv.check import CheckFailed, EpcTarget, epc_target, run_epc_check
from tests.pcap import requires_tshark, tshark_pdml, write_s1ap_pcap

from .corelab import CoreLab, Replica, epc_values

pytestmark = pytest.mark.integration

UES = 50
# The second subscriber range: IMSIs the HSS does not know.
UNKNOWN_IMSI = "001019999999999"


@pytest.fixture(scope="module")
def epc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    lab = CoreLab(tmp_path_factory.mktemp("epc"), epc_values(subscribers=UES + 80))
    try:
        lab.start_core()
        yield lab
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def mme_of(lab: CoreLab, replica: Replica | None = None) -> tuple[str, int]:
    address = replica.address if replica is not None else lab.address("mme")
    return (address, lab.catalog["mme"].port("s1ap"))


def sim_ue(lab: CoreLab, i: int, **kw: object) -> SimUe:
    sub = lab.subscriber(i)
    return SimUe(imsi=sub["imsi"], k=sub["k"], opc=sub["opc"], **kw)  # type: ignore[arg-type]


def counter(replica: Replica, name: str, **labels: str) -> float:
    total = 0.0
    for (metric, pairs), value in parse_metrics(replica.metrics()).items():
        got = dict(pairs)
        if metric == name and all(got.get(k) == v for k, v in labels.items()):
            total += value
    return total


def replica(lab: CoreLab, nf: str, index: int = 0) -> Replica:
    return [r for r in lab.replicas if r.nf == nf][index]


def test_many_ues_attach_and_detach(epc: CoreLab) -> None:
    """50 UEs over two eNBs, 10 in flight per eNB; every UE gets its own address from the
    internet pool and its own GUTI; then all detach."""
    ues = [sim_ue(epc, i) for i in range(UES)]
    halves = [ues[: UES // 2], ues[UES // 2 :]]
    results: list[AttachResult] = []
    enbs = [Enb(mme_of(epc), enb_id=10 + n) for n in range(2)]
    try:
        for enb in enbs:
            enb.connect()
        for enb, group in zip(enbs, halves, strict=True):
            out = enb.run_many([enb.attach_procedure(u) for u in group], concurrency=10)
            failures = [r for r in out if not isinstance(r, AttachResult)]
            assert not failures, failures[:3]
            results += out
        pool = ipaddress.ip_network("10.45.0.0/16")
        assert len({r.ip for r in results}) == UES
        assert all(ipaddress.ip_address(r.ip) in pool for r in results)
        assert len({r.guti.m_tmsi for r in results}) == UES
        assert all(r.steps.keys() >= {"authentication", "security_mode"} for r in results)
        for enb, group in zip(enbs, halves, strict=True):
            out = enb.run_many([enb.detach_procedure(u) for u in group], concurrency=10)
            assert all(isinstance(r, DetachResult) for r in out), out[:3]
    finally:
        for enb in enbs:
            enb.close()
    mme = replica(epc, "mme")
    assert counter(mme, "mme_procedures_total", procedure="attach", result="success") >= UES
    assert counter(mme, "mme_procedures_total", procedure="detach", result="success") >= UES
    # The gateways saw every session created and deleted.
    sgw = replica(epc, "sgw")
    assert counter(sgw, "sgw_sessions_total", procedure="create", cause="16") >= UES
    assert counter(sgw, "sgw_sessions_total", procedure="delete", cause="16") >= UES


def test_switch_off_detach_and_reattach(epc: CoreLab) -> None:
    ue = sim_ue(epc, UES)
    with Enb(mme_of(epc), enb_id=20) as enb:
        first = enb.attach(ue)
        enb.detach(ue, switch_off=True)  # no Detach Accept, only the release
        second = enb.attach(ue)
        assert second.guti.m_tmsi != first.guti.m_tmsi
        enb.detach(ue)


def test_sqn_out_of_range_is_resynchronised(epc: CoreLab) -> None:
    """The USIM has seen a higher SQN than the HSS's: synch failure, AUTS, AIR with
    Re-Synchronization-Info, and the second challenge succeeds (TS 33.102 §6.3.5)."""
    ue = sim_ue(epc, UES + 1, sqn_ms=1 << 40)
    with Enb(mme_of(epc), enb_id=21) as enb:
        result = enb.attach(ue)
        assert ue.sqn_ms is not None and ue.sqn_ms > 1 << 40
        enb.detach(ue)
    assert result.ip
    mme = replica(epc, "mme")
    assert counter(mme, "mme_procedures_total", procedure="authentication", result="resync") >= 1


def test_unknown_imsi_is_rejected(epc: CoreLab) -> None:
    """AIA DIAMETER_ERROR_USER_UNKNOWN → Attach Reject #8 (TS 29.272 Annex A)."""
    sub = epc.subscriber(0)
    ue = SimUe(imsi=UNKNOWN_IMSI, k=sub["k"], opc=sub["opc"])
    with Enb(mme_of(epc), enb_id=22) as enb:
        with pytest.raises(AttachRejected) as info:
            enb.attach(ue)
        assert info.value.emm_cause == 8
        # The association is still usable.
        good = sim_ue(epc, UES + 2)
        enb.attach(good)
        enb.detach(good)


def test_wrong_key_fails_authentication(epc: CoreLab) -> None:
    """The USIM's K differs from the HSS's: the UE cannot verify the network (cause #20),
    the MME answers Authentication Reject and releases the UE."""
    ue = sim_ue(epc, UES + 3)
    ue.k = "00" * 16
    with Enb(mme_of(epc), enb_id=23) as enb:
        with pytest.raises(AuthenticationRejected):
            enb.attach(ue)
        assert not ue.attached and ue.sec is None


def test_unknown_apn_is_rejected_with_esm_cause(epc: CoreLab) -> None:
    ue = sim_ue(epc, UES + 4, apn="no-such-apn")
    with Enb(mme_of(epc), enb_id=24) as enb, pytest.raises(AttachRejected) as info:
        enb.attach(ue)
    assert info.value.emm_cause == nas.EMM_CAUSE_ESM_FAILURE
    assert info.value.esm_cause == nas.ESM_CAUSE_MISSING_OR_UNKNOWN_APN


def test_ims_apn(epc: CoreLab) -> None:
    ue = sim_ue(epc, UES + 5, apn="ims")
    with Enb(mme_of(epc), enb_id=25) as enb:
        result = enb.attach(ue)
        enb.detach(ue)
    assert ipaddress.ip_address(result.ip) in ipaddress.ip_network("10.46.0.0/16")


def test_malformed_s1ap_gets_error_indication(epc: CoreLab) -> None:
    """Bytes that are no S1AP PDU → Error Indication (transfer syntax error); a NAS
    transport for a UE association that does not exist → Error Indication naming it; the
    association and the MME carry on."""
    with Enb(mme_of(epc), enb_id=26) as enb:
        enb.send_raw(b"\x00\xff\x13\x37garbage")
        msg = enb.receive()
        assert msg.name == "ErrorIndication"
        assert msg.ies["Cause"] == ("protocol", "transfer-syntax-error")
        enb.send(
            s1ap.uplink_nas_transport(
                mme_ue_s1ap_id=0xFFFFFF0,
                enb_ue_s1ap_id=7,
                nas_pdu=b"\x07\x43\x00",
                mcc="001",
                mnc="01",
                tac=1,
                cell_id=1,
            )
        )
        msg = enb.receive()
        assert msg.name == "ErrorIndication"
        assert msg.ies["Cause"] == ("radioNetwork", "unknown-mme-ue-s1ap-id")
        ue = sim_ue(epc, UES + 6)
        enb.attach(ue)
        enb.detach(ue)


def test_malformed_nas_gets_emm_status(epc: CoreLab) -> None:
    with Enb(mme_of(epc), enb_id=27) as enb:
        enb.send(
            s1ap.initial_ue_message(
                enb_ue_s1ap_id=99, nas_pdu=b"\x07\x41", mcc="001", mnc="01", tac=1, cell_id=1
            )
        )
        msg = enb.receive()
        assert msg.name == "DownlinkNASTransport"
        status = nas.decode(bytes(msg.ies["NAS-PDU"]))
        assert isinstance(status, nas.EmmStatus)
        release = enb.receive()
        assert release.name == "UEContextReleaseCommand"


def test_broken_framing_closes_only_that_association(epc: CoreLab) -> None:
    with Enb(mme_of(epc), enb_id=28) as bad:
        assert bad.sock is not None
        bad.sock.sendall(b"\x00\x00\x00\x00")  # a zero length: the stream lost sync
        bad.sock.settimeout(5)
        assert bad.sock.recv(100) == b""
    ue = sim_ue(epc, UES + 7)
    with Enb(mme_of(epc), enb_id=29) as enb:
        enb.attach(ue)
        enb.detach(ue)


def test_s1_setup_checks(epc: CoreLab) -> None:
    for kw in ({"mcc": "999"}, {"tacs": [4242]}):
        enb = Enb(mme_of(epc), enb_id=31, setup=False)
        try:
            enb.connect()
            with pytest.raises(S1SetupFailed) as info:
                enb.s1_setup(**kw)  # type: ignore[arg-type]
            assert info.value.cause == ("misc", "unknown-PLMN")
        finally:
            enb.close()
    # Nothing but S1 Setup before S1 Setup.
    enb = Enb(mme_of(epc), enb_id=32, setup=False)
    try:
        enb.connect()
        ue = sim_ue(epc, UES + 8)
        enb.send(
            s1ap.initial_ue_message(
                enb_ue_s1ap_id=1,
                nas_pdu=nas.AttachRequest(
                    identity=nas.Imsi(ue.imsi), esm=nas.PdnConnectivityRequest(pti=1)
                ).encode(),
                mcc="001",
                mnc="01",
                tac=1,
                cell_id=1,
            )
        )
        msg = enb.receive()
        assert msg.name == "ErrorIndication"
        assert msg.ies["Cause"] == ("protocol", "message-not-compatible-with-receiver-state")
    finally:
        enb.close()


def test_second_replica_serves_a_ue_attached_through_the_first(epc: CoreLab) -> None:
    """Attach through MME replica 0, go idle, reconnect the eNB to replica 1 and detach
    there: replica 1 finds the UE by its GUTI in the shared store and checks the Detach
    Request with the stored NAS security context."""
    first = replica(epc, "mme")
    second = epc.start("mme", address=epc.new_address())
    epc.wait_ready()
    try:
        ues = [sim_ue(epc, UES + 10 + i) for i in range(5)]
        with Enb(mme_of(epc, first), enb_id=40) as enb:
            tmsis = {enb.attach(ue).guti.m_tmsi for ue in ues}
            for ue in ues:
                enb.release(ue)
        with Enb(mme_of(epc, second), enb_id=40) as enb:
            for ue in ues:
                enb.detach(ue)
            # and a fresh attach through replica 1 draws a GUTI unique across replicas
            again = enb.attach(ues[0])
            enb.detach(ues[0])
        assert again.guti.m_tmsi not in tmsis
        assert counter(second, "mme_procedures_total", procedure="detach", result="success") == 6
        assert counter(second, "mme_procedures_total", procedure="attach", result="success") == 1
        # A replica that stops (scale-in, SIGTERM) leaves its connected UEs ECM-IDLE in the
        # store: they detach through the remaining replica.
        connected = [sim_ue(epc, UES + 15 + i) for i in range(3)]
        with Enb(mme_of(epc, second), enb_id=41) as enb:
            for ue in connected:
                enb.attach(ue)
            assert epc.stop(second) == 0
        with Enb(mme_of(epc, first), enb_id=41) as enb:
            for ue in connected:
                ue.connected = False  # the eNB lost the S1 association with the replica
                enb.detach(ue)
    finally:
        epc.stop(second)


def test_mme_survives_an_enb_vanishing_mid_attach(epc: CoreLab) -> None:
    ue = sim_ue(epc, UES + 9)
    enb = Enb(mme_of(epc), enb_id=50)
    enb.connect()
    proc = enb.attach_procedure(ue)
    enb.send(next(proc)[0])  # Initial UE Message; the Authentication Request comes back
    enb.receive()
    enb.close()  # the eNB disappears while the MME waits for the UE
    with Enb(mme_of(epc), enb_id=51) as other:
        other.attach(ue)
        other.detach(ue)
    assert replica(epc, "mme").proc.poll() is None


def test_overload_rejects_with_congestion(epc: CoreLab) -> None:
    """Beyond max_pending_attaches procedures in progress, an MME replica answers new
    attaches with Attach Reject #22 at once instead of queueing them."""
    busy = epc.start("mme", address=epc.new_address(), env={"NFV__MAX_PENDING_ATTACHES": "2"})
    epc.wait_ready()
    try:
        ues = [sim_ue(epc, UES + 20 + i) for i in range(12)]
        with Enb(mme_of(epc, busy), enb_id=60) as enb:
            out = enb.run_many([enb.attach_procedure(u) for u in ues], concurrency=12)
            rejected = [r for r in out if isinstance(r, AttachRejected)]
            attached = [u for u, r in zip(ues, out, strict=True) if isinstance(r, AttachResult)]
            assert rejected and attached, out
            assert all(r.emm_cause == 22 for r in rejected)
            assert len(rejected) + len(attached) == len(ues)
            for ue in attached:
                enb.detach(ue)
        assert counter(busy, "mme_procedures_in_progress") == 0
    finally:
        epc.stop(busy)


def test_nfv_check_attaches_through_the_mme(epc: CoreLab) -> None:
    """`nfv check`'s EPC part: the MME found in a plan by its exposed s1ap interface, the
    PLMN/TAC read from its rendered config, then S1 Setup, attach and detach."""
    plan = {
        "nfs": {
            "mme": {
                "address": epc.address("mme"),
                "interfaces": {"s1ap": epc.catalog["mme"].port("s1ap")},
                "exposed": ["s1ap"],
                "config": str(epc.root / "mme.yaml"),
            }
        }
    }
    target = epc_target(plan)
    assert target is not None and (target.mcc, target.mnc, target.tac) == ("001", "01", 1)
    report = run_epc_check(epc.subscribers[UES + 40 :], target)
    assert [s.split()[0] for s, _ in report.steps] == ["S1", "attach", "detach"]
    with pytest.raises(CheckFailed, match="S1 Setup"):
        run_epc_check(epc.subscribers, EpcTarget(target.host, target.port, "999", "99", 1))


def test_reattach_through_another_enb_releases_the_old_association(epc: CoreLab) -> None:
    ue = sim_ue(epc, UES + 41)
    with Enb(mme_of(epc), enb_id=70) as old, Enb(mme_of(epc), enb_id=71) as new:
        first = old.attach(ue)
        second = new.attach(ue)  # e.g. the UE lost its state and attached again elsewhere
        release = old.receive()
        assert release.name == "UEContextReleaseCommand"
        assert release.ies["Cause"] == ("nas", "normal-release")
        assert second.guti.m_tmsi != first.guti.m_tmsi
        new.release(ue)
        new.detach(ue)  # from idle, by the new GUTI: the stored context is the new one


def test_enb_reset_drops_the_ue_associations_and_keeps_the_ues_registered(epc: CoreLab) -> None:
    """S1 Reset from the eNB (TS 36.413 §8.7.1.2.2): Reset Acknowledge, the UEs' S1
    associations are gone (their UEs ECM-IDLE) but they stay attached: they detach later
    from idle with the security context the MME kept."""
    ues = [sim_ue(epc, UES + 42 + i) for i in range(2)]
    with Enb(mme_of(epc), enb_id=80) as enb:
        for ue in ues:
            enb.attach(ue)
        enb.send(
            s1ap.S1apMessage(
                "Reset",
                {"Cause": ("misc", "om-intervention"), "ResetType": ("s1-Interface", "reset-all")},
            )
        )
        ack = enb.receive()
        assert ack.name == "ResetAcknowledge"
        for ue in ues:
            ue.connected = False  # the eNB dropped them too
        for ue in ues:
            enb.detach(ue)


def test_mutated_s1ap_never_breaks_the_mme(epc: CoreLab) -> None:
    """Valid PDUs of an attach with random octets flipped, and random bytes: whatever the
    MME makes of them (Error Indication, EMM STATUS, a release, silence), the association
    keeps working and the MME keeps serving UEs."""
    import random

    rng = random.Random(9)
    ue = sim_ue(epc, UES + 44)
    seeds = [
        s1ap.initial_ue_message(
            enb_ue_s1ap_id=500,
            nas_pdu=nas.AttachRequest(
                identity=nas.Imsi(ue.imsi), esm=nas.PdnConnectivityRequest(pti=1)
            ).encode(),
            mcc="001",
            mnc="01",
            tac=1,
            cell_id=1,
        ).encode(),
        s1ap.s1_setup_request(mcc="001", mnc="01", enb_id=90, tacs=[1]).encode(),
        s1ap.ue_context_release_request(
            mme_ue_s1ap_id=1, enb_ue_s1ap_id=500, cause_value=("radioNetwork", "user-inactivity")
        ).encode(),
    ]
    with Enb(mme_of(epc), enb_id=90, timeout=5) as enb:
        for n in range(150):
            if n % 5 == 4:
                pdu = rng.randbytes(rng.randrange(1, 60))
            else:
                data = bytearray(rng.choice(seeds))
                for _ in range(rng.randrange(1, 4)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                pdu = bytes(data)
            enb.send_raw(pdu)
        # The association still works: a NAS transport for a UE association that does not
        # exist is refused by name (whatever else the MME still has to say comes first).
        enb.send(
            s1ap.uplink_nas_transport(
                mme_ue_s1ap_id=0xFFFFFF1,
                enb_ue_s1ap_id=0xFFFFF1,
                nas_pdu=b"\x07\x43\x00",
                mcc="001",
                mnc="01",
                tac=1,
                cell_id=1,
            )
        )
        answers = []
        while ("radioNetwork", "unknown-mme-ue-s1ap-id") not in answers:
            answers.append(enb.receive(timeout=30).ies.get("Cause"))
        assert ("protocol", "transfer-syntax-error") in answers
    # ... and other eNBs' UEs are served as before.
    with Enb(mme_of(epc), enb_id=91) as other:
        result = other.attach(ue)
        other.detach(ue)
    assert result.ip
    assert replica(epc, "mme").proc.poll() is None


def test_procedure_timer_releases_a_silent_ue(epc: CoreLab) -> None:
    """A UE that never answers the Authentication Request: when the procedure timer runs
    out the MME releases the UE association (and nothing else is disturbed)."""
    quick = epc.start("mme", address=epc.new_address(), env={"NFV__PROCEDURE_TIMEOUT": "0.5"})
    epc.wait_ready()
    try:
        ue = sim_ue(epc, UES + 46)
        with Enb(mme_of(epc, quick), enb_id=95) as enb:
            proc = enb.attach_procedure(ue)
            enb.send(next(proc)[0])
            assert enb.receive().name == "DownlinkNASTransport"  # Authentication Request
            release = enb.receive(timeout=10)
            assert release.name == "UEContextReleaseCommand"
            proc.close()
            enb.attach(ue)  # a UE that answers still attaches
            enb.detach(ue)
        assert counter(quick, "mme_procedures_total", procedure="attach", result="timeout") == 1
    finally:
        epc.stop(quick)


def test_attach_with_a_guti(epc: CoreLab) -> None:
    """An Attach Request with the GUTI: while the MME has the UE's context it takes the IMSI
    from it; after the detach (context gone) it asks with an Identity Request."""
    ue = sim_ue(epc, UES + 47)
    with Enb(mme_of(epc), enb_id=96) as enb:
        first = enb.attach(ue)
        enb.release(ue)
        known = enb.attach(ue, with_guti=True)
        assert "identification" not in known.steps
        assert known.guti.m_tmsi != first.guti.m_tmsi
        enb.detach(ue)
        assert ue.guti == known.guti  # kept by the UE after the detach
        unknown = enb.attach(ue, with_guti=True)
        assert "identification" in unknown.steps
        enb.detach(ue)


def test_plain_or_forged_nas_after_security_is_discarded(epc: CoreLab) -> None:
    """Once NAS security is active (TS 24.301 §4.4.4.3) an unprotected Attach Complete and a
    message with a wrong MAC are dropped without an answer (as is the eNB's UE Capability
    Info Indication: nothing to answer); the UE's own protected detach then goes through."""
    ue = sim_ue(epc, UES + 48)
    mme = replica(epc, "mme")
    before = counter(mme, "mme_procedures_total", procedure="nas")
    with Enb(mme_of(epc), enb_id=97) as enb:
        enb.attach(ue)
        assert ue.mme_ue_s1ap_id is not None
        plain = nas.AttachComplete(esm=nas.ActivateDefaultBearerAccept(ebi=5)).encode()
        assert ue.sec is not None
        forged = bytearray(ue.sec.protect(plain))
        forged[1] ^= 0xFF  # the MAC
        for pdu in (plain, bytes(forged)):
            enb.send(
                s1ap.uplink_nas_transport(
                    mme_ue_s1ap_id=ue.mme_ue_s1ap_id,
                    enb_ue_s1ap_id=ue.enb_ue_s1ap_id,
                    nas_pdu=pdu,
                    mcc="001",
                    mnc="01",
                    tac=1,
                    cell_id=1,
                )
            )
        # and the UE Capability Info Indication a real eNB sends after Initial Context Setup
        enb.send(
            s1ap.S1apMessage(
                "UECapabilityInfoIndication",
                {
                    "MME-UE-S1AP-ID": ue.mme_ue_s1ap_id,
                    "eNB-UE-S1AP-ID": ue.enb_ue_s1ap_id,
                    "UERadioCapability": b"\x01\x02",
                },
            )
        )
        with pytest.raises(SimTimeout):
            enb.receive(timeout=0.5)
        ue.sec.ul_count -= 1  # the forged message used a count the MME did not accept
        enb.detach(ue)
    assert counter(mme, "mme_procedures_total", procedure="nas", result="unprotected") >= 1
    assert counter(mme, "mme_procedures_total", procedure="nas") >= before + 2


def test_attach_through_another_mme_cancels_the_old_location(epc: CoreLab) -> None:
    """A second MME (another MME code, so another Diameter identity, with its own store)
    takes the UE: the HSS sends Cancel-Location to the first MME, which forgets the UE."""
    first = replica(epc, "mme")
    other = epc.start(
        "mme",
        address=epc.new_address(),
        env={
            "NFV__EPC__MME_CODE": "2",
            "NFV__STORE__URL": f"sqlite:///{epc.root}/store-other-mme.db",
        },
    )
    epc.wait_ready()
    try:
        ue = sim_ue(epc, UES + 49)
        cancelled = counter(first, "mme_procedures_total", procedure="cancel-location")
        with Enb(mme_of(epc, first), enb_id=98) as enb:
            enb.attach(ue)
            enb.release(ue)
        with Enb(mme_of(epc, other), enb_id=99) as enb:
            result = enb.attach(ue)
            assert result.guti.mme_code == 2
            enb.detach(ue)
        deadline = time.monotonic() + 30  # the CLR is sent asynchronously by the HSS
        while counter(first, "mme_procedures_total", procedure="cancel-location") == cancelled:
            assert time.monotonic() < deadline, "no Cancel-Location reached the first MME"
            time.sleep(0.1)
    finally:
        epc.stop(other)


@requires_tshark
def test_tshark_decodes_a_real_attach_and_detach(epc: CoreLab, tmp_path: Path) -> None:
    """What the MME really sends and receives (S1 Setup, attach with AKA and security mode,
    release, idle-mode detach, an Attach Reject) written as S1AP over SCTP into a pcap:
    Wireshark decodes every packet without a malformed or expert mark."""
    enb = Enb(mme_of(epc), enb_id=100, setup=False)
    enb.trace = []
    ue = sim_ue(epc, UES + 45)
    sub = epc.subscriber(0)
    stranger = SimUe(imsi=UNKNOWN_IMSI, k=sub["k"], opc=sub["opc"])
    try:
        enb.connect()
        enb.s1_setup()
        enb.attach(ue)
        enb.release(ue)
        enb.detach(ue)
        with pytest.raises(AttachRejected):
            enb.attach(stranger)
    finally:
        enb.close()
    pcap = tmp_path / "attach.pcap"
    write_s1ap_pcap(pcap, enb.trace)
    out = tshark_pdml(pcap)  # fails on any malformed or expert mark
    assert out.count('<proto name="s1ap"') == len(enb.trace)
    assert f'show="{ue.imsi}"' in out  # the IMSI of the Attach Request
    assert f'show="{ue.ip}"' in out  # the PDN address in the Attach Accept


def test_eea2_ciphering_when_preferred(epc: CoreLab) -> None:
    """With 128-EEA2 first in `security.ciphering`, the Security Mode Command selects it and
    every NAS message after it is ciphered (AES-CTR) both ways."""
    ciphering = epc.start(
        "mme", address=epc.new_address(), env={"NFV__SECURITY__CIPHERING": "[2, 0]"}
    )
    epc.wait_ready()
    try:
        ue = sim_ue(epc, UES + 43)
        with Enb(mme_of(epc, ciphering), enb_id=110) as enb:
            enb.attach(ue)
            assert ue.sec is not None and ue.sec.enc_alg == 2
            enb.detach(ue)
        weak = sim_ue(epc, UES + 43, capability=b"\x80\xe0")  # a UE without EEA2: EEA0
        with Enb(mme_of(epc, ciphering), enb_id=111) as enb:
            enb.attach(weak)
            assert weak.sec is not None and weak.sec.enc_alg == 0
            enb.detach(weak)
    finally:
        epc.stop(ciphering)


def test_s11_load_spreads_over_sgw_replicas(epc: CoreLab) -> None:
    """A second SGW-C replica on the SGW's address (SO_REUSEPORT): the MME's S11 sockets
    are separate UDP flows, so Create Sessions land on both replicas, and Modify Bearer /
    Delete Session work whichever replica created the session (state in the store)."""
    sgw0 = replica(epc, "sgw")
    sgw1 = epc.start("sgw", address=epc.address("sgw"))
    mme = epc.start("mme", address=epc.new_address(), env={"NFV__S11__SOCKETS": "16"})
    epc.wait_ready()
    try:
        before = counter(sgw0, "sgw_sessions_total", procedure="create")
        ues = [sim_ue(epc, UES + 50 + i) for i in range(24)]
        with Enb(mme_of(epc, mme), enb_id=120) as enb:
            out = enb.run_many([enb.attach_procedure(u) for u in ues], concurrency=8)
            assert all(isinstance(r, AttachResult) for r in out), out[:3]
            out = enb.run_many([enb.detach_procedure(u) for u in ues], concurrency=8)
            assert all(isinstance(r, DetachResult) for r in out), out[:3]
        assert counter(sgw0, "sgw_sessions_total", procedure="create") > before
        assert counter(sgw1, "sgw_sessions_total", procedure="create") > 0
    finally:
        epc.stop(mme)
        epc.stop(sgw1)

"""PGW-C with Gx on: real PCRF, PGW-C and SGW-C processes. The default bearer's QoS and the
APN-AMBR come from the PCRF's CCA-I (the PCRF is given a different policy than the PGW's own
APN config, so the test sees whose values win), CCR-T ends the Gx session on Delete Session,
and an unreachable PCRF rejects the Create Session instead of applying an unauthorised
policy."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.diameter import APP_RX, answer_result, new_session_id, rx
from network_functions.runtime.gtp import GtpEndpoint
from tests.integration.corelab import CoreLab, diameter_peer, lab_values, managed

pytestmark = pytest.mark.integration

PLMN = g.Plmn("001", "01")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    root: Path = tmp_path_factory.mktemp("pgwgx")
    lab = CoreLab(root, lab_values())
    lab.store_url = f"sqlite:///{root}/store.db"
    with managed(lab):
        # The PCRF's policy for "ims" differs from the PGW's APN defaults (QCI 5, ARP 1,
        # 2000 kbit/s): QCI 6, ARP 3, 3000 kbit/s.
        lab.start(
            "pcrf",
            env={
                "NFV__EPC__APNS__1__QCI": "6",
                "NFV__EPC__APNS__1__ARP": "3",
                "NFV__EPC__APNS__1__AMBR_UL_KBPS": "3000",
                "NFV__EPC__APNS__1__AMBR_DL_KBPS": "3000",
            },
        )
        lab.wait_ready()
        lab.start("pgw", env={"NFV__GX__ENABLED": "true"})
        lab.start("sgw")
        lab.wait_ready()
        yield lab


def _csr(mme: GtpEndpoint, imsi: str, apn: str) -> g.Message:
    return g.create_session_request(
        sequence=0,
        teid=0,
        imsi=imsi,
        msisdn="15550000009",
        sender_fteid=g.Fteid(g.IF_S11_MME, 99, mme.host),
        apn=apn,
        ebi=5,
        qos=g.BearerQos(qci=5, pl=1),
        serving_network=PLMN,
    )


def _ccr_count(lab: CoreLab, kind: str) -> float:
    """Successful CCRs of one kind (initial, termination) the PCRF answered."""
    pcrf = next(r for r in lab.replicas if r.nf == "pcrf")
    series = f'pcrf_ccr_total{{type="{kind}",result="2001"}} '
    for line in pcrf.metrics().splitlines():
        if line.startswith(series):
            return float(line.split()[-1])
    return 0.0


def test_policy_from_the_pcrf(lab: CoreLab) -> None:
    async def run() -> None:
        mme = GtpEndpoint(lab.new_address(), 0, t3=3.0, n3=1)
        await mme.start()
        sgw = (lab.address("sgw"), 2123)
        rsp = await mme.request(sgw, _csr(mme, "001010000000009", "ims"))
        assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED, rsp
        qos: g.BearerQos = g.find(rsp.get(g.IE_BEARER_CONTEXT), g.IE_BEARER_QOS)
        assert (qos.qci, qos.pl) == (6, 3)
        assert rsp.get(g.IE_AMBR) == g.Ambr(3000, 3000)
        assert rsp.get(g.IE_PAA).ipv4.startswith("10.46.")
        teid = rsp.get(g.IE_FTEID, 0).teid
        dsr = await mme.request(sgw, g.delete_session_request(sequence=0, teid=teid, ebi=5))
        assert dsr.cause == g.CAUSE_REQUEST_ACCEPTED
        await mme.close()

    before = _ccr_count(lab, "termination")
    asyncio.run(run())
    assert _ccr_count(lab, "initial") >= 1
    # CCR-T is sent after the Delete Session Response; give it a moment.
    for _ in range(50):
        if _ccr_count(lab, "termination") > before:
            break
        asyncio.run(asyncio.sleep(0.05))
    assert _ccr_count(lab, "termination") > before


def _pgw_session(lab: CoreLab, teid: int) -> dict[str, object]:
    db = sqlite3.connect(lab.root / "store.db")
    try:
        row = db.execute("SELECT value FROM kv WHERE key = ?", (f"pgw:s:{teid}",)).fetchone()
    finally:
        db.close()
    assert row is not None
    session: dict[str, object] = json.loads(row[0])
    return session


def test_rx_rules_reach_the_pgw_session(lab: CoreLab) -> None:
    """A P-CSCF's AAR makes the PCRF send a Gx RAR to the PGW-C owning the UE's session;
    the PGW-C records the QCI-1 rule in the session and answers 2001; STR removes it."""
    ims = lab.values["network"]["ims_domain"]
    pcscf_host = f"pcscf.{ims}"
    realm = lab.values["network"]["epc_realm"]

    async def run() -> None:
        mme = GtpEndpoint(lab.new_address(), 0, t3=3.0, n3=1)
        await mme.start()
        sgw = (lab.address("sgw"), 2123)
        rsp = await mme.request(sgw, _csr(mme, "001010000000011", "ims"))
        assert rsp.cause == g.CAUSE_REQUEST_ACCEPTED, rsp
        ue = rsp.get(g.IE_PAA).ipv4
        pgw_teid = rsp.get(g.IE_FTEID, 1).teid
        pcscf = diameter_peer(
            lab,
            "pcrf",
            peer="pcrf",
            origin_host=pcscf_host,
            origin_realm=ims,
            auth_applications=[APP_RX],
        )
        pcscf.start()
        assert await pcscf.wait_ready(10)
        rx_sid = new_session_id(pcscf_host)
        common = {"origin_host": pcscf_host, "origin_realm": ims, "destination_realm": realm}
        media = rx.MediaComponent(
            number=1,
            max_ul=49_000,
            max_dl=49_000,
            flows=(rx.MediaFlow(1, (f"permit out 17 from 10.46.9.9 50000 to {ue} 49152",)),),
        )
        aaa = await pcscf.request(
            rx.make_aar(session_id=rx_sid, ue_ipv4=ue, media=[media], **common)
        )
        assert answer_result(aaa) == (2001, None)
        rules = _pgw_session(lab, pgw_teid)["rules"]
        assert isinstance(rules, list) and len(rules) == 1
        sta = await pcscf.request(rx.make_str(session_id=rx_sid, **common))
        assert answer_result(sta) == (2001, None)
        assert _pgw_session(lab, pgw_teid)["rules"] == []
        await pcscf.close()
        teid = rsp.get(g.IE_FTEID, 0).teid
        await mme.request(sgw, g.delete_session_request(sequence=0, teid=teid, ebi=5))
        await mme.close()

    asyncio.run(run())


def test_pcrf_down_rejects_the_session(lab: CoreLab) -> None:
    pcrf = next(r for r in lab.replicas if r.nf == "pcrf")
    lab.stop(pcrf)

    async def run() -> None:
        mme = GtpEndpoint(lab.new_address(), 0, t3=3.0, n3=1)
        await mme.start()
        rsp = await mme.request((lab.address("sgw"), 2123), _csr(mme, "001010000000010", "ims"))
        assert rsp.cause == g.CAUSE_NO_RESOURCES_AVAILABLE
        await mme.close()

    asyncio.run(run())

"""Cross-check with Wireshark: tshark must decode our S1AP PDUs and the NAS inside them with
no malformed-packet or expert-info marks, and see the same values we encoded.

S1AP normally rides SCTP, so the PDUs are written into a pcap as SCTP DATA chunks (PPID 18,
TS 36.412 §7) in IPv4, built by hand in tests/pcap.py (CRC32c checksum included), one
attach + detach exchange plus every NAS message of the codec carried in Uplink/Downlink NAS
Transport. Runs a subprocess, hence the integration marker; skipped only when tshark is not
installed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from network_functions.protocols import kdf, nas, s1ap
from tests.pcap import requires_tshark, tshark_pdml, write_s1ap_pcap

pytestmark = [pytest.mark.integration, requires_tshark]

# --- the exchange -------------------------------------------------------------------------------

MCC, MNC = "001", "01"
IMSI = nas.Imsi("001010000000001")
GUTI = nas.Guti(MCC, MNC, 1, 1, 0xC0000001)
KASME = bytes(range(32))


def _exchange() -> tuple[list[tuple[bool, bytes]], list[str], list[nas.NasMessage]]:
    """(uplink, PDU) list; the S1AP message names; the plain NAS messages carried in clear."""
    mme_ctx = nas.NasSecurityContext(
        kasme=KASME, ksi=0, enc_alg=nas.EEA0, int_alg=nas.EIA2, network=True
    )
    ue_ctx = nas.NasSecurityContext(
        kasme=KASME, ksi=0, enc_alg=nas.EEA0, int_alg=nas.EIA2, network=False
    )
    ids = {"mme_ue_s1ap_id": 1, "enb_ue_s1ap_id": 7}
    loc = {"mcc": MCC, "mnc": MNC, "tac": 1, "cell_id": 0x0000101}
    msgs: list[tuple[bool, s1ap.S1apMessage]] = []

    def up(n: bytes) -> None:
        msgs.append((True, s1ap.uplink_nas_transport(nas_pdu=n, **ids, **loc)))

    def down(n: bytes) -> None:
        msgs.append((False, s1ap.downlink_nas_transport(nas_pdu=n, **ids)))

    msgs.append((True, s1ap.s1_setup_request(mcc=MCC, mnc=MNC, enb_id=1, tacs=[1], enb_name="e1")))
    msgs.append((False, s1ap.s1_setup_response(mcc=MCC, mnc=MNC, mme_group_id=1, mme_code=1)))
    attach = nas.AttachRequest(IMSI, nas.PdnConnectivityRequest(pti=1, apn="internet"))
    msgs.append((True, s1ap.initial_ue_message(enb_ue_s1ap_id=7, nas_pdu=attach.encode(), **loc)))
    down(nas.AuthenticationRequest(0, bytes(16), bytes(16)).encode())
    up(nas.AuthenticationResponse(bytes(8)).encode())
    smc = nas.SecurityModeCommand(nas.EEA0, nas.EIA2, 0, b"\xe0\xe0")
    down(mme_ctx.protect(smc.encode(), nas.SEC_HDR_INTEGRITY_NEW_CTX))
    up(ue_ctx.protect(nas.SecurityModeComplete().encode(), nas.SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX))
    accept = nas.AttachAccept(
        (nas.Tai(MCC, MNC, 1),),
        nas.ActivateDefaultBearerRequest(5, 1, 9, "internet", "10.45.0.2", 100000, 100000),
        GUTI,
    )
    msgs.append(
        (
            False,
            s1ap.initial_context_setup_request(
                ue_ambr_ul_bps=100_000_000,
                ue_ambr_dl_bps=100_000_000,
                ebi=5,
                qci=9,
                arp=8,
                sgw_address="127.0.0.30",
                sgw_teid=0x10000001,
                nas_pdu=mme_ctx.protect(accept.encode()),
                ue_network_capability=b"\xe0\xe0",
                kenb=kdf.kenb(KASME, 0),
                **ids,
            ),
        )
    )
    msgs.append(
        (
            True,
            s1ap.initial_context_setup_response(e_rabs=[(5, "127.0.0.10", 0x20000001)], **ids),
        )
    )
    up(ue_ctx.protect(nas.AttachComplete(nas.ActivateDefaultBearerAccept(5)).encode()))
    up(ue_ctx.protect(nas.DetachRequest(GUTI, switch_off=False, ksi=0).encode()))
    down(mme_ctx.protect(nas.DetachAccept().encode()))
    msgs.append(
        (
            False,
            s1ap.ue_context_release_command(
                mme_ue_s1ap_id=1, enb_ue_s1ap_id=7, cause_value=("nas", "detach")
            ),
        )
    )
    msgs.append((True, s1ap.ue_context_release_complete(**ids)))
    msgs.append(
        (
            True,
            s1ap.ue_context_release_request(cause_value=("radioNetwork", "user-inactivity"), **ids),
        )
    )
    msgs.append((False, s1ap.error_indication(cause_value=("protocol", "semantic-error"), **ids)))
    msgs.append((False, s1ap.s1_setup_failure(("misc", "unknown-PLMN"), time_to_wait="v10s")))
    # Every plain NAS message of the codec, in clear inside NAS transports.
    plain: list[nas.NasMessage] = [
        nas.AttachRequest(GUTI, nas.PdnConnectivityRequest(pti=2), b"\xe0\xe0", 1, 0),
        nas.AuthenticationFailure(21, bytes(range(14))),
        nas.AuthenticationFailure(20),
        nas.SecurityModeReject(23),
        nas.SecurityModeComplete(nas.Imeisv("3534900698733190")),
        nas.AttachComplete(nas.ActivateDefaultBearerAccept(5)),
        nas.DetachRequest(IMSI, switch_off=True),
        nas.IdentityResponse(IMSI),
        nas.EmmStatus(96),
    ]
    plain_down: list[nas.NasMessage] = [
        nas.AuthenticationRequest(3, bytes(range(16)), bytes(range(16, 32))),
        nas.AuthenticationReject(),
        nas.SecurityModeCommand(nas.EEA2, nas.EIA2, 1, b"\xe0\xe0", imeisv_request=True),
        accept,
        nas.AttachReject(2),
        nas.AttachReject(19, nas.PdnConnectivityReject(1, 27)),
        nas.DetachAccept(),
        nas.IdentityRequest(1),
    ]
    for m in plain:
        up(m.encode())
    for m in plain_down:
        down(m.encode())
    return (
        [(u, m.encode()) for u, m in msgs],
        [m.name for _, m in msgs],
        [nas.decode(m.encode()) for m in plain + plain_down],
    )


def _pdml(pcap: Path) -> ET.Element:
    # Expert marks are checked per packet below, to name the message that drew one.
    return ET.fromstring(tshark_pdml(pcap, expert=True))


def _fields(proto: ET.Element, name: str) -> list[str]:
    return [str(f.get("show")) for f in proto.iter("field") if f.get("name") == name]


_EXPECTED_PROCEDURES = {
    "S1SetupRequest": "17",
    "S1SetupResponse": "17",
    "S1SetupFailure": "17",
    "InitialUEMessage": "12",
    "DownlinkNASTransport": "11",
    "UplinkNASTransport": "13",
    "InitialContextSetupRequest": "9",
    "InitialContextSetupResponse": "9",
    "UEContextReleaseCommand": "23",
    "UEContextReleaseComplete": "23",
    "UEContextReleaseRequest": "18",
    "ErrorIndication": "15",
}


def test_tshark_decodes_s1ap_and_nas(tmp_path: Path) -> None:
    pdus, names, plain = _exchange()
    pcap = tmp_path / "s1ap.pcap"
    write_s1ap_pcap(pcap, pdus)
    root = _pdml(pcap)
    packets = root.findall("packet")
    assert len(packets) == len(pdus)
    emm_types: list[str] = []
    for packet, name in zip(packets, names, strict=True):
        protos = {p.get("name"): p for p in packet.iter("proto")}
        assert "sctp" in protos and "s1ap" in protos, name
        for p in protos.values():
            assert not _fields(p, "_ws.expert"), f"{name}: expert info"
        s1 = protos["s1ap"]
        assert _fields(s1, "s1ap.procedureCode") == [_EXPECTED_PROCEDURES[name]], name
        emm_types += _fields(packet, "nas_eps.nas_msg_emm_type")
    # Wireshark recognised every EMM message type we sent in clear or integrity-protected.
    assert {int(t, 0) for t in emm_types} >= {
        type(m).MESSAGE_TYPE for m in plain if isinstance(m, nas.EmmMessage)
    }
    # Spot-check values through Wireshark's eyes.
    text = ET.tostring(root, encoding="unicode")
    assert 'show="001010000000001"' in text  # the IMSI (e212.imsi)
    assert 'show="10.45.0.2"' in text  # PDN address
    assert 'show="internet"' in text  # APN
    assert 'show="127.0.0.30"' in text  # SGW S1-U transport address
    assert "0xc0000001" in text.lower()  # M-TMSI of the GUTI

"""Cross-check S6a, Gx and Rx with Wireshark's Diameter dissector (tshark).

Every command we build (AIR/AIA, ULR/ULA, PUR/PUA, CLR/CLA; CCR/CCA initial and termination,
Gx RAR/RAA installing and removing a QCI-1 rule; Rx AAR/AAA, STR/STA) is written into a pcap
and decoded with ``tshark -T pdml``: no malformed or expert marks, and every AVP's code,
flags, vendor, name, raw data and shown value must equal ours (Wireshark's dictionary was
written independently from the same specs). The pcap writer and comparison are the ones
test_diameter_tshark.py uses (tests/pcap.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from network_functions.protocols.diameter import (
    Message,
    gx,
    rx,
    s6a,
)
from network_functions.protocols.kdf import plmn_bytes
from tests.pcap import check_diameter_with_tshark, requires_tshark

pytestmark = [pytest.mark.integration, requires_tshark]

MME = {"origin_host": "mme.epc.example.org", "origin_realm": "epc.example.org"}
HSS = {"origin_host": "hss.epc.example.org", "origin_realm": "epc.example.org"}
PGW = {"origin_host": "pgw.epc.example.org", "origin_realm": "epc.example.org"}
PCRF = {"origin_host": "pcrf.epc.example.org", "origin_realm": "epc.example.org"}
PCSCF = {"origin_host": "pcscf.ims.example.org", "origin_realm": "ims.example.org"}
IMSI = "001010000000001"
PLMN = plmn_bytes("001", "01")


def _s6a() -> list[Message]:
    realm = {"destination_realm": "epc.example.org"}
    air = s6a.make_air(
        session_id="mme;1;1",
        imsi=IMSI,
        visited_plmn_id=PLMN,
        number_of_vectors=1,
        resync_info=bytes(range(30)),
        hop_by_hop=1,
        end_to_end=1,
        **MME,
        **realm,
    )
    aia = s6a.s6a_answer(air, result_code=2001, **HSS)
    s6a.add_vectors(
        aia,
        [s6a.EutranVector(bytes(range(16)), bytes(8), bytes(range(16, 32)), bytes(range(32)))],
    )
    ulr = s6a.make_ulr(
        session_id="mme;1;2",
        imsi=IMSI,
        visited_plmn_id=PLMN,
        imei="3569380356438091",
        software_version="01",
        hop_by_hop=2,
        end_to_end=2,
        **MME,
        **realm,
    )
    ula = s6a.s6a_answer(ulr, result_code=2001, **HSS)
    ula.add("ULA-Flags", s6a.ULA_SEPARATION_INDICATION)
    data = s6a.SubscriptionData(
        msisdn="15550000001",
        ambr_ul=100_000_000,
        ambr_dl=200_000_000,
        apns=(
            s6a.ApnProfile(1, "internet", 9, gx.Arp(8), 100_000_000, 100_000_000),
            s6a.ApnProfile(2, "ims", 5, gx.Arp(1, 0, 1), 2_000_000, 2_000_000),
        ),
    )
    ula.add("Subscription-Data", data.avps())
    pur = s6a.make_pur(session_id="mme;1;3", imsi=IMSI, hop_by_hop=3, end_to_end=3, **MME, **realm)
    pua = s6a.s6a_answer(pur, result_code=2001, **HSS).add("PUA-Flags", 0)
    clr = s6a.make_clr(
        session_id="hss;1;4",
        imsi=IMSI,
        destination_host="mme.epc.example.org",
        hop_by_hop=4,
        end_to_end=4,
        **HSS,
        **realm,
    )
    cla = s6a.s6a_answer(clr, result_code=2001, **MME)
    unknown = s6a.make_air(
        session_id="mme;1;5",
        imsi="001019999999999",
        visited_plmn_id=PLMN,
        hop_by_hop=5,
        end_to_end=5,
        **MME,
        **realm,
    )
    unknown_answer = s6a.s6a_answer(
        unknown,
        experimental_result_code=5001,
        **HSS,
    )
    return [air, aia, ulr, ula, pur, pua, clr, cla, unknown, unknown_answer]


def _gx() -> list[Message]:
    realm = {"destination_realm": "epc.example.org"}
    default = gx.BearerQos(9, gx.Arp(8))
    ccr_i = gx.make_ccr(
        session_id="pgw;1;1",
        request_type=gx.CcRequestType.INITIAL_REQUEST,
        request_number=0,
        imsi=IMSI,
        msisdn="15550000001",
        ue_ipv4="10.45.0.2",
        apn="internet",
        default_bearer_qos=default,
        qos_information=gx.QosInformation(apn_ambr_ul=100_000_000, apn_ambr_dl=100_000_000),
        network_request_support=gx.NetworkRequestSupport.NETWORK_REQUEST_SUPPORTED,
        an_gw_address="127.0.0.3",
        sgsn_mcc_mnc="00101",
        bearer_identifier=b"\x05",
        hop_by_hop=10,
        end_to_end=10,
        **PGW,
        **realm,
    )
    cca_i = gx.cca(
        ccr_i,
        result_code=2001,
        default_bearer_qos=default,
        qos_information=gx.QosInformation(apn_ambr_ul=50_000_000, apn_ambr_dl=6_000_000_000),
        bearer_control_mode=gx.BearerControlMode.UE_NW,
        event_triggers=[gx.EventTrigger.UE_IP_ADDRESS_RELEASE],
        **PCRF,
    )
    voice = gx.ChargingRule(
        name="volte-1",
        qos=gx.QosInformation(
            qci=1,
            arp=gx.Arp(2, 0, 1),
            mbr_ul=128_000,
            mbr_dl=128_000,
            gbr_ul=128_000,
            gbr_dl=128_000,
        ),
        flows=(
            gx.Flow(
                "permit out 17 from 10.46.0.3 50000 to 10.46.0.2 49152", gx.FlowDirection.DOWNLINK
            ),
            gx.Flow(
                "permit out 17 from 10.46.0.2 49152 to 10.46.0.3 50000", gx.FlowDirection.UPLINK
            ),
        ),
        precedence=100,
        af_charging_identifier=b"icid-1",
        rating_group=1,
    )
    rar = gx.make_rar(
        session_id="pgw;1;1",
        destination_host="pgw.epc.example.org",
        install=[voice],
        hop_by_hop=11,
        end_to_end=11,
        **PCRF,
        **realm,
    )
    raa = gx.raa(rar, result_code=2001, **PGW)
    rar_remove = gx.make_rar(
        session_id="pgw;1;1",
        destination_host="pgw.epc.example.org",
        remove=["volte-1"],
        hop_by_hop=12,
        end_to_end=12,
        **PCRF,
        **realm,
    )
    raa_failed = gx.raa(rar_remove, result_code=5012, failed_rules=[("volte-1", 1)], **PGW)
    ccr_t = gx.make_ccr(
        session_id="pgw;1;1",
        request_type=gx.CcRequestType.TERMINATION_REQUEST,
        request_number=1,
        hop_by_hop=13,
        end_to_end=13,
        **PGW,
        **realm,
    )
    cca_t = gx.cca(ccr_t, result_code=2001, **PCRF)
    return [ccr_i, cca_i, rar, raa, rar_remove, raa_failed, ccr_t, cca_t]


def _rx() -> list[Message]:
    realm = {"destination_realm": "epc.example.org"}
    audio = rx.MediaComponent(
        number=1,
        media_type=rx.MediaType.AUDIO,
        max_ul=41_000,
        max_dl=41_000,
        flows=(
            rx.MediaFlow(
                1,
                (
                    "permit out 17 from 10.46.0.3 50000 to 10.46.0.2 49152",
                    "permit in 17 from 10.46.0.2 49152 to 10.46.0.3 50000",
                ),
            ),
            rx.MediaFlow(
                2,
                (
                    "permit out 17 from 10.46.0.3 50001 to 10.46.0.2 49153",
                    "permit in 17 from 10.46.0.2 49153 to 10.46.0.3 50001",
                ),
                usage=rx.FlowUsage.RTCP,
            ),
        ),
        codec_data=(b"uplink\noffer\nm=audio 49152 RTP/AVP 96\n",),
    )
    aar = rx.make_aar(
        session_id="pcscf;1;1",
        ue_ipv4="10.46.0.2",
        media=[audio],
        af_charging_identifier=b"icid-1",
        subscriber="sip:15550000001@ims.example.org",
        specific_actions=[rx.SpecificAction.INDICATION_OF_RELEASE_OF_BEARER],
        hop_by_hop=20,
        end_to_end=20,
        **PCSCF,
        **realm,
    )
    aaa = rx.aaa(aar, result_code=2001, **PCRF)
    aar_bad = rx.make_aar(
        session_id="pcscf;1;2",
        ue_ipv4="10.46.0.9",
        media=[audio],
        hop_by_hop=21,
        end_to_end=21,
        **PCSCF,
        **realm,
    )
    aaa_bad = rx.aaa(aar_bad, experimental_result_code=5065, **PCRF)
    str_ = rx.make_str(session_id="pcscf;1;1", hop_by_hop=22, end_to_end=22, **PCSCF, **realm)
    sta = rx.sta(str_, **PCRF)
    return [aar, aaa, aar_bad, aaa_bad, str_, sta]


def test_tshark_decodes_s6a_gx_rx(tmp_path: Path) -> None:
    messages = _s6a() + _gx() + _rx()
    total = check_diameter_with_tshark(messages, tmp_path / "epc-diameter.pcap")
    assert [m.name for m in messages] == [
        "AIR",
        "AIA",
        "ULR",
        "ULA",
        "PUR",
        "PUA",
        "CLR",
        "CLA",
        "AIR",
        "AIA",
        "CCR",
        "CCA",
        "RAR",
        "RAA",
        "RAR",
        "RAA",
        "CCR",
        "CCA",
        "AAR",
        "AAA",
        "AAR",
        "AAA",
        "STR",
        "STA",
    ]
    assert total > 200

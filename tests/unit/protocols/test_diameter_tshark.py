"""Cross-check with a real peer's decoder: Wireshark's Diameter dissector (tshark) must decode
what we encode - command codes, flags, ids, and every AVP's code, flags, vendor, name and value.

The messages are written into a pcap (Ethernet/IPv4/TCP, port 3868, built by hand in
tests/pcap.py) and
read back with ``tshark -T pdml``. Runs a subprocess, hence the integration marker; skipped
only when tshark is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from network_functions.protocols.diameter import (
    APP_CX,
    AUTH_SCHEME_AKAV1_MD5,
    VENDOR_3GPP,
    Message,
    cx_answer,
    make_cer,
    make_dpr,
    make_dwr,
    make_lir,
    make_mar,
    make_sar,
    make_uar,
)
from tests.pcap import check_diameter_with_tshark, requires_tshark

pytestmark = [pytest.mark.integration, requires_tshark]


def _exchange() -> list[Message]:
    cx = {
        "origin_host": "scscf.ims.example.org",
        "origin_realm": "ims.example.org",
        "destination_realm": "ims.example.org",
    }
    hss = {"origin_host": "hss.ims.example.org", "origin_realm": "ims.example.org"}
    impi, impu = "alice@ims.example.org", "sip:alice@ims.example.org"
    cer = make_cer(
        origin_host="scscf.ims.example.org",
        origin_realm="ims.example.org",
        host_ip_addresses=["127.0.0.1", "2001:db8::1"],
        vendor_id=VENDOR_3GPP,
        product_name="nfv",
        auth_application_ids=[APP_CX],
        vendor_specific_application_ids=[(VENDOR_3GPP, APP_CX)],
        firmware_revision=1,
        hop_by_hop=0x10,
        end_to_end=0x20,
    )
    cea = cer.answer(2001, **hss).add("Host-IP-Address", "127.0.0.2")
    cea.add("Vendor-Id", VENDOR_3GPP).add("Product-Name", "nfv-hss")
    uar = make_uar(
        session_id="icscf.ims.example.org;1;1",
        public_identity=impu,
        user_name=impi,
        visited_network_identifier="ims.example.org",
        user_authorization_type=0,
        destination_host="hss.ims.example.org",
        hop_by_hop=0x11,
        end_to_end=0x21,
        **cx,
    )
    uaa = cx_answer(uar, experimental_result_code=2001, **hss)
    uaa.add("Server-Capabilities", [("Mandatory-Capability", 1), ("Optional-Capability", 2)])
    mar = make_mar(
        session_id="scscf.ims.example.org;1;2",
        public_identity=impu,
        user_name=impi,
        server_name="sip:scscf.ims.example.org:6060",
        sip_authorization=bytes(range(30)),
        hop_by_hop=0x12,
        end_to_end=0x22,
        **cx,
    )
    maa = cx_answer(mar, result_code=2001, **hss)
    maa.add("User-Name", impi).add("Public-Identity", impu).add("SIP-Number-Auth-Items", 1)
    maa.add(
        "SIP-Auth-Data-Item",
        [
            ("SIP-Item-Number", 1),
            ("SIP-Authentication-Scheme", AUTH_SCHEME_AKAV1_MD5),
            ("SIP-Authenticate", bytes(range(32))),
            ("SIP-Authorization", bytes(range(8))),
            ("Confidentiality-Key", bytes(range(16))),
            ("Integrity-Key", bytes(range(16, 32))),
        ],
    )
    sar = make_sar(
        session_id="scscf.ims.example.org;1;3",
        public_identity=[impu, "tel:+15551234"],
        user_name=impi,
        server_name="sip:scscf.ims.example.org:6060",
        server_assignment_type=1,
        hop_by_hop=0x13,
        end_to_end=0x23,
        **cx,
    )
    saa = cx_answer(sar, result_code=2001, **hss).add("User-Name", impi)
    saa.add("User-Data", b"<?xml version='1.0'?><IMSSubscription/>")
    lir = make_lir(
        session_id="icscf.ims.example.org;1;4",
        public_identity="tel:+15551234",
        originating_request=True,
        hop_by_hop=0x14,
        end_to_end=0x24,
        **cx,
    )
    lia = cx_answer(lir, experimental_result_code=5003, **hss)
    dwr = make_dwr(
        origin_host="scscf.ims.example.org",
        origin_realm="ims.example.org",
        hop_by_hop=0x15,
        end_to_end=0x25,
        origin_state_id=7,
    )
    dpr = make_dpr(
        origin_host="scscf.ims.example.org",
        origin_realm="ims.example.org",
        disconnect_cause=0,
        hop_by_hop=0x16,
        end_to_end=0x26,
    )
    return [cer, cea, uar, uaa, mar, maa, sar, saa, lir, lia, dwr, dpr]


def test_tshark_decodes_our_messages(tmp_path: Path) -> None:
    messages = _exchange()
    total = check_diameter_with_tshark(messages, tmp_path / "diameter.pcap")
    names = [m.name for m in messages]
    assert names == [
        "CER",
        "CEA",
        "UAR",
        "UAA",
        "MAR",
        "MAA",
        "SAR",
        "SAA",
        "LIR",
        "LIA",
        "DWR",
        "DPR",
    ]
    assert total > 100

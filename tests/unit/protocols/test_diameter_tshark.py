"""Cross-check with a real peer's decoder: Wireshark's Diameter dissector (tshark) must decode
what we encode - command codes, flags, ids, and every AVP's code, flags, vendor, name and value.

The messages are written into a pcap (Ethernet/IPv4/TCP, port 3868, built here by hand) and
read back with ``tshark -T pdml``. Runs a subprocess, hence the integration marker; skipped
only when tshark is not installed.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from network_functions.protocols.diameter import (
    APP_CX,
    AUTH_SCHEME_AKAV1_MD5,
    VENDOR_3GPP,
    Avp,
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

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed"),
]

CLIENT, SERVER = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])
CLIENT_PORT, DIAMETER_PORT = 40000, 3868


# --- a minimal pcap writer (libpcap format, LINKTYPE_ETHERNET) ----------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes, *, to_server: bool, seq: int, ack: int) -> bytes:
    src, dst = (CLIENT, SERVER) if to_server else (SERVER, CLIENT)
    sport, dport = (CLIENT_PORT, DIAMETER_PORT) if to_server else (DIAMETER_PORT, CLIENT_PORT)
    # TCP header: ports, seq, ack, data offset 5 words, flags PSH|ACK, window, csum, urgent.
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 65535, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    eth = (b"\x02\0\0\0\0\x02" if to_server else b"\x02\0\0\0\0\x01") + (
        b"\x02\0\0\0\0\x01" if to_server else b"\x02\0\0\0\0\x02"
    )
    return eth + b"\x08\x00" + ip + tcp


def write_pcap(path: Path, messages: list[Message]) -> None:
    """Requests go client -> server:3868, answers back; one message per TCP segment."""
    seq = {True: 1000, False: 5000}
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, msg in enumerate(messages):
        wire = msg.encode()
        up = msg.is_request
        frame = _frame(wire, to_server=up, seq=seq[up], ack=seq[not up])
        seq[up] += len(wire)
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


# --- PDML -> comparable structure ---------------------------------------------------------------

_HEADER_FIELDS = {
    "diameter.avp.code",
    "diameter.avp.flags",
    "diameter.avp.len",
    "diameter.avp.vendorId",
    "diameter.avp.pad",
}


def _avp_from_pdml(el: ET.Element) -> dict[str, Any]:
    fields = {f.get("name"): f for f in el if f.tag == "field"}
    code_field = fields["diameter.avp.code"]
    vendor = fields.get("diameter.avp.vendorId")
    value = next(
        (
            f
            for f in el
            if f.tag == "field"
            and str(f.get("name", "")).startswith("diameter.")
            and f.get("name") not in _HEADER_FIELDS
        ),
        None,
    )
    children = [] if value is None else value.findall("field[@name='diameter.avp']")
    return {
        "code": int(code_field.get("show", "-1")),
        "name": str(code_field.get("showname", "")).split(maxsplit=3)[-1],
        "flags": int(fields["diameter.avp.flags"].get("show", "0"), 16),
        "vendor": int(vendor.get("show", "-1")) if vendor is not None else None,
        "data": value.get("value", "") if value is not None else "",
        "show": value.get("show") if value is not None else None,
        "sub": {
            f.get("name"): f.get("show") for f in (value.iter("field") if value is not None else [])
        },
        "children": [_avp_from_pdml(c) for c in children],
    }


def _messages_from_pdml(pdml: str) -> list[dict[str, Any]]:
    out = []
    for proto in ET.fromstring(pdml).iter("proto"):
        if proto.get("name") != "diameter":
            continue
        fields = {f.get("name"): f for f in proto if f.tag == "field"}
        out.append(
            {
                "code": int(fields["diameter.cmd.code"].get("show", "-1")),
                "flags": int(fields["diameter.flags"].get("show", "0"), 16),
                "app": int(fields["diameter.applicationId"].get("show", "-1")),
                "hbh": int(fields["diameter.hopbyhopid"].get("show", "0"), 16),
                "e2e": int(fields["diameter.endtoendid"].get("show", "0"), 16),
                "avps": [_avp_from_pdml(f) for f in proto if f.get("name") == "diameter.avp"],
            }
        )
    return out


def _norm(name: str) -> str:
    # Wireshark's dictionary prefixes some Cx names ("3GPP-SIP-...", "Cx-User-Data") and
    # spells Digest-QoP "Digest-Qop"; everything else must match our names exactly.
    n = name.lower()
    for prefix in ("3gpp-", "cx-"):
        n = n.removeprefix(prefix)
    return n


def _compare_avps(ours: list[Avp], theirs: list[dict[str, Any]], where: str) -> int:
    assert len(ours) == len(theirs), f"{where}: {len(ours)} AVPs vs tshark {len(theirs)}"
    checked = 0
    for a, t in zip(ours, theirs, strict=True):
        here = f"{where}/{a.name}"
        assert t["code"] == a.code, here
        assert t["flags"] == a.flags, here
        assert t["vendor"] == a.vendor_id, here
        assert _norm(t["name"]) == _norm(a.name), f"{here}: tshark calls it {t['name']}"
        assert t["data"] == a.data.hex(), here
        d = a.definition
        assert d is not None
        if d.type == "Grouped":
            checked += _compare_avps(a.value.avps, t["children"], here)
        elif d.type in ("UTF8String", "DiameterIdentity", "DiameterURI"):
            assert t["show"] == a.value, here
        elif d.type in ("Unsigned32", "Integer32", "Enumerated", "Unsigned64"):
            assert t["show"] == str(a.value), here
        elif d.type == "Address":
            ip = t["sub"].get(f"diameter.{d.name}.IPv4") or t["sub"].get(f"diameter.{d.name}.IPv6")
            assert ip == a.value, here
        checked += 1
    return checked


# --- the test ------------------------------------------------------------------------------------


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
    pcap = tmp_path / "diameter.pcap"
    write_pcap(pcap, messages)
    tshark = shutil.which("tshark")
    assert tshark is not None
    result = subprocess.run(
        [tshark, "-n", "-r", str(pcap), "-T", "pdml"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "_ws.malformed" not in result.stdout, "tshark flagged a malformed packet"
    assert "_ws.expert" not in result.stdout, "tshark raised an expert-info warning"
    decoded = _messages_from_pdml(result.stdout)
    assert len(decoded) == len(messages)
    names = []
    total = 0
    for ours, theirs in zip(messages, decoded, strict=True):
        names.append(ours.name)
        assert theirs["code"] == ours.command_code, ours.name
        assert theirs["flags"] == ours.flags, ours.name
        assert theirs["app"] == ours.application_id, ours.name
        assert (theirs["hbh"], theirs["e2e"]) == (ours.hop_by_hop, ours.end_to_end), ours.name
        total += _compare_avps(ours.avps, theirs["avps"], ours.name)
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

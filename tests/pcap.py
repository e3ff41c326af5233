"""Hand-built capture files and tshark decoding for the "does Wireshark agree" tests.

The tshark cross-checks (Diameter over TCP, GTPv2-C over UDP, S1AP over SCTP) write our
encoded messages into a libpcap file and read them back with ``tshark -T pdml``. This module
holds what they share: the RFC 1071 checksum, IPv4/TCP/UDP/Ethernet framing, the libpcap
writer, running tshark, and the Diameter PDML reader/comparator used by both Diameter tests.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from network_functions.protocols.diameter import Avp, Message
from network_functions.protocols.s1ap import S1AP_PPID

# Skip a module only when tshark is not installed.
requires_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # each record is a bare IPv4 packet
IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP = 6, 17, 132
_MAC_A, _MAC_B = b"\x02\0\0\0\0\x01", b"\x02\0\0\0\0\x02"


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's-complement sum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    """An IPv4 packet (RFC 791): no options, DF set, TTL 64, header checksum filled in."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + payload


def _pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!BBH", 0, proto, length)


def tcp_ipv4(
    src: bytes, dst: bytes, sport: int, dport: int, *, seq: int, ack: int, payload: bytes
) -> bytes:
    """IPv4 + one TCP segment (RFC 9293): data offset 5 words, flags PSH|ACK, checksum set."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 65535, 0, 0) + payload
    csum = checksum(_pseudo_header(src, dst, IPPROTO_TCP, len(tcp)) + tcp)
    return ipv4(src, dst, IPPROTO_TCP, tcp[:16] + struct.pack("!H", csum) + tcp[18:])


def udp_ipv4(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """IPv4 + one UDP datagram (RFC 768); a computed checksum of 0 is sent as 0xFFFF."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = checksum(_pseudo_header(src, dst, IPPROTO_UDP, len(udp)) + udp) or 0xFFFF
    return ipv4(src, dst, IPPROTO_UDP, udp[:6] + struct.pack("!H", csum) + udp[8:])


def ethernet(ip_packet: bytes, *, forward: bool) -> bytes:
    """An Ethernet II frame (EtherType IPv4) between two fixed local MACs, A->B if forward."""
    dst, src = (_MAC_B, _MAC_A) if forward else (_MAC_A, _MAC_B)
    return dst + src + b"\x08\x00" + ip_packet


def write_pcap(path: Path, frames: Iterable[bytes], *, linktype: int) -> None:
    """A libpcap file (v2.4, little-endian, snaplen 65535), one record a second."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for i, frame in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def tshark_pdml(pcap: Path, *, expert: bool = False) -> str:
    """tshark's PDML for ``pcap``; fails on a malformed packet and, unless ``expert`` is
    allowed, on any expert-info mark."""
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
    if not expert:
        assert "_ws.expert" not in result.stdout, "tshark raised an expert-info warning"
    return result.stdout


# --- S1AP over SCTP (TS 36.412 §7: port 36412, PPID 18) ---------------------------------------

S1AP_ENB, S1AP_MME = bytes([127, 0, 0, 10]), bytes([127, 0, 0, 20])
S1AP_PORT = 36412

# CRC32c (RFC 4960 Appendix B / RFC 3309), table-driven.
_CRC32C_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_CRC_TABLE: list[int] = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _CRC32C_POLY if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC32c as SCTP uses it (RFC 4960 Appendix B)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def sctp_s1ap_ipv4(pdu: bytes, *, uplink: bool, tsn: int, ssn: int) -> bytes:
    """IPv4 + one SCTP packet carrying ``pdu`` in one DATA chunk, eNB <-> MME."""
    src, dst = (S1AP_ENB, S1AP_MME) if uplink else (S1AP_MME, S1AP_ENB)
    # DATA chunk (RFC 4960 §3.3.1): type 0, flags B|E (unfragmented), length, TSN, stream 0,
    # stream sequence number, payload protocol identifier; padded to 4 octets.
    chunk = struct.pack("!BBHIHHI", 0, 0x03, 16 + len(pdu), tsn, 0, ssn, S1AP_PPID) + pdu
    chunk += b"\0" * (-len(chunk) % 4)
    common = struct.pack("!HHII", S1AP_PORT, S1AP_PORT, 0x1234ABCD, 0)
    crc = crc32c(common + chunk)
    sctp = common[:8] + struct.pack("<I", crc) + chunk  # RFC 4960 App. B: little-endian CRC
    return ipv4(src, dst, IPPROTO_SCTP, sctp)


def write_s1ap_pcap(path: Path, pdus: list[tuple[bool, bytes]]) -> None:
    """LINKTYPE_RAW: each record an IPv4/SCTP packet; ``pdus`` is (uplink, S1AP PDU) each."""
    tsn = {True: 100, False: 500}
    packets = []
    for i, (up, pdu) in enumerate(pdus):
        packets.append(sctp_s1ap_ipv4(pdu, uplink=up, tsn=tsn[up], ssn=i))
        tsn[up] += 1
    write_pcap(path, packets, linktype=LINKTYPE_RAW)


# --- Diameter over TCP (RFC 6733 §2.1: port 3868) ----------------------------------------------

DIAMETER_CLIENT, DIAMETER_SERVER = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])
DIAMETER_CLIENT_PORT, DIAMETER_PORT = 40000, 3868


def write_diameter_pcap(path: Path, messages: list[Message]) -> None:
    """Requests go client -> server:3868, answers back; one message per TCP segment."""
    seq = {True: 1000, False: 5000}
    frames = []
    for msg in messages:
        wire = msg.encode()
        up = msg.is_request
        src, dst = (DIAMETER_CLIENT, DIAMETER_SERVER) if up else (DIAMETER_SERVER, DIAMETER_CLIENT)
        ports = (
            (DIAMETER_CLIENT_PORT, DIAMETER_PORT) if up else (DIAMETER_PORT, DIAMETER_CLIENT_PORT)
        )
        packet = tcp_ipv4(src, dst, *ports, seq=seq[up], ack=seq[not up], payload=wire)
        frames.append(ethernet(packet, forward=up))
        seq[up] += len(wire)
    write_pcap(path, frames, linktype=LINKTYPE_ETHERNET)


_AVP_HEADER_FIELDS = {
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
            and f.get("name") not in _AVP_HEADER_FIELDS
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


def diameter_messages_from_pdml(pdml: str) -> list[dict[str, Any]]:
    """Each Diameter message tshark decoded: header fields and the AVP tree."""
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


def compare_avps(ours: list[Avp], theirs: list[dict[str, Any]], where: str) -> int:
    """Assert tshark saw every AVP as we built it; return how many AVPs were checked."""
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
            checked += compare_avps(a.value.avps, t["children"], here)
        elif d.type in ("UTF8String", "DiameterIdentity", "DiameterURI"):
            assert t["show"] == a.value, here
        elif d.type in ("Unsigned32", "Integer32", "Enumerated", "Unsigned64"):
            assert t["show"] == str(a.value), here
        elif d.type == "Address":
            ip = t["sub"].get(f"diameter.{d.name}.IPv4") or t["sub"].get(f"diameter.{d.name}.IPv6")
            assert ip == a.value, here
        checked += 1
    return checked


def check_diameter_with_tshark(messages: list[Message], pcap: Path) -> int:
    """Write ``messages`` to ``pcap``, decode with tshark and assert every header field and
    AVP matches ours; return the number of AVPs checked."""
    write_diameter_pcap(pcap, messages)
    decoded = diameter_messages_from_pdml(tshark_pdml(pcap))
    assert len(decoded) == len(messages)
    total = 0
    for ours, theirs in zip(messages, decoded, strict=True):
        assert theirs["code"] == ours.command_code, ours.name
        assert theirs["flags"] == ours.flags, ours.name
        assert theirs["app"] == ours.application_id, ours.name
        assert (theirs["hbh"], theirs["e2e"]) == (ours.hop_by_hop, ours.end_to_end), ours.name
        total += compare_avps(ours.avps, theirs["avps"], f"{ours.name}#{ours.hop_by_hop}")
    return total

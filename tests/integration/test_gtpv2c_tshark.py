"""Cross-check with a real peer's decoder: Wireshark's GTPv2 dissector (tshark) must decode
what we encode — message types, TEIDs, sequence numbers, every IE's type and instance, and
the values of the IEs the attach depends on — with no malformed or expert-info marks.

The messages go into a pcap (Ethernet/IPv4/UDP to and from port 2123, built by hand with
tests/pcap.py) read back with ``tshark -T pdml``. Skipped only when tshark is not installed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from network_functions.protocols import gtpv2c as g
from network_functions.protocols.gtpv2c import Ie, Message
from tests.pcap import (
    LINKTYPE_ETHERNET,
    ethernet,
    requires_tshark,
    tshark_pdml,
    udp_ipv4,
    write_pcap,
)
from tests.unit.protocols.test_gtpv2c import all_messages

pytestmark = [pytest.mark.integration, requires_tshark]

MME, SGW = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])


def _write_gtpc_pcap(path: Path, messages: list[Message]) -> None:
    """Requests MME -> SGW, responses back, UDP 2123 both ways (TS 29.274 §4.2.1)."""
    frames = []
    for msg in messages:
        request = msg.type in g.REQUESTS
        src, dst = (MME, SGW) if request else (SGW, MME)
        packet = udp_ipv4(src, dst, g.GTPC_PORT, g.GTPC_PORT, msg.encode())
        frames.append(ethernet(packet, forward=request))
    write_pcap(path, frames, linktype=LINKTYPE_ETHERNET)


def _num(text: str | None) -> int:
    """tshark shows some numbers in decimal, some in hex ("0x000010")."""
    return int(str(text), 0)


def _fields(el: ET.Element) -> dict[str, str]:
    return {str(f.get("name")): str(f.get("show")) for f in el.iter("field")}


def _ies(el: ET.Element) -> list[dict[str, Any]]:
    """The IE subtrees directly under ``el`` (nested grouped IEs under their parent)."""
    out = []
    for child in el:
        if child.get("name") == "gtpv2.ie" or (
            child.tag == "field" and child.find("field[@name='gtpv2.ie_type']") is not None
        ):
            own = {f.get("name"): f.get("show") for f in child if f.tag == "field"}
            out.append(
                {
                    "type": int(str(own.get("gtpv2.ie_type", "-1"))),
                    "instance": int(str(own.get("gtpv2.instance", "0"))),
                    "all": _fields(child),
                    "children": _ies(child),
                }
            )
        elif child.tag == "field" and not child.get("name"):
            out += _ies(child)
    return out


def _check_value(ie: Ie, theirs: dict[str, Any], where: str) -> None:
    f = theirs["all"]
    v = ie.value
    if ie.type == g.IE_IMSI:
        assert v in " ".join(f.values()), where
    elif ie.type == g.IE_FTEID:
        assert _num(f["gtpv2.f_teid_interface_type"]) == v.interface, where
        assert _num(f["gtpv2.f_teid_gre_key"]) == v.teid, where
        assert f["gtpv2.f_teid_ipv4"] == v.ipv4, where
    elif ie.type == g.IE_APN:
        assert f["gtpv2.apn"] == v, where
    elif ie.type == g.IE_CAUSE:
        assert _num(f["gtpv2.cause"]) == v.value, where
    elif ie.type == g.IE_EBI:
        assert _num(f["gtpv2.ebi"]) == v, where
    elif ie.type == g.IE_PAA:
        assert f["gtpv2.pdn_addr_and_prefix.ipv4"] == v.ipv4, where
    elif ie.type == g.IE_AMBR:
        assert (_num(f["gtpv2.ambr_up"]), _num(f["gtpv2.ambr_down"])) == (v.uplink, v.downlink)
    elif ie.type == g.IE_BEARER_QOS:
        assert _num(f["gtpv2.bearer_qos_label_qci"]) == v.qci, where
        assert _num(f["gtpv2.bearer_qos_pl"]) == v.pl, where
    elif ie.type == g.IE_RECOVERY:
        assert _num(f["gtpv2.rec"]) == v, where
    elif ie.type == g.IE_CHARGING_ID:
        assert _num(f["gtpv2.charging_id"]) == v, where
    elif ie.type == g.IE_ULI and v.tai is not None:
        assert _num(f["gtpv2.tai_tac"]) == v.tai.tac, where
        if v.ecgi is not None:
            assert _num(f["gtpv2.ecgi_eci"]) == v.ecgi.eci, where
    elif ie.type == g.IE_RAT_TYPE:
        assert _num(f["gtpv2.rat_type"]) == v, where
    elif ie.type == g.IE_MEI:
        assert f["gtpv2.mei"] == v, where


def test_tshark_decodes_our_messages(tmp_path: Path) -> None:
    messages = all_messages()
    messages.append(
        g.error_response(
            g.GtpError(
                g.CAUSE_MANDATORY_IE_MISSING,
                "x",
                offending=(g.IE_APN, 0),
                header=g.Header(g.CREATE_SESSION_REQUEST, 0, 0x99, 0),
                teid=0x1001,
            )
        )
        or Message(0, 0)
    )
    pcap = tmp_path / "gtpv2c.pcap"
    _write_gtpc_pcap(pcap, messages)
    pdml = tshark_pdml(pcap)
    protos = [p for p in ET.fromstring(pdml).iter("proto") if p.get("name") == "gtpv2"]
    assert len(protos) == len(messages)
    checked = 0
    for msg, proto in zip(messages, protos, strict=True):
        f = {x.get("name"): x.get("show") for x in proto if x.tag == "field"}
        assert _num(f["gtpv2.message_type"]) == msg.type, msg.name
        assert _num(f["gtpv2.seq"]) == msg.sequence, msg.name
        if msg.teid is not None:
            assert _num(f["gtpv2.teid"]) == msg.teid, msg.name
        ies = _ies(proto)

        def compare(ours: list[Ie], theirs: list[dict[str, Any]], where: str) -> int:
            assert [(i.type, i.instance) for i in ours] == [
                (t["type"], t["instance"]) for t in theirs
            ], where
            n = 0
            for ie, t in zip(ours, theirs, strict=True):
                if ie.type == g.IE_BEARER_CONTEXT:
                    n += compare(ie.value, t["children"], f"{where}/{ie.name}")
                else:
                    _check_value(ie, t, f"{where}/{ie.name}")
                    n += 1
            return n

        checked += compare(msg.ies, ies, msg.name)
    assert checked > 50

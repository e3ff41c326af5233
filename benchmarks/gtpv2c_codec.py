"""Micro-benchmark of the GTPv2-C codec on the S11 attach exchange (the SGW-C hot path).

Prints microseconds per operation: encode and decode of a Create Session Request (as an
MME sends it: IMSI, MSISDN, MEI, ULI, Serving Network, F-TEID, APN, AMBR, PCO, Bearer
Context) and of its Response, validate(), Modify Bearer and Delete Session, and pycrate's
decoder on the same Create Session Request for comparison. Run:
``python benchmarks/gtpv2c_codec.py [iterations]``.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.protocols import gtpv2c as g

PLMN = g.Plmn("001", "01")


def build_csr() -> g.Message:
    return g.create_session_request(
        sequence=0x1234,
        teid=0,
        imsi="001010000000001",
        msisdn="15550000001",
        mei="3534900698733190",
        uli=g.Uli(g.Tai(PLMN, 1), g.Ecgi(PLMN, 0x0000101)),
        serving_network=PLMN,
        sender_fteid=g.Fteid(g.IF_S11_MME, 0x1001, "127.0.0.10"),
        apn="internet",
        ebi=5,
        qos=g.BearerQos(qci=9, pl=8),
        apn_ambr=g.Ambr(100_000, 100_000),
        pco=bytes.fromhex("8080211001000010810600000000830600000000000d00000a00"),
    )


def build_csrsp() -> g.Message:
    return g.create_session_response(
        sequence=0x1234,
        teid=0x1001,
        cause=g.CAUSE_REQUEST_ACCEPTED,
        sender_fteid=g.Fteid(g.IF_S11S4_SGW, 0x2001, "127.0.0.20"),
        pgw_fteid=g.Fteid(g.IF_S5S8_PGW_C, 0x3001, "127.0.0.30"),
        paa=g.Paa(g.PDN_IPV4, ipv4="10.45.0.2"),
        apn_restriction=0,
        apn_ambr=g.Ambr(100_000, 100_000),
        pco=b"\x80",
        ebi=5,
        bearer_fteids=[
            (0, g.Fteid(g.IF_S1U_SGW, 0x2002, "127.0.0.20")),
            (2, g.Fteid(g.IF_S5S8_PGW_U, 0x3002, "127.0.0.30")),
        ],
        qos=g.BearerQos(qci=9, pl=8),
        charging_id=0x3003,
        recovery=1,
    )


def bench(label: str, fn: Callable[[], object], number: int) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
    print(f"{label:<48} {best:8.1f} µs")
    return best


def main() -> None:
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    csr, rsp = build_csr(), build_csrsp()
    csr_wire, rsp_wire = csr.encode(), rsp.encode()
    mbr_wire = g.modify_bearer_request(
        sequence=1, teid=0x2001, ebi=5, enb_fteid=g.Fteid(g.IF_S1U_ENB, 0x4001, "127.0.0.40")
    ).encode()
    dsr_wire = g.delete_session_request(sequence=2, teid=0x2001, ebi=5).encode()
    print(f"Create Session Request: {len(csr_wire)} octets, Response: {len(rsp_wire)} octets")
    bench("build + encode Create Session Request", lambda: build_csr().encode(), number)
    bench("decode Create Session Request", lambda: g.decode(csr_wire), number)
    bench(
        "decode + validate Create Session Request", lambda: g.validate(g.decode(csr_wire)), number
    )
    bench("build + encode Create Session Response", lambda: build_csrsp().encode(), number)
    bench(
        "decode + validate Create Session Response", lambda: g.validate(g.decode(rsp_wire)), number
    )
    bench("decode + validate Modify Bearer Request", lambda: g.validate(g.decode(mbr_wire)), number)
    bench(
        "decode + validate Delete Session Request", lambda: g.validate(g.decode(dsr_wire)), number
    )
    bench("re-encode a decoded Create Session Request", lambda: g.decode(csr_wire).encode(), number)
    try:
        from pycrate_mobile.TS29274_GTPC import parse_GTPC
    except ImportError:
        return
    bench("pycrate parse_GTPC Create Session Request", lambda: parse_GTPC(csr_wire), number // 10)


if __name__ == "__main__":
    main()

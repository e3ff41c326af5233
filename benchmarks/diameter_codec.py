"""Micro-benchmark of the Diameter codec on the Cx MAR/MAA exchange (the HSS hot path).

Prints microseconds per operation: encode and decode of a MAR and of an MAA carrying one
AKA vector, validate(), and the whole HSS-side turn (decode MAR, validate, read the AVPs the
HSS needs, build and encode the MAA). Run: ``python benchmarks/diameter_codec.py [iterations]``.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.protocols.diameter import (
    AUTH_SCHEME_AKAV1_MD5,
    Message,
    cx_answer,
    make_mar,
    validate,
)

ORIGIN = "scscf.ims.mnc001.mcc001.3gppnetwork.org"
REALM = "ims.mnc001.mcc001.3gppnetwork.org"
IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"
IMPU = "sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org"


def build_mar() -> Message:
    return make_mar(
        session_id=f"{ORIGIN};1700000000;42",
        origin_host=ORIGIN,
        origin_realm=REALM,
        destination_realm=REALM,
        destination_host=f"hss.{REALM}",
        public_identity=IMPU,
        user_name=IMPI,
        server_name=f"sip:{ORIGIN}:6060",
        hop_by_hop=0x1234,
        end_to_end=0x5678,
    )


def build_maa(mar: Message) -> Message:
    ans = cx_answer(mar, origin_host=f"hss.{REALM}", origin_realm=REALM, result_code=2001)
    ans.add("User-Name", IMPI).add("Public-Identity", IMPU).add("SIP-Number-Auth-Items", 1)
    ans.add(
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
    return ans


def hss_turn(wire: bytes) -> bytes:
    req = Message.decode(wire)
    validate(req)
    req.get("User-Name")
    req.get("Public-Identity")
    req.get("Server-Name")
    item = req.get("SIP-Auth-Data-Item")
    item.get("SIP-Authentication-Scheme")
    return build_maa(req).encode()


def bench(label: str, fn: Callable[[], object], number: int) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
    print(f"{label:<48} {best:8.1f} µs")
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    mar = build_mar()
    mar_wire = mar.encode()
    maa = build_maa(Message.decode(mar_wire))
    maa_wire = maa.encode()
    print(f"MAR {len(mar_wire)} octets, {len(mar.avps)} AVPs; MAA {len(maa_wire)} octets")
    bench("MAR encode", mar.encode, n)
    bench("MAR decode (header + AVP framing, lazy values)", lambda: Message.decode(mar_wire), n)
    e = bench("MAR encode+decode", lambda: Message.decode(mar.encode()), n)
    bench("MAA build (cx_answer + 4 adds incl. grouped)", lambda: build_maa(mar), n)
    bench("MAA encode", maa.encode, n)
    bench("MAA decode", lambda: Message.decode(maa_wire), n)
    f = bench("MAA encode+decode", lambda: Message.decode(maa.encode()), n)
    bench("validate(MAR) (full ABNF, recursive)", lambda: validate(mar), n)
    t = bench("HSS turn: decode+validate+read MAR, build+encode MAA", lambda: hss_turn(mar_wire), n)
    print(f"MAR+MAA encode+decode: {e + f:.1f} µs; HSS turns/s/core (codec only): {1e6 / t:,.0f}")


if __name__ == "__main__":
    main()

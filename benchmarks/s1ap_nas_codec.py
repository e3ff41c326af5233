"""Micro-benchmark of the S1AP and NAS codecs on the PDUs of one attach + detach.

Prints microseconds per operation for each S1AP PDU (encode and decode, the hand-written fast
path and pycrate's generic APER for comparison), each NAS message (our codec, and pycrate's
TS 24.301 parser for comparison), NAS protect/unprotect with 128-EIA2 (+ 128-EEA2), and the
total CPU per attach on one side (MME or eNB/UE simulator) with the attach rate that leaves.
Run: ``python benchmarks/s1ap_nas_codec.py [iterations]``.
"""

from __future__ import annotations

import logging
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.protocols import kdf, nas, s1ap

logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
from pycrate_mobile.NASLTE import parse_NASLTE_MO, parse_NASLTE_MT  # noqa: E402

MCC, MNC = "001", "01"
IDS = {"mme_ue_s1ap_id": 4097, "enb_ue_s1ap_id": 17}
LOC = {"mcc": MCC, "mnc": MNC, "tac": 1, "cell_id": 0x101}
GUTI = nas.Guti(MCC, MNC, 1, 1, 0xC0000011)


def bench(label: str, fn: Callable[[], object], number: int) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
    print(f"  {label:<56} {best:8.1f} µs")
    return best


def nas_messages() -> list[tuple[bool, nas.NasMessage]]:
    """(uplink, message) for an attach and a detach."""
    return [
        (
            True,
            nas.AttachRequest(
                nas.Imsi("001010000000001"), nas.PdnConnectivityRequest(1, "internet")
            ),
        ),
        (False, nas.AuthenticationRequest(0, bytes(16), bytes(16))),
        (True, nas.AuthenticationResponse(bytes(8))),
        (False, nas.SecurityModeCommand(nas.EEA0, nas.EIA2, 0, b"\xe0\xe0")),
        (True, nas.SecurityModeComplete()),
        (
            False,
            nas.AttachAccept(
                (nas.Tai(MCC, MNC, 1),),
                nas.ActivateDefaultBearerRequest(5, 1, 9, "internet", "10.45.0.2", 100000, 100000),
                GUTI,
            ),
        ),
        (True, nas.AttachComplete(nas.ActivateDefaultBearerAccept(5))),
        (True, nas.DetachRequest(GUTI, switch_off=False, ksi=0)),
        (False, nas.DetachAccept()),
    ]


def s1ap_messages() -> list[s1ap.S1apMessage]:
    """The S1AP PDUs of one attach + detach (each is encoded on one side, decoded on the other)."""
    n = [m.encode() for _, m in nas_messages()]
    return [
        s1ap.initial_ue_message(enb_ue_s1ap_id=17, nas_pdu=n[0], **LOC),
        s1ap.downlink_nas_transport(nas_pdu=n[1], **IDS),
        s1ap.uplink_nas_transport(nas_pdu=n[2], **IDS, **LOC),
        s1ap.downlink_nas_transport(nas_pdu=n[3], **IDS),
        s1ap.uplink_nas_transport(nas_pdu=n[4], **IDS, **LOC),
        s1ap.initial_context_setup_request(
            ue_ambr_ul_bps=10**8,
            ue_ambr_dl_bps=10**8,
            ebi=5,
            qci=9,
            arp=8,
            sgw_address="127.0.0.30",
            sgw_teid=0x10000001,
            nas_pdu=n[5],
            ue_network_capability=b"\xe0\xe0",
            kenb=bytes(32),
            **IDS,
        ),
        s1ap.initial_context_setup_response(e_rabs=[(5, "127.0.0.10", 7)], **IDS),
        s1ap.uplink_nas_transport(nas_pdu=n[6], **IDS, **LOC),
        s1ap.uplink_nas_transport(nas_pdu=n[7], **IDS, **LOC),
        s1ap.downlink_nas_transport(nas_pdu=n[8], **IDS),
        s1ap.ue_context_release_command(cause_value=("nas", "detach"), **IDS),
        s1ap.ue_context_release_complete(**IDS),
    ]


def main() -> None:
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    side_fast = side_generic = 0.0  # CPU of one side: encode what it sends + decode what it gets
    print("S1AP (TS 36.413), per PDU: fast encode / fast decode / pycrate encode / pycrate decode")
    for msg in s1ap_messages():
        wire = msg.encode()
        fe = bench(f"{msg.name} encode (fast)", msg.encode, number)
        fd = bench(f"{msg.name} decode (fast)", lambda w=wire: s1ap.decode(w), number)
        ge = bench(f"{msg.name} encode (pycrate)", msg.encode_generic, max(number // 5, 20))
        gd = bench(
            f"{msg.name} decode (pycrate)",
            lambda w=wire: s1ap.decode_generic(w),
            max(number // 5, 20),
        )
        side_fast += fe + fd
        side_generic += ge + gd
    print("NAS (TS 24.301), per message: our encode / our decode / pycrate parse")
    nas_side = 0.0
    for up, m in nas_messages():
        wire = m.encode()
        e = bench(f"{type(m).__name__} encode", m.encode, number * 10)
        d = bench(f"{type(m).__name__} decode", lambda w=wire: nas.decode(w), number * 10)
        parse = parse_NASLTE_MO if up else parse_NASLTE_MT
        bench(
            f"{type(m).__name__} pycrate parse", lambda w=wire, p=parse: p(w), max(number // 5, 20)
        )
        nas_side += e + d
    print("NAS security (128-EIA2 integrity, 128-EEA2 ciphering), one message each way")
    k = kdf.kasme(bytes(16), bytes(16), kdf.plmn_bytes(MCC, MNC), bytes(6))
    plain = nas_messages()[5][1].encode()

    def round_trip() -> None:
        a = nas.NasSecurityContext(kasme=k, ksi=0, enc_alg=2, int_alg=2, network=True)
        b = nas.NasSecurityContext(kasme=k, ksi=0, enc_alg=2, int_alg=2, network=False)
        b.unprotect(a.protect(plain))

    sec = bench("context setup (KDF x2) + protect + unprotect", round_trip, number * 5)
    bench(
        "kasme (KDF)", lambda: kdf.kasme(bytes(16), bytes(16), b"\0\xf1\x10", bytes(6)), number * 10
    )
    # One side sends ~half the NAS messages and protects/unprotects ~5 of them.
    per_attach = side_fast + nas_side + 3 * sec
    generic = side_generic + nas_side + 3 * sec
    print(
        f"\nCPU per attach+detach on one side (12 S1AP PDUs + 9 NAS messages + security): "
        f"{per_attach / 1000:.2f} ms with the fast path -> {1e6 / per_attach:.0f} attach/s per core"
        f"\n(pycrate generic APER for S1AP instead: {generic / 1000:.2f} ms)"
    )


if __name__ == "__main__":
    main()

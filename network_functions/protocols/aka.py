"""UMTS/EPS/IMS Authentication and Key Agreement (AKA), 3GPP TS 33.102 §6.3.

Both ends of the exchange, on top of MILENAGE (:mod:`network_functions.protocols.milenage`):

* the home network (HSS/AuC) builds authentication vectors with :func:`generate_vector`
  (TS 33.102 §6.3.2, figure 9) and recovers the USIM's sequence number from a
  re-synchronisation token with :func:`resync` (§6.3.5);
* the USIM side, which our test UEs emulate, answers a challenge with :func:`ue_authenticate`
  (§6.3.3): it checks MAC-A, checks SQN freshness and, on a stale SQN, produces the AUTS of a
  synchronisation failure.

A peer that breaks the protocol (bad MAC, stale SQN, malformed AUTN/AUTS) raises
:class:`AkaError` or one of its subclasses, which carry the cause to report; wrong local
arguments (key lengths, SQN out of range) raise ``ValueError``. The module is sans-IO.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import ClassVar

from network_functions.protocols import milenage

__all__ = [
    "AMF_RESYNC",
    "AUTN_LEN",
    "AUTS_LEN",
    "DEFAULT_AMF",
    "DEFAULT_DELTA",
    "IND_BITS",
    "SQN_MAX",
    "AkaError",
    "AkaVector",
    "MacFailure",
    "SyncFailure",
    "UeAkaResult",
    "generate_vector",
    "next_sqn",
    "resync",
    "ue_authenticate",
]

# SQN is 48 bits, TS 33.102 §6.3.2 / Annex C.
SQN_MAX = 2**48 - 1

# AUTN = SQN xor AK (6) || AMF (2) || MAC-A (8), TS 33.102 §6.3.2.
AUTN_LEN = milenage.SQN_LEN + milenage.AMF_LEN + milenage.MAC_LEN
# AUTS = SQN_MS xor AK* (6) || MAC-S (8), TS 33.102 §6.3.3.
AUTS_LEN = milenage.SQN_LEN + milenage.MAC_LEN

# AMF with the "separation bit" (bit 0) set, which TS 33.401 §6.1.1 requires for vectors used
# in E-UTRAN; IMS accepts it too, so it is the default.
DEFAULT_AMF = b"\x80\x00"
# TS 33.102 §6.3.3: MAC-S is computed with a dummy AMF of all zeros.
AMF_RESYNC = b"\x00\x00"

# TS 33.102 Annex C structures SQN as SEQ || IND; IND (the low bits) lets several serving
# nodes use vectors out of order. Its length is an operator choice; 5 bits is the usual one.
IND_BITS = 5

# Freshness window for the simple check in ue_authenticate. TS 33.102 Annex C.2.1 has the USIM
# refuse an SQN whose SEQ jumps more than Delta ahead of SEQ_MS; we use 2^28 and apply it to
# the whole SQN value, which is stricter than a per-SEQ window by a factor 2^IND_BITS.
DEFAULT_DELTA = 2**28


class AkaError(Exception):
    """The peer's AKA data is unacceptable (malformed AUTN/AUTS, or a subclass below).

    ``cause`` is the EMM cause to answer with (TS 24.301 §9.9.3.9): #20 "MAC failure".
    """

    cause: ClassVar[int] = 20


class MacFailure(AkaError):
    """MAC-A (UE side) or MAC-S (HSS side) does not verify: TS 33.102 §6.3.3 / §6.3.5."""

    cause: ClassVar[int] = 20


class SyncFailure(AkaError):
    """SQN is out of range on the USIM, TS 33.102 §6.3.3; ``auts`` goes back to the network.

    EMM cause #21 "Synch failure" (TS 24.301 §9.9.3.9); in IMS the AUTS travels in the
    ``auts`` Digest parameter (RFC 3310 §3.4).
    """

    cause: ClassVar[int] = 21

    def __init__(self, auts: bytes, message: str = "SQN out of range") -> None:
        super().__init__(message)
        self.auts = auts


@dataclass(frozen=True, slots=True)
class AkaVector:
    """An authentication vector, TS 33.102 §6.3.2: RAND, XRES, CK, IK, AUTN (plus AK)."""

    rand: bytes
    xres: bytes
    ck: bytes
    ik: bytes
    autn: bytes
    ak: bytes


@dataclass(frozen=True, slots=True)
class UeAkaResult:
    """What the USIM returns after a successful challenge, TS 33.102 §6.3.3."""

    res: bytes
    ck: bytes
    ik: bytes
    sqn: int


def _xor(a: bytes, b: bytes) -> bytes:
    # Equal lengths (6 octets) at every call site.
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _sqn_bytes(name: str, sqn: int) -> bytes:
    if isinstance(sqn, bool) or not isinstance(sqn, int):
        raise ValueError(f"{name} must be an int")
    if not 0 <= sqn <= SQN_MAX:
        raise ValueError(f"{name} must be in 0..2^48-1, got {sqn}")
    return sqn.to_bytes(milenage.SQN_LEN, "big")


def _peer_bytes(name: str, value: object, length: int) -> bytes:
    """Check a field received from the peer; a wrong one is the peer's fault (AkaError)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise AkaError(f"{name} must be bytes")
    data = bytes(value)
    if len(data) != length:
        raise AkaError(f"{name} must be {length} octets, got {len(data)}")
    return data


def generate_vector(
    k: bytes,
    opc: bytes,
    sqn: int,
    *,
    amf: bytes = DEFAULT_AMF,
    rand: bytes | None = None,
) -> AkaVector:
    """Build one authentication vector (HSS/AuC side), TS 33.102 §6.3.2.

    AUTN = SQN xor AK || AMF || MAC-A. RAND is drawn from the OS CSPRNG unless given (tests
    pass the TS 35.208 values). The caller owns SQN management (see :func:`next_sqn`).
    """
    sqn_b = _sqn_bytes("sqn", sqn)
    if rand is None:
        rand = secrets.token_bytes(milenage.RAND_LEN)
    out = milenage.compute(k, opc, rand, sqn_b, amf)
    autn = _xor(sqn_b, out.ak) + bytes(amf) + out.mac_a
    return AkaVector(rand=bytes(rand), xres=out.res, ck=out.ck, ik=out.ik, autn=autn, ak=out.ak)


def ue_authenticate(
    k: bytes,
    opc: bytes,
    rand: bytes,
    autn: bytes,
    *,
    sqn_ms: int | None = None,
    delta: int = DEFAULT_DELTA,
) -> UeAkaResult:
    """Answer a challenge as the USIM does, TS 33.102 §6.3.3.

    1. AK = f5(RAND); SQN = (SQN xor AK) xor AK; XMAC = f1(SQN, RAND, AMF).
    2. XMAC != MAC-A -> :class:`MacFailure`.
    3. If ``sqn_ms`` (the highest SQN the USIM has accepted) is given, SQN must satisfy
       ``sqn_ms < SQN <= sqn_ms + delta`` (the simple form of Annex C.2); otherwise
       :class:`SyncFailure` carrying AUTS = SQN_MS xor AK* || MAC-S, with
       MAC-S = f1*(SQN_MS, RAND, AMF = 0x0000).

    The USIM's new SQN_MS on success is ``result.sqn``; storing it is the caller's job.
    """
    rand = _peer_bytes("RAND", rand, milenage.RAND_LEN)
    autn = _peer_bytes("AUTN", autn, AUTN_LEN)
    sqn_ms_b = None if sqn_ms is None else _sqn_bytes("sqn_ms", sqn_ms)
    if delta < 1:
        raise ValueError("delta must be positive")

    conc, amf, mac_a = autn[:6], autn[6:8], autn[8:]
    # SQN is concealed by AK = f5(RAND): recover it first (f2345 also gives RES, CK, IK), then
    # check MAC-A over the recovered SQN and the received AMF.
    res, ck, ik, ak = milenage.f2345(k, opc, rand)
    sqn_b = _xor(conc, ak)
    xmac = milenage.f1(k, opc, rand, sqn_b, amf)
    if not hmac.compare_digest(xmac, mac_a):
        raise MacFailure("MAC-A does not verify")

    sqn = int.from_bytes(sqn_b, "big")
    if sqn_ms is not None and sqn_ms_b is not None and not (sqn_ms < sqn <= sqn_ms + delta):
        ak_star = milenage.f5_star(k, opc, rand)
        mac_s = milenage.f1_star(k, opc, rand, sqn_ms_b, AMF_RESYNC)
        raise SyncFailure(_xor(sqn_ms_b, ak_star) + mac_s)
    return UeAkaResult(res=res, ck=ck, ik=ik, sqn=sqn)


def resync(k: bytes, opc: bytes, rand: bytes, auts: bytes) -> int:
    """Recover SQN_MS from AUTS (HSS/AuC side), TS 33.102 §6.3.5.

    SQN_MS = (SQN_MS xor AK*) xor f5*(RAND); MAC-S must equal f1*(SQN_MS, RAND, AMF=0x0000),
    else :class:`MacFailure`. ``rand`` is the RAND of the vector the UE rejected. The HSS then
    continues from ``next_sqn(SQN_MS)``.
    """
    rand = _peer_bytes("RAND", rand, milenage.RAND_LEN)
    auts = _peer_bytes("AUTS", auts, AUTS_LEN)
    ak_star = milenage.f5_star(k, opc, rand)
    sqn_ms_b = _xor(auts[:6], ak_star)
    xmac_s = milenage.f1_star(k, opc, rand, sqn_ms_b, AMF_RESYNC)
    if not hmac.compare_digest(xmac_s, auts[6:]):
        raise MacFailure("MAC-S does not verify")
    return int.from_bytes(sqn_ms_b, "big")


def next_sqn(sqn: int) -> int:
    """The SQN of the next vector, TS 33.102 Annex C (SQN = SEQ || IND, IND_BITS = 5).

    Choice: SEQ goes up by one and IND is kept, i.e. ``sqn + 32`` with the low five bits
    unchanged. Every new vector is thus strictly greater than the previous one, which is what
    the simple freshness check of :func:`ue_authenticate` needs. ``ValueError`` when SEQ
    would overflow its 43 bits (wrap-around is left to operator procedures).
    """
    _sqn_bytes("sqn", sqn)
    ind_mask = (1 << IND_BITS) - 1
    seq = (sqn >> IND_BITS) + 1
    nxt = (seq << IND_BITS) | (sqn & ind_mask)
    if nxt > SQN_MAX:
        raise ValueError("SQN space exhausted")
    return nxt

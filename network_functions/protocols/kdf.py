"""EPS key derivation: the generic 3GPP KDF and the EPS key hierarchy (TS 33.401 Annex A).

The generic key derivation function of TS 33.220 Annex B.2 is HMAC-SHA-256 keyed with a
256-bit key over the string ``S = FC || P0 || L0 || P1 || L1 || ...``, where FC is one octet
telling the derivations apart and each Li is the length of Pi as two octets, big-endian
(:func:`kdf`). TS 33.401 Annex A applies it to the EPS keys:

* :func:`kasme` - K_ASME from CK, IK, the serving network's PLMN identity and SQN xor AK
  (A.2, FC = 0x10). The HSS puts it in the S6a Authentication-Info answer; the UE computes
  the same from its USIM's CK/IK.
* :func:`nas_keys` - K_NASenc and K_NASint from K_ASME and the selected algorithms (A.7,
  FC = 0x15): the 128-bit keys are the 16 least significant octets of the 256-bit output.
* :func:`kenb` - K_eNB from K_ASME and the uplink NAS COUNT (A.3, FC = 0x11), sent to the
  eNB in Initial Context Setup.
* :func:`plmn_bytes` - the three-octet PLMN identity (TS 24.301 §9.9.3.32 / TS 23.003 §2.2)
  used as the serving network identity in A.2 and in the NAS/S1AP encodings.

Wrong argument types or lengths raise :class:`KdfError` (a ``ValueError``): these are local
programming errors, never input from a peer. The module is pure computation.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = [
    "ALG_DIST_NAS_ENC",
    "ALG_DIST_NAS_INT",
    "FC_KASME",
    "FC_KENB",
    "FC_NAS_ALG",
    "KdfError",
    "kasme",
    "kdf",
    "kenb",
    "nas_keys",
    "plmn_bytes",
]

# FC values, TS 33.401 Annex A.
FC_KASME = 0x10  # A.2: K_ASME derivation
FC_KENB = 0x11  # A.3: K_eNB derivation
FC_NAS_ALG = 0x15  # A.7: algorithm key derivation (NAS, RRC, UP)

# Algorithm type distinguishers, TS 33.401 A.7 table A.7-1.
ALG_DIST_NAS_ENC = 0x01
ALG_DIST_NAS_INT = 0x02

# Key and parameter sizes in octets.
_KEY_LEN = 32  # TS 33.220 B.2: the KDF key is 256 bits
_CK_IK_LEN = 16  # TS 33.102: CK and IK are 128 bits
_SQN_AK_LEN = 6  # TS 33.401 A.2: SQN xor AK is 48 bits
_PLMN_LEN = 3  # TS 24.301 §9.9.3.32: MCC/MNC in three octets
_MAX_PARAM_LEN = 0xFFFF  # TS 33.220 B.2: Li is two octets


class KdfError(ValueError):
    """A KDF input has the wrong type, length or range (a local error, not a peer's)."""


def _octets(name: str, value: object, length: int | None = None) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise KdfError(f"{name} must be bytes, not {type(value).__name__}")
    data = bytes(value)
    if length is not None and len(data) != length:
        raise KdfError(f"{name} must be {length} octets, got {len(data)}")
    return data


def kdf(key: bytes, fc: int, *params: bytes) -> bytes:
    """The generic KDF of TS 33.220 Annex B.2: HMAC-SHA-256(Key, FC || P0 || L0 || ...).

    Returns the full 256-bit output (32 octets). ``key`` must be 32 octets; each parameter
    at most 65535 octets (its length field Li is two octets).
    """
    key = _octets("key", key, _KEY_LEN)
    if isinstance(fc, bool) or not isinstance(fc, int) or not 0 <= fc <= 0xFF:
        raise KdfError("FC must be an int in 0..255")
    s = bytearray((fc,))
    for i, p in enumerate(params):
        p = _octets(f"P{i}", p)
        if len(p) > _MAX_PARAM_LEN:
            raise KdfError(f"P{i} is longer than {_MAX_PARAM_LEN} octets")
        s += p
        s += len(p).to_bytes(2, "big")
    return hmac.new(key, bytes(s), hashlib.sha256).digest()


def kasme(ck: bytes, ik: bytes, plmn: bytes, sqn_xor_ak: bytes) -> bytes:
    """K_ASME (32 octets), TS 33.401 A.2: KDF(CK || IK, FC=0x10, SN id, SQN xor AK).

    ``plmn`` is the serving network identity as encoded by :func:`plmn_bytes`;
    ``sqn_xor_ak`` the first six octets of AUTN.
    """
    ck = _octets("CK", ck, _CK_IK_LEN)
    ik = _octets("IK", ik, _CK_IK_LEN)
    plmn = _octets("PLMN identity", plmn, _PLMN_LEN)
    sqn_xor_ak = _octets("SQN xor AK", sqn_xor_ak, _SQN_AK_LEN)
    return kdf(ck + ik, FC_KASME, plmn, sqn_xor_ak)


def _alg_id(name: str, value: int) -> bytes:
    # TS 33.401 A.7: P1 is the algorithm identity (4 bits, table 5.1.3.2-1 / 5.1.4.2-1) in one
    # octet; EEA0..EEA3 / EIA0..EIA3 are 0..3, the rest reserved up to 7 (TS 24.301 §9.9.3.23).
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 7:
        raise KdfError(f"{name} must be an algorithm identity 0..7")
    return bytes((value,))


def nas_keys(kasme_key: bytes, enc_alg: int, int_alg: int) -> tuple[bytes, bytes]:
    """(K_NASenc, K_NASint), 16 octets each, TS 33.401 A.7 (FC = 0x15).

    P0 is the algorithm type distinguisher (NAS-enc-alg 0x01, NAS-int-alg 0x02), P1 the
    algorithm identity (EEA0 = 0, 128-EEA1 = 1, 128-EEA2 = 2, ...); the 128-bit keys are the
    16 least significant octets of the KDF output (A.7, "truncated").
    """
    kasme_key = _octets("K_ASME", kasme_key, _KEY_LEN)
    enc = kdf(kasme_key, FC_NAS_ALG, bytes((ALG_DIST_NAS_ENC,)), _alg_id("enc_alg", enc_alg))
    integ = kdf(kasme_key, FC_NAS_ALG, bytes((ALG_DIST_NAS_INT,)), _alg_id("int_alg", int_alg))
    return enc[16:], integ[16:]


def kenb(kasme_key: bytes, ul_nas_count: int) -> bytes:
    """K_eNB (32 octets), TS 33.401 A.3: KDF(K_ASME, FC=0x11, uplink NAS COUNT as 4 octets)."""
    kasme_key = _octets("K_ASME", kasme_key, _KEY_LEN)
    if isinstance(ul_nas_count, bool) or not isinstance(ul_nas_count, int):
        raise KdfError("uplink NAS COUNT must be an int")
    if not 0 <= ul_nas_count <= 0xFFFFFFFF:
        raise KdfError("uplink NAS COUNT must fit in 32 bits")
    return kdf(kasme_key, FC_KENB, ul_nas_count.to_bytes(4, "big"))


def plmn_bytes(mcc: str, mnc: str) -> bytes:
    """The PLMN identity in three octets, TS 24.301 §9.9.3.32 (figure 9.9.3.32.1).

    Octet 1: MCC digit 2 | MCC digit 1; octet 2: MNC digit 3 (0xF for a two-digit MNC) |
    MCC digit 3; octet 3: MNC digit 2 | MNC digit 1 (high nibble | low nibble). ``mcc`` is
    three decimal digits and ``mnc`` two or three, as strings (leading zeros matter:
    MNC "01" and "001" are different networks, TS 23.003 §2.2).
    """
    if not isinstance(mcc, str) or len(mcc) != 3 or not mcc.isascii() or not mcc.isdigit():
        raise KdfError(f"MCC must be three decimal digits, got {mcc!r}")
    if not isinstance(mnc, str) or len(mnc) not in (2, 3) or not mnc.isascii() or not mnc.isdigit():
        raise KdfError(f"MNC must be two or three decimal digits, got {mnc!r}")
    d = [int(c) for c in mcc]
    n = [int(c) for c in mnc]
    mnc3 = n[2] if len(n) == 3 else 0xF
    return bytes(((d[1] << 4) | d[0], (mnc3 << 4) | d[2], (n[1] << 4) | n[0]))

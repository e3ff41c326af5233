"""NAS information elements shared by the EMM and ESM messages (TS 24.301 §9.9, TS 24.008 §10.5).

Identities (:class:`Imsi`, :class:`Guti`, :class:`Imeisv`), tracking areas (:class:`Tai` and
the TAI list), GPRS timers, APN names, APN-AMBR bit rates and PDN addresses, each with an
encoder that returns the IE *value* (no IEI, no length) and a decoder taking the value.
Decoders raise :class:`~network_functions.protocols.nas.errors.NasError` (cause #96, invalid
mandatory information, or #100, conditional IE error) on malformed input and nothing else;
constructors raise ``ValueError`` for values we were asked to encode that cannot be encoded.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from network_functions.protocols.nas.errors import (
    CAUSE_INVALID_MANDATORY_INFO,
    NasError,
)

__all__ = [
    "ID_TYPE_GUTI",
    "ID_TYPE_IMEI",
    "ID_TYPE_IMEISV",
    "ID_TYPE_IMSI",
    "ID_TYPE_TMSI",
    "MAX_TAIS",
    "Guti",
    "Imeisv",
    "Imsi",
    "MobileIdentity",
    "Tai",
    "decode_apn",
    "decode_apn_ambr",
    "decode_eps_identity",
    "decode_gprs_timer",
    "decode_mobile_identity",
    "decode_pdn_address",
    "decode_plmn",
    "decode_tai_list",
    "encode_apn",
    "encode_apn_ambr",
    "encode_eps_identity",
    "encode_gprs_timer",
    "encode_mobile_identity",
    "encode_pdn_address",
    "encode_plmn",
    "encode_tai_list",
]

# Type of identity, TS 24.301 §9.9.3.12 (EPS mobile identity) and TS 24.008 §10.5.1.4.
ID_TYPE_IMSI = 1
ID_TYPE_IMEI = 2
ID_TYPE_IMEISV = 3
ID_TYPE_TMSI = 4
ID_TYPE_GUTI = 6

# A TAI list holds at most 16 TAIs, TS 24.301 §9.9.3.33.
MAX_TAIS = 16
# APN: at most 100 octets, TS 23.003 §9.1.
_MAX_APN_LEN = 100


def _bad(what: str) -> NasError:
    return NasError(f"malformed {what}", CAUSE_INVALID_MANDATORY_INFO)


def _digits(value: str, what: str, lo: int, hi: int) -> str:
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        raise ValueError(f"{what} must be {lo}..{hi} decimal digits")
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{what} must be decimal digits, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Imsi:
    """An IMSI (TS 23.003 §2.1): MCC + MNC + MSIN, 6 to 15 digits."""

    digits: str

    def __post_init__(self) -> None:
        _digits(self.digits, "IMSI", 6, 15)

    def __str__(self) -> str:
        return self.digits


@dataclass(frozen=True, slots=True)
class Imeisv:
    """An IMEISV (TS 23.003 §6.2.2): 16 digits."""

    digits: str

    def __post_init__(self) -> None:
        _digits(self.digits, "IMEISV", 16, 16)


@dataclass(frozen=True, slots=True)
class Guti:
    """A GUTI (TS 23.003 §2.8): PLMN, MME group ID (16 bits), MME code (8), M-TMSI (32)."""

    mcc: str
    mnc: str
    mme_group_id: int
    mme_code: int
    m_tmsi: int

    def __post_init__(self) -> None:
        _digits(self.mcc, "MCC", 3, 3)
        _digits(self.mnc, "MNC", 2, 3)
        for name, value, bits in (
            ("mme_group_id", self.mme_group_id, 16),
            ("mme_code", self.mme_code, 8),
            ("m_tmsi", self.m_tmsi, 32),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
                raise ValueError(f"{name} must fit in {bits} bits")


MobileIdentity = Imsi | Guti | Imeisv


@dataclass(frozen=True, slots=True)
class Tai:
    """A tracking area identity (TS 23.003 §19.4.2.3): PLMN + 16-bit TAC."""

    mcc: str
    mnc: str
    tac: int

    def __post_init__(self) -> None:
        _digits(self.mcc, "MCC", 3, 3)
        _digits(self.mnc, "MNC", 2, 3)
        tac = self.tac
        if isinstance(tac, bool) or not isinstance(tac, int) or not 0 <= tac <= 0xFFFF:
            raise ValueError("TAC must fit in 16 bits")


# --- PLMN, TS 24.301 §9.9.3.32 / TS 24.008 §10.5.1.13 -----------------------------------------


def encode_plmn(mcc: str, mnc: str) -> bytes:
    """MCC/MNC in three octets (MCC2|MCC1, MNC3|MCC3, MNC2|MNC1; MNC3 = 0xF if 2 digits)."""
    _digits(mcc, "MCC", 3, 3)
    _digits(mnc, "MNC", 2, 3)
    m3 = int(mnc[2]) if len(mnc) == 3 else 0xF
    return bytes(
        (
            (int(mcc[1]) << 4) | int(mcc[0]),
            (m3 << 4) | int(mcc[2]),
            (int(mnc[1]) << 4) | int(mnc[0]),
        )
    )


def decode_plmn(data: bytes) -> tuple[str, str]:
    """(MCC, MNC) from three octets; NasError for a non-decimal digit."""
    if len(data) != 3:
        raise _bad("PLMN identity")
    d = (data[0] & 0xF, data[0] >> 4, data[1] & 0xF, data[2] & 0xF, data[2] >> 4, data[1] >> 4)
    if any(x > 9 for x in d[:5]) or (d[5] > 9 and d[5] != 0xF):
        raise _bad("PLMN identity")
    mcc = f"{d[0]}{d[1]}{d[2]}"
    mnc = f"{d[3]}{d[4]}" if d[5] == 0xF else f"{d[3]}{d[4]}{d[5]}"
    return mcc, mnc


# --- identities --------------------------------------------------------------------------------


def _bcd_identity(digits: str, id_type: int) -> bytes:
    # Octet 3: digit 1 | odd/even | type; then digit pairs, filler 0xF (TS 24.008 §10.5.1.4).
    odd = len(digits) % 2
    out = bytearray(((int(digits[0]) << 4) | (odd << 3) | id_type,))
    rest = digits[1:]
    for i in range(0, len(rest), 2):
        lo = int(rest[i])
        hi = int(rest[i + 1]) if i + 1 < len(rest) else 0xF
        out.append((hi << 4) | lo)
    return bytes(out)


def _bcd_digits(data: bytes, what: str) -> str:
    odd = (data[0] >> 3) & 1
    nibbles = [data[0] >> 4]
    for b in data[1:]:
        nibbles.append(b & 0xF)
        nibbles.append(b >> 4)
    if not odd:
        if nibbles[-1] != 0xF:
            raise _bad(what)
        nibbles.pop()
    if any(n > 9 for n in nibbles):
        raise _bad(what)
    return "".join(map(str, nibbles))


def _identity(identity: MobileIdentity) -> bytes:
    if isinstance(identity, Imsi):
        return _bcd_identity(identity.digits, ID_TYPE_IMSI)
    if isinstance(identity, Imeisv):
        return _bcd_identity(identity.digits, ID_TYPE_IMEISV)
    if isinstance(identity, Guti):
        return (
            b"\xf6"
            + encode_plmn(identity.mcc, identity.mnc)
            + identity.mme_group_id.to_bytes(2, "big")
            + bytes((identity.mme_code,))
            + identity.m_tmsi.to_bytes(4, "big")
        )
    raise ValueError(f"not a mobile identity: {identity!r}")


def encode_eps_identity(identity: Imsi | Guti | Imeisv) -> bytes:
    """EPS mobile identity value, TS 24.301 §9.9.3.12 (IMSI, GUTI or IMEISV)."""
    return _identity(identity)


def encode_mobile_identity(identity: Imsi | Imeisv) -> bytes:
    """Mobile identity value, TS 24.008 §10.5.1.4 (IMSI or IMEISV)."""
    if isinstance(identity, Guti):
        raise ValueError("a GUTI is not a TS 24.008 mobile identity")
    return _identity(identity)


def decode_eps_identity(data: bytes) -> MobileIdentity:
    """EPS mobile identity (TS 24.301 §9.9.3.12): IMSI, GUTI or IMEISV; NasError otherwise."""
    if not data:
        raise _bad("EPS mobile identity")
    id_type = data[0] & 0x7
    if id_type == ID_TYPE_GUTI:
        if len(data) != 11:
            raise _bad("GUTI")
        mcc, mnc = decode_plmn(data[1:4])
        return Guti(
            mcc,
            mnc,
            int.from_bytes(data[4:6], "big"),
            data[6],
            int.from_bytes(data[7:11], "big"),
        )
    return decode_mobile_identity(data)


def decode_mobile_identity(data: bytes) -> MobileIdentity:
    """Mobile identity (TS 24.008 §10.5.1.4): IMSI or IMEISV; NasError for other types."""
    if not data:
        raise _bad("mobile identity")
    id_type = data[0] & 0x7
    if id_type == ID_TYPE_IMSI:
        digits = _bcd_digits(data, "IMSI")
        if not 6 <= len(digits) <= 15:
            raise _bad("IMSI")
        return Imsi(digits)
    if id_type == ID_TYPE_IMEISV:
        digits = _bcd_digits(data, "IMEISV")
        if len(digits) != 16:
            raise _bad("IMEISV")
        return Imeisv(digits)
    raise NasError(f"unsupported identity type {id_type}", CAUSE_INVALID_MANDATORY_INFO)


# --- TAI list, TS 24.301 §9.9.3.33 ------------------------------------------------------------


def encode_tai_list(tais: tuple[Tai, ...] | list[Tai]) -> bytes:
    """TAI list value: one partial list of type 000 (same PLMN, listed TACs) per PLMN."""
    if not 1 <= len(tais) <= MAX_TAIS:
        raise ValueError(f"a TAI list holds 1..{MAX_TAIS} TAIs")
    by_plmn: dict[tuple[str, str], list[int]] = {}
    for t in tais:
        by_plmn.setdefault((t.mcc, t.mnc), []).append(t.tac)
    out = bytearray()
    for (mcc, mnc), tacs in by_plmn.items():
        out.append(len(tacs) - 1)  # type of list 00, number of elements - 1 (bits 5-1)
        out += encode_plmn(mcc, mnc)
        for tac in tacs:
            out += tac.to_bytes(2, "big")
    return bytes(out)


def decode_tai_list(data: bytes) -> tuple[Tai, ...]:
    """All three partial-list types of TS 24.301 §9.9.3.33.1; NasError when malformed."""
    tais: list[Tai] = []
    pos = 0
    if not data:
        raise _bad("TAI list")
    while pos < len(data):
        head = data[pos]
        kind, n = (head >> 5) & 0x3, (head & 0x1F) + 1
        pos += 1
        if kind == 0:  # one PLMN, n TACs
            end = pos + 3 + 2 * n
            if end > len(data):
                raise _bad("TAI list")
            mcc, mnc = decode_plmn(data[pos : pos + 3])
            for i in range(n):
                off = pos + 3 + 2 * i
                tais.append(Tai(mcc, mnc, int.from_bytes(data[off : off + 2], "big")))
        elif kind == 1:  # one PLMN, n consecutive TACs from the first
            end = pos + 5
            if end > len(data):
                raise _bad("TAI list")
            mcc, mnc = decode_plmn(data[pos : pos + 3])
            first = int.from_bytes(data[pos + 3 : pos + 5], "big")
            if first + n - 1 > 0xFFFF:
                raise _bad("TAI list")
            tais.extend(Tai(mcc, mnc, first + i) for i in range(n))
        elif kind == 2:  # n (PLMN, TAC) pairs
            end = pos + 5 * n
            if end > len(data):
                raise _bad("TAI list")
            for i in range(n):
                off = pos + 5 * i
                mcc, mnc = decode_plmn(data[off : off + 3])
                tais.append(Tai(mcc, mnc, int.from_bytes(data[off + 3 : off + 5], "big")))
        else:
            raise _bad("TAI list (reserved type of list)")
        pos = end
        if len(tais) > MAX_TAIS:
            raise _bad("TAI list (more than 16 TAIs)")
    return tuple(tais)


# --- GPRS timer, TS 24.008 §10.5.7.3 ------------------------------------------------------------

# Timer units (bits 8-6) and their length in seconds; 0b111 means "deactivated".
_TIMER_UNITS = ((0b000, 2), (0b001, 60), (0b010, 360))
_TIMER_DEACTIVATED = 0b111


def encode_gprs_timer(seconds: int | None) -> int:
    """The one-octet GPRS timer for a duration (``None``: deactivated). ``ValueError`` when
    the duration is not a multiple of 2 s / 1 min / 6 min within 31 units."""
    if seconds is None:
        return _TIMER_DEACTIVATED << 5
    for unit, length in _TIMER_UNITS:
        if seconds % length == 0 and 0 <= seconds // length <= 31:
            return (unit << 5) | (seconds // length)
    raise ValueError(f"{seconds} s cannot be coded as a GPRS timer")


def decode_gprs_timer(octet: int) -> int | None:
    """Duration in seconds (``None`` when deactivated); other units are read as 1 min
    (TS 24.008 §10.5.7.3: "other values shall be interpreted as multiples of 1 minute")."""
    unit, value = octet >> 5, octet & 0x1F
    if unit == _TIMER_DEACTIVATED:
        return None
    return value * dict(_TIMER_UNITS).get(unit, 60)


# --- APN, TS 23.003 §9.1 / TS 24.301 §9.9.4.1 ---------------------------------------------------


def encode_apn(apn: str) -> bytes:
    """Access point name as length-prefixed labels (``internet`` -> 08 'internet')."""
    if not isinstance(apn, str) or not apn or not apn.isascii():
        raise ValueError("APN must be a non-empty ASCII name")
    out = bytearray()
    for label in apn.split("."):
        if not 1 <= len(label) <= 63:
            raise ValueError(f"bad APN label in {apn!r}")
        out.append(len(label))
        out += label.encode("ascii")
    if len(out) > _MAX_APN_LEN:
        raise ValueError("APN longer than 100 octets")
    return bytes(out)


def decode_apn(data: bytes) -> str:
    """Labels joined with dots; NasError when the label lengths do not add up."""
    labels = []
    pos = 0
    if not data or len(data) > _MAX_APN_LEN:
        raise _bad("APN")
    while pos < len(data):
        n = data[pos]
        if n == 0 or pos + 1 + n > len(data):
            raise _bad("APN")
        label = data[pos + 1 : pos + 1 + n]
        if not label.isascii():
            raise _bad("APN")
        labels.append(label.decode("ascii"))
        pos += 1 + n
    return ".".join(labels)


# --- APN-AMBR, TS 24.301 §9.9.4.2 ---------------------------------------------------------------


def _rate_octets(kbps: int) -> tuple[int, int, int]:
    # (base, extended, extended-2) for a bit rate in kbit/s, rounded down to the coding step.
    if kbps <= 0:
        return 0xFF, 0, 0  # 0 kbit/s
    if kbps <= 63:
        return kbps, 0, 0
    if kbps <= 568:
        return 64 + (kbps - 64) // 8, 0, 0
    if kbps <= 8640:
        return 128 + (kbps - 576) // 64, 0, 0
    if kbps <= 16000:
        return 0xFE, max(0, (kbps - 8600) // 100), 0
    if kbps <= 128000:
        return 0xFE, 74 + (kbps - 16000) // 1000, 0
    if kbps <= 256000:
        return 0xFE, 186 + (kbps - 128000) // 2000, 0
    return 0xFE, 250, min(254, (kbps - 256000) // 256000)


def _rate_value(base: int, ext: int, ext2: int) -> int:
    if ext == 0:
        if base == 0xFF or base == 0:
            rate = 0
        elif base <= 63:
            rate = base
        elif base <= 127:
            rate = 64 + (base - 64) * 8
        else:
            rate = 576 + (base - 128) * 64
    elif ext <= 74:
        rate = 8600 + ext * 100
    elif ext <= 186:
        rate = 16000 + (ext - 74) * 1000
    elif ext <= 250:
        rate = 128000 + (ext - 186) * 2000
    else:
        rate = 256000
    return rate + ext2 * 256000


def encode_apn_ambr(ul_kbps: int, dl_kbps: int) -> bytes:
    """APN-AMBR value (6 octets: DL, UL, DL ext, UL ext, DL ext-2, UL ext-2)."""
    dl, ul = _rate_octets(dl_kbps), _rate_octets(ul_kbps)
    return bytes((dl[0], ul[0], dl[1], ul[1], dl[2], ul[2]))


def decode_apn_ambr(data: bytes) -> tuple[int, int]:
    """(UL, DL) in kbit/s from 2, 4 or 6 octets."""
    if len(data) < 2:
        raise _bad("APN-AMBR")
    padded = bytes(data[:6]) + bytes(6 - min(len(data), 6))
    dl = _rate_value(padded[0], padded[2], padded[4])
    ul = _rate_value(padded[1], padded[3], padded[5])
    return ul, dl


# --- PDN address, TS 24.301 §9.9.4.9 ------------------------------------------------------------

PDN_TYPE_IPV4 = 1


def encode_pdn_address(address: str) -> bytes:
    """PDN address value for an IPv4 PDN (PDN type 1 + four octets)."""
    return bytes((PDN_TYPE_IPV4,)) + ipaddress.IPv4Address(address).packed


def decode_pdn_address(data: bytes) -> str:
    """The IPv4 address of a PDN address IE (IPv4, or the IPv4 part of IPv4v6)."""
    if not data:
        raise _bad("PDN address")
    pdn_type = data[0] & 0x7
    if pdn_type == PDN_TYPE_IPV4 and len(data) == 5:
        return str(ipaddress.IPv4Address(data[1:5]))
    if pdn_type == 3 and len(data) == 13:  # IPv4v6: 8-octet interface id, then IPv4
        return str(ipaddress.IPv4Address(data[9:13]))
    raise _bad("PDN address (only IPv4 PDNs are supported)")

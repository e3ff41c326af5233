"""The EMM and ESM messages of attach and detach (TS 24.301 §8.2, §8.3), as frozen dataclasses.

Every message class has ``encode() -> bytes`` giving the plain NAS message (security header
type 0); :func:`decode` turns plain NAS bytes back into the matching class. Security
protection is a separate layer (:mod:`network_functions.protocols.nas.security`): protect the
output of ``encode()``, unprotect before ``decode``.

This is a lean hand codec written from TS 24.301 / TS 24.007 (§11.2: half-octet V fields share
an octet, the first one listed in the spec in the low nibble; optional IEs are TV, TLV or
TLV-E after the mandatory part). It is checked message by message against pycrate's
independent TS 24.301 implementation and against Wireshark (tests/unit/protocols/test_nas*.py)
and is ~30x faster than building pycrate objects, which matters at 200 attach/s.

Decoding is lenient where the spec asks for it: unknown optional IEs are skipped (TS 24.301
§7.6.2, except "comprehension required" IEIs 0x0X-less TLVs, §7.6.1), IEs we do not model
are ignored, extra octets in a length-delimited IE are tolerated. It is strict where a wrong
value would corrupt state: any malformed mandatory IE raises
:class:`~network_functions.protocols.nas.errors.NasError` with the EMM cause to report, and
:func:`decode` raises nothing else on any input (property tests).

Direction: Detach Request exists in a UE-originating and a UE-terminated form with the same
message type; this module models the UE-originating one (uplink), which is all attach/detach
needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from network_functions.protocols.nas.errors import (
    CAUSE_INVALID_MANDATORY_INFO,
    CAUSE_MSG_TYPE_NON_EXISTENT,
    NasError,
)
from network_functions.protocols.nas.ies import (
    Guti,
    Imeisv,
    Imsi,
    Tai,
    decode_apn,
    decode_apn_ambr,
    decode_eps_identity,
    decode_gprs_timer,
    decode_mobile_identity,
    decode_pdn_address,
    decode_tai_list,
    encode_apn,
    encode_apn_ambr,
    encode_eps_identity,
    encode_gprs_timer,
    encode_mobile_identity,
    encode_pdn_address,
    encode_tai_list,
)

__all__ = [
    "ATTACH_TYPE_COMBINED",
    "ATTACH_TYPE_EMERGENCY",
    "ATTACH_TYPE_EPS",
    "DETACH_TYPE_EPS",
    "EMM_CAUSE_EPS_SERVICES_NOT_ALLOWED",
    "EMM_CAUSE_ESM_FAILURE",
    "EMM_CAUSE_ILLEGAL_UE",
    "EMM_CAUSE_IMSI_UNKNOWN_IN_HSS",
    "EMM_CAUSE_MAC_FAILURE",
    "EMM_CAUSE_NETWORK_FAILURE",
    "EMM_CAUSE_NON_EPS_AUTH_UNACCEPTABLE",
    "EMM_CAUSE_PLMN_NOT_ALLOWED",
    "EMM_CAUSE_SECURITY_MODE_REJECTED",
    "EMM_CAUSE_SYNCH_FAILURE",
    "EMM_CAUSE_UE_IDENTITY_CANNOT_BE_DERIVED",
    "EMM_CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH",
    "ESM_CAUSE_MISSING_OR_UNKNOWN_APN",
    "ESM_CAUSE_NETWORK_FAILURE",
    "ESM_CAUSE_UNKNOWN_PDN_TYPE",
    "KSI_NO_KEY",
    "PDN_TYPE_IPV4",
    "REQUEST_TYPE_INITIAL",
    "ActivateDefaultBearerAccept",
    "ActivateDefaultBearerRequest",
    "AttachAccept",
    "AttachComplete",
    "AttachReject",
    "AttachRequest",
    "AuthenticationFailure",
    "AuthenticationReject",
    "AuthenticationRequest",
    "AuthenticationResponse",
    "DetachAccept",
    "DetachRequest",
    "EmmMessage",
    "EmmStatus",
    "EsmMessage",
    "EsmStatus",
    "IdentityRequest",
    "IdentityResponse",
    "NasMessage",
    "PdnConnectivityReject",
    "PdnConnectivityRequest",
    "SecurityModeCommand",
    "SecurityModeComplete",
    "SecurityModeReject",
    "decode",
    "decode_esm",
]

# Protocol discriminators, TS 24.007 §11.2.3.1.1.
_PD_EMM = 0x07
_PD_ESM = 0x02

# NAS key set identifier value 7: "no key is available" (TS 24.301 §9.9.3.21).
KSI_NO_KEY = 7

# EPS attach type, §9.9.3.11.
ATTACH_TYPE_EPS = 1
ATTACH_TYPE_COMBINED = 2
ATTACH_TYPE_EMERGENCY = 6
# Detach type (UE originating), §9.9.3.7: EPS detach.
DETACH_TYPE_EPS = 1
# PDN type §9.9.4.10 and request type §9.9.4.14.
PDN_TYPE_IPV4 = 1
REQUEST_TYPE_INITIAL = 1

# EMM causes, §9.9.3.9 (those an MME/UE of attach and detach uses).
EMM_CAUSE_IMSI_UNKNOWN_IN_HSS = 2
EMM_CAUSE_ILLEGAL_UE = 3
EMM_CAUSE_EPS_SERVICES_NOT_ALLOWED = 7
EMM_CAUSE_UE_IDENTITY_CANNOT_BE_DERIVED = 9
EMM_CAUSE_PLMN_NOT_ALLOWED = 11
EMM_CAUSE_NETWORK_FAILURE = 17
EMM_CAUSE_ESM_FAILURE = 19
EMM_CAUSE_MAC_FAILURE = 20
EMM_CAUSE_SYNCH_FAILURE = 21
EMM_CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH = 23
EMM_CAUSE_SECURITY_MODE_REJECTED = 24
EMM_CAUSE_NON_EPS_AUTH_UNACCEPTABLE = 26
# ESM causes, §9.9.4.4.
ESM_CAUSE_MISSING_OR_UNKNOWN_APN = 27
ESM_CAUSE_UNKNOWN_PDN_TYPE = 28
ESM_CAUSE_NETWORK_FAILURE = 38

_RAND_LEN = 16
_AUTN_LEN = 16
_AUTS_LEN = 14


def _bad(what: str) -> NasError:
    return NasError(f"malformed {what}", CAUSE_INVALID_MANDATORY_INFO)


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, got {value!r}")


def _check_bytes(name: str, value: bytes, lo: int, hi: int) -> None:
    if not isinstance(value, bytes) or not lo <= len(value) <= hi:
        raise ValueError(f"{name} must be {lo}..{hi} octets")


def _lv(value: bytes) -> bytes:
    return bytes((len(value),)) + value


def _lve(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def _tlv(iei: int, value: bytes) -> bytes:
    return bytes((iei, len(value))) + value


# --- a bounded reader over a received message ---------------------------------------------------

# Formats of optional IEs, TS 24.007 §11.2.1.1: 'T' = type 1/2 (one octet), 'TV<n>' is given as
# the total length n, 'TLV', 'TLVE'.
_TLV = -1
_TLVE = -2


class _Reader:
    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, pos: int, what: str) -> None:
        self.data = data
        self.pos = pos
        self.what = what

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise _bad(self.what)
        v = self.data[self.pos]
        self.pos += 1
        return v

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise _bad(self.what)
        v = self.data[self.pos : end]
        self.pos = end
        return v

    def lv(self, lo: int = 0, hi: int = 255) -> bytes:
        v = self.take(self.u8())
        if not lo <= len(v) <= hi:
            raise _bad(self.what)
        return v

    def lve(self, lo: int = 0) -> bytes:
        n = int.from_bytes(self.take(2), "big")
        v = self.take(n)
        if len(v) < lo:
            raise _bad(self.what)
        return v

    def optionals(self, table: dict[int, int]) -> dict[int, bytes]:
        """Read the optional part: {IEI: value}. Type 1 IEs are keyed by their high nibble
        (IEI << 4 as listed in the spec, e.g. 0xC0) with the value nibble as one octet."""
        found: dict[int, bytes] = {}
        data = self.data
        while self.pos < len(data):
            iei = data[self.pos]
            if iei & 0x80:  # type 1 (TV, half-octet IEI) or type 2 (T): one octet
                self.pos += 1
                found.setdefault(iei & 0xF0, bytes((iei & 0x0F,)))
                continue
            fmt = table.get(iei)
            self.pos += 1
            if fmt is None:
                if (iei & 0xF8) == 0x78:  # TS 24.007 §11.2.4: 0x78-0x7F are TLV-E in EPS
                    fmt = _TLVE
                elif (iei & 0xF0) == 0:  # comprehension required (TS 24.007 §11.2.4)
                    raise NasError(
                        f"unknown comprehension-required IE {iei:#04x}",
                        CAUSE_INVALID_MANDATORY_INFO,
                    )
                else:
                    fmt = _TLV
            if fmt == _TLV:
                value = self.take(self.u8())
            elif fmt == _TLVE:
                value = self.take(int.from_bytes(self.take(2), "big"))
            else:
                value = self.take(fmt - 1)
            found.setdefault(iei, value)
        return found


# --- ESM messages (TS 24.301 §8.3) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PdnConnectivityRequest:
    """PDN CONNECTIVITY REQUEST, §8.3.20 (UE -> network, in the Attach Request)."""

    MESSAGE_TYPE: ClassVar[int] = 0xD0
    pti: int
    apn: str | None = None
    pdn_type: int = PDN_TYPE_IPV4
    request_type: int = REQUEST_TYPE_INITIAL
    ebi: int = 0

    def encode(self) -> bytes:
        _check_range("pti", self.pti, 0, 255)
        _check_range("pdn_type", self.pdn_type, 0, 7)
        _check_range("request_type", self.request_type, 0, 7)
        out = bytes(
            ((self.ebi << 4) | _PD_ESM, self.pti, 0xD0, (self.pdn_type << 4) | self.request_type)
        )
        if self.apn is not None:
            out += _tlv(0x28, encode_apn(self.apn))
        return out


@dataclass(frozen=True, slots=True)
class PdnConnectivityReject:
    """PDN CONNECTIVITY REJECT, §8.3.19 (network -> UE, in the Attach Reject)."""

    MESSAGE_TYPE: ClassVar[int] = 0xD1
    pti: int
    cause: int
    ebi: int = 0

    def encode(self) -> bytes:
        _check_range("cause", self.cause, 0, 255)
        return bytes(((self.ebi << 4) | _PD_ESM, self.pti, 0xD1, self.cause))


@dataclass(frozen=True, slots=True)
class ActivateDefaultBearerRequest:
    """ACTIVATE DEFAULT EPS BEARER CONTEXT REQUEST, §8.3.6 (in the Attach Accept).

    ``qci`` is the EPS QoS (§9.9.4.3, non-GBR: QCI only); ``apn_ambr_*_kbps`` the optional
    APN-AMBR (§9.9.4.2, rounded down to its coding step when encoded).
    """

    MESSAGE_TYPE: ClassVar[int] = 0xC1
    ebi: int
    pti: int
    qci: int
    apn: str
    pdn_address: str
    apn_ambr_ul_kbps: int | None = None
    apn_ambr_dl_kbps: int | None = None

    def encode(self) -> bytes:
        _check_range("ebi", self.ebi, 5, 15)
        _check_range("qci", self.qci, 1, 255)
        out = bytearray(((self.ebi << 4) | _PD_ESM, self.pti, 0xC1))
        out += _lv(bytes((self.qci,)))
        out += _lv(encode_apn(self.apn))
        out += _lv(encode_pdn_address(self.pdn_address))
        if self.apn_ambr_ul_kbps is not None or self.apn_ambr_dl_kbps is not None:
            out += _tlv(
                0x5E, encode_apn_ambr(self.apn_ambr_ul_kbps or 0, self.apn_ambr_dl_kbps or 0)
            )
        return bytes(out)


@dataclass(frozen=True, slots=True)
class ActivateDefaultBearerAccept:
    """ACTIVATE DEFAULT EPS BEARER CONTEXT ACCEPT, §8.3.4 (in the Attach Complete)."""

    MESSAGE_TYPE: ClassVar[int] = 0xC2
    ebi: int
    pti: int = 0

    def encode(self) -> bytes:
        _check_range("ebi", self.ebi, 5, 15)
        return bytes(((self.ebi << 4) | _PD_ESM, self.pti, 0xC2))


@dataclass(frozen=True, slots=True)
class EsmStatus:
    """ESM STATUS, §8.3.15."""

    MESSAGE_TYPE: ClassVar[int] = 0xE8
    ebi: int
    pti: int
    cause: int

    def encode(self) -> bytes:
        return bytes(((self.ebi << 4) | _PD_ESM, self.pti, 0xE8, self.cause))


EsmMessage = (
    PdnConnectivityRequest
    | PdnConnectivityReject
    | ActivateDefaultBearerRequest
    | ActivateDefaultBearerAccept
    | EsmStatus
)


def decode_esm(data: bytes) -> EsmMessage:
    """Decode a plain ESM message (TS 24.301 §8.3); :class:`NasError` when malformed."""
    if len(data) < 3 or (data[0] & 0x0F) != _PD_ESM:
        raise _bad("ESM message")
    ebi, pti, mtype = data[0] >> 4, data[1], data[2]
    r = _Reader(data, 3, "ESM message")
    if mtype == 0xD0:
        both = r.u8()
        opts = r.optionals({0x28: _TLV, 0x27: _TLV})
        apn = decode_apn(opts[0x28]) if 0x28 in opts else None
        return PdnConnectivityRequest(pti, apn, both >> 4, both & 0x0F, ebi)
    if mtype == 0xD1:
        return PdnConnectivityReject(pti, r.u8(), ebi)
    if mtype == 0xC1:
        qos = r.lv(1)
        apn = decode_apn(r.lv(1))
        address = decode_pdn_address(r.lv(1))
        opts = r.optionals({0x5D: _TLV, 0x30: _TLV, 0x32: 2, 0x34: _TLV, 0x5E: _TLV, 0x58: 2})
        ul = dl = None
        if 0x5E in opts:
            ul, dl = decode_apn_ambr(opts[0x5E])
        if not 5 <= ebi <= 15:  # EBI values 1-4 are reserved (TS 24.007 §11.2.3.1.5)
            raise _bad("EPS bearer identity")
        return ActivateDefaultBearerRequest(ebi, pti, qos[0], apn, address, ul, dl)
    if mtype == 0xC2:
        r.optionals({0x27: _TLV})
        if not 5 <= ebi <= 15:  # EBI values 1-4 are reserved (TS 24.007 §11.2.3.1.5)
            raise _bad("EPS bearer identity")
        return ActivateDefaultBearerAccept(ebi, pti)
    if mtype == 0xE8:
        return EsmStatus(ebi, pti, r.u8())
    raise NasError(f"unsupported ESM message type {mtype:#04x}", CAUSE_MSG_TYPE_NON_EXISTENT)


# --- EMM messages (TS 24.301 §8.2) ------------------------------------------------------------


def _emm(mtype: int) -> bytearray:
    return bytearray((_PD_EMM, mtype))


@dataclass(frozen=True, slots=True)
class AttachRequest:
    """ATTACH REQUEST, §8.2.4. ``ue_network_capability`` is the raw value of §9.9.3.34
    (octet 1: EEA0..EEA7, octet 2: EIA0..EIA7, ...); ``esm`` the PDN Connectivity Request."""

    MESSAGE_TYPE: ClassVar[int] = 0x41
    identity: Imsi | Guti
    esm: PdnConnectivityRequest
    ue_network_capability: bytes = b"\xe0\xe0"  # EEA0-2, EIA0-2
    attach_type: int = ATTACH_TYPE_EPS
    ksi: int = KSI_NO_KEY
    last_visited_tai: Tai | None = None

    def encode(self) -> bytes:
        _check_range("attach_type", self.attach_type, 0, 7)
        _check_range("ksi", self.ksi, 0, 15)
        _check_bytes("ue_network_capability", self.ue_network_capability, 2, 13)
        out = _emm(0x41)
        out.append((self.ksi << 4) | self.attach_type)
        out += _lv(encode_eps_identity(self.identity))
        out += _lv(self.ue_network_capability)
        out += _lve(self.esm.encode())
        if self.last_visited_tai is not None:
            t = self.last_visited_tai
            out += bytes((0x52,)) + encode_tai_list([t])[1:]
        return bytes(out)


@dataclass(frozen=True, slots=True)
class AttachAccept:
    """ATTACH ACCEPT, §8.2.1: result, T3412 (seconds), TAI list, the Activate Default EPS
    Bearer Context Request, and the GUTI the UE is to use."""

    MESSAGE_TYPE: ClassVar[int] = 0x42
    tai_list: tuple[Tai, ...]
    esm: ActivateDefaultBearerRequest
    guti: Guti | None = None
    t3412_seconds: int | None = 3240
    attach_result: int = ATTACH_TYPE_EPS

    def encode(self) -> bytes:
        out = _emm(0x42)
        out.append(self.attach_result & 0x07)
        out.append(encode_gprs_timer(self.t3412_seconds))
        out += _lv(encode_tai_list(self.tai_list))
        out += _lve(self.esm.encode())
        if self.guti is not None:
            out += _tlv(0x50, encode_eps_identity(self.guti))
        return bytes(out)


@dataclass(frozen=True, slots=True)
class AttachComplete:
    """ATTACH COMPLETE, §8.2.2, carrying the Activate Default EPS Bearer Context Accept."""

    MESSAGE_TYPE: ClassVar[int] = 0x43
    esm: ActivateDefaultBearerAccept

    def encode(self) -> bytes:
        return bytes(_emm(0x43) + _lve(self.esm.encode()))


@dataclass(frozen=True, slots=True)
class AttachReject:
    """ATTACH REJECT, §8.2.3, with the EMM cause and optionally an ESM message (#19)."""

    MESSAGE_TYPE: ClassVar[int] = 0x44
    cause: int
    esm: EsmMessage | None = None

    def encode(self) -> bytes:
        _check_range("cause", self.cause, 0, 255)
        out = _emm(0x44)
        out.append(self.cause)
        if self.esm is not None:
            esm = self.esm.encode()
            out += bytes((0x78,)) + _lve(esm)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class AuthenticationRequest:
    """AUTHENTICATION REQUEST, §8.2.7: eKSI, RAND (16 octets) and AUTN (16 octets)."""

    MESSAGE_TYPE: ClassVar[int] = 0x52
    ksi: int
    rand: bytes
    autn: bytes

    def encode(self) -> bytes:
        _check_range("ksi", self.ksi, 0, 6)
        _check_bytes("rand", self.rand, _RAND_LEN, _RAND_LEN)
        _check_bytes("autn", self.autn, _AUTN_LEN, _AUTN_LEN)
        return bytes(_emm(0x52) + bytes((self.ksi,)) + self.rand + _lv(self.autn))


@dataclass(frozen=True, slots=True)
class AuthenticationResponse:
    """AUTHENTICATION RESPONSE, §8.2.8: RES (4 to 16 octets)."""

    MESSAGE_TYPE: ClassVar[int] = 0x53
    res: bytes

    def encode(self) -> bytes:
        _check_bytes("res", self.res, 4, 16)
        return bytes(_emm(0x53) + _lv(self.res))


@dataclass(frozen=True, slots=True)
class AuthenticationFailure:
    """AUTHENTICATION FAILURE, §8.2.5: cause #20 MAC failure, #21 synch failure (+ AUTS),
    #26 non-EPS authentication unacceptable."""

    MESSAGE_TYPE: ClassVar[int] = 0x5C
    cause: int
    auts: bytes | None = None

    def encode(self) -> bytes:
        _check_range("cause", self.cause, 0, 255)
        out = _emm(0x5C) + bytes((self.cause,))
        if self.auts is not None:
            _check_bytes("auts", self.auts, _AUTS_LEN, _AUTS_LEN)
            out += _tlv(0x30, self.auts)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class AuthenticationReject:
    """AUTHENTICATION REJECT, §8.2.6."""

    MESSAGE_TYPE: ClassVar[int] = 0x54

    def encode(self) -> bytes:
        return bytes(_emm(0x54))


@dataclass(frozen=True, slots=True)
class SecurityModeCommand:
    """SECURITY MODE COMMAND, §8.2.20: selected algorithms, eKSI and the replayed UE
    security capabilities (§9.9.3.36, 2 to 5 octets: the UE network capability's first
    octets as received)."""

    MESSAGE_TYPE: ClassVar[int] = 0x5D
    enc_alg: int
    int_alg: int
    ksi: int
    replayed_ue_security_capabilities: bytes
    imeisv_request: bool = False

    def encode(self) -> bytes:
        _check_range("enc_alg", self.enc_alg, 0, 7)
        _check_range("int_alg", self.int_alg, 0, 7)
        _check_range("ksi", self.ksi, 0, 6)
        caps = self.replayed_ue_security_capabilities
        _check_bytes("replayed_ue_security_capabilities", caps, 2, 5)
        out = _emm(0x5D)
        out.append((self.enc_alg << 4) | self.int_alg)
        out.append(self.ksi)
        out += _lv(caps)
        if self.imeisv_request:
            out.append(0xC1)  # IMEISV request IEI 0xC-, value 1 "requested" (§9.9.3.18)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SecurityModeComplete:
    """SECURITY MODE COMPLETE, §8.2.21 (with the IMEISV if it was requested)."""

    MESSAGE_TYPE: ClassVar[int] = 0x5E
    imeisv: Imeisv | None = None

    def encode(self) -> bytes:
        out = _emm(0x5E)
        if self.imeisv is not None:
            out += _tlv(0x23, encode_mobile_identity(self.imeisv))
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SecurityModeReject:
    """SECURITY MODE REJECT, §8.2.22 (#23 UE security capabilities mismatch, #24 ...)."""

    MESSAGE_TYPE: ClassVar[int] = 0x5F
    cause: int

    def encode(self) -> bytes:
        _check_range("cause", self.cause, 0, 255)
        return bytes(_emm(0x5F) + bytes((self.cause,)))


@dataclass(frozen=True, slots=True)
class DetachRequest:
    """DETACH REQUEST, UE originating, §8.2.11.1: switch-off flag, detach type, identity."""

    MESSAGE_TYPE: ClassVar[int] = 0x45
    identity: Imsi | Guti
    switch_off: bool = False
    detach_type: int = DETACH_TYPE_EPS
    ksi: int = KSI_NO_KEY

    def encode(self) -> bytes:
        _check_range("detach_type", self.detach_type, 0, 7)
        _check_range("ksi", self.ksi, 0, 15)
        out = _emm(0x45)
        out.append((self.ksi << 4) | (int(self.switch_off) << 3) | self.detach_type)
        out += _lv(encode_eps_identity(self.identity))
        return bytes(out)


@dataclass(frozen=True, slots=True)
class DetachAccept:
    """DETACH ACCEPT, §8.2.10."""

    MESSAGE_TYPE: ClassVar[int] = 0x46

    def encode(self) -> bytes:
        return bytes(_emm(0x46))


@dataclass(frozen=True, slots=True)
class IdentityRequest:
    """IDENTITY REQUEST, §8.2.18 (identity type 2, §9.9.3.29: 1 IMSI, 3 IMEISV)."""

    MESSAGE_TYPE: ClassVar[int] = 0x55
    identity_type: int = 1

    def encode(self) -> bytes:
        _check_range("identity_type", self.identity_type, 0, 7)
        return bytes(_emm(0x55) + bytes((self.identity_type,)))


@dataclass(frozen=True, slots=True)
class IdentityResponse:
    """IDENTITY RESPONSE, §8.2.19 (mobile identity, TS 24.008 §10.5.1.4)."""

    MESSAGE_TYPE: ClassVar[int] = 0x56
    identity: Imsi | Imeisv

    def encode(self) -> bytes:
        return bytes(_emm(0x56) + _lv(encode_mobile_identity(self.identity)))


@dataclass(frozen=True, slots=True)
class EmmStatus:
    """EMM STATUS, §8.2.14: reports a protocol error with its EMM cause (Annex A)."""

    MESSAGE_TYPE: ClassVar[int] = 0x60
    cause: int

    def encode(self) -> bytes:
        _check_range("cause", self.cause, 0, 255)
        return bytes(_emm(0x60) + bytes((self.cause,)))


EmmMessage = (
    AttachRequest
    | AttachAccept
    | AttachComplete
    | AttachReject
    | AuthenticationRequest
    | AuthenticationResponse
    | AuthenticationFailure
    | AuthenticationReject
    | SecurityModeCommand
    | SecurityModeComplete
    | SecurityModeReject
    | DetachRequest
    | DetachAccept
    | IdentityRequest
    | IdentityResponse
    | EmmStatus
)
NasMessage = EmmMessage | EsmMessage


def _esm_container(value: bytes, expected: type) -> EsmMessage:
    inner = decode_esm(value)
    if not isinstance(inner, expected):
        raise NasError(
            f"ESM container holds {type(inner).__name__}, expected {expected.__name__}",
            CAUSE_INVALID_MANDATORY_INFO,
        )
    return inner


def _identity_eps(value: bytes) -> Imsi | Guti:
    ident = decode_eps_identity(value)
    if isinstance(ident, Imeisv):
        raise NasError("IMEISV where an IMSI or GUTI is expected", CAUSE_INVALID_MANDATORY_INFO)
    return ident


def _decode_emm(data: bytes) -> EmmMessage:
    mtype = data[1]
    r = _Reader(data, 2, "EMM message")
    if mtype == 0x41:
        both = r.u8()
        identity = _identity_eps(r.lv(1, 11))
        cap = r.lv(2, 13)
        esm = _esm_container(r.lve(3), PdnConnectivityRequest)
        opts = r.optionals(
            {0x19: 4, 0x52: 6, 0x5C: 3, 0x13: 6, 0x17: 2, 0x50: _TLV, 0x31: _TLV, 0x11: _TLV}
        )
        tai = None
        if 0x52 in opts:
            tai = decode_tai_list(b"\x00" + opts[0x52])[0]
        assert isinstance(esm, PdnConnectivityRequest)
        return AttachRequest(identity, esm, cap, both & 0x07, both >> 4, tai)
    if mtype == 0x42:
        result = r.u8() & 0x07
        t3412 = decode_gprs_timer(r.u8())
        tais = decode_tai_list(r.lv(1))
        accept_esm = _esm_container(r.lve(3), ActivateDefaultBearerRequest)
        opts = r.optionals({0x13: 6, 0x53: 2, 0x17: 2, 0x59: 2, 0x50: _TLV, 0x23: _TLV})
        guti = None
        if 0x50 in opts:
            g = decode_eps_identity(opts[0x50])
            if not isinstance(g, Guti):
                raise NasError("GUTI IE holds another identity", CAUSE_INVALID_MANDATORY_INFO)
            guti = g
        assert isinstance(accept_esm, ActivateDefaultBearerRequest)
        return AttachAccept(tais, accept_esm, guti, t3412, result)
    if mtype == 0x43:
        complete_esm = _esm_container(r.lve(3), ActivateDefaultBearerAccept)
        assert isinstance(complete_esm, ActivateDefaultBearerAccept)
        return AttachComplete(complete_esm)
    if mtype == 0x44:
        cause = r.u8()
        opts = r.optionals({0x78: _TLVE, 0x5F: _TLV, 0x16: _TLV})
        reject_esm = decode_esm(opts[0x78]) if 0x78 in opts else None
        return AttachReject(cause, reject_esm)
    if mtype == 0x52:
        ksi = r.u8() & 0x07
        rand = r.take(_RAND_LEN)
        autn = r.lv(_AUTN_LEN, _AUTN_LEN)
        return AuthenticationRequest(ksi, rand, autn)
    if mtype == 0x53:
        return AuthenticationResponse(r.lv(4, 16))
    if mtype == 0x5C:
        cause = r.u8()
        opts = r.optionals({0x30: _TLV})
        auts = opts.get(0x30)
        if auts is not None and len(auts) != _AUTS_LEN:
            raise NasError("AUTS must be 14 octets", CAUSE_INVALID_MANDATORY_INFO)
        if cause == EMM_CAUSE_SYNCH_FAILURE and auts is None:
            # TS 24.301 §8.2.5.2: AUTS is present when the cause is #21.
            raise NasError("synch failure without AUTS", 100)
        return AuthenticationFailure(cause, auts)
    if mtype == 0x54:
        return AuthenticationReject()
    if mtype == 0x5D:
        algs = r.u8()
        ksi = r.u8() & 0x07
        caps = r.lv(2, 5)
        opts = r.optionals({0x55: 5, 0x56: 5, 0x4F: _TLV, 0x6F: _TLV})
        imeisv_req = bool(opts.get(0xC0, b"\0")[0] & 0x07)
        return SecurityModeCommand((algs >> 4) & 0x07, algs & 0x07, ksi, caps, imeisv_req)
    if mtype == 0x5E:
        opts = r.optionals({0x23: _TLV, 0x79: _TLVE})
        imeisv = None
        if 0x23 in opts:
            ident = decode_mobile_identity(opts[0x23])
            if not isinstance(ident, Imeisv):
                raise NasError("IMEISV IE holds another identity", CAUSE_INVALID_MANDATORY_INFO)
            imeisv = ident
        return SecurityModeComplete(imeisv)
    if mtype == 0x5F:
        return SecurityModeReject(r.u8())
    if mtype == 0x45:
        both = r.u8()
        identity = _identity_eps(r.lv(1, 11))
        return DetachRequest(identity, bool(both & 0x08), both & 0x07, both >> 4)
    if mtype == 0x46:
        return DetachAccept()
    if mtype == 0x55:
        return IdentityRequest(r.u8() & 0x07)
    if mtype == 0x56:
        ident = decode_mobile_identity(r.lv(1, 9))
        if isinstance(ident, Guti):  # pragma: no cover - decode_mobile_identity never gives one
            raise _bad("mobile identity")
        return IdentityResponse(ident)
    if mtype == 0x60:
        return EmmStatus(r.u8())
    raise NasError(f"unsupported EMM message type {mtype:#04x}", CAUSE_MSG_TYPE_NON_EXISTENT)


def decode(data: bytes) -> NasMessage:
    """Decode a plain NAS message (EMM or ESM); :class:`NasError` on anything malformed.

    A security-protected message (EMM security header type != 0) must go through
    ``NasSecurityContext.unprotect`` first: passing one here raises :class:`NasError`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NasError("NAS message must be bytes", CAUSE_INVALID_MANDATORY_INFO)
    data = bytes(data)
    if len(data) < 2:
        raise _bad("NAS message (shorter than 2 octets)")
    pd = data[0] & 0x0F
    if pd == _PD_EMM:
        if data[0] >> 4:
            raise NasError("security protected NAS message: unprotect it first")
        return _decode_emm(data)
    if pd == _PD_ESM:
        return decode_esm(data)
    raise NasError(f"unsupported protocol discriminator {pd}", CAUSE_MSG_TYPE_NON_EXISTENT)

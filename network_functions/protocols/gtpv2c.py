"""Sans-IO GTPv2-C (TS 29.274): the header, the IEs and the messages the EPC attach uses.

Scope: Echo Request/Response (§7.1), Create Session (§7.2.1/§7.2.2), Modify Bearer
(§7.2.7/§7.2.8) and Delete Session (§7.2.9.1/§7.2.10.1), with the IEs they carry (§8).
No sockets here: :func:`decode` turns one UDP payload into a :class:`Message`,
:meth:`Message.encode` turns it back into bytes, :func:`validate` checks a decoded message
against its table in §7 and the builders (``create_session_request`` …) make the messages
an MME, SGW-C or PGW-C sends. The transport (T3/N3 retransmission, duplicate detection)
is ``network_functions.runtime.gtp``.

Model. A message is a header (type, TEID or none, 24-bit sequence) and a list of
:class:`Ie`. An IE keeps its type, instance, decoded ``value`` (a typed object below, an
``int``, a ``str``, ``bytes`` or, for a grouped IE, a list of IEs) and the ``raw`` octets it
was decoded from, so an IE a node forwards (PCO, ULI, IEs it does not know) goes out
byte-identical. An IE whose content violates §8 decodes to the :data:`INVALID` marker:
:func:`validate` rejects the message when that IE is mandatory and treats it as absent
otherwise (§7.7.8); IEs of unknown type are kept as raw bytes and otherwise ignored
(§7.7.9); a repeated IE is read from its first occurrence (§7.7.10).

Errors. :class:`GtpError` is the only exception the decoder and :func:`validate` raise on
any input; it carries the §8.4 cause to answer with, the offending IE, and whether the
message must be silently discarded instead (§7.7.3 too short for a header, §7.7.4
unknown message) or answered with Version Not Supported (§7.7.2).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "CAUSE_NAMES",
    "GTPC_PORT",
    "INVALID",
    "MESSAGE_NAMES",
    "Ambr",
    "BearerQos",
    "Cause",
    "Ecgi",
    "Fteid",
    "GtpError",
    "Header",
    "Ie",
    "Message",
    "Paa",
    "Plmn",
    "Tai",
    "Uli",
    "bearer_context",
    "create_session_request",
    "create_session_response",
    "decode",
    "decode_header",
    "delete_session_request",
    "delete_session_response",
    "echo_request",
    "echo_response",
    "error_response",
    "find",
    "is_accepted",
    "modify_bearer_request",
    "modify_bearer_response",
    "validate",
    "version_not_supported",
]

GTPC_PORT: Final = 2123  # TS 29.274 §4.2: the registered GTP-C port
VERSION: Final = 2

# -- message types (§6.1, Table 6.1-1) ------------------------------------------------------
ECHO_REQUEST: Final = 1
ECHO_RESPONSE: Final = 2
VERSION_NOT_SUPPORTED: Final = 3
CREATE_SESSION_REQUEST: Final = 32
CREATE_SESSION_RESPONSE: Final = 33
MODIFY_BEARER_REQUEST: Final = 34
MODIFY_BEARER_RESPONSE: Final = 35
DELETE_SESSION_REQUEST: Final = 36
DELETE_SESSION_RESPONSE: Final = 37

MESSAGE_NAMES: Final = {
    ECHO_REQUEST: "Echo Request",
    ECHO_RESPONSE: "Echo Response",
    VERSION_NOT_SUPPORTED: "Version Not Supported Indication",
    CREATE_SESSION_REQUEST: "Create Session Request",
    CREATE_SESSION_RESPONSE: "Create Session Response",
    MODIFY_BEARER_REQUEST: "Modify Bearer Request",
    MODIFY_BEARER_RESPONSE: "Modify Bearer Response",
    DELETE_SESSION_REQUEST: "Delete Session Request",
    DELETE_SESSION_RESPONSE: "Delete Session Response",
}
# The response to each request this module knows (§6.1: a response is the request's type + 1).
RESPONSE_TO: Final = {
    ECHO_REQUEST: ECHO_RESPONSE,
    CREATE_SESSION_REQUEST: CREATE_SESSION_RESPONSE,
    MODIFY_BEARER_REQUEST: MODIFY_BEARER_RESPONSE,
    DELETE_SESSION_REQUEST: DELETE_SESSION_RESPONSE,
}
REQUESTS: Final = frozenset(RESPONSE_TO)
RESPONSES: Final = frozenset(RESPONSE_TO.values())
# §5.5.1: Echo and Version Not Supported carry no TEID field (T=0); every other message has one.
NO_TEID: Final = frozenset({ECHO_REQUEST, ECHO_RESPONSE, VERSION_NOT_SUPPORTED})

# -- IE types (§8.1, Table 8.1-1) -----------------------------------------------------------
IE_IMSI: Final = 1
IE_CAUSE: Final = 2
IE_RECOVERY: Final = 3
IE_APN: Final = 71
IE_AMBR: Final = 72
IE_EBI: Final = 73
IE_IP_ADDRESS: Final = 74
IE_MEI: Final = 75
IE_MSISDN: Final = 76
IE_INDICATION: Final = 77
IE_PCO: Final = 78
IE_PAA: Final = 79
IE_BEARER_QOS: Final = 80
IE_RAT_TYPE: Final = 82
IE_SERVING_NETWORK: Final = 83
IE_ULI: Final = 86
IE_FTEID: Final = 87
IE_BEARER_CONTEXT: Final = 93
IE_CHARGING_ID: Final = 94
IE_PDN_TYPE: Final = 99
IE_UE_TIME_ZONE: Final = 114
IE_APN_RESTRICTION: Final = 127
IE_SELECTION_MODE: Final = 128
IE_PRIVATE_EXTENSION: Final = 255

IE_NAMES: Final = {
    IE_IMSI: "IMSI",
    IE_CAUSE: "Cause",
    IE_RECOVERY: "Recovery",
    IE_APN: "APN",
    IE_AMBR: "AMBR",
    IE_EBI: "EBI",
    IE_IP_ADDRESS: "IP Address",
    IE_MEI: "MEI",
    IE_MSISDN: "MSISDN",
    IE_INDICATION: "Indication",
    IE_PCO: "PCO",
    IE_PAA: "PAA",
    IE_BEARER_QOS: "Bearer QoS",
    IE_RAT_TYPE: "RAT Type",
    IE_SERVING_NETWORK: "Serving Network",
    IE_ULI: "ULI",
    IE_FTEID: "F-TEID",
    IE_BEARER_CONTEXT: "Bearer Context",
    IE_CHARGING_ID: "Charging ID",
    IE_PDN_TYPE: "PDN Type",
    IE_UE_TIME_ZONE: "UE Time Zone",
    IE_APN_RESTRICTION: "APN Restriction",
    IE_SELECTION_MODE: "Selection Mode",
    IE_PRIVATE_EXTENSION: "Private Extension",
}

# -- cause values (§8.4, Table 8.4-1) -------------------------------------------------------
CAUSE_LOCAL_DETACH: Final = 2
CAUSE_COMPLETE_DETACH: Final = 3
CAUSE_REQUEST_ACCEPTED: Final = 16
CAUSE_REQUEST_ACCEPTED_PARTIALLY: Final = 17
CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE: Final = 18
CAUSE_NEW_PDN_TYPE_SINGLE_ADDRESS: Final = 19
CAUSE_CONTEXT_NOT_FOUND: Final = 64
CAUSE_INVALID_MESSAGE_FORMAT: Final = 65
CAUSE_VERSION_NOT_SUPPORTED_BY_NEXT_PEER: Final = 66
CAUSE_INVALID_LENGTH: Final = 67
CAUSE_SERVICE_NOT_SUPPORTED: Final = 68
CAUSE_MANDATORY_IE_INCORRECT: Final = 69
CAUSE_MANDATORY_IE_MISSING: Final = 70
CAUSE_SYSTEM_FAILURE: Final = 72
CAUSE_NO_RESOURCES_AVAILABLE: Final = 73
CAUSE_MISSING_OR_UNKNOWN_APN: Final = 78
CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED: Final = 83
CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED: Final = 84
CAUSE_USER_AUTHENTICATION_FAILED: Final = 92
CAUSE_APN_ACCESS_DENIED: Final = 93
CAUSE_REQUEST_REJECTED: Final = 94
CAUSE_REMOTE_PEER_NOT_RESPONDING: Final = 100
CAUSE_CONDITIONAL_IE_MISSING: Final = 103
CAUSE_INVALID_REPLY_FROM_REMOTE_PEER: Final = 107

CAUSE_NAMES: Final = {
    CAUSE_LOCAL_DETACH: "Local Detach",
    CAUSE_COMPLETE_DETACH: "Complete Detach",
    CAUSE_REQUEST_ACCEPTED: "Request accepted",
    CAUSE_REQUEST_ACCEPTED_PARTIALLY: "Request accepted partially",
    CAUSE_NEW_PDN_TYPE_NETWORK_PREFERENCE: "New PDN type due to network preference",
    CAUSE_NEW_PDN_TYPE_SINGLE_ADDRESS: "New PDN type due to single address bearer only",
    CAUSE_CONTEXT_NOT_FOUND: "Context Not Found",
    CAUSE_INVALID_MESSAGE_FORMAT: "Invalid Message Format",
    CAUSE_VERSION_NOT_SUPPORTED_BY_NEXT_PEER: "Version not supported by next peer",
    CAUSE_INVALID_LENGTH: "Invalid length",
    CAUSE_SERVICE_NOT_SUPPORTED: "Service not supported",
    CAUSE_MANDATORY_IE_INCORRECT: "Mandatory IE incorrect",
    CAUSE_MANDATORY_IE_MISSING: "Mandatory IE missing",
    CAUSE_SYSTEM_FAILURE: "System failure",
    CAUSE_NO_RESOURCES_AVAILABLE: "No resources available",
    CAUSE_MISSING_OR_UNKNOWN_APN: "Missing or unknown APN",
    CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED: "Preferred PDN type not supported",
    CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED: "All dynamic addresses are occupied",
    CAUSE_USER_AUTHENTICATION_FAILED: "User authentication failed",
    CAUSE_APN_ACCESS_DENIED: "APN access denied - no subscription",
    CAUSE_REQUEST_REJECTED: "Request rejected (reason not specified)",
    CAUSE_REMOTE_PEER_NOT_RESPONDING: "Remote peer not responding",
    CAUSE_CONDITIONAL_IE_MISSING: "Conditional IE missing",
    CAUSE_INVALID_REPLY_FROM_REMOTE_PEER: "Invalid reply from remote peer",
}


def is_accepted(cause: int) -> bool:
    """§8.4: values 16-63 are acceptances, 64-239 rejections of the request."""
    return 16 <= cause <= 63


# -- other value sets ----------------------------------------------------------------------
# F-TEID interface types (§8.22)
IF_S1U_ENB: Final = 0
IF_S1U_SGW: Final = 1
IF_S5S8_SGW_U: Final = 4
IF_S5S8_PGW_U: Final = 5
IF_S5S8_SGW_C: Final = 6
IF_S5S8_PGW_C: Final = 7
IF_S11_MME: Final = 10
IF_S11S4_SGW: Final = 11
# PDN type (§8.34) and the PAA's PDN type (§8.14)
PDN_IPV4: Final = 1
PDN_IPV6: Final = 2
PDN_IPV4V6: Final = 3
# RAT type (§8.17)
RAT_EUTRAN: Final = 6
# Selection mode (§8.58): 0 = MS or network provided APN, subscription verified
SELECTION_VERIFIED: Final = 0

# -- limits ----------------------------------------------------------------------------------
# The length field is 16 bits and excludes the first 4 octets (§5.5.1).
MAX_MESSAGE: Final = 4 + 0xFFFF
# Grouped IEs inside grouped IEs: §8 nests at most a few levels (Bearer Context holds no
# grouped IE in the messages here); deeper nesting is rejected to bound recursion.
MAX_GROUP_DEPTH: Final = 4
# A message with more IEs than this is not a GTP-C message we serve (UDP caps the size at
# 64 KiB, i.e. at most ~16k empty IEs); bounds the work per datagram.
MAX_IES: Final = 512
MAX_SEQUENCE: Final = 0xFFFFFF  # 24 bits (§5.5.1)
MAX_TEID: Final = 0xFFFFFFFF


# -- errors --------------------------------------------------------------------------------
Action = Literal["reply", "discard", "version"]


@dataclass(frozen=True, slots=True)
class Header:
    """The §5.5.1 header fields of a message (what a reply needs even when the body is bad)."""

    type: int
    teid: int | None
    sequence: int
    length: int
    piggyback: bool = False


class GtpError(Exception):
    """The peer broke TS 29.274. ``cause`` is the §8.4 value to answer with, ``offending``
    the (type, instance) for the Cause IE's Offending IE field, ``bce`` set when the error
    sits inside a Bearer Context (§8.4 BCE flag). ``action`` says what to do: ``reply``
    (answer the request with ``cause``), ``discard`` (§7.7.3/§7.7.4: silently drop) or
    ``version`` (§7.7.2: send Version Not Supported Indication). ``header`` is set when the
    header could be read; ``teid`` is the TEID a reply should carry (0 when unknown, §5.5.2).
    """

    def __init__(
        self,
        cause: int,
        reason: str,
        *,
        offending: tuple[int, int] | None = None,
        bce: bool = False,
        action: Action = "reply",
        header: Header | None = None,
        teid: int = 0,
    ) -> None:
        super().__init__(reason)
        self.cause = cause
        self.reason = reason
        self.offending = offending
        self.bce = bce
        self.action: Action = action
        self.header = header
        self.teid = teid

    def __str__(self) -> str:
        name = CAUSE_NAMES.get(self.cause, str(self.cause))
        return f"{self.reason} (cause {self.cause} {name})"


class _Invalid:
    """The decoded value of an IE whose content violates §8 (see module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()


class _Bad(Exception):
    """Internal: an IE's content is wrong; becomes INVALID or a GtpError."""


# -- typed IE values -----------------------------------------------------------------------
def _ip4(address: str) -> bytes:
    try:
        return socket.inet_pton(socket.AF_INET, address)
    except (OSError, TypeError):
        raise ValueError(f"not an IPv4 address: {address!r}") from None


def _ip6(address: str) -> bytes:
    try:
        return socket.inet_pton(socket.AF_INET6, address)
    except (OSError, TypeError):
        raise ValueError(f"not an IPv6 address: {address!r}") from None


@dataclass(frozen=True, slots=True)
class Plmn:
    """MCC + MNC as digits, encoded as in TS 24.008 §10.5.1.13 (§8.18)."""

    mcc: str
    mnc: str

    def __post_init__(self) -> None:
        if not (len(self.mcc) == 3 and self.mcc.isdigit() and self.mcc.isascii()):
            raise ValueError(f"MCC must be 3 digits: {self.mcc!r}")
        if not (len(self.mnc) in (2, 3) and self.mnc.isdigit() and self.mnc.isascii()):
            raise ValueError(f"MNC must be 2 or 3 digits: {self.mnc!r}")

    def encode(self) -> bytes:
        c, n = [int(d) for d in self.mcc], [int(d) for d in self.mnc]
        n3 = n[2] if len(n) == 3 else 0xF
        return bytes(((c[1] << 4) | c[0], (n3 << 4) | c[2], (n[1] << 4) | n[0]))

    @classmethod
    def decode(cls, b: bytes) -> Plmn:
        if len(b) < 3:
            raise _Bad("PLMN needs 3 octets")
        d = (b[0] & 0xF, b[0] >> 4, b[1] & 0xF, b[1] >> 4, b[2] & 0xF, b[2] >> 4)
        mcc = (d[0], d[1], d[2])
        mnc = (d[4], d[5]) if d[3] == 0xF else (d[4], d[5], d[3])
        if any(x > 9 for x in mcc + mnc):
            raise _Bad("PLMN digits out of range")
        return cls("".join(map(str, mcc)), "".join(map(str, mnc)))


@dataclass(frozen=True, slots=True)
class Tai:
    """Tracking Area Identity (§8.21.4): PLMN + 16-bit TAC."""

    plmn: Plmn
    tac: int


@dataclass(frozen=True, slots=True)
class Ecgi:
    """E-UTRAN Cell Global Identifier (§8.21.5): PLMN + 28-bit ECI."""

    plmn: Plmn
    eci: int


@dataclass(frozen=True, slots=True)
class Uli:
    """User Location Information (§8.21) with the TAI and ECGI an eNB reports. Other
    location parts a peer sends are skipped (and kept in the IE's raw octets)."""

    tai: Tai | None = None
    ecgi: Ecgi | None = None


@dataclass(frozen=True, slots=True)
class Fteid:
    """Fully qualified TEID (§8.22): interface type, TEID/GRE key, IPv4 and/or IPv6."""

    interface: int
    teid: int
    ipv4: str | None = None
    ipv6: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.interface <= 0x3F:
            raise ValueError(f"F-TEID interface type is 6 bits: {self.interface}")
        if not 0 <= self.teid <= MAX_TEID:
            raise ValueError(f"TEID is 32 bits: {self.teid}")
        if self.ipv4 is None and self.ipv6 is None:
            raise ValueError("an F-TEID needs an IPv4 or IPv6 address")


@dataclass(frozen=True, slots=True)
class Paa:
    """PDN Address Allocation (§8.14)."""

    pdn_type: int
    ipv4: str | None = None
    ipv6_prefix: str | None = None
    prefix_length: int = 64


@dataclass(frozen=True, slots=True)
class Ambr:
    """Aggregate Maximum Bit Rate (§8.7), kbit/s."""

    uplink: int
    downlink: int


@dataclass(frozen=True, slots=True)
class BearerQos:
    """Bearer Level QoS (§8.15). ``pci``/``pvi`` are the TS 29.212 Pre-emption-Capability /
    -Vulnerability values (0 enabled, 1 disabled); ``pl`` the ARP priority level 1-15; bit
    rates in kbit/s."""

    qci: int
    pl: int
    pci: int = 1
    pvi: int = 0
    mbr_ul: int = 0
    mbr_dl: int = 0
    gbr_ul: int = 0
    gbr_dl: int = 0


@dataclass(frozen=True, slots=True)
class Cause:
    """The Cause IE (§8.4): value, PCE/BCE/CS flags and the optional Offending IE."""

    value: int
    pce: bool = False
    bce: bool = False
    cs: bool = False
    offending: tuple[int, int] | None = None  # (type, instance)


# -- IE value codecs -------------------------------------------------------------------------
def _tbcd_encode(digits: str) -> bytes:
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"TBCD digits expected: {digits!r}")
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2)))


def _tbcd_decode(b: bytes) -> str:
    # §8.3 / TS 29.002 TBCD: low nibble first; 0xF is filler in the last high nibble only.
    if not b:
        raise _Bad("no digits")
    h = b.hex()
    out = []
    for i in range(0, len(h), 2):
        out.append(h[i + 1])
        out.append(h[i])
    s = "".join(out)
    if s.endswith("f"):
        s = s[:-1]
    if not s.isdigit():
        raise _Bad("TBCD digit out of range")
    return s


def _apn_encode(apn: str) -> bytes:
    # §8.6 → TS 23.003 §9.1: each label preceded by its length.
    out = bytearray()
    for label in apn.split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad APN label in {apn!r}")
        out.append(len(raw))
        out += raw
    return bytes(out)


def _apn_decode(b: bytes) -> str:
    labels = []
    i = 0
    while i < len(b):
        n = b[i]
        if n == 0 or i + 1 + n > len(b):
            raise _Bad("APN label length")
        try:
            labels.append(b[i + 1 : i + 1 + n].decode("ascii"))
        except UnicodeDecodeError:
            raise _Bad("APN is not ASCII") from None
        i += 1 + n
    if not labels:
        raise _Bad("empty APN")
    return ".".join(labels)


def _uint(size: int) -> tuple[Any, Any]:
    def dec(b: bytes) -> int:
        if len(b) < size:
            raise _Bad(f"needs {size} octets")
        return int.from_bytes(b[:size], "big")

    def enc(v: int) -> bytes:
        return int(v).to_bytes(size, "big")

    return dec, enc


def _ebi_dec(b: bytes) -> int:
    if not b:
        raise _Bad("EBI needs 1 octet")
    return b[0] & 0x0F


def _ebi_enc(v: int) -> bytes:
    if not 0 <= v <= 15:
        raise ValueError(f"EBI is 4 bits: {v}")
    return bytes((v,))


def _low_bits(mask: int) -> tuple[Any, Any]:
    def dec(b: bytes) -> int:
        if not b:
            raise _Bad("needs 1 octet")
        return b[0] & mask

    def enc(v: int) -> bytes:
        if not 0 <= v <= mask:
            raise ValueError(f"value out of range: {v}")
        return bytes((v,))

    return dec, enc


def _cause_dec(b: bytes) -> Cause:
    if len(b) < 2:
        raise _Bad("Cause needs 2 octets")
    offending = (b[2], b[5] & 0x0F) if len(b) >= 6 else None
    return Cause(b[0], bool(b[1] & 4), bool(b[1] & 2), bool(b[1] & 1), offending)


def _cause_enc(c: Cause) -> bytes:
    out = bytes((c.value, (c.pce << 2) | (c.bce << 1) | int(c.cs)))
    if c.offending is not None:
        # The Offending IE field carries the IE's type, a zero length and its instance.
        out += struct.pack("!BHB", c.offending[0], 0, c.offending[1] & 0x0F)
    return out


def _ambr_dec(b: bytes) -> Ambr:
    if len(b) < 8:
        raise _Bad("AMBR needs 8 octets")
    ul, dl = struct.unpack_from("!II", b)
    return Ambr(ul, dl)


def _ambr_enc(a: Ambr) -> bytes:
    return struct.pack("!II", a.uplink, a.downlink)


def _paa_dec(b: bytes) -> Paa:
    if not b:
        raise _Bad("PAA needs a PDN type")
    t = b[0] & 0x07
    if t == PDN_IPV4 and len(b) >= 5:
        return Paa(t, ipv4=socket.inet_ntop(socket.AF_INET, b[1:5]))
    if t == PDN_IPV6 and len(b) >= 18:
        return Paa(t, ipv6_prefix=socket.inet_ntop(socket.AF_INET6, b[2:18]), prefix_length=b[1])
    if t == PDN_IPV4V6 and len(b) >= 22:
        return Paa(
            t,
            ipv4=socket.inet_ntop(socket.AF_INET, b[18:22]),
            ipv6_prefix=socket.inet_ntop(socket.AF_INET6, b[2:18]),
            prefix_length=b[1],
        )
    raise _Bad("PAA type/length")


def _paa_enc(p: Paa) -> bytes:
    if p.pdn_type == PDN_IPV4:
        return bytes((PDN_IPV4,)) + _ip4(p.ipv4 or "0.0.0.0")
    v6 = bytes((p.prefix_length,)) + _ip6(p.ipv6_prefix or "::")
    if p.pdn_type == PDN_IPV6:
        return bytes((PDN_IPV6,)) + v6
    if p.pdn_type == PDN_IPV4V6:
        return bytes((PDN_IPV4V6,)) + v6 + _ip4(p.ipv4 or "0.0.0.0")
    raise ValueError(f"PAA PDN type {p.pdn_type}")


def _qos_dec(b: bytes) -> BearerQos:
    if len(b) < 22:
        raise _Bad("Bearer QoS needs 22 octets")
    f = b[0]
    rates = [int.from_bytes(b[i : i + 5], "big") for i in (2, 7, 12, 17)]
    return BearerQos(b[1], (f >> 2) & 0x0F, (f >> 6) & 1, f & 1, *rates)


def _qos_enc(q: BearerQos) -> bytes:
    if not (0 <= q.pl <= 15 and q.pci in (0, 1) and q.pvi in (0, 1) and 0 <= q.qci <= 255):
        raise ValueError(f"bad Bearer QoS {q}")
    head = bytes(((q.pci << 6) | (q.pl << 2) | q.pvi, q.qci))
    return head + b"".join(r.to_bytes(5, "big") for r in (q.mbr_ul, q.mbr_dl, q.gbr_ul, q.gbr_dl))


def _sn_dec(b: bytes) -> Plmn:
    return Plmn.decode(b)


def _sn_enc(p: Plmn) -> bytes:
    return p.encode()


# ULI parts in §8.21 order: (flag bit, length); only TAI and ECGI are decoded.
_ULI_PARTS: Final = ((0x01, 7), (0x02, 7), (0x04, 7), (0x08, 5), (0x10, 7), (0x20, 5))
_ULI_TAI, _ULI_ECGI = 0x08, 0x10
_ULI_MACRO_ENB = (0x40, 6), (0x80, 6)


def _uli_dec(b: bytes) -> Uli:
    if not b:
        raise _Bad("ULI needs flags")
    flags, pos = b[0], 1
    tai = ecgi = None
    for bit, size in _ULI_PARTS + _ULI_MACRO_ENB:
        if not flags & bit:
            continue
        part = b[pos : pos + size]
        if len(part) < size:
            raise _Bad("ULI shorter than its flags say")
        if bit == _ULI_TAI:
            tai = Tai(Plmn.decode(part), int.from_bytes(part[3:5], "big"))
        elif bit == _ULI_ECGI:
            ecgi = Ecgi(Plmn.decode(part), int.from_bytes(part[3:7], "big") & 0x0FFFFFFF)
        pos += size
    return Uli(tai, ecgi)


def _uli_enc(u: Uli) -> bytes:
    flags, body = 0, b""
    if u.tai is not None:
        flags |= _ULI_TAI
        body += u.tai.plmn.encode() + struct.pack("!H", u.tai.tac)
    if u.ecgi is not None:
        flags |= _ULI_ECGI
        body += u.ecgi.plmn.encode() + struct.pack("!I", u.ecgi.eci & 0x0FFFFFFF)
    return bytes((flags,)) + body


def _fteid_dec(b: bytes) -> Fteid:
    if len(b) < 5:
        raise _Bad("F-TEID needs 5 octets")
    f = b[0]
    teid = int.from_bytes(b[1:5], "big")
    pos, v4, v6 = 5, None, None
    if f & 0x80:
        if len(b) < pos + 4:
            raise _Bad("F-TEID IPv4 missing")
        v4 = socket.inet_ntop(socket.AF_INET, b[pos : pos + 4])
        pos += 4
    if f & 0x40:
        if len(b) < pos + 16:
            raise _Bad("F-TEID IPv6 missing")
        v6 = socket.inet_ntop(socket.AF_INET6, b[pos : pos + 16])
    if v4 is None and v6 is None:
        raise _Bad("F-TEID without an address")
    return Fteid(f & 0x3F, teid, v4, v6)


def _fteid_enc(t: Fteid) -> bytes:
    f = t.interface | (0x80 if t.ipv4 is not None else 0) | (0x40 if t.ipv6 is not None else 0)
    out = struct.pack("!BI", f, t.teid)
    if t.ipv4 is not None:
        out += _ip4(t.ipv4)
    if t.ipv6 is not None:
        out += _ip6(t.ipv6)
    return out


def _tbcd_ie() -> tuple[Any, Any]:
    return _tbcd_decode, _tbcd_encode


def _bytes_ie() -> tuple[Any, Any]:
    return bytes, bytes


_U8 = _uint(1)
_U32 = _uint(4)

# type -> (decode(bytes) -> value, encode(value) -> bytes); decode raises _Bad.
_CODECS: Final[dict[int, tuple[Any, Any]]] = {
    IE_IMSI: _tbcd_ie(),
    IE_CAUSE: (_cause_dec, _cause_enc),
    IE_RECOVERY: _U8,
    IE_APN: (_apn_decode, _apn_encode),
    IE_AMBR: (_ambr_dec, _ambr_enc),
    IE_EBI: (_ebi_dec, _ebi_enc),
    IE_MEI: _tbcd_ie(),
    IE_MSISDN: _tbcd_ie(),
    IE_INDICATION: _bytes_ie(),
    IE_PCO: _bytes_ie(),
    IE_PAA: (_paa_dec, _paa_enc),
    IE_BEARER_QOS: (_qos_dec, _qos_enc),
    IE_RAT_TYPE: _U8,
    IE_SERVING_NETWORK: (_sn_dec, _sn_enc),
    IE_ULI: (_uli_dec, _uli_enc),
    IE_FTEID: (_fteid_dec, _fteid_enc),
    IE_CHARGING_ID: _U32,
    IE_PDN_TYPE: _low_bits(0x07),
    IE_APN_RESTRICTION: _U8,
    IE_SELECTION_MODE: _low_bits(0x03),
}
_GROUPED: Final = frozenset({IE_BEARER_CONTEXT})


# -- IEs and messages -------------------------------------------------------------------------
@dataclass(slots=True)
class Ie:
    """One IE (§8.2): type, instance, value; ``raw`` is the received value octets (encoding
    reuses them, so forwarded IEs are unchanged: set ``raw = None`` after changing ``value``
    of a received IE). For a grouped IE ``value`` is a list. Encoding an out-of-range value
    raises ValueError (we were asked to break the protocol)."""

    type: int
    value: Any
    instance: int = 0
    raw: bytes | None = None

    @property
    def name(self) -> str:
        return IE_NAMES.get(self.type, f"IE {self.type}")

    @property
    def valid(self) -> bool:
        return self.value is not INVALID

    def encode(self) -> bytes:
        data = self.raw
        if data is None:
            if self.type in _GROUPED:
                data = b"".join(i.encode() for i in self.value)
            elif self.type in _CODECS:
                try:
                    data = _CODECS[self.type][1](self.value)
                except (OverflowError, struct.error, TypeError, AttributeError) as exc:
                    raise ValueError(f"{self.name}: cannot encode {self.value!r}: {exc}") from None
            else:
                data = bytes(self.value)
        if len(data) > 0xFFFF:
            raise ValueError(f"{self.name} value is longer than 65535 octets")
        return struct.pack("!BHB", self.type, len(data), self.instance & 0x0F) + data

    # group accessors (for Bearer Context)
    def get(self, type: int, instance: int = 0) -> Any:
        return find(self.value, type, instance)


def find(ies: list[Ie], type: int, instance: int = 0) -> Any:
    """The value of the first IE of (type, instance) in ``ies``; None when there is none or
    it is incorrect (§7.7.10: repetitions of a single IE are ignored; §7.7.8: an incorrect
    optional IE is treated as absent)."""
    for i in ies:
        if i.type == type and i.instance == instance:
            return None if i.value is INVALID else i.value
    return None


@dataclass(slots=True)
class Message:
    """A GTPv2-C message: header fields and IEs in order. ``teid`` is None only for the
    messages without a TEID field (Echo, Version Not Supported)."""

    type: int
    sequence: int
    ies: list[Ie] = field(default_factory=list)
    teid: int | None = None
    priority: int | None = None  # §5.5.1 message priority (MP flag), 0-15

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.type, f"message type {self.type}")

    @property
    def is_request(self) -> bool:
        return self.type in REQUESTS

    def get(self, type: int, instance: int = 0) -> Any:
        """The value of the first IE of (type, instance), or None (absent or incorrect)."""
        return find(self.ies, type, instance)

    def all(self, type: int, instance: int = 0) -> list[Any]:
        """Every valid value of (type, instance) (e.g. several Bearer Contexts)."""
        return [
            i.value
            for i in self.ies
            if i.type == type and i.instance == instance and i.value is not INVALID
        ]

    def ie(self, type: int, instance: int = 0) -> Ie | None:
        for i in self.ies:
            if i.type == type and i.instance == instance:
                return i
        return None

    def add(self, type: int, value: Any, instance: int = 0) -> Message:
        self.ies.append(Ie(type, value, instance))
        return self

    @property
    def cause(self) -> int | None:
        c = self.get(IE_CAUSE)
        return c.value if isinstance(c, Cause) else None

    def encode(self) -> bytes:
        if not 0 <= self.sequence <= MAX_SEQUENCE:
            raise ValueError(f"sequence number is 24 bits: {self.sequence}")
        body = b"".join(i.encode() for i in self.ies)
        flags = VERSION << 5
        mp = self.priority is not None
        if mp:
            flags |= 0x04
        tail = ((self.priority or 0) & 0x0F) << 4 if mp else 0
        if self.teid is None:
            length = 4 + len(body)
            head = struct.pack("!BBHI", flags, self.type, length, (self.sequence << 8) | tail)
        else:
            flags |= 0x08
            length = 8 + len(body)
            head = struct.pack(
                "!BBHII", flags, self.type, length, self.teid, (self.sequence << 8) | tail
            )
        if length > 0xFFFF:
            raise ValueError("message longer than the 16-bit length field allows")
        return head + body


def decode_header(data: bytes) -> Header:
    """Read the §5.5.1 header; raises GtpError (discard or version) when it cannot."""
    if len(data) < 8:
        # §7.7.3: too short to hold a GTPv2 header: silently discarded.
        raise GtpError(CAUSE_INVALID_LENGTH, "shorter than a GTPv2 header", action="discard")
    flags = data[0]
    if flags >> 5 != VERSION:
        raise GtpError(
            CAUSE_VERSION_NOT_SUPPORTED_BY_NEXT_PEER,
            f"GTP version {flags >> 5}",
            action="version",
        )
    mtype, length = data[1], int.from_bytes(data[2:4], "big")
    if flags & 0x08:
        if len(data) < 12:
            raise GtpError(CAUSE_INVALID_LENGTH, "shorter than a GTPv2 header", action="discard")
        teid: int | None = int.from_bytes(data[4:8], "big")
        seq = int.from_bytes(data[8:11], "big")
    else:
        teid = None
        seq = int.from_bytes(data[4:7], "big")
    return Header(mtype, teid, seq, length, bool(flags & 0x10))


def _decode_ies(data: bytes, start: int, end: int, depth: int, count: list[int]) -> list[Ie]:
    ies: list[Ie] = []
    pos = start
    while pos < end:
        if end - pos < 4:
            raise _Framing("IE header truncated")
        itype = data[pos]
        ilen = (data[pos + 1] << 8) | data[pos + 2]
        inst = data[pos + 3] & 0x0F
        vstart = pos + 4
        vend = vstart + ilen
        if vend > end:
            raise _Framing(f"{IE_NAMES.get(itype, itype)} IE overruns the message", (itype, inst))
        count[0] += 1
        if count[0] > MAX_IES:
            raise _Framing("too many IEs")
        raw = data[vstart:vend]
        value: Any
        if itype in _GROUPED:
            if depth >= MAX_GROUP_DEPTH:
                value = INVALID
            else:
                try:
                    value = _decode_ies(data, vstart, vend, depth + 1, count)
                except _Framing:
                    # A grouped IE whose inner IEs do not fit its own length is incorrect.
                    value = INVALID
        else:
            codec = _CODECS.get(itype)
            if codec is None:
                value = raw
            else:
                try:
                    value = codec[0](raw)
                except _Bad:
                    value = INVALID
        ies.append(Ie(itype, value, inst, raw))
        pos = vend
    return ies


class _Framing(Exception):
    def __init__(self, reason: str, offending: tuple[int, int] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offending = offending


def decode(data: bytes) -> Message:
    """Decode one GTPv2-C message (a UDP payload). Raises only :class:`GtpError`.

    A length field that disagrees with the datagram, or IEs that overrun it, give
    ``Invalid length`` (§7.7.3) — to be answered when the message is a request; a
    piggybacked message (P flag, §5.5.1) after the first is ignored (not supported).
    """
    data = bytes(data)
    header = decode_header(data)
    total = header.length + 4
    hlen = 12 if header.teid is not None else 8
    if total > len(data) or (total < len(data) and not header.piggyback) or total < hlen:
        raise GtpError(
            CAUSE_INVALID_LENGTH,
            f"length field says {total} octets, datagram has {len(data)}",
            header=header,
        )
    try:
        ies = _decode_ies(data, hlen, total, 0, [0])
    except _Framing as exc:
        raise GtpError(
            CAUSE_INVALID_LENGTH, exc.reason, offending=exc.offending, header=header
        ) from None
    prio = data[hlen - 1] >> 4 if data[0] & 0x04 else None
    return Message(header.type, header.sequence, ies, header.teid, prio)


# -- message tables (§7) ------------------------------------------------------------------
Presence = Literal["M", "C"]


@dataclass(frozen=True, slots=True)
class _Rule:
    type: int
    instance: int
    presence: Presence
    group: tuple[_Rule, ...] = ()


def _r(t: int, inst: int, p: Presence, *group: _Rule) -> _Rule:
    return _Rule(t, inst, p, group)


# What this implementation needs of each message. "M" is mandatory in the spec's table;
# "C" is conditional there and required by us for the procedure we serve (an E-UTRAN
# initial attach), so its absence is "Conditional IE missing" (§7.7.6). IEs not listed
# are optional here: read when present, ignored when incorrect (§7.7.8).
_RULES: Final[dict[int, tuple[_Rule, ...]]] = {
    ECHO_REQUEST: (_r(IE_RECOVERY, 0, "M"),),
    ECHO_RESPONSE: (_r(IE_RECOVERY, 0, "M"),),
    # §7.2.1 Table 7.2.1-1 and Table 7.2.1-2 (Bearer Context to be created)
    CREATE_SESSION_REQUEST: (
        _r(IE_IMSI, 0, "C"),
        _r(IE_RAT_TYPE, 0, "M"),
        _r(IE_FTEID, 0, "M"),
        _r(IE_APN, 0, "M"),
        _r(IE_BEARER_CONTEXT, 0, "M", _r(IE_EBI, 0, "M"), _r(IE_BEARER_QOS, 0, "M")),
    ),
    # §7.2.2 Table 7.2.2-1; Bearer Context created Table 7.2.2-2 (M when accepted)
    CREATE_SESSION_RESPONSE: (
        _r(IE_CAUSE, 0, "M"),
        _r(IE_BEARER_CONTEXT, 0, "M", _r(IE_EBI, 0, "M"), _r(IE_CAUSE, 0, "M")),
    ),
    # §7.2.7 Table 7.2.7-1; Bearer Context to be modified Table 7.2.7-2
    MODIFY_BEARER_REQUEST: (_r(IE_BEARER_CONTEXT, 0, "C", _r(IE_EBI, 0, "M")),),
    # §7.2.8 Table 7.2.8-1; Bearer Context modified Table 7.2.8-2
    MODIFY_BEARER_RESPONSE: (
        _r(IE_CAUSE, 0, "M"),
        _r(IE_BEARER_CONTEXT, 0, "C", _r(IE_EBI, 0, "M"), _r(IE_CAUSE, 0, "M")),
    ),
    # §7.2.9.1 Table 7.2.9.1-1: all conditional; the Linked EBI names the PDN connection.
    DELETE_SESSION_REQUEST: (),
    # §7.2.10.1 Table 7.2.10.1-1
    DELETE_SESSION_RESPONSE: (_r(IE_CAUSE, 0, "M"),),
}


def _check(ies: list[Ie], rules: tuple[_Rule, ...], *, in_bearer: bool, teid: int) -> None:
    for rule in rules:
        found = [i for i in ies if i.type == rule.type and i.instance == rule.instance]
        where = (rule.type, rule.instance)
        name = IE_NAMES.get(rule.type, str(rule.type))
        if not found:
            if rule.presence == "M":
                raise GtpError(
                    CAUSE_MANDATORY_IE_MISSING,
                    f"{name} (instance {rule.instance}) missing",
                    offending=where,
                    bce=in_bearer,
                    teid=teid,
                )
            # Groups the rules require only when present (Modify Bearer's Bearer Context)
            # are conditional on the procedure; the SGW decides when they are needed.
            if rule.group and rule.presence == "C" and rule.type == IE_BEARER_CONTEXT:
                continue
            raise GtpError(
                CAUSE_CONDITIONAL_IE_MISSING,
                f"{name} (instance {rule.instance}) missing",
                offending=where,
                bce=in_bearer,
                teid=teid,
            )
        first = found[0]
        if first.value is INVALID:
            # §7.7.8: mandatory or verifiable conditional IE incorrect.
            raise GtpError(
                CAUSE_MANDATORY_IE_INCORRECT,
                f"{name} (instance {rule.instance}) incorrect",
                offending=where,
                bce=in_bearer or rule.type == IE_BEARER_CONTEXT,
                teid=teid,
            )
        if rule.group:
            for occurrence in found:
                if occurrence.value is INVALID:
                    raise GtpError(
                        CAUSE_MANDATORY_IE_INCORRECT,
                        f"{name} (instance {rule.instance}) incorrect",
                        offending=where,
                        bce=True,
                        teid=teid,
                    )
                _check(occurrence.value, rule.group, in_bearer=True, teid=teid)


def validate(msg: Message, *, teid: int = 0) -> Message:
    """Check ``msg`` against its §7 table; returns it, raises GtpError (with ``teid`` as
    the TEID a rejection should carry). Unknown message types: GtpError(discard) (§7.7.4)."""
    if not teid and msg.type == CREATE_SESSION_REQUEST:
        # §5.5.2: a rejection goes to the requester's TEID when its Sender F-TEID is readable.
        sender = msg.get(IE_FTEID, 0)
        if isinstance(sender, Fteid):
            teid = sender.teid
    rules = _RULES.get(msg.type)
    if rules is None:
        raise GtpError(
            CAUSE_SERVICE_NOT_SUPPORTED,
            f"{msg.name} is not handled",
            action="discard",
            header=Header(msg.type, msg.teid, msg.sequence, 0),
        )
    if msg.type in RESPONSES:
        cause = msg.get(IE_CAUSE)
        if isinstance(cause, Cause) and not is_accepted(cause.value):
            # A rejection needs only its Cause (§7.2.2: the other IEs describe what was
            # created, and nothing was).
            rules = rules[:1]
    try:
        _check(msg.ies, rules, in_bearer=False, teid=teid)
    except GtpError as exc:
        exc.header = Header(msg.type, msg.teid, msg.sequence, 0)
        raise
    if msg.type not in NO_TEID and msg.teid is None:
        raise GtpError(
            CAUSE_INVALID_MESSAGE_FORMAT,
            f"{msg.name} without a TEID field",
            header=Header(msg.type, msg.teid, msg.sequence, 0),
            teid=teid,
        )
    return msg


# -- builders ---------------------------------------------------------------------------------
def bearer_context(ies: list[Ie], instance: int = 0) -> Ie:
    """A grouped Bearer Context IE (§8.28) with ``ies`` inside."""
    return Ie(IE_BEARER_CONTEXT, ies, instance)


def echo_request(sequence: int, recovery: int) -> Message:
    """§7.1.1."""
    return Message(ECHO_REQUEST, sequence, [Ie(IE_RECOVERY, recovery & 0xFF)])


def echo_response(request: Message, recovery: int) -> Message:
    """§7.1.2: same sequence number as the request."""
    return Message(ECHO_RESPONSE, request.sequence, [Ie(IE_RECOVERY, recovery & 0xFF)])


def version_not_supported(sequence: int) -> bytes:
    """§7.1.3 Version Not Supported Indication (header only, T=0)."""
    return Message(VERSION_NOT_SUPPORTED, sequence & MAX_SEQUENCE).encode()


def create_session_request(
    *,
    sequence: int,
    teid: int,
    imsi: str,
    sender_fteid: Fteid,
    apn: str,
    ebi: int,
    qos: BearerQos,
    rat_type: int = RAT_EUTRAN,
    msisdn: str | None = None,
    mei: str | None = None,
    uli: Uli | None = None,
    serving_network: Plmn | None = None,
    pgw_fteid: Fteid | None = None,
    selection_mode: int | None = SELECTION_VERIFIED,
    pdn_type: int | None = PDN_IPV4,
    paa: Paa | None = None,
    apn_restriction: int | None = 0,
    apn_ambr: Ambr | None = None,
    pco: bytes | None = None,
    bearer_fteids: list[tuple[int, Fteid]] | None = None,
    recovery: int | None = None,
    extra: list[Ie] | None = None,
) -> Message:
    """§7.2.1. ``teid`` is the receiver's S11/S5 control TEID (0 on the first message,
    §5.5.2). ``sender_fteid`` is instance 0 (S11 MME or S5/S8 SGW GTP-C), ``pgw_fteid``
    instance 1 (PGW S5/S8 address for Control Plane); ``bearer_fteids`` lists the Bearer
    Context's F-TEIDs as (instance, F-TEID), e.g. (2, S5/S8-U SGW) on S5."""
    ies = [Ie(IE_IMSI, imsi)]
    if msisdn is not None:
        ies.append(Ie(IE_MSISDN, msisdn))
    if mei is not None:
        ies.append(Ie(IE_MEI, mei))
    if uli is not None:
        ies.append(Ie(IE_ULI, uli))
    if serving_network is not None:
        ies.append(Ie(IE_SERVING_NETWORK, serving_network))
    ies.append(Ie(IE_RAT_TYPE, rat_type))
    ies.append(Ie(IE_FTEID, sender_fteid, 0))
    if pgw_fteid is not None:
        ies.append(Ie(IE_FTEID, pgw_fteid, 1))
    ies.append(Ie(IE_APN, apn))
    if selection_mode is not None:
        ies.append(Ie(IE_SELECTION_MODE, selection_mode))
    if pdn_type is not None:
        ies.append(Ie(IE_PDN_TYPE, pdn_type))
    if paa is not None:
        ies.append(Ie(IE_PAA, paa))
    if apn_restriction is not None:
        ies.append(Ie(IE_APN_RESTRICTION, apn_restriction))
    if apn_ambr is not None:
        ies.append(Ie(IE_AMBR, apn_ambr))
    if pco is not None:
        ies.append(Ie(IE_PCO, pco))
    group = [Ie(IE_EBI, ebi)]
    group += [Ie(IE_FTEID, f, inst) for inst, f in bearer_fteids or []]
    group.append(Ie(IE_BEARER_QOS, qos))
    ies.append(bearer_context(group))
    if recovery is not None:
        ies.append(Ie(IE_RECOVERY, recovery & 0xFF))
    ies += extra or []
    return Message(CREATE_SESSION_REQUEST, sequence, ies, teid)


def create_session_response(
    *,
    sequence: int,
    teid: int,
    cause: int,
    sender_fteid: Fteid | None = None,
    pgw_fteid: Fteid | None = None,
    paa: Paa | None = None,
    apn_restriction: int | None = None,
    apn_ambr: Ambr | None = None,
    pco: bytes | None = None,
    ebi: int | None = None,
    bearer_cause: int | None = None,
    bearer_fteids: list[tuple[int, Fteid]] | None = None,
    qos: BearerQos | None = None,
    charging_id: int | None = None,
    recovery: int | None = None,
) -> Message:
    """§7.2.2. ``teid`` is the requester's control TEID from its Sender F-TEID.
    ``sender_fteid`` is instance 0 (S11/S4 SGW or S5/S8 PGW GTP-C), ``pgw_fteid``
    instance 1 (PGW S5/S8 control F-TEID, on S11); Bearer Context created F-TEIDs are
    (instance, F-TEID): 0 = S1-U SGW, 2 = S5/S8-U PGW."""
    ies = [Ie(IE_CAUSE, Cause(cause))]
    if sender_fteid is not None:
        ies.append(Ie(IE_FTEID, sender_fteid, 0))
    if pgw_fteid is not None:
        ies.append(Ie(IE_FTEID, pgw_fteid, 1))
    if paa is not None:
        ies.append(Ie(IE_PAA, paa))
    if apn_restriction is not None:
        ies.append(Ie(IE_APN_RESTRICTION, apn_restriction))
    if apn_ambr is not None:
        ies.append(Ie(IE_AMBR, apn_ambr))
    if pco is not None:
        ies.append(Ie(IE_PCO, pco))
    if ebi is not None:
        group = [Ie(IE_EBI, ebi), Ie(IE_CAUSE, Cause(bearer_cause or cause))]
        group += [Ie(IE_FTEID, f, inst) for inst, f in bearer_fteids or []]
        if qos is not None:
            group.append(Ie(IE_BEARER_QOS, qos))
        if charging_id is not None:
            group.append(Ie(IE_CHARGING_ID, charging_id))
        ies.append(bearer_context(group))
    if recovery is not None:
        ies.append(Ie(IE_RECOVERY, recovery & 0xFF))
    return Message(CREATE_SESSION_RESPONSE, sequence, ies, teid)


def modify_bearer_request(
    *,
    sequence: int,
    teid: int,
    ebi: int,
    enb_fteid: Fteid | None = None,
    uli: Uli | None = None,
    sender_fteid: Fteid | None = None,
    rat_type: int | None = None,
    recovery: int | None = None,
) -> Message:
    """§7.2.7, as the MME sends it after Initial Context Setup: the eNB's S1-U F-TEID
    (instance 0 in the Bearer Context to be modified)."""
    ies: list[Ie] = []
    if uli is not None:
        ies.append(Ie(IE_ULI, uli))
    if rat_type is not None:
        ies.append(Ie(IE_RAT_TYPE, rat_type))
    if sender_fteid is not None:
        ies.append(Ie(IE_FTEID, sender_fteid))
    group = [Ie(IE_EBI, ebi)]
    if enb_fteid is not None:
        group.append(Ie(IE_FTEID, enb_fteid, 0))
    ies.append(bearer_context(group))
    if recovery is not None:
        ies.append(Ie(IE_RECOVERY, recovery & 0xFF))
    return Message(MODIFY_BEARER_REQUEST, sequence, ies, teid)


def modify_bearer_response(
    *,
    sequence: int,
    teid: int,
    cause: int,
    ebi: int | None = None,
    sgw_fteid: Fteid | None = None,
    charging_id: int | None = None,
    msisdn: str | None = None,
    recovery: int | None = None,
) -> Message:
    """§7.2.8; the Bearer Context modified carries the S1-U SGW F-TEID (instance 0)."""
    ies = [Ie(IE_CAUSE, Cause(cause))]
    if msisdn is not None:
        ies.append(Ie(IE_MSISDN, msisdn))
    if ebi is not None:
        group = [Ie(IE_EBI, ebi), Ie(IE_CAUSE, Cause(cause))]
        if sgw_fteid is not None:
            group.append(Ie(IE_FTEID, sgw_fteid, 0))
        if charging_id is not None:
            group.append(Ie(IE_CHARGING_ID, charging_id))
        ies.append(bearer_context(group))
    if recovery is not None:
        ies.append(Ie(IE_RECOVERY, recovery & 0xFF))
    return Message(MODIFY_BEARER_RESPONSE, sequence, ies, teid)


def delete_session_request(
    *,
    sequence: int,
    teid: int,
    ebi: int | None = None,
    uli: Uli | None = None,
    pco: bytes | None = None,
    sender_fteid: Fteid | None = None,
) -> Message:
    """§7.2.9.1: ``ebi`` is the Linked EPS Bearer ID of the PDN connection."""
    ies: list[Ie] = []
    if ebi is not None:
        ies.append(Ie(IE_EBI, ebi))
    if uli is not None:
        ies.append(Ie(IE_ULI, uli))
    if pco is not None:
        ies.append(Ie(IE_PCO, pco))
    if sender_fteid is not None:
        ies.append(Ie(IE_FTEID, sender_fteid))
    return Message(DELETE_SESSION_REQUEST, sequence, ies, teid)


def delete_session_response(
    *,
    sequence: int,
    teid: int,
    cause: int,
    pco: bytes | None = None,
    recovery: int | None = None,
) -> Message:
    """§7.2.10.1."""
    ies = [Ie(IE_CAUSE, Cause(cause))]
    if recovery is not None:
        ies.append(Ie(IE_RECOVERY, recovery & 0xFF))
    if pco is not None:
        ies.append(Ie(IE_PCO, pco))
    return Message(DELETE_SESSION_RESPONSE, sequence, ies, teid)


def error_response(err: GtpError, *, sequence: int | None = None) -> Message | None:
    """The response rejecting the request ``err`` was raised for (same sequence number,
    Cause with the offending IE, §7.7), or None when the message gets no answer
    (discard/version actions, responses, unknown types)."""
    header = err.header
    if err.action != "reply" or header is None or header.type not in RESPONSE_TO:
        return None
    rtype = RESPONSE_TO[header.type]
    cause = Cause(err.cause, bce=err.bce, offending=err.offending)
    teid = None if rtype in NO_TEID else err.teid
    seq = header.sequence if sequence is None else sequence
    ies = [Ie(IE_RECOVERY, 0)] if rtype == ECHO_RESPONSE else [Ie(IE_CAUSE, cause)]
    return Message(rtype, seq, ies, teid)

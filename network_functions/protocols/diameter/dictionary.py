"""The Diameter dictionary: AVP definitions and command/grouped ABNF, as data tables.

Each interface contributes tables: ``BASE_AVPS`` (RFC 6733 §4.5 plus the few IETF AVPs the
3GPP commands reference: DRMP RFC 7944, overload control RFC 7683, load RFC 8583, NASREQ
framing RFC 7155), ``DIGEST_AVPS`` (RFC 4590, re-used by Cx for SIP Digest) and ``CX_AVPS``
(TS 29.229 §6.3), then the EPC and policy applications: ``S6A_AVPS`` (TS 29.272 §7.3),
``GX_RX_AVPS`` (TS 29.212 §5.3, TS 29.214 §5.3) and the IETF AVPs they import
(``EPC_IETF_AVPS``: credit control, NASREQ, Mobile IPv6). Command and Grouped AVP formats
are written in the CCF/ABNF notation of RFC 6733 §3.2 / §4.4 and compiled at import: a
table passed to ``register_avps``, formats passed to ``register_grouped`` /
``register_command``. The S6a/Gx/Rx formats list the AVPs this dictionary knows; the
others of the spec's ABNF are covered by ``*[ AVP ]`` (accepted unless they carry M).

M-bit policy: ``AvpDef.mandatory`` is the bit WE set when sending (the "Must" column of the
spec's flag table). On receipt the M bit of a known AVP is not compared with the table,
because deployed dictionaries disagree (e.g. Supported-Features); only unknown AVPs with the
M bit set are rejected (RFC 6733 §4.1, DIAMETER_AVP_UNSUPPORTED).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .constants import (
    APP_BASE_COMMON,
    APP_CX,
    APP_GX,
    APP_RX,
    APP_S6A,
    AVP_FLAG_MANDATORY,
    AVP_FLAG_VENDOR,
    CMD_AAR,
    CMD_AIR,
    CMD_ASR,
    CMD_CCR,
    CMD_CER,
    CMD_CLR,
    CMD_DPR,
    CMD_DWR,
    CMD_LIR,
    CMD_MAR,
    CMD_PPR,
    CMD_PUR,
    CMD_RAR,
    CMD_RTR,
    CMD_SAR,
    CMD_STR,
    CMD_UAR,
    CMD_ULR,
    VENDOR_3GPP,
)

VENDOR_ETSI = 13019

AvpKey = tuple[int, int | None]

# RFC 6733 §4.2 (basic) and §4.3 (derived) AVP data formats.
AVP_TYPES = frozenset(
    {
        "OctetString",
        "UTF8String",
        "DiameterIdentity",
        "DiameterURI",
        "Integer32",
        "Integer64",
        "Unsigned32",
        "Unsigned64",
        "Float32",
        "Float64",
        "Address",
        "Time",
        "Enumerated",
        "Grouped",
    }
)

# Exact data length of the fixed-size formats (RFC 6733 §4.2, §4.3.1).
FIXED_LENGTH: dict[str, int] = {
    "Integer32": 4,
    "Unsigned32": 4,
    "Float32": 4,
    "Enumerated": 4,
    "Time": 4,
    "Integer64": 8,
    "Unsigned64": 8,
    "Float64": 8,
}

# Minimum data length per format, used to build the zero-filled example AVP that Failed-AVP
# carries for DIAMETER_MISSING_AVP and DIAMETER_INVALID_AVP_LENGTH (RFC 6733 §7.1.5).
MIN_LENGTH: dict[str, int] = {**FIXED_LENGTH, "Address": 6}


@dataclass(frozen=True, slots=True)
class AvpDef:
    """One dictionary entry. ``vendor_id`` None means the V bit is clear (IETF space)."""

    name: str
    code: int
    vendor_id: int | None
    type: str
    mandatory: bool = True
    # The AVP flags we send: V if vendor-specific, M if the spec says "Must" (derived).
    flags: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in AVP_TYPES:
            raise ValueError(f"{self.name}: unknown AVP type {self.type!r}")
        flags = (AVP_FLAG_VENDOR if self.vendor_id is not None else 0) | (
            AVP_FLAG_MANDATORY if self.mandatory else 0
        )
        object.__setattr__(self, "flags", flags)

    @property
    def vendor_bit(self) -> bool:
        return self.vendor_id is not None

    @property
    def key(self) -> AvpKey:
        return (self.code, self.vendor_id)


def _table(vendor_id: int | None, rows: str) -> tuple[AvpDef, ...]:
    """Rows are ``Name code Type M|-`` (M: the M bit is in the spec's "Must" column)."""
    out = []
    for line in rows.strip().splitlines():
        name, code, typ, m = line.split()
        out.append(AvpDef(name, int(code), vendor_id, typ, m == "M"))
    return tuple(out)


# RFC 6733 §4.5 "Diameter Base Protocol AVPs" flag table, and §8/§9 session/accounting AVPs.
BASE_AVPS: tuple[AvpDef, ...] = _table(
    None,
    """
    User-Name 1 UTF8String M
    Class 25 OctetString M
    Session-Timeout 27 Unsigned32 M
    Proxy-State 33 OctetString M
    Acct-Session-Id 44 OctetString M
    Acct-Multi-Session-Id 50 UTF8String M
    Event-Timestamp 55 Time M
    Acct-Interim-Interval 85 Unsigned32 M
    Host-IP-Address 257 Address M
    Auth-Application-Id 258 Unsigned32 M
    Acct-Application-Id 259 Unsigned32 M
    Vendor-Specific-Application-Id 260 Grouped M
    Redirect-Host-Usage 261 Enumerated M
    Redirect-Max-Cache-Time 262 Unsigned32 M
    Session-Id 263 UTF8String M
    Origin-Host 264 DiameterIdentity M
    Supported-Vendor-Id 265 Unsigned32 M
    Vendor-Id 266 Unsigned32 M
    Firmware-Revision 267 Unsigned32 -
    Result-Code 268 Unsigned32 M
    Product-Name 269 UTF8String -
    Session-Binding 270 Unsigned32 M
    Session-Server-Failover 271 Enumerated M
    Multi-Round-Time-Out 272 Unsigned32 M
    Disconnect-Cause 273 Enumerated M
    Auth-Request-Type 274 Enumerated M
    Auth-Grace-Period 276 Unsigned32 M
    Auth-Session-State 277 Enumerated M
    Origin-State-Id 278 Unsigned32 M
    Failed-AVP 279 Grouped M
    Proxy-Host 280 DiameterIdentity M
    Error-Message 281 UTF8String -
    Route-Record 282 DiameterIdentity M
    Destination-Realm 283 DiameterIdentity M
    Proxy-Info 284 Grouped M
    Re-Auth-Request-Type 285 Enumerated M
    Accounting-Sub-Session-Id 287 Unsigned64 M
    Authorization-Lifetime 291 Unsigned32 M
    Redirect-Host 292 DiameterURI M
    Destination-Host 293 DiameterIdentity M
    Error-Reporting-Host 294 DiameterIdentity -
    Termination-Cause 295 Enumerated M
    Origin-Realm 296 DiameterIdentity M
    Experimental-Result 297 Grouped M
    Experimental-Result-Code 298 Unsigned32 M
    Inband-Security-Id 299 Unsigned32 M
    E2E-Sequence 300 Grouped M
    Accounting-Record-Type 480 Enumerated M
    Accounting-Realtime-Required 483 Enumerated M
    Accounting-Record-Number 485 Unsigned32 M
    Framed-IP-Address 8 OctetString M
    Framed-Interface-Id 96 Unsigned64 M
    Framed-IPv6-Prefix 97 OctetString M
    DRMP 301 Enumerated -
    Redirect-Realm 620 DiameterIdentity -
    OC-Supported-Features 621 Grouped -
    OC-Feature-Vector 622 Unsigned64 -
    OC-OLR 623 Grouped -
    OC-Sequence-Number 624 Unsigned64 -
    OC-Validity-Duration 625 Unsigned32 -
    OC-Report-Type 626 Enumerated -
    OC-Reduction-Percentage 627 Unsigned32 -
    SourceID 649 DiameterIdentity -
    Load 650 Grouped -
    Load-Type 651 Enumerated -
    Load-Value 652 Unsigned64 -
    """,
)

# RFC 4590 §3 attributes as Diameter AVPs (RFC 4740 §9.5 flag rules: M set, V clear);
# TS 29.229 §6.3.36 SIP-Digest-Authenticate re-uses Digest-Realm/-Algorithm/-QoP/-HA1.
DIGEST_AVPS: tuple[AvpDef, ...] = _table(
    None,
    """
    Digest-Response 103 UTF8String M
    Digest-Realm 104 UTF8String M
    Digest-Nonce 105 UTF8String M
    Digest-Response-Auth 106 UTF8String M
    Digest-Nextnonce 107 UTF8String M
    Digest-Method 108 UTF8String M
    Digest-URI 109 UTF8String M
    Digest-QoP 110 UTF8String M
    Digest-Algorithm 111 UTF8String M
    Digest-Entity-Body-Hash 112 UTF8String M
    Digest-CNonce 113 UTF8String M
    Digest-Nonce-Count 114 UTF8String M
    Digest-Username 115 UTF8String M
    Digest-Opaque 116 UTF8String M
    Digest-Auth-Param 117 UTF8String M
    Digest-AKA-Auts 118 UTF8String M
    Digest-Domain 119 UTF8String M
    Digest-Stale 120 UTF8String M
    Digest-HA1 121 UTF8String M
    SIP-AOR 122 UTF8String M
    """,
)

# TS 29.229 Table 6.3.1 (Cx/Dx AVPs, vendor 10415). 600-627 and 633 carry M,V; the AVPs
# added from Rel-7 on carry V only ("Must not" M).
CX_AVPS: tuple[AvpDef, ...] = _table(
    VENDOR_3GPP,
    """
    Visited-Network-Identifier 600 OctetString M
    Public-Identity 601 UTF8String M
    Server-Name 602 UTF8String M
    Server-Capabilities 603 Grouped M
    Mandatory-Capability 604 Unsigned32 M
    Optional-Capability 605 Unsigned32 M
    User-Data 606 OctetString M
    SIP-Number-Auth-Items 607 Unsigned32 M
    SIP-Authentication-Scheme 608 UTF8String M
    SIP-Authenticate 609 OctetString M
    SIP-Authorization 610 OctetString M
    SIP-Authentication-Context 611 OctetString M
    SIP-Auth-Data-Item 612 Grouped M
    SIP-Item-Number 613 Unsigned32 M
    Server-Assignment-Type 614 Enumerated M
    Deregistration-Reason 615 Grouped M
    Reason-Code 616 Enumerated M
    Reason-Info 617 UTF8String M
    Charging-Information 618 Grouped M
    Primary-Event-Charging-Function-Name 619 DiameterURI M
    Secondary-Event-Charging-Function-Name 620 DiameterURI M
    Primary-Charging-Collection-Function-Name 621 DiameterURI M
    Secondary-Charging-Collection-Function-Name 622 DiameterURI M
    User-Authorization-Type 623 Enumerated M
    User-Data-Already-Available 624 Enumerated M
    Confidentiality-Key 625 OctetString M
    Integrity-Key 626 OctetString M
    Supported-Features 628 Grouped -
    Feature-List-ID 629 Unsigned32 -
    Feature-List 630 Unsigned32 -
    Supported-Applications 631 Grouped -
    Associated-Identities 632 Grouped -
    Originating-Request 633 Enumerated M
    Wildcarded-Public-Identity 634 UTF8String -
    SIP-Digest-Authenticate 635 Grouped -
    Wildcarded-IMPU 636 UTF8String -
    UAR-Flags 637 Unsigned32 -
    Loose-Route-Indication 638 Enumerated -
    SCSCF-Restoration-Info 639 Grouped -
    Path 640 OctetString -
    Contact 641 OctetString -
    Subscription-Info 642 Grouped -
    Call-ID-SIP-Header 643 OctetString -
    From-SIP-Header 644 OctetString -
    To-SIP-Header 645 OctetString -
    Record-Route 646 OctetString -
    Associated-Registered-Identities 647 Grouped -
    Multiple-Registration-Indication 648 Enumerated -
    Restoration-Info 649 Grouped -
    Session-Priority 650 Enumerated -
    Identity-with-Emergency-Registration 651 Grouped -
    Priviledged-Sender-Indication 652 Enumerated -
    LIA-Flags 653 Unsigned32 -
    Initial-CSeq-Sequence-Number 654 Unsigned32 -
    SAR-Flags 655 Unsigned32 -
    Allowed-WAF-WWSF-Identities 656 Grouped -
    WebRTC-Authentication-Function-Name 657 UTF8String -
    WebRTC-Web-Server-Function-Name 658 UTF8String -
    RTR-Flags 659 Unsigned32 -
    P-CSCF-Subscription-Info 660 Grouped -
    Registration-Time-Out 661 Time -
    Alternate-Digest-Algorithm 662 UTF8String -
    Alternate-Digest-HA1 663 UTF8String -
    Failed-PCSCF 664 Grouped -
    PCSCF-FQDN 665 DiameterIdentity -
    PCSCF-IP-Address 666 Address -
    """,
) + _table(
    # ETSI TS 283 034 §7.3.1, referenced by SIP-Auth-Data-Item for NASS-bundled auth.
    VENDOR_ETSI,
    """
    Line-Identifier 500 OctetString -
    """,
)


# --- registry --------------------------------------------------------------------------------

_BY_NAME: dict[str, AvpDef] = {}
_BY_KEY: dict[AvpKey, AvpDef] = {}


def register_avps(defs: Iterable[AvpDef]) -> None:
    """Add an interface's AVP table. Re-registering an identical entry is a no-op."""
    for d in defs:
        old = _BY_NAME.get(d.name)
        if old is not None and old != d:
            raise ValueError(f"AVP name {d.name!r} already defined as {old}")
        other = _BY_KEY.get(d.key)
        if other is not None and other != d:
            raise ValueError(f"AVP {d.key} already defined as {other.name!r}")
        _BY_NAME[d.name] = d
        _BY_KEY[d.key] = d


def avp_def(name_or_code: str | AvpKey) -> AvpDef:
    """Look up by name ("Session-Id") or by (code, vendor_id) key; KeyError if unknown."""
    if isinstance(name_or_code, str):
        return _BY_NAME[name_or_code]
    return _BY_KEY[name_or_code]


def find_avp_def(code: int, vendor_id: int | None) -> AvpDef | None:
    """Fast lookup for decoded AVPs; None if not in the dictionary."""
    return _BY_KEY.get((code, vendor_id))


def all_avp_defs() -> list[AvpDef]:
    return list(_BY_NAME.values())


def zero_data(defn: AvpDef) -> bytes:
    """Zero-filled data of the type's minimum length (RFC 6733 §7.1.5 DIAMETER_MISSING_AVP)."""
    return bytes(MIN_LENGTH.get(defn.type, 0))


# --- ABNF (RFC 6733 §3.2 Command Code Format) ----------------------------------------------------

WILDCARD = "AVP"


@dataclass(frozen=True, slots=True)
class Rule:
    """One ABNF element. ``max_count`` None means unbounded; key None is the *[AVP] wildcard."""

    name: str
    key: AvpKey | None
    min_count: int
    max_count: int | None
    fixed: bool = False


class Format:
    """A compiled command or Grouped AVP format."""

    __slots__ = ("_by_key", "allows_any", "name", "rules")

    def __init__(self, name: str, rules: tuple[Rule, ...], allows_any: bool) -> None:
        self.name = name
        self.rules = rules
        self.allows_any = allows_any  # contains *[AVP]
        self._by_key = {r.key: r for r in rules if r.key is not None}

    def rule_for(self, key: AvpKey) -> Rule | None:
        return self._by_key.get(key)

    def __repr__(self) -> str:
        return f"Format({self.name!r}, {len(self.rules)} rules, allows_any={self.allows_any})"


@dataclass(frozen=True, slots=True)
class CommandDef:
    name: str  # e.g. "UAR"
    code: int
    application_id: int
    request: bool
    proxiable: bool
    format: Format


_RULE_RE = re.compile(r"^(\d*)(\*?)(\d*)\s*([<{\[])\s*([A-Za-z0-9-]+)\s*([>}\]])$")
_CLOSE = {"<": ">", "{": "}", "[": "]"}


def parse_format(name: str, abnf: str) -> Format:
    """Compile ABNF lines such as ``< Session-Id >``, ``1*{ Host-IP-Address }``, ``*[ AVP ]``.

    RFC 6733 §3.2 qualifier defaults: without "*", fixed/required elements occur exactly
    once and optional ones at most once; with "*", min defaults to 1 for required and 0
    otherwise, max defaults to unbounded.
    """
    rules: list[Rule] = []
    allows_any = False
    for raw in abnf.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _RULE_RE.match(line)
        if m is None or _CLOSE[m.group(4)] != m.group(6):
            raise ValueError(f"{name}: bad ABNF element {line!r}")
        lo, star, hi, opener, avp_name = m.group(1, 2, 3, 4, 5)
        required = opener in "<{"
        if star:
            min_count = int(lo) if lo else (1 if opener == "{" else 0)
            max_count: int | None = int(hi) if hi else None
        else:
            if lo or hi:
                raise ValueError(f"{name}: qualifier without '*' in {line!r}")
            min_count, max_count = (1 if required else 0), 1
        if avp_name == WILDCARD:
            allows_any = True
            continue
        rules.append(Rule(avp_name, avp_def(avp_name).key, min_count, max_count, opener == "<"))
    return Format(name, tuple(rules), allows_any)


_GROUPED: dict[AvpKey, Format] = {}
# Grouped AVPs whose content is copied from elsewhere and must not be validated (RFC 6733
# §7.5: Failed-AVP holds the offending AVPs, which may well be unknown M-bit AVPs).
_OPAQUE_GROUPED: set[AvpKey] = set()
_COMMANDS: dict[tuple[int, int, bool], CommandDef] = {}


def register_grouped(name: str, abnf: str, *, opaque: bool = False) -> None:
    defn = avp_def(name)
    if defn.type != "Grouped":
        raise ValueError(f"{name} is not Grouped")
    _GROUPED[defn.key] = parse_format(name, abnf)
    if opaque:
        _OPAQUE_GROUPED.add(defn.key)


def grouped_format(key: AvpKey) -> Format | None:
    return _GROUPED.get(key)


def is_opaque_grouped(key: AvpKey) -> bool:
    return key in _OPAQUE_GROUPED


def register_command(
    name: str, code: int, application_id: int, *, request: bool, proxiable: bool, abnf: str
) -> CommandDef:
    cmd = CommandDef(name, code, application_id, request, proxiable, parse_format(name, abnf))
    _COMMANDS[(code, application_id, request)] = cmd
    return cmd


def command_def(code: int, application_id: int, request: bool) -> CommandDef | None:
    return _COMMANDS.get((code, application_id, request))


# --- tables ----------------------------------------------------------------------------------

register_avps(BASE_AVPS)
register_avps(DIGEST_AVPS)
register_avps(CX_AVPS)

# RFC 6733 §6.11. "1*" instead of "{ }" for Vendor-Id: RFC 3588 peers may send several.
register_grouped(
    "Vendor-Specific-Application-Id",
    """
    1*{ Vendor-Id }
    [ Auth-Application-Id ]
    [ Acct-Application-Id ]
    *[ AVP ]
    """,
)
# RFC 6733 §7.7
register_grouped(
    "Experimental-Result",
    """
    { Vendor-Id }
    { Experimental-Result-Code }
    *[ AVP ]
    """,
)
# RFC 6733 §7.5
register_grouped("Failed-AVP", "1*{ AVP }", opaque=True)
# RFC 6733 §6.7.2
register_grouped(
    "Proxy-Info",
    """
    { Proxy-Host }
    { Proxy-State }
    *[ AVP ]
    """,
)
# RFC 6733 §4.4 (E2E-Sequence) - content is an opaque sequence of AVPs.
register_grouped("E2E-Sequence", "2*{ AVP }", opaque=True)
# RFC 7683 §7.1, §7.3
register_grouped(
    "OC-Supported-Features",
    """
    [ OC-Feature-Vector ]
    *[ AVP ]
    """,
)
register_grouped(
    "OC-OLR",
    """
    < OC-Sequence-Number >
    < OC-Report-Type >
    [ OC-Reduction-Percentage ]
    [ OC-Validity-Duration ]
    *[ AVP ]
    """,
)
# RFC 8583 §7.1
register_grouped(
    "Load",
    """
    [ Load-Type ]
    [ Load-Value ]
    [ SourceID ]
    *[ AVP ]
    """,
)

# TS 29.229 §6.3 grouped AVPs.
register_grouped(
    "Server-Capabilities",  # §6.3.4
    """
    *[ Mandatory-Capability ]
    *[ Optional-Capability ]
    *[ Server-Name ]
    *[ AVP ]
    """,
)
register_grouped(
    "SIP-Auth-Data-Item",  # §6.3.13
    """
    [ SIP-Item-Number ]
    [ SIP-Authentication-Scheme ]
    [ SIP-Authenticate ]
    [ SIP-Authorization ]
    [ SIP-Authentication-Context ]
    [ Confidentiality-Key ]
    [ Integrity-Key ]
    [ SIP-Digest-Authenticate ]
    [ Framed-IP-Address ]
    [ Framed-IPv6-Prefix ]
    [ Framed-Interface-Id ]
    *[ Line-Identifier ]
    *[ AVP ]
    """,
)
register_grouped(
    "Deregistration-Reason",  # §6.3.16
    """
    { Reason-Code }
    [ Reason-Info ]
    *[ AVP ]
    """,
)
register_grouped(
    "Charging-Information",  # §6.3.19
    """
    [ Primary-Event-Charging-Function-Name ]
    [ Secondary-Event-Charging-Function-Name ]
    [ Primary-Charging-Collection-Function-Name ]
    [ Secondary-Charging-Collection-Function-Name ]
    *[ AVP ]
    """,
)
register_grouped(
    "Supported-Features",  # §6.3.29
    """
    { Vendor-Id }
    { Feature-List-ID }
    { Feature-List }
    *[ AVP ]
    """,
)
register_grouped(
    "Supported-Applications",  # §6.3.32
    """
    *[ Auth-Application-Id ]
    *[ Acct-Application-Id ]
    *[ Vendor-Specific-Application-Id ]
    *[ AVP ]
    """,
)
register_grouped(
    "Associated-Identities",  # §6.3.33
    """
    *[ User-Name ]
    *[ AVP ]
    """,
)
register_grouped(
    "SIP-Digest-Authenticate",  # §6.3.36
    """
    { Digest-Realm }
    [ Digest-Algorithm ]
    { Digest-QoP }
    { Digest-HA1 }
    *[ AVP ]
    """,
)
register_grouped(
    "SCSCF-Restoration-Info",  # §6.3.46
    """
    { User-Name }
    1*{ Restoration-Info }
    [ Registration-Time-Out ]
    [ SIP-Authentication-Scheme ]
    *[ AVP ]
    """,
)
register_grouped(
    "Subscription-Info",  # §6.3.49
    """
    { Call-ID-SIP-Header }
    { From-SIP-Header }
    { To-SIP-Header }
    { Record-Route }
    { Contact }
    *[ AVP ]
    """,
)
register_grouped(
    "Associated-Registered-Identities",  # §6.3.50
    """
    *[ User-Name ]
    *[ AVP ]
    """,
)
register_grouped(
    "Restoration-Info",  # §6.3.52
    """
    { Path }
    { Contact }
    [ Initial-CSeq-Sequence-Number ]
    [ Call-ID-SIP-Header ]
    [ Subscription-Info ]
    [ P-CSCF-Subscription-Info ]
    *[ AVP ]
    """,
)
register_grouped(
    "Identity-with-Emergency-Registration",  # §6.3.57
    """
    { User-Name }
    { Public-Identity }
    *[ AVP ]
    """,
)
register_grouped(
    "Allowed-WAF-WWSF-Identities",  # §6.3.64
    """
    *[ WebRTC-Authentication-Function-Name ]
    *[ WebRTC-Web-Server-Function-Name ]
    *[ AVP ]
    """,
)
register_grouped(
    "P-CSCF-Subscription-Info",  # §6.3.70
    """
    { Call-ID-SIP-Header }
    { From-SIP-Header }
    { To-SIP-Header }
    { Contact }
    *[ AVP ]
    """,
)
register_grouped(
    "Failed-PCSCF",  # §6.3.73
    """
    [ PCSCF-FQDN ]
    *[ PCSCF-IP-Address ]
    *[ AVP ]
    """,
)

# RFC 6733 §7.2: the format of every answer with the E bit set, whatever the command.
ANSWER_MESSAGE = parse_format(
    "answer-message",
    """
    0*1< Session-Id >
    { Origin-Host }
    { Origin-Realm }
    { Result-Code }
    [ Origin-State-Id ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ Failed-AVP ]
    [ Experimental-Result ]
    *[ Proxy-Info ]
    *[ AVP ]
    """,
)

# RFC 6733 §5.3.1 / §5.3.2
register_command(
    "CER",
    CMD_CER,
    APP_BASE_COMMON,
    request=True,
    proxiable=False,
    abnf="""
    { Origin-Host }
    { Origin-Realm }
    1*{ Host-IP-Address }
    { Vendor-Id }
    { Product-Name }
    [ Origin-State-Id ]
    *[ Supported-Vendor-Id ]
    *[ Auth-Application-Id ]
    *[ Inband-Security-Id ]
    *[ Acct-Application-Id ]
    *[ Vendor-Specific-Application-Id ]
    [ Firmware-Revision ]
    *[ AVP ]
    """,
)
register_command(
    "CEA",
    CMD_CER,
    APP_BASE_COMMON,
    request=False,
    proxiable=False,
    abnf="""
    { Result-Code }
    { Origin-Host }
    { Origin-Realm }
    1*{ Host-IP-Address }
    { Vendor-Id }
    { Product-Name }
    [ Origin-State-Id ]
    [ Error-Message ]
    [ Failed-AVP ]
    *[ Supported-Vendor-Id ]
    *[ Auth-Application-Id ]
    *[ Inband-Security-Id ]
    *[ Acct-Application-Id ]
    *[ Vendor-Specific-Application-Id ]
    [ Firmware-Revision ]
    *[ AVP ]
    """,
)
# RFC 6733 §5.4.1 / §5.4.2
register_command(
    "DPR",
    CMD_DPR,
    APP_BASE_COMMON,
    request=True,
    proxiable=False,
    abnf="""
    { Origin-Host }
    { Origin-Realm }
    { Disconnect-Cause }
    *[ AVP ]
    """,
)
register_command(
    "DPA",
    CMD_DPR,
    APP_BASE_COMMON,
    request=False,
    proxiable=False,
    abnf="""
    { Result-Code }
    { Origin-Host }
    { Origin-Realm }
    [ Error-Message ]
    [ Failed-AVP ]
    *[ AVP ]
    """,
)
# RFC 6733 §5.5.1 / §5.5.2
register_command(
    "DWR",
    CMD_DWR,
    APP_BASE_COMMON,
    request=True,
    proxiable=False,
    abnf="""
    { Origin-Host }
    { Origin-Realm }
    [ Origin-State-Id ]
    *[ AVP ]
    """,
)
register_command(
    "DWA",
    CMD_DWR,
    APP_BASE_COMMON,
    request=False,
    proxiable=False,
    abnf="""
    { Result-Code }
    { Origin-Host }
    { Origin-Realm }
    [ Error-Message ]
    [ Failed-AVP ]
    [ Origin-State-Id ]
    *[ AVP ]
    """,
)

# TS 29.229 §6.1.1 / §6.1.2
register_command(
    "UAR",
    CMD_UAR,
    APP_CX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    { User-Name }
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    { Public-Identity }
    { Visited-Network-Identifier }
    [ User-Authorization-Type ]
    [ UAR-Flags ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "UAA",
    CMD_UAR,
    APP_CX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    *[ Supported-Features ]
    [ Server-Name ]
    [ Server-Capabilities ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.229 §6.1.3 / §6.1.4
register_command(
    "SAR",
    CMD_SAR,
    APP_CX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    [ User-Name ]
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    *[ Public-Identity ]
    [ Wildcarded-Public-Identity ]
    { Server-Name }
    { Server-Assignment-Type }
    { User-Data-Already-Available }
    [ SCSCF-Restoration-Info ]
    [ Multiple-Registration-Indication ]
    [ Session-Priority ]
    [ SAR-Flags ]
    [ Failed-PCSCF ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "SAA",
    CMD_SAR,
    APP_CX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ User-Name ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    *[ Supported-Features ]
    [ User-Data ]
    [ Charging-Information ]
    [ Associated-Identities ]
    [ Loose-Route-Indication ]
    *[ SCSCF-Restoration-Info ]
    [ Associated-Registered-Identities ]
    [ Server-Name ]
    [ Wildcarded-Public-Identity ]
    [ Priviledged-Sender-Indication ]
    [ Allowed-WAF-WWSF-Identities ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.229 §6.1.5 / §6.1.6
register_command(
    "LIR",
    CMD_LIR,
    APP_CX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    [ Originating-Request ]
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    { Public-Identity }
    [ User-Authorization-Type ]
    [ Session-Priority ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "LIA",
    CMD_LIR,
    APP_CX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    *[ Supported-Features ]
    [ Server-Name ]
    [ Server-Capabilities ]
    [ Wildcarded-Public-Identity ]
    [ LIA-Flags ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.229 §6.1.7 / §6.1.8
register_command(
    "MAR",
    CMD_MAR,
    APP_CX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    [ Destination-Host ]
    { User-Name }
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    { Public-Identity }
    { SIP-Auth-Data-Item }
    { SIP-Number-Auth-Items }
    { Server-Name }
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "MAA",
    CMD_MAR,
    APP_CX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ User-Name ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    *[ Supported-Features ]
    [ Public-Identity ]
    [ SIP-Number-Auth-Items ]
    *[ SIP-Auth-Data-Item ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.229 §6.1.9 / §6.1.10 (Destination-Host kept optional: the HSS always sends it, and
# releases differ on whether it is required).
register_command(
    "RTR",
    CMD_RTR,
    APP_CX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    { User-Name }
    [ Associated-Identities ]
    *[ Supported-Features ]
    *[ Public-Identity ]
    { Deregistration-Reason }
    [ RTR-Flags ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "RTA",
    CMD_RTR,
    APP_CX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Associated-Identities ]
    *[ Supported-Features ]
    [ Identity-with-Emergency-Registration ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.229 §6.1.11 / §6.1.12
register_command(
    "PPR",
    CMD_PPR,
    APP_CX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    { Destination-Host }
    { Destination-Realm }
    { User-Name }
    *[ Supported-Features ]
    [ User-Data ]
    [ Charging-Information ]
    [ SIP-Auth-Data-Item ]
    [ Allowed-WAF-WWSF-Identities ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "PPA",
    CMD_PPR,
    APP_CX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Vendor-Specific-Application-Id }
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    *[ Supported-Features ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)


# --- EPC and policy applications: S6a/S6d (TS 29.272), Gx (TS 29.212), Rx (TS 29.214) ------------

# IETF AVPs the 3GPP applications reference: credit control (RFC 8506 §8), NASREQ/RADIUS
# (RFC 7155 §4.2), Mobile IPv6 (RFC 5447 §4, RFC 4004 §7.9). Flags from each RFC's table.
EPC_IETF_AVPS: tuple[AvpDef, ...] = _table(
    None,
    """
    Called-Station-Id 30 UTF8String M
    MIP6-Home-Link-Prefix 125 OctetString M
    MIP-Home-Agent-Address 334 Address M
    MIP-Home-Agent-Host 348 Grouped M
    CC-Request-Number 415 Unsigned32 M
    CC-Request-Type 416 Enumerated M
    Rating-Group 432 Unsigned32 M
    Service-Identifier 439 Unsigned32 M
    Subscription-Id 443 Grouped M
    Subscription-Id-Data 444 UTF8String M
    Subscription-Id-Type 450 Enumerated M
    User-Equipment-Info 458 Grouped -
    User-Equipment-Info-Type 459 Enumerated -
    User-Equipment-Info-Value 460 OctetString -
    MIP6-Agent-Info 486 Grouped M
    Service-Selection 493 UTF8String M
    """,
)

# TS 29.272 Table 7.3.1 (S6a/S6d AVPs) and the AVPs it imports from TS 29.061 (3GPP-*),
# TS 29.329 (MSISDN), TS 32.299 (Served-Party-IP-Address) and TS 29.173 (GMLC-Address).
# 1400-1493 carry M,V; the Rel-9+ AVPs from 1494 on carry V only.
S6A_AVPS: tuple[AvpDef, ...] = _table(
    VENDOR_3GPP,
    """
    3GPP-Charging-Characteristics 13 UTF8String M
    MSISDN 701 OctetString M
    Served-Party-IP-Address 848 Address M
    Subscription-Data 1400 Grouped M
    Terminal-Information 1401 Grouped M
    IMEI 1402 UTF8String M
    Software-Version 1403 UTF8String M
    QoS-Subscribed 1404 OctetString M
    ULR-Flags 1405 Unsigned32 M
    ULA-Flags 1406 Unsigned32 M
    Visited-PLMN-Id 1407 OctetString M
    Requested-EUTRAN-Authentication-Info 1408 Grouped M
    Requested-UTRAN-GERAN-Authentication-Info 1409 Grouped M
    Number-Of-Requested-Vectors 1410 Unsigned32 M
    Re-Synchronization-Info 1411 OctetString M
    Immediate-Response-Preferred 1412 Unsigned32 M
    Authentication-Info 1413 Grouped M
    E-UTRAN-Vector 1414 Grouped M
    UTRAN-Vector 1415 Grouped M
    GERAN-Vector 1416 Grouped M
    Network-Access-Mode 1417 Enumerated M
    HPLMN-ODB 1418 Unsigned32 M
    Item-Number 1419 Unsigned32 M
    Cancellation-Type 1420 Enumerated M
    DSR-Flags 1421 Unsigned32 M
    DSA-Flags 1422 Unsigned32 M
    Context-Identifier 1423 Unsigned32 M
    Subscriber-Status 1424 Enumerated M
    Operator-Determined-Barring 1425 Unsigned32 M
    Access-Restriction-Data 1426 Unsigned32 M
    APN-OI-Replacement 1427 UTF8String M
    All-APN-Configurations-Included-Indicator 1428 Enumerated M
    APN-Configuration-Profile 1429 Grouped M
    APN-Configuration 1430 Grouped M
    EPS-Subscribed-QoS-Profile 1431 Grouped M
    VPLMN-Dynamic-Address-Allowed 1432 Enumerated M
    STN-SR 1433 OctetString M
    Alert-Reason 1434 Enumerated M
    AMBR 1435 Grouped M
    CSG-Id 1437 Unsigned32 M
    PDN-GW-Allocation-Type 1438 Enumerated M
    Expiration-Date 1439 Time M
    RAT-Frequency-Selection-Priority-ID 1440 Unsigned32 M
    IDA-Flags 1441 Unsigned32 M
    PUA-Flags 1442 Unsigned32 M
    NOR-Flags 1443 Unsigned32 M
    User-Id 1444 UTF8String -
    Equipment-Status 1445 Enumerated M
    Regional-Subscription-Zone-Code 1446 OctetString M
    RAND 1447 OctetString M
    XRES 1448 OctetString M
    AUTN 1449 OctetString M
    KASME 1450 OctetString M
    Trace-Collection-Entity 1452 Address M
    Kc 1453 OctetString M
    SRES 1454 OctetString M
    PDN-Type 1456 Enumerated M
    Roaming-Restricted-Due-To-Unsupported-Feature 1457 Enumerated M
    Complete-Data-List-Included-Indicator 1468 Enumerated M
    3GPP2-MEID 1471 OctetString M
    Specific-APN-Info 1472 Grouped M
    SGSN-Number 1489 OctetString M
    IDR-Flags 1490 Unsigned32 M
    ICS-Indicator 1491 Enumerated -
    IMS-Voice-Over-PS-Sessions-Supported 1492 Enumerated -
    Homogeneous-Support-of-IMS-Voice-Over-PS-Sessions 1493 Enumerated -
    Last-UE-Activity-Time 1494 Time -
    Active-APN 1612 Grouped -
    Error-Diagnostic 1614 Enumerated -
    UE-SRVCC-Capability 1615 Enumerated -
    PUR-Flags 1635 Unsigned32 -
    CLR-Flags 1638 Unsigned32 -
    Reset-ID 1670 OctetString -
    AIR-Flags 1679 Unsigned32 -
    UE-Usage-Type 1680 Unsigned32 -
    """,
)

# TS 29.212 Table 5.3.1 (Gx AVPs) and TS 29.214 Table 5.3.1 (Rx AVPs), vendor 10415, with the
# Extended-* bandwidth AVPs of Rel-12+ (TS 29.214 §5.3.3x / TS 29.212 §5.3.13x). The AVPs of
# the original Rel-7 set carry M,V; later additions V only.
GX_RX_AVPS: tuple[AvpDef, ...] = _table(
    VENDOR_3GPP,
    """
    3GPP-SGSN-MCC-MNC 18 UTF8String M
    3GPP-User-Location-Info 22 OctetString M
    3GPP-MS-TimeZone 23 OctetString M
    Abort-Cause 500 Enumerated M
    Access-Network-Charging-Address 501 Address M
    Access-Network-Charging-Identifier 502 Grouped M
    Access-Network-Charging-Identifier-Value 503 OctetString M
    AF-Application-Identifier 504 OctetString M
    AF-Charging-Identifier 505 OctetString M
    Flow-Description 507 OctetString M
    Flow-Number 509 Unsigned32 M
    Flows 510 Grouped M
    Flow-Status 511 Enumerated M
    Flow-Usage 512 Enumerated M
    Specific-Action 513 Enumerated M
    Max-Requested-Bandwidth-DL 515 Unsigned32 M
    Max-Requested-Bandwidth-UL 516 Unsigned32 M
    Media-Component-Description 517 Grouped M
    Media-Component-Number 518 Unsigned32 M
    Media-Sub-Component 519 Grouped M
    Media-Type 520 Enumerated M
    RR-Bandwidth 521 Unsigned32 M
    RS-Bandwidth 522 Unsigned32 M
    SIP-Forking-Indication 523 Enumerated M
    Codec-Data 524 OctetString M
    Service-URN 525 OctetString M
    Acceptable-Service-Info 526 Grouped M
    Service-Info-Status 527 Enumerated M
    AF-Signalling-Protocol 529 Enumerated -
    Rx-Request-Type 533 Enumerated -
    Min-Requested-Bandwidth-DL 534 Unsigned32 -
    Min-Requested-Bandwidth-UL 535 Unsigned32 -
    Extended-Max-Requested-BW-DL 554 Unsigned32 -
    Extended-Max-Requested-BW-UL 555 Unsigned32 -
    Bearer-Usage 1000 Enumerated M
    Charging-Rule-Install 1001 Grouped M
    Charging-Rule-Remove 1002 Grouped M
    Charging-Rule-Definition 1003 Grouped M
    Charging-Rule-Base-Name 1004 UTF8String M
    Charging-Rule-Name 1005 OctetString M
    Event-Trigger 1006 Enumerated M
    Metering-Method 1007 Enumerated M
    Offline 1008 Enumerated M
    Online 1009 Enumerated M
    Precedence 1010 Unsigned32 M
    Reporting-Level 1011 Enumerated M
    TFT-Filter 1012 OctetString M
    TFT-Packet-Filter-Information 1013 Grouped M
    ToS-Traffic-Class 1014 OctetString M
    QoS-Information 1016 Grouped M
    QoS-Negotiation 1017 Enumerated M
    Charging-Rule-Report 1018 Grouped M
    PCC-Rule-Status 1019 Enumerated M
    Bearer-Identifier 1020 OctetString M
    Bearer-Operation 1021 Enumerated M
    Bearer-Control-Mode 1023 Enumerated M
    Network-Request-Support 1024 Enumerated M
    Guaranteed-Bitrate-DL 1025 Unsigned32 M
    Guaranteed-Bitrate-UL 1026 Unsigned32 M
    IP-CAN-Type 1027 Enumerated M
    QoS-Class-Identifier 1028 Enumerated M
    Rule-Failure-Code 1031 Enumerated M
    RAT-Type 1032 Enumerated M
    Allocation-Retention-Priority 1034 Grouped -
    APN-Aggregate-Max-Bitrate-DL 1040 Unsigned32 -
    APN-Aggregate-Max-Bitrate-UL 1041 Unsigned32 -
    Revalidation-Time 1042 Time M
    Rule-Activation-Time 1043 Time M
    Rule-Deactivation-Time 1044 Time M
    Session-Release-Cause 1045 Enumerated M
    Priority-Level 1046 Unsigned32 -
    Pre-emption-Capability 1047 Enumerated -
    Pre-emption-Vulnerability 1048 Enumerated -
    Default-EPS-Bearer-QoS 1049 Grouped -
    AN-GW-Address 1050 Address -
    Security-Parameter-Index 1056 OctetString -
    Flow-Label 1057 OctetString -
    Flow-Information 1058 Grouped -
    Packet-Filter-Content 1059 OctetString -
    Packet-Filter-Identifier 1060 OctetString -
    Packet-Filter-Information 1061 Grouped -
    Packet-Filter-Operation 1062 Enumerated -
    Resource-Allocation-Notification 1063 Enumerated -
    Packet-Filter-Usage 1072 Enumerated -
    Charging-Correlation-Indicator 1073 Enumerated -
    Flow-Direction 1080 Enumerated -
    Extended-APN-AMBR-DL 2848 Unsigned32 -
    Extended-APN-AMBR-UL 2849 Unsigned32 -
    Extended-GBR-DL 2850 Unsigned32 -
    Extended-GBR-UL 2851 Unsigned32 -
    """,
)

register_avps(EPC_IETF_AVPS)
register_avps(S6A_AVPS)
register_avps(GX_RX_AVPS)

# RFC 5447 §4.2.1 / RFC 4004 §7.11
register_grouped(
    "MIP6-Agent-Info",
    """
    *2[ MIP-Home-Agent-Address ]
    [ MIP-Home-Agent-Host ]
    [ MIP6-Home-Link-Prefix ]
    *[ AVP ]
    """,
)
register_grouped(
    "MIP-Home-Agent-Host",
    """
    { Destination-Realm }
    { Destination-Host }
    *[ AVP ]
    """,
)
# RFC 8506 §8.46, §8.49
register_grouped(
    "Subscription-Id",
    """
    { Subscription-Id-Type }
    { Subscription-Id-Data }
    """,
)
register_grouped(
    "User-Equipment-Info",
    """
    { User-Equipment-Info-Type }
    { User-Equipment-Info-Value }
    """,
)

# TS 29.272 §7.3 grouped AVPs.
register_grouped(
    "Subscription-Data",  # §7.3.2
    """
    [ Subscriber-Status ]
    [ MSISDN ]
    [ STN-SR ]
    [ ICS-Indicator ]
    [ Network-Access-Mode ]
    [ Operator-Determined-Barring ]
    [ HPLMN-ODB ]
    *10[ Regional-Subscription-Zone-Code ]
    [ Access-Restriction-Data ]
    [ APN-OI-Replacement ]
    [ 3GPP-Charging-Characteristics ]
    [ AMBR ]
    [ APN-Configuration-Profile ]
    [ RAT-Frequency-Selection-Priority-ID ]
    [ Roaming-Restricted-Due-To-Unsupported-Feature ]
    [ UE-Usage-Type ]
    *[ AVP ]
    """,
)
register_grouped(
    "Terminal-Information",  # §7.3.3
    """
    [ IMEI ]
    [ 3GPP2-MEID ]
    [ Software-Version ]
    *[ AVP ]
    """,
)
register_grouped(
    "Requested-EUTRAN-Authentication-Info",  # §7.3.11
    """
    [ Number-Of-Requested-Vectors ]
    [ Immediate-Response-Preferred ]
    [ Re-Synchronization-Info ]
    *[ AVP ]
    """,
)
register_grouped(
    "Requested-UTRAN-GERAN-Authentication-Info",  # §7.3.12
    """
    [ Number-Of-Requested-Vectors ]
    [ Immediate-Response-Preferred ]
    [ Re-Synchronization-Info ]
    *[ AVP ]
    """,
)
register_grouped(
    "Authentication-Info",  # §7.3.17
    """
    *[ E-UTRAN-Vector ]
    *[ UTRAN-Vector ]
    *[ GERAN-Vector ]
    *[ AVP ]
    """,
)
register_grouped(
    "E-UTRAN-Vector",  # §7.3.18
    """
    [ Item-Number ]
    { RAND }
    { XRES }
    { AUTN }
    { KASME }
    *[ AVP ]
    """,
)
register_grouped(
    "UTRAN-Vector",  # §7.3.19
    """
    [ Item-Number ]
    { RAND }
    { XRES }
    { AUTN }
    { Confidentiality-Key }
    { Integrity-Key }
    *[ AVP ]
    """,
)
register_grouped(
    "GERAN-Vector",  # §7.3.20
    """
    [ Item-Number ]
    { RAND }
    { SRES }
    { Kc }
    *[ AVP ]
    """,
)
register_grouped(
    "APN-Configuration-Profile",  # §7.3.34
    """
    { Context-Identifier }
    { All-APN-Configurations-Included-Indicator }
    1*{ APN-Configuration }
    *[ AVP ]
    """,
)
register_grouped(
    "APN-Configuration",  # §7.3.35
    """
    { Context-Identifier }
    *2[ Served-Party-IP-Address ]
    { PDN-Type }
    { Service-Selection }
    [ EPS-Subscribed-QoS-Profile ]
    [ VPLMN-Dynamic-Address-Allowed ]
    [ MIP6-Agent-Info ]
    [ Visited-Network-Identifier ]
    [ PDN-GW-Allocation-Type ]
    [ 3GPP-Charging-Characteristics ]
    [ AMBR ]
    *[ Specific-APN-Info ]
    [ APN-OI-Replacement ]
    *[ AVP ]
    """,
)
register_grouped(
    "EPS-Subscribed-QoS-Profile",  # §7.3.37
    """
    { QoS-Class-Identifier }
    { Allocation-Retention-Priority }
    *[ AVP ]
    """,
)
register_grouped(
    "AMBR",  # §7.3.41
    """
    { Max-Requested-Bandwidth-UL }
    { Max-Requested-Bandwidth-DL }
    [ Extended-Max-Requested-BW-UL ]
    [ Extended-Max-Requested-BW-DL ]
    *[ AVP ]
    """,
)
register_grouped(
    "Specific-APN-Info",  # §7.3.82
    """
    { Service-Selection }
    { MIP6-Agent-Info }
    [ Visited-Network-Identifier ]
    *[ AVP ]
    """,
)
register_grouped(
    "Active-APN",  # §7.3.127
    """
    { Context-Identifier }
    [ Service-Selection ]
    [ MIP6-Agent-Info ]
    [ Visited-Network-Identifier ]
    *[ Specific-APN-Info ]
    *[ AVP ]
    """,
)

# TS 29.212 §5.3 / TS 29.214 §5.3 grouped AVPs.
register_grouped(
    "Allocation-Retention-Priority",  # TS 29.212 §5.3.32
    """
    { Priority-Level }
    [ Pre-emption-Capability ]
    [ Pre-emption-Vulnerability ]
    """,
)
register_grouped(
    "QoS-Information",  # TS 29.212 §5.3.16
    """
    [ QoS-Class-Identifier ]
    [ Max-Requested-Bandwidth-UL ]
    [ Max-Requested-Bandwidth-DL ]
    [ Extended-Max-Requested-BW-UL ]
    [ Extended-Max-Requested-BW-DL ]
    [ Guaranteed-Bitrate-UL ]
    [ Guaranteed-Bitrate-DL ]
    [ Extended-GBR-UL ]
    [ Extended-GBR-DL ]
    [ Bearer-Identifier ]
    [ Allocation-Retention-Priority ]
    [ APN-Aggregate-Max-Bitrate-UL ]
    [ APN-Aggregate-Max-Bitrate-DL ]
    [ Extended-APN-AMBR-UL ]
    [ Extended-APN-AMBR-DL ]
    *[ AVP ]
    """,
)
register_grouped(
    "Default-EPS-Bearer-QoS",  # TS 29.212 §5.3.48
    """
    [ QoS-Class-Identifier ]
    [ Allocation-Retention-Priority ]
    *[ AVP ]
    """,
)
register_grouped(
    "Charging-Rule-Install",  # TS 29.212 §5.3.2
    """
    *[ Charging-Rule-Definition ]
    *[ Charging-Rule-Name ]
    *[ Charging-Rule-Base-Name ]
    [ Bearer-Identifier ]
    [ Rule-Activation-Time ]
    [ Rule-Deactivation-Time ]
    [ Resource-Allocation-Notification ]
    [ Charging-Correlation-Indicator ]
    [ IP-CAN-Type ]
    *[ AVP ]
    """,
)
register_grouped(
    "Charging-Rule-Remove",  # TS 29.212 §5.3.3
    """
    *[ Charging-Rule-Name ]
    *[ Charging-Rule-Base-Name ]
    *[ AVP ]
    """,
)
register_grouped(
    "Charging-Rule-Definition",  # TS 29.212 §5.3.4
    """
    { Charging-Rule-Name }
    [ Service-Identifier ]
    [ Rating-Group ]
    *[ Flow-Information ]
    [ Flow-Status ]
    [ QoS-Information ]
    [ Reporting-Level ]
    [ Online ]
    [ Offline ]
    [ Metering-Method ]
    [ Precedence ]
    [ AF-Charging-Identifier ]
    *[ Flows ]
    [ AF-Signalling-Protocol ]
    *[ AVP ]
    """,
)
register_grouped(
    "Charging-Rule-Report",  # TS 29.212 §5.3.18
    """
    *[ Charging-Rule-Name ]
    *[ Charging-Rule-Base-Name ]
    [ Bearer-Identifier ]
    [ PCC-Rule-Status ]
    [ Rule-Failure-Code ]
    *[ AVP ]
    """,
)
register_grouped(
    "Flow-Information",  # TS 29.212 §5.3.53
    """
    [ Flow-Description ]
    [ Packet-Filter-Identifier ]
    [ Packet-Filter-Usage ]
    [ ToS-Traffic-Class ]
    [ Security-Parameter-Index ]
    [ Flow-Label ]
    [ Flow-Direction ]
    *[ AVP ]
    """,
)
register_grouped(
    "Packet-Filter-Information",  # TS 29.212 §5.3.54
    """
    [ Packet-Filter-Identifier ]
    [ Precedence ]
    [ Packet-Filter-Content ]
    [ ToS-Traffic-Class ]
    [ Security-Parameter-Index ]
    [ Flow-Label ]
    [ Flow-Direction ]
    *[ AVP ]
    """,
)
register_grouped(
    "TFT-Packet-Filter-Information",  # TS 29.212 §5.3.13
    """
    [ Precedence ]
    [ TFT-Filter ]
    [ ToS-Traffic-Class ]
    [ Security-Parameter-Index ]
    [ Flow-Label ]
    [ Flow-Direction ]
    *[ AVP ]
    """,
)
register_grouped(
    "Media-Component-Description",  # TS 29.214 §5.3.7
    """
    < Media-Component-Number >
    *[ Media-Sub-Component ]
    [ AF-Application-Identifier ]
    [ Media-Type ]
    [ Max-Requested-Bandwidth-UL ]
    [ Max-Requested-Bandwidth-DL ]
    [ Extended-Max-Requested-BW-UL ]
    [ Extended-Max-Requested-BW-DL ]
    [ Min-Requested-Bandwidth-UL ]
    [ Min-Requested-Bandwidth-DL ]
    [ Flow-Status ]
    [ Pre-emption-Capability ]
    [ Pre-emption-Vulnerability ]
    [ RS-Bandwidth ]
    [ RR-Bandwidth ]
    0*2[ Codec-Data ]
    *[ AVP ]
    """,
)
register_grouped(
    "Media-Sub-Component",  # TS 29.214 §5.3.8
    """
    { Flow-Number }
    0*2[ Flow-Description ]
    [ Flow-Status ]
    [ Flow-Usage ]
    [ Max-Requested-Bandwidth-UL ]
    [ Max-Requested-Bandwidth-DL ]
    [ AF-Signalling-Protocol ]
    [ ToS-Traffic-Class ]
    *[ AVP ]
    """,
)
register_grouped(
    "Flows",  # TS 29.214 §5.3.10
    """
    { Media-Component-Number }
    *[ Flow-Number ]
    *[ AVP ]
    """,
)
register_grouped(
    "Access-Network-Charging-Identifier",  # TS 29.214 §5.3.22
    """
    { Access-Network-Charging-Identifier-Value }
    *[ Flows ]
    """,
)
register_grouped(
    "Acceptable-Service-Info",  # TS 29.214 §5.3.24
    """
    *[ Media-Component-Description ]
    [ Max-Requested-Bandwidth-DL ]
    [ Max-Requested-Bandwidth-UL ]
    *[ AVP ]
    """,
)

# TS 29.272 §7.2.3 / §7.2.4 Update-Location
register_command(
    "ULR",
    CMD_ULR,
    APP_S6A,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    { User-Name }
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    [ Terminal-Information ]
    { RAT-Type }
    { ULR-Flags }
    [ UE-SRVCC-Capability ]
    { Visited-PLMN-Id }
    [ SGSN-Number ]
    [ Homogeneous-Support-of-IMS-Voice-Over-PS-Sessions ]
    *[ Active-APN ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "ULA",
    CMD_ULR,
    APP_S6A,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    [ Result-Code ]
    [ Experimental-Result ]
    [ Error-Diagnostic ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    *[ Supported-Features ]
    [ ULA-Flags ]
    [ Subscription-Data ]
    *[ Reset-ID ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.272 §7.2.5 / §7.2.6 Authentication-Information
register_command(
    "AIR",
    CMD_AIR,
    APP_S6A,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    { User-Name }
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    [ Requested-EUTRAN-Authentication-Info ]
    [ Requested-UTRAN-GERAN-Authentication-Info ]
    { Visited-PLMN-Id }
    [ AIR-Flags ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "AIA",
    CMD_AIR,
    APP_S6A,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    [ Result-Code ]
    [ Experimental-Result ]
    [ Error-Diagnostic ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    *[ Supported-Features ]
    [ Authentication-Info ]
    [ UE-Usage-Type ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.272 §7.2.7 / §7.2.8 Cancel-Location
register_command(
    "CLR",
    CMD_CLR,
    APP_S6A,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    { Destination-Host }
    { Destination-Realm }
    { User-Name }
    *[ Supported-Features ]
    { Cancellation-Type }
    [ CLR-Flags ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "CLA",
    CMD_CLR,
    APP_S6A,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    *[ Supported-Features ]
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
# TS 29.272 §7.2.13 / §7.2.14 Purge-UE
register_command(
    "PUR",
    CMD_PUR,
    APP_S6A,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ Destination-Host ]
    { Destination-Realm }
    { User-Name }
    [ OC-Supported-Features ]
    [ PUR-Flags ]
    *[ Supported-Features ]
    *[ AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)
register_command(
    "PUA",
    CMD_PUR,
    APP_S6A,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    [ Vendor-Specific-Application-Id ]
    *[ Supported-Features ]
    [ Result-Code ]
    [ Experimental-Result ]
    { Auth-Session-State }
    { Origin-Host }
    { Origin-Realm }
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Load ]
    [ PUA-Flags ]
    *[ AVP ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    """,
)

# TS 29.212 §5.6.2 / §5.6.3 Credit-Control on Gx
register_command(
    "CCR",
    CMD_CCR,
    APP_GX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Auth-Application-Id }
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    { CC-Request-Type }
    { CC-Request-Number }
    [ Destination-Host ]
    [ Origin-State-Id ]
    *[ Subscription-Id ]
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    [ Network-Request-Support ]
    *[ Packet-Filter-Information ]
    [ Packet-Filter-Operation ]
    [ Bearer-Identifier ]
    [ Bearer-Operation ]
    [ Framed-IP-Address ]
    [ Framed-IPv6-Prefix ]
    [ IP-CAN-Type ]
    [ RAT-Type ]
    [ Termination-Cause ]
    [ User-Equipment-Info ]
    [ QoS-Information ]
    [ QoS-Negotiation ]
    [ Default-EPS-Bearer-QoS ]
    0*2[ AN-GW-Address ]
    [ 3GPP-SGSN-MCC-MNC ]
    [ 3GPP-User-Location-Info ]
    [ 3GPP-MS-TimeZone ]
    [ 3GPP-Charging-Characteristics ]
    [ Called-Station-Id ]
    [ Bearer-Usage ]
    [ Online ]
    [ Offline ]
    *[ TFT-Packet-Filter-Information ]
    *[ Charging-Rule-Report ]
    *[ Event-Trigger ]
    [ Access-Network-Charging-Address ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)
register_command(
    "CCA",
    CMD_CCR,
    APP_GX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Auth-Application-Id }
    { Origin-Host }
    { Origin-Realm }
    [ Result-Code ]
    [ Experimental-Result ]
    { CC-Request-Type }
    { CC-Request-Number }
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Supported-Features ]
    [ Bearer-Control-Mode ]
    *[ Event-Trigger ]
    [ Origin-State-Id ]
    *[ Redirect-Host ]
    [ Redirect-Host-Usage ]
    [ Redirect-Max-Cache-Time ]
    *[ Charging-Rule-Remove ]
    *[ Charging-Rule-Install ]
    [ Charging-Information ]
    [ Online ]
    [ Offline ]
    *[ QoS-Information ]
    [ Revalidation-Time ]
    [ Default-EPS-Bearer-QoS ]
    [ Bearer-Usage ]
    [ Session-Release-Cause ]
    [ IP-CAN-Type ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ Load ]
    *[ AVP ]
    """,
)
# TS 29.212 §5.6.4 / §5.6.5 Re-Auth on Gx
register_command(
    "RAR",
    CMD_RAR,
    APP_GX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Auth-Application-Id }
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    { Destination-Host }
    { Re-Auth-Request-Type }
    [ Session-Release-Cause ]
    [ Origin-State-Id ]
    [ OC-Supported-Features ]
    *[ Event-Trigger ]
    *[ Charging-Rule-Remove ]
    *[ Charging-Rule-Install ]
    [ Default-EPS-Bearer-QoS ]
    *[ QoS-Information ]
    [ Revalidation-Time ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)
register_command(
    "RAA",
    CMD_RAR,
    APP_GX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    [ Result-Code ]
    [ Experimental-Result ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    [ Origin-State-Id ]
    [ IP-CAN-Type ]
    [ RAT-Type ]
    0*2[ AN-GW-Address ]
    [ 3GPP-SGSN-MCC-MNC ]
    [ 3GPP-User-Location-Info ]
    [ 3GPP-MS-TimeZone ]
    *[ Charging-Rule-Report ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ AVP ]
    """,
)

# TS 29.214 §5.6.1 / §5.6.2 AA on Rx
register_command(
    "AAR",
    CMD_AAR,
    APP_RX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Auth-Application-Id }
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    [ Destination-Host ]
    [ Auth-Session-State ]
    [ AF-Application-Identifier ]
    *[ Media-Component-Description ]
    [ Service-Info-Status ]
    [ AF-Charging-Identifier ]
    [ SIP-Forking-Indication ]
    *[ Specific-Action ]
    *[ Subscription-Id ]
    [ OC-Supported-Features ]
    *[ Supported-Features ]
    [ Framed-IP-Address ]
    [ Framed-IPv6-Prefix ]
    [ Called-Station-Id ]
    [ Service-URN ]
    [ Rx-Request-Type ]
    [ Origin-State-Id ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)
register_command(
    "AAA",
    CMD_AAR,
    APP_RX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Auth-Application-Id }
    { Origin-Host }
    { Origin-Realm }
    [ Result-Code ]
    [ Experimental-Result ]
    [ Auth-Session-State ]
    *[ Access-Network-Charging-Identifier ]
    [ Access-Network-Charging-Address ]
    [ Acceptable-Service-Info ]
    0*2[ AN-GW-Address ]
    [ IP-CAN-Type ]
    [ RAT-Type ]
    *[ Flows ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Supported-Features ]
    *[ Subscription-Id ]
    [ User-Equipment-Info ]
    [ 3GPP-SGSN-MCC-MNC ]
    *[ Class ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Load ]
    *[ AVP ]
    """,
)
# TS 29.214 §5.6.3 / §5.6.4 Re-Auth on Rx (PCRF -> P-CSCF: bearer events)
register_command(
    "RAR",
    CMD_RAR,
    APP_RX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    { Destination-Host }
    { Auth-Application-Id }
    1*{ Specific-Action }
    [ OC-Supported-Features ]
    *[ Access-Network-Charging-Identifier ]
    [ Access-Network-Charging-Address ]
    0*2[ AN-GW-Address ]
    *[ Flows ]
    *[ Subscription-Id ]
    [ Abort-Cause ]
    [ IP-CAN-Type ]
    [ RAT-Type ]
    [ 3GPP-User-Location-Info ]
    [ 3GPP-MS-TimeZone ]
    [ Origin-State-Id ]
    *[ Class ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)
register_command(
    "RAA",
    CMD_RAR,
    APP_RX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    [ Result-Code ]
    [ Experimental-Result ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    *[ Media-Component-Description ]
    [ Service-URN ]
    [ Origin-State-Id ]
    *[ Class ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ AVP ]
    """,
)
# TS 29.214 §5.6.5 / §5.6.6 Session-Termination on Rx
register_command(
    "STR",
    CMD_STR,
    APP_RX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    { Auth-Application-Id }
    { Termination-Cause }
    [ Destination-Host ]
    [ OC-Supported-Features ]
    *[ Class ]
    [ Origin-State-Id ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)
register_command(
    "STA",
    CMD_STR,
    APP_RX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    [ Result-Code ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    [ Failed-AVP ]
    *[ Class ]
    *[ Redirect-Host ]
    [ Redirect-Host-Usage ]
    [ Redirect-Max-Cache-Time ]
    *[ Proxy-Info ]
    [ Origin-State-Id ]
    [ 3GPP-User-Location-Info ]
    [ 3GPP-MS-TimeZone ]
    *[ Load ]
    *[ AVP ]
    """,
)
# TS 29.214 §5.6.7 / §5.6.8 Abort-Session on Rx (the PCRF ends the AF session)
register_command(
    "ASR",
    CMD_ASR,
    APP_RX,
    request=True,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    { Destination-Realm }
    { Destination-Host }
    { Auth-Application-Id }
    [ OC-Supported-Features ]
    { Abort-Cause }
    [ Origin-State-Id ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)
register_command(
    "ASA",
    CMD_ASR,
    APP_RX,
    request=False,
    proxiable=True,
    abnf="""
    < Session-Id >
    [ DRMP ]
    { Origin-Host }
    { Origin-Realm }
    [ Result-Code ]
    [ OC-Supported-Features ]
    [ OC-OLR ]
    [ Origin-State-Id ]
    [ Error-Message ]
    [ Error-Reporting-Host ]
    [ Failed-AVP ]
    *[ Proxy-Info ]
    *[ Route-Record ]
    *[ AVP ]
    """,
)

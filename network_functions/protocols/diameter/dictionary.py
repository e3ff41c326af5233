"""The Diameter dictionary: AVP definitions and command/grouped ABNF, as data tables.

Each interface contributes tables: ``BASE_AVPS`` (RFC 6733 §4.5 plus the few IETF AVPs the
3GPP commands reference: DRMP RFC 7944, overload control RFC 7683, load RFC 8583, NASREQ
framing RFC 7155), ``DIGEST_AVPS`` (RFC 4590, re-used by Cx for SIP Digest) and ``CX_AVPS``
(TS 29.229 §6.3). Command and Grouped AVP formats are written in the CCF/ABNF notation of
RFC 6733 §3.2 / §4.4 and compiled at import. S6a (TS 29.272), Gx (TS 29.212) and Rx
(TS 29.214) are added later the same way: a new table passed to ``register_avps`` and new
formats passed to ``register_grouped`` / ``register_command``.

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
    AVP_FLAG_MANDATORY,
    AVP_FLAG_VENDOR,
    CMD_CER,
    CMD_DPR,
    CMD_DWR,
    CMD_LIR,
    CMD_MAR,
    CMD_PPR,
    CMD_RTR,
    CMD_SAR,
    CMD_UAR,
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

"""The Gx application (TS 29.213 procedures, TS 29.212 protocol): PCEF (PGW) <-> PCRF.

Builders for Credit-Control-Request INITIAL/UPDATE/TERMINATION (TS 29.212 §5.6.2) and its
answer (§5.6.3), and for the PCRF's Re-Auth-Request (§5.6.4) with its answer (§5.6.5); the
QoS data types (QoS-Information §5.3.16, Default-EPS-Bearer-QoS §5.3.48, ARP §5.3.32) and
PCC rules (Charging-Rule-Install/-Remove/-Definition §5.3.2-§5.3.4) as small frozen
dataclasses that turn into AVPs and back; the enumerations of §5.3 the NFs use. Every
message carries Auth-Application-Id 16777238 (Gx is a NASREQ/credit-control style
application, not a Vendor-Specific-Application-Id one). Parsing helpers raise
DiameterParseError with DIAMETER_INVALID_AVP_VALUE / DIAMETER_MISSING_AVP and the offending
AVP, so the PCRF answers bad input the RFC 6733 way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from .application import add_result, invalid_value, move_proxy_info_last, request_head
from .codec import Avp, Grouped, Message, make_avp
from .constants import APP_GX, CMD_CCR, CMD_RAR, ResultCode
from .errors import DiameterParseError

# Bit rates: the Unsigned32 bandwidth AVPs count bit/s; above 2^32-1 bit/s they are set to
# 2^32-1 and the Extended-* AVP carries the rate in kbit/s (TS 29.212 §4.5.30).
MAX_BANDWIDTH_BPS = 0xFFFFFFFF
# TS 23.203 §6.1.7.2: standardised QCI values are 1-9 (+65-86 for MC/V2X); the AVP is an
# Enumerated of 0..255 (TS 29.212 §5.3.17). Priority-Level is 1..15 (§5.3.45).
QCI_RANGE = range(0, 256)
ARP_PRIORITY_RANGE = range(1, 16)
# A PCC rule set larger than this in one message is refused as unreasonable input.
MAX_RULES_PER_MESSAGE = 64


class CcRequestType(IntEnum):
    """RFC 8506 §8.3 (TS 29.212 §4.5.1)."""

    INITIAL_REQUEST = 1
    UPDATE_REQUEST = 2
    TERMINATION_REQUEST = 3
    EVENT_REQUEST = 4


class IpCanType(IntEnum):
    """TS 29.212 §5.3.27."""

    THREEGPP_GPRS = 0
    DOCSIS = 1
    XDSL = 2
    WIMAX = 3
    THREEGPP2 = 4
    THREEGPP_EPS = 5
    NON_3GPP_EPS = 6


class RatType(IntEnum):
    """TS 29.212 §5.3.31."""

    WLAN = 0
    VIRTUAL = 1
    UTRAN = 1000
    GERAN = 1001
    GAN = 1002
    HSPA_EVOLUTION = 1003
    EUTRAN = 1004
    EUTRAN_NB_IOT = 1005


class SubscriptionIdType(IntEnum):
    """RFC 8506 §8.47."""

    END_USER_E164 = 0
    END_USER_IMSI = 1
    END_USER_SIP_URI = 2
    END_USER_NAI = 3
    END_USER_PRIVATE = 4


class PreemptionCapability(IntEnum):
    """TS 29.212 §5.3.46."""

    ENABLED = 0
    DISABLED = 1


class PreemptionVulnerability(IntEnum):
    """TS 29.212 §5.3.47."""

    ENABLED = 0
    DISABLED = 1


class FlowStatus(IntEnum):
    """TS 29.214 §5.3.11."""

    ENABLED_UPLINK = 0
    ENABLED_DOWNLINK = 1
    ENABLED = 2
    DISABLED = 3
    REMOVED = 4


class FlowDirection(IntEnum):
    """TS 29.212 §5.3.65."""

    UNSPECIFIED = 0
    DOWNLINK = 1
    UPLINK = 2
    BIDIRECTIONAL = 3


class ReAuthRequestType(IntEnum):
    """RFC 6733 §8.12."""

    AUTHORIZE_ONLY = 0
    AUTHORIZE_AUTHENTICATE = 1


class TerminationCause(IntEnum):
    """RFC 6733 §8.15 (CCR-T on Gx, STR on Rx)."""

    DIAMETER_LOGOUT = 1
    DIAMETER_SERVICE_NOT_PROVIDED = 2
    DIAMETER_BAD_ANSWER = 3
    DIAMETER_ADMINISTRATIVE = 4
    DIAMETER_LINK_BROKEN = 5
    DIAMETER_AUTH_EXPIRED = 6
    DIAMETER_USER_MOVED = 7
    DIAMETER_SESSION_TIMEOUT = 8


class PccRuleStatus(IntEnum):
    """TS 29.212 §5.3.19."""

    ACTIVE = 0
    INACTIVE = 1
    TEMPORARILY_INACTIVE = 2


class BearerControlMode(IntEnum):
    """TS 29.212 §5.3.23."""

    UE_ONLY = 0
    RESERVED = 1
    UE_NW = 2


class NetworkRequestSupport(IntEnum):
    """TS 29.212 §5.3.24."""

    NETWORK_REQUEST_NOT_SUPPORTED = 0
    NETWORK_REQUEST_SUPPORTED = 1


class SessionReleaseCause(IntEnum):
    """TS 29.212 §5.3.44."""

    UNSPECIFIED_REASON = 0
    UE_SUBSCRIPTION_REASON = 1
    INSUFFICIENT_SERVER_RESOURCES = 2


class EventTrigger(IntEnum):
    """TS 29.212 §5.3.7 (the values the EPC NFs use)."""

    SGSN_CHANGE = 0
    QOS_CHANGE = 1
    RAT_CHANGE = 2
    TFT_CHANGE = 3
    PLMN_CHANGE = 4
    LOSS_OF_BEARER = 5
    RECOVERY_OF_BEARER = 6
    IP_CAN_CHANGE = 7
    UE_IP_ADDRESS_ALLOCATE = 18
    UE_IP_ADDRESS_RELEASE = 19
    DEFAULT_EPS_BEARER_QOS_CHANGE = 20
    SUCCESSFUL_RESOURCE_ALLOCATION = 22


# --- QoS -------------------------------------------------------------------------------------


def _missing(name: str, example: object) -> DiameterParseError:
    return DiameterParseError(
        ResultCode.DIAMETER_MISSING_AVP, f"missing {name}", failed_avp=make_avp(name, example)
    )


@dataclass(frozen=True, slots=True)
class Arp:
    """Allocation-Retention-Priority (TS 29.212 §5.3.32; TS 23.203 §6.1.7.3)."""

    priority_level: int
    pre_emption_capability: int = PreemptionCapability.DISABLED
    pre_emption_vulnerability: int = PreemptionVulnerability.ENABLED

    def __post_init__(self) -> None:
        if self.priority_level not in ARP_PRIORITY_RANGE:
            raise ValueError(f"ARP priority level {self.priority_level} not in 1..15")

    def avps(self) -> list[tuple[str, object]]:
        return [
            ("Priority-Level", self.priority_level),
            ("Pre-emption-Capability", int(self.pre_emption_capability)),
            ("Pre-emption-Vulnerability", int(self.pre_emption_vulnerability)),
        ]

    @classmethod
    def from_grouped(cls, g: Grouped, avp: Avp | None = None) -> Arp:
        level = g.get("Priority-Level")
        if level is None:
            raise _missing("Priority-Level", 0)
        if level not in ARP_PRIORITY_RANGE:
            raise invalid_value(f"Priority-Level {level} not in 1..15", avp)
        cap = g.get("Pre-emption-Capability", PreemptionCapability.DISABLED)
        vul = g.get("Pre-emption-Vulnerability", PreemptionVulnerability.ENABLED)
        if cap not in (0, 1) or vul not in (0, 1):
            raise invalid_value("Pre-emption-Capability/-Vulnerability not 0 or 1", avp)
        return cls(int(level), int(cap), int(vul))


def _bandwidth(name: str, ext_name: str, bps: int) -> list[tuple[str, object]]:
    if bps < 0:
        raise ValueError(f"{name}: negative bit rate")
    if bps <= MAX_BANDWIDTH_BPS:
        return [(name, bps)]
    return [(name, MAX_BANDWIDTH_BPS), (ext_name, bps // 1000)]


def _read_bandwidth(g: Grouped, name: str, ext_name: str) -> int | None:
    value = g.get(name)
    ext = g.get(ext_name)
    if ext is not None:
        return int(ext) * 1000
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class BearerQos:
    """Default-EPS-Bearer-QoS (TS 29.212 §5.3.48): QCI and ARP of the default bearer."""

    qci: int
    arp: Arp

    def __post_init__(self) -> None:
        if self.qci not in QCI_RANGE:
            raise ValueError(f"QCI {self.qci} not in 0..255")

    def avps(self) -> list[tuple[str, object]]:
        return [
            ("QoS-Class-Identifier", self.qci),
            ("Allocation-Retention-Priority", self.arp.avps()),
        ]

    @classmethod
    def from_avp(cls, avp: Avp) -> BearerQos:
        g: Grouped = avp.value
        qci = g.get("QoS-Class-Identifier")
        if qci is None:
            raise _missing("QoS-Class-Identifier", 0)
        if qci not in QCI_RANGE:
            raise invalid_value(f"QCI {qci} not in 0..255", avp)
        arp_avp = g.find("Allocation-Retention-Priority")
        if arp_avp is None:
            raise _missing("Allocation-Retention-Priority", [("Priority-Level", 0)])
        return cls(int(qci), Arp.from_grouped(arp_avp.value, avp))


@dataclass(frozen=True, slots=True)
class QosInformation:
    """QoS-Information (TS 29.212 §5.3.16); bit rates in bit/s, None = absent."""

    qci: int | None = None
    arp: Arp | None = None
    mbr_ul: int | None = None
    mbr_dl: int | None = None
    gbr_ul: int | None = None
    gbr_dl: int | None = None
    apn_ambr_ul: int | None = None
    apn_ambr_dl: int | None = None
    bearer_identifier: bytes | None = None

    def avps(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        if self.qci is not None:
            out.append(("QoS-Class-Identifier", self.qci))
        if self.mbr_ul is not None:
            out += _bandwidth(
                "Max-Requested-Bandwidth-UL", "Extended-Max-Requested-BW-UL", self.mbr_ul
            )
        if self.mbr_dl is not None:
            out += _bandwidth(
                "Max-Requested-Bandwidth-DL", "Extended-Max-Requested-BW-DL", self.mbr_dl
            )
        if self.gbr_ul is not None:
            out += _bandwidth("Guaranteed-Bitrate-UL", "Extended-GBR-UL", self.gbr_ul)
        if self.gbr_dl is not None:
            out += _bandwidth("Guaranteed-Bitrate-DL", "Extended-GBR-DL", self.gbr_dl)
        if self.bearer_identifier is not None:
            out.append(("Bearer-Identifier", self.bearer_identifier))
        if self.arp is not None:
            out.append(("Allocation-Retention-Priority", self.arp.avps()))
        if self.apn_ambr_ul is not None:
            out += _bandwidth(
                "APN-Aggregate-Max-Bitrate-UL", "Extended-APN-AMBR-UL", self.apn_ambr_ul
            )
        if self.apn_ambr_dl is not None:
            out += _bandwidth(
                "APN-Aggregate-Max-Bitrate-DL", "Extended-APN-AMBR-DL", self.apn_ambr_dl
            )
        return out

    @classmethod
    def from_avp(cls, avp: Avp) -> QosInformation:
        g: Grouped = avp.value
        qci = g.get("QoS-Class-Identifier")
        if qci is not None and qci not in QCI_RANGE:
            raise invalid_value(f"QCI {qci} not in 0..255", avp)
        arp_avp = g.find("Allocation-Retention-Priority")
        bearer = g.get("Bearer-Identifier")
        return cls(
            qci=None if qci is None else int(qci),
            arp=None if arp_avp is None else Arp.from_grouped(arp_avp.value, avp),
            mbr_ul=_read_bandwidth(g, "Max-Requested-Bandwidth-UL", "Extended-Max-Requested-BW-UL"),
            mbr_dl=_read_bandwidth(g, "Max-Requested-Bandwidth-DL", "Extended-Max-Requested-BW-DL"),
            gbr_ul=_read_bandwidth(g, "Guaranteed-Bitrate-UL", "Extended-GBR-UL"),
            gbr_dl=_read_bandwidth(g, "Guaranteed-Bitrate-DL", "Extended-GBR-DL"),
            apn_ambr_ul=_read_bandwidth(g, "APN-Aggregate-Max-Bitrate-UL", "Extended-APN-AMBR-UL"),
            apn_ambr_dl=_read_bandwidth(g, "APN-Aggregate-Max-Bitrate-DL", "Extended-APN-AMBR-DL"),
            bearer_identifier=None if bearer is None else bytes(bearer),
        )


# --- PCC rules -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One Flow-Information (TS 29.212 §5.3.53): an IPFilterRule (RFC 6733 §4.3.1) and its
    direction, e.g. ``permit out 17 from 10.46.0.2 49152 to 10.46.0.3 50000``."""

    description: str
    direction: int = FlowDirection.BIDIRECTIONAL

    def avps(self) -> list[tuple[str, object]]:
        return [("Flow-Description", self.description), ("Flow-Direction", int(self.direction))]


@dataclass(frozen=True, slots=True)
class ChargingRule:
    """A dynamic PCC rule: Charging-Rule-Definition (TS 29.212 §5.3.4)."""

    name: str
    qos: QosInformation
    flows: tuple[Flow, ...] = ()
    precedence: int | None = None
    flow_status: int = FlowStatus.ENABLED
    af_charging_identifier: bytes | None = None
    rating_group: int | None = None

    def avps(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("Charging-Rule-Name", self.name.encode())]
        if self.rating_group is not None:
            out.append(("Rating-Group", self.rating_group))
        out += [("Flow-Information", f.avps()) for f in self.flows]
        out.append(("Flow-Status", int(self.flow_status)))
        out.append(("QoS-Information", self.qos.avps()))
        if self.precedence is not None:
            out.append(("Precedence", self.precedence))
        if self.af_charging_identifier is not None:
            out.append(("AF-Charging-Identifier", self.af_charging_identifier))
        return out

    @classmethod
    def from_avp(cls, avp: Avp) -> ChargingRule:
        g: Grouped = avp.value
        name = g.get("Charging-Rule-Name")
        if name is None:
            raise _missing("Charging-Rule-Name", b"")
        qos_avp = g.find("QoS-Information")
        flows = []
        for fa in g.find_all("Flow-Information"):
            fg: Grouped = fa.value
            desc = fg.get("Flow-Description")
            if desc is None:
                continue
            flows.append(
                Flow(bytes(desc).decode("utf-8", "replace"), int(fg.get("Flow-Direction", 0)))
            )
        return cls(
            name=bytes(name).decode("utf-8", "replace"),
            qos=QosInformation() if qos_avp is None else QosInformation.from_avp(qos_avp),
            flows=tuple(flows),
            precedence=g.get("Precedence"),
            flow_status=int(g.get("Flow-Status", FlowStatus.ENABLED)),
            af_charging_identifier=g.get("AF-Charging-Identifier"),
            rating_group=g.get("Rating-Group"),
        )


def charging_rule_install(rules: Iterable[ChargingRule]) -> list[tuple[str, object]]:
    """The content of one Charging-Rule-Install holding ``rules`` (TS 29.212 §5.3.2)."""
    return [("Charging-Rule-Definition", r.avps()) for r in rules]


def charging_rule_remove(names: Iterable[str]) -> list[tuple[str, object]]:
    """The content of one Charging-Rule-Remove naming ``names`` (TS 29.212 §5.3.3)."""
    return [("Charging-Rule-Name", n.encode()) for n in names]


def installed_rules(msg: Message) -> list[ChargingRule]:
    """Every Charging-Rule-Definition inside the message's Charging-Rule-Install AVPs."""
    out: list[ChargingRule] = []
    for install in msg.find_all("Charging-Rule-Install"):
        for d in install.value.find_all("Charging-Rule-Definition"):
            out.append(ChargingRule.from_avp(d))
            if len(out) > MAX_RULES_PER_MESSAGE:
                raise DiameterParseError(
                    ResultCode.DIAMETER_RESOURCES_EXCEEDED,
                    f"more than {MAX_RULES_PER_MESSAGE} PCC rules in one message",
                    failed_avp=install,
                )
    return out


def removed_rule_names(msg: Message) -> list[str]:
    """Every Charging-Rule-Name inside the message's Charging-Rule-Remove AVPs."""
    return [
        bytes(n).decode("utf-8", "replace")
        for remove in msg.get_all("Charging-Rule-Remove")
        for n in remove.get_all("Charging-Rule-Name")
    ]


# --- addresses -------------------------------------------------------------------------------


def framed_ip(address: str) -> bytes:
    """Framed-IP-Address value (RFC 7155 §4.4.10.5.1): the four octets of an IPv4 address."""
    return ipaddress.IPv4Address(address).packed


def read_framed_ip(msg: Message) -> str | None:
    """The UE's IPv4 address from Framed-IP-Address; 5004 if it is not four octets."""
    avp = msg.find("Framed-IP-Address")
    if avp is None:
        return None
    if len(avp.data) != 4:
        raise invalid_value("Framed-IP-Address is not an IPv4 address (4 octets)", avp)
    return str(ipaddress.IPv4Address(avp.data))


# --- messages --------------------------------------------------------------------------------


def _head(
    command_code: int,
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    msg = request_head(
        command_code, APP_GX, session_id=session_id, hop_by_hop=hop_by_hop, end_to_end=end_to_end
    )
    msg.add("Auth-Application-Id", APP_GX)
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    msg.add("Destination-Realm", destination_realm)
    return msg


def make_ccr(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    request_type: int,
    request_number: int,
    destination_host: str | None = None,
    imsi: str | None = None,
    msisdn: str | None = None,
    ue_ipv4: str | None = None,
    apn: str | None = None,
    ip_can_type: int | None = IpCanType.THREEGPP_EPS,
    rat_type: int | None = RatType.EUTRAN,
    default_bearer_qos: BearerQos | None = None,
    qos_information: QosInformation | None = None,
    network_request_support: int | None = None,
    an_gw_address: str | None = None,
    sgsn_mcc_mnc: str | None = None,
    user_location_info: bytes | None = None,
    termination_cause: int | None = None,
    bearer_identifier: bytes | None = None,
    charging_rule_reports: Sequence[Sequence[tuple[str, object]]] = (),
    event_triggers: Sequence[int] = (),
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Credit-Control-Request, PCEF -> PCRF (TS 29.212 §5.6.2; procedures TS 29.213 §4).

    INITIAL carries the subscriber (Subscription-Id IMSI and MSISDN), the UE address, the
    APN (Called-Station-Id), the default bearer QoS and APN-AMBR the PGW got from the MME;
    TERMINATION carries Termination-Cause (default DIAMETER_LOGOUT).
    """
    msg = _head(
        CMD_CCR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("CC-Request-Type", int(request_type)).add("CC-Request-Number", request_number)
    if destination_host is not None:
        msg.add("Destination-Host", destination_host)
    if imsi is not None:
        msg.add(
            "Subscription-Id",
            [
                ("Subscription-Id-Type", SubscriptionIdType.END_USER_IMSI),
                ("Subscription-Id-Data", imsi),
            ],
        )
    if msisdn is not None:
        msg.add(
            "Subscription-Id",
            [
                ("Subscription-Id-Type", SubscriptionIdType.END_USER_E164),
                ("Subscription-Id-Data", msisdn),
            ],
        )
    if network_request_support is not None:
        msg.add("Network-Request-Support", int(network_request_support))
    if bearer_identifier is not None:
        msg.add("Bearer-Identifier", bearer_identifier)
    if ue_ipv4 is not None:
        msg.add("Framed-IP-Address", framed_ip(ue_ipv4))
    if ip_can_type is not None:
        msg.add("IP-CAN-Type", int(ip_can_type))
    if rat_type is not None:
        msg.add("RAT-Type", int(rat_type))
    if request_type == CcRequestType.TERMINATION_REQUEST:
        msg.add(
            "Termination-Cause",
            int(termination_cause if termination_cause is not None else 1),
        )
    if qos_information is not None:
        msg.add("QoS-Information", qos_information.avps())
    if default_bearer_qos is not None:
        msg.add("Default-EPS-Bearer-QoS", default_bearer_qos.avps())
    if an_gw_address is not None:
        msg.add("AN-GW-Address", an_gw_address)
    if sgsn_mcc_mnc is not None:
        msg.add("3GPP-SGSN-MCC-MNC", sgsn_mcc_mnc)
    if user_location_info is not None:
        msg.add("3GPP-User-Location-Info", user_location_info)
    if apn is not None:
        msg.add("Called-Station-Id", apn)
    for report in charging_rule_reports:
        msg.add("Charging-Rule-Report", list(report))
    for trigger in event_triggers:
        msg.add("Event-Trigger", int(trigger))
    return msg


def cca(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None = None,
    experimental_result_code: int | None = None,
    default_bearer_qos: BearerQos | None = None,
    qos_information: QosInformation | None = None,
    install: Sequence[ChargingRule] = (),
    remove: Sequence[str] = (),
    event_triggers: Sequence[int] = (),
    bearer_control_mode: int | None = None,
) -> Message:
    """Credit-Control-Answer, PCRF -> PCEF (TS 29.212 §5.6.3).

    Copies Session-Id, CC-Request-Type and CC-Request-Number from the request; exactly one
    of ``result_code`` and ``experimental_result_code`` (vendor 10415) is given.
    """
    ans = request.answer()
    ans.add("Auth-Application-Id", APP_GX)
    ans.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    add_result(ans, result_code, experimental_result_code)
    for name in ("CC-Request-Type", "CC-Request-Number"):
        avp = request.find(name)
        ans.avps.append(avp.copy() if avp is not None else make_avp(name, 0))
    if bearer_control_mode is not None:
        ans.add("Bearer-Control-Mode", int(bearer_control_mode))
    for trigger in event_triggers:
        ans.add("Event-Trigger", int(trigger))
    if remove:
        ans.add("Charging-Rule-Remove", charging_rule_remove(remove))
    if install:
        ans.add("Charging-Rule-Install", charging_rule_install(install))
    if qos_information is not None:
        ans.add("QoS-Information", qos_information.avps())
    if default_bearer_qos is not None:
        ans.add("Default-EPS-Bearer-QoS", default_bearer_qos.avps())
    move_proxy_info_last(ans)
    return ans


def make_rar(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_host: str,
    destination_realm: str,
    install: Sequence[ChargingRule] = (),
    remove: Sequence[str] = (),
    default_bearer_qos: BearerQos | None = None,
    qos_information: QosInformation | None = None,
    session_release_cause: int | None = None,
    event_triggers: Sequence[int] = (),
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Re-Auth-Request, PCRF -> PCEF (TS 29.212 §5.6.4): push PCC rules / QoS for a session
    (TS 29.213 §4.3: a dedicated bearer for an Rx media component), or ask the PCEF to end the
    IP-CAN session (Session-Release-Cause)."""
    msg = _head(
        CMD_RAR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Destination-Host", destination_host)
    msg.add("Re-Auth-Request-Type", ReAuthRequestType.AUTHORIZE_ONLY)
    if session_release_cause is not None:
        msg.add("Session-Release-Cause", int(session_release_cause))
    for trigger in event_triggers:
        msg.add("Event-Trigger", int(trigger))
    if remove:
        msg.add("Charging-Rule-Remove", charging_rule_remove(remove))
    if install:
        msg.add("Charging-Rule-Install", charging_rule_install(install))
    if default_bearer_qos is not None:
        msg.add("Default-EPS-Bearer-QoS", default_bearer_qos.avps())
    if qos_information is not None:
        msg.add("QoS-Information", qos_information.avps())
    return msg


def raa(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None = None,
    experimental_result_code: int | None = None,
    failed_rules: Sequence[tuple[str, int]] = (),
) -> Message:
    """Re-Auth-Answer, PCEF -> PCRF (TS 29.212 §5.6.5). ``failed_rules`` are (rule name,
    Rule-Failure-Code §5.3.38) pairs reported as INACTIVE in Charging-Rule-Report."""
    ans = request.answer()
    ans.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    add_result(ans, result_code, experimental_result_code)
    for name, code in failed_rules:
        ans.add(
            "Charging-Rule-Report",
            [
                ("Charging-Rule-Name", name.encode()),
                ("PCC-Rule-Status", PccRuleStatus.INACTIVE),
                ("Rule-Failure-Code", code),
            ],
        )
    move_proxy_info_last(ans)
    return ans


# --- reading a CCR -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CcrInfo:
    """What a PCRF needs from a Gx CCR, checked (TS 29.212 §4.5.1, §5.6.2)."""

    session_id: str
    request_type: int
    request_number: int
    imsi: str | None = None
    msisdn: str | None = None
    ue_ipv4: str | None = None
    apn: str | None = None
    ip_can_type: int | None = None
    rat_type: int | None = None
    default_bearer_qos: BearerQos | None = None
    qos_information: QosInformation | None = None
    termination_cause: int | None = None
    origin_host: str = ""
    origin_realm: str = ""


def read_ccr(msg: Message) -> CcrInfo:
    """Extract and check a Gx CCR (validate() has already checked the ABNF).

    Raises DiameterParseError: 5004 for an unknown CC-Request-Type or a malformed QoS/ARP or
    UE address, 5005 when CCR-I lacks the subscriber (Subscription-Id) — the PCRF cannot pick
    a policy without it (TS 29.212 §4.5.1).
    """
    type_avp = msg.find("CC-Request-Type")
    number = msg.get("CC-Request-Number")
    if type_avp is None or number is None:
        raise _missing("CC-Request-Type" if type_avp is None else "CC-Request-Number", 0)
    request_type = type_avp.value
    if request_type not in (1, 2, 3, 4):
        raise invalid_value(f"CC-Request-Type {request_type} unknown", type_avp)
    imsi = msisdn = None
    for sub in msg.get_all("Subscription-Id"):
        kind = sub.get("Subscription-Id-Type")
        data = sub.get("Subscription-Id-Data")
        if kind == SubscriptionIdType.END_USER_IMSI:
            imsi = data
        elif kind == SubscriptionIdType.END_USER_E164:
            msisdn = data
    if request_type == CcRequestType.INITIAL_REQUEST and imsi is None and msisdn is None:
        raise _missing(
            "Subscription-Id",
            [("Subscription-Id-Type", 1), ("Subscription-Id-Data", "")],
        )
    dq = msg.find("Default-EPS-Bearer-QoS")
    qi = msg.find("QoS-Information")
    return CcrInfo(
        session_id=str(msg.get("Session-Id", "")),
        request_type=int(request_type),
        request_number=int(number),
        imsi=imsi,
        msisdn=msisdn,
        ue_ipv4=read_framed_ip(msg),
        apn=msg.get("Called-Station-Id"),
        ip_can_type=msg.get("IP-CAN-Type"),
        rat_type=msg.get("RAT-Type"),
        default_bearer_qos=None if dq is None else BearerQos.from_avp(dq),
        qos_information=None if qi is None else QosInformation.from_avp(qi),
        termination_cause=msg.get("Termination-Cause"),
        origin_host=str(msg.get("Origin-Host", "")),
        origin_realm=str(msg.get("Origin-Realm", "")),
    )

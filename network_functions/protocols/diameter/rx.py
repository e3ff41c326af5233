"""The Rx application (TS 29.213 procedures, TS 29.214 protocol): AF (P-CSCF) <-> PCRF.

Builders for AA-Request/-Answer (TS 29.214 §5.6.1/§5.6.2) carrying the session's media as
Media-Component-Description (§5.3.7) with Media-Sub-Components (§5.3.8, the IP flows), and
for Session-Termination-Request/-Answer (§5.6.5/§5.6.6) that ends the AF session and with
it the dedicated bearer. Media as frozen dataclasses (``MediaComponent``, ``MediaFlow``)
that become AVPs and come back from them; ``read_aar`` extracts and checks what a PCRF
needs, raising DiameterParseError (5004/5005 with Failed-AVP; the Rx-specific
INVALID_SERVICE_INFORMATION is for the application to send). Every message carries
Auth-Application-Id 16777236.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from .application import (
    add_result,
    check_one_result,
    invalid_value,
    move_proxy_info_last,
    request_head,
)
from .codec import Avp, Grouped, Message
from .constants import APP_RX, CMD_AAR, CMD_STR, ResultCode
from .errors import DiameterParseError
from .gx import FlowStatus, SubscriptionIdType, TerminationCause, framed_ip, read_framed_ip

# §5.3.7: a VoLTE call has one audio component (+ RTCP); more than this in one AAR is refused
# as unreasonable input rather than turned into PCC rules.
MAX_MEDIA_COMPONENTS = 16
# §5.3.8: at most two Flow-Description per sub-component (uplink and downlink).
MAX_FLOW_DESCRIPTIONS = 2


class MediaType(IntEnum):
    """TS 29.214 §5.3.19."""

    AUDIO = 0
    VIDEO = 1
    DATA = 2
    APPLICATION = 3
    CONTROL = 4
    TEXT = 5
    MESSAGE = 6


class FlowUsage(IntEnum):
    """TS 29.214 §5.3.12."""

    NO_INFORMATION = 0
    RTCP = 1
    AF_SIGNALLING = 2


class SpecificAction(IntEnum):
    """TS 29.214 §5.3.13 (the values a P-CSCF subscribes to)."""

    CHARGING_CORRELATION_EXCHANGE = 1
    INDICATION_OF_LOSS_OF_BEARER = 2
    INDICATION_OF_RECOVERY_OF_BEARER = 3
    INDICATION_OF_RELEASE_OF_BEARER = 4
    IP_CAN_CHANGE = 6
    INDICATION_OF_OUT_OF_CREDIT = 7
    INDICATION_OF_SUCCESSFUL_RESOURCES_ALLOCATION = 8
    INDICATION_OF_FAILED_RESOURCES_ALLOCATION = 9


class AbortCause(IntEnum):
    """TS 29.214 §5.3.1."""

    BEARER_RELEASED = 0
    INSUFFICIENT_SERVER_RESOURCES = 1
    INSUFFICIENT_BEARER_RESOURCES = 2


@dataclass(frozen=True, slots=True)
class MediaFlow:
    """Media-Sub-Component (§5.3.8): one IP flow (RTP or RTCP) as IPFilterRules.

    Flow-Descriptions are written from the UE's point of view per §5.3.8/§5.4:
    ``permit out 17 from <remote> <port> to <ue> <port>`` for downlink and
    ``permit in 17 from <ue> <port> to <remote> <port>`` for uplink.
    """

    flow_number: int
    descriptions: tuple[str, ...] = ()
    usage: int = FlowUsage.NO_INFORMATION
    flow_status: int | None = None

    def avps(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("Flow-Number", self.flow_number)]
        out += [("Flow-Description", d) for d in self.descriptions]
        if self.flow_status is not None:
            out.append(("Flow-Status", int(self.flow_status)))
        if self.usage != FlowUsage.NO_INFORMATION:
            out.append(("Flow-Usage", int(self.usage)))
        return out

    @classmethod
    def from_avp(cls, avp: Avp, outer: Avp) -> MediaFlow:
        g: Grouped = avp.value
        number = g.get("Flow-Number")
        if number is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                "Media-Sub-Component without Flow-Number",
                failed_avp=outer,
            )
        descs = []
        for d in g.get_all("Flow-Description"):
            try:
                descs.append(bytes(d).decode("ascii"))
            except UnicodeDecodeError:
                raise invalid_value(
                    "Flow-Description is not an ASCII IPFilterRule", outer
                ) from None
        return cls(
            flow_number=int(number),
            descriptions=tuple(descs),
            usage=int(g.get("Flow-Usage", FlowUsage.NO_INFORMATION)),
            flow_status=g.get("Flow-Status"),
        )


@dataclass(frozen=True, slots=True)
class MediaComponent:
    """Media-Component-Description (§5.3.7): one SDP media line and its flows. Bandwidths are
    bit/s (from the SDP b=AS line, TS 29.213 §6.2)."""

    number: int
    media_type: int = MediaType.AUDIO
    flows: tuple[MediaFlow, ...] = ()
    max_ul: int | None = None
    max_dl: int | None = None
    flow_status: int = FlowStatus.ENABLED
    codec_data: tuple[bytes, ...] = ()

    def avps(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("Media-Component-Number", self.number)]
        out += [("Media-Sub-Component", f.avps()) for f in self.flows]
        out.append(("Media-Type", int(self.media_type)))
        if self.max_ul is not None:
            out.append(("Max-Requested-Bandwidth-UL", self.max_ul))
        if self.max_dl is not None:
            out.append(("Max-Requested-Bandwidth-DL", self.max_dl))
        out.append(("Flow-Status", int(self.flow_status)))
        out += [("Codec-Data", c) for c in self.codec_data]
        return out

    @classmethod
    def from_avp(cls, avp: Avp) -> MediaComponent:
        g: Grouped = avp.value
        number = g.get("Media-Component-Number")
        if number is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                "Media-Component-Description without Media-Component-Number",
                failed_avp=avp,
            )
        media_type = g.get("Media-Type", MediaType.AUDIO)
        if not 0 <= media_type <= 6:
            raise invalid_value(f"Media-Type {media_type} unknown", avp)
        return cls(
            number=int(number),
            media_type=int(media_type),
            flows=tuple(MediaFlow.from_avp(s, avp) for s in g.find_all("Media-Sub-Component")),
            max_ul=g.get("Max-Requested-Bandwidth-UL"),
            max_dl=g.get("Max-Requested-Bandwidth-DL"),
            flow_status=int(g.get("Flow-Status", FlowStatus.ENABLED)),
            codec_data=tuple(bytes(c) for c in g.get_all("Codec-Data")),
        )


def _head(command_code: int, *, session_id: str, hop_by_hop: int, end_to_end: int) -> Message:
    return request_head(
        command_code, APP_RX, session_id=session_id, hop_by_hop=hop_by_hop, end_to_end=end_to_end
    )


def make_aar(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    ue_ipv4: str,
    media: Sequence[MediaComponent],
    af_charging_identifier: bytes | None = None,
    subscriber: str | None = None,
    specific_actions: Sequence[int] = (),
    destination_host: str | None = None,
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """AA-Request, P-CSCF -> PCRF (TS 29.214 §5.6.1; TS 29.213 §4.3.1): authorise the media
    of a session for the UE at ``ue_ipv4`` (Framed-IP-Address binds it to the Gx session).
    ``subscriber`` is the SIP URI or tel URI of the served user (Subscription-Id)."""
    msg = _head(CMD_AAR, session_id=session_id, hop_by_hop=hop_by_hop, end_to_end=end_to_end)
    msg.add("Auth-Application-Id", APP_RX)
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    msg.add("Destination-Realm", destination_realm)
    if destination_host is not None:
        msg.add("Destination-Host", destination_host)
    for component in media:
        msg.add("Media-Component-Description", component.avps())
    if af_charging_identifier is not None:
        msg.add("AF-Charging-Identifier", af_charging_identifier)
    for action in specific_actions:
        msg.add("Specific-Action", int(action))
    if subscriber is not None:
        kind = SubscriptionIdType.END_USER_SIP_URI
        if subscriber.startswith("tel:"):
            kind = SubscriptionIdType.END_USER_E164
            subscriber = subscriber[4:].lstrip("+")
        msg.add(
            "Subscription-Id",
            [("Subscription-Id-Type", kind), ("Subscription-Id-Data", subscriber)],
        )
    msg.add("Framed-IP-Address", framed_ip(ue_ipv4))
    return msg


def _answer(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None,
    experimental_result_code: int | None,
    application: bool,
) -> Message:
    check_one_result(result_code, experimental_result_code)
    ans = request.answer()
    if application:
        ans.add("Auth-Application-Id", APP_RX)
    ans.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    add_result(ans, result_code, experimental_result_code)
    move_proxy_info_last(ans)
    return ans


def aaa(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None = None,
    experimental_result_code: int | None = None,
) -> Message:
    """AA-Answer, PCRF -> P-CSCF (§5.6.2). Exactly one of the two result kinds is given."""
    return _answer(
        request,
        origin_host=origin_host,
        origin_realm=origin_realm,
        result_code=result_code,
        experimental_result_code=experimental_result_code,
        application=True,
    )


def make_str(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    termination_cause: int = TerminationCause.DIAMETER_LOGOUT,
    destination_host: str | None = None,
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Session-Termination-Request, P-CSCF -> PCRF (§5.6.5; TS 29.213 §4.4.1 at call end)."""
    msg = _head(CMD_STR, session_id=session_id, hop_by_hop=hop_by_hop, end_to_end=end_to_end)
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    msg.add("Destination-Realm", destination_realm)
    msg.add("Auth-Application-Id", APP_RX)
    msg.add("Termination-Cause", int(termination_cause))
    if destination_host is not None:
        msg.add("Destination-Host", destination_host)
    return msg


def sta(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int = ResultCode.DIAMETER_SUCCESS,
) -> Message:
    """Session-Termination-Answer, PCRF -> P-CSCF (§5.6.6)."""
    return _answer(
        request,
        origin_host=origin_host,
        origin_realm=origin_realm,
        result_code=result_code,
        experimental_result_code=None,
        application=False,
    )


@dataclass(frozen=True, slots=True)
class AarInfo:
    """What a PCRF needs from an Rx AAR, checked (TS 29.214 §5.6.1)."""

    session_id: str
    origin_host: str
    origin_realm: str
    ue_ipv4: str | None
    media: tuple[MediaComponent, ...]
    af_charging_identifier: bytes | None
    subscriber: str | None


def read_aar(msg: Message) -> AarInfo:
    """Extract and check an AAR (validate() has checked the ABNF).

    Raises DiameterParseError: 5004 for a Framed-IP-Address that is not IPv4 or a malformed
    media component, 5006 DIAMETER_RESOURCES_EXCEEDED for more than MAX_MEDIA_COMPONENTS.
    """
    mcds = msg.find_all("Media-Component-Description")
    if len(mcds) > MAX_MEDIA_COMPONENTS:
        raise DiameterParseError(
            ResultCode.DIAMETER_RESOURCES_EXCEEDED,
            f"more than {MAX_MEDIA_COMPONENTS} media components",
            failed_avp=mcds[MAX_MEDIA_COMPONENTS],
        )
    subscriber = None
    sub = msg.get("Subscription-Id")
    if sub is not None:
        subscriber = sub.get("Subscription-Id-Data")
    return AarInfo(
        session_id=str(msg.get("Session-Id", "")),
        origin_host=str(msg.get("Origin-Host", "")),
        origin_realm=str(msg.get("Origin-Realm", "")),
        ue_ipv4=read_framed_ip(msg),
        media=tuple(MediaComponent.from_avp(a) for a in mcds),
        af_charging_identifier=msg.get("AF-Charging-Identifier"),
        subscriber=subscriber,
    )

"""The S6a application (TS 23.401 procedures, TS 29.272 protocol): MME <-> HSS.

Request builders for Authentication-Information (AIR, §7.2.5), Update-Location (ULR,
§7.2.3), Purge-UE (PUR, §7.2.13) and Cancel-Location (CLR, §7.2.7, HSS -> MME), each with
Vendor-Specific-Application-Id {10415, 16777251} and Auth-Session-State NO_STATE_MAINTAINED
(§7.1: S6a is stateless); the answer skeleton ``s6a_answer``; the E-UTRAN authentication
vector (§7.3.18) and the subscription data (Subscription-Data §7.3.2 with AMBR §7.3.41 and
the APN-Configuration-Profile §7.3.34) as frozen dataclasses that turn into AVPs and back;
the PLMN (Visited-PLMN-Id §7.3.9) and MSISDN (TBCD, TS 29.329 §6.3.2) encodings. Readers
raise DiameterParseError (5004 / 5005 with Failed-AVP) on malformed input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from network_functions.protocols.kdf import plmn_bytes

from .application import invalid_value, stateless_answer, stateless_request
from .codec import Avp, Grouped, Message, make_avp
from .constants import APP_S6A, CMD_AIR, CMD_CLR, CMD_PUR, CMD_ULR, VENDOR_3GPP, ResultCode
from .errors import DiameterParseError
from .gx import Arp, RatType

# §7.3.11 Number-Of-Requested-Vectors: the HSS returns at most this many whatever is asked
# (TS 33.401 §6.1.2 lets it send fewer; five keeps an AIA small).
MAX_REQUESTED_VECTORS = 5
# §7.3.15 Re-Synchronization-Info: RAND (16 octets) || AUTS (14 octets).
RESYNC_INFO_LENGTH = 30
# TS 23.003 §2.2: an IMSI is at most 15 digits.
MAX_IMSI_DIGITS = 15

# §7.3.7 ULR-Flags bits.
ULR_SINGLE_REGISTRATION_INDICATION = 1 << 0
ULR_S6A_S6D_INDICATOR = 1 << 1  # set: the request comes from an MME (S6a)
ULR_SKIP_SUBSCRIBER_DATA = 1 << 2
ULR_GPRS_SUBSCRIPTION_DATA_INDICATOR = 1 << 3
ULR_NODE_TYPE_INDICATOR = 1 << 4
ULR_INITIAL_ATTACH_INDICATOR = 1 << 5
ULR_PS_LCS_NOT_SUPPORTED_BY_UE = 1 << 6
# §7.3.8 ULA-Flags bits.
ULA_SEPARATION_INDICATION = 1 << 0
ULA_MME_REGISTERED_FOR_SMS = 1 << 1
# §7.3.149 PUR-Flags, §7.3.48 PUA-Flags, §7.3.152 CLR-Flags bits.
PUR_UE_PURGED_IN_MME = 1 << 0
PUA_FREEZE_M_TMSI = 1 << 0
CLR_S6A_S6D_INDICATOR = 1 << 0
CLR_REATTACH_REQUIRED = 1 << 1

S6A_VENDOR_SPECIFIC_APPLICATION_ID: list[tuple[str, object]] = [
    ("Vendor-Id", VENDOR_3GPP),
    ("Auth-Application-Id", APP_S6A),
]


class CancellationType(IntEnum):
    """§7.3.24."""

    MME_UPDATE_PROCEDURE = 0
    SGSN_UPDATE_PROCEDURE = 1
    SUBSCRIPTION_WITHDRAWAL = 2
    UPDATE_PROCEDURE_IWF = 3
    INITIAL_ATTACH_PROCEDURE = 4


class PdnType(IntEnum):
    """§7.3.62."""

    IPV4 = 0
    IPV6 = 1
    IPV4V6 = 2
    IPV4_OR_IPV6 = 3


class SubscriberStatus(IntEnum):
    """§7.3.29."""

    SERVICE_GRANTED = 0
    OPERATOR_DETERMINED_BARRING = 1


class NetworkAccessMode(IntEnum):
    """§7.3.21."""

    PACKET_AND_CIRCUIT = 0
    RESERVED = 1
    ONLY_PACKET = 2


class AllApnConfigurationsIncluded(IntEnum):
    """§7.3.33 All-APN-Configurations-Included-Indicator."""

    ALL_APN_CONFIGURATIONS_INCLUDED = 0
    MODIFIED_ADDED_APN_CONFIGURATIONS_INCLUDED = 1


# --- encodings -------------------------------------------------------------------------------


def plmn_id(mcc: str, mnc: str) -> bytes:
    """Visited-PLMN-Id (§7.3.9): MCC/MNC in three octets as in TS 24.008 §10.5.1.13."""
    return plmn_bytes(mcc, mnc)


def read_plmn(data: bytes) -> tuple[str, str]:
    """(MCC, MNC) from three PLMN octets; ValueError if they are not BCD digits."""
    if len(data) != 3:
        raise ValueError(f"a PLMN identity is 3 octets, got {len(data)}")
    digits = [data[0] & 0xF, data[0] >> 4, data[1] & 0xF, data[2] & 0xF, data[2] >> 4, data[1] >> 4]
    if any(d > 9 for d in digits[:5]) or (digits[5] > 9 and digits[5] != 0xF):
        raise ValueError(f"PLMN identity {data.hex()} is not BCD")
    mcc = "".join(str(d) for d in digits[:3])
    mnc = "".join(str(d) for d in digits[3:5]) + ("" if digits[5] == 0xF else str(digits[5]))
    return mcc, mnc


def tbcd(digits: str) -> bytes:
    """TBCD string (TS 29.002 / TS 29.329 §6.3.2 MSISDN): two digits per octet, the first in
    the low nibble, 0xF filler after an odd count."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"TBCD needs decimal digits, got {digits!r}")
    if len(digits) % 2:
        digits += "F"
    return bytes(
        int(digits[i], 16) | (int(digits[i + 1], 16) << 4) for i in range(0, len(digits), 2)
    )


def read_tbcd(data: bytes) -> str:
    """Digits of a TBCD string; ValueError on a nibble that is neither a digit nor filler."""
    out = []
    for i, octet in enumerate(data):
        for nibble in (octet & 0xF, octet >> 4):
            if nibble == 0xF and i == len(data) - 1:
                continue
            if nibble > 9:
                raise ValueError(f"TBCD octet {octet:02x} is not BCD")
            out.append(str(nibble))
    return "".join(out)


# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EutranVector:
    """E-UTRAN-Vector (§7.3.18): RAND, XRES, AUTN and K_ASME (TS 33.401 §6.1.2)."""

    rand: bytes
    xres: bytes
    autn: bytes
    kasme: bytes

    def avps(self, item_number: int | None = None) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        if item_number is not None:
            out.append(("Item-Number", item_number))
        out += [
            ("RAND", self.rand),
            ("XRES", self.xres),
            ("AUTN", self.autn),
            ("KASME", self.kasme),
        ]
        return out

    @classmethod
    def from_avp(cls, avp: Avp) -> EutranVector:
        g: Grouped = avp.value
        rand, xres, autn, kasme = (g.get(n) for n in ("RAND", "XRES", "AUTN", "KASME"))
        if rand is None or xres is None or autn is None or kasme is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                "E-UTRAN-Vector lacks RAND, XRES, AUTN or KASME",
                failed_avp=avp,
            )
        if len(rand) != 16 or len(autn) != 16 or len(kasme) != 32 or not 4 <= len(xres) <= 16:
            raise invalid_value("E-UTRAN-Vector field of the wrong length", avp)
        return cls(bytes(rand), bytes(xres), bytes(autn), bytes(kasme))


@dataclass(frozen=True, slots=True)
class ApnProfile:
    """One APN-Configuration (§7.3.35) with its EPS-Subscribed-QoS-Profile and AMBR (bit/s)."""

    context_identifier: int
    service_selection: str
    qci: int
    arp: Arp
    ambr_ul: int
    ambr_dl: int
    pdn_type: int = PdnType.IPV4

    def avps(self) -> list[tuple[str, object]]:
        return [
            ("Context-Identifier", self.context_identifier),
            ("PDN-Type", int(self.pdn_type)),
            ("Service-Selection", self.service_selection),
            (
                "EPS-Subscribed-QoS-Profile",
                [
                    ("QoS-Class-Identifier", self.qci),
                    ("Allocation-Retention-Priority", self.arp.avps()),
                ],
            ),
            (
                "AMBR",
                [
                    ("Max-Requested-Bandwidth-UL", min(self.ambr_ul, 0xFFFFFFFF)),
                    ("Max-Requested-Bandwidth-DL", min(self.ambr_dl, 0xFFFFFFFF)),
                ],
            ),
        ]

    @classmethod
    def from_avp(cls, avp: Avp) -> ApnProfile:
        g: Grouped = avp.value
        ctx = g.get("Context-Identifier")
        name = g.get("Service-Selection")
        if ctx is None or name is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                "APN-Configuration lacks Context-Identifier or Service-Selection",
                failed_avp=avp,
            )
        qos_avp = g.find("EPS-Subscribed-QoS-Profile")
        if qos_avp is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                f"APN {name}: no EPS-Subscribed-QoS-Profile",
                failed_avp=avp,
            )
        qos: Grouped = qos_avp.value
        qci = qos.get("QoS-Class-Identifier")
        arp_avp = qos.find("Allocation-Retention-Priority")
        if qci is None or arp_avp is None:
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                f"APN {name}: EPS-Subscribed-QoS-Profile lacks QCI or ARP",
                failed_avp=avp,
            )
        ambr = g.get("AMBR")
        return cls(
            context_identifier=int(ctx),
            service_selection=str(name),
            qci=int(qci),
            arp=Arp.from_grouped(arp_avp.value, avp),
            ambr_ul=int(ambr.get("Max-Requested-Bandwidth-UL", 0)) if ambr is not None else 0,
            ambr_dl=int(ambr.get("Max-Requested-Bandwidth-DL", 0)) if ambr is not None else 0,
            pdn_type=int(g.get("PDN-Type", PdnType.IPV4)),
        )


@dataclass(frozen=True, slots=True)
class SubscriptionData:
    """The EPS part of Subscription-Data (§7.3.2): MSISDN, UE-AMBR (bit/s) and the APNs;
    ``default_context`` is the Context-Identifier of the default APN (§7.3.34)."""

    msisdn: str
    ambr_ul: int
    ambr_dl: int
    apns: tuple[ApnProfile, ...] = field(default_factory=tuple)
    default_context: int = 1
    subscriber_status: int = SubscriberStatus.SERVICE_GRANTED
    network_access_mode: int = NetworkAccessMode.ONLY_PACKET

    def avps(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [
            ("Subscriber-Status", int(self.subscriber_status)),
            ("MSISDN", tbcd(self.msisdn)),
            ("Network-Access-Mode", int(self.network_access_mode)),
            (
                "AMBR",
                [
                    ("Max-Requested-Bandwidth-UL", min(self.ambr_ul, 0xFFFFFFFF)),
                    ("Max-Requested-Bandwidth-DL", min(self.ambr_dl, 0xFFFFFFFF)),
                ],
            ),
        ]
        if self.apns:
            out.append(
                (
                    "APN-Configuration-Profile",
                    [
                        ("Context-Identifier", self.default_context),
                        (
                            "All-APN-Configurations-Included-Indicator",
                            AllApnConfigurationsIncluded.ALL_APN_CONFIGURATIONS_INCLUDED,
                        ),
                        *[("APN-Configuration", a.avps()) for a in self.apns],
                    ],
                )
            )
        return out

    @classmethod
    def from_avp(cls, avp: Avp) -> SubscriptionData:
        g: Grouped = avp.value
        msisdn_avp = g.find("MSISDN")
        msisdn = ""
        if msisdn_avp is not None:
            try:
                msisdn = read_tbcd(msisdn_avp.data)
            except ValueError as exc:
                raise invalid_value(f"MSISDN: {exc}", msisdn_avp) from None
        ambr = g.get("AMBR")
        profile = g.get("APN-Configuration-Profile")
        apns: tuple[ApnProfile, ...] = ()
        default = 0
        if profile is not None:
            default = int(profile.get("Context-Identifier", 0))
            apns = tuple(ApnProfile.from_avp(a) for a in profile.find_all("APN-Configuration"))
        return cls(
            msisdn=msisdn,
            ambr_ul=int(ambr.get("Max-Requested-Bandwidth-UL", 0)) if ambr is not None else 0,
            ambr_dl=int(ambr.get("Max-Requested-Bandwidth-DL", 0)) if ambr is not None else 0,
            apns=apns,
            default_context=default,
            subscriber_status=int(g.get("Subscriber-Status", SubscriberStatus.SERVICE_GRANTED)),
            network_access_mode=int(
                g.get("Network-Access-Mode", NetworkAccessMode.PACKET_AND_CIRCUIT)
            ),
        )

    @property
    def default_apn(self) -> ApnProfile | None:
        for apn in self.apns:
            if apn.context_identifier == self.default_context:
                return apn
        return self.apns[0] if self.apns else None


# --- messages --------------------------------------------------------------------------------


def _s6a_request(
    command_code: int,
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    destination_host: str | None,
    user_name: str,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """The common head of every S6a request (§7.2.x message formats)."""
    msg = stateless_request(
        command_code,
        APP_S6A,
        S6A_VENDOR_SPECIFIC_APPLICATION_ID,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("User-Name", user_name)
    return msg


def make_air(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    imsi: str,
    visited_plmn_id: bytes,
    number_of_vectors: int = 1,
    resync_info: bytes | None = None,
    immediate_response_preferred: bool = True,
    destination_host: str | None = None,
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Authentication-Information-Request, MME -> HSS (§7.2.5; TS 23.401 §5.3.2.1 step 5a).

    ``resync_info`` is RAND || AUTS after a synchronisation failure (§7.3.15, TS 33.102 §6.3.5).
    """
    msg = _s6a_request(
        CMD_AIR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        user_name=imsi,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    info: list[tuple[str, object]] = [("Number-Of-Requested-Vectors", number_of_vectors)]
    if immediate_response_preferred:
        info.append(("Immediate-Response-Preferred", 1))
    if resync_info is not None:
        info.append(("Re-Synchronization-Info", resync_info))
    msg.add("Requested-EUTRAN-Authentication-Info", info)
    msg.add("Visited-PLMN-Id", visited_plmn_id)
    return msg


def make_ulr(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    imsi: str,
    visited_plmn_id: bytes,
    rat_type: int = RatType.EUTRAN,
    ulr_flags: int = ULR_S6A_S6D_INDICATOR | ULR_INITIAL_ATTACH_INDICATOR,
    imei: str | None = None,
    software_version: str | None = None,
    destination_host: str | None = None,
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Update-Location-Request, MME -> HSS (§7.2.3; TS 23.401 §5.3.2.1 step 8)."""
    msg = _s6a_request(
        CMD_ULR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        user_name=imsi,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    if imei is not None or software_version is not None:
        terminal: list[tuple[str, object]] = []
        if imei is not None:
            terminal.append(("IMEI", imei))
        if software_version is not None:
            terminal.append(("Software-Version", software_version))
        msg.add("Terminal-Information", terminal)
    msg.add("RAT-Type", int(rat_type))
    msg.add("ULR-Flags", ulr_flags)
    msg.add("Visited-PLMN-Id", visited_plmn_id)
    return msg


def make_pur(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    imsi: str,
    pur_flags: int | None = PUR_UE_PURGED_IN_MME,
    destination_host: str | None = None,
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Purge-UE-Request, MME -> HSS (§7.2.13; TS 23.401 §5.3.8.2 after a detach)."""
    msg = _s6a_request(
        CMD_PUR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        user_name=imsi,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    if pur_flags is not None:
        msg.add("PUR-Flags", pur_flags)
    return msg


def make_clr(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_host: str,
    destination_realm: str,
    imsi: str,
    cancellation_type: int = CancellationType.MME_UPDATE_PROCEDURE,
    clr_flags: int | None = CLR_S6A_S6D_INDICATOR,
    hop_by_hop: int = 0,
    end_to_end: int = 0,
) -> Message:
    """Cancel-Location-Request, HSS -> old MME (§7.2.7; TS 23.401 §5.3.2.1 step 8)."""
    msg = _s6a_request(
        CMD_CLR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        user_name=imsi,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Cancellation-Type", int(cancellation_type))
    if clr_flags is not None:
        msg.add("CLR-Flags", clr_flags)
    return msg


def s6a_answer(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None = None,
    experimental_result_code: int | None = None,
) -> Message:
    """Answer skeleton for an S6a request (AIA/ULA/PUA/CLA, §7.2.x).

    Exactly one of ``result_code`` and ``experimental_result_code`` (vendor 10415, §7.4) is
    given. Adds Session-Id, Vendor-Specific-Application-Id, the result, Auth-Session-State
    NO_STATE_MAINTAINED and Origin-Host/Realm; add the command's AVPs afterwards.
    """
    return stateless_answer(
        request,
        S6A_VENDOR_SPECIFIC_APPLICATION_ID,
        origin_host=origin_host,
        origin_realm=origin_realm,
        result_code=result_code,
        experimental_result_code=experimental_result_code,
    )


def add_vectors(answer: Message, vectors: Sequence[EutranVector]) -> Message:
    """Authentication-Info with the E-UTRAN vectors, numbered from 1 (§7.3.17, §7.3.18)."""
    answer.add(
        "Authentication-Info",
        [("E-UTRAN-Vector", v.avps(i)) for i, v in enumerate(vectors, start=1)],
    )
    return answer


# --- reading requests and answers ------------------------------------------------------------


def read_imsi(msg: Message) -> str:
    """The IMSI in User-Name (§7.3.x: User-Name carries the IMSI on S6a); 5004 if not digits."""
    avp = msg.find("User-Name")
    if avp is None:
        raise DiameterParseError(
            ResultCode.DIAMETER_MISSING_AVP,
            "missing User-Name",
            failed_avp=make_avp("User-Name", ""),
        )
    imsi = avp.value
    if not (imsi.isascii() and imsi.isdigit() and 5 <= len(imsi) <= MAX_IMSI_DIGITS):
        raise invalid_value(f"User-Name {imsi!r} is not an IMSI", avp)
    return str(imsi)


def read_visited_plmn(msg: Message) -> bytes:
    """Visited-PLMN-Id, checked to be 3 BCD octets (5004 otherwise)."""
    avp = msg.find("Visited-PLMN-Id")
    if avp is None:
        raise DiameterParseError(
            ResultCode.DIAMETER_MISSING_AVP,
            "missing Visited-PLMN-Id",
            failed_avp=make_avp("Visited-PLMN-Id", bytes(3)),
        )
    try:
        read_plmn(avp.data)
    except ValueError as exc:
        raise invalid_value(f"Visited-PLMN-Id: {exc}", avp) from None
    return bytes(avp.data)


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What an AIR asks for (§7.3.11): how many E-UTRAN vectors, and RAND||AUTS to resync."""

    number_of_vectors: int
    resync_info: bytes | None


def read_auth_request(msg: Message) -> AuthRequest:
    """Requested-EUTRAN-Authentication-Info of an AIR; 5004 for a resync info that is not
    RAND||AUTS (30 octets). No E-UTRAN info (e.g. UTRAN only) asks for zero vectors."""
    avp = msg.find("Requested-EUTRAN-Authentication-Info")
    if avp is None:
        return AuthRequest(0, None)
    g: Grouped = avp.value
    count = int(g.get("Number-Of-Requested-Vectors", 1))
    resync_avp = g.find("Re-Synchronization-Info")
    resync = None
    if resync_avp is not None:
        if len(resync_avp.data) != RESYNC_INFO_LENGTH:
            raise invalid_value(
                f"Re-Synchronization-Info is {len(resync_avp.data)} octets, not RAND||AUTS (30)",
                Avp(avp.code, resync_avp.encode(), flags=avp.flags, vendor_id=avp.vendor_id),
            )
        resync = bytes(resync_avp.data)
    return AuthRequest(max(0, min(count, MAX_REQUESTED_VECTORS)), resync)


def read_vectors(msg: Message) -> list[EutranVector]:
    """The E-UTRAN vectors of an AIA, in order."""
    info = msg.get("Authentication-Info")
    if info is None:
        return []
    return [EutranVector.from_avp(v) for v in info.find_all("E-UTRAN-Vector")]


def read_subscription_data(msg: Message) -> SubscriptionData | None:
    """Subscription-Data of a ULA (or IDR), None if absent."""
    avp = msg.find("Subscription-Data")
    return None if avp is None else SubscriptionData.from_avp(avp)

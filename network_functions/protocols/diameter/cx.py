"""The Cx/Dx application (TS 29.228 procedures, TS 29.229 protocol): builders and helpers.

Request builders for UAR, MAR, SAR and LIR (TS 29.229 §6.1) that always carry
Vendor-Specific-Application-Id {Vendor-Id 10415, Auth-Application-Id 16777216} and
Auth-Session-State NO_STATE_MAINTAINED (§6.1: Cx is stateless), the answer skeleton
``cx_answer``, the enumerations of §6.3, and helpers to read the outcome of an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import NamedTuple

from .application import stateless_answer, stateless_request
from .codec import Grouped, Message, make_avp
from .constants import (
    APP_CX,
    CMD_LIR,
    CMD_MAR,
    CMD_SAR,
    CMD_UAR,
    VENDOR_3GPP,
    ResultCode,
)
from .errors import DiameterParseError

# TS 29.229 §6.3.9 / TS 29.228 §6.3.2 SIP-Authentication-Scheme values.
AUTH_SCHEME_AKAV1_MD5 = "Digest-AKAv1-MD5"
AUTH_SCHEME_AKAV2_SHA256 = "Digest-AKAv2-SHA-256"
AUTH_SCHEME_SIP_DIGEST = "SIP Digest"
AUTH_SCHEME_NASS_BUNDLED = "NASS-Bundled"
AUTH_SCHEME_EARLY_IMS = "Early-IMS-Security"
AUTH_SCHEME_UNKNOWN = "Unknown"

# Bit masks of the flag AVPs.
UAR_FLAG_EMERGENCY_REGISTRATION = 0x1  # TS 29.229 §6.3.44
SAR_FLAG_PCSCF_RESTORATION = 0x1  # TS 29.229 §6.3.67
LIA_FLAG_PSI_DIRECT_ROUTING = 0x1  # TS 29.229 §6.3.59
RTR_FLAG_REFERENCE_LOCATION_INFORMATION = 0x1  # TS 29.229 §6.3.69


class ServerAssignmentType(IntEnum):
    """TS 29.229 §6.3.15."""

    NO_ASSIGNMENT = 0
    REGISTRATION = 1
    RE_REGISTRATION = 2
    UNREGISTERED_USER = 3
    TIMEOUT_DEREGISTRATION = 4
    USER_DEREGISTRATION = 5
    TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME = 6
    USER_DEREGISTRATION_STORE_SERVER_NAME = 7
    ADMINISTRATIVE_DEREGISTRATION = 8
    AUTHENTICATION_FAILURE = 9
    AUTHENTICATION_TIMEOUT = 10
    DEREGISTRATION_TOO_MUCH_DATA = 11
    AAA_USER_DATA_REQUEST = 12
    PGW_UPDATE = 13
    RESTORATION = 14


class UserAuthorizationType(IntEnum):
    """TS 29.229 §6.3.24."""

    REGISTRATION = 0
    DE_REGISTRATION = 1
    REGISTRATION_AND_CAPABILITIES = 2


class UserDataAlreadyAvailable(IntEnum):
    """TS 29.229 §6.3.26."""

    USER_DATA_NOT_AVAILABLE = 0
    USER_DATA_ALREADY_AVAILABLE = 1


class ReasonCode(IntEnum):
    """TS 29.229 §6.3.17 (Deregistration-Reason in RTR)."""

    PERMANENT_TERMINATION = 0
    NEW_SERVER_ASSIGNED = 1
    SERVER_CHANGE = 2
    REMOVE_S_CSCF = 3


class OriginatingRequest(IntEnum):
    """TS 29.229 §6.3.34."""

    ORIGINATING = 0


class LooseRouteIndication(IntEnum):
    """TS 29.229 §6.3.45."""

    LOOSE_ROUTE_NOT_REQUIRED = 0
    LOOSE_ROUTE_REQUIRED = 1


class MultipleRegistrationIndication(IntEnum):
    """TS 29.229 §6.3.51."""

    NOT_MULTIPLE_REGISTRATION = 0
    MULTIPLE_REGISTRATION = 1


class SessionPriority(IntEnum):
    """TS 29.229 §6.3.56 (PRIORITY-0 is the highest)."""

    PRIORITY_0 = 0
    PRIORITY_1 = 1
    PRIORITY_2 = 2
    PRIORITY_3 = 3
    PRIORITY_4 = 4


CX_VENDOR_SPECIFIC_APPLICATION_ID: list[tuple[str, object]] = [
    ("Vendor-Id", VENDOR_3GPP),
    ("Auth-Application-Id", APP_CX),
]


def _cx_request(
    command_code: int,
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    destination_host: str | None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """The common head of every Cx request (TS 29.229 §6.1.x message formats)."""
    return stateless_request(
        command_code,
        APP_CX,
        CX_VENDOR_SPECIFIC_APPLICATION_ID,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )


def make_uar(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    public_identity: str,
    user_name: str,
    visited_network_identifier: str | bytes,
    destination_host: str | None = None,
    user_authorization_type: int | None = None,
    uar_flags: int | None = None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """User-Authorization-Request, I-CSCF -> HSS (TS 29.229 §6.1.1)."""
    msg = _cx_request(
        CMD_UAR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("User-Name", user_name)
    msg.add("Public-Identity", public_identity)
    msg.add("Visited-Network-Identifier", visited_network_identifier)
    if user_authorization_type is not None:
        msg.add("User-Authorization-Type", int(user_authorization_type))
    if uar_flags is not None:
        msg.add("UAR-Flags", uar_flags)
    return msg


def make_mar(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    public_identity: str,
    user_name: str,
    server_name: str,
    sip_number_auth_items: int = 1,
    sip_authentication_scheme: str = AUTH_SCHEME_AKAV1_MD5,
    sip_authorization: bytes | None = None,
    destination_host: str | None = None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """Multimedia-Auth-Request, S-CSCF -> HSS (TS 29.229 §6.1.7).

    ``sip_authorization`` carries RAND||AUTS on an AKA re-synchronisation (TS 29.228 §6.3.3).
    """
    msg = _cx_request(
        CMD_MAR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("User-Name", user_name)
    msg.add("Public-Identity", public_identity)
    item: list[tuple[str, object]] = [("SIP-Authentication-Scheme", sip_authentication_scheme)]
    if sip_authorization is not None:
        item.append(("SIP-Authorization", sip_authorization))
    msg.add("SIP-Auth-Data-Item", item)
    msg.add("SIP-Number-Auth-Items", sip_number_auth_items)
    msg.add("Server-Name", server_name)
    return msg


def make_sar(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    server_name: str,
    server_assignment_type: int,
    public_identity: str | Sequence[str] | None = None,
    user_name: str | None = None,
    user_data_already_available: int = UserDataAlreadyAvailable.USER_DATA_NOT_AVAILABLE,
    wildcarded_public_identity: str | None = None,
    multiple_registration_indication: int | None = None,
    session_priority: int | None = None,
    sar_flags: int | None = None,
    destination_host: str | None = None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """Server-Assignment-Request, S-CSCF -> HSS (TS 29.229 §6.1.3).

    ``public_identity`` may be one identity or several (*[Public-Identity]).
    """
    msg = _cx_request(
        CMD_SAR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    if user_name is not None:
        msg.add("User-Name", user_name)
    if isinstance(public_identity, str):
        msg.add("Public-Identity", public_identity)
    elif public_identity is not None:
        for p in public_identity:
            msg.add("Public-Identity", p)
    if wildcarded_public_identity is not None:
        msg.add("Wildcarded-Public-Identity", wildcarded_public_identity)
    msg.add("Server-Name", server_name)
    msg.add("Server-Assignment-Type", int(server_assignment_type))
    msg.add("User-Data-Already-Available", int(user_data_already_available))
    if multiple_registration_indication is not None:
        msg.add("Multiple-Registration-Indication", int(multiple_registration_indication))
    if session_priority is not None:
        msg.add("Session-Priority", int(session_priority))
    if sar_flags is not None:
        msg.add("SAR-Flags", sar_flags)
    return msg


def make_lir(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    public_identity: str,
    originating_request: bool = False,
    user_authorization_type: int | None = None,
    session_priority: int | None = None,
    destination_host: str | None = None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """Location-Info-Request, I-CSCF -> HSS (TS 29.229 §6.1.5). LIR has no User-Name."""
    msg = _cx_request(
        CMD_LIR,
        session_id=session_id,
        origin_host=origin_host,
        origin_realm=origin_realm,
        destination_realm=destination_realm,
        destination_host=destination_host,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    if originating_request:
        msg.add("Originating-Request", OriginatingRequest.ORIGINATING)
    msg.add("Public-Identity", public_identity)
    if user_authorization_type is not None:
        msg.add("User-Authorization-Type", int(user_authorization_type))
    if session_priority is not None:
        msg.add("Session-Priority", int(session_priority))
    return msg


def cx_answer(
    request: Message,
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None = None,
    experimental_result_code: int | None = None,
) -> Message:
    """Answer skeleton for a Cx request (TS 29.229 §6.1.2/4/6/8 formats).

    Exactly one of ``result_code`` (Result-Code, RFC 6733 codes) and
    ``experimental_result_code`` (Experimental-Result with Vendor-Id 10415, §6.2) is given.
    Adds Session-Id, Vendor-Specific-Application-Id, the result, Auth-Session-State
    NO_STATE_MAINTAINED, Origin-Host/Realm; add the command-specific AVPs afterwards.
    """
    return stateless_answer(
        request,
        CX_VENDOR_SPECIFIC_APPLICATION_ID,
        origin_host=origin_host,
        origin_realm=origin_realm,
        result_code=result_code,
        experimental_result_code=experimental_result_code,
    )


class AnswerResult(NamedTuple):
    """Outcome of an answer: ``vendor_id`` is None for Result-Code, else Experimental-Result's."""

    code: int
    vendor_id: int | None

    @property
    def experimental(self) -> bool:
        return self.vendor_id is not None

    @property
    def success(self) -> bool:
        return is_success(self.code)


def answer_result(msg: Message) -> AnswerResult:
    """Result-Code if present, else Experimental-Result (RFC 6733 §7.6, TS 29.229 §6.2).

    Raises DiameterParseError DIAMETER_MISSING_AVP if the answer carries neither.
    """
    rc = msg.get("Result-Code")
    if rc is not None:
        return AnswerResult(int(rc), None)
    er = msg.get("Experimental-Result")
    if isinstance(er, Grouped):
        code = er.get("Experimental-Result-Code")
        if code is not None:
            return AnswerResult(int(code), er.get("Vendor-Id"))
    raise DiameterParseError(
        ResultCode.DIAMETER_MISSING_AVP,
        f"{msg.name} carries neither Result-Code nor Experimental-Result-Code",
        failed_avp=make_avp("Result-Code", 0),
    )


def answer_code(msg: Message) -> int:
    """Result-Code, or else Experimental-Result-Code, of an answer."""
    return answer_result(msg).code


def is_success(code: int) -> bool:
    """2xxx is success for Result-Code (RFC 6733 §7.1.2) and Experimental (TS 29.229 §6.2.1)."""
    return 2000 <= code < 3000

"""Numeric constants of the Diameter base protocol (RFC 6733) and of the 3GPP applications.

Application Ids, command codes, header/AVP flag bits, the Result-Code values of RFC 6733 §7.1
and the Experimental-Result-Code values of TS 29.229 §6.2, plus the resource limits the codec
enforces on input from peers. No logic lives here.
"""

from __future__ import annotations

from enum import IntEnum

# --- Vendors and applications (IANA registries; TS 29.230 §7) -----------------------------
VENDOR_3GPP = 10415
APP_BASE_COMMON = 0  # RFC 6733 §2.4: Diameter common messages (CER/CEA, DWR/DWA, DPR/DPA)
APP_BASE_ACCOUNTING = 3  # RFC 6733 §2.4
APP_RELAY = 0xFFFFFFFF  # RFC 6733 §2.4
APP_CX = 16777216  # TS 29.229 §5.1.1 (Cx/Dx)
APP_SH = 16777217  # TS 29.329
APP_RX = 16777236  # TS 29.214
APP_GX = 16777238  # TS 29.212
APP_S6A = 16777251  # TS 29.272

# Vendor of each vendor-specific application, for Vendor-Specific-Application-Id.
APPLICATION_VENDORS: dict[int, int] = {
    APP_CX: VENDOR_3GPP,
    APP_SH: VENDOR_3GPP,
    APP_RX: VENDOR_3GPP,
    APP_GX: VENDOR_3GPP,
    APP_S6A: VENDOR_3GPP,
}

# --- Command codes ---------------------------------------------------------------------
CMD_CER = 257  # Capabilities-Exchange, RFC 6733 §5.3
CMD_CE = CMD_CER
CMD_RAR = 258  # Re-Auth, RFC 6733 §8.3
CMD_AAR = 265  # AA (RFC 7155; Rx TS 29.214)
CMD_ACR = 271  # Accounting, RFC 6733 §9.7
CMD_CCR = 272  # Credit-Control, RFC 8506 (Gx TS 29.212)
CMD_ASR = 274  # Abort-Session, RFC 6733 §8.5
CMD_STR = 275  # Session-Termination, RFC 6733 §8.4
CMD_DWR = 280  # Device-Watchdog, RFC 6733 §5.5
CMD_DPR = 282  # Disconnect-Peer, RFC 6733 §5.4
CMD_UAR = 300  # User-Authorization, TS 29.229 §6.1.1
CMD_SAR = 301  # Server-Assignment, TS 29.229 §6.1.3
CMD_LIR = 302  # Location-Info, TS 29.229 §6.1.5
CMD_MAR = 303  # Multimedia-Auth, TS 29.229 §6.1.7
CMD_RTR = 304  # Registration-Termination, TS 29.229 §6.1.9
CMD_PPR = 305  # Push-Profile, TS 29.229 §6.1.11
CMD_ULR = 316  # Update-Location, TS 29.272 §7.2.3
CMD_CLR = 317  # Cancel-Location, TS 29.272 §7.2.7
CMD_AIR = 318  # Authentication-Information, TS 29.272 §7.2.5
CMD_IDR = 319  # Insert-Subscriber-Data, TS 29.272 §7.2.9
CMD_DSR = 320  # Delete-Subscriber-Data, TS 29.272 §7.2.11
CMD_PUR = 321  # Purge-UE, TS 29.272 §7.2.13
CMD_RSR = 322  # Reset, TS 29.272 §7.2.15
CMD_NOR = 323  # Notify, TS 29.272 §7.2.17

# Two-letter (or three-letter) abbreviations; "R"/"A" is appended for request/answer.
COMMAND_ABBREVIATIONS: dict[int, str] = {
    CMD_CER: "CE",
    CMD_RAR: "RA",
    CMD_AAR: "AA",
    CMD_ACR: "AC",
    CMD_CCR: "CC",
    CMD_ASR: "AS",
    CMD_STR: "ST",
    CMD_DWR: "DW",
    CMD_DPR: "DP",
    CMD_UAR: "UA",
    CMD_SAR: "SA",
    CMD_LIR: "LI",
    CMD_MAR: "MA",
    CMD_RTR: "RT",
    CMD_PPR: "PP",
    CMD_ULR: "UL",
    CMD_CLR: "CL",
    CMD_AIR: "AI",
    CMD_IDR: "ID",
    CMD_DSR: "DS",
    CMD_PUR: "PU",
    CMD_RSR: "RS",
    CMD_NOR: "NO",
}

# --- Header layout (RFC 6733 §3) -------------------------------------------------------------
DIAMETER_VERSION = 1
HEADER_LENGTH = 20
FLAG_REQUEST = 0x80  # R
FLAG_PROXIABLE = 0x40  # P
FLAG_ERROR = 0x20  # E
FLAG_RETRANSMIT = 0x10  # T
FLAGS_RESERVED = 0x0F  # RFC 6733 §3: MUST be zero, ignored by the receiver

# --- AVP layout (RFC 6733 §4.1) ----------------------------------------------------------------
AVP_FLAG_VENDOR = 0x80  # V
AVP_FLAG_MANDATORY = 0x40  # M
AVP_FLAG_PROTECTED = 0x20  # P
AVP_FLAGS_RESERVED = 0x1F  # RFC 6733 §4.1: an unrecognised bit SHOULD be considered an error
AVP_HEADER_LENGTH = 8
AVP_VENDOR_HEADER_LENGTH = 12

# --- Limits on peer input ----------------------------------------------------------------------
# The 24-bit length field allows 16 MiB messages. The largest legitimate message on our
# interfaces is an SAA/PPR carrying the IMS subscription XML in User-Data (tens of KiB), so
# 1 MiB bounds per-connection buffering against a peer announcing a huge length.
MAX_MESSAGE_SIZE = 1 << 20
# Grouped AVPs nest (Failed-AVP > Grouped > ...). Real dictionaries nest at most ~5 deep;
# the limit keeps recursive validation of hostile input bounded.
MAX_GROUPED_DEPTH = 16


class ResultCode(IntEnum):
    """Result-Code AVP values, RFC 6733 §7.1 (plus RFC 7075 3011).

    Each member also has an alias without the ``DIAMETER_`` prefix
    (``ResultCode.UNABLE_TO_DELIVER``).
    """

    # §7.1.1 informational
    DIAMETER_MULTI_ROUND_AUTH = 1001
    # §7.1.2 success
    DIAMETER_SUCCESS = 2001
    DIAMETER_LIMITED_SUCCESS = 2002
    # §7.1.3 protocol errors (answer carries the E bit)
    DIAMETER_COMMAND_UNSUPPORTED = 3001
    DIAMETER_UNABLE_TO_DELIVER = 3002
    DIAMETER_REALM_NOT_SERVED = 3003
    DIAMETER_TOO_BUSY = 3004
    DIAMETER_LOOP_DETECTED = 3005
    DIAMETER_REDIRECT_INDICATION = 3006
    DIAMETER_APPLICATION_UNSUPPORTED = 3007
    DIAMETER_INVALID_HDR_BITS = 3008
    DIAMETER_INVALID_AVP_BITS = 3009
    DIAMETER_UNKNOWN_PEER = 3010
    DIAMETER_REALM_REDIRECT_INDICATION = 3011
    # §7.1.4 transient failures
    DIAMETER_AUTHENTICATION_REJECTED = 4001
    DIAMETER_OUT_OF_SPACE = 4002
    DIAMETER_ELECTION_LOST = 4003
    # §7.1.5 permanent failures
    DIAMETER_AVP_UNSUPPORTED = 5001
    DIAMETER_UNKNOWN_SESSION_ID = 5002
    DIAMETER_AUTHORIZATION_REJECTED = 5003
    DIAMETER_INVALID_AVP_VALUE = 5004
    DIAMETER_MISSING_AVP = 5005
    DIAMETER_RESOURCES_EXCEEDED = 5006
    DIAMETER_CONTRADICTING_AVPS = 5007
    DIAMETER_AVP_NOT_ALLOWED = 5008
    DIAMETER_AVP_OCCURS_TOO_MANY_TIMES = 5009
    DIAMETER_NO_COMMON_APPLICATION = 5010
    DIAMETER_UNSUPPORTED_VERSION = 5011
    DIAMETER_UNABLE_TO_COMPLY = 5012
    DIAMETER_INVALID_BIT_IN_HEADER = 5013
    DIAMETER_INVALID_AVP_LENGTH = 5014
    DIAMETER_INVALID_MESSAGE_LENGTH = 5015
    DIAMETER_INVALID_AVP_BIT_COMBO = 5016
    DIAMETER_NO_COMMON_SECURITY = 5017

    # Aliases without the prefix.
    MULTI_ROUND_AUTH = 1001
    SUCCESS = 2001
    LIMITED_SUCCESS = 2002
    COMMAND_UNSUPPORTED = 3001
    UNABLE_TO_DELIVER = 3002
    REALM_NOT_SERVED = 3003
    TOO_BUSY = 3004
    LOOP_DETECTED = 3005
    REDIRECT_INDICATION = 3006
    APPLICATION_UNSUPPORTED = 3007
    INVALID_HDR_BITS = 3008
    INVALID_AVP_BITS = 3009
    UNKNOWN_PEER = 3010
    REALM_REDIRECT_INDICATION = 3011
    AUTHENTICATION_REJECTED = 4001
    OUT_OF_SPACE = 4002
    ELECTION_LOST = 4003
    AVP_UNSUPPORTED = 5001
    UNKNOWN_SESSION_ID = 5002
    AUTHORIZATION_REJECTED = 5003
    INVALID_AVP_VALUE = 5004
    MISSING_AVP = 5005
    RESOURCES_EXCEEDED = 5006
    CONTRADICTING_AVPS = 5007
    AVP_NOT_ALLOWED = 5008
    AVP_OCCURS_TOO_MANY_TIMES = 5009
    NO_COMMON_APPLICATION = 5010
    UNSUPPORTED_VERSION = 5011
    UNABLE_TO_COMPLY = 5012
    INVALID_BIT_IN_HEADER = 5013
    INVALID_AVP_LENGTH = 5014
    INVALID_MESSAGE_LENGTH = 5015
    INVALID_AVP_BIT_COMBO = 5016
    NO_COMMON_SECURITY = 5017


class ExperimentalResultCode(IntEnum):
    """Experimental-Result-Code values of the Cx/Dx application, TS 29.229 §6.2.

    Always sent inside Experimental-Result together with Vendor-Id 10415. Each member also has
    an alias without the ``DIAMETER_`` prefix, and 2004 is also ``SERVER_NAME_NOT_STORED``.
    """

    # §6.2.1 success
    DIAMETER_FIRST_REGISTRATION = 2001
    DIAMETER_SUBSEQUENT_REGISTRATION = 2002
    DIAMETER_UNREGISTERED_SERVICE = 2003
    DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED = 2004
    # §6.2.2 permanent failures
    DIAMETER_ERROR_USER_UNKNOWN = 5001
    DIAMETER_ERROR_IDENTITIES_DONT_MATCH = 5002
    DIAMETER_ERROR_IDENTITY_NOT_REGISTERED = 5003
    DIAMETER_ERROR_ROAMING_NOT_ALLOWED = 5004
    DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED = 5005
    DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED = 5006
    DIAMETER_ERROR_IN_ASSIGNMENT_TYPE = 5007
    DIAMETER_ERROR_TOO_MUCH_DATA = 5008
    DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA = 5009
    DIAMETER_ERROR_FEATURE_UNSUPPORTED = 5011
    DIAMETER_ERROR_SERVING_NODE_FEATURE_UNSUPPORTED = 5012

    # Aliases.
    FIRST_REGISTRATION = 2001
    SUBSEQUENT_REGISTRATION = 2002
    UNREGISTERED_SERVICE = 2003
    SUCCESS_SERVER_NAME_NOT_STORED = 2004
    SERVER_NAME_NOT_STORED = 2004
    DIAMETER_SERVER_NAME_NOT_STORED = 2004
    ERROR_USER_UNKNOWN = 5001
    ERROR_IDENTITIES_DONT_MATCH = 5002
    ERROR_IDENTITY_NOT_REGISTERED = 5003
    ERROR_ROAMING_NOT_ALLOWED = 5004
    ERROR_IDENTITY_ALREADY_REGISTERED = 5005
    ERROR_AUTH_SCHEME_NOT_SUPPORTED = 5006
    ERROR_IN_ASSIGNMENT_TYPE = 5007
    ERROR_TOO_MUCH_DATA = 5008
    ERROR_NOT_SUPPORTED_USER_DATA = 5009
    ERROR_FEATURE_UNSUPPORTED = 5011
    ERROR_SERVING_NODE_FEATURE_UNSUPPORTED = 5012


def is_protocol_error(result_code: int) -> bool:
    """RFC 6733 §7.1.3: 3xxx codes are protocol errors; their answers carry the E bit."""
    return 3000 <= result_code < 4000

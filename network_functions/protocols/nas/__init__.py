"""NAS for EPS (TS 24.301): the EMM/ESM messages of attach and detach, and NAS security.

* :mod:`.messages` - dataclasses with ``encode()``; :func:`decode` for plain NAS bytes.
* :mod:`.ies` - identities (:class:`Imsi`, :class:`Guti`, :class:`Imeisv`), :class:`Tai`, ...
* :mod:`.security` - :class:`NasSecurityContext` (protect/unprotect, NAS COUNT), EIA2/EEA2.
* :mod:`.errors` - :class:`NasError` (cause = EMM cause), :class:`NasMacFailure`.

How the MME and the UE simulator use it for an attach (UE side mirrors it)::

    msg = nas.decode(initial_ue_message_nas_pdu)          # AttachRequest (plain)
    auth = nas.AuthenticationRequest(ksi=0, rand=v.rand, autn=v.autn).encode()
    # ... AuthenticationResponse: compare msg.res with XRES
    ctx = nas.NasSecurityContext(kasme=k, ksi=0, enc_alg=nas.EEA0, int_alg=nas.EIA2,
                                 network=True)
    smc = ctx.protect(nas.SecurityModeCommand(nas.EEA0, nas.EIA2, 0,
                      attach.ue_network_capability[:2]).encode(), nas.SEC_HDR_INTEGRITY_NEW_CTX)
    complete = nas.decode(ctx.unprotect(uplink).message)  # SecurityModeComplete
    accept = ctx.protect(nas.AttachAccept(tai_list=(nas.Tai("001", "01", 1),),
                         esm=nas.ActivateDefaultBearerRequest(ebi=5, pti=attach.esm.pti, qci=9,
                         apn="internet", pdn_address="10.45.0.2"), guti=guti).encode())
    # ... AttachComplete(esm=ActivateDefaultBearerAccept(ebi=5)) comes back protected

Any malformed input raises :class:`NasError` (and nothing else) from ``decode`` and
``unprotect``; a MAC that does not verify raises :class:`NasMacFailure`.
"""

from __future__ import annotations

from network_functions.protocols.nas.errors import NasError, NasMacFailure
from network_functions.protocols.nas.ies import Guti, Imeisv, Imsi, MobileIdentity, Tai
from network_functions.protocols.nas.messages import (
    ATTACH_TYPE_COMBINED,
    ATTACH_TYPE_EMERGENCY,
    ATTACH_TYPE_EPS,
    DETACH_TYPE_EPS,
    EMM_CAUSE_EPS_SERVICES_NOT_ALLOWED,
    EMM_CAUSE_ESM_FAILURE,
    EMM_CAUSE_ILLEGAL_UE,
    EMM_CAUSE_IMSI_UNKNOWN_IN_HSS,
    EMM_CAUSE_MAC_FAILURE,
    EMM_CAUSE_NETWORK_FAILURE,
    EMM_CAUSE_NON_EPS_AUTH_UNACCEPTABLE,
    EMM_CAUSE_PLMN_NOT_ALLOWED,
    EMM_CAUSE_SECURITY_MODE_REJECTED,
    EMM_CAUSE_SYNCH_FAILURE,
    EMM_CAUSE_UE_IDENTITY_CANNOT_BE_DERIVED,
    EMM_CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH,
    ESM_CAUSE_MISSING_OR_UNKNOWN_APN,
    ESM_CAUSE_NETWORK_FAILURE,
    ESM_CAUSE_UNKNOWN_PDN_TYPE,
    KSI_NO_KEY,
    PDN_TYPE_IPV4,
    REQUEST_TYPE_INITIAL,
    ActivateDefaultBearerAccept,
    ActivateDefaultBearerRequest,
    AttachAccept,
    AttachComplete,
    AttachReject,
    AttachRequest,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    DetachAccept,
    DetachRequest,
    EmmMessage,
    EmmStatus,
    EsmMessage,
    EsmStatus,
    IdentityRequest,
    IdentityResponse,
    NasMessage,
    PdnConnectivityReject,
    PdnConnectivityRequest,
    SecurityModeCommand,
    SecurityModeComplete,
    SecurityModeReject,
    decode,
    decode_esm,
)
from network_functions.protocols.nas.security import (
    DOWNLINK,
    EEA0,
    EEA2,
    EIA0,
    EIA2,
    SEC_HDR_INTEGRITY,
    SEC_HDR_INTEGRITY_CIPHERED,
    SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX,
    SEC_HDR_INTEGRITY_NEW_CTX,
    SEC_HDR_PLAIN,
    UPLINK,
    NasSecurityContext,
    Unprotected,
    split_security_header,
)

__all__ = [
    "ATTACH_TYPE_COMBINED",
    "ATTACH_TYPE_EMERGENCY",
    "ATTACH_TYPE_EPS",
    "DETACH_TYPE_EPS",
    "DOWNLINK",
    "EEA0",
    "EEA2",
    "EIA0",
    "EIA2",
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
    "SEC_HDR_INTEGRITY",
    "SEC_HDR_INTEGRITY_CIPHERED",
    "SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX",
    "SEC_HDR_INTEGRITY_NEW_CTX",
    "SEC_HDR_PLAIN",
    "UPLINK",
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
    "Guti",
    "IdentityRequest",
    "IdentityResponse",
    "Imeisv",
    "Imsi",
    "MobileIdentity",
    "NasError",
    "NasMacFailure",
    "NasMessage",
    "NasSecurityContext",
    "PdnConnectivityReject",
    "PdnConnectivityRequest",
    "SecurityModeCommand",
    "SecurityModeComplete",
    "SecurityModeReject",
    "Tai",
    "Unprotected",
    "decode",
    "decode_esm",
    "split_security_header",
]

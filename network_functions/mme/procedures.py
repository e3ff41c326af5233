"""The MME's UE procedures: attach and UE-initiated detach (TS 23.401 §5.3.2.1, §5.3.8.2;
TS 24.301 §5.5.1, §5.5.2), one S1 UE association at a time.

A :class:`UeHandler` owns one S1 UE association (from the Initial UE Message to the UE
Context Release Complete). The S1 layer (``s1.py``) turns S1AP PDUs into the events below and
hands them to :meth:`UeHandler.deliver`; the handler consumes them one at a time, in order,
so the steps of a procedure read top to bottom. The states an attach goes through:

=================  =================================================  ========================
state              waits for                                          then
=================  =================================================  ========================
identification     Identity Response (GUTI unknown here)              authentication
authentication     Authentication Response / Failure                  security-mode or reject
security-mode      Security Mode Complete / Reject                    ULR, Create Session
context-setup      Initial Context Setup Response + Attach Complete   Modify Bearer, registered
registered         Detach Request, UE Context Release Request         detach or releasing
releasing          UE Context Release Complete                        (association ends)
=================  =================================================  ========================

Failures end the procedure with the message the spec asks for: Attach Reject with the EMM
cause from the S6a answer (TS 29.272 Annex A), Authentication Reject when RES differs from
XRES or the UE reports a MAC failure, one re-synchronisation (AIR with RAND||AUTS) on a
synch failure, Attach Reject #19 with a PDN Connectivity Reject when the gateways refuse the
session. A message whose integrity check fails is discarded (TS 24.301 §4.4.4.3); a
malformed one gets EMM STATUS with the decoder's cause. Every procedure is bounded by the
configured timer; any failure releases the UE association, never the MME.

The UE context that outlives the association (EMM-REGISTERED, security context, bearer,
GUTI) is written to the state store when the attach completes and when the UE goes idle;
a replica that never saw the UE serves its Detach Request from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from network_functions.protocols import gtpv2c, kdf, nas
from network_functions.protocols.diameter import Message as DiameterMessage
from network_functions.protocols.diameter import ResultCode, answer_code, s6a
from network_functions.protocols.diameter.errors import DiameterParseError
from network_functions.protocols.nas.security import (
    SEC_HDR_INTEGRITY_CIPHERED,
    SEC_HDR_INTEGRITY_NEW_CTX,
    NasSecurityContext,
)

from .config import MmeConfig
from .contexts import (
    EMM_REGISTERED,
    BearerContext,
    ContextError,
    UeContext,
    UeContextRepository,
)

__all__ = [
    "AssociationLost",
    "ContextSetup",
    "ContextSetupDone",
    "ContextSetupFailed",
    "Event",
    "MmeCore",
    "NasUplink",
    "PeerFailure",
    "ReleaseCompleted",
    "ReleaseRequested",
    "Superseded",
    "UeHandler",
    "UeLink",
    "emm_cause_for_s6a",
    "esm_cause_for_gtp",
    "select_algorithms",
]

log = logging.getLogger("nfv.mme")

# Experimental-Result codes of S6a (TS 29.272 §7.4.3).
DIAMETER_ERROR_USER_UNKNOWN = 5001
DIAMETER_ERROR_ROAMING_NOT_ALLOWED = 5004
DIAMETER_AUTHORIZATION_REJECTED = 5003
DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION = 5420
DIAMETER_ERROR_RAT_NOT_ALLOWED = 5421
DIAMETER_AUTHENTICATION_DATA_UNAVAILABLE = 4181

# TS 29.272 Annex A (Table A.1): the EMM cause an MME sends for an S6a error during attach.
S6A_TO_EMM = {
    DIAMETER_ERROR_USER_UNKNOWN: 8,  # EPS services and non-EPS services not allowed
    DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION: 15,  # No suitable cells in tracking area
    DIAMETER_ERROR_RAT_NOT_ALLOWED: 15,
    DIAMETER_ERROR_ROAMING_NOT_ALLOWED: 11,  # PLMN not allowed
    DIAMETER_AUTHORIZATION_REJECTED: 8,
}
EMM_CAUSE_MSG_TYPE_NOT_COMPATIBLE = 98  # TS 24.301 Annex A: not compatible with the state
EMM_CAUSE_CONGESTION = 22

# TS 29.274 cause → ESM cause in the PDN Connectivity Reject (TS 24.301 Annex B).
ESM_INSUFFICIENT_RESOURCES = 26
ESM_MISSING_OR_UNKNOWN_APN = 27
ESM_UNKNOWN_PDN_TYPE = 28
ESM_REJECTED_BY_GW = 30
ESM_NETWORK_FAILURE = 38

_NORMAL_RELEASE = ("nas", "normal-release")
# The default bearer of the first PDN connection (TS 24.301 §6.4.1: EBI 5..15).
DEFAULT_EBI = 5
# How many synch failures one attach may resolve with an AIR re-synchronisation.
MAX_RESYNCS = 1
# UE network capability bits (TS 24.301 §9.9.3.34): octet 1 EEA0..EEA7, octet 2 EIA0..EIA7,
# EEA0/EIA0 in the most significant bit.
_ALG_BIT = {0: 0x80, 1: 0x40, 2: 0x20, 3: 0x10}


# -- events from the S1 layer ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NasUplink:
    """A NAS PDU from the UE (Initial UE Message or Uplink NAS Transport)."""

    pdu: bytes


@dataclass(frozen=True, slots=True)
class ContextSetupDone:
    """Initial Context Setup Response: the eNB's S1-U endpoint of the default bearer."""

    enb_ip: str
    enb_teid: int


@dataclass(frozen=True, slots=True)
class ContextSetupFailed:
    cause: str


@dataclass(frozen=True, slots=True)
class ReleaseRequested:
    """UE Context Release Request from the eNB (e.g. user inactivity)."""

    cause: str


@dataclass(frozen=True, slots=True)
class ReleaseCompleted:
    pass


@dataclass(frozen=True, slots=True)
class AssociationLost:
    """The eNB's S1 association closed (or the eNB reset)."""


@dataclass(frozen=True, slots=True)
class Superseded:
    """The same UE started a new attach through another association of this replica."""


Event = (
    NasUplink
    | ContextSetupDone
    | ContextSetupFailed
    | ReleaseRequested
    | ReleaseCompleted
    | AssociationLost
    | Superseded
)


@dataclass(frozen=True, slots=True)
class ContextSetup:
    """What the Initial Context Setup Request carries (TS 36.413 §9.1.4.1)."""

    nas_pdu: bytes
    kenb: bytes
    ue_ambr_ul_bps: int
    ue_ambr_dl_bps: int
    ebi: int
    qci: int
    arp: int
    sgw_ip: str
    sgw_teid: int
    # The UE network capability: the S1AP UE Security Capabilities come from it (§9.2.1.40).
    ue_network_capability: bytes


class _TimerExpiry:
    """The procedure timer of one wait expired (queued like an event)."""


class UeLink(Protocol):
    """The S1 side of one UE association, implemented by the S1 layer."""

    mme_ue_s1ap_id: int
    enb_ue_s1ap_id: int
    tac: int
    eci: int

    def send_nas(self, pdu: bytes) -> None:
        """Downlink NAS Transport."""

    def setup_context(self, setup: ContextSetup) -> None:
        """Initial Context Setup Request."""

    def release(self, cause: tuple[str, str]) -> None:
        """UE Context Release Command with an S1AP Cause (group, value)."""

    def forget(self) -> None:
        """The association is over: drop its S1AP ids."""


class PeerFailure(Exception):
    """The HSS or the SGW did not answer (or answered garbage)."""


class MmeCore(Protocol):
    """What the procedures need from the MME process (app.py implements it)."""

    config: MmeConfig
    replica: str
    # The handler of each UE (by IMSI) with an S1 association on this replica.
    handlers: dict[str, UeHandler]

    @property
    def contexts(self) -> UeContextRepository: ...

    async def air(self, imsi: str, resync: bytes | None) -> DiameterMessage: ...
    async def ulr(self, imsi: str) -> DiameterMessage: ...
    async def pur(self, imsi: str) -> DiameterMessage: ...
    async def create_session(self, ctx: UeContext, ambr: tuple[int, int]) -> gtpv2c.Message: ...
    async def modify_bearer(self, ctx: UeContext) -> gtpv2c.Message: ...
    async def delete_session(self, ctx: UeContext) -> gtpv2c.Message: ...
    def record(self, procedure: str, result: str, seconds: float | None = None) -> None: ...


# -- errors that end a procedure -----------------------------------------------------------------
class _End(Exception):
    """The procedure ends; the association is released with ``cause``."""

    def __init__(self, reason: str, cause: tuple[str, str] = ("nas", "unspecified")) -> None:
        super().__init__(reason)
        self.cause = cause


class _Lost(Exception):
    """The association is gone: nothing can be sent any more."""


class _Timeout(Exception):
    pass


class _Unprotected(Exception):
    """A plain NAS message that must be integrity protected once security is active."""


# TS 24.301 §4.4.4.3: the only messages the MME processes without integrity protection
# once a security context is in use (the others are discarded).
_PLAIN_AFTER_SECURITY = (
    nas.AttachRequest,
    nas.IdentityResponse,
    nas.AuthenticationResponse,
    nas.AuthenticationFailure,
    nas.SecurityModeReject,
    nas.DetachRequest,
    nas.DetachAccept,
)


class _Reject(_End):
    def __init__(self, reason: str, emm_cause: int, esm: nas.EsmMessage | None = None) -> None:
        super().__init__(reason, ("nas", "unspecified"))
        self.emm_cause = emm_cause
        self.esm = esm


class _AuthReject(_End):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, ("nas", "authentication-failure"))


# -- pure helpers (unit tested) -----------------------------------------------------------
def emm_cause_for_s6a(answer: DiameterMessage) -> int | None:
    """None when the S6a answer is a success, else the EMM cause (TS 29.272 Annex A)."""
    code = answer_code(answer)
    if code == ResultCode.DIAMETER_SUCCESS:
        return None
    return S6A_TO_EMM.get(code, nas.EMM_CAUSE_NETWORK_FAILURE)


def esm_cause_for_gtp(cause: int | None) -> int:
    """The ESM cause for a Create Session rejection (TS 24.301 Annex B)."""
    if cause == gtpv2c.CAUSE_MISSING_OR_UNKNOWN_APN:
        return ESM_MISSING_OR_UNKNOWN_APN
    if cause in (gtpv2c.CAUSE_NO_RESOURCES_AVAILABLE, gtpv2c.CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED):
        return ESM_INSUFFICIENT_RESOURCES
    if cause == gtpv2c.CAUSE_PREFERRED_PDN_TYPE_NOT_SUPPORTED:
        return ESM_UNKNOWN_PDN_TYPE
    if cause is None:
        return ESM_NETWORK_FAILURE
    return ESM_REJECTED_BY_GW


def select_algorithms(
    capability: bytes, *, ciphering: list[int], integrity: list[int]
) -> tuple[int, int] | None:
    """(EEA, EIA): the first configured algorithm the UE supports (TS 33.401 §7.2.4.2), or
    None when the UE supports none of them (→ EMM #23)."""
    if len(capability) < 2:
        return None
    eea = next((a for a in ciphering if capability[0] & _ALG_BIT[a]), None)
    eia = next((a for a in integrity if capability[1] & _ALG_BIT[a]), None)
    if eea is None or eia is None:
        return None
    return eea, eia


class UeHandler:
    """Runs the procedures of one S1 UE association, one event at a time."""

    def __init__(
        self, core: MmeCore, link: UeLink, *, on_settled: Callable[[], None] | None = None
    ) -> None:
        self.core = core
        self.link = link
        self.config = core.config
        self.events: asyncio.Queue[Event | _TimerExpiry] = asyncio.Queue()
        self.state = "new"
        self.ctx: UeContext | None = None
        self.sec: NasSecurityContext | None = None
        self.pending_setup: ContextSetupDone | None = None
        self.released = False
        self.imsi = ""
        # Called once, when no procedure is in progress any more (registered or ended).
        self._on_settled = on_settled

    def _settled(self) -> None:
        callback, self._on_settled = self._on_settled, None
        if callback is not None:
            callback()

    # -- plumbing ---------------------------------------------------------------------------
    def deliver(self, event: Event) -> None:
        self.events.put_nowait(event)

    async def _next(self) -> Event:
        """The next event, within the procedure timer. The timer puts a token of its own in
        the queue (cheaper than a task per wait); a token of an earlier wait is skipped."""
        while True:
            if not self.events.empty():
                event = self.events.get_nowait()
            else:
                token = _TimerExpiry()
                timer = asyncio.get_running_loop().call_later(
                    self.config.procedure_timeout, self.events.put_nowait, token
                )
                try:
                    event = await self.events.get()
                finally:
                    timer.cancel()
                if event is token:
                    raise _Timeout(f"no answer in state {self.state}")
            if not isinstance(event, _TimerExpiry):
                break
        if isinstance(event, AssociationLost):
            raise _Lost("S1 association lost")
        if isinstance(event, Superseded):
            raise _End("the UE attached again through another association", _NORMAL_RELEASE)
        if isinstance(event, ReleaseRequested) and self.state != "registered":
            raise _End(
                f"eNB released the UE during {self.state}: {event.cause}", ("nas", "unspecified")
            )
        return event

    async def _next_nas(self) -> nas.NasMessage:
        """The next NAS message of the UE, unprotected and decoded (an Initial Context Setup
        answer arriving meanwhile is kept in ``pending_setup``)."""
        while True:
            event = await self._next()
            if isinstance(event, ContextSetupDone):
                self.pending_setup = event
                continue
            if isinstance(event, ContextSetupFailed):
                raise _End(f"Initial Context Setup failed: {event.cause}")
            if not isinstance(event, NasUplink):
                raise _End(f"unexpected {type(event).__name__} in state {self.state}")
            msg = self._decode_uplink(event.pdu)
            if msg is not None:
                return msg

    def _decode_uplink(self, pdu: bytes) -> nas.NasMessage | None:
        """Unprotect and decode; None for a message to ignore. Messages failing the
        integrity check are discarded (TS 24.301 §4.4.4.3); malformed ones are answered
        with EMM STATUS carrying the decoder's cause (§7)."""
        try:
            return self._unprotect(pdu)
        except nas.NasMacFailure:
            self.core.record("nas", "mac-failure")
            log.info("NAS MAC failure: message discarded", extra={"state": self.state})
        except _Unprotected as exc:
            self.core.record("nas", "unprotected")
            log.info("unprotected %s discarded", exc, extra={"state": self.state})
        except nas.NasError as exc:
            self.core.record("nas", "malformed")
            self._send(nas.EmmStatus(cause=exc.cause))
        return None

    def _unprotect(self, pdu: bytes) -> nas.NasMessage:
        if self.sec is not None:
            result = self.sec.unprotect(pdu)
            msg = nas.decode(result.message)
            if result.header_type == 0 and not isinstance(msg, _PLAIN_AFTER_SECURITY):
                raise _Unprotected(type(msg).__name__)
            return msg
        hdr = nas.split_security_header(pdu)
        if hdr is None:
            return nas.decode(pdu)
        if hdr.header_type in (1, 3):
            # Integrity protected but not ciphered, and no context to check it with (an
            # Attach Request with a GUTI from another network): TS 24.301 §4.4.4.3 lets the
            # MME process it and re-authenticate.
            return nas.decode(hdr.payload)
        raise nas.NasError("ciphered NAS message without a security context", 111)

    def _send(self, message: nas.NasMessage, header: int = SEC_HDR_INTEGRITY_CIPHERED) -> None:
        plain = message.encode()
        self.link.send_nas(plain if self.sec is None else self.sec.protect(plain, header))

    def _expect(self, msg: nas.NasMessage, *kinds: type) -> None:
        if not isinstance(msg, kinds):
            raise _End(f"{type(msg).__name__} while waiting for {kinds[0].__name__}")

    # -- the association ----------------------------------------------------------------------
    async def run(self, initial_nas: bytes) -> None:
        """Serve the association from its Initial UE Message to the release."""
        try:
            await self._serve(initial_nas)
        except _Lost:
            await self._lost()
        except _Timeout as exc:
            log.info("procedure timed out", extra={"state": self.state, "error": str(exc)})
            self.core.record(self._procedure(), "timeout")
            await self._release(("nas", "unspecified"))
        except _End as exc:
            log.info("procedure ended", extra={"state": self.state, "reason": str(exc)})
            await self._release(exc.cause)
        except Exception:
            log.exception("UE procedure failed", extra={"state": self.state})
            self.core.record(self._procedure(), "error")
            await self._release(("misc", "unspecified"))
        finally:
            self._settled()
            if self.imsi and self.core.handlers.get(self.imsi) is self:
                del self.core.handlers[self.imsi]
            self.link.forget()

    def _claim(self, imsi: str) -> None:
        """Become the UE's handler on this replica; an older association of the same UE
        (it re-attached, e.g. through another eNB) is released."""
        old = self.core.handlers.get(imsi)
        if old is not None and old is not self:
            old.deliver(Superseded())
        self.core.handlers[imsi] = self
        self.imsi = imsi

    async def reject_congested(self, initial_nas: bytes) -> None:
        """Too many procedures in progress on this replica: an Attach Request gets Attach
        Reject #22 "congestion" (TS 24.301 §5.5.1.2.5), anything else just the release."""
        try:
            first = self._first_message(initial_nas)
        except nas.NasError:
            first = None
        if isinstance(first, nas.AttachRequest):
            self._send(nas.AttachReject(cause=EMM_CAUSE_CONGESTION))
        self.core.record(self._procedure(), "congestion")
        try:
            await self._release(("misc", "control-processing-overload"))
        finally:
            self._settled()
            self.link.forget()

    def _procedure(self) -> str:
        return "detach" if self.state.startswith("detach") else "attach"

    async def _serve(self, initial_nas: bytes) -> None:
        try:
            first = self._first_message(initial_nas)
        except nas.NasError as exc:
            self.core.record("nas", "malformed")
            self._send(nas.EmmStatus(cause=exc.cause))
            raise _End(f"malformed initial NAS message: {exc}") from exc
        if isinstance(first, nas.AttachRequest):
            await self.attach(first)
        elif isinstance(first, nas.DetachRequest):
            await self.detach(first, initial_pdu=initial_nas)
            return
        else:
            self._send(nas.EmmStatus(cause=EMM_CAUSE_MSG_TYPE_NOT_COMPATIBLE))
            raise _End(f"{type(first).__name__} is not served as an initial message")
        await self.registered()

    def _first_message(self, pdu: bytes) -> nas.NasMessage:
        """The initial NAS message, decoded without a security context: an Attach Request
        is processed whatever its protection (the MME authenticates anyway), a Detach
        Request is checked by detach() once the UE's stored context is loaded."""
        hdr = nas.split_security_header(pdu)
        if hdr is None:
            return nas.decode(pdu)
        if hdr.header_type not in (1, 3):
            raise nas.NasError("an initial NAS message must not be ciphered")
        return nas.decode(hdr.payload)

    # -- attach (TS 23.401 §5.3.2.1) ----------------------------------------------------------
    async def attach(self, req: nas.AttachRequest) -> None:
        started = time.perf_counter()
        try:
            await self._attach(req)
        except _Reject as exc:
            self.core.record("attach", f"reject-{exc.emm_cause}", time.perf_counter() - started)
            self._send(nas.AttachReject(cause=exc.emm_cause, esm=exc.esm))
            raise
        except _AuthReject:
            self.core.record("attach", "auth-reject", time.perf_counter() - started)
            self.sec = None
            self._send(nas.AuthenticationReject())
            raise
        self.core.record("attach", "success", time.perf_counter() - started)

    async def _identify(self, req: nas.AttachRequest) -> str:
        identity = req.identity
        if isinstance(identity, nas.Imsi):
            return identity.digits
        epc = self.config.epc
        if (
            identity.mme_group_id == epc.mme_group_id
            and identity.mme_code == epc.mme_code
            and (identity.mcc, identity.mnc) == (epc.mcc, epc.mnc)
        ):
            try:
                known = await self.core.contexts.by_m_tmsi(identity.m_tmsi)
            except ContextError as exc:
                raise _Reject(str(exc), nas.EMM_CAUSE_NETWORK_FAILURE) from exc
            if known is not None:
                self.core.record("identification", "guti-known")
                return known.imsi
        # TS 24.301 §5.4.4: ask for the IMSI.
        self.core.record("identification", "identity-request")
        self.state = "identification"
        self._send(nas.IdentityRequest(identity_type=1))
        msg = await self._next_nas()
        self._expect(msg, nas.IdentityResponse)
        assert isinstance(msg, nas.IdentityResponse)
        if not isinstance(msg.identity, nas.Imsi):
            raise _Reject(
                "Identity Response without an IMSI", nas.EMM_CAUSE_UE_IDENTITY_CANNOT_BE_DERIVED
            )
        return msg.identity.digits

    async def _attach(self, req: nas.AttachRequest) -> None:
        imsi = await self._identify(req)
        self._claim(imsi)
        ctx = UeContext(imsi=imsi)
        ctx.tai_tac = self.link.tac
        ctx.ue_network_capability = req.ue_network_capability
        self.ctx = ctx
        algorithms = select_algorithms(
            req.ue_network_capability,
            ciphering=self.config.security.ciphering,
            integrity=self.config.security.integrity,
        )
        if algorithms is None:
            raise _Reject(
                "the UE supports none of the configured NAS algorithms",
                nas.EMM_CAUSE_UE_SECURITY_CAPABILITIES_MISMATCH,
            )
        await self._authenticate(ctx)
        await self._security_mode(ctx, req, *algorithms)
        subscription = await self._update_location(ctx)
        await self._create_session(ctx, req.esm, subscription)
        await self._context_setup(ctx, req.esm)
        ctx.state = EMM_REGISTERED
        ctx.replica = self.core.replica
        ctx.mme_ue_s1ap_id = self.link.mme_ue_s1ap_id
        ctx.enb_ue_s1ap_id = self.link.enb_ue_s1ap_id
        try:
            previous = await self.core.contexts.get(ctx.imsi)
        except ContextError:
            previous = None  # unreadable: replaced below
        await self._save(ctx, new_guti=True)
        if previous is not None and previous.m_tmsi and previous.m_tmsi != ctx.m_tmsi:
            # The UE attached again (TS 24.301 §5.5.1.2.4): its old GUTI is void.
            try:
                await self.core.contexts.drop_index(previous)
            except ContextError as exc:
                log.warning("old GUTI index not removed", extra={"error": str(exc)})

    async def _authenticate(self, ctx: UeContext) -> None:
        """EPS AKA (TS 33.401 §6.1.1, TS 24.301 §5.4.2), with one re-synchronisation."""
        self.state = "authentication"
        resync: bytes | None = None
        for _attempt in range(MAX_RESYNCS + 1):
            try:
                aia = await self.core.air(ctx.imsi, resync)
            except PeerFailure as exc:
                raise _Reject(f"AIR: {exc}", nas.EMM_CAUSE_NETWORK_FAILURE) from exc
            cause = emm_cause_for_s6a(aia)
            if cause is not None:
                raise _Reject(f"AIA result {answer_code(aia)}", cause)
            try:
                vectors = s6a.read_vectors(aia)
            except DiameterParseError as exc:
                raise _Reject(f"AIA: {exc}", nas.EMM_CAUSE_NETWORK_FAILURE) from exc
            if not vectors:
                raise _Reject("AIA without an E-UTRAN vector", nas.EMM_CAUSE_NETWORK_FAILURE)
            vector = vectors[0]
            ksi = (ctx.ksi + 1) % 7 if ctx.kasme else 0
            self._send(nas.AuthenticationRequest(ksi=ksi, rand=vector.rand, autn=vector.autn))
            msg = await self._next_nas()
            if isinstance(msg, nas.AuthenticationResponse):
                if msg.res != vector.xres:
                    raise _AuthReject("RES does not match XRES")
                ctx.kasme, ctx.ksi = vector.kasme, ksi
                return
            self._expect(msg, nas.AuthenticationFailure)
            assert isinstance(msg, nas.AuthenticationFailure)
            if msg.cause == nas.EMM_CAUSE_SYNCH_FAILURE and msg.auts and resync is None:
                resync = vector.rand + msg.auts  # TS 29.272 §7.3.15: RAND || AUTS
                self.core.record("authentication", "resync")
                continue
            raise _AuthReject(f"UE reports authentication failure #{msg.cause}")
        raise _AuthReject("synchronisation failed twice")

    async def _security_mode(
        self, ctx: UeContext, req: nas.AttachRequest, eea: int, eia: int
    ) -> None:
        """TS 24.301 §5.4.3: take the new EPS security context into use."""
        self.state = "security-mode"
        ctx.eea, ctx.eia = eea, eia
        self.sec = NasSecurityContext(
            kasme=ctx.kasme, ksi=ctx.ksi, enc_alg=eea, int_alg=eia, network=True
        )
        caps = req.ue_network_capability[:5]
        if len(caps) < 2:
            caps = (caps + b"\x00\x00")[:2]
        self._send(
            nas.SecurityModeCommand(
                enc_alg=eea, int_alg=eia, ksi=ctx.ksi, replayed_ue_security_capabilities=caps
            ),
            SEC_HDR_INTEGRITY_NEW_CTX,
        )
        msg = await self._next_nas()
        if isinstance(msg, nas.SecurityModeReject):
            self.sec = None
            raise _Reject(
                f"Security Mode Reject #{msg.cause}", nas.EMM_CAUSE_SECURITY_MODE_REJECTED
            )
        self._expect(msg, nas.SecurityModeComplete)

    async def _update_location(self, ctx: UeContext) -> s6a.SubscriptionData:
        self.state = "update-location"
        try:
            ula = await self.core.ulr(ctx.imsi)
        except PeerFailure as exc:
            raise _Reject(f"ULR: {exc}", nas.EMM_CAUSE_NETWORK_FAILURE) from exc
        cause = emm_cause_for_s6a(ula)
        if cause is not None:
            raise _Reject(f"ULA result {answer_code(ula)}", cause)
        try:
            sub = s6a.read_subscription_data(ula)
        except DiameterParseError as exc:
            raise _Reject(f"ULA: {exc}", nas.EMM_CAUSE_NETWORK_FAILURE) from exc
        if sub is None:
            raise _Reject("ULA without Subscription-Data", nas.EMM_CAUSE_NETWORK_FAILURE)
        ctx.msisdn = sub.msisdn
        return sub

    def _pick_apn(
        self, ctx: UeContext, esm: nas.PdnConnectivityRequest, sub: s6a.SubscriptionData
    ) -> tuple[str, int, int, int, int]:
        """(APN, QCI, ARP priority, APN-AMBR UL, DL kbit/s) for the default bearer."""
        wanted = (esm.apn or "").lower()
        profile = None
        if wanted:
            profile = next((a for a in sub.apns if a.service_selection.lower() == wanted), None)
        else:
            profile = sub.default_apn
        if profile is not None:
            return (
                profile.service_selection,
                profile.qci,
                profile.arp.priority_level,
                profile.ambr_ul // 1000,
                profile.ambr_dl // 1000,
            )
        if sub.apns:
            raise _Reject(
                f"APN {wanted!r} is not subscribed",
                nas.EMM_CAUSE_ESM_FAILURE,
                nas.PdnConnectivityReject(pti=esm.pti, cause=ESM_MISSING_OR_UNKNOWN_APN),
            )
        # No APN profile from the HSS: the configured APNs (first one is the default).
        apns = self.config.epc.apns
        conf = next((a for a in apns if a.name.lower() == wanted), None) if wanted else apns[0]
        if conf is None:
            raise _Reject(
                f"unknown APN {wanted!r}",
                nas.EMM_CAUSE_ESM_FAILURE,
                nas.PdnConnectivityReject(pti=esm.pti, cause=ESM_MISSING_OR_UNKNOWN_APN),
            )
        return conf.name, conf.qci, conf.arp, conf.ambr_ul_kbps, conf.ambr_dl_kbps

    async def _create_session(
        self, ctx: UeContext, esm: nas.PdnConnectivityRequest, sub: s6a.SubscriptionData
    ) -> None:
        """S11 Create Session (TS 23.401 §5.3.2.1 step 12-16)."""
        self.state = "create-session"
        if esm.pdn_type != nas.PDN_TYPE_IPV4:
            raise _Reject(
                f"PDN type {esm.pdn_type} is not served (IPv4 only)",
                nas.EMM_CAUSE_ESM_FAILURE,
                nas.PdnConnectivityReject(pti=esm.pti, cause=ESM_UNKNOWN_PDN_TYPE),
            )
        apn, qci, arp, ambr_ul, ambr_dl = self._pick_apn(ctx, esm, sub)
        ctx.bearer = BearerContext(
            ebi=DEFAULT_EBI, apn=apn, qci=qci, arp=arp, ambr_ul_kbps=ambr_ul, ambr_dl_kbps=ambr_dl
        )
        ctx.ambr_ul_kbps = sub.ambr_ul // 1000 or ambr_ul
        ctx.ambr_dl_kbps = sub.ambr_dl // 1000 or ambr_dl
        try:
            rsp = await self.core.create_session(ctx, (ambr_ul, ambr_dl))
        except PeerFailure as exc:
            raise _Reject(
                f"Create Session: {exc}",
                nas.EMM_CAUSE_ESM_FAILURE,
                nas.PdnConnectivityReject(pti=esm.pti, cause=ESM_NETWORK_FAILURE),
            ) from exc
        cause = rsp.cause
        if cause is None or not gtpv2c.is_accepted(cause):
            raise _Reject(
                f"Create Session rejected with cause {cause}",
                nas.EMM_CAUSE_ESM_FAILURE,
                nas.PdnConnectivityReject(pti=esm.pti, cause=esm_cause_for_gtp(cause)),
            )
        sgw_c: gtpv2c.Fteid | None = rsp.get(gtpv2c.IE_FTEID, 0)
        paa: gtpv2c.Paa | None = rsp.get(gtpv2c.IE_PAA)
        group = rsp.get(gtpv2c.IE_BEARER_CONTEXT)
        s1u: gtpv2c.Fteid | None = gtpv2c.find(group, gtpv2c.IE_FTEID, 0) if group else None
        if sgw_c is None or paa is None or paa.ipv4 is None or s1u is None or s1u.ipv4 is None:
            raise _Reject(
                "Create Session Response lacks the SGW F-TEIDs or the UE address",
                nas.EMM_CAUSE_ESM_FAILURE,
                nas.PdnConnectivityReject(pti=esm.pti, cause=ESM_NETWORK_FAILURE),
            )
        b = ctx.bearer
        b.sgw_s11_ip, b.sgw_s11_teid = sgw_c.ipv4 or "", sgw_c.teid
        b.sgw_s1u_ip, b.sgw_s1u_teid = s1u.ipv4, s1u.teid
        b.ue_ip = paa.ipv4
        ambr: gtpv2c.Ambr | None = rsp.get(gtpv2c.IE_AMBR)
        if ambr is not None:
            b.ambr_ul_kbps, b.ambr_dl_kbps = ambr.uplink, ambr.downlink

    async def _context_setup(self, ctx: UeContext, esm: nas.PdnConnectivityRequest) -> None:
        """Initial Context Setup with the Attach Accept, then Attach Complete and Modify
        Bearer (TS 23.401 §5.3.2.1 steps 17-24)."""
        self.state = "context-setup"
        assert self.sec is not None
        ctx.m_tmsi = await self._new_m_tmsi()
        epc = self.config.epc
        b = ctx.bearer
        accept = nas.AttachAccept(
            tai_list=tuple(nas.Tai(epc.mcc, epc.mnc, tac) for tac in epc.tacs),
            esm=nas.ActivateDefaultBearerRequest(
                ebi=b.ebi,
                pti=esm.pti,
                qci=b.qci,
                apn=b.apn,
                pdn_address=b.ue_ip,
                apn_ambr_ul_kbps=b.ambr_ul_kbps or None,
                apn_ambr_dl_kbps=b.ambr_dl_kbps or None,
            ),
            guti=nas.Guti(epc.mcc, epc.mnc, epc.mme_group_id, epc.mme_code, ctx.m_tmsi),
        )
        kenb = kdf.kenb(ctx.kasme, self.sec.last_ul_count)
        self.link.setup_context(
            ContextSetup(
                nas_pdu=self.sec.protect(accept.encode()),
                kenb=kenb,
                ue_ambr_ul_bps=ctx.ambr_ul_kbps * 1000,
                ue_ambr_dl_bps=ctx.ambr_dl_kbps * 1000,
                ebi=b.ebi,
                qci=b.qci,
                arp=b.arp,
                sgw_ip=b.sgw_s1u_ip,
                sgw_teid=b.sgw_s1u_teid,
                ue_network_capability=ctx.ue_network_capability,
            )
        )
        # The eNB's answer and the UE's Attach Complete may come in either order.
        completed = False
        while not completed or self.pending_setup is None:
            event = await self._next()
            if isinstance(event, ContextSetupDone):
                self.pending_setup = event
            elif isinstance(event, ContextSetupFailed):
                raise _End(f"Initial Context Setup failed: {event.cause}")
            elif isinstance(event, NasUplink):
                msg = self._decode_uplink(event.pdu)
                if msg is not None:
                    self._expect(msg, nas.AttachComplete)
                    completed = True
            else:
                raise _End(f"unexpected {type(event).__name__} in context setup")
        setup = self.pending_setup
        assert setup is not None
        b.enb_s1u_ip, b.enb_s1u_teid = setup.enb_ip, setup.enb_teid
        self.state = "modify-bearer"
        try:
            rsp = await self.core.modify_bearer(ctx)
        except PeerFailure as exc:
            raise _End(f"Modify Bearer: {exc}") from exc
        if rsp.cause is None or not gtpv2c.is_accepted(rsp.cause):
            raise _End(f"Modify Bearer rejected with cause {rsp.cause}")

    async def _new_m_tmsi(self) -> int:
        try:
            return await self.core.contexts.new_m_tmsi()
        except ContextError as exc:
            raise _Reject(str(exc), nas.EMM_CAUSE_NETWORK_FAILURE) from exc

    async def _save(self, ctx: UeContext, *, new_guti: bool = False) -> None:
        if self.sec is not None:
            ctx.ul_count, ctx.dl_count = self.sec.ul_count, self.sec.dl_count
        try:
            await self.core.contexts.save(ctx, index_tmsi=new_guti)
        except ContextError as exc:
            raise _End(f"UE context not saved: {exc}") from exc

    async def _update(self, ctx: UeContext) -> None:
        """Write back the NAS COUNTs and connection state, unless the UE registered again
        meanwhile (through another association or replica): never overwrite the newer."""
        if self.sec is not None:
            ctx.ul_count, ctx.dl_count = self.sec.ul_count, self.sec.dl_count
        try:
            if not await self.core.contexts.save_if_current(ctx):
                log.info("UE context superseded: not written back", extra={"imsi": ctx.imsi})
        except ContextError as exc:
            raise _End(f"UE context not saved: {exc}") from exc

    # -- EMM-REGISTERED, ECM-CONNECTED -----------------------------------------------------------
    async def registered(self) -> None:
        """Wait for the UE's next procedure (detach) or the eNB's release of the UE."""
        self.state = "registered"
        self._settled()
        while True:
            try:
                event = await self.events.get()
            except asyncio.CancelledError:
                raise
            if isinstance(event, AssociationLost):
                raise _Lost("S1 association lost")
            if isinstance(event, Superseded):
                self.ctx = None  # the newer registration owns the stored context
                await self._release(_NORMAL_RELEASE)
                return
            if isinstance(event, ReleaseRequested):
                await self._go_idle(("radioNetwork", "user-inactivity"))
                return
            if isinstance(event, NasUplink):
                msg = self._decode_uplink(event.pdu)
                if msg is None:
                    continue
                if isinstance(msg, nas.DetachRequest):
                    await self.detach(msg)
                    return
                self._send(nas.EmmStatus(cause=EMM_CAUSE_MSG_TYPE_NOT_COMPATIBLE))

    async def _go_idle(self, cause: tuple[str, str]) -> None:
        """S1 release (TS 23.401 §5.3.5): keep the EMM context, drop the S1 association."""
        ctx = self.ctx
        if ctx is not None:
            ctx.replica, ctx.mme_ue_s1ap_id, ctx.enb_ue_s1ap_id = "", 0, 0
            await self._update(ctx)
        self.core.record("release", "idle")
        await self._release(cause)

    async def _lost(self) -> None:
        ctx = self.ctx
        if ctx is not None and ctx.state == EMM_REGISTERED:
            ctx.replica, ctx.mme_ue_s1ap_id, ctx.enb_ue_s1ap_id = "", 0, 0
            try:
                await self._update(ctx)
            except _End as exc:
                log.warning("UE context not saved", extra={"reason": str(exc)})
        self.released = True

    # -- detach (TS 23.401 §5.3.8.2, TS 24.301 §5.5.2.2) ------------------------------------------
    async def detach(self, req: nas.DetachRequest, *, initial_pdu: bytes | None = None) -> None:
        """UE-initiated detach: in ECM-CONNECTED (``initial_pdu`` None, the message was
        checked with the association's security context) or from ECM-IDLE in an Initial UE
        Message, checked here against the stored context."""
        self.state = "detach"
        started = time.perf_counter()
        ctx = self.ctx
        if ctx is None:
            ctx = await self._context_for_detach(req, initial_pdu or b"")
            if ctx is None:
                self.core.record("detach", "unknown-ue", time.perf_counter() - started)
                if not req.switch_off:
                    self._send(nas.DetachAccept())
                await self._release(("nas", "detach"))
                return
        self.ctx = ctx
        if ctx.bearer.sgw_s11_teid:
            try:
                rsp = await self.core.delete_session(ctx)
                if rsp.cause is not None and not gtpv2c.is_accepted(rsp.cause):
                    log.info("Delete Session refused", extra={"cause": rsp.cause})
            except PeerFailure as exc:
                log.warning("Delete Session failed", extra={"error": str(exc)})
        try:
            await self.core.pur(ctx.imsi)
        except PeerFailure as exc:
            log.warning("Purge UE failed", extra={"error": str(exc)})
        try:
            await self.core.contexts.delete_if_current(ctx)
        except ContextError as exc:
            log.warning("UE context not deleted", extra={"error": str(exc)})
        if not req.switch_off:
            self._send(nas.DetachAccept())
        self.core.record("detach", "success", time.perf_counter() - started)
        await self._release(("nas", "detach"))

    async def _context_for_detach(self, req: nas.DetachRequest, pdu: bytes) -> UeContext | None:
        """The stored context of an idle UE detaching by GUTI (any replica may have saved
        it), with the Detach Request's integrity checked against its security context."""
        identity = req.identity
        try:
            if isinstance(identity, nas.Guti):
                ctx = await self.core.contexts.by_m_tmsi(identity.m_tmsi)
            else:
                ctx = await self.core.contexts.get(identity.digits)
        except ContextError as exc:
            raise _End(f"UE context unavailable: {exc}") from exc
        if ctx is None or not ctx.kasme:
            return ctx
        self.sec = NasSecurityContext(
            kasme=ctx.kasme,
            ksi=ctx.ksi,
            enc_alg=ctx.eea,
            int_alg=ctx.eia,
            network=True,
            ul_count=ctx.ul_count,
            dl_count=ctx.dl_count,
        )
        if nas.split_security_header(pdu) is None:
            return ctx  # TS 24.301 §4.4.4.3: processed even without integrity protection
        try:
            self.sec.unprotect(pdu)
        except nas.NasMacFailure as exc:
            self.core.record("detach", "mac-failure")
            raise _End("Detach Request failed its integrity check") from exc
        return ctx

    # -- release -----------------------------------------------------------------------------------
    async def _release(self, cause: tuple[str, str]) -> None:
        """UE Context Release Command, then wait (bounded) for the Complete."""
        if self.released:
            return
        self.released = True
        self.state = "releasing"
        self.link.release(cause)
        deadline = time.monotonic() + self.config.procedure_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                event = await asyncio.wait_for(self.events.get(), remaining)
            except TimeoutError:
                return
            if isinstance(event, ReleaseCompleted | AssociationLost):
                return

"""An eNB and UE simulator for tests, benchmarks and Locust users (synchronous sockets).

One :class:`Enb` is one S1 association to an MME (S1AP over TCP with the 4-octet length
prefix of ``s1ap.frame``); many :class:`SimUe` attach and detach through it. The UE side is
real: it answers EPS AKA with Milenage from K/OPc as a USIM does (checking the network's
MAC-A and SQN freshness, sending AUTS on a synch failure), derives K_ASME and the NAS keys,
checks the integrity of the Security Mode Command and of everything after it, protects its
own NAS messages, and checks that the K_eNB the MME puts in Initial Context Setup matches
its own. The eNB side answers Initial Context Setup with an S1-U F-TEID and UE Context
Release Commands with Release Complete.

Procedures are generators driven by :meth:`Enb.run`, which multiplexes any number of them
over the one S1 connection (routing downlink PDUs by eNB-UE-S1AP-ID), so one thread or
greenlet can keep many UEs in flight::

    with Enb(("127.0.0.1", 36412), enb_id=1, mcc="001", mnc="01", tac=1) as enb:
        ue = SimUe(imsi="001010000000001", k=..., opc=...)
        result = enb.attach(ue)                  # AttachResult: ip, guti, seconds, steps
        enb.release(ue)                          # eNB-initiated release: UE goes idle
        enb.detach(ue)                           # Detach Request (Initial UE Message)
        results = enb.run_many([enb.attach_procedure(u) for u in ues], concurrency=20)

Only the calling thread/greenlet drives an Enb: share nothing between Locust users but the
MME address (one Enb per user, or per group of UEs). Sockets are plain ``socket`` objects,
so under gevent's monkey patching every wait yields to other greenlets; no threads are used.

Failures raise :class:`SimError` subclasses naming the procedure step and the network's
answer: :class:`AttachRejected` (``emm_cause``, ``esm_cause``), :class:`AuthenticationRejected`,
:class:`NetworkAuthenticationFailed` (the network's MAC did not verify), :class:`SimTimeout`,
:class:`S1SetupFailed`.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from network_functions.protocols import aka, kdf, nas, s1ap
from network_functions.protocols.nas.security import (
    SEC_HDR_INTEGRITY,
    SEC_HDR_INTEGRITY_CIPHERED,
    SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX,
    SEC_HDR_INTEGRITY_NEW_CTX,
    NasSecurityContext,
)
from network_functions.protocols.s1ap import S1apError, S1apMessage

__all__ = [
    "AttachRejected",
    "AttachResult",
    "AuthenticationRejected",
    "DetachResult",
    "Enb",
    "NetworkAuthenticationFailed",
    "Procedure",
    "S1SetupFailed",
    "SimError",
    "SimTimeout",
    "SimUe",
]

T = TypeVar("T")
# A procedure yields the S1AP messages to send and receives the next PDU for its UE.
Procedure = Generator[list[S1apMessage], S1apMessage, T]

# Default wait for the network's next message (the MME's own procedure timer is 6 s).
DEFAULT_TIMEOUT = 10.0
RECV_SIZE = 65536
# Downlink PDUs that belong to no running procedure are kept for inspection, the last ones.
MAX_UNSOLICITED = 100
# UE network capability (TS 24.301 §9.9.3.34): EEA0, 128-EEA1, 128-EEA2; EIA0..2.
DEFAULT_CAPABILITY = b"\xe0\xe0"


class SimError(Exception):
    """The network answered unexpectedly, refused, or did not answer."""


class SimTimeout(SimError):
    pass


class S1SetupFailed(SimError):
    def __init__(self, cause: Any) -> None:
        super().__init__(f"S1 Setup Failure: {cause}")
        self.cause = cause


class AttachRejected(SimError):
    def __init__(self, emm_cause: int, esm_cause: int | None = None) -> None:
        extra = f" (ESM cause #{esm_cause})" if esm_cause is not None else ""
        super().__init__(f"Attach Reject: EMM cause #{emm_cause}{extra}")
        self.emm_cause = emm_cause
        self.esm_cause = esm_cause


class AuthenticationRejected(SimError):
    def __init__(self, detail: str = "") -> None:
        super().__init__("Authentication Reject" + (f" after {detail}" if detail else ""))


class NetworkAuthenticationFailed(SimError):
    """The USIM could not verify the network (MAC-A wrong): the UE sent cause #20."""


@dataclass
class SimUe:
    """A UE with its USIM (IMSI, K, OPc, SQN) and what the network gave it."""

    imsi: str
    k: str
    opc: str
    apn: str | None = None
    capability: bytes = DEFAULT_CAPABILITY
    # Highest SQN the USIM accepted; None = accept any fresh SQN the first time.
    sqn_ms: int | None = None
    # State from the network.
    guti: nas.Guti | None = None
    ip: str = ""
    sec: NasSecurityContext | None = field(default=None, repr=False)
    enb_ue_s1ap_id: int = 0
    mme_ue_s1ap_id: int | None = None
    connected: bool = False
    attached: bool = False
    ebi: int = 0


@dataclass(frozen=True)
class AttachResult:
    imsi: str
    ip: str
    guti: nas.Guti
    seconds: float
    # Time from the Initial UE Message to each step's request from the network.
    steps: dict[str, float]


@dataclass(frozen=True)
class DetachResult:
    imsi: str
    seconds: float


class Enb:
    """One simulated eNB: an S1 association and the UEs attached through it."""

    def __init__(
        self,
        mme: tuple[str, int],
        *,
        enb_id: int = 1,
        mcc: str = "001",
        mnc: str = "01",
        tac: int = 1,
        cell_id: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        setup: bool = True,
        bind: str | None = None,
    ) -> None:
        self.mme = mme
        self.enb_id, self.mcc, self.mnc, self.tac = enb_id, mcc, mnc, tac
        self.cell_id = cell_id
        self.timeout = timeout
        self.plmn = kdf.plmn_bytes(mcc, mnc)
        self._bind = bind
        self._setup = setup
        self.sock: socket.socket | None = None
        self.deframer = s1ap.S1apDeframer()
        self._ue_ids = itertools.count(1)
        self._teids = itertools.count(0x1000)
        self.address = ""
        # Downlink PDUs not tied to a running procedure (Error Indications, late answers).
        self.unsolicited: list[S1apMessage] = []
        # When a list: every PDU sent (True) and received (False), e.g. to write a pcap.
        self.trace: list[tuple[bool, bytes]] | None = None

    # -- connection ----------------------------------------------------------------------------
    def __enter__(self) -> Enb:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> S1apMessage | None:
        """Open the S1 association and run S1 Setup (unless ``setup=False``)."""
        self.close()
        sock = socket.create_connection(
            self.mme, timeout=self.timeout, source_address=((self._bind, 0) if self._bind else None)
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.address = sock.getsockname()[0]
        self.deframer = s1ap.S1apDeframer()
        if self._setup:
            return self.s1_setup()
        return None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def s1_setup(self, *, tacs: list[int] | None = None, mcc: str | None = None) -> S1apMessage:
        """S1 Setup (TS 36.413 §8.7.3); returns the response, S1SetupFailed on failure."""
        req = s1ap.s1_setup_request(
            mcc=mcc or self.mcc,
            mnc=self.mnc,
            enb_id=self.enb_id,
            tacs=tacs or [self.tac],
            enb_name=f"nfv-sim-enb-{self.enb_id}",
        )
        self.send(req)
        deadline = time.monotonic() + self.timeout
        while True:
            for msg in self._receive(deadline):
                if msg.name == "S1SetupResponse":
                    return msg
                if msg.name == "S1SetupFailure":
                    raise S1SetupFailed(msg.ies.get("Cause"))
                self._keep_unsolicited(msg)

    # -- raw I/O (also for tests of bad input) -------------------------------------------------
    def send(self, msg: S1apMessage) -> None:
        self.send_raw(msg.encode())

    def send_raw(self, pdu: bytes, *, framed: bool = True) -> None:
        if self.sock is None:
            raise SimError("the eNB is not connected")
        if self.trace is not None:
            self.trace.append((True, pdu))
        self._sendall(s1ap.frame(pdu) if framed else pdu)

    def _send_all(self, msgs: list[S1apMessage]) -> None:
        if msgs:
            if self.sock is None:
                raise SimError("the eNB is not connected")
            pdus = [m.encode() for m in msgs]
            if self.trace is not None:
                self.trace += [(True, pdu) for pdu in pdus]
            self._sendall(b"".join(s1ap.frame(pdu) for pdu in pdus))

    def _sendall(self, data: bytes) -> None:
        sock = self.sock
        if sock is None:
            raise SimError("the eNB is not connected")
        try:
            sock.sendall(data)
        except OSError as exc:
            self.close()  # the association is gone; connect() opens a new one
            raise SimError(f"S1 association lost: {exc}") from exc

    def _receive(self, deadline: float) -> list[S1apMessage]:
        """The PDUs of the next read (at least one), decoded; SimTimeout at the deadline."""
        sock = self.sock
        if sock is None:
            raise SimError("the eNB is not connected")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SimTimeout("no answer from the MME")
            sock.settimeout(remaining)
            try:
                data = sock.recv(RECV_SIZE)
            except TimeoutError:
                raise SimTimeout("no answer from the MME") from None
            except OSError as exc:
                self.close()  # the association is gone; connect() opens a new one
                raise SimError(f"S1 association lost: {exc}") from exc
            if not data:
                self.close()
                raise SimError("the MME closed the S1 association")
            try:
                pdus = self.deframer.feed(data)
            except S1apError as exc:
                self.close()
                raise SimError(f"MME broke the S1 framing: {exc}") from exc
            out = []
            for pdu in pdus:
                if self.trace is not None:
                    self.trace.append((False, pdu))
                try:
                    out.append(s1ap.decode(pdu))
                except S1apError as exc:
                    raise SimError(f"MME sent an S1AP PDU we cannot decode: {exc}") from exc
            if out:
                return out

    def receive(self, timeout: float | None = None) -> S1apMessage:
        """The next PDU from the MME (for tests)."""
        if self.unsolicited:
            return self.unsolicited.pop(0)
        msgs = self._receive(time.monotonic() + (timeout or self.timeout))
        self.unsolicited.extend(msgs[1:])
        return msgs[0]

    # -- driving procedures --------------------------------------------------------------------
    def run(self, procedure: Procedure[T]) -> T:
        """Run one procedure to its end; its exception propagates."""
        (result,) = self.run_many([procedure], concurrency=1)
        if isinstance(result, BaseException):
            raise result
        out: T = result
        return out

    def run_many(
        self,
        procedures: list[Procedure[Any]],
        *,
        concurrency: int = 10,
        rate: float | None = None,
    ) -> list[Any]:
        """Run procedures with up to ``concurrency`` in flight over this S1 association;
        with ``rate``, start them on a fixed schedule (``rate`` per second, open loop: a
        late start catches up at once, as long as ``concurrency`` allows).

        Returns one entry per procedure, in order: its result, or the SimError it raised
        (SimTimeout when the MME did not answer one of its steps within ``timeout``).
        """
        results: list[Any] = [None] * len(procedures)
        waiting = list(enumerate(procedures))
        waiting.reverse()
        active: dict[int, tuple[int, Procedure[Any], float]] = {}  # by eNB-UE-S1AP-ID
        ue_ids: dict[int, int] = {}  # procedure index -> its eNB-UE-S1AP-ID
        out: list[S1apMessage] = []
        started = 0
        t0 = time.monotonic()

        def step(index: int, proc: Procedure[Any], msg: S1apMessage | None) -> None:
            try:
                sends = next(proc) if msg is None else proc.send(msg)
                ue_id = _ue_id_of(sends) if sends else ue_ids.get(index)
                if ue_id is None:
                    raise SimError("a procedure step sent no UE-associated message")
            except StopIteration as stop:
                results[index] = stop.value
                return
            except SimError as exc:
                results[index] = exc
                return
            except (S1apError, nas.NasError, ValueError) as exc:
                results[index] = SimError(f"procedure failed: {exc!r}")
                return
            ue_ids[index] = ue_id
            active[ue_id] = (index, proc, time.monotonic() + self.timeout)
            out.extend(sends)

        def next_start() -> float:
            return t0 + started / rate if rate else 0.0

        while waiting or active:
            now = time.monotonic()
            while waiting and len(active) < concurrency and next_start() <= now:
                index, proc = waiting.pop()
                started += 1
                step(index, proc, None)
            try:
                self._send_all(out)
            finally:
                out.clear()
            if not active and not waiting:
                break
            deadlines = [d for _, _, d in active.values()]
            if waiting and len(active) < concurrency:
                deadlines.append(next_start())
            if not deadlines:
                continue
            try:
                msgs = self._receive(min(deadlines))
            except SimTimeout:
                now = time.monotonic()
                for ue_id, (index, proc, d) in list(active.items()):
                    if d <= now:
                        del active[ue_id]
                        proc.close()
                        results[index] = SimTimeout(f"UE {ue_id}: no answer from the MME")
                continue
            except SimError as exc:
                # The association is gone: every procedure in flight or waiting fails.
                for index, proc, _ in active.values():
                    proc.close()
                    results[index] = exc
                for index, proc in waiting:
                    proc.close()
                    results[index] = exc
                return results
            for msg in msgs:
                enb_id = msg.ies.get("eNB-UE-S1AP-ID")
                if msg.name == "UEContextReleaseCommand":
                    ids = msg.ies.get("UE-S1AP-IDs")
                    if isinstance(ids, tuple) and ids[0] == "uE-S1AP-ID-pair":
                        enb_id = ids[1]["eNB-UE-S1AP-ID"]
                entry = active.pop(enb_id, None) if isinstance(enb_id, int) else None
                if entry is None:
                    self._keep_unsolicited(msg)
                    continue
                step(entry[0], entry[1], msg)
        return results

    def _keep_unsolicited(self, msg: S1apMessage) -> None:
        self.unsolicited.append(msg)
        del self.unsolicited[:-MAX_UNSOLICITED]

    # -- procedures ----------------------------------------------------------------------------
    def attach(self, ue: SimUe, *, with_guti: bool = False) -> AttachResult:
        return self.run(self.attach_procedure(ue, with_guti=with_guti))

    def detach(self, ue: SimUe, *, switch_off: bool = False) -> DetachResult:
        return self.run(self.detach_procedure(ue, switch_off=switch_off))

    def release(self, ue: SimUe) -> None:
        self.run(self.release_procedure(ue))

    def _initial_ue(self, ue: SimUe, pdu: bytes) -> S1apMessage:
        ue.enb_ue_s1ap_id = next(self._ue_ids) & 0xFFFFFF
        ue.mme_ue_s1ap_id = None
        ue.connected = True
        s_tmsi = (ue.guti.mme_code, ue.guti.m_tmsi) if ue.guti is not None else None
        return s1ap.initial_ue_message(
            enb_ue_s1ap_id=ue.enb_ue_s1ap_id,
            nas_pdu=pdu,
            mcc=self.mcc,
            mnc=self.mnc,
            tac=self.tac,
            cell_id=self.cell_id,
            s_tmsi=s_tmsi,
        )

    def _uplink(self, ue: SimUe, message: nas.NasMessage, header: int | None = None) -> S1apMessage:
        plain = message.encode()
        pdu = plain if ue.sec is None or header == 0 else ue.sec.protect(plain, header or 2)
        if ue.mme_ue_s1ap_id is None:
            raise SimError("no MME-UE-S1AP-ID yet")
        return s1ap.uplink_nas_transport(
            mme_ue_s1ap_id=ue.mme_ue_s1ap_id,
            enb_ue_s1ap_id=ue.enb_ue_s1ap_id,
            nas_pdu=pdu,
            mcc=self.mcc,
            mnc=self.mnc,
            tac=self.tac,
            cell_id=self.cell_id,
        )

    def _release_complete(self, ue: SimUe, msg: S1apMessage) -> S1apMessage:
        ids = msg.ies.get("UE-S1AP-IDs")
        mme_id = ue.mme_ue_s1ap_id
        if isinstance(ids, tuple):
            mme_id = ids[1]["mME-UE-S1AP-ID"] if ids[0] == "uE-S1AP-ID-pair" else ids[1]
        ue.connected = False
        return s1ap.ue_context_release_complete(
            mme_ue_s1ap_id=mme_id or 0, enb_ue_s1ap_id=ue.enb_ue_s1ap_id
        )

    def _downlink_nas(self, ue: SimUe, msg: S1apMessage) -> nas.NasMessage:
        """Unprotect and decode a Downlink NAS Transport's NAS-PDU as the UE."""
        mme_id = msg.ies.get("MME-UE-S1AP-ID")
        if isinstance(mme_id, int):
            ue.mme_ue_s1ap_id = mme_id
        return self._nas(ue, bytes(msg.ies["NAS-PDU"]))

    def _nas(self, ue: SimUe, pdu: bytes) -> nas.NasMessage:
        try:
            hdr = nas.split_security_header(pdu)
            if hdr is None:
                return nas.decode(pdu)
            if ue.sec is None:
                raise SimError("protected NAS message before any security context")
            return nas.decode(ue.sec.unprotect(pdu).message)
        except nas.NasMacFailure as exc:
            raise SimError("downlink NAS message failed the UE's integrity check") from exc
        except nas.NasError as exc:
            raise SimError(f"undecodable downlink NAS message: {exc}") from exc

    def attach_procedure(self, ue: SimUe, *, with_guti: bool = False) -> Procedure[AttachResult]:
        """EPS attach with a PDN connectivity request (TS 24.301 §5.5.1.2), identified by
        the IMSI, or with ``with_guti`` by the GUTI the UE holds (the MME then finds the
        IMSI in its contexts or asks for it with an Identity Request)."""
        t0 = time.perf_counter()
        steps: dict[str, float] = {}
        identity: nas.Imsi | nas.Guti = nas.Imsi(ue.imsi)
        if with_guti:
            if ue.guti is None:
                raise SimError(f"UE {ue.imsi} has no GUTI to attach with")
            identity = ue.guti
        ue.sec = None
        ue.attached = False
        kasme = b""
        ksi = 0
        request = nas.AttachRequest(
            identity=identity,
            esm=nas.PdnConnectivityRequest(pti=1, apn=ue.apn),
            ue_network_capability=ue.capability,
        )
        msg = yield [self._initial_ue(ue, request.encode())]
        failure: SimError | None = None
        k, opc = bytes.fromhex(ue.k), bytes.fromhex(ue.opc)
        while True:
            if msg.name == "UEContextReleaseCommand":
                complete = self._release_complete(ue, msg)
                yield_after = failure or SimError(
                    f"released by the MME during attach: {msg.ies.get('Cause')}"
                )
                self._send_all([complete])
                raise yield_after
            if msg.name == "ErrorIndication":
                raise SimError(f"Error Indication from the MME: {msg.ies.get('Cause')}")
            if msg.name == "InitialContextSetupRequest":
                result = self._context_setup(ue, msg, kasme)
                steps["context_setup"] = time.perf_counter() - t0
                ics, complete = result
                ue.attached = True
                self._send_all([ics, complete])
                assert ue.guti is not None
                return AttachResult(ue.imsi, ue.ip, ue.guti, time.perf_counter() - t0, steps)
            if msg.name != "DownlinkNASTransport":
                raise SimError(f"unexpected {msg.name} during attach")
            pdu = bytes(msg.ies["NAS-PDU"])
            hdr = nas.split_security_header(pdu)
            if hdr is not None and hdr.header_type == SEC_HDR_INTEGRITY_NEW_CTX and kasme:
                # Security Mode Command: take the new context into use if its MAC verifies.
                smc = nas.decode(hdr.payload)
                if not isinstance(smc, nas.SecurityModeCommand):
                    raise SimError(f"{type(smc).__name__} with a new security context")
                ue.sec = NasSecurityContext(
                    kasme=kasme,
                    ksi=smc.ksi,
                    enc_alg=smc.enc_alg,
                    int_alg=smc.int_alg,
                    network=False,
                )
            nas_msg = self._downlink_nas(ue, msg)
            if isinstance(nas_msg, nas.AuthenticationRequest):
                steps.setdefault("authentication", time.perf_counter() - t0)
                try:
                    res = aka.ue_authenticate(k, opc, nas_msg.rand, nas_msg.autn, sqn_ms=ue.sqn_ms)
                except aka.SyncFailure as exc:
                    reply: nas.NasMessage = nas.AuthenticationFailure(
                        cause=nas.EMM_CAUSE_SYNCH_FAILURE, auts=exc.auts
                    )
                except aka.MacFailure:
                    failure = NetworkAuthenticationFailed("the network's MAC-A did not verify")
                    reply = nas.AuthenticationFailure(cause=nas.EMM_CAUSE_MAC_FAILURE)
                else:
                    ue.sqn_ms = res.sqn
                    kasme = kdf.kasme(res.ck, res.ik, self.plmn, nas_msg.autn[:6])
                    ksi = nas_msg.ksi
                    reply = nas.AuthenticationResponse(res=res.res)
                msg = yield [self._uplink(ue, reply, 0)]
            elif isinstance(nas_msg, nas.SecurityModeCommand):
                steps["security_mode"] = time.perf_counter() - t0
                if ue.sec is None or nas_msg.ksi != ksi:
                    raise SimError("Security Mode Command without a fresh authentication")
                if nas_msg.replayed_ue_security_capabilities[:2] != ue.capability[:2]:
                    raise SimError("Security Mode Command replays other capabilities")
                msg = yield [
                    self._uplink(ue, nas.SecurityModeComplete(), SEC_HDR_INTEGRITY_CIPHERED_NEW_CTX)
                ]
            elif isinstance(nas_msg, nas.IdentityRequest):
                steps["identification"] = time.perf_counter() - t0
                msg = yield [self._uplink(ue, nas.IdentityResponse(nas.Imsi(ue.imsi)), 0)]
            elif isinstance(nas_msg, nas.AuthenticationReject):
                failure = AuthenticationRejected(str(failure) if failure else "")
                ue.sec = None
                msg = yield []
            elif isinstance(nas_msg, nas.AttachReject):
                esm = nas_msg.esm
                esm_cause = getattr(esm, "cause", None) if esm is not None else None
                failure = AttachRejected(nas_msg.cause, esm_cause)
                msg = yield []
            elif isinstance(nas_msg, nas.EmmStatus):
                raise SimError(f"EMM STATUS #{nas_msg.cause} from the MME")
            else:
                raise SimError(f"unexpected {type(nas_msg).__name__} during attach")

    def _context_setup(
        self, ue: SimUe, msg: S1apMessage, kasme: bytes
    ) -> tuple[S1apMessage, S1apMessage]:
        """Initial Context Setup Request: check K_eNB, read the Attach Accept, answer with
        the Initial Context Setup Response and the Attach Complete."""
        if ue.sec is None:
            raise SimError("Initial Context Setup before security mode")
        ue.mme_ue_s1ap_id = msg.ies["MME-UE-S1AP-ID"]
        key = msg.ies.get("SecurityKey")
        expected = kdf.kenb(kasme, ue.sec.last_ul_count)
        if not isinstance(key, tuple) or key[0].to_bytes(32, "big") != expected:
            raise SimError("K_eNB in Initial Context Setup differs from the UE's")
        items = s1ap.e_rab_setup_items(msg)
        if not items or items[0].get("nas_pdu") is None:
            raise SimError("Initial Context Setup without the Attach Accept")
        accept = self._nas(ue, bytes(items[0]["nas_pdu"]))
        if not isinstance(accept, nas.AttachAccept):
            raise SimError(f"{type(accept).__name__} in Initial Context Setup")
        if accept.guti is None:
            raise SimError("Attach Accept without a GUTI")
        ue.guti = accept.guti
        ue.ip = accept.esm.pdn_address
        ue.ebi = accept.esm.ebi
        teid = next(self._teids) & 0xFFFFFFFF
        ics = s1ap.initial_context_setup_response(
            mme_ue_s1ap_id=ue.mme_ue_s1ap_id,
            enb_ue_s1ap_id=ue.enb_ue_s1ap_id,
            e_rabs=[(items[0]["ebi"], self.address, teid)],
        )
        complete = self._uplink(
            ue,
            nas.AttachComplete(esm=nas.ActivateDefaultBearerAccept(ebi=accept.esm.ebi)),
            SEC_HDR_INTEGRITY_CIPHERED,
        )
        return ics, complete

    def release_procedure(self, ue: SimUe) -> Procedure[None]:
        """eNB-initiated UE Context Release (user inactivity): the UE goes ECM-IDLE."""
        if not ue.connected or ue.mme_ue_s1ap_id is None:
            raise SimError(f"UE {ue.imsi} is not connected")
        msg = yield [
            s1ap.ue_context_release_request(
                mme_ue_s1ap_id=ue.mme_ue_s1ap_id,
                enb_ue_s1ap_id=ue.enb_ue_s1ap_id,
                cause_value=("radioNetwork", "user-inactivity"),
            )
        ]
        if msg.name != "UEContextReleaseCommand":
            raise SimError(f"{msg.name} instead of UE Context Release Command")
        self._send_all([self._release_complete(ue, msg)])
        return None

    def detach_procedure(self, ue: SimUe, *, switch_off: bool = False) -> Procedure[DetachResult]:
        """UE-initiated detach (TS 24.301 §5.5.2.2): over the current connection, or from
        ECM-IDLE in an Initial UE Message (integrity protected, identified by the GUTI)."""
        if not ue.attached or ue.guti is None or ue.sec is None:
            raise SimError(f"UE {ue.imsi} is not attached")
        t0 = time.perf_counter()
        request = nas.DetachRequest(identity=ue.guti, switch_off=switch_off, ksi=ue.sec.ksi)
        if ue.connected and ue.mme_ue_s1ap_id is not None:
            first = self._uplink(ue, request, SEC_HDR_INTEGRITY_CIPHERED)
        else:
            # TS 24.301 §4.4.5: initial NAS messages are integrity protected, not ciphered.
            first = self._initial_ue(ue, ue.sec.protect(request.encode(), SEC_HDR_INTEGRITY))
        msg = yield [first]
        accepted = switch_off
        while True:
            if msg.name == "UEContextReleaseCommand":
                self._send_all([self._release_complete(ue, msg)])
                if not accepted:
                    raise SimError(f"released without Detach Accept: {msg.ies.get('Cause')}")
                ue.attached = False
                ue.sec = None  # the GUTI is kept (TS 24.301 §5.5.2.2.2): it may be reused
                return DetachResult(ue.imsi, time.perf_counter() - t0)
            if msg.name == "ErrorIndication":
                raise SimError(f"Error Indication from the MME: {msg.ies.get('Cause')}")
            if msg.name != "DownlinkNASTransport":
                raise SimError(f"unexpected {msg.name} during detach")
            nas_msg = self._downlink_nas(ue, msg)
            if isinstance(nas_msg, nas.DetachAccept):
                accepted = True
            elif isinstance(nas_msg, nas.EmmStatus):
                raise SimError(f"EMM STATUS #{nas_msg.cause} from the MME")
            else:
                raise SimError(f"unexpected {type(nas_msg).__name__} during detach")
            msg = yield []


def _ue_id_of(msgs: list[S1apMessage]) -> int:
    """The eNB-UE-S1AP-ID a procedure's PDUs belong to."""
    for msg in msgs:
        value = msg.ies.get("eNB-UE-S1AP-ID")
        if isinstance(value, int):
            return value
    raise SimError("a procedure step sent no UE-associated message")

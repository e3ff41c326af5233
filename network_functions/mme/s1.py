"""S1-MME on the MME side: the eNB associations and the UE associations inside them.

Transport. S1AP runs over SCTP (TS 36.412 §7); this project's machines have none, so the
default is TCP with each PDU behind a 4-octet big-endian length (``s1ap.frame``); with
``s1ap.transport: sctp`` the bare PDUs go over a one-to-one SCTP socket. One connection is
one eNB association.

Per eNB association (TS 36.413 §8.7.3): nothing but S1 Setup is served until an S1 Setup
Request names a PLMN and a TAC this MME serves (``epc.mcc/mnc`` and ``epc.tacs``); the S1
Setup Response then carries the served GUMMEI (PLMN, MME group ID, MME code). An S1 Setup
that matches nothing gets S1 Setup Failure with cause misc "unknown-PLMN".

Per UE association: an Initial UE Message creates one, numbered with an MME-UE-S1AP-ID of
this replica (the id space is per replica; what must survive the association is in the
store), and a :class:`~network_functions.mme.procedures.UeHandler` runs it. Uplink NAS
Transport, Initial Context Setup Response/Failure, UE Context Release Request/Complete are
routed to it by MME-UE-S1AP-ID.

Bad input (TS 36.413 §10): a PDU that does not decode, or lacks a mandatory IE, is answered
with an Error Indication carrying the decoder's cause (and the UE ids when they could be
read); a message for an unknown UE association gets Error Indication "unknown-mme-ue-s1ap-id"
or "unknown-enb-ue-s1ap-id"; messages other than S1 Setup before S1 Setup get one with
"message-not-compatible-with-receiver-state". A broken length prefix closes the connection
(the stream has lost sync). None of it affects other UEs or associations.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections.abc import Callable
from typing import Any, cast

from network_functions.protocols import s1ap
from network_functions.protocols.kdf import plmn_bytes
from network_functions.protocols.s1ap import S1apError, S1apMessage
from network_functions.runtime.diameter import stream_socket
from network_functions.runtime.metrics import Registry

from .config import MmeConfig
from .procedures import (
    AssociationLost,
    ContextSetup,
    ContextSetupDone,
    ContextSetupFailed,
    MmeCore,
    NasUplink,
    ReleaseCompleted,
    ReleaseRequested,
    UeHandler,
)

__all__ = ["EnbAssociation", "S1Server", "UeAssociation"]

log = logging.getLogger("nfv.mme.s1")

# MME-UE-S1AP-ID is 32 bits (TS 36.413 §9.2.3.3).
MAX_MME_UE_S1AP_ID = 0xFFFFFFFF
# On close, how long the UE handlers get to write their UEs back as ECM-IDLE.
CLOSE_GRACE = 2.0
CAUSE_NOT_COMPATIBLE = ("protocol", "message-not-compatible-with-receiver-state")
CAUSE_UNKNOWN_MME_ID = ("radioNetwork", "unknown-mme-ue-s1ap-id")
CAUSE_UNKNOWN_ENB_ID = ("radioNetwork", "unknown-enb-ue-s1ap-id")
CAUSE_UNKNOWN_PLMN = ("misc", "unknown-PLMN")


class UeAssociation:
    """One S1 UE association (implements procedures.UeLink)."""

    def __init__(
        self, enb: EnbAssociation, mme_ue_s1ap_id: int, enb_ue_s1ap_id: int, tac: int, eci: int
    ) -> None:
        self.enb = enb
        self.mme_ue_s1ap_id = mme_ue_s1ap_id
        self.enb_ue_s1ap_id = enb_ue_s1ap_id
        self.tac = tac
        self.eci = eci
        self.handler: UeHandler | None = None

    def send_nas(self, pdu: bytes) -> None:
        self.enb.send(
            s1ap.downlink_nas_transport(
                mme_ue_s1ap_id=self.mme_ue_s1ap_id,
                enb_ue_s1ap_id=self.enb_ue_s1ap_id,
                nas_pdu=pdu,
            )
        )

    def setup_context(self, setup: ContextSetup) -> None:
        self.enb.send(
            s1ap.initial_context_setup_request(
                mme_ue_s1ap_id=self.mme_ue_s1ap_id,
                enb_ue_s1ap_id=self.enb_ue_s1ap_id,
                ue_ambr_ul_bps=setup.ue_ambr_ul_bps,
                ue_ambr_dl_bps=setup.ue_ambr_dl_bps,
                ebi=setup.ebi,
                qci=setup.qci,
                arp=setup.arp,
                sgw_address=setup.sgw_ip,
                sgw_teid=setup.sgw_teid,
                nas_pdu=setup.nas_pdu,
                ue_network_capability=setup.ue_network_capability,
                kenb=setup.kenb,
            )
        )

    def release(self, cause: tuple[str, str]) -> None:
        self.enb.send(
            s1ap.ue_context_release_command(
                mme_ue_s1ap_id=self.mme_ue_s1ap_id,
                enb_ue_s1ap_id=self.enb_ue_s1ap_id,
                cause_value=cause,
            )
        )

    def forget(self) -> None:
        self.enb.forget(self)


class EnbAssociation(asyncio.Protocol):
    """One eNB's S1 connection."""

    def __init__(self, server: S1Server) -> None:
        self.server = server
        self.config = server.config
        self.framed = server.framed
        self.deframer = s1ap.S1apDeframer()
        self.transport: asyncio.Transport | None = None
        self.peer = ("", 0)
        self.setup_done = False
        self.enb_name = ""
        self.ues: dict[int, UeAssociation] = {}  # by eNB-UE-S1AP-ID
        self._outbox: list[bytes] = []

    # -- transport ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = (str(peer[0]), int(peer[1]))
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.proto != socket.IPPROTO_SCTP:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.associations.add(self)

    def data_received(self, data: bytes) -> None:
        if not self.framed:
            self.on_pdu(data)
            return
        try:
            pdus = self.deframer.feed(data)
        except S1apError as exc:
            log.info("closing S1 association from %s:%s: %s", *self.peer, exc)
            self.server.m_errors.labels("framing").inc()
            self.close()
            return
        for pdu in pdus:
            self.on_pdu(pdu)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.associations.discard(self)
        for ue in list(self.ues.values()):
            if ue.handler is not None:
                ue.handler.deliver(AssociationLost())
        self.transport = None

    def send(self, msg: S1apMessage) -> None:
        """Queue a PDU; those queued in one loop iteration go out in one write."""
        if self.transport is None or self.transport.is_closing():
            return
        pdu = msg.encode()
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(s1ap.frame(pdu) if self.framed else pdu)
        self.server.m_out.labels(msg.name).inc()

    def _flush(self) -> None:
        out, self._outbox = self._outbox, []
        if out and self.transport is not None and not self.transport.is_closing():
            if self.framed:
                self.transport.write(b"".join(out))
            else:
                for pdu in out:  # SCTP keeps message boundaries: one write per PDU
                    self.transport.write(pdu)

    def close(self) -> None:
        self._flush()
        if self.transport is not None:
            self.transport.close()

    def forget(self, ue: UeAssociation) -> None:
        if self.ues.get(ue.enb_ue_s1ap_id) is ue:
            del self.ues[ue.enb_ue_s1ap_id]
        self.server.forget(ue)

    # -- PDUs ------------------------------------------------------------------------------------
    def on_pdu(self, pdu: bytes) -> None:
        try:
            msg = s1ap.decode(pdu)
        except S1apError as err:
            self.server.m_errors.labels(err.cause[1]).inc()
            log.info("S1AP error from %s:%s: %s", *self.peer, err)
            self.send(s1ap.error_indication(err))
            return
        self.server.m_in.labels(msg.name).inc()
        if msg.name == "S1SetupRequest":
            self.on_s1_setup(msg)
            return
        if not self.setup_done:
            self.error(CAUSE_NOT_COMPATIBLE, msg)
            return
        handler = self._handlers.get(msg.name)
        if handler is None:
            if msg.name == "ErrorIndication":
                log.info("Error Indication from %s: %s", self.enb_name, msg.ies.get("Cause"))
            else:
                self.error(CAUSE_NOT_COMPATIBLE, msg)
            return
        try:
            handler(self, msg)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # A decodable PDU whose values we cannot use (e.g. an IE of an unexpected shape):
            # refuse it without touching the association's other UEs.
            log.info("S1AP %s from %s not usable: %r", msg.name, self.enb_name, exc)
            self.error(("protocol", "semantic-error"), msg)

    def error(self, cause: tuple[str, str], msg: S1apMessage | None = None) -> None:
        ies = msg.ies if msg is not None else {}
        mme_id, enb_id = ies.get("MME-UE-S1AP-ID"), ies.get("eNB-UE-S1AP-ID")
        self.server.m_errors.labels(cause[1]).inc()
        self.send(
            s1ap.error_indication(
                cause_value=cause,
                mme_ue_s1ap_id=mme_id if isinstance(mme_id, int) else None,
                enb_ue_s1ap_id=enb_id if isinstance(enb_id, int) else None,
            )
        )

    def on_s1_setup(self, msg: S1apMessage) -> None:
        """TS 36.413 §8.7.3: accept an eNB that broadcasts our PLMN in a TA we serve."""
        epc = self.config.epc
        plmn = plmn_bytes(epc.mcc, epc.mnc)
        enb_id = msg.ies.get("Global-ENB-ID") or {}
        supported = msg.ies.get("SupportedTAs") or []
        served = set(epc.tacs)
        plmn_ok = enb_id.get("pLMNidentity") == plmn or any(
            plmn in ta.get("broadcastPLMNs", ()) for ta in supported
        )
        ta_ok = any(
            int.from_bytes(ta.get("tAC", b""), "big") in served
            and plmn in ta.get("broadcastPLMNs", ())
            for ta in supported
        )
        if not plmn_ok or not ta_ok:
            self.server.m_setups.labels("failure").inc()
            log.info(
                "S1 Setup refused",
                extra={"enb": self.peer[0], "plmn_ok": plmn_ok, "ta_ok": ta_ok},
            )
            self.send(s1ap.s1_setup_failure(CAUSE_UNKNOWN_PLMN))
            return
        self.setup_done = True
        self.enb_name = str(msg.ies.get("eNBname") or f"{self.peer[0]}:{self.peer[1]}")
        self.server.m_setups.labels("success").inc()
        self.send(
            s1ap.s1_setup_response(
                mcc=epc.mcc,
                mnc=epc.mnc,
                mme_group_id=epc.mme_group_id,
                mme_code=epc.mme_code,
                relative_capacity=self.config.s1ap.relative_capacity,
                mme_name=self.config.s1ap.mme_name,
            )
        )

    def on_initial_ue(self, msg: S1apMessage) -> None:
        enb_id: int = msg.ies["eNB-UE-S1AP-ID"]
        old = self.ues.get(enb_id)
        if old is not None and old.handler is not None:
            # The eNB reused the id: the old association is gone on its side.
            old.handler.deliver(AssociationLost())
        tai = msg.ies.get("TAI") or {}
        cgi = msg.ies.get("EUTRAN-CGI") or {}
        tac = int.from_bytes(tai.get("tAC", b"\x00\x00"), "big")
        cell = cgi.get("cell-ID", (0, 28))
        ue = UeAssociation(self, self.server.new_mme_ue_id(), enb_id, tac, int(cell[0]))
        self.ues[enb_id] = ue
        self.server.ues[ue.mme_ue_s1ap_id] = ue
        self.server.start_ue(ue, bytes(msg.ies["NAS-PDU"]))

    def _ue(self, msg: S1apMessage) -> UeAssociation | None:
        mme_id = msg.ies.get("MME-UE-S1AP-ID")
        ue = self.server.ues.get(mme_id) if isinstance(mme_id, int) else None
        if ue is None or ue.enb is not self:
            self.error(CAUSE_UNKNOWN_MME_ID, msg)
            return None
        if ue.enb_ue_s1ap_id != msg.ies.get("eNB-UE-S1AP-ID"):
            self.error(CAUSE_UNKNOWN_ENB_ID, msg)
            return None
        return ue

    def _deliver(self, msg: S1apMessage, event: Any) -> None:
        ue = self._ue(msg)
        if ue is not None and ue.handler is not None:
            ue.handler.deliver(event)

    def on_uplink_nas(self, msg: S1apMessage) -> None:
        self._deliver(msg, NasUplink(bytes(msg.ies["NAS-PDU"])))

    def on_ics_response(self, msg: S1apMessage) -> None:
        try:
            items = s1ap.e_rab_setup_items(msg)
        except S1apError as err:
            self.error(err.cause, msg)
            return
        if not items:
            self._deliver(msg, ContextSetupFailed("no E-RAB set up"))
            return
        self._deliver(msg, ContextSetupDone(items[0]["address"], items[0]["teid"]))

    def on_ics_failure(self, msg: S1apMessage) -> None:
        self._deliver(msg, ContextSetupFailed(str(msg.ies.get("Cause"))))

    def on_release_request(self, msg: S1apMessage) -> None:
        self._deliver(msg, ReleaseRequested(str(msg.ies.get("Cause"))))

    def on_release_complete(self, msg: S1apMessage) -> None:
        self._deliver(msg, ReleaseCompleted())

    def on_reset(self, msg: S1apMessage) -> None:
        """eNB-initiated Reset (TS 36.413 §8.7.1.2.2): drop the UE associations named (or
        all of them) without release signalling, and acknowledge."""
        kind, value = msg.ies["ResetType"]
        acked: list[dict[str, Any]] = []
        if kind == "s1-Interface":
            targets = list(self.ues.values())
        else:
            targets = []
            for item in value:
                ids = item["value"][1]
                ue = self.ues.get(ids.get("eNB-UE-S1AP-ID", -1))
                if ue is None:
                    ue = self.server.ues.get(ids.get("mME-UE-S1AP-ID", -1))
                    ue = ue if ue is not None and ue.enb is self else None
                if ue is not None:
                    targets.append(ue)
                acked.append({**item, "criticality": "ignore"})
        for ue in targets:
            if ue.handler is not None:
                ue.handler.deliver(AssociationLost())
        ies = {"UE-associatedLogicalS1-ConnectionListResAck": acked} if acked else {}
        self.send(S1apMessage("ResetAcknowledge", ies))

    def on_ue_information(self, msg: S1apMessage) -> None:
        """UE Capability Info Indication (§8.9) and NAS Non Delivery Indication (§8.6.2.5)
        for a known UE association: nothing to do here (no paging, no handover, and the
        procedure timer covers an undelivered NAS message)."""
        if self._ue(msg) is not None and msg.name == "NASNonDeliveryIndication":
            log.info("NAS PDU not delivered by %s: %s", self.enb_name, msg.ies.get("Cause"))

    _handlers: dict[str, Callable[[EnbAssociation, S1apMessage], None]] = {
        "Reset": on_reset,
        "UECapabilityInfoIndication": on_ue_information,
        "NASNonDeliveryIndication": on_ue_information,
        "InitialUEMessage": on_initial_ue,
        "UplinkNASTransport": on_uplink_nas,
        "InitialContextSetupResponse": on_ics_response,
        "InitialContextSetupFailure": on_ics_failure,
        "UEContextReleaseRequest": on_release_request,
        "UEContextReleaseComplete": on_release_complete,
    }


class S1Server:
    """The S1-MME listener and the UE associations of this replica."""

    def __init__(self, core: MmeCore, config: MmeConfig, metrics: Registry) -> None:
        self.core = core
        self.config = config
        self.framed = config.s1ap.transport == "tcp"
        self.associations: set[EnbAssociation] = set()
        self.ues: dict[int, UeAssociation] = {}  # by MME-UE-S1AP-ID
        self.tasks: set[asyncio.Task[None]] = set()
        # UE associations with a procedure in progress (bounded by max_pending_attaches).
        self.in_progress = 0
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self.port = config.s1ap.port
        self.accepting = True
        self.m_in = metrics.counter("s1ap_messages_received_total", "S1AP PDUs in", ("message",))
        self.m_out = metrics.counter("s1ap_messages_sent_total", "S1AP PDUs out", ("message",))
        self.m_errors = metrics.counter(
            "s1ap_errors_total", "S1AP PDUs refused (Error Indication sent)", ("cause",)
        )
        self.m_setups = metrics.counter("s1ap_setups_total", "S1 Setup outcomes", ("result",))
        metrics.gauge("s1ap_enbs", "eNB associations with S1 Setup done").set_function(
            lambda: float(sum(1 for a in self.associations if a.setup_done))
        )
        metrics.gauge("mme_ue_associations", "S1 UE associations (ECM-CONNECTED UEs)").set_function(
            lambda: float(len(self.ues))
        )
        metrics.gauge("mme_procedures_in_progress", "UE procedures in progress").set_function(
            lambda: float(self.in_progress)
        )

    async def start(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        sock = stream_socket(host, self.config.s1ap.transport)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._server = await loop.create_server(
            lambda: EnbAssociation(self), sock=sock, backlog=256
        )

    def new_mme_ue_id(self) -> int:
        while True:
            mme_id = next(self._ids) % (MAX_MME_UE_S1AP_ID + 1)
            if mme_id not in self.ues:
                return mme_id

    def start_ue(self, ue: UeAssociation, nas_pdu: bytes) -> None:
        handler = UeHandler(self.core, ue, on_settled=self._settled)
        ue.handler = handler
        if self.in_progress >= self.config.max_pending_attaches:
            coro = handler.reject_congested(nas_pdu)
        else:
            coro = handler.run(nas_pdu)
        self.in_progress += 1
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _settled(self) -> None:
        self.in_progress -= 1

    def forget(self, ue: UeAssociation) -> None:
        if self.ues.get(ue.mme_ue_s1ap_id) is ue:
            del self.ues[ue.mme_ue_s1ap_id]

    async def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_idle(self) -> None:
        """Wait for the procedures in progress (the caller bounds the wait)."""
        while self.in_progress > 0:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Close every association; the UE handlers then store their UEs as ECM-IDLE (so
        another replica serves them) before the remaining tasks are cancelled."""
        if self._server is not None:
            self._server.close()
        for assoc in list(self.associations):
            assoc.close()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=CLOSE_GRACE)
        for task in list(self.tasks):
            task.cancel()

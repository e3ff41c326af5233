"""S1AP (TS 36.413) for the MME and the eNB simulator: a typed view over pycrate's APER codec,
builders for the procedures of attach/detach, and length-prefixed framing over TCP.

Model. An :class:`S1apMessage` is a message *name* (the ASN.1 type of TS 36.413 §9.1:
``"S1SetupRequest"``, ``"InitialUEMessage"``, ``"InitialContextSetupResponse"``, ...) and its
protocol IEs *by name* (the ``id-`` constant of §9.3 without the prefix: ``"MME-UE-S1AP-ID"``,
``"eNB-UE-S1AP-ID"``, ``"NAS-PDU"``, ``"TAI"``, ``"Cause"``, ...), each holding the pycrate
value of its ASN.1 type (INTEGER -> int, OCTET STRING -> bytes, BIT STRING -> (int, bits),
SEQUENCE -> dict, CHOICE -> (alternative, value), ENUMERATED -> str). From the name follow the
procedure code, the PDU kind (initiating / successful / unsuccessful outcome), and each IE's
id and criticality, all read from pycrate's compiled TS 36.413 tables. ``msg.encode()`` gives
the APER bytes; :func:`decode` the reverse.

Builders (:func:`s1_setup_request`, :func:`initial_ue_message`, :func:`downlink_nas_transport`,
:func:`initial_context_setup_request`, :func:`ue_context_release_command`, ...) and small IE
helpers (:func:`tai`, :func:`ecgi`, :func:`cause`, ...) cover attach and detach; any other
message can be built with ``S1apMessage(name, ies)``.

Errors. :func:`decode` raises :class:`S1apError` (and nothing else) for anything the peer got
wrong; ``error.cause`` is the S1AP Cause CHOICE to put in an Error Indication (§8.7.4, §10):
``("protocol", "transfer-syntax-error")`` when the bytes do not decode,
``("protocol", "abstract-syntax-error-reject")`` for an unknown procedure or a missing
mandatory / unknown "reject" IE. :func:`error_indication` builds the answer. Asking to encode
something invalid raises ``ValueError``.

Framing. S1AP runs over SCTP (PPID 18, TS 36.412), which keeps message boundaries. This kernel
has no SCTP, so over TCP each PDU is preceded by its length as 4 octets, big-endian
(:func:`frame`); :class:`S1apDeframer` is the sans-IO reader with a size limit
(:data:`MAX_PDU_SIZE`). Where SCTP exists, send the bare PDUs instead.

Usage (eNB side; the MME mirrors it)::

    wire = frame(s1_setup_request(mcc="001", mnc="01", enb_id=1, tacs=[1]).encode())
    for pdu in deframer.feed(data):           # from the socket
        msg = decode(pdu)                      # S1apError -> error_indication(err)
        if msg.name == "S1SetupResponse": ...
        elif msg.name == "DownlinkNASTransport": nas_pdu = msg.ies["NAS-PDU"]

Speed: pycrate's generic APER costs 70-250 µs per PDU each way. ``encode``/``decode`` first
try a hand-written APER fast path (see "fast path" below: 3-30 µs for the PDUs of attach and
detach) and fall back to pycrate for anything else; :meth:`S1apMessage.encode_generic` and
:func:`decode_generic` are the pycrate-only reference the tests compare against. pycrate
objects are reused (one per process: this module is not thread-safe, which asyncio NFs do
not need). ``python benchmarks/s1ap_nas_codec.py`` prints the figures.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from network_functions.protocols.kdf import plmn_bytes

# pycrate logs a warning on import about an optional module we do not use (CryptoMobile), and
# INFO lines for every undecodable PDU; malformed input is reported through S1apError instead.
logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
logging.getLogger("pycrate.asn1rt").setLevel(logging.WARNING)

from pycrate_asn1dir import S1AP as _S1AP  # noqa: E402

__all__ = [
    "KIND_INITIATING",
    "KIND_SUCCESSFUL",
    "KIND_UNSUCCESSFUL",
    "MAX_PDU_SIZE",
    "S1AP_PORT",
    "S1AP_PPID",
    "S1apDeframer",
    "S1apError",
    "S1apMessage",
    "cause",
    "decode",
    "decode_generic",
    "downlink_nas_transport",
    "e_rab_setup_items",
    "ecgi",
    "error_indication",
    "frame",
    "global_enb_id",
    "initial_context_setup_request",
    "initial_context_setup_response",
    "initial_ue_message",
    "message_names",
    "s1_setup_failure",
    "s1_setup_request",
    "s1_setup_response",
    "tai",
    "ue_context_release_command",
    "ue_context_release_complete",
    "ue_context_release_request",
    "ue_ids",
    "ue_security_capabilities",
    "uplink_nas_transport",
]

# SCTP port and payload protocol identifier of S1AP, TS 36.412 §7.
S1AP_PORT: Final = 36412
S1AP_PPID: Final = 18

KIND_INITIATING: Final = "initiatingMessage"
KIND_SUCCESSFUL: Final = "successfulOutcome"
KIND_UNSUCCESSFUL: Final = "unsuccessfulOutcome"

# Largest S1AP PDU accepted from a TCP stream. The biggest S1AP messages carry RRC/handover
# containers and lists of E-RABs; they stay well under 64 KiB in practice (SCTP stacks are
# commonly configured for 64 KiB messages). 256 KiB leaves ample room while bounding what a
# broken or hostile peer can make us buffer.
MAX_PDU_SIZE = 256 * 1024
_LEN_PREFIX = 4

CAUSE_TRANSFER_SYNTAX = ("protocol", "transfer-syntax-error")
CAUSE_ABSTRACT_REJECT = ("protocol", "abstract-syntax-error-reject")
CAUSE_SEMANTIC = ("protocol", "semantic-error")


class S1apError(Exception):
    """The peer sent something we cannot accept; ``cause`` goes in the Error Indication.

    ``mme_ue_s1ap_id`` / ``enb_ue_s1ap_id`` are set when they could be read, so that the
    Error Indication can name the UE association (TS 36.413 §8.7.4.2).
    """

    def __init__(
        self,
        message: str,
        cause: tuple[str, str] = CAUSE_TRANSFER_SYNTAX,
        *,
        procedure_code: int | None = None,
        mme_ue_s1ap_id: int | None = None,
        enb_ue_s1ap_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.cause = cause
        self.procedure_code = procedure_code
        self.mme_ue_s1ap_id = mme_ue_s1ap_id
        self.enb_ue_s1ap_id = enb_ue_s1ap_id


# --- tables from pycrate's compiled TS 36.413 ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _IeSpec:
    id: int
    criticality: str
    type_name: str
    mandatory: bool
    asn1: Any  # pycrate object of the IE's value type (for the IEs without a fast codec)


@dataclass(frozen=True, slots=True)
class _MsgSpec:
    name: str
    kind: str
    procedure_code: int
    criticality: str
    ies: dict[str, _IeSpec]
    order: dict[str, int]
    by_id: dict[int, _IeSpec]


def _build_tables() -> tuple[dict[str, _MsgSpec], dict[tuple[str, int], str], dict[int, str]]:
    ie_names: dict[int, str] = {}
    for const in _S1AP.S1AP_Constants._all_:
        ref = const._typeref.called if const._typeref is not None else None
        if ref is not None and ref[1] == "ProtocolIE-ID":
            ie_names.setdefault(const.get_val(), const._name.removeprefix("id-"))
    msgs: dict[str, _MsgSpec] = {}
    by_code: dict[tuple[str, int], str] = {}
    procs = _S1AP.S1AP_PDU_Descriptions.S1AP_ELEMENTARY_PROCEDURES.get_val()
    kinds = (
        ("InitiatingMessage", KIND_INITIATING),
        ("SuccessfulOutcome", KIND_SUCCESSFUL),
        ("UnsuccessfulOutcome", KIND_UNSUCCESSFUL),
    )
    for proc in list(procs.root) + list(procs.ext or ()):
        for key, kind in kinds:
            obj = proc.get(key)
            if obj is None:
                continue
            name = obj._typeref.called[1]
            content = getattr(_S1AP.S1AP_PDU_Contents, name.replace("-", "_"))
            if "protocolIEs" not in content._cont:
                continue  # PrivateMessage carries private IEs only
            ie_tab = content._cont["protocolIEs"]._cont._cont["id"]._const_tab.get_val()
            ies: dict[str, _IeSpec] = {}
            order: dict[str, int] = {}
            for i, row in enumerate(list(ie_tab.root) + list(ie_tab.ext or ())):
                value = row["Value"]
                tname = value._typeref.called[1] if value._typeref is not None else value._name
                ie_name = ie_names.get(row["id"], str(row["id"]))
                ies[ie_name] = _IeSpec(
                    row["id"], row["criticality"], tname, row["presence"] == "mandatory", value
                )
                order[ie_name] = i
            by_id = {ie.id: ie for ie in ies.values()}
            msgs[name] = _MsgSpec(
                name, kind, proc["procedureCode"], proc["criticality"], ies, order, by_id
            )
            by_code[(kind, proc["procedureCode"])] = name
    return msgs, by_code, ie_names


_MSGS, _BY_CODE, _IE_NAMES = _build_tables()
_IE_IDS = {name: i for i, name in _IE_NAMES.items()}
_PDU = _S1AP.S1AP_PDU_Descriptions.S1AP_PDU


def message_names() -> list[str]:
    """All S1AP message names this codec knows (TS 36.413 §9.1)."""
    return sorted(_MSGS)


@dataclass(frozen=True, slots=True, eq=True)
class S1apMessage:
    """One S1AP PDU: message name + protocol IEs by name (see the module docstring)."""

    name: str
    ies: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = _MSGS.get(self.name)
        if spec is None:
            raise ValueError(f"unknown S1AP message {self.name!r}")
        for ie in self.ies:
            if ie not in spec.ies:
                raise ValueError(f"{self.name} has no IE {ie!r}")

    @property
    def kind(self) -> str:
        """``initiatingMessage``, ``successfulOutcome`` or ``unsuccessfulOutcome``."""
        return _MSGS[self.name].kind

    @property
    def procedure_code(self) -> int:
        return _MSGS[self.name].procedure_code

    def encode(self) -> bytes:
        """APER bytes of the S1AP-PDU; ``ValueError`` if a mandatory IE is missing or a
        value does not fit its ASN.1 type."""
        spec = _MSGS[self.name]
        missing = [n for n, ie in spec.ies.items() if ie.mandatory and n not in self.ies]
        if missing:
            raise ValueError(f"{self.name}: mandatory IE(s) missing: {', '.join(missing)}")
        try:
            return _fast_encode(spec, self.ies)
        except _Fallback:
            return self.encode_generic()

    def encode_generic(self) -> bytes:
        """The same bytes as :meth:`encode`, through pycrate's generic APER encoder only."""
        spec = _MSGS[self.name]
        items = []
        for ie_name in sorted(self.ies, key=spec.order.__getitem__):
            ie = spec.ies[ie_name]
            items.append(
                {
                    "id": ie.id,
                    "criticality": ie.criticality,
                    "value": (ie.type_name, self.ies[ie_name]),
                }
            )
        value = (
            spec.kind,
            {
                "procedureCode": spec.procedure_code,
                "criticality": spec.criticality,
                "value": (self.name, {"protocolIEs": items}),
            },
        )
        try:
            _PDU.set_val(value)
            return bytes(_PDU.to_aper())
        except Exception as exc:  # pycrate raises its own error types on bad values
            raise ValueError(f"cannot encode {self.name}: {exc}") from exc


def decode(data: bytes) -> S1apMessage:
    """Decode one S1AP PDU; :class:`S1apError` (only) when the peer got it wrong."""
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        raise S1apError("empty S1AP PDU")
    try:
        fast = _fast_decode(bytes(data))
    except _Fallback:
        pass
    else:
        return _interpret(fast)
    return decode_generic(data)


def decode_generic(data: bytes) -> S1apMessage:
    """:func:`decode` through pycrate's generic APER decoder only (the reference)."""
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        raise S1apError("empty S1AP PDU")
    try:
        _PDU.from_aper(bytes(data))
        value = _PDU.get_val()
    except Exception as exc:
        raise S1apError(f"S1AP PDU does not decode: {exc}", CAUSE_TRANSFER_SYNTAX) from None
    try:
        return _interpret(value)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # An extension alternative or open type pycrate could not resolve.
        raise S1apError(f"S1AP PDU not understood: {exc!r}", CAUSE_ABSTRACT_REJECT) from None


def _interpret(value: Any) -> S1apMessage:
    kind, body = value
    code = body["procedureCode"]
    name = _BY_CODE.get((kind, code))
    inner = body["value"]
    if name is None or not isinstance(inner, tuple) or inner[0] != name:
        raise S1apError(
            f"unknown S1AP procedure {code} ({kind})", CAUSE_ABSTRACT_REJECT, procedure_code=code
        )
    spec = _MSGS[name]
    ies: dict[str, Any] = {}
    unknown_reject: list[int] = []
    for item in inner[1]["protocolIEs"]:
        ie_id = item["id"]
        ie_name = _IE_NAMES.get(ie_id)
        ie_value = item["value"]
        if ie_name is None or ie_name not in spec.ies or not isinstance(ie_value, tuple):
            # TS 36.413 §10.3.5: an IE not comprehended is handled by its criticality.
            if item["criticality"] == "reject":
                unknown_reject.append(ie_id)
            continue
        ies.setdefault(ie_name, ie_value[1])
    mme_id, enb_id = ies.get("MME-UE-S1AP-ID"), ies.get("eNB-UE-S1AP-ID")
    ids: dict[str, Any] = {
        "procedure_code": code,
        "mme_ue_s1ap_id": mme_id if isinstance(mme_id, int) else None,
        "enb_ue_s1ap_id": enb_id if isinstance(enb_id, int) else None,
    }
    if unknown_reject:
        raise S1apError(
            f"{name}: IE(s) {unknown_reject} not comprehended", CAUSE_ABSTRACT_REJECT, **ids
        )
    missing = [n for n, ie in spec.ies.items() if ie.mandatory and n not in ies]
    if missing:
        # TS 36.413 §10.4: missing mandatory IE.
        raise S1apError(f"{name}: missing {', '.join(missing)}", CAUSE_ABSTRACT_REJECT, **ids)
    return S1apMessage(name, ies)


# --- fast path ------------------------------------------------------------------------------
#
# pycrate's generic APER costs ~100-250 µs per PDU, too much for 200 attach/s with ~12 PDUs
# per attach on each side. Every S1AP PDU has the same outer shape, written here by hand
# (X.691 aligned PER, TS 36.413 §9.3):
#   S1AP-PDU CHOICE (ext bit + 2-bit index) | procedureCode (1 octet) | criticality (2 bits)
#   | open type (length determinant + SEQUENCE { ext bit, ProtocolIE-Container:
#     count (2 octets), then per IE: id (2 octets), criticality (2 bits), open type }).
# The values of the hot IEs (UE S1AP IDs, NAS-PDU, TAI, E-UTRAN CGI) have hand codecs too;
# every other IE value goes through pycrate's codec for its own type, which is much cheaper
# than the whole PDU. Anything unusual (extension bits set, fragmented lengths, bytes left
# over) raises _Fallback and the generic pycrate path handles the PDU, so results and errors
# are pycrate's. Tests compare both paths on every builder and on random values.


class _Fallback(Exception):
    """The fast path does not handle this input: use the generic pycrate codec."""


_KIND_INDEX = {KIND_INITIATING: 0, KIND_SUCCESSFUL: 1, KIND_UNSUCCESSFUL: 2}
_INDEX_KIND = (KIND_INITIATING, KIND_SUCCESSFUL, KIND_UNSUCCESSFUL)
_CRIT = {"reject": 0, "ignore": 1, "notify": 2}
_CRIT_NAMES = ("reject", "ignore", "notify")
_MAX_SHORT_LEN = 16384  # X.691 §11.9.3.8: longer lengths are fragmented (not on the fast path)


def _len_det(n: int) -> bytes:
    # X.691 §11.9.3.6-7: aligned length determinant, 1 octet below 128, else 2 octets.
    if n < 128:
        return bytes((n,))
    if n < _MAX_SHORT_LEN:
        return bytes((0x80 | (n >> 8), n & 0xFF))
    raise _Fallback


def _read_len(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    if b < 0xC0:
        return ((b & 0x3F) << 8) | data[pos + 1], pos + 2
    raise _Fallback  # fragmented


def _int_codec(max_octets: int) -> tuple[Any, Any]:
    # INTEGER (0..2^(8*max_octets)-1), range > 64K: X.691 §11.5.7.4 "indefinite length" case:
    # the octet count (1..max_octets) in 2 bits, then the value in that many aligned octets.
    limit = 1 << (8 * max_octets)

    def enc(v: Any) -> bytes:
        if type(v) is not int or not 0 <= v < limit:
            raise _Fallback
        n = max(1, (v.bit_length() + 7) // 8)
        return bytes(((n - 1) << 6,)) + v.to_bytes(n, "big")

    def dec(b: bytes) -> int:
        n = (b[0] >> 6) + 1
        if len(b) != 1 + n or b[0] & 0x3F or n > max_octets:
            raise _Fallback
        return int.from_bytes(b[1:], "big")

    return enc, dec


def _octets_enc(v: Any) -> bytes:
    if type(v) is not bytes:
        raise _Fallback
    return _len_det(len(v)) + v


def _octets_dec(b: bytes) -> bytes:
    n, pos = _read_len(b, 0)
    if pos + n != len(b):
        raise _Fallback
    return b[pos:]


def _tai_enc(v: Any) -> bytes:
    # TAI ::= SEQUENCE { pLMNidentity OCTET STRING (SIZE(3)), tAC OCTET STRING (SIZE(2)),
    # iE-Extensions OPTIONAL, ... }: ext bit + presence bit, padding, 3 + 2 octets.
    if type(v) is not dict or v.keys() != {"pLMNidentity", "tAC"}:
        raise _Fallback
    plmn, tac = v["pLMNidentity"], v["tAC"]
    if type(plmn) is not bytes or type(tac) is not bytes or len(plmn) != 3 or len(tac) != 2:
        raise _Fallback
    return b"\x00" + plmn + tac


def _tai_dec(b: bytes) -> dict[str, Any]:
    if len(b) != 6 or b[0] != 0:
        raise _Fallback
    return {"pLMNidentity": b[1:4], "tAC": b[4:6]}


def _ecgi_enc(v: Any) -> bytes:
    # EUTRAN-CGI ::= SEQUENCE { pLMNidentity, cell-ID BIT STRING (SIZE(28)), iE-Ext..., ... }
    if type(v) is not dict or v.keys() != {"pLMNidentity", "cell-ID"}:
        raise _Fallback
    plmn, cell = v["pLMNidentity"], v["cell-ID"]
    if type(plmn) is not bytes or len(plmn) != 3 or type(cell) is not tuple or cell[1] != 28:
        raise _Fallback
    if type(cell[0]) is not int or not 0 <= cell[0] < 1 << 28:
        raise _Fallback
    return b"\x00" + plmn + (cell[0] << 4).to_bytes(4, "big")


def _ecgi_dec(b: bytes) -> dict[str, Any]:
    if len(b) != 8 or b[0] != 0 or b[7] & 0x0F:
        raise _Fallback
    return {"pLMNidentity": b[1:4], "cell-ID": (int.from_bytes(b[4:8], "big") >> 4, 28)}


class _Bits:
    """Aligned-PER bit writer: fields of n bits, octet alignment, whole octets."""

    __slots__ = ("acc", "n", "out")

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, value: int, n: int) -> None:
        self.acc = (self.acc << n) | value
        self.n += n

    def align(self) -> None:
        if self.n:
            pad = -self.n % 8
            self.out += (self.acc << pad).to_bytes((self.n + pad) // 8, "big")
            self.acc = self.n = 0

    def octets(self, data: bytes) -> None:
        self.align()
        self.out += data

    def done(self) -> bytes:
        self.align()
        return bytes(self.out)


class _Reader:
    """Aligned-PER bit reader; any overrun raises IndexError (-> _Fallback)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0  # in bits

    def bits(self, n: int) -> int:
        end = self.pos + n
        if end > 8 * len(self.data):
            raise IndexError
        first, last = self.pos // 8, (end + 7) // 8
        chunk = int.from_bytes(self.data[first:last], "big")
        self.pos = end
        return (chunk >> (8 * last - end)) & ((1 << n) - 1)

    def align(self) -> None:
        if self.pos % 8 and self.bits(8 - self.pos % 8):
            raise _Fallback  # non-zero padding

    def octets(self, n: int) -> bytes:
        self.align()
        start = self.pos // 8
        if start + n > len(self.data):
            raise IndexError
        self.pos += 8 * n
        return self.data[start : start + n]

    def end(self) -> None:
        self.align()
        if self.pos != 8 * len(self.data):
            raise _Fallback


def _uint_field(w: _Bits, value: Any, len_bits: int, max_octets: int) -> None:
    # INTEGER with a range above 64K (X.691 §11.5.7.4): octet count - 1 in len_bits, then
    # the value in that many aligned octets.
    if type(value) is not int or not 0 <= value < 1 << (8 * max_octets):
        raise _Fallback
    n = max(1, (value.bit_length() + 7) // 8)
    w.bits(n - 1, len_bits)
    w.octets(value.to_bytes(n, "big"))


def _uint_read(r: _Reader, len_bits: int, max_octets: int) -> int:
    n = r.bits(len_bits) + 1
    if n > max_octets:
        raise _Fallback
    return int.from_bytes(r.octets(n), "big")


def _security_key_enc(v: Any) -> bytes:
    # SecurityKey ::= BIT STRING (SIZE(256)): fixed size above 16 bits, 32 aligned octets.
    if type(v) is not tuple or v[1] != 256 or type(v[0]) is not int or not 0 <= v[0] < 1 << 256:
        raise _Fallback
    return v[0].to_bytes(32, "big")


def _security_key_dec(b: bytes) -> tuple[int, int]:
    if len(b) != 32:
        raise _Fallback
    return (int.from_bytes(b, "big"), 256)


def _sec_caps_enc(v: Any) -> bytes:
    # UESecurityCapabilities ::= SEQUENCE { encryptionAlgorithms BIT STRING (SIZE(16,...)),
    # integrityProtectionAlgorithms BIT STRING (SIZE(16,...)), iE-Extensions OPTIONAL, ... }
    if type(v) is not dict or v.keys() != {
        "encryptionAlgorithms",
        "integrityProtectionAlgorithms",
    }:
        raise _Fallback
    enc, integ = v["encryptionAlgorithms"], v["integrityProtectionAlgorithms"]
    for bs in (enc, integ):
        if type(bs) is not tuple or bs[1] != 16 or type(bs[0]) is not int or bs[0] >> 16:
            raise _Fallback
    w = _Bits()
    w.bits(0, 3)  # extension bit, iE-Extensions absent, size-constraint extension bit
    w.bits(enc[0], 16)
    w.bits(0, 1)
    w.bits(integ[0], 16)
    return w.done()


def _sec_caps_dec(b: bytes) -> dict[str, Any]:
    r = _Reader(b)
    if r.bits(3):
        raise _Fallback
    enc = r.bits(16)
    if r.bits(1):
        raise _Fallback
    integ = r.bits(16)
    r.end()
    return {"encryptionAlgorithms": (enc, 16), "integrityProtectionAlgorithms": (integ, 16)}


def _ambr_enc(v: Any) -> bytes:
    # UEAggregateMaximumBitrate ::= SEQUENCE { DL BitRate, UL BitRate, iE-Extensions OPTIONAL,
    # ... }; BitRate ::= INTEGER (0..10000000000): 3-bit octet count (1..5) + octets.
    keys = ("uEaggregateMaximumBitRateDL", "uEaggregateMaximumBitRateUL")
    if type(v) is not dict or v.keys() != set(keys):
        raise _Fallback
    w = _Bits()
    w.bits(0, 2)
    for k in keys:
        if type(v[k]) is not int or v[k] > 10_000_000_000:
            raise _Fallback
        _uint_field(w, v[k], 3, 5)
    return w.done()


def _ambr_dec(b: bytes) -> dict[str, Any]:
    r = _Reader(b)
    if r.bits(2):
        raise _Fallback
    dl = _uint_read(r, 3, 5)
    ul = _uint_read(r, 3, 5)
    r.end()
    if dl > 10_000_000_000 or ul > 10_000_000_000:
        raise _Fallback
    return {"uEaggregateMaximumBitRateDL": dl, "uEaggregateMaximumBitRateUL": ul}


def _ue_ids_enc(v: Any) -> bytes:
    # UE-S1AP-IDs ::= CHOICE { uE-S1AP-ID-pair, mME-UE-S1AP-ID, ... }
    w = _Bits()
    if type(v) is not tuple:
        raise _Fallback
    if v[0] == "uE-S1AP-ID-pair":
        pair = v[1]
        if type(pair) is not dict or pair.keys() != {"mME-UE-S1AP-ID", "eNB-UE-S1AP-ID"}:
            raise _Fallback
        w.bits(0, 4)  # CHOICE ext + index 0, SEQUENCE ext + iE-Extensions absent
        _uint_field(w, pair["mME-UE-S1AP-ID"], 2, 4)
        _uint_field(w, pair["eNB-UE-S1AP-ID"], 2, 3)
    elif v[0] == "mME-UE-S1AP-ID":
        w.bits(0b01, 2)
        _uint_field(w, v[1], 2, 4)
    else:
        raise _Fallback
    return w.done()


def _ue_ids_dec(b: bytes) -> tuple[str, Any]:
    r = _Reader(b)
    head = r.bits(2)
    if head == 0:
        if r.bits(2):
            raise _Fallback
        mme = _uint_read(r, 2, 4)
        enb = _uint_read(r, 2, 3)
        r.end()
        return ("uE-S1AP-ID-pair", {"mME-UE-S1AP-ID": mme, "eNB-UE-S1AP-ID": enb})
    if head == 1:
        mme = _uint_read(r, 2, 4)
        r.end()
        return ("mME-UE-S1AP-ID", mme)
    raise _Fallback


def _enum_table(obj: Any) -> tuple[list[str], int]:
    # Root values of an ENUMERATED in index order, and the bits of the index (plus one for
    # the extension bit when the type is extensible).
    names = list(obj._root)
    return names, max(len(names) - 1, 0).bit_length() + (obj._ext is not None)


def _cause_tables() -> tuple[list[str], dict[str, tuple[list[str], int]], int]:
    cause_obj = _MSGS["ErrorIndication"].ies["Cause"].asn1
    groups = list(cause_obj._root)  # radioNetwork, transport, nas, protocol, misc
    choice_bits = max(len(groups) - 1, 0).bit_length() + (cause_obj._ext is not None)
    return groups, {g: _enum_table(cause_obj._cont[g]) for g in groups}, choice_bits


def _cause_enc(v: Any) -> bytes:
    # Cause ::= CHOICE { radioNetwork, transport, nas, protocol, misc, ... }, each an
    # extensible ENUMERATED: ext bit + 3-bit index, then ext bit + index of the root value.
    if type(v) is not tuple or v[0] not in _CAUSE_ENUMS:
        raise _Fallback
    names, nbits = _CAUSE_ENUMS[v[0]]
    if v[1] not in names:
        raise _Fallback  # extension values: generic path
    w = _Bits()
    w.bits(_CAUSE_GROUPS.index(v[0]), _CAUSE_BITS)
    w.bits(names.index(v[1]), nbits)
    return w.done()


def _cause_dec(b: bytes) -> tuple[str, str]:
    r = _Reader(b)
    g = r.bits(_CAUSE_BITS)
    if g >= len(_CAUSE_GROUPS):
        raise _Fallback
    group = _CAUSE_GROUPS[g]
    names, nbits = _CAUSE_ENUMS[group]
    i = r.bits(nbits)
    if i >= len(names):
        raise _Fallback
    r.end()
    return (group, names[i])


def _address_field(w: _Bits, v: Any) -> None:
    # TransportLayerAddress ::= BIT STRING (SIZE(1..160, ...)): ext bit, 8-bit length - 1,
    # then the bits octet-aligned.
    if type(v) is not tuple or v[1] not in (32, 128, 160) or type(v[0]) is not int:
        raise _Fallback
    if v[0] >> v[1]:
        raise _Fallback
    w.bits(v[1] - 1, 9)
    w.octets(v[0].to_bytes(v[1] // 8, "big"))


def _address_read(r: _Reader) -> tuple[int, int]:
    n = r.bits(9) + 1
    if n not in (32, 128, 160):
        raise _Fallback
    return (int.from_bytes(r.octets(n // 8), "big"), n)


def _erab_list_enc(item_id: int, item_crit: str, item_name: str, encode_item: Any) -> Any:
    # SEQUENCE (SIZE(1..256)) OF ProtocolIE-SingleContainer: count - 1 in one aligned octet,
    # then per item: id (2 octets), criticality (2 bits), open type.
    def enc(v: Any) -> bytes:
        if type(v) is not list or not 1 <= len(v) <= 256:
            raise _Fallback
        out = bytearray((len(v) - 1,))
        for c in v:
            if type(c) is not dict or c.get("id") != item_id or c.get("criticality") != item_crit:
                raise _Fallback
            value = c.get("value")
            if type(value) is not tuple or value[0] != item_name:
                raise _Fallback
            body = encode_item(value[1])
            out += item_id.to_bytes(2, "big") + bytes((_CRIT[item_crit] << 6,))
            out += _len_det(len(body)) + body
        return bytes(out)

    return enc


def _erab_list_dec(item_id: int, item_crit: str, item_name: str, decode_item: Any) -> Any:
    def dec(b: bytes) -> list[dict[str, Any]]:
        count = b[0] + 1
        pos = 1
        out = []
        for _ in range(count):
            if (b[pos] << 8 | b[pos + 1]) != item_id or b[pos + 2] != _CRIT[item_crit] << 6:
                raise _Fallback
            n, pos = _read_len(b, pos + 3)
            raw = b[pos : pos + n]
            if len(raw) != n:
                raise _Fallback
            pos += n
            out.append(
                {"id": item_id, "criticality": item_crit, "value": (item_name, decode_item(raw))}
            )
        if pos != len(b):
            raise _Fallback
        return out

    return dec


_PRE_CAP = ("shall-not-trigger-pre-emption", "may-trigger-pre-emption")
_PRE_VUL = ("not-pre-emptable", "pre-emptable")


def _erab_req_item_enc(v: Any) -> bytes:
    # E-RABToBeSetupItemCtxtSUReq ::= SEQUENCE { e-RAB-ID INTEGER (0..15, ...),
    # e-RABlevelQoSParameters, transportLayerAddress, gTP-TEID OCTET STRING (SIZE(4)),
    # nAS-PDU OPTIONAL, iE-Extensions OPTIONAL, ... } (non-GBR QoS only on this path).
    if type(v) is not dict or not v.keys() <= {
        "e-RAB-ID",
        "e-RABlevelQoSParameters",
        "transportLayerAddress",
        "gTP-TEID",
        "nAS-PDU",
    }:
        raise _Fallback
    ebi, qos, teid = v["e-RAB-ID"], v["e-RABlevelQoSParameters"], v["gTP-TEID"]
    nas_pdu = v.get("nAS-PDU")
    if type(ebi) is not int or not 0 <= ebi <= 15 or type(teid) is not bytes or len(teid) != 4:
        raise _Fallback
    if type(qos) is not dict or qos.keys() != {"qCI", "allocationRetentionPriority"}:
        raise _Fallback
    arp = qos["allocationRetentionPriority"]
    if type(arp) is not dict or arp.keys() != {
        "priorityLevel",
        "pre-emptionCapability",
        "pre-emptionVulnerability",
    }:
        raise _Fallback
    qci, prio = qos["qCI"], arp["priorityLevel"]
    if type(qci) is not int or not 0 <= qci <= 255 or type(prio) is not int or prio >> 4:
        raise _Fallback
    if prio < 0 or type(nas_pdu) not in (bytes, type(None)):
        raise _Fallback
    w = _Bits()
    w.bits(int(nas_pdu is not None) << 1, 3)  # ext, nAS-PDU present, iE-Extensions absent
    w.bits(ebi, 5)  # ext bit of the E-RAB-ID range + 4 bits
    w.bits(0, 3)  # QoS: ext, gbrQosInformation absent, iE-Extensions absent
    w.octets(bytes((qci,)))
    w.bits(0, 2)  # ARP: ext, iE-Extensions absent
    w.bits(prio, 4)
    w.bits(_PRE_CAP.index(arp["pre-emptionCapability"]), 1)
    w.bits(_PRE_VUL.index(arp["pre-emptionVulnerability"]), 1)
    _address_field(w, v["transportLayerAddress"])
    w.octets(teid)
    if nas_pdu is not None:
        w.octets(_len_det(len(nas_pdu)) + nas_pdu)
    return w.done()


def _erab_req_item_dec(b: bytes) -> dict[str, Any]:
    r = _Reader(b)
    head = r.bits(3)
    if head & 0b101:
        raise _Fallback
    if r.bits(1):
        raise _Fallback
    ebi = r.bits(4)
    if r.bits(3):
        raise _Fallback
    qci = r.octets(1)[0]
    if r.bits(2):
        raise _Fallback
    prio = r.bits(4)
    cap = _PRE_CAP[r.bits(1)]
    vul = _PRE_VUL[r.bits(1)]
    address = _address_read(r)
    teid = r.octets(4)
    item: dict[str, Any] = {
        "e-RAB-ID": ebi,
        "e-RABlevelQoSParameters": {
            "qCI": qci,
            "allocationRetentionPriority": {
                "priorityLevel": prio,
                "pre-emptionCapability": cap,
                "pre-emptionVulnerability": vul,
            },
        },
        "transportLayerAddress": address,
        "gTP-TEID": teid,
    }
    if head & 0b010:
        r.align()
        start = r.pos // 8
        n, pos = _read_len(b, start)
        if pos + n != len(b):
            raise _Fallback
        item["nAS-PDU"] = b[pos:]
        return item
    r.end()
    return item


def _erab_res_item_enc(v: Any) -> bytes:
    # E-RABSetupItemCtxtSURes ::= SEQUENCE { e-RAB-ID, transportLayerAddress, gTP-TEID,
    # iE-Extensions OPTIONAL, ... }
    if type(v) is not dict or v.keys() != {"e-RAB-ID", "transportLayerAddress", "gTP-TEID"}:
        raise _Fallback
    ebi, teid = v["e-RAB-ID"], v["gTP-TEID"]
    if type(ebi) is not int or not 0 <= ebi <= 15 or type(teid) is not bytes or len(teid) != 4:
        raise _Fallback
    w = _Bits()
    w.bits(0, 3)  # ext, iE-Extensions absent, ext bit of the E-RAB-ID range
    w.bits(ebi, 4)
    _address_field(w, v["transportLayerAddress"])
    w.octets(teid)
    return w.done()


def _erab_res_item_dec(b: bytes) -> dict[str, Any]:
    r = _Reader(b)
    if r.bits(3):
        raise _Fallback
    ebi = r.bits(4)
    address = _address_read(r)
    teid = r.octets(4)
    r.end()
    return {"e-RAB-ID": ebi, "transportLayerAddress": address, "gTP-TEID": teid}


_MME_ID = _int_codec(4)
_ENB_ID = _int_codec(3)
_CAUSE_GROUPS, _CAUSE_ENUMS, _CAUSE_BITS = _cause_tables()
_ERAB_REQ = ("E-RABToBeSetupItemCtxtSUReq", "reject")
_ERAB_RES = ("E-RABSetupItemCtxtSURes", "ignore")
_FAST_ENC: dict[str, Any] = {
    "MME-UE-S1AP-ID": _MME_ID[0],
    "ENB-UE-S1AP-ID": _ENB_ID[0],
    "NAS-PDU": _octets_enc,
    "TAI": _tai_enc,
    "EUTRAN-CGI": _ecgi_enc,
    "SecurityKey": _security_key_enc,
    "UESecurityCapabilities": _sec_caps_enc,
    "UEAggregateMaximumBitrate": _ambr_enc,
    "UE-S1AP-IDs": _ue_ids_enc,
    "Cause": _cause_enc,
    "E-RABToBeSetupListCtxtSUReq": _erab_list_enc(
        _IE_IDS[_ERAB_REQ[0]], _ERAB_REQ[1], _ERAB_REQ[0], _erab_req_item_enc
    ),
    "E-RABSetupListCtxtSURes": _erab_list_enc(
        _IE_IDS[_ERAB_RES[0]], _ERAB_RES[1], _ERAB_RES[0], _erab_res_item_enc
    ),
}
_FAST_DEC: dict[str, Any] = {
    "MME-UE-S1AP-ID": _MME_ID[1],
    "ENB-UE-S1AP-ID": _ENB_ID[1],
    "NAS-PDU": _octets_dec,
    "TAI": _tai_dec,
    "EUTRAN-CGI": _ecgi_dec,
    "SecurityKey": _security_key_dec,
    "UESecurityCapabilities": _sec_caps_dec,
    "UEAggregateMaximumBitrate": _ambr_dec,
    "UE-S1AP-IDs": _ue_ids_dec,
    "Cause": _cause_dec,
    "E-RABToBeSetupListCtxtSUReq": _erab_list_dec(
        _IE_IDS[_ERAB_REQ[0]], _ERAB_REQ[1], _ERAB_REQ[0], _erab_req_item_dec
    ),
    "E-RABSetupListCtxtSURes": _erab_list_dec(
        _IE_IDS[_ERAB_RES[0]], _ERAB_RES[1], _ERAB_RES[0], _erab_res_item_dec
    ),
}


def _ie_encode(ie: _IeSpec, value: Any) -> bytes:
    fast = _FAST_ENC.get(ie.type_name)
    if fast is not None:
        return bytes(fast(value))
    obj = ie.asn1
    try:
        obj.set_val(value)
        return bytes(obj.to_aper())
    except Exception:
        raise _Fallback from None


def _fast_encode(spec: _MsgSpec, ies: dict[str, Any]) -> bytes:
    fields = bytearray()
    order = spec.order
    names = sorted(ies, key=order.__getitem__) if len(ies) > 1 else list(ies)
    for ie_name in names:
        ie = spec.ies[ie_name]
        value = _ie_encode(ie, ies[ie_name])
        fields += ie.id.to_bytes(2, "big")
        fields.append(_CRIT[ie.criticality] << 6)
        fields += _len_det(len(value))
        fields += value
    body = b"\x00" + len(names).to_bytes(2, "big") + fields
    head = bytes(
        (
            _KIND_INDEX[spec.kind] << 5,
            spec.procedure_code,
            _CRIT[spec.criticality] << 6,
        )
    )
    return head + _len_det(len(body)) + body


def _fast_decode(data: bytes) -> Any:
    """The pycrate-shaped value of a PDU, or _Fallback."""
    try:
        b0 = data[0]
        if b0 & 0x9F:  # extension bit or non-zero padding
            raise _Fallback
        kind = _INDEX_KIND[b0 >> 5]
        code = data[1]
        name = _BY_CODE.get((kind, code))
        if name is None or data[2] & 0x3F or data[2] >> 6 > 2:
            raise _Fallback
        crit = _CRIT_NAMES[data[2] >> 6]
        n, pos = _read_len(data, 3)
        if pos + n != len(data) or data[pos] != 0:  # ext bit of the message SEQUENCE
            raise _Fallback
        count = int.from_bytes(data[pos + 1 : pos + 3], "big")
        pos += 3
        spec = _MSGS[name]
        by_id = spec.by_id
        items = []
        for _ in range(count):
            ie_id = (data[pos] << 8) | data[pos + 1]
            c = data[pos + 2]
            if c & 0x3F or c >> 6 > 2:
                raise _Fallback
            n, pos = _read_len(data, pos + 3)
            raw = data[pos : pos + n]
            if len(raw) != n:
                raise _Fallback
            pos += n
            ie = by_id.get(ie_id)
            if ie is None:
                raise _Fallback  # unknown IE: let the generic path apply the criticality
            fast = _FAST_DEC.get(ie.type_name)
            if fast is not None:
                value = fast(raw)
            else:
                obj = ie.asn1
                obj.from_aper(raw)
                value = obj.get_val()
                # The open type must hold exactly this value (pycrate reads leniently): a
                # re-encoding that differs means a malformed IE - let the generic path judge.
                if obj.to_aper() != raw:
                    raise _Fallback
            items.append(
                {"id": ie_id, "criticality": _CRIT_NAMES[c >> 6], "value": (ie.type_name, value)}
            )
        if pos != len(data):
            raise _Fallback
    except _Fallback:
        raise
    except Exception:
        raise _Fallback from None
    return (
        kind,
        {"procedureCode": code, "criticality": crit, "value": (name, {"protocolIEs": items})},
    )


# --- framing over TCP ---------------------------------------------------------------------------


def frame(pdu: bytes) -> bytes:
    """One PDU with its 4-octet big-endian length prefix (S1AP over TCP, see module doc)."""
    if len(pdu) > MAX_PDU_SIZE:
        raise ValueError(f"S1AP PDU of {len(pdu)} octets exceeds MAX_PDU_SIZE")
    return len(pdu).to_bytes(_LEN_PREFIX, "big") + pdu


class S1apDeframer:
    """Sans-IO reader of length-prefixed S1AP PDUs from a byte stream.

    ``feed(data)`` returns the complete PDUs now available (possibly none). A length of 0 or
    above :data:`MAX_PDU_SIZE` raises :class:`S1apError`: the stream has lost sync and the
    connection must be closed (no Error Indication can be tied to it).
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Octets received but not yet part of a complete PDU."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= _LEN_PREFIX:
            n = int.from_bytes(buf[pos : pos + _LEN_PREFIX], "big")
            if n == 0 or n > MAX_PDU_SIZE:
                raise S1apError(f"bad S1AP frame length {n} (limit {MAX_PDU_SIZE})")
            end = pos + _LEN_PREFIX + n
            if end > len(buf):
                break
            out.append(bytes(buf[pos + _LEN_PREFIX : end]))
            pos = end
        if pos:
            del buf[:pos]
        return out


# --- IE helpers ---------------------------------------------------------------------------------


def tai(mcc: str, mnc: str, tac: int) -> dict[str, Any]:
    """TAI (§9.2.3.16): PLMN identity + 2-octet TAC."""
    return {"pLMNidentity": plmn_bytes(mcc, mnc), "tAC": tac.to_bytes(2, "big")}


def ecgi(mcc: str, mnc: str, cell_id: int) -> dict[str, Any]:
    """E-UTRAN CGI (§9.2.1.38): PLMN identity + 28-bit cell identity."""
    return {"pLMNidentity": plmn_bytes(mcc, mnc), "cell-ID": (cell_id, 28)}


def global_enb_id(mcc: str, mnc: str, enb_id: int) -> dict[str, Any]:
    """Global eNB ID (§9.2.1.37) with a 20-bit macro eNB ID."""
    return {"pLMNidentity": plmn_bytes(mcc, mnc), "eNB-ID": ("macroENB-ID", (enb_id, 20))}


def cause(group: str, value: str) -> tuple[str, str]:
    """Cause (§9.2.1.3): e.g. ``cause("nas", "normal-release")``, ``("radioNetwork",
    "user-inactivity")``, ``("protocol", "transfer-syntax-error")``, ``("misc", "unspecified")``."""
    return (group, value)


def ue_security_capabilities(ue_network_capability: bytes) -> dict[str, Any]:
    """UE Security Capabilities (§9.2.1.40) from the NAS UE network capability (TS 24.301
    §9.9.3.34): bit 1 of each 16-bit string is 128-EEA1/EIA1, bit 2 128-EEA2/EIA2, bit 3
    128-EEA3/EIA3 (EEA0/EIA0 are implied and not signalled)."""
    eea = ue_network_capability[0] if ue_network_capability else 0
    eia = ue_network_capability[1] if len(ue_network_capability) > 1 else 0
    # NAS octet: EEA0 EEA1 EEA2 EEA3 ... from bit 8 down; S1AP string starts at EEA1.
    enc = ((eea << 1) & 0xFF) << 8
    integ = ((eia << 1) & 0xFF) << 8
    return {"encryptionAlgorithms": (enc, 16), "integrityProtectionAlgorithms": (integ, 16)}


def ue_ids(mme_ue_s1ap_id: int, enb_ue_s1ap_id: int | None = None) -> tuple[str, Any]:
    """UE S1AP IDs (§9.2.3.18): the pair, or the MME ID alone."""
    if enb_ue_s1ap_id is None:
        return ("mME-UE-S1AP-ID", mme_ue_s1ap_id)
    return (
        "uE-S1AP-ID-pair",
        {"mME-UE-S1AP-ID": mme_ue_s1ap_id, "eNB-UE-S1AP-ID": enb_ue_s1ap_id},
    )


def _transport_address(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)
    return (int(addr), 32 if addr.version == 4 else 128)


def _ip_from_bits(value: Any) -> str:
    num, bits = value
    if bits == 32:
        return str(ipaddress.IPv4Address(num))
    if bits == 128:
        return str(ipaddress.IPv6Address(num))
    if bits == 160:  # IPv4 followed by IPv6 (TS 36.414 §5.3): report the IPv4 one
        return str(ipaddress.IPv4Address(num >> 128))
    raise S1apError(f"transport layer address of {bits} bits", CAUSE_SEMANTIC)


# --- builders -----------------------------------------------------------------------------------


def s1_setup_request(
    *,
    mcc: str,
    mnc: str,
    enb_id: int,
    tacs: list[int],
    enb_name: str | None = None,
    paging_drx: str = "v128",
) -> S1apMessage:
    """S1 SETUP REQUEST (§9.1.8.4) from a macro eNB serving ``tacs`` in one PLMN."""
    ies: dict[str, Any] = {
        "Global-ENB-ID": global_enb_id(mcc, mnc, enb_id),
        "SupportedTAs": [
            {"tAC": t.to_bytes(2, "big"), "broadcastPLMNs": [plmn_bytes(mcc, mnc)]} for t in tacs
        ],
        "DefaultPagingDRX": paging_drx,
    }
    if enb_name is not None:
        ies["eNBname"] = enb_name
    return S1apMessage("S1SetupRequest", ies)


def s1_setup_response(
    *,
    mcc: str,
    mnc: str,
    mme_group_id: int,
    mme_code: int,
    relative_capacity: int = 255,
    mme_name: str | None = None,
) -> S1apMessage:
    """S1 SETUP RESPONSE (§9.1.8.5) with one served GUMMEI."""
    ies: dict[str, Any] = {
        "ServedGUMMEIs": [
            {
                "servedPLMNs": [plmn_bytes(mcc, mnc)],
                "servedGroupIDs": [mme_group_id.to_bytes(2, "big")],
                "servedMMECs": [mme_code.to_bytes(1, "big")],
            }
        ],
        "RelativeMMECapacity": relative_capacity,
    }
    if mme_name is not None:
        ies["MMEname"] = mme_name
    return S1apMessage("S1SetupResponse", ies)


def s1_setup_failure(
    cause_value: tuple[str, str], *, time_to_wait: str | None = None
) -> S1apMessage:
    """S1 SETUP FAILURE (§9.1.8.6), e.g. ``("misc", "unknown-PLMN")``."""
    ies: dict[str, Any] = {"Cause": cause_value}
    if time_to_wait is not None:
        ies["TimeToWait"] = time_to_wait
    return S1apMessage("S1SetupFailure", ies)


def initial_ue_message(
    *,
    enb_ue_s1ap_id: int,
    nas_pdu: bytes,
    mcc: str,
    mnc: str,
    tac: int,
    cell_id: int,
    establishment_cause: str = "mo-Signalling",
    s_tmsi: tuple[int, int] | None = None,
) -> S1apMessage:
    """INITIAL UE MESSAGE (§9.1.7.1). ``s_tmsi`` is (MME code, M-TMSI) when the UE has one."""
    ies: dict[str, Any] = {
        "eNB-UE-S1AP-ID": enb_ue_s1ap_id,
        "NAS-PDU": nas_pdu,
        "TAI": tai(mcc, mnc, tac),
        "EUTRAN-CGI": ecgi(mcc, mnc, cell_id),
        "RRC-Establishment-Cause": establishment_cause,
    }
    if s_tmsi is not None:
        ies["S-TMSI"] = {
            "mMEC": s_tmsi[0].to_bytes(1, "big"),
            "m-TMSI": s_tmsi[1].to_bytes(4, "big"),
        }
    return S1apMessage("InitialUEMessage", ies)


def downlink_nas_transport(
    *, mme_ue_s1ap_id: int, enb_ue_s1ap_id: int, nas_pdu: bytes
) -> S1apMessage:
    """DOWNLINK NAS TRANSPORT (§9.1.7.2)."""
    return S1apMessage(
        "DownlinkNASTransport",
        {"MME-UE-S1AP-ID": mme_ue_s1ap_id, "eNB-UE-S1AP-ID": enb_ue_s1ap_id, "NAS-PDU": nas_pdu},
    )


def uplink_nas_transport(
    *,
    mme_ue_s1ap_id: int,
    enb_ue_s1ap_id: int,
    nas_pdu: bytes,
    mcc: str,
    mnc: str,
    tac: int,
    cell_id: int,
) -> S1apMessage:
    """UPLINK NAS TRANSPORT (§9.1.7.3)."""
    return S1apMessage(
        "UplinkNASTransport",
        {
            "MME-UE-S1AP-ID": mme_ue_s1ap_id,
            "eNB-UE-S1AP-ID": enb_ue_s1ap_id,
            "NAS-PDU": nas_pdu,
            "EUTRAN-CGI": ecgi(mcc, mnc, cell_id),
            "TAI": tai(mcc, mnc, tac),
        },
    )


def initial_context_setup_request(
    *,
    mme_ue_s1ap_id: int,
    enb_ue_s1ap_id: int,
    ue_ambr_ul_bps: int,
    ue_ambr_dl_bps: int,
    ebi: int,
    qci: int,
    arp: int,
    sgw_address: str,
    sgw_teid: int,
    nas_pdu: bytes | None,
    ue_network_capability: bytes,
    kenb: bytes,
) -> S1apMessage:
    """INITIAL CONTEXT SETUP REQUEST (§9.1.4.1) with the default bearer's E-RAB (QCI/ARP,
    SGW S1-U address and TEID, the Attach Accept as NAS-PDU), UE-AMBR, security capabilities
    and K_eNB (SecurityKey, 256 bits)."""
    item: dict[str, Any] = {
        "e-RAB-ID": ebi,
        "e-RABlevelQoSParameters": {
            "qCI": qci,
            "allocationRetentionPriority": {
                "priorityLevel": arp,
                "pre-emptionCapability": "shall-not-trigger-pre-emption",
                "pre-emptionVulnerability": "not-pre-emptable",
            },
        },
        "transportLayerAddress": _transport_address(sgw_address),
        "gTP-TEID": sgw_teid.to_bytes(4, "big"),
    }
    if nas_pdu is not None:
        item["nAS-PDU"] = nas_pdu
    if len(kenb) != 32:
        raise ValueError("K_eNB is 32 octets")
    return S1apMessage(
        "InitialContextSetupRequest",
        {
            "MME-UE-S1AP-ID": mme_ue_s1ap_id,
            "eNB-UE-S1AP-ID": enb_ue_s1ap_id,
            "uEaggregateMaximumBitrate": {
                "uEaggregateMaximumBitRateDL": ue_ambr_dl_bps,
                "uEaggregateMaximumBitRateUL": ue_ambr_ul_bps,
            },
            "E-RABToBeSetupListCtxtSUReq": [
                {
                    "id": _IE_IDS["E-RABToBeSetupItemCtxtSUReq"],
                    "criticality": "reject",
                    "value": ("E-RABToBeSetupItemCtxtSUReq", item),
                }
            ],
            "UESecurityCapabilities": ue_security_capabilities(ue_network_capability),
            "SecurityKey": (int.from_bytes(kenb, "big"), 256),
        },
    )


def initial_context_setup_response(
    *,
    mme_ue_s1ap_id: int,
    enb_ue_s1ap_id: int,
    e_rabs: list[tuple[int, str, int]],
) -> S1apMessage:
    """INITIAL CONTEXT SETUP RESPONSE (§9.1.4.2): (EBI, eNB S1-U address, eNB TEID) each."""
    return S1apMessage(
        "InitialContextSetupResponse",
        {
            "MME-UE-S1AP-ID": mme_ue_s1ap_id,
            "eNB-UE-S1AP-ID": enb_ue_s1ap_id,
            "E-RABSetupListCtxtSURes": [
                {
                    "id": _IE_IDS["E-RABSetupItemCtxtSURes"],
                    "criticality": "ignore",
                    "value": (
                        "E-RABSetupItemCtxtSURes",
                        {
                            "e-RAB-ID": ebi,
                            "transportLayerAddress": _transport_address(addr),
                            "gTP-TEID": teid.to_bytes(4, "big"),
                        },
                    ),
                }
                for ebi, addr, teid in e_rabs
            ],
        },
    )


def e_rab_setup_items(msg: S1apMessage) -> list[dict[str, Any]]:
    """The E-RABs of an Initial Context Setup Request or Response as plain dicts:
    ``{"ebi", "address", "teid"}`` plus ``"qci"``, ``"arp"``, ``"nas_pdu"`` for the request.
    :class:`S1apError` if an address is not IPv4/IPv6."""
    key = {
        "InitialContextSetupRequest": "E-RABToBeSetupListCtxtSUReq",
        "InitialContextSetupResponse": "E-RABSetupListCtxtSURes",
    }.get(msg.name)
    if key is None:
        raise ValueError(f"{msg.name} has no E-RAB setup list")
    out = []
    for container in msg.ies.get(key, ()):
        value = container.get("value")
        if not isinstance(value, tuple):
            continue
        item = value[1]
        entry: dict[str, Any] = {
            "ebi": item["e-RAB-ID"],
            "address": _ip_from_bits(item["transportLayerAddress"]),
            "teid": int.from_bytes(item["gTP-TEID"], "big"),
        }
        if "e-RABlevelQoSParameters" in item:
            qos = item["e-RABlevelQoSParameters"]
            entry["qci"] = qos["qCI"]
            entry["arp"] = qos["allocationRetentionPriority"]["priorityLevel"]
            entry["nas_pdu"] = item.get("nAS-PDU")
        out.append(entry)
    return out


def ue_context_release_request(
    *, mme_ue_s1ap_id: int, enb_ue_s1ap_id: int, cause_value: tuple[str, str]
) -> S1apMessage:
    """UE CONTEXT RELEASE REQUEST (§9.1.4.5), eNB -> MME."""
    return S1apMessage(
        "UEContextReleaseRequest",
        {"MME-UE-S1AP-ID": mme_ue_s1ap_id, "eNB-UE-S1AP-ID": enb_ue_s1ap_id, "Cause": cause_value},
    )


def ue_context_release_command(
    *, mme_ue_s1ap_id: int, enb_ue_s1ap_id: int | None, cause_value: tuple[str, str]
) -> S1apMessage:
    """UE CONTEXT RELEASE COMMAND (§9.1.4.6), e.g. cause ``("nas", "detach")``."""
    return S1apMessage(
        "UEContextReleaseCommand",
        {"UE-S1AP-IDs": ue_ids(mme_ue_s1ap_id, enb_ue_s1ap_id), "Cause": cause_value},
    )


def ue_context_release_complete(*, mme_ue_s1ap_id: int, enb_ue_s1ap_id: int) -> S1apMessage:
    """UE CONTEXT RELEASE COMPLETE (§9.1.4.7)."""
    return S1apMessage(
        "UEContextReleaseComplete",
        {"MME-UE-S1AP-ID": mme_ue_s1ap_id, "eNB-UE-S1AP-ID": enb_ue_s1ap_id},
    )


def error_indication(
    err: S1apError | None = None,
    *,
    cause_value: tuple[str, str] | None = None,
    mme_ue_s1ap_id: int | None = None,
    enb_ue_s1ap_id: int | None = None,
) -> S1apMessage:
    """ERROR INDICATION (§9.1.8.7) answering ``err`` (its cause and UE IDs), or built from
    explicit values."""
    ies: dict[str, Any] = {}
    mme_id = mme_ue_s1ap_id if mme_ue_s1ap_id is not None else (err and err.mme_ue_s1ap_id)
    enb_id = enb_ue_s1ap_id if enb_ue_s1ap_id is not None else (err and err.enb_ue_s1ap_id)
    if isinstance(mme_id, int):
        ies["MME-UE-S1AP-ID"] = mme_id
    if isinstance(enb_id, int):
        ies["eNB-UE-S1AP-ID"] = enb_id
    c = cause_value if cause_value is not None else (err.cause if err else None)
    if c is not None:
        ies["Cause"] = c
    return S1apMessage("ErrorIndication", ies)

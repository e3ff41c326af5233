"""Sans-IO Diameter message codec (RFC 6733 §3 header, §4 AVPs, §4.2-§4.4 data formats).

``Message.decode`` frames the header and the top-level AVP headers only; AVP values are
decoded lazily by ``get``/``get_all`` through the dictionary, and Grouped AVPs are parsed
when read, so an HSS that looks at five AVPs of a request pays for five. ``StreamParser``
frames messages out of a TCP byte stream by the 24-bit Message Length. Every peer-caused
failure raises ``DiameterParseError`` carrying the RFC 6733 §7.1 Result-Code to answer with.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from .constants import (
    AVP_FLAG_MANDATORY,
    AVP_FLAG_VENDOR,
    COMMAND_ABBREVIATIONS,
    DIAMETER_VERSION,
    FLAG_ERROR,
    FLAG_PROXIABLE,
    FLAG_REQUEST,
    FLAG_RETRANSMIT,
    HEADER_LENGTH,
    MAX_GROUPED_DEPTH,
    MAX_MESSAGE_SIZE,
    ResultCode,
    is_protocol_error,
)
from .dictionary import _BY_NAME, MIN_LENGTH, AvpDef, avp_def, find_avp_def
from .errors import DiameterEncodeError, DiameterParseError

_HEADER = struct.Struct(">IIIII")  # ver|len, flags|code, app-id, hop-by-hop, end-to-end
_AVP_HEADER = struct.Struct(">II")  # code, flags|length
_AVP_VENDOR_HEADER = struct.Struct(">III")  # code, flags|length, vendor-id
_U32 = struct.Struct(">I")
_PADDING = (b"", b"\0", b"\0\0", b"\0\0\0")
_new = object.__new__
_MAX_24 = 0xFFFFFF

# RFC 6733 §4.3.1 Time: NTP seconds since 1900-01-01 UTC; values with the top bit clear are
# in the era starting 2036-02-07 (RFC 4330 §3), which stretches the range to 2104.
_NTP_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
_NTP_ERA = 1 << 32
_NTP_MSB = 1 << 31

# RFC 6733 §4.3.1 Address: 2-octet IANA address family then the address.
_FAMILY_IPV4 = 1
_FAMILY_IPV6 = 2


# --- AVP -----------------------------------------------------------------------------------


class Avp:
    """One AVP with undecoded data (RFC 6733 §4.1). ``vendor_id`` is None iff the V bit is clear."""

    __slots__ = ("code", "data", "flags", "vendor_id")

    def __init__(
        self, code: int, data: bytes = b"", *, flags: int = 0, vendor_id: int | None = None
    ) -> None:
        self.code = code
        self.data = data
        self.flags = (flags | AVP_FLAG_VENDOR) if vendor_id is not None else (flags & 0x7F)
        self.vendor_id = vendor_id

    @property
    def mandatory(self) -> bool:
        return bool(self.flags & AVP_FLAG_MANDATORY)

    @property
    def definition(self) -> AvpDef | None:
        return find_avp_def(self.code, self.vendor_id)

    @property
    def name(self) -> str:
        d = find_avp_def(self.code, self.vendor_id)
        if d is not None:
            return d.name
        return f"AVP-{self.code}" + (f"/{self.vendor_id}" if self.vendor_id is not None else "")

    @property
    def value(self) -> Any:
        """The decoded value if the AVP is in the dictionary, else the raw bytes."""
        d = find_avp_def(self.code, self.vendor_id)
        if d is None:
            return self.data
        return _decode_avp(d, self)

    def encode(self) -> bytes:
        data = self.data
        n = len(data)
        if n > _MAX_24 - 12:
            raise DiameterEncodeError(f"AVP {self.code}: data too long ({n} octets)")
        try:
            if self.vendor_id is None:
                hdr = _AVP_HEADER.pack(self.code, ((self.flags & 0x7F) << 24) | (n + 8))
            else:
                hdr = _AVP_VENDOR_HEADER.pack(
                    self.code, ((self.flags | AVP_FLAG_VENDOR) << 24) | (n + 12), self.vendor_id
                )
        except struct.error as exc:
            raise DiameterEncodeError(f"AVP {self.code}: bad header field: {exc}") from None
        return hdr + data + _PADDING[-n & 3]

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Avp:
        """Decode exactly one AVP (with optional trailing padding)."""
        avps: list[Avp] = []
        parse_avps(bytes(data), 0, len(data), avps)
        if len(avps) != 1:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_AVP_LENGTH, f"expected one AVP, found {len(avps)}"
            )
        return avps[0]

    def copy(self) -> Avp:
        return Avp(self.code, self.data, flags=self.flags, vendor_id=self.vendor_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Avp):
            return NotImplemented
        return (
            self.code == other.code
            and self.flags == other.flags
            and self.vendor_id == other.vendor_id
            and self.data == other.data
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        vendor = f", vendor_id={self.vendor_id}" if self.vendor_id is not None else ""
        return (
            f"Avp({self.name}: code={self.code}, flags=0x{self.flags:02x}{vendor}, "
            f"data={self.data!r})"
        )


def parse_avps(data: bytes, start: int, end: int, out: list[Avp]) -> None:
    """Split data[start:end] into AVPs appended to ``out`` (RFC 6733 §4.1 framing).

    Raises DIAMETER_INVALID_AVP_LENGTH with a Failed-AVP built per RFC 6733 §7.1.5: the
    offending header plus a zero-filled payload of the type's minimum length. ``out`` keeps
    the AVPs parsed before the fault.
    """
    unpack = _AVP_HEADER.unpack_from
    off = start
    append = out.append
    while off < end:
        left = end - off
        if left < 8:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_AVP_LENGTH,
                f"{left} trailing octets, shorter than an AVP header",
                failed_avp=_stub_avp(data, off, end),
            )
        code, word = unpack(data, off)
        flags = word >> 24
        length = word & _MAX_24
        if flags & AVP_FLAG_VENDOR:
            if left < 12:
                raise DiameterParseError(
                    ResultCode.DIAMETER_INVALID_AVP_LENGTH,
                    f"AVP {code}: truncated vendor header",
                    failed_avp=_stub_avp(data, off, end),
                )
            vendor_id: int | None = _U32.unpack_from(data, off + 8)[0]
            hdr = 12
        else:
            vendor_id = None
            hdr = 8
        if length < hdr or length > left:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_AVP_LENGTH,
                f"AVP {code}: length {length} invalid ({left} octets left)",
                failed_avp=_stub_avp(data, off, end),
            )
        avp = _new(Avp)  # bypasses __init__: flags/vendor_id are consistent by construction
        avp.code = code
        avp.data = data[off + hdr : off + length]
        avp.flags = flags
        avp.vendor_id = vendor_id
        append(avp)
        # Padding to a 32-bit boundary follows the data and is not counted in the length
        # (§4.1); the padding of the very last AVP may be missing inside a Grouped AVP.
        off += (length + 3) & ~3


def _stub_avp(data: bytes, off: int, end: int) -> Avp:
    """RFC 6733 §7.1.5: header (zero-padded if incomplete) + zero data of minimum length."""
    raw = data[off : min(end, off + 12)].ljust(12, b"\0")
    code, word, vendor = _AVP_VENDOR_HEADER.unpack(raw)
    flags = word >> 24
    vendor_id = vendor if flags & AVP_FLAG_VENDOR else None
    d = find_avp_def(code, vendor_id)
    size = MIN_LENGTH.get(d.type, 0) if d is not None else 0
    return Avp(code, bytes(size), flags=flags, vendor_id=vendor_id)


# --- value codecs (RFC 6733 §4.2, §4.3) ----------------------------------------------------------


def _enc_octets(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"expected bytes or str, got {type(value).__name__}")


def _enc_utf8(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        b = bytes(value)
        b.decode("utf-8")  # must be valid UTF-8 (§4.3.1)
        return b
    raise TypeError(f"expected str, got {type(value).__name__}")


def _enc_ident(value: object) -> bytes:
    # §4.3.1 DiameterIdentity / DiameterURI: ASCII (IDNs travel as A-labels).
    if isinstance(value, str):
        return value.encode("ascii")
    if isinstance(value, bytes | bytearray | memoryview):
        b = bytes(value)
        b.decode("ascii")
        return b
    raise TypeError(f"expected str, got {type(value).__name__}")


def _int_codec(fmt: str) -> tuple[Any, Any]:
    s = struct.Struct(fmt)

    def enc(value: object) -> bytes:
        if not isinstance(value, int):
            raise TypeError(f"expected int, got {type(value).__name__}")
        return s.pack(value)

    def dec(data: bytes) -> Any:
        return s.unpack(data)[0]

    return enc, dec


def _float_codec(fmt: str) -> tuple[Any, Any]:
    s = struct.Struct(fmt)

    def enc(value: object) -> bytes:
        if not isinstance(value, int | float):
            raise TypeError(f"expected float, got {type(value).__name__}")
        return s.pack(float(value))

    def dec(data: bytes) -> Any:
        return s.unpack(data)[0]

    return enc, dec


def _enc_address(value: object) -> bytes:
    if isinstance(value, tuple) and len(value) == 2:
        family, raw = value
        return struct.pack(">H", family) + bytes(raw)
    if isinstance(value, str):
        value = ipaddress.ip_address(value)
    if isinstance(value, ipaddress.IPv4Address):
        return b"\0\1" + value.packed
    if isinstance(value, ipaddress.IPv6Address):
        return b"\0\2" + value.packed
    raise TypeError(f"expected an IP address, got {type(value).__name__}")


def _dec_address(data: bytes) -> str:
    if len(data) < 2:
        raise DiameterParseError(ResultCode.DIAMETER_INVALID_AVP_LENGTH, "Address too short")
    family = (data[0] << 8) | data[1]
    if family == _FAMILY_IPV4:
        if len(data) != 6:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_AVP_LENGTH, "IPv4 Address not 4 octets"
            )
        return str(ipaddress.IPv4Address(data[2:]))
    if family == _FAMILY_IPV6:
        if len(data) != 18:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_AVP_LENGTH, "IPv6 Address not 16 octets"
            )
        return str(ipaddress.IPv6Address(data[2:]))
    raise DiameterParseError(
        ResultCode.DIAMETER_INVALID_AVP_VALUE, f"unsupported address family {family}"
    )


def _enc_time(value: object) -> bytes:
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        secs = int((dt - _NTP_EPOCH).total_seconds())
        if _NTP_MSB <= secs < _NTP_ERA:  # era 0, 1968-01-20 .. 2036-02-07
            return _U32.pack(secs)
        if _NTP_ERA <= secs < _NTP_ERA + _NTP_MSB:  # era 1, up to 2104
            return _U32.pack(secs - _NTP_ERA)
        raise ValueError(f"{value} outside the Diameter Time range 1968-2104")
    if isinstance(value, int):
        return _U32.pack(value)  # raw NTP seconds
    raise TypeError(f"expected datetime or int, got {type(value).__name__}")


def _dec_time(data: bytes) -> datetime:
    secs = _U32.unpack(data)[0]
    if not secs & _NTP_MSB:
        secs += _NTP_ERA
    return _NTP_EPOCH + timedelta(seconds=secs)


def _dec_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DiameterParseError(ResultCode.DIAMETER_INVALID_AVP_VALUE, "invalid UTF-8") from None


def _dec_octets(data: bytes) -> bytes:
    return data


def _enc_grouped(value: object) -> bytes:
    if isinstance(value, Grouped):
        return value.encode()
    if isinstance(value, Avp):
        return value.encode()
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray):
        g = Grouped()
        for item in value:
            if isinstance(item, Avp):
                g.avps.append(item)
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                g.add(item[0], item[1])
            else:
                raise TypeError(f"Grouped items are (name, value) tuples or Avp, got {item!r}")
        return g.encode()
    raise TypeError(f"expected Grouped or list of (name, value), got {type(value).__name__}")


def _dec_grouped(data: bytes) -> Grouped:
    g = Grouped()
    parse_avps(data, 0, len(data), g.avps)
    return g


_i32 = _int_codec(">i")
_i64 = _int_codec(">q")
_u32 = _int_codec(">I")
_u64 = _int_codec(">Q")
_f32 = _float_codec(">f")
_f64 = _float_codec(">d")

_ENCODERS: dict[str, Any] = {
    "OctetString": _enc_octets,
    "UTF8String": _enc_utf8,
    "DiameterIdentity": _enc_ident,
    "DiameterURI": _enc_ident,
    "Integer32": _i32[0],
    "Integer64": _i64[0],
    "Unsigned32": _u32[0],
    "Unsigned64": _u64[0],
    "Float32": _f32[0],
    "Float64": _f64[0],
    "Enumerated": _i32[0],  # §4.3.1: derived from Integer32
    "Address": _enc_address,
    "Time": _enc_time,
    "Grouped": _enc_grouped,
}
_DECODERS: dict[str, Any] = {
    "OctetString": _dec_octets,
    "UTF8String": _dec_utf8,
    "DiameterIdentity": _dec_utf8,
    "DiameterURI": _dec_utf8,
    "Integer32": _i32[1],
    "Integer64": _i64[1],
    "Unsigned32": _u32[1],
    "Unsigned64": _u64[1],
    "Float32": _f32[1],
    "Float64": _f64[1],
    "Enumerated": _i32[1],
    "Address": _dec_address,
    "Time": _dec_time,
    "Grouped": _dec_grouped,
}
_FIXED: dict[str, int] = {
    "Integer32": 4,
    "Unsigned32": 4,
    "Float32": 4,
    "Enumerated": 4,
    "Time": 4,
    "Integer64": 8,
    "Unsigned64": 8,
    "Float64": 8,
}


def encode_value(defn: AvpDef, value: object) -> bytes:
    """Python value -> AVP data for the definition's type. DiameterEncodeError if it does not fit.

    OctetString: bytes (str is UTF-8 encoded); UTF8String: str; DiameterIdentity/URI: ASCII
    str; integer types: int; floats: float; Address: "192.0.2.1"/"2001:db8::1"/ipaddress
    object or (family, bytes); Time: datetime (naive = UTC) or int NTP seconds; Grouped:
    Grouped, or a list of (name, value) tuples (nested freely) and/or Avp objects.
    """
    try:
        data: bytes = _ENCODERS[defn.type](value)
        return data
    except DiameterEncodeError:
        raise
    except (TypeError, ValueError, OverflowError, struct.error, UnicodeError) as exc:
        raise DiameterEncodeError(f"{defn.name} ({defn.type}): {exc}") from None


def decode_value(defn: AvpDef, data: bytes) -> Any:
    """AVP data -> Python value. DiameterParseError 5014 (bad length) / 5004 (bad value)."""
    size = _FIXED.get(defn.type)
    if size is not None and len(data) != size:
        raise DiameterParseError(
            ResultCode.DIAMETER_INVALID_AVP_LENGTH,
            f"{defn.name}: {len(data)} octets, {defn.type} needs {size}",
        )
    return _DECODERS[defn.type](data)


def _decode_avp(defn: AvpDef, avp: Avp) -> Any:
    try:
        return decode_value(defn, avp.data)
    except DiameterParseError as exc:
        if exc.failed_avp is None:
            exc.failed_avp = avp
        raise


def make_avp(name: str, value: object) -> Avp:
    """Build an AVP by dictionary name, with the flags the dictionary prescribes."""
    d = avp_def(name)
    return Avp(d.code, encode_value(d, value), flags=d.flags, vendor_id=d.vendor_id)


# --- AVP containers ---------------------------------------------------------------------------


class _AvpContainer:
    """Name-based access shared by Message and Grouped; ``avps`` keeps wire order."""

    __slots__ = ("avps",)

    avps: list[Avp]

    def find(self, name: str) -> Avp | None:
        d = _BY_NAME[name]
        code, vendor_id = d.code, d.vendor_id
        for a in self.avps:
            if a.code == code and a.vendor_id == vendor_id:
                return a
        return None

    def find_all(self, name: str) -> list[Avp]:
        d = _BY_NAME[name]
        code, vendor_id = d.code, d.vendor_id
        return [a for a in self.avps if a.code == code and a.vendor_id == vendor_id]

    def get(self, name: str, default: Any = None) -> Any:
        """Decoded value of the first AVP called ``name`` (Grouped -> Grouped), else default.

        KeyError if ``name`` is not in the dictionary (a typo is a bug, not a missing AVP);
        DiameterParseError (5014/5004, with failed_avp) if the peer's value is malformed.
        """
        d = _BY_NAME[name]
        code, vendor_id = d.code, d.vendor_id
        for a in self.avps:
            if a.code == code and a.vendor_id == vendor_id:
                return _decode_avp(d, a)
        return default

    def get_all(self, name: str) -> list[Any]:
        d = _BY_NAME[name]
        code, vendor_id = d.code, d.vendor_id
        return [_decode_avp(d, a) for a in self.avps if a.code == code and a.vendor_id == vendor_id]

    def add(self, name: str, value: object) -> Self:
        """Append an AVP by dictionary name (value typed per ``encode_value``); returns self."""
        d = _BY_NAME[name]
        avp = _new(Avp)
        avp.code = d.code
        avp.data = encode_value(d, value)
        avp.flags = d.flags
        avp.vendor_id = d.vendor_id
        self.avps.append(avp)
        return self

    def _dump_avps(self, lines: list[str], indent: str) -> None:
        for a in self.avps:
            d = a.definition
            flags = ("V" if a.flags & AVP_FLAG_VENDOR else "-") + ("M" if a.mandatory else "-")
            head = f"{indent}{a.name}({a.code}) {flags}"
            if d is not None and d.type == "Grouped":
                if len(indent) > 2 * MAX_GROUPED_DEPTH:
                    lines.append(f"{head} <nested too deep> {a.data.hex()}")
                    continue
                try:
                    g = _dec_grouped(a.data)
                except DiameterParseError:
                    lines.append(f"{head} <malformed> {a.data.hex()}")
                    continue
                lines.append(head)
                g._dump_avps(lines, indent + "  ")
                continue
            try:
                shown = repr(a.value)
            except DiameterParseError:
                shown = f"<malformed> {a.data.hex()}"
            lines.append(f"{head} = {shown}")


class Grouped(_AvpContainer):
    """The content of a Grouped AVP (RFC 6733 §4.4)."""

    __slots__ = ()

    def __init__(self, avps: list[Avp] | None = None) -> None:
        self.avps = avps if avps is not None else []

    def encode(self) -> bytes:
        return b"".join([a.encode() for a in self.avps])

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Grouped:
        return _dec_grouped(bytes(data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grouped):
            return NotImplemented
        return self.avps == other.avps

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Grouped({self.avps!r})"


class Message(_AvpContainer):
    """A Diameter message (RFC 6733 §3)."""

    __slots__ = (
        "application_id",
        "command_code",
        "decode_error",
        "end_to_end",
        "error",
        "hop_by_hop",
        "proxiable",
        "request",
        "retransmit",
    )

    def __init__(
        self,
        command_code: int,
        application_id: int,
        *,
        request: bool,
        proxiable: bool = True,
        error: bool = False,
        retransmit: bool = False,
        hop_by_hop: int = 0,
        end_to_end: int = 0,
        avps: list[Avp] | None = None,
    ) -> None:
        self.command_code = command_code
        self.application_id = application_id
        self.request = request
        self.proxiable = proxiable
        self.error = error
        self.retransmit = retransmit
        self.hop_by_hop = hop_by_hop
        self.end_to_end = end_to_end
        self.avps = avps if avps is not None else []
        # Set by StreamParser on a message that could only be partly decoded; validate()
        # raises it, so the usual "validate, on error answer with error_answer" path works.
        self.decode_error: DiameterParseError | None = None

    # -- header -----------------------------------------------------------------------------

    @property
    def is_request(self) -> bool:
        return self.request

    @property
    def is_error(self) -> bool:
        return self.error

    @property
    def flags(self) -> int:
        return (
            (FLAG_REQUEST if self.request else 0)
            | (FLAG_PROXIABLE if self.proxiable else 0)
            | (FLAG_ERROR if self.error else 0)
            | (FLAG_RETRANSMIT if self.retransmit else 0)
        )

    @property
    def name(self) -> str:
        """Short command name: "UAR", "CEA", ... ("Command-999-Request" if unknown)."""
        abbr = COMMAND_ABBREVIATIONS.get(self.command_code)
        if abbr is None:
            return f"Command-{self.command_code}-{'Request' if self.request else 'Answer'}"
        return abbr + ("R" if self.request else "A")

    # -- wire format --------------------------------------------------------------------------

    def encode(self) -> bytes:
        if not 0 <= self.command_code <= _MAX_24:
            raise DiameterEncodeError(f"command code {self.command_code} exceeds 24 bits")
        body = b"".join([a.encode() for a in self.avps])
        length = HEADER_LENGTH + len(body)
        if length > _MAX_24:
            raise DiameterEncodeError(f"message too long ({length} octets)")
        try:
            header = _HEADER.pack(
                (DIAMETER_VERSION << 24) | length,
                (self.flags << 24) | self.command_code,
                self.application_id,
                self.hop_by_hop,
                self.end_to_end,
            )
        except struct.error as exc:
            raise DiameterEncodeError(f"bad header field: {exc}") from None
        return header + body

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Message:
        """Decode one complete message. Values stay undecoded until read.

        Errors (RFC 6733 §7.1): shorter than a header -> 5015 fatal; version != 1 -> 5011;
        Message Length != len(data) or not a multiple of 4 -> 5015; E bit in a request ->
        3008; AVP framing -> 5014. All but the first carry ``partial`` for the answer.
        """
        if not isinstance(data, bytes):
            data = bytes(data)
        n = len(data)
        if n < HEADER_LENGTH:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                f"{n} octets, shorter than the Diameter header",
                fatal=True,
            )
        w0, w1, app, hbh, e2e = _HEADER.unpack_from(data, 0)
        flags = w1 >> 24
        msg = cls(
            w1 & _MAX_24,
            app,
            request=bool(flags & FLAG_REQUEST),
            proxiable=bool(flags & FLAG_PROXIABLE),
            error=bool(flags & FLAG_ERROR),
            retransmit=bool(flags & FLAG_RETRANSMIT),
            hop_by_hop=hbh,
            end_to_end=e2e,
        )
        version = w0 >> 24
        if version != DIAMETER_VERSION:
            raise DiameterParseError(
                ResultCode.DIAMETER_UNSUPPORTED_VERSION,
                f"unsupported Diameter version {version}",
                partial=msg,
            )
        length = w0 & _MAX_24
        if length != n or length & 3:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                f"Message Length {length} but {n} octets received",
                partial=msg,
            )
        if msg.request and msg.error:
            # §3: the E bit MUST NOT be set in requests.
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_HDR_BITS, "E bit set in a request", partial=msg
            )
        try:
            parse_avps(data, HEADER_LENGTH, n, msg.avps)
        except DiameterParseError as exc:
            exc.partial = msg
            raise
        return msg

    # -- answers ------------------------------------------------------------------------------

    def answer(
        self,
        result_code: int | None = None,
        *,
        origin_host: str | None = None,
        origin_realm: str | None = None,
    ) -> Message:
        """Build the answer skeleton per RFC 6733 §6.2.

        Same command code, application, hop-by-hop and end-to-end ids; R bit clear; P bit
        copied; E bit set for 3xxx protocol errors (§7.1.3); Session-Id copied first;
        Result-Code, Origin-Host, Origin-Realm added when given; Proxy-Info AVPs copied in
        order (§6.2 step 4). Add the application AVPs with ``add``.
        """
        if not self.request:
            raise ValueError("answer() needs a request")
        ans = Message(
            self.command_code,
            self.application_id,
            request=False,
            proxiable=self.proxiable,
            error=result_code is not None and is_protocol_error(result_code),
            hop_by_hop=self.hop_by_hop,
            end_to_end=self.end_to_end,
        )
        sid = self.find("Session-Id")
        if sid is not None:
            ans.avps.append(sid.copy())
        if result_code is not None:
            ans.add("Result-Code", int(result_code))
        if origin_host is not None:
            ans.add("Origin-Host", origin_host)
        if origin_realm is not None:
            ans.add("Origin-Realm", origin_realm)
        ans.avps.extend(a.copy() for a in self.find_all("Proxy-Info"))
        return ans

    # -- misc ---------------------------------------------------------------------------------

    def dump(self) -> str:
        """Multi-line human-readable rendering, for logs and debugging."""
        flags = "".join(
            c
            for c, on in zip(
                "RPET", (self.request, self.proxiable, self.error, self.retransmit), strict=True
            )
            if on
        )
        lines = [
            f"{self.name} code={self.command_code} app={self.application_id} flags={flags or '-'} "
            f"hbh=0x{self.hop_by_hop:08x} e2e=0x{self.end_to_end:08x}"
        ]
        self._dump_avps(lines, "  ")
        return "\n".join(lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            self.command_code == other.command_code
            and self.application_id == other.application_id
            and self.flags == other.flags
            and self.hop_by_hop == other.hop_by_hop
            and self.end_to_end == other.end_to_end
            and self.avps == other.avps
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Message {self.name} app={self.application_id} hbh=0x{self.hop_by_hop:08x} "
            f"e2e=0x{self.end_to_end:08x} avps={len(self.avps)}>"
        )


# --- TCP framing ---------------------------------------------------------------------------------


class StreamParser:
    """Frames Diameter messages out of a byte stream (RFC 6733 §3 Message Length).

    ``feed`` returns the messages completed by the data, in order. It raises
    DiameterParseError only with ``fatal=True``, when framing is lost (version != 1, Message
    Length < 20, not a multiple of 4, or above ``max_message_size``): close the connection;
    later calls raise the same error.

    A message that is framed correctly but malformed inside (bad AVP length, E bit in a
    request...) is still returned, decoded as far as possible (header, and the AVPs before
    the fault, usually including Session-Id), with ``msg.decode_error`` set; ``validate(msg)``
    raises that error, so ``error_answer(msg, err, ...)`` answers it as RFC 6733 §7 requires.
    """

    __slots__ = ("_broken", "_buf", "max_message_size")

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._broken: DiameterParseError | None = None
        self.max_message_size = max_message_size

    @property
    def buffered(self) -> int:
        """Octets received but not yet framed into a message."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        if self._broken is not None:
            raise self._broken
        buf = self._buf
        buf += data
        out: list[Message] = []
        pos = 0
        total = len(buf)
        while total - pos >= 4:
            version = buf[pos]
            length = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            if version != DIAMETER_VERSION:
                self._broken = DiameterParseError(
                    ResultCode.DIAMETER_UNSUPPORTED_VERSION,
                    f"version {version}: not a Diameter v1 stream",
                    fatal=True,
                )
            elif length < HEADER_LENGTH or length & 3 or length > self.max_message_size:
                self._broken = DiameterParseError(
                    ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH,
                    f"unusable Message Length {length}",
                    fatal=True,
                )
            if self._broken is not None:
                buf.clear()
                raise self._broken
            if total - pos < length:
                break
            frame = bytes(buf[pos : pos + length])
            pos += length
            try:
                out.append(Message.decode(frame))
            except DiameterParseError as exc:
                partial = exc.partial
                if partial is None:  # cannot happen for a framed message; be safe
                    exc.fatal = True
                    self._broken = exc
                    buf.clear()
                    raise
                partial.decode_error = exc
                out.append(partial)
        if pos:
            del buf[:pos]
        return out

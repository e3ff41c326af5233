"""SIP messages: parsing, framing and serialisation (RFC 3261 §7, §8.2.6, §18.3, §20).

``parse_message`` turns one whole message (a UDP datagram) into a ``SipRequest`` or
``SipResponse``, validating the start line, the header section framing and the few headers
every element depends on (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length); other
header values stay raw strings, parsed on demand by properties (``vias``, ``from_`` ...).
``StreamParser`` frames messages on a stream transport by Content-Length (§18.3) and skips
CRLF keep-alives (RFC 5626 §3.5.1). ``make_response`` builds a response from a request
(§8.2.6). Anything a peer can get wrong raises ``SipParseError`` and nothing else.
"""

from __future__ import annotations

import re
import secrets

from .errors import SipParseError
from .headers import WIRE_NAME_CACHE, Headers, resolve_wire_name, split_comma_list
from .uri import TOKEN_RE, NameAddr, SipUri, Via, is_digits, short

__all__ = [
    "MAX_MESSAGE_SIZE",
    "REASON_PHRASES",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "StreamParser",
    "make_response",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_message",
]

# Largest message accepted (octets, start line to end of body). 65535 is the largest UDP
# datagram (RFC 768 length field; RFC 3261 §18.1.1 sends anything near the path MTU over a
# congestion-controlled transport instead), and on streams it bounds what one connection can
# make us buffer before a message is complete. Answered with 413 (RFC 3261 §21.4.11).
MAX_MESSAGE_SIZE: int = 65535

# RFC 3261 §8.1.1.5: the CSeq sequence number MUST be less than 2**31.
_MAX_CSEQ = 2**31 - 1
# RFC 3261 §8.1.1.6 / §20.22: Max-Forwards is an integer in the range 0-255.
_MAX_MAX_FORWARDS = 255

# RFC 3261 §21 plus the codes of the extensions an IMS core meets (RFC 3265, 3329, 3903,
# 4028, 4412, 5839, 6228, 6665, 8599 ...).
REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    424: "Bad Location Information",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}
# Default phrase for codes not in the table, by class (§7.2: the class is what matters).
_CLASS_PHRASES = {
    1: "Provisional",
    2: "Successful",
    3: "Redirection",
    4: "Request Failure",
    5: "Server Failure",
    6: "Global Failure",
}

# Headers that must not appear more than once (§20: single-valued; duplicates of
# Content-Length are also a request-smuggling hazard).
_SINGLETONS = frozenset(
    {"call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type"}
)
# §8.1.1 mandatory headers, in the order problems are reported; Via is checked separately.
_MANDATORY = (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq"))
_KNOWN_METHODS = frozenset(
    {
        "ACK",
        "BYE",
        "CANCEL",
        "INFO",
        "INVITE",
        "MESSAGE",
        "NOTIFY",
        "OPTIONS",
        "PRACK",
        "PUBLISH",
        "REFER",
        "REGISTER",
        "SUBSCRIBE",
        "UPDATE",
    }
)
_CSEQ_RE = re.compile(r"([0-9]{1,10})[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)")
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+")
# Requests whose 101-299 responses may create a dialog and so carry Record-Route back
# (§12.1.1; RFC 6665 §4.1.3 SUBSCRIBE; RFC 3515 §2.4.7 REFER).
_DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})
_RESPONSE_COPIED = frozenset({"via", "from", "to", "call-id", "cseq"})


def parse_cseq(value: str) -> tuple[int, str]:
    """Parse a CSeq value ``1*DIGIT LWS Method`` (§20.16) with the §8.1.1.5 range check."""
    m = _CSEQ_RE.fullmatch(value)
    if m is None:
        raise SipParseError("Malformed CSeq header")
    number = int(m.group(1))
    if number > _MAX_CSEQ:
        raise SipParseError("Malformed CSeq header: sequence number out of range")
    return number, m.group(2)


class SipMessage:
    """Common part of requests and responses: ordered headers and a body of bytes."""

    __slots__ = ("body", "headers")

    def __init__(self, headers: Headers | None = None, body: bytes = b"") -> None:
        self.headers: Headers = headers if headers is not None else Headers()
        self.body: bytes = body

    def start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialise: start line, headers in order with Content-Length set to the body length
        (kept in place, or appended), empty line, body."""
        clen = str(len(self.body))
        lines = [self.start_line()]
        seen_clen = False
        for key, name, value in self.headers._items:
            if key == "content-length":
                if seen_clen:
                    continue
                seen_clen = True
                value = clen
            lines.append(f"{name}: {value}")
        if not seen_clen:
            lines.append(f"Content-Length: {clen}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode() + self.body

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"Missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        """The Call-ID value."""
        return self._required("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method) from CSeq."""
        return parse_cseq(self._required("CSeq"))

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top first (multiple values on one line are split)."""
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        """The topmost Via value (the first element of ``get_all("Via")``)."""
        for key, _, value in self.headers._items:
            if key == "via":
                elements = split_comma_list(value)
                if elements:
                    return Via.parse(elements[0])
        raise SipParseError("Missing Via header")

    @property
    def from_(self) -> NameAddr:
        """The From header, parsed."""
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        """The To header, parsed."""
        return NameAddr.parse(self._required("To"))

    @property
    def content_length(self) -> int:
        """Length of the body; what ``to_bytes`` writes into Content-Length."""
        return len(self.body)

    def validate(self) -> None:
        """Parse every structured header the codec knows (Via, From, To, CSeq, Contact, Route,
        Record-Route, Path, Service-Route), raising ``SipParseError`` on the first problem.
        ``parse_message`` leaves these lazy for speed; call this where strictness pays."""
        if not self.vias:
            raise SipParseError("Missing Via header")
        _ = (self.from_, self.to, self.cseq)
        contacts = self.headers.get_all("Contact")
        if contacts != ["*"]:
            for contact in contacts:
                NameAddr.parse(contact)
        for name in ("Route", "Record-Route", "Path", "Service-Route"):
            for value in self.headers.get_all(name):
                NameAddr.parse(value)


class SipRequest(SipMessage):
    """A SIP request (§7.1). ``uri`` is the Request-URI as text."""

    __slots__ = ("method", "uri")

    def __init__(
        self, method: str, uri: str, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        super().__init__(headers, body)
        self.method = method
        self.uri = uri

    def start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"

    @property
    def request_uri(self) -> SipUri:
        """The Request-URI, parsed."""
        return SipUri.parse(self.uri)

    def validate(self) -> None:
        SipMessage.validate(self)
        _check_request_uri(self.uri)

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri}>"


class SipResponse(SipMessage):
    """A SIP response (§7.2). ``reason`` defaults to the phrase of ``status``."""

    __slots__ = ("reason", "status")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
    ) -> None:
        if not 100 <= status <= 699:
            raise ValueError(f"SIP status code out of range: {status}")
        super().__init__(headers, body)
        self.status = status
        self.reason = reason if reason is not None else default_reason(status)

    def start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason}>"


def default_reason(status: int) -> str:
    """Reason phrase of ``status`` from ``REASON_PHRASES``, else a generic one for its class."""
    return REASON_PHRASES.get(status) or _CLASS_PHRASES.get(status // 100, "Unknown")


def _check_version(version: str) -> None:
    # SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (§7.1, §25.1).
    if version == "SIP/2.0":
        return
    upper = version.upper()
    if upper == "SIP/2.0":
        return
    if _VERSION_RE.fullmatch(upper):
        raise SipParseError(f"Unsupported SIP version {short(version)}", status=505)
    raise SipParseError(f"Malformed SIP version {short(version)}")


def _check_request_uri(uri: str) -> None:
    parsed = SipUri.parse(uri)  # 416 for schemes other than sip/sips/tel
    if parsed.headers:
        # §19.1.1 table 1: headers are not allowed in a Request-URI.
        raise SipParseError("Request-URI must not contain headers")


def _split_head(data: bytes | bytearray) -> tuple[int, int]:
    """(end of header section, start of body); the section ends at the first empty line,
    CRLF CRLF or (tolerated) LF LF."""
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n", 0, crlf + 1 if crlf >= 0 else len(data))
    if lf >= 0:
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 3
    return -1, -1


def _head_lines(head: bytes) -> list[str]:
    try:
        text = head.decode()
    except UnicodeDecodeError:
        raise SipParseError("Header section is not valid UTF-8") from None
    if text[-1:] == "\r":
        text = text[:-1]
    lines = text.split("\r\n")
    crlfs = len(lines) - 1
    if text.count("\n") != crlfs or text.count("\r") != crlfs:
        # Bare LF line ends are tolerated (robustness); a bare CR is not a line end.
        lines = [ln[:-1] if ln[-1:] == "\r" else ln for ln in text.split("\n")]
        if any("\r" in ln for ln in lines):
            raise SipParseError("Bare CR in header section")
    if "\n " in text or "\n\t" in text:
        lines = _unfold(lines)
    return lines


def _unfold(lines: list[str]) -> list[str]:
    # §7.3.1: a line starting with SP/HTAB continues the previous header; the line break and
    # the surrounding whitespace are equivalent to a single SP.
    out = [lines[0]]
    for ln in lines[1:]:
        if ln[:1] in (" ", "\t"):
            if len(out) == 1:
                raise SipParseError("Header continuation line without a header")
            out[-1] = out[-1].rstrip(" \t") + " " + ln.strip(" \t")
        else:
            out.append(ln)
    return out


def _parse(
    data: bytes, *, stream: bool, max_size: int = MAX_MESSAGE_SIZE
) -> SipRequest | SipResponse:
    if len(data) > max_size:
        raise SipParseError(f"Message larger than {max_size} bytes", status=413)
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")  # §7.5: CRLFs before the start line are ignored
    if not data:
        raise SipParseError("Empty message")
    head_end, body_start = _split_head(data)
    if head_end < 0:
        raise SipParseError("Missing empty line after the header section")
    lines = _head_lines(data[:head_end])

    # Start line (§7.1, §7.2).
    start = lines[0]
    request = start[:4].upper() != "SIP/"
    if request:
        parts = start.split(" ")
        if len(parts) != 3:
            raise SipParseError("Malformed request line")
        method, uri, version = parts
        if method not in _KNOWN_METHODS and not TOKEN_RE.fullmatch(method):
            raise SipParseError(f"Malformed method {short(method)}")
        _check_version(version)
        _check_request_uri(uri)
    else:
        version, _, rest = start.partition(" ")
        _check_version(version)
        code, _, reason = rest.partition(" ")
        if len(code) != 3 or not is_digits(code) or code[0] not in "123456":
            raise SipParseError("Malformed status code in status line")

    # Header fields (§7.3).
    items: list[tuple[str, str, str]] = []
    singles: dict[str, str] = {}
    has_via = False
    wire_names = WIRE_NAME_CACHE
    append = items.append
    for ln in lines[1:]:
        raw, colon, value = ln.partition(":")
        if not colon:
            raise SipParseError(f"Malformed header line (no colon) {short(ln)}")
        key, name = wire_names.get(raw) or resolve_wire_name(raw)
        value = value.strip(" \t")
        append((key, name, value))
        if key in _SINGLETONS:
            if key in singles:
                raise SipParseError(f"Multiple {name} headers")
            singles[key] = value
        elif key == "via":
            has_via = True

    missing = [name for key, name in _MANDATORY if key not in singles]
    if not has_via:
        missing.insert(0, "Via")
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise SipParseError(f"Missing {', '.join(missing)} header{plural}")
    call_id = singles["call-id"]
    if " " in call_id or "\t" in call_id or not call_id:
        raise SipParseError("Malformed Call-ID header")
    _, cseq_method = parse_cseq(singles["cseq"])
    max_forwards = singles.get("max-forwards")
    if max_forwards is not None and (
        not is_digits(max_forwards)
        or len(max_forwards) > 10
        or int(max_forwards) > _MAX_MAX_FORWARDS
    ):
        raise SipParseError("Malformed Max-Forwards header")

    # Body (§7.4, §18.3, §20.14).
    body = data[body_start:]
    clen_text = singles.get("content-length")
    if clen_text is None:
        if stream:
            raise SipParseError("Missing Content-Length header (required on stream transports)")
    else:
        if not is_digits(clen_text) or len(clen_text) > 10:
            raise SipParseError("Malformed Content-Length header")
        clen = int(clen_text)
        if len(body) < clen:
            raise SipParseError(f"Content-Length {clen} exceeds body length {len(body)}")
        if len(body) > clen:
            body = body[:clen]
    if body and "content-type" not in singles:
        raise SipParseError("Missing Content-Type header for a non-empty body")  # §20.15

    headers = Headers._from_parsed(items)
    if request:
        if cseq_method != method:
            raise SipParseError("CSeq method does not match request method")
        return SipRequest(method, uri, headers, body)
    return SipResponse(int(code), reason, headers, body)


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one whole SIP message (a datagram). Octets after Content-Length are ignored
    (§18.3); without Content-Length the body runs to the end of the datagram."""
    return _parse(data, stream=False)


def _stream_content_length(head: bytes) -> int | None:
    lines = head.split(b"\n")
    if b"\n " in head or b"\n\t" in head:
        unfolded: list[bytes] = []
        for ln in lines:
            if ln[:1] in (b" ", b"\t") and unfolded:
                unfolded[-1] = unfolded[-1].rstrip(b" \t\r") + b" " + ln
            else:
                unfolded.append(ln)
        lines = unfolded
    for ln in lines[1:]:
        colon = ln.find(b":")
        if colon <= 0:
            continue
        name = ln[:colon].rstrip(b" \t").lower()
        if name == b"content-length" or name == b"l":
            value = ln[colon + 1 :].strip(b" \t\r")
            if not value.isdigit() or len(value) > 10:
                raise SipParseError("Malformed Content-Length header")
            return int(value)
    return None


class StreamParser:
    """Frames SIP messages on a stream transport (TCP/TLS) by Content-Length (RFC 3261
    §18.3). CRLFs between messages are skipped (§7.5); each double CRLF is a keep-alive ping
    (RFC 5626 §3.5.1) counted for ``take_pings``. After a ``SipParseError`` the stream cannot
    be re-synchronised: every later ``feed`` raises again and the caller closes the
    connection."""

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._max = max_size
        self._error: SipParseError | None = None
        self._pings = 0
        self._crlf_run = 0  # CRLFs seen since the last message or ping

    def take_pings(self) -> int:
        """Number of CRLFCRLF pings seen since the last call; answer each with a CRLF pong
        (RFC 5626 §3.5.1)."""
        pings, self._pings = self._pings, 0
        return pings

    def _skip_keepalives(self) -> None:
        buf = self._buf
        i = 0
        n = len(buf)
        while i < n and buf[i] in (13, 10):
            if buf[i] == 10:
                self._crlf_run += 1
                if self._crlf_run == 2:
                    self._pings += 1
                    self._crlf_run = 0
            i += 1
        if i:
            del buf[:i]
        if buf:
            self._crlf_run = 0

    def feed(self, data: bytes) -> list[SipRequest | SipResponse]:
        """Add received octets; return the messages completed by them, in order."""
        if self._error is not None:
            raise SipParseError(
                f"Stream unusable after an earlier error: {self._error.reason}",
                status=self._error.status,
            )
        self._buf += data
        out: list[SipRequest | SipResponse] = []
        try:
            while True:
                if self._buf and self._buf[0] in (13, 10):
                    self._skip_keepalives()
                buf = self._buf
                if not buf:
                    break
                head_end, body_start = _split_head(buf)
                if head_end < 0:
                    if len(buf) > self._max:
                        raise SipParseError(
                            f"Header section larger than {self._max} bytes", status=413
                        )
                    break
                clen = _stream_content_length(bytes(buf[:head_end]))
                if clen is None:
                    raise SipParseError(
                        "Missing Content-Length header (required on stream transports)"
                    )
                total = body_start + clen
                if total > self._max:
                    raise SipParseError(f"Message larger than {self._max} bytes", status=413)
                if len(buf) < total:
                    break
                chunk = bytes(buf[:total])
                del buf[:total]
                out.append(_parse(chunk, stream=True, max_size=self._max))
        except SipParseError as exc:
            self._error = exc
            self._buf.clear()
            exc.messages = out
            raise
        return out


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Headers | None = None,
    body: bytes = b"",
) -> SipResponse:
    """Build a response to ``request`` as a UAS/proxy does (RFC 3261 §8.2.6).

    Copies every Via (in order), From, To (adding ``to_tag`` unless To already has a tag),
    Call-ID and CSeq; Timestamp into a 100 (§8.2.6.1); Record-Route into 101-299 responses to
    dialog-creating requests (§12.1.1). ``headers`` are appended after those. Raises
    ``SipParseError`` if ``to_tag`` is given and the request's To is malformed.
    """
    copy_rr = 100 < status < 300 and request.method in _DIALOG_CREATING
    items: list[tuple[str, str, str]] = []
    for key, name, value in request.headers._items:
        if key in _RESPONSE_COPIED:
            if key == "to" and to_tag is not None and NameAddr.parse(value).tag is None:
                value = f"{value};tag={to_tag}"
            items.append((key, name, value))
        elif (key == "record-route" and copy_rr) or (key == "timestamp" and status == 100):
            items.append((key, name, value))
    response = SipResponse(status, reason, Headers._from_parsed(items), body)
    if headers is not None:
        response.headers._items += headers._items
    return response


def new_branch() -> str:
    """A fresh RFC 3261 branch ID: magic cookie + 64 random bits (§8.1.1.7)."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    """A fresh From/To tag: 48 random bits (§19.3 asks for at least 32)."""
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    """A fresh globally unique Call-ID ``random@host`` (§8.1.1.4), 96 random bits."""
    return f"{secrets.token_hex(12)}@{host}"

"""Structured SIP header values: URIs, name-addr, Via and header parameters.

Parses and formats SIP/SIPS URIs (RFC 3261 §19.1, §25.1) with IPv6 references (RFC 5118),
tel URIs (RFC 3966 §3), the name-addr / addr-spec form of From, To, Contact, Route ... (RFC 3261
§20.10, §25.1), Via values (§20.42) and generic header parameters (§25.1 ``generic-param``).
These are parsed lazily by ``SipMessage`` properties, never during ``parse_message``. Values
are kept as they appear on the wire (no %-unescaping) so that formatting round-trips; parameter
names are case-insensitive (§7.3.1, §19.1.4) and are stored lower-cased. Every malformed input
raises ``SipParseError`` (status 416 for a URI scheme other than sip/sips/tel, else 400).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .errors import SipParseError

__all__ = [
    "MAGIC_COOKIE",
    "NameAddr",
    "SipUri",
    "Via",
    "parse_params",
]

# RFC 3261 §8.1.1.7: branch IDs of RFC 3261 elements start with this cookie.
MAGIC_COOKIE = "z9hG4bK"

# RFC 3261 §25.1 character classes.
_TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
_UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
_ESCAPED = r"%[0-9A-Fa-f]{2}"
TOKEN_RE = re.compile(f"[{_TOKEN_CHARS}]+")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_USER_RE = re.compile(rf"(?:[{_UNRESERVED}&=+$,;?/]|{_ESCAPED})+")
_PASSWORD_RE = re.compile(rf"(?:[{_UNRESERVED}&=+$,]|{_ESCAPED})*")
_PARAMCHARS_RE = re.compile(rf"(?:[{_UNRESERVED}\[\]/:&+$]|{_ESCAPED})+")
_HNAME_RE = re.compile(rf"(?:[{_UNRESERVED}\[\]/?:+$]|{_ESCAPED})+")
_HVALUE_RE = re.compile(rf"(?:[{_UNRESERVED}\[\]/?:+$]|{_ESCAPED})*")
# hostname / IPv4address (§25.1). "_" is not in the ABNF but common in container service
# names; accepting it costs nothing. Label structure is checked separately (linear time).
_HOST_CHARS_RE = re.compile(r"[A-Za-z0-9_.\-]+")
# gen-value = token / host / quoted-string (§25.1); host adds ":" "[" "]" for IPv6.
_GEN_VALUE_RE = re.compile(rf"[{_TOKEN_CHARS}:\[\]]+")
# RFC 3966 §3: global-number-digits and local-number-digits (with visual separators).
_GLOBAL_NUMBER_RE = re.compile(r"\+[0-9\-.()]*[0-9][0-9\-.()]*")
_LOCAL_NUMBER_RE = re.compile(r"[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*")
_VIA_RE = re.compile(
    rf"[ \t]*([{_TOKEN_CHARS}]+)[ \t]*/[ \t]*([{_TOKEN_CHARS}]+)[ \t]*/[ \t]*([{_TOKEN_CHARS}]+)"
    r"(.*)",
    re.DOTALL,
)
_MAX_PORT = 65535
# quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (§25.1). Possessive quantifiers keep
# these linear-time on hostile input.
_QUOTED_RE = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_PIECE_RES = {
    sep: re.compile(rf'(?:[^"{sep}]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL) for sep in ";,"
}


def short(text: str, limit: int = 40) -> str:
    """Return ``text`` quoted for an error reason, cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)


def is_digits(text: str) -> bool:
    """True if ``text`` is 1*DIGIT in ASCII (``str.isdigit`` alone accepts e.g. superscripts)."""
    return text.isascii() and text.isdigit()


def scan_quoted(text: str, start: int) -> int:
    """Return the index just after the quoted-string opening at ``text[start]`` (§25.1).

    Handles quoted-pair (backslash escapes); raises ``SipParseError`` if unterminated.
    """
    m = _QUOTED_RE.match(text, start)
    if m is None:
        raise SipParseError(f"Unterminated quoted string in {short(text)}")
    return m.end()


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    # Split at ``sep`` (";" or ",") except inside quoted strings.
    piece_re = _PIECE_RES[sep]
    parts: list[str] = []
    pos = 0
    n = len(text)
    while True:
        m = piece_re.match(text, pos)
        assert m is not None  # the pattern matches the empty string
        parts.append(m.group())
        pos = m.end()
        if pos == n:
            return parts
        if text[pos] != sep:  # an opening quote that is never closed
            raise SipParseError(f"Unterminated quoted string in {short(text)}")
        pos += 1


def parse_params(text: str) -> dict[str, str | None]:
    """Parse header parameters ``;name=value;flag`` (RFC 3261 §25.1 ``generic-param``).

    The leading ``;`` is optional; LWS around ``;`` and ``=`` is allowed (SEMI, EQUAL). Names
    are lower-cased; a flag parameter maps to None; quoted-string values keep their quotes.
    """
    params: dict[str, str | None] = {}
    text = text.strip(" \t")
    if not text:
        return params
    if text[0] == ";":
        text = text[1:]
    parts = _split_outside_quotes(text, ";") if '"' in text else text.split(";")
    for part in parts:
        name, eq, value = part.partition("=")
        name = name.strip(" \t")
        if not TOKEN_RE.fullmatch(name):
            raise SipParseError(f"Malformed parameter name {short(name)}")
        if eq:
            value = value.strip(" \t")
            if value[:1] == '"':
                if scan_quoted(value, 0) != len(value):
                    raise SipParseError(f"Malformed quoted parameter value {short(value)}")
            elif not _GEN_VALUE_RE.fullmatch(value):
                raise SipParseError(f"Malformed value of parameter {short(name)}")
            params[name.lower()] = value
        else:
            params[name.lower()] = None
    return params


def format_params(params: dict[str, str | None]) -> str:
    """Format parameters as ``;name=value;flag`` (empty string for none)."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def parse_host(host: str, context: str) -> str:
    """Validate ``host`` = hostname / IPv4address / IPv6reference (§25.1); return it."""
    if host[:1] == "[":
        if host[-1:] != "]":
            raise SipParseError(f"Malformed IPv6 reference in {short(context)}")
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise SipParseError(f"Malformed IPv6 address in {short(context)}") from None
        return host
    if not _HOST_CHARS_RE.fullmatch(host) or host[0] in ".-" or ".." in host or host.endswith("-"):
        raise SipParseError(f"Malformed host in {short(context)}")
    return host


def parse_port(port: str, context: str) -> int:
    """Validate ``port`` = 1*DIGIT within 0..65535 and return it as an int."""
    if not is_digits(port) or len(port) > 5 or int(port) > _MAX_PORT:
        raise SipParseError(f"Malformed port in {short(context)}")
    return int(port)


def _parse_hostport(text: str, context: str) -> tuple[str, int | None]:
    if text[:1] == "[":
        close = text.find("]")
        if close < 0:
            raise SipParseError(f"Unterminated IPv6 reference in {short(context)}")
        host = parse_host(text[: close + 1], context)
        rest = text[close + 1 :]
        if not rest:
            return host, None
        if rest[0] != ":":
            raise SipParseError(f"Malformed host/port in {short(context)}")
        return host, parse_port(rest[1:], context)
    host, colon, port = text.partition(":")
    if not host:
        raise SipParseError(f"Missing host in {short(context)}")
    parse_host(host, context)
    return host, parse_port(port, context) if colon else None


def _parse_uri_params(text: str, context: str) -> dict[str, str | None]:
    # uri-parameters = *( ";" uri-parameter ), pname/pvalue = 1*paramchar (§25.1).
    params: dict[str, str | None] = {}
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        if not _PARAMCHARS_RE.fullmatch(name):
            raise SipParseError(f"Malformed URI parameter in {short(context)}")
        if eq:
            if not _PARAMCHARS_RE.fullmatch(value):
                raise SipParseError(f"Malformed URI parameter value in {short(context)}")
            params[name.lower()] = value
        else:
            params[name.lower()] = None
    return params


@dataclass(slots=True)
class SipUri:
    """A sip:, sips: (RFC 3261 §19.1) or tel: (RFC 3966) URI.

    ``host`` keeps the brackets of an IPv6 reference (``[2001:db8::1]``), as in the ABNF.
    For tel: URIs the number is in ``user``, ``host`` is "" and ``port`` None.
    Components are kept escaped as received.
    """

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a URI; SipParseError 416 for an unsupported scheme, 400 if malformed."""
        colon = text.find(":")
        scheme = text[:colon].lower() if colon > 0 else ""
        if scheme in ("sip", "sips"):
            return cls._parse_sip(scheme, text[colon + 1 :], text)
        if scheme == "tel":
            return cls._parse_tel(text[colon + 1 :], text)
        if scheme and _SCHEME_RE.fullmatch(scheme):
            raise SipParseError(f"Unsupported URI scheme {short(scheme)}", status=416)
        raise SipParseError(f"Malformed URI {short(text)}")

    @classmethod
    def _parse_sip(cls, scheme: str, rest: str, text: str) -> SipUri:
        user: str | None = None
        password: str | None = None
        at = rest.find("@")
        if at >= 0:
            user, colon, pw = rest[:at].partition(":")
            if not _USER_RE.fullmatch(user):
                raise SipParseError(f"Malformed user part in URI {short(text)}")
            if colon:
                if not _PASSWORD_RE.fullmatch(pw):
                    raise SipParseError(f"Malformed password in URI {short(text)}")
                password = pw
            rest = rest[at + 1 :]
        end = len(rest)
        semi = rest.find(";")
        if semi >= 0:
            end = semi
        qmark = rest.find("?")
        if 0 <= qmark < end:
            end = qmark
        host, port = _parse_hostport(rest[:end], text)
        params: dict[str, str | None] = {}
        headers: dict[str, str] = {}
        rest = rest[end:]
        if rest:
            pstr, qm, hstr = rest.partition("?")
            if pstr:
                params = _parse_uri_params(pstr[1:], text)
            if qm:
                for hdr in hstr.split("&"):
                    hname, eq, hvalue = hdr.partition("=")
                    if not eq or not _HNAME_RE.fullmatch(hname) or not _HVALUE_RE.fullmatch(hvalue):
                        raise SipParseError(f"Malformed URI header in {short(text)}")
                    headers[hname] = hvalue
        return cls(scheme, user, password, host, port, params, headers)

    @classmethod
    def _parse_tel(cls, rest: str, text: str) -> SipUri:
        number, semi, ptext = rest.partition(";")
        params = _parse_uri_params(ptext, text) if semi else {}
        if number[:1] == "+":
            if not _GLOBAL_NUMBER_RE.fullmatch(number):
                raise SipParseError(f"Malformed global number in tel URI {short(text)}")
        elif not _LOCAL_NUMBER_RE.fullmatch(number):
            raise SipParseError(f"Malformed number in tel URI {short(text)}")
        elif "phone-context" not in params:
            # RFC 3966 §5.1.5: a local number MUST carry phone-context.
            raise SipParseError(f"Local number without phone-context in {short(text)}")
        return cls("tel", number, None, "", None, params)

    def __str__(self) -> str:
        if self.scheme == "tel":
            return f"tel:{self.user}{format_params(self.params)}"
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts += (":", self.password)
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts += (":", str(self.port))
        if self.params:
            parts.append(format_params(self.params))
        if self.headers:
            parts += ("?", "&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    @property
    def aor(self) -> str:
        """Address-of-record form: ``sip:user@host`` (no password, port, params, headers);
        scheme and host lower-cased (case-insensitive, §19.1.4); tel: ``tel:number``."""
        if self.scheme == "tel":
            return f"tel:{self.user}"
        if self.user is None:
            return f"{self.scheme}:{self.host.lower()}"
        return f"{self.scheme}:{self.user}@{self.host.lower()}"


def _unquote(text: str) -> str:
    # quoted-string content with quoted-pair resolved (§25.1).
    inner = text[1:-1]
    if "\\" not in inner:
        return inner
    out: list[str] = []
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner):
            i += 1
            ch = inner[i]
        out.append(ch)
        i += 1
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class NameAddr:
    """A name-addr or addr-spec with header parameters: From, To, Contact, Route ... (§20.10).

    ``display`` is the display name without quotes/escapes (None when absent).
    """

    display: str | None
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse ``"Display" <uri>;p=v``, ``Display <uri>`` or a bare ``uri;p=v``.

        In the bare form every ``;param`` belongs to the header (§20.10), and a URI holding
        ``?``, ``,`` or ``;`` must have been enclosed in ``<>``.
        """
        text = text.strip(" \t")
        display: str | None = None
        if text[:1] == '"':
            end = scan_quoted(text, 0)
            display = _unquote(text[:end])
            lt = end
            while lt < len(text) and text[lt] in " \t":
                lt += 1
            if text[lt : lt + 1] != "<":
                raise SipParseError(f"Expected '<' after display name in {short(text)}")
        else:
            lt = text.find("<")
            if lt < 0:
                return cls._parse_addr_spec(text)
            words = text[:lt].split()
            if words:
                if not all(TOKEN_RE.fullmatch(w) for w in words):
                    raise SipParseError(f"Invalid characters in display name in {short(text)}")
                display = " ".join(words)
        gt = text.find(">", lt)
        if gt < 0:
            raise SipParseError(f"Missing '>' in {short(text)}")
        uri = SipUri.parse(text[lt + 1 : gt])
        rest = text[gt + 1 :].lstrip(" \t")
        if rest and rest[0] != ";":
            raise SipParseError(f"Unexpected text after '>' in {short(text)}")
        return cls(display, uri, parse_params(rest) if rest else {})

    @classmethod
    def _parse_addr_spec(cls, text: str) -> NameAddr:
        uri_text, semi, ptext = text.partition(";")
        uri_text = uri_text.rstrip(" \t")
        if "?" in uri_text or "," in uri_text:
            raise SipParseError(f"URI with '?' or ',' must be enclosed in '<>': {short(text)}")
        return cls(None, SipUri.parse(uri_text), parse_params(ptext) if semi else {})

    def __str__(self) -> str:
        params = format_params(self.params) if self.params else ""
        if self.display is None:
            return f"<{self.uri}>{params}"
        return f"{_quote(self.display)} <{self.uri}>{params}"

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (dialog identification, §19.3), or None."""
        return self.params.get("tag")

    @tag.setter
    def tag(self, value: str | None) -> None:
        if value is None:
            self.params.pop("tag", None)
        else:
            self.params["tag"] = value


@dataclass(slots=True)
class Via:
    """One Via value (``via-parm``, RFC 3261 §20.42): ``SIP/2.0/UDP host:port;branch=...``.

    ``transport`` is upper-cased; ``host`` keeps IPv6 brackets.
    """

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one via-parm; LWS is allowed around "/" and ":" (SLASH, COLON in §25.1)."""
        m = _VIA_RE.match(text)
        if m is None:
            raise SipParseError(f"Malformed Via header {short(text)}")
        name, version, transport, rest = m.groups()
        if name.upper() != "SIP" or version != "2.0":
            raise SipParseError(f"Unsupported protocol in Via header {short(text)}")
        if rest[:1] not in (" ", "\t"):
            raise SipParseError(f"Malformed Via header {short(text)}")
        sent_by, semi, ptext = rest.partition(";")
        sent_by = sent_by.strip(" \t")
        if not sent_by:
            raise SipParseError(f"Missing sent-by in Via header {short(text)}")
        split = sent_by.find("]") + 1 if sent_by[0] == "[" else sent_by.find(":")
        if split <= 0:
            host, port_part = sent_by, ""
        else:
            host, port_part = sent_by[:split].rstrip(" \t"), sent_by[split:].lstrip(" \t")
        parse_host(host, text)
        port: int | None = None
        if port_part:
            if port_part[0] != ":":
                raise SipParseError(f"Malformed sent-by in Via header {short(text)}")
            port = parse_port(port_part[1:].strip(" \t"), text)
        return cls(transport.upper(), host, port, parse_params(ptext) if semi else {})

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        """The branch parameter (transaction ID, §8.1.1.7), or None."""
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        """(host, port) of sent-by."""
        return self.host, self.port

    @property
    def received(self) -> str | None:
        """The ``received`` parameter (§18.2.1), or None."""
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The numeric value of ``rport`` (RFC 3581 §4), None if absent or empty."""
        value = self.params.get("rport")
        if value is None or not is_digits(value) or len(value) > 5:
            return None
        return int(value)

    @property
    def wants_rport(self) -> bool:
        """True if the client asked for symmetric response routing (RFC 3581 §3)."""
        return "rport" in self.params

    def stamp_received(self, source_host: str, source_port: int) -> None:
        """Record the packet's source as a server transport does (RFC 3261 §18.2.1, RFC 3581
        §4): add ``received`` when the source differs from sent-by (always when rport was
        requested), and fill an empty ``rport`` with the source port."""
        bare_source = source_host.strip("[]")
        if ":" in bare_source:
            # RFC 5118 §4.5: an IPv6 received value is written as an IPv6 reference.
            source_host = f"[{bare_source}]"
        if self.wants_rport:
            self.params["rport"] = str(source_port)
            self.params["received"] = source_host
        elif self.host.strip("[]").lower() != bare_source.lower():
            self.params["received"] = source_host

    def response_address(self) -> tuple[str, int]:
        """Where an unreliable transport sends responses (RFC 3261 §18.2.2, RFC 3581 §4):
        maddr, else received, else sent-by host; rport, else sent-by port, else the default
        port of the transport (5061 for TLS, 5060 otherwise)."""
        host = self.params.get("maddr") or self.received or self.host
        port = self.rport or self.port
        if port is None:
            port = 5061 if self.transport == "TLS" else 5060
        return host, port

"""The SIP header collection: an ordered, case-insensitive multi-dict of raw header values.

Field names are case-insensitive and compact forms are aliases of full names (RFC 3261 §7.3.1,
§7.3.3); they are normalised to one canonical spelling. Values are stored as received (after
unfolding, §7.3.1) and parsed only on demand. Header fields whose grammar is a comma-separated
list (``#element``, §7.3.1) can be read element by element with ``get_all``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import SipParseError
from .uri import TOKEN_RE, short

__all__ = ["COMPACT_FORMS", "Headers", "canonical_name", "header_key", "split_comma_list"]

# RFC 3261 §7.3.3 plus the compact forms registered by later RFCs (3265 o/u, 3515 r, 3892 b,
# 4028 x, 3841 a/j/d, 4474 y/n).
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
    "n": "Identity-Info",
}

_CANONICAL_NAMES = (
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Resource-Priority",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "Feature-Caps",
    "From",
    "Geolocation",
    "History-Info",
    "Identity",
    "Identity-Info",
    "In-Reply-To",
    "Info-Package",
    "Max-Breadth",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Access-Network-Info",
    "P-Asserted-Identity",
    "P-Asserted-Service",
    "P-Associated-URI",
    "P-Called-Party-ID",
    "P-Charging-Function-Addresses",
    "P-Charging-Vector",
    "P-Early-Media",
    "P-Preferred-Identity",
    "P-Preferred-Service",
    "P-Profile-Key",
    "P-Served-User",
    "P-Visited-Network-ID",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Recv-Info",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Replaces",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Resource-Priority",
    "Retry-After",
    "Route",
    "RSeq",
    "Security-Client",
    "Security-Server",
    "Security-Verify",
    "Server",
    "Service-Route",
    "Session-Expires",
    "Session-ID",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Subscription-State",
    "Supported",
    "Target-Dialog",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
)
_CANONICAL: dict[str, str] = {n.lower(): n for n in _CANONICAL_NAMES}

# Header fields whose ABNF is a comma-separated list of elements (RFC 3261 §20, RFC 3327,
# RFC 3608, RFC 3325, RFC 3329, RFC 7315, RFC 3326, RFC 3841). Never the authentication
# headers or Date, whose values contain commas of their own.
_COMMA_LIST = frozenset(
    {
        "accept",
        "accept-contact",
        "accept-encoding",
        "accept-language",
        "alert-info",
        "allow",
        "allow-events",
        "call-info",
        "contact",
        "content-encoding",
        "content-language",
        "error-info",
        "history-info",
        "in-reply-to",
        "p-access-network-info",
        "p-asserted-identity",
        "p-asserted-service",
        "p-associated-uri",
        "p-preferred-identity",
        "p-preferred-service",
        "p-visited-network-id",
        "path",
        "proxy-require",
        "reason",
        "record-route",
        "reject-contact",
        "require",
        "route",
        "security-client",
        "security-server",
        "security-verify",
        "service-route",
        "supported",
        "unsupported",
        "via",
        "warning",
    }
)

# One element of a comma list: commas inside quoted strings and <...> do not count (§7.3.1).
_LIST_PIECE_RE = re.compile(r'(?:[^",<]++|"(?:[^"\\]++|\\.)*+"|<[^>]*+>)*+', re.DOTALL)

# Caches bounded so that a peer sending random header names cannot grow them without limit.
_CACHE_LIMIT = 2048
_KEY_CACHE: dict[str, str] = {}
WIRE_NAME_CACHE: dict[str, tuple[str, str]] = {}


def header_key(name: str) -> str:
    """Lookup key of a header name: lower-cased, compact form expanded (§7.3.3)."""
    key = _KEY_CACHE.get(name)
    if key is None:
        key = name.lower()
        if len(key) == 1 and key in COMPACT_FORMS:
            key = COMPACT_FORMS[key].lower()
        if len(_KEY_CACHE) < _CACHE_LIMIT:
            _KEY_CACHE[name] = key
    return key


def canonical_name(name: str) -> str:
    """Canonical spelling of a header name (e.g. ``cseq`` -> ``CSeq``, ``v`` -> ``Via``);
    unknown names are returned as given."""
    return _CANONICAL.get(header_key(name), name)


def resolve_wire_name(raw: str) -> tuple[str, str]:
    """(key, canonical name) for a field name as received before the colon; validates it is a
    token (§7.3.1) after dropping the LWS allowed before HCOLON."""
    cached = WIRE_NAME_CACHE.get(raw)
    if cached is not None:
        return cached
    name = raw.rstrip(" \t")
    if not TOKEN_RE.fullmatch(name):
        raise SipParseError(f"Malformed header name {short(name)}")
    key = header_key(name)
    result = (key, _CANONICAL.get(key, name))
    if len(WIRE_NAME_CACHE) < _CACHE_LIMIT:
        WIRE_NAME_CACHE[raw] = result
    return result


def split_comma_list(value: str) -> list[str]:
    """Split a header value at top-level commas (not inside quoted strings or ``<>``),
    dropping empty elements and surrounding LWS."""
    if "," not in value:
        value = value.strip(" \t")
        return [value] if value else []
    if '"' not in value and "<" not in value:
        pieces = value.split(",")
    else:
        pieces = []
        pos = 0
        n = len(value)
        while True:
            m = _LIST_PIECE_RE.match(value, pos)
            assert m is not None  # the pattern matches the empty string
            end = m.end()
            if end < n and value[end] != ",":
                # unterminated quote or '<': the rest is one (malformed) element
                pieces.append(value[pos:])
                break
            pieces.append(value[pos:end])
            if end == n:
                break
            pos = end + 1
    return [p for p in (piece.strip(" \t") for piece in pieces) if p]


def _check_value(value: str) -> None:
    # A CR or LF in a value would inject header lines into the serialised message.
    if "\r" in value or "\n" in value:
        raise ValueError(f"header value contains CR/LF: {value!r}")


class Headers:
    """Ordered multi-dict of SIP header fields, case-insensitive, compact forms normalised."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | None = None) -> None:
        # (lookup key, canonical name, raw value) per header line, in message order.
        self._items: list[tuple[str, str, str]] = []
        if items is not None:
            for name, value in items:
                self.add(name, value)

    @classmethod
    def _from_parsed(cls, items: list[tuple[str, str, str]]) -> Headers:
        headers = cls.__new__(cls)
        headers._items = items
        return headers

    @staticmethod
    def _entry(name: str, value: str) -> tuple[str, str, str]:
        key = header_key(name)
        canonical = _CANONICAL.get(key)
        if canonical is None:
            if not TOKEN_RE.fullmatch(name):
                raise ValueError(f"invalid header name: {name!r}")
            canonical = name
        _check_value(value)
        return key, canonical, value

    def get(self, name: str) -> str | None:
        """Raw value of the first header line with this name, or None."""
        key = header_key(name)
        for k, _, v in self._items:
            if k == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        """All values in order; list headers (Via, Route, Contact ...) split into elements."""
        key = header_key(name)
        values = [v for k, _, v in self._items if k == key]
        if key not in _COMMA_LIST:
            return values
        out: list[str] = []
        for v in values:
            out += split_comma_list(v)
        return out

    def set(self, name: str, value: str) -> None:
        """Replace every line of this header by one (at the position of the first, else
        appended)."""
        entry = self._entry(name, value)
        key = entry[0]
        out: list[tuple[str, str, str]] = []
        placed = False
        for item in self._items:
            if item[0] != key:
                out.append(item)
            elif not placed:
                out.append(entry)
                placed = True
        if not placed:
            out.append(entry)
        self._items = out

    def add(self, name: str, value: str, *, first: bool = False) -> None:
        """Append a header line; with ``first=True`` insert it before the existing lines of
        the same name (or at the very top), as a proxy does with its Via (§16.6 step 8)."""
        entry = self._entry(name, value)
        if not first:
            self._items.append(entry)
            return
        key = entry[0]
        items = self._items
        for pos, item in enumerate(items):
            if item[0] == key:
                items.insert(pos, entry)
                return
        items.insert(0, entry)

    def remove(self, name: str) -> None:
        """Remove every line of this header."""
        key = header_key(name)
        self._items = [item for item in self._items if item[0] != key]

    def pop_first(self, name: str) -> str | None:
        """Remove and return the first element of this header: for list headers the first
        comma-separated element (``Route: <a>,<b>`` keeps ``<b>``), else the first line."""
        key = header_key(name)
        for i, (k, n, v) in enumerate(self._items):
            if k != key:
                continue
            if key not in _COMMA_LIST:
                del self._items[i]
                return v
            elements = split_comma_list(v)
            if len(elements) > 1:
                self._items[i] = (k, n, ", ".join(elements[1:]))
                return elements[0]
            del self._items[i]
            if elements:
                return elements[0]
            return self.pop_first(name)  # empty line: drop it and look further
        return None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = header_key(name)
        return any(k == key for k, _, _ in self._items)

    def items(self) -> list[tuple[str, str]]:
        """(canonical name, raw value) per header line, in order."""
        return [(n, v) for _, n, v in self._items]

    def copy(self) -> Headers:
        """A shallow copy (values are immutable strings)."""
        return Headers._from_parsed(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"

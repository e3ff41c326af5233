"""HTTP Digest authentication as SIP uses it, including IMS AKA (AKAv1-MD5).

Parses and formats the ``WWW-Authenticate``/``Proxy-Authenticate`` challenge and the
``Authorization``/``Proxy-Authorization`` credentials (RFC 2617 §3.2, RFC 3261 §22.4 and §25.1,
parsing made tolerant the way RFC 7616 §3.3-3.4 asks), computes and verifies the request-digest
(RFC 2617 §3.2.2, qop ``auth`` and ``auth-int``, plus the RFC 2069 form without qop), and
handles the IMS AKA specifics of RFC 3310: the nonce carries base64(RAND || AUTN || server
data) (§3.2), the "password" is the raw RES (§3.3), and ``auts`` carries a resynchronisation
token (§3.4).

Sans-IO and standalone: header *values* in, header values and booleans out; it imports nothing
from the rest of the SIP package. A malformed header raises :class:`DigestError`, which names
the problem in ``reason`` and carries the SIP status to answer with (400); nothing else is
raised for any input text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, fields
from urllib.parse import unquote

__all__ = [
    "AKA_AUTN_LEN",
    "AKA_RAND_LEN",
    "MAX_HEADER_LEN",
    "MAX_PARAMS",
    "Challenge",
    "Credentials",
    "DigestError",
    "aka_nonce",
    "compute_response",
    "decode_auts",
    "encode_auts",
    "ha1",
    "make_credentials",
    "new_nonce",
    "parse_challenge",
    "parse_credentials",
    "split_aka_nonce",
    "verify",
]

# A Digest header value is a few hundred octets in practice (the longest, an IMS AKA
# Authorization with auts, stays under 1 KiB). 8 KiB bounds parsing work on hostile input
# while leaving ample room for long URIs.
MAX_HEADER_LEN = 8192
# RFC 2617/7616 define about fifteen parameters; 64 leaves room for extensions and stops a
# header made of thousands of tiny parameters.
MAX_PARAMS = 64

# RFC 3310 §3.2: the nonce starts with RAND (16 octets) then AUTN (16 octets).
AKA_RAND_LEN = 16
AKA_AUTN_LEN = 16
# TS 33.102 §6.3.3: AUTS = SQN_MS xor AK* (6) || MAC-S (8).
_AUTS_LEN = 14

_DEFAULT_STATUS = 400  # RFC 3261 §21.4.1 Bad Request: the request could not be understood.

# RFC 7230 §3.2.6 tchar (a superset of RFC 3261's token characters).
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WS = " \t"
_LHEX = frozenset("0123456789abcdefABCDEF")

# Algorithms whose hash is MD5 (RFC 2617 §3.2.2.2; RFC 3310 §3.1/§3.3: "AKAv1-MD5" is MD5
# with the RES as password). The "-sess" forms fold nonce and cnonce into HA1.
_MD5_ALGORITHMS = frozenset({"md5", "md5-sess", "akav1-md5", "akav1-md5-sess"})
_QOPS = ("auth", "auth-int")

# Characters refused in any text value (see _check_text): CTLs except HTAB, and DEL.
_CTL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Fast path of _parse_params for the common well-formed header: the scheme, then one
# ``name=value`` element at a time with the list separators around it. Quoted values
# without quoted-pairs or CTLs, token values of visible characters. Anything else (and
# every error) goes through the character-by-character parser, which names the problem.
_FAST_SCHEME_RE = re.compile(r"[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?:[ \t]+|\Z)")
_FAST_PARAM_RE = re.compile(
    r"[ \t,]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*"
    r'(?:"([^"\\\x00-\x08\x0a-\x1f\x7f]*)"|([^\x00-\x20",\x7f]+))'
    r"[ \t]*(?:,|\Z)"
)
_FAST_TAIL_RE = re.compile(r"[ \t,]*")
# 1*tchar (the same set as _TCHAR).
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class DigestError(ValueError):
    """A Digest header is malformed or incomplete; ``reason`` says how.

    ``status`` is the SIP response to answer with (400 Bad Request, RFC 3261 §21.4.1).
    """

    def __init__(self, reason: str, status: int = _DEFAULT_STATUS) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# --------------------------------------------------------------------------------------------
# Character checks and quoting


def _is_token(s: str) -> bool:
    return _TOKEN_RE.fullmatch(s) is not None


def _check_text(name: str, value: str) -> None:
    """Refuse characters that would break or inject into a header line, or cannot be hashed.

    CTLs other than HTAB are not allowed in quoted-string (RFC 3261 §25.1 qdtext); CR/LF would
    start a new header line. Lone surrogates are refused unless they are ``surrogateescape``
    stand-ins for raw octets, which we hash back to the original octets.
    """
    if _CTL_RE.search(value) is not None:
        raise DigestError(f"control character in {name}")
    try:
        _enc(value)
    except UnicodeEncodeError:
        raise DigestError(f"invalid character in {name}") from None


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() builds a tuple on every call; the names never change.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _quote(value: str) -> str:
    # RFC 3261 §25.1 quoted-string with quoted-pair for '"' and '\'.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------------------------
# Parsing


def _parse_params(value: object, *, header: str) -> dict[str, str]:
    """Parse ``Digest name=value, name="value", ...`` into {lower-case name: unquoted value}.

    Tolerant as RFC 7616 §3.3-3.4 and RFC 7230 §7 ask: any amount of linear whitespace around
    '=' and ',', empty list elements, parameter names in any case, token or quoted-string for
    any value, quoted-pair escapes. Strict where ambiguity would be dangerous: duplicate
    parameters, unterminated quotes and control characters are errors.
    """
    if not isinstance(value, str):
        raise DigestError(f"{header} must be text")
    if len(value) > MAX_HEADER_LEN:
        raise DigestError(f"{header} longer than {MAX_HEADER_LEN} characters")
    try:
        _enc(value)
    except UnicodeEncodeError:
        raise DigestError(f"invalid character in {header}") from None

    # RFC 3261 §7.3.1: header folding (CRLF followed by whitespace) is equivalent to one SP.
    s = value
    if "\r" in s or "\n" in s:
        s = s.replace("\r\n ", " ").replace("\r\n\t", " ")
    fast = _parse_params_fast(s)
    if fast is not None:
        return fast
    n = len(s)
    i = 0
    while i < n and s[i] in _WS:
        i += 1
    start = i
    while i < n and s[i] in _TCHAR:
        i += 1
    scheme = s[start:i]
    if not scheme:
        raise DigestError(f"{header}: missing auth-scheme")
    if scheme.lower() != "digest":
        raise DigestError(f"{header}: unsupported auth-scheme {scheme[:32]!r}")
    if i < n and s[i] not in _WS:
        raise DigestError(f"{header}: bad character after auth-scheme")

    params: dict[str, str] = {}
    while True:
        # Skip whitespace and empty list elements (RFC 7230 §7).
        while i < n and (s[i] in _WS or s[i] == ","):
            i += 1
        if i >= n:
            break
        start = i
        while i < n and s[i] in _TCHAR:
            i += 1
        name = s[start:i].lower()
        if not name:
            raise DigestError(f"{header}: bad character {s[i]!r} where a parameter was expected")
        while i < n and s[i] in _WS:
            i += 1
        if i >= n or s[i] != "=":
            raise DigestError(f"{header}: parameter {name[:32]!r} has no value")
        i += 1
        while i < n and s[i] in _WS:
            i += 1
        if i < n and s[i] == '"':
            i += 1
            out: list[str] = []
            while True:
                if i >= n:
                    raise DigestError(f"{header}: unterminated quoted-string")
                c = s[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= n:
                        raise DigestError(f"{header}: unterminated quoted-pair")
                    c = s[i + 1]
                    i += 2
                else:
                    i += 1
                o = ord(c)
                if (o < 0x20 and c != "\t") or o == 0x7F:
                    raise DigestError(f"{header}: control character in quoted-string")
                out.append(c)
            val = "".join(out)
        else:
            # RFC 2617 says token here; real peers also send unquoted URIs and base64, so
            # accept any run of visible characters up to ',' or whitespace.
            start = i
            while i < n and s[i] not in _WS and s[i] not in ',"':
                o = ord(s[i])
                if o < 0x20 or o == 0x7F:
                    raise DigestError(f"{header}: control character in parameter value")
                i += 1
            val = s[start:i]
            if not val:
                raise DigestError(f"{header}: parameter {name[:32]!r} has an empty value")
        if name in params:
            raise DigestError(f"{header}: duplicate parameter {name[:32]!r}")
        if len(params) >= MAX_PARAMS:
            raise DigestError(f"{header}: more than {MAX_PARAMS} parameters")
        params[name] = val
        while i < n and s[i] in _WS:
            i += 1
        if i < n and s[i] != ",":
            raise DigestError(f"{header}: expected ',' after parameter {name[:32]!r}")
    return params


def _parse_params_fast(s: str) -> dict[str, str] | None:
    """``_parse_params`` for a well-formed value, or None to take the careful path (which
    gives the same result, or the error)."""
    m = _FAST_SCHEME_RE.match(s)
    if m is None or m.group(1).lower() != "digest":
        return None
    params: dict[str, str] = {}
    pos = m.end()
    match = _FAST_PARAM_RE.match
    while True:
        m = match(s, pos)
        if m is None:
            return params if _FAST_TAIL_RE.fullmatch(s, pos) else None
        name = m.group(1).lower()
        quoted = m.group(2)
        if name in params or len(params) >= MAX_PARAMS:
            return None
        params[name] = quoted if quoted is not None else m.group(3)
        pos = m.end()


def _required(params: dict[str, str], name: str, header: str) -> str:
    try:
        return params[name]
    except KeyError:
        raise DigestError(f"{header}: missing {name} parameter") from None


# --------------------------------------------------------------------------------------------
# Challenge (WWW-Authenticate / Proxy-Authenticate)


@dataclass(frozen=True, slots=True)
class Challenge:
    """A Digest challenge, RFC 2617 §3.2.1 / RFC 3261 §22.4.

    ``qop`` is the raw option list as sent (``"auth"``, ``"auth,auth-int"``); None means the
    server offers the RFC 2069 compatibility mode. See :attr:`qop_options`.
    """

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str | None = "auth"
    opaque: str | None = None
    stale: bool = False

    def __post_init__(self) -> None:
        for name in _field_names(type(self)):
            v = getattr(self, name)
            if isinstance(v, str):
                _check_text(name, v)
        if not _is_token(self.algorithm):
            raise DigestError("algorithm must be a token")

    @property
    def qop_options(self) -> tuple[str, ...]:
        """The qop values offered, lower-cased, in order (RFC 2617 §3.2.1 qop-options)."""
        if self.qop is None:
            return ()
        return tuple(q.strip().lower() for q in self.qop.split(",") if q.strip())

    def to_header(self) -> str:
        """The header value, e.g. ``Digest realm="..", nonce="..", algorithm=MD5, qop="auth"``.

        Quoting follows RFC 7616 §3.3: realm, nonce, opaque and qop quoted; algorithm and
        stale as tokens.
        """
        parts = [
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"algorithm={self.algorithm}",
        ]
        if self.qop is not None:
            parts.append(f"qop={_quote(self.qop)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)


def parse_challenge(value: str) -> Challenge:
    """Parse a ``WWW-Authenticate``/``Proxy-Authenticate`` value (RFC 2617 §3.2.1).

    realm and nonce are required. ``algorithm`` defaults to MD5; a missing ``qop`` gives
    ``qop=None``; ``stale`` is true only for the token TRUE in any case.
    """
    header = "challenge"
    p = _parse_params(value, header=header)
    algorithm = p.get("algorithm", "MD5")
    if not _is_token(algorithm):
        raise DigestError(f"{header}: algorithm is not a token")
    return Challenge(
        realm=_required(p, "realm", header),
        nonce=_required(p, "nonce", header),
        algorithm=algorithm,
        qop=p.get("qop"),
        opaque=p.get("opaque"),
        stale=p.get("stale", "").lower() == "true",
    )


# --------------------------------------------------------------------------------------------
# Credentials (Authorization / Proxy-Authorization)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Digest credentials, RFC 2617 §3.2.2 / RFC 3261 §22.4, plus ``auts`` (RFC 3310 §3.4).

    ``nc`` is the 8-hex-digit nonce count as sent; ``auts`` the base64 text of AUTS.
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    cnonce: str | None = None
    nc: str | None = None
    qop: str | None = None
    opaque: str | None = None
    auts: str | None = None

    def __post_init__(self) -> None:
        for name in _field_names(type(self)):
            v = getattr(self, name)
            if isinstance(v, str):
                _check_text(name, v)
        # Sent unquoted (RFC 7616 §3.4), so they must be tokens.
        if not _is_token(self.algorithm):
            raise DigestError("algorithm must be a token")
        if self.qop is not None and not _is_token(self.qop):
            raise DigestError("qop must be a token")
        if self.nc is not None and (len(self.nc) != 8 or not all(c in _LHEX for c in self.nc)):
            raise DigestError("nc must be 8 hex digits")

    def to_header(self) -> str:
        """The header value; quoted-string or token per RFC 7616 §3.4."""
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(self.response)}",
            f"algorithm={self.algorithm}",
        ]
        if self.cnonce is not None:
            parts.append(f"cnonce={_quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        if self.auts is not None:
            parts.append(f"auts={_quote(self.auts)}")
        return "Digest " + ", ".join(parts)


def _ext_username(value: str, header: str) -> str:
    """Decode RFC 7616 §3.4.4 ``username*`` (RFC 5987 ext-value, UTF-8 only)."""
    charset, sep, rest = value.partition("'")
    _lang, sep2, encoded = rest.partition("'")
    if not sep or not sep2 or charset.lower() != "utf-8":
        raise DigestError(f"{header}: username* is not a UTF-8 ext-value")
    try:
        return unquote(encoded, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise DigestError(f"{header}: username* is not valid UTF-8") from None


def parse_credentials(value: str) -> Credentials:
    """Parse an ``Authorization``/``Proxy-Authorization`` value (RFC 2617 §3.2.2).

    username (or RFC 7616 ``username*``), realm, nonce, uri and response are required but may
    be empty: the first IMS REGISTER carries ``nonce=""`` and ``response=""`` (TS 24.229
    §5.1.1.2.1). With a qop, cnonce and nc are required (RFC 2617 §3.2.2). Peers that quote
    qop or nc are tolerated.
    """
    header = "credentials"
    p = _parse_params(value, header=header)
    if "username*" in p:
        if "username" in p:
            raise DigestError(f"{header}: both username and username*")
        username = _ext_username(p["username*"], header)
    else:
        username = _required(p, "username", header)
    qop = p.get("qop")
    cnonce = p.get("cnonce")
    nc = p.get("nc")
    if qop is not None:
        if not _is_token(qop):
            raise DigestError(f"{header}: qop is not a token")
        if cnonce is None:
            raise DigestError(f"{header}: qop without cnonce")
        if nc is None:
            raise DigestError(f"{header}: qop without nc")
    if nc is not None and (len(nc) != 8 or not all(c in _LHEX for c in nc)):
        raise DigestError(f"{header}: nc is not 8 hex digits")
    algorithm = p.get("algorithm", "MD5")
    if not _is_token(algorithm):
        raise DigestError(f"{header}: algorithm is not a token")
    return Credentials(
        username=username,
        realm=_required(p, "realm", header),
        nonce=_required(p, "nonce", header),
        uri=_required(p, "uri", header),
        response=_required(p, "response", header),
        algorithm=algorithm,
        cnonce=cnonce,
        nc=nc,
        qop=qop,
        opaque=p.get("opaque"),
        auts=p.get("auts"),
    )


# --------------------------------------------------------------------------------------------
# Digest computation (RFC 2617 §3.2.2)


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def ha1(username: str, realm: str, password: str | bytes) -> str:
    """HA1 = MD5(username ":" realm ":" password), RFC 2617 §3.2.2.2.

    For AKAv1-MD5 the password is the raw RES octets (RFC 3310 §3.3), so pass ``bytes``; a
    ``str`` password is UTF-8 encoded.
    """
    pw = password if isinstance(password, bytes) else _enc(password)
    return _md5_hex(_enc(username) + b":" + _enc(realm) + b":" + pw)


def _session_ha1(ha1_hex: str, nonce: str, cnonce: str) -> str:
    # RFC 2617 §3.2.2.2, algorithm "MD5-sess": H(H(user:realm:pw) ":" nonce ":" cnonce).
    return _md5_hex(_enc(ha1_hex) + b":" + _enc(nonce) + b":" + _enc(cnonce))


def compute_response(
    ha1_hex: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    nc: str | None,
    cnonce: str | None,
    body: bytes = b"",
) -> str:
    """The request-digest, RFC 2617 §3.2.2.1 (MD5).

    qop ``auth``: HA2 = MD5(method:uri); ``auth-int``: HA2 = MD5(method:uri:MD5(body));
    response = MD5(HA1:nonce:nc:cnonce:qop:HA2). Without qop (RFC 2069):
    MD5(HA1:nonce:HA2). ``ha1_hex`` must already be the session HA1 for "-sess" algorithms.
    """
    q = None if qop is None else qop.lower()
    if q == "auth-int":
        ha2 = _md5_hex(_enc(method) + b":" + _enc(uri) + b":" + _md5_hex(body).encode())
    elif q in (None, "auth"):
        ha2 = _md5_hex(_enc(method) + b":" + _enc(uri))
    else:
        raise DigestError(f"unsupported qop {qop[:32]!r}" if qop else "empty qop")
    if q is None:
        return _md5_hex(_enc(ha1_hex) + b":" + _enc(nonce) + b":" + ha2.encode())
    if nc is None or cnonce is None:
        raise DigestError("qop needs nc and cnonce")
    return _md5_hex(
        b":".join((_enc(ha1_hex), _enc(nonce), _enc(nc), _enc(cnonce), _enc(q), ha2.encode()))
    )


def make_credentials(
    *,
    username: str,
    realm: str,
    password: str | bytes,
    method: str,
    uri: str,
    challenge: Challenge,
    cnonce: str | None = None,
    nc: int = 1,
    body: bytes = b"",
    auts: bytes | None = None,
) -> Credentials:
    """Answer ``challenge`` as a client (our test UEs and load generators do this).

    Chooses qop ``auth`` if offered, else ``auth-int`` (over ``body``), else the RFC 2069
    form when no qop was offered. A fresh random cnonce is used unless one is given. For IMS
    AKA pass the RES as ``password``; after a synchronisation failure pass ``auts`` and an
    empty password, as RFC 3310 §3.4 requires.
    """
    alg = challenge.algorithm.lower()
    if alg not in _MD5_ALGORITHMS:
        raise DigestError(f"unsupported algorithm {challenge.algorithm[:32]!r}")
    if not 1 <= nc <= 0xFFFFFFFF:
        raise ValueError("nc must be in 1..2^32-1")
    offered = challenge.qop_options
    qop: str | None
    if challenge.qop is None:
        qop = None
    elif "auth" in offered:
        qop = "auth"
    elif "auth-int" in offered:
        qop = "auth-int"
    else:
        raise DigestError(f"no supported qop in {challenge.qop[:64]!r}")
    nc_s: str | None = None
    if qop is None:
        cnonce = None
    else:
        if cnonce is None:
            cnonce = secrets.token_hex(8)
        nc_s = f"{nc:08x}"
    h1 = ha1(username, realm, password)
    if alg.endswith("-sess"):
        if cnonce is None:
            raise DigestError("-sess algorithms need a qop (and so a cnonce)")
        h1 = _session_ha1(h1, challenge.nonce, cnonce)
    response = compute_response(
        h1,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        qop=qop,
        nc=nc_s,
        cnonce=cnonce,
        body=body,
    )
    return Credentials(
        username=username,
        realm=realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        cnonce=cnonce,
        nc=nc_s,
        qop=qop,
        opaque=challenge.opaque,
        auts=None if auts is None else encode_auts(auts),
    )


def verify(
    credentials: Credentials,
    *,
    method: str,
    ha1_hex: str,
    body: bytes = b"",
    require_qop: bool = False,
) -> bool:
    """Check ``credentials.response`` against the expected digest, in constant time.

    ``ha1_hex`` is HA1 = MD5(username:realm:password), which a registrar stores instead of
    the password; for AKAv1-MD5 it is ``ha1(username, realm, XRES)``. "-sess" algorithms are
    handled here. Returns False for an unsupported algorithm or qop, and for the RFC 2069
    form (no qop) when ``require_qop`` is set: a server that offered qop should set it, since
    RFC 2617 §3.2.2 obliges the client to use one then. Nonce freshness, nc replay and
    matching ``uri`` to the Request-URI (RFC 3261 §22.4) are the caller's checks.
    """
    c = credentials
    if c.algorithm.lower() not in _MD5_ALGORITHMS:
        return False
    q = None if c.qop is None else c.qop.lower()
    if q is None and require_qop:
        return False
    if q is not None and (q not in _QOPS or c.nc is None or c.cnonce is None):
        return False
    h1 = ha1_hex.lower()
    if c.algorithm.lower().endswith("-sess"):
        if c.cnonce is None:
            return False
        h1 = _session_ha1(h1, c.nonce, c.cnonce)
    expected = compute_response(
        h1, method=method, uri=c.uri, nonce=c.nonce, qop=q, nc=c.nc, cnonce=c.cnonce, body=body
    )
    return hmac.compare_digest(expected.encode(), _enc(c.response.lower()))


# --------------------------------------------------------------------------------------------
# IMS AKA (RFC 3310) and nonces


def aka_nonce(rand: bytes, autn: bytes, server_data: bytes = b"") -> str:
    """The AKAv1 nonce: base64(RAND || AUTN || server-specific data), RFC 3310 §3.2."""
    if len(rand) != AKA_RAND_LEN or len(autn) != AKA_AUTN_LEN:
        raise ValueError("RAND and AUTN must be 16 octets each")
    return base64.b64encode(bytes(rand) + bytes(autn) + bytes(server_data)).decode("ascii")


def _b64decode(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise DigestError(f"{what} must be text")
    text = value.strip()
    # Tolerate a peer that dropped the '=' padding.
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DigestError(f"{what} is not base64") from None


def split_aka_nonce(nonce: str) -> tuple[bytes, bytes, bytes]:
    """(RAND, AUTN, server data) from an AKAv1 nonce, RFC 3310 §3.2."""
    raw = _b64decode(nonce, "AKA nonce")
    if len(raw) < AKA_RAND_LEN + AKA_AUTN_LEN:
        raise DigestError("AKA nonce shorter than RAND || AUTN")
    return (
        raw[:AKA_RAND_LEN],
        raw[AKA_RAND_LEN : AKA_RAND_LEN + AKA_AUTN_LEN],
        raw[AKA_RAND_LEN + AKA_AUTN_LEN :],
    )


def encode_auts(auts: bytes) -> str:
    """The ``auts`` parameter value: base64 of the 14-octet AUTS, RFC 3310 §3.4."""
    if len(auts) != _AUTS_LEN:
        raise ValueError("AUTS must be 14 octets")
    return base64.b64encode(bytes(auts)).decode("ascii")


def decode_auts(value: str) -> bytes:
    """The 14-octet AUTS from an ``auts`` parameter, RFC 3310 §3.4."""
    raw = _b64decode(value, "auts")
    if len(raw) != _AUTS_LEN:
        raise DigestError("auts is not 14 octets")
    return raw


def new_nonce() -> str:
    """A fresh nonce for MD5 challenges: 192 random bits from the OS CSPRNG, base64url.

    RFC 2617 §3.2.1 leaves the nonce format to the server; it only has to be unguessable.
    """
    return secrets.token_urlsafe(24)

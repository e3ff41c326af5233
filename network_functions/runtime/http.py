"""A small asyncio HTTP/1.1 server and client for the admin port and the provisioning API.

Every NF serves ``/healthz``, ``/readyz`` and ``/metrics`` with :class:`HttpServer`, and the
HSS serves its provisioning REST API with it; the CLIs and the autoscaler talk to those with
:func:`http_request` / :func:`http_request_sync`. Only what those need of RFC 9112 (HTTP/1.1
message syntax) and RFC 9110 (semantics) is implemented: persistent connections and
pipelining (RFC 9112 §9.3), ``Content-Length`` and ``chunked`` request bodies (§6, §7.1),
``Expect: 100-continue`` (RFC 9110 §10.1.1), bounded header and body sizes, JSON error bodies
for 4xx/5xx. There are no third-party dependencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http.client
import json
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "Handler",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "HttpServer",
    "http_request",
    "http_request_sync",
]

log = logging.getLogger("nfv.http")

# Request line + header fields. RFC 9112 §2.3 leaves the limit to the server; 16 KiB is far
# more than the admin/REST clients send and bounds the memory an idle peer can pin.
MAX_HEADER_BYTES = 16 * 1024
# Request body. Provisioning a batch of subscribers is the largest body we expect (~1 KiB
# each); anything bigger is answered 413 (RFC 9110 §15.5.14) without being buffered.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Header field lines per request: bounds the per-request dict (RFC 9112 §5 has no limit).
MAX_HEADER_FIELDS = 100
# An idle persistent connection is closed after this many seconds (RFC 9112 §9.8 lets a
# server close idle connections at any time).
KEEPALIVE_TIMEOUT = 75.0
# Time allowed to receive a request body once its header section has arrived.
BODY_TIMEOUT = 30.0
# After an error that leaves a request body unread (413, 400 in a chunk), read and discard
# at most this much for at most LINGER_TIMEOUT seconds before closing, so the client gets
# to read our answer instead of a TCP reset (RFC 9112 §9.6, "lingering close").
LINGER_BYTES = 16 * 1024 * 1024
LINGER_TIMEOUT = 2.0
# Largest response body the client helpers accept.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Pending connections the kernel queues for accept() under load.
LISTEN_BACKLOG = 1024

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # RFC 9110 §5.6.2 token
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})


class HttpError(Exception):
    """Raised by handlers (and by the parser) to answer ``status`` with ``{"error": message}``."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class HttpRequest:
    """One parsed request. ``headers`` keys are lower-case; ``params`` come from the route."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body decoded as JSON; :class:`HttpError` 400 when it is not valid JSON."""
        try:
            return json.loads(self.body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise HttpError(400, f"invalid JSON: {exc}") from None
        except RecursionError:
            raise HttpError(400, "invalid JSON: nested too deeply") from None


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> HttpResponse:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status=status, body=body, content_type="application/json")

    @classmethod
    def text(cls, s: str, status: int = 200) -> HttpResponse:
        return cls(status=status, body=s.encode())


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def _error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    resp = HttpResponse.json({"error": message}, status=status)
    if headers:
        resp.headers.update(headers)
    return resp


class _BadRequest(Exception):
    """The request cannot be parsed; answer and close the connection."""

    def __init__(self, status: int, message: str, *, linger: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.linger = linger  # the body (or part of it) is still unread


class _Date:
    """The ``Date`` header (RFC 9110 §6.6.1), formatted at most once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True)
        return self._value


_date = _Date()


def _encode_response(resp: HttpResponse, *, keep_alive: bool, head_only: bool = False) -> bytes:
    status = resp.status
    body = resp.body
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}", f"Date: {_date()}"]
    no_body = status in _NO_BODY_STATUSES or status < 200
    if not no_body:
        lines.append(f"Content-Type: {resp.content_type}")
        lines.append(f"Content-Length: {len(body)}")
    for name, value in resp.headers.items():
        lname = name.lower()
        if lname in ("content-length", "transfer-encoding", "connection", "date"):
            continue  # framing is ours to decide
        if lname == "content-type" and not no_body:
            lines[2] = f"Content-Type: {value}"
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"response header {name!r} contains CR or LF")
        lines.append(f"{name}: {value}")
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if head_only or no_body:
        return head
    return head + body


class _Route:
    __slots__ = ("handlers", "names", "segments")

    def __init__(self, segments: tuple[str | None, ...], names: tuple[str, ...]) -> None:
        self.segments = segments  # None = a parameter
        self.names = names
        self.handlers: dict[str, Handler] = {}


_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")


class HttpServer:
    """An HTTP/1.1 server dispatching to ``async`` handlers by method and path pattern.

    Patterns are absolute paths whose segments are literals or ``{name}`` (one whole
    non-empty segment, percent-decoded into ``request.params[name]``). ``HEAD`` is answered
    by the ``GET`` handler without its body when no ``HEAD`` route exists.
    """

    def __init__(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        self.host = host
        self._port = port
        self.reuse_port = reuse_port
        self._static: dict[str, _Route] = {}
        self._dynamic: list[_Route] = []
        self._server: asyncio.Server | None = None
        self._sock: socket.socket | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- configuration ------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        method = method.upper()
        if not _TOKEN_RE.match(method):
            raise ValueError(f"invalid HTTP method {method!r}")
        if not pattern.startswith("/"):
            raise ValueError(f"route pattern must start with '/': {pattern!r}")
        segments: list[str | None] = []
        names: list[str] = []
        for seg in pattern.split("/")[1:]:
            m = _PARAM_RE.match(seg)
            if m:
                if m.group(1) in names:
                    raise ValueError(f"parameter {m.group(1)!r} repeats in {pattern!r}")
                names.append(m.group(1))
                segments.append(None)
            elif "{" in seg or "}" in seg:
                raise ValueError(f"bad segment {seg!r} in route pattern {pattern!r}")
            else:
                segments.append(seg)
        key = tuple(segments)
        if names:
            for r in self._dynamic:
                if r.segments == key:
                    route = r
                    break
            else:
                route = _Route(key, tuple(names))
                self._dynamic.append(route)
            if route.names != tuple(names):
                raise ValueError(f"{pattern!r} conflicts with an existing route's parameters")
        else:
            route = self._static.setdefault(pattern, _Route(key, ()))
        if method in route.handlers:
            raise ValueError(f"route {method} {pattern} already registered")
        route.handlers[method] = handler

    # -- life cycle -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port once started (resolves port 0), else the configured port."""
        if self._sock is not None:
            return int(self._sock.getsockname()[1])
        return self._port

    def _bind(self) -> socket.socket:
        host = self.host or "0.0.0.0"
        infos = socket.getaddrinfo(
            host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, socktype, proto, _, addr = infos[0]
        sock = socket.socket(family, socktype, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(addr)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("HttpServer already started")
        sock = self._bind()
        try:
            self._server = await asyncio.start_server(
                self._serve, sock=sock, limit=MAX_HEADER_BYTES, backlog=LISTEN_BACKLOG
            )
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    async def close(self) -> None:
        """Stop listening and close every connection (in-flight handlers are cancelled)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        tasks = list(self._conns)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        self._sock = None

    # -- connections ----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        self._writers.add(writer)
        try:
            await self._serve_requests(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:  # never let one connection take the server down
            log.exception("HTTP connection failed")
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._conns.discard(task)
            writer.close()

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_TIMEOUT):
                    head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                await self._fail(reader, writer, _BadRequest(431, "request header too large"))
                return
            except (asyncio.IncompleteReadError, TimeoutError):
                return  # peer closed (possibly mid-request) or idle
            try:
                request, keep_alive, expect = self._parse_head(head)
                hdrs = request.headers
                if "content-length" in hdrs or "transfer-encoding" in hdrs:
                    async with asyncio.timeout(BODY_TIMEOUT):
                        request.body = await self._read_body(reader, writer, hdrs, expect)
            except _BadRequest as exc:
                await self._fail(reader, writer, exc)
                return
            except (asyncio.IncompleteReadError, TimeoutError):
                return
            head_only = request.method == "HEAD"
            response = await self._dispatch(request)
            if any(
                k.lower() == "connection" and v.lower() == "close"
                for k, v in response.headers.items()
            ):
                keep_alive = False
            try:
                data = _encode_response(response, keep_alive=keep_alive, head_only=head_only)
            except ValueError:
                log.exception("bad response from %s %s", request.method, request.path)
                data = _encode_response(
                    _error_response(500, "internal server error"), keep_alive=keep_alive
                )
            writer.write(data)
            await writer.drain()
            if not keep_alive:
                return

    async def _fail(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exc: _BadRequest
    ) -> None:
        writer.write(_encode_response(_error_response(exc.status, exc.message), keep_alive=False))
        await writer.drain()
        if exc.linger:
            if writer.can_write_eof():
                writer.write_eof()
            remaining = LINGER_BYTES
            with contextlib.suppress(TimeoutError, OSError):
                async with asyncio.timeout(LINGER_TIMEOUT):
                    while remaining > 0:
                        chunk = await reader.read(min(remaining, 65536))
                        if not chunk:
                            break
                        remaining -= len(chunk)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[HttpRequest, bool, bool]:
        # RFC 9112 §2.2: ignore at least one empty line before the request line.
        lines = head.lstrip(b"\r\n")[:-4].split(b"\r\n")
        try:
            request_line = lines[0].decode("ascii")
        except UnicodeDecodeError:
            raise _BadRequest(400, "request line is not ASCII") from None
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        if not _TOKEN_RE.match(method):
            raise _BadRequest(400, "malformed method")
        if version == "HTTP/1.1":
            keep_alive = True
        elif version == "HTTP/1.0":
            keep_alive = False
        elif version.startswith("HTTP/"):
            raise _BadRequest(505, f"{version} not supported")
        else:
            raise _BadRequest(400, "malformed request line")
        if len(lines) - 1 > MAX_HEADER_FIELDS:
            raise _BadRequest(431, f"more than {MAX_HEADER_FIELDS} header fields")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name_b, sep, value_b = line.partition(b":")
            # RFC 9112 §5.1: no whitespace between field name and colon; §5.2: obs-fold → 400.
            if not sep or not name_b or name_b[-1:] in (b" ", b"\t") or line[:1] in (b" ", b"\t"):
                raise _BadRequest(400, "malformed header field")
            name = name_b.decode("latin-1").lower()
            if not _TOKEN_RE.match(name):
                raise _BadRequest(400, "malformed header field name")
            value = value_b.strip(b" \t").decode("latin-1")
            if name in headers:
                if name == "content-length" and headers[name] != value:
                    raise _BadRequest(400, "conflicting Content-Length fields")
                if name in ("content-length", "host"):
                    continue
                headers[name] = f"{headers[name]}, {value}"
            else:
                headers[name] = value
        conn = headers.get("connection", "").lower()
        if conn:
            options = {o.strip() for o in conn.split(",")}
            if "close" in options:
                keep_alive = False
            elif "keep-alive" in options:
                keep_alive = True
        if not target.startswith("/"):
            if target.startswith(("http://", "https://")):  # absolute-form, RFC 9112 §3.2.2
                parts_ = urlsplit(target)
                target = (parts_.path or "/") + (f"?{parts_.query}" if parts_.query else "")
            else:
                raise _BadRequest(400, "unsupported request target")
        raw_path, _, query_s = target.partition("?")
        query = dict(parse_qsl(query_s, keep_blank_values=True)) if query_s else {}
        expect_hdr = headers.get("expect")
        expect = False
        if expect_hdr is not None:
            if expect_hdr.lower() != "100-continue":
                raise _BadRequest(417, f"unsupported expectation {expect_hdr!r}")
            expect = version == "HTTP/1.1"
        request = HttpRequest(method, raw_path, query, headers)
        return request, keep_alive, expect

    @staticmethod
    async def _read_body(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        expect: bool,
    ) -> bytes:
        te = headers.get("transfer-encoding")
        cl = headers.get("content-length")
        if te is not None:
            # RFC 9112 §6.1: chunked must be the final coding; we implement no other coding.
            # §6.3: both fields present is a smuggling attempt → 400 and close.
            if cl is not None:
                raise _BadRequest(400, "both Transfer-Encoding and Content-Length", linger=True)
            if te.strip().lower() != "chunked":
                raise _BadRequest(501, f"transfer coding {te!r} not implemented", linger=True)
            if expect:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return await _read_chunked(reader, MAX_BODY_BYTES)
        if cl is None:
            return b""  # RFC 9112 §6.3 rule 7: no body
        if not cl.isdigit() or not cl.isascii():
            raise _BadRequest(400, "malformed Content-Length")
        length = int(cl)
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, f"body larger than {MAX_BODY_BYTES} bytes", linger=True)
        if length == 0:
            return b""
        if expect:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return await reader.readexactly(length)

    def _match(self, path: str) -> tuple[_Route | None, dict[str, str]]:
        route = self._static.get(path)
        if route is not None:
            return route, {}
        if not self._dynamic:
            return None, {}
        segs = path.split("/")[1:]
        n = len(segs)
        for r in self._dynamic:
            if len(r.segments) != n:
                continue
            values: list[str] = []
            for pattern_seg, seg in zip(r.segments, segs, strict=True):
                if pattern_seg is None:
                    if not seg:
                        break
                    values.append(unquote(seg))
                elif pattern_seg != unquote(seg):
                    break
            else:
                return r, dict(zip(r.names, values, strict=True))
        return None, {}

    async def _dispatch(self, request: HttpRequest) -> HttpResponse:
        raw_path = request.path
        request.path = unquote(raw_path)
        route, params = self._match(raw_path)
        if route is None and request.path != raw_path:
            route, params = self._match(request.path)  # static route with escaped chars
        if route is None:
            return _error_response(404, f"no such resource: {request.path}")
        method = request.method
        handler = route.handlers.get(method)
        if handler is None and method == "HEAD":
            handler = route.handlers.get("GET")
        if handler is None:
            allow = sorted(route.handlers)
            if "GET" in route.handlers and "HEAD" not in route.handlers:
                allow = sorted([*allow, "HEAD"])
            return _error_response(
                405, f"method {method} not allowed on {request.path}", {"Allow": ", ".join(allow)}
            )
        request.params = params
        try:
            response = await handler(request)
        except HttpError as exc:
            return _error_response(exc.status, exc.message, exc.headers)
        except Exception:
            log.exception("handler for %s %s failed", method, request.path)
            return _error_response(500, "internal server error")
        if not isinstance(response, HttpResponse):
            log.error(
                "handler for %s %s returned %r, not an HttpResponse", method, request.path, response
            )
            return _error_response(500, "internal server error")
        return response


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Decode a chunked body (RFC 9112 §7.1), discarding extensions and trailers."""
    parts: list[bytes] = []
    total = 0
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(400, "chunk size line too long", linger=True) from None
        size_s = line[:-2].split(b";", 1)[0].strip()
        try:
            if not size_s or not all(c in b"0123456789abcdefABCDEF" for c in size_s):
                raise ValueError
            size = int(size_s, 16)
        except ValueError:
            raise _BadRequest(400, "malformed chunk size", linger=True) from None
        if size == 0:
            break
        total += size
        if total > limit:
            raise _BadRequest(413, f"body larger than {limit} bytes", linger=True)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise _BadRequest(400, "chunk not followed by CRLF", linger=True)
    trailer_bytes = 0
    while True:  # trailer section, ends with an empty line
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(431, "trailer too large", linger=True) from None
        if line == b"\r\n":
            break
        trailer_bytes += len(line)
        if trailer_bytes > MAX_HEADER_BYTES:
            raise _BadRequest(431, "trailer too large", linger=True)
    return b"".join(parts)


# -- client -----------------------------------------------------------------------------


def _host_header(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _encode_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: Mapping[str, str] | None,
) -> bytes:
    method = method.upper()
    hdrs: dict[str, str] = {"Host": _host_header(host, port)}
    for name, value in (headers or {}).items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"request header {name!r} contains CR or LF")
        lname = name.lower()
        if lname in ("content-length", "transfer-encoding", "connection"):
            continue
        if lname == "host":
            hdrs.pop("Host", None)
        hdrs[name] = value
    if body is not None or method in ("POST", "PUT", "PATCH"):
        hdrs["Content-Length"] = str(len(body or b""))
    hdrs["Connection"] = "close"
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in hdrs.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def _read_response(
    reader: asyncio.StreamReader, method: str, where: str
) -> tuple[int, bytes]:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ConnectionError(f"malformed HTTP status line from {where}: {lines[0]!r}")
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            continue  # interim response (RFC 9110 §15.2)
        break
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ConnectionError(f"malformed HTTP header from {where}: {line!r}")
        headers[name.decode("latin-1").strip().lower()] = value.strip().decode("latin-1")
    if method.upper() == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
        return status, b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        try:
            return status, await _read_chunked(reader, MAX_RESPONSE_BYTES)
        except _BadRequest as exc:
            raise ConnectionError(f"bad chunked response from {where}: {exc.message}") from None
    cl = headers.get("content-length")
    if cl is not None:
        if not cl.isdigit() or int(cl) > MAX_RESPONSE_BYTES:
            raise ConnectionError(f"bad Content-Length from {where}: {cl!r}")
        return status, await reader.readexactly(int(cl))
    body = await reader.read(MAX_RESPONSE_BYTES + 1)
    while len(body) <= MAX_RESPONSE_BYTES:
        more = await reader.read(MAX_RESPONSE_BYTES + 1 - len(body))
        if not more:
            return status, body
        body += more
    raise ConnectionError(f"response from {where} larger than {MAX_RESPONSE_BYTES} bytes")


async def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request on a fresh connection; returns ``(status, body)``.

    Raises :class:`OSError`: ``ConnectionError`` (refused, reset, malformed response) or
    ``TimeoutError`` when the whole exchange takes longer than ``timeout`` seconds.
    """
    where = _host_header(host, port)
    data = _encode_request(host, port, method, path, body, headers)
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEADER_BYTES * 4)
        try:
            writer.write(data)
            await writer.drain()
            return await _read_response(reader, method, where)
        except asyncio.IncompleteReadError:
            raise ConnectionError(f"{where} closed the connection mid-response") from None
        except asyncio.LimitOverrunError:
            raise ConnectionError(f"response header from {where} too large") from None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def http_request_sync(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """Blocking :func:`http_request` for CLIs (``http.client``); same errors."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method.upper(), path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return resp.status, resp.read()
    except http.client.HTTPException as exc:
        raise ConnectionError(
            f"bad HTTP response from {_host_header(host, port)}: {exc!r}"
        ) from exc
    finally:
        conn.close()

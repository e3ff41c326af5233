"""A throw-away redis-server for integration tests (imported explicitly, not a conftest).

:func:`redis_server` starts ``redis-server`` on a free loopback port with persistence off,
waits until it answers PING, and stops it by its PID afterwards. It raises
:class:`RedisUnavailable` when no ``redis-server`` binary is installed, so tests can skip
with that reason.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class RedisUnavailable(Exception):
    pass


@dataclass
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def command(self, *args: str) -> bytes:
        """Send one command (RESP) and return the raw first reply line."""
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        with socket.create_connection((self.host, self.port), timeout=2) as sock:
            sock.sendall(b"".join(parts))
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply

    def flush(self) -> None:
        assert self.command("FLUSHALL").startswith(b"+OK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _start(exe: str, host: str, workdir: str) -> RedisServer:
    port = free_port(host)
    process = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            workdir,
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = RedisServer(host, port, process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"redis-server exited with {process.returncode}: {out.strip()}")
        with contextlib.suppress(OSError):
            if server.command("PING").startswith(b"+PONG"):
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server on port {port} did not answer PING in {START_TIMEOUT}s")


@contextlib.contextmanager
def redis_server(host: str = "127.0.0.1") -> Iterator[RedisServer]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise RedisUnavailable("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="nfv-redis-") as workdir:
        server: RedisServer | None = None
        for attempt in range(3):  # the free port may be taken between probe and bind
            try:
                server = _start(exe, host, workdir)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        assert server is not None
        try:
            yield server
        finally:
            server.stop()
            if server.process.stdout is not None:
                server.process.stdout.close()

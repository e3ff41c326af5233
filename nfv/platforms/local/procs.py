"""Processes and sockets as Linux shows them in /proc: identity, CPU time, listeners, ports.

A PID alone does not identify a process (PIDs are reused), so the local platform records
every process it starts as a :class:`ProcessRef` — PID plus the start time from
``/proc/<pid>/stat`` (field 22, in clock ticks since boot, proc(5)) — and signals a PID only
after checking that both still match. CPU time comes from the same file (utime + stime,
fields 14 and 15). Listening sockets come from ``/proc/net/{tcp,udp}`` (proc(5)).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")

# TCP states in /proc/net/tcp (include/net/tcp_states.h): 0A is LISTEN, 07 is CLOSE (which
# an unconnected, bound UDP socket shows).
_TCP_LISTEN = "0A"
_UDP_BOUND = "07"


@dataclass(frozen=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` the platform uses (proc(5))."""

    pid: int
    state: str
    pgrp: int
    session: int
    utime: int
    stime: int
    start_time: int

    @property
    def cpu_ticks(self) -> int:
        return self.utime + self.stime


def read_stat(pid: int) -> ProcStat | None:
    """Parse ``/proc/<pid>/stat``; None when the process does not exist (or is gone)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    except OSError:
        return None
    # comm (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
    end = raw.rfind(")")
    if end < 0:
        return None
    rest = raw[end + 2 :].split()
    try:
        # rest[0] is field 3 (state); field n is rest[n - 3].
        return ProcStat(
            pid=pid,
            state=rest[0],
            pgrp=int(rest[2]),
            session=int(rest[3]),
            utime=int(rest[11]),
            stime=int(rest[12]),
            start_time=int(rest[19]),
        )
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class ProcessRef:
    """A process we started: its PID and its start time (clock ticks after boot)."""

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        stat = read_stat(pid)
        return None if stat is None else cls(pid, stat.start_time)

    def alive(self) -> bool:
        """True if this very process still runs (a zombie counts as gone)."""
        stat = read_stat(self.pid)
        return stat is not None and stat.start_time == self.start_time and stat.state not in "ZX"

    def signal(self, sig: int) -> bool:
        """Send *sig* if the PID is still this process; returns whether it was sent."""
        if not self.alive():
            return False
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def terminate(self) -> bool:
        return self.signal(signal.SIGTERM)

    def kill(self) -> bool:
        return self.signal(signal.SIGKILL)


def session_members(session: int, *, exclude: int | None = None) -> list[ProcessRef]:
    """Live processes in session *session* (a session ID is not reused while it has members).

    The supervisor is a session leader, so the replicas it started are in its session even
    after it died; the platform uses this only as a backstop after ``kill -9`` of the
    supervisor, for a replica spawned in the instant before its PID was recorded.
    """
    out: list[ProcessRef] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == exclude:
            continue
        stat = read_stat(pid)
        if stat is not None and stat.session == session and stat.state not in "ZX":
            out.append(ProcessRef(pid, stat.start_time))
    return out


def boot_time() -> float:
    """Seconds since the epoch at boot (``btime`` in /proc/stat)."""
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


# -- sockets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    transport: str
    address: str
    port: int
    inode: int


def _decode_ipv4(hex_addr: str) -> tuple[str, int]:
    host, port = hex_addr.split(":")
    # The address is the in-memory __be32 printed as a host-order (little-endian) integer.
    ip = socket.inet_ntoa(int(host, 16).to_bytes(4, "little"))
    return ip, int(port, 16)


def listeners(network: ipaddress.IPv4Network | None = None) -> list[Listener]:
    """TCP sockets in LISTEN and bound UDP sockets, optionally only those in *network*."""
    found: list[Listener] = []
    for transport, wanted in (("tcp", _TCP_LISTEN), ("udp", _UDP_BOUND)):
        try:
            lines = (PROC / "net" / transport).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10 or parts[3] != wanted:
                continue
            ip, port = _decode_ipv4(parts[1])
            if network is not None and ipaddress.IPv4Address(ip) not in network:
                continue
            found.append(Listener(transport, ip, port, int(parts[9])))
    return found


def port_in_use(address: str, port: int, transport: str) -> str | None:
    """Try to bind (*address*, *port*); None if free, else the reason (e.g. strerror).

    TCP is probed with SO_REUSEADDR (as every server sets it), so connections in TIME_WAIT
    do not count but any listener does; UDP without it, so any bound socket counts. Neither
    uses SO_REUSEPORT, which would let the probe share a port with a live NF.
    """
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
            if kind == socket.SOCK_STREAM:
                sock.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"address {address} is not available on this host"
            return exc.strerror or str(exc)
    return None


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

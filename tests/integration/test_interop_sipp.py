"""Interop with a real SIP stack: sipp (Debian sip-tester) registers with MD5 digest through
the P-CSCF (RFC 3261 §22, TS 24.229 §5.1.1.2) and places a call INVITE → 100/180/200 → ACK →
BYE → 200 across the whole core, over UDP and over TCP (``-t t1``).

The scenarios are loadtests/sipp/*.xml. Each sipp run is bounded (``-timeout`` with
``-timeout_error``), bound to 127.0.0.1, never reads stdin, and its outcome is read from its
statistics file (``-trace_stat``) and message trace (``-trace_msg``).
"""

from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from network_functions.runtime.metrics import parse_metrics

from .corelab import REPO, CoreLab, running_core

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) not installed"),
]

SCENARIOS = REPO / "loadtests" / "sipp"
# sipp's own bound on a run (-timeout, with -timeout_error making it a failure), and ours on
# the process, a little longer so sipp gets to write its statistics.
SIPP_TIMEOUT_S = 20
PROCESS_TIMEOUT_S = SIPP_TIMEOUT_S + 10


@dataclass
class SippRun:
    returncode: int
    stats: dict[str, str]
    received: list[str]  # first lines of the messages sipp received, in order
    sent: list[str]
    output: str

    @property
    def successful(self) -> int:
        return int(self.stats["SuccessfulCall(C)"])

    @property
    def failed(self) -> int:
        return int(self.stats["FailedCall(C)"])


def _first_lines(trace: Path) -> tuple[list[str], list[str]]:
    """Split a sipp -trace_msg file into the first lines of received and sent messages."""
    received: list[str] = []
    sent: list[str] = []
    if not trace.exists():
        return received, sent
    lines = trace.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        into = (
            received if " message received" in line else sent if " message sent" in line else None
        )
        if into is None:
            continue
        for nxt in lines[i + 1 :]:
            if nxt.strip():
                into.append(nxt.strip())
                break
    return received, sent


def sipp_command(
    workdir: Path,
    name: str,
    scenario: str,
    inf: Path,
    port: int,
    transport: str,
    *,
    target: str | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """One bounded sipp run of one call, bound to 127.0.0.1, tracing to files named *name*."""
    return [
        "sipp",
        *([target] if target else []),
        *("-sf", str(SCENARIOS / scenario), "-inf", str(inf), "-m", "1"),
        *("-i", "127.0.0.1", "-p", str(port), "-t", "u1" if transport == "udp" else "t1"),
        *("-timeout", f"{SIPP_TIMEOUT_S}s", "-timeout_error", "-nostdin"),
        *("-trace_stat", "-stf", str(workdir / f"{name}_stat.csv")),
        *("-trace_msg", "-message_file", str(workdir / f"{name}_messages.log")),
        *("-trace_err", "-error_file", str(workdir / f"{name}_errors.log")),
        *extra,
    ]


def run_sipp(workdir: Path, name: str, cmd: list[str]) -> SippRun:
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )
    return collect(workdir, name, proc.returncode, proc.stdout)


def collect(workdir: Path, name: str, rc: int, stdout: bytes) -> SippRun:
    """A finished sipp run: exit code, last statistics row, traced messages, output."""
    stat = workdir / f"{name}_stat.csv"
    errors = workdir / f"{name}_errors.log"
    rows: list[dict[str, str]] = []
    if stat.exists():
        with stat.open() as f:
            rows = list(csv.DictReader(f, delimiter=";"))
    received, sent = _first_lines(workdir / f"{name}_messages.log")
    output = stdout.decode(errors="replace")
    if errors.exists():
        output += "\n--- errors:\n" + errors.read_text(errors="replace")[-3000:]
    return SippRun(rc, rows[-1] if rows else {}, received, sent, output[-6000:])


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP (sipp -p binds both for -t t1)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def port_bound(port: int, transport: str) -> bool:
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreLab]:
    with running_core(tmp_path_factory.mktemp("core")) as lab:
        yield lab


def _csv(path: Path, core: CoreLab, me: int, peer: int) -> Path:
    """A one-line sipp injection file: MSISDN;IMPI;password;domain;peer MSISDN."""
    sub, other = core.subscriber(me), core.subscriber(peer)
    path.write_text(
        "SEQUENTIAL\n"
        f"{sub['msisdn']};{sub['imsi']}@{core.domain};{sub['password']};{core.domain};"
        f"{other['msisdn']}\n"
    )
    return path


@pytest.mark.parametrize(("transport", "caller", "callee"), [("udp", 0, 1), ("tcp", 2, 3)])
def test_sipp_registers_and_calls_through_the_core(
    core: CoreLab, tmp_path: Path, transport: str, caller: int, callee: int
) -> None:
    pcscf = "{}:{}".format(*core.pcscf)
    caller_csv = _csv(tmp_path / "caller.csv", core, caller, callee)
    callee_csv = _csv(tmp_path / "callee.csv", core, callee, caller)
    caller_port, callee_port = free_port(), free_port()
    try:
        # 1. Both register with MD5 digest (401 challenge, then credentials, 200); -nd: no
        # default BYE/CANCEL if something unexpected comes back.
        for who, inf, port in (
            ("reg_caller", caller_csv, caller_port),
            ("reg_callee", callee_csv, callee_port),
        ):
            cmd = sipp_command(
                tmp_path, who, "register.xml", inf, port, transport, target=pcscf, extra=("-nd",)
            )
            reg = run_sipp(tmp_path, who, cmd)
            assert reg.returncode == 0, reg.output
            assert (reg.successful, reg.failed) == (1, 0), reg.output
            assert [r.split()[1] for r in reg.received] == ["401", "200"], reg.received

        # 2. The callee answers on the port it registered from.
        uas_cmd = sipp_command(
            tmp_path, "uas", "uas_callee.xml", callee_csv, callee_port, transport
        )
        uas = subprocess.Popen(
            uas_cmd,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 5
            while not port_bound(callee_port, transport) and time.monotonic() < deadline:
                assert uas.poll() is None, uas.communicate()[0].decode(errors="replace")
                time.sleep(0.05)
            # 3. The caller calls the callee's public identity through the P-CSCF.
            uac_cmd = sipp_command(
                tmp_path, "uac", "uac_call.xml", caller_csv, caller_port, transport, target=pcscf
            )
            uac = run_sipp(tmp_path, "uac", uac_cmd)
            uas_out, _ = uas.communicate(timeout=PROCESS_TIMEOUT_S)
        finally:
            if uas.poll() is None:
                uas.kill()
                uas.wait()
        uas_run = collect(tmp_path, "uas", uas.returncode, uas_out)
    except BaseException:
        print(core.logs())
        raise

    assert uac.returncode == 0, uac.output
    assert (uac.successful, uac.failed) == (1, 0), uac.output
    assert [r.split()[1] for r in uac.received] == ["100", "180", "200", "200"], uac.received
    assert [s.split()[0] for s in uac.sent] == ["INVITE", "ACK", "BYE"], uac.sent
    assert uas_run.returncode == 0, uas_run.output
    assert (uas_run.successful, uas_run.failed) == (1, 0), uas_run.output
    assert [r.split()[0] for r in uas_run.received] == ["INVITE", "ACK", "BYE"], uas_run.received
    assert [s.split()[1] for s in uas_run.sent] == ["180", "200", "200"], uas_run.sent
    # The callee got the INVITE over the transport it registered with.
    assert f"transport={transport}" in uas_run.received[0].lower()

    pcscf_replica = next(r for r in core.replicas if r.nf == "pcscf")
    m = parse_metrics(pcscf_replica.metrics())
    assert m[("pcscf_sessions_total", (("code", "200"), ("leg", "orig")))] >= 1
    assert m[("pcscf_sessions_total", (("code", "200"), ("leg", "term")))] >= 1

"""Interop with a real Diameter stack: freeDiameter (Debian ``freeDiameterd``) connects to our
HSS over TCP, completes capabilities exchange (RFC 6733 §5.3, CER/CEA), keeps the connection
alive with device watchdogs (§5.5, DWR/DWA, Tw = 6 s) and leaves with DPR/DPA (§5.4).

Checked on both sides: freeDiameter's debug trace (its peer state machine reaches
STATE_OPEN, DWR sent and DWA received), our HSS's ``diameter_peers`` gauge and log line,
and — when tshark is installed — the packets on the loopback interface.

freeDiameter 1.2.1 binds its listening socket to 0.0.0.0 whatever ``ListenOn`` says, so it
gets an unused port (never 3868); its TLS listener is off (``SecPort = 0``) and the peer
link to us is plain TCP (``No_TLS``). It starts without TLS credentials when TLS is unused.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from network_functions.runtime.metrics import parse_metrics

from .corelab import CoreLab, Replica, lab_values

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("freeDiameterd") is None,
        reason="freeDiameterd not installed (Debian package freediameterd)",
    ),
]

REALM = "ims.mnc001.mcc001.3gppnetwork.org"
FD_IDENTITY = f"fd-interop.{REALM}"  # inside the realm: the HSS's allowlist accepts it
HSS_IDENTITY = f"hss.{REALM}"
TW_TIMER_S = 6  # freeDiameter's minimum watchdog interval (RFC 3539 §3.4.1: Tw ≥ 6 s)
# How long to wait for the first DWA: Tw plus jitter (±2 s) plus margin.
WATCHDOG_WAIT_S = TW_TIMER_S + 10
CMD_CER, CMD_DWR, CMD_DPR = 257, 280, 282


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def unused_port() -> int:
    """A TCP port free on every address (freeDiameter binds 0.0.0.0), never 3868."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port: int = s.getsockname()[1]
        if port != 3868:
            return port


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process this test started, by its PID."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peers(hss: Replica) -> float:
    return parse_metrics(hss.metrics())[("diameter_peers", ())]


@pytest.fixture
def hss_lab(tmp_path: Path) -> Iterator[tuple[CoreLab, Replica]]:
    """Only the HSS: every Diameter peer it sees is the freeDiameter under test."""
    lab = CoreLab(tmp_path / "core", lab_values())
    try:
        hss = lab.start("hss")
        lab.wait_ready()
        yield lab, hss
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


def fd_config(
    path: Path, hss_address: str, port: int, identity: str = FD_IDENTITY, realm: str = REALM
) -> Path:
    path.write_text(
        f"""# freeDiameter peer for the interop test (freeDiameter 1.2 configuration syntax).
Identity = "{identity}";
Realm = "{realm}";
Port = {port};
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
TwTimer = {TW_TIMER_S};
TcTimer = 5;
ConnectPeer = "{HSS_IDENTITY}" {{ ConnectTo = "{hss_address}"; Port = 3868; No_TLS; No_SCTP; }};
"""
    )
    return path


def settle(pcap: Path, quiet: float = 0.5, limit: float = 5.0) -> None:
    """Wait until the capture file stops growing: dumpcap reads the kernel's buffer and writes
    in blocks, and a SIGINT too soon after the last packets loses them."""
    deadline = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = pcap.stat().st_size if pcap.exists() else 0
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def start_capture(tmp: Path, hss_address: str) -> tuple[subprocess.Popen[bytes], Path] | None:
    if shutil.which("tshark") is None:
        return None
    pcap, log = tmp / "diameter.pcap", tmp / "tshark.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "tshark",
                "-i",
                "lo",
                "-f",
                f"tcp port 3868 and host {hss_address}",
                "-a",
                "duration:60",  # a bound, in case the test dies before stopping it
                "-w",
                str(pcap),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "Capturing on" in log.read_text(errors="replace"), 15, "tshark")
    except AssertionError:
        stop(proc)
        raise AssertionError("tshark did not start capturing:\n" + log.read_text()) from None
    time.sleep(0.5)
    return proc, pcap


def decode(pcap: Path) -> list[tuple[int, int, bool, str, str]]:
    """(tcp stream, command code, is request, Origin-Host, Result-Code) per Diameter message."""
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-d",
            "tcp.port==3868,diameter",
            "-Y",
            "diameter",
            "-T",
            "fields",
            "-E",
            "occurrence=f",
            "-e",
            "tcp.stream",
            "-e",
            "diameter.cmd.code",
            "-e",
            "diameter.flags.request",
            "-e",
            "diameter.Origin-Host",
            "-e",
            "diameter.Result-Code",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=True,
    )
    rows = []
    for line in out.stdout.decode().splitlines():
        stream, code, request, origin, result = (line.split("\t") + [""] * 5)[:5]
        rows.append((int(stream), int(code), request in ("1", "True"), origin, result))
    return rows


def start_fd(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["freeDiameterd", "-c", str(conf), "-dd"],
            cwd=conf.parent,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_freediameter_peers_with_our_hss(hss_lab: tuple[CoreLab, Replica], tmp_path: Path) -> None:
    lab, hss = hss_lab
    hss_address = lab.address("hss")
    assert peers(hss) == 0
    capture = start_capture(tmp_path, hss_address)
    conf = fd_config(tmp_path / "freeDiameter.conf", hss_address, unused_port())
    fd_log = tmp_path / "freeDiameterd.log"
    fd = start_fd(conf, fd_log)

    def fd_trace() -> str:
        return fd_log.read_text(errors="replace")

    try:
        # CER/CEA: freeDiameter's peer state machine opens; our HSS counts and logs the peer.
        wait_for(lambda: f"'STATE_OPEN'\t'{HSS_IDENTITY}'" in fd_trace(), 15, "STATE_OPEN")
        assert "No TLS protection negotiated" in fd_trace()
        wait_for(lambda: peers(hss) == 1, 5, "diameter_peers == 1")
        assert f"Diameter peer {FD_IDENTITY} connected" in hss.log.read_text()

        # DWR/DWA after Tw of silence: freeDiameter sends a DWR and gets our DWA (cmd 280,
        # answer flags ----), and the connection stays open.
        sent_dwr = f"SENT to '{HSS_IDENTITY}': 'Device-Watchdog-Request'"
        got_dwa = f"RCV from '{HSS_IDENTITY}': (no model)0/{CMD_DWR} f:----"
        got_dwa_model = f"RCV from '{HSS_IDENTITY}': 'Device-Watchdog-Answer'"
        wait_for(
            lambda: (
                sent_dwr in fd_trace() and (got_dwa in fd_trace() or got_dwa_model in fd_trace())
            ),
            WATCHDOG_WAIT_S,
            "a DWR answered by a DWA",
        )
        assert fd.poll() is None, fd_trace()
        assert peers(hss) == 1
        assert "STATE_SUSPECT" not in fd_trace()

        # DPR/DPA when freeDiameter shuts down; the HSS drops the peer.
        stop(fd)
        assert f"SENT to '{HSS_IDENTITY}': 'Disconnect-Peer-Request'" in fd_trace()
        wait_for(lambda: peers(hss) == 0, 5, "diameter_peers == 0")
    except BaseException:
        print("--- freeDiameterd:\n" + fd_trace()[-6000:])
        raise
    finally:
        stop(fd)
        if capture is not None:
            settle(capture[1])
            stop(capture[0], signal.SIGINT)

    if capture is None:
        return  # tshark is not installed: the traces above are the evidence
    rows = decode(capture[1])
    fd_streams = {
        s for s, code, req, origin, _ in rows if code == CMD_CER and origin == FD_IDENTITY
    }
    assert len(fd_streams) == 1, rows
    flow = [(code, req, origin, result) for s, code, req, origin, result in rows if s in fd_streams]
    assert flow[0] == (CMD_CER, True, FD_IDENTITY, "")
    assert flow[1] == (CMD_CER, False, HSS_IDENTITY, "2001")
    assert (CMD_DWR, True, FD_IDENTITY, "") in flow
    assert (CMD_DWR, False, HSS_IDENTITY, "2001") in flow
    assert flow.index((CMD_DWR, True, FD_IDENTITY, "")) < flow.index(
        (CMD_DWR, False, HSS_IDENTITY, "2001")
    )
    assert (CMD_DPR, True, FD_IDENTITY, "") in flow
    assert flow[-1] == (CMD_DPR, False, HSS_IDENTITY, "2001")


def test_a_peer_outside_the_realm_is_refused(
    hss_lab: tuple[CoreLab, Replica], tmp_path: Path
) -> None:
    """The default allowlist is "hosts inside our realm" (RFC 6733 §5.3: CEA with
    DIAMETER_UNKNOWN_PEER otherwise). A host of another realm whose name merely ends with our
    realm's text — ``hss.notims.mnc001...`` in realm ``notims.mnc001...`` — is outside it."""
    lab, hss = hss_lab
    outsider_realm = "not" + REALM
    outsider = f"peer.{outsider_realm}"
    conf = fd_config(
        tmp_path / "freeDiameter.conf",
        lab.address("hss"),
        unused_port(),
        identity=outsider,
        realm=outsider_realm,
    )
    fd_log = tmp_path / "freeDiameterd.log"
    fd = start_fd(conf, fd_log)
    try:
        wait_for(
            lambda: f"Diameter peer {outsider}" in hss.log.read_text(),
            15,
            "the HSS to log the outsider's CER",
        )
        time.sleep(0.5)
        log = hss.log.read_text()
        assert f"refusing Diameter peer {outsider} (not in the allowlist)" in log, log[-2000:]
        assert f"Diameter peer {outsider} connected" not in log
        assert peers(hss) == 0
        assert f"'STATE_OPEN'\t'{HSS_IDENTITY}'" not in fd_log.read_text(errors="replace")
    except BaseException:
        print("--- freeDiameterd:\n" + fd_log.read_text(errors="replace")[-6000:])
        raise
    finally:
        stop(fd)

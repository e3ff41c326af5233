"""Load benchmark of the IMS core with sipp: authenticated registrations/s and call setups/s
through the whole chain (P-CSCF → I-CSCF → S-CSCF, Cx to the HSS), with Kamailio as the
reference registrar on the same machine and the same sipp scenario.

Run from the repository root: ``python benchmarks/ims_load.py`` (about 5-6 minutes; see
``--help`` for rates, durations and ``--quick``). It starts the real NF processes with the
integration lab (tests/integration/corelab.py) on a private 127.X.Y.0/24 block, provisions
``--subscribers`` subscribers through the values' subscriber range, and drives sipp
(Debian sip-tester) from 127.0.0.1:

1. calls: half of the subscribers register from one sipp UDP port and call, the other half
   register from the port where one sipp UAS (loadtests/sipp/uas_callee.xml) then answers
   every call; uac_call.xml places INVITE/ACK/BYE calls at each ``--call-rates`` step;
2. registrations: register.xml (REGISTER, 401 MD5 qop=auth, REGISTER with credentials, 200)
   at each ``--reg-rates`` step, open loop (``-r``/``-rp 1000``), for ``--step-seconds``;
3. Kamailio (benchmarks/kamailio/registrar.cfg: auth + usrloc + registrar, passwords from a
   hash table loaded from db_text) on a free loopback port, the registration steps again.

For each step: achieved rate (successful sipp calls / sipp run time), failures, sipp
retransmissions, p50/p95/p99 latency from sipp's per-call response times (``-trace_rtt``:
first REGISTER → 200, or INVITE → 200), CPU of every NF (and of sipp, which shares the
cores), and the kernel's UDP receive-buffer drops. Everything started here is stopped by
its PID (or the process group it was started in). Traffic stays on 127.0.0.0/8.
``--profile NF`` runs py-spy on one NF during the registration step at ``--profile-rate``
and prints its hottest frames. Results are printed and written to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import datetime
import importlib.metadata
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration.corelab import CoreLab, lab_values  # noqa: E402

SCENARIOS = REPO / "loadtests" / "sipp"
KAMAILIO_CFG = REPO / "benchmarks" / "kamailio" / "registrar.cfg"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NFS = ("pcscf", "icscf", "scscf", "hss")
# sipp's receive/send buffers: below ~8,000 messages/s sipp itself would drop replies.
SIPP_BUFFER = 4194304
# Extra seconds a sipp run may take beyond its offered traffic before it is cut off: an
# overloaded step ends with retransmissions (T1 = 500 ms, doubling) and their timeouts.
SIPP_TAIL_S = 15
# The closed-loop registration step (at most --closed-limit registrations in flight).
CLOSED_KIND = "register-closed"
# A step is "clean" when nothing failed and the achieved rate is this close to the offered.
CLEAN_RATIO = 0.97
# ... and when the run ended within this many seconds after the offered window.
CLEAN_TAIL_S = 3.0


# -- measurements ---------------------------------------------------------------------------
@dataclass
class Step:
    system: str  # "nfv" or "kamailio"
    kind: str  # "register" or "call"
    rate: int  # offered, per second
    created: int = 0
    ok: int = 0
    failed: int = 0
    retrans: int = 0
    elapsed: float = 0.0
    seconds: int = 0  # how long the rate was offered
    sustained: float = 0.0  # successes/s over the offered window (sipp's 1 s periods)
    latencies: list[float] = field(default_factory=list)  # ms
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    udp_drops: int = 0
    others: float = 0.0  # CPU of the rest of the machine during the step, % of one core
    returncode: int = 0

    @property
    def achieved(self) -> float:
        if self.sustained:
            return self.sustained
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def unfinished(self) -> int:
        """Offered calls that neither succeeded nor failed when sipp was cut off."""
        return max(0, self.rate * self.seconds - self.ok - self.failed)

    @property
    def clean(self) -> bool:
        """Every offered call succeeded at the offered pace, with no retransmission (each
        transaction answered within T1 = 500 ms), and none dragged on."""
        return (
            self.failed == 0
            and self.retrans == 0
            and self.ok >= self.rate * self.seconds
            and self.achieved >= CLEAN_RATIO * self.rate
            and self.elapsed <= self.seconds + CLEAN_TAIL_S
        )

    def percentile(self, q: int) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]

    def cpu_ms_per_ok(self, names: tuple[str, ...]) -> float | None:
        if not self.ok:
            return None
        return sum(self.cpu.get(n, 0.0) for n in names) / 100 * self.elapsed / self.ok * 1000


def proc_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (Kamailio's main process and its forked workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def udp_rcvbuf_errors() -> int:
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()]
    udp = [ln for ln in lines if ln and ln[0] == "Udp:"]
    header, values = udp[0], udp[1]
    return int(values[header.index("RcvbufErrors")])


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot (/proc/stat; steal counts as busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU of named process sets over an interval, as % of one core, and of the machine."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.start = {n: sum(proc_ticks(p) for p in pids) for n, pids in groups.items()}
        self.machine0 = machine_ticks()
        self.t0 = time.monotonic()
        self.machine_pct = 0.0  # all CPUs busy, as % of one core (200 = both of 2 cores)

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        out = {}
        for name, pids in self.groups.items():
            ticks = sum(proc_ticks(p) for p in pids) - self.start[name]
            out[name] = 100.0 * ticks / CLK_TCK / wall if wall > 0 else 0.0
        busy, total = machine_ticks()
        d_busy, d_total = busy - self.machine0[0], total - self.machine0[1]
        ncpu = os.cpu_count() or 1
        self.machine_pct = 100.0 * ncpu * d_busy / d_total if d_total > 0 else 0.0
        return out


# Machine CPU (% of one core) below which the machine counts as quiet between steps, and
# the CPU of other processes during a step above which the report flags the step.
QUIET_MACHINE_PCT = 25.0
NOISY_OTHERS_PCT = 20.0


def settle(
    groups: dict[str, list[int]],
    *,
    idle_pct: float = 8.0,
    limit: float = 15.0,
    quiet_wait: float = 5.0,
) -> bool:
    """Wait until every process set is nearly idle (a step's backlog is drained), then a
    little for the machine to be quiet (someone else's job); False if it stayed busy."""
    deadline = time.monotonic() + limit
    ours_idle_at: float | None = None
    while time.monotonic() < deadline:
        meter = CpuMeter(groups)
        time.sleep(0.5)
        ours = meter.stop()
        if not all(v < idle_pct for v in ours.values()):
            ours_idle_at = None
            continue
        if meter.machine_pct < QUIET_MACHINE_PCT:
            return True
        ours_idle_at = ours_idle_at or time.monotonic()
        if time.monotonic() - ours_idle_at > quiet_wait:
            return False
    return False


# -- sipp -------------------------------------------------------------------------------------
def free_port() -> int:
    """A port free on 127.0.0.1 for UDP (sipp's -p)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def sipp_command(
    target: str | None,
    scenario: str,
    inf: Path,
    port: int,
    *,
    rate: int | None = None,
    calls: int | None = None,
    timeout_s: int,
    extra: tuple[str, ...] = (),
) -> list[str]:
    cmd = ["sipp"] + ([target] if target else [])
    cmd += ["-sf", str(SCENARIOS / scenario), "-inf", str(inf), "-i", "127.0.0.1"]
    cmd += ["-p", str(port), "-t", "u1", "-buff_size", str(SIPP_BUFFER), "-nostdin"]
    if rate is not None:
        cmd += ["-r", str(rate), "-rp", "1000"]
    if calls is not None:
        cmd += ["-m", str(calls)]
    cmd += ["-timeout", f"{timeout_s}s", "-trace_stat", "-stf", "stat.csv", "-fd", "1"]
    cmd += ["-trace_rtt", "-rtt_freq", "10", "-trace_err", "-error_file", "errors.log"]
    return cmd + list(extra)


def _epoch(value: str) -> float:
    return float(value.split("\t")[-1])


def read_sipp(workdir: Path, step: Step) -> None:
    """Fill a step from sipp's statistics file and per-call response times."""
    stat = workdir / "stat.csv"
    if stat.exists():
        with stat.open() as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        if rows:
            # Successes per second over the offered window, from the 1 s periods (-fd 1),
            # leaving out the first period (ramp-up) and the tail after the last call.
            done = total = 0.0
            for row in rows:
                t = _epoch(row["CurrentTime"]) - _epoch(row["StartTime"])
                period = _epoch(row["CurrentTime"]) - _epoch(row["LastResetTime"])
                if 1.5 <= t <= step.seconds + 0.5 and period > 0.5:
                    done += int(row["SuccessfulCall(P)"])
                    total += period
            step.sustained = done / total if total else 0.0
            last = rows[-1]
            step.created = int(last["OutgoingCall(C)"]) + int(last["IncomingCall(C)"])
            step.ok = int(last["SuccessfulCall(C)"])
            step.failed = int(last["FailedCall(C)"])
            step.retrans = int(last["Retransmissions(C)"])
            step.elapsed = _epoch(last["CurrentTime"]) - _epoch(last["StartTime"])
    for rtt in workdir.glob("*_rtt.csv"):
        with rtt.open() as f:
            for row in csv.DictReader(f, delimiter=";"):
                with contextlib.suppress(KeyError, ValueError, TypeError):
                    step.latencies.append(float(row["response_time_ms"]))


def run_sipp_step(
    step: Step, workdir: Path, cmd: list[str], groups: dict[str, list[int]], timeout_s: float
) -> Step:
    workdir.mkdir(parents=True, exist_ok=True)
    drops0 = udp_rcvbuf_errors()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter = CpuMeter(groups)
    with (workdir / "sipp.out").open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            step.returncode = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            step.returncode = proc.wait()
    step.cpu = meter.stop()
    wall = time.monotonic() - meter.t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sipp_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    step.udp_drops = udp_rcvbuf_errors() - drops0
    read_sipp(workdir, step)
    if wall > 0:
        step.cpu["sipp"] = 100.0 * sipp_cpu / wall
    # Everything else the machine did meanwhile (other users' jobs skew the figures).
    step.others = max(0.0, meter.machine_pct - sum(step.cpu.values()))
    return step


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
    return path


def subscriber_row(sub: dict[str, str], domain: str, peer: str = "") -> str:
    """One sipp injection line: MSISDN;IMPI;password;domain;peer MSISDN."""
    return f"{sub['msisdn']};{sub['imsi']}@{domain};{sub['password']};{domain};{peer}"


# -- the systems under test ---------------------------------------------------------------------
@contextlib.contextmanager
def ims_core(
    root: Path, subscribers: int, store: str
) -> Iterator[tuple[CoreLab, dict[str, list[int]]]]:
    """The core with its processes to meter (the NFs, and redis-server when used)."""
    base = lab_values()["subscribers"][0]
    values = lab_values(subscribers=[dict(base, count=subscribers)])
    redis_ctx: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if store == "redis":
        from tests.integration.conftest_redis import redis_server

        redis_ctx = redis_server()
    with redis_ctx as redis:
        url = redis.url() if redis is not None else "memory://" if store == "memory" else ""
        lab = CoreLab(root, values, store_url=url)
        try:
            lab.start_core()
            lab.wait_ready(timeout=60)
            groups = {r.nf: [r.proc.pid] for r in lab.replicas}
            if redis is not None:
                groups["redis"] = [redis.process.pid]
            yield lab, groups
        except BaseException:
            print(lab.logs()[-6000:], file=sys.stderr)
            raise
        finally:
            lab.stop_all()


@contextlib.contextmanager
def kamailio(
    workdir: Path, subs: list[dict[str, str]], domain: str, children: int
) -> Iterator[tuple[str, list[int]]]:
    """Kamailio in the foreground (-DD -E) as our child, in its own process group."""
    db = workdir / "db"
    db.mkdir(parents=True, exist_ok=True)
    (db / "version").write_text("table_name(string) table_version(int)\nhtable:2\n")
    lines = [
        "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)"
    ]
    for i, sub in enumerate(subs, 1):
        lines.append(f"{i}:{sub['imsi']}@{domain}:0:0:{sub['password']}:0")
    (db / "htable").write_text("\n".join(lines) + "\n")
    port = free_port()
    log = workdir / "kamailio.log"
    cmd = [
        "kamailio",
        "-f",
        str(KAMAILIO_CFG),
        "-DD",
        "-E",
        "-m",
        "256",
        "-M",
        "16",
        "-w",
        str(workdir),
        "-A",
        f"KAM_LISTEN=udp:127.0.0.1:{port}",
        "-A",
        f'KAM_DBURL="text://{db}"',
        "-A",
        f"KAM_CHILDREN={children}",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 15
        while not udp_bound(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kamailio did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.1)
        time.sleep(1.0)  # workers forked, the hash table loaded
        yield f"127.0.0.1:{port}", group_pids(proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this function started
                proc.wait()


# -- profiling ----------------------------------------------------------------------------------
def start_profile(pid: int, out: Path, seconds: int) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy")
    if exe is None:
        print("py-spy not installed (pip install py-spy): no profile", file=sys.stderr)
        return None
    cmd = [exe, "record", "--format", "raw", "-o", str(out), "--pid", str(pid)]
    cmd += ["-d", str(seconds), "-r", "100", "--nonblocking"]
    return subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def summarise_profile(raw: Path, top: int = 15) -> list[tuple[float, str]]:
    """Hottest frames by own samples; uvloop's run loop (which includes waiting) left out."""
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        leaf = re.sub(r"^.*/(?:lib/python3\.\d+|work/main)/", "", stack.split(";")[-1])
        leaf = re.sub(r" \((?:.*/)?(network_functions|asyncio|json|xml)/", r" (\1/", leaf)
        own[leaf] += n
    busy = total - sum(n for f, n in own.items() if f.startswith("Runner.run "))
    return [
        (100.0 * n / busy, f)
        for f, n in own.most_common(top + 1)
        if not f.startswith("Runner.run ") and busy > 0
    ][:top]


# -- the benchmark ----------------------------------------------------------------------------
@dataclass
class Results:
    steps: list[Step] = field(default_factory=list)
    profile: list[tuple[float, str]] = field(default_factory=list)
    profile_target: str = ""
    notes: list[str] = field(default_factory=list)
    started_s: float = 0.0


def bench_calls(
    args: argparse.Namespace,
    work: Path,
    results: Results,
    lab: CoreLab,
    groups: dict[str, list[int]],
) -> None:
    """Calls between pairs: callers in the first half of the subscribers, callees in the
    second, all callees registered with the port where one sipp UAS answers."""
    pcscf = "{}:{}".format(*lab.pcscf)
    subs, domain = lab.subscribers, lab.domain
    tail = args.step_seconds + SIPP_TAIL_S
    half = len(subs) // 2
    callers, callees = subs[:half], subs[half : 2 * half]
    pairs = write_csv(
        work / "pairs.csv",
        [subscriber_row(a, domain, b["msisdn"]) for a, b in zip(callers, callees, strict=True)],
    )
    callee_csv = write_csv(work / "callees.csv", [subscriber_row(b, domain) for b in callees])
    caller_port, uas_port = free_port(), free_port()
    for name, inf, port in (("callers", pairs, caller_port), ("callees", callee_csv, uas_port)):
        step = Step("nfv", f"register {name}", args.setup_rate)
        cmd = sipp_command(
            pcscf,
            "register.xml",
            inf,
            port,
            rate=args.setup_rate,
            calls=half,
            timeout_s=int(half / args.setup_rate) + SIPP_TAIL_S,
            extra=("-nd",),
        )
        run_sipp_step(step, work / f"setup-{name}", cmd, groups, 120)
        if step.ok != half:
            raise RuntimeError(
                f"registering the {name}: {step.ok}/{half} succeeded (see {work / f'setup-{name}'})"
            )
        settle(groups)
    uas_dir = work / "uas"
    uas_dir.mkdir()
    uas_cmd = sipp_command(
        None,
        "uas_callee.xml",
        callee_csv,
        uas_port,
        timeout_s=len(args.call_rates) * (tail + 20) + 30,
    )
    with (uas_dir / "sipp.out").open("wb") as out:
        uas = subprocess.Popen(
            uas_cmd, cwd=uas_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 5
        while not udp_bound(uas_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        for rate in args.call_rates:
            step = Step("nfv", "call", rate, seconds=args.step_seconds)
            cmd = sipp_command(
                pcscf,
                "uac_call.xml",
                pairs,
                caller_port,
                rate=rate,
                calls=rate * args.step_seconds,
                timeout_s=tail,
            )
            groups_uas = dict(groups, sipp_uas=[uas.pid])
            run_sipp_step(step, work / f"call-{rate}", cmd, groups_uas, tail + 10)
            results.steps.append(step)
            print(row_text(step), flush=True)
            settle(groups)
    finally:
        if uas.poll() is None:
            uas.send_signal(signal.SIGUSR1)  # sipp: stop and exit once calls end
            try:
                uas.wait(10)
            except subprocess.TimeoutExpired:
                uas.kill()
                uas.wait()


def bench_core(args: argparse.Namespace, work: Path, results: Results) -> None:
    with ims_core(work / "core", args.subscribers, args.store) as (lab, groups):
        pcscf = "{}:{}".format(*lab.pcscf)
        subs = lab.subscribers
        domain = lab.domain
        tail = args.step_seconds + SIPP_TAIL_S

        # 1. Calls between pairs: callers in the first half, callees in the second.
        if not args.skip_calls:
            bench_calls(args, work, results, lab, groups)

        # 2. Registrations at increasing rates, every subscriber in turn.
        all_csv = write_csv(work / "all.csv", [subscriber_row(s, domain) for s in subs])
        reg_port = free_port()
        for rate in args.reg_rates:
            step = Step("nfv", "register", rate, seconds=args.step_seconds)
            cmd = sipp_command(
                pcscf,
                "register.xml",
                all_csv,
                reg_port,
                rate=rate,
                calls=rate * args.step_seconds,
                timeout_s=tail,
                extra=("-nd",),
            )
            profiler = None
            raw = work / f"profile-{args.profile}.txt"
            if args.profile and rate == args.profile_rate:
                pid = groups[args.profile][0]
                profiler = start_profile(pid, raw, min(10, args.step_seconds - 2))
            run_sipp_step(step, work / f"register-{rate}", cmd, groups, tail + 10)
            if profiler is not None:
                profiler.wait(30)
                if raw.exists():
                    results.profile = summarise_profile(raw)
                    results.profile_target = f"{args.profile} at {rate} registrations/s offered"
            results.steps.append(step)
            print(row_text(step), flush=True)
            settle(groups)

        # 3. Capacity: sipp keeps at most --closed-limit registrations in flight (closed
        # loop), so the core runs as fast as the CPU it gets allows, without the
        # retransmission storm of an overloaded open-loop step.
        if args.closed_limit > 0:
            rate = args.closed_rate
            step = Step("nfv", CLOSED_KIND, rate, seconds=args.step_seconds)
            cmd = sipp_command(
                pcscf,
                "register.xml",
                all_csv,
                reg_port,
                rate=rate,
                calls=rate * args.step_seconds,
                timeout_s=tail,
                extra=("-nd", "-l", str(args.closed_limit)),
            )
            run_sipp_step(step, work / "register-closed", cmd, groups, tail + 10)
            results.steps.append(step)
            print(row_text(step), flush=True)
            settle(groups)


def bench_kamailio(args: argparse.Namespace, work: Path, results: Results) -> None:
    base = lab_values()["subscribers"][0]
    from nfv.render import expand_subscribers

    values = lab_values(subscribers=[dict(base, count=args.subscribers)])
    subs = expand_subscribers(values)
    domain = values["network"]["ims_domain"]
    all_csv = write_csv(work / "kam-all.csv", [subscriber_row(s, domain) for s in subs])
    tail = args.step_seconds + SIPP_TAIL_S
    with kamailio(work / "kamailio", subs, domain, args.kamailio_children) as (target, pids):
        groups = {"kamailio": pids}
        port = free_port()
        warm = Step("kamailio", "warm-up", 1)
        cmd = sipp_command(
            target, "register.xml", all_csv, port, calls=1, timeout_s=10, extra=("-nd",)
        )
        run_sipp_step(warm, work / "kam-warmup", cmd, groups, 20)
        if warm.ok != 1:
            raise RuntimeError(f"Kamailio does not register sipp (see {work / 'kam-warmup'})")
        for rate in sorted(set(args.reg_rates) | set(args.kamailio_extra_rates)):
            step = Step("kamailio", "register", rate, seconds=args.step_seconds)
            cmd = sipp_command(
                target,
                "register.xml",
                all_csv,
                port,
                rate=rate,
                calls=rate * args.step_seconds,
                timeout_s=tail,
                extra=("-nd",),
            )
            run_sipp_step(step, work / f"kam-register-{rate}", cmd, groups, tail + 10)
            results.steps.append(step)
            print(row_text(step), flush=True)
            settle(groups)


# -- reporting ----------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


HEADER = (
    "| system | scenario | offered/s | achieved/s | ok | failed | unfinished | retrans "
    "| p50 ms | p95 ms "
    "| p99 ms | CPU % (per process, of one core) | CPU ms/ok | UDP drops |"
)


def row_text(s: Step) -> str:
    cpu = ", ".join(f"{k} {v:.0f}" for k, v in s.cpu.items()) + f", other {s.others:.0f}"
    names = (*NFS, "redis") if s.system == "nfv" else ("kamailio",)
    return (
        f"| {s.system} | {s.kind} | {s.rate} | {s.achieved:.0f} | {s.ok} | {s.failed} "
        f"| {s.unfinished} | {s.retrans} | {fmt(s.percentile(50))} | {fmt(s.percentile(95))} "
        f"| {fmt(s.percentile(99))} | {cpu} | {fmt(s.cpu_ms_per_ok(names), 2)} "
        f"| {s.udp_drops} |"
    )


def max_clean(steps: list[Step], system: str, kind: str) -> Step | None:
    clean = [s for s in steps if s.system == system and s.kind == kind and s.clean]
    return max(clean, key=lambda s: s.rate) if clean else None


def peak(steps: list[Step], system: str, kind: str) -> Step | None:
    found = [s for s in steps if s.system == system and s.kind == kind]
    return max(found, key=lambda s: s.achieved) if found else None


STORE_TEXT = {
    "sqlite": "SQLite (the lab's default: one file per NF)",
    "redis": "Redis (one throw-away redis-server shared by the NFs)",
    "memory": "in-process memory (diagnostic)",
}


def git_head() -> str:
    """The commit measured, and whether the NF code in the working tree differs from it."""
    try:
        head = (
            subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                timeout=10,
                check=True,
                stdin=subprocess.DEVNULL,
            )
            .stdout.decode()
            .strip()
        )
        # --no-optional-locks: a read-only look, the index is not refreshed (written).
        status = ["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain"]
        dirty = subprocess.run(
            [*status, "--", "network_functions"],
            capture_output=True,
            timeout=10,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted NF changes" if dirty else "")


def machine() -> dict[str, str]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(
                cmd, capture_output=True, timeout=10, check=False, stdin=subprocess.DEVNULL
            )
        except OSError:
            return "not installed"
        text = (out.stdout + out.stderr).decode(errors="replace")
        return next((ln.strip() for ln in text.splitlines() if ln.strip()), "?")

    try:
        loop = f"uvloop {importlib.metadata.version('uvloop')}"
    except importlib.metadata.PackageNotFoundError:
        loop = "asyncio (no uvloop)"
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": model or platform.processor(),
        "kernel": platform.release(),
        "Python": f"{platform.python_version()}, event loop {loop}",
        "sipp": version(["sipp", "-v"]).replace("SIPp ", ""),
        "Kamailio": version(["kamailio", "-v"]),
    }


def verdict(results: Results, args: argparse.Namespace) -> list[str]:
    steps = results.steps
    lines = []
    reg = max_clean(steps, "nfv", "register")
    reg_peak = peak(steps, "nfv", "register")
    calls = max_clean(steps, "nfv", "call")
    kam = max_clean(steps, "kamailio", "register")
    kam_peak = peak(steps, "kamailio", "register")
    if reg_peak is not None:
        clean = f"{reg.rate}/s offered" if reg else "none of the steps"
        lines.append(
            f"- Registrations (target ≥ 1,000/s with 0 failures): highest clean step {clean}; "
            f"peak achieved {reg_peak.achieved:.0f}/s (at {reg_peak.rate}/s offered, "
            f"{reg_peak.failed} failed). "
            + ("**Target met.**" if reg and reg.rate >= 1000 else "**Below target.**")
        )
    closed = [s for s in steps if s.system == "nfv" and s.kind == CLOSED_KIND]
    if closed:
        c = closed[-1]
        total = sum(nf_ms_per_ok(c, n) or 0.0 for n in NFS) if c.ok else None
        lines.append(
            f"- Closed loop (at most {args.closed_limit} registrations in flight): "
            f"{c.achieved:.0f} registrations/s sustained, {c.failed} failed, {c.retrans} "
            f"retransmissions, {fmt(total, 2)} ms "
            f"CPU per registration (all NFs) while other processes used {c.others:.0f} % of "
            "one core."
        )
        sipp_ms = c.cpu.get("sipp", 0.0) / 100 * c.elapsed / c.ok * 1000 if c.ok else 0.0
        if total:
            ncpu = os.cpu_count() or 1
            busiest = max(NFS, key=lambda n: nf_ms_per_ok(c, n) or 0.0)
            one_core = 1000.0 / (nf_ms_per_ok(c, busiest) or 1.0)
            lines.append(
                f"- What the CPU figures predict for an idle machine: {ncpu} cores = "
                f"{ncpu * 1000} ms of CPU per second, over {total:.2f} ms (NFs) + "
                f"{sipp_ms:.2f} ms (sipp) per registration = at most about "
                f"{ncpu * 1000 / (total + sipp_ms):.0f} registrations/s; one replica per NF "
                f"is also capped by its busiest process ({busiest}, {one_core:.0f}/s on one "
                "core). CPU per registration measured on a busy machine is pessimistic "
                "(shared caches, preemption)."
            )
    if calls is not None or peak(steps, "nfv", "call") is not None:
        best = calls.rate if calls else 0
        lines.append(
            f"- Call setups (target ≥ 100/s with 0 failures): highest clean step "
            f"{best}/s. " + ("**Target met.**" if best >= 100 else "**Below target.**")
        )
    names = (*NFS, "redis")
    both = [
        (s, k)
        for s in steps
        for k in steps
        if s.system == "nfv"
        and k.system == "kamailio"
        and s.kind == k.kind == "register"
        and s.rate == k.rate
        and s.clean
        and k.clean
    ]
    if both:
        s, k = max(both, key=lambda pair: pair[0].rate)
        a, b = s.cpu_ms_per_ok(names) or 0.0, k.cpu_ms_per_ok(("kamailio",)) or 0.0
        lines.append(
            f"- CPU per registration at {s.rate}/s (the highest rate both served cleanly): "
            f"{a:.2f} ms for the core (all NFs) vs {b:.2f} ms for Kamailio"
            + (f" ({a / b:.0f}x)" if b > 0 else "")
            + f". On {os.cpu_count()} cores shared with sipp, 1,000 registrations/s needs "
            f"at most about {(os.cpu_count() or 1) * 0.9:.1f} ms."
        )
    if kam_peak is not None and reg_peak is not None:
        ratio = reg_peak.achieved / kam_peak.achieved if kam_peak.achieved else 0
        lines.append(
            f"- Against Kamailio (same sipp scenario, {args.kamailio_children} UDP workers): "
            f"peak {reg_peak.achieved:.0f}/s vs {kam_peak.achieved:.0f}/s = "
            f"**{ratio:.2f}x Kamailio's peak**"
            + (
                f"; highest clean step {reg.rate if reg else 0}/s vs {kam.rate}/s"
                if kam is not None
                else ""
            )
            + "."
            + (
                " Kamailio kept up with every step, so its ceiling is higher still."
                if kam is not None and kam is kam_peak
                else ""
            )
        )
        same = []
        for s in steps:
            if s.system != "nfv" or s.kind != "register":
                continue
            ref = next(
                (
                    x
                    for x in steps
                    if x.system == "kamailio" and x.kind == "register" and x.rate == s.rate
                ),
                None,
            )
            if ref is not None and ref.achieved > 0:
                same.append(f"{s.rate}/s: {s.achieved / ref.achieved:.2f}")
        if same:
            lines.append(
                "- Achieved rate as a ratio of Kamailio's at the same offered rate: "
                + ", ".join(same)
                + "."
            )
    return lines


def nf_ms_per_ok(step: Step, name: str) -> float | None:
    """CPU milliseconds of one process set per successful sipp call."""
    if not step.ok:
        return None
    return step.cpu.get(name, 0.0) / 100 * step.elapsed / step.ok * 1000


def cpu_by_nf(steps: list[Step]) -> list[str]:
    """The registration steps' CPU per registration, by NF (utime + stime from /proc)."""
    regs = [s for s in steps if s.system == "nfv" and s.kind in ("register", CLOSED_KIND)]
    if not regs:
        return []
    names = [n for n in (*NFS, "redis") if any(n in s.cpu for s in regs)]
    lines = [
        "",
        "### CPU per registration, by NF (ms of CPU per successful registration)",
        "",
        "| scenario | offered/s | achieved/s | " + " | ".join(names) + " | all NFs | other % |",
        "|---|---|---|" + "---|" * (len(names) + 2),
    ]
    for s in regs:
        per = [nf_ms_per_ok(s, n) for n in names]
        total = sum(v for v in per if v is not None)
        lines.append(
            f"| {s.kind} | {s.rate} | {s.achieved:.0f} | "
            + " | ".join(fmt(v, 3) for v in per)
            + f" | {total:.3f} | {s.others:.0f} |"
        )
    return lines


def report(results: Results, args: argparse.Namespace, command: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# IMS core load benchmark",
        "",
        f"Generated by `benchmarks/ims_load.py` on {now} "
        f"(run time {results.started_s:.0f} s). Re-run it to refresh this file.",
        "",
        "CPU per registration by NF, before and after a change (A/B of two source trees): "
        "[benchmarks-cpu.md](benchmarks-cpu.md) (`benchmarks/ims_cpu.py`). "
        "Other figures: container images in [benchmarks-images.md](benchmarks-images.md) "
        "(`benchmarks/images.py --cold`), the local platform in "
        "[benchmarks-local.md](benchmarks-local.md) (`benchmarks/local_platform.py`), "
        "`nfv deploy` to a ready core on Kubernetes in [benchmarks-kube.md](benchmarks-kube.md) "
        "(`benchmarks/kube_deploy.py`).",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines += [
        "",
        "## Command",
        "",
        f"    {command}",
        "",
        f"Core (git {git_head()}): one replica of each NF, state store "
        f"{STORE_TEXT[args.store]}, {args.subscribers} "
        f"subscribers (MD5 digest passwords), all on loopback. sipp (UDP, one socket, "
        f"`-buff_size {SIPP_BUFFER}`) runs on the same {os.cpu_count()} cores as the NFs. "
        f"Each step offers `rate x {args.step_seconds} s` sipp calls open loop "
        "(`-r rate -rp 1000`, sipp's default limit of 3xrate calls in flight).",
        "",
        "- *register*: loadtests/sipp/register.xml — REGISTER → 401 (MD5, qop=auth) → "
        "REGISTER with credentials → 200; each REGISTER goes P-CSCF → I-CSCF (UAR) → "
        "S-CSCF (MAR for the first, SAR for the second): two SIP transactions across three "
        "proxies and four Cx requests per registration. Latency: first REGISTER sent → 200 "
        "received.",
        "- *call*: loadtests/sipp/uac_call.xml → uas_callee.xml — INVITE → 100/180/200 → ACK, "
        "200 ms, BYE → 200, caller and callee registered; P-CSCF → S-CSCF → I-CSCF (LIR) → "
        "S-CSCF → P-CSCF → UAS and back. Latency: INVITE → 200.",
        "- *achieved/s*: successful sipp calls per second over the offered window (sipp's "
        "1 s statistics periods, the first one left out); *unfinished*: offered calls neither "
        f"done nor failed when sipp was stopped ({SIPP_TAIL_S} s after the window); "
        "*retrans*: sipp's retransmissions (T1 = 500 ms); *CPU ms/ok*: "
        "CPU of the system under test (all NFs, or all Kamailio processes) per success; "
        "*UDP drops*: the kernel's UDP receive-buffer errors during the step; *other*: CPU "
        "used meanwhile by processes not under test (the machine may be shared). A step is "
        "*clean* with no failure, no retransmission and the offered pace kept.",
        "",
        "## Results",
        "",
        HEADER,
        "|" + "---|" * (HEADER.count("|") - 1),
    ]
    lines += [row_text(s) for s in results.steps]
    lines += cpu_by_nf(results.steps)
    lines += ["", "## Against the targets", ""]
    lines += verdict(results, args)
    if results.profile:
        lines += [
            "",
            f"## Profile: {results.profile_target} (py-spy, own time, % of busy samples)",
            "",
            "| % | frame |",
            "|---|---|",
        ]
        lines += [f"| {pct:.1f} | `{frame}` |" for pct, frame in results.profile]
    noisy = [s for s in results.steps if s.others > NOISY_OTHERS_PCT]
    notes = list(results.notes)
    if noisy:
        notes.append(
            "Other processes on the machine used CPU during "
            + ", ".join(f"{s.system} {s.kind} {s.rate}/s ({s.others:.0f}%)" for s in noisy)
            + ": those figures are pessimistic (the machine is shared)."
        )
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    def rates(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x.strip()]

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--subscribers", type=int, default=2000)
    p.add_argument("--reg-rates", type=rates, default=rates("200,300,400,600,1000,1500"))
    p.add_argument("--call-rates", type=rates, default=rates("50,100,150,200"))
    p.add_argument("--kamailio-extra-rates", type=rates, default=rates("3000,6000"))
    p.add_argument("--kamailio-children", type=int, default=2)
    p.add_argument("--step-seconds", type=int, default=10)
    p.add_argument("--setup-rate", type=int, default=200, help="registrations/s before calls")
    p.add_argument(
        "--store",
        choices=("sqlite", "redis", "memory"),
        default="sqlite",
        help="sqlite: the lab's default, one SQLite file per NF; redis: a throw-away "
        "redis-server shared by the NFs; "
        "memory: each NF's own memory (diagnostic only: works with one replica per NF)",
    )
    p.add_argument(
        "--closed-limit",
        type=int,
        default=100,
        help="registrations in flight in the closed-loop capacity step (0: skip the step)",
    )
    p.add_argument(
        "--closed-rate", type=int, default=2000, help="sipp's rate cap in the closed-loop step"
    )
    p.add_argument("--skip-calls", action="store_true")
    p.add_argument("--skip-core", action="store_true")
    p.add_argument("--skip-kamailio", action="store_true")
    p.add_argument("--profile", choices=NFS, help="py-spy this NF during one step")
    p.add_argument("--profile-rate", type=int, default=300)
    p.add_argument("--quick", action="store_true", help="short smoke run (few steps, 4 s)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    if args.quick:
        args.subscribers = min(args.subscribers, 200)
        args.reg_rates, args.call_rates = [100, 300], [20]
        args.kamailio_extra_rates, args.step_seconds = [], 4
    if args.step_seconds < 3:
        p.error("--step-seconds must be at least 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("sipp",) + (() if args.skip_kamailio else ("kamailio",)):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not installed", file=sys.stderr)
            return 2
    command = "python benchmarks/ims_load.py" + (
        " " + " ".join(argv if argv is not None else sys.argv[1:])
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    results = Results()
    load0 = os.getloadavg()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="nfv-ims-load-"))
    print(HEADER, flush=True)
    try:
        if not args.skip_core:
            bench_core(args, work, results)
        if not args.skip_kamailio:
            bench_kamailio(args, work, results)
    finally:
        results.started_s = time.monotonic() - started
        load1 = os.getloadavg()
        results.notes.append(
            "Load average of the machine (1/5/15 min): "
            + "/".join(f"{v:.1f}" for v in load0)
            + " at the start, "
            + "/".join(f"{v:.1f}" for v in load1)
            + f" at the end ({os.cpu_count()} CPUs)."
        )
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, args, command)
    print()
    print("\n".join(verdict(results, args)))
    if results.profile:
        print(f"\nprofile of {results.profile_target}:")
        for pct, frame in results.profile:
            print(f"  {pct:5.1f}%  {frame}")
    if not args.no_write:
        args.out.write_text(text)
        print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

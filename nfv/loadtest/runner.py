"""``nfv loadtest``: headless Locust in subprocesses against the core a platform runs.

The nfv process never imports Locust (gevent's monkey-patching would leak into the CLI and
pytest): it finds the target's endpoints on the platform (local: the state directory's
plan; k8s: ``KubernetesPlatform(namespace).endpoint(nf, interface)``), provisions the
subscriber block the run needs through the HSS provisioning API, writes the scenario's
JSON configuration, and starts ``python -m locust`` — one process, or a master and K
workers on loopback (``--workers K``). Results: Locust's stats CSVs (``locust_stats.csv``,
``locust_stats_history.csv``, ``locust_failures.csv``), the per-procedure event logs
(``events/``) and ``summary.json`` with the offered load of the traffic model and what was
measured. Every error is a :class:`~nfv.loadtest.model.LoadTestError`.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NfvError
from .events import read_events, summarize_procedures
from .model import Allocation, LoadTestError, SubscriberRange, TrafficModel
from .shapes import AnyShape

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LOADTESTS = REPO_ROOT / "loadtests"
# Subscribers per provisioning POST (the HSS validates a batch before storing any of it).
PROVISION_BATCH = 500
# How long the master waits for its workers to connect.
WORKER_WAIT = 30
# Grace for users' on_stop (de-registration) at the end of a run, seconds.
STOP_TIMEOUT = 15
# Locust's exit status is 1 when some request failed; anything else is a crash.
LOCUST_OK_EXITS = (0, 1)
LOG_TAIL = 30


@dataclass(frozen=True)
class Scenario:
    name: str
    locustfile: Path
    user_class: str
    description: str
    needs: Path | None = None  # a module the scenario depends on (not there yet: refuse)
    entry: tuple[str, str] = ("pcscf", "sip")  # the NF and interface the load goes to


SCENARIOS = {
    "ims": Scenario(
        "ims",
        LOADTESTS / "ims.py",
        "ImsUser",
        "VoLTE subscriber pairs: register, re-register, call each other, hang up, de-register",
    ),
    "epc": Scenario(
        "epc",
        LOADTESTS / "epc.py",
        "EpcUser",
        "LTE UEs attaching and detaching through simulated eNBs (S1AP/NAS over TCP)",
        needs=REPO_ROOT / "network_functions" / "sim" / "enb.py",
        entry=("mme", "s1ap"),
    ),
}


def scenario(name: str) -> Scenario:
    found = SCENARIOS.get(name)
    if found is None:
        raise LoadTestError(f"unknown scenario {name!r} (known: {', '.join(sorted(SCENARIOS))})")
    for path in (found.needs, found.locustfile):
        if path is not None and not path.exists():
            raise LoadTestError(f"scenario {name!r} is not available yet: {path} does not exist")
    return found


# -- the target --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the load goes. Without a reachable provisioning API (a cluster exposes only
    the P-CSCF), the load uses subscribers the core provisioned from its values:
    ``preprovisioned`` is that range and ``preprovisioned_count`` its size."""

    platform: str
    sip: tuple[str, int]
    provisioning: tuple[str, int] | None
    domain: str
    transport: str = "udp"
    preprovisioned: SubscriberRange | None = None
    preprovisioned_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "sip": f"{self.sip[0]}:{self.sip[1]}",
            "provisioning": None
            if self.provisioning is None
            else f"http://{self.provisioning[0]}:{self.provisioning[1]}",
            "domain": self.domain,
            "transport": self.transport,
        }


def resolve_target(
    platform: str,
    *,
    state_dir: str | os.PathLike[str] = ".nfv-local",
    namespace: str | None = None,
    transport: str = "udp",
    entry: tuple[str, str] = ("pcscf", "sip"),
) -> Target:
    """The *entry* NF's endpoint (the P-CSCF's SIP, the MME's S1AP) and the HSS's
    provisioning API of the running core."""
    if platform == "local":
        from ..platforms.local.platform import LocalPlatform

        local = LocalPlatform(state_dir)
        try:
            sip = local.entry_point() if entry == ("pcscf", "sip") else _local_entry(local, entry)
            prov = local.provisioning_endpoint()
        except NfvError as exc:
            raise LoadTestError(f"no local core to load: {exc}") from exc
        plan = local.plan()
        assert plan is not None
        return Target("local", sip, prov, plan["domain"], transport)
    if platform == "k8s":
        return _kube_target(namespace, transport, entry)
    raise LoadTestError(f"--target must be local or k8s, got {platform!r}")


def _local_entry(local: Any, entry: tuple[str, str]) -> tuple[str, int]:
    nf, interface = entry
    plan = local.plan()
    info = (plan or {}).get("nfs", {}).get(nf) if local.recorded_state() is not None else None
    if info is None or interface not in info["interfaces"]:
        raise LoadTestError(
            f"no local core with {nf} ({interface}) runs from {local.dir.root}: enable it in "
            "the values and `nfv up`"
        )
    return str(info["address"]), int(info["interfaces"][interface])


def _kube_target(namespace: str | None, transport: str, entry: tuple[str, str]) -> Target:
    try:
        from ..platforms.kubernetes.platform import DEFAULT_NAMESPACE, KubernetesPlatform
    except ImportError as exc:  # the kubernetes extra is not installed
        raise LoadTestError(f"the Kubernetes platform is not available here: {exc}") from exc
    from ..values import load_values

    kube = KubernetesPlatform(namespace or DEFAULT_NAMESPACE)
    try:
        host, port = kube.endpoint(*entry)
        try:
            prov: tuple[str, int] | None = kube.endpoint("hss", "provisioning")
        except NfvError:
            prov = None
    except NfvError as exc:
        raise LoadTestError(f"no Kubernetes core to load: {exc}") from exc
    finally:
        kube.close()
    values = load_values()
    ranges = values.get("subscribers") or []
    pre, count = None, 0
    if prov is None and ranges:
        first = ranges[0]
        pre = SubscriberRange(
            imsi_start=str(first["imsi_start"]),
            msisdn_start=str(first["msisdn_start"]),
            k=str(first["k"]),
            opc=str(first["opc"]),
            password=str(first.get("password") or "lt-{msisdn}"),
        )
        count = int(first.get("count", 0))
    domain = str(values["network"]["ims_domain"])
    return Target("k8s", (host, port), prov, domain, transport, pre, count)


# -- provisioning -------------------------------------------------------------------------------


def provision(target: Target, allocation: Allocation, *, timeout: float = 30.0) -> int:
    """Create (or replace) the allocation's subscribers in the HSS; returns how many."""
    from network_functions.runtime.http import http_request_sync

    if target.provisioning is None:
        if target.preprovisioned is None or allocation.range != target.preprovisioned:
            raise LoadTestError(
                f"the {target.platform} core exposes no provisioning API and the load's "
                "subscriber range is not one it provisioned from its values"
            )
        if allocation.total > target.preprovisioned_count:
            raise LoadTestError(
                f"the load needs {allocation.total} subscribers but the core provisioned "
                f"only {target.preprovisioned_count} from its values: fewer users or workers"
            )
        return 0
    host, port = target.provisioning
    records = allocation.records()

    def call(method: str, path: str, body: Any) -> tuple[int, bytes]:
        try:
            return http_request_sync(
                host,
                port,
                method,
                path,
                json.dumps(body).encode(),
                timeout=timeout,
                headers={"Content-Type": "application/json"},
            )
        except OSError as exc:
            raise LoadTestError(
                f"cannot reach the HSS provisioning API at http://{host}:{port}: {exc}"
            ) from exc

    for start in range(0, len(records), PROVISION_BATCH):
        batch = records[start : start + PROVISION_BATCH]
        status, raw = call("POST", "/subscribers", batch)
        if status == 409:  # some exist from an earlier run: replace them one by one
            for rec in batch:
                status, raw = call("PUT", f"/subscribers/{rec['imsi']}", rec)
                if status >= 300:
                    raise LoadTestError(f"HSS answered {status} to PUT {rec['imsi']}: {raw!r}")
        elif status >= 300:
            raise LoadTestError(f"HSS answered {status} to POST /subscribers: {raw[:300]!r}")
    return len(records)


# -- Locust processes ---------------------------------------------------------------------------


@dataclass
class RunSpec:
    scenario: Scenario
    target: Target
    model: TrafficModel
    out: Path
    users: int = 10
    spawn_rate: float = 5.0
    duration: float = 60.0
    shape: AnyShape | None = None
    workers: int = 0
    subscribers: SubscriberRange = field(default_factory=SubscriberRange)
    timeout: float = 5.0

    @property
    def peak_users(self) -> int:
        return self.shape.peak_users if self.shape is not None else self.users

    @property
    def run_seconds(self) -> float:
        return self.shape.duration if self.shape is not None else self.duration

    def allocation(self) -> Allocation:
        # Each worker may hold every user at some instant (Locust rebalances), and a stopping
        # user keeps its slot until it has de-registered: a margin for the churn.
        per_worker = self.peak_users + max(5, math.ceil(self.peak_users * 0.2))
        return Allocation(self.subscribers, max(1, self.workers), per_worker)


def _epc_identity() -> dict[str, Any]:
    """PLMN and tracking area the simulated eNBs announce (the values' network)."""
    from ..values import load_values

    network = load_values()["network"]
    tacs = network.get("tacs") or [1]
    return {"mcc": str(network["mcc"]), "mnc": str(network["mnc"]), "tac": int(tacs[0])}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocustRun:
    """A headless Locust run (standalone, or master + workers) that we started and own."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started_at = 0.0
        self.logs: list[Path] = []

    def write_config(self) -> Path:
        spec = self.spec
        config = {
            "target": {
                "host": spec.target.sip[0],
                "port": spec.target.sip[1],
                "transport": spec.target.transport,
            },
            "domain": spec.target.domain,
            "epc": _epc_identity(),
            "allocation": spec.allocation().as_dict(),
            "model": spec.model.model_dump(),
            "shape": spec.shape.model_dump() if spec.shape is not None else None,
            "events_dir": str(spec.out / "events"),
            "timeout": spec.timeout,
        }
        path = spec.out / "locust-config.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def start(self) -> None:
        spec = self.spec
        spec.out.mkdir(parents=True, exist_ok=True)
        events_dir = spec.out / "events"
        events_dir.mkdir(exist_ok=True)
        for old in events_dir.glob("events-*.csv"):
            old.unlink()
        config = self.write_config()
        env = dict(os.environ)
        env["NFV_LOADTEST_CONFIG"] = str(config)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        base = [sys.executable, "-m", "locust", "-f", str(spec.scenario.locustfile)]
        common = ["--loglevel", "WARNING", "--stop-timeout", str(STOP_TIMEOUT)]
        master = [
            *base,
            *common,
            "--headless",
            "--csv",
            str(spec.out / "locust"),
            "--csv-full-history",
            "--only-summary",
            "--logfile",
            str(spec.out / "locust.log"),
        ]
        if spec.shape is None:
            master += [
                "-u",
                str(spec.users),
                "-r",
                f"{spec.spawn_rate:g}",
                "-t",
                f"{math.ceil(spec.duration)}s",
            ]
        port = _free_port() if spec.workers else 0
        if spec.workers:
            master += [
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
                "--expect-workers",
                str(spec.workers),
                "--expect-workers-max-wait",
                str(WORKER_WAIT),
            ]
        master.append(spec.scenario.user_class)
        self.started_at = time.time()
        self.procs.append(self._spawn(master, env, spec.out / "locust-master.out"))
        for i in range(spec.workers):
            worker = [
                *base,
                *common,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
                "--logfile",
                str(spec.out / f"locust-worker-{i}.log"),
                spec.scenario.user_class,
            ]
            self.procs.append(self._spawn(worker, env, spec.out / f"locust-worker-{i}.out"))

    def _spawn(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        self.logs.append(log)
        with open(log, "wb") as fh:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(REPO_ROOT),
            )

    def poll(self) -> bool:
        """True while the master runs."""
        return bool(self.procs) and self.procs[0].poll() is None

    def wait(self, *, tick: Callable[[], None] | None = None, limit: float | None = None) -> None:
        """Wait for the master to finish (calling *tick* about once a second), then for
        the workers; raises LoadTestError if Locust crashed or overran *limit* seconds."""
        deadline = None if limit is None else time.monotonic() + limit
        try:
            while self.poll():
                if tick is not None:
                    tick()
                if deadline is not None and time.monotonic() > deadline:
                    raise LoadTestError(f"Locust did not finish within {limit:.0f} s")
                time.sleep(0.2 if tick is None else 0.05)
            for proc in self.procs[1:]:
                try:
                    proc.wait(timeout=STOP_TIMEOUT + 10)
                except subprocess.TimeoutExpired:
                    proc.terminate()
        finally:
            self.stop()
        code = self.procs[0].returncode
        if code not in LOCUST_OK_EXITS:
            raise LoadTestError(f"Locust exited with status {code}:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate (then kill) whatever we started that still runs; by PID, our children."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=STOP_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_tail(self) -> str:
        out = []
        for log in self.logs:
            try:
                lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
            except OSError:
                continue
            if lines:
                out.append(f"--- {log.name} ---")
                out.extend(lines)
        return "\n".join(out)


# -- the whole `nfv loadtest` -------------------------------------------------------------------


def summarize(spec: RunSpec, started_at: float, ended_at: float) -> dict[str, Any]:
    """summary.json: the traffic model's offered load and the measured figures."""
    data = read_events(spec.out / "events")
    procs = data.procedures
    elapsed = max(ended_at - started_at, 1e-9)
    per_name = summarize_procedures(procs)
    failures = sum(1 for p in procs if not p.ok)
    # Registrations (IMS) or attaches (EPC): the periodic procedure of the traffic model.
    registers = sum(1 for p in procs if p.name in ("register", "re-register", "attach"))
    calls = sum(1 for p in procs if p.name == "call-setup")
    return {
        "scenario": spec.scenario.name,
        "target": spec.target.as_dict(),
        "started_at": started_at,
        "duration_s": round(elapsed, 2),
        "users": None if spec.shape is not None else spec.users,
        "spawn_rate": None if spec.shape is not None else spec.spawn_rate,
        "shape": spec.shape.describe() if spec.shape is not None else None,
        "workers": spec.workers,
        "subscribers": {
            "provisioned": spec.allocation().total,
            "imsi_start": spec.subscribers.imsi_start,
        },
        "traffic_model": spec.model.model_dump(),
        "offered_at_peak": {
            k: round(v, 3) for k, v in spec.model.offered_for_users(spec.peak_users).items()
        },
        "measured": {
            "procedures": len(procs),
            "failures": failures,
            "failure_ratio": round(failures / len(procs), 6) if procs else 0.0,
            "register_per_s": round(registers / elapsed, 3),
            "calls_per_s": round(calls / elapsed, 3),
            "by_procedure": per_name,
            "event_lines_unparsed": data.bad_lines,
        },
        "files": {
            "stats_csv": "locust_stats.csv",
            "history_csv": "locust_stats_history.csv",
            "failures_csv": "locust_failures.csv",
            "events": "events/",
        },
    }


def run_loadtest(spec: RunSpec, *, provision_subscribers: bool = True) -> dict[str, Any]:
    """Provision, run Locust to the end, write summary.json; returns the summary."""
    spec.out.mkdir(parents=True, exist_ok=True)
    if provision_subscribers:
        provision(spec.target, spec.allocation())
    run = LocustRun(spec)
    run.start()
    run.wait(limit=spec.run_seconds + WORKER_WAIT + STOP_TIMEOUT + 60)
    summary = summarize(spec, run.started_at, time.time())
    (spec.out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary

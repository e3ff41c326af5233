"""``nfv experiment``: run a plan's load against a core, sample it, derive the figures.

The runner starts the core (local: :class:`LocalPlatform` with the plan's profile and
values, in a state directory of its own; or uses what runs with ``platform.reuse``),
provisions the subscribers, starts Locust (nfv/loadtest/runner.py) and, once a second,
samples every watched NF's desired and ready replicas and CPU, and the S-CSCF's count of
active registrations. When the load (and ``settle_seconds``) is over it stops what it
started, joins the samples with the Locust event logs second by second and writes:

- ``timeseries.csv``: one row per second (see :data:`COLUMNS` and the per-NF columns);
- ``results.json``: the plan, the traffic model's offered load and the derived figures;
- ``timeline.png``, ``capacity.png`` and a self-contained ``report.html`` (nfv/loadtest/report.py).

Derived figures (all computed from the time series, so they can be checked against it):

- *scale-out reaction*: for every increase of a watched NF's desired replicas, the seconds
  until that many replicas were ready;
- *SLO*: a second is over the SLO when, over the trailing ``slo.window_seconds``, the
  call-setup p95 exceeds ``slo.call_setup_p95_ms`` or failures/(finished procedures)
  exceed ``slo.failure_ratio``; *time over SLO* counts those seconds, *episodes* are runs
  of them, and an episode's length is the time to capacity restored under the SLO;
- *failed procedures*, by procedure and reason;
- *registrations across scale-in*: the core's (S-CSCF gauge) and the load generator's
  count of registered subscribers just before the first scale-in and at the end of the
  load; lost = generator - core at the end (never negative);
- *replica-seconds* of the watched NFs vs a static deployment provisioned for the peak
  (every NF at its highest replica count for the whole run).
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import NfvError
from .events import EventData, per_second, percentile, read_events, summarize_procedures
from .model import LoadTestError
from .plan import Plan
from .runner import LocustRun, RunSpec, Target, provision, resolve_target, scenario

COLUMNS = [
    "t",
    "users",
    "model_register_per_s",
    "model_calls_per_s",
    "offered_per_s",
    "achieved_per_s",
    "failed_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "call_setup_p95_ms",
    "register_p95_ms",
    "window_call_setup_p95_ms",
    "window_failure_ratio",
    "over_slo",
    "registered_generator",
    "registered_core",
    "loadgen_cpu_percent",
]
NF_COLUMNS = ("desired", "ready", "cpu_percent")
REGISTRATION_GAUGE = "scscf_active_registrations"
# How long to wait for the core to come up (local).
UP_TIMEOUT = 120.0

Log = Callable[[str], None]


# -- platforms as the runner sees them ---------------------------------------------------------


class Observed:
    """Start/stop the core and sample it; one implementation per platform kind."""

    started = False

    def start(self, out: Path, log: Log) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def target(self) -> Target:
        raise NotImplementedError

    def sample(self) -> dict[str, dict[str, float | None]]:
        """{nf: {desired, ready, cpu_percent}} now."""
        raise NotImplementedError

    def registrations(self) -> int | None:
        raise NotImplementedError


class RedisServer:
    """A throw-away ``redis-server`` on a free loopback port (persistence off), our child."""

    def __init__(self, workdir: Path) -> None:
        import shutil
        import socket
        import subprocess

        exe = shutil.which("redis-server")
        if exe is None:
            raise LoadTestError(
                "platform.store: redis needs redis-server (apt-get install redis-server)"
            )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / "redis.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(workdir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise LoadTestError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise LoadTestError(f"redis-server on port {self.port} did not answer PING")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class LocalObserved(Observed):
    def __init__(self, plan: Plan, state_dir: Path) -> None:
        from ..platforms.local.platform import LocalPlatform

        self.plan = plan
        self.platform = LocalPlatform(state_dir)
        self._state: dict[str, Any] | None = None
        self.redis: RedisServer | None = None

    def start(self, out: Path, log: Log) -> None:
        spec = self.plan.platform
        if spec.reuse:
            if self.platform.supervisor() is None:
                raise LoadTestError(
                    f"platform.reuse: nothing runs from {self.platform.dir.root} "
                    "(start it with `nfv up`, or drop reuse)"
                )
            log(f"using the core running from {self.platform.dir.root}")
            return
        values = dict(spec.values)
        if spec.store == "redis":
            self.redis = RedisServer(out / "redis")
            values["store"] = {**(values.get("store") or {}), "url": self.redis.url}
            log(f"state store: {self.redis.url} (redis-server pid {self.redis.proc.pid})")
        values_file = out / "values.yaml"
        values_file.write_text(yaml.safe_dump(values, sort_keys=False))
        kwargs: dict[str, Any] = {"subnet": spec.subnet} if spec.subnet else {}
        log(f"starting the core (profile {spec.profile}) from {self.platform.dir.root}")
        try:
            elapsed = self.platform.up(
                profile=spec.profile, files=[values_file], timeout=UP_TIMEOUT, **kwargs
            )
        except BaseException:
            self._stop_redis()
            raise
        self.started = True
        log(f"core ready in {elapsed:.1f} s")

    def stop(self) -> None:
        try:
            if self.started:
                self.platform.down()
                self.started = False
        finally:
            self._stop_redis()

    def _stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def target(self) -> Target:
        return resolve_target(
            "local",
            state_dir=self.platform.dir.root,
            transport=self.plan.platform.transport,
            entry=scenario(self.plan.scenario).entry,
        )

    def sample(self) -> dict[str, dict[str, float | None]]:
        state = self.platform.live_state() or {}
        self._state = state
        out: dict[str, dict[str, float | None]] = {}
        for name, nf in (state.get("nfs") or {}).items():
            reps = [r for r in nf.get("replicas", []) if r.get("alive", True)]
            cpus = [r["cpu_percent"] for r in reps if r.get("cpu_percent") is not None]
            out[name] = {
                "desired": float(nf.get("desired", 0)),
                "ready": float(sum(1 for r in reps if r.get("ready"))),
                "cpu_percent": round(sum(cpus), 1) if cpus else None,
            }
        return out

    def registrations(self) -> int | None:
        from network_functions.runtime.http import http_request_sync
        from network_functions.runtime.metrics import parse_metrics

        nf = ((self._state or {}).get("nfs") or {}).get("scscf")
        if not nf:
            return None
        best: int | None = None
        for rep in nf.get("replicas", []):
            if not rep.get("ready") or not rep.get("admin_port"):
                continue
            try:
                status, body = http_request_sync(
                    nf["address"], int(rep["admin_port"]), "GET", "/metrics", timeout=0.5
                )
            except OSError:
                continue
            if status != 200:
                continue
            try:
                samples = parse_metrics(body.decode("utf-8", "replace"))
            except ValueError:
                continue
            values = [v for (name, _), v in samples.items() if name == REGISTRATION_GAUGE]
            if values:
                # Every replica counts the shared store; take the freshest (largest) one.
                best = max(best or 0, int(max(values)))
        return best


class KubeObserved(Observed):
    """Kubernetes through the platform's API: ``endpoint()`` and ``nf_metrics()``."""

    def __init__(self, plan: Plan) -> None:
        try:
            from ..platforms.kubernetes.platform import DEFAULT_NAMESPACE, KubernetesPlatform
        except ImportError as exc:
            raise LoadTestError(f"platform.kind k8s: not available here ({exc})") from exc
        self.plan = plan
        self.namespace = plan.platform.namespace or DEFAULT_NAMESPACE
        self.kube = KubernetesPlatform(self.namespace)

    def start(self, out: Path, log: Log) -> None:
        if not self.plan.platform.reuse:
            raise LoadTestError(
                "platform.reuse: on k8s the experiment loads a deployed core "
                "(`nfv deploy` first, then set reuse: true)"
            )
        log(f"using the core deployed in namespace {self.namespace}")

    def stop(self) -> None:
        self.kube.close()

    def target(self) -> Target:
        return resolve_target(
            "k8s",
            namespace=self.namespace,
            transport=self.plan.platform.transport,
            entry=scenario(self.plan.scenario).entry,
        )

    def sample(self) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for name, m in self.kube.nf_metrics().items():
            mc = _num(m.get("cpu_millicores"))
            out[name] = {
                "desired": _num(m.get("desired")),
                "ready": _num(m.get("ready")),
                "cpu_percent": None if mc is None else round(mc / 10.0, 1),
            }
        return out

    def registrations(self) -> int | None:
        return None  # the S-CSCF's admin port is not reachable from outside the cluster


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


# -- sampling ----------------------------------------------------------------------------------


@dataclass
class Sample:
    wall: float
    nfs: dict[str, dict[str, float | None]]
    registered_core: int | None
    loadgen_cpu_percent: float | None = None


class CpuMeter:
    """CPU of processes we started (the Locust processes), % of one core between calls."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._last: tuple[float, int] | None = None

    def percent(self) -> float | None:
        from ..platforms.local.procs import CLK_TCK, read_stat

        ticks = 0
        for pid in self.pids:
            stat = read_stat(pid)
            if stat is not None:
                ticks += stat.utime + stat.stime
        now = time.monotonic()
        last, self._last = self._last, (now, ticks)
        if last is None or now <= last[0] or ticks < last[1]:
            return None
        return round((ticks - last[1]) / CLK_TCK / (now - last[0]) * 100.0, 1)


class Sampler:
    """Takes one sample per second of the run, on the second boundaries after *t0*."""

    def __init__(self, observed: Observed, t0: float, loadgen: CpuMeter | None = None) -> None:
        self.observed = observed
        self.loadgen = loadgen
        self.t0 = t0
        self.samples: list[Sample] = []
        self.errors = 0
        self._next = t0

    def maybe_sample(self) -> None:
        now = time.time()
        if now < self._next:
            return
        try:
            nfs = self.observed.sample()
            reg = self.observed.registrations()
        except (NfvError, OSError):
            self.errors += 1
            nfs, reg = {}, None
        cpu = self.loadgen.percent() if self.loadgen is not None else None
        self.samples.append(Sample(now, nfs, reg, cpu))
        # Next boundary after now (skip seconds lost to a slow sample).
        self._next = self.t0 + math.floor(time.time() - self.t0) + 1.0


# -- analysis ----------------------------------------------------------------------------------


def build_timeseries(
    plan: Plan, events: EventData, samples: list[Sample], t0: float, seconds: int
) -> list[dict[str, Any]]:
    from .events import users_at

    secs = per_second(events.procedures, t0, seconds)
    by_second: dict[int, Sample] = {}
    for s in samples:
        by_second.setdefault(math.floor(s.wall - t0), s)
    rows: list[dict[str, Any]] = []
    window = plan.slo.window_seconds
    last_sample: Sample | None = None
    for sec in secs:
        t = sec.t
        users, registered = users_at(events, t0 + t + 1.0)
        offered = plan.traffic.offered_for_users(users)
        lo = max(0, t - window + 1)
        win = secs[lo : t + 1]
        win_calls = [x for w in win for x in w.by_name.get("call-setup", [])]
        win_done = sum(w.achieved + w.failed for w in win)
        win_failed = sum(w.failed for w in win)
        win_p95 = percentile(win_calls, 95)
        ratio = win_failed / win_done if win_done else 0.0
        over = (win_p95 is not None and win_p95 > plan.slo.call_setup_p95_ms) or (
            ratio > plan.slo.failure_ratio
        )
        regs = [*sec.by_name.get("register", []), *sec.by_name.get("re-register", [])]
        sample = by_second.get(t, last_sample)
        if t in by_second:
            last_sample = by_second[t]
        row: dict[str, Any] = {
            "t": t,
            "users": users,
            "model_register_per_s": round(offered["register_per_s"], 3),
            "model_calls_per_s": round(offered["calls_per_s"], 3),
            "offered_per_s": sec.offered,
            "achieved_per_s": sec.achieved,
            "failed_per_s": sec.failed,
            "p50_ms": _r(percentile(sec.latencies, 50)),
            "p95_ms": _r(percentile(sec.latencies, 95)),
            "p99_ms": _r(percentile(sec.latencies, 99)),
            "call_setup_p95_ms": _r(percentile(sec.by_name.get("call-setup", []), 95)),
            "register_p95_ms": _r(percentile(regs, 95)),
            "window_call_setup_p95_ms": _r(win_p95),
            "window_failure_ratio": round(ratio, 6),
            "over_slo": int(over),
            "registered_generator": registered,
            "registered_core": sample.registered_core if sample is not None else None,
            "loadgen_cpu_percent": sample.loadgen_cpu_percent if sample is not None else None,
        }
        for nf in plan.watch:
            info = (sample.nfs.get(nf) if sample is not None else None) or {}
            for col in NF_COLUMNS:
                value = info.get(col)
                row[f"{nf}_{col}"] = (
                    None if value is None else (int(value) if col != "cpu_percent" else value)
                )
        rows.append(row)
    return rows


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def derive_figures(
    plan: Plan, rows: list[dict[str, Any]], events: EventData, load_seconds: float
) -> dict[str, Any]:
    """The report's figures, from the time series (and the events for failure reasons)."""
    scale_out: list[dict[str, Any]] = []
    scale_in: list[dict[str, Any]] = []
    for nf in plan.watch:
        prev: int | None = None
        for i, row in enumerate(rows):
            desired = row.get(f"{nf}_desired")
            if desired is None:
                continue
            if prev is not None and desired > prev:
                ready_t = next(
                    (
                        r["t"]
                        for r in rows[i:]
                        if r.get(f"{nf}_ready") is not None and r[f"{nf}_ready"] >= desired
                    ),
                    None,
                )
                scale_out.append(
                    {
                        "nf": nf,
                        "t": row["t"],
                        "from": prev,
                        "to": desired,
                        "ready_t": ready_t,
                        "reaction_s": None if ready_t is None else ready_t - row["t"],
                    }
                )
            elif prev is not None and desired < prev:
                scale_in.append({"nf": nf, "t": row["t"], "from": prev, "to": desired})
            prev = desired
    reactions = [e["reaction_s"] for e in scale_out if e["reaction_s"] is not None]

    episodes: list[dict[str, int]] = []
    for row in rows:
        if row["over_slo"]:
            if episodes and episodes[-1]["end"] == row["t"]:
                episodes[-1]["end"] = row["t"] + 1
            else:
                episodes.append({"start": row["t"], "end": row["t"] + 1})
    for ep in episodes:
        ep["seconds"] = ep["end"] - ep["start"]

    failed = sum(r["failed_per_s"] for r in rows)
    finished = sum(r["achieved_per_s"] + r["failed_per_s"] for r in rows)
    procedures = summarize_procedures(events.procedures)

    # Registrations across scale-in: before the first scale-in, and at the end of the load
    # (the last second before the users' final de-registration begins).
    registrations: dict[str, Any] = {"scale_in": bool(scale_in)}
    end_t = max(0, min(len(rows) - 1, math.floor(load_seconds) - 1))
    end_row = _last_with_core(rows, end_t)
    if scale_in:
        before = _last_with_core(rows, max(0, scale_in[0]["t"] - 1))
        registrations["before"] = _reg_pair(before)
    registrations["after"] = _reg_pair(end_row)
    after = registrations["after"]
    registrations["lost"] = (
        max(0, after["generator"] - after["core"])
        if after["generator"] is not None and after["core"] is not None
        else None
    )

    replica_seconds: dict[str, int] = {}
    static_peak: dict[str, int] = {}
    for nf in plan.watch:
        ready = [r.get(f"{nf}_ready") for r in rows]
        desired = [r.get(f"{nf}_desired") for r in rows]
        replica_seconds[nf] = int(sum(v for v in ready if v is not None))
        peak = max((v for v in desired if v is not None), default=0)
        static_peak[nf] = int(peak * len(rows))
    used, static = sum(replica_seconds.values()), sum(static_peak.values())

    return {
        "duration_s": len(rows),
        "peak_users": max((r["users"] for r in rows), default=0),
        "procedures": {
            "finished": finished,
            "failed": failed,
            "failure_ratio": round(failed / finished, 6) if finished else 0.0,
            "by_procedure": procedures,
        },
        "peak_achieved_per_s": max((r["achieved_per_s"] for r in rows), default=0),
        "max_replicas": {
            nf: max((r.get(f"{nf}_desired") or 0 for r in rows), default=0) for nf in plan.watch
        },
        "scale_out_events": scale_out,
        "scale_out_reaction_s": {
            "max": max(reactions) if reactions else None,
            "mean": round(sum(reactions) / len(reactions), 2) if reactions else None,
        },
        "scale_in_events": scale_in,
        "slo": plan.slo.model_dump(),
        "time_over_slo_s": sum(r["over_slo"] for r in rows),
        "slo_episodes": episodes,
        "longest_slo_episode_s": max((e["seconds"] for e in episodes), default=0),
        "registrations": registrations,
        "replica_seconds": {
            "used": replica_seconds,
            "static_peak": static_peak,
            "used_total": used,
            "static_peak_total": static,
            "saving": round(1.0 - used / static, 4) if static else None,
        },
        "capacity_by_replicas": capacity_by_replicas(plan, rows),
    }


def _last_with_core(rows: list[dict[str, Any]], t: int) -> dict[str, Any]:
    for i in range(min(t, len(rows) - 1), -1, -1):
        if rows[i]["registered_core"] is not None:
            return rows[i]
    return rows[t] if rows else {}


def _reg_pair(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "t": row.get("t"),
        "generator": row.get("registered_generator"),
        "core": row.get("registered_core"),
    }


def capacity_by_replicas(plan: Plan, rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per watched NF: ready replicas → the highest throughput (finished procedures/s)
    seen in a second within the SLO with that many ready replicas."""
    out: dict[str, dict[str, float]] = {}
    for nf in plan.watch:
        best: dict[str, float] = {}
        for r in rows:
            n = r.get(f"{nf}_ready")
            if n is None or r["over_slo"]:
                continue
            key = str(int(n))
            best[key] = max(best.get(key, 0.0), float(r["achieved_per_s"]))
        out[nf] = dict(sorted(best.items(), key=lambda kv: int(kv[0])))
    return out


def write_timeseries(path: Path, plan: Plan, rows: list[dict[str, Any]]) -> None:
    columns = COLUMNS + [f"{nf}_{c}" for nf in plan.watch for c in NF_COLUMNS]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})


# -- the whole run -----------------------------------------------------------------------------


def run_experiment(
    plan: Plan, out: Path, *, state_dir: str | Path | None = None, log: Log = print
) -> dict[str, Any]:
    """Run *plan*; write results.json, timeseries.csv, the plots and report.html into *out*.

    Raises LoadTestError (and the platform's errors) when the run cannot be done; the core
    it started is stopped in every case.
    """
    from .report import write_report

    scen = scenario(plan.scenario)
    shape = plan.load_shape()
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.yaml").write_text(yaml.safe_dump(plan.model_dump(), sort_keys=False))
    observed: Observed
    if plan.platform.kind == "local":
        observed = LocalObserved(plan, Path(state_dir) if state_dir else out / "core")
    else:
        observed = KubeObserved(plan)
    observed.start(out, log)
    try:
        target = observed.target()
        spec = RunSpec(
            scenario=scen,
            target=target,
            model=plan.traffic,
            out=out,
            shape=shape,
            workers=plan.workers,
            subscribers=target.preprovisioned or plan.subscribers,
        )
        n = provision(target, spec.allocation())
        offered = plan.traffic.offered_for_users(shape.peak_users)
        log(
            f"provisioned {n} subscribers; load: {shape.kind} to {shape.peak_users} users "
            f"({offered['population']:.0f} subscribers: {offered['register_per_s']:.1f} "
            f"REGISTER/s, {offered['calls_per_s']:.1f} calls/s offered at peak) "
            f"for {shape.duration:.0f} s"
        )
        run = LocustRun(spec)
        run.start()
        sampler = Sampler(observed, run.started_at, CpuMeter([p.pid for p in run.procs]))
        run.wait(tick=sampler.maybe_sample, limit=shape.duration + 120)
        load_end = time.time()
        settle_until = load_end + plan.settle_seconds
        while time.time() < settle_until:
            sampler.maybe_sample()
            time.sleep(0.05)
        sampler.maybe_sample()
    finally:
        observed.stop()
    t0 = run.started_at
    events = read_events(out / "events")
    last_event = max((p.end for p in events.procedures), default=t0)
    last_sample = max((s.wall for s in sampler.samples), default=t0)
    seconds = max(1, math.ceil(max(last_event, last_sample) - t0))
    rows = build_timeseries(plan, events, sampler.samples, t0, seconds)
    figures = derive_figures(plan, rows, events, load_seconds=shape.duration)
    results = {
        "plan": plan.model_dump(),
        "started_at": t0,
        "target": target.as_dict(),
        "offered_at_peak": {k: round(v, 3) for k, v in offered.items()},
        "samples": len(sampler.samples),
        "sample_errors": sampler.errors,
        "figures": figures,
        "files": {
            "timeseries": "timeseries.csv",
            "timeline_plot": "timeline.png",
            "capacity_plot": "capacity.png",
            "report": "report.html",
            "locust_stats": "locust_stats.csv",
        },
    }
    write_timeseries(out / "timeseries.csv", plan, rows)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    write_report(out, plan, rows, results)
    log(format_figures(figures))
    return results


def format_figures(f: dict[str, Any]) -> str:
    p = f["procedures"]
    rs = f["replica_seconds"]
    reg = f["registrations"]
    lines = [
        f"{f['duration_s']} s, peak {f['peak_users']} users, peak {f['peak_achieved_per_s']} "
        f"procedures/s; {p['failed']} failed of {p['finished']}",
        f"max replicas: {', '.join(f'{k} {v}' for k, v in f['max_replicas'].items())}",
        f"scale-outs: {len(f['scale_out_events'])}, reaction (desired→ready) max "
        f"{f['scale_out_reaction_s']['max']} s; scale-ins: {len(f['scale_in_events'])}",
        f"time over SLO: {f['time_over_slo_s']} s in {len(f['slo_episodes'])} episode(s), "
        f"longest {f['longest_slo_episode_s']} s",
        f"registrations: before scale-in {reg.get('before')}, end {reg['after']}, "
        f"lost {reg['lost']}",
        f"replica-seconds {rs['used_total']} vs {rs['static_peak_total']} static at peak "
        f"(saving {rs['saving']})",
    ]
    return "\n".join(lines)

"""The local platform's supervisor: one process that owns every NF replica of a state dir.

Started by ``nfv up`` as ``python -m nfv.platforms.local.supervisor --state-dir DIR``, it
reads ``plan.json`` and then, until told to stop:

* starts the NFs wave by wave (a wave starts when every replica of the previous one answers
  ``/readyz`` 200), each replica a real process with the environment of the NF contract;
* records every child's PID and start time in ``state.json`` (atomically) the moment it
  exists, so ``nfv down`` can clean up even after ``kill -9`` of the supervisor;
* probes each replica's ``/readyz`` (fast while not ready, once a second after);
* restarts a crashed replica with exponential backoff (0.5 s doubling to 30 s, reset after a
  minute of good running), reporting it in its log and in ``state.json``;
* scales: out by starting the lowest free index, in by SIGTERM to the highest index (which
  drains) and SIGKILL after the grace period;
* samples each replica's CPU from ``/proc/<pid>/stat`` (and optional request counters from
  ``/metrics``) and runs the HorizontalPodAutoscaler algorithm (:mod:`nfv.scaling`) for NFs
  the values enable it for; optionally caps replicas' CPU (:mod:`.cgroups`);
* answers JSON-line requests (status, scale, shutdown) on a unix control socket.

On SIGTERM/SIGINT or a shutdown request it stops the NFs in reverse wave order (SIGTERM,
grace, SIGKILL), removes its socket and ``state.json`` and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any, cast

from network_functions.runtime.http import http_request

from ... import scaling
from .cgroups import CpuCaps
from .procs import CLK_TCK, ProcessRef, read_stat, remove_quietly
from .state import (
    STATE_VERSION,
    NFPlan,
    Plan,
    StateDir,
    admin_port,
    read_json,
    replica_name,
    write_json_atomic,
)

log = logging.getLogger("nfv.supervisor")

# Restart backoff (like a kubelet's CrashLoopBackOff, scaled down for a laptop): the first
# restart after BACKOFF_BASE, doubling up to BACKOFF_MAX; reset after BACKOFF_RESET of
# uninterrupted running.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
BACKOFF_RESET = 60.0
# SIGTERM -> SIGKILL grace period. The NF contract promises exit within ~10 s of SIGTERM.
TERMINATION_GRACE = 15.0
# /readyz probing: every PROBE_FAST s until ready (readiness latency is time-to-ready),
# every PROBE_SLOW s after; a probe gets PROBE_TIMEOUT s.
PROBE_FAST = 0.05
PROBE_SLOW = 1.0
PROBE_TIMEOUT = 1.0
# CPU (and request counter) sampling period, and how much history a replica keeps.
SAMPLE_PERIOD = 1.0
HISTORY_SECONDS = 900.0
# Control socket: one request line per connection, at most this long.
MAX_REQUEST_BYTES = 64 * 1024
# Readiness reasons are cut to this length in status output.
MAX_REASON = 300


class Replica:
    """One replica: its process, readiness, restarts and samples."""

    def __init__(self, nf: NFState, index: int) -> None:
        self.nf = nf
        self.index = index
        self.name = replica_name(nf.plan["name"], index)
        taken = {p["port"] for p in nf.plan["ports"]}
        self.admin_port = admin_port(nf.plan["admin_base"], index, taken)
        self.proc: asyncio.subprocess.Process | None = None
        self.ref: ProcessRef | None = None
        self.state = "starting"
        self.ready = False
        self.ready_changed = time.monotonic()
        self.reason = "starting"
        self.started_mono = time.monotonic()
        self.started_wall = time.time()
        self.restarts = 0
        self.failures = 0
        self.last_exit: str | None = None
        self.backoff_until: float | None = None
        self.stopping = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.cpu: deque[tuple[float, int]] = deque()
        self.cpu_percent: float | None = None
        self.counter: deque[tuple[float, float]] = deque()
        self.cgroup: Path | None = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": self.index,
            "pid": self.ref.pid if self.ref else None,
            "start_time": self.ref.start_time if self.ref else None,
            "admin_port": self.admin_port,
            "state": self.state,
            "ready": self.ready,
            "reason": self.reason,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "backoff_until": self.backoff_until,
            "started_at": self.started_wall,
            "cpu_percent": None if self.cpu_percent is None else round(self.cpu_percent, 1),
            "cgroup": str(self.cgroup) if self.cgroup else None,
        }


class NFState:
    """One NF: its plan, desired replica count, replicas and autoscaler."""

    def __init__(self, plan: NFPlan, settings: scaling.AutoscalingValues | None) -> None:
        self.plan = plan
        self.name = plan["name"]
        self.desired = plan["replicas"]
        self.replicas: dict[int, Replica] = {}
        self.started = False
        self.autoscaler: scaling.HorizontalAutoscaler | None = None
        self.auto: scaling.NFAutoscalingValues | None = None
        self.last_decision: dict[str, Any] | None = None
        if settings is not None and plan["autoscaling"] is not None:
            self.auto = scaling.NFAutoscalingValues.model_validate(plan["autoscaling"])
            self.autoscaler = scaling.HorizontalAutoscaler(
                min_replicas=self.auto.min or 1,
                max_replicas=self.auto.max or 1,
                behavior=self.auto.behavior.behavior(),
            )

    def active(self) -> list[Replica]:
        return sorted((r for r in self.replicas.values() if not r.stopping), key=lambda r: r.index)

    def ready_count(self) -> int:
        return sum(1 for r in self.active() if r.ready)

    def settled(self) -> bool:
        active = self.active()
        return len(active) == self.desired and all(r.ready for r in active)

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.plan["address"],
            "fqdn": self.plan["fqdn"],
            "ports": self.plan["ports"],
            "wave": self.plan["wave"],
            "started": self.started,
            "desired": self.desired,
            "ready": self.ready_count(),
            "autoscaling": self.autoscaler is not None,
            "last_decision": self.last_decision,
            "cpu_limit": self.plan["cpu_limit"],
            "replicas": [
                r.snapshot() for r in sorted(self.replicas.values(), key=lambda r: r.index)
            ],
        }


class Supervisor:
    def __init__(self, state: StateDir, plan: Plan, *, owner: ProcessRef | None = None) -> None:
        self.dir = state
        self.plan = plan
        self.owner = owner
        self.settings = (
            scaling.AutoscalingValues.model_validate(plan["autoscaling"])
            if plan["autoscaling"].get("enabled")
            else None
        )
        self.nfs = {name: NFState(p, self.settings) for name, p in plan["nfs"].items()}
        self.phase = "starting"
        self.wave = 0
        self.changed = asyncio.Event()
        self.stop_requested = asyncio.Event()
        self.stopping = False
        self.caps = CpuCaps(state.root)
        self.me = ProcessRef.of(os.getpid())
        stat = read_stat(os.getpid())
        self.session = stat.session if stat else os.getpid()
        self.started_at = time.time()
        self.socket_path = state.control_socket
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty = False

    # -- state file ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "supervisor": {
                "pid": os.getpid(),
                "start_time": self.me.start_time if self.me else None,
                "session": self.session,
                "control": str(self.socket_path),
                "started_at": self.started_at,
            },
            "phase": self.phase,
            "wave": self.wave,
            "waves": self.plan["waves"],
            "updated_at": time.time(),
            "nfs": {name: nf.snapshot() for name, nf in self.nfs.items()},
        }

    def save(self) -> None:
        self._dirty = False
        try:
            write_json_atomic(self.dir.state, self.snapshot())
        except OSError as exc:  # keep supervising; the next change retries
            self._dirty = True
            log.error("cannot write %s: %s", self.dir.state, exc)

    def touch(self) -> None:
        """Note a change: readers of state.json see it within a sample period."""
        self._dirty = True
        self.changed.set()

    def spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- replicas --------------------------------------------------------------------------
    def _env(self, rep: Replica) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.plan["env"])
        address = rep.nf.plan["address"]
        env.update(
            {
                "NFV_NAMES": str(self.dir.names),
                "NFV_REPLICA": rep.name,
                "NFV__LISTEN__HOST": address,
                "NFV__ADMIN__HOST": address,
                "NFV__ADMIN__PORT": str(rep.admin_port),
                "NFV__STORE__URL": f"sqlite:///{self.dir.store(rep.nf.name)}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    async def _spawn(self, rep: Replica) -> None:
        plan = rep.nf.plan
        argv = [sys.executable, "-m", plan["module"], "--config", plan["config"]]
        with open(self.dir.replica_log(rep.name), "ab") as logfile:
            rep.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logfile,
                stderr=asyncio.subprocess.STDOUT,
                env=self._env(rep),
                cwd=str(self.dir.root),
            )
        rep.ref = ProcessRef.of(rep.proc.pid)
        rep.started_mono = rep.ready_changed = time.monotonic()
        rep.started_wall = time.time()
        rep.state, rep.ready, rep.reason = "starting", False, "starting"
        rep.cpu.clear()
        rep.counter.clear()
        rep.cpu_percent = None
        # Record the PID before anything else can go wrong (kill -9 safety).
        self.save()
        if plan["cpu_limit"]:
            rep.cgroup = self.caps.apply(rep.name, rep.proc.pid, plan["cpu_limit"])
        log.info("started %s pid %d", rep.name, rep.proc.pid, extra=_fields(replica=rep.name))

    async def _replica_loop(self, rep: Replica) -> None:
        probe: asyncio.Task[None] | None = None
        try:
            while not rep.stopping:
                rep.backoff_until = None
                try:
                    await self._spawn(rep)
                except OSError as exc:
                    rep.last_exit = f"could not start: {exc}"
                else:
                    assert rep.proc is not None and rep.ref is not None
                    if rep.stopping:  # told to stop while it was being spawned
                        rep.ref.terminate()
                    probe = asyncio.ensure_future(self._probe_loop(rep))
                    code = await rep.proc.wait()
                    probe.cancel()
                    rep.last_exit = _describe_exit(code)
                self.caps.release(rep.cgroup)
                rep.cgroup = None
                rep.ready = False
                if rep.stopping:
                    break
                # Crashed (or exited by itself): restart with backoff.
                ran = time.monotonic() - rep.started_mono
                rep.failures = 1 if ran >= BACKOFF_RESET else rep.failures + 1
                delay = min(BACKOFF_BASE * 2 ** (rep.failures - 1), BACKOFF_MAX)
                rep.restarts += 1
                rep.state = "backoff"
                rep.reason = f"{rep.last_exit}; restart {rep.restarts} in {delay:.1f} s"
                rep.backoff_until = time.time() + delay
                log.warning(
                    "%s %s after %.1f s; restart %d in %.1f s",
                    rep.name,
                    rep.last_exit,
                    ran,
                    rep.restarts,
                    delay,
                    extra=_fields(replica=rep.name, restarts=rep.restarts, backoff=delay),
                )
                self.touch()
                rep.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(rep.wake.wait(), delay)
        finally:
            if probe is not None:
                probe.cancel()
            rep.nf.replicas.pop(rep.index, None)
            self.caps.release(rep.cgroup)
            self.touch()
            self.save()

    async def _probe_loop(self, rep: Replica) -> None:
        address = rep.nf.plan["address"]
        while rep.running() and not rep.stopping:
            try:
                status, body = await http_request(
                    address, rep.admin_port, "GET", "/readyz", timeout=PROBE_TIMEOUT
                )
                ready = status == 200
                reason = body.decode("utf-8", "replace").strip()[:MAX_REASON] or str(status)
            except ConnectionRefusedError:
                ready, reason = False, f"admin port {rep.admin_port} not listening yet"
            except Exception as exc:  # OSError (timeouts, resets), bad responses
                ready, reason = (
                    False,
                    f"admin port {rep.admin_port}: {str(exc) or type(exc).__name__}",
                )
            if rep.stopping or not rep.running():
                return
            rep.reason = "ready" if ready else reason
            if ready != rep.ready:
                rep.ready = ready
                rep.ready_changed = time.monotonic()
                rep.state = "running" if ready else "unready"
                took = rep.ready_changed - rep.started_mono
                log.info(
                    "%s %s (%.2f s after start)%s",
                    rep.name,
                    "ready" if ready else "not ready",
                    took,
                    "" if ready else f": {reason}",
                    extra=_fields(replica=rep.name, ready=ready),
                )
                self.touch()
                self.save()
            await asyncio.sleep(PROBE_SLOW if rep.ready else PROBE_FAST)

    async def stop_replica(self, rep: Replica, grace: float = TERMINATION_GRACE) -> None:
        """Drain one replica: SIGTERM, wait up to *grace*, SIGKILL.

        A replica still being spawned gets its SIGTERM from its own loop as soon as its
        process exists (see :meth:`_replica_loop`).
        """
        first = not rep.stopping
        if first:
            rep.stopping = True
            rep.state = "terminating"
            rep.reason = "draining"
            rep.ready = False
            rep.wake.set()
            self.touch()
            if rep.running() and rep.ref is not None:
                rep.ref.terminate()
                log.info("draining %s (SIGTERM)", rep.name, extra=_fields(replica=rep.name))
        if rep.task is None:
            return
        if first:
            done, _ = await asyncio.wait({rep.task}, timeout=grace)
            if not done and rep.ref is not None:
                log.warning("%s did not exit within %.0f s: SIGKILL", rep.name, grace)
                rep.ref.kill()
        await asyncio.shield(rep.task)
        if first:
            log.info("%s stopped (%s)", rep.name, rep.last_exit, extra=_fields(replica=rep.name))

    def reconcile(self, nf: NFState) -> None:
        """Start or stop replicas until the active ones match the desired count."""
        if not nf.started or self.stopping:
            return
        active = nf.active()
        if len(active) < nf.desired:
            used = set(nf.replicas)
            for _ in range(nf.desired - len(active)):
                index = next(i for i in range(len(used) + 1) if i not in used)
                used.add(index)
                rep = Replica(nf, index)
                nf.replicas[index] = rep
                rep.task = self.spawn_task(self._replica_loop(rep))
        elif len(active) > nf.desired:
            for rep in active[nf.desired :]:
                self.spawn_task(self.stop_replica(rep))
        self.touch()

    def scale(self, name: str, replicas: int, *, why: str) -> None:
        nf = self.nfs[name]
        if replicas != nf.desired:
            log.info(
                "scale %s %d -> %d (%s)",
                name,
                nf.desired,
                replicas,
                why,
                extra=_fields(nf=name, previous=nf.desired, desired=replicas, why=why),
            )
        nf.desired = replicas
        self.reconcile(nf)

    # -- start-up in waves -------------------------------------------------------------------
    async def _start_waves(self) -> None:
        try:
            await self._start_waves_in_order()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("starting the NFs failed")

    async def _start_waves_in_order(self) -> None:
        for i, wave in enumerate(self.plan["waves"]):
            self.wave = i
            for name in wave:
                self.nfs[name].started = True
                self.reconcile(self.nfs[name])
            log.info("wave %d/%d started: %s", i + 1, len(self.plan["waves"]), ", ".join(wave))
            self.save()
            while not all(self.nfs[n].ready_count() >= self.nfs[n].desired for n in wave):
                self.changed.clear()
                await self.changed.wait()
        self.phase = "running"
        log.info("all NFs ready (%.2f s)", time.time() - self.started_at)
        self.save()

    # -- sampling and autoscaling ----------------------------------------------------------
    async def _sample_loop(self) -> None:
        while True:
            try:
                await self._sample_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sampling failed")
            await asyncio.sleep(SAMPLE_PERIOD)

    async def _sample_once(self) -> None:
        now = time.monotonic()
        scrapes = []
        for nf in self.nfs.values():
            for rep in nf.replicas.values():
                self._sample_cpu(rep, now)
                if nf.auto is not None and nf.auto.requests is not None and rep.running():
                    scrapes.append(self._scrape(rep, nf.auto.requests.metric, now))
        if scrapes:
            await asyncio.gather(*scrapes)
        if self._dirty:
            self.save()
        if self.owner is not None and not self.owner.alive():
            log.warning("nfv up (pid %d) is gone: stopping", self.owner.pid)
            self.stop_requested.set()

    def _sample_cpu(self, rep: Replica, now: float) -> None:
        if rep.ref is None or not rep.running():
            return
        stat = read_stat(rep.ref.pid)
        if stat is None or stat.start_time != rep.ref.start_time:
            return
        rep.cpu.append((now, stat.cpu_ticks))
        while rep.cpu and rep.cpu[0][0] < now - HISTORY_SECONDS:
            rep.cpu.popleft()
        if len(rep.cpu) >= 2:
            (t0, c0), (t1, c1) = rep.cpu[-2], rep.cpu[-1]
            if t1 > t0:
                rep.cpu_percent = (c1 - c0) / CLK_TCK / (t1 - t0) * 100.0
                self._dirty = True

    async def _scrape(self, rep: Replica, metric: str, now: float) -> None:
        from network_functions.runtime.metrics import parse_metrics

        try:
            status, body = await http_request(
                rep.nf.plan["address"], rep.admin_port, "GET", "/metrics", timeout=PROBE_TIMEOUT
            )
            if status != 200:
                return
            samples = parse_metrics(body.decode("utf-8", "replace"))
        except (OSError, ValueError):
            return
        total = sum(v for (name, _), v in samples.items() if name == metric)
        rep.counter.append((now, total))
        while rep.counter and rep.counter[0][0] < now - HISTORY_SECONDS:
            rep.counter.popleft()

    @staticmethod
    def _window_rate(
        history: deque[tuple[float, Any]], now: float, window: float
    ) -> tuple[float, float] | None:
        """(rate per second, span) over the newest samples covering about *window* s.

        Like the metrics pipeline's window: at least two sample periods, so that a sync
        period as short as the sample period still sees two samples. None (a missing
        metric) when the replica has fewer than two samples or none recent ones.
        """
        if len(history) < 2:
            return None
        newest_t, newest_v = history[-1]
        if newest_t < now - 2 * SAMPLE_PERIOD - 0.5:
            return None
        oldest = newest_t - max(window, 2 * SAMPLE_PERIOD) - SAMPLE_PERIOD / 2
        start_t, start_v = next((t, v) for t, v in history if t >= oldest)
        span = newest_t - start_t
        if span < SAMPLE_PERIOD / 2:
            return None
        return (float(newest_v) - float(start_v)) / span, span

    def _samples(
        self, nf: NFState, now: float, window: float, *, cpu: bool
    ) -> list[scaling.PodSample]:
        assert nf.auto is not None
        request = nf.auto.cpu_limit_cores or 1.0
        out = []
        for rep in nf.replicas.values():
            history = rep.cpu if cpu else rep.counter
            rate = self._window_rate(history, now, window)
            value: float | None = None
            span = 0.0
            if rate is not None:
                value = rate[0] / CLK_TCK if cpu else rate[0]
                span = rate[1]
            out.append(
                scaling.PodSample(
                    name=rep.name,
                    value=value,
                    ready=rep.ready,
                    pending=not rep.running(),
                    deleting=rep.stopping,
                    started_at=rep.started_mono,
                    ready_since=rep.ready_changed,
                    metric_timestamp=now,
                    metric_window=span,
                    request=request if cpu else 1.0,
                )
            )
        return out

    async def _autoscale_loop(self) -> None:
        assert self.settings is not None
        period = self.settings.sync_period_seconds
        while True:
            await asyncio.sleep(period)
            for nf in self.nfs.values():
                if nf.autoscaler is not None and nf.started and not self.stopping:
                    try:
                        self.autoscale(nf, time.monotonic(), period)
                    except Exception:
                        log.exception("autoscaling %s failed", nf.name)

    def autoscale(self, nf: NFState, now: float, window: float) -> None:
        assert self.settings is not None and nf.autoscaler is not None and nf.auto is not None
        settings = self.settings

        def propose(
            samples: list[scaling.PodSample], target: float, *, cpu: bool
        ) -> scaling.MetricProposal:
            return scaling.metric_replicas(
                samples,
                current_replicas=nf.desired,
                target=target,
                kind="Utilization" if cpu else "AverageValue",
                cpu=cpu,
                now=now,
                tolerance=settings.tolerance,
                cpu_initialization_period=settings.cpu_initialization_period_seconds,
                initial_readiness_delay=settings.initial_readiness_delay_seconds,
            )

        proposals = []
        if nf.auto.target_cpu_percent is not None:
            samples = self._samples(nf, now, window, cpu=True)
            proposals.append(propose(samples, float(nf.auto.target_cpu_percent), cpu=True))
        if nf.auto.requests is not None:
            samples = self._samples(nf, now, window, cpu=False)
            proposals.append(propose(samples, nf.auto.requests.target_per_second, cpu=False))
        decision = nf.autoscaler.sync(now=now, current_replicas=nf.desired, proposals=proposals)
        nf.last_decision = {
            "at": time.time(),
            "desired": decision.desired,
            "proposed": decision.proposed,
            "reason": decision.reason,
            "metrics": [None if u is None else round(u, 2) for u in decision.usages],
        }
        self._dirty = True
        if decision.changed:
            metrics = ", ".join("-" if u is None else f"{u:.1f}" for u in decision.usages)
            self.scale(
                nf.name, decision.desired, why=f"autoscaler: {decision.reason}, metrics [{metrics}]"
            )

    # -- control socket --------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("request must be a JSON object")
                answer = self.dispatch(request)
            except (ValueError, KeyError, TypeError) as exc:
                answer = {"ok": False, "error": str(exc)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (OSError, TimeoutError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "status":
            return {"ok": True, "state": self.snapshot()}
        if op == "scale":
            name, replicas = request["nf"], request["replicas"]
            if name not in self.nfs:
                known = ", ".join(sorted(self.nfs))
                return {"ok": False, "error": f"{name!r} is not running here (running: {known})"}
            if (
                not isinstance(replicas, int)
                or isinstance(replicas, bool)
                or not 0 <= replicas <= 64
            ):
                return {"ok": False, "error": "replicas must be an integer from 0 to 64"}
            if self.stopping:
                return {"ok": False, "error": "the supervisor is stopping"}
            nf = self.nfs[name]
            self.scale(name, replicas, why="requested")
            note = None
            if nf.auto is not None and not (nf.auto.min or 1) <= replicas <= (nf.auto.max or 1):
                note = f"the autoscaler keeps {name} within {nf.auto.min}..{nf.auto.max} replicas"
            return {
                "ok": True,
                "desired": replicas,
                "autoscaling": nf.autoscaler is not None,
                "note": note,
            }
        if op == "shutdown":
            self.stop_requested.set()
            return {"ok": True}
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        return {"ok": False, "error": f"unknown op {op!r}"}

    # -- main --------------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_requested.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)
        remove_quietly(self.socket_path)
        old = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(
                self._handle, path=str(self.socket_path), limit=MAX_REQUEST_BYTES
            )
        finally:
            os.umask(old)
        log.info(
            "supervisor pid %d for %s, control socket %s",
            os.getpid(),
            self.dir.root,
            self.socket_path,
        )
        self.save()
        background = [self.spawn_task(self._start_waves()), self.spawn_task(self._sample_loop())]
        if self.settings is not None:
            background.append(self.spawn_task(self._autoscale_loop()))
        await self.stop_requested.wait()
        await self.shutdown(background)
        server.close()
        await server.wait_closed()
        remove_quietly(self.socket_path)
        return 0

    async def shutdown(self, background: list[asyncio.Task[Any]]) -> None:
        self.stopping = True
        self.phase = "stopping"
        log.info("stopping all NFs")
        for task in background:
            task.cancel()
        self.save()
        for wave in reversed(self.plan["waves"]):
            replicas = [r for name in wave for r in list(self.nfs[name].replicas.values())]
            for name in wave:
                self.nfs[name].desired = 0
            await asyncio.gather(*(self.stop_replica(r) for r in replicas))
        self.caps.cleanup()
        remove_quietly(self.dir.state)
        log.info("stopped")


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _fields(**fields: Any) -> dict[str, Any]:
    return {"fields": fields}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, like the NFs' logs: ts, level, logger, msg, fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _daemonize() -> None:
    """Fork once: the parent (``nfv up``'s child) exits, the supervisor is reparented."""
    if os.fork() > 0:
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nfv.platforms.local.supervisor")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--daemon", action="store_true", help="fork into the background")
    parser.add_argument("--owner", help="PID:START of a process whose exit stops everything")
    args = parser.parse_args(argv)
    state = StateDir(args.state_dir)
    plan = read_json(state.plan)
    if not isinstance(plan, dict):
        print(f"no plan in {state.plan}", file=sys.stderr)
        return 1
    if args.daemon:
        _daemonize()
    handler = logging.FileHandler(state.supervisor_log)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    owner = None
    if args.owner:
        pid, start = (int(x) for x in args.owner.split(":"))
        owner = ProcessRef(pid, start)
    try:
        return asyncio.run(Supervisor(state, cast(Plan, plan), owner=owner).run())
    except Exception:
        log.exception("supervisor failed")
        raise


if __name__ == "__main__":
    sys.exit(main())

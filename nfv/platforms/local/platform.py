"""The local platform's API: up, down, status, scale and logs for one state directory.

``up`` plans (:mod:`.plan`), checks every port, writes the state directory, starts the
supervisor (:mod:`.supervisor`) in its own session and waits, wave by wave, until every
replica answers ``/readyz`` 200, reporting progress through a callback. ``down`` asks the
supervisor to stop everything; if the supervisor is gone (``kill -9``) it stops the recorded
processes itself, each only after checking its PID still has the recorded start time.
All errors are :class:`~nfv.errors.PlatformError` (or :class:`~nfv.errors.NotReadyError`).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ...catalog import NF_ROOT, load_catalog
from ...errors import CatalogError, NotReadyError, PlatformError
from ...values import CHART_ROOT, load_values
from .cgroups import CpuCaps
from .plan import DEFAULT_SUBNET, build_plan, check_ports, write_files
from .procs import ProcessRef, read_stat, remove_quietly, session_members
from .state import Plan, StateDir, read_json
from .supervisor import TERMINATION_GRACE

# How long the supervisor may take to come up and write state.json.
SUPERVISOR_START_TIMEOUT = 15.0
# Status polling while waiting for readiness.
POLL_INTERVAL = 0.05
# Lines of a replica's log shown when it does not get ready.
LOG_TAIL_LINES = 20
DEFAULT_TIMEOUT = 60.0
CONTROL_TIMEOUT = 5.0


@dataclass(frozen=True)
class NFProgress:
    """One NF's line in the progress display."""

    name: str
    address: str
    wave: int
    desired: int
    ready: int
    phase: str  # waiting | starting | ready | scaling
    reason: str = ""


ProgressFn = Callable[[list[NFProgress], float], None]


@dataclass
class DownReport:
    stopped_by: str  # supervisor | cleanup | nothing
    processes: int = 0
    killed: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.stopped_by == "nothing":
            return "nothing is running"
        how = "by the supervisor" if self.stopped_by == "supervisor" else "from the state dir"
        extra = f"; SIGKILLed: {', '.join(self.killed)}" if self.killed else ""
        return f"stopped {self.processes} process(es) {how}{extra}"


class LocalPlatform:
    """Runs the NF catalog as processes on loopback addresses, from one state directory."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.dir = StateDir(state_dir)

    # -- reading state ---------------------------------------------------------------------
    def plan(self) -> Plan | None:
        data = read_json(self.dir.plan)
        return cast(Plan, data) if isinstance(data, dict) and "nfs" in data else None

    def recorded_state(self) -> dict[str, Any] | None:
        data = read_json(self.dir.state)
        return data if isinstance(data, dict) and "nfs" in data else None

    def supervisor(self, state: dict[str, Any] | None = None) -> ProcessRef | None:
        """The supervisor if it is alive (PID and start time match the record)."""
        state = state if state is not None else self.recorded_state()
        sup = (state or {}).get("supervisor") or {}
        if not sup.get("pid") or sup.get("start_time") is None:
            return None
        ref = ProcessRef(int(sup["pid"]), int(sup["start_time"]))
        return ref if ref.alive() else None

    def recorded_processes(
        self, state: dict[str, Any] | None = None
    ) -> list[tuple[str, ProcessRef]]:
        """Every recorded replica that still runs, as (replica name, ref)."""
        state = state if state is not None else self.recorded_state()
        out = []
        for nf in (state or {}).get("nfs", {}).values():
            for rep in nf.get("replicas", []):
                if rep.get("pid") and rep.get("start_time") is not None:
                    ref = ProcessRef(int(rep["pid"]), int(rep["start_time"]))
                    if ref.alive():
                        out.append((str(rep["name"]), ref))
        return out

    # -- control socket --------------------------------------------------------------------
    def control(self, op: str, **args: Any) -> dict[str, Any]:
        """One request to the supervisor; raises PlatformError when it does not answer."""
        state = self.recorded_state()
        path = ((state or {}).get("supervisor") or {}).get("control") or str(
            self.dir.control_socket
        )
        request = json.dumps({"op": op, **args}).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(CONTROL_TIMEOUT)
                sock.connect(path)
                sock.sendall(request)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError as exc:
            raise PlatformError(f"the supervisor does not answer on {path}: {exc}") from exc
        try:
            answer = json.loads(data)
        except ValueError as exc:
            raise PlatformError(f"the supervisor sent a bad answer: {data[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise PlatformError(f"the supervisor sent a bad answer: {data[:200]!r}")
        if not answer.get("ok"):
            raise PlatformError(str(answer.get("error", "the supervisor refused the request")))
        return answer

    def live_state(self) -> dict[str, Any] | None:
        """The supervisor's view now, or the recorded state if it does not answer."""
        state = self.recorded_state()
        if state is None:
            return None
        if self.supervisor(state) is not None:
            try:
                live = self.control("status")["state"]
                if isinstance(live, dict):
                    live["supervisor_alive"] = True
                    return live
            except PlatformError:
                pass
        state["supervisor_alive"] = self.supervisor(state) is not None
        for nf in state.get("nfs", {}).values():
            for rep in nf.get("replicas", []):
                ref = (
                    ProcessRef(int(rep["pid"]), int(rep["start_time"]))
                    if rep.get("pid") and rep.get("start_time") is not None
                    else None
                )
                rep["alive"] = bool(ref and ref.alive())
        return state

    # -- up ----------------------------------------------------------------------------------
    def up(
        self,
        *,
        profile: str | None = None,
        files: list[Path] | None = None,
        subnet: str = DEFAULT_SUBNET,
        timeout: float = DEFAULT_TIMEOUT,
        catalog_root: Path | None = None,
        chart: Path = CHART_ROOT,
        owner: ProcessRef | None = None,
        progress: ProgressFn | None = None,
    ) -> float:
        """Start the core and wait until it is ready; returns seconds to ready.

        Raises ValuesError/CatalogError/RenderError for bad input, PlatformError when a
        core already runs here or a port is taken, NotReadyError (after stopping
        everything again) when an NF does not get ready within *timeout*.
        """
        t0 = time.monotonic()
        values = load_values(profile=profile, files=files, chart=chart)
        catalog = load_catalog(catalog_root or NF_ROOT)
        if len(catalog) == 0:
            raise CatalogError(f"no NF descriptors (*/nf.yaml) under {catalog_root or NF_ROOT}")
        self._refuse_if_running()
        plan = build_plan(
            self.dir,
            catalog=catalog,
            values=values,
            profile=profile,
            subnet=subnet,
            catalog_root=catalog_root,
        )
        check_ports(plan)
        remove_quietly(self.dir.state)
        remove_quietly(self.dir.control_socket)
        write_files(self.dir, plan, catalog=catalog, values=values, chart=chart)
        self._start_supervisor(owner)
        try:
            self.wait_ready(timeout=timeout - (time.monotonic() - t0), progress=progress, t0=t0)
        except BaseException:
            self.down()
            raise
        return time.monotonic() - t0

    def _refuse_if_running(self) -> None:
        state = self.recorded_state()
        sup = self.supervisor(state)
        if sup is not None:
            raise PlatformError(
                f"a core is already running from {self.dir.root} (supervisor pid {sup.pid}): "
                "run `nfv down` first, or use another --state-dir"
            )
        leftovers = self.recorded_processes(state)
        if leftovers:
            names = ", ".join(f"{n} (pid {r.pid})" for n, r in leftovers)
            raise PlatformError(
                f"processes of a previous run in {self.dir.root} still run without their "
                f"supervisor: {names}; run `nfv down` to clean up"
            )

    def _start_supervisor(self, owner: ProcessRef | None) -> None:
        argv = [
            sys.executable,
            "-m",
            "nfv.platforms.local.supervisor",
            "--state-dir",
            str(self.dir.root),
            "--daemon",
        ]
        if owner is not None:
            argv += ["--owner", f"{owner.pid}:{owner.start_time}"]
        plan = self.plan()
        env = dict(os.environ)
        if plan is not None:
            env.update(plan["env"])
        with open(self.dir.supervisor_log, "ab") as logfile:
            # A new session: Ctrl-C in the terminal reaches `nfv up` only, which then stops
            # the core gracefully; the supervisor daemonizes (forks) so it is not our child.
            launcher = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.dir.root),
                start_new_session=True,
            )
        try:
            code = launcher.wait(SUPERVISOR_START_TIMEOUT)
        except subprocess.TimeoutExpired:
            launcher.kill()  # our own child, not yet reaped: the PID is still ours
            launcher.wait()
            code = None
        if code != 0:
            raise PlatformError(
                f"the supervisor did not start (exit {code}):\n"
                + self._tail(self.dir.supervisor_log)
            )
        deadline = time.monotonic() + SUPERVISOR_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.supervisor() is not None and os.path.exists(self.dir.control_socket):
                return
            time.sleep(0.01)
        raise PlatformError(
            f"the supervisor did not come up within {SUPERVISOR_START_TIMEOUT:.0f} s:\n"
            + self._tail(self.dir.supervisor_log)
        )

    def wait_ready(
        self,
        *,
        timeout: float,
        progress: ProgressFn | None = None,
        t0: float | None = None,
        nfs: list[str] | None = None,
    ) -> None:
        """Poll the supervisor until every (or each named) NF has all replicas ready."""
        t0 = time.monotonic() if t0 is None else t0
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            state = self.live_state()
            if state is None or not state.get("supervisor_alive"):
                raise PlatformError(
                    "the supervisor exited while the core was starting:\n"
                    + self._tail(self.dir.supervisor_log)
                )
            lines = progress_lines(state)
            if nfs is not None:
                lines = [p for p in lines if p.name in nfs]
            if progress is not None:
                progress(lines, time.monotonic() - t0)
            if all(p.phase == "ready" for p in lines) and (
                nfs is not None or state.get("phase") == "running"
            ):
                return
            if time.monotonic() >= deadline:
                raise NotReadyError(self._not_ready_message(state, lines, timeout))
            time.sleep(POLL_INTERVAL)

    def _not_ready_message(
        self, state: dict[str, Any], lines: list[NFProgress], timeout: float
    ) -> str:
        late = next((p for p in lines if p.phase in ("starting", "scaling")), None)
        late = late or next((p for p in lines if p.phase != "ready"), lines[0] if lines else None)
        if late is None:
            return f"the core did not get ready within {timeout:.0f} s"
        nf = state["nfs"][late.name]
        rep = next((r for r in nf["replicas"] if not r.get("ready")), None)
        why = f": {rep['reason']}" if rep and rep.get("reason") else ""
        if rep and rep.get("restarts"):
            why += f" [restarted {rep['restarts']} times, last {rep.get('last_exit')}]"
        if late.phase == "waiting":
            why = " (its wave never started: an earlier wave is not ready)"
        msg = (
            f"{late.name} did not get ready within {timeout:.0f} s "
            f"({late.ready}/{late.desired} replicas ready){why}"
        )
        if rep is not None:
            log = self.dir.replica_log(rep["name"])
            msg += f"\n--- last lines of {log} ---\n{self._tail(log)}"
        return msg + f"\nstopped everything; logs are kept in {self.dir.logs}"

    @staticmethod
    def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 64 * 1024))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    # -- down ----------------------------------------------------------------------------------
    def down(self, *, grace: float = TERMINATION_GRACE) -> DownReport:
        """Stop everything started from this state dir; idempotent. Raises PlatformError if
        a process survives SIGKILL (it should not)."""
        state = self.recorded_state()
        control = self.dir.control_socket
        if state is None:
            remove_quietly(control)
            return DownReport("nothing")
        recorded = self.recorded_processes(state)
        sup = self.supervisor(state)
        session = ((state.get("supervisor") or {}).get("session")) or None
        report = DownReport("cleanup", processes=len(recorded))
        if sup is not None:
            waves = max(1, len(state.get("waves") or []))
            budget = grace * waves + 5.0
            try:
                self.control("shutdown")
            except PlatformError:
                sup.terminate()
            if _wait_gone([sup], budget):
                report.stopped_by = "supervisor"
            else:
                sup.kill()
                report.killed.append(f"supervisor (pid {sup.pid})")
                _wait_gone([sup], 2.0)
        # Whatever is still alive: recorded replicas, then any member of the supervisor's
        # session (a replica spawned just before a kill -9, before its PID was recorded).
        leftovers = [ref for _, ref in self.recorded_processes(state)]
        if isinstance(session, int) and session != os.getsid(0):
            leftovers += [
                r
                for r in session_members(session, exclude=os.getpid())
                if r not in leftovers and _started_for(r, self.dir.names)
            ]
        if leftovers:
            report.stopped_by = "cleanup" if sup is None else report.stopped_by
            report.processes = max(report.processes, len(leftovers))
            for ref in leftovers:
                ref.terminate()
            if not _wait_gone(leftovers, grace):
                for ref in leftovers:
                    if ref.kill():
                        report.killed.append(f"pid {ref.pid}")
                if not _wait_gone(leftovers, 5.0):
                    alive = ", ".join(str(r.pid) for r in leftovers if r.alive())
                    raise PlatformError(f"processes survived SIGKILL: {alive}")
        CpuCaps(self.dir.root).cleanup()
        remove_quietly(control)
        remove_quietly(self.dir.state)
        return report

    # -- scale -------------------------------------------------------------------------------
    def scale(
        self,
        nf: str,
        replicas: int,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        progress: ProgressFn | None = None,
    ) -> dict[str, Any]:
        """Set *nf*'s replica count; with *wait*, return when the new count is ready and
        the removed replicas have exited. Raises CatalogError for an NF not running here."""
        self.require_nf(nf)
        if self.supervisor() is None:
            raise PlatformError(f"nothing is running from {self.dir.root}: run `nfv up` first")
        answer = self.control("scale", nf=nf, replicas=replicas)
        if wait:
            t0 = time.monotonic()
            deadline = t0 + timeout
            while True:
                state = self.live_state()
                if state is None or not state.get("supervisor_alive"):
                    raise PlatformError("the supervisor exited during scaling")
                info = state["nfs"][nf]
                lines = [p for p in progress_lines(state) if p.name == nf]
                if progress is not None:
                    progress(lines, time.monotonic() - t0)
                reps = info["replicas"]
                if info["desired"] != replicas:  # the autoscaler has moved on
                    break
                if len(reps) == replicas and all(r["ready"] for r in reps):
                    break
                if time.monotonic() >= deadline:
                    raise NotReadyError(
                        f"{nf} did not reach {replicas} ready replicas within {timeout:.0f} s "
                        f"({info['ready']} ready, {len(reps)} running)"
                    )
                time.sleep(POLL_INTERVAL)
        return answer

    def require_nf(self, nf: str) -> None:
        """Raise CatalogError unless *nf* runs here (or, with nothing planned, exists)."""
        plan = self.plan()
        names = sorted(plan["nfs"]) if plan is not None else sorted(load_catalog())
        if nf not in names:
            raise CatalogError(f"unknown network function {nf!r} (known: {', '.join(names)})")

    # -- logs ----------------------------------------------------------------------------------
    def log_files(self, nf: str) -> list[Path]:
        if nf == "supervisor":
            return [self.dir.supervisor_log] if self.dir.supervisor_log.exists() else []
        pattern = re.compile(rf"^{re.escape(nf)}-(\d+)\.log$")
        found = []
        for path in self.dir.logs.glob(f"{nf}-*.log") if self.dir.logs.is_dir() else []:
            m = pattern.match(path.name)
            if m:
                found.append((int(m.group(1)), path))
        return [p for _, p in sorted(found)]

    def logs(
        self,
        nf: str,
        *,
        follow: bool = False,
        history: bool = True,
        poll: float = 0.2,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[str]:
        """*nf*'s replica logs merged by timestamp, each line prefixed with the replica.

        With *follow*, keep yielding new lines (also of replicas added later) until *stop*
        returns True; without *history*, start at the current end of the files.
        """
        if nf != "supervisor":
            self.require_nf(nf)
        offsets: dict[Path, int] = {}
        pending: list[tuple[str, int, str]] = []
        for path in self.log_files(nf):
            name = path.stem
            last_ts = ""
            with open(path, "rb") as fh:
                if not history:
                    fh.seek(0, os.SEEK_END)
                for n, raw in enumerate(fh):
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    last_ts = _timestamp(line) or last_ts
                    pending.append((last_ts, n, f"{name} | {line}"))
                offsets[path] = fh.tell()
        pending.sort(key=lambda item: item[0])  # stable: a file's untimed lines stay in order
        for _, _, line in pending:
            yield line
        partial: dict[Path, bytes] = {}
        while follow and not (stop is not None and stop()):
            time.sleep(poll)
            for path in self.log_files(nf):
                try:
                    with open(path, "rb") as fh:
                        fh.seek(offsets.get(path, 0))
                        data = fh.read()
                        offsets[path] = fh.tell()
                except OSError:
                    continue
                if not data:
                    continue
                data = partial.pop(path, b"") + data
                *complete, rest = data.split(b"\n")
                if rest:
                    partial[path] = rest
                for raw in complete:
                    yield f"{path.stem} | {raw.decode('utf-8', 'replace')}"

    # -- provisioning --------------------------------------------------------------------------
    def provisioning_endpoint(self) -> tuple[str, int]:
        """(address, port) of the NF serving the provisioning API, from the plan."""
        plan = self.plan()
        if plan is None or self.recorded_state() is None:
            raise PlatformError(
                f"nothing is running from {self.dir.root}: run `nfv up` or pass --hss-url"
            )
        for nf in plan["nfs"].values():
            if "provisioning" in nf["interfaces"]:
                return nf["address"], nf["interfaces"]["provisioning"]
        raise PlatformError("no running NF has a provisioning interface")

    def entry_point(self) -> tuple[str, int]:
        """(address, SIP port) of the NF that UEs reach (its descriptor exposes ``sip``)."""
        plan = self.plan()
        if plan is None or self.recorded_state() is None:
            raise PlatformError(f"nothing is running from {self.dir.root}: run `nfv up` first")
        for nf in plan["nfs"].values():
            if "sip" in nf.get("exposed", []) and "sip" in nf["interfaces"]:
                return nf["address"], nf["interfaces"]["sip"]
        raise PlatformError("no running NF exposes a SIP interface to UEs")


def progress_lines(state: dict[str, Any]) -> list[NFProgress]:
    """One :class:`NFProgress` per NF of a state snapshot, in wave order."""
    out = []
    nfs = state.get("nfs", {})
    order = [n for wave in state.get("waves", []) for n in wave] or list(nfs)
    for name in order:
        nf = nfs[name]
        reps = nf.get("replicas", [])
        ready = sum(1 for r in reps if r.get("ready"))
        desired = int(nf.get("desired", 0))
        if not nf.get("started"):
            phase = "waiting"
        elif ready == desired and len(reps) == desired:
            phase = "ready"
        elif ready >= desired and len(reps) > desired:
            phase = "scaling"
        else:
            phase = "starting" if len(reps) <= desired else "scaling"
        reason = next((str(r.get("reason", "")) for r in reps if not r.get("ready")), "")
        out.append(
            NFProgress(
                name=name,
                address=str(nf.get("address", "")),
                wave=int(nf.get("wave", 0)),
                desired=desired,
                ready=ready,
                phase=phase,
                reason=reason,
            )
        )
    return out


_TS_RE = re.compile(r'"ts":\s*"([^"]+)"|^(\d{4}-\d\d-\d\dT[\d:.]+Z?)')


def _timestamp(line: str) -> str | None:
    m = _TS_RE.search(line)
    if m is None:
        return None
    return m.group(1) or m.group(2)


def _started_for(ref: ProcessRef, names: Path) -> bool:
    """Whether *ref* is a replica of this state dir: its environment names our name table.

    Used with the session check for a replica whose PID never got recorded; a session ID
    alone could in theory be a new session that reused the number after ours ended.
    """
    try:
        environ = (Path("/proc") / str(ref.pid) / "environ").read_bytes()
    except OSError:
        return False
    return f"NFV_NAMES={names}".encode() in environ.split(b"\0") and ref.alive()


def _wait_gone(refs: list[ProcessRef], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        _reap(refs)
        if not any(r.alive() for r in refs):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _reap(refs: list[ProcessRef]) -> None:
    """Reap any of *refs* that are our own children (only when tests run in-process)."""
    for ref in refs:
        stat = read_stat(ref.pid)
        if stat is not None and stat.state == "Z":
            try:
                os.waitpid(ref.pid, os.WNOHANG)
            except ChildProcessError:
                pass


__all__ = ["DownReport", "LocalPlatform", "NFProgress", "ProgressFn", "progress_lines"]

"""Why a workload is not ready: its pods' phase, container states, last events and last log
lines, gathered from plain API objects and formatted for a person (no cluster access here:
:class:`~.platform.KubernetesPlatform` fetches, this module reads and formats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Lines of each container's log and events per pod shown in a diagnosis.
LOG_LINES = 8
EVENTS = 5
# Waiting reasons that no amount of waiting fixes: a deploy stops at once on these.
FATAL_WAITING = ("ErrImageNeverPull", "InvalidImageName")
# Pull failures are fatal when the registry says the image does not exist.
PULL_WAITING = ("ErrImagePull", "ImagePullBackOff")


@dataclass
class ContainerState:
    name: str
    ready: bool
    restarts: int
    state: str  # running | waiting | terminated
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    last_reason: str = ""  # why the previous instance ended (CrashLoopBackOff's cause)
    last_exit_code: int | None = None

    def describe(self) -> str:
        text = f"{self.name}: {self.state}"
        if self.reason:
            text += f" ({self.reason})"
        if self.exit_code is not None:
            text += f", exit code {self.exit_code}"
        text += f", ready={'yes' if self.ready else 'no'}, restarts={self.restarts}"
        if self.last_reason:
            text += f"; last ended: {self.last_reason}"
            if self.last_exit_code is not None:
                text += f" (exit code {self.last_exit_code})"
        if self.message:
            text += f"\n      {self.message.strip().splitlines()[0][:200]}"
        return text


@dataclass
class PodReport:
    name: str
    phase: str
    ready: bool
    conditions: list[str] = field(default_factory=list)  # "Ready=False: reason: message"
    containers: list[ContainerState] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> str | None:
        """A reason no waiting fixes (missing image), else None."""
        for c in self.containers:
            if c.reason in FATAL_WAITING:
                return f"{self.name}: {c.reason}: {c.message}".strip(": ")
            if c.reason in PULL_WAITING and "not found" in c.message.lower():
                return f"{self.name}: image not found: {c.message}"
        return None

    @property
    def summary(self) -> str:
        """One short reason for the progress line."""
        for c in self.containers:
            if c.state == "waiting" and c.reason:
                return c.reason
            if c.state == "terminated":
                return f"terminated ({c.reason or c.exit_code})"
        if self.phase != "Running":
            return self.phase
        return "running, not ready" if not self.ready else "ready"


def container_states(pod: dict[str, Any]) -> list[ContainerState]:
    out = []
    status = pod.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        kind = next(iter(state), "waiting")
        detail = state.get(kind) or {}
        last = (cs.get("lastState") or {}).get("terminated") or {}
        out.append(
            ContainerState(
                name=str(cs.get("name")),
                ready=bool(cs.get("ready")),
                restarts=int(cs.get("restartCount", 0)),
                state=kind,
                reason=str(detail.get("reason") or ""),
                message=str(detail.get("message") or ""),
                exit_code=detail.get("exitCode"),
                last_reason=str(last.get("reason") or ""),
                last_exit_code=last.get("exitCode"),
            )
        )
    return out


def pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_report(
    pod: dict[str, Any], events: list[dict[str, Any]] | None = None, logs: str = ""
) -> PodReport:
    status = pod.get("status") or {}
    conditions = [
        f"{c.get('type')}={c.get('status')}"
        + (f": {c.get('reason')}" if c.get("reason") else "")
        + (f": {c.get('message')}" if c.get("message") else "")
        for c in status.get("conditions") or []
        if c.get("status") != "True"
    ]
    return PodReport(
        name=str((pod.get("metadata") or {}).get("name")),
        phase=str(status.get("phase") or "Pending"),
        ready=pod_ready(pod),
        conditions=conditions,
        containers=container_states(pod),
        events=format_events(events or []),
        logs=[line for line in logs.splitlines() if line.strip()][-LOG_LINES:],
    )


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def format_events(events: list[dict[str, Any]], limit: int = EVENTS) -> list[str]:
    """The last *limit* events, oldest first: ``time type reason (xN): message``."""
    ordered = sorted(events, key=_event_time)[-limit:]
    out = []
    for e in ordered:
        count = int(e.get("count") or (e.get("series") or {}).get("count") or 1)
        times = f" (x{count})" if count > 1 else ""
        message = str(e.get("message") or e.get("note") or "").strip()
        out.append(f"{_event_time(e)} {e.get('type', '')} {e.get('reason', '')}{times}: {message}")
    return out


def format_diagnosis(nf: str, desired: int, ready: int, pods: list[PodReport]) -> str:
    """A readable diagnosis of one NF that is not ready."""
    lines = [f"{nf}: {ready}/{desired} replicas ready"]
    if not pods:
        lines.append("  no pods exist (check the workload's events: quota, admission, RBAC)")
    for pod in pods:
        if pod.ready:
            continue
        lines.append(f"  pod {pod.name}: {pod.phase}, not ready")
        lines += [f"    condition {c}" for c in pod.conditions]
        lines += [f"    container {c.describe()}" for c in pod.containers]
        if pod.events:
            lines.append("    last events:")
            lines += [f"      {e}" for e in pod.events]
        if pod.logs:
            lines.append("    last log lines:")
            lines += [f"      {line}" for line in pod.logs]
    return "\n".join(lines)

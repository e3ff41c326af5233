"""Per-replica CPU caps with the kernel's CFS bandwidth control, like a pod's CPU limit.

cgroup v1 (Documentation/scheduler/sched-bwc.rst): a replica's group gets
``cpu.cfs_period_us`` = 100 ms and ``cpu.cfs_quota_us`` = cores x period, and the replica's
PID is written to ``cgroup.procs``. cgroup v2 (Documentation/admin-guide/cgroup-v2.rst,
"CPU"): ``cpu.max`` = "quota period" in a child group, when the cpu controller is enabled
for it. Groups are created under the supervisor's own cgroup, one parent per state
directory, and removed when the replica exits. Without a writable cgroup filesystem (not
root) caps are skipped with one warning: replicas then run uncapped.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# CFS period: the kernel default, 100 ms; quota is a share of it.
CFS_PERIOD_US = 100_000
# The kernel refuses quotas below 1 ms (sched-bwc.rst).
MIN_QUOTA_US = 1_000

log = logging.getLogger("nfv.supervisor")


def _own_path(controller: str) -> str:
    """This process's cgroup path in the hierarchy that has *controller* ('' = v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controller == "" and controllers == ""):
            return path
    return "/"


class CpuCaps:
    """Creates, fills and removes the replicas' CPU cgroups for one state directory."""

    def __init__(self, state_root: Path) -> None:
        tag = "nfv-" + hashlib.sha256(os.fsencode(state_root)).hexdigest()[:12]
        self.version = 0
        self.parent: Path | None = None
        self._warned = False
        v1 = CGROUP_ROOT / "cpu"
        if (v1 / "cpu.cfs_quota_us").exists():
            self.version = 1
            self.parent = v1 / _own_path("cpu").lstrip("/") / tag
        elif "cpu" in _read(CGROUP_ROOT / "cgroup.controllers").split():
            self.version = 2
            self.parent = CGROUP_ROOT / _own_path("").lstrip("/") / tag

    def apply(self, replica: str, pid: int, cores: float) -> Path | None:
        """Cap *pid* at *cores*; returns the group to :meth:`release`, None if not capped."""
        if self.parent is None:
            self._warn("no cgroup cpu controller found")
            return None
        group = self.parent / replica
        quota = max(MIN_QUOTA_US, round(cores * CFS_PERIOD_US))
        try:
            if self.version == 2 and not self.parent.exists():
                self.parent.mkdir()
                (self.parent / "cgroup.subtree_control").write_text("+cpu")
            group.mkdir(parents=True, exist_ok=True)
            if self.version == 1:
                (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            self._warn(f"cannot cap {replica} at {cores} CPU in {group}: {exc}")
            with contextlib.suppress(OSError):
                group.rmdir()
            return None
        return group

    def release(self, group: Path | None) -> None:
        if group is not None:
            with contextlib.suppress(OSError):
                group.rmdir()

    def cleanup(self) -> None:
        """Remove every group left under our parent (all replicas have exited)."""
        if self.parent is None or not self.parent.is_dir():
            return
        for child in self.parent.iterdir():
            if child.is_dir():
                self.release(child)
        with contextlib.suppress(OSError):
            self.parent.rmdir()

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("CPU caps disabled: %s; replicas run uncapped", message)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""

"""The local platform's state directory: its layout and the JSON files in it.

::

    <state dir>/                 mode 0700 (holds subscriber keys)
      plan.json                  what `nfv up` decided: NFs, addresses, ports, waves, env
      state.json                 what runs now: supervisor + every replica's PID and start
                                 time, readiness, restarts, CPU (written atomically by the
                                 supervisor on every change; removed by a clean `nfv down`)
      names.json                 NF name and FQDN -> loopback address (NFV_NAMES)
      subscribers.json           expanded subscriber records, mode 0600
      store-<nf>.db              each NF's embedded state store, shared by its replicas
      control.sock               the supervisor's control socket (JSON lines)
      config/<nf>.yaml           rendered NF config files
      logs/<nf>-<i>.log          one log per replica (stdout + stderr, appended)
      logs/supervisor.log        the supervisor's own JSON log lines

Every JSON file is replaced atomically (write a temporary file, fsync, rename), so a reader
never sees half a file and a ``kill -9`` at any instant leaves the last complete version.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypedDict

STATE_VERSION = 1

# A unix socket path is limited to 108 bytes (sun_path, unix(7)).
MAX_SOCKET_PATH = 107


class PortSpec(TypedDict):
    interface: str
    port: int
    transport: str


class NFPlan(TypedDict):
    name: str
    module: str
    address: str
    fqdn: str
    ports: list[PortSpec]
    interfaces: dict[str, int]
    exposed: list[str]
    admin_base: int
    replicas: int
    wave: int
    config: str
    autoscaling: dict[str, Any] | None
    cpu_limit: float | None


class Plan(TypedDict):
    version: int
    state_dir: str
    created_at: float
    profile: str | None
    domain: str
    subnet: str
    waves: list[list[str]]
    nfs: dict[str, NFPlan]
    env: dict[str, str]
    autoscaling: dict[str, Any]


class StateDir:
    """Paths inside one state directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def names(self) -> Path:
        return self.root / "names.json"

    @property
    def subscribers(self) -> Path:
        return self.root / "subscribers.json"

    def store(self, nf: str) -> Path:
        """The NF's embedded state store, shared by its replicas (database per service:
        no NF reads another's keys, and SQLite serialises writers per file)."""
        return self.root / f"store-{nf}.db"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def supervisor_log(self) -> Path:
        return self.logs / "supervisor.log"

    def config(self, nf: str) -> Path:
        return self.config_dir / f"{nf}.yaml"

    def replica_log(self, replica: str) -> Path:
        return self.logs / f"{replica}.log"

    @property
    def control_socket(self) -> Path:
        """The control socket path; a short one under the temp dir if ours is too long."""
        path = self.root / "control.sock"
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
            return path
        import hashlib

        digest = hashlib.sha256(os.fsencode(self.root)).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"nfv-{digest}.sock"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.config_dir.mkdir(exist_ok=True)
        self.logs.mkdir(exist_ok=True)


def replica_name(nf: str, index: int) -> str:
    return f"{nf}-{index}"


def admin_port(base: int, index: int, taken: set[int]) -> int:
    """Replica *index*'s admin port: the index-th port from *base* up that no service uses."""
    port = base
    seen = 0
    while True:
        if port not in taken:
            if seen == index:
                return port
            seen += 1
        port += 1


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o644) -> None:
    """Replace *path* with *data* as JSON: temp file in the same dir, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), mode)
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
    """The JSON in *path*, or None when the file does not exist or is unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None

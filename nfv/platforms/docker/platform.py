"""The whole core on one Docker engine: one container per NF replica, from nfv's images.

* One user-defined bridge network per project; each container is named
  ``<project>-<nf>-<i>`` and joins with the aliases ``<nf>`` and ``<nf>.<ims domain>``, so
  NFs find each other by name through the engine's DNS (every replica of an NF behind one
  name) — no fixed IPs, no name table.
* Each NF's config is the file the charts use, rendered from the same values into the state
  directory and bind-mounted read-only at ``/etc/nfv/<nf>.yaml``; subscriber keys likewise
  at ``/etc/nfv/secrets/subscribers.json`` for the NFs whose descriptor lists that secret.
* The state store is a Redis container (``nfv/redis``) unless the values name one.
* Containers run as the image's non-root user, with a read-only root filesystem, a tmpfs
  /tmp, no capabilities and the descriptor's CPU/memory limits. Admin ports (and the
  interfaces a descriptor marks ``exposed``) are published on 127.0.0.1 only.
* ``up`` starts the NFs in the catalog's dependency waves and waits for each wave's
  ``/readyz``; ``down`` stops (SIGTERM, drain) and removes everything carrying the
  project's label, network included.

Bind mounts need the engine on this host (a local socket: Docker or Podman). Podman
(4.3, no systemd) never runs health checks by itself: ``status`` runs them on demand.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from network_functions.runtime.http import http_request_sync

from ...catalog import Catalog, NFDescriptor, load_catalog
from ...errors import EngineError, NotReadyError, PlatformError
from ...images.builder import BuildEvent, ImageBuilder, pull_image
from ...images.engine import is_podman, run_healthcheck
from ...images.recipe import CONFIG_DIR, SECRETS_DIR, ImagePlan, plan_images
from ...render import expand_subscribers, render_nf_config
from ...values import CHART_ROOT, deep_merge, load_values
from .cli import DEFAULT_PROJECT, DEFAULT_TIMEOUT

LABEL_PROJECT = "io.nfv.project"
LABEL_NF = "io.nfv.nf"
LABEL_REPLICA = "io.nfv.replica"
LABEL_WAVE = "io.nfv.wave"
LABEL_ADMIN = "io.nfv.admin-port"
STORE_NAME = "redis"
STORE_URL = "redis://redis:6379/0"

# Seconds `down` gives each container between SIGTERM and SIGKILL (NFs drain in ≤ 8 s).
STOP_TIMEOUT = 15
# Size of the writable /tmp of every container (logs go to stdout; nothing else is written).
TMPFS = "rw,nosuid,nodev,size=16m,mode=1777"
POLL_S = 0.1


@dataclass(frozen=True)
class UpEvent:
    """Progress of ``up``: ``phase`` is image, start, ready, waiting or failed."""

    name: str
    phase: str
    detail: str = ""


@dataclass
class UpReport:
    seconds: float
    entry: tuple[str, int] | None
    containers: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)


@dataclass
class DownReport:
    containers: list[str]
    networks: list[str]

    @property
    def message(self) -> str:
        if not self.containers and not self.networks:
            return "nothing to stop"
        return f"removed {len(self.containers)} container(s) and {len(self.networks)} network(s)"


def parse_cpu(text: str) -> int:
    """Kubernetes CPU quantity → nano-CPUs ("500m" → 5e8, "2" → 2e9)."""
    if text.endswith("m"):
        return int(float(text[:-1]) * 1_000_000)
    return int(float(text) * 1_000_000_000)


_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_memory(text: str) -> int:
    """Kubernetes memory quantity → bytes ("256Mi" → 268435456)."""
    for unit in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * _MEMORY_UNITS[unit])
    return int(text)


def free_port(host: str = "127.0.0.1", *, transports: tuple[str, ...] = ("udp", "tcp")) -> int:
    """A port free for every transport on *host* (the engine binds it right after)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if all(port_free(host, port, t) for t in transports):
            return port
    raise PlatformError(f"no free port on {host}")


def port_free(host: str, port: int, transport: str) -> bool:
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class DockerPlatform:
    """The core as containers on one engine (a ``docker.DockerClient``)."""

    def __init__(self, client: Any, *, project: str = DEFAULT_PROJECT, state_dir: Path) -> None:
        self.client = client
        self.project = project
        self.dir = Path(state_dir)
        self.network = f"{project}-core"
        self._is_podman: bool | None = None

    def _podman(self) -> bool:
        if self._is_podman is None:
            self._is_podman = is_podman(self.client)
        return self._is_podman

    # -- paths -----------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def subscribers_file(self) -> Path:
        return self.dir / "secrets" / "subscribers.json"

    def state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # -- up --------------------------------------------------------------------------------
    def up(
        self,
        *,
        profile: str | None = None,
        files: list[Path] | None = None,
        chart: Path = CHART_ROOT,
        registry: str | None = None,
        tag: str | None = None,
        build: bool = True,
        sip_port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        progress: Callable[[UpEvent], None] | None = None,
    ) -> UpReport:
        """Start the core and wait until every NF is ready; raises PlatformError (and its
        NotReadyError / EngineError / RegistryError), BuildError, ValuesError."""
        report = progress or (lambda _e: None)
        started = time.monotonic()
        if self._containers():
            raise PlatformError(
                f"the core of project {self.project!r} is already up on this engine: "
                "`nfv down --runtime docker` first"
            )
        values = load_values(profile=profile, files=files, chart=chart)
        catalog = load_catalog()
        enabled = [
            n for n in catalog if values.get("nfs", {}).get(n, {}).get("enabled", True) is True
        ]
        run_store = not values.get("store", {}).get("url") and any(
            catalog[n].needs_store for n in enabled
        )
        if run_store:
            values = deep_merge(values, {"store": {"url": STORE_URL}})
        plan = plan_images(catalog, enabled, with_store=run_store)
        refs = self._images(plan, registry=registry, tag=tag, build=build, report=report)
        self._write_configs(catalog, enabled, values, chart)
        net = self._network()
        domain = str(values["network"]["ims_domain"])
        names: list[str] = []
        deadline = started + timeout
        if run_store:
            container = self._run_store(refs["redis"], net)
            names.append(container.name)
            report(UpEvent(container.name, "start", refs["redis"]))
            self._wait_store(container, deadline)
            report(UpEvent(container.name, "ready"))
        entry: tuple[str, int] | None = None
        for index, wave in enumerate(catalog.waves(enabled), start=1):
            wave_containers = []
            for desc in wave:
                replicas = int(values.get("nfs", {}).get(desc.name, {}).get("replicas", 1))
                for i in range(replicas):
                    container, published = self._run_nf(
                        desc, i, refs[desc.name], net, domain, wave=index, sip_port=sip_port
                    )
                    names.append(container.name)
                    wave_containers.append(container)
                    report(UpEvent(container.name, "start", refs[desc.name]))
                    if published and entry is None:
                        entry = published
            for container in wave_containers:
                self._wait_ready(container, deadline)
                report(UpEvent(container.name, "ready"))
        seconds = time.monotonic() - started
        self._save_state(
            {
                "project": self.project,
                "network": self.network,
                "domain": domain,
                "entry": list(entry) if entry else None,
                "containers": names,
                "images": refs,
                "ready_seconds": round(seconds, 2),
                "started": time.time(),
            }
        )
        return UpReport(seconds, entry, names, refs)

    def _images(
        self,
        plan: ImagePlan,
        *,
        registry: str | None,
        tag: str | None,
        build: bool,
        report: Callable[[UpEvent], None],
    ) -> dict[str, str]:
        """name → image reference present on the engine: found, pulled or built."""
        refs = plan.refs(registry, tag)
        wanted = {s.name: refs[s.name] for s in plan.specs if s.kind in ("nf", "store")}
        missing = [name for name, ref in wanted.items() if not self._has_image(ref)]
        if not missing:
            return wanted
        if registry:
            for name in missing:
                report(UpEvent(name, "image", f"pull {wanted[name]}"))
                pull_image(self.client, wanted[name])
            return wanted
        if not build or tag:
            raise PlatformError(
                "images missing on the engine: "
                + ", ".join(wanted[n] for n in missing)
                + " (run `nfv build`, or give --registry to pull them)"
            )

        def relay(event: BuildEvent) -> None:
            if event.phase in ("start", "done"):
                report(UpEvent(event.image, "image", event.text))

        ImageBuilder(self.client, plan, progress=relay).build()
        return wanted

    def _has_image(self, ref: str) -> bool:
        try:
            self.client.images.get(ref)
        except ImageNotFound:
            return False
        except (DockerException, OSError) as exc:
            raise EngineError(f"the engine failed to look up {ref}: {exc}") from exc
        return True

    def _write_configs(
        self, catalog: Catalog, enabled: list[str], values: dict[str, Any], chart: Path
    ) -> None:
        """Render every NF's config (same templates as the charts) and the subscribers."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config").mkdir(exist_ok=True)
        secrets = self.subscribers_file.parent
        secrets.mkdir(exist_ok=True)
        os.chmod(secrets, 0o700)  # readable inside the containers, not by other host users
        subs = json.dumps(expand_subscribers(values), indent=1)
        self.subscribers_file.write_text(subs)
        os.chmod(self.subscribers_file, 0o644)
        for name in enabled:
            desc = catalog[name]
            path = self.dir / "config" / f"{name}.yaml"
            subscribers = f"{SECRETS_DIR}/subscribers.json" if "subscribers" in desc.secrets else ""
            path.write_text(
                render_nf_config(desc, catalog, values, subscribers_file=subscribers, chart=chart)
            )
            os.chmod(path, 0o644)

    def _network(self) -> Any:
        try:
            for net in self.client.networks.list(names=[self.network]):
                if net.name == self.network:
                    if (net.attrs.get("Labels") or {}).get(LABEL_PROJECT) != self.project:
                        raise PlatformError(
                            f"network {self.network} exists and is not nfv's: remove it or "
                            "choose another --project"
                        )
                    return net
            return self.client.networks.create(
                self.network,
                driver="bridge",
                labels={LABEL_PROJECT: self.project},
                check_duplicate=True,
            )
        except (DockerException, OSError) as exc:
            raise EngineError(f"cannot create network {self.network}: {exc}") from exc

    def _labels(self, nf: str, replica: int, wave: int) -> dict[str, str]:
        return {
            LABEL_PROJECT: self.project,
            LABEL_NF: nf,
            LABEL_REPLICA: str(replica),
            LABEL_WAVE: str(wave),
        }

    def _create(
        self,
        *,
        name: str,
        image: str,
        net: Any,
        aliases: list[str],
        tmpfs: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        endpoint = self.client.api.create_endpoint_config(aliases=aliases)
        try:
            return self.client.containers.run(
                image,
                name=name,
                detach=True,
                network=net.name,
                networking_config={net.name: endpoint},
                read_only=True,
                tmpfs=tmpfs or {"/tmp": TMPFS},
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                **kw,
            )
        except (DockerException, OSError) as exc:
            raise EngineError(f"cannot start container {name} from {image}: {exc}") from exc

    def _run_store(self, image: str, net: Any) -> Any:
        return self._create(
            name=f"{self.project}-{STORE_NAME}",
            image=image,
            net=net,
            aliases=[STORE_NAME],
            hostname=STORE_NAME,
            labels=self._labels(STORE_NAME, 0, 0),
            tmpfs={"/tmp": TMPFS, "/data": TMPFS},
        )

    def _run_nf(
        self,
        desc: NFDescriptor,
        index: int,
        image: str,
        net: Any,
        domain: str,
        *,
        wave: int,
        sip_port: int | None,
    ) -> tuple[Any, tuple[str, int] | None]:
        name = f"{self.project}-{desc.name}-{index}"
        ports: dict[str, Any] = {f"{desc.admin_port}/tcp": ("127.0.0.1",)}
        published: tuple[str, int] | None = None
        for iface_name in desc.exposed:
            iface = desc.interface(iface_name)
            # The engines' port publishing has no SCTP (docker-proxy, rootlessport): S1AP is
            # published over TCP, which the MME serves unless the values choose SCTP.
            transports = tuple(t for t in iface.transports if t != "sctp")
            if index == 0:
                port = sip_port if (sip_port and iface.protocol == "sip") else None
                port = port or free_port(transports=transports)
                if published is None:
                    published = ("127.0.0.1", port)
                for transport in transports:
                    ports[f"{iface.port}/{transport}"] = ("127.0.0.1", port)
            else:
                for transport in transports:
                    ports[f"{iface.port}/{transport}"] = ("127.0.0.1",)
        volumes = {
            str((self.dir / "config" / f"{desc.name}.yaml").resolve()): {
                "bind": f"{CONFIG_DIR}/{desc.name}.yaml",
                "mode": "ro",
            }
        }
        if "subscribers" in desc.secrets:
            volumes[str(self.subscribers_file.resolve())] = {
                "bind": f"{SECRETS_DIR}/subscribers.json",
                "mode": "ro",
            }
        container = self._create(
            name=name,
            image=image,
            net=net,
            aliases=[desc.name, f"{desc.name}.{domain}"],
            hostname=f"{desc.name}-{index}",
            environment={"NFV_REPLICA": f"{desc.name}-{index}"},
            volumes=volumes,
            ports=ports,
            labels={**self._labels(desc.name, index, wave), LABEL_ADMIN: str(desc.admin_port)},
            nano_cpus=parse_cpu(desc.resources.cpu_limit),
            mem_limit=parse_memory(desc.resources.memory_limit),
        )
        return container, published

    # -- readiness ---------------------------------------------------------------------------
    def _logs_tail(self, container: Any, lines: int = 30) -> str:
        try:
            return bytes(container.logs(tail=lines)).decode(errors="replace")
        except (DockerException, OSError):
            return "(no logs)"

    def _check_running(self, container: Any) -> None:
        container.reload()
        if container.status in ("exited", "dead"):
            code = container.attrs.get("State", {}).get("ExitCode")
            raise NotReadyError(
                f"{container.name} exited with status {code}:\n{self._logs_tail(container)}"
            )

    @staticmethod
    def store_ready(container: Any) -> bool:
        """Whether the store answers PING (asked inside its container: no port published)."""
        try:
            result = container.exec_run(["/usr/bin/redis-cli", "ping"])
        except (DockerException, OSError):
            return False
        return result.exit_code == 0 and b"PONG" in bytes(result.output)

    def _wait_store(self, container: Any, deadline: float) -> None:
        while True:
            self._check_running(container)
            if self.store_ready(container):
                return
            if time.monotonic() > deadline:
                raise NotReadyError(f"{container.name} did not answer PING in time")
            time.sleep(POLL_S)

    @staticmethod
    def admin_port(container: Any) -> int | None:
        """The host port the container's admin port is published on (127.0.0.1)."""
        inner = (container.labels or {}).get(LABEL_ADMIN)
        ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
        bindings = ports.get(f"{inner}/tcp") if inner else None
        return int(bindings[0]["HostPort"]) if bindings else None

    def ready(self, container: Any) -> tuple[bool, str]:
        port = self.admin_port(container)
        if port is None:
            return False, "no admin port"
        try:
            status, body = http_request_sync("127.0.0.1", port, "GET", "/readyz", timeout=1.0)
        except OSError as exc:
            return False, str(exc)
        return status == 200, body.decode(errors="replace").strip()

    def _wait_ready(self, container: Any, deadline: float) -> None:
        reason = "starting"
        while True:
            self._check_running(container)
            ok, reason = self.ready(container)
            if ok:
                return
            if time.monotonic() > deadline:
                raise NotReadyError(
                    f"{container.name} not ready in time: {reason}\n{self._logs_tail(container)}"
                )
            time.sleep(POLL_S)

    # -- down / status / logs ------------------------------------------------------------------
    def _containers(self) -> list[Any]:
        try:
            found = self.client.containers.list(
                all=True, filters={"label": f"{LABEL_PROJECT}={self.project}"}
            )
        except (DockerException, OSError) as exc:
            raise EngineError(f"cannot list containers: {exc}") from exc
        return sorted(
            found,
            key=lambda c: (int((c.labels or {}).get(LABEL_WAVE, "0")), c.name),
        )

    def down(self) -> DownReport:
        """Stop (SIGTERM, then SIGKILL after STOP_TIMEOUT) and remove every container and
        network of the project, last wave first; remove the rendered configs."""
        removed: list[str] = []
        for container in reversed(self._containers()):
            try:
                if container.status == "running":
                    container.stop(timeout=STOP_TIMEOUT)
                container.remove(v=True, force=True)
            except NotFound:
                pass
            except (APIError, OSError) as exc:
                raise EngineError(f"cannot remove {container.name}: {exc}") from exc
            removed.append(container.name)
        networks: list[str] = []
        try:
            for net in self.client.networks.list(
                filters={"label": f"{LABEL_PROJECT}={self.project}"}
            ):
                net.remove()
                networks.append(net.name)
        except NotFound:
            pass
        except (APIError, OSError) as exc:
            raise EngineError(f"cannot remove network {self.network}: {exc}") from exc
        if self.dir.is_dir() and (self.state_file.exists() or (self.dir / "config").exists()):
            shutil.rmtree(self.dir)
        return DownReport(removed, networks)

    def status(self) -> dict[str, Any]:
        """Every container of the project: NF, state, health, published ports, readiness."""
        rows = []
        for c in self._containers():
            health = (c.attrs.get("State", {}).get("Health") or {}).get("Status", "")
            if health == "starting" and c.status == "running" and self._podman():
                # Podman without systemd never runs health checks by itself: run one now.
                with contextlib.suppress(EngineError):
                    health = run_healthcheck(self.client, c.name)
            ports = []
            for key, bindings in (c.attrs.get("NetworkSettings", {}).get("Ports") or {}).items():
                for b in bindings or []:
                    ports.append(f"{b.get('HostIp')}:{b.get('HostPort')}->{key}")
            ready, reason = (False, c.status)
            if c.status == "running" and (c.labels or {}).get(LABEL_NF) != STORE_NAME:
                ready, reason = self.ready(c)
            elif c.status == "running":
                ready, reason = self.store_ready(c), "no answer to PING"
            rows.append(
                {
                    "name": c.name,
                    "nf": (c.labels or {}).get(LABEL_NF, ""),
                    "image": (c.attrs.get("Config") or {}).get("Image", ""),
                    "state": c.status,
                    "health": health,
                    "ready": ready,
                    "reason": "" if ready else reason.splitlines()[0][:100] if reason else "",
                    "ports": sorted(ports),
                }
            )
        state = self.state() or {}
        return {
            "project": self.project,
            "network": self.network,
            "running": bool(rows),
            "entry": state.get("entry"),
            "containers": rows,
        }

    def entry_point(self) -> tuple[str, int]:
        """Where UEs reach the core: the P-CSCF's SIP port published on 127.0.0.1."""
        state = self.state()
        if not state or not state.get("entry"):
            raise PlatformError(
                f"no docker core of project {self.project!r} is up (from {self.dir}): "
                "`nfv up --runtime docker` first"
            )
        host, port = state["entry"]
        return str(host), int(port)

    def subscribers(self) -> list[dict[str, str]]:
        try:
            data = json.loads(self.subscribers_file.read_text())
        except (OSError, ValueError) as exc:
            raise PlatformError(f"cannot read {self.subscribers_file}: {exc}") from exc
        return list(data)

    def domain(self) -> str:
        state = self.state() or {}
        return str(state.get("domain", ""))

    def logs(self, nf: str, *, follow: bool = False, tail: int | str = "all") -> Iterator[str]:
        """Log lines of every replica of *nf*, prefixed with the replica's name."""
        found = [c for c in self._containers() if (c.labels or {}).get(LABEL_NF) == nf]
        if not found:
            raise PlatformError(f"no container of {nf!r} in project {self.project!r}")
        for c in found:
            stream = c.logs(stream=follow, follow=follow, tail=tail)
            chunks = stream if follow else [stream]
            for chunk in chunks:
                for line in bytes(chunk).decode(errors="replace").splitlines():
                    yield f"{c.name} | {line}"

    def _save_state(self, data: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.state_file)

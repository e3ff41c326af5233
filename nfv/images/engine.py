"""Which container engine to talk to, chosen the way the Docker CLI chooses.

``--host`` wins, then ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``),
then the default socket ``unix:///var/run/docker.sock``. Anything speaking the Docker Engine
API answers: Docker Engine, or Podman's compatible service (``podman system service``).
The API version is fixed at 1.41 (Debian's 20.10), which newer engines still serve.
Connection failures become one :class:`~nfv.errors.EngineError` saying how to start one.
Podman runs health checks from systemd timers: with no systemd (as on these machines) it
never runs them itself, so :func:`run_healthcheck` runs one on demand (libpod API).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import docker
from docker.errors import DockerException

from ..errors import EngineError

DEFAULT_HOST = "unix:///var/run/docker.sock"
# The API version spoken: Debian's docker.io 20.10 offers up to 1.41; newer Docker Engines
# and Podman's compatible service still serve it.
API_VERSION = "1.41"
# Seconds a single API call may take (an image import or a large build context included).
API_TIMEOUT = 600

START_HINT = (
    "Start one with `export DOCKER_HOST=$(scripts/docker-engine start)` (Debian docker.io, "
    "with this project's flags) or `export DOCKER_HOST=$(scripts/podman-service start)` "
    "(Podman's Docker-compatible API), or point DOCKER_HOST / --host at a running Docker "
    "or Podman API socket."
)
# The libpod API version asked for Podman-only calls (Podman 4.0 and later serve it).
LIBPOD_API = "v4.0.0"


def engine_host(host: str | None = None) -> tuple[str, str]:
    """(address, where it came from) of the engine to use."""
    if host:
        return host, "--host"
    env = os.environ.get("DOCKER_HOST")
    if env:
        return env, "DOCKER_HOST"
    return DEFAULT_HOST, "the default socket"


def connect(host: str | None = None, *, timeout: int = API_TIMEOUT) -> Any:
    """A ``docker.DockerClient`` that answered a ping; raises EngineError otherwise."""
    address, source = engine_host(host)
    client = None
    try:
        _probe_unix(address)
        if host:
            client = docker.DockerClient(base_url=host, version=API_VERSION, timeout=timeout)
        else:
            client = docker.from_env(version=API_VERSION, timeout=timeout)
        client.ping()
    except (DockerException, OSError) as exc:
        if client is not None:
            client.close()
        reason = _reason(exc)
        raise EngineError(
            f"no container engine answers at {address} (from {source}): {reason}\n{START_HINT}"
        ) from None
    return client


def _probe_unix(address: str) -> None:
    """Connect to a unix socket ourselves first: the SDK leaks the socket when that fails."""
    if not address.startswith(("unix://", "http+unix://")):
        return
    path = "/" + address.split("://", 1)[1].lstrip("/")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        probe.connect(path)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("No such file or directory", "Connection refused", "Permission denied"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def describe(client: Any) -> str:
    """'Docker Engine 20.10.24 (API 1.41)' or the like, for progress output."""
    try:
        info = client.version()
    except (DockerException, OSError):
        return "unknown engine"
    components = info.get("Components") or [{}]
    name = str(components[0].get("Name") or "Engine")
    return f"{name} {info.get('Version', '?')} (API {client.api.api_version})"


def is_podman(client: Any) -> bool:
    """Whether the engine is Podman's Docker-compatible service."""
    try:
        info = client.version()
    except (DockerException, OSError):
        return False
    components = info.get("Components") or []
    return any("podman" in str(c.get("Name", "")).lower() for c in components)


def run_healthcheck(client: Any, container: str) -> str:
    """Run *container*'s HEALTHCHECK once now and return its health status (healthy,
    unhealthy, starting). Podman only: its service schedules health checks through systemd
    timers and, without systemd, never runs them (the state stays "starting")."""
    url = f"{client.api.base_url}/{LIBPOD_API}/libpod/containers/{container}/healthcheck"
    try:
        response = client.api.get(url, timeout=30)
        response.raise_for_status()
        return str(response.json().get("Status", ""))
    except (DockerException, OSError, ValueError) as exc:
        raise EngineError(f"cannot run the health check of {container}: {exc}") from exc

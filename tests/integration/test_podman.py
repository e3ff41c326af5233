"""Images and the Docker platform against Podman's Docker-compatible API (Podman 4.3).

The module fixture starts a private Podman service through scripts/podman-service (its own
socket, storage and containers.conf under the nfv cache) unless it runs already, and stops
it afterwards when it started it; likewise the local registry (scripts/registry). Rootfs
tarballs and wheels come from the nfv cache shared with the Docker tests, so a build here
only imports the base and runs the Dockerfile steps.

Podman without systemd never runs HEALTHCHECKs by itself (it schedules them with systemd
timers): the health test runs them on demand through the libpod API, as ``status`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nfv.catalog import load_catalog
from nfv.check import run_check
from nfv.images import ImageBuilder, ImageResult, connect, plan_images, pull_image
from nfv.images.engine import is_podman, run_healthcheck
from nfv.images.recipe import USER_ID
from nfv.platforms.docker import DockerPlatform
from nfv.platforms.docker.platform import LABEL_PROJECT, free_port

from .test_docker import NF_IMAGE_MAX_BYTES, _render_configs, _run_alone

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HEALTHY_WITHIN_S = 40
# The plain-HTTP registries scripts/podman-service configures by default.
PODMAN_INSECURE = ("127.0.0.1:5000", "localhost:5000")


def _script(
    name: str, action: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / name), action],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _libpod_image(client: Any, ref: str) -> dict[str, Any]:
    """The libpod API's inspect of an image (more complete than the compatible one)."""
    response = client.api.get(f"{client.api.base_url}/v4.0.0/libpod/images/{ref}/json")
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    status = _script("registry", "status")
    started = status.returncode != 0
    result = _script("registry", "start") if started else status
    assert result.returncode == 0, result.stderr
    try:
        yield result.stdout.strip().splitlines()[-1]
    finally:
        if started:
            _script("registry", "stop")


@pytest.fixture(scope="module")
def podman(registry: str) -> Iterator[Any]:
    status = _script("podman-service", "status")
    started = status.returncode != 0
    # the registry may not be on 5000 (taken): Podman must know it speaks plain HTTP
    insecure = " ".join(dict.fromkeys([registry, *PODMAN_INSECURE]))
    env = {"NFV_PODMAN_INSECURE_REGISTRIES": insecure}
    result = _script("podman-service", "start", env) if started else status
    assert result.returncode == 0, result.stderr
    host = result.stdout.strip().splitlines()[-1]
    assert host.startswith("unix://") and host.endswith("/podman/podman.sock")
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    client = connect()
    try:
        assert is_podman(client)
        yield client
    finally:
        client.close()
        if old is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = old
        if started:
            stopped = _script("podman-service", "stop")
            assert stopped.returncode == 0, stopped.stderr
            assert _script("podman-service", "status").returncode == 3


@pytest.fixture(scope="module")
def built(podman: Any) -> list[ImageResult]:
    started = time.monotonic()
    results = ImageBuilder(podman, plan_images(load_catalog())).build()
    print(f"\nbuild on Podman: {time.monotonic() - started:.1f} s")
    for r in results:
        print(f"  {r.ref:<26} {r.size / 1e6:6.1f} MB {r.seconds:6.2f} s {r.status}")
    return results


def _wait_healthy(client: Any, containers: list[Any]) -> None:
    """Run each container's health check until it says healthy (no systemd: no timer)."""
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    pending = list(containers)
    while pending and time.monotonic() < deadline:
        for c in list(pending):
            c.reload()
            assert c.status == "running", c.logs().decode()[-2000:]
            if run_healthcheck(client, c.name) == "healthy":
                pending.remove(c)
        time.sleep(0.5)
    assert not pending, [(c.name, c.logs().decode()[-1500:]) for c in pending]
    for c in containers:  # the engine recorded it: inspect says so too
        c.reload()
        assert c.attrs["State"]["Health"]["Status"] == "healthy"


def test_service_script_is_idempotent(podman: Any) -> None:
    again = _script("podman-service", "start")
    assert again.returncode == 0 and "running (pid" in again.stderr
    assert again.stdout.strip() == os.environ["DOCKER_HOST"]


def test_images_build_and_are_cached(built: list[ImageResult], podman: Any) -> None:
    catalog = load_catalog()
    by_name = {r.name: r for r in built}
    assert set(catalog) <= set(by_name) and {"base", "deps", "redis"} <= set(by_name)
    version = by_name["base"].tags[1].rpartition(":")[2]
    for name, result in by_name.items():
        image = podman.images.get(result.ref)
        # Podman names every image in full: docker.io/nfv/<name>:<tag>
        assert any(t.endswith(f"nfv/{name}:{version}") for t in image.tags), image.tags
        assert image.labels["io.nfv.content-hash"].startswith(result.ref.rpartition(":")[2])
        if name in catalog:
            assert result.size <= NF_IMAGE_MAX_BYTES, f"{name}: {result.size / 1e6:.1f} MB"
            config = image.attrs["Config"]
            assert config["User"] == f"{USER_ID}:{USER_ID}"
            assert config["Entrypoint"][:2] == ["/usr/bin/tini", "--"]
            # Podman 4.3's Docker-compatible image inspect leaves Config.Healthcheck out;
            # the image has it (Docker manifest format): the libpod inspect shows it.
            assert "Healthcheck" not in config or config["Healthcheck"]["Test"][0] == "CMD"
            assert _libpod_image(podman, result.ref)["Healthcheck"]["Test"][0] == "CMD"
    started = time.monotonic()
    again = ImageBuilder(podman, plan_images(load_catalog())).build()
    assert {r.status for r in again} == {"cached"}
    assert [r.image_id for r in again] == [r.image_id for r in built]
    assert time.monotonic() - started < 10


def test_each_nf_container_becomes_healthy(
    built: list[ImageResult], podman: Any, tmp_path: Path
) -> None:
    _render_configs(tmp_path)
    refs = {r.name: r.ref for r in built}
    containers = [_run_alone(podman, refs[nf], nf, tmp_path) for nf in load_catalog()]
    try:
        _wait_healthy(podman, containers)
    finally:
        for c in containers:
            c.remove(force=True)


def test_push_delete_pull_run(
    built: list[ImageResult], podman: Any, registry: str, tmp_path: Path
) -> None:
    socket = Path(os.environ["DOCKER_HOST"].removeprefix("unix://"))
    if f'"{registry}"' not in (socket.parent / "registries.conf").read_text():
        pytest.skip(f"the Podman service was started before, without {registry} as insecure")
    plan = plan_images(load_catalog())
    builder = ImageBuilder(podman, plan)
    results = [r for r in builder.build() if r.name == "hss"]
    builder.push(results, registry)
    hss = results[0]
    remote = f"{registry}/{plan['hss'].ref}"
    assert remote in hss.pushed
    for tag in podman.images.get(hss.ref).tags:  # every name of it: the image is gone
        podman.images.remove(tag)
    with pytest.raises(Exception, match=r"[Nn]o such image|not found|[Nn]ot [Ff]ound"):
        podman.images.get(hss.image_id)
    pulled = pull_image(podman, remote)
    assert pulled.id == hss.image_id  # same content, same id
    pulled.tag(plan["hss"].repository, plan["hss"].tag)
    pulled.tag(plan["hss"].repository, plan.project.version)
    _render_configs(tmp_path)
    container = _run_alone(podman, remote, "hss", tmp_path)
    try:
        _wait_healthy(podman, [container])
    finally:
        container.remove(force=True)


def test_up_check_down(built: list[ImageResult], podman: Any, tmp_path: Path) -> None:
    project = f"nfvpod{os.getpid()}"
    platform = DockerPlatform(podman, project=project, state_dir=tmp_path / "state")
    sip_port = free_port()
    try:
        report = platform.up(profile="lab", sip_port=sip_port, timeout=60)
        print(f"\nnfv up --runtime docker on Podman: ready in {report.seconds:.2f} s")
        assert report.entry == ("127.0.0.1", sip_port)
        status = platform.status()
        assert status["containers"] and all(c["ready"] for c in status["containers"])
        nf_rows = [c for c in status["containers"] if c["nf"] in load_catalog()]
        assert all(row["health"] == "healthy" for row in nf_rows), nf_rows
        for row in nf_rows:  # admin ports on loopback only
            assert row["ports"] and all(p.startswith("127.0.0.1:") for p in row["ports"])
        subscribers = platform.subscribers()
        domain = platform.domain()
        udp = run_check(subscribers[:2], domain=domain, pcscf=platform.entry_point())
        assert len(udp.steps) == 5
        tcp = run_check(
            subscribers[2:4], domain=domain, pcscf=platform.entry_point(), transport="tcp"
        )
        assert len(tcp.steps) == 5
        print(json.dumps({"udp": udp.as_dict(), "tcp": tcp.as_dict()}))
    finally:
        started = time.monotonic()
        down = platform.down()
        print(f"nfv down --runtime docker on Podman: {time.monotonic() - started:.2f} s")
    assert len(down.containers) == 1 + len(load_catalog())
    assert down.networks == [f"{project}-core"]
    label = {"label": f"{LABEL_PROJECT}={project}"}
    assert podman.containers.list(all=True, filters=label) == []
    assert podman.networks.list(filters=label) == []
    assert [n.name for n in podman.networks.list(names=[f"{project}-core"])] == []
    assert not platform.dir.exists()

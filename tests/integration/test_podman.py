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

import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nfv.catalog import load_catalog
from nfv.images import ImageBuilder, ImageResult, plan_images, pull_image
from nfv.images.engine import is_podman, run_healthcheck
from nfv.images.recipe import USER_ID
from nfv.platforms.docker import DockerPlatform
from nfv.platforms.docker.platform import free_port
from tests.integration.engines import (
    NF_IMAGE_MAX_BYTES,
    assert_core_gone,
    build_all,
    check_core,
    engine_client,
    run_healthy_alone,
    script,
    service,
    wait_healthy,
)

pytestmark = pytest.mark.integration

# The plain-HTTP registries scripts/podman-service configures by default.
PODMAN_INSECURE = ("127.0.0.1:5000", "localhost:5000")


def _libpod_image(client: Any, ref: str) -> dict[str, Any]:
    """The libpod API's inspect of an image (more complete than the compatible one)."""
    response = client.api.get(f"{client.api.base_url}/v4.0.0/libpod/images/{ref}/json")
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    with service("registry") as address:
        yield address


@pytest.fixture(scope="module")
def podman(registry: str) -> Iterator[Any]:
    # the registry may not be on 5000 (taken): Podman must know it speaks plain HTTP
    insecure = " ".join(dict.fromkeys([registry, *PODMAN_INSECURE]))
    env = {"NFV_PODMAN_INSECURE_REGISTRIES": insecure}
    with service("podman-service", env=env, check_stop=True) as host:
        assert host.startswith("unix://") and host.endswith("/podman/podman.sock")
        with engine_client(host) as client:
            assert is_podman(client)
            yield client


@pytest.fixture(scope="module")
def built(podman: Any) -> list[ImageResult]:
    return build_all(podman, " on Podman")


def _wait_healthy(client: Any, containers: list[Any]) -> None:
    """Run each container's health check until it says healthy (no systemd: no timer)."""
    wait_healthy(containers, lambda c: run_healthcheck(client, c.name) == "healthy")
    for c in containers:  # the engine recorded it: inspect says so too
        c.reload()
        assert c.attrs["State"]["Health"]["Status"] == "healthy"


def test_service_script_is_idempotent(podman: Any) -> None:
    again = script("podman-service", "start")
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
    again = ImageBuilder(podman, plan_images(load_catalog())).build()
    assert {r.status for r in again} == {"cached"}
    assert [r.image_id for r in again] == [r.image_id for r in built]


def test_each_nf_container_becomes_healthy(
    built: list[ImageResult], podman: Any, tmp_path: Path
) -> None:
    refs = {r.name: r.ref for r in built}
    wait = functools.partial(_wait_healthy, podman)
    run_healthy_alone(podman, {nf: refs[nf] for nf in load_catalog()}, tmp_path, wait)


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
    run_healthy_alone(podman, {"hss": remote}, tmp_path, functools.partial(_wait_healthy, podman))


def test_up_check_down(built: list[ImageResult], podman: Any, tmp_path: Path) -> None:
    project = f"nfvpod{os.getpid()}"
    platform = DockerPlatform(podman, project=project, state_dir=tmp_path / "state")
    sip_port = free_port()
    try:
        report = platform.up(profile="lab", sip_port=sip_port, timeout=60)
        print(f"\nnfv up --runtime docker on Podman: ready in {report.seconds:.2f} s")
        assert report.entry == ("127.0.0.1", sip_port)
        nf_rows = check_core(platform)
        assert all(row["health"] == "healthy" for row in nf_rows), nf_rows
    finally:
        started = time.monotonic()
        down = platform.down()
        print(f"nfv down --runtime docker on Podman: {time.monotonic() - started:.2f} s")
    assert_core_gone(podman, platform, down, project)
    assert [n.name for n in podman.networks.list(names=[f"{project}-core"])] == []

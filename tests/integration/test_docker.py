"""Images and the Docker platform against a real engine and a real registry.

The fixtures start Debian's dockerd and docker-registry through scripts/docker-engine and
scripts/registry when none answers, and stop only what they started. Builds are cached by
content hash (in the engine and in the nfv cache), so a warm run builds nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from nfv.catalog import load_catalog
from nfv.errors import CatalogError, EngineError, RegistryError
from nfv.images import ImageBuilder, ImageResult, connect, plan_images, pull_image
from nfv.images.recipe import USER_ID
from nfv.platforms.docker import DockerPlatform
from nfv.platforms.docker.platform import LABEL_PROJECT, free_port
from tests.integration.engines import (
    NF_IMAGE_MAX_BYTES,
    assert_core_gone,
    build_all,
    check_core,
    engine_client,
    run_healthy_alone,
    service,
    wait_healthy,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    with service("docker-engine") as host, engine_client(host) as client:
        yield client


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    with service("registry") as address:
        yield address


@pytest.fixture(scope="module")
def built(engine: Any) -> list[ImageResult]:
    return build_all(engine, "")


def _wait_healthy(containers: list[Any]) -> None:
    """The engine runs the images' HEALTHCHECKs itself: wait until each reports healthy."""
    wait_healthy(
        containers, lambda c: c.attrs["State"].get("Health", {}).get("Status") == "healthy"
    )


def test_every_nf_has_an_image_within_budget(built: list[ImageResult], engine: Any) -> None:
    catalog = load_catalog()
    by_name = {r.name: r for r in built}
    assert set(catalog) <= set(by_name) and {"base", "deps", "redis"} <= set(by_name)
    for name in catalog:
        result = by_name[name]
        assert result.size <= NF_IMAGE_MAX_BYTES, f"{name}: {result.size / 1e6:.1f} MB"
        image = engine.images.get(result.ref)
        config = image.attrs["Config"]
        assert config["User"] == f"{USER_ID}:{USER_ID}"
        assert config["Healthcheck"]["Test"][0] == "CMD"
        labels = config["Labels"]
        for key in ("source", "revision", "version", "created"):
            assert labels[f"org.opencontainers.image.{key}"]
        assert f"nfv/{name}:{labels['org.opencontainers.image.version']}" in image.tags
        assert config["Entrypoint"][:2] == ["/usr/bin/tini", "--"]


def test_unchanged_inputs_build_nothing(built: list[ImageResult], engine: Any) -> None:
    again = ImageBuilder(engine, plan_images(load_catalog())).build()
    assert {r.status for r in again} == {"cached"}
    assert [r.image_id for r in again] == [r.image_id for r in built]


def test_each_nf_container_becomes_healthy(
    built: list[ImageResult], engine: Any, tmp_path: Path
) -> None:
    refs = {r.name: r.ref for r in built}
    run_healthy_alone(engine, {nf: refs[nf] for nf in load_catalog()}, tmp_path, _wait_healthy)


def test_push_delete_pull_run(
    built: list[ImageResult], engine: Any, registry: str, tmp_path: Path
) -> None:
    plan = plan_images(load_catalog())
    builder = ImageBuilder(engine, plan)
    results = [r for r in builder.build() if r.name in ("hss", "redis")]
    builder.push(results, registry)
    hss = next(r for r in results if r.name == "hss")
    remote = f"{registry}/{plan['hss'].ref}"
    assert remote in hss.pushed
    image = engine.images.get(hss.ref)
    for tag in image.tags:  # every name of it: the image is gone from the engine
        engine.images.remove(tag)
    with pytest.raises(Exception, match=r"[Nn]o such image|not found"):
        engine.images.get(hss.image_id)
    pulled = pull_image(engine, remote)
    assert pulled.id == hss.image_id  # same content, same id
    pulled.tag(plan["hss"].repository, plan["hss"].tag)
    run_healthy_alone(engine, {"hss": remote}, tmp_path, _wait_healthy)


def test_up_check_down(
    built: list[ImageResult], engine: Any, registry: str, tmp_path: Path
) -> None:
    project = f"nfvtest{os.getpid()}"
    platform = DockerPlatform(engine, project=project, state_dir=tmp_path / "state")
    # the images the registry has (pushed above) are the ones the core runs
    ImageBuilder(engine, plan_images(load_catalog())).push(built, registry)
    sip_port = free_port()
    try:
        report = platform.up(profile="lab", registry=registry, sip_port=sip_port, timeout=60)
        print(f"\nnfv up --runtime docker: ready in {report.seconds:.2f} s")
        assert report.entry == ("127.0.0.1", sip_port)
        assert all(ref.startswith(registry) for ref in report.images.values())
        check_core(platform)
    finally:
        down = platform.down()
    assert_core_gone(engine, platform, down, project)


# -- bad input ------------------------------------------------------------------------------------


def test_unknown_nf(engine: Any) -> None:
    with pytest.raises(CatalogError, match="unknown network function 'smsc'"):
        plan_images(load_catalog(), ["smsc"])


def test_unreachable_engine(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="no container engine answers"):
        connect(f"unix://{tmp_path}/docker.sock")
    with pytest.raises(EngineError, match=r"tcp://127\.0\.0\.1:"):
        connect(f"tcp://127.0.0.1:{free_port()}")


def test_unreachable_registry(built: list[ImageResult], engine: Any) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    plan = plan_images(load_catalog(), ["pcscf"])
    builder = ImageBuilder(engine, plan)
    results = [r for r in builder.build() if r.name == "pcscf"]
    with pytest.raises(RegistryError, match=f"cannot push .* to {nowhere}.*scripts/registry"):
        builder.push(results, nowhere)
    for tag in (plan["pcscf"].tag, plan.project.version):
        with contextlib.suppress(ImageNotFound):
            engine.images.remove(f"{nowhere}/{plan['pcscf'].repository}:{tag}")


def test_up_twice_is_refused(built: list[ImageResult], engine: Any, tmp_path: Path) -> None:
    project = f"nfvtwice{os.getpid()}"
    net = engine.networks.create(f"{project}-core", labels={LABEL_PROJECT: project})
    container = engine.containers.run(
        built[0].ref,
        ["/usr/bin/python3", "-c", "import time; time.sleep(60)"],
        name=f"{project}-dummy",
        detach=True,
        network=net.name,
        labels={LABEL_PROJECT: project},
    )
    platform = DockerPlatform(engine, project=project, state_dir=tmp_path)
    try:
        with pytest.raises(Exception, match="already up"):
            platform.up(profile="lab")
    finally:
        report = platform.down()
    assert report.containers == [container.name] and report.networks == [net.name]

"""Images and the Docker platform against a real engine and a real registry.

The fixtures start Debian's dockerd and docker-registry through scripts/docker-engine and
scripts/registry when none answers, and stop only what they started. Builds are cached by
content hash (in the engine and in the nfv cache), so a warm run builds nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from nfv.catalog import load_catalog
from nfv.check import run_check
from nfv.errors import CatalogError, EngineError, RegistryError
from nfv.images import ImageBuilder, ImageResult, connect, plan_images, pull_image
from nfv.images.recipe import CONFIG_DIR, USER_ID
from nfv.platforms.docker import DockerPlatform
from nfv.platforms.docker.platform import LABEL_PROJECT, free_port
from nfv.render import render_nf_config
from nfv.values import load_values

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NF_IMAGE_MAX_BYTES = 120_000_000  # the budget per NF image
HEALTHY_WITHIN_S = 40  # first probe after 5 s, then every 5 s


def _script(name: str, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / name), action],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    status = _script("docker-engine", "status")
    started = status.returncode != 0
    result = _script("docker-engine", "start") if started else status
    assert result.returncode == 0, result.stderr
    host = result.stdout.strip().splitlines()[-1]
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    client = connect()
    try:
        yield client
    finally:
        client.close()
        if old is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = old
        if started:
            _script("docker-engine", "stop")


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
def built(engine: Any) -> list[ImageResult]:
    plan = plan_images(load_catalog())
    started = time.monotonic()
    results = ImageBuilder(engine, plan).build()
    print(f"\nbuild: {time.monotonic() - started:.1f} s")
    for r in results:
        print(f"  {r.ref:<26} {r.size / 1e6:6.1f} MB {r.seconds:6.2f} s {r.status}")
    return results


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
    started = time.monotonic()
    again = ImageBuilder(engine, plan_images(load_catalog())).build()
    assert {r.status for r in again} == {"cached"}
    assert [r.image_id for r in again] == [r.image_id for r in built]
    assert time.monotonic() - started < 10


def _run_alone(engine: Any, ref: str, nf: str, config_dir: Path) -> Any:
    """One NF's container, read-only, as the platform runs it but with no peers."""
    return engine.containers.run(
        ref,
        name=f"nfvtest-{nf}-{os.getpid()}",
        detach=True,
        read_only=True,
        tmpfs={"/tmp": "rw,size=16m,mode=1777"},
        cap_drop=["ALL"],
        network_mode="none",
        environment={"NFV__STORE__URL": "sqlite:////tmp/store.db"},
        volumes={str(config_dir / f"{nf}.yaml"): {"bind": f"{CONFIG_DIR}/{nf}.yaml", "mode": "ro"}},
        labels={LABEL_PROJECT: "nfvtest-alone"},
    )


def _wait_healthy(containers: list[Any]) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    pending = list(containers)
    while pending and time.monotonic() < deadline:
        for c in list(pending):
            c.reload()
            assert c.status == "running", c.logs().decode()[-2000:]
            if c.attrs["State"].get("Health", {}).get("Status") == "healthy":
                pending.remove(c)
        time.sleep(0.5)
    assert not pending, [(c.name, c.logs().decode()[-1500:]) for c in pending]


def _render_configs(directory: Path) -> None:
    catalog = load_catalog()
    values = load_values(profile="lab")
    for nf in catalog:
        path = directory / f"{nf}.yaml"
        path.write_text(render_nf_config(catalog[nf], catalog, values))
        path.chmod(0o644)


def test_each_nf_container_becomes_healthy(
    built: list[ImageResult], engine: Any, tmp_path: Path
) -> None:
    _render_configs(tmp_path)
    refs = {r.name: r.ref for r in built}
    containers = [_run_alone(engine, refs[nf], nf, tmp_path) for nf in load_catalog()]
    try:
        _wait_healthy(containers)
    finally:
        for c in containers:
            c.remove(force=True)


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
    _render_configs(tmp_path)
    container = _run_alone(engine, remote, "hss", tmp_path)
    try:
        _wait_healthy([container])
    finally:
        container.remove(force=True)


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
        status = platform.status()
        assert status["containers"] and all(c["ready"] for c in status["containers"])
        nf_rows = [c for c in status["containers"] if c["nf"] in load_catalog()]
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
        down = platform.down()
    assert len(down.containers) == 1 + len(load_catalog())
    assert down.networks == [f"{project}-core"]
    label = {"label": f"{LABEL_PROJECT}={project}"}
    assert engine.containers.list(all=True, filters=label) == []
    assert engine.networks.list(filters=label) == []
    assert not platform.dir.exists()


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

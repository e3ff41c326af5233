"""What the Docker and Podman integration tests share (tests/integration/test_docker.py,
test_podman.py): the service scripts (scripts/docker-engine, scripts/podman-service,
scripts/registry) started only when they do not run and stopped only when started here, a
client bound to DOCKER_HOST, the full image build, one NF container run alone, waiting for
health, and the registration/call check of a core that ``DockerPlatform.up`` brought up.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nfv.catalog import load_catalog
from nfv.check import run_check
from nfv.images import ImageBuilder, ImageResult, connect, plan_images
from nfv.images.recipe import CONFIG_DIR
from nfv.platforms.docker import DockerPlatform
from nfv.platforms.docker.platform import LABEL_PROJECT
from nfv.render import render_nf_config
from nfv.values import load_values

REPO = Path(__file__).resolve().parents[2]
NF_IMAGE_MAX_BYTES = 120_000_000  # the budget per NF image
HEALTHY_WITHIN_S = 40  # first probe after 5 s, then every 5 s


def script(
    name: str, action: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run scripts/<name> <action>; ``env`` is laid over this process's environment."""
    return subprocess.run(
        [str(REPO / "scripts" / name), action],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@contextmanager
def service(
    name: str, *, env: dict[str, str] | None = None, check_stop: bool = False
) -> Iterator[str]:
    """scripts/<name> running for the block: started unless it runs already, stopped after
    only if started here (and then, with ``check_stop``, asserted stopped). Yields the
    address the script prints last."""
    status = script(name, "status")
    started = status.returncode != 0
    result = script(name, "start", env) if started else status
    assert result.returncode == 0, result.stderr
    try:
        yield result.stdout.strip().splitlines()[-1]
    finally:
        if started:
            stopped = script(name, "stop")
            if check_stop:
                assert stopped.returncode == 0, stopped.stderr
                assert script(name, "status").returncode == 3


@contextmanager
def engine_client(host: str) -> Iterator[Any]:
    """A client of the engine at ``host``, with DOCKER_HOST pointing there for the block."""
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


def build_all(client: Any, where: str) -> list[ImageResult]:
    """Build every image of the catalog, printing the time and each image's size."""
    started = time.monotonic()
    results = ImageBuilder(client, plan_images(load_catalog())).build()
    print(f"\nbuild{where}: {time.monotonic() - started:.1f} s")
    for r in results:
        print(f"  {r.ref:<26} {r.size / 1e6:6.1f} MB {r.seconds:6.2f} s {r.status}")
    return results


def run_alone(engine: Any, ref: str, nf: str, config_dir: Path) -> Any:
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


def wait_healthy(containers: list[Any], is_healthy: Callable[[Any], bool]) -> None:
    """Until each container is healthy by ``is_healthy`` (HEALTHY_WITHIN_S at most); each
    must keep running meanwhile."""
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    pending = list(containers)
    while pending and time.monotonic() < deadline:
        for c in list(pending):
            c.reload()
            assert c.status == "running", c.logs().decode()[-2000:]
            if is_healthy(c):
                pending.remove(c)
        time.sleep(0.5)
    assert not pending, [(c.name, c.logs().decode()[-1500:]) for c in pending]


def run_healthy_alone(
    engine: Any, refs: dict[str, str], directory: Path, wait: Callable[[list[Any]], None]
) -> None:
    """Each NF of ``refs`` (NF name -> image) in its own container alone (lab configs written
    to ``directory``) becomes healthy by ``wait``; the containers are removed afterwards."""
    render_configs(directory)
    containers = [run_alone(engine, ref, nf, directory) for nf, ref in refs.items()]
    try:
        wait(containers)
    finally:
        for c in containers:
            c.remove(force=True)


def render_configs(directory: Path) -> None:
    """Every NF's config file of the lab profile, readable by the image's user."""
    catalog = load_catalog()
    values = load_values(profile="lab")
    for nf in catalog:
        path = directory / f"{nf}.yaml"
        path.write_text(render_nf_config(catalog[nf], catalog, values))
        path.chmod(0o644)


def check_core(platform: DockerPlatform) -> list[dict[str, Any]]:
    """The core is ready, admin ports are on loopback only, and two pairs of subscribers
    register and call (UDP, then TCP) through the P-CSCF. Returns the NFs' status rows."""
    status = platform.status()
    assert status["containers"] and all(c["ready"] for c in status["containers"])
    nf_rows = [c for c in status["containers"] if c["nf"] in load_catalog()]
    for row in nf_rows:  # admin ports on loopback only
        assert row["ports"] and all(p.startswith("127.0.0.1:") for p in row["ports"])
    subscribers = platform.subscribers()
    domain = platform.domain()
    udp = run_check(subscribers[:2], domain=domain, pcscf=platform.entry_point())
    assert len(udp.steps) == 5
    tcp = run_check(subscribers[2:4], domain=domain, pcscf=platform.entry_point(), transport="tcp")
    assert len(tcp.steps) == 5
    print(json.dumps({"udp": udp.as_dict(), "tcp": tcp.as_dict()}))
    return nf_rows


def assert_core_gone(engine: Any, platform: DockerPlatform, down: Any, project: str) -> None:
    """``down`` removed every container and the network of ``project``, and its state."""
    assert len(down.containers) == 1 + len(load_catalog()), (down.containers, list(load_catalog()))
    assert down.networks == [f"{project}-core"]
    label = {"label": f"{LABEL_PROJECT}={project}"}
    assert engine.containers.list(all=True, filters=label) == []
    assert engine.networks.list(filters=label) == []
    assert not platform.dir.exists()

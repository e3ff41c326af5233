"""Session fixtures of the e2e tier: the local cluster, the Docker engine, the registry and
the images, each brought up once for the whole run.

Each fixture starts only what is not already running and, at the end of the session, stops
only what it started; the images are built and pushed once (``e2e_image_tag``), however
many modules deploy them. All of it is opt-in (``NFV_E2E_CLUSTER=1``, root): without that,
every test that asks for one of these fixtures is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.cluster import (
    CLUSTER,
    ENGINE,
    REGISTRY,
    REGISTRY_SCRIPT,
    UP_TIMEOUT_S,
    Cluster,
    build_and_push,
    kubeconfig,
    require_opt_in,
    run,
)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The single-node cluster, up; KUBECONFIG points at it for the session."""
    require_opt_in()
    started = run(CLUSTER, "status").returncode != 0
    if started:
        up = run(CLUSTER, "up", timeout=UP_TIMEOUT_S)
        if up.returncode != 0:
            status = run(CLUSTER, "status").stdout.strip().splitlines()
            reason = (status[-1] if status else "") + " | " + up.stderr.strip()[-400:]
            run(CLUSTER, "down")
            pytest.skip(f"cluster up failed: {reason}")
    path = kubeconfig()
    saved = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = path  # for kubectl and the kubernetes client of the asserts
    try:
        yield Cluster(path)
    finally:
        if saved is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = saved
        if started:
            run(CLUSTER, "down")


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    """The Docker engine (scripts/docker-engine), running; its DOCKER_HOST address."""
    require_opt_in()
    started = run(ENGINE, "status").returncode != 0
    engine = run(ENGINE, "start", timeout=600)
    assert engine.returncode == 0, engine.stderr[-2000:]
    try:
        yield engine.stdout.strip()
    finally:
        if started:
            run(ENGINE, "stop")


@pytest.fixture(scope="session")
def registry() -> Iterator[str]:
    """The local registry (scripts/registry) the cluster's containerd pulls from."""
    require_opt_in()
    started = run(REGISTRY_SCRIPT, "status").returncode != 0
    reg = run(REGISTRY_SCRIPT, "start", timeout=600)
    try:
        assert reg.returncode == 0, reg.stderr[-2000:]
        if reg.stdout.strip() != REGISTRY:
            pytest.skip(f"the registry runs on {reg.stdout.strip()}, the cluster pulls {REGISTRY}")
        yield REGISTRY
    finally:
        if started:
            run(REGISTRY_SCRIPT, "stop")


@pytest.fixture(scope="session")
def e2e_image_tag(docker_host: str, registry: str) -> str:
    """Every NF and store image built and pushed once, under one tag for this run."""
    return build_and_push({"DOCKER_HOST": docker_host})

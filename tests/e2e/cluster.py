"""What the e2e tests share to drive the local cluster, the Docker engine and the registry.

Paths of the control scripts (hack/cluster/cluster, scripts/docker-engine, scripts/registry),
a subprocess runner that never raises on a non-zero exit, the opt-in gate, reading the
cluster's KUBECONFIG and building + pushing the images once. The session fixtures built on
these live in tests/e2e/conftest.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "hack" / "cluster" / "cluster"
ENGINE = ROOT / "scripts" / "docker-engine"
REGISTRY_SCRIPT = ROOT / "scripts" / "registry"
# The registry the cluster's containerd is configured to pull from (hack/cluster).
REGISTRY = "127.0.0.1:5000"
# A cold `cluster up` builds every binary first (measured ~7 min); warm `up` takes ~10 s.
UP_TIMEOUT_S = 45 * 60
# A cold `nfv build` makes the Debian base and downloads the wheels first (minutes).
BUILD_TIMEOUT_S = 20 * 60
STEP_TIMEOUT_S = 300


@dataclass(frozen=True)
class Cluster:
    """What the ``cluster`` fixture hands out: the cluster is up, this is its kubeconfig."""

    kubeconfig: str


def run(
    *args: str | Path,
    timeout: float = STEP_TIMEOUT_S,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; ``env`` is laid over this process's own."""
    return subprocess.run(
        [str(a) for a in args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def nfv(
    *args: str, env: dict[str, str] | None = None, timeout: float = STEP_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """The ``nfv`` CLI of this tree, in a child process."""
    return run(sys.executable, "-m", "nfv", *args, env=env, timeout=timeout)


def require_opt_in() -> None:
    """Skip unless the cluster tests were asked for and can run (root)."""
    if os.environ.get("NFV_E2E_CLUSTER") != "1":
        pytest.skip("local Kubernetes e2e tests are opt-in: set NFV_E2E_CLUSTER=1")
    if os.geteuid() != 0:
        pytest.skip("the local cluster needs root (containerd, kubelet, iptables)")


def kubeconfig() -> str:
    """The KUBECONFIG path ``hack/cluster/cluster env`` prints."""
    out = run(CLUSTER, "env").stdout
    for line in out.splitlines():
        if "KUBECONFIG=" in line:
            return line.split("KUBECONFIG=", 1)[1].strip().strip("'\"")
    raise AssertionError(f"hack/cluster/cluster env printed no KUBECONFIG: {out!r}")


def build_and_push(env: dict[str, str]) -> str:
    """``nfv build --push``, then every NF and store image also under one tag for this run,
    which the tests deploy with: other people edit this tree while the tests run, and
    images are tagged by content, so a later render could name images never built. The run
    tag is a hash of the built tags: a changed image gets a new one (the node pulls
    IfNotPresent). ``env`` must hold DOCKER_HOST."""
    from nfv.images.builder import push_image
    from nfv.images.engine import connect

    build = nfv("build", "--push", REGISTRY, "--json", env=env, timeout=BUILD_TIMEOUT_S)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    images = [i for i in json.loads(build.stdout)["images"] if i["kind"] in ("nf", "store")]
    digest = hashlib.sha256(" ".join(sorted(i["ref"] for i in images)).encode()).hexdigest()
    tag = f"e2e-{digest[:12]}"
    client = connect(env["DOCKER_HOST"])
    try:
        for image in images:
            push_image(
                client, image["image_id"], f"{REGISTRY}/nfv/{image['name']}", tag, registry=REGISTRY
            )
    finally:
        client.close()
    return tag

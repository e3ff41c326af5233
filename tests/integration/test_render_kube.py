"""nfv render checked by real Kubernetes: a server-side dry run (``kubectl apply --server-side
--dry-run=server``) against the API server of $KUBECONFIG or, when that is unset, of the
development cluster (hack/cluster) when it answers; kubeconform when no API server answers
but kubeconform is installed; skipped otherwise. tests/e2e/test_render_apply.py brings the
cluster up itself (opt-in) and checks more.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nfv.manifests import dump_stream, load_chart_values, render_manifests
from nfv.values import profiles

pytestmark = pytest.mark.integration

PROFILES = [None, *profiles()]
ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "hack" / "cluster" / "cluster"


def render(profile: str | None, **overrides: Any) -> str:
    values = load_chart_values(profile=profile, overrides={"image": {"tag": "t1"}, **overrides})
    return dump_stream(render_manifests(values))


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _dev_cluster_kubeconfig() -> str | None:
    if not CLUSTER.exists():
        return None
    try:
        env = _run(str(CLUSTER), "env").stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in env.splitlines():
        if "KUBECONFIG=" in line:
            path = line.split("=", 1)[1].strip("'\"")
            return path if Path(path).exists() else None
    return None


@pytest.fixture(scope="module")
def kubectl() -> Iterator[str | None]:
    """kubectl reaching an API server (KUBECONFIG set for this module), or None."""
    binary = shutil.which("kubectl")
    old = os.environ.get("KUBECONFIG")
    config = old or _dev_cluster_kubeconfig()
    if binary is None or config is None:
        yield None
        return
    os.environ["KUBECONFIG"] = config
    try:
        try:
            done = _run(binary, "version", "--request-timeout=3s", "-o", "json")
        except (OSError, subprocess.TimeoutExpired):
            done = None
        yield binary if done is not None and done.returncode == 0 else None
    finally:
        if old is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = old


def _free_node_ports(kubectl: str) -> dict[str, int]:
    done = _run(kubectl, "get", "services", "--all-namespaces", "-o", "json")
    assert done.returncode == 0, done.stderr
    taken = {
        p.get("nodePort") for s in json.loads(done.stdout)["items"] for p in s["spec"]["ports"]
    }
    free = [p for p in range(32767, 29999, -1) if p not in taken]
    return {"sip": free[0], "s1ap": free[1]}


def test_server_side_dry_run_of_every_profile(kubectl: str | None, tmp_path: Path) -> None:
    if kubectl is None:
        kubeconform = shutil.which("kubeconform")
        if kubeconform is None:
            pytest.skip("no API server answers (KUBECONFIG, hack/cluster) and no kubeconform")
        stream = tmp_path / "core.yaml"
        stream.write_text(render("production"))
        done = _run(kubeconform, "-strict", "-summary", str(stream))
        assert done.returncode == 0, done.stdout + done.stderr
        return
    namespace = f"nfv-render-it-{os.getpid()}"
    created = _run(kubectl, "create", "namespace", namespace)
    assert created.returncode == 0, created.stderr
    try:
        for profile in PROFILES:
            kube = {"namespace": namespace, "exposure": {"node_ports": _free_node_ports(kubectl)}}
            stream = render(profile, kubernetes=kube)
            done = _run(
                kubectl,
                "apply",
                "--server-side",
                "--field-manager=nfv-it",
                "--dry-run=server",
                "-f",
                "-",
                stdin=stream,
            )
            assert done.returncode == 0, f"profile {profile}: {done.stderr}"
            applied = [line for line in done.stdout.splitlines() if "(server dry run)" in line]
            assert len(applied) == stream.count("\n---\n") + 1
    finally:
        _run(kubectl, "delete", "namespace", namespace, "--wait=false")

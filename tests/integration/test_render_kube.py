"""nfv render checked by real Kubernetes tooling: kubeconform when installed, else a server-side
dry run with kubectl when it reaches an API server; skipped otherwise."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nfv.manifests import dump_stream, load_chart_values, render_manifests
from nfv.values import profiles

pytestmark = pytest.mark.integration

PROFILES = [None, *profiles()]


def render(profile: str | None) -> str:
    values = load_chart_values(profile=profile, overrides={"image": {"tag": "t1"}})
    return dump_stream(render_manifests(values))


# -- a real Kubernetes client, when there is one -----------------------------------------------


def _cluster() -> str | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    try:
        done = subprocess.run(
            [kubectl, "version", "--request-timeout=3s", "-o", "json"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return kubectl if done.returncode == 0 else None


def test_kubectl_server_dry_run(tmp_path: Path) -> None:
    kubeconform = shutil.which("kubeconform")
    if kubeconform is not None:
        stream = tmp_path / "core.yaml"
        stream.write_text(render("production"))
        done = subprocess.run(
            [kubeconform, "-strict", "-summary", str(stream)], capture_output=True, check=False
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        return
    kubectl = _cluster()
    if kubectl is None:
        pytest.skip("no kubeconform, and kubectl reaches no API server for a server dry run")
    for profile in PROFILES:
        done = subprocess.run(
            [kubectl, "apply", "--dry-run=server", "-f", "-"],
            input=render(profile).encode(),
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()

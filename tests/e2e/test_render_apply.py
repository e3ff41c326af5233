"""`nfv render` output accepted by a real Kubernetes API server (hack/cluster, 1.35).

Every profile (and the whole catalog enabled, EPC included) goes through
``kubectl apply --server-side --dry-run=server`` into a namespace this test creates: the API
server runs its own validation, defaulting and admission on every object without creating
anything. Server-side apply, because client-side apply copies each object into a
``last-applied-configuration`` annotation, which the subscriber Secret of the scaling
profile (2,000 subscribers, ~370 kB) outgrows (annotations are limited to 256 KiB).

Opt-in like tests/e2e/test_local_cluster.py: ``NFV_E2E_CLUSTER=1`` and root; the cluster is
brought up when it is not running (and taken down again afterwards; tests/e2e/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from nfv.catalog import load_catalog
from nfv.kubeschema import validate_objects
from nfv.manifests import dump_stream, load_chart_values, render_manifests
from nfv.values import profiles
from tests.e2e.cluster import Cluster, run

pytestmark = pytest.mark.e2e

NODE_PORTS = range(30000, 32768)
STEP_TIMEOUT_S = 120


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(*args, stdin=stdin, timeout=STEP_TIMEOUT_S)


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster) -> str:
    """kubectl, talking to the session's cluster (KUBECONFIG set by the fixture)."""
    return "kubectl"


@pytest.fixture(scope="module")
def namespace(kubectl: str) -> Iterator[str]:
    name = f"nfv-render-e2e-{os.getpid()}"
    created = _run(kubectl, "create", "namespace", name)
    assert created.returncode == 0, created.stderr
    try:
        yield name
    finally:
        _run(kubectl, "delete", "namespace", name, "--wait=false")


def _free_node_ports(kubectl: str, count: int) -> list[int]:
    """NodePorts are cluster-wide: pick ones no Service holds, so a core deployed by someone
    else on the cluster does not make the dry run fail."""
    done = _run(kubectl, "get", "services", "--all-namespaces", "-o", "json")
    assert done.returncode == 0, done.stderr
    taken = {
        port.get("nodePort")
        for svc in json.loads(done.stdout)["items"]
        for port in svc["spec"].get("ports", [])
    }
    free = [p for p in reversed(NODE_PORTS) if p not in taken]
    return free[:count]


def _render(profile: str | None, namespace: str, ports: list[int], **extra: Any) -> list[Any]:
    overrides: dict[str, Any] = {
        "image": {"tag": "e2e"},
        "kubernetes": {
            "namespace": namespace,
            "exposure": {"node_ports": {"sip": ports[0], "s1ap": ports[1]}},
        },
        **extra,
    }
    return render_manifests(load_chart_values(profile=profile, overrides=overrides))


def _dry_run(kubectl: str, objects: list[Any]) -> subprocess.CompletedProcess[str]:
    return _run(
        kubectl,
        "apply",
        "--server-side",
        "--field-manager=nfv-e2e",
        "--dry-run=server",
        "-f",
        "-",
        stdin=dump_stream(objects),
    )


@pytest.mark.parametrize("profile", [None, *profiles(), "all-nfs"])
def test_profile_passes_a_server_side_dry_run(kubectl: str, namespace: str, profile: str) -> None:
    ports = _free_node_ports(kubectl, 2)
    if profile == "all-nfs":  # every descriptor, the EPC's included, in production shape
        nfs = {name: {"enabled": True} for name in load_catalog()}
        objects = _render("production", namespace, ports, nfs=nfs)
    else:
        objects = _render(profile, namespace, ports)
    assert validate_objects(objects, "1.35") == []
    done = _dry_run(kubectl, objects)
    assert done.returncode == 0, done.stderr
    applied = [line for line in done.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), done.stdout
    # Nothing was created: it was a dry run.
    left = _run(kubectl, "get", "deployments,services", "-n", namespace, "-o", "name")
    assert left.returncode == 0 and left.stdout.strip() == ""


def test_api_server_and_validate_objects_refuse_the_same_object(
    kubectl: str, namespace: str
) -> None:
    objects = _render("lab", namespace, _free_node_ports(kubectl, 2))
    dep = next(o for o in objects if o["kind"] == "Deployment")
    dep["spec"]["revisionHistoryLimit"] = "five"
    problems = validate_objects(objects, "1.35")
    assert problems == [
        f"Deployment/{dep['metadata']['name']}: spec.revisionHistoryLimit: "
        "'five' is not of type 'integer', 'null'"
    ]
    done = _dry_run(kubectl, objects)
    assert done.returncode != 0
    assert "revisionHistoryLimit" in done.stderr, done.stderr

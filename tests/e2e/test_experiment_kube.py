"""`nfv experiment` and `nfv loadtest --target k8s` against the core on the real single-node
Kubernetes (hack/cluster).

Opt-in like the rest of the tier (``NFV_E2E_CLUSTER=1``, root); the session fixtures of
tests/e2e/conftest.py bring up the cluster, the engine, the registry and the images. This
module deploys the ``lab`` profile into its own namespace with its own SIP NodePort and
destroys it at the end. Locust reaches the P-CSCF through the NodePort on 127.0.0.1 and
provisions its subscribers through the HSS's ClusterIP (routed by the node on this machine).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

NAMESPACE = "nfv-e2e-load"
SIP_NODE_PORT = 31062
S1AP_NODE_PORT = 31067  # the MME (enabled by default) claims the lab's S1AP port too


@pytest.fixture(scope="module")
def cluster_core(cluster: Cluster, registry: str, e2e_image_tag: str) -> Iterator[str]:
    from nfv.platforms.kubernetes import KubernetesPlatform

    platform = KubernetesPlatform(NAMESPACE, kubeconfig=cluster.kubeconfig)
    try:
        platform.destroy(timeout=120)  # what a failed earlier run left
        overrides = {
            "kubernetes": {
                "exposure": {"node_ports": {"sip": SIP_NODE_PORT, "s1ap": S1AP_NODE_PORT}}
            },
            "image": {"tag": e2e_image_tag},
        }
        platform.deploy(profile="lab", overrides=overrides, registry=registry, timeout=150)
        yield NAMESPACE
    finally:
        try:
            platform.destroy(timeout=120)
        finally:
            platform.close()


def test_experiment_on_the_cluster(
    cluster_core: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nfv.cli import main

    plan = {
        "name": "k8s-short",
        "platform": {"kind": "k8s", "namespace": NAMESPACE, "reuse": True},
        "scenario": "ims",
        "traffic": {
            "reregister_interval": 5,
            "bhca": 720,
            "holding_time": 0.5,
            "register_expires": 60,
        },
        "shape": {
            "kind": "ramp",
            "base": 2,
            "peak": 10,
            "warmup": 3,
            "ramp_up": 10,
            "hold": 10,
            "ramp_down": 5,
            "cooldown": 2,
        },
        "slo": {"call_setup_p95_ms": 500},
        "watch": ["pcscf", "icscf", "scscf"],
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    out = tmp_path / "out"
    code = main(["experiment", str(path), "-o", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    f = json.loads((out / "results.json").read_text())["figures"]
    with open(out / "timeseries.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert f["procedures"]["failed"] == 0, f["procedures"]["by_procedure"]
    assert f["procedures"]["finished"] > 100
    assert f["procedures"]["finished"] == sum(
        int(r["achieved_per_s"]) + int(r["failed_per_s"]) for r in rows
    )
    # The platform was sampled: every watched NF's replicas came from the cluster.
    for nf in plan["watch"]:
        assert all(r[f"{nf}_ready"] == "1" for r in rows[1:]), nf
        assert f["replica_seconds"]["used"][nf] == sum(int(r[f"{nf}_ready"]) for r in rows)
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 2


def test_loadtest_on_the_cluster(
    cluster_core: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nfv.cli import main

    out = tmp_path / "lt"
    code = main(
        [
            "loadtest",
            "ims",
            "--target",
            "k8s",
            "--namespace",
            NAMESPACE,
            "--users",
            "4",
            "--duration",
            "8",
            "--workers",
            "2",
            "--reregister-interval",
            "4",
            "-o",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"127.0.0.1:{SIP_NODE_PORT}" in printed.out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["measured"]["failures"] == 0, summary["measured"]["by_procedure"]
    assert summary["measured"]["by_procedure"]["register"]["count"] == 8

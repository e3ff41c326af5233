"""Status, diagnosis and CLI wiring of the Kubernetes platform, from hand-written API
objects shaped like the API server's answers (no cluster)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from nfv import cli
from nfv.platforms.kubernetes.cli import wants_k8s
from nfv.platforms.kubernetes.diagnosis import format_diagnosis, format_events, pod_report
from nfv.platforms.kubernetes.status import build_status, format_status

pytestmark = pytest.mark.unit

LABELS = {"app.kubernetes.io/instance": "volte", "app.kubernetes.io/managed-by": "nfv"}


def _meta(name: str, owner: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": {**LABELS, "app.kubernetes.io/name": owner}, **extra}


def _pod(name: str, owner: str, *, ready: bool, state: dict[str, Any], **cs: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": _meta(name, owner, creationTimestamp="2026-01-01T00:00:00Z"),
        "spec": {"containers": [{"name": owner, "image": f"r:5000/nfv/{owner}:abc"}]},
        "status": {
            "phase": "Running" if ready else "Pending",
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "reason": "X"}
            ],
            "containerStatuses": [
                {"name": owner, "ready": ready, "restartCount": 0, "state": state, **cs}
            ],
        },
    }


def _deployment(name: str, desired: int, ready: int) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": _meta(name, name, generation=2),
        "spec": {
            "replicas": desired,
            "template": {"spec": {"containers": [{"image": f"r:5000/nfv/{name}:0123abcd"}]}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": desired,
            "updatedReplicas": desired,
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def _objects() -> dict[str, Any]:
    svc = {
        "kind": "Service",
        "metadata": _meta("pcscf-sip", "pcscf"),
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.9",
            "ports": [
                {"name": "sip-udp", "port": 5060, "protocol": "UDP", "nodePort": 30060},
                {"name": "sip-tcp", "port": 5060, "protocol": "TCP", "nodePort": 30060},
            ],
        },
    }
    slice_ = {
        "metadata": {"labels": {"kubernetes.io/service-name": "pcscf-sip"}},
        "endpoints": [
            {"addresses": ["10.244.0.7"], "conditions": {"ready": True}},
            {"addresses": ["10.244.0.8"], "conditions": {"ready": False}},
        ],
    }
    hpa = {
        "metadata": _meta("scscf", "scscf"),
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "scscf"},
            "minReplicas": 1,
            "maxReplicas": 6,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
        "status": {
            "currentReplicas": 2,
            "desiredReplicas": 2,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": 35}},
                }
            ],
        },
    }
    return {
        "workloads": [_deployment("scscf", 2, 1), _deployment("pcscf", 1, 1)],
        "hpas": [hpa],
        "services": [svc],
        "slices": [slice_],
        "pods": [
            _pod("pcscf-1", "pcscf", ready=True, state={"running": {}}),
            _pod("scscf-1", "scscf", ready=True, state={"running": {}}),
            _pod(
                "scscf-2",
                "scscf",
                ready=False,
                state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}},
                restartCount=3,
                lastState={"terminated": {"reason": "Error", "exitCode": 1}},
            ),
        ],
    }


def test_status_collects_replicas_hpa_services_and_health() -> None:
    status = build_status(
        namespace="core", instance="volte", exists=True, order=["pcscf", "scscf"], **_objects()
    )
    assert [n.name for n in status.nfs] == ["pcscf", "scscf"]  # deploy order
    scscf = status.nf("scscf")
    assert scscf is not None and (scscf.desired, scscf.ready) == (2, 1) and not scscf.healthy
    assert scscf.hpa is not None and scscf.hpa.metrics == ["cpu 35%/70%"]
    assert (scscf.hpa.min, scscf.hpa.max, scscf.hpa.current_replicas) == (1, 6, 2)
    pcscf = status.nf("pcscf")
    assert pcscf is not None and pcscf.tags == ["0123abcd"]
    sip = pcscf.services[0]
    assert sip.endpoints == ["10.244.0.7"]  # the not-ready address is not an endpoint
    assert {p.node_port for p in sip.ports} == {30060}
    assert status.health == "degraded" and not status.healthy
    doc = json.loads(json.dumps(status.as_dict()))
    assert doc["nfs"]["scscf"]["hpa"]["max"] == 6 and doc["health"] == "degraded"
    table = format_status(status)
    assert "scscf     1/2" in table and "cpu 35%/70%" in table
    assert "5060:30060/UDP" in table and "endpoints 10.244.0.7" in table


def test_status_of_nothing() -> None:
    absent = build_status(
        namespace="core",
        instance="volte",
        exists=False,
        workloads=[],
        hpas=[],
        services=[],
        slices=[],
        pods=[],
        order=[],
    )
    assert absent.health == "absent" and not absent.healthy
    assert "does not exist" in format_status(absent)


def test_pull_of_a_missing_image_is_fatal_and_a_crash_loop_is_not() -> None:
    missing = pod_report(
        _pod(
            "hss-1",
            "hss",
            ready=False,
            state={
                "waiting": {
                    "reason": "ErrImagePull",
                    "message": 'failed to resolve reference "r/nfv/hss:x": not found',
                }
            },
        )
    )
    assert missing.fatal is not None and "image not found" in missing.fatal
    backoff = pod_report(
        _pod(
            "hss-2",
            "hss",
            ready=False,
            state={"waiting": {"reason": "ImagePullBackOff", "message": "i/o timeout"}},
        )
    )
    assert backoff.fatal is None  # the registry may come back
    crash = pod_report(_objects()["pods"][2])
    assert crash.fatal is None and crash.summary == "CrashLoopBackOff"


def test_diagnosis_names_states_events_and_log_lines() -> None:
    events = [
        {
            "lastTimestamp": f"2026-01-01T00:00:0{i}Z",
            "type": "Warning",
            "reason": f"R{i}",
            "message": f"event {i}",
            "count": i,
        }
        for i in range(7)
    ]
    logs = "\n".join(f"2026-01-01T00:00:00Z line {i}" for i in range(30))
    report = pod_report(_objects()["pods"][2], events, logs)
    text = format_diagnosis("scscf", 2, 1, [pod_report(_objects()["pods"][1]), report])
    assert text.startswith("scscf: 1/2 replicas ready")
    assert "pod scscf-2: Pending, not ready" in text
    assert "scscf-1" not in text  # ready pods are not diagnosed
    assert "waiting (CrashLoopBackOff)" in text and "restarts=3" in text
    assert "last ended: Error (exit code 1)" in text
    assert "R6 (x6): event 6" in text and "R1" not in text  # the last five events
    assert "line 29" in text and "line 21" not in text  # the last eight log lines
    assert format_diagnosis("hss", 1, 0, []).endswith("RBAC)")


def test_events_sort_by_time_and_show_repeats() -> None:
    events: list[dict[str, Any]] = [
        {"eventTime": "2026-01-01T00:00:05Z", "type": "Normal", "reason": "Pulled", "note": "b"},
        {
            "lastTimestamp": "2026-01-01T00:00:01Z",
            "type": "Warning",
            "reason": "Failed",
            "message": "a",
            "count": 3,
        },
    ]
    assert format_events(events) == [
        "2026-01-01T00:00:01Z Warning Failed (x3): a",
        "2026-01-01T00:00:05Z Normal Pulled: b",
    ]


# -- CLI wiring ----------------------------------------------------------------------------------


def _ns(**kw: Any) -> argparse.Namespace:
    base = {"platform": None, "namespace": None, "context": None, "kubeconfig": None}
    return argparse.Namespace(**{**base, **kw})


def test_platform_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NFV_PLATFORM", raising=False)
    assert not wants_k8s(_ns())
    assert wants_k8s(_ns(namespace="core"))
    assert wants_k8s(_ns(context="prod"))
    assert not wants_k8s(_ns(platform="local", namespace="core"))
    monkeypatch.setenv("NFV_PLATFORM", "k8s")
    assert wants_k8s(_ns())


def test_cli_parses_the_kubernetes_commands() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(
        [
            "deploy",
            "--profile",
            "lab",
            "-n",
            "core",
            "--set",
            "nfs.scscf.replicas=2",
            "--registry",
            "r:5000",
            "--timeout",
            "30",
        ]
    )
    assert (args.profile, args.namespace, args.registry, args.timeout) == (
        "lab",
        "core",
        "r:5000",
        30.0,
    )
    args = parser.parse_args(["upgrade", "scscf", "--set", "logging.level=DEBUG"])
    assert args.nf == "scscf" and args.sets == ["logging.level=DEBUG"]
    args = parser.parse_args(["scale", "scscf", "3", "--context", "c1"])
    assert args.context == "c1" and args.replicas == 3
    args = parser.parse_args(["status", "--platform", "k8s", "--json"])
    assert args.platform == "k8s" and args.json


def test_cli_missing_kubeconfig_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.kubeconfig"
    assert cli.main(["status", "--kubeconfig", str(missing)]) == 1
    assert f"kubeconfig {missing} does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    assert cli.main(["destroy", "--kubeconfig", str(broken), "-n", "x"]) == 1
    assert "cannot load the cluster configuration" in capsys.readouterr().err


def test_cli_unknown_nf_needs_no_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    assert cli.main(["scale", "nosuchnf", "2", "--kubeconfig", str(config)]) == 1
    assert "unknown network function 'nosuchnf'" in capsys.readouterr().err

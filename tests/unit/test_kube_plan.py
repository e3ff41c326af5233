"""The Kubernetes platform's decisions without a cluster: dependency waves of the rendered
chart, prune selection, the release record, workload readiness, exit codes, CPU quantities,
and the API layer's error translation."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from nfv.catalog import load_catalog
from nfv.manifests import load_chart_values, render_manifests
from nfv.platforms.kubernetes.api import KINDS, _namespace_from_path, _resource_from_path
from nfv.platforms.kubernetes.plan import (
    FIRST_NF_EXIT,
    Release,
    deploy_order,
    exit_code,
    plan_waves,
    prune_selection,
    ref,
    release_object,
    workload_state,
)
from nfv.platforms.kubernetes.platform import parse_cpu

pytestmark = pytest.mark.unit


def render(profile: str | None = "lab", **overrides: Any) -> list[dict[str, Any]]:
    values = load_chart_values(profile=profile, overrides={"image": {"tag": "t1"}, **overrides})
    return render_manifests(values, namespace="ns1")


def test_waves_put_the_store_and_every_shared_object_first() -> None:
    objects = render()
    waves = plan_waves(objects, load_catalog())
    first = waves[0]
    assert first.workloads == ["redis"]
    kinds0 = {o["kind"] for o in first.objects}
    assert {"ServiceAccount", "Secret", "ConfigMap", "Service", "StatefulSet"} <= kinds0
    assert "Deployment" not in kinds0
    later = [o for w in waves[1:] for o in w.objects]
    assert {o["kind"] for o in later} == {"Deployment"}
    # every object is in exactly one wave, in the chart's apply order within a wave
    assert sorted(map(ref, [o for w in waves for o in w.objects])) == sorted(map(ref, objects))
    for w in waves:
        positions = [objects.index(o) for o in w.objects]
        assert positions == sorted(positions)


def test_waves_follow_the_descriptors_hard_dependencies() -> None:
    catalog = load_catalog()
    waves = plan_waves(render(), catalog)
    order = deploy_order(waves)
    assert order[0] == "redis"
    position = {name: i for i, w in enumerate(waves) for name in w.workloads}
    for name in order[1:]:
        for peer in catalog[name].peers:
            if catalog.hard_dependency(catalog[name], peer) and peer in position:
                assert position[peer] < position[name], (name, peer)
    # the I-/S-CSCF need the HSS's Diameter before they are ready: a later wave
    assert position["hss"] < position["icscf"] and position["hss"] < position["scscf"]


def test_hpa_goes_with_its_deployment() -> None:
    objects = render("scaling")
    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert hpas
    for wave in plan_waves(objects, load_catalog()):
        for obj in wave.objects:
            if obj["kind"] == "HorizontalPodAutoscaler":
                assert obj["spec"]["scaleTargetRef"]["name"] in wave.workloads


def test_exit_codes_name_the_nf_in_deploy_order() -> None:
    order = ["redis", "hss", "pcscf", "icscf", "scscf"]
    assert exit_code("redis", order) == FIRST_NF_EXIT
    assert exit_code("scscf", order) == FIRST_NF_EXIT + 4
    assert exit_code("nosuch", order) == 1


def _live(obj: dict[str, Any], **labels: str) -> dict[str, Any]:
    live = copy.deepcopy(obj)
    live["metadata"]["labels"].update(labels)
    live["metadata"]["resourceVersion"] = "42"
    return live


def test_prune_selects_only_what_the_chart_no_longer_renders() -> None:
    before = render("scaling")  # has HPAs
    after = render("lab")  # has none
    live = [_live(o) for o in before]
    pruned = prune_selection(live, after)
    assert ("HorizontalPodAutoscaler", "scscf") in pruned
    assert all(kind == "HorizontalPodAutoscaler" for kind, _ in pruned)
    assert prune_selection([_live(o) for o in after], after) == []


def test_prune_leaves_foreign_objects_alone_and_orders_workloads_first() -> None:
    objects = render()
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    old_workload = _live(deployment)
    old_workload["metadata"]["name"] = "oldnf"
    old_config = _live(config)
    old_config["metadata"]["name"] = "oldnf-config"
    foreign = _live(deployment, **{"app.kubernetes.io/part-of": "something-else"})
    foreign["metadata"]["name"] = "theirs"
    unmanaged = _live(deployment, **{"app.kubernetes.io/managed-by": "Helm"})
    unmanaged["metadata"]["name"] = "helms"
    pruned = prune_selection([old_config, foreign, unmanaged, old_workload], objects)
    assert pruned == [("Deployment", "oldnf"), ("ConfigMap", "oldnf-config")]


def test_release_record_round_trips_and_is_deterministic() -> None:
    release = Release(
        "lab", {"nfs": {"scscf": {"replicas": 2}}, "logging": {"level": "DEBUG"}}, "r:5000"
    )
    assert Release.from_json(release.to_json()) == release
    a = release_object(release, namespace="ns", instance="volte", version="1")
    b = release_object(
        Release("lab", json.loads(json.dumps(release.values)), "r:5000"),
        namespace="ns",
        instance="volte",
        version="1",
    )
    assert a == b and a["metadata"]["name"] == "volte-nfv-release"
    assert a["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "nfv"


def _deployment(generation: int, observed: int, **status: int) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "scscf", "generation": generation, "labels": {}},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    ("generation", "observed", "status", "done"),
    [
        (3, 3, {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}, True),
        (3, 2, {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}, False),  # not seen
        (3, 3, {"replicas": 3, "updatedReplicas": 2, "readyReplicas": 3}, False),  # old left
        (3, 3, {"replicas": 2, "updatedReplicas": 1, "readyReplicas": 2}, False),  # rolling
        (3, 3, {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 1}, False),  # not ready
        (1, 1, {}, False),
    ],
)
def test_workload_readiness_is_rollout_status(
    generation: int, observed: int, status: dict[str, int], done: bool
) -> None:
    assert workload_state(_deployment(generation, observed, **status)).done is done


@pytest.mark.parametrize(
    ("text", "millicores"),
    [("250m", 250.0), ("1", 1000.0), ("0.5", 500.0), ("12345678n", 12.345678), ("5u", 0.005)],
)
def test_cpu_quantities(text: str, millicores: float) -> None:
    assert parse_cpu(text) == pytest.approx(millicores)


def test_cpu_quantity_garbage_is_an_error() -> None:
    with pytest.raises(ValueError):
        parse_cpu("lots")


def test_rest_paths_and_the_names_in_403_messages() -> None:
    assert KINDS["Deployment"].path("ns", "scscf", "scale") == (
        "/apis/apps/v1/namespaces/ns/deployments/scscf/scale"
    )
    assert KINDS["Namespace"].path(None, "ns") == "/api/v1/namespaces/ns"
    assert KINDS["Pod"].path(None) == "/api/v1/pods"  # across namespaces
    with pytest.raises(ValueError):
        KINDS["Pod"].path(None, "p")
    assert _resource_from_path("/api/v1/namespaces/ns/pods/p1/log") == "pods/log"
    assert _resource_from_path("/apis/apps/v1/namespaces/ns/deployments") == "deployments"
    assert _resource_from_path("/api/v1/namespaces/ns") == "namespaces"
    assert _namespace_from_path("/apis/apps/v1/namespaces/ns/deployments/x") == "ns"
    assert _namespace_from_path("/api/v1/namespaces/ns") is None


def test_progress_lines_follow_the_waves() -> None:
    from nfv.platforms.kubernetes.diagnosis import PodReport
    from nfv.platforms.kubernetes.platform import _Tracker

    seen: list[Any] = []
    tracker = _Tracker(["redis", "hss", "scscf"], 0.0, lambda p, t: seen.append(p))
    tracker.started.update(["redis", "hss"])
    states = {
        "redis": workload_state(
            {
                "kind": "StatefulSet",
                "metadata": {"name": "redis", "generation": 1},
                "spec": {"replicas": 1},
                "status": {
                    "observedGeneration": 1,
                    "replicas": 1,
                    "readyReplicas": 1,
                    "updatedReplicas": 1,
                    "currentRevision": "a",
                    "updateRevision": "a",
                },
            }
        ),
        "hss": workload_state(_deployment(1, 1, replicas=2, updatedReplicas=2, readyReplicas=1)),
    }
    waiting = PodReport(name="hss-1", phase="Pending", ready=False)
    tracker.show(states, {"hss": [waiting]})
    lines = {p.name: p for p in seen[-1]}
    assert (lines["redis"].phase, lines["redis"].ready) == ("ready", 1)
    assert (lines["hss"].phase, lines["hss"].desired, lines["hss"].reason) == (
        "starting",
        2,
        "Pending",
    )
    assert lines["scscf"].phase == "waiting"


def test_api_errors_are_translated_with_verb_resource_and_namespace() -> None:
    from nfv.platforms.kubernetes.api import KubeApi
    from nfv.platforms.kubernetes.errors import ApiError, ClusterUnreachableError, ForbiddenError

    api = KubeApi.__new__(KubeApi)  # no configuration needed to translate an answer
    api.host, api.source = "https://10.0.0.1:6443", "kubeconfig k"
    body = json.dumps({"kind": "Status", "message": 'deployments.apps "x" is forbidden: ...'})
    forbidden = api._error(
        "PATCH", "/apis/apps/v1/namespaces/core/deployments/x", 403, body.encode(), "", None
    )
    assert isinstance(forbidden, ForbiddenError)
    assert (forbidden.verb, forbidden.resource, forbidden.namespace) == (
        "patch",
        "deployments",
        "core",
    )
    assert str(forbidden).startswith("forbidden: not allowed to patch deployments in namespace")
    listing = api._error("GET", "/api/v1/namespaces/core/pods", 403, b"", "", None, "list")
    assert "not allowed to list pods in namespace 'core'" in str(listing)
    cluster_scope = api._error("GET", "/api/v1/namespaces/core", 403, b"{}", "", None)
    assert "get namespaces at cluster scope" in str(cluster_scope)
    unauthorized = api._error("GET", "/api/v1/nodes", 401, b"", "", None)
    assert isinstance(unauthorized, ClusterUnreachableError)
    assert "does not accept our credentials (kubeconfig k)" in str(unauthorized)
    invalid = api._error("PATCH", "/api/v1/namespaces/core/services/s", 422, b"not json", "", None)
    assert isinstance(invalid, ApiError) and invalid.status == 422 and "not json" in str(invalid)


def test_only_replica_conflicts_are_taken_back() -> None:
    from nfv.platforms.kubernetes.platform import replicas_only

    one = (
        "patch deployments in namespace x refused (409): Apply failed with 1 conflict: conflict "
        'with "kube-controller-manager" with subresource "scale" using apps/v1: .spec.replicas'
    )
    assert replicas_only(one)
    two = (
        'refused (409): Apply failed with 2 conflicts: conflicts with "kubectl-edit" using '
        'apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="scscf"].image'
    )
    assert not replicas_only(two)
    assert not replicas_only("refused (409): Operation cannot be fulfilled: the object changed")

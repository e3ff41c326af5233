"""What a deploy does, decided without a cluster: the dependency waves of the rendered
objects, which live objects a deploy prunes, the release record kept in the namespace, the
exit status that names a failing NF, and readiness of a workload from its status.

Waves (ARCHITECTURE principle 5, readiness in dependency order): wave 0 holds every object
that is not a workload (ServiceAccounts, Secrets, ConfigMaps, Services, NetworkPolicies —
so every Service name resolves as soon as its pods are ready) and the state store; then one
wave per :meth:`nfv.catalog.Catalog.waves` step with the NFs' Deployments and the HPAs and
PDBs that belong to them. A wave is applied once the one before it is ready.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...catalog import Catalog
from ...manifests import MANAGED_BY, PART_OF, STORE_NAME

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
PART_OF_LABEL = "app.kubernetes.io/part-of"
# On a namespace nfv created (destroy deletes the namespace only then).
CREATED_BY = "nfv.io/created-by"
# The release record: the inputs of the last deploy, so upgrade re-renders the same core.
RELEASE_KEY = "release.json"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
ATTACHED_KINDS = ("HorizontalPodAutoscaler", "PodDisruptionBudget")
# Exit status of `nfv deploy` / `nfv upgrade` when a workload is not ready in time:
# FIRST_NF_EXIT + its position in the deploy order (the store first, then the catalog's
# tier/name order), so a script knows which NF failed without parsing text.
FIRST_NF_EXIT = 10


def selector(instance: str) -> str:
    """The label selector of every object of one nfv instance."""
    return f"{INSTANCE_LABEL}={instance},{MANAGED_LABEL}={MANAGED_BY}"


def release_name(instance: str) -> str:
    return f"{instance}-nfv-release"[:63].rstrip("-")


@dataclass
class Wave:
    index: int
    workloads: list[str] = field(default_factory=list)  # NF (or store) names
    objects: list[dict[str, Any]] = field(default_factory=list)


def owner_name(obj: dict[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(NAME_LABEL, ""))


def plan_waves(objects: list[dict[str, Any]], catalog: Catalog) -> list[Wave]:
    """Split rendered objects (already in apply order) into dependency waves."""
    workloads = {owner_name(o) for o in objects if o.get("kind") in WORKLOAD_KINDS}
    nfs = [n for n in catalog if n in workloads]
    nf_waves = catalog.waves(nfs) if nfs else []
    wave_of: dict[str, int] = {STORE_NAME: 0}
    for i, wave in enumerate(nf_waves, start=1):
        for d in wave:
            wave_of[d.name] = i
    waves = [Wave(0)] + [Wave(i) for i in range(1, len(nf_waves) + 1)]
    for obj in objects:
        kind, owner = obj.get("kind"), owner_name(obj)
        attached = kind in WORKLOAD_KINDS or kind in ATTACHED_KINDS
        index = wave_of.get(owner, 0) if attached else 0
        waves[index].objects.append(obj)
        if kind in WORKLOAD_KINDS and owner not in waves[index].workloads:
            waves[index].workloads.append(owner)
    return [w for w in waves if w.objects]


def deploy_order(waves: list[Wave]) -> list[str]:
    return [name for w in waves for name in w.workloads]


def exit_code(nf: str, order: list[str]) -> int:
    """The exit status naming *nf* (see FIRST_NF_EXIT); 1 for a name not in *order*."""
    return FIRST_NF_EXIT + order.index(nf) if nf in order else 1


Ref = tuple[str, str]  # (kind, name)


def ref(obj: dict[str, Any]) -> Ref:
    return str(obj["kind"]), str(obj["metadata"]["name"])


def prune_selection(live: list[dict[str, Any]], rendered: list[dict[str, Any]]) -> list[Ref]:
    """The live objects of ours that the chart no longer renders, in reverse apply order
    (workloads before the ConfigMaps and Services they use). *live* must already be
    filtered by :func:`selector`; objects another manager labelled like ours but that
    carry a different part-of label are left alone."""
    keep = {ref(o) for o in rendered}
    out = []
    for obj in live:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(PART_OF_LABEL) not in (PART_OF, None):
            continue
        if labels.get(MANAGED_LABEL) != MANAGED_BY:
            continue
        if ref(obj) not in keep:
            out.append(ref(obj))
    order = {kind: i for i, kind in enumerate(_PRUNE_ORDER)}
    out.sort(key=lambda r: (order.get(r[0], len(order)), r[1]))
    return out


_PRUNE_ORDER = (
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Deployment",
    "StatefulSet",
    "NetworkPolicy",
    "Service",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
)


# -- the release record ------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """The inputs of the last deploy: enough to render the same core again."""

    profile: str | None
    values: dict[str, Any]  # files then --set, merged (the profile is applied under them)
    registry: str | None

    def to_json(self) -> str:
        doc = {"profile": self.profile, "values": self.values, "registry": self.registry}
        return json.dumps(doc, sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Release:
        doc = json.loads(text)
        return cls(doc.get("profile"), dict(doc.get("values") or {}), doc.get("registry"))


def release_object(
    release: Release, *, namespace: str, instance: str, version: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": release_name(instance),
            "namespace": namespace,
            "labels": {
                NAME_LABEL: "nfv-release",
                INSTANCE_LABEL: instance,
                "app.kubernetes.io/component": "release",
                PART_OF_LABEL: PART_OF,
                "app.kubernetes.io/version": version,
                MANAGED_LABEL: MANAGED_BY,
            },
        },
        "data": {RELEASE_KEY: release.to_json()},
    }


# -- readiness of workloads --------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadState:
    name: str
    kind: str
    desired: int
    ready: int
    updated: int
    available: int
    current: int  # pods that exist (old and new)
    settled: bool  # the controller saw the last spec change and finished rolling it out

    @property
    def done(self) -> bool:
        return self.settled and self.ready >= self.desired and self.current == self.desired


def workload_state(obj: dict[str, Any]) -> WorkloadState:
    """Readiness of a Deployment or StatefulSet from its spec and status, like
    ``kubectl rollout status``: the controller observed the latest generation, every
    replica runs the new template, is ready, and no old replica is left."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj.get("metadata") or {}
    desired = int(spec.get("replicas", 1))
    observed = int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 1))
    updated = int(status.get("updatedReplicas", 0))
    ready = int(status.get("readyReplicas", 0))
    current = int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", ready))
    settled = observed and updated >= desired
    if obj.get("kind") == "StatefulSet":
        revision = status.get("updateRevision")
        settled = observed and (
            revision is None or status.get("currentRevision") == revision or updated >= desired
        )
    return WorkloadState(
        name=owner_name(obj) or str(meta.get("name")),
        kind=str(obj.get("kind")),
        desired=desired,
        ready=ready,
        updated=updated,
        available=available,
        current=current,
        settled=settled,
    )

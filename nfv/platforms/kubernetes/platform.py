"""The VoLTE core on any conformant Kubernetes cluster: deploy, status, scale, upgrade,
destroy, logs, and the two readings load experiments need (an exposed endpoint, per-NF
replicas and CPU).

A deploy renders the chart (:func:`nfv.manifests.render_manifests`), server-side applies the
objects with the field manager ``nfv`` in dependency waves (:mod:`.plan`), waits for each
wave's workloads to be ready while reporting per-NF progress, records its inputs in a
ConfigMap (``<instance>-nfv-release``) so that ``upgrade`` re-renders the same core, and
prunes objects of the instance that the chart no longer renders. Objects of the instance
carry ``app.kubernetes.io/instance=<instance>`` and ``app.kubernetes.io/managed-by=nfv``;
nothing without both labels is ever changed or deleted.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...catalog import Catalog, load_catalog
from ...errors import NfvError, PlatformError, ValuesError
from ...manifests import (
    STORE_NAME,
    _chart_version,
    dns_name,
    load_chart_values,
    render_manifests,
)
from ...values import CHART_ROOT, deep_merge
from ..local.platform import NFProgress
from .api import KINDS, OWNED_KINDS, KubeApi
from .diagnosis import PodReport, format_diagnosis, pod_report
from .errors import (
    ApiError,
    DeployTimeoutError,
    ForbiddenError,
    RolloutFailedError,
    UnknownNFError,
)
from .plan import (
    ATTACHED_KINDS,
    CREATED_BY,
    INSTANCE_LABEL,
    MANAGED_LABEL,
    NAME_LABEL,
    RELEASE_KEY,
    Release,
    WorkloadState,
    deploy_order,
    exit_code,
    owner_name,
    plan_waves,
    prune_selection,
    ref,
    release_name,
    release_object,
    selector,
    workload_state,
)
from .status import KubeStatus, build_status

DEFAULT_NAMESPACE = "nfv"
DEFAULT_INSTANCE = "volte"
DEFAULT_TIMEOUT = 180.0
# How often readiness is polled while waiting (three list requests per poll).
POLL_S = 0.5
# Label + annotation nfv puts on a namespace it creates.
ROLLBACK_TIMEOUT = 120.0

# The field paths a server-side apply conflict names (".spec.replicas", after a space).
CONFLICT_FIELD = re.compile(r"\s(\.[A-Za-z][^\s,]*)")

ProgressFn = Callable[[list[NFProgress], float], None]


def _quiet(_lines: list[NFProgress], _elapsed: float) -> None:
    return None


@dataclass
class DeployReport:
    namespace: str
    elapsed: float
    created_namespace: bool
    applied: int
    changed: list[str] = field(default_factory=list)  # "Kind/name" whose resourceVersion moved
    pruned: list[str] = field(default_factory=list)
    waves: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "elapsed_s": round(self.elapsed, 3),
            "created_namespace": self.created_namespace,
            "applied": self.applied,
            "changed": self.changed,
            "pruned": self.pruned,
            "waves": self.waves,
        }


@dataclass
class DestroyReport:
    namespace: str
    deleted: list[str]
    namespace_deleted: bool
    elapsed: float


@dataclass
class ScaleReport:
    nf: str
    replicas: int
    note: str = ""
    hpa: str | None = None


def replicas_only(conflict: str) -> bool:
    """Whether a server-side apply conflict message names ``.spec.replicas`` only."""
    fields = set(CONFLICT_FIELD.findall(conflict.partition("conflict")[2]))
    return fields == {".spec.replicas"}


def parse_cpu(quantity: str) -> float:
    """A Kubernetes CPU quantity in millicores: ``"250m"`` → 250, ``"1"`` → 1000,
    ``"12345678n"`` → 12.345678, ``"5u"`` → 0.005. Raises ValueError on anything else."""
    text = str(quantity).strip()
    units = {"n": 1e-6, "u": 1e-3, "m": 1.0}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text) * 1000.0


class KubernetesPlatform:
    """The core of one *instance* in one *namespace* of the cluster kubectl would use
    (``kubeconfig``/``context`` as kubectl's ``--kubeconfig``/``--context``).

    Every method raises :class:`~nfv.errors.NfvError` subclasses only: ClusterUnreachableError,
    ForbiddenError, ApiError, UnknownNFError, DeployTimeoutError, RolloutFailedError,
    ValuesError, RenderError."""

    def __init__(
        self,
        namespace: str | None = DEFAULT_NAMESPACE,
        *,
        context: str | None = None,
        kubeconfig: str | Path | None = None,
        instance: str = DEFAULT_INSTANCE,
        chart: Path = CHART_ROOT,
        catalog: Catalog | None = None,
        node_address: str | None = None,
    ) -> None:
        self.namespace = namespace or DEFAULT_NAMESPACE
        self.instance = instance
        self.chart = chart
        self._catalog = catalog
        self.node_address = node_address
        self.api = KubeApi(context=context, kubeconfig=kubeconfig)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> KubernetesPlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog()
        return self._catalog

    @property
    def selector(self) -> str:
        return selector(self.instance)

    def nf_selector(self, nf: str) -> str:
        return f"{NAME_LABEL}={nf},{INSTANCE_LABEL}={self.instance}"

    # -- rendering -------------------------------------------------------------------------

    def render(
        self,
        *,
        profile: str | None = None,
        files: Iterable[str | Path] = (),
        overrides: dict[str, Any] | None = None,
        registry: str | None = None,
    ) -> tuple[Release, list[dict[str, Any]]]:
        """The release record and the objects it renders into (release ConfigMap last)."""
        file_values: dict[str, Any] = {}
        for f in files:
            path = Path(f)
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ValuesError(f"cannot read values file {path}: {exc}") from exc
            if not isinstance(data, dict):
                raise ValuesError(f"values file {path} must hold a mapping")
            file_values = deep_merge(file_values, data)
        release = Release(profile, deep_merge(file_values, overrides or {}), registry)
        return release, self._render_release(release)

    def _render_release(self, release: Release, extra: dict[str, Any] | None = None) -> Any:
        ours = {"kubernetes": {"namespace": self.namespace, "instance": self.instance}}
        overrides = deep_merge(deep_merge(release.values, extra or {}), ours)
        values = load_chart_values(profile=release.profile, overrides=overrides, chart=self.chart)
        objects = render_manifests(
            values,
            catalog=self.catalog,
            chart=self.chart,
            namespace=self.namespace,
            registry=release.registry,
        )
        objects.append(
            release_object(
                release,
                namespace=self.namespace,
                instance=self.instance,
                version=_chart_version(self.chart),
            )
        )
        return objects

    # -- deploy ----------------------------------------------------------------------------

    def deploy(
        self,
        profile: str | None = None,
        files: Iterable[str | Path] = (),
        overrides: dict[str, Any] | None = None,
        registry: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        progress: ProgressFn | None = None,
        *,
        force_conflicts: bool = False,
        prune: bool = True,
    ) -> DeployReport:
        """Render, create the namespace, apply wave by wave waiting for readiness, prune.

        Raises DeployTimeoutError (with a diagnosis and the exit code naming the NF) when a
        wave is not ready within *timeout* seconds of the start, or at once when a pod can
        never start (its image does not exist)."""
        started = time.monotonic()
        deadline = started + timeout
        progress = progress or _quiet
        _, objects = self.render(
            profile=profile, files=files, overrides=overrides, registry=registry
        )
        waves = plan_waves(objects, self.catalog)
        order = deploy_order(waves)
        created = self._ensure_namespace(deadline)
        live = self._live_objects()
        before = {ref(o): o["metadata"].get("resourceVersion") for o in live}
        report = DeployReport(
            namespace=self.namespace,
            elapsed=0.0,
            created_namespace=created,
            applied=0,
            waves=[w.workloads for w in waves],
        )
        tracker = _Tracker(order, started, progress)
        obsolete = prune_selection(live, objects) if prune else []
        for kind, name in obsolete:
            # An HPA (or PDB) the values dropped goes first: it must not resize its
            # Deployment while the new replica count is applied.
            if kind in ATTACHED_KINDS and self.api.delete(kind, self.namespace, name):
                report.pruned.append(f"{kind}/{name}")
        for wave in waves:
            for obj in wave.objects:
                answer = self._apply(obj, force=force_conflicts)
                report.applied += 1
                if answer["metadata"].get("resourceVersion") != before.get(ref(obj)):
                    report.changed.append("/".join(ref(obj)))
            tracker.started.update(wave.workloads)
            self._wait(wave.workloads, order, deadline, tracker, timeout=timeout)
        for kind, name in obsolete:
            if kind not in ATTACHED_KINDS and self.api.delete(kind, self.namespace, name):
                report.pruned.append(f"{kind}/{name}")
        report.elapsed = time.monotonic() - started
        return report

    def _apply(self, obj: dict[str, Any], *, force: bool) -> dict[str, Any]:
        try:
            return self.api.apply(obj, force=force)
        except ApiError as exc:
            if exc.status == 409 and replicas_only(str(exc)):
                # Only the replica count was set by someone else: `nfv scale`, `kubectl
                # scale`, or an HPA the values no longer render. The values decide it again.
                return self.api.apply(obj, force=True)
            if exc.status == 409:
                raise PlatformError(
                    f"{obj['kind']}/{obj['metadata']['name']}: fields managed by someone else "
                    f"would change: {exc}. Use --force-conflicts to take them over."
                ) from exc
            raise

    def _ensure_namespace(self, deadline: float) -> bool:
        """Create the namespace unless it exists; True when this call created it."""
        try:
            ns = self.api.get("Namespace", None, self.namespace)
        except ForbiddenError:
            return False  # namespace-scoped rights: the namespace must exist already
        while ns is not None and (ns.get("status") or {}).get("phase") == "Terminating":
            if time.monotonic() > deadline:
                raise PlatformError(f"namespace {self.namespace} is still being deleted")
            time.sleep(POLL_S)
            ns = self.api.get("Namespace", None, self.namespace)
        if ns is not None:
            return False
        self.api.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": self.namespace,
                    "labels": {MANAGED_LABEL: "nfv", INSTANCE_LABEL: self.instance},
                    "annotations": {CREATED_BY: self.instance},
                },
            }
        )
        return True

    def _live_objects(self, kinds: Iterable[str] = OWNED_KINDS) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for kind in kinds:
            out += self.api.list(kind, self.namespace, selector=self.selector)
        return out

    # -- waiting ---------------------------------------------------------------------------

    def _workloads(self) -> dict[str, dict[str, Any]]:
        out = {}
        for kind in ("StatefulSet", "Deployment"):
            for obj in self.api.list(kind, self.namespace, selector=self.selector):
                out[owner_name(obj)] = obj
        return out

    def _pods(self, selector: str | None = None) -> list[dict[str, Any]]:
        """Pods that exist for good: not being deleted, not ended (a replica stopped by a
        rollout exits 0 and stays ``Succeeded`` until its ReplicaSet removes it)."""
        return [
            p
            for p in self.api.list("Pod", self.namespace, selector=selector or self.selector)
            if not (p.get("metadata") or {}).get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]

    def _wait(
        self,
        names: list[str],
        order: list[str],
        deadline: float,
        tracker: _Tracker,
        *,
        timeout: float,
        verb: str = "deploy",
    ) -> dict[str, WorkloadState]:
        """Poll until every workload in *names* is done; raise DeployTimeoutError."""
        while True:
            workloads = self._workloads()
            pods = self._pods()
            states = {n: workload_state(o) for n, o in workloads.items()}
            reports: dict[str, list[PodReport]] = {n: [] for n in names}
            current: dict[str, list[PodReport]] = {n: [] for n in names}
            for pod in pods:
                owner = owner_name(pod)
                if owner in reports and not (pod.get("metadata") or {}).get("deletionTimestamp"):
                    rep = pod_report(pod)
                    reports[owner].append(rep)
                    if (
                        owner in workloads
                        and _images(pod) == _images(workloads[owner])
                        and _created(pod) >= tracker.wall_start
                    ):
                        current[owner].append(rep)
            tracker.show(states, reports)
            pending = [n for n in names if n not in states or not states[n].done]
            if not pending:
                return states
            # A pod made by this call that can never start ends the wait at once (pods of an
            # older template are being replaced; older pods may be in a pull back-off from
            # before their image was pushed, and the kubelet retries them).
            for n in pending:
                for rep in current.get(n, []):
                    fatal = rep.fatal
                    if fatal:
                        raise self._timeout_error(n, order, states, verb, f"cannot start: {fatal}")
            if time.monotonic() >= deadline:
                raise self._timeout_error(
                    pending[0], order, states, verb, f"not ready after {timeout:.0f} s", pending
                )
            time.sleep(POLL_S)

    def _timeout_error(
        self,
        nf: str,
        order: list[str],
        states: dict[str, WorkloadState],
        verb: str,
        why: str,
        pending: list[str] | None = None,
    ) -> DeployTimeoutError:
        text = "\n".join(self.diagnose(n, states.get(n)) for n in (pending or [nf]))
        code = exit_code(nf, order)
        others = [n for n in (pending or []) if n != nf]
        also = f" (also not ready: {', '.join(others)})" if others else ""
        message = f"{verb}: {nf} {why}{also}; exit code {code} = {nf}\n{text}"
        return DeployTimeoutError(message, nf=nf, exit_code=code, diagnosis=text)

    def diagnose(self, nf: str, state: WorkloadState | None = None) -> str:
        """Pods not ready, their container states, last events and last log lines."""
        pods = self._pods(self.nf_selector(nf))
        reports = []
        for pod in pods:
            name = pod["metadata"]["name"]
            if pod_report(pod).ready:
                reports.append(pod_report(pod))
                continue
            try:
                events = self.api.list(
                    "Event",
                    self.namespace,
                    fieldSelector=f"involvedObject.kind=Pod,involvedObject.name={name}",
                )
            except NfvError:
                events = []
            logs = ""
            rep = pod_report(pod)
            previous = any(c.restarts and c.state != "running" for c in rep.containers)
            with contextlib.suppress(NfvError):  # no log yet while the image is pulled
                logs = self.api.pod_log(self.namespace, name, tail=20, previous=previous)
            reports.append(pod_report(pod, events, logs))
        desired = state.desired if state else 0
        ready = state.ready if state else 0
        return format_diagnosis(nf, desired, ready, reports)

    # -- status ----------------------------------------------------------------------------

    def status(self) -> KubeStatus:
        try:
            exists = self.api.get("Namespace", None, self.namespace) is not None
        except ForbiddenError:
            exists = True
        if not exists:
            return KubeStatus(namespace=self.namespace, instance=self.instance, exists=False)
        workloads = list(self._workloads().values())
        hpas = self.api.list("HorizontalPodAutoscaler", self.namespace, selector=self.selector)
        services = self.api.list("Service", self.namespace, selector=self.selector)
        slices = self.api.list("EndpointSlice", self.namespace)
        pods = self._pods()
        deployed = [n for n in self.catalog if any(owner_name(w) == n for w in workloads)]
        order = [STORE_NAME] + [d.name for wave in self.catalog.waves(deployed) for d in wave]
        return build_status(
            namespace=self.namespace,
            instance=self.instance,
            exists=True,
            workloads=workloads,
            hpas=hpas,
            services=services,
            slices=slices,
            pods=pods,
            order=order,
        )

    # -- scale -----------------------------------------------------------------------------

    def _deployment(self, nf: str) -> dict[str, Any]:
        if nf != STORE_NAME and nf not in self.catalog:
            known = ", ".join(self.catalog)
            raise UnknownNFError(f"unknown network function {nf!r} (known: {known})")
        for kind in ("Deployment", "StatefulSet"):
            obj = self.api.get(kind, self.namespace, nf)
            if obj is not None and owner_name(obj) == nf:
                return obj
        raise PlatformError(
            f"{nf} is not deployed in namespace {self.namespace} (instance {self.instance})"
        )

    def _hpa_for(self, workload: dict[str, Any]) -> dict[str, Any] | None:
        for hpa in self.api.list("HorizontalPodAutoscaler", self.namespace):
            target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if (
                target.get("kind") == workload["kind"]
                and target.get("name") == workload["metadata"]["name"]
            ):
                return hpa
        return None

    def scale(
        self,
        nf: str,
        replicas: int,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        progress: ProgressFn | None = None,
    ) -> ScaleReport:
        """Set *nf*'s replicas through the scale subresource; when an HPA owns the NF,
        move the HPA's bounds instead (minReplicas = *replicas*, maxReplicas raised if
        needed) and say so in the report's note. Waits for readiness unless *wait* is off."""
        if replicas < 0:
            raise PlatformError(f"replicas must be >= 0, got {replicas}")
        workload = self._deployment(nf)
        hpa = self._hpa_for(workload)
        report = ScaleReport(nf=nf, replicas=replicas)
        if hpa is not None:
            spec = hpa["spec"]
            if replicas < 1:
                raise PlatformError(
                    f"{nf} is autoscaled by HorizontalPodAutoscaler/{hpa['metadata']['name']}, "
                    "whose minReplicas must be >= 1; disable autoscaling for it to stop it"
                )
            lo, hi = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
            new_hi = max(hi, replicas)
            self.api.patch(
                "HorizontalPodAutoscaler",
                self.namespace,
                hpa["metadata"]["name"],
                {"spec": {"minReplicas": replicas, "maxReplicas": new_hi}},
            )
            report.hpa = hpa["metadata"]["name"]
            report.note = (
                f"{nf} is autoscaled by HorizontalPodAutoscaler/{report.hpa}: moved its bounds "
                f"from {lo}-{hi} to {replicas}-{new_hi}; the HPA now picks the replica count "
                f"(at least {replicas})"
            )
            if replicas <= int((workload.get("spec") or {}).get("replicas", 1)):
                return report  # scaling in under an HPA follows its stabilization window
            wanted = replicas
        else:
            self.api.patch(
                workload["kind"],
                self.namespace,
                workload["metadata"]["name"],
                {"spec": {"replicas": replicas}},
                sub="scale",
            )
            wanted = replicas
        if wait:
            tracker = _Tracker([nf], time.monotonic(), progress or _quiet)
            tracker.started.add(nf)
            deadline = time.monotonic() + timeout
            self._wait_count(nf, wanted, deadline, tracker, timeout)
        return report

    def _wait_count(
        self, nf: str, wanted: int, deadline: float, tracker: _Tracker, timeout: float
    ) -> None:
        while True:
            obj = self._deployment(nf)
            state = workload_state(obj)
            pods = self._pods(self.nf_selector(nf))
            tracker.show({nf: state}, {nf: [pod_report(p) for p in pods]})
            if state.done and state.ready >= wanted and len(pods) == wanted:
                return
            if time.monotonic() >= deadline:
                raise self._timeout_error(
                    nf,
                    [nf],
                    {nf: state},
                    "scale",
                    f"not at {wanted} ready replicas after {timeout:.0f} s",
                )
            time.sleep(POLL_S)

    # -- upgrade ---------------------------------------------------------------------------

    def release(self) -> Release:
        """The inputs of the last deploy (raises PlatformError when there was none)."""
        cm = self.api.get("ConfigMap", self.namespace, release_name(self.instance))
        if cm is None or RELEASE_KEY not in (cm.get("data") or {}):
            raise PlatformError(
                f"nothing deployed by nfv in namespace {self.namespace} (instance "
                f"{self.instance}): run `nfv deploy` first"
            )
        try:
            return Release.from_json(cm["data"][RELEASE_KEY])
        except (ValueError, TypeError) as exc:
            raise PlatformError(
                f"the release record {cm['metadata']['name']} is broken: {exc}"
            ) from exc

    def upgrade(
        self,
        nf: str | None = None,
        overrides: dict[str, Any] | None = None,
        registry: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        progress: ProgressFn | None = None,
        *,
        force_conflicts: bool = False,
    ) -> DeployReport:
        """Re-render the recorded release with *overrides* (and *registry*) and apply the
        objects of *nf* (default: all NFs). Changed pod templates (image, config checksum)
        roll with maxSurge 1 / maxUnavailable 0; replica counts set by ``scale`` are kept.
        When a rollout does not finish in *timeout*, the Deployment goes back to the
        previous ReplicaSet's template and the previous config objects, and
        RolloutFailedError says so."""
        started = time.monotonic()
        if nf is not None:
            self._deployment(nf)  # unknown NF / not deployed
        old = self.release()
        release = Release(
            old.profile,
            deep_merge(old.values, overrides or {}),
            registry if registry is not None else old.registry,
        )
        live_workloads = self._workloads()
        keep: dict[str, Any] = {"nfs": {}}
        hpa_targets = {
            ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
            for h in self.api.list("HorizontalPodAutoscaler", self.namespace)
        }
        for name, obj in live_workloads.items():
            set_here = ((overrides or {}).get("nfs") or {}).get(name, {})
            if (
                obj["kind"] == "Deployment"
                and name in self.catalog
                and name not in hpa_targets
                and "replicas" not in (set_here or {})
            ):
                keep["nfs"][name] = {"replicas": int(obj["spec"].get("replicas", 1))}
        objects = self._render_release(release, keep)
        waves = plan_waves(objects[:-1], self.catalog)
        order = deploy_order(waves)
        selected = [
            o for o in objects[:-1] if nf is None or owner_name(o) == nf or o["kind"] == "Secret"
        ]
        if nf is not None and not any(o["kind"] == "Deployment" for o in selected):
            raise PlatformError(f"{nf} is not rendered by the recorded values (disabled?)")
        live = self._live_objects()
        before = {ref(o): o for o in live}
        report = DeployReport(
            namespace=self.namespace,
            elapsed=0.0,
            created_namespace=False,
            applied=0,
            waves=[[n for n in w.workloads if nf is None or n == nf] for w in waves],
        )
        tracker = _Tracker(order if nf is None else [nf], started, progress or _quiet)
        deadline = started + timeout
        for wave in waves:
            batch = [o for o in selected if o in wave.objects]
            changed_workloads = []
            for obj in batch:
                answer = self._apply(obj, force=force_conflicts)
                report.applied += 1
                prev = (before.get(ref(obj)) or {}).get("metadata") or {}
                if answer["metadata"].get("resourceVersion") != prev.get("resourceVersion"):
                    report.changed.append("/".join(ref(obj)))
                    if obj["kind"] in ("Deployment", "StatefulSet"):
                        changed_workloads.append(owner_name(obj))
            names = [n for n in wave.workloads if nf is None or n == nf]
            tracker.started.update(names)
            try:
                self._wait(names, order, deadline, tracker, timeout=timeout, verb="upgrade")
            except DeployTimeoutError as exc:
                rolled = self._roll_back(exc.nf, before, batch)
                raise RolloutFailedError(
                    f"{exc}\n{exc.nf}: "
                    + (
                        "rolled back to the previous ReplicaSet's template and config"
                        if rolled
                        else "no previous revision to roll back to"
                    ),
                    nf=exc.nf,
                    exit_code=exc.exit_code,
                    diagnosis=exc.diagnosis,
                    rolled_back=rolled,
                ) from None
        self.api.apply(objects[-1], force=True)  # the new release record
        report.elapsed = time.monotonic() - started
        return report

    def _roll_back(
        self, nf: str, before: dict[tuple[str, str], dict[str, Any]], batch: list[dict[str, Any]]
    ) -> bool:
        """Restore *nf*'s config objects as they were and its Deployment's pod template
        from the previous ReplicaSet; wait (bounded) for that rollout."""
        workload = self._deployment(nf)
        if workload["kind"] != "Deployment":
            return False
        revision = _revision(workload)
        sets = self.api.list("ReplicaSet", self.namespace, selector=self.nf_selector(nf))
        older = [rs for rs in sets if _revision(rs) < revision]
        if not older:
            return False
        previous = max(older, key=_revision)
        for obj in batch:
            if obj["kind"] not in ("ConfigMap", "Secret") or owner_name(obj) != nf:
                continue
            old = before.get(ref(obj))
            if old is None:
                continue
            restored = {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "metadata": {
                    "name": old["metadata"]["name"],
                    "namespace": self.namespace,
                    "labels": old["metadata"].get("labels") or {},
                },
                "data": old.get("data") or {},
            }
            self.api.apply(restored, force=True)
        template = previous["spec"]["template"]
        labels = dict(template["metadata"].get("labels") or {})
        labels.pop("pod-template-hash", None)
        template = {**template, "metadata": {**template["metadata"], "labels": labels}}
        rendered = next(o for o in batch if o["kind"] == "Deployment" and owner_name(o) == nf)
        rollback = {**rendered, "spec": {**rendered["spec"], "template": template}}
        self.api.apply(rollback, force=True)
        tracker = _Tracker([nf], time.monotonic(), _quiet)
        tracker.started.add(nf)
        with contextlib.suppress(DeployTimeoutError):
            self._wait(
                [nf],
                [nf],
                time.monotonic() + ROLLBACK_TIMEOUT,
                tracker,
                timeout=ROLLBACK_TIMEOUT,
                verb="rollback",
            )
        return True

    # -- destroy ---------------------------------------------------------------------------

    def destroy(self, *, wait: bool = True, timeout: float = 120.0) -> DestroyReport:
        """Delete every object of the instance, and the namespace when nfv created it.
        Nothing without the instance's labels is touched. With *wait*, returns once the
        pods (or the namespace) are gone."""
        started = time.monotonic()
        ns = self.api.get("Namespace", None, self.namespace)
        if ns is None:
            return DestroyReport(self.namespace, [], False, 0.0)
        deleted = []
        for kind in reversed(OWNED_KINDS):
            for obj in self.api.list(kind, self.namespace, selector=self.selector):
                if self.api.delete(kind, self.namespace, obj["metadata"]["name"]):
                    deleted.append(f"{kind}/{obj['metadata']['name']}")
        ours = (ns["metadata"].get("annotations") or {}).get(CREATED_BY) == self.instance
        if ours:
            self.api.delete("Namespace", None, self.namespace)
        deadline = started + timeout
        while wait and time.monotonic() < deadline:
            if ours:
                if self.api.get("Namespace", None, self.namespace) is None:
                    break
            elif not self._pods() and not self.api.list(
                "ReplicaSet", self.namespace, selector=self.selector
            ):
                break
            time.sleep(POLL_S)
        else:
            if wait:
                raise PlatformError(
                    f"destroy: objects of {self.instance} in {self.namespace} are still "
                    f"terminating after {timeout:.0f} s"
                )
        return DestroyReport(self.namespace, deleted, ours, time.monotonic() - started)

    # -- logs ------------------------------------------------------------------------------

    def logs(self, nf: str, *, follow: bool = False, tail: int | None = None) -> Iterator[str]:
        """Every replica's log lines, merged in time order, each prefixed with its pod name
        (``pod | line``). With *follow*, new lines (and new replicas) as they come."""
        if nf != STORE_NAME and nf not in self.catalog:
            raise UnknownNFError(
                f"unknown network function {nf!r} (known: {', '.join(self.catalog)})"
            )
        pods = self._pods(self.nf_selector(nf))
        if not pods and not follow:
            raise PlatformError(f"no pods of {nf} in namespace {self.namespace}")
        if not follow:
            return iter(self._merged(pods, tail))
        return self._follow(nf, tail)

    def _merged(self, pods: list[dict[str, Any]], tail: int | None) -> list[str]:
        lines: list[tuple[str, str, str]] = []
        for pod in pods:
            name = pod["metadata"]["name"]
            try:
                text = self.api.pod_log(self.namespace, name, tail=tail)
            except ApiError:
                continue  # container not started yet
            for line in text.splitlines():
                stamp, _, rest = line.partition(" ")
                lines.append((stamp, name, rest))
        lines.sort(key=lambda t: (t[0], t[1]))
        return [f"{name} | {rest}" for _, name, rest in lines]

    def _follow(self, nf: str, tail: int | None) -> Iterator[str]:
        out: queue.Queue[str] = queue.Queue(maxsize=10000)
        streaming: set[str] = set()

        def pump(pod: str) -> None:
            path = KINDS["Pod"].path(self.namespace, pod, "log")
            query = {"follow": "true", "tailLines": tail if tail is not None else 10}
            try:
                for line in self.api.stream_lines(path, query=query):
                    out.put(f"{pod} | {line}")
            except NfvError as exc:
                out.put(f"{pod} | (log stream ended: {exc})")
            finally:
                streaming.discard(pod)

        last_scan = 0.0
        while True:
            if time.monotonic() - last_scan > 2.0:
                last_scan = time.monotonic()
                for pod in self._pods(self.nf_selector(nf)):
                    name = pod["metadata"]["name"]
                    running = (pod.get("status") or {}).get("phase") == "Running"
                    if running and name not in streaming:
                        streaming.add(name)
                        threading.Thread(target=pump, args=(name,), daemon=True).start()
            try:
                yield out.get(timeout=0.5)
            except queue.Empty:
                continue

    # -- endpoints and metrics -------------------------------------------------------------

    def endpoint(self, nf: str, interface: str) -> tuple[str, int]:
        """Where a client outside the cluster reaches *nf*'s *interface*: the LoadBalancer
        ingress, else the NodePort on a node's InternalIP (127.0.0.1 when the API server runs
        on this machine, whose NodePorts listen on loopback; ``node_address`` overrides).
        An interface that is not exposed is reachable only when the cluster runs on this
        machine (its ClusterIP); elsewhere PlatformError."""
        if nf not in self.catalog:
            raise UnknownNFError(
                f"unknown network function {nf!r} (known: {', '.join(self.catalog)})"
            )
        self.catalog[nf].interface(interface)  # CatalogError for an unknown interface
        name = dns_name(nf, interface)
        svc = self.api.get("Service", self.namespace, name)
        if svc is None:
            raise PlatformError(f"Service {name} does not exist in namespace {self.namespace}")
        spec = svc.get("spec") or {}
        ports = spec.get("ports") or []
        if not ports:
            raise PlatformError(f"Service {name} has no ports")
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if spec.get("type") == "LoadBalancer" and ingress:
            return str(ingress[0].get("ip") or ingress[0].get("hostname")), int(ports[0]["port"])
        if spec.get("type") in ("NodePort", "LoadBalancer") and ports[0].get("nodePort"):
            return self._node_host(), int(ports[0]["nodePort"])
        cluster_ip = spec.get("clusterIP")
        if (
            self.node_address is None
            and self.api.on_this_machine
            and cluster_ip not in (None, "None")
        ):
            # A cluster on this machine: its node (this host) routes to ClusterIPs itself.
            return str(cluster_ip), int(ports[0]["port"])
        raise PlatformError(
            f"{nf}'s {interface} is not exposed (Service {name} is {spec.get('type')}): "
            "reach it from inside the cluster, or with kubectl port-forward"
        )

    def _node_host(self) -> str:
        if self.node_address:
            return self.node_address
        if self.api.on_this_machine:
            return "127.0.0.1"
        for node in self.api.list("Node", None):
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == "InternalIP":
                    return str(address["address"])
        raise PlatformError("no node reports an InternalIP address")

    def nf_metrics(self) -> dict[str, dict[str, Any]]:
        """Per NF: desired and ready replicas, pods, CPU in millicores summed over the
        pods (metrics.k8s.io; None while the metrics API has no sample)."""
        out: dict[str, dict[str, Any]] = {}
        for name, obj in self._workloads().items():
            state = workload_state(obj)
            out[name] = {
                "desired": state.desired,
                "ready": state.ready,
                "pods": 0,
                "cpu_millicores": None,
            }
        try:
            samples = self.api.list("PodMetrics", self.namespace, selector=self.selector)
        except (ApiError, ForbiddenError):
            samples = []  # no metrics API (or no right to read it): CPU unknown
        for sample in samples:
            name = owner_name(sample)
            if name not in out:
                continue
            cpu = 0.0
            for c in sample.get("containers") or []:
                with contextlib.suppress(ValueError, TypeError):
                    cpu += parse_cpu((c.get("usage") or {}).get("cpu", "0"))
            out[name]["pods"] += 1
            out[name]["cpu_millicores"] = (out[name]["cpu_millicores"] or 0.0) + cpu
        return out


def _images(obj: dict[str, Any]) -> list[str]:
    """The container images of a pod, or of a workload's pod template."""
    spec = obj.get("spec") or {}
    if "template" in spec:
        spec = spec["template"].get("spec") or {}
    return [str(c.get("image")) for c in spec.get("containers") or []]


def _created(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp") or "")


def _revision(obj: dict[str, Any]) -> int:
    """The ``deployment.kubernetes.io/revision`` of a Deployment or ReplicaSet (0: none)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        return int(annotations.get("deployment.kubernetes.io/revision", 0))
    except ValueError:
        return 0


class _Tracker:
    """Turns workload states and pod reports into NFProgress lines for the callback."""

    def __init__(self, order: list[str], t0: float, progress: ProgressFn) -> None:
        self.order, self.t0, self.progress = order, t0, progress
        # RFC 3339 with a second's slack: API timestamps have whole seconds.
        self.wall_start = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - (time.monotonic() - t0) - 1)
        )
        self.started: set[str] = set()
        self.states: dict[str, WorkloadState] = {}
        self.reasons: dict[str, str] = {}
        self.images: dict[str, str] = {}
        self.wave = {n: i for i, n in enumerate(order)}

    def show(self, states: dict[str, WorkloadState], reports: dict[str, list[PodReport]]) -> None:
        self.states.update(states)
        for name, reps in reports.items():
            waiting = [r.summary for r in reps if not r.ready]
            self.reasons[name] = waiting[0] if waiting else ""
        lines = []
        for name in self.order:
            state = self.states.get(name)
            if name not in self.started or state is None:
                lines.append(NFProgress(name, "", self.wave[name], 0, 0, "waiting"))
                continue
            if state.done:
                phase = "ready"
            elif state.current > state.desired and state.updated >= state.desired:
                phase = "scaling"
            elif state.current > state.updated:
                phase = "updating"  # old replicas still serve while new ones start
            else:
                phase = "starting"
            lines.append(
                NFProgress(
                    name,
                    state.kind.lower(),
                    self.wave[name],
                    state.desired,
                    state.ready,
                    phase,
                    self.reasons.get(name, ""),
                )
            )
        self.progress(lines, time.monotonic() - self.t0)

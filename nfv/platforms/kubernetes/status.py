"""The core's status on Kubernetes, built from plain API objects (no cluster access here):
per NF its replicas (desired/ready/updated/available), HPA, Services with endpoints and node
ports, image tags; the overall health; a table for people and ``as_dict`` for ``--json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .plan import NAME_LABEL, WORKLOAD_KINDS, workload_state


@dataclass
class HpaStatus:
    name: str
    min: int
    max: int
    current_replicas: int
    desired_replicas: int
    # per metric: "cpu 35%/70%" (current/target); "?" while metrics are missing
    metrics: list[str] = field(default_factory=list)


@dataclass
class PortStatus:
    name: str
    port: int
    protocol: str
    node_port: int | None = None


@dataclass
class ServiceStatus:
    name: str
    type: str
    cluster_ip: str
    ports: list[PortStatus] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)  # ready pod IPs
    ingress: list[str] = field(default_factory=list)  # LoadBalancer addresses


@dataclass
class NFStatus:
    name: str
    kind: str
    desired: int
    ready: int
    updated: int
    available: int
    images: list[str] = field(default_factory=list)
    hpa: HpaStatus | None = None
    services: list[ServiceStatus] = field(default_factory=list)
    pods: list[str] = field(default_factory=list)  # "name ready restarts"

    @property
    def healthy(self) -> bool:
        return self.ready >= self.desired and self.updated >= self.desired

    @property
    def tags(self) -> list[str]:
        return sorted({image.rsplit(":", 1)[-1] for image in self.images})


@dataclass
class KubeStatus:
    namespace: str
    instance: str
    exists: bool
    nfs: list[NFStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.exists and bool(self.nfs) and all(n.healthy for n in self.nfs)

    @property
    def health(self) -> str:
        if not self.exists or not self.nfs:
            return "absent"
        if self.healthy:
            return "healthy"
        return "degraded" if any(n.ready for n in self.nfs) else "down"

    def nf(self, name: str) -> NFStatus | None:
        return next((n for n in self.nfs if n.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": "kubernetes",
            "namespace": self.namespace,
            "instance": self.instance,
            "health": self.health,
            "healthy": self.healthy,
            "nfs": {n.name: {**asdict(n), "healthy": n.healthy, "tags": n.tags} for n in self.nfs},
        }


def _hpa_status(hpa: dict[str, Any]) -> HpaStatus:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    current = {}
    for m in status.get("currentMetrics") or []:
        res = m.get("resource") or {}
        if res:
            cur = res.get("current") or {}
            value = cur.get("averageUtilization")
            current[res.get("name")] = (
                f"{value}%" if value is not None else str(cur.get("averageValue"))
            )
        pods = m.get("pods") or {}
        if pods:
            current[(pods.get("metric") or {}).get("name")] = str(
                (pods.get("current") or {}).get("averageValue")
            )
    metrics = []
    for m in spec.get("metrics") or []:
        if m.get("type") == "Resource":
            res = m["resource"]
            target = res.get("target") or {}
            want = target.get("averageUtilization")
            want_text = f"{want}%" if want is not None else str(target.get("averageValue"))
            metrics.append(f"{res.get('name')} {current.get(res.get('name'), '?')}/{want_text}")
        elif m.get("type") == "Pods":
            name = m["pods"]["metric"]["name"]
            want = m["pods"]["target"].get("averageValue")
            metrics.append(f"{name} {current.get(name, '?')}/{want}")
    return HpaStatus(
        name=str(hpa["metadata"]["name"]),
        min=int(spec.get("minReplicas", 1)),
        max=int(spec.get("maxReplicas", 1)),
        current_replicas=int(status.get("currentReplicas", 0)),
        desired_replicas=int(status.get("desiredReplicas", 0)),
        metrics=metrics,
    )


def _service_status(svc: dict[str, Any], slices: list[dict[str, Any]]) -> ServiceStatus:
    spec = svc.get("spec") or {}
    name = str(svc["metadata"]["name"])
    endpoints: list[str] = []
    for s in slices:
        if ((s.get("metadata") or {}).get("labels") or {}).get(
            "kubernetes.io/service-name"
        ) != name:
            continue
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready", True):
                endpoints += [str(a) for a in ep.get("addresses") or []]
    ingress = [
        str(i.get("ip") or i.get("hostname"))
        for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ]
    return ServiceStatus(
        name=name,
        type=str(spec.get("type", "ClusterIP")),
        cluster_ip=str(spec.get("clusterIP", "")),
        ports=[
            PortStatus(
                name=str(p.get("name", "")),
                port=int(p["port"]),
                protocol=str(p.get("protocol", "TCP")),
                node_port=p.get("nodePort"),
            )
            for p in spec.get("ports") or []
        ],
        endpoints=sorted(set(endpoints)),
        ingress=ingress,
    )


def _owner(obj: dict[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(NAME_LABEL, ""))


def build_status(
    *,
    namespace: str,
    instance: str,
    exists: bool,
    workloads: list[dict[str, Any]],
    hpas: list[dict[str, Any]],
    services: list[dict[str, Any]],
    slices: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    order: list[str],
) -> KubeStatus:
    """Assemble :class:`KubeStatus` from listed objects (all of one instance); NFs in
    *order* (deploy order) first, then any other workload by name."""
    from .diagnosis import container_states, pod_ready

    rank = {n: i for i, n in enumerate(order)}
    status = KubeStatus(namespace=namespace, instance=instance, exists=exists)
    for wl in sorted(workloads, key=lambda w: (rank.get(_owner(w), len(rank)), _owner(w))):
        if wl.get("kind") not in WORKLOAD_KINDS:
            continue
        state = workload_state(wl)
        name = state.name
        containers = ((wl.get("spec") or {}).get("template") or {}).get("spec", {}).get(
            "containers"
        ) or []
        nf = NFStatus(
            name=name,
            kind=state.kind,
            desired=state.desired,
            ready=state.ready,
            updated=state.updated,
            available=state.available,
            images=[str(c.get("image")) for c in containers],
        )
        for hpa in hpas:
            target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if target.get("name") == wl["metadata"]["name"] and target.get("kind") == state.kind:
                nf.hpa = _hpa_status(hpa)
        nf.services = [
            _service_status(s, slices)
            for s in sorted(services, key=lambda s: str(s["metadata"]["name"]))
            if _owner(s) == name
        ]
        for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
            if _owner(pod) != name or (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue
            restarts = sum(c.restarts for c in container_states(pod))
            nf.pods.append(
                f"{pod['metadata']['name']} "
                f"{'ready' if pod_ready(pod) else 'not-ready'} restarts={restarts}"
            )
        status.nfs.append(nf)
    return status


def format_status(status: KubeStatus) -> str:
    """The status as a table: one row per NF, its Services below it."""
    if not status.exists:
        return f"namespace {status.namespace} does not exist: nothing deployed"
    if not status.nfs:
        return f"no workload of instance {status.instance} in namespace {status.namespace}"
    lines = [
        f"instance {status.instance} in namespace {status.namespace}: {status.health}",
        f"{'NF':<10}{'READY':<8}{'UPDATED':<9}{'AVAIL':<7}{'TAG':<15}{'HPA':<30}",
    ]

    def ports_of(svc: ServiceStatus) -> str:
        return ",".join(
            f"{p.port}{f':{p.node_port}' if p.node_port else ''}/{p.protocol}" for p in svc.ports
        )

    width = max([len(ports_of(s)) for n in status.nfs for s in n.services] or [0]) + 2
    name_width = max([len(s.name) for n in status.nfs for s in n.services] or [0]) + 2
    for nf in status.nfs:
        hpa = ""
        if nf.hpa is not None:
            metrics = ", ".join(nf.hpa.metrics)
            hpa = f"{nf.hpa.min}-{nf.hpa.max} now {nf.hpa.current_replicas} {metrics}".strip()
        lines.append(
            f"{nf.name:<10}{f'{nf.ready}/{nf.desired}':<8}{nf.updated:<9}{nf.available:<7}"
            f"{','.join(nf.tags):<15}{hpa:<30}".rstrip()
        )
        for svc in nf.services:
            ports = ports_of(svc)
            address = "headless" if svc.cluster_ip == "None" else svc.cluster_ip
            extra = f" lb {','.join(svc.ingress)}" if svc.ingress else ""
            endpoints = ",".join(svc.endpoints) or "-"
            lines.append(
                f"  svc {svc.name:<{name_width}}{svc.type:<13}{address:<15}{ports:<{width}}"
                f"endpoints {endpoints}{extra}"
            )
    return "\n".join(lines)

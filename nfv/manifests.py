"""Kubernetes manifests for the VoLTE core: the Jinja chart rendered, checked and written out.

``charts/volte-core/templates/`` holds one template per object kind; each loops over the
enabled NFs, whose per-object facts (ports, Services, peers allowed in and out, resources,
replicas, image, config checksum) this module derives from the NF descriptors and the
values — no NF is named here or in the templates. The pipeline is:

1. :func:`nfv.values.load_values` (also here as ``load_chart_values``) merges values.yaml ←
   profile ← files ← ``--set`` and checks the result against ``values.schema.json``; a
   problem names the file that set the key, the key path, the bad value and what was
   expected (:class:`~nfv.errors.ValuesError`). Every platform loads values this way.
2. :func:`render_manifests` renders the templates into objects (dicts), deterministically
   ordered by kind then name, and runs :func:`check_objects` on them (structural checks the
   API schemas cannot express: names, labels, selectors matching pods, Service targets,
   NetworkPolicy peers, referenced ConfigMaps/Secrets/ServiceAccounts); any problem raises
   :class:`~nfv.errors.RenderError`.
3. Optionally (``nfv render --validate [--kube-version X.Y]``)
   :func:`nfv.kubeschema.validate_objects` checks every object against the Kubernetes
   OpenAPI schemas of one version (kubernetes-validate), naming object and field path.
4. :func:`dump_stream` / :func:`write_directory` write them as YAML, byte-identical across runs.

:func:`add_commands` adds ``nfv render`` to the CLI.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import re
import sys
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
import yaml

from .argtypes import add_value_overrides, add_values_files
from .catalog import Catalog, Interface, NFDescriptor, load_catalog
from .errors import RenderError, ValuesError
from .images.recipe import CONFIG_DIR, REPOSITORY_PREFIX, SECRETS_DIR, USER_ID, plan_images
from .kubeschema import DEFAULT_KUBE_VERSION, minor_version, validate_objects
from .render import expand_subscribers, render_nf_config
from .scaling import NFAutoscalingValues, autoscaling_values
from .values import CHART_ROOT, deep_merge, load_values

PART_OF = "volte-core"
MANAGED_BY = "nfv"
STORE_NAME = "redis"
STORE_PORT = 6379
STORE_URL = f"redis://{STORE_NAME}:{STORE_PORT}/0"
# libyaml's parser when PyYAML has it (about 10x faster than the pure-Python one, which
# otherwise takes most of a render); the same safe subset of YAML either way.
YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Kubernetes object names: DNS-1123 labels, at most 63 characters (RFC 1123 §2.1).
MAX_NAME = 63
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
# ConfigMaps and Secrets are stored whole in one etcd value: at most 1 MiB of data.
MAX_DATA = 1024 * 1024
# IANA service names (RFC 6335 §5.1), which port names must be: at most 15 characters.
MAX_PORT_NAME = 15
# Applied in this order; kubectl apply of the stream then creates what is referenced first.
KIND_ORDER = (
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "StatefulSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
)
# The SIP transaction timeout is 64*T1 (Timer B/F, RFC 3261 §17.1.1.2, §17.1.2.2); a replica
# being stopped drains its transactions for that long, plus this margin for the last answer.
DRAIN_MARGIN_S = 5
# Secrets an NF descriptor can ask for, and the file each becomes under SECRETS_DIR.
SECRET_FILES = {"subscribers": "subscribers.json"}


def dns_name(*parts: str) -> str:
    """Join *parts* with '-' into a DNS-1123 label of at most 63 characters (the Helm
    ``fullname`` habit: truncate, then trim the trailing '-')."""
    return "-".join(p for p in parts if p)[:MAX_NAME].rstrip("-")


# -- values ------------------------------------------------------------------------------------


def parse_set(items: Iterable[str], *, strings: bool = False) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` → ``{"a": {"b": 1}, "c": "x"}``; values are read as YAML, or
    kept as strings with *strings* (``--set-string image.tag=0123``).

    Raises ValuesError for an item without ``=`` or with an empty key segment."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise ValuesError(f"--set {item!r}: expected key.path=value")
        try:
            value = text if strings or not text else yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValuesError(f"--set {item!r}: the value is not YAML: {exc}") from exc
        node: Any = value
        for part in reversed(parts):
            node = {part: node}
        out = deep_merge(out, node)
    return out


# Kept for callers of the first version: the values of every platform are loaded the same way.
load_chart_values = load_values


# -- per-NF facts for the templates -----------------------------------------------------------


def _labels(name: str, component: str, version: str, instance: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def _selector(name: str, instance: str) -> dict[str, str]:
    """The labels that never change for a workload: selectors use only these."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": instance}


def _transports(iface: Interface, values: dict[str, Any]) -> tuple[str, ...]:
    """An interface's transports; ``<protocol>.transport`` in the values picks one (SCTP for
    Diameter, RFC 6733 §2.1; S1AP over SCTP, TS 36.412 §7)."""
    chosen = (values.get(iface.protocol) or {}).get("transport")
    return (str(chosen),) if chosen else iface.transports


def port_name(iface: Interface, transport: str, transports: tuple[str, ...]) -> str:
    if len(transports) == 1:
        return iface.name
    return f"{iface.name[: MAX_PORT_NAME - len(transport) - 1]}-{transport}"


def _cpu(value: str | float) -> str:
    return str(value)


def _resources(nf: NFDescriptor, values: dict[str, Any], auto: NFAutoscalingValues | None) -> Any:
    res: dict[str, Any] = nf.resources.model_dump()
    res.update((values.get("kubernetes") or {}).get("resources") or {})
    res.update((values.get("nfs", {}).get(nf.name) or {}).get("resources") or {})
    if auto is not None and auto.cpu_limit is not None:
        res["cpu_limit"] = auto.cpu_limit
    return _resource_spec(res)


def _resource_spec(res: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": {"cpu": _cpu(res["cpu_request"]), "memory": str(res["memory_request"])},
        "limits": {"cpu": _cpu(res["cpu_limit"]), "memory": str(res["memory_limit"])},
    }


def _behavior(auto: NFAutoscalingValues) -> dict[str, Any]:
    """The HPA ``behavior``, the same rules the local autoscaler follows (nfv.scaling): scale
    out at once by the larger of 100 % or 4 pods per 15 s, scale in only after a 300 s
    stabilization window, unless the values say otherwise."""
    out: dict[str, Any] = {}
    behavior = auto.behavior.behavior()
    for key, rules in (("scaleUp", behavior.scale_up), ("scaleDown", behavior.scale_down)):
        out[key] = {
            "stabilizationWindowSeconds": rules.stabilization_window_seconds,
            "selectPolicy": rules.select_policy,
            "policies": [
                {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
                for p in rules.policies
            ],
        }
    return out


def _hpa(nf: NFDescriptor, auto: NFAutoscalingValues) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = []
    target = auto.target_cpu_percent
    if target is None and auto.requests is None:
        target = nf.scaling.target_cpu_percent
    if target is not None:
        metrics.append(
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": target},
                },
            }
        )
    if auto.requests is not None:
        # A per-pod custom metric (served by a metrics adapter from each replica's /metrics).
        metrics.append(
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": auto.requests.metric},
                    "target": {
                        "type": "AverageValue",
                        "averageValue": _quantity(auto.requests.target_per_second),
                    },
                },
            }
        )
    lo = auto.min if auto.min is not None else nf.scaling.min_replicas
    hi = auto.max if auto.max is not None else nf.scaling.max_replicas
    if lo > hi:
        raise ValuesError(f"autoscaling.nfs.{nf.name}: min ({lo}) is greater than max ({hi})")
    return {"min": lo, "max": hi, "metrics": metrics, "behavior": _behavior(auto)}


def _quantity(x: float) -> str:
    """A Kubernetes quantity for a rate: whole numbers as is, else in milli-units."""
    return str(int(x)) if float(x).is_integer() else f"{round(x * 1000)}m"


def _enabled(catalog: Catalog, values: dict[str, Any]) -> list[NFDescriptor]:
    """The NFs the values deploy: listed under ``nfs:`` and not ``enabled: false`` (a new
    descriptor is deployed only once the values name it, as on the local platform)."""
    nfs = values.get("nfs") or {}
    for name in nfs:
        if name not in catalog:
            raise ValuesError(
                f"nfs.{name}: no NF descriptor has this name (known: {list(catalog)})"
            )
    enabled = [catalog[n] for n in catalog if n in nfs and (nfs[n] or {}).get("enabled", True)]
    names = {d.name for d in enabled}
    for d in enabled:
        for peer in d.peers:
            if peer not in names:
                raise ValuesError(f"nfs.{d.name} needs peer {peer}, which is not enabled")
    if not enabled:
        raise ValuesError("no network function is enabled in the values")
    return enabled


# Protocols whose peers both start exchanges, so a peering is allowed in both directions:
# SIP proxies forward requests either way (RFC 3261 §16; the S-CSCF sends terminating requests
# back along the Path, RFC 3327); GTPv2-C nodes both send requests (TS 29.274 §7: e.g. Create
# Bearer Request from the PGW towards the SGW and MME, Downlink Data Notification SGW→MME).
# Diameter servers' own requests (RAR, ASR) ride the connection the client opened.
BIDIRECTIONAL = frozenset({"sip", "gtpv2c"})


def clients(nf: NFDescriptor, iface: Interface, enabled: list[NFDescriptor]) -> list[str]:
    """The enabled NFs that send to *iface* of *nf*, from the descriptors' ``peers`` (and
    ``optional_peers`` that are enabled): an NF that lists *nf* as a peer is its client; for
    :data:`BIDIRECTIONAL` protocols also the NFs *nf* lists as peers that speak the same
    protocol. HTTP interfaces (admin, provisioning) have no NF clients: they are for
    operators and scrapers."""
    if iface.protocol == "http":
        return []
    names = {d.name for d in enabled}
    sources = {d.name for d in enabled if nf.name in peers_of(d, names) and d.name != nf.name}
    if iface.protocol in BIDIRECTIONAL:
        sources |= {
            p.name
            for p in enabled
            if p.name in peers_of(nf, names)
            and any(i.protocol == iface.protocol for i in p.interfaces)
        }
    return sorted(sources)


def peers_of(nf: NFDescriptor, enabled: set[str]) -> set[str]:
    """The NFs *nf* talks to when *enabled* are deployed: its peers and its optional peers
    that are enabled."""
    return set(nf.peers) | (set(nf.optional_peers) & enabled)


def allowed_sources(
    nf: NFDescriptor, iface: Interface, enabled: list[NFDescriptor]
) -> list[str] | None:
    """The NFs allowed to reach *iface* of *nf* (None: anyone, the interface is exposed):
    :func:`clients`, and for HTTP interfaces ``kubernetes.network_policy.http_from``."""
    if iface.name in nf.exposed:
        return None
    return clients(nf, iface, enabled)


def destinations(
    nf: NFDescriptor, enabled: list[NFDescriptor], values: dict[str, Any]
) -> list[tuple[NFDescriptor, list[dict[str, Any]]]]:
    """Where *nf* sends: every enabled NF with the ports (number, protocol) of the interfaces
    *nf* is a client of — the exact mirror of the ingress rules (:func:`clients`)."""
    out = []
    for peer in enabled:
        ports = [
            {"port": iface.port, "protocol": t.upper()}
            for iface in peer.interfaces
            if nf.name in clients(peer, iface, enabled)
            for t in _transports(iface, values)
        ]
        if ports:
            out.append((peer, ports))
    return out


def _nf_context(
    nf: NFDescriptor,
    catalog: Catalog,
    enabled: list[NFDescriptor],
    values: dict[str, Any],
    image: str,
    version: str,
    chart: Path,
    in_cluster_store: bool,
) -> dict[str, Any]:
    kube = values["kubernetes"]
    instance = kube["instance"]
    settings = autoscaling_values(values)
    auto = settings.nfs.get(nf.name)
    hpa = _hpa(nf, auto) if settings.enabled and auto is not None else None
    replicas = int((values.get("nfs", {}).get(nf.name) or {}).get("replicas", 1))
    most = max(replicas, hpa["max"] if hpa else 0)

    unknown = [s for s in nf.secrets if s not in SECRET_FILES]
    if unknown:
        raise RenderError(f"NF {nf.name!r} asks for secrets nfv cannot make: {unknown}")
    subscribers = f"{SECRETS_DIR}/{SECRET_FILES['subscribers']}" if nf.secrets else ""
    config = render_nf_config(nf, catalog, values, subscribers_file=subscribers, chart=chart)
    config_name = dns_name(nf.name, "config")
    annotations = {"checksum/config": hashlib.sha256(config.encode()).hexdigest()}

    volumes: list[dict[str, Any]] = [
        {
            "name": "config",
            "configMap": {
                "name": config_name,
                "items": [{"key": f"{nf.name}.yaml", "path": f"{nf.name}.yaml"}],
            },
        },
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
    ]
    mounts: list[dict[str, Any]] = [
        {
            "name": "config",
            "mountPath": f"{CONFIG_DIR}/{nf.name}.yaml",
            "subPath": f"{nf.name}.yaml",
            "readOnly": True,
        },
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    secrets = []
    for secret in nf.secrets:
        name = dns_name(instance, secret)
        secrets.append(name)
        volumes.append(
            {
                "name": secret,
                "secret": {
                    "secretName": name,
                    "defaultMode": 0o440,
                    "items": [{"key": SECRET_FILES[secret], "path": SECRET_FILES[secret]}],
                },
            }
        )
        mounts.append({"name": secret, "mountPath": SECRETS_DIR, "readOnly": True})

    env: list[dict[str, Any]] = [
        {"name": "NFV__LISTEN__HOST", "value": "0.0.0.0"},
        {"name": "NFV_REPLICA", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if nf.needs_store:
        env.append({"name": "NFV__STORE__URL", "value": values["store"]["url"]})

    container_ports: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    ingress: list[dict[str, Any]] = []
    selector = _selector(nf.name, instance)
    exposure = kube["exposure"]
    np = kube["network_policy"]
    for iface in nf.interfaces:
        transports = _transports(iface, values)
        ports = [
            {
                "name": port_name(iface, t, transports),
                "port": iface.port,
                "protocol": t.upper(),
            }
            for t in transports
        ]
        container_ports += [
            {"name": p["name"], "containerPort": p["port"], "protocol": p["protocol"]}
            for p in ports
        ]
        svc_ports = [{**p, "targetPort": p["name"]} for p in ports]
        svc: dict[str, Any] = {
            "name": dns_name(nf.name, iface.name),
            "type": "ClusterIP",
            "annotations": {},
            "externalTrafficPolicy": None,
        }
        if iface.name in nf.exposed:
            svc["type"] = exposure["type"]
            svc["annotations"] = dict(exposure.get("annotations") or {})
            node_port = (exposure.get("node_ports") or {}).get(iface.name)
            if node_port and svc["type"] != "ClusterIP":
                svc_ports = [{**p, "nodePort": node_port} for p in svc_ports]
            if svc["type"] != "ClusterIP":
                svc["externalTrafficPolicy"] = exposure.get("external_traffic_policy", "Local")
        svc["ports"] = svc_ports
        services.append(svc)

        sources = allowed_sources(nf, iface, enabled)
        rule_ports = [{"port": p["name"], "protocol": p["protocol"]} for p in ports]
        if sources is None:
            ingress.append({"ports": rule_ports})
        else:
            peers: list[dict[str, Any]] = [
                {"podSelector": {"matchLabels": _selector(s, instance)}} for s in sources
            ]
            if iface.protocol == "http":
                peers += list(np.get("http_from") or [])
            if peers:
                ingress.append({"from": peers, "ports": rule_ports})

    egress = [_dns_egress(np)]
    for peer, peer_ports in destinations(nf, enabled, values):
        to = [{"podSelector": {"matchLabels": _selector(peer.name, instance)}}]
        egress.append({"to": to, "ports": peer_ports})
    if nf.needs_store:
        egress += _store_egress(values["store"]["url"], in_cluster_store, instance)
    for iface in nf.interfaces:
        if iface.name in nf.exposed and iface.protocol in BIDIRECTIONAL:
            # Its outside peers are anywhere, on any port: the P-CSCF sends requests to the
            # UE's contact (RFC 3261 §18.1.1), not only answers on flows the UE opened.
            any_port = [{"protocol": t.upper()} for t in _transports(iface, values)]
            egress.append({"ports": any_port})

    affinity: dict[str, Any] | None = None
    term = {"labelSelector": {"matchLabels": selector}, "topologyKey": kube["topology_key"]}
    if most > 1 and kube["anti_affinity"] == "soft":
        affinity = {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": term}
                ]
            }
        }
    elif most > 1 and kube["anti_affinity"] == "hard":
        affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}

    t1 = float((values.get("sip") or {}).get("t1", 0.5))
    # preStop first keeps the replica serving while its endpoint leaves the Services and DNS
    # answers (record TTL) stop naming it; then SIGTERM starts the 64*T1 drain.
    pre_stop = int(kube.get("pre_stop_seconds", 0))
    drain = pre_stop + math.ceil(64 * t1) + DRAIN_MARGIN_S
    grace = max(int(kube["termination_grace_period_seconds"]), drain)
    return {
        "name": nf.name,
        "descriptor": nf,
        "labels": _labels(nf.name, nf.component, version, instance),
        "selector": selector,
        "image": image,
        "args": ["--config", f"{CONFIG_DIR}/{nf.name}.yaml"],
        "replicas": None if hpa else replicas,
        "hpa": hpa,
        "pdb": bool(kube["pdb"]["enabled"]),
        "config_name": config_name,
        "config_key": f"{nf.name}.yaml",
        "config": config,
        "secrets": secrets,
        "pod_annotations": annotations,
        "volumes": volumes,
        "mounts": mounts,
        "env": env,
        "container_ports": container_ports,
        "services": services,
        "discovery_ports": [
            {k: v for k, v in p.items() if k != "nodePort"} for s in services for p in s["ports"]
        ],
        "ingress": ingress,
        "egress": egress,
        "affinity": affinity,
        "grace": grace,
        "pre_stop": pre_stop,
        "resources": _resources(nf, values, auto),
    }


def _dns_egress(np: dict[str, Any]) -> dict[str, Any]:
    """Egress to the cluster DNS (Service names are how NFs find peers): UDP and TCP 53
    (RFC 1035 §4.2) to the DNS pods, by default kube-dns in kube-system."""
    dns = np.get("dns") or {}
    peer = {
        "namespaceSelector": {
            "matchLabels": {"kubernetes.io/metadata.name": dns.get("namespace", "kube-system")}
        },
        "podSelector": {"matchLabels": dict(dns.get("pod_labels") or {"k8s-app": "kube-dns"})},
    }
    return {
        "to": [peer],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
    }


def _store_egress(url: str, in_cluster: bool, instance: str) -> list[dict[str, Any]]:
    """Egress to the state store: the chart's Redis pods, or for an external ``redis://``
    store its port to any address (the chart cannot know where that server's pods are)."""
    if in_cluster:
        to = [{"podSelector": {"matchLabels": _selector(STORE_NAME, instance)}}]
        return [{"to": to, "ports": [{"port": STORE_PORT, "protocol": "TCP"}]}]
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("redis", "rediss"):
        return []  # sqlite:// is a file in the pod
    try:
        port = parsed.port or STORE_PORT
    except ValueError as exc:
        raise ValuesError(f"store.url {url!r}: {exc}") from exc
    return [{"ports": [{"port": port, "protocol": "TCP"}]}]


def _secret_annotations(ctx: dict[str, Any], secret_data: dict[str, dict[str, str]]) -> None:
    for name in ctx["secrets"]:
        text = json.dumps(secret_data[name], sort_keys=True)
        ctx["pod_annotations"][f"checksum/{name}"] = hashlib.sha256(text.encode()).hexdigest()


# -- rendering ---------------------------------------------------------------------------------


def _json(value: Any) -> str:
    """A value as JSON, which is YAML: templates never hand-quote a string."""
    return json.dumps(value, ensure_ascii=True)


@functools.cache
def _environment(chart: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(chart / "templates")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
    )
    env.filters["json"] = _json
    env.globals["dns_name"] = dns_name
    return env


def _images(
    catalog: Catalog, names: list[str], values: dict[str, Any], registry: str | None
) -> dict[str, tuple[str, str]]:
    """name → (image reference, version label) for the NFs and the store."""
    image = values["image"]
    registry = registry if registry is not None else image.get("registry") or None
    tag = image.get("tag") or None
    if tag is None:
        refs = plan_images(catalog, names, with_store=True).refs(registry)
    else:
        prefix = f"{registry.rstrip('/')}/" if registry else ""
        refs = {n: f"{prefix}{REPOSITORY_PREFIX}/{n}:{tag}" for n in [*names, STORE_NAME]}
    return {n: (ref, ref.rsplit(":", 1)[1]) for n, ref in refs.items()}


def render_manifests(
    values: dict[str, Any],
    *,
    catalog: Catalog | None = None,
    chart: Path = CHART_ROOT,
    namespace: str | None = None,
    registry: str | None = None,
) -> list[dict[str, Any]]:
    """Render every object of the chart from *values* (already checked by
    :func:`load_chart_values`), in apply order, and check them.

    Raises ValuesError for values the descriptors contradict (an unknown NF, a peer not
    enabled), RenderError for a template that fails or an object that fails the checks."""
    catalog = catalog if catalog is not None else load_catalog()
    enabled = _enabled(catalog, values)
    store = not values["store"]["url"] and any(d.needs_store for d in enabled)
    if store:
        values = deep_merge(values, {"store": {"url": STORE_URL}})
    kube = values["kubernetes"]
    ns = namespace if namespace is not None else kube.get("namespace") or None
    images = _images(catalog, [d.name for d in enabled], values, registry)
    nfs = [
        _nf_context(
            d, catalog, enabled, values, *images[d.name], chart=chart, in_cluster_store=store
        )
        for d in enabled
    ]
    secret_data: dict[str, dict[str, str]] = {}
    if any(nf["secrets"] for nf in nfs):
        subs = json.dumps(expand_subscribers(values), indent=1, sort_keys=True) + "\n"
        secret_data[dns_name(kube["instance"], "subscribers")] = {"subscribers.json": subs}
    for ctx in nfs:
        _secret_annotations(ctx, secret_data)
    store_ctx: dict[str, Any] | None = None
    if store:
        ref, version = images[STORE_NAME]
        store_ctx = {
            "name": STORE_NAME,
            "port": STORE_PORT,
            "image": ref,
            "labels": _labels(STORE_NAME, "store", version, kube["instance"]),
            "selector": _selector(STORE_NAME, kube["instance"]),
            "clients": sorted(d.name for d in enabled if d.needs_store),
            "resources": _resource_spec(
                (kube.get("store") or {}).get("resources")
                or {
                    "cpu_request": "100m",
                    "cpu_limit": "1000m",
                    "memory_request": "64Mi",
                    "memory_limit": "512Mi",
                }
            ),
        }
    context = {
        "nfs": nfs,
        "store": store_ctx,
        "secrets": secret_data,
        "namespace": ns,
        "values": values,
        "instance": kube["instance"],
        "chart_labels": functools.partial(
            _labels, version=_chart_version(chart), instance=kube["instance"]
        ),
        "part_of": PART_OF,
        "user_id": USER_ID,
        "pull_policy": values["image"]["pull_policy"],
    }
    env = _environment(chart)
    objects: list[dict[str, Any]] = []
    for name in sorted(env.list_templates(filter_func=_is_object_template)):
        try:
            text = env.get_template(name).render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"templates/{name}: {exc}") from exc
        try:
            docs = [d for d in yaml.load_all(text, Loader=YAML_LOADER) if d is not None]
        except yaml.YAMLError as exc:
            raise RenderError(f"templates/{name} rendered invalid YAML: {exc}") from exc
        for doc in docs:
            if not isinstance(doc, dict):
                raise RenderError(f"templates/{name} rendered a non-object: {doc!r}")
            objects.append(doc)
    objects.sort(key=_order)
    problems = check_objects(objects)
    if problems:
        raise RenderError("rendered objects fail the checks:\n  " + "\n  ".join(problems))
    return objects


def _chart_version(chart: Path) -> str:
    """The chart's appVersion: the version label of objects that belong to no one image."""
    try:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(f"cannot read {chart / 'Chart.yaml'}: {exc}") from exc
    return str(meta.get("appVersion") or meta.get("version") or "0")


def _is_object_template(name: str) -> bool:
    return name.endswith(".yaml.j2") and not name.startswith("_")


def _order(obj: dict[str, Any]) -> tuple[int, str]:
    kind = str(obj.get("kind"))
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, str((obj.get("metadata") or {}).get("name"))


# -- structural checks -------------------------------------------------------------------------


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj.get("kind") in ("Deployment", "StatefulSet"):
        spec: dict[str, Any] = obj["spec"]["template"]["spec"]
        return spec
    return None


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_objects(objects: list[dict[str, Any]]) -> list[str]:
    """Structural problems of rendered objects, each naming the object and field."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    pods: list[tuple[dict[str, str], dict[str, Any]]] = []  # (pod labels, pod spec)
    names: dict[str, set[str]] = {}
    for obj in objects:
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        name = meta.get("name")
        where = f"{kind}/{name}"
        if not obj.get("apiVersion") or not kind or not name:
            problems.append(f"{where}: apiVersion, kind and metadata.name are required")
            continue
        if (kind, name) in seen:
            problems.append(f"{where}: defined twice")
        seen.add((kind, name))
        names.setdefault(kind, set()).add(name)
        pattern = DNS_1035 if kind == "Service" else DNS_LABEL
        if len(name) > MAX_NAME or not pattern.match(name):
            problems.append(f"{where}: metadata.name is not a DNS label of <= 63 characters")
        problems += _label_problems(where, "metadata.labels", meta.get("labels") or {})
        if kind in ("ConfigMap", "Secret"):
            size = len(json.dumps(obj.get("data") or obj.get("stringData") or {}).encode())
            if size > MAX_DATA:
                problems.append(f"{where}: data is {size} bytes, over the {MAX_DATA} limit")
        spec = _pod_spec(obj)
        if spec is not None:
            template_labels = obj["spec"]["template"]["metadata"].get("labels") or {}
            problems += _label_problems(where, "spec.template.metadata.labels", template_labels)
            if not _matches(obj["spec"]["selector"].get("matchLabels") or {}, template_labels):
                problems.append(f"{where}: spec.selector does not match the pod labels")
            pods.append((template_labels, spec))
    for obj in objects:
        kind, name = obj.get("kind"), (obj.get("metadata") or {}).get("name")
        where = f"{kind}/{name}"
        if kind == "Service":
            problems += _service_problems(where, obj, pods)
        elif kind == "NetworkPolicy":
            problems += _policy_problems(where, obj, pods)
        elif kind == "PodDisruptionBudget":
            sel = obj["spec"]["selector"].get("matchLabels") or {}
            if not any(_matches(sel, labels) for labels, _ in pods):
                problems.append(f"{where}: spec.selector matches no pods")
        elif kind == "HorizontalPodAutoscaler":
            ref = obj["spec"]["scaleTargetRef"]
            if ref["name"] not in names.get(ref["kind"], set()):
                problems.append(f"{where}: scaleTargetRef {ref['kind']}/{ref['name']} missing")
        spec = _pod_spec(obj)
        if spec is not None:
            problems += _pod_problems(where, spec, names)
    return problems


def _label_problems(where: str, field: str, labels: dict[str, Any]) -> list[str]:
    out = []
    for key, value in labels.items():
        if not LABEL_NAME.match(str(key)) or len(str(key).rsplit("/", 1)[-1]) > MAX_NAME:
            out.append(f"{where}: {field}: invalid label name {key!r}")
        if not isinstance(value, str) or len(value) > MAX_NAME or not LABEL_VALUE.match(value):
            out.append(f"{where}: {field}.{key}: invalid label value {value!r}")
    return out


def _port_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _service_problems(
    where: str, obj: dict[str, Any], pods: list[tuple[dict[str, str], dict[str, Any]]]
) -> list[str]:
    out = []
    selector = obj["spec"].get("selector") or {}
    targets = [spec for labels, spec in pods if _matches(selector, labels)]
    if not targets:
        out.append(f"{where}: spec.selector matches no pods")
    declared = {
        (p.get("name"), p["containerPort"], p.get("protocol", "TCP"))
        for spec in targets
        for c in spec["containers"]
        for p in c.get("ports", [])
    }
    for port in obj["spec"].get("ports", []):
        field = f"{where}: spec.ports[{port.get('name')}]"
        if not _port_ok(port.get("port")):
            out.append(f"{field}.port {port.get('port')!r} out of range")
        if "nodePort" in port and not 30000 <= port["nodePort"] <= 32767:
            out.append(f"{field}.nodePort {port['nodePort']} out of 30000-32767")
        target, proto = port.get("targetPort", port.get("port")), port.get("protocol", "TCP")
        if targets and not any((target in (n, number)) and proto == p for n, number, p in declared):
            out.append(f"{field}.targetPort {target!r}/{proto} is no declared containerPort")
    return out


def _policy_problems(
    where: str, obj: dict[str, Any], pods: list[tuple[dict[str, str], dict[str, Any]]]
) -> list[str]:
    out = []
    spec = obj["spec"]
    sel = spec["podSelector"].get("matchLabels") or {}
    if sel and not any(_matches(sel, labels) for labels, _ in pods):
        out.append(f"{where}: spec.podSelector matches no pods")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            for j, peer in enumerate(rule.get(peers_key) or []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    psel = peer["podSelector"].get("matchLabels") or {}
                    if not any(_matches(psel, labels) for labels, _ in pods):
                        out.append(
                            f"{where}: spec.{direction}[{i}].{peers_key}[{j}] matches no pods"
                        )
            for port in rule.get("ports") or []:
                p = port.get("port")
                if isinstance(p, int) and not _port_ok(p):
                    out.append(f"{where}: spec.{direction}[{i}] port {p} out of range")
            if direction == "egress":
                out += _egress_port_problems(f"{where}: spec.egress[{i}]", rule, pods)
    return out


def _egress_port_problems(
    where: str, rule: dict[str, Any], pods: list[tuple[dict[str, str], dict[str, Any]]]
) -> list[str]:
    """An egress rule to rendered pods must name ports those pods listen on."""
    targets = [
        spec
        for peer in rule.get("to") or []
        if "podSelector" in peer and "namespaceSelector" not in peer
        for labels, spec in pods
        if _matches(peer["podSelector"].get("matchLabels") or {}, labels)
    ]
    if not targets:
        return []
    declared = {
        (p.get("name"), p["containerPort"], p.get("protocol", "TCP"))
        for spec in targets
        for c in spec["containers"]
        for p in c.get("ports", [])
    }
    out = []
    for port in rule.get("ports") or []:
        number, proto = port.get("port"), port.get("protocol", "TCP")
        if number is not None and not any(
            number in (n, c) and proto == pr for n, c, pr in declared
        ):
            out.append(f"{where}: port {number!r}/{proto} is no containerPort of its pods")
    return out


def _pod_problems(where: str, spec: dict[str, Any], names: dict[str, set[str]]) -> list[str]:
    out = []
    sa = spec.get("serviceAccountName")
    if sa and sa not in names.get("ServiceAccount", set()):
        out.append(f"{where}: serviceAccountName {sa!r} has no ServiceAccount")
    for vol in spec.get("volumes", []):
        if "configMap" in vol and vol["configMap"]["name"] not in names.get("ConfigMap", set()):
            out.append(
                f"{where}: volume {vol['name']}: ConfigMap {vol['configMap']['name']} missing"
            )
        if "secret" in vol and vol["secret"]["secretName"] not in names.get("Secret", set()):
            out.append(
                f"{where}: volume {vol['name']}: Secret {vol['secret']['secretName']} missing"
            )
    for c in spec.get("containers", []):
        port_names = [p.get("name") for p in c.get("ports", [])]
        for p in c.get("ports", []):
            if not _port_ok(p.get("containerPort")):
                out.append(f"{where}: container {c['name']}: port {p.get('containerPort')!r}")
            if p.get("name") and len(p["name"]) > MAX_PORT_NAME:
                out.append(f"{where}: container {c['name']}: port name {p['name']!r} too long")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
            if isinstance(port, str) and port not in port_names:
                out.append(f"{where}: {probe} names port {port!r}, which is not declared")
        mounted = {v["name"] for v in spec.get("volumes", [])}
        for m in c.get("volumeMounts", []):
            if m["name"] not in mounted:
                out.append(f"{where}: volumeMount {m['name']} has no volume")
    return out


# -- output ------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings (the config files) as literal blocks."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump_object(obj: dict[str, Any]) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


def dump_stream(objects: list[dict[str, Any]]) -> str:
    """All objects as one YAML stream, ``---`` between them."""
    return "".join(f"---\n{dump_object(o)}" for o in objects)


OUTPUT_FILE = re.compile(r"^[0-9]{3}-[a-z]+-[a-z0-9-]+\.yaml$")


def write_directory(objects: list[dict[str, Any]], out: Path) -> list[Path]:
    """One file per object, ``NNN-<kind>-<name>.yaml`` in apply order; files of an earlier
    render that this one no longer has are removed (only files named that way)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, obj in enumerate(objects):
        path = out / f"{i:03d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        path.write_text(dump_object(obj))
        written.append(path)
    keep = {p.name for p in written}
    for stale in sorted(out.iterdir()):
        if OUTPUT_FILE.match(stale.name) and stale.name not in keep:
            stale.unlink()
    return written


# -- CLI -----------------------------------------------------------------------------------------


def add_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``render`` to the CLI's sub-command parsers (``parser.add_subparsers()``)."""
    render: argparse.ArgumentParser = subparsers.add_parser(
        "render",
        help="render the Kubernetes manifests of the core (validated)",
        description="Render charts/volte-core for Kubernetes: values checked against "
        "values.schema.json, every object checked, deterministic output.",
    )
    render.add_argument(
        "--profile",
        default=os.environ.get("NFV_PROFILE") or None,
        help="values profile: charts/volte-core/profiles/<P>.yaml (lab, scaling, production)",
    )
    add_values_files(render, help="values file merged over the profile (repeatable)")
    add_value_overrides(
        render,
        set_help="one value, e.g. nfs.scscf.replicas=3 (value read as YAML; repeatable)",
        set_string_help="one value kept as a string, e.g. image.tag=0123 (repeatable)",
    )
    render.add_argument(
        "--chart",
        type=Path,
        default=os.environ.get("NFV_CHART") or CHART_ROOT,
        help="chart directory (default: charts/volte-core)",
    )
    render.add_argument("-n", "--namespace", default=None, help="metadata.namespace of objects")
    render.add_argument(
        "--registry",
        default=os.environ.get("NFV_REGISTRY") or None,
        help="image registry (host:port), e.g. 127.0.0.1:5000; default: values image.registry",
    )
    render.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="write one file per object into DIR (default: one stream on stdout)",
    )
    render.add_argument(
        "--validate",
        action="store_true",
        default=os.environ.get("NFV_VALIDATE") == "1",
        help="check every object against the Kubernetes OpenAPI schemas (kubernetes-validate)",
    )
    render.add_argument(
        "--kube-version",
        default=os.environ.get("NFV_KUBE_VERSION") or DEFAULT_KUBE_VERSION,
        metavar="X.Y",
        help=f"Kubernetes version for --validate (default {DEFAULT_KUBE_VERSION}: the dev cluster)",
    )
    render.set_defaults(func=cmd_render)
    return render


def cmd_render(args: argparse.Namespace) -> int:
    overrides = deep_merge(parse_set(args.sets), parse_set(args.set_strings, strings=True))
    if args.namespace is not None:
        overrides = deep_merge(overrides, {"kubernetes": {"namespace": args.namespace}})
    if args.registry is not None:
        overrides = deep_merge(overrides, {"image": {"registry": args.registry}})
    chart = Path(args.chart)
    values = load_values(profile=args.profile, files=args.files, overrides=overrides, chart=chart)
    objects = render_manifests(values, chart=chart)
    if args.validate:
        minor = minor_version(args.kube_version)
        problems = validate_objects(objects, minor)
        if problems:
            raise RenderError(
                f"{len(problems)} problem(s) against the Kubernetes {minor} schemas:\n  "
                + "\n  ".join(problems)
            )
        print(f"{len(objects)} objects valid for Kubernetes {minor}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(dump_stream(objects))
    else:
        written = write_directory(objects, args.output)
        print(f"wrote {len(written)} objects to {args.output}", file=sys.stderr)
    return 0

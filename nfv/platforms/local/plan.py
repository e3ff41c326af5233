"""Turn a catalog and deployment values into a local plan, check it, and write its files.

The plan gives every enabled NF one loopback address from the subnet (in catalog order:
the address plays the part of a Kubernetes Service), lists the ports its replicas will bind
there (every interface on every transport, plus one admin port per replica), orders the NFs
in deployment waves and carries the autoscaling settings. :func:`check_ports` proves every
port is free before anything starts; :func:`write_files` renders the same NF config files
the charts use into the state directory, with the name table and the subscriber file.
"""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path
from typing import Any

from ...catalog import Catalog, NFDescriptor
from ...errors import PlatformError, ValuesError
from ...render import expand_subscribers, render_nf_config
from ...scaling import AutoscalingValues, autoscaling_values
from ...values import CHART_ROOT
from .procs import port_in_use
from .state import STATE_VERSION, NFPlan, Plan, PortSpec, StateDir, admin_port, write_json_atomic

DEFAULT_SUBNET = "127.0.77.0/24"
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
# Transports the local platform binds; SCTP interfaces are served over TCP (no SCTP in many
# kernels, see shared/ENVIRONMENT.md).
LOCAL_TRANSPORTS = {"udp": "udp", "tcp": "tcp", "sctp": "tcp"}


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """A subnet of 127.0.0.0/8; raises PlatformError."""
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError as exc:
        raise PlatformError(f"--subnet {text!r} is not an IPv4 subnet: {exc}") from exc
    if not net.subnet_of(LOOPBACK):
        raise PlatformError(f"--subnet {text!r} is not inside 127.0.0.0/8 (loopback)")
    return net


def _enabled(catalog: Catalog, values: dict[str, Any]) -> list[NFDescriptor]:
    nfs_values: dict[str, Any] = values.get("nfs") or {}
    known = set(catalog)  # (Catalog's __getitem__ raises CatalogError, so no `in catalog`)
    for name in nfs_values:
        if name not in known:
            listed = ", ".join(catalog)
            raise ValuesError(f"values name unknown network function {name!r} (known: {listed})")
    enabled = [
        catalog[n]
        for n in catalog
        if n in nfs_values and (nfs_values[n] or {}).get("enabled", True)
    ]
    names = {d.name for d in enabled}
    for d in enabled:
        for peer in d.peers:
            if peer not in names:
                raise ValuesError(f"{d.name} needs peer {peer}, which is not enabled in the values")
    if not enabled:
        raise ValuesError("no network function is enabled in the values")
    return enabled


def _autoscaling(
    nf: NFDescriptor, settings: AutoscalingValues, replicas: int
) -> tuple[dict[str, Any] | None, float | None, int]:
    """(resolved autoscaling dict or None, CPU cap in cores, initial replicas)."""
    auto = settings.nfs.get(nf.name)
    cap = auto.cpu_limit_cores if auto is not None else None
    if not settings.enabled or auto is None:
        return None, cap, replicas
    resolved = auto.model_copy(
        update={
            "min": auto.min if auto.min is not None else nf.scaling.min_replicas,
            "max": auto.max if auto.max is not None else nf.scaling.max_replicas,
            "target_cpu_percent": (
                auto.target_cpu_percent
                if auto.target_cpu_percent is not None or auto.requests is not None
                else nf.scaling.target_cpu_percent
            ),
        }
    )
    lo, hi = resolved.min or 1, resolved.max or 1
    if lo > hi:
        raise ValuesError(f"autoscaling.nfs.{nf.name}: min ({lo}) is greater than max ({hi})")
    return resolved.model_dump(mode="json"), cap, min(max(replicas, lo), hi)


def build_plan(
    state: StateDir,
    *,
    catalog: Catalog,
    values: dict[str, Any],
    profile: str | None,
    subnet: str = DEFAULT_SUBNET,
    catalog_root: Path | None = None,
) -> Plan:
    """Decide addresses, ports, waves and replica counts; raises PlatformError/ValuesError."""
    net = parse_subnet(subnet)
    settings = autoscaling_values(values)
    for name in settings.nfs:
        if name not in set(catalog):
            raise ValuesError(f"autoscaling.nfs names unknown network function {name!r}")
    enabled = _enabled(catalog, values)
    all_names = list(catalog)
    hosts = list(net.hosts()) if net.prefixlen < 31 else list(net)
    if len(hosts) < len(all_names):
        raise PlatformError(
            f"--subnet {net} has {len(hosts)} addresses; the catalog needs {len(all_names)}"
        )
    # Addresses follow catalog order over every NF, so enabling one does not move the others.
    addresses = {name: str(hosts[i]) for i, name in enumerate(all_names)}
    waves = [[d.name for d in wave] for wave in catalog.waves([d.name for d in enabled])]
    wave_of = {name: i for i, wave in enumerate(waves) for name in wave}
    domain = values["network"]["ims_domain"]
    nfs: dict[str, NFPlan] = {}
    for d in enabled:
        ports: list[PortSpec] = [
            {"interface": i.name, "port": i.port, "transport": LOCAL_TRANSPORTS[t]}
            for i in d.interfaces
            if i.name != "admin"
            for t in dict.fromkeys(i.transports)
        ]
        replicas = int(values["nfs"][d.name].get("replicas", 1))
        auto, cap, replicas = _autoscaling(d, settings, replicas)
        nfs[d.name] = {
            "name": d.name,
            "module": d.module,
            "address": addresses[d.name],
            "fqdn": f"{d.name}.{domain}",
            "ports": ports,
            "interfaces": {i.name: i.port for i in d.interfaces},
            "exposed": list(d.exposed),
            "admin_base": d.admin_port,
            "replicas": replicas,
            "wave": wave_of[d.name],
            "config": str(state.config(d.name)),
            "autoscaling": auto,
            "cpu_limit": cap,
        }
    return {
        "version": STATE_VERSION,
        "state_dir": str(state.root),
        "created_at": time.time(),
        "profile": profile,
        "domain": domain,
        "subnet": str(net),
        "waves": waves,
        "nfs": nfs,
        "env": {"PYTHONPATH": _pythonpath(catalog_root)},
        "autoscaling": settings.model_dump(mode="json", exclude={"nfs"}),
    }


def _pythonpath(catalog_root: Path | None) -> str:
    """Where the NF modules import from, so replicas start from any working directory."""
    import network_functions
    import nfv

    roots = [Path(nfv.__file__).resolve().parent.parent]
    roots.append(Path(network_functions.__file__).resolve().parent.parent)
    if catalog_root is not None:
        roots.append(catalog_root.resolve().parent)
    entries = [str(p) for p in roots]
    entries += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(entries))


def replica_ports(nf: NFPlan, replicas: int) -> list[PortSpec]:
    """Every (port, transport) the first *replicas* replicas of *nf* bind, admin included."""
    taken = {p["port"] for p in nf["ports"]}
    admin: list[PortSpec] = [
        {
            "interface": f"admin ({nf['name']}-{i})",
            "port": admin_port(nf["admin_base"], i, taken),
            "transport": "tcp",
        }
        for i in range(replicas)
    ]
    return nf["ports"] + admin


def check_ports(plan: Plan) -> None:
    """Raise PlatformError naming the NF, address and port of the first port not free."""
    problems = []
    for nf in plan["nfs"].values():
        for spec in replica_ports(nf, max(nf["replicas"], 1)):
            why = port_in_use(nf["address"], spec["port"], spec["transport"])
            if why is not None:
                problems.append(
                    f"{nf['name']}: cannot bind {nf['address']}:{spec['port']}/{spec['transport']}"
                    f" ({spec['interface']}): {why}"
                )
    if problems:
        raise PlatformError(
            "ports in use (another core running? try `nfv down` or another --subnet):\n  "
            + "\n  ".join(problems)
        )


def write_files(
    state: StateDir,
    plan: Plan,
    *,
    catalog: Catalog,
    values: dict[str, Any],
    chart: Path = CHART_ROOT,
) -> None:
    """Render configs, names.json, subscribers.json (0600) and plan.json into *state*."""
    state.create()
    write_json_atomic(state.subscribers, expand_subscribers(values), mode=0o600)
    for name in plan["nfs"]:
        text = render_nf_config(
            catalog[name], catalog, values, subscribers_file=str(state.subscribers), chart=chart
        )
        state.config(name).write_text(text)
    names: dict[str, str] = {}
    for nf in plan["nfs"].values():
        names[nf["name"]] = nf["address"]
        names[nf["fqdn"]] = nf["address"]
    write_json_atomic(state.names, names)
    write_json_atomic(state.plan, plan)


def describe(plan: Plan) -> str:
    """A one-line-per-NF summary of a plan (for --dry-run style output and logs)."""
    lines = []
    for nf in plan["nfs"].values():
        ports = ", ".join(f"{p['port']}/{p['transport']}" for p in nf["ports"])
        lines.append(f"{nf['name']:<8} {nf['address']:<15} x{nf['replicas']}  {ports}")
    return "\n".join(lines)

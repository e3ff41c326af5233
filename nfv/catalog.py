"""The NF catalog: descriptors that say what each network function is.

One source of truth (ARCHITECTURE principle 1): every platform — local processes, Docker,
Kubernetes charts — is derived from these descriptors, which live beside each NF's code as
``network_functions/<nf>/nf.yaml``. Adding an NF means adding a package with a descriptor;
nothing in ``nfv`` names an NF.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import network_functions

from .errors import CatalogError

Protocol = Literal["sip", "diameter", "http", "gtpv2c", "s1ap", "redis"]
Transport = Literal["udp", "tcp", "sctp"]

NF_ROOT = Path(network_functions.__file__).parent


class Interface(BaseModel):
    """One network interface of an NF: a protocol on a port over one or more transports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,14}$")
    protocol: Protocol
    port: int = Field(ge=1, le=65535)
    transports: tuple[Transport, ...]
    applications: tuple[str, ...] = ()


class Scaling(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=1, ge=1)
    target_cpu_percent: int = Field(default=70, ge=1, le=100)


class Resources(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_request: str = "100m"
    cpu_limit: str = "1000m"
    memory_request: str = "64Mi"
    memory_limit: str = "256Mi"


class NFDescriptor(BaseModel):
    """What a network function is, independent of where it runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9]{1,14}$")
    title: str
    module: str
    component: Literal["ims", "epc", "infra"]
    tier: int = Field(ge=0, le=9)
    interfaces: tuple[Interface, ...]
    peers: tuple[str, ...] = ()
    # Peers used only when the values enable them (the P-CSCF's Rx to a PCRF): never
    # required, but once enabled they are peers like the others (NetworkPolicies, names).
    optional_peers: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    needs_store: bool = False
    secrets: tuple[str, ...] = ()
    exposed: tuple[str, ...] = ()
    scaling: Scaling = Scaling()
    resources: Resources = Resources()

    @field_validator("interfaces")
    @classmethod
    def _unique_interfaces(cls, value: tuple[Interface, ...]) -> tuple[Interface, ...]:
        names = [i.name for i in value]
        if len(set(names)) != len(names):
            raise ValueError(f"interface names repeat: {names}")
        if "admin" not in names:
            raise ValueError("every NF needs an 'admin' interface (health, readiness, metrics)")
        return value

    def interface(self, name: str) -> Interface:
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        raise CatalogError(f"NF {self.name!r} has no interface {name!r}")

    def has_interface(self, name: str) -> bool:
        return any(i.name == name for i in self.interfaces)

    def port(self, name: str) -> int:
        return self.interface(name).port

    @property
    def admin_port(self) -> int:
        return self.port("admin")


class Catalog(Mapping[str, NFDescriptor]):
    """All NF descriptors, validated, with their peer graph checked."""

    def __init__(self, descriptors: list[NFDescriptor]) -> None:
        self._by_name = {d.name: d for d in descriptors}
        for d in descriptors:
            for peer in (*d.peers, *d.optional_peers):
                if peer not in self._by_name:
                    raise CatalogError(
                        f"NF {d.name!r} needs peer {peer!r}, which has no descriptor"
                    )

    def __getitem__(self, name: str) -> NFDescriptor:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise CatalogError(f"unknown network function {name!r} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._by_name, key=lambda n: (self._by_name[n].tier, n)))

    def __len__(self) -> int:
        return len(self._by_name)

    def waves(self, names: list[str] | None = None) -> list[list[NFDescriptor]]:
        """Deployment waves in dependency order: an NF comes after the peers it needs."""
        selected = [self[n] for n in (names if names is not None else list(self))]
        done: set[str] = set()
        remaining = {d.name: d for d in selected}
        waves: list[list[NFDescriptor]] = []
        while remaining:
            wave = [
                d
                for d in remaining.values()
                if all(
                    p in done or p not in remaining for p in d.peers if self.hard_dependency(d, p)
                )
            ]
            if not wave:
                raise CatalogError(f"peer cycle among {sorted(remaining)}")
            wave.sort(key=lambda d: d.name)
            waves.append(wave)
            for d in wave:
                done.add(d.name)
                del remaining[d.name]
        return waves

    def hard_dependency(self, nf: NFDescriptor, peer: str) -> bool:
        """Whether *nf* needs *peer* before it can be ready: a Diameter server it connects to.

        SIP peers are looked up per request, so CSCFs that route to each other are not ordered.
        """
        peer_desc = self._by_name.get(peer)
        if peer_desc is None:
            return True
        return peer_desc.has_interface("diameter") and not nf.has_interface("diameter")


def _load_descriptor(path: Path) -> NFDescriptor:
    try:
        raw = yaml.safe_load(path.read_text())
        return NFDescriptor.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read NF descriptor: {exc}") from exc
    except ValidationError as exc:
        raise CatalogError(f"{path}: invalid NF descriptor:\n{exc}") from exc


@functools.cache
def load_catalog(root: Path = NF_ROOT) -> Catalog:
    """Load every ``<root>/<nf>/nf.yaml``; raises CatalogError on a bad descriptor."""
    return Catalog([_load_descriptor(p) for p in sorted(root.glob("*/nf.yaml"))])

"""Experiment plans (``nfv experiment PLAN.yaml``): their schema and validation.

A plan names the platform and profile to run the core on, the scenario and its traffic
model, the load shape, the SLO and the NFs to watch::

    name: elastic-volte
    platform: {kind: local, profile: scaling, values: {...}}   # or kind: k8s, namespace
    scenario: ims
    traffic: {reregister_interval: 5, bhca: 360, holding_time: 2, register_expires: 60}
    shape: {kind: ramp, base: 20, peak: 300, warmup: 20, ramp_up: 60, hold: 60, ...}
    slo: {call_setup_p95_ms: 200, failure_ratio: 0.001, window_seconds: 5}
    watch: [pcscf, icscf, scscf]

:func:`load_plan` raises :class:`~nfv.loadtest.model.LoadTestError` whose message names
every offending key (``shape.peak: ...``, ``slo.failure_ratio: ...``, ``bogus: unknown
key``), also for values overrides that fail the chart's schema and for unknown NFs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import NfvError
from .model import LoadTestError, SubscriberRange, TrafficModel
from .shapes import AnyShape, shape_from_dict

MAX_WORKERS = 16


class PlatformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "k8s"] = "local"
    profile: str | None = "scaling"
    # Extra values over the profile (merged like a -f file), e.g. CPU caps, autoscaler speed.
    values: dict[str, Any] = Field(default_factory=dict)
    # Use the core that already runs instead of starting (and stopping) one.
    reuse: bool = False
    subnet: str | None = None  # local: loopback subnet of the NFs
    namespace: str | None = None  # k8s
    transport: Literal["udp", "tcp"] = "udp"
    # local: "redis" starts a redis-server on loopback for the run and points every NF's
    # state store at it (store.url); "values" keeps what the values say (the embedded
    # SQLite file per NF by default, which serializes the writes of many replicas).
    store: Literal["values", "redis"] = "values"


class SloSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_setup_p95_ms: float = Field(default=200.0, gt=0, le=60_000)
    failure_ratio: float = Field(default=0.001, ge=0, le=1)
    # p95 and failure ratio are judged over a sliding window of this many seconds.
    window_seconds: int = Field(default=5, ge=1, le=300)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    description: str = ""
    platform: PlatformSpec = Field(default_factory=PlatformSpec)
    scenario: Literal["ims", "epc"] = "ims"
    traffic: TrafficModel = Field(default_factory=TrafficModel)
    subscribers: SubscriberRange = Field(default_factory=SubscriberRange)
    shape: dict[str, Any]
    workers: int = Field(default=0, ge=0, le=MAX_WORKERS)
    slo: SloSpec = Field(default_factory=SloSpec)
    watch: list[str] = Field(min_length=1)
    # Keep sampling this long after the load ends (scale-in after the test).
    settle_seconds: float = Field(default=0.0, ge=0, le=3600)

    @field_validator("watch")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an NF twice")
        return value

    def load_shape(self) -> AnyShape:
        return shape_from_dict(self.shape, where="shape")


def _problems(exc: ValidationError) -> str:
    out = []
    for e in exc.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(plan)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        msg = msg.removeprefix("Value error, ")
        out.append(f"{key}: {msg}")
    return "; ".join(out)


def validate_plan(data: Any, *, source: str = "plan") -> Plan:
    """A checked plan from its parsed YAML; raises LoadTestError naming the keys."""
    if not isinstance(data, dict):
        raise LoadTestError(f"{source}: a plan is a mapping of keys (name, platform, ...)")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise LoadTestError(f"{source}: {_problems(exc)}") from exc
    try:
        plan.load_shape()
    except LoadTestError as exc:
        raise LoadTestError(f"{source}: {exc}") from exc
    _check_platform(plan, source)
    return plan


def _check_platform(plan: Plan, source: str) -> None:
    from ..catalog import load_catalog

    known = sorted(load_catalog())
    unknown = [nf for nf in plan.watch if nf not in known]
    if unknown:
        raise LoadTestError(
            f"{source}: watch: unknown NF(s) {', '.join(unknown)} (known: {', '.join(known)})"
        )
    if plan.platform.kind == "local" and not plan.platform.reuse:
        from ..values import load_values

        try:
            load_values(profile=plan.platform.profile, overrides=plan.platform.values)
        except NfvError as exc:
            raise LoadTestError(f"{source}: platform.values/profile: {exc}") from exc


def load_plan(path: Path) -> Plan:
    try:
        text = path.read_text()
    except OSError as exc:
        raise LoadTestError(f"cannot read the plan {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LoadTestError(f"{path} is not valid YAML: {exc}") from exc
    return validate_plan(data, source=str(path))

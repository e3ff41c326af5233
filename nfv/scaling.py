"""The HorizontalPodAutoscaler algorithm as a pure library (no clock, no sleeping, no I/O).

Implements the controller described in the Kubernetes documentation "Horizontal Pod
Autoscaling" (sections *Algorithm details*, *Configurable scaling behavior*, *Stabilization
window*, *Scaling policies*, *Default behavior*): the per-metric proposal
``desired = ceil(current * currentMetric / desiredMetric)`` with a tolerance band, the
handling of pods missing metrics, not-yet-ready pods and pods being deleted, the max over
several metrics, min/max clamping, stabilization windows and rate policies. Every function
takes the current time explicitly (seconds, any epoch), so the local platform's autoscaler
and the analysis code drive it with real timestamps and unit tests drive it with fake ones.

Public API: :class:`PodSample`, :func:`metric_replicas`, :class:`ScalingPolicy`,
:class:`ScalingRules`, :class:`Behavior`, :class:`HorizontalAutoscaler`, :class:`Decision`,
and :class:`AutoscalingValues` (the ``autoscaling`` key of the deployment values).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ValuesError

#: kube-controller-manager --horizontal-pod-autoscaler-tolerance default ("Algorithm details").
DEFAULT_TOLERANCE = 0.1
#: --horizontal-pod-autoscaler-cpu-initialization-period default (5 min): while a pod is this
#: young, a CPU sample is only trusted if the pod is ready and the sample postdates readiness.
DEFAULT_CPU_INITIALIZATION_PERIOD = 300.0
#: --horizontal-pod-autoscaler-initial-readiness-delay default (30 s): a pod that turns
#: unready within this time of starting is treated as never having been ready.
DEFAULT_INITIAL_READINESS_DELAY = 30.0
#: The longest periodSeconds a scaling policy may have ("Scaling policies": half an hour).
MAX_POLICY_PERIOD = 1800
#: The longest stabilization window the API accepts (one hour).
MAX_STABILIZATION_WINDOW = 3600

MetricKind = Literal["Utilization", "AverageValue"]
PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]


# -- one metric ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodSample:
    """What the controller knows about one pod (replica) for one metric.

    ``value`` is the pod's usage (for ``Utilization``: in the same unit as ``request``; for
    ``AverageValue``: the per-pod metric), or None when the pod has no metric. Timestamps
    are seconds on the caller's clock; ``ready_since`` is the last readiness transition.
    """

    name: str
    value: float | None
    ready: bool = True
    pending: bool = False
    deleting: bool = False
    failed: bool = False
    started_at: float | None = None
    ready_since: float | None = None
    metric_timestamp: float | None = None
    metric_window: float = 0.0
    request: float = 1.0


@dataclass(frozen=True)
class MetricProposal:
    """A per-metric replica proposal; ``replicas`` is None when the metric is invalid."""

    replicas: int | None
    usage: float | None = None
    reason: str = ""


def _group_pods(
    samples: Sequence[PodSample],
    *,
    cpu: bool,
    now: float,
    cpu_initialization_period: float,
    initial_readiness_delay: float,
) -> tuple[int, set[str], set[str], dict[str, PodSample]]:
    """Sort pods into ready-with-metrics, unready, missing and usable (``groupPods``).

    Pods being deleted or failed are ignored; pending pods are unready; a pod without a
    metric is missing; for CPU, a pod that is not ready, or is still initializing and whose
    sample predates readiness, is unready ("Algorithm details", not-yet-ready pods).
    """
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    usable: dict[str, PodSample] = {}
    for pod in samples:
        if pod.deleting or pod.failed:
            continue
        if pod.pending:
            unready.add(pod.name)
            continue
        if pod.value is None:
            missing.add(pod.name)
            continue
        if cpu:
            if pod.started_at is None or pod.ready_since is None:
                is_unready = True
            elif pod.started_at + cpu_initialization_period > now:
                sample_at = pod.metric_timestamp if pod.metric_timestamp is not None else now
                is_unready = (not pod.ready) or sample_at < pod.ready_since + pod.metric_window
            else:
                is_unready = (not pod.ready) and (
                    pod.started_at + initial_readiness_delay > pod.ready_since
                )
            if is_unready:
                unready.add(pod.name)
                continue
        ready_count += 1
        usable[pod.name] = pod
    return ready_count, unready, missing, usable


def _ceil(x: float) -> int:
    """ceil() that ignores binary floating-point noise (0.6 / 3 / 0.1 is 2.0000000000000004);
    Kubernetes avoids it with integer milli-units."""
    return math.ceil(round(x, 9))


def _within(ratio: float, tolerance: float) -> bool:
    return round(abs(1.0 - ratio), 9) <= tolerance


def _ratio(
    values: dict[str, tuple[float, float]], kind: MetricKind, target: float
) -> tuple[float, float]:
    """Usage ratio and current metric for {pod: (value, request)}.

    Utilization is truncated to a whole percentage, as the controller computes it
    (``GetResourceUtilizationRatio``: int32(usage * 100 / requests)).
    """
    if kind == "Utilization":
        requests = sum(r for _, r in values.values())
        raw = sum(v for v, _ in values.values()) * 100.0 / requests if requests else 0.0
        utilization = float(math.floor(round(raw, 9)))
        return utilization / target, utilization
    average = sum(v for v, _ in values.values()) / len(values)
    return average / target, average


def metric_replicas(
    samples: Sequence[PodSample],
    *,
    current_replicas: int,
    target: float,
    kind: MetricKind = "Utilization",
    cpu: bool = True,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
    cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD,
    initial_readiness_delay: float = DEFAULT_INITIAL_READINESS_DELAY,
) -> MetricProposal:
    """The replica count one metric asks for ("Algorithm details").

    ``kind="Utilization"``: *target* is a percentage of each pod's ``request`` (a Resource
    metric such as CPU). ``kind="AverageValue"``: *target* is the per-pod average. *cpu*
    enables the not-yet-ready rules that Kubernetes applies to the CPU resource only.

    Missing metrics: when scaling down, pods without a metric count as using 100 % of the
    target (Utilization: max(100 %, target) of request); when scaling up, as using 0 %.
    Not-yet-ready pods count as using 0 % when scaling up and are ignored otherwise. If
    these assumptions would reverse the direction or land within tolerance, no change.
    """
    if target <= 0:
        raise ValueError("target must be positive")
    ready_count, unready, missing, usable = _group_pods(
        samples,
        cpu=cpu,
        now=now,
        cpu_initialization_period=cpu_initialization_period,
        initial_readiness_delay=initial_readiness_delay,
    )
    if not usable:
        return MetricProposal(None, None, "no metrics for the targeted pods (pods may be unready)")
    values = {n: (float(p.value or 0.0), p.request) for n, p in usable.items()}
    usage_ratio, usage = _ratio(values, kind, target)

    scale_up_with_unready = bool(unready) and usage_ratio > 1.0
    if not scale_up_with_unready and not missing:
        if _within(usage_ratio, tolerance):
            return MetricProposal(current_replicas, usage, "within tolerance")
        return MetricProposal(_ceil(usage_ratio * ready_count), usage, "ratio")

    requests = {p.name: p.request for p in samples}
    if missing:
        if usage_ratio < 1.0:
            for name in missing:
                req = requests[name]
                fallback = req * max(100.0, target) / 100.0 if kind == "Utilization" else target
                values[name] = (fallback, req)
        elif usage_ratio > 1.0:
            for name in missing:
                values[name] = (0.0, requests[name])
    if scale_up_with_unready:
        for name in unready:
            values[name] = (0.0, requests[name])

    new_ratio, _ = _ratio(values, kind, target)
    if (
        _within(new_ratio, tolerance)
        or (usage_ratio < 1.0 < new_ratio)
        or (usage_ratio > 1.0 > new_ratio)
    ):
        return MetricProposal(current_replicas, usage, "assumptions reverse or cancel the change")
    new_replicas = _ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
        new_ratio > 1.0 and new_replicas < current_replicas
    ):
        return MetricProposal(current_replicas, usage, "pod count would reverse the direction")
    return MetricProposal(new_replicas, usage, "ratio with assumed values")


# -- behavior --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingPolicy:
    """At most ``value`` pods (or percent) of change within ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: int

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise ValueError("policy value must be > 0")
        if not 0 < self.period_seconds <= MAX_POLICY_PERIOD:
            raise ValueError(f"periodSeconds must be in 1..{MAX_POLICY_PERIOD}")


@dataclass(frozen=True)
class ScalingRules:
    """One direction's behavior: stabilization window, policies and selectPolicy."""

    stabilization_window_seconds: int
    policies: tuple[ScalingPolicy, ...]
    select_policy: SelectPolicy = "Max"

    def __post_init__(self) -> None:
        if not 0 <= self.stabilization_window_seconds <= MAX_STABILIZATION_WINDOW:
            raise ValueError(f"stabilizationWindowSeconds must be in 0..{MAX_STABILIZATION_WINDOW}")

    @property
    def longest_period(self) -> int:
        return max((p.period_seconds for p in self.policies), default=0)


# "Default behavior": scale down to min after a 300 s window, 100 % per 15 s; scale up at
# once, by the larger of 100 % or 4 pods per 15 s.
DEFAULT_SCALE_UP = ScalingRules(
    0,
    (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15)),
    "Max",
)
DEFAULT_SCALE_DOWN = ScalingRules(300, (ScalingPolicy("Percent", 100, 15),), "Max")


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN


@dataclass
class _Recommendation:
    replicas: int
    timestamp: float


@dataclass
class _ScaleEvent:
    change: int
    timestamp: float


@dataclass(frozen=True)
class Decision:
    """The outcome of one controller sync."""

    desired: int
    current: int
    proposed: int | None
    reason: str
    usages: tuple[float | None, ...] = ()

    @property
    def changed(self) -> bool:
        return self.desired != self.current


def _change_in_period(events: Iterable[_ScaleEvent], period: int, now: float) -> int:
    cutoff = now - period
    return sum(e.change for e in events if e.timestamp > cutoff)


@dataclass
class HorizontalAutoscaler:
    """The HPA controller's per-target state: recommendations and scale events.

    Call :meth:`sync` once per sync period with the current replica count (the scale
    target's desired replicas) and one :class:`MetricProposal` per metric; the caller
    applies ``decision.desired``. The decision is recorded as a scale event only if it
    changes the replica count (the controller's ``storeScaleEvent``).
    """

    min_replicas: int
    max_replicas: int
    behavior: Behavior = field(default_factory=Behavior)
    _recommendations: list[_Recommendation] = field(default_factory=list)
    _up_events: list[_ScaleEvent] = field(default_factory=list)
    _down_events: list[_ScaleEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.min_replicas < 0 or self.max_replicas < max(1, self.min_replicas):
            raise ValueError("need 0 <= min_replicas <= max_replicas and max_replicas >= 1")

    def sync(
        self, *, now: float, current_replicas: int, proposals: Sequence[MetricProposal]
    ) -> Decision:
        usages = tuple(p.usage for p in proposals)
        if current_replicas == 0 and self.min_replicas != 0:
            # A target scaled to zero by hand has autoscaling disabled.
            return Decision(0, 0, None, "scaled to zero: autoscaling disabled", usages)
        if current_replicas > self.max_replicas:
            desired, proposed, reason = self.max_replicas, None, "above maxReplicas"
        elif current_replicas < self.min_replicas:
            desired, proposed, reason = self.min_replicas, None, "below minReplicas"
        else:
            valid = [p.replicas for p in proposals if p.replicas is not None]
            invalid = len(proposals) - len(valid)
            best = max(valid, default=-1)
            # All metrics invalid, or some invalid while the rest would scale down: no
            # change (the controller returns an error and keeps the scale).
            if not proposals or invalid >= len(proposals) or (invalid and best < current_replicas):
                why = next((p.reason for p in proposals if p.replicas is None), "no metrics")
                return Decision(current_replicas, current_replicas, None, why, usages)
            proposed = best
            desired, reason = self._normalize(now, current_replicas, proposed)
        decision = Decision(desired, current_replicas, proposed, reason, usages)
        if decision.changed:
            self.record_scale(now=now, previous=current_replicas, new=desired)
        return decision

    # -- "Stabilization window" + "Scaling policies" (normalizeDesiredReplicasWithBehaviors)
    def _normalize(self, now: float, current: int, proposed: int) -> tuple[int, str]:
        stabilized = self._stabilize(now, current, proposed)
        limited = self._rate_limit(now, current, stabilized)
        if limited == proposed:
            return limited, "metrics"
        if stabilized != proposed:
            return limited, "stabilization window"
        if limited in (self.min_replicas, self.max_replicas) and not (
            self.min_replicas <= proposed <= self.max_replicas
        ):
            return limited, "min/max replicas"
        return limited, "scaling policy"

    def _stabilize(self, now: float, current: int, proposed: int) -> int:
        up_cutoff = now - self.behavior.scale_up.stabilization_window_seconds
        down_cutoff = now - self.behavior.scale_down.stabilization_window_seconds
        up_rec = down_rec = proposed
        for rec in self._recommendations:
            if rec.timestamp > up_cutoff:
                up_rec = min(up_rec, rec.replicas)
            if rec.timestamp > down_cutoff:
                down_rec = max(down_rec, rec.replicas)
        # Keep only what a window can still see, then record this recommendation.
        oldest = min(up_cutoff, down_cutoff)
        self._recommendations = [r for r in self._recommendations if r.timestamp >= oldest]
        self._recommendations.append(_Recommendation(proposed, now))
        return min(max(current, up_rec), down_rec)

    def _rate_limit(self, now: float, current: int, desired: int) -> int:
        if desired > current:
            limit = max(self._scale_up_limit(now, current), current)
            return min(desired, self.max_replicas, limit)
        if desired < current:
            limit = min(self._scale_down_limit(now, current), current)
            return max(desired, self.min_replicas, limit)
        return desired

    def _period_start(self, now: float, current: int, period: int) -> int:
        added = _change_in_period(self._up_events, period, now)
        removed = _change_in_period(self._down_events, period, now)
        return current - added + removed

    def _scale_up_limit(self, now: float, current: int) -> int:
        rules = self.behavior.scale_up
        if rules.select_policy == "Disabled" or not rules.policies:
            return current
        proposals = []
        for policy in rules.policies:
            start = self._period_start(now, current, policy.period_seconds)
            if policy.type == "Pods":
                proposals.append(start + policy.value)
            else:  # rounded up, or a small percentage would never add a pod
                proposals.append(_ceil(start * (1 + policy.value / 100)))
        return max(proposals) if rules.select_policy == "Max" else min(proposals)

    def _scale_down_limit(self, now: float, current: int) -> int:
        rules = self.behavior.scale_down
        if rules.select_policy == "Disabled" or not rules.policies:
            return current
        proposals = []
        for policy in rules.policies:
            start = self._period_start(now, current, policy.period_seconds)
            if policy.type == "Pods":
                proposals.append(start - policy.value)
            else:  # truncated: the change is rounded up
                proposals.append(math.floor(round(start * (1 - policy.value / 100), 9)))
        # "Max" selects the largest change, i.e. the lowest floor.
        return min(proposals) if rules.select_policy == "Max" else max(proposals)

    def record_scale(self, *, now: float, previous: int, new: int) -> None:
        """Remember a scale event for the rate policies (also for scaling done by hand)."""
        if new > previous:
            events, longest = self._up_events, self.behavior.scale_up.longest_period
        elif new < previous:
            events, longest = self._down_events, self.behavior.scale_down.longest_period
        else:
            return
        events[:] = [e for e in events if e.timestamp > now - longest]
        events.append(_ScaleEvent(abs(new - previous), now))


# -- the `autoscaling` key of the deployment values --------------------------------------------


class PolicyValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: PolicyType
    value: int = Field(gt=0)
    period_seconds: int = Field(gt=0, le=MAX_POLICY_PERIOD)


class RulesValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stabilization_window_seconds: int | None = Field(
        default=None, ge=0, le=MAX_STABILIZATION_WINDOW
    )
    select_policy: SelectPolicy = "Max"
    policies: list[PolicyValues] | None = None

    def rules(self, default: ScalingRules) -> ScalingRules:
        window = self.stabilization_window_seconds
        policies = (
            tuple(ScalingPolicy(p.type, p.value, p.period_seconds) for p in self.policies)
            if self.policies is not None
            else default.policies
        )
        return ScalingRules(
            default.stabilization_window_seconds if window is None else window,
            policies,
            self.select_policy,
        )


class BehaviorValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale_up: RulesValues = RulesValues()
    scale_down: RulesValues = RulesValues()

    def behavior(self) -> Behavior:
        return Behavior(
            self.scale_up.rules(DEFAULT_SCALE_UP), self.scale_down.rules(DEFAULT_SCALE_DOWN)
        )


class RequestRateValues(BaseModel):
    """Scale on a counter from each replica's /metrics: target average rate per replica."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    target_per_second: float = Field(gt=0)


class NFAutoscalingValues(BaseModel):
    """One NF's autoscaling; omitted fields come from the NF descriptor's ``scaling``."""

    model_config = ConfigDict(extra="forbid")

    min: int | None = Field(default=None, ge=1, le=64)
    max: int | None = Field(default=None, ge=1, le=64)
    target_cpu_percent: int | None = Field(default=None, ge=1, le=1000)
    requests: RequestRateValues | None = None
    # Per-replica CPU cap like a pod's CPU limit: "500m" or 0.5 (cores). Local platform:
    # cgroup v1/v2 cpu quota when the cgroup filesystem is writable (root); CPU utilization
    # is then measured against the cap instead of one core.
    cpu_limit: str | float | None = None
    behavior: BehaviorValues = BehaviorValues()

    @model_validator(mode="after")
    def _check(self) -> NFAutoscalingValues:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.cpu_limit is not None:
            parse_cpu(self.cpu_limit)
        return self

    @property
    def cpu_limit_cores(self) -> float | None:
        return None if self.cpu_limit is None else parse_cpu(self.cpu_limit)


class AutoscalingValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # kube-controller-manager --horizontal-pod-autoscaler-sync-period (default 15 s).
    sync_period_seconds: float = Field(default=15.0, gt=0, le=600)
    tolerance: float = Field(default=DEFAULT_TOLERANCE, ge=0, lt=1)
    cpu_initialization_period_seconds: float = Field(
        default=DEFAULT_CPU_INITIALIZATION_PERIOD, ge=0
    )
    initial_readiness_delay_seconds: float = Field(default=DEFAULT_INITIAL_READINESS_DELAY, ge=0)
    nfs: dict[str, NFAutoscalingValues] = {}


def parse_cpu(value: str | float) -> float:
    """A Kubernetes CPU quantity ("500m", "1", 0.25) in cores; raises ValueError."""
    if isinstance(value, int | float):
        cores = float(value)
    elif value.endswith("m"):
        cores = float(value[:-1]) / 1000.0
    else:
        cores = float(value)
    if not math.isfinite(cores) or cores <= 0:
        raise ValueError(f"CPU quantity must be positive, got {value!r}")
    return cores


def autoscaling_values(values: dict[str, Any]) -> AutoscalingValues:
    """Validate ``values["autoscaling"]``; raises ValuesError naming the field."""
    try:
        return AutoscalingValues.model_validate(values.get("autoscaling") or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"autoscaling.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValuesError(f"values fail the schema: {problems}") from exc

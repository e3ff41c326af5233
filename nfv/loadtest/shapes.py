"""Load shapes: how many users run at each second of a test (pure functions of time).

The Locust side (loadtests/shapes.py) wraps these in ``LoadTestShape`` classes; keeping the
arithmetic here lets the CLI, the experiment report and the unit tests use it without
importing Locust (whose gevent monkey-patching must stay out of the nfv process).

Shapes (all times in seconds, counts in users):

- ``step``: ``start`` users, plus ``step`` more every ``step_seconds``, ``steps`` times;
- ``ramp``: ``base`` for ``warmup``, linearly to ``peak`` over ``ramp_up``, ``hold`` there,
  back to ``base`` over ``ramp_down``, then ``base`` for ``cooldown``;
- ``spike``: ``base`` for ``warmup``, ``peak`` at once for ``spike``, ``base`` for
  ``cooldown``;
- ``diurnal``: a day compressed into ``period`` seconds, ``cycles`` times: a raised cosine
  from the night's ``base`` to the busy hour's ``peak`` and back.
- ``constant``: ``users`` for ``duration``.

:func:`parse_shape` reads the CLI form ``NAME[:key=value,...]``; :func:`shape_from_dict`
the plan form; both raise LoadTestError naming the key that is wrong.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from .model import LoadTestError

#: Users started or stopped per second when the shape jumps (Locust's spawn rate).
DEFAULT_SPAWN_RATE = 20.0
#: Locust spawns users one at a time per greenlet; above this a single process chokes.
MAX_SPAWN_RATE = 1000.0
MAX_USERS = 100_000


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spawn_rate: float = Field(default=DEFAULT_SPAWN_RATE, gt=0, le=MAX_SPAWN_RATE)

    @property
    def duration(self) -> float:
        raise NotImplementedError

    @property
    def peak_users(self) -> int:
        raise NotImplementedError

    def users_at(self, t: float) -> float:
        raise NotImplementedError

    def tick(self, t: float) -> tuple[int, float] | None:
        """Locust's ``LoadTestShape.tick``: (users, spawn rate) at *t*, None when done.

        The spawn rate is at least the shape's slope, so that Locust keeps up with a ramp.
        """
        if t >= self.duration:
            return None
        users = round(self.users_at(t))
        slope = abs(self.users_at(min(t + 1.0, self.duration)) - self.users_at(t))
        return users, max(self.spawn_rate, math.ceil(slope * 2))

    def describe(self) -> dict[str, Any]:
        return {**self.model_dump(), "duration": self.duration, "peak_users": self.peak_users}


class ConstantShape(_Shape):
    kind: Literal["constant"] = "constant"
    users: int = Field(default=10, ge=0, le=MAX_USERS)
    run_seconds: float = Field(default=60.0, gt=0, le=86400)

    @property
    def duration(self) -> float:
        return self.run_seconds

    @property
    def peak_users(self) -> int:
        return self.users

    def users_at(self, t: float) -> float:
        return float(self.users)


class StepShape(_Shape):
    kind: Literal["step"] = "step"
    start: int = Field(default=10, ge=0, le=MAX_USERS)
    step: int = Field(default=10, ge=0, le=MAX_USERS)
    step_seconds: float = Field(default=30.0, gt=0, le=86400)
    steps: int = Field(default=4, ge=1, le=1000)

    @property
    def duration(self) -> float:
        return self.steps * self.step_seconds

    @property
    def peak_users(self) -> int:
        return self.start + self.step * (self.steps - 1)

    def users_at(self, t: float) -> float:
        n = min(int(max(t, 0.0) // self.step_seconds), self.steps - 1)
        return float(self.start + self.step * n)


class RampShape(_Shape):
    kind: Literal["ramp"] = "ramp"
    base: int = Field(default=10, ge=0, le=MAX_USERS)
    peak: int = Field(default=100, ge=0, le=MAX_USERS)
    warmup: float = Field(default=10.0, ge=0, le=86400)
    ramp_up: float = Field(default=30.0, ge=0, le=86400)
    hold: float = Field(default=30.0, ge=0, le=86400)
    ramp_down: float = Field(default=30.0, ge=0, le=86400)
    cooldown: float = Field(default=30.0, ge=0, le=86400)

    @model_validator(mode="after")
    def _check(self) -> RampShape:
        if self.peak < self.base:
            raise ValueError(f"peak ({self.peak}) is below base ({self.base})")
        if self.duration <= 0:
            raise ValueError("the phases add up to no time at all")
        return self

    @property
    def duration(self) -> float:
        return self.warmup + self.ramp_up + self.hold + self.ramp_down + self.cooldown

    @property
    def peak_users(self) -> int:
        return self.peak

    def users_at(self, t: float) -> float:
        base, peak = float(self.base), float(self.peak)
        t -= self.warmup
        if t < 0:
            return base
        if t < self.ramp_up:
            return base + (peak - base) * t / self.ramp_up
        t -= self.ramp_up
        if t < self.hold:
            return peak
        t -= self.hold
        if t < self.ramp_down:
            return peak - (peak - base) * t / self.ramp_down
        return base


class SpikeShape(_Shape):
    kind: Literal["spike"] = "spike"
    base: int = Field(default=10, ge=0, le=MAX_USERS)
    peak: int = Field(default=100, ge=0, le=MAX_USERS)
    warmup: float = Field(default=20.0, ge=0, le=86400)
    spike: float = Field(default=20.0, gt=0, le=86400)
    cooldown: float = Field(default=30.0, ge=0, le=86400)
    spawn_rate: float = Field(default=100.0, gt=0, le=MAX_SPAWN_RATE)

    @model_validator(mode="after")
    def _check(self) -> SpikeShape:
        if self.peak < self.base:
            raise ValueError(f"peak ({self.peak}) is below base ({self.base})")
        return self

    @property
    def duration(self) -> float:
        return self.warmup + self.spike + self.cooldown

    @property
    def peak_users(self) -> int:
        return self.peak

    def users_at(self, t: float) -> float:
        if self.warmup <= t < self.warmup + self.spike:
            return float(self.peak)
        return float(self.base)


class DiurnalShape(_Shape):
    kind: Literal["diurnal"] = "diurnal"
    base: int = Field(default=10, ge=0, le=MAX_USERS)
    peak: int = Field(default=100, ge=0, le=MAX_USERS)
    period: float = Field(default=120.0, gt=0, le=86400)
    cycles: float = Field(default=1.0, gt=0, le=1000)

    @model_validator(mode="after")
    def _check(self) -> DiurnalShape:
        if self.peak < self.base:
            raise ValueError(f"peak ({self.peak}) is below base ({self.base})")
        return self

    @property
    def duration(self) -> float:
        return self.period * self.cycles

    @property
    def peak_users(self) -> int:
        return self.peak

    def users_at(self, t: float) -> float:
        # Night at t = 0, busy hour at half the period: base + (peak-base)(1 - cos 2πt/P)/2.
        phase = 2.0 * math.pi * t / self.period
        return self.base + (self.peak - self.base) * (1.0 - math.cos(phase)) / 2.0


AnyShape = ConstantShape | StepShape | RampShape | SpikeShape | DiurnalShape
Shape = Annotated[AnyShape, Field(discriminator="kind")]
SHAPE_KINDS = ("constant", "step", "ramp", "spike", "diurnal")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Shape)


def _problems(exc: ValidationError, prefix: str) -> str:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"] if p not in SHAPE_KINDS)
        key = f"{prefix}.{loc}" if loc else prefix
        out.append(f"{key}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(out)


def shape_from_dict(data: Any, *, where: str = "shape") -> AnyShape:
    """A shape from its mapping form (``{kind: ramp, base: 10, ...}``); raises LoadTestError."""
    if not isinstance(data, dict):
        raise LoadTestError(f"{where}: must be a mapping with a 'kind' key")
    kind = data.get("kind")
    if kind not in SHAPE_KINDS:
        raise LoadTestError(f"{where}.kind: must be one of {', '.join(SHAPE_KINDS)}, got {kind!r}")
    try:
        shape = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise LoadTestError(_problems(exc, where)) from exc
    assert isinstance(shape, ConstantShape | StepShape | RampShape | SpikeShape | DiurnalShape)
    return shape


def parse_shape(text: str) -> AnyShape:
    """The CLI form ``ramp:base=10,peak=80,hold=20``; raises LoadTestError."""
    kind, _, rest = text.partition(":")
    data: dict[str, Any] = {"kind": kind.strip()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise LoadTestError(f"--shape: expected key=value, got {item!r}")
        data[key.strip()] = value.strip()
    return shape_from_dict(data, where="--shape " + kind.strip() if kind else "--shape")

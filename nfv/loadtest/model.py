"""The telecom traffic model and the subscriber allocation of a load test (pure, no I/O).

A core is sized from a subscriber population and what each subscriber does in the busy
hour, not from "users": every subscriber re-registers every ``reregister_interval`` seconds
(TS 24.229 §5.1.1.4: a UE refreshes its registration before it expires), makes ``bhca``
busy-hour call attempts and holds each call ``holding_time`` seconds on average. From these
the offered load follows (Erlang's traffic intensity A = λ·h)::

    REGISTER/s = population / reregister_interval
    calls/s    = population · bhca / 3600
    Erlangs    = calls/s · holding_time

One Locust user simulates a *pair* of subscribers (A and B; A calls B and B calls A), so a
run with U users has a population of 2·U. Subscribers are allocated so that users and
distributed workers never collide: worker *w* owns the block
``[w · per_worker, (w + 1) · per_worker)`` of the range and user slot *s* of that worker
the two subscribers ``2s`` and ``2s + 1`` of the block (slots are re-used only after their
user stopped and de-registered).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import NfvError

#: Subscribers one Locust user simulates (the caller and the callee of its calls).
SUBSCRIBERS_PER_USER = 2
#: The busy hour the BHCA figure refers to.
BUSY_HOUR_SECONDS = 3600.0

AuthScheme = Literal["digest", "aka", "mixed"]


class LoadTestError(NfvError):
    """A load test or experiment cannot run as asked (bad plan, no target, Locust failed)."""


class TrafficModel(BaseModel):
    """What each subscriber does; the defaults are a typical busy hour (5 min re-register,
    a call every 30 minutes, 90 s mean holding time)."""

    model_config = ConfigDict(extra="forbid")

    reregister_interval: float = Field(default=300.0, gt=0, le=86400)
    bhca: float = Field(default=2.0, ge=0, le=3600)
    holding_time: float = Field(default=90.0, ge=0, le=86400)
    # Expires asked for in REGISTER; must outlive the re-registration interval.
    register_expires: int = Field(default=600, ge=1, le=86400)
    auth: AuthScheme = "digest"

    @model_validator(mode="after")
    def _check(self) -> TrafficModel:
        if self.register_expires <= self.reregister_interval:
            raise ValueError(
                f"register_expires ({self.register_expires}) must exceed reregister_interval "
                f"({self.reregister_interval:g}), or registrations lapse between refreshes"
            )
        return self

    # -- offered load -----------------------------------------------------------------------
    def register_rate(self, population: float) -> float:
        """Offered re-registrations per second of *population* subscribers."""
        return population / self.reregister_interval

    def call_rate(self, population: float) -> float:
        """Offered call attempts per second."""
        return population * self.bhca / BUSY_HOUR_SECONDS

    def erlangs(self, population: float) -> float:
        """Carried traffic in Erlangs if every call is answered."""
        return self.call_rate(population) * self.holding_time

    def offered(self, population: float) -> dict[str, float]:
        return {
            "population": population,
            "register_per_s": self.register_rate(population),
            "calls_per_s": self.call_rate(population),
            "erlangs": self.erlangs(population),
        }

    def offered_for_users(self, users: float) -> dict[str, float]:
        return self.offered(users * SUBSCRIBERS_PER_USER)

    # -- one subscriber's schedule ------------------------------------------------------------
    @property
    def mean_call_interval(self) -> float | None:
        """Mean seconds between one subscriber's call attempts (None: it never calls)."""
        return BUSY_HOUR_SECONDS / self.bhca if self.bhca > 0 else None


# -- subscriber allocation -------------------------------------------------------------------


class SubscriberRange(BaseModel):
    """The block of subscribers a load test provisions and uses."""

    model_config = ConfigDict(extra="forbid")

    imsi_start: str = Field(default="001010000100001", pattern=r"^[0-9]{6,15}$")
    msisdn_start: str = Field(default="15551000001", pattern=r"^[0-9]{3,15}$")
    k: str = Field(default="465b5ce8b199b49faa5f0a2ee238a6bc", pattern=r"^[0-9a-fA-F]{32}$")
    opc: str = Field(default="cd63cb71954a9f4e48a5994e37a02baf", pattern=r"^[0-9a-fA-F]{32}$")
    password: str = Field(default="lt-{msisdn}", min_length=1)


@dataclass(frozen=True)
class Subscriber:
    imsi: str
    msisdn: str
    k: str
    opc: str
    password: str

    def record(self) -> dict[str, str]:
        """The HSS provisioning record (POST/PUT /subscribers)."""
        return {
            "imsi": self.imsi,
            "msisdn": self.msisdn,
            "k": self.k,
            "opc": self.opc,
            "password": self.password,
        }


@dataclass(frozen=True)
class Allocation:
    """Disjoint subscriber blocks per worker, and per user slot within a worker's block."""

    range: SubscriberRange
    workers: int
    users_per_worker: int

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise LoadTestError(f"workers must be >= 1, got {self.workers}")
        if self.users_per_worker < 1:
            raise LoadTestError(f"users per worker must be >= 1, got {self.users_per_worker}")
        last = self.total - 1
        r = self.range
        for key, text in (("imsi_start", r.imsi_start), ("msisdn_start", r.msisdn_start)):
            if len(str(int(text) + last)) > len(text):
                raise LoadTestError(
                    f"subscribers.{key} {text} leaves no room for {self.total} subscribers"
                )

    @property
    def per_worker(self) -> int:
        return self.users_per_worker * SUBSCRIBERS_PER_USER

    @property
    def total(self) -> int:
        return self.workers * self.per_worker

    def index(self, worker: int, slot: int, member: int) -> int:
        """Position in the range of subscriber *member* (0 = A, 1 = B) of a user slot."""
        if not 0 <= worker < self.workers:
            raise LoadTestError(f"worker index {worker} outside 0..{self.workers - 1}")
        if not 0 <= slot < self.users_per_worker:
            raise LoadTestError(
                f"user slot {slot} outside 0..{self.users_per_worker - 1}: more users on one "
                "worker than subscribers were allocated for"
            )
        if member not in (0, 1):
            raise LoadTestError(f"member must be 0 or 1, got {member}")
        return worker * self.per_worker + slot * SUBSCRIBERS_PER_USER + member

    def subscriber(self, index: int) -> Subscriber:
        if not 0 <= index < self.total:
            raise LoadTestError(f"subscriber index {index} outside 0..{self.total - 1}")
        r = self.range
        imsi = str(int(r.imsi_start) + index).zfill(len(r.imsi_start))
        msisdn = str(int(r.msisdn_start) + index).zfill(len(r.msisdn_start))
        password = r.password.replace("{msisdn}", msisdn).replace("{imsi}", imsi)
        return Subscriber(imsi, msisdn, r.k.lower(), r.opc.lower(), password)

    def pair(self, worker: int, slot: int) -> tuple[Subscriber, Subscriber]:
        return (
            self.subscriber(self.index(worker, slot, 0)),
            self.subscriber(self.index(worker, slot, 1)),
        )

    def records(self) -> list[dict[str, str]]:
        return [self.subscriber(i).record() for i in range(self.total)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "range": self.range.model_dump(),
            "workers": self.workers,
            "users_per_worker": self.users_per_worker,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Allocation:
        return cls(
            SubscriberRange.model_validate(data["range"]),
            int(data["workers"]),
            int(data["users_per_worker"]),
        )


class SlotPool:
    """User slots of one worker: the lowest free slot is taken, a stopped user's returned."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = list(range(size))
        self._used: set[int] = set()

    def acquire(self) -> int:
        if not self._free:
            raise LoadTestError(f"all {self.size} user slots of this worker are in use")
        self._free.sort()
        slot = self._free.pop(0)
        self._used.add(slot)
        return slot

    def release(self, slot: int) -> None:
        if slot not in self._used:
            raise LoadTestError(f"slot {slot} is not in use")
        self._used.remove(slot)
        self._free.append(slot)

    @property
    def in_use(self) -> int:
        return len(self._used)

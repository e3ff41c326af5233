"""A coarse timer wheel for the many short-lived protocol timers of an NF.

Every SIP transaction starts two or three timers (RFC 3261 §17: E/F, J, K ...) and almost
all of them are cancelled long before they expire; every Diameter request arms a timeout.
A ``loop.call_later`` per timer costs a timer handle in the event loop (a libuv timer with
uvloop) to create and again to cancel. This wheel rounds each deadline **up** to the next
multiple of a tick and keeps one event-loop timer per tick that has timers due: starting a
timer is a dict insert, cancelling one a dict delete.

Rounding up keeps the protocols' semantics: the RFC timers are lower bounds ("fires after
T1 seconds"), and a timer fires at most one tick late. Timers due in the same tick fire in
the order they were started.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

# Resolution of the wheel (seconds): a timer fires at most this late. RFC 3261's shortest
# timer is T1 = 500 ms, so 10 ms is 2 % of it; with ~1000 transactions/s there are still
# about 10x fewer event-loop timers than protocol timers.
TIMER_TICK = 0.01


class WheelTimer:
    """A timer started by :meth:`TimerWheel.call_later`; :meth:`cancel` stops it."""

    __slots__ = ("_args", "_bucket", "_callback")

    def __init__(
        self, bucket: dict[WheelTimer, None], callback: Callable[..., object], args: tuple[Any, ...]
    ) -> None:
        self._bucket: dict[WheelTimer, None] | None = bucket
        self._callback: Callable[..., object] | None = callback
        self._args = args

    @property
    def active(self) -> bool:
        """True until the timer fired or was cancelled."""
        return self._bucket is not None

    def cancel(self) -> None:
        bucket = self._bucket
        if bucket is not None:
            self._bucket = None
            bucket.pop(self, None)
        self._callback, self._args = None, ()

    def _fire(self, bucket: dict[WheelTimer, None]) -> None:
        if self._bucket is not bucket:  # cancelled meanwhile
            return
        callback, args = self._callback, self._args
        self._bucket, self._callback, self._args = None, None, ()
        if callback is not None:
            callback(*args)


class TimerWheel:
    """Timers on one event loop, grouped by tick (see the module docstring)."""

    def __init__(self, tick: float = TIMER_TICK) -> None:
        if not tick > 0:
            raise ValueError(f"tick must be positive, not {tick!r}")
        self.tick = tick
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: dict[int, dict[WheelTimer, None]] = {}
        self._handles: dict[int, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        """Timers started and neither fired nor cancelled."""
        return sum(len(bucket) for bucket in self._slots.values())

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> WheelTimer:
        """Call ``callback(*args)`` on the running loop after at least ``delay`` seconds."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        slot = math.ceil((loop.time() + max(delay, 0.0)) / self.tick)
        bucket = self._slots.get(slot)
        if bucket is None:
            bucket = self._slots[slot] = {}
            self._handles[slot] = loop.call_at(slot * self.tick, self._fire_slot, slot)
        timer = WheelTimer(bucket, callback, args)
        bucket[timer] = None
        return timer

    def _fire_slot(self, slot: int) -> None:
        self._handles.pop(slot, None)
        bucket = self._slots.pop(slot, None)
        if not bucket:
            return
        # Timers started by these callbacks go to new slots; cancelled ones are skipped.
        for timer in list(bucket):
            timer._fire(bucket)

    def close(self) -> None:
        """Cancel every timer."""
        for handle in self._handles.values():
            handle.cancel()
        for bucket in self._slots.values():
            for timer in list(bucket):
                timer.cancel()
        self._handles.clear()
        self._slots.clear()

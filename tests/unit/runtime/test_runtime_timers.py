"""The timer wheel fires each timer once, never before its delay and at most a tick late, in
start order within a tick; cancelled timers never fire, even when cancelled by another
timer of the same tick; callbacks may start new timers."""

from __future__ import annotations

import asyncio

import pytest

from network_functions.runtime.timers import TimerWheel, WheelTimer

pytestmark = pytest.mark.unit


def test_timers_fire_after_their_delay_in_order() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        wheel = TimerWheel(tick=0.01)
        fired: list[tuple[str, float]] = []
        start = loop.time()
        for name, delay in [("b", 0.05), ("a", 0.02), ("c", 0.05), ("zero", 0.0)]:
            wheel.call_later(delay, lambda n=name, d=delay: fired.append((n, loop.time() - d)))
        assert len(wheel) == 4
        await asyncio.sleep(0.12)
        assert len(wheel) == 0
        return [(n, t - start) for n, t in fired]

    fired = asyncio.run(main())
    assert [n for n, _ in fired] == ["zero", "a", "b", "c"]
    for _, late in fired:
        assert -0.002 <= late < 0.06  # not early (ms rounding aside), at most a tick late + slack


def test_cancel_and_restart() -> None:
    async def main() -> list[str]:
        wheel = TimerWheel(tick=0.01)
        fired: list[str] = []
        holder: list[WheelTimer] = []
        # due in the same tick as the victim and started first: cancels it before it runs
        wheel.call_later(0.03, lambda: holder[0].cancel())
        victim = wheel.call_later(0.03, fired.append, "victim")
        holder.append(victim)
        gone = wheel.call_later(0.02, fired.append, "gone")
        gone.cancel()
        gone.cancel()  # idempotent
        assert not gone.active and victim.active

        def chain() -> None:
            fired.append("first")
            wheel.call_later(0.0, fired.append, "second")

        wheel.call_later(0.01, chain)
        await asyncio.sleep(0.1)
        assert not victim.active
        return fired

    assert asyncio.run(main()) == ["first", "second"]


def test_close_cancels_everything() -> None:
    async def main() -> list[str]:
        wheel = TimerWheel(tick=0.01)
        fired: list[str] = []
        timer = wheel.call_later(0.02, fired.append, "x")
        wheel.close()
        assert not timer.active and len(wheel) == 0
        wheel.call_later(0.01, fired.append, "after close")  # still usable
        await asyncio.sleep(0.05)
        return fired

    assert asyncio.run(main()) == ["after close"]


def test_tick_must_be_positive() -> None:
    with pytest.raises(ValueError, match="tick"):
        TimerWheel(tick=0)

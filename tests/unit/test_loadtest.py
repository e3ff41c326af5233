"""Unit tests of nfv.loadtest: traffic model, allocation, shapes, events, figures, CLI."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

from nfv.loadtest.events import Procedure, per_second, percentile, read_events, users_at
from nfv.loadtest.model import (
    Allocation,
    LoadTestError,
    SlotPool,
    SubscriberRange,
    TrafficModel,
)
from nfv.loadtest.shapes import (
    DiurnalShape,
    RampShape,
    SpikeShape,
    StepShape,
    parse_shape,
    shape_from_dict,
)

pytestmark = pytest.mark.unit


# -- traffic model -------------------------------------------------------------------------------


def test_offered_load_follows_from_the_traffic_model() -> None:
    # The issue's example: every 5 minutes a re-registration, a call every 30 minutes.
    model = TrafficModel(reregister_interval=300, bhca=2, holding_time=90)
    offered = model.offered(population=36_000)
    assert offered["register_per_s"] == pytest.approx(120.0)
    assert offered["calls_per_s"] == pytest.approx(20.0)
    assert offered["erlangs"] == pytest.approx(1800.0)
    # One Locust user is a pair of subscribers.
    assert model.offered_for_users(10) == model.offered(20)
    assert model.mean_call_interval == pytest.approx(1800.0)
    assert TrafficModel(bhca=0).mean_call_interval is None
    assert TrafficModel(bhca=0).call_rate(1000) == 0.0


def test_traffic_model_rejects_expiry_shorter_than_refresh() -> None:
    with pytest.raises(ValueError, match="register_expires"):
        TrafficModel(reregister_interval=600, register_expires=300)
    with pytest.raises(ValueError):
        TrafficModel(reregister_interval=0)
    with pytest.raises(ValueError):
        TrafficModel(bhca=-1)


# -- allocation ----------------------------------------------------------------------------------


def test_allocation_gives_disjoint_subscribers_to_workers_and_users() -> None:
    alloc = Allocation(SubscriberRange(), workers=3, users_per_worker=7)
    seen: set[str] = set()
    for worker, slot in itertools.product(range(3), range(7)):
        a, b = alloc.pair(worker, slot)
        assert a.imsi != b.imsi
        for sub in (a, b):
            assert sub.imsi not in seen
            seen.add(sub.imsi)
    assert len(seen) == alloc.total == 42
    assert {r["imsi"] for r in alloc.records()} == seen
    first = alloc.subscriber(0)
    assert first.imsi == "001010000100001" and first.msisdn == "15551000001"
    assert first.password == "lt-15551000001"
    assert len(alloc.subscriber(41).imsi) == 15


def test_allocation_refuses_out_of_range() -> None:
    alloc = Allocation(SubscriberRange(), workers=2, users_per_worker=3)
    with pytest.raises(LoadTestError, match="worker index 2"):
        alloc.pair(2, 0)
    with pytest.raises(LoadTestError, match="user slot 3"):
        alloc.pair(0, 3)
    with pytest.raises(LoadTestError, match="imsi_start"):
        Allocation(SubscriberRange(imsi_start="999999"), workers=1, users_per_worker=5)
    with pytest.raises(LoadTestError):
        Allocation(SubscriberRange(), workers=0, users_per_worker=5)
    again = Allocation.from_dict(alloc.as_dict())
    assert again == alloc


def test_slot_pool_reuses_the_lowest_released_slot() -> None:
    pool = SlotPool(3)
    assert [pool.acquire() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(LoadTestError, match="in use"):
        pool.acquire()
    pool.release(1)
    assert pool.in_use == 2
    assert pool.acquire() == 1
    with pytest.raises(LoadTestError):
        pool.release(7)


# -- shapes --------------------------------------------------------------------------------------


def test_step_shape() -> None:
    s = StepShape(start=10, step=5, step_seconds=10, steps=3)
    assert [s.users_at(t) for t in (0, 9.9, 10, 25, 29.9)] == [10, 10, 15, 20, 20]
    assert s.duration == 30 and s.peak_users == 20
    assert s.tick(31) is None
    tick = s.tick(0)
    assert tick is not None and tick[0] == 10


def test_ramp_shape_phases() -> None:
    s = RampShape(base=10, peak=50, warmup=5, ramp_up=20, hold=10, ramp_down=10, cooldown=5)
    assert s.duration == 50
    assert s.users_at(0) == 10
    assert s.users_at(15) == pytest.approx(30)
    assert s.users_at(25) == 50 and s.users_at(34.9) == 50
    assert s.users_at(40) == pytest.approx(30)
    assert s.users_at(49) == 10
    users, rate = s.tick(15) or (0, 0)
    assert users == 30 and rate >= 4  # at least twice the slope of 2 users/s
    with pytest.raises(ValueError, match="below base"):
        RampShape(base=50, peak=10)


def test_spike_and_diurnal_shapes() -> None:
    spike = SpikeShape(base=5, peak=80, warmup=10, spike=5, cooldown=10)
    assert [spike.users_at(t) for t in (9, 10, 14.9, 15)] == [5, 80, 80, 5]
    day = DiurnalShape(base=10, peak=110, period=100, cycles=2)
    assert day.duration == 200
    assert day.users_at(0) == pytest.approx(10)
    assert day.users_at(50) == pytest.approx(110)  # the busy hour, mid-period
    assert day.users_at(25) == pytest.approx(60)
    assert day.users_at(100) == pytest.approx(10)


def test_parse_shape_cli_form_and_errors_name_the_key() -> None:
    s = parse_shape("ramp:base=5,peak=40,hold=3")
    assert isinstance(s, RampShape) and s.peak == 40 and s.hold == 3
    with pytest.raises(LoadTestError, match="peak"):
        parse_shape("ramp:peak=lots")
    with pytest.raises(LoadTestError, match="bogus"):
        parse_shape("step:bogus=1")
    with pytest.raises(LoadTestError, match="kind"):
        parse_shape("sawtooth")
    with pytest.raises(LoadTestError, match="key=value"):
        parse_shape("ramp:peak")
    with pytest.raises(LoadTestError, match=r"shape\.spawn_rate"):
        shape_from_dict({"kind": "spike", "spawn_rate": 0})


# -- plans ---------------------------------------------------------------------------------------

REFERENCE = Path(__file__).resolve().parents[2] / "experiments" / "elastic-volte.yaml"


def _plan(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "t",
        "shape": {"kind": "ramp", "base": 1, "peak": 5},
        "watch": ["pcscf"],
    }
    base.update(over)
    return base


def test_reference_plan_is_valid() -> None:
    from nfv.loadtest.plan import load_plan

    plan = load_plan(REFERENCE)
    assert plan.platform.kind == "local"
    assert plan.load_shape().peak_users > plan.load_shape().users_at(0)
    assert "scscf" in plan.watch


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"bogus": 1}, "bogus: unknown key"),
        ({"slo": {"failure_ratio": 2}}, "slo.failure_ratio"),
        ({"slo": {"call_setup_p95_ms": -5}}, "slo.call_setup_p95_ms"),
        ({"slo": {"p99": 5}}, "slo.p99: unknown key"),
        ({"shape": {"kind": "ramp", "base": 9, "peak": 1}}, "shape"),
        ({"shape": {"kind": "ramp", "hold": -1}}, "shape.hold"),
        ({"watch": ["mme2"]}, "watch: unknown NF"),
        ({"watch": []}, "watch"),
        ({"traffic": {"bhca": -1}}, "traffic.bhca"),
        ({"workers": 99}, "workers"),
        ({"platform": {"kind": "mainframe"}}, "platform.kind"),
        ({"platform": {"store": "cassandra"}}, "platform.store"),
        ({"platform": {"values": {"autoscaling": {"enabled": "maybe"}}}}, "autoscaling.enabled"),
        ({"platform": {"profile": "nope"}}, "unknown profile"),
    ],
)
def test_bad_plans_name_the_key(override: dict[str, object], key: str) -> None:
    from nfv.loadtest.plan import validate_plan

    with pytest.raises(LoadTestError) as info:
        validate_plan(_plan(**override))
    assert key in str(info.value)


def test_plan_must_be_a_mapping() -> None:
    from nfv.loadtest.plan import validate_plan

    with pytest.raises(LoadTestError, match="mapping"):
        validate_plan(["not", "a", "plan"])


def test_cli_experiment_bad_plan_exits_1_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nfv.cli import main

    plan = tmp_path / "bad.yaml"
    plan.write_text("name: x\nshape: {kind: ramp}\nwatch: [pcscf]\nslo: {failure_ratio: 7}\n")
    assert main(["experiment", str(plan), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "slo.failure_ratio" in err
    assert not (tmp_path / "out").exists()  # nothing started for a bad plan
    assert main(["experiment", str(tmp_path / "missing.yaml"), "-o", str(tmp_path)]) == 1
    assert "cannot read the plan" in capsys.readouterr().err


def test_cli_loadtest_bad_shape_and_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nfv.cli import main

    assert main(["loadtest", "ims", "--shape", "ramp:peak=x", "-o", str(tmp_path)]) == 1
    assert "peak" in capsys.readouterr().err
    assert main(["loadtest", "voip", "-o", str(tmp_path)]) == 1
    assert "unknown scenario 'voip'" in capsys.readouterr().err
    state = tmp_path / "nothing-here"
    assert main(["loadtest", "ims", "--state-dir", str(state), "-o", str(tmp_path)]) == 1
    assert "no local core to load" in capsys.readouterr().err


def test_the_cli_never_imports_locust_or_gevent() -> None:
    import nfv.cli
    import nfv.loadtest.experiment
    import nfv.loadtest.runner

    nfv.cli.build_parser()
    assert "locust" not in sys.modules
    assert "gevent" not in sys.modules


# -- events and figures --------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_read_events_and_per_second(tmp_path: Path) -> None:
    (tmp_path / "events-1.csv").write_text(
        "U,100.0,2,4\n"
        "R,100.2,100.0,register,1,\n"
        "R,100.5,700.0,call-setup,1,\n"
        "R,101.1,50.0,re-register,0,REGISTER answered 503 Service Unavailable\n"
        "U,101.0,3,6\n"
        "R,101.2,5"  # a partial last line of a killed process
    )
    (tmp_path / "events-2.csv").write_text("U,100.5,1,2\n")
    data = read_events(tmp_path)
    assert len(data.procedures) == 3 and data.bad_lines == 1
    assert users_at(data, 100.7) == (3, 6)
    assert users_at(data, 101.5) == (4, 8)
    secs = per_second(data.procedures, 100.0, 3)
    assert [s.offered for s in secs] == [2, 1, 0]
    assert [s.achieved for s in secs] == [1, 1, 0]  # the call finished in second 1
    assert [s.failed for s in secs] == [0, 1, 0]
    assert secs[1].by_name["call-setup"] == [700.0]
    p = Procedure(1.0, 1500.0, "x", True, "")
    assert p.end == 2.5


def test_figures_match_the_timeseries(tmp_path: Path) -> None:
    from nfv.loadtest.events import EventData
    from nfv.loadtest.experiment import Sample, build_timeseries, derive_figures
    from nfv.loadtest.plan import validate_plan

    plan = validate_plan(
        _plan(
            watch=["pcscf"],
            slo={"call_setup_p95_ms": 100, "failure_ratio": 0.0, "window_seconds": 1},
            shape={"kind": "constant", "users": 2, "run_seconds": 8},
        )
    )
    t0 = 1000.0
    procs = [Procedure(t0 + t + 0.1, 20.0, "call-setup", True, "") for t in range(8)]
    procs[3] = Procedure(t0 + 3.1, 400.0, "call-setup", True, "")  # over the SLO
    procs[5] = Procedure(t0 + 5.1, 20.0, "re-register", False, "timeout")
    data = EventData(procedures=procs, ticks={"e": [(t0, 2, 4)]})
    desired = [1, 1, 2, 2, 2, 2, 1, 1]
    ready = [1, 1, 1, 2, 2, 2, 2, 1]
    samples = [
        Sample(
            t0 + t + 0.01,
            {"pcscf": {"desired": desired[t], "ready": ready[t], "cpu_percent": 5.0}},
            4,
        )
        for t in range(8)
    ]
    rows = build_timeseries(plan, data, samples, t0, 8)
    f = derive_figures(plan, rows, data, load_seconds=8)
    assert [r["over_slo"] for r in rows] == [0, 0, 0, 1, 0, 1, 0, 0]
    assert f["time_over_slo_s"] == sum(r["over_slo"] for r in rows) == 2
    assert f["procedures"]["failed"] == sum(r["failed_per_s"] for r in rows) == 1
    assert f["scale_out_events"] == [
        {"nf": "pcscf", "t": 2, "from": 1, "to": 2, "ready_t": 3, "reaction_s": 1}
    ]
    assert f["scale_in_events"] == [{"nf": "pcscf", "t": 6, "from": 2, "to": 1}]
    assert f["replica_seconds"]["used"]["pcscf"] == sum(ready) == 12
    assert f["replica_seconds"]["static_peak"]["pcscf"] == 16
    assert f["max_replicas"] == {"pcscf": 2}
    assert f["registrations"]["lost"] == 0
    assert f["registrations"]["before"]["core"] == 4
    assert f["capacity_by_replicas"]["pcscf"] == {"1": 1.0, "2": 1.0}
    assert json.loads(json.dumps(f)) == f  # serialisable as results.json

"""The HPA algorithm (nfv.scaling) against the Kubernetes documentation's examples and rules.

Sections cited are those of the Kubernetes docs page "Horizontal Pod Autoscaling".
"""

from __future__ import annotations

from typing import Any

import pytest

from nfv.errors import ValuesError
from nfv.scaling import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    Behavior,
    HorizontalAutoscaler,
    MetricProposal,
    PodSample,
    ScalingPolicy,
    ScalingRules,
    autoscaling_values,
    metric_replicas,
    parse_cpu,
)

pytestmark = pytest.mark.unit

NOW = 10_000.0
OLD = NOW - 3_600.0  # started and ready long ago: past every initialization period


def pod(name: str, value: float | None, **kw: Any) -> PodSample:
    fields: dict[str, Any] = {"started_at": OLD, "ready_since": OLD + 5, "metric_timestamp": NOW}
    fields.update(kw)
    return PodSample(name, value, **fields)


def avg(values: list[float | None], target: float, current: int | None = None) -> int | None:
    samples = [pod(f"p{i}", v) for i, v in enumerate(values)]
    return metric_replicas(
        samples,
        current_replicas=current if current is not None else len(values),
        target=target,
        kind="AverageValue",
        cpu=False,
        now=NOW,
    ).replicas


def cpu(samples: list[PodSample], target: float, current: int | None = None) -> MetricProposal:
    return metric_replicas(
        samples,
        current_replicas=current if current is not None else len(samples),
        target=target,
        kind="Utilization",
        cpu=True,
        now=NOW,
    )


# -- "Algorithm details" ---------------------------------------------------------------------


def test_doc_example_double_when_metric_is_twice_the_target() -> None:
    # "if the current metric value is 200m, and the desired value is 100m, the number of
    # replicas will be doubled, since 200.0 / 100.0 == 2.0"
    assert avg([0.2], 0.1) == 2
    assert avg([0.2, 0.2, 0.2], 0.1) == 6


def test_doc_example_halve_when_metric_is_half_the_target() -> None:
    # "If the current value is instead 50m, you'll halve the number of replicas"
    assert avg([0.05, 0.05, 0.05, 0.05], 0.1) == 2


def test_result_is_rounded_up() -> None:
    # desiredReplicas = ceil[currentReplicas * ( currentMetricValue / desiredMetricValue )]
    assert avg([120, 120, 120], 100) == 4  # 3.6 -> 4
    assert avg([10, 10, 10], 100) == 1  # 0.3 -> 1


def test_tolerance_skips_small_changes() -> None:
    # "If the ratio is sufficiently close to 1.0 (within a globally-configurable tolerance,
    # 0.1 by default), the control plane skips any scaling action."
    assert avg([105, 105], 100) == 2
    assert avg([91, 91], 100) == 2
    assert avg([110, 110], 100) == 2  # exactly at the tolerance edge: still skipped
    assert avg([90, 90], 100) == 2
    assert avg([112, 112], 100) == 3
    assert avg([89, 89, 89, 89], 100) == 4  # ratio 0.89 -> ceil(3.56) = 4
    assert avg([70, 70, 70, 70], 100) == 3


def test_tolerance_is_configurable() -> None:
    samples = [pod("a", 105.0), pod("b", 105.0)]
    proposal = metric_replicas(
        samples,
        current_replicas=2,
        target=100,
        kind="AverageValue",
        cpu=False,
        now=NOW,
        tolerance=0.01,
    )
    assert proposal.replicas == 3


def test_utilization_is_relative_to_each_pods_request() -> None:
    # Resource utilization = usage / request, averaged over pods (as a percentage).
    samples = [pod("a", 0.9, request=1.0), pod("b", 0.9, request=1.0), pod("c", 0.9, request=1.0)]
    proposal = cpu(samples, target=60)
    assert proposal.replicas == 5  # 90 % / 60 % = 1.5 -> ceil(4.5)
    assert proposal.usage == pytest.approx(90.0)
    half_core = [pod("a", 0.25, request=0.5), pod("b", 0.25, request=0.5)]
    assert cpu(half_core, target=50).replicas == 2  # 50 % of request: on target
    # utilization is a whole percentage, truncated like the controller's int32()
    assert cpu([pod("a", 0.299)], target=10).usage == 29.0


def test_pods_being_deleted_or_failed_are_ignored() -> None:
    # "any Pod with a deletion timestamp set ... and all failed Pods are discarded"
    samples = [
        pod("a", 100.0),
        pod("b", 100.0),
        pod("gone", 1000.0, deleting=True),
        pod("failed", 1000.0, failed=True),
    ]
    p = metric_replicas(
        samples, current_replicas=2, target=100, kind="AverageValue", cpu=False, now=NOW
    )
    assert p.replicas == 2


def test_missing_metrics_on_scale_down_count_as_full_target() -> None:
    # "If the Pod ... is missing metrics ... in the case of a scale down, [assumed] to be
    # consuming 100% of the desired value"
    samples = [pod("a", 10.0), pod("b", 10.0), pod("c", 10.0), pod("d", None)]
    p = metric_replicas(
        samples, current_replicas=4, target=100, kind="AverageValue", cpu=False, now=NOW
    )
    assert p.replicas == 2  # (10+10+10+100)/4/100 = 0.325 -> ceil(1.3)


def test_missing_metrics_on_scale_down_utilization_fallback_is_max_100_target() -> None:
    samples = [pod("a", 0.1), pod("b", 0.1), pod("c", 0.1), pod("d", None)]
    # ratio 10/120 < 1; the missing pod counts as max(100, 120) % of its request
    p = cpu(samples, target=120)
    assert p.replicas == 2  # (10+10+10+120)/4 = 37.5 % of 120 -> 0.3125*4 = 1.25 -> 2


def test_missing_metrics_on_scale_up_count_as_zero() -> None:
    # "... in the case of a scale up, [assumed] to be consuming 0% of the desired value"
    assert avg([300.0, None], 100, current=2) == 3  # (300+0)/2/100 = 1.5 -> 3
    assert avg([200.0, None], 100, current=2) == 2  # (200+0)/2/100 = 1.0 -> no change


def test_missing_metrics_that_reverse_the_direction_mean_no_change() -> None:
    # "If either of these change the direction of the scale ... skip scaling"
    assert avg([20.0, None], 50, current=2) == 2  # 0.4 -> with 100 %: (20+50)/2/50 = 0.7 ...
    assert avg([20.0, None, None], 30, current=3) == 3  # 0.67 -> (20+30+30)/3/30 = 0.89


def test_not_yet_ready_pods_count_as_zero_on_scale_up() -> None:
    # "not-yet-ready pods ... assumed to be consuming 0% of the desired metric" (scale up)
    samples = [pod("a", 2.0), pod("b", 5.0, ready=False)]
    assert cpu(samples, target=100).replicas == 2  # (200+0)/2 = 100 % -> on target
    samples = [pod("a", 4.0), pod("b", 5.0, ready=False)]
    assert cpu(samples, target=100).replicas == 4  # (400+0)/2 = 200 % -> ceil(2*2)


def test_not_yet_ready_pods_are_ignored_on_scale_down() -> None:
    samples = [pod("a", 0.2), pod("b", 5.0, ready=False)]
    assert cpu(samples, target=100).replicas == 1  # only a counts: 0.2 * 1 ready pod


def test_pending_pods_are_unready_for_any_metric() -> None:
    samples = [pod("a", 400.0), pod("b", None, pending=True)]
    p = metric_replicas(
        samples, current_replicas=2, target=100, kind="AverageValue", cpu=False, now=NOW
    )
    assert p.replicas == 4  # (400 + 0) / 2 = 2.0 -> 4


def test_cpu_sample_from_before_readiness_is_set_aside_during_initialization() -> None:
    # Within --horizontal-pod-autoscaler-cpu-initialization-period a sample only counts
    # if the pod is ready and the sample was taken a full window after it became ready.
    young = pod("b", 5.0, started_at=NOW - 20, ready_since=NOW - 10, metric_window=30.0)
    samples = [pod("a", 0.5), young]
    assert cpu(samples, target=100).replicas == 1  # b set aside: 50 % on one pod
    settled = pod("b", 5.0, started_at=NOW - 60, ready_since=NOW - 50, metric_window=30.0)
    assert cpu([pod("a", 0.5), settled], target=100).replicas == 6  # (50+500)/2 % -> 5.5


def test_cpu_pod_that_turned_unready_after_the_readiness_delay_still_counts() -> None:
    # Past the initialization period an unready pod is set aside only if it never was
    # ready (turned unready within --horizontal-pod-autoscaler-initial-readiness-delay).
    flapping = pod("b", 3.0, ready=False, started_at=OLD, ready_since=OLD + 600)
    assert cpu([pod("a", 3.0), flapping], target=100).replicas == 6
    never = pod("b", 3.0, ready=False, started_at=OLD, ready_since=OLD + 1)
    assert cpu([pod("a", 3.0), never], target=100).replicas == 3  # scale up, b as 0 %


def test_pod_without_start_or_readiness_time_is_unready_for_cpu() -> None:
    samples = [pod("a", 0.5), pod("b", 9.0, started_at=None)]
    assert cpu(samples, target=100).replicas == 1


def test_no_usable_metrics_is_an_invalid_proposal() -> None:
    p = cpu([pod("a", None), pod("b", 1.0, ready=False)], target=50)
    assert p.replicas is None
    assert "no metrics" in p.reason


def test_target_must_be_positive() -> None:
    with pytest.raises(ValueError):
        avg([1.0], 0)


# -- the controller: several metrics, min/max ------------------------------------------------


def hpa(lo: int = 1, hi: int = 10, behavior: Behavior | None = None) -> HorizontalAutoscaler:
    return HorizontalAutoscaler(lo, hi, behavior or Behavior())


def test_max_over_metrics() -> None:
    # "the HorizontalPodAutoscaler ... chooses the largest [proposal]"
    d = hpa().sync(now=0, current_replicas=2, proposals=[MetricProposal(3), MetricProposal(5)])
    assert d.desired == 5 and d.changed


def test_invalid_metric_blocks_scale_down_but_not_scale_up() -> None:
    # "If any of these metrics cannot be converted ... scale up if the others say so;
    # no scale down"
    d = hpa().sync(now=0, current_replicas=4, proposals=[MetricProposal(None), MetricProposal(2)])
    assert d.desired == 4 and not d.changed
    d = hpa().sync(now=0, current_replicas=4, proposals=[MetricProposal(None), MetricProposal(6)])
    assert d.desired == 6
    d = hpa().sync(now=0, current_replicas=4, proposals=[MetricProposal(None, reason="x")])
    assert d.desired == 4 and d.reason == "x"
    assert hpa().sync(now=0, current_replicas=4, proposals=[]).desired == 4


def test_clamped_to_min_and_max() -> None:
    d = hpa(2, 5).sync(now=0, current_replicas=3, proposals=[MetricProposal(9)])
    assert (d.desired, d.reason) == (5, "min/max replicas")
    d = hpa(2, 5).sync(now=0, current_replicas=3, proposals=[MetricProposal(4)])
    assert (d.desired, d.reason) == (4, "metrics")
    scaler = hpa(2, 5, Behavior(scale_down=ScalingRules(0, DEFAULT_SCALE_DOWN.policies)))
    assert scaler.sync(now=0, current_replicas=3, proposals=[MetricProposal(0)]).desired == 2
    d = hpa(2, 5).sync(now=0, current_replicas=8, proposals=[MetricProposal(8)])
    assert (d.desired, d.reason) == (5, "above maxReplicas")
    d = hpa(2, 5).sync(now=0, current_replicas=1, proposals=[MetricProposal(1)])
    assert (d.desired, d.reason) == (2, "below minReplicas")


def test_scaled_to_zero_disables_autoscaling() -> None:
    d = hpa(1, 5).sync(now=0, current_replicas=0, proposals=[MetricProposal(3)])
    assert d.desired == 0 and not d.changed


def test_bad_bounds_rejected() -> None:
    with pytest.raises(ValueError):
        HorizontalAutoscaler(3, 2)


# -- "Stabilization window" --------------------------------------------------------------------


def test_scale_down_stabilization_uses_highest_recommendation_in_window() -> None:
    # Default scale-down window 300 s: "the highest recommendation within the window".
    scaler = hpa(1, 10)
    assert scaler.sync(now=0, current_replicas=5, proposals=[MetricProposal(5)]).desired == 5
    d = scaler.sync(now=60, current_replicas=5, proposals=[MetricProposal(2)])
    assert (d.desired, d.reason) == (5, "stabilization window")
    assert scaler.sync(now=200, current_replicas=5, proposals=[MetricProposal(3)]).desired == 5
    # t=301: the recommendation of 5 (t=0) left the window; highest left is 3.
    d = scaler.sync(now=301, current_replicas=5, proposals=[MetricProposal(2)])
    assert d.desired == 3
    # t=361: 2 (t=60) and 3 (t=200) remain ... 3 still in the window.
    assert scaler.sync(now=361, current_replicas=3, proposals=[MetricProposal(2)]).desired == 3
    assert scaler.sync(now=501, current_replicas=3, proposals=[MetricProposal(2)]).desired == 2


def test_scale_up_is_immediate_by_default() -> None:
    scaler = hpa(1, 10)
    assert scaler.sync(now=0, current_replicas=2, proposals=[MetricProposal(4)]).desired == 4


def test_scale_up_stabilization_uses_lowest_recommendation_in_window() -> None:
    behavior = Behavior(scale_up=ScalingRules(60, DEFAULT_SCALE_UP.policies))
    scaler = hpa(1, 10, behavior)
    assert scaler.sync(now=0, current_replicas=2, proposals=[MetricProposal(2)]).desired == 2
    assert scaler.sync(now=10, current_replicas=2, proposals=[MetricProposal(6)]).desired == 2
    assert scaler.sync(now=61, current_replicas=2, proposals=[MetricProposal(6)]).desired == 6


def test_flapping_metric_does_not_flap_replicas() -> None:
    scaler = hpa(1, 10)
    desired = 4
    for t, proposal in enumerate([4, 1, 4, 1, 4, 1, 4, 1]):
        desired = scaler.sync(
            now=t * 15.0, current_replicas=desired, proposals=[MetricProposal(proposal)]
        ).desired
        assert desired == 4


# -- "Scaling policies" -------------------------------------------------------------------------


def test_default_scale_up_is_max_of_100_percent_and_4_pods_per_15s() -> None:
    scaler = hpa(1, 100)
    # from 1: max(ceil(1 * 2), 1 + 4) = 5
    d = scaler.sync(now=0, current_replicas=1, proposals=[MetricProposal(50)])
    assert (d.desired, d.reason) == (5, "scaling policy")
    # within the same 15 s the period started at 1, so the limit is still 5
    assert scaler.sync(now=10, current_replicas=5, proposals=[MetricProposal(50)]).desired == 5
    # a new period: from 5: max(10, 9) = 10
    assert scaler.sync(now=16, current_replicas=5, proposals=[MetricProposal(50)]).desired == 10
    assert scaler.sync(now=32, current_replicas=10, proposals=[MetricProposal(50)]).desired == 20


def test_doc_example_scale_down_pods_4_or_percent_10_per_minute() -> None:
    # "if there are 80 replicas and the target has to be scaled down to 10 replicas then
    # during the first step 8 replicas will be reduced. In the next iteration when the
    # number of replicas is 72, 10% of the pods is 7.2 but the number is rounded up to 8
    # ... When the number of replicas falls below 40 the first policy (Pods) is applied
    # and 4 replicas will be reduced at a time."
    rules = ScalingRules(0, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)), "Max")
    scaler = hpa(1, 100, Behavior(scale_down=rules))
    current, t, steps = 80, 0.0, []
    while current > 10:
        d = scaler.sync(now=t, current_replicas=current, proposals=[MetricProposal(10)])
        if d.desired != current:
            steps.append(current - d.desired)
            current = d.desired
        t += 61
    assert steps[:2] == [8, 8]
    assert current == 10
    # below 40 replicas the Pods policy (4) allows more change than 10 %
    at_30 = hpa(1, 100, Behavior(scale_down=rules))
    assert at_30.sync(now=0, current_replicas=30, proposals=[MetricProposal(10)]).desired == 26


def test_policies_limit_change_within_their_period() -> None:
    rules = ScalingRules(0, (ScalingPolicy("Pods", 4, 60),), "Max")
    scaler = hpa(1, 100, Behavior(scale_down=rules))
    assert scaler.sync(now=0, current_replicas=20, proposals=[MetricProposal(1)]).desired == 16
    # 30 s later, the 4 pods removed at t=0 still count against the 60 s period
    assert scaler.sync(now=30, current_replicas=16, proposals=[MetricProposal(1)]).desired == 16
    assert scaler.sync(now=61, current_replicas=16, proposals=[MetricProposal(1)]).desired == 12


def test_select_policy_min_picks_the_smallest_change() -> None:
    rules = ScalingRules(0, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 50, 60)), "Min")
    scaler = hpa(1, 100, Behavior(scale_down=rules))
    # Pods: 20-4 = 16; Percent: int(20*0.5) = 10; Min change -> 16
    assert scaler.sync(now=0, current_replicas=20, proposals=[MetricProposal(1)]).desired == 16
    up = ScalingRules(0, (ScalingPolicy("Pods", 1, 60), ScalingPolicy("Percent", 100, 60)), "Min")
    scaler = hpa(1, 100, Behavior(scale_up=up))
    assert scaler.sync(now=0, current_replicas=4, proposals=[MetricProposal(20)]).desired == 5


def test_select_policy_disabled_blocks_that_direction() -> None:
    # "selectPolicy: Disabled" turns scaling in that direction off.
    behavior = Behavior(scale_down=ScalingRules(0, DEFAULT_SCALE_DOWN.policies, "Disabled"))
    scaler = hpa(1, 10, behavior)
    assert scaler.sync(now=0, current_replicas=5, proposals=[MetricProposal(1)]).desired == 5
    assert scaler.sync(now=1, current_replicas=5, proposals=[MetricProposal(8)]).desired == 8


def test_percent_scale_up_is_rounded_up() -> None:
    rules = ScalingRules(0, (ScalingPolicy("Percent", 10, 60),), "Max")
    scaler = hpa(1, 100, Behavior(scale_up=rules))
    assert scaler.sync(now=0, current_replicas=3, proposals=[MetricProposal(9)]).desired == 4
    # 10 * 1.1 is 11.000000000000002 in binary floating point: still 11
    scaler = hpa(1, 100, Behavior(scale_up=rules))
    assert scaler.sync(now=0, current_replicas=10, proposals=[MetricProposal(50)]).desired == 11


def test_default_scale_down_policy_allows_going_straight_to_min_after_the_window() -> None:
    scaler = hpa(2, 20)
    scaler.sync(now=0, current_replicas=12, proposals=[MetricProposal(12)])
    d = scaler.sync(now=301, current_replicas=12, proposals=[MetricProposal(1)])
    assert d.desired == 2  # 100 % per 15 s, clamped at minReplicas


def test_manual_scale_events_count_against_policies() -> None:
    rules = ScalingRules(0, (ScalingPolicy("Pods", 2, 60),), "Max")
    scaler = hpa(1, 100, Behavior(scale_up=rules))
    scaler.record_scale(now=0, previous=2, new=4)
    assert scaler.sync(now=10, current_replicas=4, proposals=[MetricProposal(10)]).desired == 4
    assert scaler.sync(now=61, current_replicas=4, proposals=[MetricProposal(10)]).desired == 6


def test_policy_and_rules_validation() -> None:
    with pytest.raises(ValueError):
        ScalingPolicy("Pods", 0, 15)
    with pytest.raises(ValueError):
        ScalingPolicy("Percent", 10, 1801)
    with pytest.raises(ValueError):
        ScalingRules(3601, ())


# -- the `autoscaling` values key ------------------------------------------------------------------


def test_autoscaling_values_defaults_and_behavior() -> None:
    settings = autoscaling_values({})
    assert not settings.enabled and settings.sync_period_seconds == 15 and settings.tolerance == 0.1
    settings = autoscaling_values(
        {
            "autoscaling": {
                "enabled": True,
                "nfs": {
                    "scscf": {
                        "min": 1,
                        "max": 4,
                        "cpu_limit": "500m",
                        "behavior": {
                            "scale_down": {
                                "stabilization_window_seconds": 30,
                                "policies": [{"type": "Pods", "value": 1, "period_seconds": 10}],
                            },
                            "scale_up": {"select_policy": "Disabled"},
                        },
                    }
                },
            }
        }
    )
    scscf = settings.nfs["scscf"]
    assert scscf.cpu_limit_cores == 0.5
    behavior = scscf.behavior.behavior()
    assert behavior.scale_down == ScalingRules(30, (ScalingPolicy("Pods", 1, 10),), "Max")
    assert behavior.scale_up.select_policy == "Disabled"
    assert behavior.scale_up.policies == DEFAULT_SCALE_UP.policies


@pytest.mark.parametrize(
    ("nfs", "needle"),
    [
        ({"scscf": {"min": 5, "max": 2}}, "min (5) is greater than max (2)"),
        ({"scscf": {"cpu_limit": "lots"}}, "autoscaling.nfs.scscf"),
        ({"scscf": {"target_cpu_percent": 0}}, "target_cpu_percent"),
        ({"scscf": {"behaviour": {}}}, "behaviour"),
        ({"scscf": {"behavior": {"scale_up": {"select_policy": "Maybe"}}}}, "select_policy"),
    ],
)
def test_autoscaling_values_errors_name_the_field(nfs: dict[str, object], needle: str) -> None:
    with pytest.raises(ValuesError, match="values fail the schema") as err:
        autoscaling_values({"autoscaling": {"enabled": True, "nfs": nfs}})
    assert needle in str(err.value)


def test_parse_cpu() -> None:
    assert parse_cpu("250m") == 0.25
    assert parse_cpu("2") == 2.0
    assert parse_cpu(0.5) == 0.5
    for bad in ("0", "-1", "abc", "nanm"):
        with pytest.raises(ValueError):
            parse_cpu(bad)

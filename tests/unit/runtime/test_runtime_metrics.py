"""Metrics: text format 0.0.4 rendering (escaping, histograms) and parse_metrics."""

from __future__ import annotations

import logging
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.runtime.metrics import DEFAULT_BUCKETS, Registry, parse_metrics

pytestmark = pytest.mark.unit


def test_render_golden() -> None:
    r = Registry()
    c = r.counter("sip_requests_total", "SIP requests received", ("method",))
    c.labels("INVITE").inc()
    c.labels("INVITE").inc(2)
    c.labels("REGISTER").inc()
    up = r.gauge("nfv_up", "1 while the process runs")
    up.set(1)
    h = r.histogram("lat_seconds", "latency", buckets=(0.1, 1))
    h.observe(0.05)
    h.observe(0.1)  # le is inclusive
    h.observe(3)
    assert r.render() == (
        "# HELP sip_requests_total SIP requests received\n"
        "# TYPE sip_requests_total counter\n"
        'sip_requests_total{method="INVITE"} 3\n'
        'sip_requests_total{method="REGISTER"} 1\n'
        "# HELP nfv_up 1 while the process runs\n"
        "# TYPE nfv_up gauge\n"
        "nfv_up 1\n"
        "# HELP lat_seconds latency\n"
        "# TYPE lat_seconds histogram\n"
        'lat_seconds_bucket{le="0.1"} 2\n'
        'lat_seconds_bucket{le="1.0"} 2\n'
        'lat_seconds_bucket{le="+Inf"} 3\n'
        "lat_seconds_sum 3.15\n"
        "lat_seconds_count 3\n"
    )


def test_escaping() -> None:
    r = Registry()
    c = r.counter("x_total", 'help with \\ and\nnewline and "quotes"', ("v",))
    c.labels('a"b\\c\nd').inc()
    text = r.render()
    assert '# HELP x_total help with \\\\ and\\nnewline and "quotes"\n' in text
    assert 'x_total{v="a\\"b\\\\c\\nd"} 1\n' in text
    assert parse_metrics(text) == {("x_total", (("v", 'a"b\\c\nd'),)): 1.0}


def test_labelled_histogram_and_parse_round_trip() -> None:
    r = Registry()
    h = r.histogram("diameter_request_seconds", "t", ("command",))
    for v in (0.0001, 0.003, 0.2, 50):
        h.labels("UAR").observe(v)
    h.labels("MAR").observe(0.01)
    parsed = parse_metrics(r.render())
    assert parsed[("diameter_request_seconds_count", (("command", "UAR"),))] == 4
    assert parsed[("diameter_request_seconds_bucket", (("command", "UAR"), ("le", "+Inf")))] == 4
    assert parsed[("diameter_request_seconds_bucket", (("command", "UAR"), ("le", "0.005")))] == 2
    assert parsed[("diameter_request_seconds_bucket", (("command", "MAR"), ("le", "0.01")))] == 1
    assert parsed[("diameter_request_seconds_sum", (("command", "UAR"),))] == pytest.approx(50.2031)
    # cumulative buckets never decrease
    uar = [
        parsed[("diameter_request_seconds_bucket", (("command", "UAR"), ("le", le)))]
        for le in [repr(float(b)) for b in DEFAULT_BUCKETS] + ["+Inf"]
    ]
    assert uar == sorted(uar)


def test_gauge_operations_and_function() -> None:
    r = Registry()
    g = r.gauge("g", "g")
    g.set(5)
    g.inc()
    g.dec(2.5)
    assert g.value == 3.5
    size = [0]
    live = r.gauge("live", "live")
    live.set_function(lambda: float(size[0]))
    size[0] = 7
    assert parse_metrics(r.render())[("live", ())] == 7
    size[0] = 9
    assert parse_metrics(r.render())[("live", ())] == 9
    lg = r.gauge("per_peer", "p", ("peer",))
    lg.labels("hss").set(2)
    lg.labels("hss").set_function(lambda: 4.0)
    assert parse_metrics(r.render())[("per_peer", (("peer", "hss"),))] == 4


def test_failing_gauge_function_renders_nan(caplog: pytest.LogCaptureFixture) -> None:
    r = Registry()
    r.gauge("bad", "b").set_function(lambda: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="nfv.metrics"):
        text = r.render()
    assert "bad NaN\n" in text
    assert math.isnan(parse_metrics(text)[("bad", ())])
    assert caplog.records


def test_counter_rules() -> None:
    r = Registry()
    c = r.counter("c_total", "c")
    c.inc()
    c.inc(2.5)
    assert c.value == 3.5
    with pytest.raises(ValueError, match="only goes up"):
        c.inc(-1)
    lc = r.counter("l_total", "l", ("a", "b"))
    with pytest.raises(ValueError, match="labels"):
        lc.inc()
    with pytest.raises(ValueError, match=r"2 values|labels"):
        lc.labels("x")
    with pytest.raises(ValueError, match="only goes up"):
        lc.labels("x", "y").inc(-1)
    # int and str label values are the same series
    lc.labels("x", 200).inc()
    lc.labels("x", "200").inc()
    assert parse_metrics(r.render())[("l_total", (("a", "x"), ("b", "200")))] == 2


def test_labelled_metric_without_series_renders_only_metadata() -> None:
    r = Registry()
    r.counter("none_total", "n", ("x",))
    assert r.render() == "# HELP none_total n\n# TYPE none_total counter\n"


def test_registration() -> None:
    r = Registry()
    a = r.counter("same_total", "s", ("m",))
    assert r.counter("same_total", "other help", ("m",)) is a
    with pytest.raises(ValueError, match="already registered"):
        r.gauge("same_total", "s", ("m",))
    with pytest.raises(ValueError, match="already registered"):
        r.counter("same_total", "s", ("x",))
    h = r.histogram("h", "h", buckets=(1, 2))
    assert r.histogram("h", "h", buckets=(2, 1)) is h
    with pytest.raises(ValueError):
        r.histogram("h", "h", buckets=(1, 3))
    for bad in ("1abc", "a-b", "", "a b"):
        with pytest.raises(ValueError, match="invalid metric name"):
            r.counter(bad, "x")
    for bad_label in ("1a", "a-b", "__reserved"):
        with pytest.raises(ValueError, match="invalid label name"):
            r.counter("ok_total", "x", (bad_label,))
    with pytest.raises(ValueError, match="repeated"):
        r.counter("ok2_total", "x", ("a", "a"))
    with pytest.raises(ValueError, match="'le'"):
        r.histogram("h2", "x", ("le",))
    assert r.get("same_total") is a and r.get("missing") is None


def test_parse_prometheus_text() -> None:
    text = """
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total { method = "post" , code = "400" , } 3 1395066363000
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",\
error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
nan_metric NaN
neg -Inf
x_bucket{le="0.5"} 7 # {trace_id="abc"} 0.4
empty_labels{} 1
"""
    m = parse_metrics(text)
    assert m[("http_requests_total", (("code", "200"), ("method", "post")))] == 1027
    assert m[("http_requests_total", (("code", "400"), ("method", "post")))] == 3
    assert m[
        (
            "msdos_file_access_time_seconds",
            (("error", 'Cannot find file:\n"FILE.TXT"'), ("path", "C:\\DIR\\FILE.TXT")),
        )
    ] == pytest.approx(1.458255915e9)
    assert m[("metric_without_timestamp_and_labels", ())] == 12.47
    assert m[("something_weird", (("problem", "division by zero"),))] == math.inf
    assert math.isnan(m[("nan_metric", ())])
    assert m[("neg", ())] == -math.inf
    assert m[("x_bucket", (("le", "0.5"),))] == 7
    assert m[("empty_labels", ())] == 1


@pytest.mark.parametrize(
    "line",
    [
        "no_value",
        'bad{label="x"',
        "bad{label=x} 1",
        "bad 1 2 3",
        "bad abc",
        "bad 1_000",
        '{x="1"} 1',
        "bad!name 1",
        'bad{1x="a"} 1',
    ],
)
def test_parse_rejects_malformed_lines(line: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_metrics("ok 1\n" + line + "\n")


label_values = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(label_values, label_values), max_size=5, unique=True),
    st.floats(allow_nan=False),
)
def test_round_trip_any_label_values(series: list[tuple[str, str]], value: float) -> None:
    r = Registry()
    g = r.gauge("g", "any help \\ \n text", ("a", "b"))
    for a, b in series:
        g.labels(a, b).set(value)
    parsed = parse_metrics(r.render())
    assert len(parsed) == len(series)
    for a, b in series:
        assert parsed[("g", (("a", a), ("b", b)))] == value

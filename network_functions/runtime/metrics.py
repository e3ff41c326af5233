"""Prometheus metrics: counters, gauges and histograms rendered in text format 0.0.4.

Every NF exposes a :class:`Registry` on ``GET /metrics`` of its admin port; Prometheus (on
Kubernetes) and the local autoscaler scrape it, the latter reading it back with
:func:`parse_metrics`. The exposition follows the Prometheus "Exposition formats" document,
text format version 0.0.4: ``# HELP`` / ``# TYPE`` lines, one sample per line,
``name{label="value"} number``, label values escaping ``\\``, ``"`` and newline, HELP text
escaping ``\\`` and newline; histograms as cumulative ``_bucket{le=...}`` plus ``_sum`` and
``_count``. Updates are plain attribute arithmetic (they sit on the SIP/Diameter hot path)
and are not thread-safe: an NF updates its metrics from its event loop thread only.
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar, Generic, TypeVar

__all__ = [
    "DEFAULT_BUCKETS",
    "Counter",
    "CounterChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "Registry",
    "parse_metrics",
]

log = logging.getLogger("nfv.metrics")

# Latency buckets in seconds: SIP and Diameter transactions on one machine take from
# ~100 µs to a few seconds (SIP Timer B/F fire at 64*T1 = 32 s, hence the tail).
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")

LabelValue = str | int


def _format_value(v: float) -> str:
    """A sample value as Go's ParseFloat reads it (``+Inf``, ``-Inf``, ``NaN``)."""
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _format_le(v: float) -> str:
    return "+Inf" if math.isinf(v) else repr(float(v))


def _escape_label_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _label_text(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape_label_value(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


# -- children (one time series each) ----------------------------------------------------


class CounterChild:
    """One counter time series."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float = 0

    def inc(self, n: float = 1) -> None:
        if n < 0:
            raise ValueError("a counter only goes up")
        self.value += n


class GaugeChild:
    """One gauge time series: a value, or a function read at render time."""

    __slots__ = ("function", "value")

    def __init__(self) -> None:
        self.value: float = 0
        self.function: Callable[[], float] | None = None

    def set(self, v: float) -> None:
        self.value = v

    def inc(self, n: float = 1) -> None:
        self.value += n

    def dec(self, n: float = 1) -> None:
        self.value -= n

    def set_function(self, fn: Callable[[], float]) -> None:
        """Report ``fn()`` at each render instead of the stored value (live sizes)."""
        self.function = fn

    def current(self) -> float:
        fn = self.function
        if fn is None:
            return self.value
        try:
            return float(fn())
        except Exception:
            log.exception("gauge function failed")
            return math.nan


class HistogramChild:
    """One histogram: per-bucket counts (non-cumulative; cumulated at render), sum, count."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds  # sorted upper bounds, last one +Inf
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.count = 0

    def observe(self, v: float) -> None:
        # le is an inclusive upper bound: the first bound >= v.
        self.counts[bisect_left(self.bounds, v)] += 1
        self.sum += v
        self.count += 1


C = TypeVar("C", CounterChild, GaugeChild, HistogramChild)


class _Metric(Generic[C]):
    kind: ClassVar[str]

    def __init__(self, name: str, help: str, labelnames: Iterable[str]) -> None:
        if not _METRIC_NAME_RE.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        names = tuple(labelnames)
        for label in names:
            if not _LABEL_NAME_RE.match(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} for metric {name}")
        if len(set(names)) != len(names):
            raise ValueError(f"repeated label name for metric {name}: {names}")
        self.name = name
        self.help = help
        self.labelnames = names
        # Children by the exact value tuple callers pass (fast path) and by the string
        # tuple (one series per distinct label set, in creation order, for rendering).
        self._lookup: dict[tuple[LabelValue, ...], C] = {}
        self._children: dict[tuple[str, ...], C] = {}

    def _new_child(self) -> C:
        raise NotImplementedError

    def labels(self, *values: LabelValue) -> C:
        """The time series for these label values (created on first use)."""
        child = self._lookup.get(values)
        if child is not None:
            return child
        if len(values) != len(self.labelnames):
            raise ValueError(
                f"metric {self.name} has labels {self.labelnames}, got {len(values)} values"
            )
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._new_child()
        self._lookup[values] = child
        return child

    def _unlabelled(self) -> C:
        if self.labelnames:
            raise ValueError(f"metric {self.name} has labels {self.labelnames}: use .labels()")
        return self.labels()

    def series(self) -> Iterator[tuple[tuple[str, ...], C]]:
        return iter(list(self._children.items()))

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {_escape_help(self.help)}\n")
        out.append(f"# TYPE {self.name} {self.kind}\n")
        for values, child in self.series():
            self._render_child(out, values, child)

    def _render_child(self, out: list[str], values: tuple[str, ...], child: C) -> None:
        raise NotImplementedError


class Counter(_Metric[CounterChild]):
    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Iterable[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self._default = None if self.labelnames else self.labels()

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def inc(self, n: float = 1) -> None:
        child = self._default
        if child is None:
            self._unlabelled()
            return
        if n < 0:
            raise ValueError("a counter only goes up")
        child.value += n

    @property
    def value(self) -> float:
        return self._unlabelled().value

    def _render_child(self, out: list[str], values: tuple[str, ...], child: CounterChild) -> None:
        labels = _label_text(self.labelnames, values)
        out.append(f"{self.name}{labels} {_format_value(child.value)}\n")


class Gauge(_Metric[GaugeChild]):
    kind = "gauge"

    def __init__(self, name: str, help: str, labelnames: Iterable[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self._default = None if self.labelnames else self.labels()

    def _new_child(self) -> GaugeChild:
        return GaugeChild()

    def _child(self) -> GaugeChild:
        return self._default if self._default is not None else self._unlabelled()

    def set(self, v: float) -> None:
        self._child().value = v

    def inc(self, n: float = 1) -> None:
        self._child().value += n

    def dec(self, n: float = 1) -> None:
        self._child().value -= n

    def set_function(self, fn: Callable[[], float]) -> None:
        self._child().function = fn

    @property
    def value(self) -> float:
        return self._child().current()

    def _render_child(self, out: list[str], values: tuple[str, ...], child: GaugeChild) -> None:
        labels = _label_text(self.labelnames, values)
        out.append(f"{self.name}{labels} {_format_value(child.current())}\n")


class Histogram(_Metric[HistogramChild]):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Iterable[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help, labelnames)
        if "le" in self.labelnames:
            raise ValueError(f"histogram {name} cannot have a label named 'le'")
        bounds = sorted(float(b) for b in buckets)
        if any(math.isnan(b) for b in bounds) or len(set(bounds)) != len(bounds):
            raise ValueError(f"histogram {name}: buckets must be distinct numbers")
        if not bounds or not math.isinf(bounds[-1]):
            bounds.append(math.inf)
        self.bounds = tuple(bounds)
        self._default = None if self.labelnames else self.labels()

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self.bounds)

    def observe(self, v: float) -> None:
        child = self._default if self._default is not None else self._unlabelled()
        child.counts[bisect_left(child.bounds, v)] += 1
        child.sum += v
        child.count += 1

    def _render_child(self, out: list[str], values: tuple[str, ...], child: HistogramChild) -> None:
        cumulative = 0
        name = self.name
        for bound, n in zip(child.bounds, child.counts, strict=True):
            cumulative += n
            labels = _label_text(self.labelnames, values, f'le="{_format_le(bound)}"')
            out.append(f"{name}_bucket{labels} {cumulative}\n")
        labels = _label_text(self.labelnames, values)
        out.append(f"{name}_sum{labels} {_format_value(child.sum)}\n")
        out.append(f"{name}_count{labels} {child.count}\n")


_M = TypeVar("_M", Counter, Gauge, Histogram)


class Registry:
    """The metrics of one process, rendered in registration order.

    Registering a name again returns the existing metric when kind, labels (and buckets)
    match, so two components of one process may declare the same metric; a mismatch is
    a ``ValueError``.
    """

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}

    def _register(self, metric: _M) -> _M:
        existing = self._metrics.get(metric.name)
        if existing is None:
            self._metrics[metric.name] = metric
            return metric
        same = type(existing) is type(metric) and existing.labelnames == metric.labelnames
        if same and isinstance(existing, Histogram) and isinstance(metric, Histogram):
            same = existing.bounds == metric.bounds
        if not same or not isinstance(existing, type(metric)):
            raise ValueError(
                f"metric {metric.name} already registered as a {existing.kind} "
                f"with labels {existing.labelnames}"
            )
        return existing

    def counter(self, name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
        return self._register(Counter(name, help, labels))

    def gauge(self, name: str, help: str, labels: tuple[str, ...] = ()) -> Gauge:
        return self._register(Gauge(name, help, labels))

    def histogram(
        self,
        name: str,
        help: str,
        labels: tuple[str, ...] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return self._register(Histogram(name, help, labels, buckets))

    def get(self, name: str) -> Counter | Gauge | Histogram | None:
        return self._metrics.get(name)

    def render(self) -> str:
        out: list[str] = []
        for metric in list(self._metrics.values()):
            metric.render(out)
        return "".join(out)


# -- parsing -----------------------------------------------------------------------------

_SAMPLE_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_BRACE_RE = re.compile(r"[ \t]*\{")
_LABEL_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*')
_LABEL_SEP_RE = re.compile(r"[ \t]*(,|\})")
_UNESCAPE_RE = re.compile(r"\\(.)")
_UNESCAPES = {"n": "\n", "\\": "\\", '"': '"'}

MetricKey = tuple[str, tuple[tuple[str, str], ...]]


def _unescape(v: str) -> str:
    if "\\" not in v:
        return v
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(0)), v)


def _parse_float(s: str) -> float:
    low = s.lower()
    if low in ("+inf", "inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    if low == "nan":
        return math.nan
    if "_" in s:
        raise ValueError(s)
    return float(s)


def parse_metrics(text: str) -> dict[MetricKey, float]:
    """Samples of a text-format exposition: ``{(name, ((label, value), ...)): value}``.

    Label pairs are sorted by label name, so ``("x_bucket", (("le", "0.5"), ("m", "a")))``
    is the key whatever order the exposition used. Comments, blank lines, timestamps and
    OpenMetrics exemplars are skipped; a malformed line is a ``ValueError`` naming it.
    """
    samples: dict[MetricKey, float] = {}
    # Lines end with "\n" only (str.splitlines would also split at \x1c, \u2028, ...,
    # which may appear inside label values).
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_NAME_RE.match(line)
        if m is None:
            raise ValueError(f"line {lineno}: no metric name: {raw!r}")
        name = m.group(0)
        pos = m.end()
        labels: dict[str, str] = {}
        brace = _BRACE_RE.match(line, pos)
        if brace is not None:
            pos = brace.end()
            while True:
                end = _LABEL_SEP_RE.match(line, pos)
                if end is not None and end.group(1) == "}":
                    pos = end.end()
                    break
                lm = _LABEL_RE.match(line, pos)
                if lm is None:
                    raise ValueError(f"line {lineno}: malformed labels: {raw!r}")
                labels[lm.group(1)] = _unescape(lm.group(2))
                end = _LABEL_SEP_RE.match(line, lm.end())
                if end is None:
                    raise ValueError(f"line {lineno}: malformed labels: {raw!r}")
                pos = end.end()
                if end.group(1) == "}":
                    break
        rest = line[pos:]
        if rest and rest[0] not in " \t":
            raise ValueError(f"line {lineno}: malformed sample: {raw!r}")
        fields = rest.split("#", 1)[0].split()  # drop an OpenMetrics exemplar
        if not fields or len(fields) > 2:
            raise ValueError(f"line {lineno}: expected a value (and a timestamp): {raw!r}")
        try:
            value = _parse_float(fields[0])
        except ValueError:
            raise ValueError(f"line {lineno}: bad value {fields[0]!r}: {raw!r}") from None
        samples[(name, tuple(sorted(labels.items())))] = value
    return samples

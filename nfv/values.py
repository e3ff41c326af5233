"""Deployment values: the chart's values.yaml, a profile overlay, user files and ``--set``s,
merged and checked against ``charts/volte-core/values.schema.json``.

The same merged values drive every platform (local processes, Docker, ``nfv render``), so
every platform rejects bad values the same way: :func:`load_values` runs the schema
(:class:`nfv.schema.Validator`) over the merged result and raises
:class:`~nfv.errors.ValuesError` listing every problem with the file that set the key, the
key path, the bad value and what was expected, e.g.
``profiles/lab.yaml: kubernetes.anti_affinity: got "always", expected one of "none", ...``.
The schema is the only place the rules live (no second model repeats them).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml

from .errors import ValuesError
from .schema import SchemaError, Validator

CHART_ROOT = Path(__file__).resolve().parent.parent / "charts" / "volte-core"
SCHEMA_FILE = "values.schema.json"
# Where --set overrides come from, in messages.
SET_LABEL = "--set"


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge *overlay* into a copy of *base*: dicts recursively, everything else replaced."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ValuesError(f"cannot read values file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValuesError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValuesError(f"{path}: values must be a mapping, got {type(data).__name__}")
    return data


def profiles(chart: Path = CHART_ROOT) -> list[str]:
    return sorted(p.stem for p in (chart / "profiles").glob("*.yaml"))


@functools.cache
def _validator(path: Path, mtime_ns: int) -> Validator:
    try:
        schema = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValuesError(f"cannot read {path}: {exc}") from exc
    if not isinstance(schema, dict):
        raise ValuesError(f"{path}: a JSON Schema must be an object")
    return Validator(schema)


def schema_validator(chart: Path = CHART_ROOT) -> Validator:
    """The chart's values.schema.json as a validator (cached until the file changes)."""
    path = chart / SCHEMA_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ValuesError(f"cannot read {path}: {exc.strerror}") from exc
    return _validator(path, mtime)


def _origin(sources: list[tuple[str, dict[str, Any]]], path: tuple[str | int, ...]) -> str:
    """The source that set *path* in the merged values (or the deepest part of it): the
    last one to reach deepest, where a list or scalar replaces all it holds (as
    :func:`deep_merge` does) however deep earlier sources went below it."""
    best, depth = sources[0][0], -1
    for label, data in sources:
        node: Any = data
        for i, key in enumerate(path):
            in_dict = isinstance(node, dict) and key in node
            in_list = isinstance(node, list) and isinstance(key, int) and key < len(node)
            if not (in_dict or in_list):
                break
            node = node[key]
            if not isinstance(node, dict):
                best, depth = label, i  # replaced whole by this source
                break
            if i >= depth:
                best, depth = label, i
    return best


def check_values(
    values: dict[str, Any],
    *,
    chart: Path = CHART_ROOT,
    sources: list[tuple[str, dict[str, Any]]] | None = None,
) -> None:
    """Check merged *values* against the chart's schema; raises ValuesError listing every
    problem, each prefixed by the source (file or ``--set``) that set the key."""
    try:
        problems = schema_validator(chart).problems(values)
    except SchemaError as exc:
        raise ValuesError(f"{chart / SCHEMA_FILE}: {exc}") from exc
    if problems:
        srcs = sources or [("values", values)]
        lines = [f"  {_origin(srcs, p.path)}: {p}" for p in problems]
        raise ValuesError(f"values fail the schema ({chart / SCHEMA_FILE}):\n" + "\n".join(lines))


def load_values(
    *,
    profile: str | None = None,
    files: list[Path] | None = None,
    overrides: dict[str, Any] | None = None,
    chart: Path = CHART_ROOT,
) -> dict[str, Any]:
    """Merge values.yaml ← profile ← files ← overrides and check the result against
    values.schema.json; raises ValuesError (unknown profile, unreadable file, or every schema
    problem with the file that set it)."""
    sources: list[tuple[str, dict[str, Any]]] = [
        (str(chart / "values.yaml"), _read_yaml(chart / "values.yaml"))
    ]
    if profile:
        path = chart / "profiles" / f"{profile}.yaml"
        if not path.exists():
            raise ValuesError(
                f"unknown profile {profile!r} (available: {', '.join(profiles(chart))})"
            )
        sources.append((str(path), _read_yaml(path)))
    sources += [(str(f), _read_yaml(Path(f))) for f in files or []]
    if overrides:
        sources.append((SET_LABEL, overrides))
    merged: dict[str, Any] = {}
    for _, data in sources:
        merged = deep_merge(merged, data)
    check_values(merged, chart=chart, sources=sources)
    return merged

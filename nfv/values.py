"""Deployment values: the chart's values.yaml, a profile overlay and user files, merged.

The same merged values drive every platform. Validation is by a pydantic model that mirrors
``charts/volte-core/values.schema.json``'s required fields.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ValuesError

CHART_ROOT = Path(__file__).resolve().parent.parent / "charts" / "volte-core"


class NFValues(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool = True
    replicas: int = Field(default=1, ge=0, le=64)


class SubscriberRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imsi_start: str = Field(pattern=r"^[0-9]{6,15}$")
    msisdn_start: str = Field(pattern=r"^[0-9]{3,15}$")
    count: int = Field(ge=0, le=1_000_000)
    k: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    opc: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    password: str | None = None


class Network(BaseModel):
    model_config = ConfigDict(extra="allow")

    mcc: str = Field(pattern=r"^[0-9]{3}$")
    mnc: str = Field(pattern=r"^[0-9]{2,3}$")
    ims_domain: str = Field(min_length=1)
    diameter_realm: str = Field(min_length=1)


class Values(BaseModel):
    model_config = ConfigDict(extra="allow")

    network: Network
    subscribers: list[SubscriberRange] = []
    nfs: dict[str, NFValues]


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


def load_values(
    *,
    profile: str | None = None,
    files: list[Path] | None = None,
    overrides: dict[str, Any] | None = None,
    chart: Path = CHART_ROOT,
) -> dict[str, Any]:
    """Merge values.yaml ← profile ← files ← overrides and validate; raises ValuesError."""
    merged = _read_yaml(chart / "values.yaml")
    if profile:
        path = chart / "profiles" / f"{profile}.yaml"
        if not path.exists():
            raise ValuesError(
                f"unknown profile {profile!r} (available: {', '.join(profiles(chart))})"
            )
        merged = deep_merge(merged, _read_yaml(path))
    for f in files or []:
        merged = deep_merge(merged, _read_yaml(Path(f)))
    if overrides:
        merged = deep_merge(merged, overrides)
    try:
        Values.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValuesError(f"values fail the schema: {problems}") from exc
    return merged

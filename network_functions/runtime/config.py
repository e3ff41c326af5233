"""NF configuration: a YAML file, ``NFV__`` environment overrides, pydantic validation.

The YAML file is the one the Helm chart renders into a ConfigMap (and the local platform
renders to disk). Environment variables override any field without editing it:
``NFV__ADMIN__PORT=9090`` sets ``admin.port``; sections nest with a double underscore, key
matching is case-insensitive, list items are addressed by index
(``NFV__DIAMETER__PEERS__0__PORT``) and the value is read as YAML (``8080`` is a number,
``[udp, tcp]`` a list) except for string fields, which take the text verbatim. Every
problem becomes a :class:`ConfigError` naming the file, the field path and what is wrong.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["ConfigError", "load_config"]

T = TypeVar("T", bound=BaseModel)


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap_optional(args[0])
    if origin is typing.Annotated:
        return _unwrap_optional(typing.get_args(annotation)[0])
    return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _item_annotation(annotation: Any) -> Any:
    """The element type of ``list[X]`` / ``tuple[X, ...]`` / ``dict[str, X]``, else None."""
    annotation = _unwrap_optional(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _field_for(model: type[BaseModel] | None, segment: str) -> tuple[str | None, Any]:
    """The field name (or alias) of ``model`` matching ``segment`` case-insensitively."""
    if model is None:
        return None, None
    low = segment.lower()
    for name, info in model.model_fields.items():
        if name.lower() == low or (info.alias is not None and info.alias.lower() == low):
            return (info.alias or name), info.annotation
    return None, None


def _is_str_annotation(annotation: Any) -> bool:
    annotation = _unwrap_optional(annotation)
    return annotation is str


def _parse_env_value(raw: str, annotation: Any) -> Any:
    if _is_str_annotation(annotation):
        return raw
    if raw == "":
        return ""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _apply_override(
    data: dict[str, Any], model: type[BaseModel], var: str, segments: list[str], raw: str
) -> tuple[str | int, ...]:
    """Set ``data[...path...] = value``; returns the path it set."""
    container: Any = data
    current_model: type[BaseModel] | None = model
    annotation: Any = None
    path: list[str | int] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if isinstance(container, list):
            if not segment.isdigit():
                raise ConfigError(f"{var}: {_dotted(path)} is a list; {segment!r} is not an index")
            index = int(segment)
            if index > len(container):
                raise ConfigError(
                    f"{var}: {_dotted(path)} has {len(container)} items; "
                    f"index {index} would leave a gap"
                )
            key: str | int = index
            annotation = _item_annotation(annotation)
            current_model = _model_of(annotation)
            if last:
                value = _parse_env_value(raw, annotation)
                if index == len(container):
                    container.append(value)
                else:
                    container[index] = value
            else:
                if index == len(container):
                    container.append({})
                container = container[index]
            path.append(key)
            continue
        if not isinstance(container, dict):
            raise ConfigError(f"{var}: {_dotted(path)} is not a section")
        # Existing key (case-insensitive), else the model's field, else lower-cased.
        key = next((k for k in container if str(k).lower() == segment.lower()), "")
        field_name, field_annotation = _field_for(current_model, segment)
        if not key:
            key = field_name or segment.lower()
        if current_model is not None:
            annotation = field_annotation
            current_model = _model_of(annotation)
        else:
            annotation = _item_annotation(annotation) if annotation is not None else None
            current_model = _model_of(annotation)
        path.append(key)
        if last:
            container[key] = _parse_env_value(raw, annotation)
        else:
            nxt = container.get(key)
            if nxt is None:
                nxt = container[key] = [] if _item_is_list(annotation) else {}
            container = nxt
    return tuple(path)


def _item_is_list(annotation: Any) -> bool:
    origin = typing.get_origin(_unwrap_optional(annotation))
    return origin in (list, tuple, set, frozenset)


def _dotted(path: tuple[str | int, ...] | list[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"config file {path}{where}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path}: the top level must be a mapping, not {type(data).__name__}"
        )
    return data


def load_config(
    path: str | Path | None,
    model: type[T],
    *,
    env: Mapping[str, str] = os.environ,
    prefix: str = "NFV__",
) -> T:
    """Read ``path`` (YAML; None = no file), apply ``prefix`` env overrides, validate."""
    source = f"config file {path}" if path is not None else "config (no file)"
    data: dict[str, Any] = _read_yaml(Path(path)) if path is not None else {}
    overrides: dict[tuple[str | int, ...], str] = {}
    upper_prefix = prefix.upper()
    for var in sorted(env):
        if not var.upper().startswith(upper_prefix):
            continue
        segments = var[len(prefix) :].split("__")
        if not all(segments):
            raise ConfigError(f"{source}: environment variable {var}: empty section name")
        try:
            set_path = _apply_override(data, model, var, segments, env[var])
        except ConfigError as exc:
            raise ConfigError(f"{source}: environment variable {exc}") from None
        overrides[set_path] = var
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            setter = next(
                (v for p, v in overrides.items() if loc[: len(p)] == p or p[: len(loc)] == loc),
                None,
            )
            origin = f" (set by {setter})" if setter else ""
            shown = err.get("input")
            got = ""
            if err["type"] not in ("missing", "extra_forbidden") and not isinstance(
                shown, dict | list
            ):
                got = f", got {shown!r}"
            problems.append(f"  {_dotted(loc)}: {err['msg']}{got}{origin}")
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        raise ConfigError(f"{source}: {count} {noun}:\n" + "\n".join(problems)) from None

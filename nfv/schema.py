"""A small JSON Schema validator for the subset ``charts/volte-core/values.schema.json`` uses.

JSON Schema 2020-12 (json-schema.org/draft/2020-12/json-schema-validation) keywords handled:
``type``, ``enum``, ``const``, ``pattern``, ``minLength``, ``maxLength``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``required``, ``properties``, ``additionalProperties``,
``propertyNames``, ``items``, ``minItems``, ``maxItems``, ``anyOf``, ``$ref`` (to
``#/$defs/...`` only) and the annotations ``$schema``, ``$id``, ``$defs``, ``title``,
``description``, ``default``, ``examples``. Any other keyword raises :class:`SchemaError`,
so the schema cannot silently rely on something this validator ignores.

Each problem is a :class:`Problem` naming the key path, the bad value and what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import NfvError

KNOWN = frozenset(
    {
        "type",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "required",
        "properties",
        "additionalProperties",
        "propertyNames",
        "items",
        "minItems",
        "maxItems",
        "anyOf",
        "$ref",
        "$schema",
        "$id",
        "$defs",
        "title",
        "description",
        "default",
        "examples",
    }
)
# Longest bad value quoted in a message: enough to recognise it, not a whole subtree.
MAX_SHOWN = 60


class SchemaError(NfvError):
    """The schema itself uses a keyword or reference this validator does not implement."""


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    value: Any
    expected: str

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path) or "(top level)"

    def __str__(self) -> str:
        shown = json.dumps(self.value, sort_keys=True, default=str)
        if len(shown) > MAX_SHOWN:
            shown = shown[: MAX_SHOWN - 3] + "..."
        return f"{self.where}: got {shown}, expected {self.expected}"


def _type_ok(value: Any, name: str) -> bool:
    match name:
        case "string":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "null":
            return value is None
    raise SchemaError(f"unknown JSON Schema type {name!r}")


class Validator:
    """Validates instances against one schema document (``$ref`` resolved inside it)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/$defs/"):
            raise SchemaError(f"unsupported $ref {ref!r} (only #/$defs/<name>)")
        try:
            target: dict[str, Any] = self.schema["$defs"][ref.removeprefix("#/$defs/")]
        except KeyError:
            raise SchemaError(f"$ref {ref!r} names no definition") from None
        return target

    def problems(self, instance: Any) -> list[Problem]:
        return list(self._check(instance, self.schema, ()))

    def _check(
        self, value: Any, schema: dict[str, Any], path: tuple[str | int, ...]
    ) -> Iterator[Problem]:
        unknown = set(schema) - KNOWN
        if unknown:
            raise SchemaError(f"unsupported JSON Schema keywords {sorted(unknown)} at {path}")
        if "$ref" in schema:
            yield from self._check(value, self._resolve(schema["$ref"]), path)
        if "anyOf" in schema:
            branches = [list(self._check(value, s, path)) for s in schema["anyOf"]]
            if all(branches):
                # Report the branch that got furthest (fewest problems) for a useful message.
                yield min(branches, key=len)[0]
        types = schema.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            if not any(_type_ok(value, n) for n in names):
                yield Problem(path, value, f"a value of type {' or '.join(names)}")
                return
        if "const" in schema and value != schema["const"]:
            yield Problem(path, value, f"exactly {json.dumps(schema['const'])}")
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(json.dumps(c) for c in schema["enum"])
            yield Problem(path, value, f"one of {choices}")
        if isinstance(value, str):
            yield from self._string(value, schema, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                yield Problem(path, value, f"a number >= {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                yield Problem(path, value, f"a number <= {schema['maximum']}")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                yield Problem(path, value, f"a number > {schema['exclusiveMinimum']}")
        if isinstance(value, dict):
            yield from self._object(value, schema, path)
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                yield Problem(path, value, f"at least {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                yield Problem(path, value, f"at most {schema['maxItems']} items")
            if "items" in schema:
                for i, item in enumerate(value):
                    yield from self._check(item, schema["items"], (*path, i))

    def _string(
        self, value: str, schema: dict[str, Any], path: tuple[str | int, ...]
    ) -> Iterator[Problem]:
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield Problem(path, value, f"a string matching {schema['pattern']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            yield Problem(path, value, f"at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            yield Problem(path, value, f"at most {schema['maxLength']} characters")

    def _object(
        self, value: dict[str, Any], schema: dict[str, Any], path: tuple[str | int, ...]
    ) -> Iterator[Problem]:
        for key in schema.get("required", []):
            if key not in value:
                yield Problem((*path, key), None, "a required value (missing)")
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key in sorted(value, key=str):
            child = (*path, key)
            if names is not None:
                for p in self._check(key, names, child):
                    yield Problem(child, key, f"a key that is {p.expected}")
            if key in props:
                yield from self._check(value[key], props[key], child)
            elif extra is False:
                known = ", ".join(sorted(props)) or "none"
                yield Problem(child, value[key], f"no such key (known keys here: {known})")
            elif isinstance(extra, dict):
                yield from self._check(value[key], extra, child)

"""Rendered objects checked against the Kubernetes OpenAPI schemas of one Kubernetes version.

The schemas are the ones the maintained ``kubernetes-validate`` package ships (JSON Schema
generated from each release's OpenAPI spec, one directory per minor version, the "strict"
variant refusing fields the API does not define). :func:`validate_objects` uses that
package's schema files and its version list, and validates every object with the
``jsonschema`` Draft 2020-12 validator the package itself uses, but reports *every* problem
of every object (``kubernetes_validate.validate`` stops at the first one and re-reads the
1.5 MB definitions file for each object). Validators are cached per version and kind, so
checking the whole core costs milliseconds after the first call.

Each problem names the object and the field path, e.g.
``Deployment/hss: spec.template.spec.containers[0].ports[0].containerPort: 'x' is not of
type 'integer'``. Raises :class:`~nfv.errors.RenderError` for a Kubernetes version the
package has no schemas for, or when the package is not installed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from .errors import RenderError

# The development cluster (hack/cluster) runs Kubernetes 1.35.
DEFAULT_KUBE_VERSION = "1.35"
KUBE_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
# How much of a bad value a message quotes.
MAX_SHOWN = 60


def _package() -> Any:
    try:
        import kubernetes_validate.utils as kv
    except ImportError as exc:  # the "kubernetes" extra is not installed
        raise RenderError(
            "validating against the Kubernetes schemas needs the kubernetes-validate package "
            "(pip install 'nfv[kubernetes]')"
        ) from exc
    return kv


def supported_versions() -> list[str]:
    """The Kubernetes minor versions (``1.35`` ...) whose schemas are installed, oldest first."""
    return list(_supported())


@functools.cache
def _supported() -> tuple[str, ...]:
    kv = _package()
    versions: list[str] = kv.all_versions()  # one entry per schema directory (plain, strict)
    minors = {str(kv.major_minor(v)) for v in versions}
    return tuple(sorted(minors, key=lambda v: tuple(map(int, v.split(".")))))


def minor_version(version: str) -> str:
    """``1.35``, ``v1.35`` or ``1.35.4`` → ``1.35``; raises RenderError for anything else or a
    version without schemas."""
    match = KUBE_VERSION.match(version.strip())
    if not match:
        raise RenderError(f"Kubernetes version {version!r}: expected MAJOR.MINOR, e.g. 1.35")
    minor = f"{int(match[1])}.{int(match[2])}"
    supported = supported_versions()
    if minor not in supported:
        raise RenderError(
            f"no Kubernetes {minor} schemas in kubernetes-validate "
            f"(installed: {', '.join(supported)})"
        )
    return minor


@functools.cache
def _registry(minor: str, strict: bool) -> tuple[str, Any]:
    """(schema directory, a referencing Registry holding its ``_definitions.json``)."""
    from referencing import Registry, Resource

    kv = _package()
    version = next(v for v in kv.all_versions() if kv.major_minor(v) == minor)
    directory = f"kubernetes-json-schema/v{version}-local{'-strict' if strict else ''}"
    definitions = kv.schema_contents(f"{directory}/_definitions.json", version)
    resource = Resource.from_contents(definitions)
    return directory, Registry().with_resource(resource.id() or "", resource)


@functools.cache
def _validator(minor: str, strict: bool, kind: str, api_version: str) -> Any:
    """The validator for one kind, or None when the version has no schema for it."""
    import jsonschema

    directory, registry = _registry(minor, strict)
    # kubernetes-validate's file naming: <kind>-<group without domain>-<version>.json
    # (apps/v1 → apps-v1, networking.k8s.io/v1 → networking-v1, v1 → v1).
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _package().schema_contents(
            f"{directory}/{kind.lower()}-{group_version}.json", minor
        )
    except FileNotFoundError:
        return None
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(object)"


def _message(error: Any) -> str:
    """One line for a jsonschema error; for a failed anyOf/oneOf, the best branch's reason."""
    import jsonschema

    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            error = best
    text = str(error.message)
    return text if len(text) <= 4 * MAX_SHOWN else text[: 4 * MAX_SHOWN - 3] + "..."


def validate_objects(
    objects: Iterable[dict[str, Any]],
    kube_version: str = DEFAULT_KUBE_VERSION,
    *,
    strict: bool = True,
) -> list[str]:
    """Every problem of *objects* against the Kubernetes *kube_version* OpenAPI schemas, as
    ``Kind/name: field.path: reason`` lines (empty: all valid). With *strict* (default),
    fields the API does not define are problems too (kubectl would drop or refuse them).

    Raises RenderError for an unsupported version or a missing kubernetes-validate."""
    minor = minor_version(kube_version)
    problems: list[str] = []
    for obj in objects:
        kind = str(obj.get("kind", ""))
        api_version = str(obj.get("apiVersion", ""))
        where = f"{kind or '?'}/{(obj.get('metadata') or {}).get('name', '?')}"
        if not kind or not api_version:
            problems.append(f"{where}: apiVersion and kind are required")
            continue
        validator = _validator(minor, strict, kind, api_version)
        if validator is None:
            problems.append(f"{where}: Kubernetes {minor} has no kind {kind} in {api_version}")
            continue
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        problems += [f"{where}: {_path(e.absolute_path)}: {_message(e)}" for e in errors]
    return problems

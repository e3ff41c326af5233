"""The Kubernetes platform: the core on any conformant cluster through the official
``kubernetes`` client (only :mod:`.api` imports it).

:class:`KubernetesPlatform` (in :mod:`.platform`) is the API — ``deploy``, ``status``,
``scale``, ``upgrade``, ``destroy``, ``logs``, ``endpoint``, ``nf_metrics``;
:func:`add_commands` adds ``nfv deploy/upgrade/destroy`` and ``--platform k8s`` for
``nfv status/scale/logs``. Errors: :mod:`.errors` (drawn in its docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The CLI hook imports no client: argument parsing works without the "kubernetes" extra.
from .cli import add_commands

if TYPE_CHECKING:
    from .errors import (
        ApiError,
        ClusterUnreachableError,
        DeployTimeoutError,
        ForbiddenError,
        RolloutFailedError,
        UnknownNFError,
    )
    from .platform import DeployReport, DestroyReport, KubernetesPlatform, ScaleReport
    from .status import KubeStatus

__all__ = [
    "ApiError",
    "ClusterUnreachableError",
    "DeployReport",
    "DeployTimeoutError",
    "DestroyReport",
    "ForbiddenError",
    "KubeStatus",
    "KubernetesPlatform",
    "RolloutFailedError",
    "ScaleReport",
    "UnknownNFError",
    "add_commands",
]
_HOME = {
    "ApiError": "errors",
    "ClusterUnreachableError": "errors",
    "DeployTimeoutError": "errors",
    "ForbiddenError": "errors",
    "RolloutFailedError": "errors",
    "UnknownNFError": "errors",
    "DeployReport": "platform",
    "DestroyReport": "platform",
    "KubernetesPlatform": "platform",
    "ScaleReport": "platform",
    "KubeStatus": "status",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(name)

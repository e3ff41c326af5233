"""The embedded default platform: every NF replica a process on a loopback address.

:class:`LocalPlatform` (in :mod:`.platform`) is the API the CLI uses; the supervisor process
(:mod:`.supervisor`) owns the replicas. Names are imported lazily so that the supervisor,
which starts on the critical path of ``nfv up``, does not import the planner's
dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .platform import DownReport, LocalPlatform, NFProgress

__all__ = ["DownReport", "LocalPlatform", "NFProgress"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import platform

        return getattr(platform, name)
    raise AttributeError(name)

"""The Docker platform: the whole core as containers of nfv's images on one engine.

:class:`DockerPlatform` (in :mod:`.platform`) is the API; :func:`add_commands` gives the
CLI's ``up/down/status/check/logs`` a ``--runtime docker``. Only this package and
:mod:`nfv.images` import ``docker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The CLI hook imports no SDK: `nfv` works without the "docker" extra.
from .cli import add_commands

if TYPE_CHECKING:
    from .platform import DockerPlatform, DownReport, UpEvent, UpReport

__all__ = ["DockerPlatform", "DownReport", "UpEvent", "UpReport", "add_commands"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import platform

        return getattr(platform, name)
    raise AttributeError(name)

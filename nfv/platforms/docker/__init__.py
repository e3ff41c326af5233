"""The Docker platform: the whole core as containers of nfv's images on one engine.

:class:`DockerPlatform` (in :mod:`.platform`) is the API; :func:`add_commands` gives the
CLI's ``up/down/status/check/logs`` a ``--runtime docker``. Only this package and
:mod:`nfv.images` import ``docker``.
"""

from __future__ import annotations

from .cli import add_commands
from .platform import DockerPlatform, DownReport, UpEvent, UpReport

__all__ = ["DockerPlatform", "DownReport", "UpEvent", "UpReport", "add_commands"]

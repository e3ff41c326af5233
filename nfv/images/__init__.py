"""Container images of every NF, built with the Docker SDK from a base made here.

Public API (the rest is internal):

* :func:`plan_images` — what to build and the content-hash tags (no engine needed);
* :class:`ImageBuilder` — build / find, tag and push them; :func:`pull_image`;
* :func:`connect` — the engine, chosen like the Docker CLI (``--host``, ``DOCKER_HOST``,
  the default socket);
* :func:`add_commands` — the ``nfv build`` sub-command for the CLI.

Only this package and :mod:`nfv.platforms.docker` import ``docker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The CLI hook imports no SDK: `nfv` works without the "docker" extra until a build runs.
from .cli import add_commands, cmd_build

if TYPE_CHECKING:
    from .builder import BuildEvent, ImageBuilder, ImageResult, pull_image, push_image
    from .engine import connect, engine_host
    from .recipe import ImagePlan, ImageSpec, cache_dir, plan_images

_LAZY = {
    "BuildEvent": "builder",
    "ImageBuilder": "builder",
    "ImageResult": "builder",
    "pull_image": "builder",
    "push_image": "builder",
    "connect": "engine",
    "engine_host": "engine",
    "ImagePlan": "recipe",
    "ImageSpec": "recipe",
    "cache_dir": "recipe",
    "plan_images": "recipe",
}

__all__ = [
    "BuildEvent",
    "ImageBuilder",
    "ImagePlan",
    "ImageResult",
    "ImageSpec",
    "add_commands",
    "cache_dir",
    "cmd_build",
    "connect",
    "engine_host",
    "plan_images",
    "pull_image",
    "push_image",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)

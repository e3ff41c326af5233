"""Argument types and options shared by the CLI's command modules: argparse ``type=``
callables, ``$NFV_*`` defaults, and the values options (``-f/--values``, ``--set``,
``--set-string``) that ``up``, ``render``, ``deploy`` and ``upgrade`` declare alike."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def seconds(text: str) -> float:
    """A positive number of seconds, at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be in (0, 86400] seconds, got {text}")
    return value


# -- options several commands declare alike ------------------------------------------------------

ENV_PREFIX = "NFV_"


def env(name: str, default: str | None = None) -> str | None:
    """An option's default from the environment: ``$NFV_<name>``, else ``default``."""
    return os.environ.get(ENV_PREFIX + name, default)


def add_values_files(parser: argparse.ArgumentParser, *, help: str) -> None:
    """``-f/--values FILE`` (repeatable, into ``files``), unless ``parser`` has it already
    (the runtimes' option hooks add to parsers nfv/cli.py built)."""
    if "--values" in parser._option_string_actions:  # argparse keeps no public view of this
        return
    parser.add_argument(
        "-f",
        "--values",
        dest="files",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help=help,
    )


def add_value_overrides(
    parser: argparse.ArgumentParser, *, set_help: str, set_string_help: str
) -> None:
    """``--set KEY=VALUE`` (value read as YAML, into ``sets``) and ``--set-string KEY=VALUE``
    (kept a string, into ``set_strings``), both repeatable."""
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=set_help,
    )
    parser.add_argument(
        "--set-string",
        dest="set_strings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=set_string_help,
    )

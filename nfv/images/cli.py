"""``nfv build [NF ...] [--push REGISTRY] [--no-cache] [--json] [--host H]``.

Progress goes to stdout (to stderr with ``--json``, whose document is the only thing on
stdout): a live line per image on a terminal, plain timestamped step lines otherwise. The
summary table lists image, tag, size, seconds and whether it was cached or built. Errors
are :class:`~nfv.errors.NfvError` s (the CLI prints them and exits 1); a failing build's
message ends with the failing step's log tail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .builder import BuildEvent, ImageResult


def add_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``build`` to the CLI's sub-command parsers (``parser.add_subparsers()``)."""
    build: argparse.ArgumentParser = subparsers.add_parser(
        "build",
        help="build the NF container images (and push them to a registry)",
        description="Build one container image per NF (default: all, plus the state store) "
        "from a base made here with mmdebstrap. Unchanged inputs build nothing.",
    )
    build.add_argument("nfs", nargs="*", metavar="NF", help="network functions (default: all)")
    build.add_argument(
        "--push",
        metavar="REGISTRY",
        default=os.environ.get("NFV_PUSH") or None,
        help="push the images to REGISTRY (host:port), e.g. 127.0.0.1:5000",
    )
    build.add_argument("--no-cache", action="store_true", help="rebuild every layer and input")
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    build.add_argument(
        "-H",
        "--host",
        default=None,
        help="engine API address (default: $DOCKER_HOST, else unix:///var/run/docker.sock)",
    )
    build.set_defaults(func=cmd_build)
    return build


class BuildDisplay:
    """Build progress: a live line per image on a terminal, plain step lines otherwise."""

    MARKS = {"cached": "=", "built": "✔", "pushed": "↑"}

    def __init__(self, out: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.rows: dict[str, str] = {}
        self._drawn = 0

    def __call__(self, event: BuildEvent) -> None:
        elapsed = time.monotonic() - self.started
        if event.phase == "log" and not self.tty:
            return
        if event.phase == "start":
            text = f"… {event.image:<6} {event.text}"
        elif event.phase == "done":
            text = f"{self.MARKS.get(event.text, '✔')} {event.image:<6} {event.text}"
        elif event.phase == "step":
            text = f"… {event.image:<6} {event.text}"
        else:
            text = f"… {event.image:<6} {event.text}"
        if not self.tty:
            print(f"[{elapsed:7.2f}s] {text[2:]}", file=self.out, flush=True)
            return
        if event.phase == "log" and event.image in self.rows:
            # keep the step on the line, the latest output after it
            step = self.rows[event.image].split(" | ", 1)[0]
            text = f"{step} | {event.text.strip()}"
        self.rows[event.image] = text
        self._draw(elapsed)

    def _draw(self, elapsed: float) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        rows = [*self.rows.values(), f"  {elapsed:.1f} s"]
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F")
        for row in rows:
            self.out.write("\x1b[2K" + row[:width] + "\n")
        self.out.flush()
        self._drawn = len(rows)


def human_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def summary_table(results: list[ImageResult]) -> str:
    header = f"{'IMAGE':<14}{'TAG':<15}{'SIZE':>10}{'SECONDS':>9}  RESULT"
    lines = [header]
    for r in results:
        repo, _, tag = r.ref.rpartition(":")
        result = r.status + (f", pushed {len(r.pushed)} tags" if r.pushed else "")
        lines.append(f"{repo:<14}{tag:<15}{human_size(r.size):>10}{r.seconds:>9.2f}  {result}")
    return "\n".join(lines)


def cmd_build(args: argparse.Namespace) -> int:
    from ..catalog import load_catalog
    from .builder import ImageBuilder
    from .engine import connect, describe
    from .recipe import plan_images

    catalog = load_catalog()
    plan = plan_images(catalog, args.nfs or None)  # CatalogError on an unknown NF
    client = connect(args.host)
    out = sys.stderr if args.json else sys.stdout
    display = BuildDisplay(out)
    print(f"building {len(plan.specs)} images with {describe(client)}", file=out, flush=True)
    started = time.monotonic()
    builder = ImageBuilder(client, plan, no_cache=args.no_cache, progress=display)
    results = builder.build()
    if args.push:
        builder.push(results, args.push)
    seconds = time.monotonic() - started
    built = sum(1 for r in results if r.status == "built")
    if args.json:
        doc = {
            "images": [r.as_dict() for r in results],
            "seconds": round(seconds, 2),
            "built": built,
            "cached": len(results) - built,
            "pushed_to": args.push,
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(summary_table(results))
    pushed = f"; pushed to {args.push}" if args.push else ""
    print(
        f"{len(results)} images: {built} built, {len(results) - built} cached "
        f"in {seconds:.1f} s{pushed}"
    )
    return 0

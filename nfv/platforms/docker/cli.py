"""``--runtime docker`` for ``nfv up / down / status / check / logs``.

:func:`add_commands` takes the CLI's sub-command parsers: for each of those commands it
adds ``--runtime {local,docker}`` (default ``$NFV_RUNTIME`` or ``local``) and the docker
runtime's options, and wraps the command's handler so that ``--runtime docker`` runs the
handler here and anything else runs the original one. Commands the CLI does not have yet
are created. Options the CLI already defines (``--profile``, ``--json`` ...) are reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...argtypes import add_values_files, seconds
from ...argtypes import env as _env
from ...errors import PlatformError

if TYPE_CHECKING:
    from .platform import DockerPlatform, UpEvent

# Same values as in .platform, which imports the SDK (kept out of argument parsing).
DEFAULT_PROJECT = "nfv"
DEFAULT_TIMEOUT = 60.0

Handler = Callable[[argparse.Namespace], int]
RUNTIMES = ("local", "docker")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1..65535, got {port}")
    return port


def _add(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """Add an option unless the parser already has one of its flags."""
    known = parser._option_string_actions  # argparse keeps no public view of this
    if any(flag in known for flag in flags):
        return
    positional = not flags[0].startswith("-")
    if positional and any(a.dest == kwargs.get("dest", flags[0]) for a in parser._actions):
        return
    parser.add_argument(*flags, **kwargs)


def _common(parser: argparse.ArgumentParser) -> None:
    _add(
        parser,
        "--runtime",
        choices=RUNTIMES,
        default=_env("RUNTIME", "local"),
        help="where the core runs: local processes or Docker containers (default: local)",
    )
    _add(
        parser,
        "-H",
        "--host",
        default=None,
        help="docker runtime: engine address (default $DOCKER_HOST, else the default socket)",
    )
    _add(
        parser,
        "--project",
        default=_env("PROJECT", DEFAULT_PROJECT),
        help="docker runtime: name prefix of containers and network (default: nfv)",
    )
    _add(
        parser,
        "--state-dir",
        default=_env("STATE_DIR", ".nfv-local"),
        help="state directory (the docker runtime keeps its files in <dir>/docker/<project>)",
    )


def _options(name: str, parser: argparse.ArgumentParser) -> None:
    _common(parser)
    if name == "up":
        _add(parser, "--profile", default=_env("PROFILE"), help="values profile (lab ...)")
        add_values_files(parser, help="extra values file (repeatable)")
        _add(
            parser,
            "--timeout",
            type=seconds,
            default=float(_env("TIMEOUT", str(DEFAULT_TIMEOUT)) or DEFAULT_TIMEOUT),
            help="seconds to wait for readiness",
        )
        _add(parser, "--chart", type=Path, default=_env("CHART"), help="chart directory")
        _add(
            parser,
            "--registry",
            default=_env("REGISTRY"),
            help="docker runtime: pull the images from this registry (host:port)",
        )
        _add(
            parser,
            "--tag",
            default=None,
            help="docker runtime: image tag (default: the content hash of this source tree)",
        )
        _add(
            parser,
            "--no-build",
            action="store_true",
            help="docker runtime: fail instead of building missing images",
        )
        _add(
            parser,
            "--sip-port",
            type=_port,
            default=None,
            help="docker runtime: host port for the P-CSCF's SIP (127.0.0.1; default: free)",
        )
    elif name in ("status", "check"):
        _add(parser, "--json", action="store_true", help="machine-readable output")
        if name == "check":
            _add(parser, "--transport", choices=["udp", "tcp"], default="udp")
    elif name == "logs":
        _add(parser, "nf", help="network function")
        _add(parser, "-f", "--follow", action="store_true", help="keep printing new lines")


def _not_local(args: argparse.Namespace) -> int:
    raise PlatformError(f"`nfv {args.command}` is only available with --runtime docker here")


def add_commands(subparsers: Any) -> None:
    """Give ``up/down/status/check/logs`` a ``--runtime docker`` (see the module doc)."""
    handlers: dict[str, tuple[Handler, str]] = {
        "up": (cmd_up, "start the core"),
        "down": (cmd_down, "stop the core and remove what up made"),
        "status": (cmd_status, "containers/processes, readiness"),
        "check": (cmd_check, "register two subscribers and place a call"),
        "logs": (cmd_logs, "an NF's logs"),
    }
    for name, (handler, help_text) in handlers.items():
        parser = subparsers.choices.get(name) or subparsers.add_parser(name, help=help_text)
        _options(name, parser)
        original: Handler = parser.get_default("func") or _not_local
        parser.set_defaults(func=_dispatch(handler, original), command=name)


def _dispatch(docker_handler: Handler, original: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        if getattr(args, "runtime", "local") == "docker":
            return docker_handler(args)
        return original(args)

    return run


def platform_from(args: argparse.Namespace) -> DockerPlatform:
    from ...images.engine import connect
    from .platform import DockerPlatform

    state = Path(args.state_dir or ".nfv-local") / "docker" / args.project
    return DockerPlatform(connect(args.host), project=args.project, state_dir=state)


class UpProgress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, event: UpEvent) -> None:
        detail = f" {event.detail}" if event.detail else ""
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.2f}s] {event.name:<14} {event.phase}{detail}", flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    platform = platform_from(args)
    chart: dict[str, Any] = {"chart": args.chart} if getattr(args, "chart", None) else {}
    print(f"starting the core on Docker (project {args.project}, network {platform.network})")
    report = platform.up(
        profile=args.profile,
        files=args.files,
        registry=args.registry,
        tag=args.tag,
        build=not args.no_build,
        sip_port=args.sip_port,
        timeout=args.timeout,
        progress=UpProgress(),
        **chart,
    )
    print(f"core ready in {report.seconds:.2f} s")
    if report.entry:
        host, port = report.entry
        print(f"UEs reach the P-CSCF at sip:{host}:{port} (UDP and TCP)")
    print("`nfv status --runtime docker` shows it, `nfv down --runtime docker` stops it")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    print(platform_from(args).down().message)
    return 0


def format_status(doc: dict[str, Any]) -> str:
    if not doc["containers"]:
        return f"nothing of project {doc['project']} runs on this engine"
    lines = [f"project {doc['project']}, network {doc['network']}"]
    if doc.get("entry"):
        lines[0] += f", P-CSCF at {doc['entry'][0]}:{doc['entry'][1]}"
    lines.append(f"{'CONTAINER':<16}{'NF':<7}{'STATE':<10}{'HEALTH':<11}{'READY':<7}PORTS")
    for c in doc["containers"]:
        ports = ", ".join(
            p.split("->")[0].split(":")[-1] + "->" + p.split("->")[1] for p in c["ports"]
        )
        ready = "yes" if c["ready"] else "no"
        lines.append(
            f"{c['name']:<16}{c['nf']:<7}{c['state']:<10}{c['health'] or '-':<11}{ready:<7}{ports}"
        )
        if not c["ready"] and c["reason"]:
            lines.append(f"{'':<16}{c['reason']}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    doc = platform_from(args).status()
    if getattr(args, "json", False):
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(format_status(doc))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ...check import run_check

    platform = platform_from(args)
    pcscf = platform.entry_point()
    report = run_check(
        platform.subscribers(), domain=platform.domain(), pcscf=pcscf, transport=args.transport
    )
    if getattr(args, "json", False):
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    for step, elapsed in report.steps:
        print(f"ok  {step:<50} {elapsed * 1000:8.1f} ms")
    print(f"the core works (P-CSCF {pcscf[0]}:{pcscf[1]}, {args.transport.upper()})")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    for line in platform_from(args).logs(args.nf, follow=args.follow):
        print(line, flush=args.follow)
    sys.stdout.flush()
    return 0

"""The ``nfv`` command line: argument parsing and output around the library's functions.

Every option can also come from the environment as ``NFV_<OPTION>`` (``NFV_STATE_DIR``,
``NFV_PROFILE``, ``NFV_SUBNET``, ``NFV_TIMEOUT``, ``NFV_HSS_URL``, ``NFV_CATALOG``,
``NFV_CHART``). Exit status: 0 on success, 1 on any :class:`~nfv.errors.NfvError` (the
message goes to stderr), 2 on bad arguments (argparse), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from .argtypes import add_values_files, seconds
from .argtypes import env as _env
from .errors import NfvError, PlatformError
from .platforms.local.plan import DEFAULT_SUBNET
from .platforms.local.platform import (
    DEFAULT_TIMEOUT,
    LocalPlatform,
    NFProgress,
    progress_lines,
)
from .platforms.local.procs import ProcessRef

DEFAULT_STATE_DIR = ".nfv-local"
# Subscribers per POST when importing (the HSS validates a whole batch before storing it).
IMPORT_BATCH = 500
IMSI_RE = re.compile(r"^[0-9]{6,15}$")
MSISDN_RE = re.compile(r"^\+?[0-9]{3,15}$")
HEX128_RE = re.compile(r"^[0-9a-fA-F]{32}$")


# -- argument types ----------------------------------------------------------------------------


def _replicas(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= n <= 64:
        raise argparse.ArgumentTypeError(f"replicas must be 0..64, got {n}")
    return n


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not regex.match(text):
            raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
        return text

    return check


_imsi = _pattern(IMSI_RE, "an IMSI is 6-15 digits")
_msisdn = _pattern(MSISDN_RE, "an MSISDN is 3-15 digits")
_hex128 = _pattern(HEX128_RE, "K and OPc are 32 hex digits")


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nfv",
        description="Run the VoLTE core (IMS: HSS, P-/I-/S-CSCF) as elastic microservices.",
        epilog="Options also come from NFV_<OPTION> environment variables (NFV_STATE_DIR ...).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        default=_env("STATE_DIR", DEFAULT_STATE_DIR),
        help="local platform state directory (default: $NFV_STATE_DIR or ./.nfv-local)",
    )

    up = sub.add_parser("up", parents=[state], help="start the core on this machine")
    up.add_argument("--profile", default=_env("PROFILE"), help="values profile (lab, scaling ...)")
    add_values_files(up, help="extra values file (repeatable; later files win)")
    up.add_argument("--detach", "-d", action="store_true", help="return once the core is ready")
    up.add_argument(
        "--subnet",
        default=_env("SUBNET", DEFAULT_SUBNET),
        help=f"loopback subnet for NF addresses (default {DEFAULT_SUBNET})",
    )
    up.add_argument(
        "--timeout",
        type=seconds,
        default=_env("TIMEOUT", str(DEFAULT_TIMEOUT)),
        help="seconds to wait for readiness",
    )
    up.add_argument("--catalog", type=Path, default=_env("CATALOG"), help=argparse.SUPPRESS)
    up.add_argument("--chart", type=Path, default=_env("CHART"), help="chart directory")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", parents=[state], help="stop everything `nfv up` started")
    down.add_argument("--purge", action="store_true", help="also delete the state directory")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", parents=[state], help="NFs, replicas, readiness, CPU")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    scale = sub.add_parser("scale", parents=[state], help="set an NF's replica count")
    scale.add_argument("nf", help="network function, e.g. scscf")
    scale.add_argument("replicas", type=_replicas, help="replica count (0..64)")
    scale.add_argument("--no-wait", action="store_true", help="return without waiting")
    scale.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT)
    scale.set_defaults(func=cmd_scale)

    logs = sub.add_parser("logs", parents=[state], help="an NF's replica logs, merged")
    logs.add_argument("nf", help="network function (or 'supervisor')")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.set_defaults(func=cmd_logs)

    check = sub.add_parser(
        "check", parents=[state], help="register two subscribers and place a call (nfv.check)"
    )
    check.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(func=cmd_check)

    subs = sub.add_parser("subscribers", help="provision subscribers in the HSS")
    subs_cmd = subs.add_subparsers(dest="action", required=True, metavar="ACTION")
    hss = argparse.ArgumentParser(add_help=False, parents=[state])
    hss.add_argument(
        "--hss-url",
        default=_env("HSS_URL"),
        help="provisioning API base URL (default: the HSS of the local platform)",
    )
    add = subs_cmd.add_parser("add", parents=[hss], help="add one subscriber")
    add.add_argument("imsi", type=_imsi)
    add.add_argument("--msisdn", type=_msisdn, required=True)
    add.add_argument("--k", type=_hex128, required=True, help="subscriber key K (hex)")
    add.add_argument("--opc", type=_hex128, required=True, help="OPc (hex)")
    add.add_argument("--password", help="SIP digest password")
    add.add_argument("--impi", help="private identity (default IMSI@domain)")
    add.add_argument("--impu", action="append", dest="impus", help="public identity (repeat)")
    add.set_defaults(func=cmd_subscribers_add)
    lst = subs_cmd.add_parser("list", parents=[hss], help="list subscribers (no keys)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_subscribers_list)
    show = subs_cmd.add_parser("show", parents=[hss], help="one subscriber, as JSON")
    show.add_argument("imsi", type=_imsi)
    show.set_defaults(func=cmd_subscribers_show)
    delete = subs_cmd.add_parser("delete", parents=[hss], help="delete one subscriber")
    delete.add_argument("imsi", type=_imsi)
    delete.set_defaults(func=cmd_subscribers_delete)
    imp = subs_cmd.add_parser("import", parents=[hss], help="add subscribers from .json/.csv")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_subscribers_import)

    # Container images and the Docker runtime (`--runtime docker` on up/down/status/...).
    from .images import add_commands as add_build_command
    from .platforms.docker import add_commands as add_docker_runtime

    add_build_command(sub)
    add_docker_runtime(sub)

    # Kubernetes manifests from the Jinja chart.
    from .manifests import add_commands as add_render_commands

    add_render_commands(sub)

    # Locust load tests and elasticity experiments (Locust runs in subprocesses only).
    from .loadtest.cli import add_commands as add_loadtest_commands

    add_loadtest_commands(sub)

    # The core on Kubernetes: deploy/upgrade/destroy; --platform k8s on status/scale/logs.
    from .platforms.kubernetes import add_commands as add_kubernetes_commands

    add_kubernetes_commands(sub)

    # Ansible playbooks (playbooks/) through ansible-runner.
    from .playbooks import add_commands as add_playbook_commands

    add_playbook_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except NfvError as exc:
        print(f"nfv: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nfv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `nfv logs scscf | head`: the reader left; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


# -- progress ----------------------------------------------------------------------------------


class Progress:
    """Readiness progress: one live line per NF on a terminal, plain change lines otherwise."""

    def __init__(self, out: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self._drawn = 0
        self._last: dict[str, tuple[str, int, int]] = {}
        self._last_rows: list[str] = []
        self._last_draw = -1.0

    def __call__(self, lines: list[NFProgress], elapsed: float) -> None:
        if self.tty:
            self._draw(lines, elapsed)
        else:
            for p in lines:
                key = (p.phase, p.ready, p.desired)
                if self._last.get(p.name) != key:
                    self._last[p.name] = key
                    print(f"[{elapsed:6.2f}s] {self._line(p)}", file=self.out, flush=True)

    @staticmethod
    def _line(p: NFProgress) -> str:
        text = f"{p.name:<8} {p.address:<15} {p.ready}/{p.desired} {p.phase}"
        if p.phase not in ("ready", "waiting") and p.reason and p.reason != "starting":
            text += f" ({p.reason.splitlines()[0][:80]})"
        return text

    def _draw(self, lines: list[NFProgress], elapsed: float) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        marks = {"ready": "✔", "waiting": "·", "starting": "…", "scaling": "↕"}
        rows = [f"{marks.get(p.phase, ' ')} {self._line(p)}" for p in lines]
        if rows == self._last_rows and elapsed - self._last_draw < 0.25:
            return  # nothing new: redraw only for the clock, four times a second
        self._last_rows, self._last_draw = rows, elapsed
        rows = [*rows, f"  {elapsed:.1f} s"]
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F")
        for row in rows:
            self.out.write("\x1b[2K" + row[:width] + "\n")
        self.out.flush()
        self._drawn = len(rows)


# -- up / down / status / scale / logs -----------------------------------------------------------


def _platform(args: argparse.Namespace) -> LocalPlatform:
    return LocalPlatform(args.state_dir)


def cmd_up(args: argparse.Namespace) -> int:
    platform = _platform(args)
    owner = None if args.detach else ProcessRef.of(os.getpid())
    chart_kw: dict[str, Any] = {"chart": args.chart} if args.chart else {}
    progress = Progress()
    print(f"starting the core from {platform.dir.root} on {args.subnet}", flush=True)
    elapsed = platform.up(
        profile=args.profile,
        files=args.files,
        subnet=args.subnet,
        timeout=args.timeout,
        catalog_root=args.catalog,
        owner=owner,
        progress=progress,
        **chart_kw,
    )
    print(f"core ready in {elapsed:.2f} s", flush=True)
    if args.detach:
        print("`nfv status` shows it, `nfv down` stops it", flush=True)
        return 0
    return _foreground(platform)


def _foreground(platform: LocalPlatform) -> int:
    """Stay until Ctrl-C (or SIGTERM/SIGHUP), echoing the supervisor's events; then down.

    The stop itself runs with SIGINT/SIGTERM/SIGHUP ignored: a second Ctrl-C must not leave
    the core half stopped (the supervisor would still finish, but `nfv` would not report it).
    """

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, interrupt)
        print("running in the foreground: Ctrl-C stops the core", flush=True)
        events = platform.logs(
            "supervisor", follow=True, history=False, stop=lambda: platform.supervisor() is None
        )
        for line in events:
            _echo_event(line)
    except KeyboardInterrupt:
        for sig in stop_signals:
            signal.signal(sig, signal.SIG_IGN)
        print("\nstopping the core ...", flush=True)
        report = platform.down()
        print(report.message, flush=True)
        return 0
    # the generator ends when the supervisor is gone without us asking
    for sig in stop_signals:
        signal.signal(sig, signal.SIG_IGN)
    print("nfv: the supervisor exited", file=sys.stderr)
    platform.down()
    return 1


def _echo_event(line: str) -> None:
    _, _, raw = line.partition(" | ")
    try:
        event = json.loads(raw)
        print(f"{event.get('ts', '')} {event.get('msg', raw)}", flush=True)
    except ValueError:
        print(raw, flush=True)


def cmd_down(args: argparse.Namespace) -> int:
    platform = _platform(args)
    report = platform.down()
    print(report.message)
    if args.purge and platform.dir.root.is_dir():
        if not (platform.dir.plan.exists() or platform.dir.logs.exists()):
            raise PlatformError(f"{platform.dir.root} does not look like an nfv state directory")
        shutil.rmtree(platform.dir.root)
        print(f"removed {platform.dir.root}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    platform = _platform(args)
    state = platform.live_state()
    if args.json:
        out: dict[str, Any] = state if state is not None else {"running": False}
        if state is not None:
            out["running"] = bool(state.get("supervisor_alive"))
        out["state_dir"] = str(platform.dir.root)
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    if state is None:
        print(f"nothing is running from {platform.dir.root}")
        return 0
    print(format_status(state, platform.dir.root))
    return 0


def format_status(state: dict[str, Any], root: Path) -> str:
    sup = state.get("supervisor") or {}
    lines = []
    if state.get("supervisor_alive"):
        lines.append(f"supervisor pid {sup.get('pid')}, {state.get('phase')}, state dir {root}")
    else:
        lines.append(
            f"supervisor pid {sup.get('pid')} is NOT running (state dir {root}); "
            "`nfv down` cleans up what is left"
        )
    header = f"{'NF / REPLICA':<14}{'ADDRESS':<16}{'PORTS':<28}{'READY':<7}"
    header += f"{'PID':<9}{'RESTARTS':<10}{'CPU%':<7}STATE"
    lines.append(header)
    for p in progress_lines(state):
        nf = state["nfs"][p.name]
        ports = ",".join(f"{x['port']}/{x['transport']}" for x in nf.get("ports", []))
        auto = " (autoscaled)" if nf.get("autoscaling") else ""
        lines.append(
            f"{p.name:<14}{p.address:<16}{ports:<28}{f'{p.ready}/{p.desired}':<7}"
            f"{'':<9}{'':<10}{'':<7}{p.phase}{auto}"
        )
        for rep in nf.get("replicas", []):
            cpu = rep.get("cpu_percent")
            alive = rep.get("alive", True)
            st = rep.get("state", "") if alive else "gone"
            if rep.get("state") == "backoff" or (not rep.get("ready") and rep.get("reason")):
                st += f": {str(rep.get('reason', '')).splitlines()[0][:60]}"
            lines.append(
                f"  {rep['name']:<12}{':' + str(rep.get('admin_port')):<16}{'':<28}"
                f"{'yes' if rep.get('ready') else 'no':<7}{rep.get('pid') or '-'!s:<9}"
                f"{rep.get('restarts', 0)!s:<10}{'-' if cpu is None else f'{cpu:.1f}':<7}{st}"
            )
    return "\n".join(lines)


def cmd_scale(args: argparse.Namespace) -> int:
    platform = _platform(args)
    answer = platform.scale(
        args.nf,
        args.replicas,
        wait=not args.no_wait,
        timeout=args.timeout,
        progress=Progress(),
    )
    if answer.get("note"):
        print(f"note: {answer['note']}")
    verb = "scaling" if args.no_wait else "scaled"
    print(f"{verb} {args.nf} to {args.replicas} replica(s)")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    platform = _platform(args)
    for line in platform.logs(args.nf, follow=args.follow):
        print(line, flush=args.follow)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import CheckReport, epc_target, run_check, run_epc_check

    platform = _platform(args)
    plan = platform.plan()
    epc = epc_target(dict(plan)) if plan is not None else None
    try:
        pcscf: tuple[str, int] | None = platform.entry_point()
    except PlatformError:
        if epc is None:
            raise
        pcscf = None  # an EPC without the IMS: check the attach only
    assert plan is not None  # entry_point() or epc_target() checked
    try:
        subscribers = json.loads(platform.dir.subscribers.read_text())
    except (OSError, ValueError) as exc:
        raise PlatformError(f"cannot read {platform.dir.subscribers}: {exc}") from exc
    report = CheckReport()
    if pcscf is not None:
        report = run_check(
            subscribers, domain=plan["domain"], pcscf=pcscf, transport=args.transport
        )
    if epc is not None:
        report.steps += run_epc_check(subscribers, epc).steps
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    for step, elapsed in report.steps:
        print(f"{step:<60} {elapsed * 1000:8.1f} ms")
    if pcscf is not None:
        print(f"check passed through {pcscf[0]}:{pcscf[1]}/{args.transport}")
    if epc is not None:
        print(f"EPC check passed through the MME at {epc.host}:{epc.port}")
    return 0


# -- subscribers (a thin client of the HSS provisioning REST API) ---------------------------------


class Provisioning:
    """``GET/POST /subscribers``, ``GET/PUT/DELETE /subscribers/{imsi}`` on the HSS."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    @classmethod
    def locate(cls, args: argparse.Namespace) -> Provisioning:
        if args.hss_url:
            url = urlsplit(args.hss_url)
            if url.scheme != "http" or not url.hostname:
                raise PlatformError(f"--hss-url must be http://host:port, got {args.hss_url!r}")
            return cls(url.hostname, url.port or 80)
        host, port = LocalPlatform(args.state_dir).provisioning_endpoint()
        return cls(host, port)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        from network_functions.runtime.http import http_request_sync

        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            status, raw = http_request_sync(
                self.host, self.port, method, path, data, timeout=self.timeout, headers=headers
            )
        except OSError as exc:
            raise PlatformError(
                f"cannot reach the provisioning API at http://{self.host}:{self.port}: {exc}"
            ) from exc
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        if status >= 400:
            why = payload.get("error") if isinstance(payload, dict) else payload
            raise PlatformError(f"HSS answered {status} to {method} {path}: {why}")
        return status, payload


def _record(args: argparse.Namespace) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "imsi": args.imsi,
        "msisdn": args.msisdn.lstrip("+"),
        "k": args.k,
        "opc": args.opc,
    }
    if args.password is not None:
        rec["password"] = args.password
    if args.impi:
        rec["impi"] = args.impi
    if args.impus:
        rec["impus"] = args.impus
    return rec


def cmd_subscribers_add(args: argparse.Namespace) -> int:
    Provisioning.locate(args).request("POST", "/subscribers", _record(args))
    print(f"added subscriber {args.imsi}")
    return 0


def cmd_subscribers_list(args: argparse.Namespace) -> int:
    _, subs = Provisioning.locate(args).request("GET", "/subscribers")
    if isinstance(subs, dict):
        subs = subs.get("subscribers", [])
    if args.json:
        print(json.dumps(subs, indent=2))
        return 0
    rows = [
        (s.get("imsi", ""), s.get("msisdn", ""), s.get("impi", ""), " ".join(s.get("impus") or []))
        for s in subs or []
    ]
    width = max([len("IMPI"), *(len(r[2]) for r in rows)]) + 2
    print(f"{'IMSI':<17}{'MSISDN':<17}{'IMPI':<{width}}IMPUS")
    for imsi, msisdn, impi, impus in rows:
        print(f"{imsi:<17}{msisdn:<17}{impi:<{width}}{impus}")
    print(f"{len(subs or [])} subscriber(s)")
    return 0


def cmd_subscribers_show(args: argparse.Namespace) -> int:
    _, sub = Provisioning.locate(args).request("GET", f"/subscribers/{quote(args.imsi)}")
    print(json.dumps(sub, indent=2))
    return 0


def cmd_subscribers_delete(args: argparse.Namespace) -> int:
    Provisioning.locate(args).request("DELETE", f"/subscribers/{quote(args.imsi)}")
    print(f"deleted subscriber {args.imsi}")
    return 0


def read_subscriber_file(path: Path) -> list[dict[str, Any]]:
    """Records from a .json (list, one object, or {"subscribers": [...]}) or .csv file
    (header row; ``impus`` separated by ';' or spaces). Raises PlatformError naming the
    record or line that is wrong."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PlatformError(f"cannot read {path}: {exc.strerror}") from exc
    records: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PlatformError(f"{path} is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("subscribers"), list):
            data = data["subscribers"]
        records = data if isinstance(data, list) else [data]
        where = [f"record {i + 1}" for i in range(len(records))]
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = {"imsi", "msisdn", "k", "opc"} - set(reader.fieldnames or [])
        if missing:
            raise PlatformError(f"{path}: CSV header lacks {', '.join(sorted(missing))}")
        records, where = [], []
        for row in reader:
            rec: dict[str, Any] = {k: v.strip() for k, v in row.items() if k and v and v.strip()}
            if "impus" in rec:
                rec["impus"] = [u for u in re.split(r"[;\s]+", rec["impus"]) if u]
            records.append(rec)
            where.append(f"line {reader.line_num}")
    else:
        raise PlatformError(f"{path}: import reads .json or .csv files")
    for rec, at in zip(records, where, strict=True):
        if not isinstance(rec, dict):
            raise PlatformError(f"{path}, {at}: a subscriber must be an object")
        problems = [
            f"{key} {why}"
            for key, regex, why in (
                ("imsi", IMSI_RE, "must be 6-15 digits"),
                ("msisdn", MSISDN_RE, "must be 3-15 digits"),
                ("k", HEX128_RE, "must be 32 hex digits"),
                ("opc", HEX128_RE, "must be 32 hex digits"),
            )
            if not regex.match(str(rec.get(key, "")))
        ]
        if problems:
            raise PlatformError(f"{path}, {at}: {'; '.join(problems)}")
    return records


def cmd_subscribers_import(args: argparse.Namespace) -> int:
    records = read_subscriber_file(args.file)
    api = Provisioning.locate(args)
    t0 = time.monotonic()
    for start in range(0, len(records), IMPORT_BATCH):
        api.request("POST", "/subscribers", records[start : start + IMPORT_BATCH])
    print(f"imported {len(records)} subscriber(s) in {time.monotonic() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

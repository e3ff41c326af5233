"""``nfv loadtest`` and ``nfv experiment``: argument parsing around nfv.loadtest."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..argtypes import seconds
from .model import SUBSCRIBERS_PER_USER, LoadTestError, SubscriberRange, TrafficModel
from .shapes import MAX_SPAWN_RATE, MAX_USERS, parse_shape


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get("NFV_" + name, default)


def _count(low: int, high: int, what: str) -> Any:
    def check(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} must be a whole number, got {text!r}"
            ) from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low}..{high}, got {n}")
        return n

    return check


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_SPAWN_RATE:
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_SPAWN_RATE:g}], got {text}")
    return value


def add_commands(sub: Any) -> None:
    """Register ``loadtest`` and ``experiment`` on the CLI's subparsers."""
    lt = sub.add_parser(
        "loadtest",
        help="headless Locust load against the running core (stats CSV + summary.json)",
        description="Run a Locust scenario against the core a platform runs. The traffic "
        "model sets what each subscriber does; the summary states the offered REGISTER/s "
        "and calls/s and what was measured.",
    )
    lt.add_argument("scenario", help="scenario: ims (P-CSCF, SIP) or epc (MME, S1AP)")
    lt.add_argument("--target", choices=["local", "k8s"], default=_env("TARGET", "local"))
    lt.add_argument("--state-dir", default=_env("STATE_DIR", ".nfv-local"), help="local core")
    lt.add_argument("--namespace", default=_env("NAMESPACE"), help="k8s namespace")
    lt.add_argument(
        "--users",
        type=_count(1, MAX_USERS, "--users"),
        default=10,
        help=f"Locust users (each is {SUBSCRIBERS_PER_USER} subscribers)",
    )
    lt.add_argument("--spawn-rate", type=_rate, default=5.0, help="users started per second")
    lt.add_argument("--duration", type=seconds, default=60.0, help="seconds (without --shape)")
    lt.add_argument(
        "--shape",
        help="NAME[:key=value,...], e.g. ramp:base=10,peak=80,hold=30 "
        "(constant, step, ramp, spike, diurnal; overrides --users/--duration)",
    )
    lt.add_argument(
        "--workers",
        type=_count(0, 16, "--workers"),
        default=0,
        help="distributed mode: a master and this many worker processes",
    )
    lt.add_argument("--reregister-interval", type=seconds, default=300.0)
    lt.add_argument("--bhca", type=float, default=2.0, help="busy-hour call attempts/subscriber")
    lt.add_argument("--holding-time", type=float, default=90.0, help="mean call holding, s")
    lt.add_argument("--expires", type=int, default=None, help="REGISTER Expires (s)")
    lt.add_argument("--auth", choices=["digest", "aka", "mixed"], default="digest")
    lt.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    lt.add_argument("-o", "--output", type=Path, default=Path("loadtest-results"))
    lt.add_argument("--json", action="store_true", help="print summary.json")
    lt.set_defaults(func=cmd_loadtest)

    ex = sub.add_parser(
        "experiment",
        help="deploy (or reuse) the core, run a plan's load, sample, plot and report",
    )
    ex.add_argument(
        "plan", type=Path, help="experiment plan (YAML), e.g. experiments/elastic-volte.yaml"
    )
    ex.add_argument("-o", "--output", type=Path, required=True, help="results directory")
    ex.add_argument("--state-dir", default=_env("STATE_DIR"), help="local core (default: in -o)")
    ex.add_argument("--json", action="store_true", help="print results.json's figures")
    ex.set_defaults(func=cmd_experiment)


def _model(args: argparse.Namespace) -> TrafficModel:
    from pydantic import ValidationError

    data: dict[str, Any] = {
        "reregister_interval": args.reregister_interval,
        "bhca": args.bhca,
        "holding_time": args.holding_time,
        "auth": args.auth,
    }
    if args.expires is not None:
        data["register_expires"] = args.expires
    else:
        data["register_expires"] = max(600, int(args.reregister_interval * 2))
    try:
        return TrafficModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            if e["loc"]
            else e["msg"]
            for e in exc.errors()
        )
        raise LoadTestError(f"traffic model: {problems}") from exc


def cmd_loadtest(args: argparse.Namespace) -> int:
    from .runner import RunSpec, resolve_target, run_loadtest, scenario

    scen = scenario(args.scenario)
    model = _model(args)
    shape = parse_shape(args.shape) if args.shape else None
    target = resolve_target(
        args.target,
        state_dir=args.state_dir,
        namespace=args.namespace,
        transport=args.transport,
        entry=scen.entry,
    )
    spec = RunSpec(
        scenario=scen,
        target=target,
        model=model,
        out=args.output,
        users=args.users,
        spawn_rate=args.spawn_rate,
        duration=args.duration,
        shape=shape,
        workers=args.workers,
        subscribers=target.preprovisioned or SubscriberRange(),
    )
    offered = model.offered_for_users(spec.peak_users)
    print(
        f"{scen.name} against {target.sip[0]}:{target.sip[1]} "
        f"({target.platform}): {spec.peak_users} users = {offered['population']:.0f} "
        f"subscribers; offered {offered['register_per_s']:.1f} REGISTER/s, "
        f"{offered['calls_per_s']:.2f} calls/s ({offered['erlangs']:.1f} E) at peak; "
        f"{spec.run_seconds:.0f} s, {args.workers or 'no'} worker(s)",
        flush=True,
    )
    summary = run_loadtest(spec)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(format_summary(summary))
    print(f"results in {args.output}/ (summary.json, locust_stats*.csv, events/)")
    return 0


def format_summary(summary: dict[str, Any]) -> str:
    m = summary["measured"]
    lines = [
        f"{'PROCEDURE':<14}{'COUNT':>8}{'FAILED':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}",
    ]
    for name, s in m["by_procedure"].items():
        lines.append(
            f"{name:<14}{s['count']:>8}{s['failures']:>8}"
            + "".join(
                f"{'-' if s[k] is None else format(s[k], '.1f'):>9}"
                for k in ("p50_ms", "p95_ms", "p99_ms")
            )
        )
        for reason, n in list(s["failure_reasons"].items())[:3]:
            lines.append(f"    {n} x {reason}")
    lines.append(
        f"measured {m['register_per_s']:.1f} REGISTER/s, {m['calls_per_s']:.2f} calls/s over "
        f"{summary['duration_s']:.0f} s; {m['failures']} failed of {m['procedures']} "
        f"({m['failure_ratio'] * 100:.2f} %)"
    )
    return "\n".join(lines)


def cmd_experiment(args: argparse.Namespace) -> int:
    from .experiment import run_experiment
    from .plan import load_plan

    plan = load_plan(args.plan)
    results = run_experiment(plan, args.output, state_dir=args.state_dir, log=print)
    if args.json:
        print(json.dumps(results["figures"], indent=2))
    else:
        print(f"report: {args.output / 'report.html'}")
    return 0

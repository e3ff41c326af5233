"""``nfv deploy | upgrade | destroy`` and ``--platform k8s`` for ``nfv status | scale | logs``.

:func:`add_commands` adds the three commands and gives the existing ``status``, ``scale``
and ``logs`` a ``--platform {local,k8s}`` option (default ``$NFV_PLATFORM`` or local;
``-n/--namespace``, ``--context`` or ``--kubeconfig`` imply k8s), wrapping their handlers
so that anything else still runs the original (local or Docker) one. Cluster options:
``-n`` (``$NFV_NAMESPACE``, default ``nfv``), ``--context``, ``--kubeconfig``
(default: kubectl's choice), ``--instance`` (default ``volte``).

Exit status: 0 on success; 1 on any error (message on stderr); when an NF does not become
ready in time, 10 + its position in the deploy order (the store is 10; the message says
which NF the code names).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...argtypes import add_value_overrides, add_values_files, seconds
from ...argtypes import env as _env

if TYPE_CHECKING:
    from .platform import KubernetesPlatform

Handler = Callable[[argparse.Namespace], int]
PLATFORMS = ("local", "k8s")
DEFAULT_TIMEOUT = 180.0  # same as .platform (which imports the client: kept out of parsing)


def _cluster_options(parser: argparse.ArgumentParser, *, implied: bool = False) -> None:
    note = " (implies --platform k8s)" if implied else ""
    parser.add_argument(
        "-n",
        "--namespace",
        default=None,
        help=f"Kubernetes namespace (default: $NFV_NAMESPACE or nfv){note}",
    )
    parser.add_argument("--context", default=None, help=f"kubeconfig context{note}")
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help=f"kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster){note}",
    )
    parser.add_argument(
        "--instance",
        default=_env("INSTANCE", "volte"),
        help="app.kubernetes.io/instance of the core's objects (default: volte)",
    )


def _values_options(parser: argparse.ArgumentParser) -> None:
    add_value_overrides(
        parser,
        set_help="one value, e.g. nfs.scscf.replicas=3 (read as YAML; repeatable)",
        set_string_help="one value kept as a string (repeatable)",
    )
    parser.add_argument(
        "--registry",
        default=_env("REGISTRY"),
        help="image registry (host:port), e.g. 127.0.0.1:5000 (default: values image.registry)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=float(_env("TIMEOUT", str(DEFAULT_TIMEOUT)) or DEFAULT_TIMEOUT),
        help="seconds to wait for readiness (default 180)",
    )
    parser.add_argument(
        "--force-conflicts",
        action="store_true",
        help="take over fields another field manager owns (server-side apply)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def add_commands(subparsers: Any) -> None:
    """Add deploy/upgrade/destroy; give status/scale/logs ``--platform k8s``."""
    deploy = subparsers.add_parser(
        "deploy",
        help="deploy the core to Kubernetes (server-side apply, in dependency waves)",
        description="Render charts/volte-core, create the namespace, apply the objects in "
        "dependency waves waiting for readiness, prune what the chart no longer renders.",
    )
    deploy.add_argument("--profile", default=_env("PROFILE"), help="values profile (lab ...)")
    add_values_files(deploy, help="values file over the profile (repeatable; later files win)")
    _values_options(deploy)
    deploy.add_argument("--no-prune", action="store_true", help="keep objects no longer rendered")
    _cluster_options(deploy)
    deploy.set_defaults(func=cmd_deploy)

    upgrade = subparsers.add_parser(
        "upgrade",
        help="re-render the deployed core with new values/images and roll it",
        description="Re-render the values recorded by the last deploy, with --set/--registry "
        "over them, and roll the changed NFs (maxUnavailable 0); roll back on failure.",
    )
    upgrade.add_argument("nf", nargs="?", default=None, help="only this NF (default: all)")
    _values_options(upgrade)
    _cluster_options(upgrade)
    upgrade.set_defaults(func=cmd_upgrade)

    destroy = subparsers.add_parser(
        "destroy",
        help="delete everything nfv deployed (and the namespace if nfv created it)",
    )
    destroy.add_argument("--no-wait", action="store_true", help="return without waiting")
    destroy.add_argument("--timeout", type=seconds, default=120.0)
    _cluster_options(destroy)
    destroy.set_defaults(func=cmd_destroy)

    handlers: dict[str, Handler] = {
        "status": cmd_status,
        "scale": cmd_scale,
        "logs": cmd_logs,
    }
    for name, handler in handlers.items():
        parser = subparsers.choices.get(name)
        if parser is None:
            continue
        parser.add_argument(
            "--platform",
            choices=PLATFORMS,
            default=None,
            help="where the core runs: local (processes or --runtime docker) or k8s "
            "(default: $NFV_PLATFORM or local)",
        )
        _cluster_options(parser, implied=True)
        original: Handler = parser.get_default("func")
        parser.set_defaults(func=_dispatch(handler, original))


def wants_k8s(args: argparse.Namespace) -> bool:
    platform = getattr(args, "platform", None)
    if platform is not None:
        return bool(platform == "k8s")
    if args.namespace is not None or args.context is not None or args.kubeconfig is not None:
        return True
    return _env("PLATFORM", "local") == "k8s"


def _dispatch(k8s_handler: Handler, original: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        if wants_k8s(args):
            if getattr(args, "runtime", "local") != "local":
                from ...errors import PlatformError

                raise PlatformError("--runtime docker and --platform k8s exclude each other")
            return k8s_handler(args)
        return original(args)

    return run


def platform_from(args: argparse.Namespace) -> KubernetesPlatform:
    from .platform import KubernetesPlatform

    return KubernetesPlatform(
        args.namespace or _env("NAMESPACE", "nfv") or "nfv",
        context=args.context,
        kubeconfig=args.kubeconfig,
        instance=args.instance,
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from ...manifests import parse_set
    from ...values import deep_merge

    return deep_merge(parse_set(args.sets), parse_set(args.set_strings, strings=True))


def _fail(exc: Any) -> int:
    print(f"nfv: error: {exc}", file=sys.stderr)
    return int(exc.exit_code)


def cmd_deploy(args: argparse.Namespace) -> int:
    from ...cli import Progress
    from .errors import DeployTimeoutError

    with platform_from(args) as platform:
        out = sys.stderr if args.json else sys.stdout
        print(
            f"deploying instance {platform.instance} to namespace {platform.namespace} "
            f"({platform.api.source}, {platform.api.host})",
            file=out,
            flush=True,
        )
        try:
            report = platform.deploy(
                profile=args.profile,
                files=args.files,
                overrides=_overrides(args),
                registry=args.registry,
                timeout=args.timeout,
                progress=Progress(out),
                force_conflicts=args.force_conflicts,
                prune=not args.no_prune,
            )
        except DeployTimeoutError as exc:
            return _fail(exc)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    created = " (namespace created)" if report.created_namespace else ""
    print(
        f"core ready in {report.elapsed:.2f} s{created}: {report.applied} objects applied, "
        f"{len(report.changed)} changed, {len(report.pruned)} pruned"
    )
    for item in report.pruned:
        print(f"  pruned {item}")
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from ...cli import Progress
    from .errors import RolloutFailedError

    with platform_from(args) as platform:
        out = sys.stderr if args.json else sys.stdout
        try:
            report = platform.upgrade(
                args.nf,
                overrides=_overrides(args),
                registry=args.registry,
                timeout=args.timeout,
                progress=Progress(out),
                force_conflicts=args.force_conflicts,
            )
        except RolloutFailedError as exc:
            return _fail(exc)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    what = args.nf or "the core"
    changed = ", ".join(report.changed) or "nothing changed"
    print(f"upgraded {what} in {report.elapsed:.2f} s: {changed}")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    with platform_from(args) as platform:
        report = platform.destroy(wait=not args.no_wait, timeout=args.timeout)
    if not report.deleted and not report.namespace_deleted:
        print(f"nothing of instance {args.instance} in namespace {report.namespace}")
        return 0
    ns = f"; namespace {report.namespace} deleted" if report.namespace_deleted else ""
    print(f"deleted {len(report.deleted)} objects in {report.elapsed:.1f} s{ns}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .status import format_status

    with platform_from(args) as platform:
        status = platform.status()
    if getattr(args, "json", False):
        print(json.dumps(status.as_dict(), indent=2, sort_keys=True))
    else:
        print(format_status(status))
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    from ...cli import Progress

    with platform_from(args) as platform:
        report = platform.scale(
            args.nf,
            args.replicas,
            wait=not args.no_wait,
            timeout=args.timeout,
            progress=Progress(),
        )
        namespace = platform.namespace
    if report.note:
        print(f"note: {report.note}")
    verb = "scaling" if args.no_wait else "scaled"
    print(f"{verb} {args.nf} to {args.replicas} replica(s) in namespace {namespace}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    with platform_from(args) as platform:
        for line in platform.logs(args.nf, follow=args.follow):
            print(line, flush=args.follow)
    return 0

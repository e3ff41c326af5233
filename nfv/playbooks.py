"""``nfv playbook NAME``: the Ansible playbooks of ``playbooks/`` run through ansible-runner.

The bridge between nfv and Ansible (the only module that imports ``ansible_runner``): it
resolves a playbook by name, turns ``-e`` arguments into extra variables, runs
``ansible-playbook`` with the project's inventory and shows the runner's task events as
progress — one line per task with its status (ok, changed, failed, skipped, unreachable) and
host, and a live line for the running task on a terminal. The artifacts of every run
(events, stdout, the command line) stay in ``.nfv-ansible/artifacts/<ident>/``; on failure
the failed task, its host and its message are reported as a :class:`PlaybookError`, which
the CLI prints before exiting 1.

``-e`` accepts ``NAME=VALUE`` (an Ansible variable, a string), ``KEY.PATH=VALUE`` (a chart
value for ``nfv render --set``, collected into ``nfv_set``, the value read as YAML), a JSON
object, or ``@FILE`` (a YAML/JSON mapping).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from .errors import NfvError

PLAYBOOK_DIR = Path(__file__).resolve().parent.parent / "playbooks"
DEFAULT_INVENTORY = PLAYBOOK_DIR / "inventory"
# Relative to the working directory, like the playbooks' own state (nfv_state_dir).
DEFAULT_STATE_DIR = Path(".nfv-ansible")
DEFAULT_ARTIFACTS = DEFAULT_STATE_DIR / "artifacts"
# Runs whose artifacts are kept (older ones are removed by ansible-runner).
KEEP_ARTIFACTS = 20
# Characters of a failed task's stdout/stderr shown in the error (the rest is in artifacts).
TAIL_CHARS = 1500

VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CHART_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$")


class PlaybookError(NfvError):
    """A playbook is unknown, its arguments are wrong, or its run failed."""


# -- playbooks and their arguments ----------------------------------------------------------------


def available_playbooks(root: Path = PLAYBOOK_DIR) -> list[str]:
    """Names of the playbooks in *root* (``site``, ``deploy`` ...), sorted."""
    return sorted(p.stem for p in root.glob("*.yml") if p.is_file())


def resolve_playbook(name: str, root: Path = PLAYBOOK_DIR) -> Path:
    """The playbook file for *name* (``site`` or ``site.yml``); raises PlaybookError
    listing the available playbooks when there is no such playbook."""
    stem = name[: -len(".yml")] if name.endswith(".yml") else name
    names = available_playbooks(root)
    if stem not in names:
        raise PlaybookError(
            f"unknown playbook {name!r}; available: {', '.join(names) or f'none in {root}'}"
        )
    return root / f"{stem}.yml"


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if key in ("nfv_set", "nfv_set_string") and isinstance(value, Mapping):
            into.setdefault(key, {}).update(value)
        else:
            into[key] = value


def parse_extravars(items: Sequence[str]) -> dict[str, Any]:
    """Extra variables from ``-e`` arguments, later ones winning; raises PlaybookError
    naming the argument that is none of the accepted forms."""
    out: dict[str, Any] = {}
    forms = (
        "expected NAME=VALUE (an Ansible variable), KEY.PATH=VALUE (a chart value, as "
        "`nfv render --set`), a JSON object or @FILE"
    )
    for item in items:
        if item.startswith("@"):
            path = Path(item[1:])
            try:
                data = yaml.safe_load(path.read_text())
            except OSError as exc:
                raise PlaybookError(f"-e {item}: cannot read {path}: {exc.strerror}") from exc
            except yaml.YAMLError as exc:
                raise PlaybookError(f"-e {item}: {path} is not YAML: {exc}") from exc
            if not isinstance(data, dict):
                raise PlaybookError(f"-e {item}: {path} must hold a mapping of variables")
            _merge(out, data)
        elif item.lstrip().startswith("{"):
            try:
                data = json.loads(item)
            except ValueError as exc:
                raise PlaybookError(f"-e {item!r}: not a JSON object: {exc}") from exc
            if not isinstance(data, dict):
                raise PlaybookError(f"-e {item!r}: not a JSON object")
            _merge(out, data)
        else:
            key, sep, value = item.partition("=")
            if not sep:
                raise PlaybookError(f"-e {item!r}: no '='; {forms}")
            if VAR_NAME.match(key):
                out[key] = value
            elif CHART_KEY.match(key):
                try:
                    parsed = yaml.safe_load(value) if value else ""
                except yaml.YAMLError as exc:
                    raise PlaybookError(f"-e {item!r}: the value is not YAML: {exc}") from exc
                out.setdefault("nfv_set", {})[key] = parsed
            else:
                raise PlaybookError(f"-e {item!r}: {key!r} is not a variable name; {forms}")
    return out


# -- progress -----------------------------------------------------------------------------------

# Tasks whose message is shown under their line.
DEBUG_ACTIONS = ("ansible.builtin.debug", "debug")
MARKS = {"ok": "✔", "changed": "✎", "failed": "✘", "skipped": "·", "unreachable": "✘"}


@dataclass
class Failure:
    """A task that failed: the one that ended the run is the last one recorded."""

    task: str
    host: str
    message: str
    ignored: bool = False


def failure_message(res: Mapping[str, Any]) -> str:
    """The useful part of a failed task's result: its msg, the failed loop items' messages,
    and the tails of stderr/stdout (a command's own explanation)."""
    parts: list[str] = []
    msg = res.get("msg")
    if msg and msg != "All items completed" and msg != "One or more items failed":
        parts.append(str(msg).strip())
    for item in res.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            label = item.get("_ansible_item_label", item.get("item"))
            if isinstance(label, Mapping):
                label = label.get("metadata", {}).get("name", "") or json.dumps(label)[:60]
            parts.append(f"[{label}] {failure_message(item)}")
    for stream in ("stderr", "stdout"):
        text = str(res.get(stream) or "").strip()
        if text and text not in parts:
            tail = text[-TAIL_CHARS:]
            parts.append(f"{stream}: {'…' if len(text) > len(tail) else ''}{tail}")
            break
    if not parts and res.get("rc") is not None:
        parts.append(f"exit status {res['rc']}")
    if not parts and res.get("attempts"):
        parts.append(f"condition still false after {res['attempts']} attempts")
    return "\n".join(parts) or "no message"


class TaskDisplay:
    """Ansible events as progress: one line per finished task (status, host, task, seconds);
    on a terminal a live line shows the running task and its clock until it finishes."""

    def __init__(self, out: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.failures: list[Failure] = []
        self.stats: dict[str, dict[str, int]] = {}
        self._task = ""
        self._task_started = 0.0
        self._item = ""
        self._live = False
        self._lock = threading.Lock()

    # ansible-runner's event_handler: return True to keep the event in the artifacts.
    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = str(event.get("event", ""))
        data: Mapping[str, Any] = event.get("event_data") or {}
        with self._lock:
            self._handle(kind, data)
        return True

    def _handle(self, kind: str, data: Mapping[str, Any]) -> None:
        if kind == "playbook_on_play_start":
            self._line(f"PLAY {data.get('play') or data.get('name') or ''}".rstrip())
        elif kind == "playbook_on_task_start":
            self._task = self.task_name(data)
            self._task_started = time.monotonic()
            self._item = ""
            self._draw_live()
        elif kind.startswith("runner_item_on_"):
            res = data.get("res") or {}
            label = res.get("_ansible_item_label", "")
            self._item = (
                str(label.get("metadata", {}).get("name", ""))
                if isinstance(label, Mapping)
                else str(label)
            )
            if kind == "runner_item_on_failed":
                self._item += " failed"
            self._draw_live()
        elif kind in (
            "runner_on_ok",
            "runner_on_failed",
            "runner_on_skipped",
            "runner_on_unreachable",
        ):
            res = data.get("res") or {}
            status = kind.removeprefix("runner_on_")
            if status == "ok" and res.get("changed"):
                status = "changed"
            host = str(data.get("host", ""))
            task = self.task_name(data) or self._task
            seconds = data.get("duration")
            if seconds is None:
                seconds = time.monotonic() - self._task_started
            ignored = bool(data.get("ignore_errors"))
            if status in ("failed", "unreachable"):
                self.failures.append(Failure(task, host, failure_message(res), ignored))
            self._task = ""  # finished: no live line until the next task starts
            self._line(self.format_line(status, host, task, float(seconds), ignored=ignored))
            if status == "ok" and data.get("task_action") in DEBUG_ACTIONS and "msg" in res:
                # what a debug task is there to say (a summary, a note): under its line
                msg = res["msg"]
                for text in msg if isinstance(msg, list) else str(msg).splitlines():
                    self._line(f"    {text}")
        elif kind == "playbook_on_stats":
            for key in ("ok", "changed", "failures", "skipped", "dark", "rescued", "ignored"):
                for host, n in (data.get(key) or {}).items():
                    self.stats.setdefault(str(host), {})[key] = int(n)

    @staticmethod
    def task_name(data: Mapping[str, Any]) -> str:
        task = str(data.get("task") or data.get("name") or "").strip()
        role = str(data.get("role") or "").strip()
        return f"{role} : {task}" if role and not task.startswith(f"{role} :") else task

    def format_line(
        self, status: str, host: str, task: str, seconds: float, *, ignored: bool = False
    ) -> str:
        elapsed = time.monotonic() - self.started
        label = f"{status} (ignored)" if ignored else status
        mark = f"{MARKS.get(status, ' ')} " if self.tty else ""
        return f"[{elapsed:7.2f}s] {mark}{label:<11} {host:<10} {task} ({seconds:.1f} s)"

    def _line(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\x1b[2K")
        self.out.write(text + "\n")
        self._live = False
        self._draw_live()  # a task still running stays on the last line
        self.out.flush()

    def _draw_live(self) -> None:
        """The running task and its clock on the last line (terminals only)."""
        if not self.tty or not self._task:
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        running = time.monotonic() - self._task_started
        item = f" [{self._item}]" if self._item else ""
        text = f"… {self._task}{item} {running:.1f} s"
        self.out.write("\r\x1b[2K" + text[:width])
        self.out.flush()
        self._live = True

    def tick(self) -> None:
        """Redraw the live line (its clock); called from a timer thread on terminals."""
        with self._lock:
            if self._live:
                self._draw_live()

    def finish(self) -> None:
        with self._lock:
            if self.tty and self._live:
                self.out.write("\r\x1b[2K")
                self.out.flush()
            self._live = False

    def summary(self) -> str:
        keys = (
            ("ok", "ok"),
            ("changed", "changed"),
            ("failures", "failed"),
            ("dark", "unreachable"),
            ("skipped", "skipped"),
            ("rescued", "rescued"),
        )
        hosts = sorted(self.stats) or ["-"]
        lines = []
        for host in hosts:
            counts = self.stats.get(host, {})
            lines.append(f"{host}: " + " ".join(f"{n}={counts.get(k, 0)}" for k, n in keys))
        return "; ".join(lines)


# -- running ------------------------------------------------------------------------------------


@dataclass
class PlaybookRun:
    name: str
    status: str
    rc: int
    seconds: float
    artifacts: Path
    failures: list[Failure] = field(default_factory=list)
    summary: str = ""


def _ansible_path() -> str:
    """PATH with the running interpreter's bin directory first: its ansible-playbook (the
    one beside the Python that has nfv and the collections) is the one that runs."""
    bindir = Path(sys.executable).parent
    if not (bindir / "ansible-playbook").exists() and shutil.which("ansible-playbook") is None:
        raise PlaybookError("ansible-playbook not found: install nfv with its dev extra")
    return os.pathsep.join([str(bindir), os.environ.get("PATH", os.defpath)])


def run_playbook(
    name: str,
    *,
    extravars: Mapping[str, Any] | None = None,
    inventory: Path = DEFAULT_INVENTORY,
    artifacts_dir: Path = DEFAULT_ARTIFACTS,
    verbosity: int = 0,
    display: TaskDisplay | None = None,
    playbook_dir: Path = PLAYBOOK_DIR,
) -> PlaybookRun:
    """Run playbook *name* with ansible-runner; raises PlaybookError for an unknown playbook
    or inventory, and when the run fails (naming the failed task, host and message)."""
    import ansible_runner

    playbook = resolve_playbook(name, playbook_dir)
    if not inventory.exists():
        raise PlaybookError(f"inventory {inventory} does not exist")
    display = display if display is not None else TaskDisplay()
    variables: dict[str, Any] = {"nfv_workdir": os.getcwd()}
    _merge(variables, dict(extravars or {}))
    artifacts_dir = artifacts_dir.resolve()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    ident = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{playbook.stem}-{os.getpid()}"
    stop = threading.Event()
    ticker = None
    if display.tty:

        def tick() -> None:
            while not stop.wait(0.25):
                display.tick()

        ticker = threading.Thread(target=tick, name="nfv-playbook-clock", daemon=True)
        ticker.start()
    started = time.monotonic()
    # ansible-runner writes the extra variables under its private data directory: one per
    # run (concurrent runs must not share it), removed afterwards; artifacts stay.
    private = Path(tempfile.mkdtemp(prefix=f".{ident}-", dir=artifacts_dir))
    try:
        runner = ansible_runner.run(
            private_data_dir=str(private),
            artifact_dir=str(artifacts_dir),
            project_dir=str(playbook.parent),
            ident=ident,
            playbook=str(playbook),
            inventory=str(inventory.resolve()),
            extravars=variables,
            envvars={"PATH": _ansible_path()},
            event_handler=display,
            quiet=True,
            verbosity=verbosity or None,
            rotate_artifacts=KEEP_ARTIFACTS,
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)
        stop.set()
        if ticker is not None:
            ticker.join()
        display.finish()
    run = PlaybookRun(
        name=playbook.stem,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        seconds=time.monotonic() - started,
        artifacts=artifacts_dir / ident,
        failures=list(display.failures),
        summary=display.summary(),
    )
    if run.status != "successful" or run.rc != 0:
        raise PlaybookError(describe_failure(run, _stdout_tail(run.artifacts / "stdout")))
    return run


def _stdout_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text.strip()[-TAIL_CHARS:]


def describe_failure(run: PlaybookRun, stdout_tail: str = "") -> str:
    """The error for a failed run: the task that ended it, its host and message (or, when no
    task failed — a syntax error, an undefined variable — the end of ansible's output)."""
    fatal = [f for f in run.failures if not f.ignored]
    if fatal:
        last = fatal[-1]
        text = f"playbook {run.name} failed at task '{last.task}' on {last.host}: {last.message}"
    else:
        text = f"playbook {run.name} {run.status} (exit status {run.rc})"
        if stdout_tail:
            text += f":\n{stdout_tail}"
    return f"{text}\nartifacts: {run.artifacts}"


# -- CLI ----------------------------------------------------------------------------------------


def add_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``playbook`` to the CLI's sub-command parsers (``parser.add_subparsers()``)."""
    names = ", ".join(available_playbooks())
    playbook: argparse.ArgumentParser = subparsers.add_parser(
        "playbook",
        help="run an Ansible playbook of playbooks/ (site, deploy, scale ...)",
        description=f"Run playbooks/NAME.yml through ansible-runner ({names}). Variables: "
        "playbooks/group_vars/all.yml; docs/ansible.md.",
    )
    playbook.add_argument("name", metavar="NAME", help=f"playbook: {names}")
    playbook.add_argument(
        "-e",
        "--extra-vars",
        dest="extravars",
        action="append",
        default=[],
        metavar="K=V",
        help="variable NAME=VALUE, chart value KEY.PATH=VALUE (nfv_set), a JSON object or "
        "@FILE (repeatable; later ones win)",
    )
    playbook.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=Path(os.environ.get("NFV_INVENTORY") or DEFAULT_INVENTORY),
        help="inventory (default: playbooks/inventory, the local control host)",
    )
    playbook.add_argument(
        "--artifacts-dir",
        type=Path,
        default=Path(os.environ.get("NFV_ARTIFACTS_DIR") or DEFAULT_ARTIFACTS),
        help=f"where each run's events and output are kept (default: ./{DEFAULT_ARTIFACTS})",
    )
    playbook.add_argument("-v", "--verbose", action="count", default=0, help="ansible verbosity")
    playbook.set_defaults(func=cmd_playbook)
    return playbook


def cmd_playbook(args: argparse.Namespace) -> int:
    resolve_playbook(args.name)  # fail before anything runs
    extravars = parse_extravars(args.extravars)
    display = TaskDisplay()
    print(f"running playbook {args.name} (artifacts in {args.artifacts_dir})", flush=True)
    try:
        run = run_playbook(
            args.name,
            extravars=extravars,
            inventory=args.inventory,
            artifacts_dir=args.artifacts_dir,
            verbosity=args.verbose,
            display=display,
        )
    except PlaybookError:
        if display.stats:
            print(display.summary(), flush=True)
        raise
    print(run.summary)
    print(f"playbook {run.name} done in {run.seconds:.1f} s; artifacts: {run.artifacts}")
    return 0

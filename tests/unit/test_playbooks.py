"""The Ansible half of issue 7 without a cluster: the playbooks parse (ansible-playbook
--syntax-check), every task names a fully qualified module, the render role reports
"changed" honestly and passes chart values through, and `nfv playbook` shows task events,
reports failures with the failed task and message, and refuses bad input clearly."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nfv.cli import main
from nfv.playbooks import (
    PLAYBOOK_DIR,
    PlaybookError,
    TaskDisplay,
    available_playbooks,
    failure_message,
    parse_extravars,
    resolve_playbook,
    run_playbook,
)

pytestmark = pytest.mark.unit

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
EXPECTED = ["deploy", "loadtest", "scale", "site", "teardown", "upgrade"]
ROLES = PLAYBOOK_DIR / "roles"


# -- the playbooks as files ------------------------------------------------------------------


def test_the_playbooks_are_there() -> None:
    assert available_playbooks() == EXPECTED
    for role in ("nfv_images", "nfv_render", "nfv_core", "nfv_loadtest"):
        for part in ("tasks", "defaults", "meta"):
            assert (ROLES / role / part / "main.yml").is_file(), (role, part)


def test_every_playbook_passes_syntax_check() -> None:
    playbooks = [str(PLAYBOOK_DIR / f"{n}.yml") for n in EXPECTED]
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "--syntax-check", "-i", str(PLAYBOOK_DIR / "inventory"), *playbooks],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for playbook in playbooks:
        assert f"playbook: {playbook}" in result.stdout


def test_syntax_check_catches_a_broken_playbook(tmp_path: Path) -> None:
    # the check above can fail: a task with two modules is refused
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "- hosts: localhost\n  tasks:\n    - name: two modules\n"
        "      ansible.builtin.debug: {msg: a}\n      ansible.builtin.command: ls\n"
    )
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "--syntax-check", "-i", "localhost,", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0


def _task_keywords() -> tuple[set[str], set[str]]:
    from ansible.playbook.block import Block
    from ansible.playbook.task import Task

    return set(Task.fattributes), set(Block.fattributes)


def _tasks(items: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every task of a task list, blocks (block/rescue/always) opened."""
    for i, task in enumerate(items or []):
        assert isinstance(task, dict), f"{where}[{i}] is not a mapping"
        if "block" in task:
            for part in ("block", "rescue", "always"):
                yield from _tasks(task.get(part), f"{where}[{i}].{part}")
        yield f"{where}[{i}]", task


def _all_tasks() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in EXPECTED:
        path = PLAYBOOK_DIR / f"{name}.yml"
        for p, play in enumerate(yaml.safe_load(path.read_text())):
            if "import_playbook" in play or "ansible.builtin.import_playbook" in play:
                yield f"{path.name}[{p}]", play
                continue
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(play.get(section), f"{path.name}[{p}].{section}")
    for path in sorted(ROLES.glob("*/tasks/*.yml")) + sorted(ROLES.glob("*/handlers/*.yml")):
        yield from _tasks(yaml.safe_load(path.read_text()), str(path.relative_to(ROLES)))


def _module_of(task: dict[str, Any], task_words: set[str], block_words: set[str]) -> str | None:
    if "block" in task:
        unknown = set(task) - block_words
        assert not unknown, f"block with unknown keys {unknown}"
        return None
    keys = [
        k
        for k in task
        if k not in task_words and not k.startswith("with_") and k not in ("local_action",)
    ]
    assert len(keys) == 1, f"expected exactly one module, found {keys}"
    return keys[0]


def test_every_module_is_fully_qualified_and_every_task_named() -> None:
    task_words, block_words = _task_keywords()
    seen: set[str] = set()
    count = 0
    for where, task in _all_tasks():
        if "import_playbook" in task or "ansible.builtin.import_playbook" in task:
            assert "ansible.builtin.import_playbook" in task, where
            assert task.get("name"), f"{where}: unnamed"
            continue
        module = _module_of(task, task_words, block_words)
        assert task.get("name"), f"{where}: every task (and block) has a name"
        if module is None:
            continue
        count += 1
        seen.add(module)
        assert module.count(".") >= 2, f"{where}: module {module!r} is not fully qualified"
        assert not module.startswith("ansible.legacy."), where
    assert count > 40
    # the collections the issue asks for are the ones doing the work
    assert {"kubernetes.core.k8s", "kubernetes.core.k8s_info", "kubernetes.core.k8s_scale"} <= seen
    assert {"community.docker.docker_image_info", "community.docker.docker_image_push"} <= seen
    assert "ansible.builtin.command" in seen


def test_the_fq_check_can_fail() -> None:
    task_words, block_words = _task_keywords()
    assert _module_of({"name": "x", "command": "ls"}, task_words, block_words) == "command"
    with pytest.raises(AssertionError):
        _module_of({"name": "x", "debug": {}, "command": "ls"}, task_words, block_words)


def test_every_variable_is_documented_in_group_vars() -> None:
    """Each nfv_* variable the playbooks read is set in group_vars/all.yml (the one
    documented place), derived in a role's defaults, or made by the tasks themselves."""
    documented = set(yaml.safe_load((PLAYBOOK_DIR / "group_vars" / "all.yml").read_text()))
    made: set[str] = set()
    for defaults in ROLES.glob("*/defaults/main.yml"):
        made |= set(yaml.safe_load(defaults.read_text()) or {})
    for name in EXPECTED:
        for play in yaml.safe_load((PLAYBOOK_DIR / f"{name}.yml").read_text()):
            made |= set(play.get("vars") or {})
    for _, task in _all_tasks():
        made |= set(task.get("vars") or {})
        made |= set(task.get("ansible.builtin.set_fact") or {})
        if task.get("register"):
            made.add(task["register"])
    text = "\n".join(p.read_text() for p in [*PLAYBOOK_DIR.glob("*.yml"), *ROLES.rglob("*.yml")])
    used = set(re.findall(r"\b(nfv_[a-z0-9_]+)\b", text)) - {p.name for p in ROLES.iterdir()}
    assert not used - documented - made, "read but defined nowhere: " + ", ".join(
        sorted(used - documented - made)
    )
    # and every documented variable has a comment line right above it or its group
    lines = (PLAYBOOK_DIR / "group_vars" / "all.yml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("nfv_"):
            above = [x for x in lines[max(0, i - 3) : i] if x.strip()]
            assert any(x.startswith("#") for x in above) or lines[i - 1].startswith("nfv_"), line


# -- the render role, run for real (nfv render, no cluster) ------------------------------------


def _run_local(tmp_path: Path, tasks: list[dict[str, Any]], extra: dict[str, Any]) -> str:
    play = [{"name": "t", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "t.yml").write_text(yaml.safe_dump(play))
    group_vars = tmp_path / "group_vars"
    if not group_vars.exists():
        group_vars.mkdir()
        (group_vars / "all.yml").write_text((PLAYBOOK_DIR / "group_vars" / "all.yml").read_text())
        (tmp_path / "roles").symlink_to(ROLES)
    result = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(PLAYBOOK_DIR / "inventory"),
            str(tmp_path / "t.yml"),
            "-e",
            json.dumps(extra),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result.stdout


def test_render_role_is_honest_about_changes_and_passes_values(tmp_path: Path) -> None:
    extra = {
        "nfv_workdir": str(tmp_path),
        "nfv_namespace": "nfv-unit",
        "nfv_set": {"kubernetes.exposure.node_ports.sip": 30061, "nfs.scscf.replicas": 2},
        "nfv_set_string": {"image.tag": "0123"},
    }
    tasks = [
        {"name": "render", "ansible.builtin.import_role": {"name": "nfv_render"}},
        {
            "name": "show",
            "ansible.builtin.debug": {
                "msg": "{{ nfv_render_objects | map(attribute='kind') | list | to_json }}"
            },
        },
    ]
    first = _run_local(tmp_path, tasks, extra)
    render_line = "TASK [nfv_render : Render the manifests"
    assert render_line in first

    def render_status(out: str) -> str:
        after = out.split(render_line, 1)[1].split("\n", 2)[1]
        return after.split(":", 1)[0]

    assert render_status(first) == "changed"
    out_dir = tmp_path / ".nfv-ansible" / "manifests" / "nfv-unit"
    objects = [yaml.safe_load(p.read_text()) for p in sorted(out_dir.glob("*.yaml"))]
    sip = next(
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "pcscf-sip"
    )
    assert {p["nodePort"] for p in sip["spec"]["ports"]} == {30061}
    scscf = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "scscf"
    )
    assert scscf["spec"]["replicas"] == 2
    assert scscf["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/nfv/scscf:0123")
    assert all(o["metadata"]["namespace"] == "nfv-unit" for o in objects)
    # same values again: nothing changes, and the task says so
    assert render_status(_run_local(tmp_path, tasks, extra)) == "ok"
    # another value: changed again
    extra["nfv_set"]["nfs.scscf.replicas"] = 3
    assert render_status(_run_local(tmp_path, tasks, extra)) == "changed"


# -- nfv playbook: events, failures, bad input ------------------------------------------------


def _event(kind: str, **data: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": data}


def test_display_one_line_per_task_plain() -> None:
    out = io.StringIO()
    d = TaskDisplay(out, tty=False)
    d(_event("playbook_on_play_start", play="Deploy the VoLTE core"))
    d(_event("playbook_on_task_start", task="Render", role="nfv_render"))
    d(
        _event(
            "runner_on_ok",
            host="localhost",
            task="Render",
            role="nfv_render",
            res={"changed": True},
            duration=1.25,
        )
    )
    d(_event("playbook_on_task_start", task="Look"))
    d(_event("runner_on_ok", host="localhost", task="Look", res={"changed": False}, duration=0.5))
    d(_event("runner_on_skipped", host="localhost", task="Create namespace", duration=0.0))
    d(
        _event(
            "runner_on_failed",
            host="localhost",
            task="Wait",
            res={"msg": "timeout"},
            ignore_errors=False,
            duration=3.0,
        )
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "PLAY Deploy the VoLTE core"
    assert "changed" in lines[1] and "localhost" in lines[1]
    assert lines[1].endswith("nfv_render : Render (1.2 s)")
    assert " ok " in lines[2] and lines[2].endswith("Look (0.5 s)")
    assert " skipped " in lines[3] and "Create namespace" in lines[3]
    assert " failed " in lines[4] and "Wait" in lines[4]
    assert "\x1b" not in out.getvalue()  # no terminal control off a terminal
    assert [(f.task, f.host, f.message) for f in d.failures] == [("Wait", "localhost", "timeout")]


def test_display_shows_what_debug_tasks_say() -> None:
    out = io.StringIO()
    d = TaskDisplay(out, tty=False)
    d(
        _event(
            "runner_on_ok",
            host="localhost",
            task="Show the load test's summary",
            task_action="ansible.builtin.debug",
            res={"changed": False, "msg": ["ims against 127.0.0.1:30061/udp", "0 failed"]},
        )
    )
    d(
        _event(
            "runner_on_ok",
            host="localhost",
            task="Look",
            task_action="kubernetes.core.k8s_info",
            res={"changed": False, "msg": "not shown"},
        )
    )
    lines = out.getvalue().splitlines()
    assert lines[1:3] == ["    ims against 127.0.0.1:30061/udp", "    0 failed"]
    assert len(lines) == 4 and "not shown" not in out.getvalue()


def test_display_live_line_on_a_terminal() -> None:
    out = io.StringIO()
    d = TaskDisplay(out, tty=True)
    d(_event("playbook_on_task_start", task="Wait for each workload", role="nfv_core"))
    d(_event("runner_item_on_ok", host="localhost", res={"_ansible_item_label": "Deployment/hss"}))
    d.tick()
    text = out.getvalue()
    assert "\r\x1b[2K… nfv_core : Wait for each workload [Deployment/hss]" in text
    d(
        _event(
            "runner_on_ok",
            host="localhost",
            task="Wait for each workload",
            role="nfv_core",
            res={"changed": False},
            duration=2.0,
        )
    )
    final = out.getvalue()[len(text) :]
    assert final.startswith("\r\x1b[2K[") and "✔ ok" in final and final.endswith("(2.0 s)\n")
    d.tick()  # no task runs: the clock draws nothing
    assert out.getvalue().endswith("(2.0 s)\n")


def test_failure_message_picks_the_useful_part() -> None:
    assert failure_message({"msg": "boom"}) == "boom"
    cmd = failure_message(
        {"msg": "non-zero return code", "rc": 1, "stderr": "nfv: error: bad values"}
    )
    assert cmd == "non-zero return code\nstderr: nfv: error: bad values"
    loop = failure_message(
        {
            "msg": "One or more items failed",
            "results": [
                {"failed": False, "item": "a"},
                {"failed": True, "_ansible_item_label": "Deployment/hss", "msg": "not ready"},
            ],
        }
    )
    assert loop == "[Deployment/hss] not ready"
    assert failure_message({"rc": 2}) == "exit status 2"
    assert failure_message({"attempts": 180, "resources": [{}]}) == (
        "condition still false after 180 attempts"
    )


def test_run_playbook_for_real_reports_events_and_the_failed_task(tmp_path: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / "inventory.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    play = [
        {
            "name": "probe",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": "say hello", "ansible.builtin.debug": {"msg": "{{ greeting }}"}},
                {
                    "name": "touch a file",
                    "ansible.builtin.file": {"path": str(tmp_path / "f"), "state": "touch"},
                },
                {"name": "never", "ansible.builtin.debug": {"msg": "x"}, "when": False},
                {
                    "name": "fail on purpose",
                    "ansible.builtin.command": {"argv": ["sh", "-c", "echo broken >&2; exit 3"]},
                    "when": "should_fail | bool",
                },
            ],
        }
    ]
    (books / "probe.yml").write_text(yaml.safe_dump(play))
    out = io.StringIO()
    ok = run_playbook(
        "probe",
        extravars={"greeting": "hi", "should_fail": "false"},
        inventory=books / "inventory.yml",
        artifacts_dir=tmp_path / "artifacts",
        display=TaskDisplay(out, tty=False),
        playbook_dir=books,
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "PLAY probe"
    statuses = [line.split("] ", 1)[1].split()[0] for line in lines[1:] if line.startswith("[")]
    assert statuses == ["ok", "changed", "skipped", "skipped"]
    assert "say hello" in lines[1]
    assert lines[2] == "    hi"  # what the debug task said, under its line
    assert ok.status == "successful" and ok.artifacts.is_dir()
    assert (ok.artifacts / "job_events").is_dir()  # the events are kept
    assert "ok=2" in ok.summary and "changed=1" in ok.summary

    with pytest.raises(PlaybookError) as err:
        run_playbook(
            "probe",
            extravars={"greeting": "hi", "should_fail": "true"},
            inventory=books / "inventory.yml",
            artifacts_dir=tmp_path / "artifacts",
            display=TaskDisplay(io.StringIO(), tty=False),
            playbook_dir=books,
        )
    text = str(err.value)
    assert text.startswith("playbook probe failed at task 'fail on purpose' on localhost:")
    assert "stderr: broken" in text
    assert f"artifacts: {tmp_path / 'artifacts'}" in text


def test_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    # a kubeconfig whose API server is a closed loopback port
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    with pytest.raises(PlaybookError) as err:
        run_playbook(
            "deploy",
            extravars={"nfv_kubeconfig": str(kubeconfig), "nfv_workdir": str(tmp_path)},
            artifacts_dir=tmp_path / "artifacts",
            display=TaskDisplay(io.StringIO(), tty=False),
        )
    text = str(err.value)
    assert "failed at task 'nfv_core : Fail when the cluster cannot be reached'" in text
    assert f"cannot reach the cluster (kubeconfig {kubeconfig}, context its current one)" in text
    assert "Connection refused" in text


def test_unknown_playbook_lists_the_available_ones() -> None:
    with pytest.raises(PlaybookError, match="unknown playbook 'nope'; available: deploy, "):
        resolve_playbook("nope")
    assert resolve_playbook("site.yml") == PLAYBOOK_DIR / "site.yml"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["nfv_namespace=core"], {"nfv_namespace": "core"}),
        (["a=1", "a=2"], {"a": "2"}),
        (["x=a=b"], {"x": "a=b"}),
        (
            ["kubernetes.exposure.node_ports.sip=30061", "image.tag=abc"],
            {"nfv_set": {"kubernetes.exposure.node_ports.sip": 30061, "image.tag": "abc"}},
        ),
        (
            ['{"nfv_set": {"a.b": 1}, "n": [1]}', "c.d=true"],
            {"nfv_set": {"a.b": 1, "c.d": True}, "n": [1]},
        ),
    ],
)
def test_extravars(items: list[str], expected: dict[str, Any]) -> None:
    assert parse_extravars(items) == expected


def test_extravars_from_a_file(tmp_path: Path) -> None:
    f = tmp_path / "vars.yml"
    f.write_text("nfv_namespace: lab\nnfv_set: {a.b: 2}\n")
    assert parse_extravars([f"@{f}"]) == {"nfv_namespace": "lab", "nfv_set": {"a.b": 2}}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("novalue", "no '='"),
        ("bad key=1", "'bad key' is not a variable name"),
        ("=1", "'' is not a variable name"),
        ("9lives=1", "'9lives' is not a variable name"),
        ("{not json", "not a JSON object"),
        ("@/nonexistent/vars.yml", "cannot read /nonexistent/vars.yml"),
        ("a.b=[unclosed", "the value is not YAML"),
    ],
)
def test_bad_extravars_are_refused(item: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=message.replace("[", r"\[")):
        parse_extravars([item])


def test_cli_bad_input_exits_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbook", "nope"]) == 1
    assert (
        "unknown playbook 'nope'; available: deploy, loadtest, scale, site, teardown, upgrade"
        in (capsys.readouterr().err)
    )
    assert main(["playbook", "scale", "-e", "replicas"]) == 1
    assert "-e 'replicas': no '='" in capsys.readouterr().err

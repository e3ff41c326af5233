"""nfv.images and the docker platform without an engine: plans, content hashes, Dockerfiles,
build contexts, rootfs deltas, wheel closures, engine selection and the CLI wiring."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nfv.catalog import load_catalog
from nfv.errors import CatalogError, EngineError
from nfv.images import add_commands, engine_host, plan_images
from nfv.images.builder import ImageResult, context_tar, oci_labels
from nfv.images.cli import BuildDisplay, summary_table
from nfv.images.engine import DEFAULT_HOST, connect
from nfv.images.inputs import missing_requirements, rootfs_delta, target_environment
from nfv.images.recipe import REPO_ROOT, USER_ID, Project, wheel_platforms
from nfv.platforms.docker import add_commands as add_runtime_commands
from nfv.platforms.docker import cli as docker_cli
from nfv.platforms.docker.platform import free_port, parse_cpu, parse_memory

pytestmark = pytest.mark.unit


# -- plans and content hashes ----------------------------------------------------------------


def test_one_image_per_descriptor_parents_first() -> None:
    catalog = load_catalog()
    plan = plan_images(catalog)
    names = [s.name for s in plan.specs]
    assert names[:3] == ["base", "redis", "deps"]
    assert sorted(s.name for s in plan.nfs) == sorted(catalog)
    for spec in plan.specs:
        assert len(spec.tag) == 12 and int(spec.tag, 16) >= 0
        assert spec.ref == f"nfv/{spec.name}:{spec.tag}"
        if spec.parent:
            assert names.index(spec.parent) < names.index(spec.name)


def test_plan_is_deterministic_and_selects() -> None:
    catalog = load_catalog()
    a, b = plan_images(catalog), plan_images(catalog)
    assert [s.content_hash for s in a.specs] == [s.content_hash for s in b.specs]
    only = plan_images(catalog, ["pcscf"])
    assert [s.name for s in only.specs] == ["base", "deps", "pcscf"]
    assert only["pcscf"].content_hash == a["pcscf"].content_hash


def test_unknown_nf_is_a_clear_error() -> None:
    with pytest.raises(CatalogError, match=r"unknown network function 'nope' \(known: hss"):
        plan_images(load_catalog(), ["nope"])


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        REPO_ROOT / "network_functions",
        root / "network_functions",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_changing_one_nf_changes_only_its_hash(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    catalog = load_catalog(root / "network_functions")
    before = {s.name: s.content_hash for s in plan_images(catalog, root=root).specs}
    app = root / "network_functions" / "hss" / "app.py"
    app.write_text(app.read_text() + "\n# one more line\n")
    after = {s.name: s.content_hash for s in plan_images(catalog, root=root).specs}
    assert [n for n in before if before[n] != after[n]] == ["hss"]

    (root / "network_functions" / "runtime" / "extra.py").write_text("X = 1\n")
    shared = {s.name: s.content_hash for s in plan_images(catalog, root=root).specs}
    changed = {n for n in after if after[n] != shared[n]}
    assert changed == set(catalog)  # shared code: every NF, but not base/deps/redis


def test_caches_do_not_count(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    catalog = load_catalog(root / "network_functions")
    before = plan_images(catalog, root=root)["scscf"].content_hash
    cache = root / "network_functions" / "scscf" / "__pycache__"
    cache.mkdir()
    (cache / "app.cpython-311.pyc").write_bytes(b"junk")
    assert plan_images(catalog, root=root)["scscf"].content_hash == before


def test_nf_dockerfile_from_descriptor() -> None:
    catalog = load_catalog()
    plan = plan_images(catalog)
    for spec in plan.nfs:
        desc = catalog[spec.name]
        text = spec.dockerfile
        assert text.startswith(f"FROM {plan['deps'].ref}\n")
        assert f"USER {USER_ID}:{USER_ID}" in text
        assert f"'{desc.admin_port}'" in text and "HEALTHCHECK" in text and "/healthz" in text
        for iface in desc.interfaces:
            for t in iface.transports:  # SCTP is not EXPOSEd (Podman refuses it)
                assert (f"{iface.port}/{t}" in text) == (t != "sctp")
        assert f'"-m", "{desc.module}"]' in text and '"/usr/bin/tini", "--"' in text
        # code layer after the shared layer: a change in one NF leaves the shared one cached
        assert text.index("COPY app/") < text.index("COPY nf/")


def test_oci_labels() -> None:
    plan = plan_images(load_catalog())
    labels = oci_labels(plan["hss"], plan, REPO_ROOT, "2026-01-01T00:00:00Z")
    for key in ("source", "revision", "version", "created", "title", "licenses"):
        assert labels[f"org.opencontainers.image.{key}"]
    assert labels["org.opencontainers.image.version"] == Project.load().version
    assert labels["io.nfv.content-hash"] == plan["hss"].content_hash
    assert labels["io.nfv.nf"] == "hss"


def test_refs_under_a_registry() -> None:
    plan = plan_images(load_catalog())
    refs = plan.refs("127.0.0.1:5000/", "0.1.0")
    assert refs["hss"] == "127.0.0.1:5000/nfv/hss:0.1.0"
    assert plan.refs()["hss"] == plan["hss"].ref


# -- host-side inputs -------------------------------------------------------------------------


def test_wheel_platforms_cover_older_glibc() -> None:
    tags = wheel_platforms()
    assert tags[0].startswith("manylinux_2_36_")
    assert any(t.startswith("manylinux_2_17_") for t in tags)
    assert any(t.startswith("manylinux2014_") for t in tags)


def _wheel(directory: Path, name: str, version: str, requires: list[str]) -> None:
    path = directory / f"{name}-{version}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-{version}.dist-info/METADATA", meta)


def test_missing_requirements_judges_markers_by_the_target(tmp_path: Path) -> None:
    _wheel(tmp_path, "redis", "8.1.0", ['async-timeout>=4.0.3; python_full_version < "3.11.3"'])
    _wheel(
        tmp_path,
        "pydantic",
        "2.14.0",
        ["typing-extensions>=4", 'email-validator; extra == "email"'],
    )
    _wheel(tmp_path, "typing_extensions", "4.16.0", [])
    reqs = ["redis>=5", "pydantic>=2.5"]
    assert missing_requirements(tmp_path, reqs, target_environment("3.11.2")) == [
        "async-timeout>=4.0.3"
    ]
    assert missing_requirements(tmp_path, reqs, target_environment("3.11.7")) == []
    assert missing_requirements(tmp_path, ["pydantic[email]"], target_environment("3.11.2")) == [
        "email-validator"
    ]
    assert missing_requirements(tmp_path, ["redis>=9"], target_environment("3.11.7")) == [
        "redis>=9"
    ]


def _tar(path: Path, members: dict[str, bytes | None], links: dict[str, str] | None = None) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.LNKTYPE
            info.linkname = target
            tar.addfile(info)


def test_rootfs_delta(tmp_path: Path) -> None:
    base, full, out = tmp_path / "base.tar", tmp_path / "full.tar", tmp_path / "delta.tar"
    _tar(base, {"./usr/": None, "./usr/lib/": None, "./usr/lib/libc.so": b"libc"})
    _tar(
        full,
        {
            "./usr/": None,
            "./usr/lib/": None,
            "./usr/lib/libc.so": b"libc",  # same: left out
            "./usr/bin/": None,  # new directory: kept
            "./usr/bin/redis-server": b"redis",
            "./usr/lib/libssl.so": b"new ssl",
            "./usr/bin/perl": b"perl",  # excluded
            "./dev/null": b"",  # never
        },
        links={"./usr/bin/redis-cli": "./usr/lib/libc.so"},  # its target is in base only
    )
    count = rootfs_delta(base, full, out, exclude=["usr/bin/perl*"])
    with tarfile.open(out) as tar:
        names = {m.name.removeprefix("./").rstrip("/"): m for m in tar.getmembers()}
        assert set(names) == {
            "usr/bin",
            "usr/bin/redis-server",
            "usr/lib/libssl.so",
            "usr/bin/redis-cli",
        }
        link = names["usr/bin/redis-cli"]
        assert link.isreg()
        data = tar.extractfile(link)
        assert data is not None and data.read() == b"libc"
    assert count == 4


def test_context_tar_is_reproducible(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    files: dict[str, bytes | Path] = {"Dockerfile": b"FROM x\n", "bin/run.sh": script}
    one, two = context_tar(files).read(), context_tar(files).read()
    assert one == two
    with tarfile.open(fileobj=io.BytesIO(one)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/run.sh"].mode == 0o755 and members["Dockerfile"].mode == 0o644
    assert {m.uid for m in members.values()} == {0}


# -- engine selection ----------------------------------------------------------------------------


def test_engine_host_like_the_docker_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert engine_host() == (DEFAULT_HOST, "the default socket")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/podman/podman.sock")
    assert engine_host() == ("unix:///run/podman/podman.sock", "DOCKER_HOST")
    assert engine_host("tcp://127.0.0.1:2375") == ("tcp://127.0.0.1:2375", "--host")


def test_no_engine_is_one_clear_error(tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/no-engine.sock"
    with pytest.raises(EngineError) as err:
        connect(host)
    text = str(err.value)
    assert host in text and "from --host" in text and "scripts/docker-engine start" in text


# -- CLI ------------------------------------------------------------------------------------------


def _parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(prog="nfv")
    sub = parser.add_subparsers(dest="command", required=True)
    return parser, sub


def test_build_arguments() -> None:
    parser, sub = _parser()
    add_commands(sub)
    args = parser.parse_args(["build", "hss", "pcscf", "--push", "127.0.0.1:5000", "--json"])
    assert args.nfs == ["hss", "pcscf"] and args.push == "127.0.0.1:5000" and args.json
    assert not args.no_cache and args.host is None
    args = parser.parse_args(["build", "--no-cache", "-H", "unix:///x.sock"])
    assert args.nfs == [] and args.no_cache and args.host == "unix:///x.sock"


def test_runtime_wraps_existing_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    parser, sub = _parser()
    up = sub.add_parser("up")
    up.add_argument("--timeout", type=float, default=30.0)
    up.add_argument("--profile")
    calls: list[str] = []
    up.set_defaults(func=lambda a: calls.append("local") or 0)
    monkeypatch.setattr(docker_cli, "cmd_up", lambda a: calls.append("docker") or 0)
    monkeypatch.delenv("NFV_RUNTIME", raising=False)
    add_runtime_commands(sub)
    args = parser.parse_args(["up", "--profile", "lab"])
    assert args.func(args) == 0 and calls == ["local"]
    args = parser.parse_args(["up", "--runtime", "docker", "--sip-port", "5070", "--timeout", "9"])
    assert args.func(args) == 0 and calls == ["local", "docker"]
    assert args.sip_port == 5070 and args.timeout == 9.0 and args.registry is None
    # commands the CLI lacks are created; their local form says so
    args = parser.parse_args(["logs", "hss"])
    with pytest.raises(Exception, match="only available with --runtime docker"):
        args.func(args)


def test_wiring_into_the_real_cli() -> None:
    from nfv.cli import build_parser

    parser = build_parser()  # nfv/cli.py wires `build` and `--runtime` itself
    args = parser.parse_args(["up", "--runtime", "docker", "--profile", "lab", "--detach"])
    assert args.runtime == "docker" and args.profile == "lab"
    args = parser.parse_args(["status", "--runtime", "docker", "--json"])
    assert args.json and args.project == "nfv"
    args = parser.parse_args(["check", "--runtime", "docker", "--transport", "tcp"])
    assert args.transport == "tcp"
    args = parser.parse_args(["build", "scscf"])
    assert args.nfs == ["scscf"]


def test_summary_and_progress_lines() -> None:
    result = ImageResult("hss", "nf", "nfv/hss:0123456789ab", [], 101_600_000, 1.5, "built", "id")
    table = summary_table([result])
    assert "nfv/hss" in table and "0123456789ab" in table and "101.6 MB" in table
    assert "built" in table
    out = io.StringIO()
    display = BuildDisplay(out, tty=False)
    from nfv.images import BuildEvent

    display(BuildEvent("hss", "step", "Step 1/9 : FROM x"))
    display(BuildEvent("hss", "log", "noise"))
    display(BuildEvent("hss", "done", "built"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "Step 1/9" in lines[0] and lines[1].endswith("hss    built")
    assert json.dumps(result.as_dict())


# -- docker platform helpers ---------------------------------------------------------------------


def test_quantities() -> None:
    assert parse_cpu("500m") == 500_000_000 and parse_cpu("2") == 2_000_000_000
    assert parse_memory("256Mi") == 256 * 2**20 and parse_memory("1G") == 10**9
    assert parse_memory("1024") == 1024


def test_free_port_is_free_for_udp_and_tcp() -> None:
    import socket

    port = free_port()
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", port))


def test_images_keep_every_pycrate_module_the_code_imports() -> None:
    """The dependency layer prunes pycrate to PYCRATE_PACKAGES / PYCRATE_ASN1_MODULES: every
    pycrate import in the NFs' code must be among them (else an image would fail to start)."""
    import re

    from nfv.images.recipe import PYCRATE_ASN1_MODULES, PYCRATE_PACKAGES

    code = Path(__file__).resolve().parents[2] / "network_functions"
    imports = {
        m.groups()
        for path in code.rglob("*.py")
        for m in re.finditer(
            r"^\s*(?:from|import)\s+(pycrate_\w+)(?:\.(\w+))?(?:\s+import\s+(\w+))?",
            path.read_text(),
            re.M,
        )
    }
    assert imports, "the S1AP codec imports pycrate"
    for package, submodule, name in imports:
        assert package in PYCRATE_PACKAGES
        if package == "pycrate_asn1dir":
            assert (submodule or name) in PYCRATE_ASN1_MODULES

"""The host-side inputs of the images: rootfs tarballs (mmdebstrap) and wheels (pip).

Both are made on the host, never inside a build (builds run with no network), and both are
kept in the cache directory under their content hash, so they are made once per change of
recipe. Every failure is a :class:`~nfv.errors.BuildError` carrying the tool's log tail.
"""

from __future__ import annotations

import email.parser
import fnmatch
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from ..errors import BuildError
from .recipe import (
    SOURCE_DATE_EPOCH,
    SUITE,
    TARGET_PYTHON,
    Project,
    machine,
    wheel_platforms,
)

Log = Callable[[str], None]
# Lines of a failing tool's output shown in the error.
LOG_TAIL = 25


def run_logged(
    cmd: Sequence[str], *, what: str, log: Log, env: dict[str, str] | None = None
) -> None:
    """Run *cmd*, streaming its output lines to *log*; raise BuildError with the tail."""
    tail: deque[str] = deque(maxlen=LOG_TAIL)
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
        )
    except FileNotFoundError:
        raise BuildError(f"{what}: {cmd[0]} is not installed") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail.append(line)
        log(line)
    if proc.wait() != 0:
        raise BuildError(
            f"{what} failed (exit {proc.returncode}); last lines:\n" + "\n".join(tail),
            log_tail=list(tail),
        )


# -- rootfs ------------------------------------------------------------------------------------


def make_rootfs(
    out: Path, packages: Iterable[str], hooks: Iterable[str], *, log: Log, what: str
) -> None:
    """A Debian rootfs tarball of *packages* and their dependencies, extracted (no
    maintainer scripts run: a container needs files, not a configured system)."""
    if shutil.which("mmdebstrap") is None:
        raise BuildError(
            f"{what}: mmdebstrap is not installed (Debian: apt-get install mmdebstrap)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}.tar")
    cmd = ["mmdebstrap", "--variant=extract", "--include=" + ",".join(packages)]
    cmd += [f"--extract-hook={hook}" for hook in hooks]
    cmd += [SUITE, str(tmp)]
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH))
    try:
        run_logged(cmd, what=what, log=log, env=env)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _norm(name: str) -> str:
    return name.removeprefix("./").rstrip("/")


def _signature(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[object, ...]:
    sig: tuple[object, ...] = (member.type, member.mode, member.uid, member.gid, member.linkname)
    if member.isreg() or member.islnk():
        data = tar.extractfile(member)
        sig += (hashlib.sha256(data.read() if data else b"").hexdigest(),)
    return sig


def rootfs_delta(base: Path, full: Path, out: Path, *, exclude: Iterable[str] = ()) -> int:
    """Write to *out* the members of *full* that *base* lacks or has otherwise, minus the
    *exclude* glob patterns; hard links become files (their targets may be in base only).
    Returns the member count."""
    patterns = tuple(exclude)
    with tarfile.open(base) as tb:
        known = {_norm(m.name): _signature(tb, m) for m in tb.getmembers()}
    count = 0
    tmp = out.with_suffix(f".tmp{os.getpid()}.tar")
    try:
        with tarfile.open(full) as tf, tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as to:
            for member in tf.getmembers():
                name = _norm(member.name)
                if not name or name == "dev" or name.startswith("dev/"):
                    continue
                if any(fnmatch.fnmatchcase(name, pat) for pat in patterns):
                    continue
                if known.get(name) == _signature(tf, member):
                    continue
                if member.islnk():
                    data = tf.extractfile(member)
                    content = data.read() if data else b""
                    info = tarfile.TarInfo(member.name)
                    info.mode, info.uid, info.gid = member.mode, member.uid, member.gid
                    info.mtime, info.size = member.mtime, len(content)
                    to.addfile(info, io.BytesIO(content))
                elif member.isreg():
                    to.addfile(member, tf.extractfile(member))
                else:
                    to.addfile(member)
                count += 1
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return count


# -- wheels ------------------------------------------------------------------------------------


REQUIREMENTS = "requirements.txt"


def pip_wheel_name(wheels: Path) -> str:
    found = sorted(p.name for p in wheels.glob("pip-*.whl"))
    if not found:
        raise BuildError(f"no pip wheel in {wheels}: delete it and build again")
    return found[-1]


def target_environment(python_full_version: str) -> dict[str, str]:
    """PEP 508 marker environment of the image's interpreter (CPython on Linux)."""
    env = {key: str(value) for key, value in default_environment().items()}
    major_minor = ".".join(python_full_version.split(".")[:2])
    env.update(
        python_full_version=python_full_version,
        python_version=major_minor,
        implementation_name="cpython",
        implementation_version=python_full_version,
        platform_python_implementation="CPython",
        platform_system="Linux",
        sys_platform="linux",
        os_name="posix",
        platform_machine=machine(),
    )
    return env


def _wheel_index(wheels: Path) -> dict[str, tuple[str, list[str]]]:
    """name → (version, Requires-Dist lines) of every wheel in *wheels*."""
    out: dict[str, tuple[str, list[str]]] = {}
    for path in wheels.glob("*.whl"):
        name, version, _build, _tags = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(zf.read(meta_name).decode("utf-8", "replace"))
        out[canonicalize_name(name)] = (str(version), meta.get_all("Requires-Dist") or [])
    return out


def missing_requirements(
    wheels: Path, requirements: Iterable[str], env: dict[str, str]
) -> list[str]:
    """Requirements of the closure under *env* that no wheel in *wheels* satisfies.

    ``pip download --python-version`` judges markers by the host's interpreter (a host on
    3.11.7 skips ``async-timeout; python_full_version < "3.11.3"``, which bookworm's 3.11.2
    needs), so the closure is re-checked here against the target's own environment.
    """
    index = _wheel_index(wheels)
    queue: list[tuple[Requirement, frozenset[str]]] = [
        (Requirement(r), frozenset({""})) for r in requirements
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    missing: list[str] = []
    while queue:
        req, extras = queue.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({**env, "extra": e}) for e in extras
        ):
            continue
        key = canonicalize_name(req.name)
        found = index.get(key)
        if found is None or not req.specifier.contains(found[0], prereleases=True):
            text = f"{req.name}{req.specifier}"
            if text not in missing:
                missing.append(text)
            continue
        wanted = frozenset(req.extras) | {""}
        if (key, wanted) in seen:
            continue
        seen.add((key, wanted))
        queue.extend((Requirement(dep), wanted) for dep in found[1])
    return missing


def _pip_download(dest: Path, specs: Iterable[str], *, log: Log) -> None:
    abi = "cp" + TARGET_PYTHON.replace(".", "")
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check"]
    cmd += ["--only-binary=:all:", "--python-version", TARGET_PYTHON, "--implementation", "cp"]
    cmd += ["--abi", abi, "--dest", str(dest)]
    for tag in wheel_platforms():
        cmd += ["--platform", tag]
    run_logged([*cmd, *specs], what="downloading wheels (pip download)", log=log)


# Rounds of "download what the target's markers add" before giving up (each round adds
# the requirements pip skipped; real closures settle in one).
MAX_ROUNDS = 4


def download_wheels(project: Project, dest: Path, *, python_full_version: str, log: Log) -> None:
    """The project's requirements (and pip, to install them) as wheels for the image's
    interpreter (CPython *python_full_version*, glibc of bookworm), into *dest*."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    env = target_environment(python_full_version)
    try:
        specs = ["pip", *project.requirements]
        for _ in range(MAX_ROUNDS):
            _pip_download(tmp, specs, log=log)
            specs = missing_requirements(tmp, project.requirements, env)
            if not specs:
                break
            log(f"the target's markers add: {' '.join(specs)}")
        else:
            raise BuildError(f"wheels for {' '.join(specs)} could not be found for the image")
        (tmp / REQUIREMENTS).write_text("\n".join(project.requirements) + "\n")
        pip_wheel_name(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.replace(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)

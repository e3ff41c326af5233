"""Build, tag, push and pull the images of an :class:`~nfv.images.recipe.ImagePlan`.

Per image: if the engine already has ``nfv/<name>:<content hash>`` (and its label agrees),
nothing is built ("cached"); otherwise its inputs are made on the host (rootfs tarball,
wheels: themselves cached by hash in the cache directory) and the image is imported or
built with the Docker SDK (classic builder, no network inside builds), then tagged with
the project version too. Progress goes to a callback as :class:`BuildEvent` objects.
Engine and registry failures are translated into :mod:`nfv.errors` here.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import subprocess
import tarfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from docker.errors import DockerException, ImageNotFound

from ..errors import BuildError, EngineError, RegistryError
from .inputs import (
    LOG_TAIL,
    download_wheels,
    make_rootfs,
    pip_wheel_name,
    rootfs_delta,
)
from .recipe import (
    BASE_HOOKS,
    BASE_PACKAGES,
    REPO_ROOT,
    SOURCE_DATE_EPOCH,
    STORE_EXCLUDE,
    STORE_PACKAGES,
    TRIM_HOOKS,
    ImagePlan,
    ImageSpec,
    cache_dir,
)

LABEL_HASH = "io.nfv.content-hash"
LABEL_NF = "io.nfv.nf"
OCI = "org.opencontainers.image"

Status = Literal["cached", "built"]


@dataclass(frozen=True)
class BuildEvent:
    """One progress report: ``phase`` is start, step (a build step), log, or done."""

    image: str
    phase: Literal["start", "step", "log", "done"]
    text: str = ""


@dataclass
class ImageResult:
    name: str
    kind: str
    ref: str
    tags: list[str]
    size: int
    seconds: float
    status: Status
    image_id: str
    pushed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[BuildEvent], None]


def _ignore(_event: BuildEvent) -> None:
    pass


# -- build metadata (labels) -------------------------------------------------------------------


def _git(root: Path, *args: str) -> str:
    """Output of a read-only git query, or "" (no git, not a work tree)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def source_url(root: Path, urls: dict[str, str]) -> str:
    for key in ("Source", "Repository", "Homepage"):
        if urls.get(key):
            return urls[key]
    return _git(root, "config", "--get", "remote.origin.url") or root.resolve().as_uri()


def oci_labels(spec: ImageSpec, plan: ImagePlan, root: Path, created: str) -> dict[str, str]:
    """The OCI annotations (image-spec annotations.md) plus nfv's own labels."""
    project = plan.project
    title = spec.nf.title if spec.nf is not None else f"nfv {spec.name} image"
    labels = {
        f"{OCI}.title": f"{project.name}-{spec.name}",
        f"{OCI}.description": title,
        f"{OCI}.source": source_url(root, project.urls),
        f"{OCI}.revision": _git(root, "rev-parse", "HEAD") or "unknown",
        f"{OCI}.version": project.version,
        f"{OCI}.created": created,
        f"{OCI}.licenses": project.license,
        LABEL_HASH: spec.content_hash,
    }
    if spec.parent:
        parent = plan[spec.parent]
        labels[f"{OCI}.base.name"] = parent.ref
    if spec.nf is not None:
        labels[LABEL_NF] = spec.nf.name
    return labels


# -- build contexts ----------------------------------------------------------------------------


def context_tar(files: dict[str, bytes | Path]) -> BinaryIO:
    """An uncompressed tar of *files* (archive name → bytes or a host path) with owner,
    mode and time normalised, so equal inputs make equal layers."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            src = files[name]
            data = src.read_bytes() if isinstance(src, Path) else src
            executable = isinstance(src, Path) and os.access(src, os.X_OK)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = SOURCE_DATE_EPOCH
            info.mode = 0o755 if executable else 0o644
            info.uid = info.gid = 0
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


# -- the builder -------------------------------------------------------------------------------


class ImageBuilder:
    """Builds the images of a plan against one engine (a ``docker.DockerClient``)."""

    def __init__(
        self,
        client: Any,
        plan: ImagePlan,
        *,
        cache: Path | None = None,
        no_cache: bool = False,
        progress: Progress | None = None,
        root: Path = REPO_ROOT,
    ) -> None:
        self.client = client
        self.plan = plan
        self.cache = cache if cache is not None else cache_dir()
        self.no_cache = no_cache
        self.progress = progress or _ignore
        self.root = root
        self.created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- public ---------------------------------------------------------------------------
    def build(self) -> list[ImageResult]:
        """Build (or find) every image of the plan, parents first; raises BuildError,
        EngineError."""
        results: list[ImageResult] = []
        with self._lock():
            for spec in self.plan.specs:
                results.append(self._one(spec))
        return results

    def push(self, results: list[ImageResult], registry: str) -> None:
        """Push the NF and store images (content-hash and version tags) to *registry*;
        raises RegistryError. The base and deps images travel as their layers."""
        version = self.plan.project.version
        for result in results:
            if result.kind not in ("nf", "store"):
                continue
            spec = self.plan[result.name]
            target = f"{registry.rstrip('/')}/{spec.repository}"
            for tag in (spec.tag, version):
                self.progress(BuildEvent(spec.name, "step", f"push {target}:{tag}"))
                push_image(self.client, result.image_id, target, tag, registry=registry)
                result.pushed.append(f"{target}:{tag}")
            self.progress(BuildEvent(spec.name, "done", "pushed"))

    # -- one image --------------------------------------------------------------------------
    def _one(self, spec: ImageSpec) -> ImageResult:
        started = time.monotonic()
        self.progress(BuildEvent(spec.name, "start", spec.ref))
        image = None if self.no_cache else self._existing(spec)
        status: Status = "cached"
        if image is None:
            status = "built"
            if spec.kind == "base":
                self._build_base(spec)
            elif spec.kind == "store":
                self._build_store(spec)
            elif spec.kind == "deps":
                self._build_deps(spec)
            else:
                self._build_nf(spec)
            image = self._existing(spec)
            if image is None:
                raise BuildError(f"{spec.ref}: the engine has no such image after building it")
        version = self.plan.project.version
        self._call(spec, lambda: image.tag(spec.repository, version))
        seconds = time.monotonic() - started
        self.progress(BuildEvent(spec.name, "done", status))
        return ImageResult(
            name=spec.name,
            kind=spec.kind,
            ref=spec.ref,
            tags=[spec.ref, f"{spec.repository}:{version}"],
            size=int(image.attrs.get("Size") or 0),
            seconds=round(seconds, 2),
            status=status,
            image_id=str(image.id),
        )

    def _existing(self, spec: ImageSpec) -> Any | None:
        try:
            image = self.client.images.get(spec.ref)
        except ImageNotFound:
            return None
        except (DockerException, OSError) as exc:
            raise EngineError(f"the engine failed to look up {spec.ref}: {exc}") from exc
        labels = image.labels or {}
        return image if labels.get(LABEL_HASH) == spec.content_hash else None

    def _log(self, spec: ImageSpec) -> Callable[[str], None]:
        def log(line: str) -> None:
            self.progress(BuildEvent(spec.name, "log", line))

        return log

    # -- base: a rootfs tarball imported as an image -------------------------------------------
    def _rootfs(self, name: str, content_hash: str) -> Path:
        return self.cache / "rootfs" / f"{name}-{content_hash[:16]}.tar"

    def _ensure_base_tar(self, spec: ImageSpec) -> Path:
        tar = self._rootfs("base", spec.content_hash)
        if self.no_cache or not tar.exists():
            self.progress(BuildEvent(spec.name, "step", "mmdebstrap " + ",".join(BASE_PACKAGES)))
            make_rootfs(
                tar, BASE_PACKAGES, BASE_HOOKS, log=self._log(spec), what="base rootfs (mmdebstrap)"
            )
        return tar

    def _build_base(self, spec: ImageSpec) -> None:
        tar = self._ensure_base_tar(spec)
        labels = oci_labels(spec, self.plan, self.root, self.created)
        changes = [f"LABEL {k}={json.dumps(v)}" for k, v in labels.items()]
        changes += [
            "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["/usr/bin/python3"]',
        ]
        self.progress(BuildEvent(spec.name, "step", f"import {tar.name}"))

        def run() -> None:
            # Imported untagged, then tagged by id: Podman 4.3's compatible API ignores the
            # import's tag (it names every import `<repository>:latest`).
            answer = self.client.api.import_image_from_file(str(tar), changes=changes)
            image_id = ""
            for line in str(answer).splitlines():
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    if isinstance(event, dict) and event.get("error"):
                        raise BuildError(f"importing {tar} failed: {event['error']}")
                    if isinstance(event, dict) and str(event.get("status", "")).startswith(
                        "sha256:"
                    ):
                        image_id = str(event["status"])
            if not image_id:
                raise BuildError(f"importing {tar}: the engine did not say which image it made")
            self.client.api.tag(image_id, spec.repository, spec.tag)

        self._call(spec, run)

    # -- store: base + the files Debian's redis-server adds ------------------------------------
    def _build_store(self, spec: ImageSpec) -> None:
        delta = self._rootfs("redis", spec.content_hash)
        if self.no_cache or not delta.exists():
            base_tar = self._ensure_base_tar(self.plan["base"])
            full = self._rootfs("redis-full", spec.content_hash)
            self.progress(BuildEvent(spec.name, "step", "mmdebstrap " + ",".join(STORE_PACKAGES)))
            make_rootfs(full, STORE_PACKAGES, TRIM_HOOKS, log=self._log(spec), what="redis rootfs")
            try:
                rootfs_delta(base_tar, full, delta, exclude=STORE_EXCLUDE)
            finally:
                full.unlink(missing_ok=True)
        files: dict[str, bytes | Path] = {
            "Dockerfile": spec.dockerfile.encode(),
            "store-rootfs.tar": delta,
        }
        self._docker_build(spec, files)

    # -- deps: the venv ----------------------------------------------------------------------
    def _build_deps(self, spec: ImageSpec) -> None:
        wheels = self.cache / "wheels" / self.plan.wheels_hash[:16]
        if self.no_cache or not (wheels / "requirements.txt").exists():
            python = self._target_python()
            self.progress(BuildEvent(spec.name, "step", f"pip download for Python {python}"))
            download_wheels(
                self.plan.project, wheels, python_full_version=python, log=self._log(spec)
            )
        dockerfile = spec.dockerfile.replace("{pip_wheel}", pip_wheel_name(wheels))
        files: dict[str, bytes | Path] = {"Dockerfile": dockerfile.encode()}
        for path in sorted(wheels.iterdir()):
            files[f"wheels/{path.name}"] = path
        self._docker_build(spec, files)

    def _target_python(self) -> str:
        """The base image's Python version, asked of the interpreter itself."""
        base = self.plan["base"].ref

        def run() -> str:
            out = self.client.containers.run(
                base,
                ["/usr/bin/python3", "-c", "import platform; print(platform.python_version())"],
                remove=True,
                network_mode="none",
            )
            return bytes(out).decode().strip()

        version: str = self._call(self.plan["base"], run)
        return version

    # -- an NF: shared code + its package ------------------------------------------------------
    def _build_nf(self, spec: ImageSpec) -> None:
        assert spec.nf is not None
        package_root = self.root / "network_functions"
        files: dict[str, bytes | Path] = {"Dockerfile": spec.dockerfile.encode()}
        for rel in self.plan.shared_files:
            files[f"app/network_functions/{rel.as_posix()}"] = package_root / rel
        nf_dir = self.plan.nf_paths[spec.name]
        for rel in self.plan.nf_files[spec.name]:
            files[f"nf/{rel.as_posix()}"] = nf_dir / rel
        self._docker_build(spec, files)

    # -- the engine ----------------------------------------------------------------------------
    def _docker_build(self, spec: ImageSpec, files: dict[str, bytes | Path]) -> None:
        labels = oci_labels(spec, self.plan, self.root, self.created)
        dockerfile = files["Dockerfile"]
        assert isinstance(dockerfile, bytes)
        # One LABEL step, last: build metadata never invalidates the cached steps above it.
        label_line = "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
        files = {**files, "Dockerfile": dockerfile + label_line.encode() + b"\n"}
        context = context_tar(files)
        tail: deque[str] = deque(maxlen=LOG_TAIL)
        step = "sending the context"

        def run() -> None:
            nonlocal step
            stream = self.client.api.build(
                fileobj=context,
                custom_context=True,
                tag=spec.ref,
                rm=True,
                forcerm=True,
                nocache=self.no_cache,
                pull=False,
                network_mode="none",  # no downloads inside builds: inputs come from the host
                decode=True,
            )
            for event in stream:
                if "stream" in event:
                    for line in str(event["stream"]).splitlines():
                        if not line.strip():
                            continue
                        tail.append(line)
                        if line.startswith("Step "):
                            step = line
                            self.progress(BuildEvent(spec.name, "step", line))
                        else:
                            self.progress(BuildEvent(spec.name, "log", line))
                if event.get("error"):
                    raise BuildError(
                        f"building {spec.ref} failed at {step!r}: {event['error']}\n"
                        + "\n".join(tail),
                        log_tail=list(tail),
                    )

        self._call(spec, run)

    def _call(self, spec: ImageSpec, func: Callable[[], Any]) -> Any:
        try:
            return func()
        except (DockerException, OSError) as exc:
            raise BuildError(f"{spec.ref}: the engine refused: {exc}") from exc

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One build per cache directory at a time (tarballs and wheels are shared)."""
        self.cache.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.cache / "build.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.progress(BuildEvent("build", "log", "waiting for another nfv build ..."))
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


# -- registries --------------------------------------------------------------------------------


def _registry_hint(registry: str) -> str:
    if registry.startswith(("127.", "localhost")):
        return " Is it running? `scripts/registry start` starts a local one."
    return ""


def push_image(client: Any, image: str, target: str, tag: str, *, registry: str) -> None:
    """Tag *image* as ``target:tag`` and push it; raises RegistryError."""
    try:
        client.api.tag(image, target, tag)
        for event in client.api.push(target, tag=tag, stream=True, decode=True):
            if event.get("error"):
                raise RegistryError(
                    f"cannot push {target}:{tag} to {registry}: {event['error']}."
                    + _registry_hint(registry)
                )
    except (DockerException, OSError) as exc:
        raise RegistryError(
            f"cannot push {target}:{tag} to {registry}: {exc}." + _registry_hint(registry)
        ) from exc


def pull_image(client: Any, ref: str) -> Any:
    """Pull *ref* (``registry/repo:tag``) and return the image; raises RegistryError."""
    repo, _, tag = ref.rpartition(":")
    registry = repo.split("/", 1)[0]
    try:
        for event in client.api.pull(repo, tag=tag, stream=True, decode=True):
            if event.get("error"):
                raise RegistryError(
                    f"cannot pull {ref}: {event['error']}." + _registry_hint(registry)
                )
        return client.images.get(ref)
    except (DockerException, OSError) as exc:
        raise RegistryError(f"cannot pull {ref}: {exc}." + _registry_hint(registry)) from exc

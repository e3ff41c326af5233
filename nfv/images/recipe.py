"""What to build, and the content hash that names it — no engine, no network, no subprocess.

Every image nfv builds is described by an :class:`ImageSpec` whose ``content_hash`` is a
SHA-256 over everything that goes into it: its parent's hash, the recipe (packages, hooks,
Dockerfile text) and the bytes of the files it copies. The first 12 hex digits are the
image's tag, so an unchanged input names an image that already exists and nothing is
built. Build metadata that changes on every build (``created``, the git ``revision``) is in
the image's labels but deliberately not in the hash.

The chain (each an image, each a layer or two on its parent)::

    base   Debian bookworm rootfs from mmdebstrap: python3 + tini, stdlib precompiled,
           a non-root user; imported from a tarball (no registry needed)
    redis  base + Debian's redis-server (the files base lacks), the state store
    deps   base + a venv holding the project's third-party wheels (built on the host)
    <nf>   deps + the shared code layer + the NF's own package: one per NF descriptor

Changing one NF's code changes only that NF's hash; the layers below it are reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..catalog import NF_ROOT, Catalog, NFDescriptor

REPO_ROOT = NF_ROOT.parent
# Bump to rebuild every image after a change to how images are made (not what goes in).
RECIPE_VERSION = "1"
REPOSITORY_PREFIX = "nfv"

# -- the base image -------------------------------------------------------------------------
SUITE = "bookworm"
# Debian bookworm's python3 is 3.11: the wheels are chosen for this interpreter and glibc.
TARGET_PYTHON = "3.11"
TARGET_GLIBC = "2_36"
BASE_PACKAGES = ("python3", "tini")
STORE_PACKAGES = ("redis-server",)
# Left out of the store layer: Perl, which adduser (needed by redis-server's maintainer
# scripts, which an extracted rootfs never runs) drags in — 58 of its 77 MB.
STORE_EXCLUDE = ("usr/bin/perl*", "usr/lib/*/perl*", "usr/lib/*/libperl*", "usr/share/perl*")
# A fixed timestamp for the rootfs files, so an unchanged package set gives the same layer.
SOURCE_DATE_EPOCH = 1_700_000_000
# The unprivileged user every container runs as (no login, no home).
USER_ID = 10001
USER_NAME = "nfv"
VENV = "/opt/nfv/venv"
APP = "/opt/nfv/app"
CONFIG_DIR = "/etc/nfv"
SECRETS_DIR = "/etc/nfv/secrets"
PYTHON = f"{VENV}/bin/python"

# Run inside the extracted rootfs (mmdebstrap --extract-hook, "$1" is its root): drop what a
# server never reads (keep the copyright files), precompile the stdlib (the root filesystem
# is read-only at run time, so Python could not cache bytecode there), add the user.
TRIM_HOOKS = (
    'rm -rf "$1"/usr/share/man "$1"/usr/share/locale "$1"/usr/share/info '
    '"$1"/usr/share/lintian "$1"/usr/share/bug',
    'find "$1"/usr/share/doc -type f ! -name copyright -delete',
)
BASE_HOOKS = (
    *TRIM_HOOKS,
    'chroot "$1" /usr/bin/python3 -m compileall -q -j0 --invalidation-mode unchecked-hash '
    "/usr/lib/python3.11 /usr/lib/python3/dist-packages",
    "printf 'root:x:0:0:root:/root:/usr/sbin/nologin\\n"
    f"{USER_NAME}:x:{USER_ID}:{USER_ID}:{USER_NAME}:/nonexistent:/usr/sbin/nologin\\n' "
    '>> "$1/etc/passwd"',
    f"printf 'root:x:0:\\n{USER_NAME}:x:{USER_ID}:\\n' >> \"$1/etc/group\"",
    'mkdir -p "$1/tmp" && chmod 1777 "$1/tmp"',
)

# -- the dependency layer ---------------------------------------------------------------------
# Extras of the project installed into the images: Redis is the state store on Docker and
# Kubernetes. (uvloop, "fast", is left out: see docs/benchmarks.md for size vs. speed.)
IMAGE_EXTRAS = ("redis",)
# pycrate's wheel carries ~270 MB, nearly all compiled ASN.1/CSN.1 specifications and tools the
# NFs never load: the dependency layer keeps the packages and ASN.1 modules the S1AP codec needs
# (tests/unit/test_images.py checks the code's imports against these lists).
PYCRATE_PACKAGES = ("pycrate_asn1c", "pycrate_asn1dir", "pycrate_asn1rt", "pycrate_core")
PYCRATE_ASN1_MODULES = ("S1AP",)
_PRUNE_PYCRATE = (
    "import pathlib, shutil, sysconfig\n"
    "site = pathlib.Path(sysconfig.get_paths()['purelib'])\n"
    "keep = {packages!r}\n"
    "for x in site.glob('pycrate_*'):\n"
    "    if x.is_dir() and x.name not in keep:\n"
    "        shutil.rmtree(x)\n"
    "modules = {modules!r}\n"
    "for x in (site / 'pycrate_asn1dir').iterdir():\n"
    "    if x.name not in modules:\n"
    "        shutil.rmtree(x) if x.is_dir() else x.unlink()\n"
).format(
    packages=sorted(PYCRATE_PACKAGES),  # sorted: the Dockerfile's text must not vary
    modules=sorted({"__init__.py", *(f"{m}.py" for m in PYCRATE_ASN1_MODULES)}),
)

# -- health ---------------------------------------------------------------------------------
HEALTH_INTERVAL_S = 5
HEALTH_TIMEOUT_S = 3
HEALTH_START_PERIOD_S = 20
HEALTH_RETRIES = 3
# The probe: GET /healthz on the admin port (NFV__ADMIN__PORT when the platform moves it).
HEALTH_PROBE = (
    "import os,urllib.request as u;"
    "u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NFV__ADMIN__PORT','{port}'),"
    "timeout={timeout})"
)

Kind = Literal["base", "store", "deps", "nf"]


def cache_dir() -> Path:
    """Where rootfs tarballs and wheels are kept: $NFV_CACHE, else ~/.cache/nfv."""
    env = os.environ.get("NFV_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "nfv"


def digest(*parts: object) -> str:
    """SHA-256 of the canonical JSON of *parts*."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def machine() -> str:
    """The CPU architecture in manylinux spelling (x86_64, aarch64)."""
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def wheel_platforms() -> list[str]:
    """The manylinux tags bookworm's glibc runs, newest first (PEP 600, plus the legacy
    aliases of PEP 513/571/599); pip before 24 does not expand one tag into older ones."""
    arch = machine()
    newest = int(TARGET_GLIBC.split("_")[1])
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 16, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


# -- project metadata --------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """What pyproject.toml says about the distribution the images are built from."""

    name: str
    version: str
    license: str
    requirements: tuple[str, ...]
    urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path = REPO_ROOT, extras: Iterable[str] = IMAGE_EXTRAS) -> Project:
        data: dict[str, Any] = tomllib.loads((root / "pyproject.toml").read_text())
        proj = data["project"]
        reqs = list(proj.get("dependencies", []))
        optional = proj.get("optional-dependencies", {})
        for extra in extras:
            reqs.extend(optional.get(extra, []))
        lic = proj.get("license", {})
        return cls(
            name=str(proj["name"]),
            version=str(proj["version"]),
            license=str(lic.get("text", "") if isinstance(lic, dict) else lic),
            requirements=tuple(dict.fromkeys(reqs)),
            urls=dict(proj.get("urls", {})),
        )


# -- file trees --------------------------------------------------------------------------------


def _skip(path: Path) -> bool:
    return (
        "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo") or path.name.startswith(".#")
    )


def tree_files(root: Path, *, exclude_dirs: Iterable[Path] = ()) -> list[Path]:
    """Files under *root* (sorted, relative), minus caches and the excluded directories."""
    excluded = [d.resolve() for d in exclude_dirs]
    out: list[Path] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _skip(path.relative_to(root)):
            continue
        resolved = path.resolve()
        if any(resolved.is_relative_to(d) for d in excluded):
            continue
        out.append(path.relative_to(root))
    return out


def tree_hash(root: Path, files: list[Path]) -> str:
    """Content hash of *files* (relative to *root*): paths, bytes and the executable bit."""
    h = hashlib.sha256()
    for rel in files:
        full = root / rel
        mode = full.stat().st_mode
        h.update(rel.as_posix().encode() + b"\0")
        h.update(b"x" if mode & stat.S_IXUSR else b"-")
        h.update(hashlib.sha256(full.read_bytes()).digest())
    return h.hexdigest()


def nf_dirs(catalog: Catalog, root: Path = REPO_ROOT) -> dict[str, Path]:
    """Each NF's package directory (the one holding its descriptor), under *root*."""
    return {name: root.joinpath(*catalog[name].module.split(".")) for name in catalog}


# -- specs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSpec:
    """One image to build: where its inputs are and the hash that names it."""

    kind: Kind
    name: str
    content_hash: str
    parent: str | None = None
    nf: NFDescriptor | None = None
    dockerfile: str = ""

    @property
    def repository(self) -> str:
        return f"{REPOSITORY_PREFIX}/{self.name}"

    @property
    def tag(self) -> str:
        return self.content_hash[:12]

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class ImagePlan:
    """The ordered images of one build: every parent before its children."""

    project: Project
    specs: tuple[ImageSpec, ...]
    wheels_hash: str
    shared_files: tuple[Path, ...]
    nf_files: dict[str, tuple[Path, ...]]
    nf_paths: dict[str, Path]

    def __getitem__(self, name: str) -> ImageSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def nfs(self) -> list[ImageSpec]:
        return [s for s in self.specs if s.kind == "nf"]

    def refs(self, registry: str | None = None, tag: str | None = None) -> dict[str, str]:
        """name → image reference, optionally under a registry and with another tag."""
        out = {}
        for spec in self.specs:
            repo = f"{registry.rstrip('/')}/{spec.repository}" if registry else spec.repository
            out[spec.name] = f"{repo}:{tag or spec.tag}"
        return out


def base_hash() -> str:
    return digest("base", RECIPE_VERSION, SUITE, BASE_PACKAGES, BASE_HOOKS, SOURCE_DATE_EPOCH)


def store_hash(base: str, dockerfile: str) -> str:
    return digest(
        "store", RECIPE_VERSION, base, SUITE, STORE_PACKAGES, TRIM_HOOKS, STORE_EXCLUDE, dockerfile
    )


def wheels_hash(project: Project) -> str:
    return digest(
        "wheels", RECIPE_VERSION, sorted(project.requirements), TARGET_PYTHON, wheel_platforms()
    )


def deps_dockerfile(base_ref: str, pip_wheel: str = "{pip_wheel}") -> str:
    """Two stages: install the wheels into a venv, then copy only the venv onto the base."""
    return f"""\
FROM {base_ref} AS build
COPY wheels/ /tmp/wheels/
RUN ["/usr/bin/python3", "-m", "venv", "--without-pip", "{VENV}"]
RUN ["{PYTHON}", "/tmp/wheels/{pip_wheel}/pip", "install", "--no-index", \
"--find-links", "/tmp/wheels", "--no-cache-dir", "--disable-pip-version-check", \
"--root-user-action", "ignore", "--no-warn-script-location", \
"-r", "/tmp/wheels/requirements.txt"]
RUN ["{PYTHON}", "-c", {json.dumps(_PRUNE_PYCRATE)}]
FROM {base_ref}
COPY --from=build {VENV} {VENV}
ENV PATH={VENV}/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PYTHONPATH={APP} PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8
"""


def store_dockerfile(base_ref: str) -> str:
    return f"""\
FROM {base_ref}
ADD store-rootfs.tar /
USER {USER_ID}:{USER_ID}
WORKDIR /data
EXPOSE 6379/tcp
HEALTHCHECK --interval={HEALTH_INTERVAL_S}s --timeout={HEALTH_TIMEOUT_S}s \
--start-period={HEALTH_START_PERIOD_S}s --retries={HEALTH_RETRIES} \
CMD ["/usr/bin/redis-cli", "-p", "6379", "ping"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/redis-server"]
CMD ["--bind", "0.0.0.0", "--port", "6379", "--protected-mode", "no", "--save", "", \
"--appendonly", "no", "--dir", "/data"]
"""


def nf_dockerfile(nf: NFDescriptor, deps_ref: str, package_dir: str) -> str:
    """The NF image: shared code, then the NF's own package, each compiled to bytecode."""
    # SCTP is chosen per deployment (values) and Podman refuses `EXPOSE n/sctp`: the image
    # documents the TCP/UDP ports only.
    exposed = " ".join(
        f"{i.port}/{t}" for i in nf.interfaces for t in i.transports if t in ("tcp", "udp")
    )
    probe = HEALTH_PROBE.format(port=nf.admin_port, timeout=HEALTH_TIMEOUT_S - 1)
    compile_cmd = f'"{PYTHON}", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"'
    return f"""\
FROM {deps_ref}
COPY app/ {APP}/
RUN [{compile_cmd}, "{APP}"]
COPY nf/ {APP}/{package_dir}/
RUN [{compile_cmd}, "{APP}/{package_dir}"]
USER {USER_ID}:{USER_ID}
WORKDIR /tmp
ENV NFV_NF={nf.name}
EXPOSE {exposed}
STOPSIGNAL SIGTERM
HEALTHCHECK --interval={HEALTH_INTERVAL_S}s --timeout={HEALTH_TIMEOUT_S}s \
--start-period={HEALTH_START_PERIOD_S}s --retries={HEALTH_RETRIES} \
CMD ["{PYTHON}", "-I", "-c", {json.dumps(probe)}]
ENTRYPOINT ["/usr/bin/tini", "--", "{PYTHON}", "-m", "{nf.module}"]
CMD ["--config", "{CONFIG_DIR}/{nf.name}.yaml"]
"""


def plan_images(
    catalog: Catalog,
    names: Iterable[str] | None = None,
    *,
    with_store: bool | None = None,
    root: Path = REPO_ROOT,
) -> ImagePlan:
    """The images for *names* (default: every NF, plus the state store); raises
    CatalogError naming the known NFs when a name is unknown."""
    selected = list(dict.fromkeys(names)) if names else list(catalog)
    descriptors = [catalog[n] for n in selected]  # CatalogError on an unknown name
    if with_store is None:
        with_store = not names
    project = Project.load(root)
    base = base_hash()
    specs: list[ImageSpec] = [ImageSpec("base", "base", base)]
    if with_store:
        store_text = store_dockerfile(f"{REPOSITORY_PREFIX}/base:{base[:12]}")
        specs.append(
            ImageSpec("store", "redis", store_hash(base, store_text), "base", None, store_text)
        )
    wheels = wheels_hash(project)
    deps_text = deps_dockerfile(f"{REPOSITORY_PREFIX}/base:{base[:12]}")
    deps = digest("deps", RECIPE_VERSION, base, wheels, deps_text)
    specs.append(ImageSpec("deps", "deps", deps, parent="base", dockerfile=deps_text))

    dirs = nf_dirs(catalog, root)
    package_root = root / "network_functions"
    shared = tree_files(package_root, exclude_dirs=dirs.values())
    shared_hash = tree_hash(package_root, shared)
    nf_files: dict[str, tuple[Path, ...]] = {}
    for desc in descriptors:
        nf_dir = dirs[desc.name]
        files = tree_files(nf_dir)
        nf_files[desc.name] = tuple(files)
        package_dir = nf_dir.relative_to(root).as_posix()
        text = nf_dockerfile(desc, f"{REPOSITORY_PREFIX}/deps:{deps[:12]}", package_dir)
        content = digest(
            "nf",
            RECIPE_VERSION,
            deps,
            shared_hash,
            tree_hash(nf_dir, files),
            text,
            project.version,
            desc.model_dump(mode="json"),
        )
        specs.append(ImageSpec("nf", desc.name, content, "deps", desc, text))
    return ImagePlan(
        project=project,
        specs=tuple(specs),
        wheels_hash=wheels,
        shared_files=tuple(shared),
        nf_files=nf_files,
        nf_paths={d.name: dirs[d.name] for d in descriptors},
    )

#!/usr/bin/env python3
"""Make a single-layer container image (docker-save tar) from static binaries, no registry.

The local cluster's images (pod sandbox, CoreDNS, metrics-server) are each one static Go
binary; this writes the image layout that `ctr images import` and `docker load` read:
manifest.json + config + one layer tar (Docker Image Spec v1.2 / OCI image config).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path


def _layer(files: list[tuple[str, Path]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("etc", "tmp"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        for dest, src in files:
            data = src.read_bytes()
            info = tarfile.TarInfo(dest.lstrip("/"))
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for name, text in (
            ("etc/passwd", "root:x:0:0::/:/nonexistent\nnobody:x:65534:65534::/:/nonexistent\n"),
            ("etc/group", "root:x:0:\nnobody:x:65534:\n"),
        ):
            raw = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--name", required=True, help="image reference, e.g. localhost/nfv-pause:1")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--entrypoint", required=True, help="JSON list, e.g. '[\"/pause\"]'")
    ap.add_argument("--user", default="")
    ap.add_argument("file", nargs="+", help="DEST=SRC: put host file SRC at DEST in the image")
    args = ap.parse_args()
    files = [(d, Path(s)) for d, s in (f.split("=", 1) for f in args.file)]
    layer = _layer(files)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": json.loads(args.entrypoint), "User": args.user, "Env": ["PATH=/"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "hack/cluster/mkimage.py"}],
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = [{"Config": cfg_name, "RepoTags": [args.name], "Layers": ["layer.tar"]}]
    with tarfile.open(args.out, mode="w") as tar:
        for name, data in (
            (cfg_name, cfg),
            ("layer.tar", layer),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


if __name__ == "__main__":
    main()

"""A small lab for integration tests: the real NF processes on loopback, under the test's
control (which replicas, on which addresses), from the same catalog, values and rendered
config files as every platform. Processes are stopped by the PIDs recorded here.

Each lab takes a fresh 127.X.Y.0/24 block so labs never share addresses.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network_functions.runtime.diameter import DiameterClient, Handler
from network_functions.runtime.http import http_request_sync
from network_functions.runtime.metrics import Registry
from network_functions.runtime.names import NameTable
from nfv.catalog import load_catalog
from nfv.render import expand_subscribers, render_nf_config
from nfv.values import load_values

REPO = Path(__file__).resolve().parents[2]
_blocks = itertools.count((os.getpid() % 200) * 50)


def _next_block() -> str:
    n = next(_blocks) % 10000
    return f"127.{100 + n // 250}.{n % 250}"


@dataclass
class Replica:
    nf: str
    name: str
    address: str
    admin_port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def ready(self) -> bool:
        try:
            status, _ = http_request_sync(
                self.address, self.admin_port, "GET", "/readyz", timeout=1.0
            )
        except OSError:
            return False
        return status == 200

    def metrics(self) -> str:
        _, body = http_request_sync(self.address, self.admin_port, "GET", "/metrics")
        return body.decode()


@dataclass
class CoreLab:
    root: Path
    values: dict[str, Any]
    block: str = field(default_factory=_next_block)
    replicas: list[Replica] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    store_url: str = ""

    def __post_init__(self) -> None:
        self.catalog = load_catalog()
        self.root.mkdir(parents=True, exist_ok=True)
        self.subscribers = expand_subscribers(self.values)
        self.subs_file = self.root / "subscribers.json"
        self.subs_file.write_text(json.dumps(self.subscribers))
        self._host = itertools.count(1)
        self.domain: str = self.values["network"]["ims_domain"]
        for nf in self.catalog:
            self.set_address(nf, f"{self.block}.{next(self._host)}")

    # -- addressing ------------------------------------------------------------------------
    def set_address(self, nf: str, address: str) -> None:
        """Point the NF's service name (and FQDN alias) at an address; NFs re-read it."""
        self.names[nf] = address
        self.names[f"{nf}.{self.domain}"] = address
        tmp = self.root / "names.json.tmp"
        tmp.write_text(json.dumps(self.names))
        tmp.replace(self.root / "names.json")

    def new_address(self) -> str:
        return f"{self.block}.{next(self._host)}"

    def address(self, nf: str) -> str:
        return self.names[nf]

    # -- processes -------------------------------------------------------------------------
    def start(
        self,
        nf: str,
        *,
        address: str | None = None,
        index: int | None = None,
        env: dict[str, str] | None = None,
    ) -> Replica:
        desc = self.catalog[nf]
        config = self.root / f"{nf}.yaml"
        if not config.exists():
            config.write_text(
                render_nf_config(
                    desc, self.catalog, self.values, subscribers_file=str(self.subs_file)
                )
            )
        index = sum(1 for r in self.replicas if r.nf == nf) if index is None else index
        address = address or self.names[nf]
        admin_port = 9000 + index
        log = self.root / f"{nf}-{index}.log"
        full_env = dict(
            os.environ,
            NFV_NAMES=str(self.root / "names.json"),
            NFV_REPLICA=f"{nf}-{index}",
            NFV__LISTEN__HOST=address,
            NFV__ADMIN__PORT=str(admin_port),
            NFV__STORE__URL=self.store_url or f"sqlite:///{self.root}/store-{nf}.db",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(REPO),
        )
        full_env.update(env or {})
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", desc.module, "--config", str(config)],
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        replica = Replica(nf, f"{nf}-{index}", address, admin_port, proc, log)
        self.replicas.append(replica)
        return replica

    def enabled(self) -> list[str]:
        """The NFs the values enable (as `nfv up` does: listed in `nfs:` and not disabled)."""
        nfs = self.values.get("nfs") or {}
        return [n for n in self.catalog if n in nfs and (nfs[n] or {}).get("enabled", True)]

    def start_core(self) -> None:
        for wave in self.catalog.waves(self.enabled()):
            for desc in wave:
                self.start(desc.name)
        self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.replicas)
        while pending and time.monotonic() < deadline:
            for r in list(pending):
                if r.proc.poll() is not None:
                    raise RuntimeError(
                        f"{r.name} exited {r.proc.returncode}:\n" + r.log.read_text()[-3000:]
                    )
                if r.ready():
                    pending.remove(r)
            time.sleep(0.05)
        if pending:
            raise RuntimeError(
                "not ready: " + ", ".join(f"{r.name}: {r.log.read_text()[-1500:]}" for r in pending)
            )

    def stop(self, replica: Replica, *, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if replica.proc.poll() is None:
            replica.proc.send_signal(sig)
            try:
                replica.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                replica.proc.wait()
        if replica in self.replicas:
            self.replicas.remove(replica)
        return replica.proc.returncode

    def stop_all(self) -> None:
        for r in reversed(list(self.replicas)):
            self.stop(r)

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.root.glob("*.log"))
        )

    @property
    def pcscf(self) -> tuple[str, int]:
        return (self.names["pcscf"], self.catalog["pcscf"].port("sip"))

    def subscriber(self, i: int) -> dict[str, str]:
        return self.subscribers[i]


@contextlib.contextmanager
def managed(lab: CoreLab) -> Iterator[CoreLab]:
    """``lab`` for the duration of the block (start its NFs inside): its logs are printed if
    the block fails, and every process it started is stopped afterwards."""
    try:
        yield lab
    except BaseException:
        print(lab.logs())
        raise
    finally:
        lab.stop_all()


@contextlib.contextmanager
def running_core(root: Path, values: dict[str, Any] | None = None, **kw: Any) -> Iterator[CoreLab]:
    """A started core for the duration of the block (see :func:`managed`)."""
    with managed(CoreLab(root, values if values is not None else lab_values(), **kw)) as lab:
        lab.start_core()
        yield lab


def diameter_peer(
    lab: CoreLab,
    nf: str,
    *,
    peer: str,
    origin_host: str,
    origin_realm: str,
    auth_applications: Sequence[int] = (),
    vendor_applications: Sequence[tuple[int, int]] = (),
    request_handler: Handler | None = None,
) -> DiameterClient:
    """A DiameterClient standing in for a peer NF (MME, PGW, P-CSCF) of the lab's ``nf``:
    one connection to ``peer`` (a name of the lab's name table or an address) on ``nf``'s
    Diameter port, advertising 127.0.0.1."""
    return DiameterClient(
        peer=peer,
        port=lab.catalog[nf].port("diameter"),
        names=NameTable(lab.root / "names.json"),
        origin_host=origin_host,
        origin_realm=origin_realm,
        advertise="127.0.0.1",
        auth_applications=list(auth_applications),
        vendor_applications=list(vendor_applications),
        metrics=Registry(),
        connections=1,
        request_handler=request_handler,
    )


def lab_values(**overrides: Any) -> dict[str, Any]:
    return load_values(profile="lab", overrides=overrides or None)


EPC_NFS = ("hss", "sgw", "pgw", "pcrf", "mme")


def epc_values(*, subscribers: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Lab values with only the EPC (HSS, SGW, PGW, PCRF, MME) enabled; ``subscribers`` sets
    the size of the first provisioned range."""
    values = lab_values(**overrides)
    values["nfs"] = {n: {**(v or {}), "enabled": n in EPC_NFS} for n, v in values["nfs"].items()}
    if subscribers is not None:
        values["subscribers"][0]["count"] = subscribers
    return values

"""The life cycle every NF process shares: config, logs, admin port, store, drain, exit.

An NF subclasses :class:`NetworkFunction`, declares its config model (a subclass of
:class:`BaseConfig`) and calls :func:`main` from its ``__main__``. The process then:

1. loads the YAML config file (the one the chart renders) with ``NFV__`` env overrides;
2. logs JSON lines on stdout;
3. serves ``/healthz``, ``/readyz`` and ``/metrics`` on the admin port — ``/readyz`` is
   200 only when every readiness check (peers answered CER, store pings) passes;
4. on SIGTERM/SIGINT stops taking new work, lets in-flight transactions finish
   (bounded by ``drain_timeout``) and exits 0.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .config import ConfigError, load_config
from .http import HttpRequest, HttpResponse, HttpServer
from .logs import setup_logging
from .metrics import Registry
from .names import NF_RECHECK_INTERVAL, NameTable
from .store import Store, StoreError, open_store


class ListenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "0.0.0.0"
    # The address peers should use to reach this replica's service; "" = listen host, or
    # the host's own address when listening on 0.0.0.0 (a pod IP on Kubernetes).
    advertise: str = ""


class AdminConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = ""
    port: int = Field(default=8080, ge=0, le=65535)


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = ""


class LoggingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: str = "INFO"


class BaseConfig(BaseModel):
    """Fields every NF config file has (see charts/volte-core/config/_common.j2)."""

    model_config = ConfigDict(extra="forbid")

    nf: str
    domain: str
    realm: str
    listen: ListenConfig = ListenConfig()
    admin: AdminConfig = AdminConfig()
    store: StoreConfig = StoreConfig()
    logging: LoggingConfig = LoggingConfig()
    drain_timeout: float = Field(default=8.0, ge=0)


C = TypeVar("C", bound=BaseConfig)

ReadinessCheck = Callable[[], Awaitable[str | None]]

# Generation thresholds once the NF runs (CPython's default is 700, 10, 10): a request
# allocates a few hundred short-lived objects, so the default collects every few messages.
GC_THRESHOLDS = (20_000, 20, 20)


def advertised_address(listen: ListenConfig) -> str:
    """The IP peers reach this replica on (used in Via, Record-Route, Host-IP-Address)."""
    if listen.advertise:
        return listen.advertise
    if listen.host not in ("0.0.0.0", "::", ""):
        return listen.host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class NetworkFunction(abc.ABC, Generic[C]):
    """Base class of every NF process. Subclasses implement start/drain/close."""

    config_model: ClassVar[type[BaseConfig]]

    def __init__(self, config: C, *, replica: str) -> None:
        self.config = config
        self.replica = replica
        self.log = logging.getLogger(f"nfv.{config.nf}")
        self.metrics = Registry()
        self.names = NameTable(recheck=NF_RECHECK_INTERVAL)
        self.address = advertised_address(config.listen)
        self.store: Store | None = None
        self._checks: list[tuple[str, ReadinessCheck]] = []
        self._admin: HttpServer | None = None
        self._stopping = asyncio.Event()
        self.draining = False
        self.started_at = time.time()
        self.metrics.gauge("nfv_up", "1 while the process runs").set(1)

    # -- to implement -------------------------------------------------------------
    @abc.abstractmethod
    async def start(self) -> None:
        """Open the NF's sockets and connections. Readiness may still be pending."""

    async def drain(self) -> None:
        """Stop taking new work and wait for in-flight work (bounded by the caller)."""

    async def close(self) -> None:
        """Close every socket and connection."""

    # -- shared machinery -----------------------------------------------------------
    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """Register a check returning None when fine, or a sentence saying what is wrong."""
        self._checks.append((name, check))

    async def open_store(self) -> Store:
        if not self.config.store.url:
            raise ConfigError(f"{self.config.nf} needs a state store: set store.url")
        store = open_store(self.config.store.url)
        self.store = store

        async def check() -> str | None:
            try:
                await asyncio.wait_for(store.ping(), 2.0)
            except (StoreError, TimeoutError) as exc:
                return f"store {store.url} does not answer: {exc}"
            return None

        self.add_readiness_check("store", check)
        return store

    async def readiness(self) -> list[str]:
        if self.draining:
            return ["draining"]
        problems: list[str] = []
        for name, check in self._checks:
            try:
                problem = await check()
            except Exception as exc:  # a broken check must not break /readyz
                problem = f"{name} check failed: {exc!r}"
            if problem:
                problems.append(problem)
        return problems

    async def _healthz(self, _req: HttpRequest) -> HttpResponse:
        return HttpResponse.text("ok\n")

    async def _readyz(self, _req: HttpRequest) -> HttpResponse:
        problems = await self.readiness()
        if problems:
            return HttpResponse.text("not ready: " + "; ".join(problems) + "\n", status=503)
        return HttpResponse.text("ready\n")

    async def _metrics(self, _req: HttpRequest) -> HttpResponse:
        return HttpResponse(
            body=self.metrics.render().encode(),
            content_type="text/plain; version=0.0.4; charset=utf-8",
        )

    async def _start_admin(self) -> None:
        host = self.config.admin.host or self.config.listen.host
        self._admin = HttpServer(host, self.config.admin.port)
        self._admin.route("GET", "/healthz", self._healthz)
        self._admin.route("GET", "/readyz", self._readyz)
        self._admin.route("GET", "/metrics", self._metrics)
        await self._admin.start()

    @property
    def admin(self) -> HttpServer:
        assert self._admin is not None
        return self._admin

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        await self._start_admin()
        await self.start()
        # Everything allocated so far (code, config, connections) lives as long as the
        # process: keep it out of the collector's generations, and collect young objects
        # less often. Measured: 10-25 % less CPU per SIP transaction under load.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        self.log.info(
            "started",
            extra={"address": self.address, "admin_port": self.admin.port, "pid": os.getpid()},
        )
        await self._stopping.wait()
        self.log.info("draining")
        self.draining = True
        try:
            await asyncio.wait_for(self.drain(), self.config.drain_timeout)
        except TimeoutError:
            self.log.warning("drain timed out; closing with work in flight")
        await self.close()
        if self.store is not None:
            await self.store.close()
        await self.admin.close()
        self.log.info("stopped")


def main(nf_class: type[NetworkFunction[Any]], argv: list[str] | None = None) -> int:
    """Entry point of ``python -m network_functions.<nf>``."""
    parser = argparse.ArgumentParser(prog=f"python -m {nf_class.__module__.rsplit('.', 1)[0]}")
    parser.add_argument("--config", help="NF config file (YAML); NFV__* env vars override it")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, nf_class.config_model)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    replica = os.environ.get("NFV_REPLICA") or f"{config.nf}-{os.getpid()}"
    setup_logging(config.nf, replica, level=config.logging.level)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    nf = nf_class(config, replica=replica)
    try:
        asyncio.run(nf.run())
    except OSError as exc:
        logging.getLogger("nfv").error("cannot start: %s", exc)
        print(f"error: {config.nf}: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0

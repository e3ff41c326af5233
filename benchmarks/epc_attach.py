"""EPC attach benchmark: attaches/s through MME, HSS, SGW-C, PGW-C and PCRF with p50/p95
attach latency, on this machine, driven by the eNB/UE simulator (network_functions/sim/enb.py).

Run from the repository root: ``python benchmarks/epc_attach.py`` (about 2 minutes; see
``--help``). It starts the real NF processes with the integration lab
(tests/integration/corelab.py, the same config rendering as ``nfv up``) on a private
127.X.Y.0/24 block, provisions the subscribers through the values' subscriber range, and
starts ``--workers`` simulator processes, each one eNB (one S1 association) with many UEs in
flight. For each ``--rates`` step the workers start attaches on a fixed schedule (open loop:
``rate`` attaches per second in total, for ``--seconds``), each attach being the full
procedure: Initial UE Message with Attach Request + PDN Connectivity Request, S6a AIR,
EPS AKA (Milenage on the UE side), Security Mode Command/Complete, S6a ULR, S11 Create
Session (SGW-C → S5 → PGW-C → Gx CCR-I to the PCRF), Initial Context Setup with the Attach
Accept, Attach Complete, Modify Bearer. Latency is from the Initial UE Message to the
Attach Complete (what the UE sees). After each step the step's UEs detach (not measured;
failures are reported), so every step starts from the same state.

A step is clean when every attach succeeded and the achieved rate (successful attaches
over the time from the first start to the last completion) is at least 97 % of the offered
rate. CPU of every NF and of the simulator is measured per step (% of one core) and as
CPU milliseconds per attach. ``--profile NF`` samples one NF with py-spy during the
``--profile-rate`` step and prints its hottest frames. Results are printed and written to
docs/benchmarks-epc.md (``--no-write`` to leave it alone). Everything started here listens
on 127.0.0.0/8 and is stopped by PID.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from ims_load import CpuMeter, settle, start_profile, summarise_profile  # noqa: E402

from tests.integration.corelab import CoreLab, epc_values  # noqa: E402

NFS = ("mme", "hss", "sgw", "pgw", "pcrf")
CLEAN_RATIO = 0.97
# CPU of other processes (% of one core) above which a step that is not clean is re-run
# (--retries): the machine is shared, and a step starved by another job says nothing.
NOISY_OTHERS_PCT = 50.0
OUT = REPO / "docs" / "benchmarks-epc.md"
STORES = {
    "sqlite": "the lab's SQLite file per NF (WAL, as `nfv up` uses it)",
    "memory": "in-process memory per NF (one replica each)",
}


# -- the simulator workers (separate processes) ---------------------------------------------------
def warm_up() -> int:
    """Import the codecs in the worker before the first step (pycrate's tables load ~1 s)."""
    from network_functions.sim import enb  # noqa: F401

    return os.getpid()


def worker_step(
    mme: tuple[str, int],
    enb_id: int,
    subs: list[dict[str, str]],
    rate: float,
    concurrency: int,
    start_at: float,
) -> dict[str, Any]:
    """One eNB attaching ``subs`` at ``rate``/s from wall-clock ``start_at``, then detaching
    them. Returns latencies, failures and timings."""
    from network_functions.sim.enb import AttachResult, DetachResult, Enb, SimUe

    cpu0 = time.process_time()
    ues = [SimUe(imsi=s["imsi"], k=s["k"], opc=s["opc"]) for s in subs]
    out: dict[str, Any] = {"latencies": [], "failures": [], "detach_failures": []}
    with Enb(mme, enb_id=enb_id) as enb:
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)
        t0 = time.monotonic()
        results = enb.run_many(
            [enb.attach_procedure(u) for u in ues], concurrency=concurrency, rate=rate
        )
        out["elapsed"] = time.monotonic() - t0
        out["cpu"] = time.process_time() - cpu0
        for r in results:
            if isinstance(r, AttachResult):
                out["latencies"].append(r.seconds)
            else:
                out["failures"].append(repr(r))
        attached = [u for u in ues if u.attached]
        detached = enb.run_many([enb.detach_procedure(u) for u in attached], concurrency=50)
        out["detach_failures"] = [repr(r) for r in detached if not isinstance(r, DetachResult)]
    return out


# -- measurements ---------------------------------------------------------------------------------
@dataclass
class Step:
    rate: int
    seconds: int
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    detach_failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    others: float = 0.0
    attempt: int = 1

    @property
    def offered(self) -> int:
        return self.rate * self.seconds

    @property
    def achieved(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def clean(self) -> bool:
        return (
            not self.failures
            and self.ok >= self.offered
            and self.achieved >= CLEAN_RATIO * self.rate
        )

    def percentile(self, q: int) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]

    def cpu_ms_per_attach(self, names: tuple[str, ...]) -> float | None:
        if not self.ok:
            return None
        return sum(self.cpu.get(n, 0.0) for n in names) / 100 * self.elapsed / self.ok * 1000


def run_step(
    lab: CoreLab,
    pool: concurrent.futures.ProcessPoolExecutor,
    groups: dict[str, list[int]],
    step: Step,
    args: argparse.Namespace,
) -> Step:
    mme = (lab.address("mme"), lab.catalog["mme"].port("s1ap"))
    subs = lab.subscribers[: step.offered]
    shares = [subs[i :: args.workers] for i in range(args.workers)]
    start_at = time.time() + 1.0
    meter = CpuMeter(groups)
    futures = [
        pool.submit(
            worker_step,
            mme,
            100 + i,
            share,
            step.rate / args.workers,
            args.concurrency,
            start_at,
        )
        for i, share in enumerate(shares)
    ]
    outs = [f.result() for f in futures]
    step.cpu = meter.stop()
    step.others = max(0.0, meter.machine_pct - sum(step.cpu.values()))
    step.elapsed = max(o["elapsed"] for o in outs)
    for o in outs:
        step.latencies += [s * 1000 for s in o["latencies"]]
        step.failures += o["failures"]
        step.detach_failures += o["detach_failures"]
    step.ok = len(step.latencies)
    # The workers' CPU is not in the meter's process groups: add it from their own count.
    step.cpu["sim"] = 100.0 * sum(o["cpu"] for o in outs) / step.elapsed if step.elapsed else 0
    step.others = max(0.0, step.others - step.cpu["sim"])
    return step


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def table(steps: list[Step]) -> list[str]:
    lines = [
        "| offered/s | attaches | achieved/s | failures | p50 ms | p95 ms | p99 ms "
        "| CPU % mme / hss / sgw / pgw / pcrf / sim | NF CPU ms/attach | other CPU % | run "
        "| clean |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        cpu = " / ".join(fmt(s.cpu.get(n)) for n in (*NFS, "sim"))
        lines.append(
            f"| {s.rate} | {s.ok}/{s.offered} | {s.achieved:.0f} | {len(s.failures)} "
            f"| {fmt(s.percentile(50), '.1f')} | {fmt(s.percentile(95), '.1f')} "
            f"| {fmt(s.percentile(99), '.1f')} | {cpu} | {fmt(s.cpu_ms_per_attach(NFS), '.2f')} "
            f"| {s.others:.0f} | {s.attempt} | {'yes' if s.clean else 'no'} |"
        )
    return lines


def machine() -> dict[str, str]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    try:
        import uvloop

        loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = "asyncio"
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": model or platform.processor(),
        "kernel": platform.release(),
        "Python": f"{platform.python_version()}, NF event loop {loop}",
    }


def report(
    steps: list[Step], args: argparse.Namespace, command: str, profile: list[tuple[float, str]]
) -> str:
    clean = [s for s in steps if s.clean]
    best = max(clean, key=lambda s: s.rate) if clean else None
    peak = max(steps, key=lambda s: s.achieved) if steps else None
    lines = [
        "# EPC attach benchmark",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC with `{command}` "
        "(benchmarks/epc_attach.py).",
        "",
        "Each attach is the whole procedure through real processes on loopback: S1AP over TCP "
        "from the eNB/UE simulator to the MME, S6a AIR and ULR to the HSS, EPS AKA with "
        "Milenage on the UE side, NAS security mode (EIA2, EEA0), S11 Create Session to the "
        "SGW-C, S5 to the PGW-C, Gx CCR-I to the PCRF, Initial Context Setup with the Attach "
        "Accept, Attach Complete and S11 Modify Bearer. Latency: Initial UE Message → Attach "
        f"Complete sent by the UE. {args.workers} simulator processes (one eNB each, at most "
        f"{args.concurrency} UEs in flight per eNB) start attaches on a fixed schedule (open "
        f"loop) for {args.seconds} s per step; the step's UEs detach after it (not timed). "
        f"State store: {STORES[args.store]}.",
        "",
    ]
    if best is not None:
        lines.append(
            f"**Highest clean step: {best.rate} attaches/s offered, {best.achieved:.0f}/s "
            f"achieved, 0 failures, p50 {fmt(best.percentile(50), '.1f')} ms, p95 "
            f"{fmt(best.percentile(95), '.1f')} ms** (target ≥ 200/s; anchor: SD-Core's "
            "nightly suite runs 100 attaches/s)."
        )
    else:
        lines.append("**No clean step** (see the failures below).")
    if peak is not None and (best is None or peak is not best):
        lines.append(
            f"Peak achieved: {peak.achieved:.0f}/s at {peak.rate}/s offered "
            f"({len(peak.failures)} failures)."
        )
    lines += ["", *table(steps), ""]
    lines.append(
        "CPU is % of one core over the step (the machine has "
        f"{os.cpu_count()} cores shared by all NFs and the simulator); 'NF CPU ms/attach' sums "
        "the five NFs. 'clean': no failure and ≥ 97 % of the offered rate achieved. 'other "
        "CPU': what the rest of the machine (other users' jobs) used meanwhile; 'run': the "
        f"attempt reported (a step that is not clean while others use > {NOISY_OTHERS_PCT:.0f} "
        f"% of a core is measured again, up to {args.retries} times; the clean attempt, else "
        "the one that achieved most, is reported)."
    )
    noisy = [s for s in steps if s.others > 20]
    if noisy:
        lines.append(
            "Other processes used CPU during step(s) "
            + ", ".join(f"{s.rate}/s ({s.others:.0f} %)" for s in noisy)
            + ": the machine is shared, so these figures are lower bounds."
        )
    failed = [s for s in steps if s.failures or s.detach_failures]
    if failed:
        lines += ["", "## Failures", ""]
        for s in failed:
            sample = "; ".join(sorted(set(s.failures))[:3])
            lines.append(
                f"- {s.rate}/s: {len(s.failures)} attach failures ({sample}); "
                f"{len(s.detach_failures)} detach failures"
            )
    if profile:
        lines += ["", f"## Profile: {args.profile} at {args.profile_rate}/s (py-spy, own time)", ""]
        lines += [f"- {pct:.1f} % `{frame}`" for pct, frame in profile]
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rates", default="100,200,250,300", help="attaches/s per step")
    p.add_argument("--seconds", type=int, default=15, help="length of each step")
    p.add_argument("--workers", type=int, default=2, help="simulator processes (eNBs)")
    p.add_argument("--concurrency", type=int, default=200, help="UEs in flight per eNB")
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"re-runs of a step that is not clean while other processes use > "
        f"{NOISY_OTHERS_PCT:.0f} %% of a core",
    )
    p.add_argument("--profile", choices=NFS, help="py-spy this NF during one step")
    p.add_argument("--profile-rate", type=int, default=200, help="the step to profile")
    p.add_argument("--quick", action="store_true", help="one 5 s step at 100/s")
    p.add_argument("--no-write", action="store_true", help=f"do not write {OUT.name}")
    p.add_argument("--out", type=Path, default=OUT, help="where to write the report")
    p.add_argument("--keep", action="store_true", help="keep the lab's logs")
    p.add_argument(
        "--store",
        choices=["sqlite", "memory"],
        default="sqlite",
        help="state store: the lab's SQLite file per NF (as `nfv up`), or in-process memory",
    )
    args = p.parse_args(argv)
    args.rate_list = [int(r) for r in args.rates.split(",") if r.strip()]
    if args.quick:
        args.rate_list, args.seconds = [100], 5
    if not args.rate_list or min(args.rate_list) <= 0 or args.seconds <= 0 or args.workers < 1:
        p.error("rates, seconds and workers must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = "python benchmarks/epc_attach.py" + (" " + " ".join(given) if given else "")
    need = max(args.rate_list) * args.seconds
    work = Path(tempfile.mkdtemp(prefix="nfv-epc-attach-"))
    steps: list[Step] = []
    profile: list[tuple[float, str]] = []
    lab = CoreLab(
        work / "lab",
        epc_values(subscribers=need),
        store_url="memory://" if args.store == "memory" else "",
    )
    ctx = multiprocessing.get_context("spawn")
    try:
        lab.start_core()
        lab.wait_ready(timeout=60)
        groups = {r.nf: [r.proc.pid] for r in lab.replicas}
        with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
            for f in [pool.submit(warm_up) for _ in range(args.workers)]:
                f.result()
            print(
                f"{'offered/s':>9} {'ok':>11} {'achieved/s':>10} {'fail':>5} "
                f"{'p50 ms':>7} {'p95 ms':>7}  CPU% {'/'.join((*NFS, 'sim'))}",
                flush=True,
            )
            for rate in args.rate_list:
                attempts: list[Step] = []
                for attempt in range(1 + args.retries):
                    settle(groups)
                    profiler = None
                    raw = work / f"profile-{rate}.txt"
                    if args.profile and rate == args.profile_rate and attempt == 0:
                        pid = groups[args.profile][0]
                        profiler = start_profile(pid, raw, args.seconds)
                    step = run_step(lab, pool, groups, Step(rate, args.seconds), args)
                    step.attempt = attempt + 1
                    if profiler is not None:
                        profiler.wait(args.seconds + 30)
                        if raw.exists():
                            profile = summarise_profile(raw)
                    cpu = "/".join(fmt(step.cpu.get(n)) for n in (*NFS, "sim"))
                    print(
                        f"{rate:>9} {step.ok:>5}/{step.offered:<5} {step.achieved:>10.0f} "
                        f"{len(step.failures):>5} {fmt(step.percentile(50), '.1f'):>7} "
                        f"{fmt(step.percentile(95), '.1f'):>7}  {cpu}  others {step.others:.0f}%"
                        + ("" if step.clean else "  (not clean)"),
                        flush=True,
                    )
                    if step.failures:
                        print(f"  e.g. {step.failures[0]}", flush=True)
                    attempts.append(step)
                    # A step spoilt by someone else's load is measured again (reported).
                    if step.clean or step.failures or step.others < NOISY_OTHERS_PCT:
                        break
                # The attempt reported: a clean one, else the one that achieved most.
                steps.append(max(attempts, key=lambda a: (a.clean, a.achieved)))
    except BaseException:
        print(lab.logs()[-6000:], file=sys.stderr)
        raise
    finally:
        lab.stop_all()
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = report(steps, args, command, profile)
    if profile:
        print(f"\nprofile of {args.profile}:")
        for pct, frame in profile:
            print(f"  {pct:5.1f}%  {frame}")
    if not args.no_write:
        args.out.write_text(text)
        print(f"\nwritten to {args.out}")
    return 0 if any(s.clean for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())

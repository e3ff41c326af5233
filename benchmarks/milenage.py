"""Micro-benchmark: microseconds per AKA vector (MILENAGE, TS 35.206) on this machine.

Run from the repository root: ``python benchmarks/milenage.py [--n N]``. It reports the cost of
``aka.generate_vector`` with a cached subscriber key (the HSS steady state), with a key that
is not cached (first vector for a subscriber: includes the AES key schedule), of
``milenage.compute`` alone, and of the USIM side ``aka.ue_authenticate``. Best of several
rounds, to damp noise from other processes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _best_us(fn: Callable[[int], object], n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from network_functions.protocols import aka, milenage

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = args.n, args.rounds

    k = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
    opc = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
    rand = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
    sqn, amf = bytes(6), b"\x80\x00"

    results = {
        "generate_vector (cached K)": _best_us(lambda i: aka.generate_vector(k, opc, i), n, rounds),
        "milenage.compute (cached K)": _best_us(
            lambda i: milenage.compute(k, opc, rand, sqn, amf), n, rounds
        ),
    }

    # Keys never seen before: every call pays the cache miss (and evicts an old entry).
    fresh = [i.to_bytes(16, "big") for i in range(rounds * n)]
    counter = iter(range(len(fresh)))

    def uncached(i: int) -> object:
        return aka.generate_vector(fresh[next(counter)], opc, i)

    results["generate_vector (uncached K)"] = _best_us(uncached, n, rounds)

    vec = aka.generate_vector(k, opc, 1 << 20, rand=rand)
    results["ue_authenticate (cached K)"] = _best_us(
        lambda i: aka.ue_authenticate(k, opc, vec.rand, vec.autn, sqn_ms=0), n, rounds
    )

    width = max(map(len, results))
    for name, us in results.items():
        print(f"{name:<{width}}  {us:7.2f} us/call  ({1e6 / us:>9,.0f} /s)")


if __name__ == "__main__":
    main()

"""Run the benchmarks: ``python -m benchmarks [name ...] [--quick]``.

Each ``benchmarks/bench_<name>.py`` module exposes ``main(quick: bool) -> None`` and prints its
figures, including ratios against the peer measured in the same run. Results are also appended
to ``benchmarks/results/`` by the modules that keep them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    import benchmarks

    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    unknown = set(wanted) - set(names)
    if unknown:
        print(f"unknown benchmark(s) {sorted(unknown)}; available: {names}", file=sys.stderr)
        return 2
    for name in wanted or names:
        print(f"\n=== benchmark: {name} ===", flush=True)
        t0 = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main(quick=quick)
        print(f"=== {name} done in {time.perf_counter() - t0:.1f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

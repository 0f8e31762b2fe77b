"""CPU-set kernel: the compiled module against its pure-Python twin, side by side.

Run by hand: ``.venv/bin/python benchmarks/cpuset.py``. Each case runs both
implementations on the same input in the same process; the result is the ratio of
their best times (pure / compiled). Ends with one summary line.
"""
import timeit

import numpy as np

from nova_tx._speedups import cpuset as compiled
from nova_tx.virt import cpuset as pure

HOSTS = 10_000
WORDS = 4  # 256 CPUs per host


def _best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number


def main() -> None:
    rng = np.random.default_rng(42)
    table = rng.integers(0, 2**63, size=(HOSTS, WORDS), dtype=np.uint64)
    wanted = pure.cpuset_to_words({1, 5, 64, 130}, WORDS)
    spec = "0-127,^3,^64-70"
    cases = [
        ("parse_cpu_spec(%r)" % spec, lambda m: (lambda: m.parse_cpu_spec(spec)), 2000),
        ("parse_cpu_spec_words(%r)" % spec,
         lambda m: (lambda: m.parse_cpu_spec_words(spec, WORDS)), 2000),
        ("popcount, %d hosts x %d words" % (HOSTS, WORDS),
         lambda m: (lambda: m.popcount(table)), 20),
        ("is_subset, one set vs %d hosts" % HOSTS,
         lambda m: (lambda: m.is_subset(wanted, table)), 20),
    ]
    print("%-48s %12s %12s %8s" % ("case", "pure", "compiled", "ratio"))
    ratios = []
    for name, make, number in cases:
        t_pure = _best(make(pure), number)
        t_compiled = _best(make(compiled), number)
        ratios.append(t_pure / t_compiled)
        print("%-48s %10.1fus %10.1fus %7.1fx" % (name, t_pure * 1e6, t_compiled * 1e6,
                                                 ratios[-1]))
    print("cpuset: compiled is %.1fx to %.1fx faster than pure (geometric mean %.1fx)"
          % (min(ratios), max(ratios), float(np.exp(np.mean(np.log(ratios))))))


if __name__ == "__main__":
    main()

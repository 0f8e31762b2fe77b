"""Filter and weigh one request over 10,000 hosts, step by step (nova-tx only).

Run by hand: ``.venv/bin/python benchmarks/scheduler_filters.py [--hosts 10000]
[--request pinned|plain]``.

The quick companion of ``benchmarks/scheduler.py`` (which compares with upstream Nova
and times ``select_destinations``): the same cloud (``scheduler_fleet.py``), the same
``HostStates``, options and requests, built by the same functions, and the steps of
the scheduler's per-request work timed one by one:

- the enabled filters (Zed's defaults plus PciPassthroughFilter and
  NUMATopologyFilter), through ``FilterHandler.get_filtered_hosts``;
- the weighers (Zed's ``all_weighers``) and the host choice, through
  ``WeightHandler.get_sorted_hosts``;
- the claim consumed into the chosen host's state (``consume_from_request``).

Prints the best of several runs for each and the total (the target is under 50 ms).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import scheduler_fleet  # noqa: E402
from scheduler import ENABLED_FILTERS, host_states, make_conf, request_spec  # noqa: E402

from nova_tx.scheduler.filters import FilterHandler  # noqa: E402
from nova_tx.scheduler.weights import WeightHandler  # noqa: E402


def best(fn, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--request", choices=sorted(scheduler_fleet.REQUESTS),
                        default="pinned")
    args = parser.parse_args()
    start = time.perf_counter()
    states = host_states(scheduler_fleet.fleet(args.hosts))
    print(f"built HostStates for {args.hosts} hosts in {time.perf_counter() - start:.1f} s")
    conf = make_conf(args.hosts)
    conf.set_override("enabled_filters", [*ENABLED_FILTERS[:-1], "PciPassthroughFilter",
                                          ENABLED_FILTERS[-1]], group="filter_scheduler")
    request = request_spec(args.request, "instance")
    filters = FilterHandler(conf)
    weighers = WeightHandler(conf)
    rows = states.rows()
    passed = filters.get_filtered_hosts(states, rows, request)
    print(f"{args.request}: {len(passed)} of {len(rows)} hosts pass")
    t_filter = best(lambda: filters.get_filtered_hosts(states, rows, request))
    t_weigh = best(lambda: weighers.get_sorted_hosts(states, passed, request))
    chosen = int(weighers.get_sorted_hosts(states, passed, request)[0])

    def claim():
        states.consume_from_request(chosen, request_spec(args.request, "claimed"))

    t_claim = best(claim, repeat=1)
    print(f"filters {t_filter:.1f} ms, weighers + choice {t_weigh:.1f} ms, "
          f"claim {t_claim:.2f} ms; total {t_filter + t_weigh + t_claim:.1f} ms")


if __name__ == "__main__":
    main()

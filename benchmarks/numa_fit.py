"""NUMA fitting: upstream Nova's ``numa_fit_instance_to_host`` against nova-tx's kernel.

Run by hand: ``.venv/bin/python benchmarks/numa_fit.py [--sizes 1000,10000,100000]``.

Upstream Nova (PyPI ``nova``, version ``NOVA_VERSION``: the spec/E §6 anchor) is
installed on first use into its own virtualenv, ``benchmarks/.venv-nova/``, and runs
in a subprocess of it (``numa_fit_nova_worker.py``). Both sides get the same cases,
built from the same host dicts, and the same rules: spread (``[compute]
packing_host_numa_cells_allocation_strategy = False``, Nova's default and spec/E D1's
anchor setting), allocation ratios 4.0 (CPU) and 1.0 (RAM) (Nova >= 2023.1
``initial_*`` defaults), D9/D10 fixed on both sides (Nova 34 has both fixes).

* Nova: ``numa_fit_instance_to_host(host, guest, None, limits)`` on a fresh copy of
  the guest per call (the call fills the guest in; Nova's filter clones the request
  spec first; the copy is not timed). A call that runs past 60 s is stopped and
  counted as 60 s (printed ``>60000 ms``).
* nova-tx: the scheduler's steady state: the hosts' ``HostArrays`` are built once
  (timed separately), then ``kernel.fit_hosts`` answers: for a single host with the
  fitted guest (``fit_hosts(request, arrays, hosts=(), want_details_for=(row,))
  .fitted[row]``, exactly the scheduler's ``HostState.consume`` call, which takes the
  kernel's one-row path), for the batch with fits for every row. The ``in batch``
  column is the time per host of one ``fit_hosts`` call over 1,000 rows of that same
  host (what the host costs inside the NUMATopologyFilter's call). The ``fit_host``
  column is the one-host form with the reference's signature (the compute claim's),
  which keeps the one-row arrays of a host topology object between calls.

Single cases: median time per call, repeated for about ``--min-time`` seconds. Batch:
one dedicated 4-vCPU 2-node guest against 1,000 / 10,000 / 100,000 varied, partly
used hosts (each size the first hosts of the same list); Nova in a loop, one call per
host; nova-tx one ``fit_hosts`` call, median of several. The kernel is
single-threaded (and numpy's thread pools are held to one thread).

Thread siblings are numbered consecutively (CPUs 2i and 2i + 1): with Linux-style
numbering Nova orders the CPUs of a core by CPython's set layout, which spec/E §2.8
replaces by ascending order, and the answers differ in that order only
(docs/performance.md, numa_fit).

Every answer is compared: fit or no fit, and for fits the host cell, page size,
pinning and emulator pCPU of every guest cell. A mismatch is printed and the exit
status is 1. The last line is ``worst_case_ms=X batch10k_ms=Y min_ratio=Z
batch_ratio=W``: our slowest single case, our 10,000-host batch, the smallest
single-case ratio Nova/ours, and Nova's 10,000-host loop / ours.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import numpy as np  # noqa: E402
from numa_fit_nova_worker import LIMIT_S, expand_host  # noqa: E402

from nova_tx.objects import numa as obj  # noqa: E402
from nova_tx.scheduler import kernel  # noqa: E402
from nova_tx.scheduler.host_arrays import HostArrays  # noqa: E402

NOVA_VERSION = "34.0.0"
NOVA_VENV = os.path.join(HERE, ".venv-nova")
WORKER = os.path.join(HERE, "numa_fit_nova_worker.py")
CPU_RATIO, RAM_RATIO = 4.0, 1.0
SMALL = 4
COPIES = 1000


# -- Nova's virtualenv -------------------------------------------------------------------

def nova_python() -> str:
    """The nova virtualenv's interpreter, creating the virtualenv on first use."""
    python = os.path.join(NOVA_VENV, "bin", "python")
    check = [python, "-c", "import nova.version as v; print(v.version_info.release_string())"]
    if os.path.exists(python):
        got = subprocess.run(check, capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == NOVA_VERSION:
            return python
    print(f"installing nova=={NOVA_VERSION} into {NOVA_VENV} (once) ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", NOVA_VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", f"nova=={NOVA_VERSION}"],
                   check=True)
    subprocess.run(check, check=True, capture_output=True)
    return python


# -- hosts and guests --------------------------------------------------------------------

def pages(memory: int, used: int, huge: list[tuple[int, int, int]] = (),
          reserved_small: int = 0) -> list[list[int]]:
    """Page pools of a cell: 4 KiB pages for what the huge pages leave, then huge ones."""
    huge_mib = sum(size * total // 1024 for size, total, _ in huge)
    small_total = (memory - huge_mib) * 256
    small_used = min(small_total - reserved_small, max(0, used - sum(
        size * u // 1024 for size, _, u in huge)) * 256)
    return ([[SMALL, small_total, small_used, reserved_small]]
            + [[size, total, u, 0] for size, total, u in huge])


def cell(id: int, first: int, cores: int, threads: int, shared: int,
         memory: int, memory_usage: int = 0, pinned: set[int] = frozenset(),
         cpu_usage: int = 0, huge: list[tuple[int, int, int]] = (),
         socket: int | None = 0) -> dict[str, Any]:
    return {"id": id, "socket": socket, "cores": [first, cores], "threads": threads,
            "shared": shared, "pinned": format(sum(1 << c for c in pinned), "x"),
            "memory": memory, "memory_usage": memory_usage, "cpu_usage": cpu_usage,
            "pages": pages(memory, memory_usage, list(huge))}


def guest(cells: int, vcpus: int, memory: int, policy: str | None = "dedicated",
          thread: str | None = None, pagesize: int | None = None,
          emulator: str | None = None) -> dict[str, Any]:
    out = []
    for i in range(cells):
        cpus = list(range(i * vcpus, (i + 1) * vcpus))
        pinned = policy in obj.PINNED_CPU_POLICIES
        out.append({"id": i, "cpuset": [] if pinned else cpus, "pcpuset": cpus if pinned else [],
                    "memory": memory, "pagesize": pagesize, "cpu_policy": policy,
                    "cpu_thread_policy": thread, "cpu_pinning": None,
                    "cpuset_reserved": None})
    return {"cells": out, "emulator_threads_policy": emulator}


def smt_2x16(pinned0: set[int] = frozenset(), pinned1: set[int] = frozenset(),
             usage: tuple[int, int] = (0, 0), cpu_usage: tuple[int, int] = (0, 0),
             shared: int = -1) -> dict[str, Any]:
    """2 cells x 16 cores x 2 threads (CPUs 2i and 2i + 1 are siblings), 64 GiB a cell."""
    return {"cells": [
        cell(0, 0, 16, 2, shared, 65536, usage[0], pinned0, cpu_usage[0], socket=0),
        cell(1, 16, 16, 2, shared, 65536, usage[1], pinned1, cpu_usage[1], socket=1)]}


def flat(n: int, free: list[int], usage: list[int], memory: int = 16384) -> dict[str, Any]:
    """``n`` cells x 8 dedicated CPUs, no SMT; cell ``j`` has ``free[j]`` unpinned CPUs."""
    return {"cells": [
        cell(j, 8 * j, 8, 1, 0, memory, usage[j],
             set(range(8 * j + free[j], 8 * j + 8)), socket=j // max(1, n // 2))
        for j in range(n)]}


def single_cases() -> list[dict[str, Any]]:
    cases = []

    def add(name: str, host: dict[str, Any], g: dict[str, Any]) -> None:
        cases.append({"name": name, "host": host, "guest": g})

    add("shared 1-node guest, 2x16 SMT host",
        smt_2x16(usage=(20480, 12288), cpu_usage=(40, 24)),
        guest(1, 4, 4096, policy=None))
    # Partly pinned: cell 0 has one thread of cores 0-9 pinned (22 free pCPUs, six whole
    # cores), cell 1 cores 16-21 pinned whole (20 free, ten whole cores). Legacy layout
    # (cpuset == pcpuset), where 'isolate' is allowed on an SMT host.
    part0 = set(range(0, 20, 2))
    part1 = set(range(32, 44))
    for thread in ("prefer", "isolate", "require"):
        add(f"dedicated 8 vCPU {thread}, empty 2x16 SMT", smt_2x16(),
            guest(1, 8, 8192, thread=thread))
        add(f"dedicated 8 vCPU {thread}, partly pinned 2x16 SMT",
            smt_2x16(part0, part1, usage=(24576, 16384)),
            guest(1, 8, 8192, thread=thread))
    g4 = guest(4, 4, 4096)
    add("4-node dedicated, 8x8 host, fits",
        flat(8, [6, 8, 3, 5, 8, 2, 7, 4], [8192, 2048, 4096, 12288, 1024, 0, 6144, 9216]), g4)
    add("4-node dedicated, 8x8 host, does not fit",
        flat(8, [3, 8, 3, 5, 2, 2, 8, 1], [0, 2048, 0, 0, 0, 0, 4096, 0]), g4)
    # The four cells with the most free pCPUs (sorted first) lack memory.
    add("4-node dedicated, 8x8 host, first cells short of memory",
        flat(8, [8, 7, 8, 7, 8, 7, 8, 7], [14336, 0, 14336, 0, 14336, 0, 14336, 0]), g4)
    g8 = guest(8, 4, 4096)
    add("8-node dedicated, 16x8 host, empty", flat(16, [8] * 16, [0] * 16), g8)
    # Cell 5 has every pCPU free (so it sorts first) but 1 GiB of memory.
    add("8-node dedicated, 16x8 host, starved first cell",
        flat(16, [7] * 5 + [8] + [7] * 10, [0] * 5 + [15360] + [0] * 10), g8)
    add("8-node dedicated, 16x8 host, does not fit",
        flat(16, [3, 8, 3, 5, 3, 4, 3, 6, 3, 8, 3, 3, 7, 3, 3, 4], [0] * 16), g8)
    # Cell 0 (sorted first) has 2 free 1 GiB pages and no free 2 MiB page, cell 1 has
    # 12 free 1 GiB pages: small and any stay on cell 0 (4 KiB), large goes to cell 1.
    huge_host = {"cells": [
        cell(0, 0, 16, 2, 0, 65536, 20000, huge=[(2048, 4096, 4096), (1048576, 16, 14)]),
        cell(1, 16, 16, 2, 0, 65536, 30000, {32, 34, 36, 38},
             huge=[(2048, 4096, 1000), (1048576, 16, 4)], socket=1)]}
    for name, size in (("small", obj.MEMPAGES_SMALL), ("large", obj.MEMPAGES_LARGE),
                       ("any", obj.MEMPAGES_ANY)):
        add(f"huge pages {name}, 4 vCPU dedicated", huge_host,
            guest(1, 4, 4096, pagesize=size))
    return cases


def varied_hosts(count: int, seed: int) -> list[dict[str, Any]]:
    """Hosts of 1-8 cells, 4-32 cores a cell, with or without SMT, dedicated, split or
    legacy CPU layouts, some huge pages, partly used (pinned CPUs, memory)."""
    rng = random.Random(seed)
    hosts = []
    for _ in range(count):
        n = rng.choice((1, 2, 2, 2, 4, 4, 8))
        cores = rng.choice((4, 8, 12, 16, 24, 32))
        threads = rng.choice((1, 2, 2))
        layout = rng.choice(("dedicated", "dedicated", "split", "legacy"))
        shared = {"dedicated": 0, "split": cores // 4, "legacy": -1}[layout]
        per_gib = rng.choice((2048, 4096))
        u = rng.random()
        cells = []
        for j in range(n):
            first = j * cores
            memory = cores * threads * per_gib
            pinned = set()
            for core in range(first + max(shared, 0), first + cores):
                r = rng.random()
                if r < 0.7 * u:
                    pinned.update(core * threads + k for k in range(threads))
                elif r < u:
                    pinned.add(core * threads)
            usage = int(memory * min(0.98, max(0.0, u + rng.uniform(-0.2, 0.2))))
            huge = []
            if rng.random() < 0.3:
                size = rng.choice((2048, 1048576))
                total = memory // 4 // (size // 1024) or 1
                huge.append((size, total, rng.randint(0, total)))
            c = cell(j, first, cores, threads, shared, memory, usage, pinned,
                     cpu_usage=rng.randint(0, 2 * cores * threads), huge=huge,
                     socket=j * 2 // n if n > 1 else 0)
            cells.append(c)
        hosts.append({"cells": cells})
    return hosts


# -- our side ----------------------------------------------------------------------------

def topology(compact: dict[str, Any]) -> obj.NUMATopology:
    return obj.NUMATopology.from_dict(expand_host(compact))


def answer(fitted: obj.InstanceNUMATopology | None) -> list | None:
    """What the Nova worker writes for its answer, from a nova-tx result."""
    if fitted is None:
        return None
    return [[c.id, c.pagesize,
             sorted([v, p] for v, p in c.cpu_pinning.items()) if c.cpu_pinning else None,
             sorted(c.cpuset_reserved) if c.cpuset_reserved else None]
            for c in fitted.cells]


def median_time(fn, min_time: float, min_reps: int = 5, max_reps: int = 5000) -> float:
    """Median seconds per call of ``fn`` over about ``min_time`` seconds."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    reps = max(min_reps, min(max_reps, int(min_time / once)))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_ours(cases: list[dict[str, Any]], hosts: list[dict[str, Any]], sizes: list[int],
             batch_guest: dict[str, Any], min_time: float) -> dict[str, Any]:
    out: dict[str, Any] = {"cases": {}}
    for case in cases:
        host = topology(case["host"])
        g = obj.InstanceNUMATopology.from_dict(case["guest"])
        arrays = HostArrays.from_topologies([host], cpu_allocation_ratio=CPU_RATIO,
                                            ram_allocation_ratio=RAM_RATIO)
        request = kernel.FitRequest(g, pack=False, host_limits=True)
        limits = obj.NUMATopologyLimits(cpu_allocation_ratio=CPU_RATIO,
                                        ram_allocation_ratio=RAM_RATIO)

        def one(request=request, arrays=arrays):
            return kernel.fit_hosts(request, arrays, hosts=(), want_details_for=(0,)).fitted[0]

        result = one()
        # The general path's answer for the same row (hosts given): must be the same.
        general = kernel.fit_hosts(request, arrays, hosts=[0], want_details_for=[0]).fitted[0]
        via_fit_host = kernel.fit_host(host, g, limits, pack=False)
        # The same host as 1,000 rows: what the host costs inside a filter call.
        many = HostArrays.from_topologies([host] * COPIES, cpu_allocation_ratio=CPU_RATIO,
                                          ram_allocation_ratio=RAM_RATIO)
        many_fits = kernel.fit_hosts(request, many).fits
        out["cases"][case["name"]] = {
            "answer": answer(result),
            "fit_host_same": (answer(via_fit_host) == answer(result) == answer(general)
                              and bool(many_fits.all() if result else not many_fits.any())),
            "in_batch_ms": median_time(lambda request=request, many=many: kernel.fit_hosts(
                request, many), min_time) * 1000 / COPIES,
            "ms": median_time(one, min_time) * 1000,
            "fit_host_ms": median_time(
                lambda host=host, g=g, limits=limits: kernel.fit_host(host, g, limits),
                min_time) * 1000,
        }

    start = time.perf_counter()
    tops = [topology(h) for h in hosts]
    out["objects_s"] = time.perf_counter() - start
    start = time.perf_counter()
    arrays = HostArrays.from_topologies(tops, cpu_allocation_ratio=CPU_RATIO,
                                        ram_allocation_ratio=RAM_RATIO)
    out["build_s"] = time.perf_counter() - start
    request = kernel.FitRequest(obj.InstanceNUMATopology.from_dict(batch_guest),
                                pack=False, host_limits=True)
    out["batch"] = {}
    for size in sizes:
        rows = np.arange(size, dtype=np.int64)
        times, cpu = [], []
        reps = max(5, min(50, int(2e5 // size)))
        kernel.fit_hosts(request, arrays, hosts=rows)
        for _ in range(reps):
            start, start_cpu = time.perf_counter(), time.process_time()
            kernel.fit_hosts(request, arrays, hosts=rows)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        out["batch"][size] = {"ms": statistics.median(times) * 1000,
                              "cpu_ms": statistics.median(cpu) * 1000, "reps": reps}
    # The answers, untimed: fits for every row and the fitted guest of every row.
    rows = np.arange(max(sizes), dtype=np.int64)
    result = kernel.fit_hosts(request, arrays, hosts=rows, want_details_for=rows)
    out["batch_fits"] = result.fits.tolist()
    out["batch_answers"] = [answer(result.fitted[r]) for r in range(max(sizes))]
    return out


# -- Nova's side -------------------------------------------------------------------------

def run_nova(python: str, cases: list[dict[str, Any]], hosts: list[dict[str, Any]],
             sizes: list[int], batch_guest: dict[str, Any], min_time: float
             ) -> dict[str, Any]:
    job = {"limits": [CPU_RATIO, RAM_RATIO], "min_time": min_time, "cases": cases,
           "batch": {"guest": batch_guest, "hosts": hosts, "marks": sizes,
                     "chunk": min(1000, min(sizes))}}
    out: dict[str, Any] = {"cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "job.json")
        with open(path, "w") as f:
            json.dump(job, f)
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        with open(os.path.join(tmp, "stderr"), "w+") as err:
            proc = subprocess.Popen([python, WORKER, path], stdout=subprocess.PIPE,
                                    stderr=err, text=True, env=env)
            for line in proc.stdout:
                record = json.loads(line)
                if "version" in record:
                    out["version"], out["pack"] = record["version"], record["pack"]
                elif record.get("batch"):
                    out["batch"] = {int(k): v for k, v in record["ms"].items()}
                    out["batch_answers"] = record["answers"]
                else:
                    out["cases"][record["name"]] = record
                    shown = (f">{LIMIT_S * 1000:.0f} ms" if record["timeout"]
                             else f"{record['ms']:.3f} ms")
                    print(f"  nova: {record['name']}: {shown}", flush=True)
            if proc.wait() != 0:
                err.seek(0)
                sys.exit(f"the nova worker failed:\n{err.read()}")
    return out


# -- report ------------------------------------------------------------------------------

def describe(ans: list | None) -> str:
    if ans is None:
        return "no fit"
    cells = ",".join(str(c[0]) for c in ans)
    sizes = {c[1] for c in ans if c[1]}
    return f"cells {cells}" + (f" {'/'.join(str(s) for s in sorted(sizes))} KiB" if sizes else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="batch sizes (hosts), comma-separated")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--min-time", type=float, default=0.3,
                        help="seconds of repetitions per single case and side")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    python = nova_python()

    cases = single_cases()
    hosts = varied_hosts(max(sizes), args.seed)
    batch_guest = guest(2, 2, 2048)
    print(f"nova-tx: {len(cases)} single cases, {max(sizes)} hosts ...", flush=True)
    ours = run_ours(cases, hosts, sizes, batch_guest, args.min_time)
    print(f"nova {NOVA_VERSION}: the same, in {python} ...", flush=True)
    nova = run_nova(python, cases, hosts, sizes, batch_guest, args.min_time)

    mismatches = []
    print()
    print(f"upstream nova {nova['version']} (packing={nova['pack']}, limits "
          f"{CPU_RATIO}/{RAM_RATIO}) against nova-tx kernel.fit_hosts, median per call")
    print("%-56s %12s %10s %8s %10s %8s %10s  %s" % (
        "case", "nova", "nova-tx", "ratio", "in batch", "ratio", "fit_host", "answer"))
    ratios, worst = [], 0.0
    for case in cases:
        name = case["name"]
        o, n = ours["cases"][name], nova["cases"][name]
        worst = max(worst, o["ms"])
        ratio = n["ms"] / o["ms"]
        ratios.append(ratio)
        if n["timeout"]:
            nova_txt, ratio_txt, same = f">{LIMIT_S * 1000:.0f} ms", f">{ratio:.0f}x", True
        else:
            nova_txt, ratio_txt = f"{n['ms']:.3f} ms", f"{ratio:.0f}x"
            same = n["answer"] == o["answer"]
        if not same:
            mismatches.append((name, n["answer"], o["answer"]))
        if not o["fit_host_same"]:
            mismatches.append((name + " (fit_host, general path or 1,000 rows)", o["answer"],
                               "differs"))
        batch_txt = ("%s%.0fx" % (">" if n["timeout"] else "", n["ms"] / o["in_batch_ms"]))
        print("%-56s %12s %7.1f us %8s %7.2f us %8s %7.1f us  %s%s" % (
            name, nova_txt, o["ms"] * 1000, ratio_txt, o["in_batch_ms"] * 1000, batch_txt,
            o["fit_host_ms"] * 1000,
            describe(o["answer"]), "" if same else "  MISMATCH"))

    print()
    print(f"batch: dedicated 4-vCPU 2-node guest; nova-tx objects {ours['objects_s']:.1f} s, "
          f"HostArrays build {ours['build_s']:.1f} s for {max(sizes)} hosts (untimed below)")
    print("%-14s %12s %10s %12s %8s %8s" % ("hosts", "nova loop", "nova-tx", "nova-tx CPU",
                                           "ratio", "fit"))
    batch_ratio = None
    for size in sizes:
        b, nb = ours["batch"][size], nova["batch"][size]
        fits = sum(ours["batch_fits"][:size])
        print("%-14s %9.0f ms %7.2f ms %9.2f ms %7.0fx %8d" % (
            f"{size:,}", nb, b["ms"], b["cpu_ms"], nb / b["ms"], fits))
        if size == 10000:
            batch_ratio = nb / b["ms"]
    for row, (mine, theirs) in enumerate(zip(ours["batch_answers"], nova["batch_answers"],
                                             strict=True)):
        if mine != theirs or ours["batch_fits"][row] != (theirs is not None):
            mismatches.append((f"batch host {row}", theirs, mine))

    if mismatches:
        print()
        print(f"{len(mismatches)} MISMATCH(ES) (nova, then nova-tx):")
        for name, theirs, mine in mismatches[:20]:
            print(f"  {name}:\n    nova    {theirs}\n    nova-tx {mine}")
    batch10k = ours["batch"].get(10000, {}).get("ms", float("nan"))
    print()
    print(f"worst_case_ms={worst:.3f} batch10k_ms={batch10k:.2f} min_ratio={min(ratios):.0f} "
          f"batch_ratio={batch_ratio if batch_ratio is None else round(batch_ratio)}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()

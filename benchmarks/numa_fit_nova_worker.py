"""Upstream Nova's side of ``benchmarks/numa_fit.py``, and the host format both sides read.

This file has two roles:

* ``expand_host(compact)`` turns the benchmark's compact host description into the
  full host dict (nova-tx's ``NUMATopology.to_dict()`` form: CPU lists, sibling sets,
  pinned CPUs, pages). It is plain Python so that both processes build their objects
  from the very same dict: nova-tx's ``NUMATopology.from_dict`` in the benchmark, Nova's
  ``objects.NUMATopology`` here.
* Run as a script by the virtualenv that holds PyPI ``nova``
  (``benchmarks/.venv-nova/bin/python numa_fit_nova_worker.py JOB.json``), it calls
  ``nova.virt.hardware.numa_fit_instance_to_host`` on every case of the job and
  writes one JSON line per case to stdout (times and answers), then one line for the
  batch. A single call that runs past the limit (60 s) is stopped by ``SIGALRM`` and
  reported as timed out.

Compact host: ``{"cells": [cell, ...]}``, a cell being ``{"id", "socket", "cores":
[first, count], "threads", "shared", "pinned", "memory", "memory_usage", "cpu_usage",
"pages"}``. Core ``i`` has the CPUs ``i * threads + k`` for ``k < threads`` (thread
siblings numbered consecutively, see docs/performance.md for why). The first
``shared`` cores of the cell are shared CPUs (``cpuset``) and the others dedicated
(``pcpuset``); ``shared == -1`` is the legacy ``vcpu_pin_set`` layout (``cpuset ==
pcpuset``, every CPU). ``pinned`` is a hex bit mask of pinned CPUs; ``pages`` lists
``[size_kb, total, used, reserved]``.
"""
from __future__ import annotations

import gc
import json
import signal
import statistics
import sys
import time
from typing import Any

LIMIT_S = 60.0


def _mask_to_cpus(mask: str) -> list[int]:
    value = int(mask, 16) if mask else 0
    cpus = []
    bit = 0
    while value:
        if value & 1:
            cpus.append(bit)
        value >>= 1
        bit += 1
    return cpus


def expand_host(compact: dict[str, Any]) -> dict[str, Any]:
    """The full host dict (nova-tx's ``NUMATopology.to_dict()`` form) of a compact one."""
    cells = []
    for c in compact["cells"]:
        first, count = c["cores"]
        threads, shared = c["threads"], c["shared"]
        siblings = [[core * threads + k for k in range(threads)]
                    for core in range(first, first + count)]
        cpus = sorted(cpu for sib in siblings for cpu in sib)
        if shared < 0:
            cpuset = pcpuset = cpus
        else:
            cpuset = sorted(cpu for sib in siblings[:shared] for cpu in sib)
            pcpuset = sorted(cpu for sib in siblings[shared:] for cpu in sib)
        cells.append({
            "id": c["id"],
            "socket": c.get("socket"),
            "cpuset": cpuset,
            "pcpuset": pcpuset,
            "siblings": siblings,
            "memory": c["memory"],
            "cpu_usage": c.get("cpu_usage", 0),
            "memory_usage": c.get("memory_usage", 0),
            "pinned_cpus": _mask_to_cpus(c.get("pinned", "")),
            "mempages": [{"size_kb": p[0], "total": p[1], "used": p[2], "reserved": p[3]}
                         for p in c.get("pages", ())],
            "network_metadata": {"physnets": [], "tunneled": False},
        })
    return {"cells": cells}


# -- Nova's side (only runs in the nova virtualenv) --------------------------------------

class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def _nova():
    import warnings
    warnings.simplefilter("ignore")
    from nova import objects
    objects.register_all()
    from nova.virt import hardware
    return objects, hardware


def _host(objects: Any, full: dict[str, Any]) -> Any:
    cells = []
    for c in full["cells"]:
        cells.append(objects.NUMACell(
            id=c["id"], socket=c["socket"], cpuset=set(c["cpuset"]),
            pcpuset=set(c["pcpuset"]), memory=c["memory"], cpu_usage=c["cpu_usage"],
            memory_usage=c["memory_usage"], pinned_cpus=set(c["pinned_cpus"]),
            siblings=[set(s) for s in c["siblings"]],
            mempages=[objects.NUMAPagesTopology(size_kb=p["size_kb"], total=p["total"],
                                                used=p["used"], reserved=p["reserved"])
                      for p in c["mempages"]],
            network_metadata=objects.NetworkMetadata(physnets=set(), tunneled=False)))
    return objects.NUMATopology(cells=cells)


def _guest(objects: Any, data: dict[str, Any]) -> Any:
    return objects.InstanceNUMATopology(
        cells=[objects.InstanceNUMACell(
            id=c["id"], cpuset=set(c["cpuset"]), pcpuset=set(c["pcpuset"]),
            memory=c["memory"], pagesize=c["pagesize"], cpu_policy=c["cpu_policy"],
            cpu_thread_policy=c["cpu_thread_policy"], cpu_pinning_raw=None,
            cpuset_reserved=None) for c in data["cells"]],
        emulator_threads_policy=data.get("emulator_threads_policy"))


def _answer(fitted: Any) -> list | None:
    """Per guest cell: [host cell id, page size, sorted [vCPU, pCPU] pairs, reserved]."""
    if fitted is None:
        return None
    cells = []
    for cell in fitted.cells:
        pinning = cell.cpu_pinning_raw if "cpu_pinning_raw" in cell else None
        reserved = cell.cpuset_reserved if "cpuset_reserved" in cell else None
        cells.append([cell.id, cell.pagesize,
                      sorted([int(v), p] for v, p in pinning.items()) if pinning else None,
                      sorted(reserved) if reserved else None])
    return cells


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    objects, hardware = _nova()
    # The job (every host of the batch as JSON) stays out of the collector's way: a
    # full collection inside a timed loop would walk it and be charged to Nova.
    gc.collect()
    gc.freeze()
    import nova.version
    cpu_ratio, ram_ratio = job["limits"]
    limits = objects.NUMATopologyLimits(cpu_allocation_ratio=cpu_ratio,
                                        ram_allocation_ratio=ram_ratio)
    fit = hardware.numa_fit_instance_to_host
    signal.signal(signal.SIGALRM, _alarm)
    _emit({"version": nova.version.version_info.release_string(),
           "pack": bool(hardware.CONF.compute.packing_host_numa_cells_allocation_strategy)})

    for case in job["cases"]:
        host = _host(objects, expand_host(case["host"]))
        guest = _guest(objects, case["guest"])
        # One call under the limit: the answer, and whether it is worth repeating.
        signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
        start = time.perf_counter()
        try:
            fitted = fit(host, guest, None, limits)
        except _Timeout:
            _emit({"name": case["name"], "timeout": True, "ms": LIMIT_S * 1000})
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        first = time.perf_counter() - start
        answer = _answer(fitted)
        times = [first]
        if first < 1.0:
            reps = max(5, min(2000, int(job["min_time"] / max(first, 1e-6))))
            times = []
            for _ in range(reps):
                guest = _guest(objects, case["guest"])   # the call fills in the guest
                start = time.perf_counter()
                fit(host, guest, None, limits)
                times.append(time.perf_counter() - start)
        _emit({"name": case["name"], "timeout": False, "answer": answer,
               "ms": statistics.median(times) * 1000, "reps": len(times)})

    batch = job.get("batch")
    if batch:
        # Nova's scheduler calls the fit host by host (the NUMATopologyFilter clones the
        # request spec first: the guest is a fresh copy for every host, made outside
        # the timed loop here). Objects are built chunk by chunk, untimed; the loop
        # over each chunk is timed as one.
        answers = []
        elapsed = 0.0
        marks = {}
        chunk = batch["chunk"]
        hosts = batch["hosts"]
        for lo in range(0, len(hosts), chunk):
            part = [_host(objects, expand_host(h)) for h in hosts[lo:lo + chunk]]
            guests = [_guest(objects, batch["guest"]) for _ in part]
            gc.collect()
            results = [None] * len(part)
            start = time.perf_counter()
            for i in range(len(part)):
                results[i] = fit(part[i], guests[i], None, limits)
            elapsed += time.perf_counter() - start
            answers.extend(_answer(r) for r in results)
            if lo + len(part) in batch["marks"]:
                marks[lo + len(part)] = elapsed * 1000
        _emit({"batch": True, "ms": marks, "answers": answers})


if __name__ == "__main__":
    main()

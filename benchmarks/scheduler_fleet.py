"""The scheduler benchmarks' cloud: compute nodes, aggregates and requests as plain JSON.

Plain Python on purpose (no numpy, no nova_tx): the same module is imported by
``benchmarks/scheduler.py`` and ``benchmarks/scheduler_filters.py`` (nova-tx's
virtualenv) and by ``benchmarks/scheduler_nova_worker.py`` (upstream Nova's), and both
sides build their host states from the very same dicts, which the benchmark hands to
the worker as JSON.

A host (``fleet()["hosts"][i]``):

* ``name`` (host and node name), ``uuid`` (compute node uuid, also its resource
  provider's), ``topology``: the compact NUMA topology of
  ``numa_fit_nova_worker.expand_host`` (1, 2 or 4 cells of 4-16 cores, with or without
  SMT, dedicated, split or legacy ``vcpu_pin_set`` CPU layout, some CPUs pinned, memory
  used, some 2 MiB or 1 GiB pages);
* the compute node's numbers: ``vcpus`` (every CPU of the topology), ``vcpus_used``,
  ``memory_mb`` / ``memory_mb_used`` (the cells' sums), ``local_gb`` /
  ``local_gb_used``, the three allocation ratios (Nova >= 2023.1's initial ones, 4.0 /
  1.0 / 1.0, or the older 16.0 / 1.5 / 1.0), hypervisor type and version,
  ``supported_instances`` (a few hosts are aarch64), ``host_ip``, ``stats``
  (``num_instances``, ``io_workload``, ``failed_builds``), ``pci_pools`` (a fifth of
  the hosts: one pool of 1-8 devices on NUMA node 0 or 1);
* ``service``: ``disabled`` (2 %), and ``seen_ago`` seconds since the last heartbeat
  (2 % an hour: down).

Aggregates: every 7th host doubles the RAM weigher's multiplier, every 11th is in
``az1`` and reverses the CPU weigher's, every 13th sets ``io_ops_weight_multiplier``
to 2. ``now`` is the epoch second both sides take as the current time (heartbeats and
``updated_at`` are relative to it), so that the ComputeFilter answers the same however
long the run takes.
"""
from __future__ import annotations

import random
from typing import Any

#: The flavor and image of each request; ``extra_specs`` and image properties are
#: Nova's keys. "pinned": dedicated CPUs over two guest NUMA nodes; "plain": a shared-
#: CPU guest without a NUMA topology.
REQUESTS: dict[str, dict[str, Any]] = {
    "pinned": {"flavor": {"flavorid": "pinned", "name": "pinned.2node", "vcpus": 4,
                          "memory_mb": 4096, "root_gb": 20, "ephemeral_gb": 0, "swap": 0,
                          "extra_specs": {"hw:cpu_policy": "dedicated",
                                          "hw:numa_nodes": "2"}},
               "image": {"hw_architecture": "x86_64"}},
    "plain": {"flavor": {"flavorid": "plain", "name": "plain", "vcpus": 2,
                         "memory_mb": 2048, "root_gb": 20, "ephemeral_gb": 0, "swap": 0,
                         "extra_specs": {}},
              "image": {"hw_architecture": "x86_64"}},
}
IMAGE_ID = "3e5d2a7c-1f4b-4c8e-9a6d-0b2c4e6f8a10"
PROJECT_ID = "5a1f9e0c6b3d4c2e8f7a1d2c3b4a5e60"
USER_ID = "9c8b7a6d5e4f4a3b8c2d1e0f9a8b7c6d"
CELL_UUID = "b7c8d9e0-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
NOW = 1_800_000_000.0

_MEMPAGE_SMALL = 4


def _pages(memory: int, used: int, huge: tuple[int, int, int] | None) -> list[list[int]]:
    """Page pools of a cell: 4 KiB pages for what the huge pages leave, then huge ones."""
    huge_mib = huge[0] * huge[1] // 1024 if huge else 0
    huge_used_mib = huge[0] * huge[2] // 1024 if huge else 0
    small_total = (memory - huge_mib) * 256
    small_used = min(small_total, max(0, used - huge_used_mib) * 256)
    pools = [[_MEMPAGE_SMALL, small_total, small_used, 0]]
    if huge:
        pools.append([huge[0], huge[1], huge[2], 0])
    return pools


def _topology(rng: random.Random) -> dict[str, Any]:
    """A compact host topology (``numa_fit_nova_worker.expand_host``'s format)."""
    count = rng.choice((1, 2, 2, 2, 4))
    cores = rng.choice((4, 8, 12, 16))
    threads = rng.choice((1, 2))
    layout = rng.choice(("dedicated", "dedicated", "split", "legacy"))
    shared = {"dedicated": 0, "split": cores // 4, "legacy": -1}[layout]
    per_cpu = rng.choice((2048, 4096))
    u = rng.random()
    cells = []
    for j in range(count):
        first = j * cores
        memory = cores * threads * per_cpu
        pinned = 0
        for core in range(first + max(shared, 0), first + cores):
            r = rng.random()
            if r < 0.7 * u:
                for k in range(threads):
                    pinned |= 1 << (core * threads + k)
            elif r < u:
                pinned |= 1 << (core * threads)
        usage = int(memory * min(0.98, max(0.0, u + rng.uniform(-0.2, 0.2))))
        huge = None
        if rng.random() < 0.2:
            size = rng.choice((2048, 1048576))
            total = memory // 4 // (size // 1024) or 1
            huge = (size, total, rng.randint(0, total))
        cells.append({"id": j, "socket": j * 2 // count if count > 1 else 0,
                      "cores": [first, cores], "threads": threads, "shared": shared,
                      "pinned": format(pinned, "x"), "memory": memory,
                      "memory_usage": usage,
                      "cpu_usage": rng.randint(0, 2 * cores * threads),
                      "pages": _pages(memory, usage, huge)})
    return {"cells": cells, "layout": layout}


def _host(i: int, rng: random.Random) -> dict[str, Any]:
    topology = _topology(rng)
    cells = topology["cells"]
    vcpus = sum(c["cores"][1] * c["threads"] for c in cells)
    memory = sum(c["memory"] for c in cells)
    local_gb = rng.choice((500, 1000, 2000))
    ratios = rng.choice(((4.0, 1.0, 1.0), (4.0, 1.0, 1.0), (16.0, 1.5, 1.0)))
    arch = "aarch64" if rng.random() < 0.03 else "x86_64"
    pools = None
    if rng.random() < 0.2:
        pools = [{"count": rng.randint(1, 8), "numa_node": rng.randint(0, 1),
                  "vendor_id": "8086", "product_id": "154d"}]
    r = rng.random()
    return {
        "name": f"host{i:05d}",
        "uuid": f"00000000-0000-4000-8000-{i:012d}",
        "topology": topology,
        "vcpus": vcpus,
        "vcpus_used": rng.randint(0, vcpus),
        "memory_mb": memory,
        "memory_mb_used": sum(c["memory_usage"] for c in cells),
        "local_gb": local_gb,
        "local_gb_used": rng.randint(0, local_gb * 3 // 4),
        "cpu_allocation_ratio": ratios[0],
        "ram_allocation_ratio": ratios[1],
        "disk_allocation_ratio": ratios[2],
        "hypervisor_type": "QEMU",
        "hypervisor_version": rng.choice((6002000, 8002000)),
        "supported_instances": [[arch, "qemu", "hvm"]],
        "host_ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
        "stats": {"num_instances": str(rng.randint(0, 40)),
                  "io_workload": str(rng.randint(0, 7)),
                  "failed_builds": str(int(rng.random() < 0.01))},
        "pci_pools": pools,
        "service": {"disabled": r < 0.02, "seen_ago": 3600.0 if 0.02 <= r < 0.04 else 5.0},
        "updated_ago": 60.0,
    }


def fleet(count: int, seed: int = 42) -> dict[str, Any]:
    """``count`` hosts (the first ``n`` of a fleet are the same for any larger count)
    and the aggregates over them."""
    hosts = []
    for i in range(count):
        hosts.append(_host(i, random.Random(seed * 1_000_003 + i)))
    return {"now": NOW, "cell_uuid": CELL_UUID, "hosts": hosts,
            "aggregates": aggregates([h["name"] for h in hosts])}


def aggregates(names: list[str]) -> list[dict[str, Any]]:
    """The aggregates over ``names`` (membership by position, so a prefix of the fleet
    has the prefix of each aggregate)."""
    return [
        {"id": 1, "uuid": "a0000000-0000-4000-8000-000000000001", "name": "ram2",
         "hosts": names[0::7], "metadata": {"ram_weight_multiplier": "2.0"}},
        {"id": 2, "uuid": "a0000000-0000-4000-8000-000000000002", "name": "az1",
         "hosts": names[0::11],
         "metadata": {"availability_zone": "az1", "cpu_weight_multiplier": "-1.0"}},
        {"id": 3, "uuid": "a0000000-0000-4000-8000-000000000003", "name": "io2",
         "hosts": names[0::13], "metadata": {"io_ops_weight_multiplier": "2.0"}},
    ]


def prefix(cloud: dict[str, Any], count: int) -> dict[str, Any]:
    """The first ``count`` hosts of ``cloud`` and their aggregates."""
    hosts = cloud["hosts"][:count]
    return dict(cloud, hosts=hosts, aggregates=aggregates([h["name"] for h in hosts]))

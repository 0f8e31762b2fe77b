"""Filter and weigh one request over 10,000 hosts: the scheduler's per-request cost.

Run by hand: ``.venv/bin/python benchmarks/scheduler_filters.py [--hosts 10000]``.
Builds ``HostStates`` for varied, partly used hosts (2 or 4 NUMA cells, SMT or not,
some pinned CPUs, some PCI pools, aggregates with multipliers, services up), then
times, for a pinned 2-node guest (``hw:cpu_policy=dedicated``, ``hw:numa_nodes=2``):

- the default filters (Zed's ``enabled_filters``) plus PciPassthroughFilter and
  NUMATopologyFilter, through ``FilterHandler.get_filtered_hosts``;
- every weigher (``all_weighers``) and the host choice, through
  ``WeightHandler.get_sorted_hosts``;
- a claim (``consume_from_request``) on the chosen host.

Prints the best of several runs for each and the total (the target is under 50 ms).
"""
from __future__ import annotations

import argparse
import datetime
import random
import time

from oslo_config import cfg

from nova_tx.conf import compute, metrics, scheduler, servicegroup
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.numa import (
    Flavor as NumaFlavor,
)
from nova_tx.objects.numa import (
    NUMACell,
    NUMATopology,
    PciDevicePool,
)
from nova_tx.objects.request_spec import ImageMeta, RequestSpec
from nova_tx.objects.service import Service
from nova_tx.scheduler.filters import FilterHandler
from nova_tx.scheduler.host_state import Aggregate, ComputeNodeRecord, HostStates
from nova_tx.scheduler.weights import WeightHandler
from nova_tx.virt import hardware

NOW = time.time()


def topology(rng: random.Random) -> NUMATopology:
    cells = []
    count = rng.choice((2, 2, 4))
    per_cell = rng.choice((8, 16, 32))
    smt = rng.random() < 0.5
    for i in range(count):
        cpus = list(range(i * per_cell, (i + 1) * per_cell))
        siblings = ([set(cpus[j:j + 2]) for j in range(0, per_cell, 2)] if smt
                    else [{c} for c in cpus])
        pinned = set(rng.sample(cpus, rng.randint(0, per_cell // 2)))
        if smt:
            pinned = {c for s in siblings if s & pinned for c in s}
        cells.append(NUMACell(id=i, cpuset=set(), pcpuset=set(cpus), memory=65536,
                              memory_usage=rng.randint(0, 32768), pinned_cpus=pinned,
                              siblings=siblings, socket=i // 2))
    return NUMATopology(cells=cells)


def build(hosts: int) -> HostStates:
    rng = random.Random(42)
    states = HostStates(capacity=hosts, clock=lambda: NOW)
    seen = datetime.datetime.fromtimestamp(NOW - 5, datetime.UTC).replace(tzinfo=None)
    for i in range(hosts):
        pools = ([PciDevicePool(count=rng.randint(1, 8), numa_node=rng.randint(0, 1),
                                vendor_id="8086", product_id="154d")]
                 if rng.random() < 0.2 else None)
        states.update_from_compute_node(ComputeNodeRecord(
            uuid=f"uuid-{i}", host=f"host{i}", hypervisor_hostname=f"host{i}",
            memory_mb=262144, memory_mb_used=rng.randint(0, 200000), local_gb=2000,
            local_gb_used=rng.randint(0, 1500), vcpus=64, vcpus_used=rng.randint(0, 64),
            hypervisor_type="QEMU", hypervisor_version=6002000,
            supported_instances=[("x86_64", "qemu", "hvm")], host_ip=f"10.{i // 65536}."
            f"{i // 256 % 256}.{i % 256}", stats={"num_instances": rng.randint(0, 40),
                                                  "io_workload": rng.randint(0, 7),
                                                  "failed_builds": int(rng.random() < 0.01)},
            numa_topology=topology(rng), pci_pools=pools, cell_uuid="cell1",
            updated_at=NOW - 60), Service(id=i, uuid=None, host=f"host{i}",
                                          binary="nova-compute", topic="compute",
                                          last_seen_up=seen))
    states.update_aggregates([
        Aggregate(id=1, hosts=[f"host{i}" for i in range(0, hosts, 7)],
                  metadata={"ram_weight_multiplier": "2.0"}),
        Aggregate(id=2, hosts=[f"host{i}" for i in range(0, hosts, 11)],
                  metadata={"availability_zone": "az1", "cpu_weight_multiplier": "-1"})])
    return states


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
    args = parser.parse_args()
    conf = cfg.ConfigOpts()
    for module in (scheduler, metrics, compute, servicegroup):
        module.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override("enabled_filters", [
        "ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
        "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
        "PciPassthroughFilter", "NUMATopologyFilter"], group="filter_scheduler")
    start = time.perf_counter()
    states = build(args.hosts)
    print(f"built HostStates for {args.hosts} hosts in {time.perf_counter() - start:.1f} s")
    specs = {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"}
    guest = hardware.numa_get_constraints(NumaFlavor(vcpus=4, memory_mb=4096,
                                                     extra_specs=specs))
    request = RequestSpec(flavor=Flavor(flavorid="1", name="pinned", vcpus=4, memory_mb=4096,
                                        root_gb=20, extra_specs=specs),
                          image=ImageMeta(id="image", properties={}), numa_topology=guest,
                          project_id="p", instance_uuid="i")
    filters = FilterHandler(conf)
    weighers = WeightHandler(conf)
    rows = states.rows()
    passed = filters.get_filtered_hosts(states, rows, request)
    print(f"{len(passed)} of {len(rows)} hosts pass")
    t_filter = best(lambda: filters.get_filtered_hosts(states, rows, request))
    t_weigh = best(lambda: weighers.get_sorted_hosts(states, passed, request))
    chosen = int(weighers.get_sorted_hosts(states, passed, request)[0])

    def claim():
        copy = RequestSpec(flavor=request.flavor, image=request.image, numa_topology=guest)
        states.consume_from_request(chosen, copy)

    t_claim = best(claim, repeat=1)
    print(f"filters {t_filter:.1f} ms, weighers + choice {t_weigh:.1f} ms, "
          f"claim {t_claim:.2f} ms; total {t_filter + t_weigh + t_claim:.1f} ms")


if __name__ == "__main__":
    main()

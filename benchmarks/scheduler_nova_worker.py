"""Upstream Nova's side of ``benchmarks/scheduler.py``: filter and weigh with Nova's code.

Run by the virtualenv that holds PyPI ``nova`` (``benchmarks/.venv-nova/bin/python
scheduler_nova_worker.py JOB.json``); the job is the fleet of
``benchmarks/scheduler_fleet.py`` (as JSON), the sizes, the requests and the
repetitions. For each size (the first N hosts of the fleet) it builds one
``nova.scheduler.host_manager.HostState`` per host the way Nova's ``HostManager`` does:
``HostState.update(compute, service, aggregates, instances)`` with an
``objects.ComputeNode`` (its ``numa_topology`` the JSON of an ``objects.NUMATopology``
built from the same host dict as ours, its ``pci_device_pools`` a
``PciDevicePoolList``), the service record as a dict, the host's ``objects.Aggregate``
list and no instances. Each host gets one allocation candidate (its own provider for
the unsuffixed group), as ``SchedulerManager._schedule`` attaches placement's.

The timed part is ``SchedulerManager._get_sorted_hosts`` itself, on a stand-in for
the manager that holds only a ``HostManager`` (made without its database start-up)
with Nova's filter and weigher handlers: ``HostManager.get_filtered_hosts`` (the
``enabled_filters``: Zed's defaults plus NUMATopologyFilter) then
``get_weighed_hosts`` (the Zed weighers, ``weight_classes`` from the job) and the
random choice among the ``host_subset_size`` best. The allocation candidates, which
NUMATopologyFilter narrows in place, are reset before each run, untimed.

The job's JSON is frozen out of the garbage collector (``gc.freeze()``); Nova's
host states are not, as in a running scheduler. Nova's clock is frozen at the fleet's
``now`` (``oslo_utils.timeutils.set_time_override``), so the ComputeFilter's "is the
service up" reads the same heartbeat ages as ours. Per size and request it writes one JSON line: the median time
(ms) over the job's repetitions, the passing hosts (names), the chosen host and every
passing host's weight.
"""
from __future__ import annotations

import datetime
import gc
import json
import os
import statistics
import sys
import time
import types
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from numa_fit_nova_worker import _host as nova_topology  # noqa: E402
from numa_fit_nova_worker import expand_host  # noqa: E402


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _nova(job: dict[str, Any]):
    import warnings
    warnings.simplefilter("ignore")
    import nova.conf
    from nova import objects
    objects.register_all()
    conf = nova.conf.CONF
    conf([], default_config_files=[])
    conf.set_override("enabled_filters", job["enabled_filters"], group="filter_scheduler")
    conf.set_override("weight_classes", job["weight_classes"], group="filter_scheduler")
    return conf, objects


def _utc(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def host_states(objects: Any, cloud: dict[str, Any]) -> list[Any]:
    """Nova's HostState of every host of ``cloud``, filled as HostManager fills them."""
    from nova.scheduler import host_manager
    now = cloud["now"]
    aggregates = [objects.Aggregate(id=a["id"], uuid=a["uuid"], name=a["name"],
                                    hosts=list(a["hosts"]), metadata=dict(a["metadata"]))
                  for a in cloud["aggregates"]]
    by_host: dict[str, list[Any]] = {}
    for aggregate in aggregates:
        for name in aggregate.hosts:
            by_host.setdefault(name, []).append(aggregate)
    states = []
    for h in cloud["hosts"]:
        topology = nova_topology(objects, expand_host(h["topology"]))
        pools = objects.PciDevicePoolList(objects=[
            objects.PciDevicePool(product_id=p["product_id"], vendor_id=p["vendor_id"],
                                  numa_node=p["numa_node"], tags={}, count=p["count"])
            for p in h["pci_pools"] or ()])
        compute = objects.ComputeNode(
            id=len(states) + 1, uuid=h["uuid"], host=h["name"], hypervisor_hostname=h["name"],
            vcpus=h["vcpus"], vcpus_used=h["vcpus_used"], memory_mb=h["memory_mb"],
            memory_mb_used=h["memory_mb_used"],
            free_ram_mb=h["memory_mb"] - h["memory_mb_used"], local_gb=h["local_gb"],
            local_gb_used=h["local_gb_used"], free_disk_gb=h["local_gb"] - h["local_gb_used"],
            disk_available_least=None, hypervisor_type=h["hypervisor_type"],
            hypervisor_version=h["hypervisor_version"], cpu_info="", host_ip=h["host_ip"],
            supported_hv_specs=[objects.HVSpec.from_list(s) for s in h["supported_instances"]],
            stats=dict(h["stats"]), metrics="[]", numa_topology=topology._to_json(),
            pci_device_pools=pools, cpu_allocation_ratio=h["cpu_allocation_ratio"],
            ram_allocation_ratio=h["ram_allocation_ratio"],
            disk_allocation_ratio=h["disk_allocation_ratio"],
            updated_at=_utc(now - h["updated_ago"]))
        service = {"id": len(states) + 1, "host": h["name"], "binary": "nova-compute",
                   "topic": "compute", "disabled": h["service"]["disabled"],
                   "disabled_reason": None, "forced_down": False,
                   "last_seen_up": _utc(now - h["service"]["seen_ago"]),
                   "created_at": _utc(now - 86400.0), "updated_at": None}
        state = host_manager.HostState(h["name"], h["name"], cloud["cell_uuid"])
        state.update(compute, service, by_host.get(h["name"], []), {})
        states.append(state)
    return states


def request_spec(objects: Any, request: dict[str, Any], instance_uuid: str) -> Any:
    """Nova's RequestSpec of one of ``scheduler_fleet.REQUESTS``."""
    from nova.virt import hardware
    f = request["flavor"]
    flavor = objects.Flavor(flavorid=f["flavorid"], name=f["name"], vcpus=f["vcpus"],
                            memory_mb=f["memory_mb"], root_gb=f["root_gb"],
                            ephemeral_gb=f["ephemeral_gb"], swap=f["swap"],
                            extra_specs=dict(f["extra_specs"]))
    image = objects.ImageMeta.from_dict({"id": request["image_id"],
                                         "properties": dict(request["image"])})
    return objects.RequestSpec(
        flavor=flavor, image=image, numa_topology=hardware.numa_get_constraints(flavor, image),
        pci_requests=objects.InstancePCIRequests(requests=[]), instance_uuid=instance_uuid,
        project_id=request["project_id"], user_id=request["user_id"], num_instances=1,
        ignore_hosts=None, force_hosts=None, force_nodes=None, requested_destination=None,
        instance_group=None, scheduler_hints={}, availability_zone=None, is_bfv=False,
        request_level_params=objects.RequestLevelParams(), requested_resources=[])


def sorted_hosts_fn(conf: Any):
    """``SchedulerManager._get_sorted_hosts`` bound to a stand-in manager whose
    HostManager has Nova's handlers, enabled filters and weighers (HostManager's own
    ``__init__`` reads aggregates and instances from the database, which it skips)."""
    from nova.scheduler import filters, host_manager, manager, weights
    hm = host_manager.HostManager.__new__(host_manager.HostManager)
    hm.filter_handler = filters.HostFilterHandler()
    classes = hm.filter_handler.get_matching_classes(conf.filter_scheduler.available_filters)
    hm.filter_cls_map = {cls.__name__: cls for cls in classes}
    hm.filter_obj_map = {}
    hm.enabled_filters = hm._choose_host_filters(hm._load_filters())
    hm.weight_handler = weights.HostWeightHandler()
    weigher_classes = hm.weight_handler.get_matching_classes(
        conf.filter_scheduler.weight_classes)
    hm.weighers = [cls() for cls in weigher_classes]
    stand_in = types.SimpleNamespace(host_manager=hm)

    def sorted_hosts(spec: Any, states: list[Any]) -> list[Any]:
        return manager.SchedulerManager._get_sorted_hosts(stand_in, spec, states, 0)

    return sorted_hosts, hm


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    conf, objects = _nova(job)
    # The job (every host as JSON) stays out of the collector's way, as in
    # numa_fit_nova_worker: a full collection inside a timed run would walk it and be
    # charged to Nova. Nova's own host states, built below, are not frozen.
    gc.collect()
    gc.freeze()
    import nova.version
    from oslo_utils import timeutils
    cloud = job["cloud"]
    timeutils.set_time_override(_utc(cloud["now"]).replace(tzinfo=None))
    sorted_hosts, hm = sorted_hosts_fn(conf)
    _emit({"version": nova.version.version_info.release_string(),
           "filters": [type(f).__name__ for f in hm.enabled_filters],
           "weighers": [type(w).__name__ for w in hm.weighers]})
    for size in job["sizes"]:
        hosts = cloud["hosts"][:size]
        part = dict(cloud, hosts=hosts, aggregates=job["aggregates"][str(size)])
        start = time.perf_counter()
        states = host_states(objects, part)
        build_s = time.perf_counter() - start
        candidates = {s.uuid: [{"mappings": {"": [s.uuid]}}] for s in states}
        gc.collect()
        for name in job["requests"]:
            request = dict(job["requests"][name], image_id=job["image_id"],
                           project_id=job["project_id"], user_id=job["user_id"])
            times = []
            first = None
            for rep in range(job["repeat_nova"][str(size)]):
                spec = request_spec(objects, request, f"instance-{size}-{name}-{rep}")
                for state in states:
                    state.allocation_candidates = list(candidates[state.uuid])
                    state.limits = {}
                gc.collect()
                start = time.perf_counter()
                ordered = sorted_hosts(spec, states)
                times.append(time.perf_counter() - start)
                if first is None:
                    first = ordered
            spec = request_spec(objects, request, f"instance-{size}-{name}-weights")
            for state in states:
                state.allocation_candidates = list(candidates[state.uuid])
            passed = list(hm.get_filtered_hosts(states, spec, 0))
            weighed = hm.get_weighed_hosts(passed, spec)
            _emit({"size": size, "request": name, "build_s": build_s,
                   "ms": statistics.median(times) * 1000, "reps": len(times),
                   "times_ms": [t * 1000 for t in times],
                   "passed": sorted(s.host for s in first),
                   "chosen": first[0].host if first else None,
                   "weights": {w.obj.host: w.weight for w in weighed}})
        del states
        gc.collect()


if __name__ == "__main__":
    main()

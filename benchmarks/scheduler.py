"""The scheduler (issue 6): filter and weigh against upstream Nova, and select_destinations.

Run by hand: ``.venv/bin/python benchmarks/scheduler.py [--sizes 1000,10000]``.

The cloud is ``benchmarks/scheduler_fleet.py``'s: hosts of varied size and usage (1, 2
or 4 NUMA cells, SMT or not, dedicated/split/legacy CPU layouts, pinned CPUs, used
memory and disk, huge pages, PCI pools, old and new allocation ratios, a few aarch64
hosts, disabled or down services) and three aggregates that override weigher
multipliers. Two requests: "pinned" (4 dedicated vCPUs over two guest NUMA nodes) and
"plain" (2 shared vCPUs, no NUMA topology), both with an x86_64 image. Options: Zed's
default ``enabled_filters`` plus NUMATopologyFilter, the Zed weighers (``all_weighers``:
RAM, CPU, Disk, Metrics, IoOps, PCI, the two soft (anti-)affinity, BuildFailure,
CrossCell; Nova 34's ``all_weighers`` also has HypervisorVersion, NumInstances and
ImageProperties, named explicitly away on its side so both do the same work),
``host_subset_size`` 1, ``[scheduler] max_placement_results`` the number of hosts.

(a) Filter and weigh, from the candidate hosts' states to the chosen host, at each
size (the first N hosts of the fleet):

* nova-tx: ``FilterHandler.get_filtered_hosts`` over every row of ``HostStates``, then
  ``WeightHandler.get_sorted_hosts`` (weights, order, the choice). Median of
  ``--repeat`` runs.
* Nova (PyPI ``nova`` 34.0.0 in ``benchmarks/.venv-nova``, as ``numa_fit.py`` installs
  it): ``SchedulerManager._get_sorted_hosts`` over Nova ``HostState`` objects filled
  from the same host dicts (``scheduler_nova_worker.py``). Median of 5 runs at 1,000
  hosts, 3 at 10,000. Loading the host states (Nova reads every compute node, service,
  aggregate and instance list from the database per request) is not timed on either
  side.

Both must agree: the same set of passing hosts, the same chosen host and the same
weights (every passing host's total within 1e-9); a difference is printed and the exit
status is 1.

(b) The whole in-process ``Scheduler.select_destinations`` (nova_tx.scheduler.manager,
the RPC method with ``return_objects`` and ``return_alternates``) for the pinned
instance at the largest size, with the embedded Placement (our PlacementAPI through
``LocalPlacementClient``) on a SQLite file: one resource provider per host (uuid = the
compute node's), inventories from the host (VCPU for shared CPUs at the host's CPU
ratio, PCPU for dedicated ones, MEMORY_MB, DISK_GB at theirs), one consumer per host
holding its usage, ``HW_CPU_HYPERTHREADING`` on SMT hosts,
``COMPUTE_STATUS_DISABLED`` on disabled ones, the host aggregates mirrored as Placement
aggregates. Each call claims in Placement; its
allocation is deleted after it (untimed), the claim stays consumed in the host states.
``--e2e-repeat`` rounds (median and minimum reported), each one whole call and then
its parts, each timed alone on the same data, so that a burst of load on the shared
machine falls on both alike: the prefilters; the allocation candidates (both queries
of a pinned request, PCPU and the legacy VCPU fallback, through the client, JSON
decoded), split into the storage query (pool thread), the JSON body the API writes,
the rest of the API and the client's decoding, and the PCPU query alone; the
allocation requests grouped by provider; the candidates' rows; filter and weigh over
them; the claim (PUT /allocations), split into the storage write and the rest; its
consumption into the host state. Stages are timed by wrapping the named functions in
their modules for the round. Then one profiled round (not counted): the whole call
(the functions with the most own time in the reactor thread; database work runs in
the pool's threads and shows as waiting), one storage query (in its thread) and one
claim. Every part slower than (a) is marked ``> (a)``.

The last line is ``ms_10k=X ratio_10k=Y e2e_ms_10k=Z``: (a) for the pinned instance at
10,000 hosts, Nova's time / ours for the same, and (b) at 10,000 hosts.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import scheduler_fleet  # noqa: E402
from numa_fit import NOVA_VERSION, nova_python  # noqa: E402
from numa_fit_nova_worker import expand_host  # noqa: E402
from oslo_config import cfg  # noqa: E402

from nova_tx import conf as conf_modules  # noqa: E402
from nova_tx.objects import numa as numa_obj  # noqa: E402
from nova_tx.objects.flavor import Flavor  # noqa: E402
from nova_tx.objects.request_spec import ImageMeta, RequestSpec  # noqa: E402
from nova_tx.objects.service import Service  # noqa: E402
from nova_tx.scheduler.filters import FilterHandler  # noqa: E402
from nova_tx.scheduler.host_state import Aggregate, ComputeNodeRecord, HostStates  # noqa: E402
from nova_tx.scheduler.weights import WeightHandler  # noqa: E402
from nova_tx.virt import hardware  # noqa: E402

WORKER = os.path.join(HERE, "scheduler_nova_worker.py")
ENABLED_FILTERS = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                   "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
                   "NUMATopologyFilter"]
#: Zed's ``all_weighers``, as Nova class paths (ours: the same ten plugins).
ZED_WEIGHERS = [f"nova.scheduler.weights.{path}" for path in (
    "ram.RAMWeigher", "cpu.CPUWeigher", "disk.DiskWeigher", "metrics.MetricsWeigher",
    "io_ops.IoOpsWeigher", "pci.PCIWeigher", "affinity.ServerGroupSoftAffinityWeigher",
    "affinity.ServerGroupSoftAntiAffinityWeigher", "compute.BuildFailureWeigher",
    "cross_cell.CrossCellWeigher")]
NOVA_REPEAT = {1000: 5, 10000: 3}
WEIGHT_TOLERANCE = 1e-9


# -- our side: options, host states, requests ----------------------------------------------

def make_conf(hosts: int) -> cfg.ConfigOpts:
    """Every nova-tx option at its default but the benchmark's."""
    conf = cfg.ConfigOpts()
    for module in conf_modules.MODULES:
        module.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override("enabled_filters", ENABLED_FILTERS, group="filter_scheduler")
    conf.set_override("weight_classes", ZED_WEIGHERS, group="filter_scheduler")
    conf.set_override("host_subset_size", 1, group="filter_scheduler")
    conf.set_override("max_placement_results", max(hosts, 1), group="scheduler")
    return conf


def _utc(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).replace(tzinfo=None)


def host_states(cloud: dict[str, Any]) -> HostStates:
    """nova-tx's HostStates of ``cloud``, fed as the scheduler is fed (compute node
    records with their services, then the aggregates)."""
    now = cloud["now"]
    states = HostStates(capacity=len(cloud["hosts"]), clock=lambda: now)
    for i, h in enumerate(cloud["hosts"]):
        pools = None
        if h["pci_pools"] is not None:
            pools = [numa_obj.PciDevicePool(count=p["count"], numa_node=p["numa_node"],
                                            vendor_id=p["vendor_id"],
                                            product_id=p["product_id"])
                     for p in h["pci_pools"]]
        record = ComputeNodeRecord(
            uuid=h["uuid"], host=h["name"], hypervisor_hostname=h["name"],
            memory_mb=h["memory_mb"], memory_mb_used=h["memory_mb_used"],
            local_gb=h["local_gb"], local_gb_used=h["local_gb_used"],
            free_disk_gb=h["local_gb"] - h["local_gb_used"], vcpus=h["vcpus"],
            vcpus_used=h["vcpus_used"], cpu_allocation_ratio=h["cpu_allocation_ratio"],
            ram_allocation_ratio=h["ram_allocation_ratio"],
            disk_allocation_ratio=h["disk_allocation_ratio"],
            hypervisor_type=h["hypervisor_type"],
            hypervisor_version=h["hypervisor_version"],
            supported_instances=[tuple(s) for s in h["supported_instances"]],
            host_ip=h["host_ip"], stats=dict(h["stats"]),
            numa_topology=numa_obj.NUMATopology.from_dict(expand_host(h["topology"])),
            pci_pools=pools, cell_uuid=cloud["cell_uuid"], updated_at=now - h["updated_ago"])
        service = Service(id=i + 1, uuid=None, host=h["name"], binary="nova-compute",
                          topic="compute", disabled=h["service"]["disabled"],
                          last_seen_up=_utc(now - h["service"]["seen_ago"]),
                          created_at=_utc(now - 86400.0))
        states.update_from_compute_node(record, service)
    states.update_aggregates([Aggregate(id=a["id"], uuid=a["uuid"], name=a["name"],
                                        hosts=list(a["hosts"]), metadata=dict(a["metadata"]))
                              for a in cloud["aggregates"]])
    return states


def request_spec(name: str, instance_uuid: str | None) -> RequestSpec:
    """Our RequestSpec of ``scheduler_fleet.REQUESTS[name]``, as the API builds it."""
    request = scheduler_fleet.REQUESTS[name]
    flavor = Flavor(**request["flavor"])
    image = ImageMeta(id=scheduler_fleet.IMAGE_ID, properties=dict(request["image"]))
    topology = hardware.numa_get_constraints(flavor.for_numa(), image)
    return RequestSpec.from_components(
        flavor=flavor, instance_uuid=instance_uuid, image=image, numa_topology=topology,
        project_id=scheduler_fleet.PROJECT_ID, user_id=scheduler_fleet.USER_ID)


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Median milliseconds of ``repeat`` calls (a collection before each, as on Nova's
    side, so neither is charged the other's garbage)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), times


# -- (a) filter and weigh ------------------------------------------------------------------

def run_ours(conf: cfg.ConfigOpts, states: HostStates, name: str, repeat: int
             ) -> dict[str, Any]:
    filters = FilterHandler(conf)
    weighers = WeightHandler(conf)
    rows = states.rows()
    spec = request_spec(name, f"instance-{name}")

    def step():
        passing = filters.get_filtered_hosts(states, rows, spec)
        return weighers.get_sorted_hosts(states, passing, spec)

    ordered = step()
    ms, times = median_ms(step, repeat)
    passing = filters.get_filtered_hosts(states, rows, spec)
    weighed, total = weighers.get_weighed_hosts(states, passing, spec)
    return {"ms": ms, "times_ms": times,
            "passed": sorted(states.host[r] for r in passing.tolist()),
            "chosen": states.host[int(ordered[0])] if len(ordered) else None,
            "weights": {states.host[r]: w for r, w in zip(weighed.tolist(), total.tolist(),
                                                          strict=True)}}


def run_nova(python: str, cloud: dict[str, Any], sizes: list[int]) -> dict[tuple, Any]:
    """Nova's side, in its virtualenv: {(size, request): record}."""
    job = {"cloud": cloud, "sizes": sizes,
           "aggregates": {str(n): scheduler_fleet.prefix(cloud, n)["aggregates"]
                          for n in sizes},
           "requests": scheduler_fleet.REQUESTS, "image_id": scheduler_fleet.IMAGE_ID,
           "project_id": scheduler_fleet.PROJECT_ID, "user_id": scheduler_fleet.USER_ID,
           "repeat_nova": {str(n): NOVA_REPEAT.get(n, 3) for n in sizes},
           "enabled_filters": ENABLED_FILTERS, "weight_classes": ZED_WEIGHERS}
    out: dict[tuple, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "job.json")
        with open(path, "w") as f:
            json.dump(job, f)
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        # Nova logs a warning per down host (ComputeFilter) on every run: to a file.
        with open(os.path.join(tmp, "stderr"), "w+") as err:
            proc = subprocess.Popen([python, WORKER, path], stdout=subprocess.PIPE,
                                    stderr=err, text=True, env=env)
            for line in proc.stdout:
                record = json.loads(line)
                if "version" in record:
                    out["meta"] = record
                    continue
                out[(record["size"], record["request"])] = record
                print(f"  nova: {record['size']:,} hosts, {record['request']}: "
                      f"{record['ms']:.0f} ms (host states built in "
                      f"{record['build_s']:.1f} s, untimed)", flush=True)
            if proc.wait() != 0:
                err.seek(0)
                text = err.read()
                sys.exit(f"the nova worker failed:\n{text[-5000:]}")
    return out


def compare(ours: dict[str, Any], nova: dict[str, Any]) -> list[str]:
    """What differs between the two answers (empty: equivalent)."""
    problems = []
    mine, theirs = set(ours["passed"]), set(nova["passed"])
    if mine != theirs:
        problems.append(f"passing hosts differ: only nova-tx {sorted(mine - theirs)[:10]}, "
                        f"only nova {sorted(theirs - mine)[:10]} "
                        f"({len(mine ^ theirs)} in all)")
    if ours["chosen"] != nova["chosen"]:
        problems.append(f"chosen host: nova-tx {ours['chosen']}, nova {nova['chosen']}")
    off = [(h, ours["weights"][h], nova["weights"][h])
           for h in set(ours["weights"]) & set(nova["weights"])
           if abs(ours["weights"][h] - nova["weights"][h]) > WEIGHT_TOLERANCE]
    if off:
        off.sort(key=lambda t: -abs(t[1] - t[2]))
        problems.append(f"{len(off)} weights differ, e.g. {off[:3]} (host, nova-tx, nova)")
    return problems


# -- (b) select_destinations with the embedded Placement -----------------------------------

def placement_rows(cloud: dict[str, Any]) -> SimpleNamespace:
    """The rows ``benchmarks/placement.py``'s ``load`` inserts, for ``cloud``: one
    provider per compute node (uuid = the node's), its inventories and one consumer
    holding its usage."""
    rows = SimpleNamespace(providers=[], inventories=[], traits=[], aggregates=[],
                           members=[], consumers=[], allocations=[])
    for i, h in enumerate(cloud["hosts"]):
        rp = i + 1
        rows.providers.append((rp, h["uuid"], h["name"], None, rp))
        full = expand_host(h["topology"])
        pinned = sum(len(c["pinned_cpus"]) for c in full["cells"])
        layout = h["topology"]["layout"]
        if layout == "legacy":
            shared, dedicated = h["vcpus"], 0
        else:
            shared = sum(len(c["cpuset"]) for c in full["cells"])
            dedicated = h["vcpus"] - shared
        used = []
        if shared:
            rows.inventories.append((rp, "VCPU", shared, 0, shared, h["cpu_allocation_ratio"]))
            used.append(("VCPU", min(h["vcpus_used"],
                                     int(shared * h["cpu_allocation_ratio"]))))
        if dedicated:
            rows.inventories.append((rp, "PCPU", dedicated, 0, dedicated, 1.0))
            used.append(("PCPU", min(pinned, dedicated)))
        rows.inventories.append((rp, "MEMORY_MB", h["memory_mb"], 0, h["memory_mb"],
                                 h["ram_allocation_ratio"]))
        rows.inventories.append((rp, "DISK_GB", h["local_gb"], 0, h["local_gb"],
                                 h["disk_allocation_ratio"]))
        used += [("MEMORY_MB", h["memory_mb_used"]), ("DISK_GB", h["local_gb_used"])]
        if any(c["threads"] > 1 for c in h["topology"]["cells"]):
            rows.traits.append((rp, "HW_CPU_HYPERTHREADING"))
        if h["service"]["disabled"]:
            rows.traits.append((rp, "COMPUTE_STATUS_DISABLED"))
        consumer = len(rows.consumers)
        rows.consumers.append(f"c0000000-0000-4000-8000-{i:012d}")
        rows.allocations += [(rp, consumer, rc, amount) for rc, amount in used if amount]
    # Nova mirrors host aggregates into Placement (the API's aggregate calls).
    provider_of = {h["name"]: i + 1 for i, h in enumerate(cloud["hosts"])}
    for index, aggregate in enumerate(cloud["aggregates"]):
        rows.aggregates.append(aggregate["uuid"])
        rows.members += [(provider_of[name], index) for name in aggregate["hosts"]]
    return rows


class _Stages:
    """Milliseconds spent in chosen functions of the Placement query while installed
    (the functions are wrapped in their modules and put back by ``remove``)."""

    def __init__(self, targets: list[tuple[Any, str, str]]):
        self.ms: dict[str, float] = {label: 0.0 for _, _, label in targets}
        self.profile: cProfile.Profile | None = None
        self._saved = []
        for module, name, label in targets:
            original = getattr(module, name)
            self._saved.append((module, name, original))
            setattr(module, name, self._wrap(original, label))

    def _wrap(self, original: Callable, label: str) -> Callable:
        def timed(*args, **kwargs):
            profile, self.profile = self.profile, None
            start = time.perf_counter()
            try:
                if profile is not None:
                    return profile.runcall(original, *args, **kwargs)
                return original(*args, **kwargs)
            finally:
                self.ms[label] += (time.perf_counter() - start) * 1000
        return timed

    def reset(self) -> None:
        for label in self.ms:
            self.ms[label] = 0.0

    def remove(self) -> None:
        for module, name, original in self._saved:
            setattr(module, name, original)


def _top(profiler: cProfile.Profile, count: int | None) -> list[tuple]:
    """(own ms, cumulative ms, calls, where) of the functions with the most own time."""
    stats = pstats.Stats(profiler)
    rows = [(tottime * 1000, cumtime * 1000, calls, f"{_short(f)}:{line}({func})")
            for (f, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items()]
    rows.sort(reverse=True)
    return rows if count is None else rows[:count]


def make_scheduler(conf: cfg.ConfigOpts, client: Any, states: HostStates) -> Any:
    """The in-process scheduler over ``states`` and the embedded Placement."""
    from nova_tx.scheduler.manager import Scheduler
    return Scheduler(conf, placement=client, host_states=states)


STORAGE = "Placement storage: get_candidates (SQL, candidates built; pool thread)"
ENCODE = "Placement API: encode_body (the JSON answer written)"
API_REST = "Placement API: the rest (routing, query schema, hop to the pool)"
DECODE = "client: JSON decoded (response.json())"
REPLACE = "claim: Placement storage allocations.replace (pool thread, before commit)"
CLAIM_REST = "claim: the rest (schema, consumer, transaction commit on SQLite, hops)"
CANDIDATES = "allocation candidates (both queries: GET, JSON decoded)"
PCPU_ONLY = "  of which the PCPU query alone (disable_fallback_pcpu_query)"
CLAIM = "claim (PUT /allocations)"
PARTS = ("prefilters (process_reqspec)", CANDIDATES, PCPU_ONLY,
         "allocation requests by provider", "candidate rows (rows_of_uuids)",
         "filters and weighers over the candidates", CLAIM,
         "claim consumed into the host state")


async def end_to_end(conf: cfg.ConfigOpts, rows_to_load: SimpleNamespace,
                     states: HostStates, repeat: int, workdir: str) -> dict[str, Any]:
    """(b): Placement loaded, then ``repeat`` rounds, each one whole
    ``select_destinations`` followed by every part alone on the same data (so that a
    burst of load on the shared machine hits both alike), then one profiled round."""
    import sqlalchemy as sa
    from placement import load
    from twisted.internet import reactor

    from nova_tx.context import RequestContext
    from nova_tx.db.pool import DBThreadPool
    from nova_tx.placement import db as placement_db
    from nova_tx.placement.api import allocation_candidates as api_module
    from nova_tx.placement.api.app import PlacementAPI
    from nova_tx.placement.client import LocalPlacementClient
    from nova_tx.placement.storage import allocations as alloc_store
    from nova_tx.placement.storage import candidates as storage_module
    from nova_tx.scheduler import request_filter, resource_request
    from nova_tx.scheduler.manager import CLAIM_VERSION

    out: dict[str, Any] = {}
    path = os.path.join(workdir, "placement.sqlite")
    url = f"sqlite:///{path}"
    start = time.perf_counter()
    engine = sa.create_engine(url)
    try:
        placement_db.sync(engine)
    finally:
        engine.dispose()
    out["counts"] = load(url, rows_to_load)
    del rows_to_load
    out["load_s"] = time.perf_counter() - start
    pool = DBThreadPool(sa.create_engine(url), reactor=reactor)
    pool.start()
    api = PlacementAPI(pool)
    client = LocalPlacementClient(api)
    ctxt = RequestContext(user_id=scheduler_fleet.USER_ID,
                          project_id=scheduler_fleet.PROJECT_ID, roles=["admin"])
    counter = iter(range(10**6))

    def new_uuid() -> str:
        return f"e0000000-0000-4000-8000-{next(counter):012d}"

    async def delete(uuid: str) -> None:
        response = await client.delete(f"/allocations/{uuid}", version=CLAIM_VERSION)
        if response.status_code != 204:
            raise RuntimeError(f"DELETE /allocations/{uuid}: {response.status_code}")

    try:
        scheduler = make_scheduler(conf, client, states)

        async def whole_call(profiler: cProfile.Profile | None = None) -> tuple[float, Any]:
            uuid = new_uuid()
            spec = request_spec("pinned", uuid)
            gc.collect()
            if profiler is not None:
                profiler.enable()
            begin = time.perf_counter()
            result = await scheduler.select_destinations(
                ctxt, spec_obj=spec, instance_uuids=[uuid], return_objects=True,
                return_alternates=True)
            elapsed = (time.perf_counter() - begin) * 1000
            if profiler is not None:
                profiler.disable()
            await delete(uuid)
            return elapsed, result

        _, first = await whole_call()                # warm-up (Placement's caches)
        chosen = first[0][0].get("nova_object.data", first[0][0])
        out["first_choice"], out["alternates"] = chosen.get("service_host"), len(first[0]) - 1

        # The parts' inputs, as the scheduler has them for this request.
        spec = request_spec("pinned", new_uuid())
        await request_filter.process_reqspec(scheduler.sources, ctxt, spec)
        queries = ["/allocation_candidates?" + q.to_querystring()
                   for q in resource_request.allocation_candidate_queries(spec, conf)]
        out["queries"] = queries
        requests, summaries, _ = await resource_request.get_allocation_candidates(
            client, spec, conf)
        out["candidates"] = (len(requests), len(summaries))

        def by_provider() -> dict[str, list[dict]]:
            grouped: dict[str, list[dict]] = {}
            for request in requests:
                for provider in request["allocations"]:
                    grouped.setdefault(provider, []).append(request)
            return grouped

        def filter_weigh(rows: Any) -> Any:
            passing = scheduler.filters.get_filtered_hosts(states, rows, spec)
            return scheduler.weighers.get_sorted_hosts(states, passing, spec)

        grouped = by_provider()
        candidate_rows = states.rows_of_uuids(list(summaries))
        out["passed_b"] = len(scheduler.filters.get_filtered_hosts(states, candidate_rows,
                                                                   spec))
        ordered = filter_weigh(candidate_rows)
        row = next(int(r) for r in ordered.tolist() if states.uuid[r] in grouped)
        claim_body = {"allocations": grouped[states.uuid[row]][0]["allocations"],
                      "project_id": spec.project_id, "user_id": spec.user_id,
                      "consumer_generation": None}

        async def candidates(urls: list[str], stages: _Stages | None = None
                             ) -> dict[str, float]:
            """Both queries as the scheduler sends them; ms by stage."""
            get_ms = decode_ms = 0.0
            for url_ in urls:
                begin = time.perf_counter()
                response = await client.get(
                    url_, version=resource_request.ALLOCATION_CANDIDATES_VERSION)
                middle = time.perf_counter()
                response.json()
                get_ms += (middle - begin) * 1000
                decode_ms += (time.perf_counter() - middle) * 1000
            if stages is None:
                return {PCPU_ONLY: get_ms + decode_ms}
            return {STORAGE: stages.ms[STORAGE], ENCODE: stages.ms[ENCODE],
                    API_REST: get_ms - stages.ms[STORAGE] - stages.ms[ENCODE],
                    DECODE: decode_ms, CANDIDATES: get_ms + decode_ms}

        async def claim(profiler: cProfile.Profile | None = None) -> dict[str, float]:
            uuid = new_uuid()
            stages = _Stages([(alloc_store, "replace", REPLACE)])
            try:
                gc.collect()
                if profiler is not None:
                    profiler.enable()
                begin = time.perf_counter()
                response = await client.put(f"/allocations/{uuid}", claim_body,
                                            version=CLAIM_VERSION)
                elapsed = (time.perf_counter() - begin) * 1000
                if profiler is not None:
                    profiler.disable()
            finally:
                stages.remove()
            if response.status_code != 204:
                raise RuntimeError(f"claim refused: {response.status_code} {response.text}")
            await delete(uuid)
            return {CLAIM: elapsed, REPLACE: stages.ms[REPLACE],
                    CLAIM_REST: elapsed - stages.ms[REPLACE]}

        def alone(fn: Callable[[], Any]) -> float:
            gc.collect()
            begin = time.perf_counter()
            fn()
            return (time.perf_counter() - begin) * 1000

        samples: dict[str, list[float]] = {}

        def add(values: dict[str, float]) -> None:
            for name, ms in values.items():
                samples.setdefault(name, []).append(ms)

        for _ in range(repeat):
            elapsed, _ = await whole_call()
            add({"select_destinations": elapsed})
            fresh = request_spec("pinned", spec.instance_uuid)
            gc.collect()
            begin = time.perf_counter()
            await request_filter.process_reqspec(scheduler.sources, ctxt, fresh)
            add({PARTS[0]: (time.perf_counter() - begin) * 1000})
            stages = _Stages([(storage_module, "get_candidates", STORAGE),
                              (api_module, "encode_body", ENCODE)])
            try:
                gc.collect()
                add(await candidates(queries, stages))
            finally:
                stages.remove()
            gc.collect()
            add(await candidates(queries[:1]))
            add({PARTS[3]: alone(by_provider),
                 PARTS[4]: alone(lambda: states.rows_of_uuids(list(summaries))),
                 PARTS[5]: alone(lambda: filter_weigh(candidate_rows))})
            add(await claim())
            copy = request_spec("pinned", new_uuid())
            add({PARTS[7]: alone(lambda copy=copy: states.consume_from_request(
                row, copy, instance_uuid=copy.instance_uuid))})
        out["samples"] = samples

        # One more round under the profilers (not counted).
        call_profile, storage_profile, claim_profile = (cProfile.Profile() for _ in range(3))
        await whole_call(call_profile)
        stages = _Stages([(storage_module, "get_candidates", STORAGE),
                          (api_module, "encode_body", ENCODE)])
        stages.profile = storage_profile
        try:
            await candidates(queries, stages)
        finally:
            stages.remove()
        await claim(claim_profile)
        out["profile"] = _top(call_profile, 12)
        out["profile_total_ms"] = sum(r[0] for r in _top(call_profile, None))
        out["storage_profile"] = _top(storage_profile, 10)
        out["claim_profile"] = _top(claim_profile, 8)
    finally:
        await api.close()
        await pool.stop()
    return out


def _flag(ms: float, a_ms: float) -> str:
    """Marks a part of (b) that takes longer than the whole of (a)."""
    return "  > (a)" if ms > a_ms else ""


def _short(filename: str) -> str:
    for prefix in (ROOT + os.sep, sys.prefix + os.sep):
        if filename.startswith(prefix):
            return filename[len(prefix):]
    return filename


# -- report ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="host counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=21, help="runs of ours (median)")
    parser.add_argument("--e2e-repeat", type=int, default=7,
                        help="runs of select_destinations and of each part (median)")
    parser.add_argument("--no-nova", action="store_true", help="ours only (no comparison)")
    parser.add_argument("--no-e2e", action="store_true", help="skip (b)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    largest = max(sizes)

    start = time.perf_counter()
    cloud = scheduler_fleet.fleet(largest)
    print(f"fleet of {largest:,} hosts in {time.perf_counter() - start:.1f} s", flush=True)
    nova: dict[tuple, Any] = {}
    if not args.no_nova:
        python = nova_python()
        print(f"nova {NOVA_VERSION}: filter and weigh, in {python} ...", flush=True)
        nova = run_nova(python, cloud, sizes)

    ours: dict[tuple, Any] = {}
    states_by_size: dict[int, HostStates] = {}
    for size in sizes:
        start = time.perf_counter()
        states = host_states(scheduler_fleet.prefix(cloud, size))
        states_by_size[size] = states
        print(f"nova-tx: HostStates of {size:,} hosts built in "
              f"{time.perf_counter() - start:.1f} s (untimed)", flush=True)
        conf = make_conf(size)
        for name in scheduler_fleet.REQUESTS:
            ours[(size, name)] = run_ours(conf, states, name, args.repeat)

    mismatches = []
    print()
    if nova:
        meta = nova["meta"]
        print(f"upstream nova {meta['version']}: filters {', '.join(meta['filters'])}; "
              f"weighers {', '.join(meta['weighers'])}")
    print("(a) filter and weigh, candidate host states to the chosen host (median)")
    print("%-8s %-7s %10s %12s %8s %8s  %s" % ("hosts", "request", "nova-tx", "nova",
                                              "ratio", "passed", "answers"))
    for size in sizes:
        for name in scheduler_fleet.REQUESTS:
            o = ours[(size, name)]
            n = nova.get((size, name))
            if n is None:
                print("%-8s %-7s %7.2f ms %12s %8s %8d" % (
                    f"{size:,}", name, o["ms"], "-", "-", len(o["passed"])))
                continue
            problems = compare(o, n)
            mismatches += [f"{size:,} {name}: {p}" for p in problems]
            print("%-8s %-7s %7.2f ms %9.0f ms %7.0fx %8d  %s" % (
                f"{size:,}", name, o["ms"], n["ms"], n["ms"] / o["ms"], len(o["passed"]),
                "same hosts, choice and weights" if not problems else "MISMATCH"))

    e2e = None
    if not args.no_e2e:
        from twisted.internet import defer, task
        workdir = tempfile.mkdtemp(prefix="bench-scheduler-")
        result: dict[str, Any] = {}

        # Only what a scheduler process holds stays alive for (b): the benchmark's
        # fleet dicts would otherwise be walked by every full collection there.
        rows_to_load = placement_rows(scheduler_fleet.prefix(cloud, largest))
        states = states_by_size.pop(largest)
        del cloud, states_by_size
        gc.collect()

        async def run_b(reactor):
            result.update(await end_to_end(make_conf(largest), rows_to_load, states,
                                           args.e2e_repeat, workdir))

        try:
            task.react(lambda reactor: defer.ensureDeferred(run_b(reactor)))
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        e2e = result
        a_ms = ours[(largest, "pinned")]["ms"]
        print()
        print(f"(b) select_destinations in process, pinned instance, {largest:,} hosts, "
              f"embedded Placement on SQLite (loaded in {e2e['load_s']:.1f} s: "
              f"{e2e['counts']['resource_providers']:,} providers, "
              f"{e2e['counts']['inventories']:,} inventories, "
              f"{e2e['counts']['allocations']:,} allocations)")
        print(f"  candidates: {e2e['candidates'][0]:,} allocation requests over "
              f"{e2e['candidates'][1]:,} providers; {e2e['passed_b']:,} pass the filters; "
              f"chosen {e2e['first_choice']} with {e2e['alternates']} alternates")
        for query in e2e["queries"]:
            print(f"  query: {query}")
        samples = e2e["samples"]
        whole = samples["select_destinations"]
        print(f"  select_destinations: {statistics.median(whole):.1f} ms (median of "
              f"{len(whole)} rounds; min {min(whole):.1f} ms, max {max(whole):.1f} ms)")

        def show(names: tuple[str, ...]) -> None:
            for name in names:
                ms, low = statistics.median(samples[name]), min(samples[name])
                print(f"    {name:<72} {ms:8.2f} ms {low:8.2f} ms{_flag(ms, a_ms)}")

        print(f"    {'part (each alone, same rounds)':<72} {'median':>8}    {'min':>8}")
        show(PARTS)
        print("  the allocation candidates by stage (both queries):")
        show((STORAGE, ENCODE, API_REST, DECODE))
        print("  the claim by stage:")
        show((REPLACE, CLAIM_REST))
        print("  profile of one storage query (pool thread; own time, cumulative, calls):")
        for own, cum, calls, where in e2e["storage_profile"]:
            print(f"    {own:8.1f} ms {cum:8.1f} ms {calls:7d}  {where}")
        print("  profile of one claim (reactor thread; own time, cumulative, calls):")
        for own, cum, calls, where in e2e["claim_profile"]:
            print(f"    {own:8.1f} ms {cum:8.1f} ms {calls:7d}  {where}")
        print(f"  profile of one call (reactor thread, {e2e['profile_total_ms']:.0f} ms; "
              f"own time, cumulative, calls):")
        for own, cum, calls, where in e2e["profile"]:
            print(f"    {own:8.1f} ms {cum:8.1f} ms {calls:7d}  {where}")

    if mismatches:
        print()
        print(f"{len(mismatches)} MISMATCH(ES):")
        for line in mismatches:
            print(f"  {line}")
    print()
    pinned = ours.get((10000, "pinned"))
    nova_pinned = nova.get((10000, "pinned"))
    ms = pinned["ms"] if pinned else math.nan
    ratio = nova_pinned["ms"] / ms if pinned and nova_pinned else math.nan
    e2e_ms = (statistics.median(e2e["samples"]["select_destinations"])
              if e2e and largest == 10000 else math.nan)
    print(f"ms_10k={ms:.2f} ratio_10k={ratio:.0f} e2e_ms_10k={e2e_ms:.1f}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()

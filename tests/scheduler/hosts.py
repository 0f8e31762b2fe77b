"""Host states, options and requests for the filter, weigher and host-state tests."""
from __future__ import annotations

import datetime
from typing import Any

import numpy as np
from oslo_config import cfg

from nova_tx.conf import compute, metrics, scheduler, servicegroup, workarounds
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.request_spec import ImageMeta, InstanceGroup, RequestSpec
from nova_tx.objects.service import Service
from nova_tx.scheduler.host_state import Aggregate, ComputeNodeRecord, HostStates

NOW = 1_800_000_000.0
INSTANCE = "6f5a8a5c-4a3e-4bfe-9d8c-5e0f0b1f6d1a"


def make_conf(**overrides: Any) -> cfg.ConfigOpts:
    """[scheduler], [filter_scheduler], [metrics], [compute] and the service options;
    ``overrides`` are ``group__name=value`` (``DEFAULT__name`` for [DEFAULT])."""
    conf = cfg.ConfigOpts()
    for module in (scheduler, metrics, compute, servicegroup, workarounds):
        module.register_opts(conf)
    try:
        from nova_tx.conf import availability_zone
    except ImportError:  # pragma: no cover - another module's
        pass
    else:
        availability_zone.register_opts(conf)
    conf([], default_config_files=[])
    for key, value in overrides.items():
        group, name = key.split("__")
        conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return conf


def node(name: str = "h1", nodename: str | None = None, **fields: Any) -> ComputeNodeRecord:
    """A roomy compute node record named ``name`` (uuid ``uuid-<node>``)."""
    nodename = nodename or name
    values: dict[str, Any] = dict(
        uuid=f"uuid-{nodename}", host=name, hypervisor_hostname=nodename,
        memory_mb=8192, memory_mb_used=0, local_gb=100, local_gb_used=0, vcpus=8,
        hypervisor_type="QEMU", hypervisor_version=6002000,
        supported_instances=[("x86_64", "qemu", "hvm")], host_ip="10.0.0.1",
        cell_uuid="cell1", updated_at=NOW - 100)
    values.update(fields)
    return ComputeNodeRecord(**values)


def service(host: str, **fields: Any) -> Service:
    values: dict[str, Any] = dict(
        id=1, uuid=None, host=host, binary="nova-compute", topic="compute",
        last_seen_up=datetime.datetime.fromtimestamp(NOW - 5, datetime.UTC).replace(tzinfo=None))
    values.update(fields)
    return Service(**values)


def states(*records: ComputeNodeRecord, with_services: bool = True) -> HostStates:
    result = HostStates(capacity=2, clock=lambda: NOW)
    for record in records:
        result.update_from_compute_node(record, service(record.host) if with_services else None)
    return result


def flavor(vcpus: int = 1, memory_mb: int = 1024, root_gb: int = 10, name: str = "m1.small",
           **extra_specs: str) -> Flavor:
    return Flavor(flavorid="42", name=name, vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb,
                  extra_specs=dict(extra_specs))


def spec(flavor_: Flavor | None = None, image: dict | None = None, hints: dict | None = None,
         **fields: Any) -> RequestSpec:
    result = RequestSpec.from_components(
        flavor=flavor_ or flavor(), instance_uuid=INSTANCE,
        image=ImageMeta(id=(image or {}).get("id", "image-1"),
                        properties=dict((image or {}).get("properties", {}))),
        project_id="p1", user_id="u1",
        filter_properties={"scheduler_hints": hints or {}})
    for name, value in fields.items():
        setattr(result, name, value)
    return result


def group(policy: str, members=(), hosts=(), rules=None) -> InstanceGroup:
    return InstanceGroup(uuid="g1", policy=policy, members=list(members), hosts=list(hosts),
                         rules=dict(rules or {}))


def aggregate(id_: int, hosts, **metadata: str) -> Aggregate:
    return Aggregate(id=id_, uuid=f"agg-{id_}", name=f"agg{id_}", hosts=list(hosts),
                     metadata=metadata)


def passing(host_filter: Any, host_states: HostStates, spec_obj: Any) -> list[str]:
    """The node names the filter passes, over every row."""
    rows = host_states.rows()
    mask = host_filter.filter_all(host_states, rows, spec_obj)
    return [host_states.nodename[r] for r in rows[np.asarray(mask, dtype=bool)]]


def two_cell_host(pcpus_per_cell: int = 4, memory: int = 8192, smt: bool = False,
                  pinned: tuple[set[int], set[int]] = (set(), set())):
    """Two cells of ``pcpus_per_cell`` dedicated CPUs each (no shared CPUs)."""
    from nova_tx.objects.numa import NUMACell, NUMATopology

    cells = []
    for i in range(2):
        cpus = set(range(i * pcpus_per_cell, (i + 1) * pcpus_per_cell))
        ordered = sorted(cpus)
        siblings = ([set(ordered[j:j + 2]) for j in range(0, len(ordered), 2)] if smt
                    else [{c} for c in ordered])
        cells.append(NUMACell(id=i, cpuset=set(), pcpuset=cpus, memory=memory,
                              siblings=siblings, pinned_cpus=set(pinned[i]), socket=0))
    return NUMATopology(cells=cells)


def numa_guest(vcpus: int = 2, memory_mb: int = 1024, **specs: str):
    from nova_tx.objects.numa import Flavor as NumaFlavor
    from nova_tx.virt import hardware

    return hardware.numa_get_constraints(
        NumaFlavor(vcpus=vcpus, memory_mb=memory_mb,
                   extra_specs={k.replace("__", ":"): v for k, v in specs.items()}))

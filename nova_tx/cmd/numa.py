"""``nova-manage numa fit``: does this flavor fit this host, and how would it be pinned?

An operator asking why a pinned or huge-page guest lands where it does, or nowhere,
otherwise has to read scheduler debug logs. This command answers from JSON files
(``docs/numa.md`` has the formats) with the same rules the scheduler and the compute
claim use (``nova_tx.scheduler.kernel``, which falls back to the reference in
``nova_tx.virt.hardware`` where the compiled kernel is not built), and prints the answer
as JSON on stdout. The reasons for a miss come from the reference's per-cell rule.

Exit status: 0 when the guest fits (or has no NUMA topology, so any host with room
does), 1 when it does not fit, 2 for input that cannot be used (a file that is missing
or not JSON, a field of the wrong shape, an extra spec or image property Nova would
refuse): one line on stderr naming the problem.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from oslo_config import cfg

from nova_tx import exception
from nova_tx.cmd.common import args
from nova_tx.objects import numa as obj
from nova_tx.scheduler import kernel
from nova_tx.scheduler.host_arrays import HostArrays
from nova_tx.virt import hardware

#: Exit statuses of ``numa fit``.
FITS, DOES_NOT_FIT, BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Input the command cannot use; the message is the one line the operator sees."""


def _load(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise BadInput(f"{what} file {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise BadInput(f"{what} file {path} is not JSON: {e}") from None


def _parse(loader, data: Any, path: str, what: str) -> Any:
    if not isinstance(data, dict):
        raise BadInput(f"{what} file {path}: expected a JSON object, got "
                       f"{type(data).__name__}")
    try:
        return loader(data)
    except (KeyError, TypeError, ValueError, exception.NovaException) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise BadInput(f"{what} file {path}: {message}") from None


def _limits(conf: cfg.ConfigOpts, host_data: dict) -> obj.NUMATopologyLimits:
    """The host file's ``limits``, else the configured ratios as a compute would report
    them for a new node."""
    if host_data.get("limits") is not None:
        return obj.NUMATopologyLimits.from_dict(host_data["limits"])
    return obj.NUMATopologyLimits(
        cpu_allocation_ratio=hardware.allocation_ratio(
            conf.cpu_allocation_ratio, None, conf.initial_cpu_allocation_ratio),
        ram_allocation_ratio=hardware.allocation_ratio(
            conf.ram_allocation_ratio, None, conf.initial_ram_allocation_ratio))


def _cell_facts(cell: obj.NUMACell) -> dict[str, Any]:
    """What a host cell has free, for an operator reading why nothing fits."""
    return {
        "host_cell": cell.id,
        "free_memory_mb": cell.avail_memory,
        "free_pcpus": sorted(cell.free_pcpus),
        "shared_cpus": len(cell.cpuset),
        "cpu_usage": cell.cpu_usage,
        "free_pages": {str(p.size_kb): p.free for p in cell.mempages},
    }


def _guest_cell(cell: obj.InstanceNUMACell) -> dict[str, Any]:
    return {"id": cell.id, "vcpus": sorted(cell.total_cpus), "memory_mb": cell.memory,
            "cpu_policy": cell.cpu_policy, "cpu_thread_policy": cell.cpu_thread_policy,
            "pagesize": cell.pagesize}


def _why_not(host: obj.NUMATopology, guest: obj.InstanceNUMATopology,
             flavor: obj.Flavor, image: obj.ImageMeta, limits: obj.NUMATopologyLimits,
             pci_requests: list, pci_pools: list | None) -> dict[str, Any]:
    """The reason a NUMA guest does not fit, from the same per-cell rule the fit uses."""
    if not host.cells:
        return {"reason": "the host reports no NUMA topology"}
    if len(host.cells) < len(guest.cells):
        return {"reason": f"the guest asks for {len(guest.cells)} NUMA nodes and the host "
                          f"has {len(host.cells)}"}
    if hardware.requires_smt_host(flavor, image) and not host.has_threads:
        return {"reason": "cpu_thread_policy 'require' with the dedicated policy needs a "
                          "host with SMT sibling threads; this host has none"}
    per_cell = []
    for index, cell in enumerate(guest.cells):
        reserved = 1 if index == 0 and guest.emulator_threads_isolated else 0
        fits_on = []
        for host_cell in host.cells:
            try:
                fitted = hardware.fit_instance_cell(host_cell, cell, limits, reserved)
            except exception.MemoryPageSizeNotSupported:
                fitted = None
            if fitted is not None:
                fits_on.append(host_cell.id)
        per_cell.append({"guest_cell": _guest_cell(cell), "fits_alone_on": fits_on})
    lonely = [c for c in per_cell if not c["fits_alone_on"]]
    if lonely:
        first = lonely[0]["guest_cell"]
        reason = (f"guest cell {first['id']} ({len(first['vcpus'])} vCPUs, "
                  f"{first['memory_mb']} MiB) fits on no host cell")
    else:
        extra = []
        if pci_requests and pci_pools is not None:
            extra.append("the PCI devices' NUMA affinity")
        if limits.network_metadata is not None:
            extra.append("the networks' NUMA affinity")
        reason = ("each guest cell fits some host cell, but no assignment of the guest "
                  "cells to distinct host cells" + (" that satisfies " + " and ".join(extra)
                                                    if extra else "") + " exists")
    return {"reason": reason, "guest_cells": per_cell,
            "host_cells": [_cell_facts(c) for c in host.cells]}


def _fitted(fitted: obj.InstanceNUMATopology) -> dict[str, Any]:
    cells = []
    for index, cell in enumerate(fitted.cells):
        cells.append({
            "guest_cell": index,
            "host_cell": cell.id,
            "vcpus": sorted(cell.total_cpus),
            "memory_mb": cell.memory,
            "page_size_kb": cell.pagesize,
            "cpu_pinning": {str(v): p for v, p in sorted((cell.cpu_pinning or {}).items())},
            "emulator_cpus": sorted(cell.cpuset_reserved or ()),
        })
    return {"cells": cells, "instance_numa_topology": fitted.to_dict()}


class NumaCommands:
    """Questions about NUMA placement, answered from JSON files."""

    def __init__(self, ctx: Any):
        self._conf: cfg.ConfigOpts = ctx.conf

    @args("--host", metavar="FILE", required=True,
          help="JSON: the host NUMA topology with its current usage ({\"cells\": [...]}, "
          "optionally \"pci_pools\" and \"limits\")")
    @args("--flavor", metavar="FILE", required=True,
          help="JSON: the flavor (vcpus, memory_mb, extra_specs)")
    @args("--image", metavar="FILE", help="JSON: the image ({\"properties\": {...}})")
    @args("--pci-alias", "--pci_alias", metavar="JSON", action="append", default=None,
          help="A PCI alias as [pci] alias takes it (repeatable); [pci] alias in the "
          "configuration is used when none is given")
    def fit(self, host: str, flavor: str, image: str | None = None,
            pci_alias: list[str] | None = None) -> int:
        """Whether a flavor (and image) fits a host, and the cells and pinning it gets."""
        try:
            answer, status = self._fit(host, flavor, image, pci_alias)
        except BadInput as e:
            print(f"nova-manage numa fit: {e}", file=sys.stderr)
            return BAD_INPUT
        print(json.dumps(answer, indent=2, sort_keys=True))
        return status

    def _fit(self, host_path: str, flavor_path: str, image_path: str | None,
             pci_alias: list[str] | None) -> tuple[dict[str, Any], int]:
        host_data = _load(host_path, "host")
        host = _parse(obj.NUMATopology.from_dict, host_data, host_path, "host")
        pools = _parse(lambda d: (None if d.get("pci_pools") is None else
                                  [obj.PciDevicePool.from_dict(p) for p in d["pci_pools"]]),
                       host_data, host_path, "host")
        limits = _parse(lambda d: _limits(self._conf, d), host_data, host_path, "host")
        flavor = _parse(obj.Flavor.from_dict, _load(flavor_path, "flavor"), flavor_path,
                        "flavor")
        image = (obj.ImageMeta() if image_path is None else
                 _parse(obj.ImageMeta.from_dict, _load(image_path, "image"), image_path,
                        "image"))
        try:
            guest = hardware.numa_get_constraints(flavor, image)
            pci_requests = hardware.get_pci_requests_from_flavor(
                flavor, image, hardware.parse_pci_aliases(pci_alias or self._pci_aliases()))
        except exception.NovaException as e:
            raise BadInput(e.format_message()) from None
        if guest is None:
            return {"fits": True, "numa": False,
                    "reason": "the guest has no NUMA topology: any host with enough VCPU "
                              "and memory fits (placement decides)"}, FITS
        pack = self._conf.compute.packing_host_numa_cells_allocation_strategy
        result = kernel.filter_hosts(
            kernel.FitRequest(guest, limits, pci_requests, pack),
            HostArrays.from_topologies([host], [pools]), flavor, image,
            want_details_for=(0,))
        passes, fitted = bool(result.fits[0]), result.fitted.get(0)
        if passes and fitted is not None:
            return {"fits": True, "numa": True, **_fitted(fitted)}, FITS
        return {"fits": False, "numa": True,
                **_why_not(host, guest, flavor, image, limits, pci_requests, pools)
                }, DOES_NOT_FIT

    def _pci_aliases(self) -> list:
        pci = getattr(self._conf, "pci", None)
        return list(getattr(pci, "alias", None) or [])

"""The one entry point for NUMA fitting: the scheduler's filter and the compute's claim.

``fit_hosts(request, arrays)`` answers, in one call into the compiled kernel
(``nova_tx._speedups.numa_kernel``), which rows of a ``HostArrays`` can take a guest,
and for the rows asked for, the fitted ``InstanceNUMATopology``: the same object
``nova_tx.virt.hardware.numa_fit_instance_to_host`` returns for that host (same host
cells, pinning, page sizes and emulator pCPU). ``fit_host`` is the one-host form with
the reference's signature and ``claim`` the compute claim built on it (the accounting
itself is ``numa_usage``'s); ``filter_hosts`` is the NUMATopologyFilter decision over
many rows.

One host with its fitted guest (``fit_hosts(request, arrays, hosts=(),
want_details_for=(row,))``, the scheduler's consume, and ``fit_host``) takes a lean
path: ``numa_kernel.fit_row`` with the guest encoded once per request, no numpy array,
plain values back and the ``InstanceNUMATopology`` built once. It answers as the
general path does; requests with PCI requests or network affinity, fallback rows and
guests the kernel does not encode go the general way.

The reference (``nova_tx.virt.numa_fit``) answers instead of the kernel, with the same
results, only:

* when the kernel is not built (logged once, as a warning);
* for host rows that do not fit the layout (``HostArrays.fallback``: more than 64 cells
  or a CPU numbered above 1,023);
* for requests the kernel does not encode (logged at debug): more than 64 guest cells,
  or a guest cell ``cpu_policy`` that is none of None/shared/dedicated/mixed.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Iterable, Sequence

import numpy as np

from nova_tx.objects import numa as obj
from nova_tx.scheduler.host_arrays import HostArrays
from nova_tx.virt import numa_fit, numa_usage, pci_affinity

try:
    from nova_tx._speedups import numa_kernel as _kernel
except ImportError:  # pragma: no cover - exercised by forcing _kernel to None
    _kernel = None

__all__ = ["FitRequest", "FitResult", "claim", "filter_hosts", "fit_host", "fit_hosts",
           "kernel_available"]

LOG = logging.getLogger(__name__)

_POLICY = {None: 0, obj.CPU_POLICY_SHARED: 1, obj.CPU_POLICY_DEDICATED: 2,
           obj.CPU_POLICY_MIXED: 3}
# Any other thread policy string acts as "prefer" in the reference (it only tests for
# isolate and require).
_THREAD = {obj.THREAD_POLICY_ISOLATE: 2, obj.THREAD_POLICY_REQUIRE: 3}
# Any other PCI NUMA policy acts as "preferred" in the reference.
_PCI_POLICY = {obj.PCI_NUMA_LEGACY: 0, obj.PCI_NUMA_REQUIRED: 1, obj.PCI_NUMA_SOCKET: 3}
_PCI_PREFERRED = 2
_MAX_GUEST_CELLS = 64

_warned_missing = False
# Tests set this to run the kernel's set search (its answer when PCI or network checks
# keep failing) on every request with such checks.
_FORCE_SET_SEARCH = False


def kernel_available() -> bool:
    """Whether the compiled kernel is importable (else the reference answers)."""
    return _kernel is not None


@dataclasses.dataclass
class FitRequest:
    """One guest to place, with everything the fit reads besides the host.

    ``limits`` gives the allocation ratios of the overcommit checks (None: no check)
    and the request's network affinity. With ``host_limits`` the ratios come from each
    host's row instead (the scheduler's case: Nova's filter uses the host's ratios),
    and ``limits`` only contributes its ``network_metadata``. ``pack`` is ``[compute]
    packing_host_numa_cells_allocation_strategy``.
    """

    guest: obj.InstanceNUMATopology | None
    limits: obj.NUMATopologyLimits | None = None
    pci_requests: Sequence[obj.InstancePCIRequest] = ()
    pack: bool = False
    host_limits: bool = False

    def __setattr__(self, name: str, value: object) -> None:
        # The one-row path keeps the request's encoding (``_lean``, see _prepare)
        # until a field is assigned. Edit a guest or limits by assigning a new one.
        self.__dict__.pop("_lean", None)
        object.__setattr__(self, name, value)

    @property
    def network(self) -> obj.NetworkMetadata | None:
        return self.limits.network_metadata if self.limits is not None else None

    def limits_for(self, arrays: HostArrays, row: int) -> obj.NUMATopologyLimits | None:
        """The reference's ``limits`` argument for one host row."""
        if not self.host_limits:
            return self.limits
        return obj.NUMATopologyLimits(
            cpu_allocation_ratio=float(arrays.cpu_allocation_ratio[row]),
            ram_allocation_ratio=float(arrays.ram_allocation_ratio[row]),
            network_metadata=self.network)


@dataclasses.dataclass
class FitResult:
    """``fits[i]`` answers for host row ``rows[i]``; ``fitted[row]`` for rows asked for."""

    rows: np.ndarray
    fits: np.ndarray
    fitted: dict[int, obj.InstanceNUMATopology | None]


# -- the reference path ------------------------------------------------------------------

def _reference_fit(request: FitRequest, arrays: HostArrays, row: int
                   ) -> obj.InstanceNUMATopology | None:
    return numa_fit.numa_fit_instance_to_host(
        arrays.topologies[row], request.guest, request.limits_for(arrays, row),
        list(request.pci_requests or ()) or None, arrays.pci_pools[row], request.pack)


def _unsupported(guest: obj.InstanceNUMATopology) -> str | None:
    if len(guest.cells) > _MAX_GUEST_CELLS:
        return f"{len(guest.cells)} guest cells"
    for cell in guest.cells:
        if cell.cpu_policy not in _POLICY:
            return f"cpu_policy {cell.cpu_policy!r}"
    return None


# -- encoding ----------------------------------------------------------------------------

def _encode_guest(guest: obj.InstanceNUMATopology) -> np.ndarray:
    return np.array([[len(c.cpuset), len(c.pcpuset), c.memory, c.pagesize or 0,
                      _POLICY[c.cpu_policy], _THREAD.get(c.cpu_thread_policy, 1)]
                     for c in guest.cells], dtype=np.int64).reshape(-1, 6)


def _pci_arrays(arrays: HostArrays, requests: Sequence[obj.InstancePCIRequest]
                ) -> tuple[np.ndarray, ...]:
    """Per request: devices per host and pool bucket that match, and that are kept.

    A request matches pools by kind (what a spec compares), unless a spec names a
    pool's own ``numa_node`` or ``count``; then pool by pool.
    """
    n, b = arrays.size, arrays.buckets
    index = arrays.pool_host.astype(np.int64) * b + arrays.pool_bucket
    counts = arrays.pool_count.astype(np.float64)
    need = np.array([r.count for r in requests], dtype=np.int64)
    policy = np.array([_PCI_POLICY.get(r.numa_policy or obj.PCI_NUMA_LEGACY, _PCI_PREFERRED)
                       for r in requests], dtype=np.int32)
    match = np.zeros((len(requests), n, b), dtype=np.int64)
    keep = np.zeros((len(requests), n, b), dtype=np.int64)
    for i, request in enumerate(requests):
        if any("numa_node" in spec or "count" in spec for spec in request.spec):
            matched = np.array([pci_affinity._prop_match(p, request.spec)
                                for p in arrays.pool_list], dtype=bool)
        else:
            kinds = np.array([pci_affinity._prop_match(p, request.spec)
                              for p in arrays.pool_kinds], dtype=bool)
            matched = kinds[arrays.pool_kind] if len(kinds) else np.zeros(0, dtype=bool)
        kept = matched.copy()
        if all(spec.get("dev_type") != "type-PF" for spec in request.spec):
            kept &= ~arrays.pool_is_pf
        if all(spec.get("dev_type") != "vdpa" for spec in request.spec):
            kept &= ~arrays.pool_is_vdpa
        if all(not pci_affinity._is_true(spec.get("remote_managed")) for spec in request.spec):
            kept &= ~arrays.pool_is_remote
        match[i] = np.bincount(index, weights=counts * matched,
                               minlength=n * b).astype(np.int64).reshape(n, b)
        keep[i] = np.bincount(index, weights=counts * kept,
                              minlength=n * b).astype(np.int64).reshape(n, b)
    return need, policy, match, keep


_CELL_FIELDS = tuple(f.name for f in dataclasses.fields(obj.InstanceNUMACell))
_PINNED = frozenset(obj.PINNED_CPU_POLICIES)
_FIELDS_KNOWN = ("id", "cpuset", "pcpuset", "memory", "pagesize", "cpu_policy",
                 "cpu_thread_policy", "cpu_pinning", "cpuset_reserved")


def _vcpu_order(guest: obj.InstanceNUMATopology) -> list[list[int]]:
    """Each guest cell's pinned vCPUs, ascending: the order of the kernel's pCPUs."""
    return [sorted(c.pcpuset) for c in guest.cells]


_new = object.__new__
_Cell = obj.InstanceNUMACell
_Topology = obj.InstanceNUMATopology


def _decode(guest: obj.InstanceNUMATopology, topology: obj.NUMATopology,
            cells: Sequence[int], pages: Sequence[int], pins: Sequence[int], reserved: int,
            vcpus: list[list[int]] | None = None) -> obj.InstanceNUMATopology:
    """The kernel's answer for one host as the reference builds it: a copy of each
    guest cell with the host cell's id, the chosen page size if one was asked for, and
    for pinned cells the pinning and the emulator pCPU (plain ints in lists).
    ``vcpus``: ``_vcpu_order(guest)`` if already known.

    The objects are made with ``object.__new__`` and their ``__dict__`` set whole: the
    dataclass constructors cost more than the fit itself (the classes have no
    ``__post_init__``; ``_FIELDS_KNOWN`` is checked against their fields below).
    """
    placed = []
    offset = 0
    host_cells = topology.cells
    isolated = guest.emulator_threads_isolated
    if vcpus is None:
        vcpus = _vcpu_order(guest)
    for g, gc in enumerate(guest.cells):
        pcpuset = gc.pcpuset
        if gc.cpu_policy in _PINNED:
            count = len(pcpuset)
            # zip without strict: the kernel writes one pCPU per pinned vCPU.
            pinning = dict(zip(vcpus[g], pins[offset:offset + count], strict=False))
            cpuset_reserved = {reserved} if g == 0 and isolated else None
            offset += count
        else:
            offset += len(pcpuset)
            pinning = None if gc.cpu_pinning is None else dict(gc.cpu_pinning)
            cpuset_reserved = None if gc.cpuset_reserved is None else set(gc.cpuset_reserved)
        cell = _new(_Cell)
        cell.__dict__ = {
            "id": host_cells[cells[g]].id, "cpuset": set(gc.cpuset),
            "pcpuset": set(pcpuset), "memory": gc.memory,
            "pagesize": pages[g] if gc.pagesize else gc.pagesize,
            "cpu_policy": gc.cpu_policy, "cpu_thread_policy": gc.cpu_thread_policy,
            "cpu_pinning": pinning, "cpuset_reserved": cpuset_reserved}
        placed.append(cell)
    fitted = _new(_Topology)
    fitted.__dict__ = {"cells": placed,
                       "emulator_threads_policy": guest.emulator_threads_policy}
    return fitted


_TOPOLOGY_FIELDS = tuple(f.name for f in dataclasses.fields(obj.InstanceNUMATopology))
if (_TOPOLOGY_FIELDS != ("cells", "emulator_threads_policy")
        or hasattr(_Cell, "__post_init__") or hasattr(_Topology, "__post_init__")
        or hasattr(_Cell, "__slots__")):  # pragma: no cover - the objects changed shape
    raise ImportError("kernel._decode builds InstanceNUMACell/InstanceNUMATopology by "
                      "their fields: update it for their new shape")


if _CELL_FIELDS != _FIELDS_KNOWN:  # pragma: no cover - a new field should be set above
    _decode_known = _decode

    def _decode(guest, topology, cells, pages, pins, reserved, vcpus=None):  # noqa: F811
        fitted = _decode_known(guest, topology, cells, pages, pins, reserved, vcpus)
        for cell, guest_cell in zip(fitted.cells, guest.cells, strict=True):
            for name in set(_CELL_FIELDS) - set(_FIELDS_KNOWN):
                setattr(cell, name, copy.deepcopy(getattr(guest_cell, name)))
        return fitted


# -- entry points ------------------------------------------------------------------------

def fit_hosts(request: FitRequest, arrays: HostArrays, hosts: Iterable[int] | None = None,
              want_details_for: Iterable[int] = ()) -> FitResult:
    """Which of ``hosts`` (rows; default every row) can take ``request.guest``.

    ``want_details_for`` lists rows whose fitted guest topology is wanted (None in
    ``fitted`` when it does not fit). A guest without NUMA cells, like a host without
    a topology, fits nowhere (as ``numa_fit_instance_to_host``).
    """
    global _warned_missing
    if (hosts is not None and type(hosts) in _PLAIN and not hosts
            and type(want_details_for) in _PLAIN and len(want_details_for) == 1):
        # One host with its answer (the scheduler's consume): the lean one-row path.
        result = (_kernel.fit_one(request, arrays, want_details_for[0])
                  if _kernel is not None else _GENERAL)
        if result is not _GENERAL:
            return result
    rows = (np.arange(arrays.size, dtype=np.int64) if hosts is None
            else np.asarray(list(hosts) if not isinstance(hosts, np.ndarray) else hosts,
                            dtype=np.int64))
    details = np.array(sorted(set(int(r) for r in want_details_for)), dtype=np.int64)
    for given in ((details,) if hosts is None else (rows, details)):
        if not len(given):
            continue
        # Python's min/max for a few rows: a numpy reduction costs more than the fit.
        few = given.tolist() if len(given) <= 64 else None
        low, high = (min(few), max(few)) if few else (given.min(), given.max())
        if low < 0 or high >= arrays.size:
            raise IndexError(f"host rows must be within 0..{arrays.size - 1}")
    guest = request.guest
    if not guest or not len(guest.cells) or len(rows) == 0 and len(details) == 0:
        return FitResult(rows, np.zeros(len(rows), dtype=bool),
                         {int(r): None for r in details})

    reason = None
    if _kernel is None:
        if not _warned_missing:
            LOG.warning("nova_tx._speedups.numa_kernel is not built: NUMA fitting uses "
                        "the pure-Python reference (make venv builds the kernel)")
            _warned_missing = True
        reason = "no kernel"
    else:
        reason = _unsupported(guest)
        if reason:
            LOG.debug("NUMA request fitted by the reference: %s", reason)
    if reason:
        fitted = {int(r): _reference_fit(request, arrays, int(r)) for r in details}
        fits = np.array([(fitted[int(r)] if int(r) in fitted
                          else _reference_fit(request, arrays, int(r))) is not None
                         for r in rows], dtype=bool)
        return FitResult(rows, fits, fitted)

    pci_requests = list(request.pci_requests or ())
    pci_args: dict = {}
    if pci_requests:
        need, policy, match, keep = _pci_arrays(arrays, pci_requests)
        pci_args = dict(pci_need=need, pci_policy=policy, pci_match=match, pci_keep=keep,
                        pci_desc=True)
    network = request.network
    net_args: dict = {}
    if network is not None and (network.physnets or network.tunneled):
        zeros = np.zeros(arrays.size, dtype=np.uint64)
        physnets = sorted(network.physnets)
        masks = (np.stack([arrays.physnet_masks.get(p, zeros) for p in physnets], axis=1)
                 if physnets else np.zeros((arrays.size, 0), dtype=np.uint64))
        net_args = dict(phys_masks=masks, net_check=True, tunneled=network.tunneled)
    if request.host_limits:
        use_limits, cpu, ram = True, arrays.cpu_allocation_ratio, arrays.ram_allocation_ratio
    elif request.limits is not None:
        use_limits = True
        cpu = np.full(arrays.size, request.limits.cpu_allocation_ratio, dtype=np.float64)
        ram = np.full(arrays.size, request.limits.ram_allocation_ratio, dtype=np.float64)
    else:
        use_limits, cpu, ram = False, arrays.cpu_allocation_ratio, arrays.ram_allocation_ratio

    fits, cells, pages, pins, reserved = _kernel.fit_rows(
        arrays, _encode_guest(guest), 1 if guest.emulator_threads_isolated else 0,
        request.pack, use_limits, cpu, ram, rows, details, **pci_args, **net_args,
        sets_only=_FORCE_SET_SEARCH)
    fits = fits.astype(bool)
    fitted: dict[int, obj.InstanceNUMATopology | None] = {}
    for i, row in enumerate(details.tolist()):
        if arrays.fallback[row]:
            fitted[row] = _reference_fit(request, arrays, row)
        elif cells[i, 0] < 0:
            fitted[row] = None
        else:
            fitted[row] = _decode(guest, arrays.topologies[row], cells[i].tolist(),
                                  pages[i].tolist(), pins[i].tolist(), int(reserved[i, 0]))
    fallback = (np.flatnonzero(arrays.fallback[rows])
                if len(rows) and arrays.fallback.any() else ())
    if len(fallback):
        LOG.debug("%d host(s) beyond the kernel's layout fitted by the reference",
                  len(fallback))
    for i in fallback:
        row = int(rows[i])
        got = fitted[row] if row in fitted else _reference_fit(request, arrays, row)
        fits[i] = got is not None
    return FitResult(rows, fits, fitted)


_PLAIN = (tuple, list)
_GENERAL = object()             # numa_kernel.fit_one: "ask the general path"
# Shared by the one-row answers (empty: nothing to write into).
_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_FITS = np.zeros(0, dtype=bool)


def _prepare(request: FitRequest) -> tuple:
    """The request as the kernel's one-row path (``numa_kernel.fit_one``) reads it,
    kept in its ``__dict__`` as ``_lean`` until a field of the request is assigned:
    ``(guest, pack, use_limits, cpu_ratio, ram_ratio)`` with ``guest`` the encoded
    ``numa_kernel.Guest`` and its decoder, or None for what only the general path
    handles: no guest cells, PCI requests, network affinity, a guest the kernel does
    not encode, a guest cell field the decoder does not know (it would be shared
    between the fitted copies instead of deep-copied). ``cpu_ratio``/``ram_ratio``
    None: the row's own (``host_limits``)."""
    guest, limits = request.guest, request.limits
    network = limits.network_metadata if limits is not None else None
    code = None
    if (guest and guest.cells and not request.pci_requests
            and (network is None or not (network.physnets or network.tunneled))
            and not _unsupported(guest) and _CELL_FIELDS == _FIELDS_KNOWN):
        code = _kernel.Guest(
            [(len(c.cpuset), len(c.pcpuset), c.memory, c.pagesize or 0,
              _POLICY[c.cpu_policy], _THREAD.get(c.cpu_thread_policy, 1))
             for c in guest.cells],
            1 if guest.emulator_threads_isolated else 0)
        code.set_decoder(
            _Cell, _Topology, [dict(c.__dict__) for c in guest.cells],
            _vcpu_order(guest), [c.cpu_policy in _PINNED for c in guest.cells],
            [bool(c.pagesize) for c in guest.cells], guest.emulator_threads_policy)
    if request.host_limits:
        ratios = (True, None, None)
    elif limits is not None:
        ratios = (True, float(limits.cpu_allocation_ratio),
                  float(limits.ram_allocation_ratio))
    else:
        ratios = (False, None, None)
    lean = (code, bool(request.pack), *ratios)
    request.__dict__["_lean"] = lean
    return lean


if _kernel is not None:
    _kernel.configure(_GENERAL, _prepare, FitResult, _NO_ROWS, _NO_FITS)


# fit_host's one-row arrays, per host topology object (the compute claim fits the same
# host again and again; a claim's new topology is a new object). An entry is used while
# the topology is the same object, its cells the same objects with the same usage (CPU
# and memory usage, pinned CPUs, pages used and reserved), and its layout containers
# (CPU sets, siblings, pages, networks) the same objects of the same sizes; the PCI
# pools compare by object, count and node. The entries hold their topologies (at most
# _ROW_CACHE_SIZE, oldest dropped first), so an id is never reused while cached.
_ROW_CACHE: dict[int, tuple] = {}
_ROW_CACHE_SIZE = 128


def _host_key(host: obj.NUMATopology, pools: Sequence[obj.PciDevicePool] | None) -> tuple:
    return (id(host.cells), len(host.cells),
            tuple((id(c), c.id, c.memory, c.cpu_usage, c.memory_usage,
                   frozenset(c.pinned_cpus), id(c.cpuset), len(c.cpuset), id(c.pcpuset),
                   len(c.pcpuset), id(c.siblings), len(c.siblings), c.socket,
                   id(c.network_metadata), id(c.mempages),
                   tuple([(p.size_kb, p.total, p.used, p.reserved) for p in c.mempages]))
                  for c in host.cells),
            None if pools is None else tuple([(id(p), p.count, p.numa_node) for p in pools]))


def _one_row(host: obj.NUMATopology, pools: Sequence[obj.PciDevicePool] | None
             ) -> HostArrays:
    key = _host_key(host, pools)
    hit = _ROW_CACHE.get(id(host))
    if hit is not None and hit[0] is host and hit[1] == key:
        return hit[2]
    arrays = HostArrays.from_topologies([host], [pools])
    if len(_ROW_CACHE) >= _ROW_CACHE_SIZE:
        _ROW_CACHE.pop(next(iter(_ROW_CACHE)))
    _ROW_CACHE[id(host)] = (host, key, arrays)
    return arrays


def fit_host(host: obj.NUMATopology | None, guest: obj.InstanceNUMATopology | None,
             limits: obj.NUMATopologyLimits | None = None,
             pci_requests: Sequence[obj.InstancePCIRequest] | None = None,
             pci_pools: Sequence[obj.PciDevicePool] | None = None,
             pack: bool = False) -> obj.InstanceNUMATopology | None:
    """``numa_fit_instance_to_host`` through the kernel (the compute claim's form).

    The host's one-row ``HostArrays`` are kept per topology object while its usage is
    unchanged (``_one_row``); edit a topology's CPU sets, siblings or pages by
    replacing them, not in place, or pass a new topology (a claim makes one).
    """
    if not host or not guest:
        return None
    arrays = _one_row(host, pci_pools)
    request = FitRequest(guest, limits, list(pci_requests or ()), pack)
    return fit_hosts(request, arrays, hosts=(), want_details_for=(0,)).fitted[0]


def claim(host: obj.NUMATopology, requested: obj.InstanceNUMATopology | None,
          limits: obj.NUMATopologyLimits | None = None,
          pci_requests: Sequence[obj.InstancePCIRequest] | None = None,
          pci_pools: Sequence[obj.PciDevicePool] | None = None,
          pack: bool = False,
          ) -> tuple[obj.InstanceNUMATopology | None, obj.NUMATopology] | None:
    """``hardware.claim`` with the fit done by the kernel: (fitted guest, new host) or None.

    A guest without a NUMA topology claims nothing: (None, an unchanged copy).
    """
    if requested is None:
        return None, copy.deepcopy(host)
    fitted = fit_host(host, requested, limits, pci_requests, pci_pools, pack)
    if fitted is None:
        return None
    return fitted, numa_usage.numa_usage_from_instance_numa(host, fitted)


def filter_hosts(request: FitRequest, arrays: HostArrays, flavor: obj.Flavor,
                 image: obj.ImageMeta | None, hosts: Iterable[int] | None = None,
                 want_details_for: Iterable[int] = ()) -> FitResult:
    """The NUMATopologyFilter over many rows (``host_passes_numa_topology`` per row).

    A guest without a NUMA topology passes every host (``fitted`` None); a NUMA guest
    needs a host topology and a fit, and a ``dedicated`` + ``require`` request (read
    from the raw flavor and image values) needs a host with SMT.
    """
    rows = np.arange(arrays.size, dtype=np.int64) if hosts is None \
        else np.asarray(list(hosts), dtype=np.int64)
    if request.guest is None:
        details = {int(r): None for r in want_details_for}
        return FitResult(rows, np.ones(len(rows), dtype=bool), details)
    result = fit_hosts(request, arrays, rows, want_details_for)
    if numa_fit.requires_smt_host(flavor, image):
        smt = arrays.has_threads[rows].copy()
        for i in np.flatnonzero(arrays.fallback[rows]):
            topology = arrays.topologies[int(rows[i])]
            smt[i] = bool(topology and topology.has_threads)
        result.fits &= smt
        for row in list(result.fitted):
            topology = arrays.topologies[row]
            if not (topology and topology.has_threads):
                result.fitted[row] = None
    return result

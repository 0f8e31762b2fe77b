"""Fitting a guest NUMA topology onto a host's NUMA cells (spec/E §2.5–§2.8, §2.10.3).

The order of everything here decides *which* host cells and *which* pCPUs a guest
gets, and the compiled kernel must reproduce it exactly:

1. Host cells are ordered by three successive stable sorts (§2.5 step 2), only when
   the host has more cells than the guest.
2. Guest cell ``i`` is tried on host cells in that order, each host cell used once:
   the first complete assignment in lexicographic order that also passes the PCI and
   network checks wins.
3. Inside a cell, pCPUs come from sibling sets ordered by their lowest CPU, CPUs of a
   set ascending (§2.8); page sizes are tried largest first for ``large``/``any``.

Why a depth-first search gives Nova's answer without walking permutations: Nova walks
``itertools.permutations(host_cells, len(guest))`` in order and takes the first one
whose every (host cell, guest cell) pair fits and which passes the PCI and network
checks. Whether a pair fits depends only on the host cell, the guest cell and whether
it is guest cell 0 (which alone carries the emulator-thread reservation), never on the
other pairs, so it is computed once per pair and cached. A depth-first search that,
at depth ``i``, tries the unused host cells in ascending position visits complete
assignments in the same lexicographic order as ``permutations``; cutting a branch at a
pair that does not fit drops exactly the permutations Nova would reject for that pair.
The complete, fitting assignments therefore come out in Nova's order, and the same
final checks pick the same first one.

Decisions applied (spec/E §0.2): D9 (a mixed guest cell with no pinned vCPU fits with
an empty pinning) and D10 (pinned guests without a page size need *free* small pages,
or free memory when the host reports no pages).
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.virt import pci_affinity

__all__ = [
    "fit_instance_cell",
    "host_passes_numa_topology",
    "requires_smt_host",
    "numa_fit_instance_to_host",
    "pin_instance_cell",
    "select_page_size",
    "sort_host_cells",
]

Pinning = list[tuple[int, int]]


# -- page sizes (§2.7) ----------------------------------------------------------------

def select_page_size(host_cell: obj.NUMACell, guest_cell: obj.InstanceNUMACell) -> int | None:
    """The page size (KiB) whose *free* pages hold the guest cell's memory, or None.

    ``small`` is the smallest size; ``large`` every other size and ``any`` every size,
    largest first; an explicit size only itself (``MemoryPageSizeNotSupported`` when the
    cell lacks it).
    """
    sizes = sorted((pages.size_kb for pages in host_cell.mempages), reverse=True)
    wanted = guest_cell.pagesize
    if wanted == obj.MEMPAGES_SMALL:
        candidates = sizes[-1:]
    elif wanted == obj.MEMPAGES_ANY:
        candidates = sizes
    elif wanted == obj.MEMPAGES_LARGE:
        candidates = sizes[:-1]
    else:
        candidates = [wanted]
    memory_kb = guest_cell.memory * 1024
    for size in candidates:
        if host_cell.can_fit_pagesize(size, memory_kb, use_free=True):
            return size
    return None


# -- CPU pinning (§2.8) ---------------------------------------------------------------

def _get_pinning(threads: int, sets: list[set[int]], vcpus: set[int]) -> Pinning | None:
    """The first ``threads`` CPUs of each set, in order, zipped with the sorted vCPUs."""
    if threads * len(sets) < len(vcpus):
        return None
    pcpus = [cpu for s in sets for cpu in sorted(s)[:threads]]
    return list(zip(sorted(vcpus), pcpus, strict=False))


def _get_reserved(sets: list[set[int]], pinning: Pinning, count: int, isolate: bool = False
                  ) -> set[int] | None:
    """``count`` pCPUs for the emulator threads, left over by ``pinning``, or None.

    Under ``isolate`` a core with a pinned thread is given up whole.
    """
    if count == 0:
        return None
    pinned = {pcpu for _, pcpu in pinning}
    left: list[int] = []
    for s in sets:
        if isolate and s & pinned:
            continue
        left.extend(cpu for cpu in sorted(s) if cpu not in pinned)
    if len(left) < count:
        return None
    return set(left[:count])


def pin_instance_cell(host_cell: obj.NUMACell, guest_cell: obj.InstanceNUMACell,
                      reserved: int = 0) -> tuple[dict[int, int], set[int] | None] | None:
    """Pin the guest cell's ``pcpuset`` to free pCPUs of ``host_cell`` (``_pack``).

    Returns the pinning {vCPU: pCPU} and the emulator reservation (None when
    ``reserved`` is 0), or None when the thread policy cannot be met.
    """
    if not guest_cell.pcpuset and not reserved:
        return {}, None  # D9: a mixed cell without pinned vCPUs
    threads_per_core = max((len(s) for s in host_cell.siblings), default=0) or 1
    sets: dict[int, list[set[int]]] = {}
    for sib in host_cell.free_siblings:
        for k in range(1, len(sib) + 1):
            sets.setdefault(k, []).append(sib)
    vcpus = guest_cell.pcpuset
    policy = guest_cell.cpu_thread_policy
    pinning: Pinning | None = None
    cpuset_reserved: set[int] | None = None

    if policy == obj.THREAD_POLICY_ISOLATE:
        if threads_per_core not in sets:
            return None
        # bug #1889633: on the new-style layout (cpu_dedicated_set), isolate means "a
        # host without SMT"; only the legacy layout burns sibling threads.
        if threads_per_core != 1 and host_cell.pcpuset != host_cell.cpuset:
            return None
        pinning = _get_pinning(1, sets[threads_per_core], vcpus)
        if pinning is not None:
            cpuset_reserved = _get_reserved(sets.get(1, []), pinning, reserved, isolate=True)
    else:
        if policy == obj.THREAD_POLICY_REQUIRE and threads_per_core <= 1:
            return None
        for k in sorted(sets, reverse=True):
            if policy == obj.THREAD_POLICY_REQUIRE and k <= 1:
                continue
            pinning = _get_pinning(k, sets[k], vcpus)
            cpuset_reserved = _get_reserved(sets.get(1, []), pinning or [], reserved)
            if pinning is None or (reserved and not cpuset_reserved):
                continue
            break
        if policy != obj.THREAD_POLICY_REQUIRE and pinning is None:
            # Fall back to any free pCPUs, each treated as its own core.
            singles = [{cpu} for s in sets.get(1, []) for cpu in sorted(s)]
            pinning = _get_pinning(1, singles, vcpus)
            cpuset_reserved = _get_reserved(singles, pinning or [], reserved)

    if pinning is None or (reserved and not cpuset_reserved):
        return None
    return dict(pinning), cpuset_reserved


# -- one cell (§2.6) ------------------------------------------------------------------

def fit_instance_cell(host_cell: obj.NUMACell, guest_cell: obj.InstanceNUMACell,
                      limits: obj.NUMATopologyLimits | None = None, reserved: int = 0
                      ) -> obj.InstanceNUMACell | None:
    """A copy of ``guest_cell`` placed on ``host_cell`` (id, page size, pinning), or None.

    ``reserved`` is the number of extra pCPUs for the emulator threads (1 for guest
    cell 0 under ``hw:emulator_threads_policy=isolate``). May raise
    ``MemoryPageSizeNotSupported`` for an explicit page size the cell lacks.
    """
    cell = copy.deepcopy(guest_cell)
    pinned = cell.cpu_pinning_requested
    floating = cell.cpu_policy in (None, obj.CPU_POLICY_SHARED, obj.CPU_POLICY_MIXED)

    if cell.pagesize:
        pagesize = select_page_size(host_cell, cell)
        if not pagesize:
            return None
        cell.pagesize = pagesize
    elif host_cell.mempages:
        smallest = min(pages.size_kb for pages in host_cell.mempages)
        # Never overcommit a guest against itself; pinned guests also get no memory
        # overcommit at all (D10).
        if not host_cell.can_fit_pagesize(smallest, cell.memory * 1024, use_free=pinned):
            return None
    elif pinned:
        if cell.memory > host_cell.avail_memory:
            return None
    elif cell.memory > host_cell.memory:
        return None

    if pinned and len(cell.pcpuset) + reserved > len(host_cell.pcpuset):
        return None
    if floating and len(cell.cpuset) > len(host_cell.cpuset):
        return None

    if pinned:
        if len(cell.pcpuset) + reserved > host_cell.avail_pcpus:
            return None
        if cell.memory > host_cell.avail_memory:
            return None
        placed = pin_instance_cell(host_cell, cell, reserved)
        if placed is None:
            return None
        cell.cpu_pinning, cell.cpuset_reserved = placed

    if floating and limits is not None:
        cpu_limit = len(host_cell.cpuset) * limits.cpu_allocation_ratio
        if host_cell.cpu_usage + len(cell.cpuset) > cpu_limit:
            return None
        ram_limit = host_cell.memory * limits.ram_allocation_ratio
        if host_cell.memory_usage + cell.memory > ram_limit:
            return None

    cell.id = host_cell.id
    return cell


# -- the host (§2.5) ------------------------------------------------------------------

def sort_host_cells(host: obj.NUMATopology, guest: obj.InstanceNUMATopology,
                    pci_requests: Sequence[obj.InstancePCIRequest] | None = None,
                    pci_pools: Sequence[obj.PciDevicePool] | None = None,
                    pack: bool = False) -> list[obj.NUMACell]:
    """Host cells in the order they are tried (§2.5 step 2): three stable sorts.

    Only when the host has more cells than the guest; the last sort has the highest
    priority. ``pack`` is ``[compute] packing_host_numa_cells_allocation_strategy``.
    """
    cells = list(host.cells)
    if len(host.cells) <= len(guest.cells):
        return cells
    cells = sorted(cells, reverse=not pack, key=lambda c: c.avail_memory)
    if guest.cells[0].cpu_policy in (None, obj.CPU_POLICY_SHARED):
        cells = sorted(cells, reverse=pack, key=lambda c: c.cpu_usage)
    else:
        cells = sorted(cells, reverse=not pack, key=lambda c: len(c.free_pcpus))
    if pci_pools is not None:
        free = pci_affinity.free_devices_per_cell(pci_pools)
        # Whatever the strategy: cells with devices first if devices are requested,
        # last otherwise.
        cells = sorted(cells, reverse=bool(pci_requests), key=lambda c: free.get(c.id, 0))
    return cells


def _network_affinity_ok(host: obj.NUMATopology, chosen: list[obj.NUMACell],
                         network: obj.NetworkMetadata | None) -> bool:
    """§2.10.3: requested physnets and tunnels must not be affine only to unused cells."""
    if network is None:
        return True
    physnets = set(network.physnets)
    if physnets:
        for cell in chosen:
            physnets -= cell.network_metadata.physnets
        if any(physnets & cell.network_metadata.physnets for cell in host.cells):
            return False
    if network.tunneled:
        if any(cell.network_metadata.tunneled for cell in chosen):
            return True
        if any(cell.network_metadata.tunneled for cell in host.cells):
            return False
    return True


def numa_fit_instance_to_host(
    host: obj.NUMATopology | None,
    guest: obj.InstanceNUMATopology | None,
    limits: obj.NUMATopologyLimits | None = None,
    pci_requests: Sequence[obj.InstancePCIRequest] | None = None,
    pci_pools: Sequence[obj.PciDevicePool] | None = None,
    pack: bool = False,
) -> obj.InstanceNUMATopology | None:
    """The guest placed on the host (cells carry host ids, pinning, page sizes), or None.

    ``limits`` carries the host's allocation ratios (None: no overcommit check) and the
    request's network affinity. ``pci_pools`` are the host's free PCI device pools
    (None when the host reports none); ``pack`` is ``[compute]
    packing_host_numa_cells_allocation_strategy`` (False, spread, by default). Neither
    argument is modified.
    """
    if not host or not guest or len(host.cells) < len(guest.cells):
        return None
    ordered = sort_host_cells(host, guest, pci_requests, pci_pools, pack)
    reserve_first = 1 if guest.emulator_threads_isolated else 0
    cache: dict[tuple[int, int], obj.InstanceNUMACell | None] = {}

    def fit(guest_index: int, host_index: int) -> obj.InstanceNUMACell | None:
        key = (guest_index, host_index)
        if key not in cache:
            reserved = reserve_first if guest_index == 0 else 0
            try:
                cache[key] = fit_instance_cell(ordered[host_index], guest.cells[guest_index],
                                               limits, reserved)
            except exception.MemoryPageSizeNotSupported:
                cache[key] = None
        return cache[key]

    def assignments(depth: int, used: list[int]) -> Iterator[list[int]]:
        if depth == len(guest.cells):
            yield list(used)
            return
        for host_index in range(len(ordered)):
            if host_index in used or fit(depth, host_index) is None:
                continue
            used.append(host_index)
            yield from assignments(depth + 1, used)
            used.pop()

    network = limits.network_metadata if limits is not None else None
    for assignment in assignments(0, []):
        cells = [copy.deepcopy(fit(i, h)) for i, h in enumerate(assignment)]
        if pci_requests and pci_pools is not None and not pci_affinity.support_requests(
                list(pci_pools), pci_requests, cells, host):
            continue
        if not _network_affinity_ok(host, [ordered[h] for h in assignment], network):
            continue
        return obj.InstanceNUMATopology(cells=cells,
                                        emulator_threads_policy=guest.emulator_threads_policy)
    return None


def requires_smt_host(flavor: obj.Flavor, image: obj.ImageMeta | None) -> bool:
    """Whether the raw flavor and image values (not the resolved ones, as Nova's filter
    reads them) ask for ``dedicated`` with ``require``: such a guest needs a host with
    SMT sibling threads."""
    specs = flavor.extra_specs or {}
    props = image.properties if image is not None else {}
    policies = {specs.get("hw:cpu_policy"), props.get("hw_cpu_policy")}
    threads = {specs.get("hw:cpu_thread_policy"), props.get("hw_cpu_thread_policy")}
    return obj.CPU_POLICY_DEDICATED in policies and obj.THREAD_POLICY_REQUIRE in threads


def host_passes_numa_topology(
    host: obj.NUMATopology | None,
    requested: obj.InstanceNUMATopology | None,
    flavor: obj.Flavor,
    image: obj.ImageMeta | None,
    limits: obj.NUMATopologyLimits | None = None,
    pci_requests: Sequence[obj.InstancePCIRequest] | None = None,
    pci_pools: Sequence[obj.PciDevicePool] | None = None,
    pack: bool = False,
) -> tuple[bool, obj.InstanceNUMATopology | None]:
    """The NUMATopologyFilter's decision for one host (spec/E §2.4): (passes, fitted).

    A guest without a NUMA topology passes anywhere (fitted None); a NUMA guest needs a
    host topology and a fit. First, a ``dedicated`` + ``require`` request (read from
    the raw flavor and image values, not the resolved ones) is refused on a host
    without SMT.
    """
    if (host is not None and requested is not None and not host.has_threads
            and requires_smt_host(flavor, image)):
        return False, None
    if requested is None:
        return True, None
    if host is None:
        return False, None
    fitted = numa_fit_instance_to_host(host, requested, limits, pci_requests, pci_pools, pack)
    return fitted is not None, fitted

"""The host state layout of the scheduling kernel: a structure of numpy arrays.

One row per host, one block per NUMA cell, every array C-contiguous with a fixed
dtype, so that ``nova_tx._speedups.numa_kernel`` evaluates one request against every
row in one ``nogil`` call (docs/kernel.md). ``HostArrays.from_topologies`` builds it
from the same ``NUMATopology`` objects the reference (``nova_tx.virt.numa_fit``) reads;
``update_host`` rewrites one row in place (growing the arrays if the new topology is
bigger), so a scheduler can refresh a host after a claim without a rebuild.

Shapes: ``N`` hosts, ``C`` cells (the most any host has, at most 64), ``W`` words of
64 CPUs (enough for the highest CPU number, at most 16 = 1,024 CPUs), ``P`` page sizes
(the most any cell has), ``K`` sibling entries (the most any host has).

Per host
    ``n_cells[N]`` int32
        cells of the host; 0 for a host without a NUMA topology (it fits no NUMA guest).
    ``has_threads[N]`` bool
        any sibling set with more than one CPU (``NUMATopology.has_threads``).
    ``any_socket_none[N]`` bool
        some cell reports no socket (the PCI ``socket`` policy then finds nothing).
    ``cpu_allocation_ratio[N]``, ``ram_allocation_ratio[N]`` float64
        the host's ratios, used when a request asks for per-host limits.
    ``has_pci_pools[N]`` bool
        the host reports PCI pools (``pci_pools is not None``, even if empty).
    ``tunnel_mask[N]`` uint64
        bit ``j`` set when cell ``j`` is affine to the tunnel network.
    ``fallback[N]`` bool
        the host does not fit the layout (more than 64 cells or a CPU above 1,023):
        its row is empty and ``nova_tx.scheduler.kernel`` fits it with the reference.

Per cell (``[N, C]``, cell ``j`` is ``topology.cells[j]``, host order)
    ``cell_id`` int32, ``cell_socket`` int32 (-1 for None),
    ``memory``, ``memory_usage``, ``cpu_usage`` int64 (MiB, MiB, vCPUs),
    ``cpuset_count``, ``pcpuset_count`` int32, ``legacy`` bool (``cpuset == pcpuset``),
    ``threads_per_core`` int32 (largest sibling set, at least 1; spec/E §2.8 ``tpc``),
    ``pci_free`` int64 (free devices of every pool on the cell: the third cell sort key),
    ``sib_start``, ``sib_end`` int32 (the cell's slice of the sibling entries),
    ``sib_simple`` bool (the sibling sets are disjoint and cover ``pcpuset``: then a
    ``prefer`` pinning exists whenever enough pCPUs are free, and the kernel only
    walks the siblings to say which).

CPU sets (``[N, C, W]`` uint64, CPU ``c`` is bit ``c % 64`` of word ``c // 64``)
    ``cpuset`` (shared CPUs), ``pcpuset`` (dedicated CPUs), ``pinned`` (pinned CPUs,
    restricted to ``pcpuset``: only ``pcpuset - pinned`` is ever read).

Pages (``[N, C, P]`` int64, ``n_pages[N, C]`` int32 entries used per cell)
    ``page_size`` (KiB), ``page_total``, ``page_used``, ``page_reserved``: sorted by
    size, largest first, with a stable sort, so the first entry of a size is the one
    ``NUMACell.can_fit_pagesize`` reads and the candidate order is the reference's.

Sibling sets (``[N, K]``)
    ``sib_cpu`` int32 and ``sib_head`` uint8: the CPUs of every sibling set that are
    in the cell's ``pcpuset`` (the only CPUs that can ever be free), cell by cell, set
    by set in the topology's order (lowest CPU first), ascending inside a set;
    ``sib_head`` marks the first kept entry of each set. Free sibling sets are the
    entries not pinned, read with the set boundaries.

PCI pools (one row per pool of every host, ``[Q]``)
    ``pool_host`` int32, ``pool_bucket`` int32 (cell position, ``C`` for
    ``numa_node=None``, ``C + 1`` for a node that is no cell of the host),
    ``pool_count`` int64, ``pool_kind`` int32 (index into ``pool_kinds``: pools alike
    in everything a request spec matches on share a kind), ``pool_is_pf``,
    ``pool_is_vdpa``, ``pool_is_remote`` bool.

Network affinity
    ``physnet_masks``: physnet name -> uint64[N], bit ``j`` set when cell ``j`` is
    affine to it.

``topologies`` and ``pci_pools`` keep the objects each row was built from: the
kernel's detailed results copy the guest cells from them, and fallback rows are fitted
by the reference from them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nova_tx.objects import numa as obj

__all__ = ["MAX_CELLS", "MAX_WORDS", "HostArrays"]

MAX_CELLS = 64      # cell masks are one uint64
MAX_WORDS = 16      # 1,024 CPUs per host; the kernel's scratch sets are this wide
_BUCKETS_EXTRA = 2  # pool buckets after the cells: numa_node None, then unknown node

_TRUE = ("1", "t", "true", "on", "y", "yes")

# (name, dtype, trailing shape) of every array; the trailing shape names dims.
_HOST_FIELDS = (
    ("n_cells", np.int32), ("has_threads", np.bool_), ("any_socket_none", np.bool_),
    ("cpu_allocation_ratio", np.float64), ("ram_allocation_ratio", np.float64),
    ("has_pci_pools", np.bool_), ("tunnel_mask", np.uint64), ("fallback", np.bool_),
)
_CELL_FIELDS = (
    ("cell_id", np.int32), ("cell_socket", np.int32), ("memory", np.int64),
    ("memory_usage", np.int64), ("cpu_usage", np.int64), ("cpuset_count", np.int32),
    ("pcpuset_count", np.int32), ("legacy", np.bool_), ("threads_per_core", np.int32),
    ("pci_free", np.int64), ("sib_start", np.int32), ("sib_end", np.int32),
    ("sib_simple", np.bool_), ("n_pages", np.int32),
)
_WORD_FIELDS = (("cpuset", np.uint64), ("pcpuset", np.uint64), ("pinned", np.uint64))
_PAGE_FIELDS = (("page_size", np.int64), ("page_total", np.int64), ("page_used", np.int64),
                ("page_reserved", np.int64))
_SIB_FIELDS = (("sib_cpu", np.int32), ("sib_head", np.uint8))
_POOL_FIELDS = (("pool_host", np.int32), ("pool_bucket", np.int32), ("pool_count", np.int64),
                ("pool_kind", np.int32), ("pool_is_pf", np.bool_), ("pool_is_vdpa", np.bool_),
                ("pool_is_remote", np.bool_))

# What the kernel's cached buffer pointers (``_kernel_view``) depend on: assigning any
# of these attributes drops the view (writes into the arrays keep it).
_VIEWED = frozenset(
    [name for name, _ in (*_HOST_FIELDS, *_CELL_FIELDS, *_WORD_FIELDS, *_PAGE_FIELDS,
                          *_SIB_FIELDS)]
    + ["size", "cells", "words", "pages", "entries", "topologies"])


def _is_true(value: Any) -> bool:
    return value is not None and str(value).strip().lower() in _TRUE


def _words(cpus: set[int], width: int) -> list[int]:
    bits = 0
    for cpu in cpus:
        bits |= 1 << cpu
    return [(bits >> (64 * i)) & 0xFFFFFFFFFFFFFFFF for i in range(width)]


def _pool_kind_key(pool: obj.PciDevicePool) -> tuple:
    return (pool.vendor_id, pool.product_id, pool.dev_type, tuple(sorted(pool.tags.items())))


def _dims(topology: obj.NUMATopology | None) -> tuple[int, int, int, int, bool]:
    """(cells, words, page sizes, sibling entries, representable) of one host."""
    if not topology:
        return 0, 1, 0, 0, True
    top = -1
    pages = entries = 0
    for cell in topology.cells:
        cpus = cell.cpuset | cell.pcpuset
        if cpus:
            top = max(top, max(cpus))
        if min(cpus, default=0) < 0 or max(map(len, cell.siblings), default=0) > 64 * MAX_WORDS:
            return 0, 1, 0, 0, False
        pages = max(pages, len(cell.mempages))
        # An upper bound of the entries kept (those in pcpuset): the arrays are padding.
        entries += sum(map(len, cell.siblings))
    words = top // 64 + 1 if top >= 0 else 1
    ok = len(topology.cells) <= MAX_CELLS and words <= MAX_WORDS
    return len(topology.cells), words, pages, entries, ok


class HostArrays:
    """Host NUMA state for the kernel: one row per host (see the module docstring)."""

    # The kernel trusts its cached view of these arrays without comparing every array
    # (a one-row fit costs less than that): __setattr__ drops it on any replacement.
    _kernel_view_tracked = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _VIEWED:
            self.__dict__.pop("_kernel_view", None)
        object.__setattr__(self, name, value)

    def __init__(self, size: int, cells: int = 1, words: int = 1, pages: int = 1,
                 entries: int = 1) -> None:
        self.size = size
        self.cells, self.words = max(cells, 1), max(words, 1)
        self.pages, self.entries = max(pages, 1), max(entries, 1)
        n, c, w, p, k = size, self.cells, self.words, self.pages, self.entries
        for name, dtype in _HOST_FIELDS:
            setattr(self, name, np.zeros(n, dtype=dtype))
        for name, dtype in _CELL_FIELDS:
            setattr(self, name, np.zeros((n, c), dtype=dtype))
        for name, dtype in _WORD_FIELDS:
            setattr(self, name, np.zeros((n, c, w), dtype=dtype))
        for name, dtype in _PAGE_FIELDS:
            setattr(self, name, np.zeros((n, c, p), dtype=dtype))
        for name, dtype in _SIB_FIELDS:
            setattr(self, name, np.zeros((n, k), dtype=dtype))
        for name, dtype in _POOL_FIELDS:
            setattr(self, name, np.zeros(0, dtype=dtype))
        self.pool_kinds: list[obj.PciDevicePool] = []
        # The pool objects, aligned with the table (an object array): for specs that
        # match on a pool's own numa_node or count, which kinds do not capture.
        self.pool_list = np.zeros(0, dtype=object)
        self._kind_index: dict[tuple, int] = {}
        self.physnet_masks: dict[str, np.ndarray] = {}
        self.topologies: list[obj.NUMATopology | None] = [None] * n
        self.pci_pools: list[list[obj.PciDevicePool] | None] = [None] * n

    # -- building ------------------------------------------------------------------------

    @classmethod
    def from_topologies(
        cls,
        topologies: Sequence[obj.NUMATopology | None],
        pci_pools: Sequence[Sequence[obj.PciDevicePool] | None] | None = None,
        cpu_allocation_ratio: float | Sequence[float] = 16.0,
        ram_allocation_ratio: float | Sequence[float] = 1.5,
    ) -> HostArrays:
        """The arrays of ``topologies`` (None: a host without NUMA information).

        ``pci_pools[i]`` are host ``i``'s free PCI device pools (None: it reports none);
        the ratios are one value for every host or one per host.
        """
        count = len(topologies)
        dims = [_dims(t) for t in topologies]
        fits = [d for d in dims if d[4]]
        arrays = cls(count,
                     max((d[0] for d in fits), default=1), max((d[1] for d in fits), default=1),
                     max((d[2] for d in fits), default=1), max((d[3] for d in fits), default=1))
        cpu_ratios = _per_host(cpu_allocation_ratio, count)
        ram_ratios = _per_host(ram_allocation_ratio, count)
        pools_rows: list[tuple] = []
        for row, topology in enumerate(topologies):
            pools = None if pci_pools is None else pci_pools[row]
            arrays._write_row(row, topology, pools, cpu_ratios[row], ram_ratios[row],
                              dims[row][4])
            pools_rows.extend(arrays._pool_rows(row))
        arrays._set_pool_table(pools_rows)
        return arrays

    def update_host(self, row: int, topology: obj.NUMATopology | None,
                    pci_pools: Sequence[obj.PciDevicePool] | None = None,
                    cpu_allocation_ratio: float | None = None,
                    ram_allocation_ratio: float | None = None) -> None:
        """Rewrite row ``row`` from a new topology (and pools); ratios kept unless given."""
        if not 0 <= row < self.size:
            raise IndexError(f"host row {row} is not within 0..{self.size - 1}")
        had_pools = bool(self.pci_pools[row])
        cells, words, pages, entries, ok = _dims(topology)
        if ok:
            self._grow(cells, words, pages, entries)
        cpu = self.cpu_allocation_ratio[row] if cpu_allocation_ratio is None \
            else cpu_allocation_ratio
        ram = self.ram_allocation_ratio[row] if ram_allocation_ratio is None \
            else ram_allocation_ratio
        self._write_row(row, topology, pci_pools, float(cpu), float(ram), ok)
        if had_pools or pci_pools:
            self._set_pool_table(self._pool_rows(row), keep=self.pool_host != row)

    def resize(self, size: int) -> None:
        """Grow to ``size`` rows; the new rows are hosts without NUMA information.

        The scheduler's host state adds hosts into spare rows, doubling the arrays when
        it runs out (``nova_tx.scheduler.host_state``); rows are never removed (a
        removed host's row is rewritten empty and reused).
        """
        if size < self.size:
            raise ValueError(f"cannot shrink {self.size} host rows to {size}")
        if size == self.size:
            return
        old = self.size

        def longer(array: np.ndarray) -> np.ndarray:
            new = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
            new[:old] = array
            return new

        for name, _ in (*_HOST_FIELDS, *_CELL_FIELDS, *_WORD_FIELDS, *_PAGE_FIELDS,
                        *_SIB_FIELDS):
            setattr(self, name, longer(getattr(self, name)))
        for physnet, mask in self.physnet_masks.items():
            self.physnet_masks[physnet] = longer(mask)
        self.topologies.extend([None] * (size - old))
        self.pci_pools.extend([None] * (size - old))
        self.size = size

    def _grow(self, cells: int, words: int, pages: int, entries: int) -> None:
        """Widen every array to at least these dimensions, padding with zeros."""
        c, w = max(self.cells, cells), max(self.words, words)
        p, k = max(self.pages, pages), max(self.entries, entries)
        if (c, w, p, k) == (self.cells, self.words, self.pages, self.entries):
            return
        n = self.size

        def widen(name: str, shape: tuple[int, ...]) -> None:
            old = getattr(self, name)
            new = np.zeros(shape, dtype=old.dtype)
            new[tuple(slice(0, d) for d in old.shape)] = old
            setattr(self, name, new)

        for name, _ in _CELL_FIELDS:
            widen(name, (n, c))
        for name, _ in _WORD_FIELDS:
            widen(name, (n, c, w))
        for name, _ in _PAGE_FIELDS:
            widen(name, (n, c, p))
        for name, _ in _SIB_FIELDS:
            widen(name, (n, k))
        if c != self.cells:
            # The "no node" and "unknown node" buckets follow the cells.
            unknown = self.pool_bucket >= self.cells
            self.pool_bucket[unknown] += c - self.cells
        self.cells, self.words, self.pages, self.entries = c, w, p, k

    def _clear_row(self, row: int) -> None:
        for name, _ in (*_HOST_FIELDS, *_CELL_FIELDS, *_WORD_FIELDS, *_PAGE_FIELDS,
                        *_SIB_FIELDS):
            getattr(self, name)[row] = 0
        for mask in self.physnet_masks.values():
            mask[row] = 0

    def _write_row(self, row: int, topology: obj.NUMATopology | None,
                   pci_pools: Sequence[obj.PciDevicePool] | None,
                   cpu_ratio: float, ram_ratio: float, representable: bool) -> None:
        self._clear_row(row)
        self.topologies[row] = topology
        self.pci_pools[row] = None if pci_pools is None else list(pci_pools)
        self.cpu_allocation_ratio[row] = cpu_ratio
        self.ram_allocation_ratio[row] = ram_ratio
        self.has_pci_pools[row] = pci_pools is not None
        if not topology:
            return
        if not representable:
            self.fallback[row] = True
            return
        cells = topology.cells
        self.n_cells[row] = len(cells)
        self.has_threads[row] = topology.has_threads
        self.any_socket_none[row] = any(cell.socket is None for cell in cells)
        free_pci = {}
        for pool in pci_pools or ():
            free_pci[pool.numa_node] = free_pci.get(pool.numa_node, 0) + pool.count
        n = len(cells)
        # Whole-row slice writes: one numpy call per field, not one per cell.
        self.cell_id[row, :n] = [cell.id for cell in cells]
        self.cell_socket[row, :n] = [-1 if cell.socket is None else cell.socket
                                     for cell in cells]
        self.memory[row, :n] = [cell.memory for cell in cells]
        self.memory_usage[row, :n] = [cell.memory_usage for cell in cells]
        self.cpu_usage[row, :n] = [cell.cpu_usage for cell in cells]
        self.cpuset_count[row, :n] = [len(cell.cpuset) for cell in cells]
        self.pcpuset_count[row, :n] = [len(cell.pcpuset) for cell in cells]
        self.legacy[row, :n] = [cell.cpuset == cell.pcpuset for cell in cells]
        self.threads_per_core[row, :n] = [max(map(len, cell.siblings), default=0) or 1
                                          for cell in cells]
        self.pci_free[row, :n] = [free_pci.get(cell.id, 0) for cell in cells]
        self.cpuset[row, :n] = [_words(cell.cpuset, self.words) for cell in cells]
        self.pcpuset[row, :n] = [_words(cell.pcpuset, self.words) for cell in cells]
        self.pinned[row, :n] = [_words(cell.pinned_cpus & cell.pcpuset, self.words)
                                for cell in cells]
        width = self.pages
        sizes, totals, used, reserved, counts = [], [], [], [], []
        for cell in cells:
            # sorted(reverse=True) keeps equal sizes in their order, as the reference's
            # lookups (first entry of a size) need.
            pages = sorted(cell.mempages, key=lambda p: p.size_kb, reverse=True)
            pad = [0] * (width - len(pages))
            counts.append(len(pages))
            sizes.append([p.size_kb for p in pages] + pad)
            totals.append([p.total for p in pages] + pad)
            used.append([p.used for p in pages] + pad)
            reserved.append([p.reserved for p in pages] + pad)
        self.n_pages[row, :n] = counts
        self.page_size[row, :n] = sizes
        self.page_total[row, :n] = totals
        self.page_used[row, :n] = used
        self.page_reserved[row, :n] = reserved

        sib_cpus: list[int] = []
        sib_heads: list[int] = []
        starts, ends, simple = [], [], []
        for cell in cells:
            entry = len(sib_cpus)
            pcpuset = cell.pcpuset
            for sib in cell.siblings:
                kept = sorted(sib if sib <= pcpuset else sib & pcpuset)
                if kept:
                    sib_cpus.extend(kept)
                    sib_heads.append(1)
                    sib_heads.extend([0] * (len(kept) - 1))
            count = len(sib_cpus) - entry
            starts.append(entry)
            ends.append(len(sib_cpus))
            simple.append(count == len(pcpuset) and len(set(sib_cpus[entry:])) == count)
        self.sib_start[row, :n] = starts
        self.sib_end[row, :n] = ends
        self.sib_simple[row, :n] = simple
        self.sib_cpu[row, :len(sib_cpus)] = sib_cpus
        self.sib_head[row, :len(sib_cpus)] = sib_heads

        tunnel = 0
        for j, cell in enumerate(cells):
            if cell.network_metadata.tunneled:
                tunnel |= 1 << j
            for physnet in cell.network_metadata.physnets:
                mask = self.physnet_masks.get(physnet)
                if mask is None:
                    mask = self.physnet_masks[physnet] = np.zeros(self.size, dtype=np.uint64)
                mask[row] |= np.uint64(1 << j)
        self.tunnel_mask[row] = tunnel

    # -- PCI pools -----------------------------------------------------------------------

    def _pool_rows(self, row: int) -> list[tuple]:
        topology, pools = self.topologies[row], self.pci_pools[row]
        if not pools or self.fallback[row]:
            return []
        position = {cell.id: j for j, cell in enumerate(topology.cells)} if topology else {}
        rows = []
        for pool in pools:
            if pool.numa_node is None:
                bucket = self.cells
            else:
                bucket = position.get(pool.numa_node, self.cells + 1)
            key = _pool_kind_key(pool)
            kind = self._kind_index.get(key)
            if kind is None:
                kind = self._kind_index[key] = len(self.pool_kinds)
                self.pool_kinds.append(pool)
            rows.append((row, bucket, pool.count, kind, pool.dev_type == "type-PF",
                         pool.dev_type == "vdpa", _is_true(pool.tags.get("remote_managed")),
                         pool))
        return rows

    def _set_pool_table(self, rows: list[tuple], keep: np.ndarray | None = None) -> None:
        """The pool table: ``rows`` after the kept rows of the current one (if ``keep``)."""
        for i, (name, dtype) in enumerate(_POOL_FIELDS):
            new = np.array([r[i] for r in rows], dtype=dtype)
            if keep is not None:
                new = np.concatenate([getattr(self, name)[keep], new])
            setattr(self, name, new)
        pools = np.empty(len(rows), dtype=object)
        pools[:] = [r[-1] for r in rows]
        self.pool_list = pools if keep is None else np.concatenate([self.pool_list[keep], pools])

    @property
    def buckets(self) -> int:
        """Pool buckets per host: one per cell, then "no node", then "unknown node"."""
        return self.cells + _BUCKETS_EXTRA


def _per_host(value: float | Sequence[float], count: int) -> list[float]:
    if isinstance(value, int | float):
        return [float(value)] * count
    values = [float(v) for v in value]
    if len(values) != count:
        raise ValueError(f"{len(values)} ratios for {count} hosts")
    return values

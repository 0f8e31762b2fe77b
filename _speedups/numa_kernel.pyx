# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The NUMA fit of one guest against many hosts, in one call (docs/kernel.md).

Compiled twin of ``nova_tx.virt.numa_fit.numa_fit_instance_to_host``: for every host
row of a ``nova_tx.scheduler.host_arrays.HostArrays`` it answers "fits or not" and,
for the rows asked for, which host cells, which pCPUs and which page sizes. Reached
through ``nova_tx.scheduler.kernel``, which encodes the request and decodes the
answers; the reference is the definition of correct and a property test holds the two
together.

Per host (no allocation, no GIL):

1. Order the host cells with the reference's three stable sorts (one composite key).
2. Fill the guest-cell x host-cell fit matrix, one ``uint64`` mask per guest cell
   (bit q: the q-th cell in that order fits), with the per-cell rules of
   ``fit_instance_cell`` (memory and pages, CPU counts, pinning, overcommit limits).
3. Search assignments (guest cell i -> a distinct host cell) depth first, host cells
   in sorted order: the order in which Nova's ``itertools.permutations`` meets them.
   Before going down, a bipartite matching of the remaining guest cells onto the
   unused host cells must exist, so every branch the search enters ends in a complete
   fitting assignment: without PCI or network checks the first leaf is the answer and
   no step ever backtracks; with them, the leaves come in Nova's order and the first
   that passes wins (network affinity, monotone in the chosen cells, also prunes).
"""
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memset
from cpython.object cimport PyTypeObject

cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject*, Py_ssize_t)
    int PyObject_GenericSetDict(object, object, void*) except -1

# setup.py names this module nova_tx._speedups.numa_kernel; the shared bit-word helpers
# are cimported from _speedups/cpuset.pxd as the cpuset kernel does.
from cpuset cimport ctz64, popcount64, words_contains

cdef enum:
    MAXC = 64        # host cells (a cell mask is one uint64)
    MAXW = 16        # words per CPU set: 1,024 CPUs
    MAXG = 64        # guest cells (never more than host cells)
    MAXCPU = 1024

# guest cell policy codes (kernel.py encodes them)
cdef enum:
    POL_NONE = 0
    POL_SHARED = 1
    POL_DEDICATED = 2
    POL_MIXED = 3
cdef enum:
    THR_NONE = 0
    THR_PREFER = 1
    THR_ISOLATE = 2
    THR_REQUIRE = 3
cdef enum:
    PCI_LEGACY = 0
    PCI_REQUIRED = 1
    PCI_PREFERRED = 2
    PCI_SOCKET = 3

MAX_CELLS = MAXC
MAX_WORDS = MAXW
MAX_GUEST_CELLS = MAXG

cdef struct Hosts:
    Py_ssize_t N, C, W, P, K, B
    const int32_t* n_cells
    const uint8_t* any_socket_none
    const uint8_t* has_pci_pools
    const uint64_t* tunnel_mask
    const int32_t* cell_socket
    const int64_t* memory
    const int64_t* memory_usage
    const int64_t* cpu_usage
    const int32_t* cpuset_count
    const int32_t* pcpuset_count
    const uint8_t* legacy
    const int32_t* tpc
    const int64_t* pci_free
    const int32_t* sib_start
    const int32_t* sib_end
    const uint8_t* sib_simple
    const int32_t* n_pages
    const uint64_t* pcpuset
    const uint64_t* pinned
    const int64_t* page_size
    const int64_t* page_total
    const int64_t* page_used
    const int64_t* page_reserved
    const int32_t* sib_cpu
    const uint8_t* sib_head

cdef struct GCell:
    int64_t n_float
    int64_t n_pinned
    int64_t memory
    int64_t pagesize
    int policy
    int thread

cdef struct Req:
    int G
    GCell cells[MAXG]
    int reserve_first
    bint pack
    bint use_limits
    const double* cpu_ratio     # [N], or NULL: cpu_one for every row
    const double* ram_ratio
    double cpu_one
    double ram_one
    # PCI: R requests, [R, N, B] bucket counts of matching / kept devices
    int n_pci
    bint pci_desc
    const int64_t* pci_need
    const int32_t* pci_policy
    const int64_t* pci_match
    const int64_t* pci_keep
    # network: NP physnet cell masks per host, [N, NP]
    bint net_check
    int n_phys
    const uint64_t* phys_masks
    bint tunneled
    bint sets_only      # tests: go straight to the set search

cdef struct Out:
    int32_t* cells      # [G] host cell positions
    int64_t* pages      # [G] chosen page size (0 when the guest cell asked for none)
    int32_t* pins       # [sum n_pinned] pCPUs, guest cell by guest cell
    int32_t* reserved   # [reserve_first] emulator pCPU


# --- one host cell ---------------------------------------------------------------------

cdef inline bint _is_free(const uint64_t* free, int32_t cpu) noexcept nogil:
    return words_contains(free, cpu)


cdef inline Py_ssize_t _set_end(const Hosts* H, Py_ssize_t e, Py_ssize_t end) noexcept nogil:
    e += 1
    while e < end and not H.sib_head[e]:
        e += 1
    return e


cdef inline int64_t _set_free(const Hosts* H, const uint64_t* free, Py_ssize_t e,
                              Py_ssize_t stop) noexcept nogil:
    cdef int64_t f = 0
    while e < stop:
        if _is_free(free, H.sib_cpu[e]):
            f += 1
        e += 1
    return f


cdef int64_t _take(const Hosts* H, const uint64_t* free, Py_ssize_t s0, Py_ssize_t s1,
                   int64_t k, int64_t minf, int64_t nv, uint64_t* pinmask,
                   int32_t* pins) noexcept nogil:
    # _get_pinning: the first k free CPUs of every free sibling set with at least minf
    # free CPUs, in order, until nv are taken (minf = 0: every free CPU as its own set).
    cdef Py_ssize_t e = s0, stop, i
    cdef int64_t taken = 0, got
    cdef int32_t cpu
    memset(pinmask, 0, MAXW * sizeof(uint64_t))
    while e < s1 and taken < nv:
        stop = _set_end(H, e, s1) if minf > 0 else s1
        if minf == 0 or _set_free(H, free, e, stop) >= minf:
            got = 0
            i = e
            while i < stop and taken < nv and (minf == 0 or got < k):
                cpu = H.sib_cpu[i]
                if _is_free(free, cpu):
                    pinmask[cpu >> 6] |= (<uint64_t>1) << (cpu & 63)
                    if pins != NULL:
                        pins[taken] = cpu
                    taken += 1
                    got += 1
                i += 1
        e = stop
    return taken


cdef bint _reserve(const Hosts* H, const uint64_t* free, Py_ssize_t s0, Py_ssize_t s1,
                   int r, bint isolate, const uint64_t* pinmask,
                   int32_t* res) noexcept nogil:
    # _get_reserved: the first r free CPUs not pinned, in sibling order; under isolate a
    # sibling set with a pinned CPU is skipped whole.
    cdef Py_ssize_t e = s0, stop, i
    cdef int got = 0
    cdef bint hit
    cdef int32_t cpu
    while e < s1 and got < r:
        stop = _set_end(H, e, s1)
        if isolate:
            hit = False
            for i in range(e, stop):
                cpu = H.sib_cpu[i]
                if _is_free(free, cpu) and words_contains(pinmask, cpu):
                    hit = True
                    break
            if hit:
                e = stop
                continue
        for i in range(e, stop):
            cpu = H.sib_cpu[i]
            if _is_free(free, cpu) and not words_contains(pinmask, cpu):
                if res != NULL:
                    res[got] = cpu
                got += 1
                if got == r:
                    break
        e = stop
    return got >= r


cdef bint _pin(const Hosts* H, Py_ssize_t cj, const GCell* g, int r,
               const uint64_t* free, int32_t* pins, int32_t* res) noexcept nogil:
    # pin_instance_cell (spec/E §2.8), with the reference's last-iteration semantics.
    cdef int64_t nv = g.n_pinned
    cdef Py_ssize_t s0 = H.sib_start[cj], s1 = H.sib_end[cj], e, stop
    cdef int64_t tpc = H.tpc[cj], f, maxf = 0, total = 0, k
    cdef int64_t ge[MAXCPU + 2]
    cdef uint64_t pinmask[MAXW]
    cdef bint pin_ok = False, res_ok = False
    cdef bint require = g.thread == THR_REQUIRE
    if nv == 0 and r == 0:
        return True
    memset(ge, 0, (tpc + 2) * sizeof(int64_t))
    # H.sib_* pointers are offset to this host's row by the caller.
    e = s0
    while e < s1:
        stop = _set_end(H, e, s1)
        f = _set_free(H, free, e, stop)
        if f > tpc:         # only with overlapping sibling sets; keep counts in range
            f = tpc
        ge[f] += 1
        total += f
        if f > maxf:
            maxf = f
        e = stop
    k = tpc - 1
    while k >= 1:           # ge[k] = sets with at least k free CPUs
        ge[k] += ge[k + 1]
        k -= 1

    if g.thread == THR_ISOLATE:
        if maxf < tpc:
            return False
        if tpc != 1 and not H.legacy[cj]:
            return False
        if ge[tpc] < nv:
            return False
        _take(H, free, s0, s1, 1, tpc, nv, pinmask, pins)
        if r and not _reserve(H, free, s0, s1, r, True, pinmask, res):
            return False
        return True

    if require and tpc <= 1:
        return False
    k = maxf
    while k >= 1:
        if require and k <= 1:
            break
        pin_ok = k * ge[k] >= nv
        if pin_ok:
            _take(H, free, s0, s1, k, k, nv, pinmask, pins)
            if r:
                res_ok = _reserve(H, free, s0, s1, r, False, pinmask, res)
            if not r or res_ok:
                return True
        k -= 1
    if not require and not pin_ok:
        # every free CPU as its own core
        if total < nv:
            return False
        _take(H, free, s0, s1, 1, 0, nv, pinmask, pins)
        if r and not _reserve(H, free, s0, s1, r, False, pinmask, res):
            return False
        return True
    return False


cdef int64_t _select_page(const Hosts* H, Py_ssize_t cj, int64_t wanted,
                          int64_t mem_kb) noexcept nogil:
    # select_page_size: the first candidate whose free pages hold the memory, else 0.
    cdef Py_ssize_t n = H.n_pages[cj], base = cj * H.P, lo, hi, c, i
    cdef int64_t size, free
    if n == 0:
        return 0
    if wanted == -1:
        lo, hi = n - 1, n
    elif wanted == -3:
        lo, hi = 0, n
    elif wanted == -2:
        lo, hi = 0, n - 1
    else:
        lo, hi = -1, 0
    c = lo
    while c < hi:
        size = wanted if c < 0 else H.page_size[base + c]
        i = 0
        while i < n and H.page_size[base + i] != size:
            i += 1
        if i == n:
            return 0        # MemoryPageSizeNotSupported: does not fit
        if size > 0:
            free = (H.page_total[base + i] - H.page_used[base + i]
                    - H.page_reserved[base + i]) * size
            if mem_kb <= free and mem_kb % size == 0:
                return size
        c += 1
    return 0


cdef bint _fit_cell(const Hosts* H, const Req* R, Py_ssize_t row, Py_ssize_t j,
                    int gi, int r, const uint64_t* free, int64_t avail,
                    Out* out, int32_t* pins) noexcept nogil:
    # fit_instance_cell (spec/E §2.6), checks in the reference's order.
    cdef const GCell* g = &R.cells[gi]
    cdef Py_ssize_t cj = row * H.C + j, base, i, n
    cdef bint pinned = g.policy == POL_DEDICATED or g.policy == POL_MIXED
    cdef bint floating = g.policy != POL_DEDICATED
    cdef int64_t mem = H.memory[cj], avail_mem = mem - H.memory_usage[cj]
    cdef int64_t mem_kb = g.memory * 1024, size, chosen, have
    if g.pagesize != 0:
        chosen = _select_page(H, cj, g.pagesize, mem_kb)
        if chosen == 0:
            return False
        if out != NULL:
            out.pages[gi] = chosen
    elif H.n_pages[cj] > 0:
        n = H.n_pages[cj]
        base = cj * H.P
        size = H.page_size[base + n - 1]
        i = 0
        while H.page_size[base + i] != size:
            i += 1
        if pinned:
            have = H.page_total[base + i] - H.page_used[base + i] - H.page_reserved[base + i]
        else:
            have = H.page_total[base + i]
        if size <= 0 or not (mem_kb <= have * size and mem_kb % size == 0):
            return False
    elif pinned:
        if g.memory > avail_mem:
            return False
    elif g.memory > mem:
        return False
    if pinned and g.n_pinned + r > H.pcpuset_count[cj]:
        return False
    if floating and g.n_float > H.cpuset_count[cj]:
        return False
    if pinned:
        if g.n_pinned + r > avail:
            return False
        if g.memory > avail_mem:
            return False
        # With disjoint siblings covering pcpuset, "prefer" always finds a pinning
        # once n_pinned + r pCPUs are free (checked above): walk them only to say which.
        if (out != NULL or g.thread == THR_ISOLATE or g.thread == THR_REQUIRE
                or not H.sib_simple[cj]):
            if not _pin(H, cj, g, r, free, pins,
                        out.reserved if (out != NULL and r) else NULL):
                return False
    if floating and R.use_limits:
        if <double>(H.cpu_usage[cj] + g.n_float) > <double>H.cpuset_count[cj] * (
                R.cpu_ratio[row] if R.cpu_ratio != NULL else R.cpu_one):
            return False
        if <double>(H.memory_usage[cj] + g.memory) > <double>mem * (
                R.ram_ratio[row] if R.ram_ratio != NULL else R.ram_one):
            return False
    return True


# --- final checks on the chosen set of host cells --------------------------------------

cdef bint _network_ok(const Hosts* H, const Req* R, Py_ssize_t row,
                      uint64_t chosen) noexcept nogil:
    # _network_affinity_ok: a requested physnet (or the tunnel) affine to some cell must
    # be affine to a chosen one.
    cdef int p
    cdef uint64_t m
    for p in range(R.n_phys):
        m = R.phys_masks[row * R.n_phys + p]
        if m and not (m & chosen):
            return False
    if R.tunneled:
        m = H.tunnel_mask[row]
        if m & chosen:
            return True
        if m:
            return False
    return True


cdef bint _pci_ok(const Hosts* H, const Req* R, Py_ssize_t row, uint64_t chosen) noexcept nogil:
    # pci_affinity.support_requests for a fitted guest on the chosen cells: each request
    # on its own. Dropping PF/vDPA/remote-managed pools only lowers counts, so the
    # request is met iff the kept devices of the region its policy selects suffice.
    cdef int i, policy
    cdef Py_ssize_t nc = H.n_cells[row], j, q, base, B = H.B
    cdef int64_t need, ms, ks, final, lm
    cdef const int64_t* match
    cdef const int64_t* keep
    cdef bint on_socket
    if not R.n_pci or not H.has_pci_pools[row]:
        return True
    for i in range(R.n_pci):
        base = (i * H.N + row) * B
        match = R.pci_match + base
        keep = R.pci_keep + base
        need = R.pci_need[i]
        policy = R.pci_policy[i]
        ms = 0
        ks = 0
        for j in range(nc):
            if (chosen >> j) & 1:
                ms += match[j]
                ks += keep[j]
        if policy == PCI_REQUIRED or ms >= need:
            final = ks
        elif policy == PCI_SOCKET:
            final = 0
            if not H.any_socket_none[row]:
                for j in range(nc):
                    on_socket = False
                    for q in range(nc):
                        if (chosen >> q) & 1 and H.cell_socket[row * H.C + q] == \
                                H.cell_socket[row * H.C + j]:
                            on_socket = True
                            break
                    if on_socket:
                        final += keep[j]
        else:
            lm = ms + match[H.C]
            if policy == PCI_LEGACY or lm >= need:
                final = ks + keep[H.C]
            else:
                final = 0
                for j in range(B):
                    final += keep[j]
        if final < need:
            return False
    return True


# --- one host --------------------------------------------------------------------------

cdef bint _augment(int g, const uint64_t* mask, uint64_t avail, uint64_t* visited,
                   int* owner) noexcept nogil:
    cdef uint64_t cand = mask[g] & avail & ~visited[0]
    cdef int q
    while cand:
        q = ctz64(cand)
        cand &= cand - 1
        visited[0] |= (<uint64_t>1) << q
        if owner[q] < 0 or _augment(owner[q], mask, avail, visited, owner):
            owner[q] = g
            return True
    return False


cdef bint _matchable(int first, int G, const uint64_t* mask, uint64_t used,
                     int nc) noexcept nogil:
    # Can guest cells first..G-1 each get a distinct unused host cell? (Kuhn)
    cdef int owner[MAXC]
    cdef int g, q
    cdef uint64_t visited, avail = ~used
    if first >= G:
        return True
    if first == G - 1:
        return (mask[first] & avail) != 0
    for q in range(nc):
        owner[q] = -1
    for g in range(first, G):
        visited = 0
        if not _augment(g, mask, avail, &visited, owner):
            return False
    return True


cdef inline uint64_t _cells_of(const int* order, uint64_t positions) noexcept nogil:
    cdef uint64_t cells = 0
    cdef int q
    while positions:
        q = ctz64(positions)
        positions &= positions - 1
        cells |= (<uint64_t>1) << order[q]
    return cells


cdef inline bint _before(const int64_t* keys, int a, int b) noexcept nogil:
    # keys: [3] per cell, highest priority first, already signed for the direction.
    cdef int i
    for i in range(3):
        if keys[a * 3 + i] != keys[b * 3 + i]:
            return keys[a * 3 + i] < keys[b * 3 + i]
    return a < b


cdef void _sort_cells(const Hosts* H, const Req* R, Py_ssize_t row, int nc,
                      const int64_t* avail, int* order) noexcept nogil:
    # sort_host_cells: three stable sorts = one sort on (key3, key2, key1, position).
    cdef int64_t keys[MAXC * 3]
    cdef int j, i, x
    cdef Py_ssize_t cj
    cdef bint shared = R.cells[0].policy == POL_NONE or R.cells[0].policy == POL_SHARED
    cdef bint pci = H.has_pci_pools[row]
    for j in range(nc):
        cj = row * H.C + j
        keys[j * 3 + 2] = H.memory[cj] - H.memory_usage[cj]
        if not R.pack:
            keys[j * 3 + 2] = -keys[j * 3 + 2]
        if shared:
            keys[j * 3 + 1] = -H.cpu_usage[cj] if R.pack else H.cpu_usage[cj]
        else:
            keys[j * 3 + 1] = avail[j] if R.pack else -avail[j]
        if pci:
            keys[j * 3] = -H.pci_free[cj] if R.pci_desc else H.pci_free[cj]
        else:
            keys[j * 3] = 0
        order[j] = j
    for i in range(1, nc):
        x = order[i]
        j = i - 1
        while j >= 0 and _before(keys, x, order[j]):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = x


cdef inline bint _same_cell(const Req* R, int a, int b) noexcept nogil:
    cdef const GCell* x = &R.cells[a]
    cdef const GCell* y = &R.cells[b]
    return (x.n_float == y.n_float and x.n_pinned == y.n_pinned and x.memory == y.memory
            and x.pagesize == y.pagesize and x.policy == y.policy and x.thread == y.thread)


# --- the search ------------------------------------------------------------------------

cdef bint _final_ok(const Hosts* H, const Req* R, Py_ssize_t row, const int* order,
                    uint64_t positions) noexcept nogil:
    cdef uint64_t cells = _cells_of(order, positions)
    return _network_ok(H, R, row, cells) and _pci_ok(H, R, row, cells)


cdef bint _may_pass(const Hosts* H, const Req* R, Py_ssize_t row, const int* order,
                    uint64_t positions) noexcept nogil:
    # Could some set of chosen cells within ``positions`` pass the final checks?
    # Network affinity is monotone in the chosen cells; each PCI request is bounded by
    # the kept devices of the widest region its policy could select.
    cdef uint64_t cells = _cells_of(order, positions), sockets_cells = 0
    cdef int i, policy
    cdef Py_ssize_t nc = H.n_cells[row], j, q, B = H.B
    cdef int64_t bound
    cdef const int64_t* keep
    if R.net_check and not _network_ok(H, R, row, cells):
        return False
    if not R.n_pci or not H.has_pci_pools[row]:
        return True
    for i in range(R.n_pci):
        keep = R.pci_keep + (i * H.N + row) * B
        policy = R.pci_policy[i]
        bound = 0
        if policy == PCI_PREFERRED:
            for j in range(B):
                bound += keep[j]
        else:
            for j in range(nc):
                if (cells >> j) & 1:
                    bound += keep[j]
                elif policy == PCI_SOCKET:
                    for q in range(nc):
                        if (cells >> q) & 1 and H.cell_socket[row * H.C + q] == \
                                H.cell_socket[row * H.C + j]:
                            bound += keep[j]
                            break
            if policy == PCI_LEGACY:
                bound += keep[H.C]
        if bound < R.pci_need[i]:
            return False
    return True


cdef int64_t _binomial(int n, int k) noexcept nogil:
    cdef int64_t result = 1
    cdef int i
    if k < 0 or k > n:
        return 0
    for i in range(1, k + 1):
        result = result * (n - k + i) // i
        if result > (<int64_t>1) << 40:
            return (<int64_t>1) << 40
    return result


cdef bint _lex_first_within(int G, int nc, const uint64_t* mask, uint64_t allowed,
                            int* assign) noexcept nogil:
    # The first assignment in Nova's order that uses only ``allowed`` host cells.
    cdef uint64_t used = ~allowed, cand, nu
    cdef int d, q
    cdef bint ok
    for d in range(G):
        cand = mask[d] & ~used
        ok = False
        while cand:
            q = ctz64(cand)
            cand &= cand - 1
            nu = used | ((<uint64_t>1) << q)
            if _matchable(d + 1, G, mask, nu, nc):
                assign[d] = q
                used = nu
                ok = True
                break
        if not ok:
            return False
    return True


cdef bint _search_sets(const Hosts* H, const Req* R, Py_ssize_t row, int G, int nc,
                       const uint64_t* mask, const int* order, int* assign) noexcept nogil:
    # The final checks depend only on the set of chosen cells. Nova's answer is the
    # smallest, in its order, of the first assignments of every set that passes them:
    # C(n, G) sets instead of up to n!/(n-G)! assignments.
    cdef int pos[MAXC]
    cdef int idx[MAXG]
    cdef int trial[MAXG]
    cdef int n = 0, i, q, k
    cdef uint64_t reachable = 0, chosen
    cdef bint have = False, smaller
    for i in range(G):
        reachable |= mask[i]
    for q in range(nc):
        if (reachable >> q) & 1:
            pos[n] = q
            n += 1
    if n < G:
        return False
    for i in range(G):
        idx[i] = i
    while True:
        chosen = 0
        for i in range(G):
            chosen |= (<uint64_t>1) << pos[idx[i]]
        if (_final_ok(H, R, row, order, chosen) and
                _lex_first_within(G, nc, mask, chosen, trial)):
            smaller = not have
            if have:
                for i in range(G):
                    if trial[i] != assign[i]:
                        smaller = trial[i] < assign[i]
                        break
            if smaller:
                for i in range(G):
                    assign[i] = trial[i]
                have = True
        # next combination of G indices out of n
        k = G - 1
        while k >= 0 and idx[k] == n - G + k:
            k -= 1
        if k < 0:
            break
        idx[k] += 1
        for i in range(k + 1, G):
            idx[i] = idx[i - 1] + 1
    return have


cdef bint _search_checked(const Hosts* H, const Req* R, Py_ssize_t row, int G, int nc,
                          const uint64_t* mask, const int* order, int* assign) noexcept nogil:
    # Depth first in Nova's order: every branch entered still has a matching for the
    # remaining guest cells and may still pass the final checks, so leaves are complete
    # fitting assignments and the first that passes wins. If the checks keep failing
    # for as many leaves as there are sets of cells, the set search finishes the job.
    cdef int next_q[MAXG + 1]
    cdef int d = 0, g, q
    cdef uint64_t used = 0, cand, nu, reach, reachable = 0
    cdef int64_t failures = 0, budget
    cdef bint found
    for g in range(G):
        reachable |= mask[g]
    budget = _binomial(popcount64(reachable), G)
    if not _may_pass(H, R, row, order, reachable):
        return False
    if R.sets_only:
        return _search_sets(H, R, row, G, nc, mask, order, assign)
    next_q[0] = 0
    while d >= 0:
        if d == G:
            if _final_ok(H, R, row, order, used):
                return True
            failures += 1
            if failures > budget:
                return _search_sets(H, R, row, G, nc, mask, order, assign)
            d -= 1
            used &= ~((<uint64_t>1) << assign[d])
            next_q[d] = assign[d] + 1
            continue
        found = False
        if next_q[d] < 64:
            cand = mask[d] & ~used & ((~(<uint64_t>0)) << next_q[d])
        else:
            cand = 0
        while cand:
            q = ctz64(cand)
            cand &= cand - 1
            nu = used | ((<uint64_t>1) << q)
            if not _matchable(d + 1, G, mask, nu, nc):
                continue
            reach = nu
            for g in range(d + 1, G):
                reach |= mask[g] & ~nu
            if not _may_pass(H, R, row, order, reach):
                continue
            assign[d] = q
            used = nu
            d += 1
            next_q[d] = 0
            found = True
            break
        if not found:
            d -= 1
            if d >= 0:
                used &= ~((<uint64_t>1) << assign[d])
                next_q[d] = assign[d] + 1
    return False


cdef bint _write_details(const Hosts* H, const Req* R, Py_ssize_t row, int G,
                         const int* order, const int* assign, const uint64_t* free,
                         const int64_t* avail, Out* out) noexcept nogil:
    # Fit the chosen pairs again, this time writing the pCPUs and page sizes.
    cdef Py_ssize_t pin_offset = 0
    cdef int g, j, r
    if out == NULL:
        return True
    for g in range(G):
        j = order[assign[g]]
        out.cells[g] = j
        out.pages[g] = 0
        r = R.reserve_first if g == 0 else 0
        _fit_cell(H, R, row, j, g, r, &free[j * MAXW], avail[j], out,
                  out.pins + pin_offset)
        pin_offset += R.cells[g].n_pinned
    return True


cdef bint _fit_host(const Hosts* H, const Req* R, Py_ssize_t row, Out* out) noexcept nogil:
    cdef int nc = H.n_cells[row], G = R.G, g, q, j, r
    cdef Py_ssize_t cj, w
    cdef int order[MAXC]
    cdef int assign[MAXG]
    cdef uint64_t mask[MAXG]
    cdef uint64_t free[MAXC * MAXW]
    cdef int64_t avail[MAXC]
    cdef bint found, final = R.net_check or (R.n_pci and H.has_pci_pools[row])
    if nc == 0 or G == 0 or nc < G:
        return False
    for j in range(nc):
        cj = row * H.C + j
        avail[j] = 0
        for w in range(H.W):
            free[j * MAXW + w] = H.pcpuset[cj * H.W + w] & ~H.pinned[cj * H.W + w]
            avail[j] += popcount64(free[j * MAXW + w])
    for j in range(nc):
        order[j] = j
    if nc > G:
        _sort_cells(H, R, row, nc, avail, order)

    if G == 1 and not final:
        # One guest cell, no final checks: the first host cell that fits, no matrix.
        found = False
        for q in range(nc):
            if _fit_cell(H, R, row, order[q], 0, R.reserve_first, &free[order[q] * MAXW],
                         avail[order[q]], NULL, NULL):
                assign[0] = q
                found = True
                break
        if not found:
            return False
        return _write_details(H, R, row, G, order, assign, free, avail, out)

    for g in range(G):
        r = R.reserve_first if g == 0 else 0
        if g > 1 or (g == 1 and not R.reserve_first):
            if _same_cell(R, g, g - 1):
                mask[g] = mask[g - 1]
                continue
        mask[g] = 0
        for q in range(nc):
            j = order[q]
            if _fit_cell(H, R, row, j, g, r, &free[j * MAXW], avail[j], NULL, NULL):
                mask[g] |= (<uint64_t>1) << q
        if mask[g] == 0:
            return False

    if not final:
        # Without final checks the first complete assignment wins: each guest cell
        # takes the first host cell that leaves a matching for the rest, no backtrack.
        found = _lex_first_within(G, nc, mask, ~(<uint64_t>0), assign)
    else:
        found = _search_checked(H, R, row, G, nc, mask, order, assign)
    if not found:
        return False
    return _write_details(H, R, row, G, order, assign, free, avail, out)


# --- the Python entry point ------------------------------------------------------------

cdef const uint8_t* _u8(object a, list keep) except NULL:
    cdef const uint8_t[::1] v = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    keep.append(v)
    return &v[0]


cdef const int32_t* _i32(object a, list keep) except NULL:
    cdef const int32_t[::1] v = np.ascontiguousarray(a, dtype=np.int32).reshape(-1)
    keep.append(v)
    return &v[0]


cdef const int64_t* _i64(object a, list keep) except NULL:
    cdef const int64_t[::1] v = np.ascontiguousarray(a, dtype=np.int64).reshape(-1)
    keep.append(v)
    return &v[0]


cdef const uint64_t* _u64(object a, list keep) except NULL:
    cdef const uint64_t[::1] v = np.ascontiguousarray(a, dtype=np.uint64).reshape(-1)
    keep.append(v)
    return &v[0]


cdef const double* _f64(object a, list keep) except NULL:
    cdef const double[::1] v = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    keep.append(v)
    return &v[0]


# The host arrays' pointers, kept on the ``HostArrays`` between calls: taking ~27
# buffers costs more than fitting one host. The view is reused only while every array
# attribute is still the very object it was taken from, and only when no array needed
# a converted copy (a copy would not see in-place row updates). A ``HostArrays``
# (``_kernel_view_tracked``) drops the view itself when an array is replaced, so its
# view is not compared array by array (27 lookups, more than a one-row fit).
_VIEW_FIELDS = (
    "n_cells", "any_socket_none", "has_pci_pools", "tunnel_mask", "cell_socket",
    "memory", "memory_usage", "cpu_usage", "cpuset_count", "pcpuset_count", "legacy",
    "threads_per_core", "pci_free", "sib_start", "sib_end", "sib_simple", "n_pages",
    "pcpuset", "pinned", "page_size", "page_total", "page_used", "page_reserved",
    "sib_cpu", "sib_head", "cpu_allocation_ratio", "ram_allocation_ratio", "fallback",
    "topologies")


cdef class _View:
    cdef Hosts H
    cdef const uint8_t* fallback
    cdef list topologies    # HostArrays.topologies (fit_one reads the host cell ids)
    cdef const int32_t* sib_cpu
    cdef const uint8_t* sib_head
    cdef const double* cpu_ratio
    cdef const double* ram_ratio
    cdef object cpu_src, ram_src
    cdef list keep
    cdef list sources
    cdef Py_ssize_t size
    cdef bint exact
    cdef bint tracked       # the arrays drop their view when an array is replaced

    def __copy__(self):
        return None

    def __deepcopy__(self, memo):
        return None

    cdef bint valid_for(self, arrays):
        cdef Py_ssize_t i
        if arrays.size != self.size:
            return False
        for i in range(len(_VIEW_FIELDS)):
            if getattr(arrays, _VIEW_FIELDS[i]) is not self.sources[i]:
                return False
        return True


cdef inline object _exact(object a, object dtype, _View v):
    """``a`` as a contiguous array of ``dtype``; marks ``v`` inexact if that copies."""
    cdef object c = np.ascontiguousarray(a) if dtype is None else np.ascontiguousarray(a, dtype=dtype)
    if c is not a:
        v.exact = False
    return c


cdef _View _view_of(arrays):
    cached = getattr(arrays, "_kernel_view", None)
    if isinstance(cached, _View) and ((<_View>cached).tracked
                                      or (<_View>cached).valid_for(arrays)):
        return <_View>cached
    cdef _View v = _View.__new__(_View)
    cdef list keep = []
    v.keep = keep
    v.exact = True
    v.tracked = getattr(type(arrays), "_kernel_view_tracked", False) is True
    v.size = arrays.size
    v.sources = [getattr(arrays, name) for name in _VIEW_FIELDS]
    cdef Hosts H
    H.N, H.C, H.W = arrays.size, arrays.cells, arrays.words
    H.P, H.K, H.B = arrays.pages, arrays.entries, arrays.buckets
    H.n_cells = _i32(_exact(arrays.n_cells, np.int32, v), keep)
    H.any_socket_none = _u8(_exact(arrays.any_socket_none, None, v), keep)
    H.has_pci_pools = _u8(_exact(arrays.has_pci_pools, None, v), keep)
    H.tunnel_mask = _u64(_exact(arrays.tunnel_mask, np.uint64, v), keep)
    H.cell_socket = _i32(_exact(arrays.cell_socket, np.int32, v), keep)
    H.memory = _i64(_exact(arrays.memory, np.int64, v), keep)
    H.memory_usage = _i64(_exact(arrays.memory_usage, np.int64, v), keep)
    H.cpu_usage = _i64(_exact(arrays.cpu_usage, np.int64, v), keep)
    H.cpuset_count = _i32(_exact(arrays.cpuset_count, np.int32, v), keep)
    H.pcpuset_count = _i32(_exact(arrays.pcpuset_count, np.int32, v), keep)
    H.legacy = _u8(_exact(arrays.legacy, None, v), keep)
    H.tpc = _i32(_exact(arrays.threads_per_core, np.int32, v), keep)
    H.pci_free = _i64(_exact(arrays.pci_free, np.int64, v), keep)
    H.sib_start = _i32(_exact(arrays.sib_start, np.int32, v), keep)
    H.sib_end = _i32(_exact(arrays.sib_end, np.int32, v), keep)
    H.sib_simple = _u8(_exact(arrays.sib_simple, None, v), keep)
    H.n_pages = _i32(_exact(arrays.n_pages, np.int32, v), keep)
    H.pcpuset = _u64(_exact(arrays.pcpuset, np.uint64, v), keep)
    H.pinned = _u64(_exact(arrays.pinned, np.uint64, v), keep)
    H.page_size = _i64(_exact(arrays.page_size, np.int64, v), keep)
    H.page_total = _i64(_exact(arrays.page_total, np.int64, v), keep)
    H.page_used = _i64(_exact(arrays.page_used, np.int64, v), keep)
    H.page_reserved = _i64(_exact(arrays.page_reserved, np.int64, v), keep)
    v.sib_cpu = _i32(_exact(arrays.sib_cpu, np.int32, v), keep)
    v.sib_head = _u8(_exact(arrays.sib_head, None, v), keep)
    v.fallback = _u8(_exact(arrays.fallback, None, v), keep)
    v.topologies = arrays.topologies
    v.cpu_src, v.ram_src = arrays.cpu_allocation_ratio, arrays.ram_allocation_ratio
    v.cpu_ratio = _f64(_exact(v.cpu_src, np.float64, v), keep)
    v.ram_ratio = _f64(_exact(v.ram_src, np.float64, v), keep)
    v.H = H
    if v.exact:
        try:
            arrays._kernel_view = v
        except AttributeError:
            pass
    return v



def fit_rows(arrays, guest_cells, int reserve_first, bint pack, bint use_limits,
             cpu_ratio, ram_ratio, rows, details,
             pci_need=None, pci_policy=None, pci_match=None, pci_keep=None,
             bint pci_desc=False, phys_masks=None, bint net_check=False,
             bint tunneled=False, bint sets_only=False):
    """Fit one guest against host ``rows`` of ``arrays``; details for ``details``.

    ``guest_cells`` is int64 ``[G, 6]``: floating vCPUs, pinned vCPUs, memory (MiB),
    page size (0, -1 small, -2 large, -3 any, or KiB), policy code, thread policy code.
    Returns ``(fits, cells, pages, pins, reserved)``: ``fits`` uint8 per row of
    ``rows``; for each row of ``details`` (a subset of host rows, fitting or not), the
    host cell position per guest cell (-1 when it does not fit), the chosen page
    sizes, the pCPUs of the pinned vCPUs (guest cell by guest cell, vCPUs ascending)
    and the emulator pCPU.
    """
    cdef list keep = []
    cdef const int32_t* sib_cpu
    cdef const uint8_t* sib_head
    cdef Py_ssize_t row
    cdef Hosts Hr
    cdef Hosts H
    cdef Req R
    cdef Out out
    cdef const int64_t[:, ::1] gc = np.ascontiguousarray(guest_cells, dtype=np.int64)
    cdef const int64_t[::1] rws = np.ascontiguousarray(rows, dtype=np.int64)
    cdef const int64_t[::1] det = np.ascontiguousarray(details, dtype=np.int64)
    cdef Py_ssize_t M = rws.shape[0], D = det.shape[0], m, g, total_pins = 0
    cdef int G = gc.shape[0]
    cdef uint8_t[::1] fits = np.zeros(M, dtype=np.uint8)
    if G > MAXG:
        raise ValueError(f"at most {MAXG} guest cells")
    for g in range(G):
        total_pins += gc[g, 1]
    # np.empty and a fill here: np.full costs more than fitting one host.
    cells_np = np.empty((D, max(G, 1)), dtype=np.int32)
    pages_np = np.empty((D, max(G, 1)), dtype=np.int64)
    pins_np = np.empty((D, max(total_pins, 1)), dtype=np.int32)
    res_np = np.empty((D, 1), dtype=np.int32)
    cdef int32_t[:, ::1] o_cells = cells_np
    cdef int64_t[:, ::1] o_pages = pages_np
    cdef int32_t[:, ::1] o_pins = pins_np
    cdef int32_t[:, ::1] o_res = res_np
    cdef Py_ssize_t f
    for m in range(D):
        for f in range(o_cells.shape[1]):
            o_cells[m, f] = -1
            o_pages[m, f] = 0
        for f in range(o_pins.shape[1]):
            o_pins[m, f] = -1
        o_res[m, 0] = -1
    if arrays.size == 0 or (M == 0 and D == 0):
        return fits.base, cells_np, pages_np, pins_np, res_np
    if arrays.words > MAXW or arrays.cells > MAXC:
        raise ValueError("host arrays wider than the kernel")

    cdef _View view = _view_of(arrays)
    H = view.H
    sib_cpu = view.sib_cpu
    sib_head = view.sib_head
    keep.append(view)

    R.G = G
    for g in range(G):
        R.cells[g].n_float = gc[g, 0]
        R.cells[g].n_pinned = gc[g, 1]
        R.cells[g].memory = gc[g, 2]
        R.cells[g].pagesize = gc[g, 3]
        R.cells[g].policy = <int>gc[g, 4]
        R.cells[g].thread = <int>gc[g, 5]
    R.reserve_first = reserve_first
    R.pack = pack
    R.use_limits = use_limits
    R.cpu_ratio = (view.cpu_ratio if cpu_ratio is view.cpu_src
                   else _f64(cpu_ratio, keep))
    R.ram_ratio = (view.ram_ratio if ram_ratio is view.ram_src
                   else _f64(ram_ratio, keep))
    R.n_pci = 0 if pci_need is None else len(pci_need)
    R.pci_desc = pci_desc
    if R.n_pci:
        R.pci_need = _i64(pci_need, keep)
        R.pci_policy = _i32(pci_policy, keep)
        R.pci_match = _i64(pci_match, keep)
        R.pci_keep = _i64(pci_keep, keep)
    R.net_check = net_check
    R.tunneled = tunneled
    R.sets_only = sets_only
    R.n_phys = 0
    if net_check and phys_masks is not None and np.size(phys_masks):
        R.n_phys = np.shape(phys_masks)[1]
        R.phys_masks = _u64(phys_masks, keep)

    with nogil:
        for m in range(M):
            row = rws[m]
            # the sibling arrays are read through per-row pointers
            Hr = H
            Hr.sib_cpu = sib_cpu + row * H.K
            Hr.sib_head = sib_head + row * H.K
            fits[m] = _fit_host(&Hr, &R, row, NULL)
        for m in range(D):
            row = det[m]
            Hr = H
            Hr.sib_cpu = sib_cpu + row * H.K
            Hr.sib_head = sib_head + row * H.K
            out.cells = &o_cells[m, 0]
            out.pages = &o_pages[m, 0]
            out.pins = &o_pins[m, 0]
            out.reserved = &o_res[m, 0]
            if not _fit_host(&Hr, &R, row, &out):
                o_cells[m, 0] = -1
    return np.asarray(fits), cells_np, pages_np, pins_np, res_np


# --- the one-row entry point -----------------------------------------------------------

cdef class Guest:
    """A guest encoded once for ``fit_row``: ``cells`` as ``fit_rows``' ``guest_cells``
    rows (6 integers per guest cell), ``reserve_first`` the emulator pCPU flag.

    ``set_decoder`` gives it what ``fit_one`` needs to build the fitted
    ``InstanceNUMATopology`` itself (see there)."""
    cdef Req R
    cdef readonly int cells
    cdef readonly Py_ssize_t pins
    cdef object cell_cls
    cdef object topology_cls
    cdef object emulator_threads_policy
    cdef list bases
    cdef list vcpus
    cdef bint decodable
    cdef uint8_t pinned[MAXG]
    cdef uint8_t asked[MAXG]

    def set_decoder(self, cell_cls, topology_cls, list bases, list vcpus, pinned, asked,
                    emulator_threads_policy):
        """``bases``: per guest cell, the ``__dict__`` of its fitted copy before the
        host is known (CPU sets, pinning and reserved set are copied again per fit);
        ``vcpus`` its pinned vCPUs ascending; ``pinned``/``asked`` whether the kernel's
        pinning / page size replaces the guest cell's."""
        cdef int g
        if len(bases) != self.R.G or len(vcpus) != self.R.G:
            raise ValueError("one base and one vCPU list per guest cell")
        for g in range(self.R.G):
            self.pinned[g] = 1 if pinned[g] else 0
            self.asked[g] = 1 if asked[g] else 0
        self.cell_cls = cell_cls
        self.topology_cls = topology_cls
        self.bases = bases
        self.vcpus = vcpus
        self.emulator_threads_policy = emulator_threads_policy
        self.decodable = True

    def __cinit__(self, cells, int reserve_first):
        cdef int g = 0
        cdef GCell* c
        memset(&self.R, 0, sizeof(Req))
        if len(cells) > MAXG:
            raise ValueError(f"at most {MAXG} guest cells")
        self.pins = 0
        for n_float, n_pinned, memory, pagesize, policy, thread in cells:
            c = &self.R.cells[g]
            c.n_float, c.n_pinned, c.memory = n_float, n_pinned, memory
            c.pagesize, c.policy, c.thread = pagesize, policy, thread
            self.pins += n_pinned
            g += 1
        self.R.G = g
        self.cells = g
        self.R.reserve_first = reserve_first


cdef _View _row_view(arrays, Py_ssize_t row):
    if not 0 <= row < arrays.size:
        raise IndexError(f"host row {row} is not within 0..{arrays.size - 1}")
    if arrays.words > MAXW or arrays.cells > MAXC:
        raise ValueError("host arrays wider than the kernel")
    return _view_of(arrays)


cdef int _fit_one_row(_View view, Guest guest, Py_ssize_t row, bint pack, bint use_limits,
                      cpu_ratio, ram_ratio, Out* out) except -1:
    """Fit ``guest`` on ``row`` (checked by ``_row_view``) into ``out`` (1: fits, 0:
    does not)."""
    cdef Req R
    cdef Hosts Hr
    cdef bint ok
    if guest.pins > MAXCPU:
        return 0                # more pinned vCPUs than any host row has pCPUs
    R = guest.R
    R.pack = pack
    R.use_limits = use_limits
    if cpu_ratio is None:
        R.cpu_ratio = view.cpu_ratio
    else:
        R.cpu_ratio = NULL
        R.cpu_one = cpu_ratio
    if ram_ratio is None:
        R.ram_ratio = view.ram_ratio
    else:
        R.ram_ratio = NULL
        R.ram_one = ram_ratio
    Hr = view.H
    Hr.sib_cpu = view.sib_cpu + row * Hr.K
    Hr.sib_head = view.sib_head + row * Hr.K
    out.reserved[0] = -1
    with nogil:
        ok = _fit_host(&Hr, &R, row, out)
    return 1 if ok else 0


def fit_row(arrays, Guest guest, Py_ssize_t row, bint pack, bint use_limits,
            cpu_ratio=None, ram_ratio=None):
    """``fit_rows`` for one host row with details, without PCI or network checks.

    ``cpu_ratio``/``ram_ratio``: one value for the overcommit check, None for the row's
    own ratios. Returns None when the guest does not fit, else ``(cells, pages, pins,
    reserved)``: the host cell position and chosen page size (0: none asked) per guest
    cell, the pCPUs of the pinned vCPUs (guest cell by guest cell, vCPUs ascending) and
    the emulator pCPU (-1: none). No array is allocated: the answer is in C until the
    tuples are built.
    """
    cdef Out out
    cdef int g, G = guest.R.G
    cdef Py_ssize_t i, npins = guest.pins
    cdef int32_t o_cells[MAXG]
    cdef int64_t o_pages[MAXG]
    cdef int32_t o_res[1]
    cdef int32_t o_pins[MAXCPU]
    out.cells = o_cells
    out.pages = o_pages
    out.pins = o_pins
    out.reserved = o_res
    if guest.pins > MAXCPU:
        return None
    if not _fit_one_row(_row_view(arrays, row), guest, row, pack, use_limits, cpu_ratio,
                        ram_ratio, &out):
        return None
    return ([o_cells[g] for g in range(G)], [o_pages[g] for g in range(G)],
            [o_pins[i] for i in range(npins)], o_res[0])


cdef inline object _make(cls, dict fields):
    """An instance of the (plain, ``__dict__``) class ``cls`` holding ``fields``: its
    dataclass constructor from Python costs more than a fit."""
    cdef object made = PyType_GenericAlloc(<PyTypeObject*>cls, 0)
    PyObject_GenericSetDict(made, fields, NULL)
    return made


cdef object _fitted(Guest guest, host_cells, Out* out):
    """The fitted ``InstanceNUMATopology`` from the kernel's answer in ``out``: each
    guest cell's base ``__dict__`` copied, with the host cell's id, the chosen page size
    where one was asked, fresh copies of the CPU sets, and the kernel's pinning (and
    emulator pCPU for the first cell) for pinned cells."""
    cdef int g
    cdef Py_ssize_t i, n, offset = 0
    cdef dict d, base, pinning
    cdef list vcpus
    cdef list placed = []
    for g in range(guest.R.G):
        base = <dict>guest.bases[g]
        d = base.copy()
        d["id"] = host_cells[out.cells[g]].id
        d["cpuset"] = set(base["cpuset"])
        d["pcpuset"] = set(base["pcpuset"])
        if guest.asked[g]:
            d["pagesize"] = out.pages[g]
        n = guest.R.cells[g].n_pinned
        if guest.pinned[g]:
            vcpus = <list>guest.vcpus[g]
            pinning = {}
            for i in range(n):
                pinning[vcpus[i]] = out.pins[offset + i]
            d["cpu_pinning"] = pinning
            d["cpuset_reserved"] = ({out.reserved[0]} if g == 0 and guest.R.reserve_first
                                    else None)
        else:
            if base["cpu_pinning"] is not None:
                d["cpu_pinning"] = dict(base["cpu_pinning"])
            if base["cpuset_reserved"] is not None:
                d["cpuset_reserved"] = set(base["cpuset_reserved"])
        offset += n
        placed.append(_make(guest.cell_cls, d))
    return _make(guest.topology_cls,
                 {"cells": placed, "emulator_threads_policy": guest.emulator_threads_policy})


# What fit_one needs from nova_tx.scheduler.kernel (set by its configure()).
cdef object _GENERAL = None
cdef object _PREPARE = None
cdef object _RESULT_CLS = None
cdef object _NO_ROWS = None
cdef object _NO_FITS = None


def configure(general, prepare, result_cls, no_rows, no_fits):
    """``general``: what ``fit_one`` answers when the general path must;
    ``prepare(request)`` gives (and keeps in the request's ``__dict__`` as ``_lean``)
    ``(guest, pack, use_limits, cpu_ratio, ram_ratio)``, ``guest`` the request's
    ``Guest`` with its decoder or None when only the general path can answer;
    ``result_cls`` the ``FitResult`` class, with the empty ``rows``/``fits`` a one-row
    answer carries."""
    global _GENERAL, _PREPARE, _RESULT_CLS, _NO_ROWS, _NO_FITS
    _GENERAL, _PREPARE, _RESULT_CLS = general, prepare, result_cls
    _NO_ROWS, _NO_FITS = no_rows, no_fits


def fit_one(request, arrays, Py_ssize_t row):
    """``fit_hosts(request, arrays, (), (row,))``: the ``FitResult`` with the fitted
    guest of ``row`` (None when it does not fit), or the ``general`` marker for what
    only the general path handles (see ``prepare``; also a fallback row and an
    out-of-range one, which the general path refuses). Everything between the call and
    the answer is here, in C: the checks, the fit and the objects of the answer. The
    request's encoding is its ``_lean`` entry, which ``FitRequest`` drops whenever one
    of its fields is assigned."""
    cdef Out out
    cdef int32_t o_cells[MAXG]
    cdef int64_t o_pages[MAXG]
    cdef int32_t o_res[1]
    cdef int32_t o_pins[MAXCPU]
    cdef _View view
    cdef tuple lean = <tuple>getattr(request, "_lean", None)
    if lean is None:
        lean = <tuple>_PREPARE(request)
    code = lean[0]
    if code is None:
        return _GENERAL
    view = _view_of(arrays)
    if (not 0 <= row < view.H.N or view.H.W > MAXW or view.H.C > MAXC
            or view.fallback[row]):
        return _GENERAL
    out.cells = o_cells
    out.pages = o_pages
    out.pins = o_pins
    out.reserved = o_res
    fitted = None
    if _fit_one_row(view, <Guest>code, row, lean[1], lean[2], lean[3], lean[4], &out):
        fitted = _fitted(<Guest>code, view.topologies[row].cells, &out)
    return _make(_RESULT_CLS, {"rows": _NO_ROWS, "fits": _NO_FITS, "fitted": {row: fitted}})

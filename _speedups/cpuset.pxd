# cython: language_level=3
"""Bit-word CPU set primitives for every kernel: ``from cpuset cimport ...``.

A CPU set is ``n`` ``uint64`` words, CPU ``c`` being bit ``c % 64`` of word ``c // 64``
(see ``nova_tx/virt/cpuset.py``). The helpers take raw pointers so that a kernel can
hand them one row of a C-contiguous host table (``&table[row, 0]``) without slicing.
They are inline and need no GIL and no allocation: the NUMA fitter calls them inside its
per-host loops. Callers guarantee that every pointer covers ``n`` words and that CPU
numbers are within ``n * 64``.
"""
from libc.stdint cimport int64_t, uint64_t


cdef extern from *:
    """
    /* x86 without popcnt enabled at build time (the default: setup.py passes no -m
       flags) would turn __builtin_popcountll into a libgcc call; this SWAR version is
       about three times faster than that call, and vectorises. */
    static inline int nova_tx_popcount64_swar(uint64_t x) {
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (int)((x * 0x0101010101010101ULL) >> 56);
    }
    #if defined(__GNUC__) && (defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__)))
    #define NOVA_TX_POPCOUNT64(x) __builtin_popcountll((unsigned long long)(x))
    #else
    #define NOVA_TX_POPCOUNT64(x) nova_tx_popcount64_swar((uint64_t)(x))
    #endif

    #if defined(__GNUC__)
    #define NOVA_TX_CTZ64(x) __builtin_ctzll((unsigned long long)(x))
    #define NOVA_TX_CLZ64(x) __builtin_clzll((unsigned long long)(x))
    #else
    static inline int nova_tx_clz64(uint64_t x) {
        x |= x >> 1; x |= x >> 2; x |= x >> 4; x |= x >> 8; x |= x >> 16; x |= x >> 32;
        return 64 - nova_tx_popcount64_swar(x);
    }
    #define NOVA_TX_CTZ64(x) nova_tx_popcount64_swar(((uint64_t)(x) & (0 - (uint64_t)(x))) - 1)
    #define NOVA_TX_CLZ64(x) nova_tx_clz64((uint64_t)(x))
    #endif

    static inline void nova_tx_popcount_rows_portable(
            const uint64_t *table, Py_ssize_t rows, Py_ssize_t width, int64_t *out) {
        for (Py_ssize_t i = 0; i < rows; i++) {
            int64_t total = 0;
            for (Py_ssize_t j = 0; j < width; j++)
                total += NOVA_TX_POPCOUNT64(table[i * width + j]);
            out[i] = total;
        }
    }

    #if defined(__GNUC__) && !defined(__POPCNT__) && (defined(__x86_64__) || defined(__i386__))
    /* Counting a whole host table is the one place where the popcnt instruction pays
       for a run-time check (three times faster again than SWAR), so it gets a copy of
       the loop built for it, chosen once per process. */
    __attribute__((target("popcnt")))
    static inline void nova_tx_popcount_rows_hw(
            const uint64_t *table, Py_ssize_t rows, Py_ssize_t width, int64_t *out) {
        for (Py_ssize_t i = 0; i < rows; i++) {
            int64_t total = 0;
            for (Py_ssize_t j = 0; j < width; j++)
                total += __builtin_popcountll(table[i * width + j]);
            out[i] = total;
        }
    }
    static inline void nova_tx_popcount_rows(
            const uint64_t *table, Py_ssize_t rows, Py_ssize_t width, int64_t *out) {
        static volatile int has_popcnt = -1;  /* a benign race: every thread agrees */
        if (has_popcnt < 0) {
            __builtin_cpu_init();
            has_popcnt = __builtin_cpu_supports("popcnt") ? 1 : 0;
        }
        if (has_popcnt)
            nova_tx_popcount_rows_hw(table, rows, width, out);
        else
            nova_tx_popcount_rows_portable(table, rows, width, out);
    }
    #else
    #define nova_tx_popcount_rows nova_tx_popcount_rows_portable
    #endif
    """
    int popcount64 "NOVA_TX_POPCOUNT64" (uint64_t x) noexcept nogil
    # ctz64 and clz64 are undefined for 0 (the builtins are): callers test the word first.
    int ctz64 "NOVA_TX_CTZ64" (uint64_t x) noexcept nogil
    int clz64 "NOVA_TX_CLZ64" (uint64_t x) noexcept nogil
    # out[i] = popcount of row i of a C-contiguous (rows, width) table.
    void words_popcount_rows "nova_tx_popcount_rows" (
        const uint64_t* table, Py_ssize_t rows, Py_ssize_t width, int64_t* out) noexcept nogil


cdef inline Py_ssize_t words_popcount(const uint64_t* w, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, total = 0
    for i in range(n):
        total += popcount64(w[i])
    return total


cdef inline bint words_is_subset(const uint64_t* a, const uint64_t* b,
                                 Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] & ~b[i]:
            return False
    return True


cdef inline bint words_isdisjoint(const uint64_t* a, const uint64_t* b,
                                  Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] & b[i]:
            return False
    return True


cdef inline bint words_is_empty(const uint64_t* w, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if w[i]:
            return False
    return True


# ``out`` may alias ``a`` or ``b``: each word is read before it is written.
cdef inline void words_union(const uint64_t* a, const uint64_t* b, uint64_t* out,
                             Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = a[i] | b[i]


cdef inline void words_intersection(const uint64_t* a, const uint64_t* b, uint64_t* out,
                                    Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = a[i] & b[i]


cdef inline void words_difference(const uint64_t* a, const uint64_t* b, uint64_t* out,
                                  Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = a[i] & ~b[i]


cdef inline bint words_contains(const uint64_t* w, Py_ssize_t cpu) noexcept nogil:
    return (w[cpu >> 6] >> (cpu & 63)) & 1


cdef inline void words_add(uint64_t* w, Py_ssize_t cpu) noexcept nogil:
    w[cpu >> 6] |= (<uint64_t>1) << (cpu & 63)


cdef inline void words_discard(uint64_t* w, Py_ssize_t cpu) noexcept nogil:
    w[cpu >> 6] &= ~((<uint64_t>1) << (cpu & 63))


cdef inline void words_add_range(uint64_t* w, Py_ssize_t first,
                                 Py_ssize_t last) noexcept nogil:
    # first..last inclusive, a word at a time: "0-4095" is 64 stores, not 4096.
    cdef Py_ssize_t lo = first >> 6, hi = last >> 6, i
    cdef uint64_t lo_mask = (~(<uint64_t>0)) << (first & 63)
    cdef uint64_t hi_mask = (~(<uint64_t>0)) >> (63 - (last & 63))
    if first > last:
        return
    if lo == hi:
        w[lo] |= lo_mask & hi_mask
        return
    w[lo] |= lo_mask
    for i in range(lo + 1, hi):
        w[i] = ~(<uint64_t>0)
    w[hi] |= hi_mask


cdef inline Py_ssize_t words_next(const uint64_t* w, Py_ssize_t n,
                                  Py_ssize_t start) noexcept nogil:
    # The lowest CPU >= start in the set, or -1: the pinning loops walk free pCPUs in
    # ascending order with it, as Nova's sorted() does.
    cdef Py_ssize_t i = start >> 6
    cdef uint64_t word
    if start < 0:
        start = 0
        i = 0
    if i >= n:
        return -1
    word = w[i] & ((~(<uint64_t>0)) << (start & 63))
    while word == 0:
        i += 1
        if i >= n:
            return -1
        word = w[i]
    return (i << 6) + ctz64(word)


cdef inline Py_ssize_t words_last(const uint64_t* w, Py_ssize_t n) noexcept nogil:
    # The highest CPU in the set, or -1 when it is empty.
    cdef Py_ssize_t i = n - 1
    cdef uint64_t word
    while i >= 0:
        word = w[i]
        if word:
            return (i << 6) + 63 - clz64(word)
        i -= 1
    return -1


# cython: language_level=3, annotation_typing=False
"""Compiled twin of ``nova_tx.virt.cpuset``: same names, same results, same exceptions.

The reference module is the definition of correct. This one takes the common inputs
through C (ASCII specs whose numbers are at most ``MAX_CPU``, sets of plain ints,
``uint64`` word arrays) and hands anything else (non-ASCII digits, huge numbers, lists
with duplicates, int subclasses) to the reference, so the two cannot disagree on the
rare cases and the fast path stays small enough to read.
"""
import operator
from collections.abc import Iterable

import numpy as np

from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy
from cpython.long cimport PyLong_AsLongLongAndOverflow

# setup.py names this module nova_tx._speedups.cpuset, so Cython does not pair it with
# _speedups/cpuset.pxd by itself; every kernel in _speedups/ cimports it the same way.
from cpuset cimport (
    words_add, words_add_range, words_difference, words_intersection, words_is_subset,
    words_isdisjoint, words_last, words_next, words_popcount, words_popcount_rows, words_union,
)

from nova_tx.virt import cpuset as _reference
from nova_tx.virt.cpuset import InvalidCPUSpec

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object) noexcept
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL
    bint PyLong_CheckExact(object) noexcept


__all__ = list(_reference.__all__)

MAX_CPU = _reference.MAX_CPU
# Numbers above MAX_CPU leave the fast path, whose bitmaps are sized by the largest CPU:
# the reference then answers (a set for parse_cpu_spec, a ValueError for word sets).
cdef int64_t _FAST_MAX = MAX_CPU

cdef enum _Scan:
    SCAN_OK = 0
    SCAN_BAD_RANGE = 1
    SCAN_BAD_EXCLUSION = 2
    SCAN_BAD_INCLUSION = 3
    SCAN_FALLBACK = 4

cdef enum _Int:
    INT_OK = 0
    INT_INVALID = 1
    INT_TOO_BIG = 2


# --- parsing ---------------------------------------------------------------------------

cdef inline bint _is_space(char c) noexcept nogil:
    # str.strip()'s ASCII whitespace, which includes the separators \x1c-\x1f.
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


cdef inline bint _is_digit(char c) noexcept nogil:
    return 48 <= c <= 57


cdef int _parse_int(const char* s, Py_ssize_t lo, Py_ssize_t hi, int64_t* out) noexcept nogil:
    # int(s[lo:hi].strip()) for ASCII text: optional sign, digits, single underscores
    # between digits. A valid number too big for the fast path is INT_TOO_BIG, an
    # invalid one is INT_INVALID whatever its size, as int() would say.
    cdef bint negative = False, big = False
    cdef int64_t value = 0
    cdef Py_ssize_t i
    cdef char c
    while lo < hi and _is_space(s[lo]):
        lo += 1
    while hi > lo and _is_space(s[hi - 1]):
        hi -= 1
    if lo < hi and (s[lo] == b'+' or s[lo] == b'-'):
        negative = s[lo] == b'-'
        lo += 1
    if lo >= hi or not _is_digit(s[lo]):
        return INT_INVALID
    for i in range(lo, hi):
        c = s[i]
        if _is_digit(c):
            if not big:
                value = value * 10 + (c - 48)
                big = value > _FAST_MAX
        elif not (c == b'_' and _is_digit(s[i - 1]) and i + 1 < hi and _is_digit(s[i + 1])):
            return INT_INVALID
    if big:
        return INT_TOO_BIG
    out[0] = -value if negative else value
    return INT_OK


cdef int _scan(const char* s, Py_ssize_t n, uint64_t* inc, uint64_t* exc, Py_ssize_t nwords,
               int64_t* max_inc, Py_ssize_t* err_lo, Py_ssize_t* err_hi) noexcept nogil:
    # Nova's parse_cpu_spec over the items in order. With inc == NULL it only checks the
    # spec and finds the largest included CPU; otherwise it also sets the bits (the
    # exclusions in their own bitmap, clipped to nwords, since they apply globally).
    cdef Py_ssize_t pos = 0, end, lo, hi, dash, left, last
    cdef int64_t first = 0, second = 0
    cdef int rc1, rc2
    cdef bint reject
    max_inc[0] = -1
    while pos <= n:
        end = pos
        while end < n and s[end] != b',':
            end += 1
        lo = pos
        hi = end
        pos = end + 1
        while lo < hi and _is_space(s[lo]):
            lo += 1
        while hi > lo and _is_space(s[hi - 1]):
            hi -= 1
        if lo == hi:
            continue
        err_lo[0] = lo
        err_hi[0] = hi
        dash = lo
        while dash < hi and s[dash] != b'-':
            dash += 1
        if dash < hi:
            left = lo
            reject = dash > lo and s[lo] == b'^'
            if reject:
                left += 1
            rc1 = _parse_int(s, left, dash, &first)
            rc2 = _parse_int(s, dash + 1, hi, &second)
            if rc1 == INT_INVALID or rc2 == INT_INVALID:
                return SCAN_BAD_RANGE
            if rc1 == INT_TOO_BIG or rc2 == INT_TOO_BIG:
                return SCAN_FALLBACK
            if first > second:
                return SCAN_BAD_RANGE
            if reject:
                if inc != NULL and first < nwords * 64:
                    last = second if second < nwords * 64 else nwords * 64 - 1
                    _add_range(exc, first, last)
            else:
                if second > max_inc[0]:
                    max_inc[0] = second
                if inc != NULL:
                    _add_range(inc, first, second)
        elif s[lo] == b'^':
            rc1 = _parse_int(s, lo + 1, hi, &first)
            if rc1 == INT_INVALID:
                return SCAN_BAD_EXCLUSION
            if rc1 == INT_TOO_BIG:
                return SCAN_FALLBACK
            if inc != NULL and first < nwords * 64:
                words_add(exc, first)
        else:
            rc1 = _parse_int(s, lo, hi, &first)
            if rc1 == INT_INVALID:
                return SCAN_BAD_INCLUSION
            if rc1 == INT_TOO_BIG:
                return SCAN_FALLBACK
            if first > max_inc[0]:
                max_inc[0] = first
            if inc != NULL:
                words_add(inc, first)
    return SCAN_OK


cdef inline void _add_range(uint64_t* w, int64_t first, int64_t last) noexcept nogil:
    words_add_range(w, <Py_ssize_t>first, <Py_ssize_t>last)


cdef object _raise_scan_error(int rc, str spec, Py_ssize_t lo, Py_ssize_t hi):
    rule = spec[lo:hi]
    if rc == SCAN_BAD_RANGE:
        raise InvalidCPUSpec(f"Invalid range expression {rule!r}")
    if rc == SCAN_BAD_EXCLUSION:
        raise InvalidCPUSpec(f"Invalid exclusion expression {rule!r}")
    raise InvalidCPUSpec(f"Invalid inclusion expression {rule!r}")


cdef class _Bitmap:
    # The parsed included-minus-excluded CPUs, owned here so that every exit frees them.
    cdef uint64_t* words
    cdef Py_ssize_t nwords

    def __dealloc__(self):
        free(self.words)


cdef _Bitmap _parse_fast(str spec):
    # None when the spec is outside the fast grammar (the reference must answer).
    cdef Py_ssize_t n, err_lo = 0, err_hi = 0, nwords
    cdef const char* s
    cdef int64_t max_inc
    cdef int rc
    cdef uint64_t* exc
    cdef _Bitmap result
    if not PyUnicode_IS_ASCII(spec):
        return None
    s = PyUnicode_AsUTF8AndSize(spec, &n)
    with nogil:
        rc = _scan(s, n, NULL, NULL, 0, &max_inc, &err_lo, &err_hi)
    if rc == SCAN_FALLBACK:
        return None
    if rc != SCAN_OK:
        _raise_scan_error(rc, spec, err_lo, err_hi)
    result = _Bitmap.__new__(_Bitmap)
    nwords = max_inc // 64 + 1 if max_inc >= 0 else 1
    result.nwords = nwords
    result.words = <uint64_t*>calloc(2 * nwords, sizeof(uint64_t))
    if result.words == NULL:
        raise MemoryError()
    exc = result.words + nwords
    with nogil:
        _scan(s, n, result.words, exc, nwords, &max_inc, &err_lo, &err_hi)
        words_difference(result.words, exc, result.words, nwords)
    return result


cdef set _bits_to_set(const uint64_t* w, Py_ssize_t n):
    cdef set result = set()
    cdef Py_ssize_t cpu = words_next(w, n, 0)
    while cpu >= 0:
        result.add(cpu)
        cpu = words_next(w, n, cpu + 1)
    return result


def parse_cpu_spec(spec: str) -> set[int]:
    """Parse a CPU set specification such as ``"1-4,^3,6"`` the way Nova does."""
    cdef _Bitmap bitmap
    if type(spec) is not str:
        return _reference.parse_cpu_spec(spec)
    bitmap = _parse_fast(spec)
    if bitmap is None:
        return _reference.parse_cpu_spec(spec)
    return _bits_to_set(bitmap.words, bitmap.nwords)


def parse_cpu_spec_words(spec: str, nwords: int | None = None) -> np.ndarray:
    """``parse_cpu_spec`` straight into words, for host configuration (cpu_dedicated_set)."""
    cdef _Bitmap bitmap
    cdef Py_ssize_t width, last
    cdef uint64_t[::1] out
    if type(spec) is not str:
        return _reference.parse_cpu_spec_words(spec, nwords)
    bitmap = _parse_fast(spec)
    if bitmap is None:
        return _reference.parse_cpu_spec_words(spec, nwords)
    last = words_last(bitmap.words, bitmap.nwords)
    width = _check_width(nwords, last)
    result = np.zeros(width, dtype=np.uint64)
    out = result
    memcpy(&out[0], bitmap.words, min(width, bitmap.nwords) * sizeof(uint64_t))
    return result


cdef Py_ssize_t _check_width(object nwords, Py_ssize_t last) except -1:
    # The reference's cpuset_to_words checks, in its order, for a set whose largest CPU
    # is ``last`` (-1 when empty).
    cdef Py_ssize_t needed = last // 64 + 1 if last >= 0 else 1
    if nwords is None:
        return needed
    nwords = operator.index(nwords)
    if nwords < 1:
        raise ValueError(f"nwords must be at least 1, got {nwords}")
    if needed > nwords:
        raise ValueError(f"CPU {last} does not fit in {nwords} word(s)")
    return nwords


# --- formatting ------------------------------------------------------------------------

cdef inline Py_ssize_t _write_uint(char* p, Py_ssize_t value) noexcept nogil:
    cdef char digits[24]
    cdef Py_ssize_t count = 0, i
    while True:
        digits[count] = <char>(48 + value % 10)
        count += 1
        value //= 10
        if value == 0:
            break
    for i in range(count):
        p[i] = digits[count - 1 - i]
    return count


cdef Py_ssize_t _format_into(const uint64_t* w, Py_ssize_t n, bint allow_ranges,
                             char* out) noexcept nogil:
    cdef Py_ssize_t length = 0, first, last, cpu = words_next(w, n, 0)
    while cpu >= 0:
        if length:
            out[length] = b','
            length += 1
        first = last = cpu
        cpu = words_next(w, n, cpu + 1)
        if allow_ranges:
            while cpu == last + 1:
                last = cpu
                cpu = words_next(w, n, cpu + 1)
        length += _write_uint(out + length, first)
        if last != first:
            out[length] = b'-'
            length += 1
            length += _write_uint(out + length, last)
    return length


cdef str _format_words(const uint64_t* w, Py_ssize_t n, bint allow_ranges):
    cdef Py_ssize_t count, last, size, length
    cdef char* buf
    with nogil:
        count = words_popcount(w, n)
        last = words_last(w, n)
    if count == 0:
        return ""
    # Every CPU costs at most the digits of the largest one plus a separator.
    size = count * (len(str(last)) + 1) + 1
    buf = <char*>malloc(size)
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            length = _format_into(w, n, allow_ranges, buf)
        return buf[:length].decode("ascii")
    finally:
        free(buf)


def format_cpu_spec(cpuset: Iterable[int], allow_ranges: bool = True) -> str:
    """Write CPUs back as a libvirt/Nova CPU list, the inverse of ``parse_cpu_spec``."""
    cdef bint ranges = allow_ranges
    cdef Py_ssize_t last, nwords
    cdef uint64_t* w
    if type(cpuset) is not set and type(cpuset) is not frozenset:
        # Lists may hold duplicates, which Nova writes out as they sort ("1,1-2").
        return _reference.format_cpu_spec(cpuset, allow_ranges)
    last = _fast_max(cpuset)
    if last == -2:
        return _reference.format_cpu_spec(cpuset, allow_ranges)
    nwords = last // 64 + 1 if last >= 0 else 1
    w = <uint64_t*>calloc(nwords, sizeof(uint64_t))
    if w == NULL:
        raise MemoryError()
    try:
        for item in cpuset:
            words_add(w, <Py_ssize_t>item)
        return _format_words(w, nwords, ranges)
    finally:
        free(w)


def format_cpu_spec_words(words: np.ndarray, allow_ranges: bool = True) -> str:
    """``format_cpu_spec`` of one word array (1-D), for guest XML and reports."""
    cdef bint ranges
    cdef const uint64_t[::1] w
    arr = _as_words(words)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D word array, got {arr.ndim}-D")
    ranges = allow_ranges
    if arr.shape[0] == 0:
        return ""
    w = np.ascontiguousarray(arr)
    return _format_words(&w[0], w.shape[0], ranges)


# --- word arrays -----------------------------------------------------------------------

cdef Py_ssize_t _fast_max(object cpus) except -3:
    # The largest CPU of a collection of plain ints in 0..MAX_CPU (-1 when empty),
    # or -2 when any member is something else and the reference must answer.
    cdef Py_ssize_t last = -1
    cdef long long value
    cdef int overflow = 0
    for item in cpus:
        if not PyLong_CheckExact(item):
            return -2
        value = PyLong_AsLongLongAndOverflow(item, &overflow)
        if overflow or value < 0 or value > _FAST_MAX:
            return -2
        if value > last:
            last = <Py_ssize_t>value
    return last


def cpuset_to_words(cpus: Iterable[int], nwords: int | None = None) -> np.ndarray:
    """Lay a CPU set out as ``uint64`` words, for host tables whose rows share one width."""
    cdef Py_ssize_t last, width
    cdef uint64_t[::1] out
    if nwords is not None:
        nwords = operator.index(nwords)
        if nwords < 1:
            raise ValueError(f"nwords must be at least 1, got {nwords}")
    if type(cpus) not in (set, frozenset, list, tuple):
        cpus = list(cpus)
    last = _fast_max(cpus)
    if last == -2:
        return _reference.cpuset_to_words(cpus, nwords)
    width = _check_width(nwords, last)
    result = np.zeros(width, dtype=np.uint64)
    out = result
    for item in cpus:
        words_add(&out[0], <Py_ssize_t>item)
    return result


def words_to_cpuset(words: np.ndarray) -> set[int]:
    """Read one CPU set back out of its words (1-D only: one set per call)."""
    cdef const uint64_t[::1] w
    arr = _as_words(words)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D word array, got {arr.ndim}-D")
    if arr.shape[0] == 0:
        return set()
    w = np.ascontiguousarray(arr)
    return _bits_to_set(&w[0], w.shape[0])


def popcount(words: np.ndarray) -> int | np.ndarray:
    """Count the CPUs of a set, or of every row (an ``int64`` array) of a table."""
    cdef const uint64_t[:, ::1] w
    cdef int64_t[::1] out
    cdef Py_ssize_t rows, width
    arr = _as_words(words)
    table = np.ascontiguousarray(arr[None, :] if arr.ndim == 1 else arr)
    rows, width = table.shape[0], table.shape[1]
    counts = np.zeros(rows, dtype=np.int64)
    if rows and width:
        w = table
        out = counts
        with nogil:
            words_popcount_rows(&w[0, 0], rows, width, &out[0])
    return int(counts[0]) if arr.ndim == 1 else counts


cdef enum _Op:
    OP_UNION
    OP_INTERSECTION
    OP_DIFFERENCE
    OP_IS_SUBSET
    OP_ISDISJOINT


cdef object _binary(object a, object b, int op):
    # One loop for the five operations: a 1-D operand is a table of one row read with a
    # row stride of 0, so "request against every host" costs no copy.
    cdef const uint64_t[:, ::1] ta, tb
    cdef uint64_t[:, ::1] tout
    cdef unsigned char[::1] flags
    cdef Py_ssize_t rows, width, i, stride_a, stride_b
    cdef const uint64_t* pa
    cdef const uint64_t* pb
    a, b = _operands(a, b)
    width = a.shape[a.ndim - 1]
    rows = max(a.shape[0] if a.ndim == 2 else 1, b.shape[0] if b.ndim == 2 else 1)
    if a.ndim == 2 and a.shape[0] == 0 or b.ndim == 2 and b.shape[0] == 0:
        rows = 0
    stride_a = width if a.ndim == 2 else 0
    stride_b = width if b.ndim == 2 else 0
    both_1d = a.ndim == 1 and b.ndim == 1
    if op == OP_IS_SUBSET or op == OP_ISDISJOINT:
        result = np.ones(rows, dtype=np.uint8)
    else:
        result = np.zeros((rows, width), dtype=np.uint64)
    if rows and width:
        ta = np.ascontiguousarray(a.reshape(-1, width))
        tb = np.ascontiguousarray(b.reshape(-1, width))
        pa = &ta[0, 0]
        pb = &tb[0, 0]
        if op == OP_IS_SUBSET or op == OP_ISDISJOINT:
            flags = result
            with nogil:
                for i in range(rows):
                    if op == OP_IS_SUBSET:
                        flags[i] = words_is_subset(pa + i * stride_a, pb + i * stride_b, width)
                    else:
                        flags[i] = words_isdisjoint(pa + i * stride_a, pb + i * stride_b, width)
        else:
            tout = result
            with nogil:
                for i in range(rows):
                    if op == OP_UNION:
                        words_union(pa + i * stride_a, pb + i * stride_b, &tout[i, 0], width)
                    elif op == OP_INTERSECTION:
                        words_intersection(pa + i * stride_a, pb + i * stride_b,
                                           &tout[i, 0], width)
                    else:
                        words_difference(pa + i * stride_a, pb + i * stride_b,
                                         &tout[i, 0], width)
    if op == OP_IS_SUBSET or op == OP_ISDISJOINT:
        return bool(result[0]) if both_1d else result.view(np.bool_)
    return result[0] if both_1d else result


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CPUs in either set, row by row (a 1-D operand applies to every row)."""
    return _binary(a, b, OP_UNION)


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CPUs in both sets, row by row (a 1-D operand applies to every row)."""
    return _binary(a, b, OP_INTERSECTION)


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CPUs of ``a`` not in ``b``, row by row: ``free = pcpuset - pinned`` for all hosts."""
    return _binary(a, b, OP_DIFFERENCE)


def is_subset(a: np.ndarray, b: np.ndarray) -> bool | np.ndarray:
    """Whether every CPU of ``a`` is in ``b``, per row when either operand is 2-D."""
    return _binary(a, b, OP_IS_SUBSET)


def isdisjoint(a: np.ndarray, b: np.ndarray) -> bool | np.ndarray:
    """Whether ``a`` and ``b`` share no CPU, per row when either operand is 2-D."""
    return _binary(a, b, OP_ISDISJOINT)


cdef object _as_words(object words):
    arr = np.asarray(words, dtype=np.uint64)
    if arr.ndim != 1 and arr.ndim != 2:
        raise ValueError(f"word arrays must be 1-D or 2-D, got {arr.ndim}-D")
    return arr


cdef tuple _operands(object a, object b):
    a, b = _as_words(a), _as_words(b)
    # No negative indexing here: the build turns wraparound off.
    width_a, width_b = a.shape[a.ndim - 1], b.shape[b.ndim - 1]
    if width_a != width_b:
        raise ValueError(f"word arrays differ in width: {width_a} and {width_b}")
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] != b.shape[0]:
        raise ValueError(f"word tables differ in rows: {a.shape[0]} and {b.shape[0]}")
    return a, b

"""CPU set specifications and the bit-word CPU sets of the scheduling kernel.

This is the readable reference: ``nova_tx._speedups.cpuset`` is its compiled twin, with the
same names, results and exceptions, and a property test holds the two together.

``parse_cpu_spec`` and ``format_cpu_spec`` follow Nova's ``nova.virt.hardware`` functions
of the same names to the letter (spec/E §1.1), including what Nova happens to accept,
because operators already have ``cpu_dedicated_set`` values and flavors with
``hw:cpu_dedicated_mask`` that must keep meaning what they meant.

Word layout
-----------
The kernel keeps every CPU set as a fixed number ``W`` of ``uint64`` words: CPU ``c`` is
bit ``c % 64`` of word ``c // 64``, so ``{0, 1, 65}`` with ``W = 2`` is
``[0b11, 0b10]``. A host table is a C-contiguous 2-D array, one row of ``W`` words per
host (or per NUMA cell), every row the same width. Why words rather than Python sets:
the fitter asks "how many free pCPUs", "is this request a subset of the free ones",
"which pCPUs are free on each sibling core" for every cell of every candidate host, and
with words each of those is a handful of AND/ANDNOT/popcount instructions per cell that
numpy (here) or a ``nogil`` loop (in the kernel) runs over all rows at once.

Word arrays of one width combine with each other; a 1-D array combines with every row of
a 2-D one (one request against all hosts). Row-wise answers (``popcount``, ``is_subset``,
``isdisjoint``) are a Python scalar for 1-D inputs and one array element per row
otherwise.
"""
from __future__ import annotations

import operator
from collections.abc import Iterable

import numpy as np

from nova_tx import exception

__all__ = [
    "MAX_CPU",
    "InvalidCPUSpec",
    "cpuset_to_words",
    "difference",
    "format_cpu_spec",
    "format_cpu_spec_words",
    "intersection",
    "is_subset",
    "isdisjoint",
    "parse_cpu_spec",
    "parse_cpu_spec_words",
    "popcount",
    "union",
    "words_to_cpuset",
]

WORD_BITS = 64

# The largest CPU number a word set holds (65536 words, 512 KiB per set). Far above any
# real host, it stops a typing slip ("99999999999") from allocating gigabytes; sets of
# ints (parse_cpu_spec) have no such limit, as in Nova.
MAX_CPU = (1 << 22) - 1


class InvalidCPUSpec(exception.Invalid):
    """A CPU set specification that Nova would refuse (an ``Invalid``, so HTTP 400)."""

    msg_fmt = "Invalid CPU set specification %(spec)r"


def parse_cpu_spec(spec: str) -> set[int]:
    """Parse a CPU set specification such as ``"1-4,^3,6"`` the way Nova does.

    Exclusions apply to the whole result wherever they appear, so ``"^3,1-4"`` is
    ``{1, 2, 4}``: operators write the exclusions first as often as last.
    """
    included: set[int] = set()
    excluded: set[int] = set()
    for item in spec.split(","):
        rule = item.strip()
        if not rule:
            continue
        # Only the first '-' separates a range; "1--3" makes an end of -3, which is then
        # refused as a backwards range, as in Nova.
        range_parts = rule.split("-", 1)
        if len(range_parts) > 1:
            reject = False
            if range_parts[0] and range_parts[0][0] == "^":
                reject = True
                range_parts[0] = range_parts[0][1:]
            try:
                start, end = (int(part.strip()) for part in range_parts)
            except ValueError:
                raise InvalidCPUSpec(f"Invalid range expression {rule!r}") from None
            if start > end:
                raise InvalidCPUSpec(f"Invalid range expression {rule!r}")
            (excluded if reject else included).update(range(start, end + 1))
        elif rule[0] == "^":
            try:
                excluded.add(int(rule[1:].strip()))
            except ValueError:
                raise InvalidCPUSpec(f"Invalid exclusion expression {rule!r}") from None
        else:
            try:
                included.add(int(rule))
            except ValueError:
                raise InvalidCPUSpec(f"Invalid inclusion expression {rule!r}") from None
    return included - excluded


def format_cpu_spec(cpuset: Iterable[int], allow_ranges: bool = True) -> str:
    """Write CPUs back as a libvirt/Nova CPU list, the inverse of ``parse_cpu_spec``.

    ``allow_ranges=False`` exists for consumers that cannot read ranges; runs of two are
    still written as a range otherwise ("7-8"), because that is what Nova writes and
    what guest XML and stored values already contain.
    """
    if not allow_ranges:
        return ",".join(str(cpu) for cpu in sorted(cpuset))
    runs: list[list[int]] = []
    previous = None
    for cpu in sorted(cpuset):
        if previous is None or previous != cpu - 1:
            runs.append([])
        runs[-1].append(cpu)
        previous = cpu
    return ",".join(
        str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs
    )


def cpuset_to_words(cpus: Iterable[int], nwords: int | None = None) -> np.ndarray:
    """Lay a CPU set out as ``uint64`` words, for host tables whose rows share one width.

    ``nwords`` fixes the width so that every row of a table lines up; a CPU that does
    not fit is an error rather than a silent truncation, since it would be a pCPU the
    scheduler could never see.
    """
    if nwords is not None:
        nwords = operator.index(nwords)
        if nwords < 1:
            raise ValueError(f"nwords must be at least 1, got {nwords}")
    cpus = [operator.index(cpu) for cpu in cpus]
    if cpus and min(cpus) < 0:
        raise ValueError(f"CPU numbers cannot be negative, got {min(cpus)}")
    if cpus and max(cpus) > MAX_CPU:
        raise ValueError(f"CPU {max(cpus)} is above the largest supported CPU {MAX_CPU}")
    needed = max(cpus) // WORD_BITS + 1 if cpus else 1
    if nwords is None:
        nwords = needed
    elif needed > nwords:
        raise ValueError(f"CPU {max(cpus)} does not fit in {nwords} word(s)")
    words = np.zeros(nwords, dtype=np.uint64)
    index = np.array(cpus, dtype=np.int64)
    bits = np.left_shift(np.uint64(1), (index % WORD_BITS).astype(np.uint64))
    np.bitwise_or.at(words, index // WORD_BITS, bits)
    return words


def words_to_cpuset(words: np.ndarray) -> set[int]:
    """Read one CPU set back out of its words (1-D only: one set per call)."""
    words = _as_words(words)
    if words.ndim != 1:
        raise ValueError(f"expected a 1-D word array, got {words.ndim}-D")
    return set(np.flatnonzero(_bits(words)).tolist())


def popcount(words: np.ndarray) -> int | np.ndarray:
    """Count the CPUs of a set, or of every row (an ``int64`` array) of a table."""
    words = _as_words(words)
    counts = _bits(words).sum(axis=-1, dtype=np.int64)
    return int(counts) if words.ndim == 1 else counts


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CPUs in either set, row by row (a 1-D operand applies to every row)."""
    a, b = _operands(a, b)
    return a | b


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CPUs in both sets, row by row (a 1-D operand applies to every row)."""
    a, b = _operands(a, b)
    return a & b


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CPUs of ``a`` not in ``b``, row by row: ``free = pcpuset - pinned`` for all hosts."""
    a, b = _operands(a, b)
    return a & ~b


def is_subset(a: np.ndarray, b: np.ndarray) -> bool | np.ndarray:
    """Whether every CPU of ``a`` is in ``b``, per row when either operand is 2-D."""
    a, b = _operands(a, b)
    return _row_all_zero(a & ~b)


def isdisjoint(a: np.ndarray, b: np.ndarray) -> bool | np.ndarray:
    """Whether ``a`` and ``b`` share no CPU, per row when either operand is 2-D."""
    a, b = _operands(a, b)
    return _row_all_zero(a & b)


def parse_cpu_spec_words(spec: str, nwords: int | None = None) -> np.ndarray:
    """``parse_cpu_spec`` straight into words, for host configuration (cpu_dedicated_set)."""
    return cpuset_to_words(parse_cpu_spec(spec), nwords)


def format_cpu_spec_words(words: np.ndarray, allow_ranges: bool = True) -> str:
    """``format_cpu_spec`` of one word array (1-D), for guest XML and reports."""
    return format_cpu_spec(words_to_cpuset(words), allow_ranges)


def _as_words(words: np.ndarray) -> np.ndarray:
    words = np.asarray(words, dtype=np.uint64)
    if words.ndim not in (1, 2):
        raise ValueError(f"word arrays must be 1-D or 2-D, got {words.ndim}-D")
    return words


def _bits(words: np.ndarray) -> np.ndarray:
    # Little-endian bytes, little-endian bits: bit i of the flattened row is CPU i.
    as_bytes = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")


def _operands(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Only two shapes combine: equal ones, and a 1-D set against each row of a table.
    # Anything else (numpy would broadcast (1, W) against (N, W)) is a layout mistake.
    a, b = _as_words(a), _as_words(b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"word arrays differ in width: {a.shape[-1]} and {b.shape[-1]}")
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] != b.shape[0]:
        raise ValueError(f"word tables differ in rows: {a.shape[0]} and {b.shape[0]}")
    return a, b


def _row_all_zero(words: np.ndarray) -> bool | np.ndarray:
    empty = ~np.any(words, axis=-1)
    return bool(empty) if words.ndim == 1 else empty

"""CPU set specs and bit-word CPU sets: the reference, its compiled twin, and their agreement.

Every behaviour test runs twice, once per implementation (``CPUSetBehaviour`` is mixed
into one TestCase per module). The compiled module must be built (``setup.py build_ext
--inplace``): without it its tests skip on a workstation and fail under CI=true, so a
CI run can never pass by quietly testing the reference alone.
"""
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.virt import cpuset as reference
from tests.helpers import unavailable

try:
    from nova_tx._speedups import cpuset as compiled
except ImportError as e:
    compiled = None
    _NOT_BUILT = f"nova_tx._speedups.cpuset is not built ({e}): run setup.py build_ext --inplace"


def _compiled_module(testcase: unittest.SynchronousTestCase):
    if compiled is None:
        unavailable(_NOT_BUILT)
    return compiled


def _words(cs, rows: list, nwords: int) -> np.ndarray:
    return np.array([cs.cpuset_to_words(row, nwords) for row in rows],
                    dtype=np.uint64).reshape(len(rows), nwords)


def _outcome(func, *args):
    # What a call did, comparable across implementations: its value, or its exception's
    # type and message.
    try:
        value = func(*args)
    except MemoryError:
        raise  # never an answer: an input the strategies should not have made
    except Exception as e:
        return ("raised", type(e), str(e))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tolist())
    return ("value", type(value), value)


# Strategies. Numbers stay below 10**5 wherever they can end a range, because Nova's
# parser (our reference) builds every range as a Python set.
_SETS = st.frozensets(st.integers(0, 1100), max_size=80)
_SMALL_SETS = st.frozensets(st.integers(0, 300), max_size=40)
_PAD = st.sampled_from(["", "", " ", "  ", "\t", "\n", "\x0b", "\x1c", "\xa0"])
_NUMBER = st.one_of(
    st.integers(0, 1100).map(str),
    st.integers(0, 1100).map("+{}".format),
    st.integers(0, 99).map("0{}".format),
    st.integers(10, 999).map(lambda n: "{}_{}".format(*divmod(n, 10))),
    st.sampled_from(["", "-0", "-3", "x", "1.5", "0x1", "_1", "1_", "1__0", "+ 1", "^", "-",
                     "\u0661\u0662"]),
)


@st.composite
def _items(draw) -> str:
    kind = draw(st.sampled_from(["single", "range", "exclude", "exclude_range", "raw"]))
    if kind == "raw":
        return draw(st.text(alphabet="0123456789^-+_, \t\u0661a", max_size=8))
    first, second = draw(_NUMBER), draw(_NUMBER)
    if kind == "single":
        body = first
    elif kind == "exclude":
        body = "^" + draw(_PAD) + first
    else:
        body = first + draw(_PAD) + "-" + draw(_PAD) + second
        if kind == "exclude_range":
            body = "^" + body
    if draw(st.integers(0, 20)) == 0:
        # Beyond the compiled fast path (above 4194303) but never as the end of a range.
        body = draw(st.sampled_from(["99999999999", "^4194304", "99999999999-3", "4194303",
                                     "^4194303-4194305"]))
    return draw(_PAD) + body + draw(_PAD)


_SPECS = st.one_of(
    st.lists(_items(), max_size=6).map(",".join),
    # Raw text, minus numbers big enough to make the reference build a huge range.
    st.text(alphabet="0123456789,^-+_ \t\x1c\u0661\xa0x", max_size=24).filter(
        lambda s: not re.search(r"[\d_]{6,}", s)),
)


# The behaviour properties run once per implementation from the same methods. Hypothesis
# flags that as "differing executors"; here it is the point, and sharing the example
# database means an example that broke one implementation is replayed on the other.
_BOTH = settings(deadline=None, suppress_health_check=[HealthCheck.differing_executors])


class CPUSetBehaviour:
    """The behaviour both implementations must have; ``self.cs`` is the module under test."""

    # --- parse_cpu_spec -------------------------------------------------------------

    def test_spec_examples(self):
        self.assertEqual({1, 2, 4, 6}, self.cs.parse_cpu_spec("1-4,^3,6"))
        self.assertEqual({1, 2, 4}, self.cs.parse_cpu_spec("^3,1-4"))
        self.assertEqual("0-2,5,7-8", self.cs.format_cpu_spec({0, 1, 2, 5, 7, 8}))

    def test_backwards_range_is_invalid(self):
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec, "4-1")
        self.assertEqual("Invalid range expression '4-1'", str(e))
        self.assertIsInstance(e, exception.Invalid)
        self.assertEqual(400, e.code)

    def test_invalid_expressions_carry_novas_messages(self):
        cases = {
            "1,a": "Invalid inclusion expression 'a'",
            "1.5": "Invalid inclusion expression '1.5'",
            "0x10": "Invalid inclusion expression '0x10'",
            "^a": "Invalid exclusion expression '^a'",
            "^": "Invalid exclusion expression '^'",
            "^^3": "Invalid exclusion expression '^^3'",
            "1-a": "Invalid range expression '1-a'",
            " 1 - : ": "Invalid range expression '1 - :'",
            "-1": "Invalid range expression '-1'",
            "1--3": "Invalid range expression '1--3'",
            "1-2-3": "Invalid range expression '1-2-3'",
            "^-3": "Invalid range expression '^-3'",
            "1-^3": "Invalid range expression '1-^3'",
            "2-3,\t5-4 ,7": "Invalid range expression '5-4'",
        }
        for spec, message in cases.items():
            e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec, spec)
            self.assertEqual(message, str(e), spec)

    def test_first_invalid_item_wins(self):
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec, "x,4-1")
        self.assertEqual("Invalid inclusion expression 'x'", str(e))

    def test_whitespace_around_items_and_range_parts(self):
        self.assertEqual({1, 2, 3}, self.cs.parse_cpu_spec(" 1 - 3 "))
        self.assertEqual({1, 2, 5}, self.cs.parse_cpu_spec("\t1,\n2 , 5\x0b"))
        self.assertEqual({1, 4}, self.cs.parse_cpu_spec(" ^ 2 - 3 , 1-4"))
        self.assertEqual({1}, self.cs.parse_cpu_spec("1,^ 2"))

    def test_empty_items_are_skipped(self):
        self.assertEqual(set(), self.cs.parse_cpu_spec(""))
        self.assertEqual(set(), self.cs.parse_cpu_spec(" , ,,"))
        self.assertEqual({1, 2}, self.cs.parse_cpu_spec(",1,,2,"))

    def test_exclusions_apply_globally(self):
        self.assertEqual({0, 1, 3}, self.cs.parse_cpu_spec("^2,0-3"))
        self.assertEqual({1, 2, 3}, self.cs.parse_cpu_spec("1-3,^7,^100-200"))
        self.assertEqual(set(), self.cs.parse_cpu_spec("^5"))
        self.assertEqual(set(), self.cs.parse_cpu_spec("5,^5"))

    def test_large_cpu_numbers(self):
        self.assertEqual({1023}, self.cs.parse_cpu_spec("1023"))
        self.assertEqual({1020, 1022, 1023}, self.cs.parse_cpu_spec("1020-1023,^1021"))
        self.assertEqual(set(range(4096)) - {64}, self.cs.parse_cpu_spec("0-4095,^64"))

    def test_numbers_beyond_the_fast_path(self):
        self.assertEqual({4194303}, self.cs.parse_cpu_spec("4194303"))
        self.assertEqual({4194304, 99999999999}, self.cs.parse_cpu_spec("4194304,99999999999"))
        self.assertEqual(set(range(4194300, 4194311)), self.cs.parse_cpu_spec("4194300-4194310"))
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec,
                              "99999999999-3")
        self.assertEqual("Invalid range expression '99999999999-3'", str(e))

    def test_what_pythons_int_accepts_nova_accepts(self):
        # Nova converts with int(), so these pass its parser; operators may rely on it.
        self.assertEqual({1, 2, 3}, self.cs.parse_cpu_spec("+1-+3"))
        self.assertEqual({10, 7}, self.cs.parse_cpu_spec("1_0,007"))
        self.assertEqual({0}, self.cs.parse_cpu_spec("0--0"))
        self.assertEqual({12}, self.cs.parse_cpu_spec("\u0661\u0662"))
        self.assertEqual({5}, self.cs.parse_cpu_spec("\xa05\u2003"))
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec, "1__0")
        self.assertEqual("Invalid inclusion expression '1__0'", str(e))

    def test_non_ascii_messages_use_repr(self):
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec, "1,\u00e9")
        self.assertEqual("Invalid inclusion expression '\u00e9'", str(e))
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec, "1'2")
        self.assertEqual('Invalid inclusion expression "1\'2"', str(e))

    # --- format_cpu_spec ------------------------------------------------------------

    def test_format(self):
        self.assertEqual("", self.cs.format_cpu_spec(set()))
        self.assertEqual("1023", self.cs.format_cpu_spec({1023}))
        self.assertEqual("0-127", self.cs.format_cpu_spec(set(range(128))))
        self.assertEqual("0-2,5,7-8", self.cs.format_cpu_spec(frozenset({0, 1, 2, 5, 7, 8})))
        self.assertEqual("0,1,2,5,7,8",
                         self.cs.format_cpu_spec({0, 1, 2, 5, 7, 8}, allow_ranges=False))
        self.assertEqual("63-65", self.cs.format_cpu_spec({63, 64, 65}))

    def test_format_takes_any_iterable_as_nova_does(self):
        self.assertEqual("1-3", self.cs.format_cpu_spec([3, 1, 2]))
        self.assertEqual("1-3", self.cs.format_cpu_spec(iter((2, 3, 1))))
        self.assertEqual("1,1-2", self.cs.format_cpu_spec([1, 1, 2]))
        self.assertEqual("99999999999", self.cs.format_cpu_spec({99999999999}))

    # --- words ----------------------------------------------------------------------

    def test_word_layout(self):
        words = self.cs.cpuset_to_words({0, 1, 65})
        self.assertEqual(np.uint64, words.dtype)
        self.assertEqual([0b11, 0b10], words.tolist())
        self.assertEqual([0, 0, 0, 1 << 63], self.cs.cpuset_to_words([255], 4).tolist())
        self.assertEqual([0], self.cs.cpuset_to_words(set()).tolist())
        self.assertEqual([0, 0], self.cs.cpuset_to_words(iter(()), 2).tolist())

    def test_cpuset_to_words_refuses_what_does_not_fit(self):
        e = self.assertRaises(ValueError, self.cs.cpuset_to_words, {1, 64}, 1)
        self.assertEqual("CPU 64 does not fit in 1 word(s)", str(e))
        e = self.assertRaises(ValueError, self.cs.cpuset_to_words, {1, -2})
        self.assertEqual("CPU numbers cannot be negative, got -2", str(e))
        e = self.assertRaises(ValueError, self.cs.cpuset_to_words, {4194304}, 70000)
        self.assertEqual("CPU 4194304 is above the largest supported CPU 4194303", str(e))
        self.assertEqual(65536, self.cs.cpuset_to_words({4194303}).shape[0])
        e = self.assertRaises(ValueError, self.cs.cpuset_to_words, {1}, 0)
        self.assertEqual("nwords must be at least 1, got 0", str(e))
        self.assertRaises(TypeError, self.cs.cpuset_to_words, {1.0})

    def test_words_to_cpuset(self):
        self.assertEqual({0, 1, 65, 127}, self.cs.words_to_cpuset([3, 2 | 1 << 63]))
        self.assertEqual(set(), self.cs.words_to_cpuset(np.zeros(3, dtype=np.uint64)))
        e = self.assertRaises(ValueError, self.cs.words_to_cpuset, np.zeros((2, 2), np.uint64))
        self.assertEqual("expected a 1-D word array, got 2-D", str(e))

    def test_popcount(self):
        self.assertEqual(3, self.cs.popcount(self.cs.cpuset_to_words({0, 64, 1023})))
        counts = self.cs.popcount(np.array([[0, 0], [2**64 - 1, 1], [5, 0]], dtype=np.uint64))
        self.assertEqual(np.int64, counts.dtype)
        self.assertEqual([0, 65, 2], counts.tolist())
        self.assertEqual([], self.cs.popcount(np.zeros((0, 4), np.uint64)).tolist())
        e = self.assertRaises(ValueError, self.cs.popcount, np.zeros((1, 1, 1), np.uint64))
        self.assertEqual("word arrays must be 1-D or 2-D, got 3-D", str(e))

    def test_operations_take_any_layout(self):
        # Read-only, strided and Fortran-ordered inputs read the same as contiguous ones.
        table = np.asfortranarray(np.array([[1, 2, 0, 0], [3, 4, 0, 0]], dtype=np.uint64))
        table.setflags(write=False)
        strided = table[:, ::2]
        self.assertEqual([[1, 0], [3, 0]], strided.tolist())
        self.assertEqual([1, 2], self.cs.popcount(strided).tolist())
        self.assertEqual([True, False], self.cs.is_subset(strided, [1, 0]).tolist())
        self.assertEqual([[0, 0], [2, 0]], self.cs.difference(strided, [1, 0]).tolist())

    def test_operand_shapes(self):
        one = np.zeros(2, np.uint64)
        e = self.assertRaises(ValueError, self.cs.union, one, np.zeros(3, np.uint64))
        self.assertEqual("word arrays differ in width: 2 and 3", str(e))
        e = self.assertRaises(ValueError, self.cs.is_subset,
                              np.zeros((2, 2), np.uint64), np.zeros((3, 2), np.uint64))
        self.assertEqual("word tables differ in rows: 2 and 3", str(e))
        self.assertEqual((0, 2), self.cs.union(np.zeros((0, 2), np.uint64), one).shape)
        self.assertEqual((0,), self.cs.isdisjoint(one, np.zeros((0, 2), np.uint64)).shape)
        self.assertIs(True, self.cs.is_subset(one, one))
        self.assertIs(True, self.cs.isdisjoint(one, one))

    def test_parse_cpu_spec_words(self):
        words = self.cs.parse_cpu_spec_words("0-127,^3,^64-70")
        self.assertEqual(set(range(128)) - {3} - set(range(64, 71)),
                         self.cs.words_to_cpuset(words))
        self.assertEqual((2,), words.shape)
        self.assertEqual((4,), self.cs.parse_cpu_spec_words("0-127", 4).shape)
        self.assertEqual([0], self.cs.parse_cpu_spec_words("").tolist())
        # What counts is the result: excluded CPUs may lie beyond the width.
        self.assertEqual([2**64 - 1], self.cs.parse_cpu_spec_words("0-200,^64-200", 1).tolist())
        e = self.assertRaises(ValueError, self.cs.parse_cpu_spec_words, "0-64", 1)
        self.assertEqual("CPU 64 does not fit in 1 word(s)", str(e))
        e = self.assertRaises(reference.InvalidCPUSpec, self.cs.parse_cpu_spec_words, "x", 0)
        self.assertEqual("Invalid inclusion expression 'x'", str(e))
        # A slip of the keyboard must not allocate gigabytes of words.
        e = self.assertRaises(ValueError, self.cs.parse_cpu_spec_words, "1,99999999999")
        self.assertEqual("CPU 99999999999 is above the largest supported CPU 4194303", str(e))
        self.assertEqual([2], self.cs.parse_cpu_spec_words("1,99999999999,^99999999999").tolist())

    def test_format_cpu_spec_words(self):
        words = self.cs.cpuset_to_words({0, 1, 2, 5, 7, 8, 200}, 4)
        self.assertEqual("0-2,5,7-8,200", self.cs.format_cpu_spec_words(words))
        self.assertEqual("0,1,2,5,7,8,200", self.cs.format_cpu_spec_words(words, False))
        self.assertEqual("", self.cs.format_cpu_spec_words(np.zeros(2, np.uint64)))

    # --- properties -----------------------------------------------------------------

    @_BOTH
    @given(_SETS, st.booleans())
    def test_format_parse_round_trip(self, cpus, allow_ranges):
        text = self.cs.format_cpu_spec(cpus, allow_ranges)
        self.assertEqual(cpus, self.cs.parse_cpu_spec(text))
        words = self.cs.parse_cpu_spec_words(text)
        self.assertEqual(cpus, self.cs.words_to_cpuset(words))
        self.assertEqual(text, self.cs.format_cpu_spec_words(words, allow_ranges))

    @_BOTH
    @given(st.integers(1, 4), st.data())
    def test_one_dimensional_operations_are_set_operations(self, nwords, data):
        limit = nwords * 64 - 1
        a = data.draw(st.frozensets(st.integers(0, limit)))
        b = data.draw(st.frozensets(st.integers(0, limit)))
        wa, wb = self.cs.cpuset_to_words(a, nwords), self.cs.cpuset_to_words(b, nwords)
        self.assertEqual(a | b, self.cs.words_to_cpuset(self.cs.union(wa, wb)))
        self.assertEqual(a & b, self.cs.words_to_cpuset(self.cs.intersection(wa, wb)))
        self.assertEqual(a - b, self.cs.words_to_cpuset(self.cs.difference(wa, wb)))
        self.assertIs(a <= b, self.cs.is_subset(wa, wb))
        self.assertIs(a.isdisjoint(b), self.cs.isdisjoint(wa, wb))
        self.assertEqual(len(a), self.cs.popcount(wa))
        self.assertEqual((nwords,), self.cs.union(wa, wb).shape)

    @_BOTH
    @given(st.integers(1, 3), st.data())
    def test_row_wise_operations_are_set_operations(self, nwords, data):
        limit = nwords * 64 - 1
        row_sets = st.frozensets(st.integers(0, limit), max_size=20)
        rows = data.draw(st.integers(0, 6))
        left = data.draw(st.lists(row_sets, min_size=rows, max_size=rows))
        right = data.draw(st.lists(row_sets, min_size=rows, max_size=rows))
        request = data.draw(row_sets)
        tl, tr = _words(self.cs, left, nwords), _words(self.cs, right, nwords)
        wq = self.cs.cpuset_to_words(request, nwords)

        self.assertEqual([len(s) for s in left], self.cs.popcount(tl).tolist())
        for name, expected in [
            ("union", [x | y for x, y in zip(left, right, strict=True)]),
            ("intersection", [x & y for x, y in zip(left, right, strict=True)]),
            ("difference", [x - y for x, y in zip(left, right, strict=True)]),
        ]:
            result = getattr(self.cs, name)(tl, tr)
            self.assertEqual((rows, nwords), result.shape)
            self.assertEqual(expected, [self.cs.words_to_cpuset(r) for r in result], name)
        subset = self.cs.is_subset(tl, tr)
        self.assertEqual(np.bool_, subset.dtype)
        self.assertEqual([x <= y for x, y in zip(left, right, strict=True)], subset.tolist())
        self.assertEqual([x.isdisjoint(y) for x, y in zip(left, right, strict=True)],
                         self.cs.isdisjoint(tl, tr).tolist())
        # One request against every row, from either side.
        self.assertEqual([request <= y for y in right], self.cs.is_subset(wq, tr).tolist())
        self.assertEqual([x <= request for x in left], self.cs.is_subset(tl, wq).tolist())
        self.assertEqual([x - request for x in left],
                         [self.cs.words_to_cpuset(r) for r in self.cs.difference(tl, wq)])
        self.assertEqual([request - y for y in right],
                         [self.cs.words_to_cpuset(r) for r in self.cs.difference(wq, tr)])


class ReferenceCPUSetTest(CPUSetBehaviour, unittest.SynchronousTestCase):
    def setUp(self):
        self.cs = reference


class CompiledCPUSetTest(CPUSetBehaviour, unittest.SynchronousTestCase):
    def setUp(self):
        self.cs = _compiled_module(self)


class CompiledMatchesReferenceTest(unittest.SynchronousTestCase):
    """The compiled module answers exactly as the reference on inputs nobody hand-picked."""

    def setUp(self):
        self.cs = _compiled_module(self)

    def assertSameOutcome(self, func_name: str, *args):
        expected = _outcome(getattr(reference, func_name), *args)
        actual = _outcome(getattr(self.cs, func_name), *args)
        self.assertEqual(expected, actual, f"{func_name}{args!r}")

    def test_same_public_names(self):
        self.assertEqual(reference.__all__, self.cs.__all__)
        for name in reference.__all__:
            self.assertTrue(hasattr(self.cs, name), name)
        self.assertIs(reference.InvalidCPUSpec, self.cs.InvalidCPUSpec)
        self.assertEqual(reference.MAX_CPU, self.cs.MAX_CPU)

    def test_unusual_arguments(self):
        # Whatever the reference does with odd argument types, the compiled module does
        # too (annotations are hints there, not C types).
        class Spec(str):
            pass

        cases = [
            ("parse_cpu_spec", None), ("parse_cpu_spec", b"1"), ("parse_cpu_spec", Spec("1-x")),
            ("parse_cpu_spec", Spec("1-3,^2")), ("parse_cpu_spec_words", "1", 2.0),
            ("parse_cpu_spec_words", Spec("70"), 2), ("cpuset_to_words", {1}, True),
            ("cpuset_to_words", {1}, 2.0), ("cpuset_to_words", [True, 3]),
            ("format_cpu_spec", {1, 2}, 0), ("format_cpu_spec", {True, 2}),
            ("format_cpu_spec", [True, 2], False), ("format_cpu_spec", {-1, 0, 1}),
            ("format_cpu_spec", {1.0}), ("format_cpu_spec_words", [1, 2], 0),
            ("popcount", [[1, 3]]), ("union", [1], [[2], [3]]), ("is_subset", [[1]], [-1]),
            ("words_to_cpuset", 5), ("isdisjoint", 1, 2),
        ]
        for name, *args in cases:
            self.assertSameOutcome(name, *args)

    @settings(deadline=None, max_examples=400)
    @given(_SPECS)
    def test_parse_cpu_spec(self, spec):
        self.assertSameOutcome("parse_cpu_spec", spec)

    @settings(deadline=None, max_examples=200)
    @given(_SPECS, st.one_of(st.none(), st.integers(0, 20)))
    def test_parse_cpu_spec_words(self, spec, nwords):
        self.assertSameOutcome("parse_cpu_spec_words", spec, nwords)

    @settings(deadline=None)
    @given(st.one_of(_SETS, _SETS.map(set), st.lists(st.integers(-3, 300), max_size=20)),
           st.booleans())
    def test_format_cpu_spec(self, cpus, allow_ranges):
        self.assertSameOutcome("format_cpu_spec", cpus, allow_ranges)

    @settings(deadline=None)
    @given(st.lists(st.integers(-2, 400), max_size=20), st.one_of(st.none(), st.integers(0, 8)))
    def test_cpuset_to_words(self, cpus, nwords):
        self.assertSameOutcome("cpuset_to_words", cpus, nwords)

    @settings(deadline=None)
    @given(st.integers(1, 3), st.data())
    def test_word_operations(self, nwords, data):
        def table():
            rows = data.draw(st.one_of(st.none(), st.integers(0, 4)))
            if rows is None:
                return reference.cpuset_to_words(data.draw(_SMALL_SETS.filter(
                    lambda s: not s or max(s) < nwords * 64)), nwords)
            sets = data.draw(st.lists(st.frozensets(st.integers(0, nwords * 64 - 1)),
                                      min_size=rows, max_size=rows))
            return _words(reference, sets, nwords)

        a, b = table(), table()
        for name in ("union", "intersection", "difference", "is_subset", "isdisjoint"):
            self.assertSameOutcome(name, a, b)
        self.assertSameOutcome("popcount", a)
        self.assertSameOutcome("words_to_cpuset", a)
        self.assertSameOutcome("format_cpu_spec_words", a, data.draw(st.booleans()))

"""The extra-spec operator grammar (spec D §1.4.3), row by row, and over columns."""
from __future__ import annotations

import numpy as np
from twisted.trial import unittest

from nova_tx.scheduler.filters.extra_specs_ops import match, match_values

# (value, requirement, matches)
TABLE = [
    # no operator: whole-string equality
    ("1", "1", True), ("1", "2", False), ("QEMU", "QEMU", True), ("a b", "a b", True),
    ("foo", "bar baz", False),
    # "=" is float >=
    ("123", "= 123", True), ("124", "= 123", True), ("122", "= 123", False),
    ("12.5", "= 12", True),
    # float comparisons
    ("123", "== 123", True), ("123.0", "== 123", True), ("124", "== 123", False),
    ("124", "!= 123", True), ("123", "!= 123", False),
    ("124", ">= 123", True), ("123", ">= 123", True), ("122", ">= 123", False),
    ("122", "<= 123", True), ("123", "<= 123", True), ("124", "<= 123", False),
    # string comparisons
    ("2.1.0", "s== 2.1.0", True), ("2.1.0", "s== 2.1", False),
    ("123", "s!= 12", True), ("123", "s!= 123", False),
    ("a", "s< b", True), ("b", "s< b", False), ("b", "s<= b", True), ("c", "s<= b", False),
    ("c", "s> b", True), ("b", "s> b", False), ("b", "s>= b", True), ("a", "s>= b", False),
    ("10", "s< 9", True),  # strings, not numbers
    # substring and all-in
    ("gcc-9 clang", "<in> gcc", True), ("clang", "<in> gcc", False),
    ("aes mmx sse", "<all-in> aes mmx", True), ("aes sse", "<all-in> aes mmx", False),
    ("[aes, mmx]", "<all-in> aes", True),
    # or, with three alternatives
    ("fpu", "<or> fpu <or> gpu <or> tpu", True), ("gpu", "<or> fpu <or> gpu <or> tpu", True),
    ("tpu", "<or> fpu <or> gpu <or> tpu", True), ("npu", "<or> fpu <or> gpu <or> tpu", False),
    ("<or>", "<or> fpu <or> gpu", False),
    # only the first operand counts
    ("5", ">= 5 100", True),
    # missing operand
    ("5", ">=", False), ("5", "<in>", False), ("5", "<or>", False),
    # not a number for a float operator (Nova raises: here no match)
    ("QEMU", ">= 5", False),
    # empty requirement: equality with ""
    ("", "", True), ("x", "", False),
]


class MatchTests(unittest.SynchronousTestCase):

    def test_the_table(self):
        for value, req, expected in TABLE:
            self.assertEqual(expected, match(value, req), f"match({value!r}, {req!r})")

    def test_none_never_matches_an_operator(self):
        for req in ("= 1", "s== None", "<in> x", "<or> a <or> b", "<all-in> a"):
            self.assertFalse(match(None, req), req)

    def test_none_against_a_plain_requirement(self):
        self.assertFalse(match(None, "None"))

    def test_columns_agree_with_match(self):
        values = np.array(["123", "122", None, "QEMU", "gcc clang", "fpu"], dtype=object)
        for _, req, _ in TABLE:
            expected = [match(v, req) for v in values]
            self.assertEqual(expected, match_values(values, req).tolist(), req)

    def test_numeric_columns_compare_as_numbers(self):
        column = np.array([1024, 4096, 8192], dtype=np.int64)
        self.assertEqual([False, True, True], match_values(column, ">= 4096").tolist())
        self.assertEqual([False, True, True], match_values(column, "= 4096").tolist())
        self.assertEqual([False, True, False], match_values(column, "== 4096").tolist())
        self.assertEqual([True, False, True], match_values(column, "!= 4096").tolist())
        self.assertEqual([True, True, False], match_values(column, "<= 4096").tolist())
        # string operators see str(value)
        self.assertEqual([True, False, False], match_values(column, "s== 1024").tolist())
        self.assertEqual([False, False, True], match_values(column, "8192").tolist())
        self.assertEqual([False, False, False], match_values(column, ">= x").tolist())

"""Weighing (spec D §1.5.1): the vectorised step against Nova's loop, and the examples."""
from __future__ import annotations

import logging
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx import weights

NAN = math.nan


def ram(*free_ram: float, multiplier: float = 1.0) -> list[float]:
    """The RAM weigher alone (minval 0) over hosts with this much free RAM."""
    hosts = len(free_ram)
    return list(weights.weigh(np.array([free_ram]), [0.0], [NAN],
                              np.full((1, hosts), multiplier)))


class ExampleTests(unittest.SynchronousTestCase):

    def test_ram_normalises_by_the_largest_value(self):
        self.assertEqual([0.25, 0.5, 1.0], ram(1024, 2048, 4096))

    def test_a_negative_multiplier_stacks(self):
        result = ram(1024, 2048, 4096, multiplier=-1.0)
        self.assertEqual([-0.25, -0.5, -1.0], result)
        self.assertEqual(0, weights.order(result)[0])

    def test_equal_values_weigh_the_same(self):
        # minval 0 makes the range 0..2048, not empty (docs/decisions.md, weighing).
        self.assertEqual([1.0, 1.0, 1.0], ram(2048, 2048, 2048))

    def test_an_empty_range_weighs_nothing(self):
        self.assertEqual([0.0, 0.0, 0.0], ram(0, -10, 0))
        raw = np.array([[7.0, 7.0, 7.0]])
        self.assertEqual([0.0, 0.0, 0.0],
                         list(weights.weigh(raw, [NAN], [NAN], np.full((1, 3), -2.0))))

    def test_overcommitted_free_ram_counts_as_zero(self):
        self.assertEqual([0.0, 0.0, 1.0], ram(-512, 0, 1024))

    def test_one_host_is_not_weighed(self):
        self.assertEqual([0.0], ram(4096))

    def test_without_bounds_min_max_scaling(self):
        # IoOps (minval 0, multiplier -1) and a weigher with no bounds: 1 - 3 and 5 - 9
        raw = np.array([[0.0, 3.0, 1.0], [5.0, 9.0, 7.0]])
        result = weights.weigh(raw, [0.0, NAN], [NAN, NAN],
                               np.array([[-1.0] * 3, [2.0] * 3]))
        self.assertEqual([0.0, -1.0 + 2.0, -1 / 3 + 1.0], list(result))

    def test_maxval_clamps(self):
        result = weights.weigh(np.array([[10.0, 50.0, 200.0]]), [NAN], [100.0],
                               np.ones((1, 3)))
        self.assertEqual([0.0, 40 / 90, 1.0], list(result))

    def test_ties_keep_host_state_order(self):
        self.assertEqual([1, 3, 0, 2], list(weights.order([0.5, 1.0, 0.5, 1.0])))

    def test_build_failures_sink_a_host_with_more_ram(self):
        # RAM (1.0) and BuildFailure (multiplier -1 x 1000000.0): h1 has 8 GiB more
        # RAM but one failed build.
        raw = np.array([[16384.0, 8192.0], [1.0, 0.0]])
        result = weights.weigh(raw, [0.0, NAN], [NAN, NAN],
                               np.array([[1.0, 1.0], [-1e6, -1e6]]))
        self.assertEqual([1, 0], list(weights.order(result)))


class MultiplierTests(unittest.SynchronousTestCase):

    def test_aggregate_values_override_the_option_smallest_first(self):
        metadata = [[], [{"ram_weight_multiplier": "-1.0"}],
                    [{"ram_weight_multiplier": "2.0"}, {"ram_weight_multiplier": "-3.0"},
                     {"other": "9"}]]
        values = weights.aggregate_values(metadata, "ram_weight_multiplier")
        self.assertEqual([1.0, -1.0, -3.0],
                         list(weights.host_multipliers(1.0, values, "ram_weight_multiplier")))

    def test_a_bad_value_is_warned_about_and_the_option_used(self):
        with self.assertLogs("nova_tx.weights", logging.WARNING) as logs:
            result = weights.host_multipliers(1.5, [["x"]], "cpu_weight_multiplier")
        self.assertEqual([1.5], list(result))
        self.assertIn("Could not decode 'cpu_weight_multiplier' weight multiplier",
                      logs.output[0])


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
bound = st.one_of(st.just(NAN), finite)


@st.composite
def weighing_inputs(draw):
    n_weighers = draw(st.integers(min_value=0, max_value=6))
    n_hosts = draw(st.integers(min_value=0, max_value=12))
    # Small integers often, so that equal values, all-equal rows and ties are common.
    value = st.one_of(st.integers(min_value=-3, max_value=3).map(float), finite)
    raw = [[draw(value) for _ in range(n_hosts)] for _ in range(n_weighers)]
    minval = [draw(bound) for _ in range(n_weighers)]
    maxval = []
    for w in range(n_weighers):
        high = draw(bound)
        if not math.isnan(high) and not math.isnan(minval[w]) and high < minval[w]:
            high = minval[w]  # a weigher's bounds are ordered
        maxval.append(high)
    multipliers = [[draw(st.sampled_from([1.0, -1.0, 0.0, 2.5, -1e6]))
                    for _ in range(n_hosts)] for _ in range(n_weighers)]
    return raw, minval, maxval, multipliers


class PropertyTests(unittest.SynchronousTestCase):

    @settings(max_examples=2000, deadline=None)
    @given(weighing_inputs())
    def test_vectorised_equals_nova_loop(self, inputs):
        raw, minval, maxval, multipliers = inputs
        n_hosts = len(raw[0]) if raw else 0
        expected = weights.weigh_reference(raw, minval, maxval, multipliers)
        got = weights.weigh(np.array(raw, dtype=np.float64).reshape(len(raw), n_hosts),
                            minval, maxval,
                            np.array(multipliers, dtype=np.float64).reshape(len(raw), n_hosts))
        if not raw:
            got = np.zeros(0)
        self.assertEqual(expected, list(got)[:len(expected)] if raw else expected)
        self.assertEqual(weights.order_reference(expected), list(weights.order(expected)))

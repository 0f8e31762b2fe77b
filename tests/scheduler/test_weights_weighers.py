"""Every weigher of spec D §1.5.2 with its multiplier and aggregate key, the handler's
single weighing step, and the choice among the best hosts."""
from __future__ import annotations

import random

import numpy as np
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.objects.numa import PciDevicePool
from nova_tx.objects.request_spec import Destination
from nova_tx.scheduler import weights as scheduler_weights
from nova_tx.scheduler.weights import WeightHandler
from tests.scheduler.hosts import aggregate, group, make_conf, node, spec, states

ALL = ["RAMWeigher", "CPUWeigher", "DiskWeigher", "MetricsWeigher", "IoOpsWeigher",
       "PCIWeigher", "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher",
       "BuildFailureWeigher", "CrossCellWeigher"]


def handler(*names, **options):
    conf = make_conf(**options)
    return WeightHandler(conf, [f"nova.scheduler.weights.x.{n}" for n in names],
                         rng=random.Random(0))


def weights_of(weigh_handler, hs, spec_obj=None):
    return weigh_handler.weigh(hs, hs.rows(), spec_obj or spec()).tolist()


def winner(weigh_handler, hs, spec_obj=None):
    rows, _ = weigh_handler.get_weighed_hosts(hs, hs.rows(), spec_obj or spec())
    return hs.nodename[rows[0]]


class LoadingTests(unittest.SynchronousTestCase):
    def test_all_weighers_in_order(self):
        self.assertEqual(ALL, [w.name for w in WeightHandler(make_conf()).weighers])
        self.assertEqual(ALL, [w.name for w in scheduler_weights.all_weighers()])

    def test_unknown_weigher(self):
        self.assertRaises(exception.ClassNotFound, WeightHandler, make_conf(),
                          ["nova.scheduler.weights.x.NumInstancesWeigher"])
        self.assertRaises(exception.ClassNotFound, WeightHandler, make_conf(), ["no.Such"])

    def test_a_class_path(self):
        weigher = WeightHandler(make_conf(), ["nova_tx.scheduler.weights.ram.RAMWeigher"])
        self.assertEqual(["RAMWeigher"], [w.name for w in weigher.weighers])


class NovaStyleWeigher(scheduler_weights.BaseHostWeigher):
    """Written against Nova's contract: per host state."""

    def weight_multiplier(self, host_state):
        return 2.0 if host_state.host == "b" else 1.0

    def _weigh_object(self, host_state, spec_obj):
        return host_state.free_ram_mb


class NovaStyleTests(unittest.SynchronousTestCase):
    def test_per_host_weigher_by_class_path(self):
        hs = states(node("a", memory_mb=1024), node("b", memory_mb=2048))
        weigher = WeightHandler(make_conf(),
                                ["tests.scheduler.test_weights_weighers.NovaStyleWeigher"])
        # raw 1024, 2048 without bounds: min-max scaled to 0 and 1, times 1 and 2
        self.assertEqual([0.0, 2.0], weights_of(weigher, hs))


class RAMWeigherTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("a", memory_mb=1024), node("b", memory_mb=2048),
                         node("c", memory_mb=4096))

    def test_spec_example(self):
        self.assertEqual([0.25, 0.5, 1.0], weights_of(handler("RAMWeigher"), self.hs))
        self.assertEqual("c", winner(handler("RAMWeigher"), self.hs))

    def test_negative_multiplier_stacks(self):
        ram = handler("RAMWeigher", filter_scheduler__ram_weight_multiplier=-1.0)
        self.assertEqual([-0.25, -0.5, -1.0], weights_of(ram, self.hs))
        self.assertEqual("a", winner(ram, self.hs))

    def test_equal_ram_weighs_one(self):
        # docs/decisions.md item 12: minval 0, so equal non-zero values weigh 1.0.
        hs = states(node("a"), node("b"), node("c"))
        self.assertEqual([1.0, 1.0, 1.0], weights_of(handler("RAMWeigher"), hs))

    def test_overcommitted_ram_counts_as_zero(self):
        hs = states(node("a", memory_mb=1024, memory_mb_used=2048), node("b", memory_mb=1024))
        self.assertEqual([0.0, 1.0], weights_of(handler("RAMWeigher"), hs))

    def test_aggregate_override(self):
        self.hs.update_aggregates(aggregate(1, ["c"], ram_weight_multiplier="-1.0"))
        self.assertEqual([0.25, 0.5, -1.0], weights_of(handler("RAMWeigher"), self.hs))
        self.hs.update_aggregates([aggregate(1, ["c"], ram_weight_multiplier="2.0"),
                                   aggregate(2, ["c"], ram_weight_multiplier="-3.0")])
        self.assertEqual([0.25, 0.5, -3.0], weights_of(handler("RAMWeigher"), self.hs))
        self.hs.update_aggregates(aggregate(2, ["c"], ram_weight_multiplier="lots"))
        self.assertEqual([0.25, 0.5, 1.0], weights_of(handler("RAMWeigher"), self.hs))

    def test_one_host_is_not_weighed(self):
        hs = states(node("a"))
        self.assertEqual([0.0], weights_of(handler("RAMWeigher"), hs))


class CPUWeigherTests(unittest.SynchronousTestCase):
    def test_spec_example(self):
        hs = states(node("small", vcpus=8), node("big", vcpus=16))
        self.assertEqual("big", winner(handler("CPUWeigher"), hs))
        self.assertEqual([0.5, 1.0], weights_of(handler("CPUWeigher"), hs))
        self.assertEqual("small", winner(handler(
            "CPUWeigher", filter_scheduler__cpu_weight_multiplier=-1.0), hs))

    def test_ratio_and_used(self):
        hs = states(node("a", vcpus=8, vcpus_used=8, cpu_allocation_ratio=2.0),
                    node("b", vcpus=4, vcpus_used=0, cpu_allocation_ratio=4.0))
        self.assertEqual([0.5, 1.0], weights_of(handler("CPUWeigher"), hs))
        hs.update_aggregates(aggregate(1, ["b"], cpu_weight_multiplier="0.5"))
        self.assertEqual([0.5, 0.5], weights_of(handler("CPUWeigher"), hs))


class DiskWeigherTests(unittest.SynchronousTestCase):
    def test_like_ram(self):
        hs = states(node("a", local_gb=10), node("b", local_gb=20), node("c", local_gb=40))
        self.assertEqual([0.25, 0.5, 1.0], weights_of(handler("DiskWeigher"), hs))
        self.assertEqual([-0.25, -0.5, -1.0], weights_of(handler(
            "DiskWeigher", filter_scheduler__disk_weight_multiplier=-1.0), hs))
        hs.update_aggregates(aggregate(1, ["a"], disk_weight_multiplier="4"))
        self.assertEqual([1.0, 0.5, 1.0], weights_of(handler("DiskWeigher"), hs))


class IoOpsWeigherTests(unittest.SynchronousTestCase):
    def test_busy_host_loses_at_the_default_multiplier(self):
        hs = states(node("busy", stats={"io_workload": 3}), node("idle"))
        self.assertEqual([-1.0, 0.0], weights_of(handler("IoOpsWeigher"), hs))
        self.assertEqual("idle", winner(handler("IoOpsWeigher"), hs))
        self.assertEqual("busy", winner(handler(
            "IoOpsWeigher", filter_scheduler__io_ops_weight_multiplier=1.0), hs))
        hs.update_aggregates(aggregate(1, ["busy"], io_ops_weight_multiplier="1.0"))
        self.assertEqual("busy", winner(handler("IoOpsWeigher"), hs))


class PCIWeigherTests(unittest.SynchronousTestCase):
    def test_hosts_without_devices_first(self):
        pools = [PciDevicePool(count=4, numa_node=0, vendor_id="8086", product_id="154d")]
        hs = states(node("pci", pci_pools=pools), node("plain"))
        # raw 96 and 100, no minval: min-max scaled
        self.assertEqual([0.0, 1.0], weights_of(handler("PCIWeigher"), hs))
        self.assertEqual("plain", winner(handler("PCIWeigher"), hs))

    def test_devices_are_capped(self):
        big = [PciDevicePool(count=500, numa_node=0, vendor_id="8086", product_id="154d")]
        hs = states(node("big", pci_pools=big), node("plain"), node("one", pci_pools=[
            PciDevicePool(count=1, numa_node=0, vendor_id="8086", product_id="154d")]))
        self.assertEqual([0.0, 1.0, 1 - 1 / 99],
                         weights_of(handler("PCIWeigher"), hs))

    def test_negative_multiplier_is_refused_at_startup(self):
        self.assertRaises(ValueError, make_conf, filter_scheduler__pci_weight_multiplier=-1.0)

    def test_aggregate_override(self):
        pools = [PciDevicePool(count=4, numa_node=0, vendor_id="8086", product_id="154d")]
        hs = states(node("pci", pci_pools=pools), node("plain"))
        hs.update_aggregates(aggregate(1, ["plain"], pci_weight_multiplier="-2"))
        self.assertEqual([0.0, -2.0], weights_of(handler("PCIWeigher"), hs))


class SoftAffinityWeigherTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("h1"), node("h2"), node("h3"))
        self.hs.set_instance_info("h1", ["s1", "s2"])
        self.hs.set_instance_info("h2", ["s3", "other"])

    def test_soft_affinity_prefers_most_members(self):
        request = spec(instance_group=group("soft-affinity", ["s1", "s2", "s3"]))
        weigher = handler("ServerGroupSoftAffinityWeigher")
        self.assertEqual([1.0, 0.5, 0.0], weights_of(weigher, self.hs, request))
        self.assertEqual([0.0, 0.0, 0.0], weights_of(weigher, self.hs, spec(
            instance_group=group("soft-anti-affinity", ["s1", "s2", "s3"]))))

    def test_soft_anti_affinity_prefers_fewest_members(self):
        request = spec(instance_group=group("soft-anti-affinity", ["s1", "s2", "s3"]))
        weigher = handler("ServerGroupSoftAntiAffinityWeigher")
        self.assertEqual([0.0, 0.5, 1.0], weights_of(weigher, self.hs, request))
        self.assertEqual("h3", winner(weigher, self.hs, request))

    def test_multipliers(self):
        request = spec(instance_group=group("soft-affinity", ["s1", "s2", "s3"]))
        weigher = handler("ServerGroupSoftAffinityWeigher",
                          filter_scheduler__soft_affinity_weight_multiplier=2.0)
        self.assertEqual([2.0, 1.0, 0.0], weights_of(weigher, self.hs, request))
        self.hs.update_aggregates(aggregate(1, ["h1"], soft_affinity_weight_multiplier="0"))
        self.assertEqual([0.0, 1.0, 0.0], weights_of(weigher, self.hs, request))

    def test_spread_over_a_multi_create(self):
        hs = states(node("h1"), node("h2"))
        anti = handler("ServerGroupSoftAntiAffinityWeigher")
        request = spec(instance_group=group("soft-anti-affinity"))
        placed = []
        for i in range(3):
            rows, _ = anti.get_weighed_hosts(hs, hs.rows(), request)
            hs.consume_from_request(int(rows[0]), request, instance_uuid=f"i{i}")
            request.instance_group.members.append(f"i{i}")
            placed.append(hs.host[rows[0]])
        self.assertEqual(["h1", "h2", "h1"], placed)

    def test_together_over_a_multi_create(self):
        hs = states(node("h1"), node("h2"))
        soft = handler("ServerGroupSoftAffinityWeigher", "RAMWeigher")
        request = spec(instance_group=group("soft-affinity"))
        placed = []
        for i in range(3):
            rows, _ = soft.get_weighed_hosts(hs, hs.rows(), request)
            hs.consume_from_request(int(rows[0]), request, instance_uuid=f"i{i}")
            request.instance_group.members.append(f"i{i}")
            placed.append(hs.host[rows[0]])
        self.assertEqual(["h1", "h1", "h1"], placed)


class BuildFailureWeigherTests(unittest.SynchronousTestCase):
    def test_failures_sink_a_host_whatever_its_ram(self):
        hs = states(node("h1", memory_mb=65536, stats={"failed_builds": 1}),
                    node("h2", memory_mb=1024))
        weigher = handler("RAMWeigher", "BuildFailureWeigher")
        self.assertEqual([1.0 - 1e6, 1024 / 65536], weights_of(weigher, hs))
        self.assertEqual("h2", winner(weigher, hs))

    def test_zero_disables_and_aggregates_override(self):
        hs = states(node("h1", stats={"failed_builds": 2}), node("h2"))
        weigher = handler("BuildFailureWeigher",
                          filter_scheduler__build_failure_weight_multiplier=0.0)
        self.assertEqual([0.0, 0.0], weights_of(weigher, hs))
        hs.update_aggregates(aggregate(1, ["h1"], build_failure_weight_multiplier="10"))
        self.assertEqual([-10.0, 0.0], weights_of(weigher, hs))


class CrossCellWeigherTests(unittest.SynchronousTestCase):
    def test_source_cell_preferred_on_cross_cell_moves(self):
        hs = states(node("h1", cell_uuid="c1"), node("h2", cell_uuid="c2"))
        weigher = handler("CrossCellWeigher")
        move = spec(requested_destination=Destination(cell={"uuid": "c2"},
                                                      allow_cross_cell_move=True))
        self.assertEqual([0.0, 1e6], weights_of(weigher, hs, move))
        self.assertEqual([0.0, 0.0], weights_of(weigher, hs, spec(
            requested_destination=Destination(cell={"uuid": "c2"}))))
        self.assertEqual([0.0, 0.0], weights_of(weigher, hs))
        negative = handler("CrossCellWeigher",
                           filter_scheduler__cross_cell_move_weight_multiplier=-1.0)
        self.assertEqual([0.0, -1.0], weights_of(negative, hs, move))


class MetricsWeigherTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("a", metrics=[{"name": "x", "value": 1.0},
                                            {"name": "y", "value": 10.0}]),
                         node("b", metrics=[{"name": "x", "value": 3.0},
                                            {"name": "y", "value": 2.0}]),
                         node("c", metrics=[{"name": "x", "value": 2.0}]))

    def test_sum_of_ratios(self):
        weigher = handler("MetricsWeigher", metrics__weight_setting=["x=1.0"])
        self.assertEqual([0.0, 1.0, 0.5], weights_of(weigher, self.hs))
        weigher = handler("MetricsWeigher", metrics__weight_setting=["x=2", "y=-1"],
                          metrics__required=False)
        # raw: -8, 4, -10000 (c lacks y)
        raw = weigher.weighers[0].raw(self.hs, self.hs.rows(), spec()).tolist()
        self.assertEqual([-8.0, 4.0, -10000.0], raw)

    def test_required_metric_missing_raises(self):
        weigher = handler("MetricsWeigher", metrics__weight_setting=["y=1"])
        error = self.assertRaises(exception.ComputeHostMetricNotFound, weigher.weigh,
                                  self.hs, self.hs.rows(), spec())
        self.assertIn("Metric y could not be found on the compute host node c.c",
                      error.format_message())

    def test_zero_ratio_skips_a_missing_metric(self):
        weigher = handler("MetricsWeigher", metrics__weight_setting=["x=1", "y=0"],
                          metrics__required=False)
        raw = weigher.weighers[0].raw(self.hs, self.hs.rows(), spec()).tolist()
        self.assertEqual([1.0, 3.0, 2.0], raw)
        self.hs.update_aggregates(aggregate(1, ["c"], metrics_weight_multiplier="0"))
        weigher = handler("MetricsWeigher", metrics__weight_setting=["x=1", "y=1"],
                          metrics__required=False)
        raw = weigher.weighers[0].raw(self.hs, self.hs.rows(), spec()).tolist()
        self.assertEqual([11.0, 5.0, 2.0], raw)

    def test_weight_of_unavailable_and_multiplier(self):
        weigher = handler("MetricsWeigher", metrics__weight_setting=["y=1"],
                          metrics__required=False, metrics__weight_of_unavailable=-1.0,
                          metrics__weight_multiplier=2.0)
        self.assertEqual([2.0, 2 * 3 / 11, 0.0], weights_of(weigher, self.hs))


class ChoiceTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(*[node(f"h{i}", memory_mb=1024 * (i + 1)) for i in range(5)])

    def test_all_weighers_sum_in_one_step(self):
        total = WeightHandler(make_conf()).weigh(self.hs, self.hs.rows(), spec())
        # RAM, CPU and disk weigh 0.2..1.0, 1.0 and 1.0; the others nothing.
        np.testing.assert_allclose([2.2, 2.4, 2.6, 2.8, 3.0], total)

    def test_host_subset_size_one_takes_the_best(self):
        weigher = handler("RAMWeigher")
        for _ in range(5):
            rows = weigher.get_sorted_hosts(self.hs, self.hs.rows(), spec())
            self.assertEqual(["h4", "h3", "h2", "h1", "h0"], [self.hs.host[r] for r in rows])

    def test_host_subset_size_picks_among_the_best(self):
        weigher = handler("RAMWeigher", filter_scheduler__host_subset_size=3)
        chosen = set()
        for _ in range(60):
            rows = weigher.get_sorted_hosts(self.hs, self.hs.rows(), spec())
            chosen.add(self.hs.host[rows[0]])
            self.assertEqual(5, len(set(rows.tolist())))
            rest = [self.hs.host[r] for r in rows[1:]]
            self.assertEqual([h for h in ["h4", "h3", "h2", "h1", "h0"] if h != self.hs.host[
                rows[0]]], rest)
        self.assertEqual({"h4", "h3", "h2"}, chosen)

    def test_subset_larger_than_the_hosts(self):
        weigher = handler("RAMWeigher", filter_scheduler__host_subset_size=50)
        rows = weigher.get_sorted_hosts(self.hs, self.hs.rows()[:2], spec())
        self.assertEqual(2, len(rows))

    def test_shuffle_best_same_weighed_hosts(self):
        hs = states(*[node(f"h{i}") for i in range(4)], node("small", memory_mb=1024))
        weigher = handler("RAMWeigher", filter_scheduler__shuffle_best_same_weighed_hosts=True)
        firsts = set()
        for _ in range(40):
            rows = weigher.get_sorted_hosts(hs, hs.rows(), spec())
            firsts.add(hs.host[rows[0]])
            self.assertEqual("small", hs.host[rows[-1]])
        self.assertEqual({"h0", "h1", "h2", "h3"}, firsts)
        plain = handler("RAMWeigher")
        self.assertEqual("h0", hs.host[plain.get_sorted_hosts(hs, hs.rows(), spec())[0]])

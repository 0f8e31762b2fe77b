"""ProviderTree: providers by uuid and name, inventories, traits, aggregates and
generations as the resource tracker and the drivers use them."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute.provider_tree import ProviderTree, normalize_inventory

VCPU = {"VCPU": {"total": 8, "allocation_ratio": 16.0}}


class ProviderTreeTest(unittest.TestCase):
    def setUp(self):
        self.tree = ProviderTree()
        self.tree.new_root("cn1", "uuid-cn1", generation=3)

    def test_roots_children_and_lookup(self):
        tree = self.tree
        tree.new_child("cn1_gpu0", "cn1", "uuid-gpu0")
        tree.new_child("cn1_gpu1", "uuid-cn1", "uuid-gpu1")
        tree.new_root("cn2", "uuid-cn2")
        self.assertTrue(tree.exists("cn1_gpu0") and tree.exists("uuid-gpu1"))
        self.assertFalse(tree.exists("nope"))
        self.assertEqual(["uuid-cn1", "uuid-gpu0", "uuid-gpu1", "uuid-cn2"],
                         tree.get_provider_uuids())
        self.assertEqual(["uuid-cn1", "uuid-gpu0", "uuid-gpu1"],
                         tree.get_provider_uuids_in_tree("cn1_gpu1"))
        self.assertEqual("uuid-cn1", tree.data("cn1_gpu0").parent_uuid)
        self.assertEqual(3, tree.data("cn1").generation)
        with self.assertRaises(ValueError):
            tree.new_root("cn1", "other")
        with self.assertRaises(ValueError):
            tree.new_child("other", "cn1", "uuid-gpu0")
        with self.assertRaises(exception.ResourceProviderNotFound):
            tree.new_child("x", "missing", "uuid-x")
        tree.remove("cn1")
        self.assertEqual(["uuid-cn2"], tree.get_provider_uuids())
        self.assertFalse(tree.exists("uuid-gpu0"))
        with self.assertRaises(exception.ResourceProviderNotFound):
            tree.data("cn1")

    def test_inventory_changes_and_generation(self):
        tree = self.tree
        self.assertTrue(tree.has_inventory_changed("cn1", VCPU))
        self.assertTrue(tree.update_inventory("cn1", VCPU, generation=4))
        self.assertEqual(4, tree.data("cn1").generation)
        # The same record with placement's defaults spelled out is no change.
        self.assertFalse(tree.update_inventory("cn1", normalize_inventory(VCPU)))
        self.assertFalse(tree.has_inventory_changed("cn1", normalize_inventory(VCPU)))
        self.assertTrue(tree.update_inventory(
            "uuid-cn1", {"VCPU": {"total": 8, "allocation_ratio": 8.0}}))
        self.assertEqual(8.0, tree.data("cn1").inventory["VCPU"]["allocation_ratio"])
        self.assertEqual({"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 8,
                          "step_size": 1, "allocation_ratio": 16.0},
                         normalize_inventory(VCPU)["VCPU"])

    def test_data_is_a_copy(self):
        self.tree.update_inventory("cn1", VCPU)
        self.tree.add_traits("cn1", "HW_CPU_X86_AVX")
        data = self.tree.data("cn1")
        data.inventory["VCPU"]["total"] = 1
        data.traits.add("CUSTOM_X")
        self.assertEqual(8, self.tree.data("cn1").inventory["VCPU"]["total"])
        self.assertEqual({"HW_CPU_X86_AVX"}, self.tree.data("cn1").traits)

    def test_traits(self):
        tree = self.tree
        tree.add_traits("cn1", "COMPUTE_NODE", "HW_CPU_HYPERTHREADING")
        self.assertTrue(tree.has_traits("cn1", ["COMPUTE_NODE"]))
        self.assertFalse(tree.has_traits("cn1", ["COMPUTE_NODE", "CUSTOM_X"]))
        tree.remove_traits("cn1", "HW_CPU_HYPERTHREADING", "NOT_THERE")
        self.assertFalse(tree.have_traits_changed("cn1", {"COMPUTE_NODE"}))
        self.assertTrue(tree.update_traits("cn1", ["CUSTOM_A"], generation=9))
        self.assertFalse(tree.update_traits("cn1", ["CUSTOM_A"]))
        self.assertEqual(({"CUSTOM_A"}, 9), (tree.data("cn1").traits,
                                             tree.data("cn1").generation))

    def test_aggregates(self):
        tree = self.tree
        self.assertTrue(tree.update_aggregates("cn1", ["agg1", "agg2"], generation=5))
        self.assertTrue(tree.in_aggregates("cn1", ["agg1"]))
        self.assertFalse(tree.in_aggregates("cn1", ["agg3"]))
        self.assertFalse(tree.have_aggregates_changed("cn1", {"agg2", "agg1"}))
        self.assertFalse(tree.update_aggregates("cn1", ["agg2", "agg1"]))

    def test_copy_is_independent(self):
        copy = self.tree.copy()
        copy.add_traits("cn1", "CUSTOM_X")
        copy.new_root("cn9", "uuid-cn9")
        self.assertEqual(set(), self.tree.data("cn1").traits)
        self.assertFalse(self.tree.exists("cn9"))

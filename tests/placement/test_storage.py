"""Placement's storage rules on a real database (SQLite; one class on every backend)."""
from __future__ import annotations

import os_resource_classes
import os_traits
import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx.db import migration
from nova_tx.db.placement.models import resource_classes as rc_table
from nova_tx.placement import exception
from nova_tx.placement.objects import ConsumerAllocations, Inventory
from nova_tx.placement.storage import (
    aggregates,
    allocations,
    inventories,
    resource_classes,
    resource_providers,
    traits,
    usages,
)
from tests.placement.db import placement_engine

PROJECT = "6b8f5e1c-0000-4000-8000-000000000001"
USER = "6b8f5e1c-0000-4000-8000-000000000002"


class _StorageTests:
    backend = "sqlite"

    def setUp(self):
        self.engine = placement_engine(self, self.backend)

    def run_db(self, fn, *args, **kw):
        with self.engine.begin() as conn:
            return fn(conn, *args, **kw)

    def provider(self, name, *, parent=None, inventory=None, uuid=None):
        rp = self.run_db(resource_providers.create, name=name, uuid=uuid,
                         parent_provider_uuid=parent.uuid if parent else None)
        if inventory:
            self.run_db(inventories.replace_all, rp, rp.generation, {
                rc: Inventory(rc, **(v if isinstance(v, dict) else {"total": v}))
                for rc, v in inventory.items()})
        return self.run_db(resource_providers.get_by_uuid, rp.uuid)

    def allocate(self, consumer, allocs, *, generation=None, check=False, ctype=None):
        self.run_db(allocations.replace, [ConsumerAllocations(
            consumer_uuid=consumer, allocations=allocs, project_id=PROJECT, user_id=USER,
            consumer_generation=generation, check_generation=check, consumer_type=ctype)])

    def test_capacity_is_total_minus_reserved_times_ratio(self):
        rp = self.provider("cn1", inventory={
            "VCPU": {"total": 8, "reserved": 2, "allocation_ratio": 2.0}})
        consumer = "11111111-1111-4111-8111-111111111111"
        self.allocate(consumer, {rp.uuid: {"VCPU": 12}})
        self.assertEqual({"VCPU": 12}, self.run_db(usages.for_provider, rp))
        other = "22222222-2222-4222-8222-222222222222"
        error = self.assertRaises(exception.InvalidInventory, self.allocate,
                                  other, {rp.uuid: {"VCPU": 1}})
        self.assertIn("would exceed the capacity", error.detail)
        self.assertEqual(409, error.status)
        # Nothing was written.
        self.assertEqual({}, self.run_db(allocations.get_for_consumer, other).allocations)

    def test_generation_conflict_writes_nothing(self):
        rp = self.provider("cn1", inventory={"DISK_GB": 100})
        error = self.assertRaises(
            exception.ConcurrentUpdate, self.run_db, inventories.replace_all, rp, 0,
            {"DISK_GB": Inventory("DISK_GB", total=200)})
        self.assertEqual("placement.concurrent_update", error.code)
        self.assertEqual(100, self.run_db(inventories.get_all, rp)["DISK_GB"].total)

    def test_consumer_generation(self):
        rp = self.provider("cn1", inventory={"DISK_GB": 100})
        consumer = "33333333-3333-4333-8333-333333333333"
        self.assertRaises(exception.ConcurrentUpdate, self.allocate, consumer,
                          {rp.uuid: {"DISK_GB": 1}}, generation=3, check=True)
        self.allocate(consumer, {rp.uuid: {"DISK_GB": 1}}, generation=None, check=True,
                      ctype="INSTANCE")
        view = self.run_db(allocations.get_for_consumer, consumer)
        self.assertEqual(1, view.consumer.generation)
        self.assertEqual("INSTANCE", view.consumer.consumer_type)
        self.assertRaises(exception.ConcurrentUpdate, self.allocate, consumer,
                          {rp.uuid: {"DISK_GB": 2}}, generation=0, check=True)
        self.allocate(consumer, {rp.uuid: {"DISK_GB": 2}}, generation=1, check=True)
        self.assertEqual({"DISK_GB": 2}, self.run_db(usages.for_provider, rp))
        # Provider generation: inventory (1) + two allocation writes.
        self.assertEqual(3, self.run_db(resource_providers.get_by_uuid, rp.uuid).generation)
        # An empty set removes the allocations and the consumer.
        self.allocate(consumer, {}, generation=2, check=True)
        view = self.run_db(allocations.get_for_consumer, consumer)
        self.assertIsNone(view.consumer)
        self.assertEqual({}, view.allocations)

    def test_inventory_in_use_cannot_go(self):
        rp = self.provider("cn1", inventory={"VCPU": 4, "MEMORY_MB": 1024})
        self.allocate("44444444-4444-4444-8444-444444444444", {rp.uuid: {"VCPU": 1}})
        rp = self.run_db(resource_providers.get_by_uuid, rp.uuid)
        error = self.assertRaises(
            exception.InventoryInUse, self.run_db, inventories.replace_all, rp,
            rp.generation, {"MEMORY_MB": Inventory("MEMORY_MB", total=1024)})
        self.assertEqual("placement.inventory.inuse", error.code)
        self.assertIn("Inventory for 'VCPU'", error.detail)
        self.assertRaises(exception.Conflict, self.run_db, inventories.delete_one, rp, "VCPU")
        self.run_db(inventories.delete_one, rp, "MEMORY_MB")
        self.assertEqual(["VCPU"], list(self.run_db(inventories.get_all, rp)))


class StorageTestsSQLite(_StorageTests, unittest.SynchronousTestCase):
    pass


class StorageTestsPostgreSQL(_StorageTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class StorageTestsMariaDB(_StorageTests, unittest.SynchronousTestCase):
    backend = "mysql"


class RulesTests(_StorageTests, unittest.SynchronousTestCase):
    """More rules, on SQLite only."""

    def test_standard_classes_and_traits_are_synchronised(self):
        names = [rc.name for rc in self.run_db(resource_classes.get_all)]
        self.assertEqual(list(os_resource_classes.STANDARDS), names)
        ids = self.run_db(resource_classes.ids_by_name, ["VCPU", "DISK_GB"])
        self.assertEqual(os_resource_classes.STANDARDS.index("DISK_GB"), ids["DISK_GB"])
        all_traits = {t.name for t in self.run_db(traits.get_all)}
        self.assertEqual(set(os_traits.get_traits()), all_traits)
        # Synchronising again adds nothing.
        self.run_db(resource_classes.sync_standard)
        self.run_db(traits.sync_standard)
        self.assertEqual(len(names), len(self.run_db(resource_classes.get_all)))

    def test_custom_classes_start_at_10000(self):
        self.run_db(resource_classes.create, "CUSTOM_GOLD")
        self.assertTrue(self.run_db(resource_classes.ensure, "CUSTOM_SILVER"))
        self.assertFalse(self.run_db(resource_classes.ensure, "CUSTOM_SILVER"))
        with self.engine.connect() as conn:
            ids = dict(conn.execute(sa.select(rc_table.c.name, rc_table.c.id)).all())
        self.assertEqual(10000, ids["CUSTOM_GOLD"])
        self.assertEqual(10001, ids["CUSTOM_SILVER"])
        self.assertRaises(exception.Conflict, self.run_db, resource_classes.create,
                          "CUSTOM_GOLD")
        self.assertRaises(exception.BadRequest, self.run_db, resource_classes.delete, "VCPU")
        self.provider("cn1", inventory={"CUSTOM_GOLD": 1})
        self.assertRaises(exception.Conflict, self.run_db, resource_classes.delete,
                          "CUSTOM_GOLD")
        self.run_db(resource_classes.delete, "CUSTOM_SILVER")
        self.assertRaises(exception.ResourceClassNotFound, self.run_db, resource_classes.get,
                          "CUSTOM_SILVER")

    def test_duplicate_names_conflict(self):
        self.provider("cn1")
        error = self.assertRaises(exception.Conflict, self.provider, "cn1")
        self.assertEqual("placement.duplicate_name", error.code)

    def test_trees(self):
        root = self.provider("root")
        child = self.provider("child", parent=root)
        grandchild = self.provider("grandchild", parent=child)
        self.assertEqual(root.uuid, grandchild.root_provider_uuid)
        self.assertEqual(child.uuid, grandchild.parent_provider_uuid)
        # Re-parenting needs 1.37, and never makes a loop.
        self.assertRaises(exception.BadRequest, self.run_db, resource_providers.update,
                          child.uuid, name="child", parent_provider_uuid=None)
        error = self.assertRaises(
            exception.BadRequest, self.run_db, resource_providers.update, root.uuid,
            name="root", parent_provider_uuid=grandchild.uuid, allow_reparenting=True)
        self.assertIn("creating loop", error.detail)
        self.run_db(resource_providers.update, child.uuid, name="child",
                    parent_provider_uuid=None, allow_reparenting=True)
        moved = self.run_db(resource_providers.get_by_uuid, grandchild.uuid)
        self.assertEqual(child.uuid, moved.root_provider_uuid)
        # A provider with children cannot be deleted.
        error = self.assertRaises(exception.Conflict, self.run_db, resource_providers.delete,
                                  child.uuid)
        self.assertEqual("placement.resource_provider.cannot_delete_parent", error.code)
        self.run_db(resource_providers.delete, grandchild.uuid)
        self.run_db(resource_providers.delete, child.uuid)
        self.assertEqual([root.uuid],
                         [p.uuid for p in self.run_db(resource_providers.get_all)])

    def test_list_filters(self):
        agg = "aaaaaaaa-0000-4000-8000-000000000001"
        cn1 = self.provider("cn1", inventory={"VCPU": 4, "DISK_GB": 100})
        cn2 = self.provider("cn2", inventory={"VCPU": 1})
        self.run_db(aggregates.set_for_provider, cn1, [agg])
        cn1 = self.run_db(resource_providers.get_by_uuid, cn1.uuid)
        self.run_db(traits.set_for_provider, cn1, ["HW_CPU_X86_AVX2"], cn1.generation)
        vcpu = self.run_db(resource_classes.ids_by_name, ["VCPU"])["VCPU"]
        avx2 = self.run_db(traits.ids_by_name, ["HW_CPU_X86_AVX2"])["HW_CPU_X86_AVX2"]

        def names(**filters):
            return [p.name for p in self.run_db(resource_providers.get_all, **filters)]

        self.assertEqual(["cn1", "cn2"], names())
        self.assertEqual(["cn1"], names(resources={vcpu: 2}))
        self.assertEqual(["cn1"], names(
            member_of=[resource_providers.MemberOf([agg])]))
        self.assertEqual(["cn2"], names(
            member_of=[resource_providers.MemberOf([agg], negated=True)]))
        self.assertEqual(["cn1"], names(traits=resource_providers.TraitFilter(
            required={avx2})))
        self.assertEqual(["cn2"], names(traits=resource_providers.TraitFilter(
            forbidden={avx2})))
        self.assertEqual(["cn2"], names(in_tree=cn2.uuid))
        self.assertEqual([], names(in_tree="aaaaaaaa-0000-4000-8000-00000000000f"))

    def test_traits(self):
        rp = self.provider("cn1")
        self.assertTrue(self.run_db(traits.ensure, "CUSTOM_FAST"))
        self.assertRaises(exception.TraitNotFound, self.run_db, traits.set_for_provider,
                          rp, ["CUSTOM_NOPE"], rp.generation)
        generation = self.run_db(traits.set_for_provider, rp, ["CUSTOM_FAST"], rp.generation)
        self.assertEqual(rp.generation + 1, generation)
        self.assertEqual(["CUSTOM_FAST"], self.run_db(traits.get_for_provider, rp))
        self.assertRaises(exception.Conflict, self.run_db, traits.delete, "CUSTOM_FAST")
        self.assertRaises(exception.BadRequest, self.run_db, traits.delete, "HW_CPU_X86_AVX2")
        self.assertEqual(["CUSTOM_FAST"], [t.name for t in self.run_db(
            traits.get_all, prefix="CUSTOM_", associated=True)])

    def test_constraints(self):
        rp = self.provider("cn1", inventory={
            "MEMORY_MB": {"total": 4096, "min_unit": 256, "max_unit": 2048, "step_size": 256}})
        consumer = "55555555-5555-4555-8555-555555555555"
        for amount in (128, 300, 4096):
            error = self.assertRaises(exception.InvalidInventory, self.allocate, consumer,
                                      {rp.uuid: {"MEMORY_MB": amount}})
            self.assertIn("violate inventory constraints", error.detail)
        self.allocate(consumer, {rp.uuid: {"MEMORY_MB": 512}})
        error = self.assertRaises(exception.InvalidInventory, self.allocate, consumer,
                                  {rp.uuid: {"VCPU": 1}})
        self.assertIn("Inventory for 'VCPU'", error.detail)
        self.assertRaises(exception.BadRequest, self.allocate, consumer,
                          {rp.uuid: {"CUSTOM_NOPE": 1}})
        self.assertRaises(exception.BadRequest, self.allocate, consumer,
                          {"66666666-6666-4666-8666-666666666666": {"VCPU": 1}})

    def test_project_usages(self):
        rp = self.provider("cn1", inventory={"VCPU": 8})
        self.allocate("77777777-7777-4777-8777-777777777771", {rp.uuid: {"VCPU": 2}},
                      ctype="INSTANCE")
        self.allocate("77777777-7777-4777-8777-777777777772", {rp.uuid: {"VCPU": 1}})
        self.assertEqual({"VCPU": 3}, self.run_db(usages.for_project, PROJECT))
        self.assertEqual({"VCPU": 3}, self.run_db(usages.for_project, PROJECT, USER))
        self.assertEqual({}, self.run_db(usages.for_project, "other"))
        self.assertEqual(
            {"INSTANCE": {"VCPU": 2, "consumer_count": 1},
             "unknown": {"VCPU": 1, "consumer_count": 1}},
            self.run_db(usages.for_project, PROJECT, by_consumer_type=True))
        self.assertEqual(
            {"all": {"VCPU": 3, "consumer_count": 2}},
            self.run_db(usages.for_project, PROJECT, by_consumer_type=True,
                        consumer_type="all"))

    def test_version_table_is_placements_own(self):
        self.assertEqual(migration.head_revision("placement"),
                         migration.db_version(self.engine, "placement"))
        self.assertIn("placement_alembic_version", sa.inspect(self.engine).get_table_names())

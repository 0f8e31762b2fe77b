"""``nova_tx.db.main.instances``: create and read whole instances, the servers list's
filters, sorting and paging, compare-and-swap updates, deletes, metadata, tags and
faults, on each backend (a database only these tests use; each test rolls back)."""
from __future__ import annotations

import datetime
import uuid as uuidlib

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.db.main import instances
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance, InstanceFault
from nova_tx.objects.keypair import KeyPair
from nova_tx.objects.numa import InstancePCIRequest
from tests.db.fixtures import engine_for, migrated_database_url

T0 = datetime.datetime(2022, 9, 21, 12, 0, 0)
FLAVOR = Flavor(flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1, id=6,
                extra_specs={"hw:cpu_policy": "shared"})
NETWORK_INFO = [{"id": "port-1", "address": "fa:16:3e:00:00:01", "network": {
    "id": "net-1", "label": "private", "subnets": [
        {"cidr": "192.168.1.0/24", "ips": [{"address": "192.168.1.30", "version": 4,
                                            "type": "fixed"}]},
        {"cidr": "fd00::/64", "ips": [{"address": "fd00::30", "version": 6}]}]}}]


class InstanceQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="instance-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def make(self, name="vm", *, created_at=T0, project_id="p1", vm_state=states.ACTIVE,
             **fields) -> Instance:
        instance = Instance(uuid=str(uuidlib.uuid4()), project_id=project_id, user_id="u1",
                            display_name=name, vm_state=vm_state, flavor=FLAVOR,
                            created_at=created_at, **fields)
        return instances.create(self.conn, instance)

    def uuids(self, filters, **kwargs) -> list[str]:
        return [i.uuid for i in instances.get_all_by_filters_sort(self.conn, filters,
                                                                  **kwargs)]

    # -- create and get ---------------------------------------------------------------

    def test_create_then_get_with_every_joined_part(self):
        made = self.make(
            "web", metadata={"a": "1"}, system_metadata={"image_os": "linux"},
            tags=["red", "blue"], security_groups=["default", "web"],
            network_info=NETWORK_INFO, trusted_certs=["cert-1"],
            pci_requests=[InstancePCIRequest(count=1, spec=[{"vendor_id": "8086"}],
                                             alias_name="a1")],
            key_name="k", hostname="web", availability_zone="az1", locked=True,
            locked_by="owner", keypairs=[KeyPair(name="k", user_id="u1", fingerprint="f",
                                                  public_key="ssh-rsa AAAA", id=3)])
        self.assertIsNotNone(made.id)
        self.assertEqual((6, 512, 1, 1), (made.instance_type_id, made.memory_mb,
                                          made.vcpus, made.root_gb))
        got = instances.get(self.conn, made.uuid, expected_attrs=(
            "metadata", "system_metadata", "tags", "security_groups", "info_cache",
            "flavor", "pci_requests", "trusted_certs", "fault", "numa_topology",
            "keypairs"))
        self.assertEqual(made, got)
        self.assertEqual(["blue", "red"], got.tags)
        self.assertEqual(FLAVOR, got.flavor)
        self.assertEqual(NETWORK_INFO, got.network_info)

    def test_get_without_expected_attrs_leaves_the_joined_parts_empty(self):
        made = self.make(metadata={"a": "1"}, tags=["t"])
        got = instances.get(self.conn, made.uuid)
        self.assertEqual(({}, [], None), (got.metadata, got.tags, got.flavor))
        self.assertEqual("vm", got.display_name)

    def test_get_of_a_deleted_instance_by_read_deleted(self):
        made = self.make()
        instances.destroy(self.conn, made.uuid)
        self.assertRaises(exception.InstanceNotFound, instances.get, self.conn, made.uuid)
        self.assertTrue(instances.get(self.conn, made.uuid, read_deleted="yes").deleted)
        self.assertTrue(instances.get(self.conn, made.uuid, read_deleted="only").deleted)
        self.assertTrue(instances.get_by_uuid(self.conn, made.uuid).deleted)

    def test_the_slim_lookups_still_return_the_slim_instance(self):
        made = self.make()
        self.assertEqual(Instance(uuid=made.uuid, project_id="p1", user_id="u1"),
                         instances.get_by_uuid(self.conn, made.uuid))

    # -- filters ----------------------------------------------------------------------

    def test_name_is_a_case_insensitive_regex(self):
        web = self.make("Web-1")
        self.make("db-1")
        self.assertEqual([web.uuid], self.uuids({"display_name": "^web"}))
        self.assertEqual([web.uuid], self.uuids({"display_name": "b-[0-9]$",
                                                 "project_id": "p1", "vm_state": "active",
                                                 "uuid": [web.uuid]}))
        self.assertRaises(exception.InvalidInput, self.uuids, {"display_name": "(["})

    def test_exact_filters_take_lists(self):
        a = self.make("a", host="h1", node="n1", task_state=None)
        b = self.make("b", host="h2", task_state=states.DELETING)
        self.assertEqual({a.uuid, b.uuid}, set(self.uuids({"host": ["h1", "h2"]})))
        self.assertEqual([b.uuid], self.uuids({"task_state": [states.DELETING]}))
        self.assertEqual([a.uuid], self.uuids({"task_state": None}))
        self.assertEqual([], self.uuids({"host": []}))
        self.assertEqual([a.uuid], self.uuids({"node": "n1"}))

    def test_deleted_and_soft_deleted(self):
        live = self.make("live")
        soft = self.make("soft", vm_state=states.SOFT_DELETED)
        gone = self.make("gone")
        instances.destroy(self.conn, gone.uuid)
        self.assertEqual({live.uuid, soft.uuid, gone.uuid}, set(self.uuids({})))
        self.assertEqual([live.uuid], self.uuids({"deleted": False}))
        self.assertEqual({live.uuid, soft.uuid},
                         set(self.uuids({"deleted": False, "soft_deleted": True})))
        self.assertEqual({gone.uuid, soft.uuid}, set(self.uuids({"deleted": True})))
        self.assertEqual([gone.uuid],
                         self.uuids({"deleted": True, "soft_deleted": False}))

    def test_hidden_instances_are_left_out_unless_asked_for(self):
        self.make("shown")
        hidden = self.make("hidden", hidden=True)
        self.assertNotIn(hidden.uuid, self.uuids({}))
        self.assertEqual([hidden.uuid], self.uuids({"hidden": True}))

    def test_tag_filters(self):
        red = self.make("red", tags=["red"])
        both = self.make("both", tags=["red", "blue"])
        none = self.make("none")
        self.assertEqual({red.uuid, both.uuid}, set(self.uuids({"tags": ["red"]})))
        self.assertEqual([both.uuid], self.uuids({"tags": ["red", "blue"]}))
        self.assertEqual({red.uuid, both.uuid}, set(self.uuids({"tags-any": ["blue", "red"]})))
        self.assertEqual({red.uuid, none.uuid}, set(self.uuids({"not-tags": ["red", "blue"]})))
        self.assertEqual([none.uuid], self.uuids({"not-tags-any": ["red", "green"]}))

    def test_changes_since_and_before_compare_updated_at(self):
        old = self.make("old")
        new = self.make("new")
        instances.update(self.conn, old.uuid, {"updated_at": T0})
        instances.update(self.conn, new.uuid, {"updated_at": T0 + datetime.timedelta(hours=1)})
        later = T0 + datetime.timedelta(minutes=30)
        self.assertEqual([new.uuid], self.uuids({"changes-since": later}))
        self.assertEqual([old.uuid], self.uuids({"changes-before": later}))

    def test_ip_filters_match_the_start_of_fixed_addresses(self):
        with_ip = self.make("ip", network_info=NETWORK_INFO)
        self.make("no-ip")
        self.assertEqual([with_ip.uuid], self.uuids({"ip": "192.168.1.3"}))
        self.assertEqual([], self.uuids({"ip": "168"}))
        self.assertEqual([with_ip.uuid], self.uuids({"ip6": "fd00::"}))
        self.assertEqual([], self.uuids({"ip6": "192"}))

    def test_locked_and_key_name_and_zone(self):
        locked = self.make("l", locked=True, key_name="mykey", availability_zone="az1")
        self.make("u", locked=False, key_name="other")
        self.assertEqual([locked.uuid], self.uuids({"locked": True}))
        self.assertEqual([locked.uuid], self.uuids({"key_name": "^mykey$"}))
        self.assertEqual([locked.uuid], self.uuids({"availability_zone": "az1"}))

    # -- sort and paging --------------------------------------------------------------

    def test_default_order_is_newest_first_then_by_id(self):
        a = self.make("a", created_at=T0)
        b = self.make("b", created_at=T0 + datetime.timedelta(seconds=1))
        c = self.make("c", created_at=T0)
        self.assertEqual([b.uuid, c.uuid, a.uuid], self.uuids({}))

    def test_sort_keys_with_nulls_and_paging_by_marker(self):
        made = [self.make(name, created_at=T0, host=host)
                for name, host in (("a", "h2"), ("b", None), ("c", "h1"), ("d", "h2"))]
        order = self.uuids({}, sort_keys=["host", "display_name"], sort_dirs=["asc", "desc"])
        expected = [made[1].uuid, made[2].uuid, made[3].uuid, made[0].uuid]
        self.assertEqual(expected, order)
        pages, marker = [], None
        while True:
            page = self.uuids({}, sort_keys=["host", "display_name"],
                              sort_dirs=["asc", "desc"], limit=1, marker=marker)
            if not page:
                break
            pages.extend(page)
            marker = page[-1]
        self.assertEqual(expected, pages)
        desc = self.uuids({}, sort_keys=["host"], sort_dirs=["desc"])
        self.assertEqual(made[1].uuid, desc[-1])

    def test_marker_not_found_and_bad_sort_params(self):
        self.make()
        self.assertRaises(exception.MarkerNotFound, self.uuids, {}, marker="nope")
        self.assertRaises(exception.InvalidInput, self.uuids, {}, sort_keys=["host"],
                          sort_dirs=["up"])
        self.assertRaises(exception.InvalidInput, self.uuids, {}, sort_keys=["host"],
                          sort_dirs=["asc", "desc"])
        self.assertRaises(exception.InvalidSortKey, self.uuids, {}, sort_keys=["metadata"])
        self.assertEqual([], self.uuids({}, limit=0))

    def test_paging_from_a_marker_in_another_cell(self):
        a = self.make("a", created_at=T0)
        b = self.make("b", created_at=T0 + datetime.timedelta(seconds=5))
        after = {"created_at": T0 + datetime.timedelta(seconds=3), "id": 0}
        self.assertEqual([a.uuid], self.uuids({}, after=after))
        self.assertIn(b.uuid, self.uuids({}))

    # -- update and delete ------------------------------------------------------------

    def test_update_columns_metadata_and_flavor(self):
        made = self.make(metadata={"a": "1", "b": "2"})
        bigger = FLAVOR.replace(flavorid="2", name="m1.small", memory_mb=2048, id=7)
        got = instances.update(self.conn, made.uuid, {
            "display_name": "renamed", "metadata": {"b": "3"}, "new_flavor": bigger,
            "network_info": NETWORK_INFO}, expected_attrs=("metadata", "flavor",
                                                           "info_cache"))
        self.assertEqual("renamed", got.display_name)
        self.assertEqual({"b": "3"}, got.metadata)
        self.assertEqual((FLAVOR, bigger), (got.flavor, got.new_flavor))
        self.assertEqual(NETWORK_INFO, got.network_info)
        self.assertIsNotNone(got.updated_at)

    def test_update_compare_and_swap_on_task_state(self):
        made = self.make(task_state=None)
        got = instances.update(self.conn, made.uuid, {"task_state": states.DELETING},
                               expected_task_state=[None])
        self.assertEqual(states.DELETING, got.task_state)
        error = self.assertRaises(
            exception.UnexpectedDeletingTaskStateError, instances.update, self.conn,
            made.uuid, {"task_state": states.REBOOTING}, expected_task_state=None)
        self.assertEqual({"task_state": [None]}, error.kwargs["expected"])
        self.assertEqual({"task_state": states.DELETING}, error.kwargs["actual"])
        instances.update(self.conn, made.uuid, {"task_state": states.REBOOTING},
                         expected_task_state=states.DELETING)
        self.assertRaises(exception.UnexpectedTaskStateError, instances.update, self.conn,
                          made.uuid, {"task_state": None}, expected_task_state=[None])
        self.assertRaises(exception.InstanceUpdateConflict, instances.update, self.conn,
                          made.uuid, {"vm_state": states.ERROR},
                          expected_vm_state=states.BUILDING)
        self.assertEqual(states.ACTIVE, instances.get(self.conn, made.uuid).vm_state)
        self.assertRaises(exception.InstanceNotFound, instances.update, self.conn, "nope",
                          {"vm_state": states.ERROR})

    def test_destroy_soft_deletes_the_parts_and_drops_tags(self):
        made = self.make(metadata={"a": "1"}, tags=["t"])
        instances.destroy(self.conn, made.uuid)
        meta = instances.instance_metadata
        self.assertEqual([], self.conn.execute(sa.select(meta.c.id).where(
            meta.c.instance_uuid == made.uuid, meta.c.deleted == 0)).all())
        self.assertEqual(0, self.conn.execute(sa.select(sa.func.count()).select_from(
            instances.tags).where(instances.tags.c.resource_id == made.uuid)).scalar())
        self.assertRaises(exception.InstanceNotFound, instances.destroy, self.conn, made.uuid)
        other = self.make()
        instances.destroy(self.conn, other.uuid, hard_delete=True)
        self.assertRaises(exception.InstanceNotFound, instances.get_by_uuid, self.conn,
                          other.uuid)

    # -- metadata, tags, faults -------------------------------------------------------

    def test_metadata_merge_replace_and_delete_key(self):
        made = self.make(metadata={"a": "1"})
        self.assertEqual({"a": "1", "b": "2"},
                         instances.update_metadata(self.conn, made.uuid, {"b": "2"}))
        self.assertEqual({"c": "3"},
                         instances.update_metadata(self.conn, made.uuid, {"c": "3"},
                                                   delete=True))
        self.assertTrue(instances.delete_metadata_key(self.conn, made.uuid, "c"))
        self.assertFalse(instances.delete_metadata_key(self.conn, made.uuid, "c"))
        self.assertEqual({}, instances.get_metadata(self.conn, made.uuid))
        self.assertEqual({"x": "y"}, instances.update_system_metadata(
            self.conn, made.uuid, {"x": "y"}))
        self.assertEqual({"x": "y", "z": "1"}, instances.update_system_metadata(
            self.conn, made.uuid, {"z": "1"}))
        self.assertTrue(instances.delete_system_metadata_key(self.conn, made.uuid, "x"))
        self.assertFalse(instances.delete_system_metadata_key(self.conn, made.uuid, "x"))
        self.assertEqual({"z": "1"}, instances.get_system_metadata(self.conn, made.uuid))
        self.assertEqual({}, instances.get_metadata(self.conn, made.uuid))
        self.assertRaises(exception.InstanceNotFound, instances.get_metadata, self.conn,
                          "nope")

    def test_tags_add_set_delete_and_the_limit(self):
        made = self.make()
        self.assertTrue(instances.add_tag(self.conn, made.uuid, "a"))
        self.assertFalse(instances.add_tag(self.conn, made.uuid, "a"))
        self.assertEqual(["b", "c"], instances.set_tags(self.conn, made.uuid, ["c", "b"]))
        self.assertTrue(instances.tag_exists(self.conn, made.uuid, "b"))
        instances.delete_tag(self.conn, made.uuid, "b")
        self.assertRaises(exception.InstanceTagNotFound, instances.delete_tag, self.conn,
                          made.uuid, "b")
        self.assertEqual(["c"], instances.get_tags(self.conn, made.uuid))
        instances.set_tags(self.conn, made.uuid, [f"t{i}" for i in range(50)])
        self.assertRaises(exception.TooManyInstanceTags, instances.add_tag, self.conn,
                          made.uuid, "one-more")
        self.assertRaises(exception.TooManyInstanceTags, instances.set_tags, self.conn,
                          made.uuid, [f"t{i}" for i in range(51)])
        instances.delete_all_tags(self.conn, made.uuid)
        self.assertEqual([], instances.get_tags(self.conn, made.uuid))

    def test_latest_fault_per_instance(self):
        a, b = self.make("a"), self.make("b")
        instances.add_fault(self.conn, InstanceFault(instance_uuid=a.uuid, code=500,
                                                     message="first"))
        instances.add_fault(self.conn, InstanceFault(instance_uuid=a.uuid, code=404,
                                                     message="x" * 300, host="h1"))
        faults = instances.get_latest_faults(self.conn, [a.uuid, b.uuid])
        self.assertEqual([a.uuid], list(faults))
        self.assertEqual((404, "x" * 255, "h1"),
                         (faults[a.uuid].code, faults[a.uuid].message, faults[a.uuid].host))
        got = instances.get(self.conn, a.uuid, expected_attrs=("fault",))
        self.assertEqual(404, got.fault.code)


class SQLiteInstanceQueriesTests(InstanceQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLInstanceQueriesTests(InstanceQueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLInstanceQueriesTests(InstanceQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"

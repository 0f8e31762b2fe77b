"""The API database's server group queries (nova_tx/db/api/instance_groups.py) on each
backend, in a database only these tests use; each test rolls back what it writes."""
from __future__ import annotations

import uuid as uuidlib

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.api import cell_mappings, instance_groups, instance_mappings
from nova_tx.objects.instance_group import InstanceGroup
from tests.db.fixtures import engine_for, migrated_database_url


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class InstanceGroupQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="instance-group-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def add(self, project="p1", user="u1", name="g", policy="anti-affinity", rules=None,
            members=()):
        return instance_groups.create(self.conn, InstanceGroup.new(
            uuid=new_uuid(), name=name, user_id=user, project_id=project, policy=policy,
            rules=rules, members=list(members)))

    def test_create_and_get(self):
        m1, m2 = new_uuid(), new_uuid()
        created = self.add(name="web", rules={"max_server_per_host": 3},
                           members=[m1, m2, m1])
        got = instance_groups.get_by_uuid(self.conn, created.uuid)
        self.assertEqual(created, got)
        self.assertEqual(("web", "u1", "p1", "anti-affinity", [m1, m2]),
                         (got.name, got.user_id, got.project_id, got.policy, got.members))
        self.assertEqual({"max_server_per_host": "3"}, got.stored_rules)
        self.assertEqual({"max_server_per_host": 3}, got.rules)
        self.assertEqual(["anti-affinity"], got.policies)
        self.assertIsInstance(got.id, int)
        self.assertIsNotNone(got.created_at)
        self.assertIsNone(got.hosts)

    def test_no_rules_stored_as_empty(self):
        group = self.add(policy="soft-affinity")
        self.assertEqual(({}, [], "soft-affinity"),
                         (group.rules, group.members, group.policy))

    def test_uuid_taken(self):
        group = self.add()
        with self.assertRaises(exception.InstanceGroupIdExists):
            instance_groups.create(self.conn, InstanceGroup.new(
                uuid=group.uuid, name="x", user_id="u", project_id="p", policy="affinity"))

    def test_not_found(self):
        missing = new_uuid()
        for call in (lambda: instance_groups.get_by_uuid(self.conn, missing),
                     lambda: instance_groups.destroy(self.conn, missing),
                     lambda: instance_groups.add_members(self.conn, missing, [new_uuid()]),
                     lambda: instance_groups.remove_members(self.conn, missing, ["x"])):
            with self.assertRaises(exception.InstanceGroupNotFound) as caught:
                call()
            self.assertIn(missing, str(caught.exception))

    def test_get_by_name_is_project_scoped(self):
        mine = self.add(project="p1", name="shared")
        theirs = self.add(project="p2", name="shared")
        self.assertEqual(mine.uuid,
                         instance_groups.get_by_name(self.conn, "p1", "shared").uuid)
        self.assertEqual(theirs.uuid,
                         instance_groups.get_by_name(self.conn, "p2", "shared").uuid)
        with self.assertRaises(exception.InstanceGroupNotFound):
            instance_groups.get_by_name(self.conn, "p3", "shared")

    def test_lists_in_creation_order_with_limit_and_offset(self):
        project = "list-" + new_uuid()
        made = [self.add(project=project, name=f"g{i}", members=[new_uuid()])
                for i in range(4)]
        other = self.add(project="other-" + new_uuid())
        uuids = lambda groups: [g.uuid for g in groups]  # noqa: E731
        self.assertEqual(uuids(made), uuids(instance_groups.get_by_project_id(self.conn,
                                                                             project)))
        self.assertEqual(uuids(made[1:3]), uuids(instance_groups.get_by_project_id(
            self.conn, project, limit=2, offset=1)))
        self.assertEqual([], instance_groups.get_by_project_id(self.conn, project, offset=4))
        self.assertEqual([], instance_groups.get_by_project_id(self.conn, project, limit=0))
        for offset in (2 ** 63 - 1, 2 ** 63, 10 ** 30):
            self.assertEqual([], instance_groups.get_all(self.conn, offset=offset))
        self.assertEqual(4, len(instance_groups.get_by_project_id(self.conn, project,
                                                                  limit=10 ** 30)))
        listed = instance_groups.get_by_project_id(self.conn, project)
        self.assertEqual([g.members for g in made], [g.members for g in listed])
        everything = uuids(instance_groups.get_all(self.conn))
        self.assertTrue(set(uuids(made)) | {other.uuid} <= set(everything))
        position = everything.index(made[0].uuid)
        self.assertEqual(everything[position + 1:position + 2],
                         uuids(instance_groups.get_all(self.conn, limit=1,
                                                       offset=position + 1)))

    def test_members_added_once_and_removed(self):
        group = self.add()
        m1, m2, m3 = new_uuid(), new_uuid(), new_uuid()
        self.assertEqual([m1, m2], instance_groups.add_members(self.conn, group.uuid,
                                                               [m1, m2, m1]))
        self.assertEqual([m2, m3], instance_groups.add_members(self.conn, group.uuid,
                                                               [m2, m3]))
        self.assertEqual([m1, m2, m3],
                         instance_groups.get_by_uuid(self.conn, group.uuid).members)
        self.assertEqual([], instance_groups.add_members(self.conn, group.uuid, []))
        self.assertEqual(1, instance_groups.remove_members(self.conn, group.uuid,
                                                           [m2, new_uuid()]))
        self.assertEqual([m1, m3],
                         instance_groups.get_by_uuid(self.conn, group.uuid).members)

    def test_get_by_instance_uuid(self):
        member = new_uuid()
        group = self.add(members=[member])
        self.add(members=[new_uuid()])
        self.assertEqual(group.uuid,
                         instance_groups.get_by_instance_uuid(self.conn, member).uuid)
        with self.assertRaises(exception.InstanceGroupNotFound):
            instance_groups.get_by_instance_uuid(self.conn, new_uuid())
        self.assertEqual(1, instance_groups.remove_instance(self.conn, member))
        with self.assertRaises(exception.InstanceGroupNotFound):
            instance_groups.get_by_instance_uuid(self.conn, member)

    def test_destroy_removes_policy_and_members(self):
        group = self.add(members=[new_uuid()], rules={"max_server_per_host": 2})
        kept = self.add(members=[new_uuid()])
        instance_groups.destroy(self.conn, group.uuid)
        with self.assertRaises(exception.InstanceGroupNotFound):
            instance_groups.get_by_uuid(self.conn, group.uuid)
        for table in (instance_groups.instance_group_policy,
                      instance_groups.instance_group_member):
            self.assertEqual([], self.conn.execute(
                table.select().where(table.c.group_id == group.id)).all())
        self.assertEqual(kept, instance_groups.get_by_uuid(self.conn, kept.uuid))

    def test_member_cells(self):
        cell = cell_mappings.create(self.conn, transport_url="none:///",
                                    database_connection="sqlite:///cell-" + new_uuid(),
                                    name="c1")
        placed, building, unmapped = new_uuid(), new_uuid(), new_uuid()
        instance_mappings.create(self.conn, instance_uuid=placed, project_id="p1",
                                 cell_mapping=cell)
        instance_mappings.create(self.conn, instance_uuid=building, project_id="p1")
        where = instance_groups.member_cells(self.conn, [placed, building, unmapped, placed])
        self.assertEqual({placed, building}, set(where))
        self.assertIsNone(where[building])
        self.assertEqual((cell.uuid, cell.database_connection),
                         (where[placed].uuid, where[placed].database_connection))
        self.assertEqual({}, instance_groups.member_cells(self.conn, []))

    def test_unicode_name(self):
        group = self.add(name="gr\u00fcppe \u2603")
        self.assertEqual("gr\u00fcppe \u2603",
                         instance_groups.get_by_uuid(self.conn, group.uuid).name)

    def test_request_spec_wire_form_round_trip(self):
        group = self.add(rules={"max_server_per_host": 2}, members=[new_uuid()])
        wire = group.with_hosts(["h1"]).to_request_spec_group()
        self.assertEqual(("anti-affinity", {"max_server_per_host": 2}, ["h1"],
                          group.members), (wire.policy, wire.rules, wire.hosts,
                                           wire.members))
        primitive = wire.to_primitive()
        self.assertEqual(["anti-affinity"], primitive["nova_object.data"]["policies"])
        back = InstanceGroup.from_request_spec_group(
            type(wire).from_primitive(primitive))
        self.assertEqual((group.uuid, group.stored_rules, ["h1"], group.members),
                         (back.uuid, back.stored_rules, back.hosts, back.members))


class SQLiteInstanceGroupQueriesTests(InstanceGroupQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLInstanceGroupQueriesTests(InstanceGroupQueriesTests,
                                          unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLInstanceGroupQueriesTests(InstanceGroupQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"

"""The API database's key pair and quota queries (nova_tx/db/api/key_pairs.py,
quotas.py) on each backend, in a database only these tests use; each test rolls back
what it writes."""
from __future__ import annotations

import uuid as uuidlib

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.api import key_pairs, quotas
from tests.db.fixtures import engine_for, migrated_database_url


class QuotaQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="quota-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    # --- key pairs -----------------------------------------------------------------------

    def add_key(self, user: str, name: str, type: str = "ssh"):
        return key_pairs.create(self.conn, user_id=user, name=name, fingerprint="f:" + name,
                                public_key="key " + name, type=type)

    def test_create_get_destroy(self):
        created = self.add_key("u1", "k1", "x509")
        got = key_pairs.get_by_name(self.conn, "u1", "k1")
        self.assertEqual(created.id, got.id)
        self.assertEqual(("k1", "u1", "f:k1", "key k1", "x509", False, None),
                         (got.name, got.user_id, got.fingerprint, got.public_key, got.type,
                          got.deleted, got.deleted_at))
        self.assertIsNotNone(got.created_at)
        with self.assertRaises(exception.KeypairNotFound):
            key_pairs.get_by_name(self.conn, "u2", "k1")
        key_pairs.destroy_by_name(self.conn, "u1", "k1")
        with self.assertRaises(exception.KeypairNotFound):
            key_pairs.destroy_by_name(self.conn, "u1", "k1")

    def test_exists_per_user(self):
        self.add_key("u1", "k1")
        self.add_key("u2", "k1")
        with self.assertRaises(exception.KeyPairExists):
            self.add_key("u1", "k1")

    def test_list_sorted_paged_counted(self):
        for name in ("b", "a", "d", "c"):
            self.add_key("u1", name)
        self.add_key("u2", "z")
        names = lambda keys: [k.name for k in keys]  # noqa: E731
        self.assertEqual(["a", "b", "c", "d"], names(key_pairs.get_by_user(self.conn, "u1")))
        self.assertEqual(["a", "b"], names(key_pairs.get_by_user(self.conn, "u1", limit=2)))
        self.assertEqual(["c"], names(key_pairs.get_by_user(self.conn, "u1", limit=1,
                                                            marker="b")))
        self.assertEqual([], names(key_pairs.get_by_user(self.conn, "u1", marker="d")))
        with self.assertRaises(exception.MarkerNotFound):
            key_pairs.get_by_user(self.conn, "u1", marker="z")
        self.assertEqual((4, 1, 0), (key_pairs.count_by_user(self.conn, "u1"),
                                     key_pairs.count_by_user(self.conn, "u2"),
                                     key_pairs.count_by_user(self.conn, "u3")))

    # --- limits --------------------------------------------------------------------------

    def test_limits_upsert_and_read(self):
        quotas.set_project_limit(self.conn, "p1", "cores", 5)
        quotas.set_project_limit(self.conn, "p1", "cores", 6)
        quotas.set_project_limit(self.conn, "p1", "ram", -1)
        quotas.set_user_limit(self.conn, "p1", "u1", "cores", 2)
        quotas.set_user_limit(self.conn, "p1", "u2", "cores", 3)
        quotas.set_user_limit(self.conn, "p1", "u2", "cores", 4)
        quotas.set_class_limit(self.conn, "default", "instances", 7)
        quotas.set_class_limit(self.conn, "default", "instances", 8)
        self.assertEqual({"cores": 6, "ram": -1}, quotas.get_project_limits(self.conn, "p1"))
        self.assertEqual({}, quotas.get_project_limits(self.conn, "p2"))
        self.assertEqual({"cores": 2}, quotas.get_user_limits(self.conn, "p1", "u1"))
        self.assertEqual({"u1": {"cores": 2}, "u2": {"cores": 4}},
                         quotas.get_all_user_limits(self.conn, "p1"))
        self.assertEqual({"instances": 8}, quotas.get_class_limits(self.conn))
        quotas.destroy_all_by_project_and_user(self.conn, "p1", "u1")
        self.assertEqual({"u2": {"cores": 4}}, quotas.get_all_user_limits(self.conn, "p1"))
        quotas.destroy_all_by_project(self.conn, "p1")
        self.assertEqual(({}, {}), (quotas.get_project_limits(self.conn, "p1"),
                                    quotas.get_all_user_limits(self.conn, "p1")))
        self.assertEqual({"instances": 8}, quotas.get_class_limits(self.conn))

    def test_null_hard_limit_is_unlimited(self):
        self.conn.execute(quotas.quotas.insert().values(project_id="p1", resource="cores",
                                                        hard_limit=None))
        self.assertEqual({"cores": -1}, quotas.get_project_limits(self.conn, "p1"))

    # --- server group counts ------------------------------------------------------------

    def add_group(self, project: str, user: str, members: list[tuple[str, str, bool]] = ()):
        groups = quotas.instance_groups
        group_uuid = str(uuidlib.uuid4())
        group_id = self.conn.execute(groups.insert().values(
            uuid=group_uuid, project_id=project, user_id=user, name="g")
        ).inserted_primary_key[0]
        for member_user, member_project, queued in members:
            instance = str(uuidlib.uuid4())
            self.conn.execute(quotas.instance_group_member.insert().values(
                instance_uuid=instance, group_id=group_id))
            self.conn.execute(quotas.instance_mappings.insert().values(
                instance_uuid=instance, project_id=member_project, user_id=member_user,
                queued_for_delete=queued))
        return group_uuid

    def test_server_group_counts(self):
        self.add_group("p1", "u1")
        self.add_group("p1", "u2")
        group = self.add_group("p1", "u1", [("u1", "p1", False), ("u1", "p1", True),
                                            ("u2", "p1", False), ("u1", "p1", False)])
        self.add_group("p2", "u1")
        self.assertEqual({"project": {"server_groups": 3}},
                         quotas.count_server_groups(self.conn, "p1"))
        self.assertEqual({"project": {"server_groups": 3}, "user": {"server_groups": 2}},
                         quotas.count_server_groups(self.conn, "p1", "u1"))
        self.assertEqual(2, quotas.count_server_group_members_by_user(self.conn, group, "u1"))
        self.assertEqual(1, quotas.count_server_group_members_by_user(self.conn, group, "u2"))


class SQLiteQuotaQueriesTests(QuotaQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLQuotaQueriesTests(QuotaQueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLQuotaQueriesTests(QuotaQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"

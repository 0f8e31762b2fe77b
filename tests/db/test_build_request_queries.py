"""``nova_tx.db.api.build_requests``: a build request stores its instance as Nova's
primitive and lists as Nova's ``BuildRequestList.get_by_filters``, on each backend."""
from __future__ import annotations

import datetime
import json
import uuid as uuidlib

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.db.api import build_requests
from nova_tx.objects.build_request import BuildRequest
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.objects.keypair import KeyPair
from tests.db.fixtures import engine_for, migrated_database_url

FLAVOR = Flavor(flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1, id=6,
                extra_specs={})


class BuildRequestQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="build-requests")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def make(self, name: str, *, project_id: str = "p1", tags=(), **fields) -> BuildRequest:
        uuid = str(uuidlib.uuid4())
        instance = Instance(uuid=uuid, project_id=project_id, user_id="u1",
                            display_name=name, vm_state=states.BUILDING,
                            task_state=states.SCHEDULING, flavor=FLAVOR,
                            instance_type_id=FLAVOR.id, **fields)
        return build_requests.create(self.conn, BuildRequest(
            instance_uuid=uuid, project_id=project_id, instance=instance, tags=list(tags),
            block_device_mappings=[{"source_type": "image", "destination_type": "local",
                                    "boot_index": 0}]))

    def names(self, filters, **kwargs) -> list[str]:
        return [b.instance.display_name for b in build_requests.get_by_filters(
            self.conn, filters, **kwargs)]

    def test_the_instance_is_stored_as_nova_primitive_and_loaded_back(self):
        made = self.make("web", metadata={"a": "1"}, key_name="k", tags=["red"],
                         keypairs=[KeyPair(name="k", user_id="u1", fingerprint="f",
                                           public_key="ssh-rsa AAAA")])
        stored = json.loads(self.conn.execute(
            build_requests.build_requests.select()).first().instance)
        self.assertEqual("Instance", stored["nova_object.name"])
        self.assertEqual("2.7", stored["nova_object.version"])
        self.assertEqual("Flavor", stored["nova_object.data"]["flavor"]["nova_object.name"])
        got = build_requests.get_by_instance_uuid(self.conn, made.instance_uuid)
        self.assertEqual(made, got)
        self.assertEqual(("web", {"a": "1"}, FLAVOR, ["red"], False, None),
                         (got.instance.display_name, got.instance.metadata,
                          got.instance.flavor, got.instance.tags, got.instance.deleted,
                          got.instance.host))
        self.assertIsInstance(got.instance.created_at, datetime.datetime)
        self.assertEqual(["k"], [k.name for k in got.instance.keypairs])
        self.assertEqual("KeyPairList",
                         stored["nova_object.data"]["keypairs"]["nova_object.name"])
        self.assertEqual(got.created_at, got.instance.created_at)
        self.assertEqual([{"source_type": "image", "destination_type": "local",
                           "boot_index": 0}], got.block_device_mappings)

    def test_not_found_duplicate_save_and_destroy(self):
        made = self.make("a")
        self.assertRaises(exception.BuildRequestNotFound,
                          build_requests.get_by_instance_uuid, self.conn, "nope")
        self.assertRaises(exception.Invalid, build_requests.create, self.conn,
                          BuildRequest(instance_uuid=made.instance_uuid, project_id="p1",
                                       instance=made.instance))
        build_requests.save_instance(self.conn, made.instance_uuid,
                                     made.instance.replace(display_name="b"))
        self.assertEqual("b", build_requests.get_by_instance_uuid(
            self.conn, made.instance_uuid).instance.display_name)
        build_requests.destroy(self.conn, made.instance_uuid)
        self.assertRaises(exception.BuildRequestNotFound, build_requests.destroy,
                          self.conn, made.instance_uuid)

    def test_filters_exact_regex_and_tags(self):
        self.make("web-1", tags=["red"])
        self.make("web-2", tags=["red", "blue"], key_name="k")
        self.make("db-1", project_id="p2")
        self.assertEqual(["web-2", "web-1"], self.names({"project_id": "p1"}))
        self.assertEqual(["web-2"], self.names({"display_name": "2$"}))
        self.assertEqual(["web-2"], self.names({"tags": ["red", "blue"]}))
        self.assertEqual(["web-1"], self.names({"not-tags-any": ["blue"],
                                                "project_id": "p1"}))
        self.assertEqual(["web-2", "web-1"], self.names({"tags-any": ["red"]}))
        self.assertEqual(["db-1"], self.names({"not-tags": ["red"]}))
        # As Nova: an instance without the attribute passes its regex filter.
        self.assertEqual(["db-1", "web-2", "web-1"], self.names({"key_name": "k"}))
        self.assertEqual(["web-2"], self.names({"display_name": "^web-2"}))
        self.assertEqual([], self.names({"vm_state": []}))
        self.assertEqual(3, len(self.names({"vm_state": [states.BUILDING],
                                            "changes-since": "ignored"})))

    def test_deleted_limit_zero_and_ip_find_nothing(self):
        made = self.make("a")
        self.assertEqual([], self.names({"deleted": True}))
        self.assertEqual([], self.names({}, limit=0))
        self.assertEqual([], self.names({"ip": "10."}))
        self.assertRaises(exception.MarkerNotFound, self.names, {"deleted": True},
                          marker=made.instance_uuid)

    def test_sort_limit_and_marker(self):
        for name in ("b", "a", "c"):
            self.make(name)
        self.assertEqual(["c", "a", "b"], self.names({}))
        self.assertEqual(["a", "b", "c"], self.names({}, sort_keys=["display_name"],
                                                     sort_dirs=["asc"]))
        ordered = build_requests.get_by_filters(self.conn, {}, sort_keys=["display_name"],
                                                sort_dirs=["asc"])
        self.assertEqual(["b"], self.names({}, sort_keys=["display_name"],
                                           sort_dirs=["asc"], limit=1,
                                           marker=ordered[0].instance_uuid))
        self.assertRaises(exception.MarkerNotFound, self.names, {}, marker="nope")


class SQLiteBuildRequestQueriesTests(BuildRequestQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLBuildRequestQueriesTests(BuildRequestQueriesTests,
                                         unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLBuildRequestQueriesTests(BuildRequestQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"

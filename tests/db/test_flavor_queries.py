"""``nova_tx.db.api.flavors`` on each backend: visibility, filters, sorting with NULLs,
paging, duplicates, extra specs and access lists. Each test rolls back what it wrote."""
from __future__ import annotations

import uuid

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.api import flavors
from nova_tx.objects.flavor import Flavor
from tests.db.fixtures import engine_for, migrated_database_url


class FlavorQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="flavor-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)
        # Names of our own, in case the shared database holds other tests' flavors.
        self.tag = uuid.uuid4().hex[:6]

    def make(self, name: str, **values) -> Flavor:
        flavor = Flavor(flavorid=f"{self.tag}-{name}", name=f"{self.tag}-{name}",
                        memory_mb=values.pop("memory_mb", 512), vcpus=1, **values)
        return flavors.create(self.conn, flavor)

    def ids(self, found: list[Flavor]) -> list[str]:
        return [f.flavorid.split("-", 1)[1] for f in found
                if f.flavorid.startswith(self.tag + "-")]

    def test_create_and_get(self):
        created = self.make("a", root_gb=10, ephemeral_gb=2, swap=512, rxtx_factor=2.0,
                            description="d", extra_specs={"hw:numa_nodes": "1"},
                            projects=["p1"], is_public=False)
        self.assertEqual({"hw:numa_nodes": "1"}, created.extra_specs)
        got = flavors.get_by_flavorid(self.conn, created.flavorid)
        self.assertEqual((10, 2, 512, 2.0, "d", False, ["p1"], {"hw:numa_nodes": "1"}, 0,
                          False),
                         (got.root_gb, got.ephemeral_gb, got.swap, got.rxtx_factor,
                          got.description, got.is_public, got.projects, got.extra_specs,
                          got.vcpu_weight, got.disabled))
        self.assertIsNotNone(got.created_at)
        with self.assertRaises(exception.FlavorIdExists):
            flavors.create(self.conn, created.replace(name="other"))
        with self.assertRaises(exception.FlavorExists):
            flavors.create(self.conn, created.replace(flavorid="other-" + self.tag))
        with self.assertRaises(exception.FlavorNotFound):
            flavors.get_by_flavorid(self.conn, "missing-" + self.tag)

    def test_visibility(self):
        self.make("pub")
        private = self.make("priv", is_public=False)
        flavors.add_access(self.conn, private.flavorid, "p1")
        for project, expected in (("p1", ["priv", "pub"]), ("p2", ["pub"])):
            found = flavors.get_all(self.conn, admin=False, project_id=project,
                                    is_public=True)
            self.assertEqual(expected, sorted(self.ids(found)))
        with self.assertRaises(exception.FlavorNotFound):
            flavors.get_by_flavorid(self.conn, private.flavorid, admin=False,
                                    project_id="p2")
        self.assertEqual(private.flavorid, flavors.get_by_flavorid(
            self.conn, private.flavorid, admin=False, project_id="p1").flavorid)
        self.assertEqual(["priv"], self.ids(flavors.get_all(self.conn, is_public=False)))
        self.assertEqual(["priv", "pub"], sorted(self.ids(flavors.get_all(self.conn))))

    def test_filters(self):
        self.make("a", memory_mb=256, root_gb=0)
        self.make("b", memory_mb=1024, root_gb=10, disabled=True)
        self.make("c", memory_mb=2048, root_gb=5)
        self.assertEqual(["b", "c"], self.ids(flavors.get_all(self.conn, min_memory_mb=1024)))
        self.assertEqual(["b", "c"], self.ids(flavors.get_all(self.conn, min_root_gb=5)))
        self.assertEqual(["a", "c"], self.ids(flavors.get_all(self.conn, disabled=False)))

    def test_sort_with_nulls_and_pages(self):
        self.make("a", description="zz")
        self.make("b")
        self.make("c", description="aa")
        self.make("d")
        # NULL descriptions sort as "" on every backend, then by id.
        by_description = self.ids(flavors.get_all(self.conn, sort_key="description"))
        self.assertEqual(["b", "d", "c", "a"], by_description)
        self.assertEqual(["a", "c", "d", "b"], self.ids(flavors.get_all(
            self.conn, sort_key="description", sort_dir="desc")))
        pages, marker = [], None
        while True:
            page = flavors.get_all(self.conn, sort_key="description", limit=1,
                                   marker=marker)
            page = [f for f in page if f.flavorid.startswith(self.tag)]
            if not page:
                break
            pages += self.ids(page)
            marker = page[-1].flavorid
        self.assertEqual(by_description, pages)
        with self.assertRaises(exception.MarkerNotFound):
            flavors.get_all(self.conn, marker="missing-" + self.tag)
        with self.assertRaises(exception.InvalidInput):
            flavors.get_all(self.conn, sort_key="bogus")

    def test_extra_specs_and_access(self):
        flavor = self.make("a")
        updated = flavors.update_extra_specs(self.conn, flavor.flavorid, {"a": "1", "b": "2"})
        self.assertEqual({"a": "1", "b": "2"}, updated.extra_specs)
        updated = flavors.update_extra_specs(self.conn, flavor.flavorid, {"a": "3"})
        self.assertEqual({"a": "3", "b": "2"}, updated.extra_specs)
        updated = flavors.delete_extra_spec(self.conn, flavor.flavorid, "b")
        self.assertEqual({"a": "3"}, updated.extra_specs)
        with self.assertRaises(exception.FlavorExtraSpecsNotFound):
            flavors.delete_extra_spec(self.conn, flavor.flavorid, "b")
        # Keys are case sensitive.
        updated = flavors.update_extra_specs(self.conn, flavor.flavorid, {"A": "x"})
        self.assertEqual({"A": "x", "a": "3"}, updated.extra_specs)
        self.assertEqual(["p1"], flavors.add_access(self.conn, flavor.flavorid, "p1").projects)
        with self.assertRaises(exception.FlavorAccessExists):
            flavors.add_access(self.conn, flavor.flavorid, "p1")
        self.assertEqual([], flavors.remove_access(self.conn, flavor.flavorid, "p1").projects)
        with self.assertRaises(exception.FlavorAccessNotFound):
            flavors.remove_access(self.conn, flavor.flavorid, "p1")
        described = flavors.update_description(self.conn, flavor.flavorid, "new")
        self.assertEqual("new", described.description)
        self.assertIsNotNone(described.updated_at)

    def test_destroy(self):
        flavor = self.make("a", extra_specs={"k": "v"}, projects=["p1"])
        gone = flavors.destroy(self.conn, flavor.flavorid)
        self.assertEqual((None, None), (gone.extra_specs, gone.projects))
        with self.assertRaises(exception.FlavorNotFound):
            flavors.destroy(self.conn, flavor.flavorid)
        # The name and id may be used again.
        self.make("a")


class SQLiteFlavorQueriesTests(FlavorQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLFlavorQueriesTests(FlavorQueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLFlavorQueriesTests(FlavorQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"

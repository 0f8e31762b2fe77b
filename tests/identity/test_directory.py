"""Users, projects and roles from ``[embedded] identity_users``; the catalog options."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.identity import catalog
from nova_tx.identity.directory import Directory, expand_roles, stable_id
from tests.identity.fixtures import make_conf


class DirectoryTest(unittest.SynchronousTestCase):
    def test_entries(self):
        directory = Directory.from_entries([
            "admin:pa:ss:admin:admin", "demo:x:demo:member", "demo:x:other:reader+custom"])
        admin = directory.find_user(name="admin")
        self.assertEqual(stable_id("user", "admin"), admin.id)
        self.assertTrue(admin.check_password("pa:ss"))  # a colon in a password
        self.assertFalse(admin.check_password("pa"))
        self.assertEqual(stable_id("project", "admin"), admin.default_project_id)
        demo = directory.find_user(name="demo")
        self.assertEqual(stable_id("project", "demo"), demo.default_project_id)
        self.assertEqual(["member", "reader"], [
            r.name for r in directory.roles_of(demo.id, stable_id("project", "demo"))])
        self.assertEqual(["reader", "custom"], [
            r.name for r in directory.roles_of(demo.id, stable_id("project", "other"))])
        self.assertEqual({"admin", "demo", "other"},
                         {p.name for p in directory.projects.values()})
        self.assertEqual([], directory.system_roles_of(demo.id))
        self.assertEqual(["admin", "member", "reader"],
                         [r.name for r in directory.system_roles_of(admin.id)])

    def test_ids_are_stable(self):
        one = Directory.from_entries(["a:b:c:d"])
        two = Directory.from_entries(["a:b:c:d"])
        self.assertEqual(list(one.users), list(two.users))
        self.assertEqual(32, len(next(iter(one.users))))

    def test_bad_entries(self):
        for entries in (["admin"], ["admin:pw"], ["admin:pw:project"], [":pw:p:r"],
                        ["admin::p:r"], ["a:one:p:r", "a:two:p:r"]):
            self.assertRaises(exception.ConfigError, Directory.from_entries, entries)

    def test_a_bad_entry_never_shows_its_password(self):
        error = self.assertRaises(exception.ConfigError, Directory.from_entries,
                                  ["admin:topsecret:p"])
        self.assertNotIn("topsecret", error.format_message())

    def test_implied_roles(self):
        self.assertEqual(["admin", "member", "reader"], expand_roles(["admin"]))
        self.assertEqual(["reader", "member"], expand_roles(["reader", "member"]))


class CatalogTest(unittest.SynchronousTestCase):
    def test_defaults(self):
        services = {s.type: s for s in catalog.build(make_conf())}
        self.assertEqual({
            "identity": "http://127.0.0.1:5000/v3", "compute": "http://127.0.0.1:8774/v2.1",
            "placement": "http://127.0.0.1:8778", "image": "http://127.0.0.1:9292",
            "network": "http://127.0.0.1:9696"},
            {t: s.urls["public"] for t, s in services.items()})
        self.assertEqual("glance", services["image"].name)

    def test_host_and_overrides(self):
        conf = make_conf(identity_endpoint_host="::1", identity_catalog=[
            "image=", "compute:public=https://api.example.com/compute/v2.1/",
            "volumev3=http://cinder:8776/v3"])
        services = {s.type: s for s in catalog.build(conf)}
        self.assertNotIn("image", services)
        self.assertEqual("https://api.example.com/compute/v2.1",
                         services["compute"].urls["public"])
        self.assertEqual("http://[::1]:8774/v2.1", services["compute"].urls["internal"])
        self.assertEqual("volumev3", services["volumev3"].name)
        rendered = catalog.render(list(services.values()), "Elsewhere")
        self.assertEqual({"Elsewhere"}, {e["region_id"] for s in rendered
                                         for e in s["endpoints"]})

    def test_bad_entry(self):
        conf = make_conf(identity_catalog=["compute:private=http://x"])
        self.assertRaises(exception.ConfigError, catalog.build, conf)

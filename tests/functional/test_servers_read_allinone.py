"""The read and update side of /servers in the all-in-one, with the stock
python-openstackclient logged in through Keystone's catalog: list with filters, show,
set and unset (name, properties, tags), delete. Whether the conductor has built the
servers yet (issues 9 and 10) does not matter here: a build request, an instance in
cell0 or one in a cell are listed, changed and deleted alike."""
import json
import os

from twisted.trial import unittest

from tests.functional import test_allinone
from tests.helpers import BIN, unavailable

STATUSES = {"BUILD", "ACTIVE", "ERROR"}


class ServersReadAllInOneTest(unittest.SynchronousTestCase):
    setUp = test_allinone.AllInOneTest.setUp
    start = test_allinone.AllInOneTest.start
    openstack = test_allinone.AllInOneTest.openstack

    def create(self, name: str) -> dict:
        return json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--nic", "none", "--property", "role=web", "-f", "json", name))

    def names(self, *filters: str) -> list[str]:
        listed = json.loads(self.openstack("server", "list", *filters, "-f", "json"))
        return sorted(s["Name"] for s in listed)

    def test_list_show_set_delete(self):
        if not os.path.exists(os.path.join(BIN, "openstack")):
            unavailable("python-openstackclient is not installed (test extra)")
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        web = self.create("web")
        db = self.create("db")
        self.assertEqual(["db", "web"], self.names())
        self.assertEqual(["web"], self.names("--name", "^we"))
        shown = json.loads(self.openstack("server", "show", web["id"], "-f", "json"))
        self.assertEqual("web", shown["name"])
        self.assertIn(shown["status"], STATUSES)
        if shown["status"] == "ACTIVE":
            # Built: metadata and tags can change too (not while building, nor in
            # ERROR, as Nova).
            self.openstack("server", "set", "--name", "web2", "--property", "tier=front",
                           "--tag", "blue", web["id"])
            self.openstack("server", "unset", "--property", "role", web["id"])
            shown = json.loads(self.openstack("server", "show", web["id"], "-f", "json"))
            self.assertEqual("web2", shown["name"])
            self.assertIn("tier", str(shown["properties"]))
            self.assertNotIn("role", str(shown["properties"]))
            self.assertEqual(["web2"], self.names("--tags", "blue"))
        else:
            self.openstack("server", "set", "--name", "web2", web["id"])
        self.assertEqual(["db", "web2"], self.names())
        self.openstack("server", "delete", db["id"], "--wait")
        self.assertEqual(["web2"], self.names())

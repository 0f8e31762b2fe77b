"""A server boots in the all-in-one: the stock ``openstack server create`` through the
API, the conductor, the scheduler with Placement and the compute with its fake
hypervisor, until the server is ACTIVE on the all-in-one's host; a second member of its
anti-affinity server group has no host left and is ERROR (buried in cell0); both are
deleted."""
import json
import os
import time

from twisted.trial import unittest

from tests.functional import test_allinone
from tests.helpers import BIN, unavailable


class BootAllInOneTest(unittest.SynchronousTestCase):
    setUp = test_allinone.AllInOneTest.setUp
    start = test_allinone.AllInOneTest.start
    openstack = test_allinone.AllInOneTest.openstack

    def wait_for(self, server_id: str, statuses: set[str], timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            shown = json.loads(self.openstack("server", "show", "-f", "json", server_id))
            if shown["status"] in statuses or time.monotonic() > deadline:
                return shown
            time.sleep(0.5)

    def test_server_boots_and_is_deleted(self):
        if not os.path.exists(os.path.join(BIN, "openstack")):
            unavailable("python-openstackclient is not installed (test extra)")
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        group = json.loads(self.openstack(
            "server", "group", "create", "--policy", "anti-affinity", "-f", "json", "web"))
        created = json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--network", "private", "--hint", f"group={group['id']}", "-f", "json",
            "web"))
        shown = self.wait_for(created["id"], {"ACTIVE", "ERROR"})
        self.assertEqual(shown["status"], "ACTIVE", shown.get("fault"))
        self.assertIn(shown["OS-EXT-STS:power_state"], (1, "Running"))
        self.assertTrue(shown["OS-EXT-SRV-ATTR:host"])
        # The port the compute bound on the embedded network, in the server's view.
        self.assertIn("private", shown["addresses"])
        # The lifecycle actions through the compute and back.
        self.openstack("server", "stop", created["id"])
        self.assertEqual("SHUTOFF", self.wait_for(created["id"], {"SHUTOFF"})["status"])
        self.openstack("server", "start", created["id"])
        self.assertEqual("ACTIVE", self.wait_for(created["id"], {"ACTIVE"})["status"])
        self.openstack("server", "pause", created["id"])
        self.assertEqual("PAUSED", self.wait_for(created["id"], {"PAUSED"})["status"])
        self.openstack("server", "unpause", created["id"])
        self.openstack("server", "reboot", "--hard", "--wait", created["id"])
        self.assertEqual("ACTIVE", self.wait_for(created["id"], {"ACTIVE"})["status"])
        self.openstack("console", "log", "show", created["id"])
        shown_group = json.loads(self.openstack("server", "group", "show", "-f", "json",
                                                group["id"]))
        self.assertEqual(shown_group["members"], [created["id"]])
        # Anti-affinity with the one host taken: the second member cannot be placed.
        second = json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--nic", "none", "--hint", f"group={group['id']}", "-f", "json", "web2"))
        refused = self.wait_for(second["id"], {"ACTIVE", "ERROR"})
        self.assertEqual(refused["status"], "ERROR")
        self.assertIn("No valid host", refused["fault"]["message"])
        self.openstack("server", "delete", "--wait", second["id"])
        self.openstack("server", "delete", "--wait", created["id"])
        listed = json.loads(self.openstack("server", "list", "-f", "json"))
        self.assertEqual(listed, [])

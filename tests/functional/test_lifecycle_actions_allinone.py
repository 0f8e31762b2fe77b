"""The lifecycle actions of issue 10 end to end in the all-in-one, with the stock
``openstack`` client: rescue and unrescue, rebuild, a snapshot into the embedded image
service, the crash dump, and a soft delete (``[DEFAULT] reclaim_instance_interval``)
undone by restore and then forced; the instance actions record each one."""
import json
import os

from twisted.trial import unittest

from tests.functional import test_allinone, test_boot_allinone
from tests.helpers import BIN, unavailable


class LifecycleActionsAllInOneTest(unittest.SynchronousTestCase):
    start = test_allinone.AllInOneTest.start
    openstack = test_allinone.AllInOneTest.openstack

    def setUp(self):
        test_allinone.AllInOneTest.setUp(self)
        with open(self.conf) as f:
            text = f.read()
        with open(self.conf, "w") as f:
            f.write(text.replace("[DEFAULT]\n",
                                 "[DEFAULT]\nreclaim_instance_interval = 3600\n", 1))

    wait_for = test_boot_allinone.BootAllInOneTest.wait_for

    def test_every_action_through_the_compute_and_back(self):
        if not os.path.exists(os.path.join(BIN, "openstack")):
            unavailable("python-openstackclient is not installed (test extra)")
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        created = json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--network", "private", "-f", "json", "vm"))
        server = created["id"]
        shown = self.wait_for(server, {"ACTIVE", "ERROR"})
        self.assertEqual("ACTIVE", shown["status"], shown.get("fault"))

        self.openstack("server", "rescue", "--image", "nova-tx-tiny", server)
        self.assertEqual("RESCUE", self.wait_for(server, {"RESCUE", "ERROR"})["status"])
        self.openstack("server", "unrescue", server)
        self.assertEqual("ACTIVE", self.wait_for(server, {"ACTIVE", "ERROR"})["status"])

        self.openstack("server", "rebuild", "--image", "nova-tx-tiny", "--name", "vm2",
                       server)
        shown = self.wait_for(server, {"ACTIVE", "ERROR"})
        self.assertEqual(("ACTIVE", "vm2"), (shown["status"], shown["name"]),
                         (shown, daemon.output()[-5000:]))

        self.openstack("server", "image", "create", "--name", "vm-snap", "--wait", server)
        image = json.loads(self.openstack("image", "show", "-f", "json", "vm-snap"))
        self.assertEqual(("active", "raw"), (image["status"], image["disk_format"]))
        self.assertEqual("ACTIVE", self.wait_for(server, {"ACTIVE"})["status"])

        self.openstack("--os-compute-api-version", "2.17", "server", "dump", "create",
                       server)

        self.openstack("server", "delete", server)
        self.assertEqual("SOFT_DELETED",
                         self.wait_for(server, {"SOFT_DELETED", "ERROR"})["status"])
        self.openstack("server", "restore", server)
        self.assertEqual("ACTIVE", self.wait_for(server, {"ACTIVE", "ERROR"})["status"])

        events = json.loads(self.openstack("server", "event", "list", "-f", "json",
                                           server))
        actions = {e["Action"] for e in events}
        for action in ("create", "rescue", "unrescue", "rebuild", "createImage",
                       "trigger_crash_dump", "delete", "restore"):
            self.assertIn(action, actions)

        self.openstack("server", "delete", "--force", "--wait", server)
        self.assertEqual([], json.loads(self.openstack("server", "list", "-f", "json")))

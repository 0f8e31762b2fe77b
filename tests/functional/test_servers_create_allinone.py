"""POST /servers in the all-in-one, with the stock python-openstackclient: the servers
are accepted with the image and network of the embedded services and listed, their
request specs and instance mappings recorded in the API database. What the conductor
and the compute make of them afterwards (issues 9 and 10) is not this test's."""
import json
import os
import sqlite3

from twisted.trial import unittest

from tests.functional import test_allinone
from tests.helpers import BIN, unavailable

#: Accepted servers are building, or already built or failed once a conductor ran.
STATUSES = {"BUILD", "ACTIVE", "ERROR"}


class ServersCreateAllInOneTest(unittest.SynchronousTestCase):
    # The all-in-one on free ports, as its own tests start it.
    setUp = test_allinone.AllInOneTest.setUp
    start = test_allinone.AllInOneTest.start
    openstack = test_allinone.AllInOneTest.openstack

    def test_openstack_server_create(self):
        if not os.path.exists(os.path.join(BIN, "openstack")):
            unavailable("python-openstackclient is not installed (test extra)")
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        created = json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--network", "private", "--property", "role=web", "-f", "json", "web"))
        self.assertEqual("web", created["name"])
        self.assertIn(created["status"], STATUSES)
        self.assertTrue(created["adminPass"])
        json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--nic", "none", "--min", "2", "--max", "2", "-f", "json", "multi"))
        listed = json.loads(self.openstack("server", "list", "-f", "json"))
        self.assertEqual(["multi-1", "multi-2", "web"], sorted(s["Name"] for s in listed))
        self.assertLessEqual({s["Status"] for s in listed}, STATUSES)
        # A refusal of the API's: a zone that is not there; nothing is recorded.
        refused = self.openstack_refused(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--nic", "none", "--availability-zone", "nowhere", "nope")
        self.assertIn("The requested availability zone is not available", refused)
        self.assertIn("400", refused)
        db = sqlite3.connect(os.path.join(self.checkout, "var", "nova_api.sqlite"))
        try:
            counts = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                      for table in ("request_specs", "instance_mappings")]
        finally:
            db.close()
        self.assertEqual([3, 3], counts)

    def openstack_refused(self, *args: str) -> str:
        import subprocess

        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(self.checkout, "var",
                                                                  "clouds.yaml"))
        result = subprocess.run([os.path.join(BIN, "openstack"), "--os-cloud", "nova-tx",
                                 *args], capture_output=True, text=True, env=env,
                                timeout=120, cwd=self.checkout)
        self.assertNotEqual(0, result.returncode, result.stdout)
        return result.stdout + result.stderr

"""Issue 10 end to end in the all-in-one, with openstacksdk: its compute on the libvirt
driver over a ``test:///`` host of two NUMA cells of SMT cores (the fixture of the
libvirt tests), a pinned two-node flavor booted to ACTIVE with its pCPUs claimed in
Placement, every power action, the instance actions read back, then the delete, with
no allocation and no port left behind."""
import os
import time

import yaml
from twisted.trial import unittest

from tests.functional import test_allinone
from tests.helpers import unavailable

FIXTURE = os.path.join(os.path.dirname(__file__), os.pardir, "virt", "libvirt", "fixtures",
                       "host-2cell-smt.xml")


class NumaAllInOneTest(unittest.SynchronousTestCase):
    setUp = test_allinone.AllInOneTest.setUp
    start = test_allinone.AllInOneTest.start

    def use_libvirt(self) -> None:
        with open(self.conf) as f:
            text = f.read()
        instances = os.path.join(self.checkout, "var", "instances")
        text = text.replace(
            "compute_driver = fake.FakeDriver",
            f"compute_driver = libvirt.LibvirtDriver\ninstances_path = {instances}")
        text += ("\n[libvirt]\nvirt_type = qemu\n"
                 f"connection_uri = test://{os.path.abspath(FIXTURE)}\n"
                 "\n[compute]\ncpu_dedicated_set = 2-7,10-15\ncpu_shared_set = 0,1,8,9\n")
        with open(self.conf, "w") as f:
            f.write(text)

    def connect(self):
        try:
            import openstack
        except ImportError:
            unavailable("openstacksdk is not installed (test extra)")
        with open(os.path.join(self.checkout, "var", "clouds.yaml")) as f:
            cloud = yaml.safe_load(f)["clouds"]["nova-tx"]
        return openstack.connect(**cloud["auth"], region_name=cloud.get("region_name"),
                                 identity_api_version=3)

    def wait_status(self, conn, server, wanted: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            server = conn.compute.get_server(server.id)
            if server.status == wanted or server.status == "ERROR" \
                    or time.monotonic() > deadline:
                self.assertEqual(wanted, server.status, server.fault)
                return server
            time.sleep(0.3)

    def allocations(self, conn, server_id: str) -> dict:
        response = conn.placement.get(f"/allocations/{server_id}",
                                      microversion="1.28")
        return response.json()["allocations"]

    def test_pinned_two_node_guest_on_a_libvirt_test_host(self):
        self.use_libvirt()
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        conn = self.connect()
        # The compute runs libvirt's test driver (its hypervisor type, "TEST").
        [hypervisor] = list(conn.compute.hypervisors(details=True))
        self.assertEqual("TEST", hypervisor.hypervisor_type)
        flavor = conn.compute.create_flavor(name="pinned2", vcpus=4, ram=1024, disk=1)
        conn.compute.create_flavor_extra_specs(
            flavor, {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"})
        image = conn.image.find_image("nova-tx-tiny")
        network = conn.network.find_network("private")
        server = conn.compute.create_server(name="numa", flavor_id=flavor.id,
                                            image_id=image.id,
                                            networks=[{"uuid": network.id}])
        server = self.wait_status(conn, server, "ACTIVE")
        [resources] = [a["resources"] for a in self.allocations(conn, server.id).values()]
        self.assertEqual({"PCPU": 4, "MEMORY_MB": 1024, "DISK_GB": 1}, resources)
        self.assertTrue(list(conn.network.ports(device_id=server.id)))
        for action, wanted in ((conn.compute.stop_server, "SHUTOFF"),
                               (conn.compute.start_server, "ACTIVE"),
                               (conn.compute.pause_server, "PAUSED"),
                               (conn.compute.unpause_server, "ACTIVE"),
                               (conn.compute.suspend_server, "SUSPENDED"),
                               (conn.compute.resume_server, "ACTIVE")):
            action(server)
            self.wait_status(conn, server, wanted)
        conn.compute.reboot_server(server, "HARD")
        time.sleep(0.5)
        self.wait_status(conn, server, "ACTIVE")
        actions = sorted(a.action for a in conn.compute.server_actions(server))
        self.assertEqual(["create", "pause", "reboot", "resume", "start", "stop",
                          "suspend", "unpause"], actions)
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=60)
        self.assertEqual({}, self.allocations(conn, server.id))
        self.assertEqual([], list(conn.network.ports(device_id=server.id)))

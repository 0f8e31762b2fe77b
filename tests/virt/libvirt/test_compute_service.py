"""nova-compute with ``libvirt.LibvirtDriver`` on a custom ``test:///`` host (two NUMA
cells of SMT cores) beside a ``fake.FakeDriver`` compute: both register their compute
node records through the conductor, report inventories and traits to placement and are
found by ``nova-manage cell_v2 discover_hosts`` / ``list_hosts``; a libvirt host file
that cannot be used stops nova-compute with one line naming it.

The deployment is the two-computes functional test's (``ComputesTestCase``), with
this module's computes.
"""
from __future__ import annotations

import json
import shutil
import tempfile

from twisted.internet import defer

from nova_tx.cmd import manage
from nova_tx.conf import libvirt as libvirt_conf
from nova_tx.virt.libvirt.driver import LibvirtDriver
from tests.cmd import run_main
from tests.functional import test_two_computes as two
from tests.virt.libvirt.helpers import fixture_uri


class LibvirtComputeCase(two.ComputesTestCase):
    fixture = "host-2cell-smt.xml"

    async def setUp(self):
        self.instances_path = tempfile.mkdtemp(prefix="nova-tx-instances-")
        self.addCleanup(shutil.rmtree, self.instances_path, True)
        # Cleanups run last first: this one after the services have stopped (their
        # stopService leaves the driver connected).
        self.addCleanup(self._disconnect_drivers)
        self.patch(two, "COMPUTES", {
            "libvirt-host": ("libvirt.LibvirtDriver", {
                "libvirt__connection_uri": fixture_uri(self.fixture),
                "libvirt__virt_type": "qemu",
                "instances_path": self.instances_path,
                "compute__cpu_dedicated_set": "2-7,10-15",
                "compute__cpu_shared_set": "0,1,8,9",
                "cpu_allocation_ratio": 8.0}, None),
            "fake-host": ("fake.FakeDriver", {"reserved_host_memory_mb": 1024},
                          two.SMALL_HOST),
        })
        await super().setUp()

    def _disconnect_drivers(self) -> defer.Deferred:
        return defer.gatherResults([
            service.driver.cleanup_host(host) for host, service in self.computes.items()
            if isinstance(service.driver, LibvirtDriver) and service.driver.host.connected])

    def compute_conf(self, host, bus, driver, options, host_file):
        mine = {k: v for k, v in options.items() if k.startswith("libvirt__")}
        conf = super().compute_conf(host, bus, driver,
                                    {k: v for k, v in options.items() if k not in mine},
                                    host_file)
        libvirt_conf.register_opts(conf)
        for key, value in mine.items():
            conf.set_override(key.split("__")[1], value, group="libvirt")
        return conf


class LibvirtComputeTest(LibvirtComputeCase):
    @defer.inlineCallbacks
    def test_register_report_and_discover(self):
        for service in self.computes.values():
            service.startService()
            yield service.started
            self.assertEqual(0, service.exit_code)
            yield service.resource_periodic.first_update

        rows = self.compute_node_rows()
        self.assertEqual({"libvirt-host", "fake-host"}, set(rows))
        row = rows["libvirt-host"]
        node = self.computes["libvirt-host"].driver.get_available_nodes()[0]
        self.assertEqual((4, 16384, node, "TEST"),
                         (row["vcpus"], row["memory_mb"], row["hypervisor_hostname"],
                          row["hypervisor_type"]))
        topology = json.loads(row["numa_topology"])["nova_object.data"]
        self.assertEqual([[0, 1, 8, 9], [2, 3, 10, 11]],
                         [topology["cells"][0]["cpuset"], topology["cells"][0]["pcpuset"]])
        self.assertEqual([4, 5, 6, 7, 12, 13, 14, 15], topology["cells"][1]["pcpuset"])
        self.assertEqual({4: 1048576, 2048: 1024, 1048576: 2},
                         {p["size_kb"]: p["total"] for p in topology["cells"][0]["mempages"]})

        providers = (yield defer.Deferred.fromCoroutine(
            self.get("/resource_providers")))["resource_providers"]
        uuid = {p["name"]: p["uuid"] for p in providers}[node]
        self.assertEqual(row["uuid"], uuid)
        inventories = (yield defer.Deferred.fromCoroutine(
            self.get(f"/resource_providers/{uuid}/inventories")))["inventories"]
        self.assertEqual({"DISK_GB", "MEMORY_MB", "PCPU", "VCPU"}, set(inventories))
        self.assertEqual((4, 8.0, 12, 1.0, 16384, 512),
                         (inventories["VCPU"]["total"],
                          inventories["VCPU"]["allocation_ratio"],
                          inventories["PCPU"]["total"],
                          inventories["PCPU"]["allocation_ratio"],
                          inventories["MEMORY_MB"]["total"],
                          inventories["MEMORY_MB"]["reserved"]))
        traits = set((yield defer.Deferred.fromCoroutine(self.get(
            f"/resource_providers/{uuid}/traits", "1.6")))["traits"])
        self.assertLessEqual({"COMPUTE_NODE", "HW_CPU_HYPERTHREADING",
                              "COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW",
                              "COMPUTE_SOCKET_PCI_NUMA_AFFINITY"}, traits)
        self.assertNotIn("COMPUTE_NET_ATTACH_INTERFACE", traits)

        discovered = run_main(manage.main, ["--config-file", self.dep.conf_path,
                                            "cell_v2", "discover_hosts", "--verbose",
                                            "--strict"])
        self.assertEqual(0, discovered.rc, str(discovered))
        listed = run_main(manage.main, ["--config-file", self.dep.conf_path,
                                        "cell_v2", "list_hosts"])
        self.assertEqual(0, listed.rc, str(listed))
        for host in ("libvirt-host", "fake-host"):
            self.assertIn(host, listed.out)
            self.assertEqual(1, self.compute_node_rows()[host]["mapped"])


class BadLibvirtHostTest(LibvirtComputeCase):
    fixture = "host-invalid.xml"

    async def test_invalid_host_file_stops_nova_compute(self):
        service = self.computes["libvirt-host"]
        line = await two.BadInputTest.start_failing(self, service)
        self.assertIn("nova-compute failed to start: Invalid configuration: ", line)
        self.assertIn("host-invalid.xml: cell '1': CPU 3 is listed twice", line)
        self.assertNotIn("libvirt-host", self.compute_node_rows())

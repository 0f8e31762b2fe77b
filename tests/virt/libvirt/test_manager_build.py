"""``build_and_run_instance`` with ``libvirt.LibvirtDriver`` on libvirt's test driver: the
compute manager's build path (claim, image cache, network, spawn) ends with a running
domain whose pins are the claim's; a libvirt error during spawn leaves the instance in
ERROR with a fault and releases its claim and allocations.

The host is the compute manager tests' harness (``tests/compute/harness.py``) with this
driver in place of the fake one.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.conf import libvirt as libvirt_conf
from nova_tx.objects.numa import InstanceNUMACell, InstanceNUMATopology
from nova_tx.virt.libvirt.config import read_pins
from nova_tx.virt.libvirt.driver import LibvirtDriver
from tests.compute.harness import FLAVOR, ComputeHarness
from tests.virt.libvirt.helpers import fixture_uri


def libvirt_driver(uri: str) -> Any:
    """A driver class for the harness: the harness's options plus ``[libvirt]``."""
    def make(conf: Any, *, reactor: Any = None) -> LibvirtDriver:
        libvirt_conf.register_opts(conf)
        conf.set_override("connection_uri", uri, group="libvirt")
        conf.set_override("virt_type", "qemu", group="libvirt")
        return LibvirtDriver(conf, reactor=reactor)
    return make


class LibvirtBuildCase(unittest.TestCase):
    timeout = 60
    uri = "test:///default"

    async def setUp(self):
        self.h = await ComputeHarness(self, driver_class=libvirt_driver(self.uri)).start()
        self.addCleanup(self.h.driver.cleanup_host, "compute1")

    async def domain_xml(self, uuid: str) -> str:
        return await self.h.driver.host.call(lambda conn: conn.lookupByUUIDString(uuid)
                                             .XMLDesc(0))

    async def forget(self, uuid: str) -> None:
        await self.h.driver.destroy(None, type("I", (), {"uuid": uuid})(), None)


class LibvirtBuildTest(LibvirtBuildCase):
    async def test_a_build_runs_a_domain(self):
        instance = await self.h.make_instance()
        self.addCleanup(self.forget, instance.uuid)
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
        built = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING),
                         (built.vm_state, built.task_state, built.power_state))
        root = ET.fromstring(await self.domain_xml(instance.uuid))
        self.assertEqual(root.findtext("name"), built.name)
        [vif] = built.network_info
        self.assertEqual(root.find("devices/interface/mac").get("address"), vif["address"])
        self.assertTrue(root.find("devices/disk/source").get("file").endswith(
            f"{instance.uuid}/disk"))

    async def test_a_libvirt_error_during_spawn_is_an_error_with_a_fault(self):
        instance = await self.h.make_instance()
        other = "5b0a7c8e-2f4d-4b6a-9c1e-3d2f1a0b9c8d"
        # A domain of the instance's name already exists: libvirt refuses the definition.
        await self.h.driver.host.call(lambda conn: conn.defineXML(
            f"<domain type='test'><name>{instance.name}</name><uuid>{other}</uuid>"
            "<memory>1024</memory><os><type>hvm</type></os></domain>"))
        self.addCleanup(self.h.driver.host.call,
                        lambda conn: conn.lookupByUUIDString(other).undefine())
        result = await self.h.build(instance, retry=False)
        self.assertEqual(common.FAILED, result)
        failed = await self.h.read(instance.uuid)
        self.assertEqual(states.ERROR, failed.vm_state)
        self.assertIn("Failed to spawn instance", failed.fault.message)
        self.assertIn("already", failed.fault.message)
        self.assertNotIn(instance.uuid, self.h.rt.tracked)
        self.assertEqual({}, await self.h.allocations(instance.uuid))
        self.assertFalse(await self.h.driver.instance_exists(instance))


class LibvirtPinnedBuildTest(LibvirtBuildCase):
    uri = fixture_uri("host-2cell-smt.xml")

    async def test_the_domain_pins_what_the_claim_chose(self):
        pinned = FLAVOR.replace(vcpus=2, extra_specs={"hw:cpu_policy": "dedicated",
                                                      "hw:numa_nodes": "1"})
        topology = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=0, pcpuset={0, 1}, memory=512, cpu_policy="dedicated")])
        instance = await self.h.make_instance(flavor=pinned, vcpus=2,
                                              numa_topology=topology)
        self.addCleanup(self.forget, instance.uuid)
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
        stored = await self.h.read(instance.uuid, expected_attrs=["numa_topology"])
        [cell] = stored.numa_topology.cells
        pins = read_pins(await self.domain_xml(instance.uuid))
        self.assertEqual({v: {p} for v, p in cell.cpu_pinning.items()}, pins["vcpupin"])
        self.assertEqual({0: {cell.id}}, pins["memnode"])
        host_cell = self.h.rt.topologies[self.h.nodename].cells[cell.id]
        self.assertLessEqual(set(cell.cpu_pinning.values()), host_cell.pinned_cpus)

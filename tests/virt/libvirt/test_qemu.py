"""Opt-in tests against a real libvirtd with QEMU (``NOVA_TX_QEMU_TESTS=1``).

They need libvirtd running, QEMU installed and the right to manage ``qemu:///system``
(or the URI in ``NOVA_TX_QEMU_URI``, e.g. ``qemu:///session``); ``NOVA_TX_QEMU_VIRT_TYPE``
is ``qemu`` (TCG, the default) or ``kvm``. The guest boots a blank disk: QEMU runs it
whatever is on it, which is all the lifecycle needs. See docs/libvirt.md.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid as uuidlib
from typing import Any

from twisted.internet import reactor
from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.objects import numa as obj
from nova_tx.objects.flavor import Flavor
from nova_tx.scheduler import kernel
from nova_tx.virt import hardware
from nova_tx.virt.libvirt import config as designer
from nova_tx.virt.libvirt.driver import LibvirtDriver
from tests.virt.libvirt.helpers import make_conf, schema_errors
from tests.virt.libvirt.test_driver import IMAGE, FakeImageAPI, make_instance

ENABLED = os.environ.get("NOVA_TX_QEMU_TESTS") == "1"
URI = os.environ.get("NOVA_TX_QEMU_URI", "qemu:///system")
VIRT_TYPE = os.environ.get("NOVA_TX_QEMU_VIRT_TYPE", "qemu")


class QemuTest(unittest.TestCase):
    timeout = 300

    def setUp(self):
        if not ENABLED:
            raise unittest.SkipTest("set NOVA_TX_QEMU_TESTS=1 to run against libvirtd and QEMU")
        self.instances_path = tempfile.mkdtemp(prefix="nova-tx-qemu-")
        # QEMU (running as its own user) must reach the disks.
        os.chmod(self.instances_path, 0o755)
        self.addCleanup(shutil.rmtree, self.instances_path, True)

    async def start_driver(self, **overrides: Any) -> LibvirtDriver:
        conf = make_conf(DEFAULT__instances_path=self.instances_path,
                         libvirt__connection_uri=URI, libvirt__virt_type=VIRT_TYPE,
                         vnc__enabled=False, **overrides)
        driver = LibvirtDriver(conf, reactor=reactor, image_api=FakeImageAPI())
        await driver.init_host("qemu-test")
        self.addCleanup(driver.cleanup_host, "qemu-test")
        return driver

    async def test_host_resources(self):
        driver = await self.start_driver()
        resources = await driver.get_available_resource(driver.get_available_nodes()[0])
        self.assertEqual(resources["hypervisor_type"], "QEMU")
        self.assertGreater(resources["vcpus"], 0)
        self.assertIsNotNone(resources["numa_topology"])

    async def test_guest_lifecycle(self):
        driver = await self.start_driver(libvirt__wait_soft_reboot_seconds=5)
        instance = make_instance()
        self.addCleanup(lambda: driver.destroy(None, instance, None))
        await driver.spawn(None, instance, {"id": IMAGE, "properties": {}}, [], None, {})
        self.assertEqual((await driver.get_info(instance)).state, states.RUNNING)
        await driver.pause(instance)
        self.assertEqual((await driver.get_info(instance)).state, states.POWER_PAUSED)
        await driver.unpause(instance)
        await driver.reboot(None, instance, None, "HARD")
        self.assertEqual((await driver.get_info(instance)).state, states.RUNNING)
        # A blank disk has no OS to answer ACPI: the soft reboot falls back to hard.
        await driver.reboot(None, instance, None, "SOFT")
        self.assertEqual((await driver.get_info(instance)).state, states.RUNNING)
        await driver.suspend(None, instance)
        await driver.resume(None, instance, None)
        self.assertEqual((await driver.get_info(instance)).state, states.RUNNING)
        await driver.power_off(instance, timeout=2, retry_interval=1)
        self.assertEqual((await driver.get_info(instance)).state, states.SHUTDOWN)
        await driver.destroy(None, instance, None)
        self.assertFalse(await driver.instance_exists(instance))

    async def test_pinned_guest_defines_on_the_real_host(self):
        driver = await self.start_driver()
        host = driver.numa_topology
        flavor = Flavor(flavorid="1", name="pinned", memory_mb=256, vcpus=1,
                        extra_specs={"hw:cpu_policy": "dedicated"})
        requested = hardware.numa_get_constraints(flavor.for_numa(), obj.ImageMeta())
        claimed = kernel.claim(host, requested)
        if claimed is None:
            raise unittest.SkipTest("this host has no free pCPU for a pinned guest")
        fitted, _ = claimed
        request = designer.GuestRequest(
            name=f"nova-tx-qemu-{uuidlib.uuid4().hex[:8]}", uuid=str(uuidlib.uuid4()),
            memory_mb=256, vcpus=1, domain_type=VIRT_TYPE, extra_specs=flavor.extra_specs,
            numa=fitted, host_numa=host, online_cpus=driver.host.capabilities.online_cpus,
            cpu_mode="host-model")
        xml = designer.domain_xml(request)
        self.assertEqual(schema_errors(xml), [])

        def define(conn: Any) -> str:
            dom = conn.defineXML(xml)
            try:
                return dom.XMLDesc(0)
            finally:
                dom.undefine()
        stored = await driver.host.call(define)
        self.assertEqual(designer.read_pins(stored)["vcpupin"],
                         {v: {p} for v, p in fitted.cpu_pinning.items()})

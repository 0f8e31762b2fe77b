"""``LibvirtDriver`` against libvirt's test driver: resources, provider tree, and the guest
lifecycle (spawn, destroy, reboot, power, pause, suspend, console, events)."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import tempfile
import uuid as uuidlib
from typing import Any

import libvirt
from twisted.internet import defer, reactor, task
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.objects import numa as obj
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.scheduler import kernel
from nova_tx.virt import driver as virt_driver
from nova_tx.virt import hardware
from nova_tx.virt.libvirt import driver as libvirt_driver
from nova_tx.virt.libvirt import imagebackend
from nova_tx.virt.libvirt.driver import InstanceSpawnFailure, LibvirtDriver
from tests.helpers import unavailable
from tests.virt.libvirt.helpers import fixture_uri, make_conf

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
_ids = itertools.count(0x7000 + os.getpid() % 0x1000 * 16)


class FakeImageAPI:
    """The image port's ``download_to``: a small raw image made with qemu-img."""

    def __init__(self):
        self.downloads: list[str] = []
        self.updates: list[tuple[str, dict]] = []
        self.uploads: list[tuple[str, dict]] = []

    async def update(self, context: Any, image_id: str, changes: dict[str, Any],
                     remove: list[str] | None = None) -> dict[str, Any]:
        self.updates.append((image_id, dict(changes)))
        return {"id": image_id, **changes}

    async def upload(self, context: Any, image_id: str, data: Any) -> dict[str, Any]:
        # What Glance would store: the file as it is when uploaded.
        self.uploads.append((image_id, await imagebackend.image_info(data)))
        return {"id": image_id, "status": "active"}

    async def download_to(self, context: Any, image_id: str, path: str) -> int:
        self.downloads.append(image_id)
        await imagebackend.qemu_img("create", "-f", "raw", path, "16M")
        return os.path.getsize(path)


def make_instance(**changes: Any) -> Instance:
    flavor = Flavor(flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1,
                    extra_specs={})
    values: dict[str, Any] = dict(
        uuid=str(uuidlib.uuid4()), id=next(_ids), flavor=flavor, memory_mb=512, vcpus=1,
        root_gb=1, image_ref=IMAGE, display_name="vm")
    values.update(changes)
    return Instance(**values)


class DriverCase(unittest.TestCase):
    uri = "test:///default"

    def setUp(self):
        if not shutil.which("qemu-img"):
            unavailable("qemu-img (Debian's qemu-utils)")
        self.instances_path = tempfile.mkdtemp(prefix="nova-tx-instances-")
        self.addCleanup(shutil.rmtree, self.instances_path, True)

    async def start_driver(self, **overrides: Any) -> LibvirtDriver:
        conf = make_conf(DEFAULT__instances_path=self.instances_path,
                         libvirt__connection_uri=self.uri, libvirt__virt_type="qemu",
                         **overrides)
        driver = LibvirtDriver(conf, reactor=reactor, image_api=FakeImageAPI())
        await driver.init_host("compute1")
        self.addCleanup(driver.cleanup_host, "compute1")
        return driver

    async def spawn(self, driver: LibvirtDriver, instance: Instance | None = None, **kw: Any
                    ) -> Instance:
        instance = instance or make_instance()
        self.addCleanup(lambda: driver.destroy(None, instance, None))
        await driver.spawn(None, instance, {"id": IMAGE, "properties": {}}, [], None, {},
                           network_info=kw.get("network_info"),
                           power_on=kw.get("power_on", True))
        return instance

    async def state(self, driver: LibvirtDriver, instance: Instance) -> int:
        return (await driver.get_info(instance)).state


class HostTest(DriverCase):
    async def test_implements_the_interface_and_reports_the_node(self):
        driver = await self.start_driver()
        verifyObject(virt_driver.IComputeDriver, driver)
        nodes = driver.get_available_nodes()
        self.assertEqual(len(nodes), 1)
        resources = await driver.get_available_resource(nodes[0])
        self.assertEqual(resources["hypervisor_hostname"], nodes[0])
        self.assertEqual(resources["hypervisor_type"], "TEST")
        self.assertEqual(resources["vcpus"], 16)
        self.assertEqual(resources["memory_mb"],
                         await driver.host.call(lambda conn: conn.getInfo()[1]))
        self.assertGreater(resources["local_gb"], 0)
        self.assertEqual(len(resources["numa_topology"].cells), 2)
        self.assertEqual(json.loads(resources["cpu_info"])["arch"], "i686")
        self.assertIn(["i686", "test", "hvm"], resources["supported_instances"])
        self.assertEqual(resources["cpu_shared_set"], set(range(16)))
        self.assertEqual(resources["cpu_dedicated_set"], set())
        self.assertEqual(json.loads(resources["pci_passthrough_devices"]), [])

    async def test_custom_smt_host_inventories_and_traits(self):
        self.uri = fixture_uri("host-2cell-smt.xml")
        driver = await self.start_driver(compute__cpu_dedicated_set="2-7,10-15",
                                         compute__cpu_shared_set="0,1,8,9",
                                         DEFAULT__cpu_allocation_ratio=8.0,
                                         DEFAULT__reserved_host_memory_mb=1024)
        node = driver.get_available_nodes()[0]
        resources = await driver.get_available_resource(node)
        topo = resources["numa_topology"]
        self.assertEqual(topo.cells[0].cpuset, {0, 1, 8, 9})
        self.assertEqual(topo.cells[1].pcpuset, {4, 5, 6, 7, 12, 13, 14, 15})
        self.assertEqual(len(json.loads(resources["pci_passthrough_devices"])), 3)
        tree = {node: {"inventories": {}, "traits": {"CUSTOM_OPERATOR", "COMPUTE_DEVICE_TAGGING"}}}
        driver.update_provider_tree(tree, node)
        inv = tree[node]["inventories"]
        self.assertEqual(inv["VCPU"], {"total": 4, "min_unit": 1, "max_unit": 4, "step_size": 1,
                                       "reserved": 0, "allocation_ratio": 8.0})
        self.assertEqual(inv["PCPU"], {"total": 12, "min_unit": 1, "max_unit": 12,
                                       "step_size": 1, "reserved": 0, "allocation_ratio": 1.0})
        self.assertEqual((inv["MEMORY_MB"]["total"], inv["MEMORY_MB"]["reserved"],
                          inv["MEMORY_MB"]["allocation_ratio"]), (16384, 1024, 1.5))
        self.assertEqual(inv["DISK_GB"]["allocation_ratio"], 1.0)
        traits = tree[node]["traits"]
        self.assertIn("HW_CPU_HYPERTHREADING", traits)
        self.assertIn("COMPUTE_NODE", traits)
        self.assertIn("COMPUTE_IMAGE_TYPE_QCOW2", traits)
        self.assertIn("CUSTOM_OPERATOR", traits)  # not the driver's to remove
        self.assertNotIn("COMPUTE_DEVICE_TAGGING", traits)  # the driver does not tag

    async def test_existing_allocation_ratios_are_kept_without_configured_ones(self):
        driver = await self.start_driver()
        node = driver.get_available_nodes()[0]
        tree = {node: {"inventories": {"VCPU": {"allocation_ratio": 4.0}}, "traits": set()}}
        driver.update_provider_tree(tree, node)
        self.assertEqual(tree[node]["inventories"]["VCPU"]["allocation_ratio"], 4.0)
        self.assertEqual(tree[node]["inventories"]["MEMORY_MB"]["allocation_ratio"], 1.5)
        self.assertNotIn("PCPU", tree[node]["inventories"])
        self.assertNotIn("HW_CPU_HYPERTHREADING", tree[node]["traits"])
        # An x86 host with libvirt >= 8.3.0.
        self.assertLessEqual({"COMPUTE_VIOMMU_MODEL_INTEL", "COMPUTE_VIOMMU_MODEL_AUTO",
                              "COMPUTE_VIOMMU_MODEL_VIRTIO"}, tree[node]["traits"])
        self.assertNotIn("COMPUTE_VIOMMU_MODEL_SMMUV3", tree[node]["traits"])

    async def test_the_compute_provider_tree(self):
        from nova_tx.compute.provider_tree import ProviderTree

        self.uri = fixture_uri("host-2cell-smt.xml")
        driver = await self.start_driver(compute__cpu_dedicated_set="4-7,12-15",
                                         compute__cpu_shared_set="0-3,8-11")
        node = driver.get_available_nodes()[0]
        tree = ProviderTree()
        tree.new_root(node, "8f0c3c58-7cf4-4d25-a1a8-0e8a4b1a5e11")
        tree.update_traits(node, {"CUSTOM_RACK_1", "COMPUTE_STATUS_DISABLED"})
        tree.update_inventory(node, {"VCPU": {"total": 16, "allocation_ratio": 2.0}})
        driver.update_provider_tree(tree, node)
        data = tree.data(node)
        self.assertEqual(data.inventory["VCPU"]["total"], 8)
        self.assertEqual(data.inventory["VCPU"]["allocation_ratio"], 2.0)
        self.assertEqual(data.inventory["PCPU"]["total"], 8)
        self.assertLessEqual({"HW_CPU_HYPERTHREADING", "COMPUTE_SOCKET_PCI_NUMA_AFFINITY",
                              "CUSTOM_RACK_1", "COMPUTE_STATUS_DISABLED"}, data.traits)

    async def test_invalid_host_topology_stops_init_host(self):
        self.uri = fixture_uri("host-invalid.xml")
        conf = make_conf(DEFAULT__instances_path=self.instances_path,
                         libvirt__connection_uri=self.uri)
        driver = LibvirtDriver(conf, reactor=reactor)
        e = await self.assertFailure(driver.init_host("c1"), exception.ConfigError)
        self.assertIn("host-invalid.xml", str(e))
        self.assertFalse(driver.host.connected)

    async def test_cpu_options_that_stop_init_host(self):
        for overrides in (dict(libvirt__virt_type="lxc"),
                          dict(libvirt__cpu_mode="custom"),
                          dict(libvirt__cpu_models=["Haswell"]),
                          dict(compute__cpu_dedicated_set="0-3",
                               compute__cpu_shared_set="3-5")):
            conf = make_conf(DEFAULT__instances_path=self.instances_path,
                             libvirt__connection_uri=self.uri, **overrides)
            driver = LibvirtDriver(conf, reactor=reactor)
            await self.assertFailure(driver.init_host("c1"), exception.ConfigError)
            self.assertFalse(driver.host.connected)

    async def test_file_backed_memory(self):
        driver = await self.start_driver(libvirt__file_backed_memory=1048576,
                                         DEFAULT__ram_allocation_ratio=1.0,
                                         DEFAULT__reserved_host_memory_mb=0)
        node = driver.get_available_nodes()[0]
        self.assertEqual((await driver.get_available_resource(node))["memory_mb"], 1048576)
        tree: dict = {}
        driver.update_provider_tree(tree, node)
        self.assertEqual(tree[node]["inventories"]["MEMORY_MB"]["total"], 1048576)
        instance = await self.spawn(driver)
        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        self.assertIn("<source type='file'/>", xml)

    async def test_file_backed_memory_options_that_stop_init_host(self):
        for overrides, words in [
            (dict(), "ram_allocation_ratio configured to 1.0"),
            (dict(DEFAULT__ram_allocation_ratio=1.0, DEFAULT__reserved_host_memory_mb=2048),
             "must be less than"),
        ]:
            values = dict(DEFAULT__instances_path=self.instances_path,
                          libvirt__connection_uri=self.uri, libvirt__virt_type="qemu",
                          libvirt__file_backed_memory=1024)
            values.update(overrides)
            driver = LibvirtDriver(make_conf(**values), reactor=reactor)
            e = await self.assertFailure(driver.init_host("c1"), exception.ConfigError)
            self.assertIn(words, str(e))

    async def test_uptime(self):
        driver = await self.start_driver()
        self.assertIn("load average", await driver.get_host_uptime())

    async def test_plugin(self):
        conf = make_conf(DEFAULT__compute_driver="libvirt.LibvirtDriver",
                         DEFAULT__instances_path=self.instances_path)
        self.assertIsInstance(virt_driver.load_compute_driver(conf), LibvirtDriver)


class LifecycleTest(DriverCase):
    async def test_spawn_runs_the_guest_on_a_qcow2_overlay(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver, network_info=[
            {"id": "p1", "address": "fa:16:3e:00:00:01", "type": "bridge",
             "devname": "tapp1", "network": {"bridge": "br100"}}])
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        self.assertTrue(await driver.instance_exists(instance))
        self.assertIn(instance.uuid, await driver.list_instance_uuids())
        disk = os.path.join(self.instances_path, instance.uuid, "disk")
        info = await imagebackend.image_info(disk)
        self.assertEqual((info["format"], info["virtual-size"]), ("qcow2", 1024 ** 3))
        self.assertEqual(driver.image_api.downloads, [IMAGE])
        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        self.assertIn(disk, xml)
        self.assertIn(os.path.join(self.instances_path, instance.uuid, "console.log"), xml)
        self.assertIn("br100", xml)
        resources = await driver.get_available_resource(driver.get_available_nodes()[0])
        self.assertGreaterEqual(resources["vcpus_used"], 1)
        # The 1 GiB overlay holds almost nothing yet: about 1 GiB is over-committed.
        free_gb = resources["local_gb"] - resources["local_gb_used"]
        self.assertIn(free_gb - resources["disk_available_least"], (0, 1, 2))
        self.assertGreaterEqual(libvirt_driver.disk_over_committed([disk]),
                                1024 ** 3 - 1024 ** 2)
        self.assertEqual(libvirt_driver.disk_over_committed(["/nonexistent/disk"]), 0)

    async def test_config_drive_attached_as_a_cdrom(self):
        import io

        import pycdlib

        driver = await self.start_driver()
        instance = await self.spawn(driver, make_instance(
            config_drive="True", metadata={"role": "web"}, hostname="vm1"), network_info=[
            {"id": "p1", "address": "fa:16:3e:00:00:01", "type": "bridge",
             "devname": "tapp1", "network": {"bridge": "br100", "subnets": []}}])
        drive = os.path.join(self.instances_path, instance.uuid, "disk.config")
        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        self.assertRegex(xml, r"<disk type=.file. device=.cdrom.>")
        self.assertIn(drive, xml)
        iso = pycdlib.PyCdlib()
        iso.open(drive)
        try:
            self.assertEqual("config-2", iso.pvd.volume_identifier.decode().strip())
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path="/openstack/latest/meta_data.json")
        finally:
            iso.close()
        import json

        meta = json.loads(out.getvalue())
        self.assertEqual((instance.uuid, {"role": "web"}), (meta["uuid"], meta["meta"]))

    async def test_no_config_drive_unless_asked(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        self.assertFalse(os.path.exists(
            os.path.join(self.instances_path, instance.uuid, "disk.config")))

    async def test_spawn_pinned_guest_from_the_claim(self):
        self.uri = fixture_uri("host-2cell-smt.xml")
        driver = await self.start_driver()
        flavor = Flavor(flavorid="2", name="pinned", memory_mb=1024, vcpus=2, root_gb=1,
                        extra_specs={"hw:cpu_policy": "dedicated"})
        requested = hardware.numa_get_constraints(flavor.for_numa(), obj.ImageMeta())
        fitted, _host = kernel.claim(driver.numa_topology, requested)
        instance = await self.spawn(driver, make_instance(
            flavor=flavor, memory_mb=1024, vcpus=2, numa_topology=fitted))
        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        from nova_tx.virt.libvirt.config import read_pins

        self.assertEqual(read_pins(xml)["vcpupin"],
                         {v: {p} for v, p in fitted.cpu_pinning.items()})

    async def test_ephemeral_and_swap_disks(self):
        driver = await self.start_driver()
        instance = make_instance()
        self.addCleanup(lambda: driver.destroy(None, instance, None))
        await driver.spawn(None, instance, {"id": IMAGE}, [], None, {}, block_device_info={
            "root_device_name": "/dev/vda", "block_device_mapping": [],
            "ephemerals": [{"num": 0, "device_name": "/dev/vdb", "size": 1}],
            "swap": {"device_name": None, "swap_size": 256}})
        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        import xml.etree.ElementTree as ET

        disks = [(d.find("target").get("dev"), os.path.basename(d.find("source").get("file")))
                 for d in ET.fromstring(xml).findall("devices/disk")]
        self.assertEqual(disks, [("vda", "disk"), ("vdb", "disk.eph0"), ("vdc", "disk.swap")])
        directory = os.path.join(self.instances_path, instance.uuid)
        eph = await imagebackend.image_info(os.path.join(directory, "disk.eph0"))
        swap = await imagebackend.image_info(os.path.join(directory, "disk.swap"))
        self.assertEqual((eph["virtual-size"], swap["virtual-size"]),
                         (1024 ** 3, 256 * 1024 ** 2))

    async def test_base_cached_by_the_compute_manager(self):
        from nova_tx.conf import compute_manager

        driver = await self.start_driver()
        compute_manager.register_opts(driver.conf)
        driver.conf.set_override("subdirectory_name", "_base_host1", group="image_cache")
        driver = LibvirtDriver(driver.conf, reactor=reactor)  # no image service at all
        await driver.init_host("compute1")
        self.addCleanup(driver.cleanup_host, "compute1")
        base = os.path.join(self.instances_path, "_base_host1",
                            hashlib.sha1(IMAGE.encode()).hexdigest())
        os.makedirs(os.path.dirname(base))
        await imagebackend.qemu_img("create", "-f", "raw", base, "16M")
        instance = await self.spawn(driver)
        info = await imagebackend.image_info(
            os.path.join(self.instances_path, instance.uuid, "disk"))
        self.assertEqual(info["backing-filename"], base)

    async def test_a_restarted_driver_finds_its_running_guests(self):
        # libvirt's test:///default keeps its guests while any connection is open, as
        # libvirtd keeps them while nova-compute restarts.
        keeper = libvirt.open("test:///default")
        self.addCleanup(keeper.close)
        driver = await self.start_driver()
        instance = make_instance()
        await driver.spawn(None, instance, {"id": IMAGE}, [], None, {})
        await driver.cleanup_host("compute1")
        again = LibvirtDriver(driver.conf, reactor=reactor)
        await again.init_host("compute1")
        self.addCleanup(again.cleanup_host, "compute1")
        self.assertIn(instance.uuid, await again.list_instance_uuids())
        self.assertEqual(await self.state(again, instance), states.RUNNING)
        self.assertEqual(await again.get_console_output(None, instance), b"")
        await again.destroy(None, instance, None)

    async def test_spawn_without_power_on(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver, power_on=False)
        self.assertEqual(await self.state(driver, instance), states.SHUTDOWN)

    async def test_libvirt_error_during_spawn_is_a_clear_failure_and_cleans_up(self):
        driver = await self.start_driver()
        instance = make_instance()
        other = str(uuidlib.uuid4())
        # A domain of the same name already exists: libvirt refuses the definition.
        await driver.host.call(lambda conn: conn.defineXML(
            f"<domain type='test'><name>{instance.name}</name><uuid>{other}</uuid>"
            "<memory>1024</memory><os><type>hvm</type></os></domain>"))
        self.addCleanup(driver.host.call,
                        lambda conn: conn.lookupByUUIDString(other).undefine())
        e = await self.assertFailure(
            driver.spawn(None, instance, {"id": IMAGE}, [], None, {}), InstanceSpawnFailure)
        self.assertIn(instance.uuid, str(e))
        self.assertIn("already", str(e))
        self.assertFalse(await driver.instance_exists(instance))
        self.assertFalse(os.path.exists(os.path.join(self.instances_path, instance.uuid)))

    async def test_invalid_flavor_value_fails_the_spawn_before_libvirt(self):
        driver = await self.start_driver()
        flavor = Flavor(flavorid="3", name="bad", memory_mb=512, vcpus=1,
                        extra_specs={"hw:watchdog_action": "explode"})
        instance = make_instance(flavor=flavor)
        await self.assertFailure(
            driver.spawn(None, instance, {"id": IMAGE}, [], None, {}), exception.Invalid)
        self.assertFalse(await driver.instance_exists(instance))
        self.assertFalse(os.path.exists(os.path.join(self.instances_path, instance.uuid)))

    async def test_destroy(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await driver.destroy(None, instance, None)
        self.assertFalse(await driver.instance_exists(instance))
        self.assertFalse(os.path.exists(os.path.join(self.instances_path, instance.uuid)))
        await self.assertFailure(driver.get_info(instance), exception.InstanceNotFound)
        # Absent: not an error.
        await driver.destroy(None, instance, None)

    async def test_destroy_keeping_disks(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await driver.destroy(None, instance, None, destroy_disks=False)
        self.assertTrue(os.path.exists(os.path.join(self.instances_path, instance.uuid,
                                                    "disk")))

    async def test_power_off_and_on(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await driver.power_off(instance, timeout=5, retry_interval=1)
        self.assertEqual(await self.state(driver, instance), states.SHUTDOWN)
        await driver.power_off(instance)  # already off
        await driver.power_on(None, instance, None)
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        await driver.power_off(instance)  # hard
        self.assertEqual(await self.state(driver, instance), states.SHUTDOWN)

    async def test_pause_unpause(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await driver.pause(instance)
        self.assertEqual(await self.state(driver, instance), states.POWER_PAUSED)
        await driver.unpause(instance)
        self.assertEqual(await self.state(driver, instance), states.RUNNING)

    async def test_suspend_resume(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await driver.suspend(None, instance)
        self.assertEqual(await self.state(driver, instance), states.SHUTDOWN)
        saved = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).hasManagedSaveImage(0))
        self.assertTrue(saved)
        await driver.resume(None, instance, None)
        self.assertEqual(await self.state(driver, instance), states.RUNNING)

    async def test_soft_and_hard_reboot(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)

        def domain_id() -> Any:
            return driver.host.call(lambda conn: conn.lookupByUUIDString(instance.uuid).ID())
        before = await domain_id()
        await driver.reboot(None, instance, None, "SOFT")
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        soft = await domain_id()
        self.assertNotEqual(soft, before)
        await driver.reboot(None, instance, None, "HARD")
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        self.assertNotEqual(await domain_id(), soft)

    async def test_soft_reboot_falls_back_to_hard(self):
        driver = await self.start_driver(libvirt__wait_soft_reboot_seconds=1)
        instance = await self.spawn(driver)
        calls: list[str] = []
        real = driver._domain_call

        def ignore_shutdown(inst: Any, method: str, *args: Any) -> Any:
            calls.append(method)
            if method == "shutdown":
                return defer.succeed(None)  # a guest that ignores ACPI
            return real(inst, method, *args)
        driver._domain_call = ignore_shutdown
        hard: list[str] = []
        real_hard = driver._hard_reboot

        async def record_hard(inst: Any) -> None:
            hard.append(inst.uuid)
            await real_hard(inst)
        driver._hard_reboot = record_hard
        await driver.reboot(None, instance, None, "SOFT")
        self.assertEqual(calls, ["shutdown"])
        self.assertEqual(hard, [instance.uuid])
        self.assertEqual(await self.state(driver, instance), states.RUNNING)

    async def test_console_output(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        self.assertEqual(await driver.get_console_output(None, instance), b"")
        log = os.path.join(self.instances_path, instance.uuid, "console.log")
        with open(log, "wb") as f:
            f.write(b"x" * libvirt_driver.MAX_CONSOLE_BYTES + b"login: ")
        out = await driver.get_console_output(None, instance)
        self.assertEqual(len(out), libvirt_driver.MAX_CONSOLE_BYTES)
        self.assertTrue(out.endswith(b"login: "))

    async def test_lifecycle_events_arrive_in_the_reactor(self):
        import threading

        driver = await self.start_driver()
        driver.host.lifecycle_delay = 0.05
        events: list[virt_driver.LifecycleEvent] = []
        threads_seen: set[str] = set()

        def listener(event: virt_driver.LifecycleEvent) -> None:
            threads_seen.add(threading.current_thread().name)
            events.append(event)
        driver.register_event_listener(listener)
        instance = await self.spawn(driver)
        await driver.pause(instance)
        await driver.unpause(instance)
        await driver.destroy(None, instance, None)

        async def wait_for(count: int) -> None:
            for _ in range(100):
                if len([e for e in events if e.instance_uuid == instance.uuid]) >= count:
                    return
                await task.deferLater(reactor, 0.05, lambda: None)
        await wait_for(4)
        mine = [e.transition for e in events if e.instance_uuid == instance.uuid]
        self.assertEqual(mine, [virt_driver.EVENT_STARTED, virt_driver.EVENT_PAUSED,
                                virt_driver.EVENT_RESUMED, virt_driver.EVENT_STOPPED])
        self.assertEqual(threads_seen, {threading.main_thread().name})

    async def test_power_state_mapping(self):
        self.assertEqual(libvirt_driver.power_state(libvirt.VIR_DOMAIN_BLOCKED),
                         states.RUNNING)
        self.assertEqual(libvirt_driver.power_state(libvirt.VIR_DOMAIN_SHUTOFF),
                         states.SHUTDOWN)
        self.assertEqual(libvirt_driver.power_state(libvirt.VIR_DOMAIN_PMSUSPENDED),
                         states.POWER_SUSPENDED)
        self.assertEqual(libvirt_driver.power_state(libvirt.VIR_DOMAIN_CRASHED),
                         states.CRASHED)


MODELS = ["Penryn", "IvyBridge", "Haswell", "Broadwell", "Skylake-Client"]


class CPUModelTest(DriverCase):
    """spec/E §5.10: the first configured model that provides the required traits."""

    async def model_of(self, driver: LibvirtDriver, extra_specs: dict[str, str]) -> str:
        flavor = Flavor(flavorid="4", name="cpu", memory_mb=512, vcpus=1, root_gb=1,
                        extra_specs=extra_specs)
        instance = await self.spawn(driver, make_instance(flavor=flavor))
        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        import xml.etree.ElementTree as ET

        return ET.fromstring(xml).findtext("cpu/model")

    async def test_traits_choose_haswell(self):
        driver = await self.start_driver(libvirt__cpu_mode="custom",
                                         libvirt__cpu_models=MODELS)
        self.assertEqual(await self.model_of(driver, {
            "trait:HW_CPU_X86_AVX": "required", "trait:HW_CPU_X86_AVX2": "required"}),
            "Haswell")
        self.assertEqual(await self.model_of(driver, {}), "Penryn")
        self.assertEqual(await self.model_of(driver, {"trait:HW_CPU_X86_AVX": "required"}),
                         "IvyBridge")

    async def test_no_model_provides_the_traits(self):
        driver = await self.start_driver(libvirt__cpu_mode="custom",
                                         libvirt__cpu_models=["Penryn", "IvyBridge"])
        flavor = Flavor(flavorid="5", name="avx2", memory_mb=512, vcpus=1, root_gb=1,
                        extra_specs={"trait:HW_CPU_X86_AVX2": "required"})
        instance = make_instance(flavor=flavor)
        e = await self.assertFailure(driver.spawn(None, instance, {"id": IMAGE}, [], None, {}),
                                     InstanceSpawnFailure)
        self.assertIn("HW_CPU_X86_AVX2", str(e))
        self.assertFalse(await driver.instance_exists(instance))

    async def test_cpu_feature_traits_reported(self):
        driver = await self.start_driver(libvirt__cpu_mode="custom",
                                         libvirt__cpu_models=["Penryn", "Haswell"])
        node = driver.get_available_nodes()[0]
        tree: dict = {}
        driver.update_provider_tree(tree, node)
        self.assertIn("HW_CPU_X86_AVX2", tree[node]["traits"])
        self.assertIn("HW_CPU_X86_SSE41", tree[node]["traits"])
        self.assertNotIn("HW_CPU_X86_AVX512F", tree[node]["traits"])

    async def test_unknown_model_stops_init_host(self):
        conf = make_conf(DEFAULT__instances_path=self.instances_path,
                         libvirt__connection_uri=self.uri, libvirt__cpu_mode="custom",
                         libvirt__cpu_models=["NoSuchCPU"])
        driver = LibvirtDriver(conf, reactor=reactor)
        e = await self.assertFailure(driver.init_host("c1"), exception.ConfigError)
        self.assertIn("NoSuchCPU", str(e))
        self.assertFalse(driver.host.connected)


class SnapshotTest(DriverCase):
    async def snapshot(self, driver: LibvirtDriver, instance: Instance) -> list:
        states_seen: list = []

        def update_task_state(task_state: str, expected_state: str | None = None) -> Any:
            states_seen.append((task_state, expected_state))
            return defer.succeed(None)
        await driver.snapshot(None, instance, "snap-1", update_task_state)
        return states_seen

    async def test_running_guest_flattened_into_a_qcow2_image(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        seen = await self.snapshot(driver, instance)
        self.assertEqual(seen, [(states.IMAGE_PENDING_UPLOAD, None),
                                (states.IMAGE_UPLOADING, states.IMAGE_PENDING_UPLOAD)])
        self.assertEqual(driver.image_api.updates,
                         [("snap-1", {"disk_format": "qcow2", "container_format": "bare"})])
        [(image_id, info)] = driver.image_api.uploads
        self.assertEqual((image_id, info["format"], info["virtual-size"]),
                         ("snap-1", "qcow2", 1024 ** 3))
        self.assertNotIn("backing-filename", info)
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        self.assertEqual(os.listdir(driver.conf.libvirt.snapshots_directory), [])

    async def test_paused_guest_stays_paused_and_raw_format(self):
        driver = await self.start_driver(libvirt__snapshot_image_format="raw")
        instance = await self.spawn(driver)
        await driver.pause(instance)
        await self.snapshot(driver, instance)
        self.assertEqual(driver.image_api.uploads[0][1]["format"], "raw")
        self.assertEqual(await self.state(driver, instance), states.POWER_PAUSED)

    async def test_stopped_guest_stays_stopped(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver, power_on=False)
        await self.snapshot(driver, instance)
        self.assertEqual(len(driver.image_api.uploads), 1)
        self.assertEqual(await self.state(driver, instance), states.SHUTDOWN)

    async def test_without_an_image_service(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        driver.image_api = None
        await self.assertFailure(driver.snapshot(None, instance, "snap-1", lambda **kw: None),
                                 libvirt_driver.SnapshotFailure)


class RescueTest(DriverCase):
    async def disks(self, driver: LibvirtDriver, instance: Instance) -> list[tuple[str, str]]:
        import xml.etree.ElementTree as ET

        xml = await driver.host.call(
            lambda conn: conn.lookupByUUIDString(instance.uuid).XMLDesc(0))
        return [(d.find("target").get("dev"), os.path.basename(d.find("source").get("file")))
                for d in ET.fromstring(xml).findall("devices/disk")]

    async def test_rescue_and_unrescue(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        rescue_image = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
        await driver.rescue(None, instance, None, {"id": rescue_image, "properties": {}}, "pw")
        self.assertEqual(await self.disks(driver, instance),
                         [("vda", "disk.rescue"), ("vdb", "disk")])
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        self.assertEqual(driver.image_api.downloads, [IMAGE, rescue_image])
        directory = os.path.join(self.instances_path, instance.uuid)
        self.assertTrue(os.path.exists(os.path.join(directory, "unrescue.xml")))
        await driver.unrescue(None, instance)
        self.assertEqual(await self.disks(driver, instance), [("vda", "disk")])
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        self.assertEqual(sorted(os.listdir(directory)), ["disk"])

    async def test_rescue_image_defaults_to_the_instances(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await driver.rescue(None, instance, None, None, None)
        self.assertEqual(await self.disks(driver, instance),
                         [("vda", "disk.rescue"), ("vdb", "disk")])
        self.assertEqual(driver.image_api.downloads, [IMAGE])

    async def test_failed_rescue_leaves_the_guest_as_it_was(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        driver.image_api = None
        await self.assertFailure(
            driver.rescue(None, instance, None, {"id": "not-cached"}, None),
            imagebackend.ImageUnacceptable)
        self.assertEqual(await self.disks(driver, instance), [("vda", "disk")])
        self.assertEqual(await self.state(driver, instance), states.RUNNING)
        self.assertFalse(os.path.exists(
            os.path.join(self.instances_path, instance.uuid, "unrescue.xml")))

    async def test_unrescue_of_a_guest_not_rescued(self):
        driver = await self.start_driver()
        instance = await self.spawn(driver)
        await self.assertFailure(driver.unrescue(None, instance),
                                 libvirt_driver.InstanceUnRescueFailure)

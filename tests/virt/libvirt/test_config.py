"""Domain XML for the NUMA, pinning, emulator-thread, huge-page, realtime and CPU-topology
cases of spec/E (§2.12, §1.5, §1.6), and the other guest features of §5.

Each placement case fits the guest with the scheduling kernel's claim on a fixture host,
builds the XML from the fitted topology, and checks that the document passes libvirt's
domain schema, is accepted by ``defineXML`` on a ``test:///`` host of the same
topology, and pins (read back from what libvirt stored) exactly the CPUs, cells and
pages the claim chose.
"""
from __future__ import annotations

import uuid as uuidlib
import xml.etree.ElementTree as ET
from typing import Any

import libvirt
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.scheduler import kernel
from nova_tx.virt import hardware
from nova_tx.virt.host_topology import build_host_numa_topology
from nova_tx.virt.libvirt import capabilities as caps_mod
from nova_tx.virt.libvirt import config as designer
from tests.virt.libvirt.helpers import FIXTURES, fixture_uri, schema_errors

SMT_HOST = "host-2cell-smt.xml"
FOUR_CELL_HOST = "host-4cell.xml"

libvirt.registerErrorHandler(lambda _ctx, _error: None, None)


def host_topology(fixture: str, **options: Any) -> tuple[obj.NUMATopology, set[int]]:
    path = f"{FIXTURES}/{fixture}"
    conn = libvirt.open(fixture_uri(fixture))
    try:
        text = caps_mod.merge_test_topology(conn.getCapabilities(), open(path).read(), path)
    finally:
        conn.close()
    caps = caps_mod.parse_capabilities(text)
    return build_host_numa_topology(caps.cells, caps.online_cpus, **options), caps.online_cpus


class PlacementCase(unittest.SynchronousTestCase):
    """Fit, build, validate, define, read back."""

    def build(self, extra_specs: dict[str, str], vcpus: int = 4, memory_mb: int = 2048,
              image: dict[str, Any] | None = None, fixture: str = SMT_HOST,
              shared: str | None = None, dedicated: str | None = None,
              ) -> tuple[obj.InstanceNUMATopology | None, obj.NUMATopology, str, dict]:
        host, online = host_topology(fixture, cpu_shared_set=shared, cpu_dedicated_set=dedicated)
        flavor = obj.Flavor(vcpus=vcpus, memory_mb=memory_mb, extra_specs=extra_specs)
        image_meta = obj.ImageMeta(properties=dict(image or {}))
        requested = hardware.numa_get_constraints(flavor, image_meta)
        claimed = kernel.claim(host, requested, obj.NUMATopologyLimits())
        self.assertIsNotNone(claimed, "the kernel found no fit")
        fitted, used_host = claimed
        if fitted is not None:
            # The claim accounted exactly the pCPUs it chose.
            chosen = set(fitted.cpu_pinning.values())
            for cell in fitted.cells:
                chosen |= cell.cpuset_reserved or set()
            pinned = set().union(*(c.pinned_cpus for c in used_host.cells))
            if fitted.cells[0].cpu_thread_policy != obj.THREAD_POLICY_ISOLATE:
                self.assertEqual(pinned, chosen)
        request = designer.GuestRequest(
            name=f"guest-{uuidlib.uuid4().hex[:8]}", uuid=str(uuidlib.uuid4()),
            memory_mb=memory_mb, vcpus=vcpus, extra_specs=extra_specs,
            image_props=dict(image or {}), numa=fitted, host_numa=host,
            cpu_shared_set=set(hardware.parse_cpu_spec(shared)) if shared else None,
            floating_cpus=set(hardware.parse_cpu_spec(shared)) if shared else None,
            online_cpus=online, cpu_mode="host-model",
            disks=[designer.DiskConfig(path="/var/lib/nova/instances/x/disk")],
            console_log="/var/lib/nova/instances/x/console.log", vnc_listen="127.0.0.1")
        xml = designer.domain_xml(request)
        self.assertEqual(schema_errors(xml), [], xml)
        conn = libvirt.open(fixture_uri(fixture))
        try:
            dom = conn.defineXML(xml)
            stored = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            dom.undefine()
        finally:
            conn.close()
        return fitted, host, xml, designer.read_pins(stored)

    def expected_vcpupin(self, fitted: obj.InstanceNUMATopology, host: obj.NUMATopology
                         ) -> dict[int, set[int]]:
        cells = {c.id: c for c in host.cells}
        pins = {}
        for cell in fitted.cells:
            for vcpu in cell.pcpuset:
                pins[vcpu] = {cell.cpu_pinning[vcpu]}
            for vcpu in cell.cpuset:
                pins[vcpu] = set(cells[cell.id].cpuset)
        return pins


class PinningTest(PlacementCase):
    def test_dedicated_one_cell(self):
        fitted, host, _xml, pins = self.build({"hw:cpu_policy": "dedicated"})
        self.assertEqual(len(fitted.cells), 1)
        self.assertEqual(set(pins["vcpupin"]), {0, 1, 2, 3})
        self.assertEqual(pins["vcpupin"], {v: {p} for v, p in fitted.cpu_pinning.items()})
        # No emulator policy: the emulator threads float over the guest's pCPUs.
        self.assertEqual(pins["emulatorpin"], set(fitted.cpu_pinning.values()))
        self.assertEqual(pins["memnode"], {0: {fitted.cells[0].id}})
        self.assertEqual(pins["hugepages"], {})
        self.assertIsNone(pins["vcpusched"])

    def test_dedicated_two_cells(self):
        fitted, host, xml, pins = self.build(
            {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"}, vcpus=8, memory_mb=4096)
        self.assertEqual(sorted(c.id for c in fitted.cells), [0, 1])
        self.assertEqual(pins["vcpupin"], self.expected_vcpupin(fitted, host))
        host_cells = {c.id: c.pcpuset for c in host.cells}
        for cell in fitted.cells:
            self.assertLessEqual(set(cell.cpu_pinning.values()), host_cells[cell.id])
        self.assertEqual(pins["memnode"], {i: {c.id} for i, c in enumerate(fitted.cells)})
        root = ET.fromstring(xml)
        self.assertEqual(root.find("numatune/memory").get("nodeset"), "0-1")
        cells = root.findall("cpu/numa/cell")
        self.assertEqual([(c.get("id"), c.get("memory")) for c in cells],
                         [("0", str(2048 * 1024)), ("1", str(2048 * 1024))])
        # D4: one socket per guest NUMA cell.
        self.assertEqual(root.find("cpu/topology").get("sockets"), "2")

    def test_thread_policy_isolate_uses_one_thread_per_core(self):
        fitted, host, _xml, pins = self.build(
            {"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"})
        used = set(fitted.cpu_pinning.values())
        self.assertEqual(pins["vcpupin"], {v: {p} for v, p in fitted.cpu_pinning.items()})
        siblings = [s for c in host.cells for s in c.siblings]
        self.assertTrue(all(len(s & used) <= 1 for s in siblings))

    def test_thread_policy_require_uses_sibling_pairs(self):
        fitted, host, _xml, pins = self.build(
            {"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"})
        used = set(fitted.cpu_pinning.values())
        self.assertEqual(pins["vcpupin"], {v: {p} for v, p in fitted.cpu_pinning.items()})
        siblings = [s for c in host.cells for s in c.siblings if s & used]
        self.assertTrue(all(s <= used for s in siblings))
        self.assertEqual(len(siblings), 2)

    def test_floating_numa_guest_pins_to_its_cells_shared_cpus(self):
        fitted, host, _xml, pins = self.build({"hw:numa_nodes": "2"})
        self.assertEqual(pins["vcpupin"], self.expected_vcpupin(fitted, host))
        cells = {c.id: c.cpuset for c in host.cells}
        self.assertEqual(pins["vcpupin"][0], cells[fitted.cells[0].id])
        self.assertEqual(pins["emulatorpin"], set().union(*cells.values()))

    def test_mixed_policy(self):
        fitted, host, _xml, pins = self.build(
            {"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0-1"},
            shared="0,1,8,9", dedicated="2-7,10-15")
        cell = fitted.cells[0]
        self.assertEqual((cell.cpuset, cell.pcpuset), ({0, 1}, {2, 3}))
        self.assertEqual(pins["vcpupin"], self.expected_vcpupin(fitted, host))
        self.assertEqual(pins["vcpupin"][0], {0, 1, 8, 9} if cell.id == 0 else set())
        self.assertLessEqual(pins["vcpupin"][2] | pins["vcpupin"][3], {2, 3, 10, 11})


class EmulatorThreadsTest(PlacementCase):
    def test_isolate_pins_the_reserved_pcpu(self):
        fitted, _host, _xml, pins = self.build(
            {"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"}, vcpus=2)
        reserved = fitted.cells[0].cpuset_reserved
        self.assertEqual(len(reserved), 1)
        self.assertEqual(pins["emulatorpin"], reserved)
        self.assertFalse(reserved & set(fitted.cpu_pinning.values()))
        self.assertEqual(pins["vcpupin"], {v: {p} for v, p in fitted.cpu_pinning.items()})

    def test_share_with_cpu_shared_set(self):
        fitted, _host, _xml, pins = self.build(
            {"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "share"}, vcpus=2,
            shared="0,1,8,9", dedicated="2-7,10-15")
        self.assertEqual(pins["emulatorpin"], {0, 1, 8, 9})
        self.assertLessEqual(set(fitted.cpu_pinning.values()), set(range(2, 8)) | set(
            range(10, 16)))

    def test_share_without_cpu_shared_set_floats_over_the_guests_pcpus(self):
        fitted, _host, _xml, pins = self.build(
            {"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "share"}, vcpus=2)
        self.assertEqual(pins["emulatorpin"], set(fitted.cpu_pinning.values()))


class HugePagesTest(PlacementCase):
    def test_small_pages_have_no_hugepages_element(self):
        fitted, _host, xml, pins = self.build({"hw:mem_page_size": "small"})
        self.assertEqual(fitted.cells[0].pagesize, 4)
        self.assertEqual(pins["hugepages"], {})
        self.assertIsNone(ET.fromstring(xml).find("memoryBacking"))
        self.assertIsNone(ET.fromstring(xml).find("cpu/numa/cell").get("memAccess"))

    def test_large_pages(self):
        fitted, _host, xml, pins = self.build({"hw:mem_page_size": "large"})
        size = fitted.cells[0].pagesize
        self.assertIn(size, (2048, 1048576))
        self.assertEqual(pins["hugepages"], {0: size})
        self.assertEqual(ET.fromstring(xml).find("cpu/numa/cell").get("memAccess"), "shared")

    def test_explicit_2m_pages(self):
        fitted, _host, _xml, pins = self.build({"hw:mem_page_size": "2MB"})
        self.assertEqual(fitted.cells[0].pagesize, 2048)
        self.assertEqual(pins["hugepages"], {0: 2048})

    def test_explicit_1g_pages_on_two_cells(self):
        fitted, _host, _xml, pins = self.build(
            {"hw:mem_page_size": "1GB", "hw:numa_nodes": "2"}, memory_mb=4096)
        self.assertEqual([c.pagesize for c in fitted.cells], [1048576, 1048576])
        self.assertEqual(pins["hugepages"], {0: 1048576, 1: 1048576})
        self.assertEqual(pins["memnode"], {i: {c.id} for i, c in enumerate(fitted.cells)})

    def test_image_page_size_under_flavor_any(self):
        fitted, _host, _xml, pins = self.build({"hw:mem_page_size": "any"},
                                               image={"hw_mem_page_size": "2048"})
        self.assertEqual(pins["hugepages"], {0: 2048})

    def test_pages_only_where_the_host_has_them(self):
        fitted, _host, _xml, pins = self.build(
            {"hw:mem_page_size": "2048", "hw:numa_nodes": "2"}, memory_mb=1024,
            fixture=FOUR_CELL_HOST)
        self.assertEqual(sorted(c.id for c in fitted.cells), [0, 1])
        self.assertEqual(pins["hugepages"], {0: 2048, 1: 2048})

    def test_locked_memory(self):
        _fitted, _host, xml, _pins = self.build(
            {"hw:mem_page_size": "small", "hw:locked_memory": "true"})
        self.assertIsNotNone(ET.fromstring(xml).find("memoryBacking/locked"))


class RealtimeTest(PlacementCase):
    def test_realtime_vcpus_fifo_with_isolated_emulator(self):
        fitted, _host, xml, pins = self.build({
            "hw:cpu_policy": "dedicated", "hw:cpu_realtime": "yes",
            "hw:cpu_realtime_mask": "^0", "hw:emulator_threads_policy": "isolate"})
        self.assertEqual(pins["vcpusched"], {1, 2, 3})
        self.assertEqual(pins["emulatorpin"], fitted.cells[0].cpuset_reserved)
        sched = ET.fromstring(xml).find("cputune/vcpusched")
        self.assertEqual((sched.get("scheduler"), sched.get("priority")), ("fifo", "1"))
        backing = ET.fromstring(xml).find("memoryBacking")
        self.assertIsNotNone(backing.find("nosharepages"))
        self.assertIsNotNone(backing.find("locked"))

    def test_realtime_without_emulator_policy_keeps_emulator_off_rt_vcpus(self):
        fitted, _host, _xml, pins = self.build({
            "hw:cpu_policy": "dedicated", "hw:cpu_realtime": "yes",
            "hw:cpu_realtime_mask": "^0-1"})
        self.assertEqual(pins["vcpusched"], {2, 3})
        self.assertEqual(pins["emulatorpin"], {fitted.cpu_pinning[0], fitted.cpu_pinning[1]})

    def test_realtime_share_without_shared_set_is_refused(self):
        self.assertRaises(exception.RealtimeMaskNotFoundOrInvalid, self.build, {
            "hw:cpu_policy": "dedicated", "hw:cpu_realtime": "yes",
            "hw:cpu_realtime_mask": "^0", "hw:emulator_threads_policy": "share"})


class CPUTopologyTest(PlacementCase):
    def topology(self, xml: str) -> tuple[str, str, str]:
        t = ET.fromstring(xml).find("cpu/topology")
        return t.get("sockets"), t.get("cores"), t.get("threads")

    def test_preferred_sockets_and_threads(self):
        _f, _h, xml, _p = self.build({"hw:cpu_policy": "dedicated", "hw:cpu_sockets": "2",
                                      "hw:cpu_threads": "2"})
        self.assertEqual(self.topology(xml), ("2", "1", "2"))

    def test_image_preference_and_limits(self):
        _f, _h, xml, _p = self.build({"hw:cpu_max_sockets": "1"}, vcpus=4,
                                     image={"hw_cpu_threads": "2"})
        self.assertEqual(self.topology(xml), ("1", "2", "2"))

    def test_no_preference_non_numa_guest(self):
        fitted, _h, xml, pins = self.build({}, vcpus=4)
        self.assertIsNone(fitted)
        self.assertEqual(self.topology(xml), ("4", "1", "1"))
        root = ET.fromstring(xml)
        self.assertIsNone(root.find("cputune"))
        self.assertIsNone(root.find("numatune"))
        self.assertIsNone(root.find("vcpu").get("cpuset"))

    def test_non_numa_guest_on_shared_cpus(self):
        _f, _h, xml, _p = self.build({}, vcpus=2, shared="0,1,8,9", dedicated="2-7,10-15")
        self.assertEqual(ET.fromstring(xml).find("vcpu").get("cpuset"), "0-1,8-9")


class SchemaCheckTest(unittest.SynchronousTestCase):
    def test_the_schema_check_can_fail(self):
        errors = schema_errors("<domain type='kvm'><name>x</name><vcpu>two</vcpu></domain>")
        self.assertNotEqual(errors, [])


def _request(**changes: Any) -> designer.GuestRequest:
    values: dict[str, Any] = dict(
        name="guest", uuid="6695eb01-f6a4-8304-79aa-97f2502e1930", memory_mb=512, vcpus=1,
        disks=[designer.DiskConfig(path="/i/disk")], console_log="/i/console.log")
    values.update(changes)
    return designer.GuestRequest(**values)


class FeaturesTest(unittest.SynchronousTestCase):
    """spec/E §5.8–§5.11: each feature's XML, schema-valid and defined on test:///default."""

    def render(self, **changes: Any) -> ET.Element:
        xml = designer.domain_xml(_request(**changes))
        self.assertEqual(schema_errors(xml), [], xml)
        conn = libvirt.open("test:///default")
        try:
            dom = conn.defineXML(xml)
            dom.undefine()
        finally:
            conn.close()
        return ET.fromstring(xml)

    def test_cpu_period_and_quota(self):
        tune = self.render(extra_specs={"quota:cpu_period": "1000",
                                        "quota:cpu_quota": "-1"}).find("cputune")
        self.assertEqual([(e.tag, e.text) for e in tune], [("period", "1000"), ("quota", "-1")])

    def test_quota_below_1000_is_refused_as_libvirt_would(self):
        # spec/E §5.9's "period 1000 / quota 500" example: libvirt refuses a quota in
        # 1..999 at define time, so the guest would fail to spawn; refuse it up front.
        e = self.assertRaises(exception.Invalid, designer.domain_xml, _request(
            extra_specs={"quota:cpu_period": "1000", "quota:cpu_quota": "500"}))
        self.assertIn("quota:cpu_quota", str(e))
        xml = designer.domain_xml(_request(extra_specs={"quota:cpu_period": "1000"}))
        xml = xml.replace("<period>1000</period>", "<period>1000</period><quota>500</quota>")
        conn = libvirt.open("test:///default")
        self.addCleanup(conn.close)
        self.assertRaises(libvirt.libvirtError, conn.defineXML, xml)

    def test_cpu_period_quota_and_shares(self):
        root = self.render(extra_specs={"quota:cpu_period": "2000", "quota:cpu_quota": "1000",
                                        "quota:cpu_shares": "2048"})
        tune = root.find("cputune")
        self.assertEqual([(e.tag, e.text) for e in tune],
                         [("shares", "2048"), ("period", "2000"), ("quota", "1000")])

    def test_bad_quotas(self):
        for specs in ({"quota:cpu_period": "10"}, {"quota:cpu_quota": "500"},
                      {"quota:cpu_shares": "-1"}, {"quota:disk_read_bytes_sec": "x"}):
            self.assertRaises(exception.Invalid, designer.domain_xml, _request(extra_specs=specs))

    def test_disk_and_vif_quotas(self):
        root = self.render(
            extra_specs={"quota:disk_write_bytes_sec": "10485760",
                         "quota:vif_inbound_average": "32768",
                         "quota:vif_inbound_peak": "65536",
                         "quota:vif_inbound_burst": "65536",
                         "quota:vif_outbound_average": "1024"},
            network_info=[{"id": "port-1", "address": "fa:16:3e:11:22:33", "type": "bridge",
                           "devname": "tapport-1", "network": {"bridge": "br-int"}}])
        self.assertEqual(root.find("devices/disk/iotune/write_bytes_sec").text, "10485760")
        inbound = root.find("devices/interface/bandwidth/inbound")
        self.assertEqual(inbound.attrib, {"average": "32768", "peak": "65536", "burst": "65536"})
        self.assertEqual(root.find("devices/interface/bandwidth/outbound").attrib,
                         {"average": "1024"})

    def test_interfaces(self):
        root = self.render(network_info=[
            {"id": "p1", "address": "fa:16:3e:00:00:01", "type": "bridge",
             "devname": "tapp1", "network": {"bridge": "br100", "mtu": 1450}},
            {"id": "0b7a4e4e-5d2c-4d8e-9a41-2f4f3c1d6e02", "address": "fa:16:3e:00:00:02",
             "type": "ovs",
             "devname": "tapp2", "network": {"bridge": "br-int"}},
            {"id": "p3", "address": "fa:16:3e:00:00:03", "type": "tap", "devname": "tapp3"}])
        vifs = root.findall("devices/interface")
        self.assertEqual([v.get("type") for v in vifs], ["bridge", "bridge", "ethernet"])
        self.assertEqual(vifs[0].find("source").get("bridge"), "br100")
        self.assertEqual(vifs[0].find("mtu").get("size"), "1450")
        self.assertEqual(vifs[1].find("virtualport").get("type"), "openvswitch")
        self.assertEqual(vifs[2].find("target").get("dev"), "tapp3")
        self.assertEqual({v.find("mac").get("address")[-2:] for v in vifs}, {"01", "02", "03"})
        self.assertRaises(exception.Invalid, designer.domain_xml, _request(
            network_info=[{"id": "p", "address": "fa:16:3e:00:00:04", "type": "vdpa"}]))

    def test_serial_console_log(self):
        root = self.render()
        serial = root.find("devices/serial[@type='file']")
        self.assertEqual(serial.find("source").get("path"), "/i/console.log")

    def test_graphics(self):
        root = self.render(vnc_listen="0.0.0.0", spice_listen="127.0.0.1")
        self.assertEqual([(g.get("type"), g.get("listen")) for g in
                          root.findall("devices/graphics")],
                         [("vnc", "0.0.0.0"), ("spice", "127.0.0.1")])
        self.assertIsNone(self.render().find("devices/graphics"))

    def test_rng(self):
        rng = self.render(extra_specs={"hw_rng:rate_bytes": "1024",
                                       "hw_rng:rate_period": "2000"},
                          rng_dev_path="/dev/hwrng").find("devices/rng")
        self.assertEqual(rng.find("rate").attrib, {"bytes": "1024", "period": "2000"})
        self.assertEqual(rng.find("backend").text, "/dev/hwrng")
        self.assertIsNone(self.render(extra_specs={"hw_rng:allowed": "false"}).find(
            "devices/rng"))
        self.assertRaises(exception.Invalid, designer.domain_xml,
                          _request(image_props={"hw_rng_model": "egd"}))

    def test_watchdog(self):
        self.assertIsNone(self.render().find("devices/watchdog"))
        wd = self.render(extra_specs={"hw:watchdog_action": "pause"},
                         image_props={"hw_watchdog_action": "reset"}).find("devices/watchdog")
        self.assertEqual((wd.get("model"), wd.get("action")), ("i6300esb", "reset"))
        self.assertIsNone(self.render(image_props={"hw_watchdog_action": "disabled"}).find(
            "devices/watchdog"))
        self.assertRaises(exception.Invalid, designer.domain_xml,
                          _request(extra_specs={"hw:watchdog_action": "explode"}))

    def test_guest_agent_channel(self):
        channel = self.render(image_props={"hw_qemu_guest_agent": "yes"}).find(
            "devices/channel")
        self.assertEqual(channel.get("type"), "unix")
        self.assertEqual(channel.find("target").attrib,
                         {"type": "virtio", "name": "org.qemu.guest_agent.0"})
        self.assertIsNone(self.render(image_props={"hw_qemu_guest_agent": "no"}).find(
            "devices/channel"))
        self.assertIsNone(self.render().find("devices/channel"))

    def test_pmu_and_hidden_hypervisor(self):
        root = self.render(extra_specs={"hw:pmu": "false", "hw:hide_hypervisor_id": "true"})
        self.assertEqual(root.find("features/pmu").get("state"), "off")
        self.assertEqual(root.find("features/kvm/hidden").get("state"), "on")
        root = self.render()
        self.assertIsNone(root.find("features/pmu"))
        self.assertIsNone(root.find("features/kvm"))

    def test_uefi_and_secure_boot(self):
        root = self.render(image_props={"hw_firmware_type": "uefi"})
        self.assertEqual(root.find("os").get("firmware"), "efi")
        self.assertIsNone(self.render().find("os").get("firmware"))
        root = self.render(image_props={"hw_firmware_type": "uefi",
                                        "os_secure_boot": "required"},
                           machine_type="q35", arch="x86_64")
        self.assertEqual(root.find("os/firmware/feature").attrib,
                         {"enabled": "yes", "name": "secure-boot"})
        self.assertEqual(root.find("features/smm").get("state"), "on")
        self.assertEqual(root.find("os/type").get("machine"), "q35")

    def test_cpu_modes(self):
        cpu = self.render(cpu_mode="custom", cpu_model="Haswell",
                          cpu_model_extra_flags=["+PCID", "-hle", "md-clear"]).find("cpu")
        self.assertEqual((cpu.get("mode"), cpu.get("match")), ("custom", "exact"))
        self.assertEqual(cpu.find("model").text, "Haswell")
        self.assertEqual([(f.get("policy"), f.get("name")) for f in cpu.findall("feature")],
                         [("require", "pcid"), ("disable", "hle"), ("require", "md-clear")])
        self.assertEqual(self.render(cpu_mode="host-passthrough").find("cpu").get("mode"),
                         "host-passthrough")
        self.assertIsNone(self.render(cpu_mode="none").find("cpu").get("mode"))
        self.assertRaises(exception.Invalid, designer.domain_xml, _request(cpu_mode="custom"))

    def test_viommu(self):
        root = self.render(extra_specs={"hw:viommu_model": "auto"},
                           image_props={"hw_viommu_model": "intel"},
                           arch="x86_64", machine_type="q35", libvirt_version=9000000)
        iommu = root.find("devices/iommu")
        self.assertEqual(iommu.get("model"), "virtio")
        self.assertIsNone(iommu.find("driver"))
        self.assertEqual(root.find("features/ioapic").get("driver"), "qemu")
        root = self.render(image_props={"hw_viommu_model": "auto"}, arch="x86_64",
                           machine_type="pc-q35-7.2", libvirt_version=8000000)
        iommu = root.find("devices/iommu")
        self.assertEqual(iommu.get("model"), "intel")
        self.assertEqual(iommu.find("driver").attrib, {
            "intremap": "on", "caching_mode": "on", "iotlb": "on", "aw_bits": "48",
            "eim": "on"})
        root = self.render(image_props={"hw_viommu_model": "auto"}, arch="aarch64",
                           machine_type="virt", libvirt_version=8000000)
        self.assertEqual(root.find("devices/iommu").get("model"), "smmuv3")
        self.assertIsNone(self.render(arch="x86_64").find("devices/iommu"))

    def test_viommu_refused(self):
        for changes, error in [
            (dict(arch="x86_64", machine_type="pc"), designer.InvalidVIOMMUMachineType),
            (dict(arch="x86_64"), designer.InvalidVIOMMUMachineType),
            (dict(arch="aarch64", machine_type="q35"), designer.InvalidVIOMMUMachineType),
            (dict(arch="ppc64le", machine_type="pseries"), designer.InvalidVIOMMUArchitecture),
        ]:
            self.assertRaises(error, designer.domain_xml,
                              _request(extra_specs={"hw:viommu_model": "intel"}, **changes))
        self.assertRaises(exception.Invalid, designer.domain_xml, _request(
            extra_specs={"hw:viommu_model": "amd"}, arch="x86_64", machine_type="q35"))

    def test_file_backed_memory(self):
        backing = self.render(file_backed_memory=True).find("memoryBacking")
        self.assertEqual([(e.tag, e.attrib) for e in backing], [
            ("source", {"type": "file"}), ("access", {"mode": "shared"}),
            ("allocation", {"mode": "immediate"}), ("discard", {})])
        numa = obj.InstanceNUMATopology(cells=[obj.InstanceNUMACell(
            id=0, cpuset={0}, memory=512, pagesize=4)])
        self.assertRaises(designer.MemoryPagesUnsupported, designer.domain_xml,
                          _request(file_backed_memory=True, numa=numa))

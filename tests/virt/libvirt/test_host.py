"""The libvirt host: capabilities of custom ``test:///<file>`` hosts parsed into the NUMA
topology a compute reports (spec/E §3.1, §3.2), PCI node devices, and the options that
stop the service."""
from __future__ import annotations

import os

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.virt.libvirt import capabilities as caps_mod
from nova_tx.virt.libvirt.host import Host, HypervisorUnavailable, default_uri
from tests.virt.libvirt.helpers import FIXTURES, fixture_uri, make_conf


class HostCase(unittest.TestCase):
    async def start(self, fixture: str) -> Host:
        host = Host(fixture_uri(fixture))
        await host.start()
        self.addCleanup(host.stop)
        return host


class CapabilitiesTest(HostCase):
    async def test_two_cell_smt_host(self):
        host = await self.start("host-2cell-smt.xml")
        caps = host.capabilities
        self.assertEqual([c.id for c in caps.cells], [0, 1])
        self.assertEqual(caps.online_cpus, set(range(16)))
        self.assertTrue(caps.has_smt)
        cell0 = caps.cells[0]
        self.assertEqual(cell0.cpus, {0, 1, 2, 3, 8, 9, 10, 11})
        self.assertEqual(cell0.siblings, [{0, 8}, {1, 9}, {2, 10}, {3, 11}])
        self.assertEqual(cell0.memory_kb, 8 * 1024 * 1024)
        self.assertEqual(cell0.mempages, [(4, 1048576), (2048, 1024), (1048576, 2)])
        self.assertEqual({cell0.sockets[c] for c in cell0.cpus}, {0})
        self.assertEqual({caps.cells[1].sockets[c] for c in caps.cells[1].cpus}, {1})

    async def test_legacy_layout_every_cpu_shared_and_dedicated(self):
        host = await self.start("host-2cell-smt.xml")
        topo = host.numa_topology(make_conf())
        self.assertEqual(len(topo.cells), 2)
        cell0, cell1 = topo.cells
        self.assertEqual(cell0.cpuset, {0, 1, 2, 3, 8, 9, 10, 11})
        self.assertEqual(cell0.pcpuset, cell0.cpuset)
        self.assertEqual(cell1.cpuset, {4, 5, 6, 7, 12, 13, 14, 15})
        self.assertEqual(cell0.memory, 8192)
        self.assertEqual(cell0.socket, 0)
        self.assertEqual(cell1.socket, 1)
        self.assertEqual([(p.size_kb, p.total, p.reserved) for p in cell1.mempages],
                         [(4, 1048576, 0), (2048, 1024, 0), (1048576, 2, 0)])
        self.assertTrue(topo.has_threads)

    async def test_dedicated_and_shared_split(self):
        # spec/E §3.2's example host and options.
        host = await self.start("host-2cell-smt.xml")
        topo = host.numa_topology(make_conf(compute__cpu_dedicated_set="2-7,10-15",
                                            compute__cpu_shared_set="0,1,8,9"))
        cell0, cell1 = topo.cells
        self.assertEqual(cell0.cpuset, {0, 1, 8, 9})
        self.assertEqual(cell0.pcpuset, {2, 3, 10, 11})
        self.assertEqual(cell0.siblings, [{0, 8}, {1, 9}, {2, 10}, {3, 11}])
        self.assertEqual(cell1.cpuset, set())
        self.assertEqual(cell1.pcpuset, {4, 5, 6, 7, 12, 13, 14, 15})

    async def test_reserved_huge_pages(self):
        host = await self.start("host-2cell-smt.xml")
        conf = make_conf(DEFAULT__reserved_huge_pages=[
            {"node": "0", "size": "2048", "count": "64"},
            {"node": "1", "size": "1GB", "count": "1"}])
        cell0, cell1 = host.numa_topology(conf).cells
        self.assertEqual({p.size_kb: p.reserved for p in cell0.mempages},
                         {4: 0, 2048: 64, 1048576: 0})
        self.assertEqual({p.size_kb: p.reserved for p in cell1.mempages},
                         {4: 0, 2048: 0, 1048576: 1})

    async def test_vcpu_pin_set(self):
        host = await self.start("host-2cell-smt.xml")
        cell0, cell1 = host.numa_topology(make_conf(DEFAULT__vcpu_pin_set="0-3")).cells
        self.assertEqual(cell0.cpuset, {0, 1, 2, 3})
        self.assertEqual(cell0.pcpuset, {0, 1, 2, 3})
        self.assertEqual(cell0.siblings, [{0}, {1}, {2}, {3}])
        self.assertEqual(cell1.cpuset, set())

    async def test_four_cells_offline_cpu_and_pages_on_some_cells(self):
        host = await self.start("host-4cell.xml")
        caps = host.capabilities
        self.assertFalse(caps.has_smt)
        self.assertNotIn(15, caps.online_cpus)
        topo = host.numa_topology(make_conf())
        self.assertEqual([len(c.cpuset) for c in topo.cells], [4, 4, 4, 3])
        self.assertEqual([[p.size_kb for p in c.mempages] for c in topo.cells],
                         [[4, 2048], [4, 2048], [4], [4]])
        self.assertEqual([c.socket for c in topo.cells], [0, 0, 1, 1])
        self.assertFalse(topo.has_threads)

    async def test_options_that_stop_the_service(self):
        host = await self.start("host-2cell-smt.xml")
        for overrides, words in [
            (dict(compute__cpu_dedicated_set="0-3", compute__cpu_shared_set="3-5"),
             "must be disjoint"),
            (dict(DEFAULT__reserved_host_cpus=1, compute__cpu_shared_set="0-3"),
             "reserved_host_cpus"),
            (dict(DEFAULT__vcpu_pin_set="0-3", compute__cpu_dedicated_set="4-7"),
             "mutually exclusive"),
        ]:
            e = self.assertRaises(exception.ConfigError, host.numa_topology,
                                  make_conf(**overrides))
            self.assertIn(words, str(e))
        e = self.assertRaises(exception.Invalid, host.numa_topology,
                              make_conf(compute__cpu_dedicated_set="12-20"))
        self.assertIn("not online", str(e))
        self.assertRaises(exception.InvalidReservedMemoryPagesOption, host.numa_topology,
                          make_conf(DEFAULT__reserved_huge_pages=[{"node": "0"}]))

    async def test_default_host_has_libvirts_two_cells(self):
        host = Host("test:///default")
        await host.start()
        self.addCleanup(host.stop)
        topo = host.numa_topology(make_conf())
        self.assertEqual([sorted(c.cpuset) for c in topo.cells],
                         [list(range(8)), list(range(8, 16))])

    async def test_invalid_topology_file_names_the_file_and_the_problem(self):
        host = Host(fixture_uri("host-invalid.xml"))
        e = await self.assertFailure(defer.ensureDeferred(host.start()), exception.ConfigError)
        self.assertIn(os.path.join(FIXTURES, "host-invalid.xml"), str(e))
        self.assertIn("CPU 3 is listed twice", str(e))
        self.assertEqual(len(str(e).splitlines()), 1)
        self.assertFalse(host.connected)

    async def test_missing_host_file_is_hypervisor_unavailable(self):
        host = Host("test:///nonexistent/host.xml")
        await self.assertFailure(defer.ensureDeferred(host.start()), HypervisorUnavailable)


class ReconnectTest(HostCase):
    async def test_a_broken_connection_fails_one_call_and_the_next_reconnects(self):
        import libvirt

        host = await self.start("host-2cell-smt.xml")
        # What a libvirtd restart looks like from here: the connection is gone.
        await host.call(lambda conn: conn.close())
        e = await self.assertFailure(host.call(lambda conn: conn.listAllDomains(0)),
                                     HypervisorUnavailable)
        self.assertIn("invalid connection", str(e))
        self.assertTrue(host.connected)
        self.assertEqual(await host.call(lambda conn: conn.getInfo()[2]), 16)
        # Events are subscribed again on the new connection.
        self.assertIsNotNone(host._callback_id)
        # Other libvirt errors are the caller's.
        await self.assertFailure(host.call(lambda conn: conn.lookupByName("nothing")),
                                 libvirt.libvirtError)

    async def test_no_call_after_stop(self):
        host = await self.start("host-2cell-smt.xml")
        await host.stop()
        self.assertFalse(host.connected)
        await self.assertFailure(host.call(lambda conn: conn.getInfo()),
                                 HypervisorUnavailable)


class PCIDevicesTest(HostCase):
    async def test_pf_vf_and_device_without_numa(self):
        host = await self.start("host-2cell-smt.xml")
        devices = await host.pci_devices()
        self.assertEqual([d["address"] for d in devices],
                         ["0000:00:02.0", "0000:81:00.0", "0000:81:10.0"])
        gpu, pf, vf = devices
        self.assertEqual((gpu["dev_type"], gpu["numa_node"], gpu["vendor_id"],
                          gpu["product_id"]), ("type-PCI", None, "8086", "0412"))
        self.assertEqual((pf["dev_type"], pf["numa_node"]), ("type-PF", 1))
        self.assertEqual((vf["dev_type"], vf["parent_addr"], vf["label"]),
                         ("type-VF", "0000:81:00.0", "label_8086_10ed"))


class PureParsingTest(unittest.SynchronousTestCase):
    def test_uri_of_a_file_host(self):
        self.assertEqual(caps_mod.test_file_of_uri("test:///tmp/h.xml"), "/tmp/h.xml")
        self.assertIsNone(caps_mod.test_file_of_uri("test:///default"))
        self.assertIsNone(caps_mod.test_file_of_uri("qemu:///system"))

    def test_default_uris(self):
        self.assertEqual(default_uri("kvm"), "qemu:///system")
        self.assertEqual(default_uri("qemu"), "qemu:///system")

    def test_file_without_topology_leaves_the_capabilities(self):
        caps = "<capabilities><host><topology><cells num='0'/></topology></host></capabilities>"
        self.assertEqual(caps_mod.merge_test_topology(caps, "<node/>", "f.xml"), caps)

    def test_bad_topologies(self):
        caps = "<capabilities><host/></capabilities>"
        for node, words in [
            ("<node><topology/></node>", "no <cells><cell>"),
            ("<node><topology><cells><cell id='x'><memory>1</memory></cell></cells>"
             "</topology></node>", "the id must be an integer"),
            ("<node><topology><cells><cell id='0'/></cells></topology></node>",
             "<memory> is missing"),
            ("<node><topology><cells><cell id='0'><memory>1</memory><cpus>"
             "<cpu id='0' siblings='0-x'/></cpus></cell></cells></topology></node>", "CPU 0"),
            ("<node", "not XML"),
        ]:
            e = self.assertRaises(exception.ConfigError, caps_mod.merge_test_topology,
                                  caps, node, "/etc/h.xml")
            self.assertIn("/etc/h.xml: ", str(e))
            self.assertIn(words, str(e))

    def test_capabilities_cpu_info_and_guests(self):
        text = """<capabilities><host><cpu><arch>x86_64</arch><model>Skylake</model>
          <vendor>Intel</vendor><topology sockets='2' cores='8' threads='2'/>
          <feature name='vmx'/><feature name='avx2'/></cpu></host>
          <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/>
          <domain type='kvm'/></arch></guest></capabilities>"""
        caps = caps_mod.parse_capabilities(text)
        self.assertEqual(caps.cpu_info(), {
            "arch": "x86_64", "model": "Skylake", "vendor": "Intel",
            "topology": {"sockets": 2, "cores": 8, "threads": 2},
            "features": ["avx2", "vmx"]})
        self.assertEqual(caps.guests, [["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]])
        self.assertEqual(caps.cells, [])
        self.assertRaises(exception.Invalid, caps_mod.parse_capabilities, "<x")


class DelayedStopTest(unittest.SynchronousTestCase):
    """Nova's delayed "stopped": a reboot's stop-then-start is one "started"."""

    def setUp(self):
        from twisted.internet.task import Clock

        self.clock = Clock()
        self.host = Host("test:///default", reactor=self.clock)
        self.host._running = True  # as after start(), without a connection
        self.events = []
        self.host.register_event_listener(self.events.append)

    def transitions(self):
        return [(e.instance_uuid, e.transition, e.timestamp) for e in self.events]

    def test_stopped_waits_and_then_arrives(self):
        self.host._deliver("u1", "stopped")
        self.clock.advance(14)
        self.assertEqual(self.events, [])
        self.clock.advance(1)
        self.assertEqual(self.transitions(), [("u1", "stopped", 0)])

    def test_a_start_within_the_delay_cancels_the_stop(self):
        self.host._deliver("u1", "stopped")
        self.clock.advance(3)
        self.host._deliver("u1", "started")
        self.clock.advance(30)
        self.assertEqual(self.transitions(), [("u1", "started", 3)])

    def test_other_guests_and_other_events_are_immediate(self):
        self.host._deliver("u1", "stopped")
        self.host._deliver("u2", "paused")
        self.assertEqual(self.transitions(), [("u2", "paused", 0)])
        self.clock.advance(15)
        self.assertEqual([t[:2] for t in self.transitions()],
                         [("u2", "paused"), ("u1", "stopped")])

    def test_no_event_after_stop(self):
        self.host._running = False
        self.host._deliver("u1", "stopped")
        self.host._deliver("u2", "started")
        self.clock.advance(15)
        self.assertEqual(self.events, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_a_failing_listener_does_not_stop_the_others(self):
        def broken(event):
            raise RuntimeError("listener bug")
        self.host._listeners.insert(0, broken)
        with self.assertLogs("nova_tx.virt.libvirt.host", "ERROR"):
            self.host._deliver("u1", "started")
        self.assertEqual(len(self.events), 1)

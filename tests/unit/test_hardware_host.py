"""The host side: CPU options, host NUMA topology, reserved huge pages, ratios (spec/E §3)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.virt import hardware
from nova_tx.virt.host_topology import HostCellInfo


def caps():
    """spec/E §3.2 test: cell0 = {0-3,8-11}, cell1 = {4-7,12-15}, siblings (n, n+8)."""
    def cell(i, cpus):
        return HostCellInfo(id=i, cpus=set(cpus), memory_kb=16 * 1024 * 1024,
                            siblings=[{c, c + 8} for c in cpus if c < 8],
                            sockets={c: i for c in cpus},
                            mempages=[(4, 3670016), (2048, 1024), (1048576, 0)])
    return [cell(0, [0, 1, 2, 3, 8, 9, 10, 11]), cell(1, [4, 5, 6, 7, 12, 13, 14, 15])]


ONLINE = set(range(16))


class HostTopologyTests(SynchronousTestCase):
    def test_split_layout(self):
        """spec/E §3.2 test: cpu_dedicated_set=2-7,10-15, cpu_shared_set=0,1,8,9."""
        host = hardware.build_host_numa_topology(caps(), ONLINE, cpu_shared_set="0,1,8,9",
                                                 cpu_dedicated_set="2-7,10-15")
        cell0, cell1 = host.cells
        self.assertEqual((cell0.cpuset, cell0.pcpuset), ({0, 1, 8, 9}, {2, 3, 10, 11}))
        self.assertEqual(cell0.siblings, [{0, 8}, {1, 9}, {2, 10}, {3, 11}])
        self.assertEqual((cell1.cpuset, cell1.pcpuset), (set(), {4, 5, 6, 7, 12, 13, 14, 15}))
        self.assertEqual(sum(len(c.cpuset) for c in host.cells), 4)
        self.assertEqual(sum(len(c.pcpuset) for c in host.cells), 12)
        self.assertTrue(host.has_threads)
        self.assertEqual((cell0.memory, cell0.socket, cell1.socket), (16384, 0, 1))

    def test_four_layouts(self):
        """spec/E §3.2: nothing, only shared, only dedicated, both."""
        def sets(**options):
            return hardware.host_cpu_sets(ONLINE, **options)
        self.assertEqual(sets(), (ONLINE, ONLINE))
        self.assertEqual(sets(cpu_shared_set="0-3"), ({0, 1, 2, 3}, set()))
        self.assertEqual(sets(cpu_dedicated_set="0-3"), (set(), {0, 1, 2, 3}))
        self.assertEqual(sets(cpu_shared_set="0-3", cpu_dedicated_set="4-7"),
                         ({0, 1, 2, 3}, {4, 5, 6, 7}))
        self.assertEqual(sets(vcpu_pin_set="2-5"), ({2, 3, 4, 5}, {2, 3, 4, 5}))
        self.assertEqual(sets(vcpu_pin_set="2-5", cpu_shared_set="0-1"),
                         ({2, 3, 4, 5}, {2, 3, 4, 5}))

    def test_legacy_layout_cells(self):
        host = hardware.build_host_numa_topology(caps(), ONLINE)
        self.assertEqual(host.cells[0].cpuset, host.cells[0].pcpuset)

    def test_start_up_refusals(self):
        """spec/E §3.1 tests: overlapping sets, reserved_host_cpus, vcpu_pin_set, offline."""
        cases = [
            (dict(cpu_dedicated_set="0-3", cpu_shared_set="3-5"), exception.ConfigError,
             "must be disjoint"),
            (dict(reserved_host_cpus=1, cpu_shared_set="0-3"), exception.ConfigError,
             "reserved_host_cpus"),
            (dict(vcpu_pin_set="0-3", cpu_dedicated_set="4-7"), exception.ConfigError,
             "vcpu_pin_set"),
            (dict(cpu_dedicated_set="14-17"), exception.Invalid, "cpu_dedicated_set"),
            (dict(cpu_shared_set="20"), exception.Invalid, "cpu_shared_set"),
        ]
        for options, error, text in cases:
            e = self.assertRaises(error, hardware.host_cpu_sets, ONLINE, **options)
            self.assertIn(text, e.format_message())

    def test_reserved_huge_pages(self):
        """spec/E §3.1 test: node:0,size:2048,count:64 → cell0 2 MiB pages reserved 64."""
        host = hardware.build_host_numa_topology(
            caps(), ONLINE, reserved_huge_pages=["node:0,size:2048,count:64",
                                                 {"node": "1", "size": "1GB", "count": "1"}])
        self.assertEqual([(p.size_kb, p.reserved) for p in host.cells[0].mempages],
                         [(4, 0), (2048, 64), (1048576, 0)])
        self.assertEqual(host.cells[1].mempages[2].reserved, 1)

    def test_reserved_huge_pages_parse(self):
        self.assertEqual(hardware.parse_reserved_huge_pages(
            ["node:0,size:2048,count:64", "node:1,size:1GB,count:1", "node:1,size:2MB,count:2"]),
            {0: {2048: 64}, 1: {1048576: 1, 2048: 2}})
        for bad in (["node:0,size:2048"], ["node:x,size:2048,count:1"], ["garbage"],
                    ["node:0,size:2M,count:1"]):
            e = self.assertRaises(exception.InvalidReservedMemoryPagesOption,
                                  hardware.parse_reserved_huge_pages, bad)
            self.assertIn("reserved_huge_pages", e.format_message())

    def test_offline_cpus_and_sockets(self):
        cells = caps()
        cells[1].sockets[15] = 7
        host = hardware.build_host_numa_topology(cells, ONLINE - {3})
        self.assertNotIn(3, host.cells[0].cpuset)
        self.assertEqual(host.cells[0].siblings, [{0, 8}, {1, 9}, {2, 10}, {11}])
        self.assertIsNone(host.cells[1].socket)

    def test_network_affinity(self):
        host = hardware.build_host_numa_topology(
            caps(), ONLINE, physnet_numa_nodes={"foo": [1], "bar": [0, 1]},
            tunnel_numa_nodes=[0])
        self.assertEqual(host.cells[0].network_metadata.physnets, {"bar"})
        self.assertEqual(host.cells[1].network_metadata.physnets, {"foo", "bar"})
        self.assertEqual([c.network_metadata.tunneled for c in host.cells], [True, False])


class AllocationRatioTests(SynchronousTestCase):
    """spec/E §3.1: configured (non-0) > existing inventory > initial_*."""

    def test_ratio(self):
        self.assertEqual(hardware.allocation_ratio(8.0, 4.0, 16.0), 8.0)
        self.assertEqual(hardware.allocation_ratio(None, 4.0, 16.0), 4.0)
        self.assertEqual(hardware.allocation_ratio(0.0, 4.0, 16.0), 4.0)
        self.assertEqual(hardware.allocation_ratio(None, None, 16.0), 16.0)
        self.assertEqual(hardware.allocation_ratio(0.0, None, 1.5), 1.5)


class OptionTests(SynchronousTestCase):
    """The options the reference takes as arguments, with Nova's names and defaults."""

    def conf(self):
        from oslo_config import cfg

        from nova_tx.conf import compute
        conf = cfg.ConfigOpts()
        compute.register_opts(conf)
        conf([])
        return conf

    def test_defaults(self):
        conf = self.conf()
        self.assertIs(conf.compute.packing_host_numa_cells_allocation_strategy, False)
        self.assertIsNone(conf.compute.cpu_shared_set)
        self.assertIsNone(conf.compute.cpu_dedicated_set)
        self.assertEqual((conf.initial_cpu_allocation_ratio, conf.initial_ram_allocation_ratio,
                          conf.initial_disk_allocation_ratio), (16.0, 1.5, 1.0))
        self.assertIsNone(conf.cpu_allocation_ratio)
        self.assertEqual((conf.reserved_host_cpus, conf.reserved_host_memory_mb), (0, 512))

    def test_reserved_huge_pages_from_the_option(self):
        conf = self.conf()
        conf.set_override("reserved_huge_pages",
                          ["node:0,size:2048,count:64", "node:1,size:1GB,count:1"])
        self.assertEqual(hardware.parse_reserved_huge_pages(conf.reserved_huge_pages),
                         {0: {2048: 64}, 1: {1048576: 1}})

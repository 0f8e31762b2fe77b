"""The NUMA domain objects: derived values, pin/unpin rules and their JSON form."""
import json

from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import (
    Flavor,
    ImageMeta,
    InstanceNUMACell,
    InstanceNUMATopology,
    InstancePCIRequest,
    NetworkMetadata,
    NUMACell,
    NUMAFitRequest,
    NUMAPagesTopology,
    NUMATopology,
    NUMATopologyLimits,
    PciDevicePool,
)


def smt_cell(**kwargs):
    defaults = dict(id=0, cpuset=set(), pcpuset=set(range(8)), memory=4096,
                    siblings=[{6, 7}, {0, 1}, {4, 5}, {2, 3}],
                    mempages=[NUMAPagesTopology(4, 1048576), NUMAPagesTopology(2048, 1024)])
    defaults.update(kwargs)
    return NUMACell(**defaults)


class NUMACellTests(SynchronousTestCase):
    def test_siblings_are_ordered_by_lowest_cpu(self):
        """spec/E §2.8 determinism: sibling sets sorted by their minimum CPU."""
        self.assertEqual(smt_cell().siblings, [{0, 1}, {2, 3}, {4, 5}, {6, 7}])

    def test_derived_values(self):
        cell = smt_cell(pinned_cpus={0, 3}, memory_usage=1024)
        self.assertEqual(cell.free_pcpus, {1, 2, 4, 5, 6, 7})
        self.assertEqual(cell.free_siblings, [{1}, {2}, {4, 5}, {6, 7}])
        self.assertEqual(cell.avail_pcpus, 6)
        self.assertEqual(cell.avail_memory, 3072)
        self.assertTrue(cell.has_threads)
        self.assertFalse(NUMACell(id=0, siblings=[{0}, {1}]).has_threads)

    def test_free_siblings_keep_empty_sets(self):
        cell = smt_cell(pinned_cpus={0, 1})
        self.assertEqual(cell.free_siblings, [set(), {2, 3}, {4, 5}, {6, 7}])

    def test_can_fit_pagesize(self):
        """spec/E §2.1: whole pages only; free or total pages."""
        cell = smt_cell(mempages=[NUMAPagesTopology(2048, 4, used=1, reserved=1)])
        self.assertTrue(cell.can_fit_pagesize(2048, 4096, use_free=True))
        self.assertFalse(cell.can_fit_pagesize(2048, 6144, use_free=True))
        self.assertTrue(cell.can_fit_pagesize(2048, 8192, use_free=False))
        self.assertFalse(cell.can_fit_pagesize(2048, 3072, use_free=False))
        self.assertRaises(exception.MemoryPageSizeNotSupported, cell.can_fit_pagesize,
                          1048576, 1048576)

    def test_pin_and_unpin(self):
        cell = smt_cell()
        cell.pin_cpus({0, 1})
        self.assertEqual(cell.pinned_cpus, {0, 1})
        e = self.assertRaises(exception.CPUPinningInvalid, cell.pin_cpus, {1, 2})
        self.assertIn("CPU set to pin [1, 2] must be a subset of free CPU set", str(e))
        self.assertRaises(exception.CPUPinningUnknown, cell.pin_cpus, {9})
        self.assertRaises(exception.CPUUnpinningInvalid, cell.unpin_cpus, {2})
        self.assertRaises(exception.CPUUnpinningUnknown, cell.unpin_cpus, {9})
        cell.unpin_cpus({0, 1})
        self.assertEqual(cell.pinned_cpus, set())

    def test_pin_with_siblings(self):
        cell = smt_cell()
        cell.pin_cpus_with_siblings({0, 2})
        self.assertEqual(cell.pinned_cpus, {0, 1, 2, 3})
        cell.unpin_cpus_with_siblings({0, 2})
        self.assertEqual(cell.pinned_cpus, set())


class JSONTests(SynchronousTestCase):
    def roundtrip(self, value):
        data = json.loads(json.dumps(value.to_dict()))
        again = type(value).from_dict(data)
        self.assertEqual(again, value)
        return data

    def test_host_topology(self):
        host = NUMATopology(cells=[
            smt_cell(pinned_cpus={2}, cpu_usage=3, memory_usage=512, socket=0,
                     network_metadata=NetworkMetadata({"physnet1"}, True)),
            NUMACell(id=1, cpuset={8, 9}, pcpuset={8, 9}, memory=2048, siblings=[{8}, {9}]),
        ])
        data = self.roundtrip(host)
        self.assertEqual(data["cells"][0]["siblings"], [[0, 1], [2, 3], [4, 5], [6, 7]])
        self.assertEqual(data["cells"][0]["network_metadata"],
                         {"physnets": ["physnet1"], "tunneled": True})

    def test_host_cell_from_operator_json(self):
        """CPU set strings are accepted; absent siblings mean one thread per core."""
        cell = NUMACell.from_dict({"id": 0, "cpuset": "0-1", "pcpuset": "2-3,^3",
                                   "memory": 1024})
        self.assertEqual((cell.cpuset, cell.pcpuset), ({0, 1}, {2}))
        self.assertEqual(cell.siblings, [{0}, {1}, {2}])
        self.assertEqual(cell.mempages, [])
        self.assertIsNone(cell.socket)

    def test_guest_topology(self):
        guest = InstanceNUMATopology(
            cells=[InstanceNUMACell(id=1, cpuset={2}, pcpuset={0, 1}, memory=1024,
                                    pagesize=2048, cpu_policy="mixed",
                                    cpu_thread_policy="prefer", cpu_pinning={0: 4, 1: 5},
                                    cpuset_reserved={6})],
            emulator_threads_policy="isolate")
        data = self.roundtrip(guest)
        self.assertEqual(data["cells"][0]["cpu_pinning"], {"0": 4, "1": 5})

    def test_fit_request(self):
        request = NUMAFitRequest(
            host=NUMATopology(cells=[smt_cell()]),
            flavor=Flavor(vcpus=2, memory_mb=1024, extra_specs={"hw:cpu_policy": "dedicated"}),
            image=ImageMeta(properties={"hw_mem_page_size": "2MB"}),
            limits=NUMATopologyLimits(4.0, 1.0, NetworkMetadata({"physnet0"})),
            pci_pools=[PciDevicePool(count=2, numa_node=0, vendor_id="8086",
                                     product_id="154d", tags={"physical_network": "p"})],
            pci_requests=[InstancePCIRequest(count=1, spec=[{"vendor_id": "8086"}],
                                             alias_name="a1", numa_policy="socket")])
        self.roundtrip(request)

    def test_missing_keys_are_named(self):
        e = self.assertRaises(exception.Invalid, NUMACell.from_dict, {"id": 0})
        self.assertIn("'memory'", str(e))
        e = self.assertRaises(exception.Invalid, NUMAFitRequest.from_dict, {"host": {"cells": []}})
        self.assertIn("'flavor'", str(e))
        self.assertRaises(exception.Invalid, NUMACell.from_dict,
                          {"id": 0, "memory": 1, "cpuset": ["x"]})


class FitRequestTests(SynchronousTestCase):
    """A whole fit question as JSON, as docs/numa.md shows it (spec/E §2.5 example host)."""

    DOCUMENT = """
    {
      "host": {"cells": [
        {"id": 0, "cpuset": "0-3", "pcpuset": "4-7", "memory": 8192, "cpu_usage": 2,
         "memory_usage": 4096, "pinned_cpus": [4]},
        {"id": 1, "cpuset": "8-11", "pcpuset": "12-15", "memory": 8192},
        {"id": 2, "cpuset": "16-19", "pcpuset": "20-23", "memory": 8192, "cpu_usage": 1,
         "memory_usage": 6144, "pinned_cpus": [20, 21]}
      ]},
      "flavor": {"vcpus": 2, "memory_mb": 1024, "extra_specs": {"hw:cpu_policy": "dedicated"}},
      "limits": {"cpu_allocation_ratio": 16.0, "ram_allocation_ratio": 1.5}
    }
    """

    def test_spread_and_pack(self):
        from nova_tx.virt import hardware
        request = NUMAFitRequest.from_dict(json.loads(self.DOCUMENT))
        ok, fitted = hardware.check_fit_request(request)
        self.assertTrue(ok)
        self.assertEqual(fitted.to_dict()["cells"][0]["cpu_pinning"], {"0": 12, "1": 13})
        ok, fitted = hardware.check_fit_request(request, pack=True)
        self.assertEqual((fitted.cells[0].id, fitted.cpu_pinning), (2, {0: 22, 1: 23}))

    def test_plain_guest_and_bad_flavor(self):
        from nova_tx.virt import hardware
        data = json.loads(self.DOCUMENT)
        data["flavor"]["extra_specs"] = {}
        self.assertEqual(hardware.check_fit_request(NUMAFitRequest.from_dict(data)),
                         (True, None))
        data["flavor"]["extra_specs"] = {"hw:cpu_policy": "pinned"}
        e = self.assertRaises(exception.InvalidCPUAllocationPolicy, hardware.check_fit_request,
                              NUMAFitRequest.from_dict(data))
        self.assertIn("hw:cpu_policy", e.format_message())

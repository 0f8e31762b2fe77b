"""spec/E worked examples through the kernel and the reference, and the kernel's API.

Every example is asserted twice: the reference (``hardware.numa_fit_instance_to_host``)
and the kernel (``kernel.fit_host`` / ``kernel.fit_hosts``) must both give the value the
spec states.
"""
import logging

import numpy as np
from twisted.trial.unittest import SynchronousTestCase

from nova_tx.objects.numa import (
    MEMPAGES_ANY,
    MEMPAGES_LARGE,
    MEMPAGES_SMALL,
    Flavor,
    ImageMeta,
    InstanceNUMACell,
    InstanceNUMATopology,
    InstancePCIRequest,
    NetworkMetadata,
    NUMACell,
    NUMAPagesTopology,
    NUMATopology,
    NUMATopologyLimits,
    PciDevicePool,
)
from nova_tx.scheduler import kernel
from nova_tx.scheduler.host_arrays import HostArrays
from nova_tx.virt import hardware
from tests.helpers import unavailable
from tests.unit.numa_helpers import (
    LIMITS,
    dedicated,
    guest,
    network_affinity_host,
    non_smt_host,
    paged_cell,
    placement,
    shared,
    smt_host,
    worked_example_host,
)


class BothTestCase(SynchronousTestCase):
    def setUp(self):
        if not kernel.kernel_available():
            unavailable("the compiled kernel is not built")

    def both(self, host, instance, limits=None, pci_requests=None, pci_pools=None,
             pack=False):
        """The fitted guest, after checking that kernel and reference agree."""
        expected = hardware.numa_fit_instance_to_host(host, instance, limits, pci_requests,
                                                      pci_pools, pack)
        actual = kernel.fit_host(host, instance, limits, pci_requests, pci_pools, pack)
        self.assertEqual(actual, expected)
        return actual


class PackAndSpreadTests(BothTestCase):
    """spec/E §2.5 worked examples."""

    def test_spread(self):
        host = worked_example_host()
        self.assertEqual(placement(self.both(host, shared(), LIMITS)), ([1], {}))
        self.assertEqual(placement(self.both(host, dedicated(), LIMITS)),
                         ([1], {0: 12, 1: 13}))
        self.assertEqual(placement(self.both(host, shared(cells=2), LIMITS)), ([1, 2], {}))

    def test_pack(self):
        host = worked_example_host()
        self.assertEqual(placement(self.both(host, shared(), LIMITS, pack=True)), ([0], {}))
        self.assertEqual(placement(self.both(host, dedicated(), LIMITS, pack=True)),
                         ([2], {0: 22, 1: 23}))
        self.assertEqual(placement(self.both(host, shared(cells=2), LIMITS, pack=True)),
                         ([0, 2], {}))

    def test_no_sort_when_the_guest_uses_every_cell(self):
        instance = shared(cells=3, vcpus=3, memory_mb=3072)
        self.assertEqual(placement(self.both(worked_example_host(), instance, LIMITS)),
                         ([0, 1, 2], {}))

    def test_missing_topologies_and_too_many_guest_cells(self):
        self.assertIsNone(self.both(None, shared(), LIMITS))
        self.assertIsNone(self.both(worked_example_host(), None, LIMITS))
        self.assertIsNone(self.both(NUMATopology(cells=[]), shared(), LIMITS))
        self.assertIsNone(self.both(worked_example_host(),
                                    shared(cells=4, vcpus=4, memory_mb=4096), LIMITS))

    def test_inputs_are_not_modified(self):
        host, instance = worked_example_host(), dedicated()
        before = (host.to_dict(), instance.to_dict())
        self.both(host, instance, LIMITS)
        self.assertEqual((host.to_dict(), instance.to_dict()), before)

    def test_first_sorted_cell_lacks_memory(self):
        """The upstream worst case: 8 guest cells on 16 host cells, the first one full."""
        cells = [NUMACell(id=i, pcpuset=set(range(4 * i, 4 * i + 4)), memory=8192,
                          memory_usage=8192 if i == 0 else 1024 * (i % 3),
                          siblings=[{c} for c in range(4 * i, 4 * i + 4)])
                 for i in range(16)]
        host = NUMATopology(cells=cells)
        instance = dedicated(16, 8 * 4096, **{"hw:numa_nodes": "8"})
        fitted = self.both(host, instance, LIMITS, pack=True)
        self.assertEqual(len({c.id for c in fitted.cells}), 8)
        self.assertNotIn(0, [c.id for c in fitted.cells])


class FailingChecksTests(BothTestCase):
    """PCI checks that fail for every assignment through the first sorted cell.

    The host's only PCI-affine device is a PF on the last cell, which the PCI sort puts
    first; a PF is never handed to a request that did not ask for one, yet it makes the
    ``legacy`` policy insist on strict affinity, so every set of cells with that cell
    fails and every set without it passes (with the device that has no NUMA node).
    Nova walks every permutation through the first cell before it gets there; the
    kernel's set search does not.
    """

    def case(self, cells, nodes):
        host = NUMATopology(cells=[
            NUMACell(id=i, pcpuset=set(range(4 * i, 4 * i + 4)), memory=8192, socket=0,
                     siblings=[{c} for c in range(4 * i, 4 * i + 4)])
            for i in range(cells)])
        pools = [PciDevicePool(count=1, numa_node=cells - 1, vendor_id="8086",
                               dev_type="type-PF"),
                 PciDevicePool(count=1, numa_node=None, vendor_id="8086", dev_type="type-VF")]
        requests = [InstancePCIRequest(count=1, spec=[{"vendor_id": "8086"}],
                                       numa_policy="legacy")]
        instance = dedicated(2 * nodes, 1024 * nodes, **{"hw:numa_nodes": str(nodes)})
        return host, instance, requests, pools

    def test_agrees_with_the_reference(self):
        host, instance, requests, pools = self.case(8, 4)
        fitted = self.both(host, instance, None, requests, pools)
        self.assertEqual([c.id for c in fitted.cells], [0, 1, 2, 3])

    def test_eight_guest_cells_on_sixteen(self):
        """About 3.3e7 failing permutations for Nova; C(16, 8) sets for the kernel."""
        host, instance, requests, pools = self.case(16, 8)
        fitted = kernel.fit_host(host, instance, None, requests, pools)
        self.assertEqual([c.id for c in fitted.cells], list(range(8)))


class CellFitTests(BothTestCase):
    """spec/E §2.6 worked examples."""

    def test_pinned_guest_needs_free_memory(self):
        cell = NUMACell(id=0, pcpuset={0, 1, 2, 3}, memory=1024, memory_usage=512,
                        siblings=[{0}, {1}, {2}, {3}])
        self.assertIsNone(self.both(NUMATopology(cells=[cell]), dedicated(), LIMITS))

    def test_shared_guest_within_the_ram_ratio(self):
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=1024,
                                            memory_usage=512)])
        self.assertEqual(placement(self.both(host, shared(), LIMITS)), ([0], {}))
        host.cells[0].memory_usage = 513
        self.assertIsNone(self.both(host, shared(), LIMITS))

    def test_guest_may_not_overcommit_against_itself(self):
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=1024,
                                            mempages=[NUMAPagesTopology(4, 262144)])])
        limits = NUMATopologyLimits(16.0, 4.0)
        self.assertIsNone(self.both(host, shared(memory_mb=2048), limits))
        self.assertIsNotNone(self.both(host, shared(memory_mb=1024), limits))

    def test_guest_vcpus_above_the_cell_cpus(self):
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=4096, cpu_usage=30)])
        self.assertIsNone(self.both(host, shared(vcpus=3), LIMITS))
        self.assertIsNotNone(self.both(host, shared(), LIMITS))
        host.cells[0].cpu_usage = 31
        self.assertIsNone(self.both(host, shared(), LIMITS))
        self.assertIsNotNone(self.both(host, shared(), None))

    def test_pinned_guest_after_shared_guests_took_the_memory(self):
        host = NUMATopology(cells=[NUMACell(
            id=0, cpuset={0, 1}, pcpuset={2, 3}, memory=2048, memory_usage=1536,
            siblings=[{0}, {1}, {2}, {3}],
            mempages=[NUMAPagesTopology(4, 524288, used=393216)])])
        self.assertIsNone(self.both(host, dedicated(), LIMITS))
        self.assertIsNotNone(self.both(host, shared(), LIMITS))

    def test_pinned_guest_counts_free_small_pages_not_total(self):
        host = NUMATopology(cells=[NUMACell(
            id=0, pcpuset={0, 1, 2, 3}, memory=4096, siblings=[{0}, {1}, {2}, {3}],
            mempages=[NUMAPagesTopology(4, 524288, used=0, reserved=400000),
                      NUMAPagesTopology(1048576, 2)])])
        self.assertIsNone(self.both(host, dedicated(), LIMITS))


class PageSizeTests(BothTestCase):
    """spec/E §2.7 worked examples (guest 2048 MiB)."""

    def chosen(self, pagesize, memory=2048, cell=None):
        instance = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=0, cpuset={0, 1}, memory=memory, pagesize=pagesize)])
        fitted = self.both(NUMATopology(cells=[cell or paged_cell()]), instance, LIMITS)
        return None if fitted is None else fitted.cells[0].pagesize

    def test_sizes(self):
        self.assertEqual(self.chosen(MEMPAGES_LARGE), 1048576)
        self.assertEqual(self.chosen(MEMPAGES_ANY), 1048576)
        self.assertEqual(self.chosen(MEMPAGES_SMALL), 4)
        self.assertEqual(self.chosen(2048), 2048)
        self.assertEqual(self.chosen(1048576), 1048576)

    def test_large_falls_back_when_huge_pages_are_used_or_reserved(self):
        self.assertEqual(self.chosen(MEMPAGES_LARGE, cell=paged_cell(used=3)), 2048)
        self.assertEqual(self.chosen(MEMPAGES_LARGE, cell=paged_cell(reserved=3)), 2048)

    def test_memory_must_be_whole_pages(self):
        self.assertEqual(self.chosen(MEMPAGES_LARGE, memory=1536), 2048)

    def test_unsupported_size_does_not_fit(self):
        self.assertIsNone(self.chosen(16777216))

    def test_small_pages_without_overcommit(self):
        cell = paged_cell()
        cell.mempages[0].used = 1048576 - 262144
        self.assertIsNone(self.chosen(MEMPAGES_SMALL, cell=cell))


class PinningTableTests(BothTestCase):
    """spec/E §2.8, the table row by row (exact pinnings)."""

    def pin(self, host, vcpus, thread_policy=None, emulator=None):
        specs = {"hw:cpu_policy": "dedicated"}
        if thread_policy:
            specs["hw:cpu_thread_policy"] = thread_policy
        if emulator:
            specs["hw:emulator_threads_policy"] = emulator
        fitted = self.both(host, dedicated(vcpus, 1024, **specs))
        if fitted is None:
            return None
        reserved = fitted.cells[0].cpuset_reserved
        return fitted.cpu_pinning if reserved is None else (fitted.cpu_pinning, reserved)

    def test_prefer(self):
        self.assertEqual(self.pin(smt_host(), 2, "prefer"), {0: 0, 1: 1})
        self.assertEqual(self.pin(smt_host(), 3, "prefer"), {0: 0, 1: 1, 2: 2})
        self.assertEqual(self.pin(smt_host([0]), 3, "prefer"), {0: 2, 1: 3, 2: 4})
        self.assertEqual(self.pin(smt_host([0, 2, 4]), 4, "prefer"), {0: 1, 1: 3, 2: 5, 3: 6})
        self.assertEqual(self.pin(smt_host([0, 2, 4]), 5, "prefer"),
                         {0: 1, 1: 3, 2: 5, 3: 6, 4: 7})
        self.assertEqual(self.pin(smt_host([0, 2, 4]), 4), {0: 1, 1: 3, 2: 5, 3: 6})

    def test_require(self):
        self.assertEqual(self.pin(smt_host(), 2, "require"), {0: 0, 1: 1})
        self.assertEqual(self.pin(smt_host(), 3, "require"), {0: 0, 1: 1, 2: 2})
        self.assertEqual(self.pin(smt_host([0, 2, 4]), 2, "require"), {0: 6, 1: 7})
        self.assertIsNone(self.pin(smt_host([0, 2, 4, 6]), 2, "require"))
        self.assertIsNone(self.pin(non_smt_host(), 2, "require"))

    def test_isolate(self):
        for vcpus in (1, 2, 4):
            self.assertIsNone(self.pin(smt_host(), vcpus, "isolate"), vcpus)
        self.assertEqual(self.pin(non_smt_host(), 2, "isolate"), {0: 0, 1: 1})
        self.assertEqual(self.pin(smt_host(legacy=True), 2, "isolate"), {0: 0, 1: 2})
        self.assertEqual(self.pin(smt_host(legacy=True), 4, "isolate"),
                         {0: 0, 1: 2, 2: 4, 3: 6})
        self.assertIsNone(self.pin(smt_host(legacy=True), 5, "isolate"))
        self.assertEqual(self.pin(smt_host([0], legacy=True), 2, "isolate"), {0: 2, 1: 4})

    def test_emulator_threads(self):
        self.assertEqual(self.pin(smt_host(), 2, "prefer", "isolate"), ({0: 0, 1: 1}, {2}))
        self.assertEqual(self.pin(smt_host(legacy=True), 2, "isolate", "isolate"),
                         ({0: 0, 1: 2}, {4}))
        self.assertIsNone(self.pin(smt_host(), 2, "isolate", "isolate"))
        self.assertIsNone(self.pin(smt_host(), 8, None, "isolate"))
        self.assertEqual(self.pin(smt_host(), 2, None, "share"), {0: 0, 1: 1})

    def test_two_cells_only_when_asked(self):
        host = NUMATopology(cells=[
            NUMACell(id=0, pcpuset={0, 1}, memory=4096, siblings=[{0}, {1}]),
            NUMACell(id=1, pcpuset={2, 3}, memory=4096, siblings=[{2}, {3}])])
        self.assertIsNone(self.both(host, dedicated(4, 2048)))
        fitted = self.both(host, dedicated(4, 2048, **{"hw:numa_nodes": "2"}))
        self.assertEqual([(c.id, c.cpu_pinning) for c in fitted.cells],
                         [(0, {0: 0, 1: 1}), (1, {2: 2, 3: 3})])

    def test_mixed(self):
        host = smt_host(cpuset={8, 9, 10, 11})
        instance = guest({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-1"}, vcpus=4)
        cell = self.both(host, instance, LIMITS).cells[0]
        self.assertEqual((cell.cpu_pinning, cell.cpuset), ({0: 0, 1: 1}, {2, 3}))

    def test_mixed_cell_without_pinned_vcpus(self):
        """D9: an empty pinning is a success."""
        host = NUMATopology(cells=[
            NUMACell(id=0, cpuset={0, 1}, pcpuset={2, 3}, memory=4096,
                     siblings=[{c} for c in range(4)]),
            NUMACell(id=1, cpuset={4, 5}, pcpuset={6, 7}, memory=4096,
                     siblings=[{c} for c in range(4, 8)])])
        instance = guest({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0",
                          "hw:numa_nodes": "2"}, vcpus=4, memory_mb=2048)
        fitted = self.both(host, instance, LIMITS)
        self.assertEqual([(c.id, c.cpu_pinning) for c in fitted.cells],
                         [(0, {0: 2}), (1, {})])

    def test_large_host(self):
        """1,024 CPUs in one cell, siblings numbered Linux-style (c, c + 512)."""
        siblings = [{c, c + 512} for c in range(512)]
        host = NUMATopology(cells=[NUMACell(id=0, pcpuset=set(range(1024)), memory=1 << 20,
                                            siblings=siblings,
                                            pinned_cpus=set(range(0, 1024, 3)))])
        fitted = self.both(host, dedicated(64, 4096, **{"hw:cpu_thread_policy": "require"}))
        self.assertEqual(len(set(fitted.cpu_pinning.values())), 64)


def pci_host():
    """spec/E §2.10.1: 4 cells, cells 0,1 on socket 0 and cells 2,3 on socket 1."""
    return NUMATopology(cells=[
        NUMACell(id=i, pcpuset=set(range(4 * i, 4 * i + 4)), memory=8192, socket=i // 2,
                 siblings=[{c} for c in range(4 * i, 4 * i + 4)])
        for i in range(4)])


class PciAffinityTests(BothTestCase):
    """spec/E §2.10.1, the verified matrix (exact host cell ids)."""

    def cells(self, policy, node=0, full=(), guest_cells=1):
        host = pci_host()
        for i in full:
            host.cells[i].pinned_cpus = set(host.cells[i].pcpuset)
        pools = [PciDevicePool(count=1, numa_node=node, vendor_id="8086", product_id="154d")]
        requests = [InstancePCIRequest(count=1, spec=[{"vendor_id": "8086"}],
                                       numa_policy=policy)]
        instance = dedicated(2 * guest_cells, 1024 * guest_cells,
                             **{"hw:numa_nodes": str(guest_cells)})
        fitted = self.both(host, instance, LIMITS, requests, pools, pack=True)
        return None if fitted is None else sorted(c.id for c in fitted.cells)

    def test_matrix(self):
        rows = {"required": [[0], None, None, None, None],
                "legacy": [[0], None, [0], None, None],
                "preferred": [[0], [1], [0], [2, 3], [1, 2]],
                "socket": [[0], [1], None, None, [1, 2]]}
        for policy, expected in rows.items():
            got = [self.cells(policy), self.cells(policy, full=[0]),
                   self.cells(policy, node=None),
                   self.cells(policy, full=[0, 1], guest_cells=2),
                   self.cells(policy, full=[0, 3], guest_cells=2)]
            self.assertEqual(got, expected, policy)

    def test_pf_and_vdpa_pools_only_when_asked(self):
        host = pci_host()
        pools = [PciDevicePool(count=1, numa_node=0, vendor_id="8086", dev_type="type-PF"),
                 PciDevicePool(count=1, numa_node=1, vendor_id="8086", dev_type="vdpa"),
                 PciDevicePool(count=1, numa_node=2, vendor_id="8086",
                               tags={"remote_managed": "true"})]
        for spec, expected in (([{"vendor_id": "8086"}], None),
                               ([{"vendor_id": "8086", "dev_type": "type-PF"}], [0]),
                               ([{"dev_type": "vdpa"}], [1]),
                               ([{"remote_managed": "true"}], [2])):
            request = InstancePCIRequest(count=1, spec=spec, numa_policy="required")
            fitted = self.both(host, dedicated(), LIMITS, [request], pools)
            self.assertEqual(None if fitted is None else [c.id for c in fitted.cells],
                             expected, spec)


class NetworkAffinityTests(BothTestCase):
    """spec/E §2.10.3."""

    def host(self):
        return network_affinity_host()

    def fit(self, network, host=None):
        limits = NUMATopologyLimits(16.0, 1.5, network)
        return placement(self.both(host or self.host(), shared(), limits))

    def test_affinity(self):
        self.assertEqual(self.fit(None), ([0], {}))
        self.assertEqual(self.fit(NetworkMetadata({"bar"})), ([0], {}))
        self.assertEqual(self.fit(NetworkMetadata({"foo"})), ([1], {}))
        self.assertEqual(self.fit(NetworkMetadata(set(), tunneled=True)), ([1], {}))

    def test_affine_cell_full(self):
        host = self.host()
        host.cells[1].cpuset = set()
        self.assertIsNone(self.fit(NetworkMetadata({"foo"}), host))


class FitHostsTests(BothTestCase):
    """The many-host entry point, its routing and the row updates."""

    def test_rows_and_details(self):
        topologies = [worked_example_host(), None, smt_host(), NUMATopology(cells=[])]
        arrays = HostArrays.from_topologies(topologies)
        request = kernel.FitRequest(dedicated(), LIMITS)
        result = kernel.fit_hosts(request, arrays, want_details_for=[0, 1, 2])
        self.assertEqual(result.fits.tolist(), [True, False, True, False])
        self.assertEqual(placement(result.fitted[0]), ([1], {0: 12, 1: 13}))
        self.assertIsNone(result.fitted[1])
        self.assertEqual(placement(result.fitted[2]), ([0], {0: 0, 1: 1}))
        some = kernel.fit_hosts(request, arrays, hosts=[3, 2])
        self.assertEqual(some.fits.tolist(), [False, True])
        self.assertEqual(some.rows.tolist(), [3, 2])

    def test_host_ratios(self):
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=4096, cpu_usage=3)])
        arrays = HostArrays.from_topologies([host, host], cpu_allocation_ratio=[1.0, 4.0])
        request = kernel.FitRequest(shared(), LIMITS, host_limits=True)
        self.assertEqual(kernel.fit_hosts(request, arrays).fits.tolist(), [False, True])

    def test_update_host_after_a_claim(self):
        host = smt_host()
        arrays = HostArrays.from_topologies([host])
        request = kernel.FitRequest(dedicated(8, 1024))
        self.assertTrue(kernel.fit_hosts(request, arrays).fits[0])
        fitted, claimed = hardware.claim(host, dedicated(2, 1024))
        arrays.update_host(0, claimed)
        self.assertFalse(kernel.fit_hosts(request, arrays).fits[0])
        self.assertEqual(arrays.pinned[0, 0, 0], 0b11)
        arrays.update_host(0, hardware.release(claimed, fitted))
        self.assertTrue(kernel.fit_hosts(request, arrays).fits[0])

    def test_hosts_beyond_the_layout_use_the_reference(self):
        big = NUMATopology(cells=[NUMACell(id=0, pcpuset={2000, 2001}, memory=4096,
                                           siblings=[{2000}, {2001}])])
        arrays = HostArrays.from_topologies([big, smt_host()])
        self.assertEqual(arrays.fallback.tolist(), [True, False])
        result = kernel.fit_hosts(kernel.FitRequest(dedicated()), arrays,
                                  want_details_for=[0])
        self.assertEqual(result.fits.tolist(), [True, True])
        self.assertEqual(placement(result.fitted[0]), ([0], {0: 2000, 1: 2001}))

    def test_without_the_kernel(self):
        self.patch(kernel, "_kernel", None)
        self.patch(kernel, "_warned_missing", False)
        arrays = HostArrays.from_topologies([worked_example_host(), smt_host()])
        with self.assertLogs("nova_tx.scheduler.kernel", logging.WARNING) as logs:
            result = kernel.fit_hosts(kernel.FitRequest(dedicated(), LIMITS), arrays,
                                      want_details_for=[0])
            kernel.fit_hosts(kernel.FitRequest(dedicated(), LIMITS), arrays)
        self.assertEqual(len(logs.records), 1)
        self.assertEqual(result.fits.tolist(), [True, True])
        self.assertEqual(placement(result.fitted[0]), ([1], {0: 12, 1: 13}))

    def test_unknown_cpu_policy_goes_to_the_reference(self):
        instance = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=0, cpuset={0}, memory=512, cpu_policy="odd")])
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=4096)])
        self.assertEqual(kernel.fit_host(host, instance),
                         hardware.numa_fit_instance_to_host(host, instance))

    def test_filter_hosts(self):
        flavor = Flavor(vcpus=2, memory_mb=1024, extra_specs={
            "hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"})
        requested = hardware.numa_get_constraints(flavor, ImageMeta())
        topologies = [non_smt_host(), smt_host(), None]
        arrays = HostArrays.from_topologies(topologies)
        result = kernel.filter_hosts(kernel.FitRequest(requested, LIMITS), arrays, flavor,
                                     ImageMeta(), want_details_for=[0, 1, 2])
        self.assertEqual(result.fits.tolist(), [False, True, False])
        for row, topology in enumerate(topologies):
            expected = hardware.host_passes_numa_topology(topology, requested, flavor,
                                                          ImageMeta(), LIMITS)
            self.assertEqual((bool(result.fits[row]), result.fitted[row]), expected)
        plain = Flavor(vcpus=2, memory_mb=1024)
        result = kernel.filter_hosts(kernel.FitRequest(None), arrays, plain, None)
        self.assertEqual(result.fits.tolist(), [True, True, True])

    def test_layout(self):
        arrays = HostArrays.from_topologies([worked_example_host(), smt_host([1])])
        self.assertEqual((arrays.size, arrays.cells, arrays.words), (2, 3, 1))
        self.assertEqual(arrays.n_cells.tolist(), [3, 1])
        self.assertEqual(arrays.pcpuset[0, 1, 0], 0xF000)
        self.assertEqual(arrays.pinned[1, 0, 0], 0b10)
        self.assertEqual(arrays.threads_per_core[1].tolist(), [2, 0, 0])
        start, end = arrays.sib_start[1, 0], arrays.sib_end[1, 0]
        self.assertEqual(arrays.sib_cpu[1, start:end].tolist(), list(range(8)))
        self.assertEqual(arrays.sib_head[1, start:end].tolist(), [1, 0] * 4)
        self.assertTrue(np.all(arrays.cpu_allocation_ratio == 16.0))

    def test_rows_out_of_range(self):
        arrays = HostArrays.from_topologies([smt_host()])
        request = kernel.FitRequest(dedicated())
        self.assertRaises(IndexError, kernel.fit_hosts, request, arrays, hosts=[1])
        self.assertRaises(IndexError, kernel.fit_hosts, request, arrays, hosts=[0],
                          want_details_for=[-1])


class OneRowTests(BothTestCase):
    """The lean one-row path (``fit_row``) against the general one (``fit_rows``)."""

    def general(self, request, arrays, row):
        return kernel.fit_hosts(request, arrays, hosts=[row], want_details_for=[row])

    def test_one_row_matches_the_general_path(self):
        topologies = [worked_example_host(), smt_host([1, 2]), non_smt_host(), None,
                      smt_host(legacy=True)]
        arrays = HostArrays.from_topologies(topologies, cpu_allocation_ratio=[1.0, 4.0, 16.0,
                                                                               2.0, 1.0])
        emulator = dedicated(2, 1024, **{"hw:emulator_threads_policy": "isolate"})
        guests = [shared(), shared(cells=2), dedicated(), dedicated(4, 2048), emulator,
                  dedicated(2, 1024, **{"hw:cpu_thread_policy": "require"}),
                  dedicated(2, 1024, **{"hw:cpu_thread_policy": "isolate"})]
        limits_options = [(None, False), (LIMITS, False), (LIMITS, True)]
        for instance in guests:
            for limits, host_limits in limits_options:
                for pack in (False, True):
                    request = kernel.FitRequest(instance, limits, pack=pack,
                                                host_limits=host_limits)
                    for row in range(arrays.size):
                        one = kernel.fit_hosts(request, arrays, hosts=(),
                                               want_details_for=(row,))
                        self.assertEqual(one.rows.tolist(), [])
                        self.assertEqual(one.fits.tolist(), [])
                        self.assertEqual(one.fitted,
                                         {row: self.general(request, arrays, row).fitted[row]})

    def test_one_row_matches_the_reference(self):
        host = smt_host([0, 3])
        arrays = HostArrays.from_topologies([host], cpu_allocation_ratio=LIMITS.cpu_allocation_ratio,
                                            ram_allocation_ratio=LIMITS.ram_allocation_ratio)
        for instance in (shared(), dedicated(), dedicated(4, 1024)):
            request = kernel.FitRequest(instance, LIMITS, host_limits=True)
            got = kernel.fit_hosts(request, arrays, hosts=[], want_details_for=[0]).fitted[0]
            self.assertEqual(got, hardware.numa_fit_instance_to_host(host, instance, LIMITS))

    def test_guest_code_follows_the_request_guest(self):
        arrays = HostArrays.from_topologies([non_smt_host()])
        request = kernel.FitRequest(dedicated(2))
        self.assertIsNotNone(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0])
        request.guest = dedicated(64)
        self.assertIsNone(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0])

    def test_assigning_any_field_drops_the_encoding(self):
        arrays = HostArrays.from_topologies([non_smt_host(legacy=True)],
                                            cpu_allocation_ratio=16.0)
        request = kernel.FitRequest(shared(vcpus=8))
        self.assertIsNotNone(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0])
        # A ratio that leaves no room: the request's limits now count.
        request.limits = NUMATopologyLimits(cpu_allocation_ratio=0.1,
                                            ram_allocation_ratio=1.0)
        self.assertIsNone(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0])
        request.host_limits = True
        self.assertIsNotNone(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0])

    def test_assigning_network_affinity_drops_the_encoding(self):
        arrays = HostArrays.from_topologies([network_affinity_host()])
        request = kernel.FitRequest(shared(), LIMITS)
        self.assertEqual(placement(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0]),
                         ([0], {}))
        request.limits = NUMATopologyLimits(
            cpu_allocation_ratio=16.0, ram_allocation_ratio=1.0,
            network_metadata=NetworkMetadata(physnets={"foo"}))
        self.assertEqual(placement(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0]),
                         ([1], {}))

    def test_fitted_copies_are_fresh(self):
        arrays = HostArrays.from_topologies([smt_host()])
        instance = dedicated(2, 1024)
        before = instance.to_dict()
        request = kernel.FitRequest(instance)
        first = kernel.fit_hosts(request, arrays, (), (0,)).fitted[0]
        expected = first.to_dict()
        first.cells[0].cpuset.add(99)
        first.cells[0].pcpuset.add(99)
        first.cells[0].cpu_pinning[99] = 99
        first.cells.append(first.cells[0])
        self.assertEqual(instance.to_dict(), before)
        self.assertEqual(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0].to_dict(),
                         expected)
        self.assertEqual(type(first), InstanceNUMATopology)
        self.assertEqual(type(first.cells[0]), InstanceNUMACell)

    def test_arrays_topologies_replaced(self):
        arrays = HostArrays.from_topologies([worked_example_host()])
        request = kernel.FitRequest(shared())
        kernel.fit_hosts(request, arrays, (), (0,))
        other = HostArrays.from_topologies([smt_host()])
        arrays.topologies = other.topologies
        for name in ("n_cells", "memory", "memory_usage", "cpu_usage", "cpuset_count",
                     "pcpuset_count", "pcpuset", "pinned", "page_size", "page_total",
                     "page_used", "page_reserved", "sib_cpu", "sib_head", "sib_start",
                     "sib_end", "sib_simple", "n_pages", "legacy", "threads_per_core",
                     "cell_socket", "any_socket_none"):
            setattr(arrays, name, getattr(other, name))
        self.assertEqual(kernel.fit_hosts(request, arrays, (), (0,)).fitted[0],
                         self.general(request, other, 0).fitted[0])

    def test_one_row_out_of_range(self):
        arrays = HostArrays.from_topologies([smt_host()])
        request = kernel.FitRequest(dedicated())
        self.assertRaises(IndexError, kernel.fit_hosts, request, arrays, hosts=(),
                          want_details_for=(1,))
        self.assertRaises(IndexError, kernel.fit_hosts, request, arrays, hosts=(),
                          want_details_for=(-1,))

    def test_fit_host_sees_usage_changed_in_place(self):
        host = non_smt_host()
        instance = dedicated(4)
        first = self.both(host, instance)
        self.assertIsNotNone(first)
        cell = host.cells[0]
        cell.pinned_cpus |= set(cell.pcpuset) - {0, 1, 2}
        self.assertIsNone(self.both(host, instance))
        cell.pinned_cpus = set()
        self.assertEqual(self.both(host, instance), first)
        cell.memory_usage = cell.memory
        self.assertIsNone(self.both(host, instance))

    def test_fit_host_sees_pages_used_in_place(self):
        host = NUMATopology(cells=[paged_cell()])
        instance = guest({"hw:mem_page_size": "1GB"}, vcpus=2, memory_mb=2048)
        self.assertIsNotNone(self.both(host, instance))
        host.cells[0].mempages[2].used = 3
        self.assertIsNone(self.both(host, instance))

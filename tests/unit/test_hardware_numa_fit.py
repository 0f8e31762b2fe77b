"""Fitting guests onto host NUMA cells: order, per-cell checks, pages, pinning (spec/E §2.5–§2.8)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx.objects.numa import (
    MEMPAGES_ANY,
    MEMPAGES_LARGE,
    MEMPAGES_SMALL,
    Flavor,
    ImageMeta,
    InstanceNUMACell,
    InstanceNUMATopology,
    NetworkMetadata,
    NUMACell,
    NUMAPagesTopology,
    NUMATopology,
    NUMATopologyLimits,
)
from nova_tx.virt import hardware
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


class PackAndSpreadTests(SynchronousTestCase):
    """spec/E §2.5 worked examples, with both values of
    ``[compute] packing_host_numa_cells_allocation_strategy``."""

    def fit(self, instance, pack):
        return placement(hardware.numa_fit_instance_to_host(
            worked_example_host(), instance, LIMITS, pack=pack))

    def test_spread_is_the_default(self):
        """spec/DECISIONS.md: spread (False) by default."""
        self.assertEqual(placement(hardware.numa_fit_instance_to_host(
            worked_example_host(), shared(), LIMITS)), ([1], {}))

    def test_spread(self):
        """spec/E §2.5 spread: shared → 1; dedicated → 1 pinned 12,13; 2 cells → (1, 2)."""
        self.assertEqual(self.fit(shared(), pack=False), ([1], {}))
        self.assertEqual(self.fit(dedicated(), pack=False), ([1], {0: 12, 1: 13}))
        self.assertEqual(self.fit(shared(cells=2), pack=False), ([1, 2], {}))

    def test_pack(self):
        """spec/E §2.5 pack: shared → 0; dedicated → 2 pinned 22,23; 2 cells → (0, 2)."""
        self.assertEqual(self.fit(shared(), pack=True), ([0], {}))
        self.assertEqual(self.fit(dedicated(), pack=True), ([2], {0: 22, 1: 23}))
        self.assertEqual(self.fit(shared(cells=2), pack=True), ([0, 2], {}))

    def test_sort_orders(self):
        host = worked_example_host()
        order = [c.id for c in hardware.sort_host_cells(host, shared(), pack=False)]
        self.assertEqual(order, [1, 2, 0])
        order = [c.id for c in hardware.sort_host_cells(host, shared(), pack=True)]
        self.assertEqual(order, [0, 2, 1])
        order = [c.id for c in hardware.sort_host_cells(host, dedicated(), pack=True)]
        self.assertEqual(order, [2, 0, 1])

    def test_memory_decides_between_equal_cpu_usage(self):
        """spec/E §2.5 step 2a: the first (lowest priority) sort is by free memory."""
        host = NUMATopology(cells=[
            NUMACell(id=i, cpuset={2 * i, 2 * i + 1}, pcpuset={8 + i}, memory=8192,
                     memory_usage=used, siblings=[{2 * i}, {2 * i + 1}, {8 + i}])
            for i, used in enumerate((6144, 2048, 4096))])
        for instance in (shared(), dedicated(vcpus=1)):
            spread = hardware.sort_host_cells(host, instance, pack=False)
            packed = hardware.sort_host_cells(host, instance, pack=True)
            self.assertEqual([c.id for c in spread], [1, 2, 0])
            self.assertEqual([c.id for c in packed], [0, 2, 1])
        self.assertEqual(placement(hardware.numa_fit_instance_to_host(
            host, dedicated(vcpus=1), LIMITS, pack=True)), ([0], {0: 8}))

    def test_no_sort_when_the_guest_uses_every_cell(self):
        """spec/E §2.5: |H| == |G| → identity mapping first."""
        instance = shared(cells=3, vcpus=3, memory_mb=3072)
        for pack in (False, True):
            self.assertEqual(self.fit(instance, pack), ([0, 1, 2], {}))

    def test_inputs_are_not_modified(self):
        host, instance = worked_example_host(), dedicated()
        before = (host.to_dict(), instance.to_dict())
        hardware.numa_fit_instance_to_host(host, instance, LIMITS)
        self.assertEqual((host.to_dict(), instance.to_dict()), before)

    def test_missing_topologies_and_too_many_guest_cells(self):
        host = worked_example_host()
        self.assertIsNone(hardware.numa_fit_instance_to_host(None, shared()))
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, None))
        self.assertIsNone(hardware.numa_fit_instance_to_host(
            host, shared(cells=4, vcpus=4, memory_mb=4096)))

    def test_fit_sets_host_ids_and_keeps_policies(self):
        fitted = hardware.numa_fit_instance_to_host(
            worked_example_host(), dedicated(**{"hw:emulator_threads_policy": "isolate"}),
            LIMITS)
        self.assertEqual(fitted.emulator_threads_policy, "isolate")
        self.assertEqual(fitted.cells[0].cpu_policy, "dedicated")
        self.assertEqual(fitted.cells[0].cpuset_reserved, {14})


class CellFitTests(SynchronousTestCase):
    """spec/E §2.6 worked examples."""

    def test_pinned_guest_needs_free_memory(self):
        """spec/E §2.6: cell 1024, usage 512, dedicated 2 vCPU/1024 MiB → None."""
        cell = NUMACell(id=0, pcpuset={0, 1, 2, 3}, memory=1024, memory_usage=512,
                        siblings=[{0}, {1}, {2}, {3}])
        host = NUMATopology(cells=[cell])
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, dedicated(), LIMITS))
        cell.memory_usage = 0
        self.assertIsNotNone(hardware.numa_fit_instance_to_host(host, dedicated(), LIMITS))

    def test_shared_guest_within_the_ram_ratio(self):
        """spec/E §2.6: shared, cell 1024, usage 512, guest 1024, ratio 1.5 → fits."""
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=1024,
                                            memory_usage=512)])
        self.assertEqual(placement(hardware.numa_fit_instance_to_host(
            host, shared(), LIMITS)), ([0], {}))
        host.cells[0].memory_usage = 513
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, shared(), LIMITS))

    def test_guest_may_not_overcommit_against_itself(self):
        """spec/E §2.6: cell 1024 MiB of small pages, guest 2048, ratio 4.0 → None."""
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=1024,
                                            mempages=[NUMAPagesTopology(4, 262144)])])
        limits = NUMATopologyLimits(16.0, 4.0)
        self.assertIsNone(hardware.numa_fit_instance_to_host(
            host, shared(memory_mb=2048), limits))
        self.assertIsNotNone(hardware.numa_fit_instance_to_host(
            host, shared(memory_mb=1024), limits))

    def test_guest_vcpus_above_the_cell_cpus(self):
        """spec/E §2.6: cpuset {0,1}, cpu_usage 30, guest 3 vCPU, ratio 16 → None."""
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1}, memory=4096, cpu_usage=30)])
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, shared(vcpus=3), LIMITS))
        # Two vCPUs: 32 <= 2 × 16 fits, and one more floating vCPU of usage does not.
        self.assertIsNotNone(hardware.numa_fit_instance_to_host(host, shared(), LIMITS))
        host.cells[0].cpu_usage = 31
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, shared(), LIMITS))
        self.assertIsNotNone(hardware.numa_fit_instance_to_host(host, shared(), None))

    def test_pinned_guest_after_shared_guests_took_the_memory(self):
        """spec/E §2.6 test: free pCPUs but shared guests' memory_usage → rejected (D10)."""
        host = NUMATopology(cells=[NUMACell(
            id=0, cpuset={0, 1}, pcpuset={2, 3}, memory=2048, memory_usage=1536,
            siblings=[{0}, {1}, {2}, {3}], mempages=[NUMAPagesTopology(4, 524288, used=393216)])])
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, dedicated(), LIMITS))
        # A shared guest may still overcommit the same cell (2560 <= 2048 × 1.5).
        self.assertIsNotNone(hardware.numa_fit_instance_to_host(host, shared(), LIMITS))

    def test_pinned_guest_counts_free_small_pages_not_total(self):
        """D10: a pinned guest with no page size needs free small pages."""
        host = NUMATopology(cells=[NUMACell(
            id=0, pcpuset={0, 1, 2, 3}, memory=4096, siblings=[{0}, {1}, {2}, {3}],
            mempages=[NUMAPagesTopology(4, 524288, used=0, reserved=400000),
                      NUMAPagesTopology(1048576, 2)])])
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, dedicated(), LIMITS))

    def test_dedicated_guest_needs_enough_pcpus(self):
        host = NUMATopology(cells=[NUMACell(id=0, cpuset={0, 1, 2, 3}, pcpuset={4}, memory=4096,
                                            siblings=[{c} for c in range(5)])])
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, dedicated(), LIMITS))


class PageSizeSelectionTests(SynchronousTestCase):
    """spec/E §2.7 worked examples (guest 2048 MiB)."""

    def chosen(self, pagesize, memory=2048, cell=None):
        instance = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=0, cpuset={0, 1}, memory=memory, pagesize=pagesize)])
        fitted = hardware.numa_fit_instance_to_host(
            NUMATopology(cells=[cell or paged_cell()]), instance, LIMITS)
        return None if fitted is None else fitted.cells[0].pagesize

    def test_sizes(self):
        self.assertEqual(self.chosen(MEMPAGES_LARGE), 1048576)
        self.assertEqual(self.chosen(MEMPAGES_ANY), 1048576)
        self.assertEqual(self.chosen(MEMPAGES_SMALL), 4)
        self.assertEqual(self.chosen(2048), 2048)

    def test_sizes_from_the_flavor(self):
        for text, expected in (("2MB", 2048), ("1GB", 1048576), ("2048", 2048),
                               ("large", 1048576), ("any", 1048576), ("small", 4)):
            instance = guest({"hw:mem_page_size": text}, memory_mb=2048)
            fitted = hardware.numa_fit_instance_to_host(
                NUMATopology(cells=[paged_cell()]), instance, LIMITS)
            self.assertEqual(fitted.cells[0].pagesize, expected, text)

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

    def test_select_page_size_directly(self):
        cell = paged_cell()
        self.assertEqual(hardware.select_page_size(
            cell, InstanceNUMACell(id=0, memory=4096, pagesize=MEMPAGES_ANY)), 1048576)
        self.assertIsNone(hardware.select_page_size(
            cell, InstanceNUMACell(id=0, memory=8192, pagesize=MEMPAGES_LARGE)))


class PinningTableTests(SynchronousTestCase):
    """spec/E §2.8 worked examples, row by row (exact pinnings)."""

    def pin(self, host, vcpus, thread_policy=None, emulator=None):
        specs = {"hw:cpu_policy": "dedicated"}
        if thread_policy:
            specs["hw:cpu_thread_policy"] = thread_policy
        if emulator:
            specs["hw:emulator_threads_policy"] = emulator
        fitted = hardware.numa_fit_instance_to_host(host, dedicated(vcpus, 1024, **specs))
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

    def test_unset_thread_policy_behaves_as_prefer(self):
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

    def test_emulator_threads_isolate(self):
        self.assertEqual(self.pin(smt_host(), 2, "prefer", "isolate"), ({0: 0, 1: 1}, {2}))
        self.assertEqual(self.pin(smt_host(legacy=True), 2, "isolate", "isolate"),
                         ({0: 0, 1: 2}, {4}))
        self.assertIsNone(self.pin(smt_host(), 2, "isolate", "isolate"))
        self.assertIsNone(self.pin(smt_host(), 8, None, "isolate"))
        self.assertEqual(self.pin(smt_host(), 7, None, "isolate"),
                         ({c: c for c in range(7)}, {7}))

    def test_emulator_threads_share_reserves_nothing(self):
        self.assertEqual(self.pin(smt_host(), 2, None, "share"), {0: 0, 1: 1})

    def test_pinned_guest_uses_one_host_cell_unless_asked(self):
        """spec/E §2.8 / §0.1 finding 4: 4 vCPU on 2 cells × 2 pCPU."""
        host = NUMATopology(cells=[
            NUMACell(id=0, pcpuset={0, 1}, memory=4096, siblings=[{0}, {1}]),
            NUMACell(id=1, pcpuset={2, 3}, memory=4096, siblings=[{2}, {3}])])
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, dedicated(4, 2048)))
        fitted = hardware.numa_fit_instance_to_host(
            host, dedicated(4, 2048, **{"hw:numa_nodes": "2"}))
        self.assertEqual([(c.id, c.cpu_pinning) for c in fitted.cells],
                         [(0, {0: 0, 1: 1}), (1, {2: 2, 3: 3})])

    def test_mixed(self):
        """spec/E §2.8: mixed 4 vCPU mask 0-1 on cpuset {8..11}, pcpuset 0–7."""
        host = smt_host(cpuset={8, 9, 10, 11})
        instance = guest({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-1"}, vcpus=4)
        fitted = hardware.numa_fit_instance_to_host(host, instance, LIMITS)
        cell = fitted.cells[0]
        self.assertEqual((cell.cpu_pinning, cell.cpuset, cell.pcpuset),
                         ({0: 0, 1: 1}, {2, 3}, {0, 1}))

    def test_mixed_cell_without_pinned_vcpus(self):
        """D9: a guest cell of a mixed guest with no pinned vCPU fits with {}."""
        host = NUMATopology(cells=[
            NUMACell(id=0, cpuset={0, 1}, pcpuset={2, 3}, memory=4096, siblings=[{c} for c in range(4)]),
            NUMACell(id=1, cpuset={4, 5}, pcpuset={6, 7}, memory=4096,
                     siblings=[{c} for c in range(4, 8)])])
        instance = guest({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0",
                          "hw:numa_nodes": "2"}, vcpus=4, memory_mb=2048)
        fitted = hardware.numa_fit_instance_to_host(host, instance, LIMITS)
        self.assertEqual([(c.id, c.cpu_pinning, c.cpuset) for c in fitted.cells],
                         [(0, {0: 2}, {1}), (1, {}, {2, 3})])

    def test_pin_instance_cell_directly(self):
        cell = smt_host([0, 2, 4]).cells[0]
        result = hardware.pin_instance_cell(
            cell, InstanceNUMACell(id=0, pcpuset={0, 1}, memory=1, cpu_policy="dedicated"))
        self.assertEqual(result, ({0: 6, 1: 7}, None))


class NetworkAffinityTests(SynchronousTestCase):
    """spec/E §2.10.3: physnet and tunnel NUMA affinity."""

    def host(self):
        return network_affinity_host()

    def fit(self, network):
        limits = NUMATopologyLimits(16.0, 1.5, network)
        return placement(hardware.numa_fit_instance_to_host(self.host(), shared(), limits))

    def test_without_networks_spread_picks_the_first_cell(self):
        self.assertEqual(self.fit(None), ([0], {}))
        self.assertEqual(self.fit(NetworkMetadata({"bar"})), ([0], {}))

    def test_physnet_affinity(self):
        self.assertEqual(self.fit(NetworkMetadata({"foo"})), ([1], {}))

    def test_tunnel_affinity(self):
        self.assertEqual(self.fit(NetworkMetadata(set(), tunneled=True)), ([1], {}))

    def test_affine_cell_full(self):
        host = self.host()
        host.cells[1].cpuset = set()
        limits = NUMATopologyLimits(16.0, 1.5, NetworkMetadata({"foo"}))
        self.assertIsNone(hardware.numa_fit_instance_to_host(host, shared(), limits))


class NUMATopologyFilterTests(SynchronousTestCase):
    """spec/E §2.4: the filter's decision for one host."""

    def passes(self, hst, specs, props=None):
        flavor = Flavor(vcpus=2, memory_mb=1024, extra_specs=specs)
        image = ImageMeta(properties=props or {})
        requested = hardware.numa_get_constraints(flavor, image)
        return hardware.host_passes_numa_topology(hst, requested, flavor, image, LIMITS)

    def test_plain_guest_passes_anywhere(self):
        """spec/E §2.4 test: a host without NUMA info rejects only NUMA guests."""
        self.assertEqual(self.passes(None, {}), (True, None))
        self.assertEqual(self.passes(None, {"hw:numa_nodes": "1"}), (False, None))
        ok, fitted = self.passes(worked_example_host(), {"hw:numa_nodes": "1"})
        self.assertTrue(ok)
        self.assertEqual(fitted.cells[0].id, 1)

    def test_require_on_a_host_without_threads(self):
        specs = {"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"}
        self.assertEqual(self.passes(non_smt_host(), specs), (False, None))
        ok, fitted = self.passes(smt_host(), specs)
        self.assertEqual((ok, fitted.cpu_pinning), (True, {0: 0, 1: 1}))

    def test_does_not_fit(self):
        self.assertEqual(self.passes(non_smt_host(pinned=range(7)), {"hw:cpu_policy": "dedicated"}),
                         (False, None))

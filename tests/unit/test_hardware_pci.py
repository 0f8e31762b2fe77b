"""PCI–NUMA affinity policies in the fit (spec/E §2.10)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx.objects.numa import (
    Flavor,
    InstanceNUMACell,
    InstancePCIRequest,
    NUMACell,
    NUMATopology,
    PciDevicePool,
)
from nova_tx.virt import hardware


def four_cell_host(full=()):
    """Cells 0,1 on socket 0 and 2,3 on socket 1; two pCPUs each; ``full`` all pinned."""
    return NUMATopology(cells=[
        NUMACell(id=i, pcpuset={2 * i, 2 * i + 1}, memory=4096, socket=i // 2,
                 siblings=[{2 * i}, {2 * i + 1}],
                 pinned_cpus={2 * i, 2 * i + 1} if i in full else set())
        for i in range(4)])


def pinned_guest(cells):
    specs = {"hw:cpu_policy": "dedicated", "hw:numa_nodes": str(cells)}
    return hardware.numa_get_constraints(
        Flavor(vcpus=2 * cells, memory_mb=1024 * cells, extra_specs=specs))


def request(policy, count=1):
    return InstancePCIRequest(count=count, spec=[{"vendor_id": "8086", "product_id": "154d"}],
                              alias_name="a1", numa_policy=policy)


def pool(node, count=1, **kwargs):
    return PciDevicePool(count=count, numa_node=node, vendor_id="8086", product_id="154d",
                         **kwargs)


class AffinityMatrixTests(SynchronousTestCase):
    """spec/E §2.10.1 verified matrix: the host cells chosen, or None."""

    def cells(self, policy, guest_cells=1, full=(), node=0):
        fitted = hardware.numa_fit_instance_to_host(
            four_cell_host(full), pinned_guest(guest_cells), None,
            pci_requests=[request(policy)], pci_pools=[pool(node)])
        return None if fitted is None else [c.id for c in fitted.cells]

    def test_device_on_node_0_one_cell_guest(self):
        for policy in ("required", "legacy", "preferred", "socket"):
            self.assertEqual(self.cells(policy), [0], policy)

    def test_device_on_node_0_and_cell_0_full(self):
        expected = {"required": None, "legacy": None, "preferred": [1], "socket": [1]}
        for policy, cells in expected.items():
            self.assertEqual(self.cells(policy, full={0}), cells, policy)

    def test_device_without_numa_node(self):
        expected = {"required": None, "legacy": [0], "preferred": [0], "socket": None}
        for policy, cells in expected.items():
            self.assertEqual(self.cells(policy, node=None), cells, policy)

    def test_two_cell_guest_only_cells_2_and_3_free(self):
        """spec/E §2.10.1, seed L13292: {2,3} is rejected under socket."""
        expected = {"required": None, "legacy": None, "preferred": [2, 3], "socket": None}
        for policy, cells in expected.items():
            self.assertEqual(self.cells(policy, 2, full={0, 1}), cells, policy)

    def test_two_cell_guest_only_cells_1_and_2_free(self):
        """spec/E §2.10.1, seed L13292: {1,2} is accepted under socket."""
        expected = {"required": None, "legacy": None, "preferred": [1, 2], "socket": [1, 2]}
        for policy, cells in expected.items():
            self.assertEqual(self.cells(policy, 2, full={0, 3}), cells, policy)

    def test_unset_policy_is_legacy(self):
        self.assertIsNone(self.cells(None, full={0}))
        self.assertEqual(self.cells(None, node=None), [0])

    def test_socket_policy_needs_socket_information(self):
        host = four_cell_host(full={1})
        fitted = hardware.numa_fit_instance_to_host(
            host, pinned_guest(1), None, pci_requests=[request("socket")],
            pci_pools=[pool(1)])
        self.assertEqual(fitted.cells[0].id, 0)
        host.cells[3].socket = None
        fitted = hardware.numa_fit_instance_to_host(
            host, pinned_guest(1), None, pci_requests=[request("socket")],
            pci_pools=[pool(1)])
        self.assertIsNone(fitted)


class HostCellOrderTests(SynchronousTestCase):
    """spec/E §2.5 step 2c: PCI devices reorder host cells, for pack and spread alike."""

    def test_cells_with_devices_first_when_devices_are_requested(self):
        host = four_cell_host()
        for pack in (False, True):
            order = hardware.sort_host_cells(host, pinned_guest(1), [request("legacy")],
                                             [pool(2, count=2), pool(1)], pack=pack)
            self.assertEqual([c.id for c in order][:2], [2, 1], pack)

    def test_cells_with_devices_last_when_none_are_requested(self):
        host = four_cell_host()
        for pack in (False, True):
            order = hardware.sort_host_cells(host, pinned_guest(1), [], [pool(0), pool(1)],
                                             pack=pack)
            self.assertEqual([c.id for c in order][2:], [0, 1], pack)
            fitted = hardware.numa_fit_instance_to_host(
                host, pinned_guest(1), None, [], [pool(0), pool(1)], pack=pack)
            self.assertEqual(fitted.cells[0].id, 2)

    def test_no_numa_filtering_without_a_guest_topology(self):
        """spec/E §0.1 finding 6: no guest NUMA cells → no affinity check."""
        chosen = hardware.filter_pools([pool(3)], request("required"), numa_cells=None)
        self.assertEqual([p.numa_node for p in chosen], [3])


class PoolFilterTests(SynchronousTestCase):
    def cell(self, host_id):
        return InstanceNUMACell(id=host_id, memory=1)

    def test_spec_matching_is_case_insensitive_and_ored(self):
        pools = [pool(0), PciDevicePool(count=1, numa_node=0, vendor_id="10DE",
                                        product_id="1db4")]
        req = InstancePCIRequest(count=2, spec=[{"vendor_id": "10de"}, {"product_id": "154D"}])
        self.assertEqual(len(hardware.filter_pools(pools, req)), 2)
        req.count = 3
        self.assertIsNone(hardware.filter_pools(pools, req))

    def test_preferred_puts_affine_pools_first(self):
        pools = [pool(1), pool(0)]
        chosen = hardware.filter_pools(pools, request("preferred", count=2),
                                       [self.cell(0)], four_cell_host())
        self.assertEqual([p.numa_node for p in chosen], [0, 1])

    def test_pfs_vdpa_and_remote_managed_only_when_asked(self):
        pools = [pool(0, dev_type="type-PF"), pool(0, dev_type="vdpa"),
                 pool(0, dev_type="type-VF", tags={"remote_managed": "true"})]
        self.assertIsNone(hardware.filter_pools(pools, request("legacy")))
        for spec in ({"dev_type": "type-PF"}, {"dev_type": "vdpa"}, {"remote_managed": "true"}):
            req = InstancePCIRequest(count=1, spec=[{"vendor_id": "8086", **spec}])
            self.assertEqual(len(hardware.filter_pools(pools, req)), 1, spec)

    def test_support_checks_each_request_alone_and_apply_consumes(self):
        """Zed: support_requests does not consume; the claim (apply_requests) does."""
        pools = [pool(0)]
        requests = [request("legacy"), request("legacy")]
        self.assertTrue(hardware.support_requests(pools, requests, [self.cell(0)]))
        self.assertIsNone(hardware.apply_requests(pools, requests, [self.cell(0)]))
        left = hardware.apply_requests([pool(0, count=3)], requests, [self.cell(0)])
        self.assertEqual([(p.numa_node, p.count) for p in left], [(0, 1)])
        self.assertEqual(pools[0].count, 1)

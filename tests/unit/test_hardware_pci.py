"""PCI–NUMA affinity policies in the fit (spec/E §2.10)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import (
    Flavor,
    ImageMeta,
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


ALIAS = '{"vendor_id":"8086","product_id":"154d","device_type":"type-PF","name":"a1"}'


class AliasTests(SynchronousTestCase):
    """spec/E §1.7 and §3.4: [pci] alias and pci_passthrough:alias."""

    def requests(self, specs, props=None, aliases=(ALIAS,)):
        return hardware.get_pci_requests_from_flavor(
            Flavor(vcpus=1, memory_mb=512, extra_specs=specs),
            ImageMeta(properties=props or {}), hardware.parse_pci_aliases(aliases))

    def test_seed_example(self):
        """spec/E §1.7: "a1:2" with the seed's alias → one request for 2 PFs, legacy."""
        (req,) = self.requests({"pci_passthrough:alias": "a1:2"})
        self.assertEqual((req.count, req.alias_name, req.numa_policy, req.spec),
                         (2, "a1", "legacy",
                          [{"vendor_id": "8086", "product_id": "154d", "dev_type": "type-PF"}]))

    def test_entries_with_one_name_are_ored(self):
        aliases = ['{"name": "gpu", "vendor_id": "10de", "product_id": "1db4"}',
                   {"name": "gpu", "vendor_id": "10de", "product_id": "1db5"}]
        reqs = self.requests({"pci_passthrough:alias": "gpu:1, a1:1"},
                             aliases=aliases + [ALIAS])
        self.assertEqual([(r.alias_name, len(r.spec)) for r in reqs], [("gpu", 2), ("a1", 1)])

    def test_undefined_alias(self):
        """spec/E §1.7 test: alias a9 undefined → 400 "PCI alias a9 is not defined"."""
        e = self.assertRaises(exception.PciRequestAliasNotDefined, self.requests,
                              {"pci_passthrough:alias": "a9:1"})
        self.assertEqual((e.code, e.format_message()), (400, "PCI alias a9 is not defined"))

    def test_flavor_policy_overrides_the_alias_policy(self):
        """spec/E §1.7 test: alias numa_policy=preferred + flavor required → required."""
        alias = '{"name": "a1", "vendor_id": "8086", "numa_policy": "preferred"}'
        (req,) = self.requests({"pci_passthrough:alias": "a1:1"}, aliases=[alias])
        self.assertEqual(req.numa_policy, "preferred")
        (req,) = self.requests({"pci_passthrough:alias": "a1:1",
                                "hw:pci_numa_affinity_policy": "required"}, aliases=[alias])
        self.assertEqual(req.numa_policy, "required")
        (req,) = self.requests({"pci_passthrough:alias": "a1:1"},
                               {"hw_pci_numa_affinity_policy": "socket"}, aliases=[alias])
        self.assertEqual(req.numa_policy, "socket")

    def test_malformed_extra_spec(self):
        e = self.assertRaises(exception.InvalidRequest, self.requests,
                              {"pci_passthrough:alias": "a1"})
        self.assertIn("pci_passthrough:alias", e.format_message())

    def test_no_alias_no_requests(self):
        self.assertEqual(self.requests({}), [])

    def test_invalid_aliases(self):
        """spec/E §3.4 test: device_type mismatch across entries of one name → PciInvalidAlias."""
        cases = [
            (['{"name": "a", "device_type": "type-PF"}', '{"name": "a", "device_type": "type-VF"}'],
             "Device type mismatch for alias 'a'"),
            (['{"name": "a", "numa_policy": "required"}', '{"name": "a"}'],
             "NUMA policy mismatch for alias 'a'"),
            (['{"name": "a", "colour": "red"}'], "'colour'"),
            (['{"vendor_id": "8086"}'], "'name'"),
            (['{"name": "a", "vendor_id": "80861"}'], "'vendor_id'"),
            (['{"name": "a", "numa_policy": "nearby"}'], "'numa_policy'"),
            (['{"name": "a", "device_type": "type-XX"}'], "'device_type'"),
            (['not json'], "Invalid PCI alias definition"),
        ]
        for aliases, text in cases:
            e = self.assertRaises(exception.PciInvalidAlias, hardware.parse_pci_aliases, aliases)
            self.assertIn(text, e.format_message())
            self.assertEqual(e.code, 400)

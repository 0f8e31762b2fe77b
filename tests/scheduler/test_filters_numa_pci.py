"""NUMATopologyFilter and PciPassthroughFilter: the kernel's answers over host rows."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.objects.numa import InstancePCIRequest, NUMATopologyLimits, PciDevicePool
from nova_tx.scheduler.filters.numa_topology_filter import NUMATopologyFilter
from nova_tx.scheduler.filters.pci_passthrough_filter import PciPassthroughFilter
from nova_tx.virt import numa_fit
from tests.scheduler.hosts import (
    flavor,
    make_conf,
    node,
    numa_guest,
    passing,
    spec,
    states,
    two_cell_host,
)

PCI = dict(vendor_id="8086", product_id="154d")


def pci_request(count=1, **spec_):
    return InstancePCIRequest(count=count, spec=[dict(PCI, **spec_)], alias_name="a1")


class NUMATopologyFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.filter = NUMATopologyFilter(make_conf())

    def test_spec_example_numa_nodes(self):
        # 2 x 4-pCPU cells: 6 dedicated vCPUs fit on two nodes, not on one.
        hs = states(node("h1", numa_topology=two_cell_host()))
        one = numa_guest(6, hw__cpu_policy="dedicated", hw__numa_nodes="1")
        two = numa_guest(6, hw__cpu_policy="dedicated", hw__numa_nodes="2")
        self.assertEqual([], passing(self.filter, hs, spec(
            flavor(6, **{"hw:cpu_policy": "dedicated", "hw:numa_nodes": "1"}),
            numa_topology=one)))
        self.assertEqual(["h1"], passing(self.filter, hs, spec(
            flavor(6, **{"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"}),
            numa_topology=two)))

    def test_guest_without_topology_passes_everywhere(self):
        hs = states(node("numa", numa_topology=two_cell_host()), node("plain"))
        self.assertEqual(["numa", "plain"], passing(self.filter, hs, spec()))

    def test_numa_guest_needs_a_host_topology(self):
        hs = states(node("numa", numa_topology=two_cell_host()), node("plain"))
        guest = numa_guest(2, hw__cpu_policy="dedicated")
        self.assertEqual(["numa"], passing(self.filter, hs, spec(
            flavor(2, **{"hw:cpu_policy": "dedicated"}), numa_topology=guest)))

    def test_thread_policy_require_needs_smt(self):
        hs = states(node("smt", numa_topology=two_cell_host(smt=True)),
                    node("flat", numa_topology=two_cell_host()))
        specs = {"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"}
        guest = numa_guest(2, hw__cpu_policy="dedicated", hw__cpu_thread_policy="require")
        self.assertEqual(["smt"], passing(self.filter, hs, spec(flavor(2, **specs),
                                                                numa_topology=guest)))

    def test_agrees_with_the_reference_host_by_host(self):
        hosts = [two_cell_host(pinned=({0, 1, 2}, set())), two_cell_host(pinned=({0}, {4, 5})),
                 two_cell_host(memory=512), two_cell_host(pcpus_per_cell=8)]
        hs = states(*[node(f"h{i}", numa_topology=t) for i, t in enumerate(hosts)])
        for vcpus, nodes in ((2, 1), (4, 2), (6, 2), (3, 1)):
            guest = numa_guest(vcpus, hw__cpu_policy="dedicated", hw__numa_nodes=str(nodes))
            got = passing(self.filter, hs, spec(flavor(vcpus), numa_topology=guest))
            want = [f"h{i}" for i, t in enumerate(hosts)
                    if numa_fit.numa_fit_instance_to_host(
                        t, guest, NUMATopologyLimits(16.0, 1.5)) is not None]
            self.assertEqual(want, got, (vcpus, nodes))


class PciPassthroughFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.filter = PciPassthroughFilter(make_conf())
        self.hs = states(
            node("none"),
            node("one", pci_pools=[PciDevicePool(count=1, numa_node=0, **PCI)]),
            node("two", pci_pools=[PciDevicePool(count=1, numa_node=0, **PCI),
                                   PciDevicePool(count=1, numa_node=1, **PCI),
                                   PciDevicePool(count=4, numa_node=0, vendor_id="10de",
                                                 product_id="1eb8")]),
            node("pf", pci_pools=[PciDevicePool(count=3, dev_type="type-PF", **PCI)]))

    def check(self, expected, *requests):
        self.assertEqual(expected, passing(self.filter, self.hs,
                                           spec(pci_requests=list(requests))))

    def test_no_requests_pass_everywhere(self):
        self.check(["none", "one", "two", "pf"])

    def test_counts(self):
        self.check(["one", "two"], pci_request(1))
        self.check(["two"], pci_request(2))
        self.check([], pci_request(3))

    def test_each_request_on_its_own(self):
        self.check(["two"], pci_request(1),
                   InstancePCIRequest(count=4, spec=[{"vendor_id": "10de"}]))

    def test_pf_pools_only_for_pf_requests(self):
        self.check(["pf"], pci_request(2, dev_type="type-PF"))

    def test_claims_reach_the_filter(self):
        row = self.hs.row_of("two", "two")
        self.hs.consume_from_request(row, spec(pci_requests=[pci_request(1)]))
        self.check(["one", "two"], pci_request(1))
        self.check([], pci_request(2))

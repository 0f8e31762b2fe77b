"""The depth-first search of ``numa_fit_instance_to_host`` is Nova's permutation walk.

``nova_permutation_walk`` below is the literal shape of Nova's loop (spec/E §2.5 steps
3–7: every permutation of the sorted host cells in order, each pair fitted, then the
PCI and network checks). Hypothesis compares the two on random hosts and guests:
same fit or no fit, same host cells, same pinning, same page sizes.
"""
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import (
    Flavor,
    InstanceNUMATopology,
    InstancePCIRequest,
    NetworkMetadata,
    NUMACell,
    NUMAPagesTopology,
    NUMATopology,
    NUMATopologyLimits,
    PciDevicePool,
)
from nova_tx.virt import hardware, numa_fit, pci_affinity
from tests.unit.numa_helpers import draw_cpu_layout, draw_network_metadata, draw_pinning_policies


def nova_permutation_walk(host, guest, limits, pci_requests, pci_pools, pack):
    if not host or not guest or len(host.cells) < len(guest.cells):
        return None
    ordered = hardware.sort_host_cells(host, guest, pci_requests, pci_pools, pack)
    for perm in itertools.permutations(ordered, len(guest.cells)):
        chosen = []
        for host_cell, guest_cell in zip(perm, guest.cells, strict=True):
            reserved = 1 if guest.emulator_threads_isolated and not chosen else 0
            try:
                got = hardware.fit_instance_cell(host_cell, guest_cell, limits, reserved)
            except exception.MemoryPageSizeNotSupported:
                break
            if got is None:
                break
            chosen.append(got)
        if len(chosen) != len(perm):
            continue
        if pci_requests and pci_pools is not None and not pci_affinity.support_requests(
                pci_pools, pci_requests, chosen, host):
            continue
        network = limits.network_metadata if limits else None
        if not numa_fit._network_affinity_ok(host, list(perm), network):
            continue
        return InstanceNUMATopology(cells=chosen,
                                    emulator_threads_policy=guest.emulator_threads_policy)
    return None


@st.composite
def host_cells(draw, cell_id, first_cpu):
    smt = draw(st.booleans())
    cores = draw(st.integers(1, 6))
    threads = 2 if smt else 1
    cpus = list(range(first_cpu, first_cpu + cores * threads))
    siblings = [set(cpus[i:i + threads]) for i in range(0, len(cpus), threads)]
    cpuset, pcpuset = draw_cpu_layout(draw, cpus)
    pinned = set()
    if pcpuset and draw(st.booleans()):
        pinned = set(draw(st.lists(st.sampled_from(sorted(pcpuset)), unique=True, max_size=3)))
    memory = draw(st.sampled_from([1024, 2048, 4096]))
    mempages = []
    if draw(st.booleans()):
        mempages = [NUMAPagesTopology(4, memory * 256, used=draw(st.sampled_from([0, memory * 128]))),
                    NUMAPagesTopology(2048, draw(st.integers(0, 4)),
                                      used=draw(st.integers(0, 1)))]
    return NUMACell(
        id=cell_id, cpuset=cpuset, pcpuset=pcpuset, memory=memory, siblings=siblings,
        cpu_usage=draw(st.integers(0, 3)), memory_usage=draw(st.sampled_from([0, 512, memory])),
        pinned_cpus=pinned, mempages=mempages, socket=cell_id // 2,
        network_metadata=draw_network_metadata(draw))


@st.composite
def hosts(draw):
    count = draw(st.integers(1, 4))
    return NUMATopology(cells=[draw(host_cells(i, 16 * i)) for i in range(count)])


@st.composite
def guests(draw):
    nodes = draw(st.sampled_from([1, 2, 2, 3]))
    vcpus = nodes * draw(st.integers(1, 2))
    specs = {"hw:numa_nodes": str(nodes)}
    policy = draw(st.sampled_from([None, "shared", "dedicated", "mixed"]))
    if policy:
        specs["hw:cpu_policy"] = policy
    if policy == "mixed":
        if vcpus < 2:
            vcpus = 2 * nodes
        specs["hw:cpu_dedicated_mask"] = str(draw(st.integers(0, vcpus - 1)))
    draw_pinning_policies(draw, specs, policy)
    page = draw(st.sampled_from([None, "small", "large", "any", "2MB", "1GB"]))
    if page:
        specs["hw:mem_page_size"] = page
    memory = nodes * draw(st.sampled_from([256, 512, 2048]))
    return hardware.numa_get_constraints(Flavor(vcpus=vcpus, memory_mb=memory,
                                                extra_specs=specs))


@st.composite
def pci(draw):
    if not draw(st.booleans()):
        return [], None
    pools = [PciDevicePool(count=draw(st.integers(1, 3)),
                           numa_node=draw(st.sampled_from([None, 0, 1, 2, 3])),
                           vendor_id="8086", product_id="154d")
             for _ in range(draw(st.integers(0, 4)))]
    requests = [InstancePCIRequest(count=draw(st.integers(1, 3)),
                                   spec=[{"vendor_id": "8086"}],
                                   numa_policy=draw(st.sampled_from(
                                       [None, "required", "legacy", "preferred", "socket"])))
                for _ in range(draw(st.integers(1, 2)))]
    return requests, pools


def summary(fitted):
    if fitted is None:
        return None
    return [(c.id, c.cpu_pinning, c.cpuset_reserved, c.pagesize) for c in fitted.cells]


class SearchEquivalenceTests(SynchronousTestCase):
    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(hosts(), guests(), st.booleans(), st.booleans(), pci(),
           st.sampled_from([None, NetworkMetadata({"p0"}), NetworkMetadata(set(), True)]))
    def test_same_answer_as_the_permutation_walk(self, host, guest, pack, use_limits,
                                                 pci_args, network):
        limits = NUMATopologyLimits(2.0, 1.0, network) if use_limits else None
        requests, pools = pci_args
        expected = nova_permutation_walk(host, guest, limits, requests, pools, pack)
        actual = hardware.numa_fit_instance_to_host(host, guest, limits, requests, pools, pack)
        self.assertEqual(summary(actual), summary(expected))

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(hosts(), guests(), st.booleans())
    def test_claim_then_release_restores_the_host(self, host, guest, pack):
        claimed = hardware.claim(host, guest, NUMATopologyLimits(4.0, 1.0), pack=pack)
        if claimed is None or claimed[0] is None:
            return
        fitted, after = claimed
        self.assertEqual(hardware.release(after, fitted).to_dict(), host.to_dict())


class FitInvariantTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(hosts(), guests(), st.booleans())
    def test_a_fit_only_uses_free_resources(self, host, guest, pack):
        fitted = hardware.numa_fit_instance_to_host(host, guest, NUMATopologyLimits(4.0, 1.0),
                                                    pack=pack)
        if fitted is None:
            return
        cells = {c.id: c for c in host.cells}
        ids = [c.id for c in fitted.cells]
        self.assertEqual(len(set(ids)), len(ids))
        for index, (wanted, got) in enumerate(zip(guest.cells, fitted.cells, strict=True)):
            host_cell = cells[got.id]
            self.assertEqual((got.cpuset, got.pcpuset, got.memory),
                             (wanted.cpuset, wanted.pcpuset, wanted.memory))
            if wanted.cpu_policy in ("dedicated", "mixed"):
                pins = got.cpu_pinning
                self.assertEqual(set(pins), wanted.pcpuset)
                self.assertEqual(len(set(pins.values())), len(pins))
                self.assertLessEqual(set(pins.values()), host_cell.free_pcpus)
                reserved = got.cpuset_reserved or set()
                if guest.emulator_threads_isolated and index == 0:
                    self.assertEqual(len(reserved), 1)
                else:
                    self.assertEqual(reserved, set())
                self.assertLessEqual(reserved, host_cell.free_pcpus - set(pins.values()))
                if wanted.cpu_thread_policy == "isolate":
                    cores = [i for p in pins.values()
                             for i, sib in enumerate(host_cell.siblings) if p in sib]
                    self.assertEqual(len(set(cores)), len(cores))
            else:
                self.assertFalse(got.cpu_pinning)
            if wanted.pagesize:
                self.assertIn(got.pagesize, [p.size_kb for p in host_cell.mempages])

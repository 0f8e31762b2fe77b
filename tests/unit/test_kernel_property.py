"""Hypothesis holds the compiled NUMA kernel to the reference (spec/E §2.5–§2.10).

On random host topologies (SMT or not, legacy/split/dedicated/shared layouts, usage,
pinned CPUs, page pools, odd sibling lists, sockets, network affinity, PCI pools),
random guests (every CPU policy, thread policy, emulator policy and page size; one to
five cells, even or asymmetric) and random requests (limits, pack or spread, PCI
requests of every NUMA policy, physnets and tunnels), ``kernel.fit_host`` and
``kernel.fit_hosts`` must return exactly what ``numa_fit_instance_to_host`` returns:
same fit or no fit, same host cells, same pinning, page sizes and emulator pCPU.

10,000 generated cases in all: 1,100 of them on roomy hosts where PCI and network
affinity decide the cells, 1,000 through the kernel's set search (its answer when PCI
or network checks keep failing), 300 through row updates and 200 through the claim.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from nova_tx.objects.numa import (
    Flavor,
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
from tests.unit.numa_helpers import draw_cpu_layout, draw_network_metadata, draw_pinning_policies

SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def host_cells(draw, cell_id, first_cpu, threads=None):
    threads = threads or draw(st.sampled_from([1, 1, 2, 2, 4]))
    cores = draw(st.integers(1, 6))
    cpus = list(range(first_cpu, first_cpu + cores * threads))
    if threads > 1 and draw(st.booleans()):
        # Linux-style numbering: thread t of core c is c + t * cores.
        siblings = [{first_cpu + c + t * cores for t in range(threads)} for c in range(cores)]
    else:
        siblings = [set(cpus[i:i + threads]) for i in range(0, len(cpus), threads)]
    odd = draw(st.sampled_from(["", "", "", "", "partial", "overlap", "none"]))
    if odd == "partial":
        # Some CPUs belong to no sibling set (they can never be pinned).
        siblings = siblings[:draw(st.integers(0, len(siblings)))]
    elif odd == "overlap":
        siblings.append({cpus[0], cpus[-1]})
    elif odd == "none":
        siblings = []
    cpuset, pcpuset = draw_cpu_layout(draw, cpus)
    pinned = set()
    if pcpuset and draw(st.booleans()):
        pinned = set(draw(st.lists(st.sampled_from(sorted(pcpuset)), unique=True,
                                   max_size=max(1, len(pcpuset) // 2))))
    memory = draw(st.sampled_from([2048, 4096, 8192]))
    mempages = []
    if draw(st.integers(0, 3)):
        mempages = [NUMAPagesTopology(4, memory * 256,
                                      used=draw(st.sampled_from([0, 0, memory * 64, memory * 256])))]
        if draw(st.booleans()):
            mempages.append(NUMAPagesTopology(2048, draw(st.integers(0, 1024)),
                                              used=draw(st.integers(0, 256)),
                                              reserved=draw(st.sampled_from([0, 0, 64]))))
        if draw(st.booleans()):
            mempages.append(NUMAPagesTopology(1048576, draw(st.integers(0, 4)),
                                              used=draw(st.integers(0, 2))))
        mempages = draw(st.permutations(mempages))
    return NUMACell(
        id=cell_id, cpuset=cpuset, pcpuset=pcpuset, memory=memory, siblings=siblings,
        cpu_usage=draw(st.sampled_from([0, 0, 2, 12])),
        memory_usage=draw(st.sampled_from([0, 0, 512, memory // 2, memory])),
        pinned_cpus=pinned, mempages=list(mempages),
        socket=draw(st.sampled_from([cell_id // 2, cell_id // 2, None])),
        network_metadata=draw_network_metadata(draw))


@st.composite
def hosts(draw, max_cells=4):
    count = draw(st.integers(1, max_cells))
    threads = draw(st.sampled_from([None, 1, 2]))
    ids = draw(st.sampled_from(["plain", "shuffled"]))
    cell_ids = list(range(count))
    if ids == "shuffled":
        cell_ids = draw(st.permutations(cell_ids))
    return NUMATopology(cells=[draw(host_cells(cid, 32 * i, threads))
                               for i, cid in enumerate(cell_ids)])


@st.composite
def guests(draw, max_nodes=3):
    nodes = draw(st.integers(1, max_nodes))
    vcpus = nodes * draw(st.integers(1, 3))
    specs = {}
    if nodes > 1 or draw(st.booleans()):
        specs["hw:numa_nodes"] = str(nodes)
    policy = draw(st.sampled_from([None, "shared", "dedicated", "dedicated", "mixed"]))
    if policy:
        specs["hw:cpu_policy"] = policy
    if policy == "mixed":
        if vcpus < 2:
            vcpus = 2 * nodes
        mask = draw(st.lists(st.integers(0, vcpus - 1), min_size=1, max_size=vcpus - 1,
                             unique=True))
        specs["hw:cpu_dedicated_mask"] = ",".join(map(str, sorted(mask)))
    draw_pinning_policies(draw, specs, policy)
    page = draw(st.sampled_from([None, None, "small", "large", "any", "2MB", "1GB", "16"]))
    if page:
        specs["hw:mem_page_size"] = page
    memory = nodes * draw(st.sampled_from([256, 512, 1024, 1536, 2048]))
    if nodes > 1 and draw(st.booleans()):
        # An asymmetric guest: hw:numa_cpus.N / hw:numa_mem.N.
        cuts = sorted(draw(st.lists(st.integers(1, vcpus - 1), min_size=nodes - 1,
                                    max_size=nodes - 1, unique=True))) if vcpus > nodes \
            else list(range(1, nodes))
        bounds = [0, *cuts, vcpus]
        mems = [draw(st.sampled_from([256, 512, 1024, 2048, 3072])) for _ in range(nodes)]
        memory = sum(mems)
        for i in range(nodes):
            specs[f"hw:numa_cpus.{i}"] = ",".join(map(str, range(bounds[i], bounds[i + 1])))
            specs[f"hw:numa_mem.{i}"] = str(mems[i])
    return hardware.numa_get_constraints(Flavor(vcpus=vcpus, memory_mb=memory,
                                                extra_specs=specs))


@st.composite
def pci(draw, max_node=4):
    if not draw(st.booleans()):
        return [], None
    pools = [PciDevicePool(count=draw(st.integers(0, 4)),
                           numa_node=draw(st.sampled_from([None, *range(max_node), 9])),
                           vendor_id=draw(st.sampled_from(["8086", "15b3"])),
                           product_id="154d",
                           dev_type=draw(st.sampled_from(["type-PCI", "type-VF", "type-VF",
                                                          "type-PF", "vdpa"])),
                           tags=draw(st.sampled_from([{}, {}, {"remote_managed": "true"},
                                                      {"physical_network": "p0"}])))
             for _ in range(draw(st.integers(0, 6)))]
    specs = st.sampled_from([[{"vendor_id": "8086"}], [{"vendor_id": "8086"}],
                             [{"vendor_id": "15B3"}],
                             [{"vendor_id": "8086"}, {"dev_type": "type-PF"}],
                             [{"dev_type": "vdpa"}], [{"remote_managed": "yes"}],
                             [{"physical_network": "p0"}], [{"numa_node": 1}]])
    requests = [InstancePCIRequest(count=draw(st.integers(1, 2)), spec=draw(specs),
                                   numa_policy=draw(st.sampled_from(
                                       [None, "required", "legacy", "preferred", "socket"])))
                for _ in range(draw(st.integers(0 if pools else 1, 2)))]
    return requests, pools


@st.composite
def roomy_hosts(draw):
    """Hosts with room on most cells, where PCI and network affinity decide the cells."""
    count = draw(st.integers(2, 6))
    threads = draw(st.sampled_from([1, 2]))
    cells = []
    for i in range(count):
        cpus = list(range(16 * i, 16 * i + 8 * threads))
        full = draw(st.integers(0, 4)) == 0
        cells.append(NUMACell(
            id=i, cpuset=set(cpus[:2]), pcpuset=set(cpus[2:]), memory=8192,
            memory_usage=8192 if full else draw(st.sampled_from([0, 2048])),
            siblings=[set(cpus[j:j + threads]) for j in range(0, len(cpus), threads)],
            socket=i // 2,
            network_metadata=NetworkMetadata(
                set(draw(st.lists(st.sampled_from(["p0", "p1"]), unique=True, max_size=1))),
                draw(st.integers(0, 3)) == 0)))
    return NUMATopology(cells=cells)


@st.composite
def affinity_requests(draw, cells):
    pools = [PciDevicePool(count=draw(st.integers(1, 2)),
                           numa_node=draw(st.sampled_from([None, *range(cells)])),
                           vendor_id="8086",
                           dev_type=draw(st.sampled_from(["type-VF", "type-VF", "type-PF"])))
             for _ in range(draw(st.integers(1, 3)))]
    requests = [InstancePCIRequest(
        count=draw(st.integers(1, 2)),
        spec=draw(st.sampled_from([[{"vendor_id": "8086"}],
                                   [{"vendor_id": "8086", "dev_type": "type-PF"}]])),
        numa_policy=draw(st.sampled_from(["required", "socket", "legacy", "preferred"])))
        for _ in range(draw(st.integers(0, 2)))]
    return requests, pools


limits_strategy = st.one_of(
    st.none(),
    st.builds(NUMATopologyLimits, st.sampled_from([1.0, 2.0, 16.0]),
              st.sampled_from([1.0, 1.5]),
              st.sampled_from([None, NetworkMetadata({"p0"}), NetworkMetadata({"p0", "p1"}),
                               NetworkMetadata(set(), True), NetworkMetadata({"p1"}, True)])))


class KernelEqualsReferenceTests(SynchronousTestCase):
    def setUp(self):
        if not kernel.kernel_available():
            unavailable("the compiled kernel is not built")

    @settings(max_examples=4600, **SETTINGS)
    @given(hosts(), guests(), st.booleans(), limits_strategy, pci())
    def test_one_host(self, host, guest, pack, limits, pci_args):
        requests, pools = pci_args
        expected = hardware.numa_fit_instance_to_host(host, guest, limits, requests, pools,
                                                      pack)
        actual = kernel.fit_host(host, guest, limits, requests, pools, pack)
        self.assertEqual(actual, expected)

    @settings(max_examples=2000, **SETTINGS)
    @given(hosts(max_cells=8), guests(max_nodes=5), st.booleans(), limits_strategy,
           pci(max_node=8))
    def test_many_cells(self, host, guest, pack, limits, pci_args):
        """Wider hosts and guests, where the search order matters most."""
        requests, pools = pci_args
        expected = hardware.numa_fit_instance_to_host(host, guest, limits, requests, pools,
                                                      pack)
        actual = kernel.fit_host(host, guest, limits, requests, pools, pack)
        self.assertEqual(actual, expected)

    @settings(max_examples=800, **SETTINGS)
    @given(st.lists(st.tuples(st.one_of(st.none(), hosts()), pci(),
                              st.sampled_from([1.0, 4.0, 16.0]), st.sampled_from([1.0, 1.5])),
                    min_size=1, max_size=6),
           guests(), st.booleans(), st.booleans(), limits_strategy, st.data())
    def test_many_hosts_in_one_call(self, host_list, guest, pack, host_limits, limits, data):
        """One call over several rows (per-host ratios, pools, rows without NUMA)."""
        topologies = [h for h, _, _, _ in host_list]
        pools = [p[1] for _, p, _, _ in host_list]
        requests = data.draw(st.sampled_from([p[0] for _, p, _, _ in host_list]))
        arrays = HostArrays.from_topologies(topologies, pools,
                                            [c for _, _, c, _ in host_list],
                                            [r for _, _, _, r in host_list])
        request = kernel.FitRequest(guest, limits, requests, pack, host_limits)
        rows = list(range(len(topologies)))
        result = kernel.fit_hosts(request, arrays, want_details_for=rows)
        for row, (host, (_, host_pools), cpu, ram) in enumerate(host_list):
            host_limit = limits
            if host_limits:
                host_limit = NUMATopologyLimits(cpu, ram, limits.network_metadata
                                                if limits else None)
            expected = hardware.numa_fit_instance_to_host(host, guest, host_limit,
                                                          requests, host_pools, pack)
            self.assertEqual(result.fitted[row], expected)
            self.assertEqual(bool(result.fits[row]), expected is not None)

    @settings(max_examples=300, **SETTINGS)
    @given(st.lists(hosts(), min_size=2, max_size=4), st.lists(hosts(max_cells=6), min_size=1,
                                                               max_size=3),
           guests(), st.booleans(), st.data())
    def test_updated_rows_equal_rebuilt_rows(self, before, after, guest, pack, data):
        """``update_host`` (growing the arrays when needed) equals a fresh build."""
        arrays = HostArrays.from_topologies(before, [None] * len(before))
        current = list(before)
        current_pools = [None] * len(before)
        for host in after:
            row = data.draw(st.integers(0, len(before) - 1))
            pools = data.draw(pci(max_node=6))[1]
            arrays.update_host(row, host, pools)
            current[row] = host
            current_pools[row] = pools
        rebuilt = HostArrays.from_topologies(current, current_pools)
        request = kernel.FitRequest(guest, NUMATopologyLimits(4.0, 1.0), [], pack)
        rows = range(len(current))
        got = kernel.fit_hosts(request, arrays, want_details_for=rows)
        want = kernel.fit_hosts(request, rebuilt, want_details_for=rows)
        self.assertEqual(got.fits.tolist(), want.fits.tolist())
        self.assertEqual(got.fitted, want.fitted)
        for row in rows:
            self.assertEqual(got.fitted[row], hardware.numa_fit_instance_to_host(
                current[row], guest, NUMATopologyLimits(4.0, 1.0), [], current_pools[row],
                pack))


class AffinityEqualsReferenceTests(SynchronousTestCase):
    """PCI and network affinity that moves guests off the first sorted cells."""

    def setUp(self):
        if not kernel.kernel_available():
            unavailable("the compiled kernel is not built")

    @settings(max_examples=1100, **SETTINGS)
    @given(roomy_hosts(), st.integers(1, 3), st.sampled_from([None, "isolate"]),
           st.booleans(), st.sampled_from([None, NetworkMetadata({"p0"}),
                                           NetworkMetadata({"p0", "p1"}),
                                           NetworkMetadata(set(), True)]), st.data())
    def test_affinity(self, host, nodes, emulator, pack, network, data):
        specs = {"hw:cpu_policy": "dedicated", "hw:numa_nodes": str(nodes)}
        if emulator:
            specs["hw:emulator_threads_policy"] = emulator
        guest = hardware.numa_get_constraints(Flavor(vcpus=2 * nodes, memory_mb=2048 * nodes,
                                                     extra_specs=specs))
        requests, pools = data.draw(affinity_requests(len(host.cells)))
        limits = NUMATopologyLimits(16.0, 1.5, network)
        expected = hardware.numa_fit_instance_to_host(host, guest, limits, requests, pools,
                                                      pack)
        actual = kernel.fit_host(host, guest, limits, requests, pools, pack)
        self.assertEqual(actual, expected)


class SetSearchEqualsReferenceTests(SynchronousTestCase):
    """The kernel's set search (used when PCI or network checks keep failing) agrees too."""

    def setUp(self):
        if not kernel.kernel_available():
            unavailable("the compiled kernel is not built")
        self.patch(kernel, "_FORCE_SET_SEARCH", True)

    @settings(max_examples=1000, **SETTINGS)
    @given(hosts(max_cells=6), guests(max_nodes=4), st.booleans(), limits_strategy,
           pci(max_node=6))
    def test_set_search(self, host, guest, pack, limits, pci_args):
        requests, pools = pci_args
        expected = hardware.numa_fit_instance_to_host(host, guest, limits, requests, pools,
                                                      pack)
        actual = kernel.fit_host(host, guest, limits, requests, pools, pack)
        self.assertEqual(actual, expected)


class ClaimEqualsReferenceTests(SynchronousTestCase):
    def setUp(self):
        if not kernel.kernel_available():
            unavailable("the compiled kernel is not built")

    @settings(max_examples=200, **SETTINGS)
    @given(hosts(), st.one_of(st.none(), guests()), st.booleans())
    def test_claim(self, host, guest, pack):
        """``kernel.claim`` accounts exactly what ``hardware.claim`` does."""
        limits = NUMATopologyLimits(4.0, 1.0)
        self.assertEqual(kernel.claim(host, guest, limits, pack=pack),
                         hardware.claim(host, guest, limits, pack=pack))

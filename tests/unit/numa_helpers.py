"""Host and guest builders shared by the NUMA fitting tests.

The reference tests (``test_hardware_numa_fit``), the kernel tests (``test_kernel``) and
the two hypothesis suites (``test_hardware_search``, ``test_kernel_property``) build the
same spec/E worked-example hosts and guests; they live here once so that an example
fixed in one suite is fixed in all of them.
"""
from hypothesis import strategies as st

from nova_tx.objects.numa import (
    Flavor,
    ImageMeta,
    NetworkMetadata,
    NUMACell,
    NUMAPagesTopology,
    NUMATopology,
    NUMATopologyLimits,
)
from nova_tx.virt import hardware

LIMITS = NUMATopologyLimits(cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5)
SMT_SIBLINGS = [{0, 1}, {2, 3}, {4, 5}, {6, 7}]


def guest(specs=None, vcpus=2, memory_mb=1024, props=None):
    """The guest NUMA topology a flavor (extra specs) and image (properties) ask for."""
    return hardware.numa_get_constraints(
        Flavor(vcpus=vcpus, memory_mb=memory_mb, extra_specs=dict(specs or {})),
        ImageMeta(properties=dict(props or {})))


def shared(cells=1, vcpus=2, memory_mb=1024):
    return guest({"hw:numa_nodes": str(cells)}, vcpus, memory_mb)


def dedicated(vcpus=2, memory_mb=1024, **specs):
    return guest({"hw:cpu_policy": "dedicated", **specs}, vcpus, memory_mb)


def placement(fitted):
    """(host cell ids, {vcpu: pcpu}) of a fit result, or None."""
    if fitted is None:
        return None
    return [c.id for c in fitted.cells], fitted.cpu_pinning


def worked_example_host():
    """spec/E §2.5: three cells of 4 shared + 4 dedicated CPUs, 8192 MiB each."""
    def cell(i, **usage):
        return NUMACell(id=i, cpuset=set(range(8 * i, 8 * i + 4)),
                        pcpuset=set(range(8 * i + 4, 8 * i + 8)), memory=8192,
                        siblings=[{c} for c in range(8 * i, 8 * i + 8)], **usage)
    return NUMATopology(cells=[
        cell(0, cpu_usage=2, memory_usage=4096, pinned_cpus={4}),
        cell(1),
        cell(2, cpu_usage=1, memory_usage=6144, pinned_cpus={20, 21}),
    ])


def paged_cell(**pages):
    """spec/E §2.7: 4 KiB ×1048576, 2 MiB ×1024, 1 GiB ×4 (10 GiB of memory)."""
    return NUMACell(id=0, cpuset={0, 1, 2, 3}, memory=10240,
                    mempages=[NUMAPagesTopology(4, 1048576), NUMAPagesTopology(2048, 1024),
                              NUMAPagesTopology(1048576, 4, **pages)])


def smt_host(pinned=(), legacy=False, siblings=SMT_SIBLINGS, pcpus=range(8), cpuset=None):
    """spec/E §2.8: one cell of 8 dedicated CPUs (SMT pairs unless ``siblings`` says)."""
    pcpuset = set(pcpus)
    if cpuset is None:
        cpuset = set(pcpuset) if legacy else set()
    return NUMATopology(cells=[NUMACell(id=0, cpuset=cpuset, pcpuset=pcpuset, memory=16384,
                                        pinned_cpus=set(pinned), siblings=siblings)])


def non_smt_host(**kwargs):
    return smt_host(siblings=[{c} for c in range(8)], **kwargs)


def network_affinity_host():
    """spec/E §2.10.3: cell 1 is affine to physnet ``foo`` and to tunnels."""
    return NUMATopology(cells=[
        NUMACell(id=0, cpuset={0, 1}, memory=4096),
        NUMACell(id=1, cpuset={2, 3}, memory=4096,
                 network_metadata=NetworkMetadata({"foo"}, tunneled=True))])


# Hypothesis pieces: each draws exactly what the suites drew before, in the same order.

def draw_cpu_layout(draw, cpus):
    """(cpuset, pcpuset) of a host cell: legacy (both), split, all dedicated or all shared."""
    layout = draw(st.sampled_from(["legacy", "split", "dedicated", "shared"]))
    if layout == "legacy":
        both = set(cpus)  # one set for both, as the suites always built it
        return both, both
    if layout == "dedicated":
        return set(), set(cpus)
    if layout == "shared":
        return set(cpus), set()
    pcpuset = set(draw(st.lists(st.sampled_from(cpus), unique=True)))
    return set(cpus) - pcpuset, pcpuset


def draw_network_metadata(draw):
    """A host cell's NUMA-affine physnets (of ``p0``, ``p1``) and tunnel affinity."""
    return NetworkMetadata(set(draw(st.lists(st.sampled_from(["p0", "p1"]), unique=True))),
                           draw(st.booleans()))


def draw_pinning_policies(draw, specs, policy):
    """Add a thread policy and an emulator threads policy to a pinned guest's specs."""
    if policy in ("dedicated", "mixed"):
        thread = draw(st.sampled_from([None, "prefer", "require", "isolate"]))
        if thread:
            specs["hw:cpu_thread_policy"] = thread
        if draw(st.booleans()):
            specs["hw:emulator_threads_policy"] = draw(st.sampled_from(["share", "isolate"]))

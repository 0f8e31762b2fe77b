"""Claiming a fitted guest into a host's NUMA usage and releasing it (spec/E §2.9)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import (
    Flavor,
    ImageMeta,
    InstanceNUMACell,
    InstanceNUMATopology,
    NUMACell,
    NUMAPagesTopology,
    NUMATopology,
    NUMATopologyLimits,
)
from nova_tx.virt import hardware

LIMITS = NUMATopologyLimits(16.0, 1.5)


def host(legacy=False, cpuset=None):
    pcpuset = set(range(8))
    if cpuset is None:
        cpuset = set(pcpuset) if legacy else {8, 9, 10, 11}
    siblings = [{0, 1}, {2, 3}, {4, 5}, {6, 7}] + [{c} for c in sorted(cpuset - pcpuset)]
    return NUMATopology(cells=[
        NUMACell(id=0, cpuset=cpuset, pcpuset=pcpuset, memory=8192, siblings=siblings,
                 mempages=[NUMAPagesTopology(4, 1048576), NUMAPagesTopology(2048, 1024)]),
        NUMACell(id=1, cpuset={12, 13}, pcpuset=set(), memory=8192, siblings=[{12}, {13}],
                 mempages=[NUMAPagesTopology(4, 1048576), NUMAPagesTopology(2048, 1024)]),
    ])


def guest(specs, vcpus=2, memory_mb=1024):
    return hardware.numa_get_constraints(
        Flavor(vcpus=vcpus, memory_mb=memory_mb, extra_specs=specs), ImageMeta())


class AccountingTests(SynchronousTestCase):
    """spec/E §2.9 worked examples."""

    def claim(self, hst, instance):
        result = hardware.claim(hst, instance, LIMITS)
        self.assertIsNotNone(result)
        return result

    def assertReleaseRestores(self, hst, fitted, claimed):
        self.assertEqual(hardware.release(claimed, fitted).to_dict(), hst.to_dict())

    def test_legacy_isolate(self):
        """spec/E §2.9: legacy isolate 2 vCPU → pinned {0,1,2,3}, 1024 MiB, 262144 pages."""
        hst = host(legacy=True)
        instance = guest({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"})
        fitted, claimed = self.claim(hst, instance)
        cell = claimed.cells[0]
        self.assertEqual(fitted.cpu_pinning, {0: 0, 1: 2})
        self.assertEqual(cell.pinned_cpus, {0, 1, 2, 3})
        self.assertEqual((cell.memory_usage, cell.cpu_usage), (1024, 0))
        self.assertEqual([p.used for p in cell.mempages], [262144, 0])
        self.assertEqual(claimed.cells[1].to_dict(), hst.cells[1].to_dict())
        self.assertReleaseRestores(hst, fitted, claimed)

    def test_mixed(self):
        """spec/E §2.9: mixed (pin {0:0,1:1}, 2 floating) → pinned {0,1}, cpu_usage 2."""
        hst = host()
        instance = guest({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-1"}, vcpus=4)
        fitted, claimed = self.claim(hst, instance)
        cell = claimed.cells[0]
        self.assertEqual(fitted.cpu_pinning, {0: 0, 1: 1})
        self.assertEqual((cell.pinned_cpus, cell.cpu_usage, cell.memory_usage),
                         ({0, 1}, 2, 1024))
        self.assertReleaseRestores(hst, fitted, claimed)

    def test_huge_pages(self):
        """spec/E §2.9: a 2 MiB-page guest of 2048 MiB → 2 MiB pages used 1024/1024."""
        hst = host()
        fitted, claimed = self.claim(hst, guest({"hw:mem_page_size": "2MB"}, memory_mb=2048))
        cell = claimed.cells[0]
        self.assertEqual(fitted.cells[0].pagesize, 2048)
        self.assertEqual([(p.size_kb, p.used) for p in cell.mempages], [(4, 0), (2048, 1024)])
        self.assertEqual((cell.memory_usage, cell.cpu_usage, cell.pinned_cpus), (2048, 2, set()))
        # No 2 MiB page is left: a second such guest goes to the other cell.
        fitted2, claimed2 = self.claim(claimed, guest({"hw:mem_page_size": "2MB"},
                                                      memory_mb=2048))
        self.assertEqual(fitted2.cells[0].id, 1)
        self.assertReleaseRestores(hst, fitted, hardware.release(claimed2, fitted2))

    def test_dedicated_with_emulator_isolate(self):
        hst = host()
        instance = guest({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"})
        fitted, claimed = self.claim(hst, instance)
        self.assertEqual(fitted.cells[0].cpuset_reserved, {2})
        self.assertEqual(claimed.cells[0].pinned_cpus, {0, 1, 2})
        self.assertReleaseRestores(hst, fitted, claimed)

    def test_shared_numa_guest_over_two_cells(self):
        hst = host()
        fitted, claimed = self.claim(hst, guest({"hw:numa_nodes": "2"}, vcpus=4, memory_mb=2048))
        self.assertEqual([(c.cpu_usage, c.memory_usage, c.mempages[0].used)
                          for c in claimed.cells], [(2, 1024, 262144), (2, 1024, 262144)])
        self.assertReleaseRestores(hst, fitted, claimed)

    def test_second_claim_does_not_reuse_pinned_cpus(self):
        hst = host()
        instance = guest({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"})
        first, claimed = self.claim(hst, instance)
        second, claimed = self.claim(claimed, instance)
        self.assertEqual((first.cpu_pinning, second.cpu_pinning), ({0: 0, 1: 1}, {0: 2, 1: 3}))
        self.assertEqual(claimed.cells[0].pinned_cpus, {0, 1, 2, 3})

    def test_claim_that_does_not_fit(self):
        self.assertIsNone(hardware.claim(host(), guest({"hw:cpu_policy": "dedicated"},
                                                       vcpus=9)))

    def test_non_numa_guest_changes_nothing(self):
        hst = host()
        fitted, claimed = hardware.claim(hst, None)
        self.assertIsNone(fitted)
        self.assertEqual(claimed.to_dict(), hst.to_dict())
        self.assertIsNone(hardware.numa_usage_from_instance_numa(None, fitted))

    def test_inputs_are_not_modified(self):
        hst = host()
        before = hst.to_dict()
        fitted, claimed = self.claim(hst, guest({"hw:cpu_policy": "dedicated"}))
        hardware.release(claimed, fitted)
        self.assertEqual(hst.to_dict(), before)

    def test_double_claim_and_double_release_are_refused(self):
        hst = host()
        fitted, claimed = self.claim(hst, guest({"hw:cpu_policy": "dedicated"}))
        self.assertRaises(exception.CPUPinningInvalid, hardware.numa_usage_from_instance_numa,
                          claimed, fitted)
        released = hardware.release(claimed, fitted)
        self.assertRaises(exception.CPUUnpinningInvalid, hardware.release, released, fitted)

    def test_pinning_outside_the_dedicated_cpus(self):
        bogus = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=0, pcpuset={0}, memory=1, cpu_policy="dedicated", cpu_pinning={0: 11})])
        self.assertRaises(exception.CPUPinningUnknown, hardware.numa_usage_from_instance_numa,
                          host(), bogus)

    def test_usage_never_goes_negative(self):
        hst = host()
        floating = InstanceNUMATopology(cells=[InstanceNUMACell(id=1, cpuset={0, 1},
                                                                memory=1024)])
        released = hardware.release(hst, floating)
        cell = released.cells[1]
        self.assertEqual((cell.cpu_usage, cell.memory_usage, cell.mempages[0].used), (0, 0, 0))

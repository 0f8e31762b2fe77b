"""vCPU and emulator-thread pinning sets of a fitted guest (spec/E §2.12)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import Flavor, NUMACell, NUMATopology
from nova_tx.virt import hardware
from nova_tx.virt.cpuset import format_cpu_spec


def host():
    """48 threads as in the seed's example: shared 18-47, dedicated 2-17, one cell."""
    return NUMATopology(cells=[NUMACell(
        id=0, cpuset=set(range(18, 48)), pcpuset=set(range(2, 18)), memory=65536,
        siblings=[{c} for c in range(2, 48)])])


def fit(specs, vcpus=2):
    flavor = Flavor(vcpus=vcpus, memory_mb=1024, extra_specs=specs)
    return hardware.numa_fit_instance_to_host(host(), hardware.numa_get_constraints(flavor))


class EmulatorThreadsTests(SynchronousTestCase):
    """spec/E §2.12 emulatorpin table."""

    def test_isolate_uses_the_reserved_pcpu(self):
        fitted = fit({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"})
        self.assertEqual(hardware.vcpu_pin_sets(fitted, host()), {0: {2}, 1: {3}})
        self.assertEqual(hardware.emulator_threads_pin(fitted, host(), set(range(18, 48))), {4})
        self.assertEqual(hardware.emulator_threads_pin(fitted, host(), None), {4})

    def test_unset_policy_uses_the_vcpus_cpus(self):
        fitted = fit({"hw:cpu_policy": "dedicated"})
        pins = hardware.emulator_threads_pin(fitted, host(), set(range(18, 48)))
        self.assertEqual(format_cpu_spec(pins), "2-3")

    def test_share_uses_cpu_shared_set(self):
        fitted = fit({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "share"})
        pins = hardware.emulator_threads_pin(fitted, host(), set(range(18, 48)),
                                             online_cpus=range(48))
        self.assertEqual(format_cpu_spec(pins), "18-47")
        # Without cpu_shared_set, share behaves as unset.
        self.assertEqual(hardware.emulator_threads_pin(fitted, host(), None), {2, 3})

    def test_share_with_an_offline_shared_set(self):
        fitted = fit({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "share"})
        e = self.assertRaises(exception.Invalid, hardware.emulator_threads_pin, fitted, host(),
                              {50, 51}, range(48))
        self.assertIn("cpu_shared_set", e.format_message())

    def test_realtime_keeps_emulator_threads_off_realtime_vcpus(self):
        specs = {"hw:cpu_policy": "dedicated", "hw:cpu_realtime": "yes",
                 "hw:cpu_realtime_mask": "^0"}
        flavor = Flavor(vcpus=4, memory_mb=1024, extra_specs=specs)
        realtime = hardware.get_realtime_cpu_constraint(flavor, None)
        fitted = hardware.numa_fit_instance_to_host(host(), hardware.numa_get_constraints(flavor))
        self.assertEqual(hardware.emulator_threads_pin(fitted, host(), None,
                                                       realtime_vcpus=realtime), {2})

    def test_mixed_floating_vcpus_use_the_cell_shared_cpus(self):
        fitted = fit({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0"}, vcpus=2)
        pins = hardware.vcpu_pin_sets(fitted, host())
        self.assertEqual((pins[0], pins[1]), ({2}, set(range(18, 48))))

    def test_realtime_share_needs_cpu_shared_set(self):
        """spec/E §1.2 R-RT step 6."""
        e = self.assertRaises(exception.RealtimeMaskNotFoundOrInvalid,
                              hardware.check_realtime_host_config, {1}, "share", None)
        self.assertIn("cpu_shared_set", e.format_message())
        hardware.check_realtime_host_config({1}, "share", {18})
        hardware.check_realtime_host_config({1}, "isolate", None)
        hardware.check_realtime_host_config(None, "share", None)

"""Guest CPU topology: sockets, cores, threads (spec/E §1.6, §2.11)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import Flavor, ImageMeta, VirtCPUTopology
from nova_tx.virt import hardware


def best(vcpus, specs=None, props=None, **kwargs):
    topo = hardware.get_best_cpu_topology(
        Flavor(vcpus=vcpus, memory_mb=1024, extra_specs=dict(specs or {})),
        ImageMeta(properties=dict(props or {})), **kwargs)
    return (topo.sockets, topo.cores, topo.threads)


class CPUTopologyTests(SynchronousTestCase):
    """The worked examples of spec/E §2.11."""

    def test_full_order_for_8_vcpus(self):
        """spec/E §2.11: 8 vCPU, nothing set, every candidate in order."""
        desired = hardware.get_desirable_cpu_topologies(Flavor(vcpus=8, memory_mb=1))
        self.assertEqual([(t.sockets, t.cores, t.threads) for t in desired],
                         [(8, 1, 1), (4, 2, 1), (2, 4, 1), (1, 8, 1), (4, 1, 2), (2, 2, 2),
                          (1, 4, 2), (2, 1, 4), (1, 2, 4), (1, 1, 8)])

    def test_preferences(self):
        """spec/E §2.11: cpu_sockets=2 → 2×4×1; 1,1 on 4 → 4×1×1; 2,2,2 → 2×2×2."""
        self.assertEqual(best(8, {"hw:cpu_sockets": "2"}), (2, 4, 1))
        self.assertEqual(best(4, {"hw:cpu_cores": "1", "hw:cpu_threads": "1"}), (4, 1, 1))
        self.assertEqual(best(8, {"hw:cpu_sockets": "2", "hw:cpu_cores": "2",
                                  "hw:cpu_threads": "2"}), (2, 2, 2))
        self.assertEqual(best(6, {"hw:cpu_threads": "2"}), (3, 1, 2))

    def test_limits(self):
        """spec/E §2.11: max sockets=2, cores=8, threads=1 (seed L13885) → 2×4×1."""
        specs = {"hw:cpu_max_sockets": "2", "hw:cpu_max_cores": "8", "hw:cpu_max_threads": "1"}
        _, maximum = hardware.get_cpu_topology_constraints(
            Flavor(vcpus=8, memory_mb=1, extra_specs=specs))
        possible = hardware.get_possible_cpu_topologies(8, maximum)
        self.assertEqual(possible, [VirtCPUTopology(2, 4, 1), VirtCPUTopology(1, 8, 1)])
        self.assertEqual(best(8, specs), (2, 4, 1))

    def test_image_values(self):
        """spec/E §2.11: image sockets=2,cores=4 → 2×4×1; image max sockets=2,threads=1 → 2×4×1."""
        self.assertEqual(best(8, props={"hw_cpu_sockets": "2", "hw_cpu_cores": "4"}),
                         (2, 4, 1))
        self.assertEqual(best(8, props={"hw_cpu_max_sockets": 2, "hw_cpu_max_threads": 1}),
                         (2, 4, 1))

    def test_image_limits_above_flavor_limits(self):
        """spec/E §2.11: flavor max sockets=2 + image max sockets=4 → error."""
        e = self.assertRaises(exception.ImageVCPULimitsRangeExceeded, best, 8,
                              {"hw:cpu_max_sockets": "2"}, {"hw_cpu_max_sockets": "4"})
        self.assertIn("Image vCPU topology limits (sockets=4, cores=0, threads=0) exceeds "
                      "the limits of the flavor (sockets=2, cores=0, threads=0)",
                      e.format_message())
        self.assertEqual(e.code, 400)

    def test_image_preference_above_limits(self):
        """spec/E §2.11: flavor max sockets=4 + image sockets=8 → error."""
        e = self.assertRaises(exception.ImageVCPUTopologyRangeExceeded, best, 8,
                              {"hw:cpu_max_sockets": "4"}, {"hw_cpu_sockets": "8"})
        self.assertIn("hw_cpu_sockets", e.format_message())

    def test_flavor_preference_dropped_by_image_limits(self):
        """spec/E §2.11: flavor sockets=8 + image max sockets=2 → 2×4×1."""
        self.assertEqual(best(8, {"hw:cpu_sockets": "8"}, {"hw_cpu_max_sockets": "2"}),
                         (2, 4, 1))

    def test_partial_image_preference_replaces_the_flavor(self):
        """spec/E §2.11: flavor sockets=2,cores=4 + image threads=2 → 4×1×2."""
        self.assertEqual(best(8, {"hw:cpu_sockets": "2", "hw:cpu_cores": "4"},
                              {"hw_cpu_threads": "2"}), (4, 1, 2))

    def test_upstream_examples(self):
        """spec/E §2.11: 16 vCPU 8/2/1 + image sockets=2 → 2×8×1; 2/8/1 + image max cores=4."""
        self.assertEqual(best(16, {"hw:cpu_sockets": "8", "hw:cpu_cores": "2",
                                   "hw:cpu_threads": "1"}, {"hw_cpu_sockets": "2"}), (2, 8, 1))
        self.assertEqual(best(16, {"hw:cpu_sockets": "2", "hw:cpu_cores": "8",
                                   "hw:cpu_threads": "1"}, {"hw_cpu_max_cores": "4"}),
                         (16, 1, 1))

    def test_preferences_must_be_factors(self):
        """D3 (T0): 10 vCPU cores=2 threads=4 → 400; 3 vCPU sockets=2 → 400."""
        for vcpus, specs in ((10, {"hw:cpu_cores": "2", "hw:cpu_threads": "4"}),
                             (3, {"hw:cpu_sockets": "2"}),
                             (8, {"hw:cpu_sockets": "2", "hw:cpu_cores": "2",
                                  "hw:cpu_threads": "1"})):
            e = self.assertRaises(exception.InvalidRequest, best, vcpus, specs)
            self.assertIn("hw:cpu_sockets", e.format_message())
        e = self.assertRaises(exception.InvalidRequest, best, 3, None, {"hw_cpu_sockets": "2"})
        self.assertIn("hw_cpu_sockets", e.format_message())

    def test_numa_guest_prefers_one_socket_per_cell(self):
        """D4: 8 vCPU, numa_nodes=2, no preference → 2×4×1."""
        flavor = Flavor(vcpus=8, memory_mb=2048, extra_specs={"hw:numa_nodes": "2"})
        numa = hardware.numa_get_constraints(flavor)
        topo = hardware.get_best_cpu_topology(flavor, numa_topology=numa)
        self.assertEqual((topo.sockets, topo.cores, topo.threads), (2, 4, 1))
        self.assertEqual(best(8), (8, 1, 1))

    def test_one_cell_numa_guest_is_one_socket(self):
        """D4 applies to every NUMA guest: a pinned 1-cell guest gets 1 socket."""
        flavor = Flavor(vcpus=4, memory_mb=2048, extra_specs={"hw:cpu_policy": "dedicated"})
        numa = hardware.numa_get_constraints(flavor)
        topo = hardware.get_best_cpu_topology(flavor, numa_topology=numa)
        self.assertEqual((topo.sockets, topo.cores, topo.threads), (1, 4, 1))
        flavor.extra_specs["hw:cpu_sockets"] = "2"
        topo = hardware.get_best_cpu_topology(flavor, numa_topology=numa)
        self.assertEqual((topo.sockets, topo.cores, topo.threads), (2, 2, 1))

    def test_impossible_limits(self):
        e = self.assertRaises(exception.ImageVCPULimitsRangeImpossible, best, 8,
                              {"hw:cpu_max_sockets": "1", "hw:cpu_max_cores": "2",
                               "hw:cpu_max_threads": "2"})
        self.assertIn("Requested vCPU limits 1:2:2 are impossible to satisfy for vcpus "
                      "count 8", e.format_message())

    def test_no_threads_when_the_driver_disallows_them(self):
        self.assertEqual(best(8, {"hw:cpu_threads": "2"}, allow_threads=False), (8, 1, 1))

    def test_invalid_values_name_the_key(self):
        for key in ("hw:cpu_sockets", "hw:cpu_max_cores"):
            e = self.assertRaises(exception.InvalidRequest, best, 8, {key: "two"})
            self.assertIn(key, e.format_message())
            self.assertIn("invalid literal for int()", e.format_message())
        e = self.assertRaises(exception.InvalidRequest, best, 8, None, {"hw_cpu_threads": "-2"})
        self.assertIn("hw_cpu_threads", e.format_message())

"""Flavor extra specs and image properties to a guest NUMA topology (spec/E §1, §2.2)."""
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.objects.numa import (
    MEMPAGES_ANY,
    MEMPAGES_LARGE,
    MEMPAGES_SMALL,
    Flavor,
    ImageMeta,
)
from nova_tx.virt import hardware


def flavor(specs=None, vcpus=4, memory_mb=4096):
    return Flavor(vcpus=vcpus, memory_mb=memory_mb, extra_specs=dict(specs or {}))


def image(props=None):
    return ImageMeta(properties=dict(props or {}))


def cells(topology):
    """(id, cpuset, pcpuset, memory) of each guest cell, for exact comparisons."""
    return [(c.id, sorted(c.cpuset), sorted(c.pcpuset), c.memory) for c in topology.cells]


class ErrorAssertions:
    def assertRaisesNaming(self, error, key, func, *args):
        """``func`` raises ``error`` (a 400) whose message names ``key``."""
        e = self.assertRaises(error, func, *args)
        self.assertEqual(e.code, 400)
        self.assertIn(key, e.format_message())
        return e


class CPUPolicyTests(ErrorAssertions, SynchronousTestCase):
    """R-POL, spec/E §1.2."""

    def policy(self, flavor_policy=None, image_policy=None):
        specs = {"hw:cpu_policy": flavor_policy} if flavor_policy else {}
        props = {"hw_cpu_policy": image_policy} if image_policy else {}
        return hardware.get_cpu_policy_constraint(flavor(specs), image(props))

    def test_resolution(self):
        """spec/E §1.2 R-POL: flavor dedicated wins; unset flavor takes the image."""
        self.assertEqual(self.policy("dedicated", "shared"), "dedicated")
        self.assertEqual(self.policy("dedicated", "mixed"), "dedicated")
        self.assertEqual(self.policy("mixed", "shared"), "mixed")
        self.assertEqual(self.policy("shared"), "shared")
        self.assertEqual(self.policy(None, "dedicated"), "dedicated")
        self.assertIsNone(self.policy())

    def test_image_may_not_pin_against_flavor(self):
        """spec/E §1.2 R-POL: flavor shared + image dedicated/mixed, flavor mixed + image dedicated."""
        for flavor_policy, image_policy in (("shared", "dedicated"), ("shared", "mixed"),
                                            ("mixed", "dedicated")):
            self.assertRaisesNaming(exception.ImageCPUPinningForbidden, "hw_cpu_policy",
                                    self.policy, flavor_policy, image_policy)

    def test_invalid_values(self):
        e = self.assertRaisesNaming(exception.InvalidCPUAllocationPolicy, "hw:cpu_policy",
                                    self.policy, "bogus")
        self.assertIn("given: 'bogus'", e.format_message())
        self.assertIn("flavor extra specs", e.format_message())
        self.assertRaisesNaming(exception.InvalidCPUAllocationPolicy, "hw_cpu_policy",
                                self.policy, None, "bogus")


class ThreadPolicyTests(ErrorAssertions, SynchronousTestCase):
    """R-THR, spec/E §1.2 (with D6)."""

    def test_resolution(self):
        get = hardware.get_cpu_thread_policy_constraint
        self.assertEqual(get(flavor({"hw:cpu_thread_policy": "require"}), image()), "require")
        self.assertEqual(get(flavor(), image({"hw_cpu_thread_policy": "isolate"})), "isolate")
        self.assertEqual(get(flavor({"hw:cpu_thread_policy": "prefer"}),
                             image({"hw_cpu_thread_policy": "prefer"})), "prefer")
        self.assertIsNone(get(flavor(), image()))

    def test_conflict_is_refused_even_for_prefer(self):
        """D6: flavor prefer + image isolate is an error (Zed let prefer win)."""
        for flavor_policy in ("require", "prefer"):
            self.assertRaisesNaming(
                exception.ImageCPUThreadPolicyForbidden, "hw_cpu_thread_policy",
                hardware.get_cpu_thread_policy_constraint,
                flavor({"hw:cpu_thread_policy": flavor_policy}),
                image({"hw_cpu_thread_policy": "isolate"}))

    def test_invalid_values(self):
        self.assertRaisesNaming(exception.InvalidCPUThreadAllocationPolicy,
                                "hw:cpu_thread_policy", hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "dedicated",
                                        "hw:cpu_thread_policy": "sometimes"}))
        self.assertRaisesNaming(exception.InvalidCPUThreadAllocationPolicy,
                                "hw_cpu_thread_policy", hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "dedicated"}),
                                image({"hw_cpu_thread_policy": "sometimes"}))

    def test_thread_policy_needs_pinning(self):
        """spec/E §1.2 R-THR test: require without a dedicated policy → 400."""
        self.assertRaisesNaming(exception.CPUThreadPolicyConfigurationInvalid,
                                "hw:cpu_thread_policy", hardware.numa_get_constraints,
                                flavor({"hw:cpu_thread_policy": "require"}))
        self.assertRaisesNaming(exception.CPUThreadPolicyConfigurationInvalid,
                                "hw_cpu_thread_policy", hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "shared"}),
                                image({"hw_cpu_thread_policy": "require"}))

    def test_thread_policy_with_mixed_is_accepted(self):
        topo = hardware.numa_get_constraints(flavor({
            "hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-1",
            "hw:cpu_thread_policy": "require"}))
        self.assertEqual(topo.cells[0].cpu_thread_policy, "require")


class EmulatorThreadsTests(ErrorAssertions, SynchronousTestCase):
    """R-EMU, spec/E §1.2."""

    def test_isolate_alone_is_refused(self):
        self.assertRaisesNaming(exception.BadRequirementEmulatorThreadsPolicy,
                                "hw:emulator_threads_policy", hardware.numa_get_constraints,
                                flavor({"hw:emulator_threads_policy": "isolate"}))

    def test_share_alone_is_ignored(self):
        self.assertIsNone(hardware.numa_get_constraints(
            flavor({"hw:emulator_threads_policy": "share"})))

    def test_invalid_value(self):
        self.assertRaisesNaming(exception.InvalidEmulatorThreadsPolicy,
                                "hw:emulator_threads_policy", hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "dedicated",
                                        "hw:emulator_threads_policy": "bogus"}))

    def test_isolate_with_dedicated_is_on_the_topology(self):
        topo = hardware.numa_get_constraints(flavor({
            "hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"}))
        self.assertEqual(topo.emulator_threads_policy, "isolate")
        self.assertTrue(topo.emulator_threads_isolated)


class MixedPolicyTests(ErrorAssertions, SynchronousTestCase):
    """R-MIX, spec/E §1.2."""

    def mixed(self, mask, vcpus=4, **extra):
        specs = {"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": mask, **extra}
        return hardware.numa_get_constraints(flavor(specs, vcpus=vcpus))

    def test_masks(self):
        """spec/E §1.2 R-MIX test: mask 0-1 → pcpuset {0,1}; ^0-1 → {2,3}; 0-3 → 400."""
        self.assertEqual(cells(self.mixed("0-1")), [(0, [2, 3], [0, 1], 4096)])
        self.assertEqual(cells(self.mixed("^0-1")), [(0, [0, 1], [2, 3], 4096)])
        self.assertRaisesNaming(exception.InvalidMixedInstanceDedicatedMask,
                                "hw:cpu_dedicated_mask", self.mixed, "0-3")

    def test_mask_outside_the_vcpus(self):
        self.assertRaisesNaming(exception.InvalidMixedInstanceDedicatedMask,
                                "hw:cpu_dedicated_mask", self.mixed, "0,7")

    def test_mask_that_does_not_parse(self):
        self.assertRaisesNaming(exception.Invalid, "hw:cpu_dedicated_mask", self.mixed, "3-1")

    def test_two_nodes(self):
        """spec/E §2.2 worked example: mixed mask 0,3 with numa_nodes=2."""
        topo = self.mixed("0,3", **{"hw:numa_nodes": "2"})
        self.assertEqual(cells(topo), [(0, [1], [0], 2048), (1, [2], [3], 2048)])
        self.assertEqual({c.cpu_policy for c in topo.cells}, {"mixed"})

    def test_mask_needs_mixed(self):
        for policy in (None, "shared", "dedicated"):
            specs = {"hw:cpu_dedicated_mask": "0"}
            if policy:
                specs["hw:cpu_policy"] = policy
            self.assertRaisesNaming(exception.RequiredMixedInstancePolicy,
                                    "hw:cpu_dedicated_mask", hardware.numa_get_constraints,
                                    flavor(specs))

    def test_mixed_needs_exactly_one_mask(self):
        self.assertRaisesNaming(exception.RequiredMixedOrRealtimeCPUMask,
                                "hw:cpu_dedicated_mask", hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "mixed"}))
        self.assertRaisesNaming(exception.RequiredMixedOrRealtimeCPUMask,
                                "hw:cpu_realtime_mask", hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0",
                                        "hw:cpu_realtime": "yes",
                                        "hw:cpu_realtime_mask": "1"}))

    def test_image_mixed_without_a_flavor_mask(self):
        self.assertRaisesNaming(exception.RequiredMixedOrRealtimeCPUMask,
                                "hw:cpu_dedicated_mask", hardware.numa_get_constraints,
                                flavor(), image({"hw_cpu_policy": "mixed"}))

    def test_mixed_with_realtime_pins_the_realtime_vcpus(self):
        topo = hardware.numa_get_constraints(flavor({
            "hw:cpu_policy": "mixed", "hw:cpu_realtime": "yes",
            "hw:cpu_realtime_mask": "^0"}))
        self.assertEqual(cells(topo), [(0, [0], [1, 2, 3], 4096)])


class RealtimeTests(ErrorAssertions, SynchronousTestCase):
    """R-RT, spec/E §1.2 (with D2)."""

    def rt(self, mask=None, vcpus=8, image_mask=None, **specs):
        specs = {"hw:cpu_policy": "dedicated", "hw:cpu_realtime": "yes", **specs}
        if mask is not None:
            specs["hw:cpu_realtime_mask"] = mask
        props = {"hw_cpu_realtime_mask": image_mask} if image_mask else {}
        return hardware.get_realtime_cpu_constraint(flavor(specs, vcpus=vcpus), image(props))

    def test_masks(self):
        """spec/E §1.2 R-RT test: 2-7, ^0-1, 0-7,^0."""
        self.assertEqual(self.rt("2-7"), set(range(2, 8)))
        self.assertEqual(self.rt("^0-1"), set(range(2, 8)))
        self.assertEqual(self.rt("0-7,^0"), set(range(1, 8)))

    def test_image_mask_wins(self):
        self.assertEqual(self.rt("2-7", image_mask="^0"), set(range(1, 8)))

    def test_disabled(self):
        self.assertIsNone(hardware.get_realtime_cpu_constraint(
            flavor({"hw:cpu_realtime": "no", "hw:cpu_realtime_mask": "1"}), image()))

    def test_all_realtime_needs_offloaded_emulator_threads(self):
        """spec/E §1.2 R-RT test: no mask and no emulator policy → 400; with share → OK."""
        self.assertRaisesNaming(exception.RealtimeMaskNotFoundOrInvalid,
                                "hw:cpu_realtime_mask", self.rt)
        self.assertEqual(self.rt(**{"hw:emulator_threads_policy": "share"}), set(range(8)))

    def test_empty_and_out_of_range_masks(self):
        self.assertRaisesNaming(exception.RealtimeMaskNotFoundOrInvalid,
                                "hw:cpu_realtime_mask", self.rt, "^0-7")
        self.assertRaisesNaming(exception.RealtimeMaskNotFoundOrInvalid,
                                "hw:cpu_realtime_mask", self.rt, "6-9")
        self.assertRaisesNaming(exception.RealtimeMaskNotFoundOrInvalid,
                                "hw_cpu_realtime_mask", self.rt, None, 8, "8-9")

    def test_bad_boolean(self):
        self.assertRaisesNaming(exception.InvalidRequest, "hw:cpu_realtime",
                                hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "dedicated", "hw:cpu_realtime": "maybe"}))

    def test_realtime_with_shared_policy(self):
        self.assertRaisesNaming(exception.RealtimeConfigurationInvalid, "hw:cpu_realtime",
                                hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "shared", "hw:cpu_realtime": "yes",
                                        "hw:cpu_realtime_mask": "^0"}))

    def test_realtime_implies_dedicated(self):
        """D2 (seed L14046): realtime without a CPU policy is pinned."""
        topo = hardware.numa_get_constraints(flavor({
            "hw:cpu_realtime": "yes", "hw:cpu_realtime_mask": "^0",
            "hw:emulator_threads_policy": "isolate"}))
        self.assertEqual(topo.cells[0].cpu_policy, "dedicated")
        self.assertEqual(cells(topo), [(0, [], [0, 1, 2, 3], 4096)])


class ExplicitResourcesTests(ErrorAssertions, SynchronousTestCase):
    """spec/E §1.3: resources:PCPU/VCPU and the hyperthreading trait."""

    def test_pcpu_makes_a_pinned_topology(self):
        topo = hardware.numa_get_constraints(flavor({"resources:PCPU": "2"}, vcpus=2))
        self.assertEqual(cells(topo), [(0, [], [0, 1], 4096)])
        self.assertEqual(topo.cells[0].cpu_policy, "dedicated")

    def test_pcpu_count_must_match(self):
        self.assertRaisesNaming(exception.InvalidRequest, "resourcesNN:PCPU",
                                hardware.numa_get_constraints,
                                flavor({"resources:PCPU": "3"}, vcpus=2))
        topo = hardware.numa_get_constraints(flavor({
            "resources1:PCPU": "3", "hw:emulator_threads_policy": "isolate"}, vcpus=2))
        self.assertTrue(topo.emulator_threads_isolated)
        self.assertRaisesNaming(exception.InvalidRequest, "resources:PCPU",
                                hardware.numa_get_constraints,
                                flavor({"resources:PCPU": "2",
                                        "hw:emulator_threads_policy": "isolate"}, vcpus=2))

    def test_with_cpu_policy(self):
        self.assertRaisesNaming(exception.InvalidRequest, "hw:cpu_policy",
                                hardware.numa_get_constraints,
                                flavor({"resources:PCPU": "2", "hw:cpu_policy": "dedicated"},
                                       vcpus=2))

    def test_vcpu_and_pcpu(self):
        self.assertRaisesNaming(exception.InvalidRequest, "resources:VCPU",
                                hardware.numa_get_constraints,
                                flavor({"resources:PCPU": "2", "resources:VCPU": "2"},
                                       vcpus=2))

    def test_vcpu_means_shared(self):
        self.assertIsNone(hardware.numa_get_constraints(flavor({"resources:VCPU": "4"})))

    def test_hyperthreading_trait(self):
        specs = {"resources:PCPU": "4", "trait:HW_CPU_HYPERTHREADING": "forbidden"}
        topo = hardware.numa_get_constraints(flavor(specs))
        self.assertEqual(topo.cells[0].cpu_thread_policy, "isolate")
        topo = hardware.numa_get_constraints(
            flavor({"hw:cpu_policy": "dedicated"}),
            image({"traits_required": ["HW_CPU_HYPERTHREADING"]}))
        self.assertEqual(topo.cells[0].cpu_thread_policy, "require")

    def test_hyperthreading_trait_with_thread_policy(self):
        self.assertRaisesNaming(exception.InvalidRequest, "trait:HW_CPU_HYPERTHREADING",
                                hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "dedicated",
                                        "trait1:HW_CPU_HYPERTHREADING": "required",
                                        "hw:cpu_thread_policy": "require"}))

    def test_hyperthreading_trait_value(self):
        self.assertRaisesNaming(exception.InvalidRequest, "trait2:HW_CPU_HYPERTHREADING",
                                hardware.numa_get_constraints,
                                flavor({"hw:cpu_policy": "dedicated",
                                        "trait2:HW_CPU_HYPERTHREADING": "maybe"}))

    def test_resource_amount_must_be_an_integer(self):
        self.assertRaisesNaming(exception.InvalidRequest, "resources:PCPU",
                                hardware.numa_get_constraints,
                                flavor({"resources:PCPU": "four"}))

    def test_hyperthreading_trait_without_pinning(self):
        self.assertRaisesNaming(exception.CPUThreadPolicyConfigurationInvalid,
                                "trait:HW_CPU_HYPERTHREADING", hardware.numa_get_constraints,
                                flavor({"trait:HW_CPU_HYPERTHREADING": "required"}))


class NUMAShapeTests(ErrorAssertions, SynchronousTestCase):
    """spec/E §1.4 and the worked examples of §2.2."""

    def test_manual_seed_example(self):
        """spec/E §2.2 worked example (seed L13569): 6 vCPU, cells [0,1]/2048 and [2-5]/4096."""
        topo = hardware.numa_get_constraints(flavor({
            "hw:numa_nodes": "2", "hw:numa_cpus.0": "0,1", "hw:numa_mem.0": "2048",
            "hw:numa_cpus.1": "2,3,4,5", "hw:numa_mem.1": "4096"}, vcpus=6, memory_mb=6144))
        self.assertEqual(cells(topo), [(0, [0, 1], [], 2048), (1, [2, 3, 4, 5], [], 4096)])
        self.assertIsNone(topo.cells[0].cpu_policy)
        self.assertIsNone(topo.cells[0].pagesize)

    def test_auto_split(self):
        """spec/E §2.2 worked example: 4 vCPU, 4096 MiB, 2 nodes."""
        topo = hardware.numa_get_constraints(flavor({"hw:numa_nodes": "2"}))
        self.assertEqual(cells(topo), [(0, [0, 1], [], 2048), (1, [2, 3], [], 2048)])

    def test_asymmetric(self):
        """spec/E §2.2 worked example: vcpus=3 or mem=4097 on 2 nodes."""
        for vcpus, memory in ((3, 4096), (4, 4097)):
            self.assertRaisesNaming(exception.ImageNUMATopologyAsymmetric, "hw:numa_nodes",
                                    hardware.numa_get_constraints,
                                    flavor({"hw:numa_nodes": "2"}, vcpus, memory))

    def test_flavor_nodes_and_image_cells(self):
        """spec/E §1.4 test: flavor numa_nodes=2 + image hw_numa_cpus/mem is allowed."""
        topo = hardware.numa_get_constraints(
            flavor({"hw:numa_nodes": "2"}, vcpus=4, memory_mb=2048),
            image({"hw_numa_cpus.0": "0", "hw_numa_mem.0": "512",
                   "hw_numa_cpus.1": "1-3", "hw_numa_mem.1": 1536}))
        self.assertEqual(cells(topo), [(0, [0], [], 512), (1, [1, 2, 3], [], 1536)])

    def test_image_may_not_override_nodes(self):
        """spec/E §1.4 test: flavor hw:numa_nodes=2 + image hw_numa_nodes=2 → 400."""
        self.assertRaisesNaming(exception.ImageNUMATopologyForbidden, "hw_numa_nodes",
                                hardware.numa_get_constraints,
                                flavor({"hw:numa_nodes": "2"}), image({"hw_numa_nodes": 2}))

    def test_image_may_not_override_cells(self):
        specs = {"hw:numa_nodes": "1", "hw:numa_cpus.0": "0-3", "hw:numa_mem.0": "4096"}
        self.assertRaisesNaming(exception.ImageNUMATopologyForbidden, "hw_numa_cpus",
                                hardware.numa_get_constraints, flavor(specs),
                                image({"hw_numa_cpus.0": "0-3"}))
        specs = {"hw:numa_nodes": "1", "hw:numa_mem.0": "4096"}
        self.assertRaisesNaming(exception.ImageNUMATopologyForbidden, "hw_numa_mem",
                                hardware.numa_get_constraints, flavor(specs),
                                image({"hw_numa_mem.0": "4096", "hw_numa_cpus.0": "0-3"}))

    def test_image_nodes(self):
        topo = hardware.numa_get_constraints(flavor(), image({"hw_numa_nodes": "2"}))
        self.assertEqual(len(topo.cells), 2)

    def test_invalid_node_count(self):
        for value in ("0", "-1", "two"):
            self.assertRaisesNaming(exception.InvalidNUMANodesNumber, "hw:numa_nodes",
                                    hardware.numa_get_constraints,
                                    flavor({"hw:numa_nodes": value}))
        self.assertRaisesNaming(exception.InvalidNUMANodesNumber, "hw_numa_nodes",
                                hardware.numa_get_constraints, flavor(),
                                image({"hw_numa_nodes": "0"}))

    def test_incomplete(self):
        """spec/E §1.4 test: numa_cpus.0/mem.0 and numa_cpus.2/mem.2 with nodes=2 → 400."""
        specs = {"hw:numa_nodes": "2", "hw:numa_cpus.0": "0-1", "hw:numa_mem.0": "2048",
                 "hw:numa_cpus.2": "2-3", "hw:numa_mem.2": "2048"}
        self.assertRaisesNaming(exception.ImageNUMATopologyIncomplete, "hw:numa_cpus.N",
                                hardware.numa_get_constraints, flavor(specs))
        self.assertRaisesNaming(exception.ImageNUMATopologyIncomplete, "hw:numa_mem.N",
                                hardware.numa_get_constraints,
                                flavor({"hw:numa_nodes": "1", "hw:numa_cpus.0": "0-3"}))

    def test_cpus_without_nodes_are_ignored(self):
        self.assertIsNone(hardware.numa_get_constraints(
            flavor({"hw:numa_cpus.0": "0-3", "hw:numa_mem.0": "4096"})))

    def test_manual_errors(self):
        base = {"hw:numa_nodes": "2", "hw:numa_mem.0": "2048", "hw:numa_mem.1": "2048"}
        cases = [
            ({"hw:numa_cpus.0": "0-1", "hw:numa_cpus.1": "2-4"},
             exception.ImageNUMATopologyCPUOutOfRange, "hw:numa_cpus.1",
             "CPU number 4 is larger than max 3"),
            ({"hw:numa_cpus.0": "0-2", "hw:numa_cpus.1": "2-3"},
             exception.ImageNUMATopologyCPUDuplicates, "hw:numa_cpus.1",
             "CPU number 2 is assigned to two nodes"),
            ({"hw:numa_cpus.0": "0", "hw:numa_cpus.1": "2-3"},
             exception.ImageNUMATopologyCPUsUnassigned, "hw:numa_cpus",
             "CPU number [1] is not assigned to any node"),
            ({"hw:numa_cpus.0": "0-1", "hw:numa_cpus.1": "2-3", "hw:numa_mem.1": "1976"},
             exception.ImageNUMATopologyMemoryOutOfRange, "hw:numa_mem",
             "4024 MB of memory assigned, but expected 4096 MB"),
            ({"hw:numa_cpus.0": "0-1", "hw:numa_cpus.1": "2-3", "hw:numa_mem.1": "lots"},
             exception.InvalidRequest, "hw:numa_mem.1", "lots"),
            ({"hw:numa_cpus.0": "0-1", "hw:numa_cpus.1": "3-2"},
             exception.Invalid, "hw:numa_cpus.1", "3-2"),
        ]
        for extra, error, key, text in cases:
            e = self.assertRaisesNaming(error, key, hardware.numa_get_constraints,
                                        flavor({**base, **extra}))
            self.assertIn(text, e.format_message())

    def test_no_topology_for_a_plain_flavor(self):
        self.assertIsNone(hardware.numa_get_constraints(flavor()))
        self.assertIsNone(hardware.numa_get_constraints(flavor({"hw:cpu_policy": "shared"})))

    def test_dedicated_is_one_cell(self):
        """spec/E §0.1 finding 4: pinning implies a 1-cell guest."""
        topo = hardware.numa_get_constraints(flavor({"hw:cpu_policy": "dedicated"}))
        self.assertEqual(cells(topo), [(0, [], [0, 1, 2, 3], 4096)])


class PageSizeTests(ErrorAssertions, SynchronousTestCase):
    """spec/E §1.5."""

    def test_parse(self):
        """spec/E §1.5: the oslo IEC parser, bits included."""
        cases = {
            "small": MEMPAGES_SMALL, "large": MEMPAGES_LARGE, "any": MEMPAGES_ANY,
            "2048": 2048, "2MB": 2048, "2MiB": 2048, "1GB": 1048576, "1GiB": 1048576,
            "4KB": 4, "1TB": 1073741824, "2Mb": 256, "2Mib": 256, "2Mbit": 256,
            "1Gb": 131072, "4Kb": 0, "0": 0,
        }
        for text, expected in cases.items():
            self.assertEqual(hardware.parse_mem_page_size(text, "hw:mem_page_size"), expected,
                             text)

    def test_parse_invalid(self):
        for text in ("2M", "1G", "4k", "2mb", "2 MB", "foo", "-2MB"):
            e = self.assertRaisesNaming(exception.MemoryPageSizeInvalid, "hw:mem_page_size",
                                        hardware.numa_get_constraints,
                                        flavor({"hw:mem_page_size": text}))
            self.assertIn(f"Invalid memory page size '{text}'", e.format_message())

    def test_flavor_and_image(self):
        """spec/E §1.5 R-PAGE test: flavor large + image 1GB → 1048576."""
        get = hardware.get_mem_page_size_constraint
        self.assertEqual(get(flavor({"hw:mem_page_size": "large"}),
                             image({"hw_mem_page_size": "1GB"})), 1048576)
        self.assertEqual(get(flavor({"hw:mem_page_size": "any"}),
                             image({"hw_mem_page_size": "small"})), MEMPAGES_SMALL)
        self.assertEqual(get(flavor({"hw:mem_page_size": "2MB"}), image()), 2048)
        self.assertIsNone(get(flavor(), image()))

    def test_image_may_not_override(self):
        """spec/E §1.5 R-PAGE test: flavor small + image 2MB → 400; equal numbers too; D8."""
        for specs, prop in (({"hw:mem_page_size": "small"}, "2MB"),
                            ({"hw:mem_page_size": "2048"}, "2048"),
                            ({}, "2MB")):
            self.assertRaisesNaming(exception.MemoryPageSizeForbidden, "hw_mem_page_size",
                                    hardware.numa_get_constraints, flavor(specs),
                                    image({"hw_mem_page_size": prop}))
        e = self.assertRaises(exception.MemoryPageSizeForbidden, hardware.numa_get_constraints,
                              flavor(), image({"hw_mem_page_size": "2MB"}))
        self.assertIn("Page size 2MB forbidden against '<empty>'", e.format_message())

    def test_page_size_makes_a_topology(self):
        topo = hardware.numa_get_constraints(flavor({"hw:mem_page_size": "small"}))
        self.assertEqual(cells(topo), [(0, [0, 1, 2, 3], [], 4096)])
        self.assertEqual(topo.cells[0].pagesize, MEMPAGES_SMALL)
        self.assertIsNone(topo.cells[0].cpu_policy)

    def test_zero_page_size_makes_none(self):
        self.assertIsNone(hardware.numa_get_constraints(flavor({"hw:mem_page_size": "0"})))

    def test_pmem_makes_a_topology(self):
        topo = hardware.numa_get_constraints(flavor({"hw:pmem": "6GB,LARGE"}))
        self.assertEqual(len(topo.cells), 1)
        self.assertEqual(hardware.get_vpmems(flavor({"hw:pmem": "6GB,6GB"})), ["6GB", "6GB"])


class LockedMemoryTests(ErrorAssertions, SynchronousTestCase):
    """spec/E §1.5 locked memory."""

    def test_needs_a_page_size(self):
        """spec/E §1.5 test: hw:locked_memory=true alone → 400; with small → OK."""
        self.assertRaisesNaming(exception.LockMemoryForbidden, "hw:locked_memory",
                                hardware.numa_get_constraints,
                                flavor({"hw:locked_memory": "true"}))
        self.assertTrue(hardware.get_locked_memory_constraint(
            flavor({"hw:locked_memory": "true", "hw:mem_page_size": "small"}), image()))

    def test_conflict(self):
        """spec/E §1.5 test: flavor true + image false → 400."""
        self.assertRaisesNaming(exception.FlavorImageLockedMemoryConflict, "hw_locked_memory",
                                hardware.numa_get_constraints,
                                flavor({"hw:locked_memory": "true", "hw:mem_page_size": "small"}),
                                image({"hw_locked_memory": "false"}))

    def test_bad_boolean(self):
        self.assertRaisesNaming(exception.InvalidRequest, "hw_locked_memory",
                                hardware.numa_get_constraints, flavor(),
                                image({"hw_locked_memory": "perhaps"}))


class PCIPolicyConstraintTests(ErrorAssertions, SynchronousTestCase):
    """spec/E §1.7: hw:pci_numa_affinity_policy."""

    def test_values(self):
        get = hardware.get_pci_numa_policy_constraint
        self.assertEqual(get(flavor({"hw:pci_numa_affinity_policy": "socket"}), image()),
                         "socket")
        self.assertEqual(get(flavor(), image({"hw_pci_numa_affinity_policy": "preferred"})),
                         "preferred")
        self.assertIsNone(get(flavor(), image()))

    def test_conflict(self):
        """spec/E §1.7 test: flavor required + image preferred → 400."""
        self.assertRaisesNaming(exception.ImagePCINUMAPolicyForbidden,
                                "hw_pci_numa_affinity_policy",
                                hardware.get_pci_numa_policy_constraint,
                                flavor({"hw:pci_numa_affinity_policy": "required"}),
                                image({"hw_pci_numa_affinity_policy": "preferred"}))

    def test_invalid(self):
        self.assertRaisesNaming(exception.InvalidPCINUMAAffinity,
                                "hw:pci_numa_affinity_policy",
                                hardware.get_pci_numa_policy_constraint,
                                flavor({"hw:pci_numa_affinity_policy": "nearby"}), image())


class EvaluationOrderTests(SynchronousTestCase):
    """spec/E §2.2 step 1: the first error in the documented order wins."""

    def test_policy_before_thread_policy(self):
        self.assertRaises(exception.InvalidCPUAllocationPolicy, hardware.numa_get_constraints,
                          flavor({"hw:cpu_policy": "bogus", "hw:cpu_thread_policy": "bogus"}))

    def test_thread_policy_before_nodes(self):
        self.assertRaises(exception.CPUThreadPolicyConfigurationInvalid,
                          hardware.numa_get_constraints,
                          flavor({"hw:cpu_thread_policy": "require", "hw:numa_nodes": "0"}))

    def test_nodes_before_page_size(self):
        self.assertRaises(exception.InvalidNUMANodesNumber, hardware.numa_get_constraints,
                          flavor({"hw:numa_nodes": "x", "hw:mem_page_size": "2M"}))

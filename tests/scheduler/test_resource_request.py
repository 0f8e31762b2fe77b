"""Flavors, images, ports and destinations to the exact ``GET /allocation_candidates``
query (spec/E §2.3, spec/D §1.2 step 4)."""
from __future__ import annotations

from urllib.parse import unquote

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.objects.request_spec import Destination, RequestGroup, RequestLevelParams
from nova_tx.scheduler import resource_request as rr
from tests.scheduler.helpers import flavor, make_conf, spec

PORT1 = "9a5c2e4c-0c4b-4b8e-9d0e-000000000001"
PORT2 = "9a5c2e4c-0c4b-4b8e-9d0e-000000000002"
CN1 = "c0c0c0c0-0000-4000-8000-000000000001"


class QueryTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.conf = make_conf()

    def query(self, request_spec, **kwargs) -> str:
        req = rr.resources_from_request_spec(request_spec, self.conf, **kwargs)
        return unquote(req.to_querystring())

    def queries(self, request_spec, **kwargs) -> list[str]:
        return [unquote(q.to_querystring()) for q in
                rr.allocation_candidate_queries(request_spec, self.conf, **kwargs)]

    # -- the flavor's own size ---------------------------------------------------------

    def test_plain_flavor_encoded_exactly(self):
        req = rr.resources_from_request_spec(spec(flavor(1, 512, 1)), self.conf)
        self.assertEqual("limit=1000&resources=DISK_GB%3A1%2CMEMORY_MB%3A512%2CVCPU%3A1",
                         req.to_querystring())

    def test_disk_is_root_ephemeral_and_swap_rounded_up(self):
        self.assertEqual("limit=1000&resources=DISK_GB:16,MEMORY_MB:2048,VCPU:2",
                         self.query(spec(flavor(2, 2048, 10, ephemeral_gb=5, swap=512))))
        self.assertEqual("limit=1000&resources=DISK_GB:17,MEMORY_MB:2048,VCPU:2",
                         self.query(spec(flavor(2, 2048, 10, ephemeral_gb=5, swap=1025))))

    def test_boot_from_volume_leaves_out_root_gb(self):
        self.assertEqual("limit=1000&resources=DISK_GB:6,MEMORY_MB:2048,VCPU:2",
                         self.query(spec(flavor(2, 2048, 10, ephemeral_gb=5, swap=512),
                                         is_bfv=True)))

    def test_zero_disk_is_omitted(self):
        self.assertEqual("limit=1000&resources=MEMORY_MB:64,VCPU:1",
                         self.query(spec(flavor(1, 64, 0)), ))
        self.assertEqual("limit=1000&resources=MEMORY_MB:64,VCPU:1",
                         self.query(spec(flavor(1, 64, 10), is_bfv=True)))

    def test_limit_is_max_placement_results(self):
        self.conf.set_override("max_placement_results", 7, group="scheduler")
        self.assertEqual("limit=7&resources=DISK_GB:10,MEMORY_MB:1024,VCPU:1",
                         self.query(spec()))

    # -- resources and traits in extra specs -----------------------------------------

    def test_extra_spec_resources_override_the_flavor(self):
        f = flavor(2, 2048, 20, resources__VCPU="0", resources__DISK_GB="0",
                   resources__MEMORY_MB="1000", resources__CUSTOM_MAGIC="3")
        self.assertEqual("limit=1000&resources=CUSTOM_MAGIC:3,MEMORY_MB:1000",
                         self.query(spec(f)))

    def test_invalid_resource_class_and_amount_are_skipped(self):
        f = flavor(1, 512, 1, resources__BOGUS="1", resources__CUSTOM_A="-1",
                   resources__CUSTOM_B="x", trait__CUSTOM_T="maybe")
        self.assertEqual("limit=1000&resources=DISK_GB:1,MEMORY_MB:512,VCPU:1",
                         self.query(spec(f)))

    def test_required_and_forbidden_traits(self):
        f = flavor(1, 512, 1, trait__HW_CPU_X86_AVX2="required",
                   trait__CUSTOM_SLOW="forbidden", trait__COMPUTE_VOLUME_MULTI_ATTACH="required")
        self.assertEqual("limit=1000&required=COMPUTE_VOLUME_MULTI_ATTACH,HW_CPU_X86_AVX2,"
                         "!CUSTOM_SLOW&resources=DISK_GB:1,MEMORY_MB:512,VCPU:1",
                         self.query(spec(f)))

    def test_granular_groups_with_group_policy(self):
        f = flavor(2, 2048, 10, resources1__SRIOV_NET_VF="1",
                   trait1__CUSTOM_PHYSNET_A="required", resources2__SRIOV_NET_VF="1",
                   trait2__CUSTOM_PHYSNET_B="required", group_policy="isolate")
        self.assertEqual(
            "group_policy=isolate&limit=1000&required1=CUSTOM_PHYSNET_A&"
            "required2=CUSTOM_PHYSNET_B&resources=DISK_GB:10,MEMORY_MB:2048,VCPU:2&"
            "resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1", self.query(spec(f)))

    def test_string_suffixes(self):
        f = flavor(1, 512, 1, resources_gpu__VGPU="1",
                   trait_gpu__CUSTOM_NVIDIA_11="required", group_policy="none")
        self.assertEqual(
            "group_policy=none&limit=1000&required_gpu=CUSTOM_NVIDIA_11&"
            "resources=DISK_GB:1,MEMORY_MB:512,VCPU:1&resources_gpu=VGPU:1",
            self.query(spec(f)))

    def test_invalid_group_policy_is_ignored(self):
        f = flavor(1, 512, 1, resources1__VGPU="1", group_policy="sometimes")
        self.assertEqual("limit=1000&resources=DISK_GB:1,MEMORY_MB:512,VCPU:1&"
                         "resources1=VGPU:1", self.query(spec(f)))

    def test_vgpu_unsuffixed(self):
        f = flavor(1, 512, 1, resources__VGPU="1", trait__CUSTOM_NVIDIA_11="required")
        self.assertEqual("limit=1000&required=CUSTOM_NVIDIA_11&"
                         "resources=DISK_GB:1,MEMORY_MB:512,VCPU:1,VGPU:1",
                         self.query(spec(f)))

    # -- the image --------------------------------------------------------------------

    def test_image_traits_go_to_the_unsuffixed_group(self):
        image = {"id": "img", "disk_format": "raw",
                 "properties": {"traits_required": ["CUSTOM_A"],
                                "trait:CUSTOM_B": "required"}}
        f = flavor(1, 512, 1, resources1__VGPU="1")
        self.assertEqual("limit=1000&required=CUSTOM_A,CUSTOM_B&"
                         "resources=DISK_GB:1,MEMORY_MB:512,VCPU:1&resources1=VGPU:1",
                         self.query(spec(f, image)))

    # -- CPU pinning (spec/E §2.3) ----------------------------------------------------

    def test_dedicated_with_isolated_emulator_threads(self):
        f = flavor(4, 4096, 20, hw__cpu_policy="dedicated",
                   hw__emulator_threads_policy="isolate")
        self.assertEqual(
            ["limit=1000&resources=DISK_GB:20,MEMORY_MB:4096,PCPU:5",
             "limit=1000&resources=DISK_GB:20,MEMORY_MB:4096,VCPU:4"],
            self.queries(spec(f)))

    def test_dedicated_from_the_image(self):
        image = {"properties": {"hw_cpu_policy": "dedicated"}}
        self.assertEqual(
            ["limit=1000&resources=DISK_GB:1,MEMORY_MB:512,PCPU:2",
             "limit=1000&resources=DISK_GB:1,MEMORY_MB:512,VCPU:2"],
            self.queries(spec(flavor(2, 512, 1), image)))

    def test_fallback_query_disabled(self):
        self.conf.set_override("disable_fallback_pcpu_query", True, group="workarounds")
        f = flavor(4, 4096, 20, hw__cpu_policy="dedicated")
        self.assertEqual(["limit=1000&resources=DISK_GB:20,MEMORY_MB:4096,PCPU:4"],
                         self.queries(spec(f)))

    def test_mixed_with_dedicated_mask(self):
        f = flavor(4, 4096, 20, hw__cpu_policy="mixed", hw__cpu_dedicated_mask="0-1")
        # Nova makes no fallback query for mixed guests.
        self.assertEqual(["limit=1000&resources=DISK_GB:20,MEMORY_MB:4096,PCPU:2,VCPU:2"],
                         self.queries(spec(f)))

    def test_mixed_with_caret_mask_and_emulator_isolate(self):
        f = flavor(4, 4096, 20, hw__cpu_policy="mixed", hw__cpu_dedicated_mask="^0",
                   hw__emulator_threads_policy="isolate")
        self.assertEqual("limit=1000&resources=DISK_GB:20,MEMORY_MB:4096,PCPU:4,VCPU:1",
                         self.query(spec(f)))

    def test_mixed_with_realtime_mask(self):
        f = flavor(4, 4096, 20, hw__cpu_policy="mixed", hw__cpu_realtime="yes",
                   hw__cpu_realtime_mask="^0-2")
        self.assertEqual("limit=1000&resources=DISK_GB:20,MEMORY_MB:4096,PCPU:1,VCPU:3",
                         self.query(spec(f)))

    def test_thread_policies_become_the_hyperthreading_trait(self):
        for policy, required in (("isolate", "!HW_CPU_HYPERTHREADING"),
                                 ("require", "HW_CPU_HYPERTHREADING")):
            f = flavor(2, 512, 1, hw__cpu_policy="dedicated", hw__cpu_thread_policy=policy)
            self.assertEqual(
                [f"limit=1000&required={required}&resources=DISK_GB:1,MEMORY_MB:512,PCPU:2",
                 "limit=1000&resources=DISK_GB:1,MEMORY_MB:512,VCPU:2"],
                self.queries(spec(f)))
        f = flavor(2, 512, 1, hw__cpu_policy="dedicated", hw__cpu_thread_policy="prefer")
        self.assertEqual("limit=1000&resources=DISK_GB:1,MEMORY_MB:512,PCPU:2",
                         self.query(spec(f)))

    def test_explicit_pcpu_resources_make_no_fallback(self):
        f = flavor(2, 512, 1, resources__PCPU="2")
        self.assertEqual(["limit=1000&resources=DISK_GB:1,MEMORY_MB:512,PCPU:2"],
                         self.queries(spec(f)))

    def test_shared_policy_is_plain_vcpu(self):
        f = flavor(2, 512, 1, hw__cpu_policy="shared")
        self.assertEqual(["limit=1000&resources=DISK_GB:1,MEMORY_MB:512,VCPU:2"],
                         self.queries(spec(f)))

    def test_invalid_policy_raises_the_api_error(self):
        f = flavor(2, 512, 1, hw__cpu_policy="bogus")
        self.assertRaises(exception.InvalidCPUAllocationPolicy, self.query, spec(f))

    # -- other translations -----------------------------------------------------------

    def test_memory_encryption_pmem_tpm_secure_boot_and_pci_socket(self):
        f = flavor(1, 512, 1, hw__mem_encryption="true", hw__pmem="6GB,6GB,LARGE",
                   hw__tpm_version="2.0", os__secure_boot="required",
                   hw__pci_numa_affinity_policy="socket")
        self.assertEqual(
            "limit=1000&required=COMPUTE_SECURITY_TPM_2_0,"
            "COMPUTE_SECURITY_UEFI_SECURE_BOOT,COMPUTE_SOCKET_PCI_NUMA_AFFINITY&"
            "resources=CUSTOM_PMEM_NAMESPACE_6GB:2,CUSTOM_PMEM_NAMESPACE_LARGE:1,"
            "DISK_GB:1,MEMORY_MB:512,MEM_ENCRYPTION_CONTEXT:1,VCPU:1",
            self.query(spec(f)))

    def test_tpm_1_2_from_the_image(self):
        image = {"properties": {"hw_tpm_version": "1.2", "hw_mem_encryption": False}}
        self.assertEqual("limit=1000&required=COMPUTE_SECURITY_TPM_1_2&"
                         "resources=DISK_GB:1,MEMORY_MB:512,VCPU:1",
                         self.query(spec(flavor(1, 512, 1), image)))

    # -- ports and request-level parameters -------------------------------------------

    def port_group(self, port, required=("CUSTOM_PHYSNET_NET1", "CUSTOM_VNIC_TYPE_NORMAL")):
        return RequestGroup.from_port_request(port, {
            "resources": {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}, "required": list(required)})

    def test_one_port_group(self):
        s = spec(flavor(1, 512, 1), requested_resources=[self.port_group(PORT1)])
        self.assertEqual(
            "limit=1000&required" + PORT1 + "=CUSTOM_PHYSNET_NET1,CUSTOM_VNIC_TYPE_NORMAL&"
            "resources=DISK_GB:1,MEMORY_MB:512,VCPU:1&"
            "resources" + PORT1 + "=NET_BW_EGR_KILOBIT_PER_SEC:1000", self.query(s))

    def test_two_port_groups_without_flavor_policy_default_to_none(self):
        s = spec(flavor(1, 512, 1),
                 requested_resources=[self.port_group(PORT1), self.port_group(PORT2)])
        self.assertTrue(self.query(s).startswith("group_policy=none&limit=1000&"))

    def test_two_flavor_groups_without_policy_stay_without(self):
        f = flavor(1, 512, 1, resources1__VGPU="1", resources2__VGPU="1")
        self.assertNotIn("group_policy", self.query(spec(f)))

    def test_any_of_and_forbidden_traits_from_a_port(self):
        group = self.port_group(PORT1, ("in:CUSTOM_VNIC_TYPE_DIRECT,CUSTOM_VNIC_TYPE_MACVTAP",
                                        "!CUSTOM_SLOW", "CUSTOM_PHYSNET_NET1"))
        s = spec(flavor(1, 512, 1), requested_resources=[group])
        self.assertEqual(
            "limit=1000&required" + PORT1 + "=CUSTOM_PHYSNET_NET1,!CUSTOM_SLOW&"
            "required" + PORT1 + "=in:CUSTOM_VNIC_TYPE_DIRECT,CUSTOM_VNIC_TYPE_MACVTAP&"
            "resources=DISK_GB:1,MEMORY_MB:512,VCPU:1&"
            "resources" + PORT1 + "=NET_BW_EGR_KILOBIT_PER_SEC:1000", self.query(s))

    def test_port_group_suffix_conflict(self):
        s = spec(flavor(1, 512, 1),
                 requested_resources=[self.port_group(PORT1), self.port_group(PORT1)])
        self.assertRaises(exception.RequestGroupSuffixConflict, self.query, s)

    def test_groups_from_outside_must_be_named_and_ask_for_something(self):
        req = rr.ResourceRequest()
        self.assertRaises(ValueError, req.add_request_group,
                          RequestGroup(resources={"VCPU": 1}))
        self.assertRaises(ValueError, req.add_request_group, RequestGroup(requester_id="x"))

    def test_root_required_same_subtree_and_member_of(self):
        params = RequestLevelParams(root_required={"COMPUTE_NODE", "CUSTOM_Z"},
                                    root_forbidden={"COMPUTE_STATUS_DISABLED"},
                                    same_subtree=[[PORT1, PORT2]], member_of=[["a2", "a1"]])
        s = spec(flavor(1, 512, 1), request_level_params=params,
                 requested_resources=[self.port_group(PORT1), self.port_group(PORT2)])
        query = self.query(s)
        self.assertIn("&member_of=in:a1,a2&", query)
        self.assertIn("&root_required=COMPUTE_NODE,CUSTOM_Z,!COMPUTE_STATUS_DISABLED&", query)
        self.assertIn(f"&same_subtree={PORT1},{PORT2}", query)

    def test_from_request_groups(self):
        req = rr.ResourceRequest.from_request_groups(
            [self.port_group(PORT1)], RequestLevelParams(root_required={"COMPUTE_NODE"}),
            "isolate")
        self.assertEqual(
            "group_policy=isolate&required" + PORT1 + "=CUSTOM_PHYSNET_NET1,"
            "CUSTOM_VNIC_TYPE_NORMAL&resources" + PORT1 + "=NET_BW_EGR_KILOBIT_PER_SEC:1000&"
            "root_required=COMPUTE_NODE", unquote(req.to_querystring()))

    # -- the destination --------------------------------------------------------------

    def test_destination_aggregates(self):
        destination = Destination()
        destination.require_aggregates(["agg-b", "agg-a"])
        destination.require_aggregates(["agg-c"])
        destination.append_forbidden_aggregates(["agg-x", "agg-d"])
        self.assertEqual(
            "limit=1000&member_of=!in:agg-d,agg-x&member_of=in:agg-a,agg-b&"
            "member_of=in:agg-c&resources=DISK_GB:1,MEMORY_MB:512,VCPU:1",
            self.query(spec(flavor(1, 512, 1), requested_destination=destination)))

    def test_targeted_host_with_one_node_is_in_tree(self):
        calls = []

        def lookup(host, node, cell):
            calls.append((host, node, cell))
            return [CN1]

        s = spec(flavor(1, 512, 1), requested_destination=Destination(host="h1"))
        self.assertEqual(f"in_tree={CN1}&limit=1000&resources=DISK_GB:1,MEMORY_MB:512,VCPU:1",
                         self.query(s, compute_nodes=lookup))
        s = spec(flavor(1, 512, 1), force_hosts=["h2"], force_nodes=["n2"])
        self.query(s, compute_nodes=lookup)
        self.assertEqual([("h1", None, None), ("h2", "n2", None)], calls)

    def test_targeted_host_with_several_nodes_has_no_limit(self):
        s = spec(flavor(1, 512, 1), force_hosts=["ironic"])
        self.assertEqual("resources=DISK_GB:1,MEMORY_MB:512,VCPU:1",
                         self.query(s, compute_nodes=lambda h, n, c: [CN1, "other"]))

    def test_targeted_host_unknown(self):
        s = spec(flavor(1, 512, 1), force_hosts=["nowhere"])
        error = self.assertRaises(exception.NoValidHost, self.query, s,
                                  compute_nodes=lambda h, n, c: [])
        self.assertIn("No such host - host: nowhere node: None", str(error))

    def test_affinity_hints_remove_the_limit(self):
        for hint in ("group", "same_host", "different_host"):
            s = spec(flavor(1, 512, 1), scheduler_hints={hint: ["x"]})
            self.assertEqual("resources=DISK_GB:1,MEMORY_MB:512,VCPU:1", self.query(s))
        s = spec(flavor(1, 512, 1), scheduler_hints={"query": ["[]"]})
        self.assertTrue(self.query(s).startswith("limit=1000&"))

    def test_all_required_traits(self):
        image = {"properties": {"traits_required": ["CUSTOM_IMG"]}}
        f = flavor(1, 512, 1, trait__CUSTOM_A="required", trait1__CUSTOM_B="required",
                   resources1__VGPU="1", trait__CUSTOM_C="forbidden")
        req = rr.ResourceRequest.from_request_spec(spec(f, image))
        self.assertEqual({"CUSTOM_A", "CUSTOM_B", "CUSTOM_IMG"}, req.all_required_traits)

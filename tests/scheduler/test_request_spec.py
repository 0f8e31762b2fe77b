"""RequestSpec: building it, its JSON (RPC and ``request_specs.spec``), a spec in the
shape Nova writes, storage in the API database; and the scheduler options' defaults."""
from __future__ import annotations

import json

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.api import request_specs
from nova_tx.objects import numa
from nova_tx.objects.request_spec import (
    NOT_PERSISTED,
    Destination,
    ImageMeta,
    InstanceGroup,
    NetworkRequest,
    RequestGroup,
    RequestLevelParams,
    RequestSpec,
    SchedulerLimits,
    SchedulerRetry,
)
from nova_tx.scheduler import resource_request as rr
from tests.db.fixtures import engine_for, migrated_database_url
from tests.scheduler.helpers import flavor, make_conf

UUID = "6f5a8a5c-4a3e-4bfe-9d8c-5e0f0b1f6d1a"


def full_spec() -> RequestSpec:
    """A spec with every field set."""
    group = RequestGroup.from_port_request("port-1", {
        "resources": {"NET_BW_EGR_KILOBIT_PER_SEC": 1000},
        "required": ["CUSTOM_PHYSNET_A", "!CUSTOM_SLOW", "in:CUSTOM_X,CUSTOM_Y"]})
    group.provider_uuids = ["rp-1"]
    destination = Destination(host="h1", node="n1", cell={"uuid": "cell-1"},
                              allow_cross_cell_move=True)
    destination.require_aggregates(["a1", "a2"])
    destination.append_forbidden_aggregates(["a9"])
    return RequestSpec(
        flavor=flavor(4, 4096, 20, 5, 512, hw__cpu_policy="dedicated",
                      hw__numa_nodes="2"),
        instance_uuid=UUID,
        image=ImageMeta(id="img-1", name="cirros", disk_format="qcow2",
                        container_format="bare", min_ram=64, min_disk=1, size=1024,
                        status="active", owner="p1", checksum="abc",
                        properties={"hw_disk_bus": "virtio", "hw_numa_cpus.0": "0-1",
                                    "traits_required": ["CUSTOM_IMG"]}),
        numa_topology=numa.InstanceNUMATopology(cells=[
            numa.InstanceNUMACell(id=0, pcpuset={0, 1}, memory=2048,
                                  cpu_policy="dedicated", cpu_pinning={0: 4, 1: 5}),
            numa.InstanceNUMACell(id=1, pcpuset={2, 3}, memory=2048,
                                  cpu_policy="dedicated")],
            emulator_threads_policy="share"),
        pci_requests=[numa.InstancePCIRequest(count=2, spec=[{"vendor_id": "8086"}],
                                              alias_name="a1", numa_policy="preferred")],
        project_id="p1", user_id="u1", availability_zone="az1", num_instances=3,
        ignore_hosts=["bad"], force_hosts=["h1"], force_nodes=["n1"],
        requested_destination=destination,
        retry=SchedulerRetry(num_attempts=2, hosts=[["h0", "n0"]]),
        limits=SchedulerLimits(vcpu=64, memory_mb=65536, disk_gb=None,
                               numa_topology={"cpu_allocation_ratio": 16.0}),
        instance_group=InstanceGroup(uuid="g1", name="grp", policy="anti-affinity",
                                     rules={"max_server_per_host": 2},
                                     members=["i1"], hosts=["h9"]),
        scheduler_hints={"group": ["g1"], "different_host": ["i1", "i2"]},
        security_groups=["default"],
        network_metadata=numa.NetworkMetadata(physnets={"phys1"}, tunneled=True),
        is_bfv=False,
        requested_resources=[group],
        request_level_params=RequestLevelParams(root_required={"COMPUTE_NODE"},
                                                root_forbidden={"CUSTOM_NO"},
                                                same_subtree=[["port-1"]]),
        requested_networks=[NetworkRequest(network_id="net1"),
                            NetworkRequest(port_id="port-1", tag="nic")],
    )


class RequestSpecJSONTests(unittest.SynchronousTestCase):
    def test_primitive_round_trip_through_json(self):
        spec = full_spec()
        primitive = json.loads(json.dumps(spec.to_primitive()))
        self.assertEqual("RequestSpec", primitive["nova_object.name"])
        self.assertEqual("nova", primitive["nova_object.namespace"])
        self.assertEqual("1.14", primitive["nova_object.version"])
        data = primitive["nova_object.data"]
        self.assertEqual("Flavor", data["flavor"]["nova_object.name"])
        self.assertEqual("ImageMetaProps",
                         data["image"]["nova_object.data"]["properties"]["nova_object.name"])
        self.assertEqual("InstanceNUMACell", data["numa_topology"]["nova_object.data"]
                         ["cells"][0]["nova_object.name"])
        self.assertEqual(spec, RequestSpec.from_primitive(primitive))
        # The plain data (no envelope) loads as well.
        self.assertEqual(spec, RequestSpec.from_primitive(data))

    def test_minimal_spec_round_trip(self):
        spec = RequestSpec(flavor=flavor())
        self.assertEqual(spec, RequestSpec.from_primitive(
            json.loads(json.dumps(spec.to_primitive()))))

    def test_db_form_leaves_out_per_request_fields(self):
        spec = full_spec()
        stored = json.loads(spec.to_db_spec())
        data = stored["nova_object.data"]
        for name in NOT_PERSISTED:
            self.assertNotIn(name, data)
        group = data["instance_group"]["nova_object.data"]
        self.assertNotIn("hosts", group)
        self.assertNotIn("members", group)
        self.assertEqual(["anti-affinity"], group["policies"])
        loaded = RequestSpec.from_db_spec(spec.to_db_spec(), id=7)
        self.assertEqual(7, loaded.id)
        self.assertIsNone(loaded.requested_destination)
        self.assertIsNone(loaded.retry)
        self.assertIsNone(loaded.ignore_hosts)
        self.assertEqual([], loaded.requested_resources)
        self.assertEqual(RequestLevelParams(), loaded.request_level_params)
        self.assertEqual(spec.flavor, loaded.flavor)
        self.assertEqual(spec.image, loaded.image)
        self.assertEqual(spec.numa_topology, loaded.numa_topology)
        self.assertEqual(spec.pci_requests, loaded.pci_requests)
        self.assertEqual(spec.scheduler_hints, loaded.scheduler_hints)
        self.assertEqual(["h1"], loaded.force_hosts)

    def test_the_query_survives_the_round_trip(self):
        spec = full_spec()
        spec.requested_destination.host = None
        spec.requested_destination.node = None
        spec.force_hosts = spec.force_nodes = None
        conf = make_conf()
        loaded = RequestSpec.from_primitive(json.loads(json.dumps(spec.to_primitive())))
        self.assertEqual(rr.resources_from_request_spec(spec, conf).to_querystring(),
                         rr.resources_from_request_spec(loaded, conf).to_querystring())

    def test_a_spec_as_nova_writes_it(self):
        """The shape of a ``request_specs.spec`` written by Nova Zed (trimmed)."""
        def obj(name, version, data):
            return {"nova_object.name": name, "nova_object.namespace": "nova",
                    "nova_object.version": version, "nova_object.data": data,
                    "nova_object.changes": sorted(data)}

        nova_spec = obj("RequestSpec", "1.14", {
            "id": 12,
            "instance_uuid": UUID,
            "project_id": "p1", "user_id": "u1",
            "availability_zone": None,
            "flavor": obj("Flavor", "1.2", {
                "id": 1, "name": "m1.tiny", "memory_mb": 512, "vcpus": 1, "root_gb": 1,
                "ephemeral_gb": 0, "flavorid": "1", "swap": 0, "rxtx_factor": 1.0,
                "vcpu_weight": 0, "disabled": False, "is_public": True,
                "extra_specs": {"hw:cpu_policy": "dedicated"}, "description": None,
                "created_at": "2022-09-21T12:00:00Z", "updated_at": None,
                "deleted_at": None, "deleted": False}),
            "image": obj("ImageMeta", "1.8", {
                "id": "155d900f-4e14-4e4c-a73d-069cbf4541e6", "name": "cirros",
                "status": "active", "disk_format": "qcow2", "container_format": "bare",
                "min_ram": 0, "min_disk": 0, "size": 25165824, "owner": "p1",
                "checksum": "ee1eca47dc88f4879d8a229cc70a07c6",
                "created_at": "2022-09-21T12:00:00Z", "updated_at": "2022-09-21T12:00:00Z",
                "visibility": "public", "protected": False, "direct_url": None,
                "properties": obj("ImageMetaProps", "1.31", {
                    "hw_rng_model": "virtio", "traits_required": ["CUSTOM_IMG"]})}),
            "numa_topology": None,
            "pci_requests": obj("InstancePCIRequests", "1.1", {
                "instance_uuid": UUID, "requests": []}),
            "num_instances": 1,
            "force_hosts": None, "force_nodes": None,
            "limits": obj("SchedulerLimits", "1.0", {
                "numa_topology": None, "vcpu": None, "disk_gb": None, "memory_mb": None}),
            "instance_group": None,
            "scheduler_hints": {"same_host": ["a", "b"]},
            "security_groups": obj("SecurityGroupList", "1.1", {"objects": [
                obj("SecurityGroup", "1.2", {"name": "default"})]}),
            "is_bfv": False,
        })
        spec = RequestSpec.from_db_spec(json.dumps(nova_spec))
        self.assertEqual(12, spec.id)
        self.assertEqual("m1.tiny", spec.flavor.name)
        self.assertEqual({"hw:cpu_policy": "dedicated"}, spec.flavor.extra_specs)
        self.assertEqual("qcow2", spec.image.disk_format)
        self.assertEqual(["CUSTOM_IMG"], spec.image.properties["traits_required"])
        self.assertNotIn("visibility", spec.image.properties)
        self.assertEqual(["default"], spec.security_groups)
        self.assertEqual(["a", "b"], spec.scheduler_hints["same_host"])
        conf = make_conf()
        self.assertEqual(
            ["required=CUSTOM_IMG&resources=DISK_GB:1,MEMORY_MB:512,PCPU:1",
             "required=CUSTOM_IMG&resources=DISK_GB:1,MEMORY_MB:512,VCPU:1"],
            [q.to_querystring().replace("%3A", ":").replace("%2C", ",")
             for q in rr.allocation_candidate_queries(spec, conf)])

    def test_instance_group_from_nova_policies(self):
        group = InstanceGroup.from_primitive(
            {"uuid": "g", "policies": ["affinity"], "members": ["i"], "hosts": ["h"]})
        self.assertEqual(("affinity", ["i"], ["h"]), (group.policy, group.members, group.hosts))


class FromComponentsTests(unittest.SynchronousTestCase):
    def test_filter_properties(self):
        class Context:
            project_id = "ctx-project"
            user_id = "ctx-user"

        spec = RequestSpec.from_components(
            flavor=flavor(), instance_uuid=UUID, context=Context(),
            image={"id": "img", "disk_format": "raw", "min_ram": 0,
                   "properties": {"hw_disk_bus": "scsi"}, "os_distro": "cirros",
                   "visibility": "public"},
            filter_properties={
                "scheduler_hints": {"group": "g1", "different_host": ["i1", "i2"],
                                    "query": ["=", "$free_ram_mb", 1024],
                                    "build_near_host_ip": "10.0.0.1"},
                "force_hosts": "h1", "force_nodes": ["n1"], "ignore_hosts": ["h2"],
                "limits": {"vcpu": 8},
                "retry": {"num_attempts": 1, "hosts": [["h3", "n3"]]},
                "group_updated": True, "group_uuid": "g1",
                "group_policies": ["anti-affinity"], "group_hosts": ["h4"],
                "group_members": ["i9"]},
            availability_zone="az1", security_groups=["default"], is_bfv=True)
        self.assertEqual(("ctx-project", "ctx-user"), (spec.project_id, spec.user_id))
        self.assertEqual({"group": ["g1"], "different_host": ["i1", "i2"],
                          "query": ["=", "$free_ram_mb", "1024"],
                          "build_near_host_ip": ["10.0.0.1"]}, spec.scheduler_hints)
        self.assertEqual("g1", spec.get_scheduler_hint("group"))
        self.assertEqual(["i1", "i2"], spec.get_scheduler_hint("different_host"))
        self.assertIsNone(spec.get_scheduler_hint("cidr"))
        self.assertEqual((["h1"], ["n1"], ["h2"]),
                         (spec.force_hosts, spec.force_nodes, spec.ignore_hosts))
        self.assertEqual(8, spec.limits.vcpu)
        self.assertEqual([["h3", "n3"]], spec.retry.hosts)
        self.assertEqual(("g1", "anti-affinity", ["h4"], ["i9"]),
                         (spec.instance_group.uuid, spec.instance_group.policy,
                          spec.instance_group.hosts, spec.instance_group.members))
        self.assertEqual("raw", spec.image.disk_format)
        self.assertEqual({"hw_disk_bus": "scsi", "os_distro": "cirros"},
                         spec.image.properties)
        self.assertTrue(spec.is_bfv)
        self.assertEqual((1, 1, 1024, 10, 0, 0), (
            spec.num_instances, spec.vcpus, spec.memory_mb, spec.root_gb,
            spec.ephemeral_gb, spec.swap))

    def test_reset_forced_destinations(self):
        spec = RequestSpec(flavor=flavor(), force_hosts=["h"], force_nodes=["n"],
                           requested_destination=Destination(host="h", node="n",
                                                             aggregates=["a"]))
        spec.reset_forced_destinations()
        self.assertEqual((None, None, None, None, ["a"]), (
            spec.force_hosts, spec.force_nodes, spec.requested_destination.host,
            spec.requested_destination.node, spec.requested_destination.aggregates))


class RequestSpecStorageTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="request-specs")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def test_create_get_save_destroy(self):
        spec = full_spec()
        request_specs.create(self.conn, spec)
        self.assertIsNotNone(spec.id)
        self.assertRaises(exception.Invalid, request_specs.create, self.conn, spec)
        loaded = request_specs.get_by_instance_uuid(self.conn, UUID)
        self.assertEqual(spec.id, loaded.id)
        self.assertEqual(spec.flavor, loaded.flavor)
        self.assertIsNone(loaded.requested_destination)
        loaded.num_instances = 1
        loaded.availability_zone = "az2"
        request_specs.save(self.conn, loaded)
        self.assertEqual("az2", request_specs.get_by_instance_uuid(
            self.conn, UUID).availability_zone)
        request_specs.destroy(self.conn, UUID)
        self.assertRaises(exception.RequestSpecNotFound,
                          request_specs.get_by_instance_uuid, self.conn, UUID)
        self.assertRaises(exception.RequestSpecNotFound, request_specs.destroy,
                          self.conn, UUID)

    def test_one_spec_per_instance_and_bulk_destroy(self):
        request_specs.create(self.conn, RequestSpec(flavor=flavor(), instance_uuid="i-1"))
        self.assertRaises(exception.Invalid, request_specs.create, self.conn,
                          RequestSpec(flavor=flavor(), instance_uuid="i-1"))
        self.assertRaises(exception.Invalid, request_specs.create, self.conn,
                          RequestSpec(flavor=flavor()))
        request_specs.create(self.conn, RequestSpec(flavor=flavor(), instance_uuid="i-2"))
        self.assertEqual(2, request_specs.destroy_bulk(self.conn, ["i-1", "i-2", "i-3"]))
        self.assertEqual(0, request_specs.destroy_bulk(self.conn, []))


class SQLiteRequestSpecStorageTests(RequestSpecStorageTests, unittest.TestCase):
    backend = "sqlite"


class PostgreSQLRequestSpecStorageTests(RequestSpecStorageTests, unittest.TestCase):
    backend = "postgresql"


class MySQLRequestSpecStorageTests(RequestSpecStorageTests, unittest.TestCase):
    backend = "mysql"


class OptionDefaultsTests(unittest.SynchronousTestCase):
    """spec/D §1.10: every default of [scheduler] and [filter_scheduler]."""

    def test_defaults(self):
        conf = make_conf()
        s, f = conf.scheduler, conf.filter_scheduler
        self.assertEqual(
            (3, -1, 1000, None, False, False, False, True, False, False, False),
            (s.max_attempts, s.discover_hosts_in_cells_interval, s.max_placement_results,
             s.workers, s.query_placement_for_routed_network_aggregates,
             s.limit_tenants_to_placement_aggregate,
             s.placement_aggregate_required_for_tenants,
             s.query_placement_for_availability_zone,
             s.query_placement_for_image_type_support,
             s.enable_isolated_aggregate_filtering, s.image_metadata_prefilter))
        self.assertEqual(
            (1, 8, 50, True, ["nova.scheduler.filters.all_filters"],
             ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
              "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"],
             ["nova.scheduler.weights.all_weighers"], 1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0,
             1e6, 1e6, False, None, [], [], True, None, "."),
            (f.host_subset_size, f.max_io_ops_per_host, f.max_instances_per_host,
             f.track_instance_changes, f.available_filters, f.enabled_filters,
             f.weight_classes, f.ram_weight_multiplier, f.cpu_weight_multiplier,
             f.disk_weight_multiplier, f.io_ops_weight_multiplier, f.pci_weight_multiplier,
             f.soft_affinity_weight_multiplier, f.soft_anti_affinity_weight_multiplier,
             f.build_failure_weight_multiplier, f.cross_cell_move_weight_multiplier,
             f.shuffle_best_same_weighed_hosts, f.image_properties_default_architecture,
             f.isolated_images, f.isolated_hosts,
             f.restrict_isolated_hosts_to_isolated_images,
             f.aggregate_image_properties_isolation_namespace,
             f.aggregate_image_properties_isolation_separator))
        self.assertFalse(conf.workarounds.disable_fallback_pcpu_query)

    def test_deprecated_default_section_names(self):
        from tests.helpers import write_config

        path = write_config(self, "[DEFAULT]\nscheduler_max_attempts = 5\n"
                                  "scheduler_host_subset_size = 3\n"
                                  "scheduler_default_filters = ComputeFilter\n"
                                  "ram_weight_multiplier = -1.0\n")
        from oslo_config import cfg

        from nova_tx.conf import scheduler

        conf = cfg.ConfigOpts()
        scheduler.register_opts(conf)
        conf([], default_config_files=[path])
        self.assertEqual((5, 3, ["ComputeFilter"], -1.0), (
            conf.scheduler.max_attempts, conf.filter_scheduler.host_subset_size,
            conf.filter_scheduler.enabled_filters,
            conf.filter_scheduler.ram_weight_multiplier))


class NovaFieldFormsTests(unittest.SynchronousTestCase):
    """Where Glance's and Nova's forms differ, the primitive is Nova's."""

    def test_image_numa_properties_and_traits(self):
        image = ImageMeta(properties={"hw_numa_nodes": "2", "hw_numa_cpus.0": "0-1",
                                      "hw_numa_cpus.1": "2,3", "hw_numa_mem.0": "512",
                                      "hw_numa_mem.1": "1536",
                                      "trait:HW_CPU_HYPERTHREADING": "required",
                                      "trait:CUSTOM_NO": "forbidden"})
        props = image.to_primitive()["nova_object.data"]["properties"]["nova_object.data"]
        self.assertEqual({"hw_numa_nodes": "2", "hw_numa_cpus": [[0, 1], [2, 3]],
                          "hw_numa_mem": [512, 1536],
                          "traits_required": ["HW_CPU_HYPERTHREADING"]}, props)
        loaded = ImageMeta.from_primitive(image.to_primitive())
        self.assertEqual({"hw_numa_nodes": "2", "hw_numa_cpus.0": "0-1",
                          "hw_numa_cpus.1": "2-3", "hw_numa_mem.0": "512",
                          "hw_numa_mem.1": "1536",
                          "traits_required": ["HW_CPU_HYPERTHREADING"]}, loaded.properties)
        from nova_tx.virt import hardware

        guest = hardware.numa_get_constraints(
            numa.Flavor(vcpus=4, memory_mb=2048, extra_specs={"hw:cpu_policy": "dedicated"}),
            loaded)
        self.assertEqual([({0, 1}, 512), ({2, 3}, 1536)],
                         [(cell.pcpuset, cell.memory) for cell in guest.cells])
        self.assertEqual("require", guest.cells[0].cpu_thread_policy)

    def test_numa_cell_pinning_is_cpu_pinning_raw(self):
        topology = numa.InstanceNUMATopology(cells=[numa.InstanceNUMACell(
            id=0, pcpuset={0, 1}, memory=512, cpu_policy="dedicated",
            cpu_pinning={0: 2, 1: 3})])
        from nova_tx.objects import request_spec as rs

        primitive = json.loads(json.dumps(rs.numa_topology_to_primitive(topology)))
        cell = primitive["nova_object.data"]["cells"][0]["nova_object.data"]
        self.assertEqual({"0": 2, "1": 3}, cell["cpu_pinning_raw"])
        self.assertNotIn("cpu_pinning", cell)
        self.assertEqual(topology, rs.numa_topology_from_primitive(primitive))

    def test_extended_port_resource_request(self):
        groups, params = RequestGroup.from_port_resource_request("port-1", {
            "request_groups": [
                {"id": "g-bw", "resources": {"NET_BW_EGR_KILOBIT_PER_SEC": 1000},
                 "required": ["CUSTOM_PHYSNET_A", "CUSTOM_VNIC_TYPE_NORMAL"]},
                {"id": "g-pps", "resources": {"NET_PACKET_RATE_KILOPACKET_PER_SEC": 100},
                 "required": ["CUSTOM_VNIC_TYPE_NORMAL"]}],
            "same_subtree": ["g-bw", "g-pps"]})
        self.assertEqual(["g-bw", "g-pps"], [g.requester_id for g in groups])
        self.assertEqual([["g-bw", "g-pps"]], params.same_subtree)
        groups, params = RequestGroup.from_port_resource_request("port-1", {
            "resources": {"NET_BW_IGR_KILOBIT_PER_SEC": 10}, "required": ["CUSTOM_X"]})
        self.assertEqual(["port-1"], [g.requester_id for g in groups])
        self.assertEqual(RequestLevelParams(), params)

    def test_is_rebuild_and_destination_cell(self):
        spec = RequestSpec(flavor=flavor(), scheduler_hints={"_nova_check_type": ["rebuild"]})
        self.assertTrue(spec.is_rebuild)
        self.assertFalse(RequestSpec(flavor=flavor()).is_rebuild)
        destination = Destination.from_primitive({
            "host": "h", "cell": {"nova_object.name": "CellMapping",
                                  "nova_object.data": {"uuid": "c1", "name": "cell1"}}})
        self.assertEqual({"uuid": "c1", "name": "cell1"}, destination.cell)

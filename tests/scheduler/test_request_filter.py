"""Each prefilter of spec/D §1.3 with its option on and off, over an in-memory
aggregate source, fake network API and fake Placement; then the aggregate queries
and ``DBAggregateSource`` over a real API database."""
from __future__ import annotations

import os
import shutil
import tempfile
from urllib.parse import unquote

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.api import aggregates as agg_db
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.aggregate import Aggregate
from nova_tx.objects.request_spec import Destination, NetworkRequest
from nova_tx.placement.client import PlacementClientResponse
from nova_tx.scheduler import request_filter as rf
from nova_tx.scheduler import resource_request as rr
from tests.db.fixtures import engine_for, migrated_database_url, migrated_sqlite_file
from tests.scheduler.helpers import flavor, make_conf, spec


class MemoryAggregates:
    """``AggregateSource`` over a list, with the database functions' semantics."""

    def __init__(self, *aggregates: Aggregate):
        self.aggregates = list(aggregates)

    async def aggregates_for_metadata(self, key=None, value=None):
        return [agg for agg in self.aggregates
                if any((key is None or k == key) and (value is None or v == value)
                       for k, v in agg.metadata.items())]

    async def aggregates_non_matching_by_metadata_keys(self, ignored_keys, key_prefix, value):
        ignored = set(ignored_keys)
        return [agg for agg in self.aggregates
                if any(k.startswith(key_prefix) and v == value and k not in ignored
                       for k, v in agg.metadata.items())]


def agg(uuid: str, **metadata: str) -> Aggregate:
    return Aggregate(id=None, uuid=uuid, name=uuid,
                     metadata={k.replace("__", ":"): v for k, v in metadata.items()})


class FakeNetwork:
    def __init__(self, ports=None, subnets=None):
        self.ports = ports or {}
        self.subnets = subnets or []

    async def show_port(self, context, port_id):
        return {"port": self.ports[port_id]}

    async def list_subnets(self, context, **filters):
        return [s for s in self.subnets
                if all(s.get(k) == v for k, v in filters.items())]


class FakePlacement:
    def __init__(self, aggregates_by_provider):
        self.aggregates_by_provider = aggregates_by_provider
        self.urls = []

    def get(self, url, *, version=None, global_request_id=None):
        self.urls.append((url, version))
        rp = url.split("/")[2]
        if rp not in self.aggregates_by_provider:
            return defer.succeed(PlacementClientResponse(404, {}, b"{}"))
        import json
        body = json.dumps({"aggregates": self.aggregates_by_provider[rp],
                           "resource_provider_generation": 1}).encode()
        return defer.succeed(PlacementClientResponse(200, {}, body))


class PrefilterTests(unittest.TestCase):
    def sources(self, aggregates=(), network=None, placement=None, **conf):
        return rf.RequestFilterSources(conf=make_conf(**conf),
                                       aggregates=MemoryAggregates(*aggregates),
                                       network=network, placement=placement)

    def query(self, request_spec, sources) -> str:
        return unquote(rr.resources_from_request_spec(request_spec, sources.conf)
                       .to_querystring())

    # -- require_tenant_aggregate -----------------------------------------------------

    async def test_tenant_aggregate_off_by_default(self):
        s = spec()
        sources = self.sources([agg("a1", filter_tenant_id="p1")])
        self.assertFalse(await rf.require_tenant_aggregate(sources, None, s))
        self.assertIsNone(s.requested_destination)

    async def test_tenant_aggregate_any_key_suffix(self):
        sources = self.sources(
            [agg("a1", filter_tenant_id="p1"), agg("a2", filter_tenant_id3="p1"),
             agg("a3", filter_tenant_id__123="p1"), agg("a4", filter_tenant_id="p2"),
             agg("a5", availability_zone="p1")],
            scheduler__limit_tenants_to_placement_aggregate=True)
        s = spec()
        self.assertTrue(await rf.require_tenant_aggregate(sources, None, s))
        self.assertEqual(["a1,a2,a3"], s.requested_destination.aggregates)
        self.assertIn("&member_of=in:a1,a2,a3&", self.query(s, sources))

    async def test_tenant_without_aggregate(self):
        sources = self.sources([agg("a1", filter_tenant_id="p2")],
                               scheduler__limit_tenants_to_placement_aggregate=True)
        s = spec()
        self.assertTrue(await rf.require_tenant_aggregate(sources, None, s))
        self.assertIsNone(s.requested_destination)
        sources.conf.set_override("placement_aggregate_required_for_tenants", True,
                                  group="scheduler")
        error = await self.assertFailure(
            defer.Deferred.fromCoroutine(rf.require_tenant_aggregate(sources, None, s)),
            exception.RequestFilterFailed)
        self.assertEqual("Scheduling failed: No hosts available for tenant", str(error))

    # -- map_az_to_placement_aggregate ------------------------------------------------

    async def test_az_on_by_default(self):
        sources = self.sources([agg("a1", availability_zone="az1"),
                                agg("a2", availability_zone="az1"),
                                agg("a3", availability_zone="az2")])
        s = spec(availability_zone="az1")
        self.assertTrue(await rf.map_az_to_placement_aggregate(sources, None, s))
        self.assertIn("&member_of=in:a1,a2&", self.query(s, sources))

    async def test_az_without_zone_or_aggregate_or_option(self):
        sources = self.sources([agg("a1", availability_zone="az1")])
        s = spec()
        self.assertFalse(await rf.map_az_to_placement_aggregate(sources, None, s))
        s = spec(availability_zone="az9")
        self.assertTrue(await rf.map_az_to_placement_aggregate(sources, None, s))
        self.assertIsNone(s.requested_destination)
        sources.conf.set_override("query_placement_for_availability_zone", False,
                                  group="scheduler")
        s = spec(availability_zone="az1")
        self.assertFalse(await rf.map_az_to_placement_aggregate(sources, None, s))
        self.assertIsNone(s.requested_destination)

    # -- require_image_type_support ---------------------------------------------------

    async def test_image_type(self):
        image = {"id": "i", "disk_format": "qcow2"}
        s = spec(image=image)
        sources = self.sources()
        self.assertFalse(await rf.require_image_type_support(sources, None, s))
        self.assertEqual(set(), s.root_required)
        sources.conf.set_override("query_placement_for_image_type_support", True,
                                  group="scheduler")
        self.assertTrue(await rf.require_image_type_support(sources, None, s))
        self.assertIn("root_required=COMPUTE_IMAGE_TYPE_QCOW2", self.query(s, sources))
        bfv = spec(image=image, is_bfv=True)
        self.assertFalse(await rf.require_image_type_support(sources, None, bfv))
        self.assertEqual(set(), bfv.root_required)
        unknown = spec(image={"disk_format": "bogus"})
        self.assertFalse(await rf.require_image_type_support(sources, None, unknown))
        self.assertEqual(set(), unknown.root_required)

    # -- compute_status_filter --------------------------------------------------------

    async def test_compute_status_always(self):
        s = spec()
        self.assertTrue(await rf.compute_status_filter(self.sources(), None, s))
        self.assertIn("root_required=!COMPUTE_STATUS_DISABLED", self.query(s, self.sources()))

    # -- isolate_aggregates -----------------------------------------------------------

    async def test_isolate_aggregates(self):
        sources = self.sources([agg("ax", trait__CUSTOM_X="required"),
                                agg("axy", trait__CUSTOM_X="required",
                                    trait__CUSTOM_Y="required"),
                                agg("az", trait__CUSTOM_Z="forbidden"),
                                agg("plain", foo="bar")])
        s = spec(flavor(trait__CUSTOM_X="required"))
        self.assertFalse(await rf.isolate_aggregates(sources, None, s))
        self.assertIsNone(s.requested_destination)
        sources.conf.set_override("enable_isolated_aggregate_filtering", True,
                                  group="scheduler")
        plain = spec()
        self.assertTrue(await rf.isolate_aggregates(sources, None, plain))
        self.assertEqual({"ax", "axy"}, plain.requested_destination.forbidden_aggregates)
        self.assertTrue(await rf.isolate_aggregates(sources, None, s))
        self.assertEqual({"axy"}, s.requested_destination.forbidden_aggregates)
        self.assertIn("member_of=!in:axy&", self.query(s, sources))
        # The image's traits count too.
        both = spec(flavor(trait__CUSTOM_X="required"),
                    image={"properties": {"traits_required": ["CUSTOM_Y"]}})
        self.assertTrue(await rf.isolate_aggregates(sources, None, both))
        self.assertIsNone(both.requested_destination)

    # -- transform_image_metadata -----------------------------------------------------

    async def test_transform_image_metadata(self):
        image = {"properties": {"hw_disk_bus": "virtio", "hw_cdrom_bus": "sata",
                                "hw_video_model": "virtio", "hw_vif_model": "e1000e",
                                "hw_architecture": "x86_64",
                                "hw_emulation_architecture": "aarch64",
                                "hw_viommu_model": "intel"}}
        s = spec(image=image)
        sources = self.sources()
        self.assertFalse(await rf.transform_image_metadata(sources, None, s))
        sources.conf.set_override("image_metadata_prefilter", True, group="scheduler")
        self.assertTrue(await rf.transform_image_metadata(sources, None, s))
        self.assertEqual({"COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_STORAGE_BUS_SATA",
                          "COMPUTE_GRAPHICS_MODEL_VIRTIO", "COMPUTE_NET_VIF_MODEL_E1000E",
                          "HW_ARCH_X86_64", "COMPUTE_ARCH_AARCH64",
                          "COMPUTE_VIOMMU_MODEL_INTEL"}, s.root_required)

    async def test_transform_image_metadata_unknown_trait_adds_none(self):
        s = spec(image={"properties": {"hw_disk_bus": "virtio", "hw_video_model": "nope"}})
        sources = self.sources(scheduler__image_metadata_prefilter=True)
        self.assertFalse(await rf.transform_image_metadata(sources, None, s))
        self.assertEqual(set(), s.root_required)

    # -- accelerators, remote-managed ports, ephemeral encryption -------------------

    async def test_accelerators(self):
        s = spec()
        await rf.accelerators_filter(self.sources(), None, s)
        self.assertEqual(set(), s.root_required)
        s = spec(flavor(accel__device_profile="dp1"))
        await rf.accelerators_filter(self.sources(), None, s)
        self.assertEqual({"COMPUTE_ACCELERATORS"}, s.root_required)

    async def test_remote_managed_ports(self):
        network = FakeNetwork(ports={
            "p-normal": {"binding:vnic_type": "normal"},
            "p-remote": {"binding:vnic_type": "remote-managed"}})
        sources = self.sources(network=network)
        s = spec(requested_networks=[NetworkRequest(port_id="p-normal"),
                                     NetworkRequest(network_id="n1")])
        await rf.remote_managed_ports_filter(sources, None, s)
        self.assertEqual(set(), s.root_required)
        s.requested_networks.append(NetworkRequest(port_id="p-remote"))
        await rf.remote_managed_ports_filter(sources, None, s)
        self.assertEqual({"COMPUTE_REMOTE_MANAGED_PORTS"}, s.root_required)

    async def test_ephemeral_encryption(self):
        sources = self.sources()
        s = spec()
        self.assertFalse(await rf.ephemeral_encryption_filter(sources, None, s))
        s = spec(flavor(hw__ephemeral_encryption="true"))
        self.assertTrue(await rf.ephemeral_encryption_filter(sources, None, s))
        self.assertEqual({"COMPUTE_EPHEMERAL_ENCRYPTION"}, s.root_required)
        s = spec(image={"properties": {"hw_ephemeral_encryption": "yes",
                                       "hw_ephemeral_encryption_format": "luks"}})
        self.assertTrue(await rf.ephemeral_encryption_filter(sources, None, s))
        self.assertEqual({"COMPUTE_EPHEMERAL_ENCRYPTION", "COMPUTE_EPHEMERAL_ENCRYPTION_LUKS"},
                         s.root_required)
        s = spec(flavor(hw__ephemeral_encryption="false"))
        self.assertFalse(await rf.ephemeral_encryption_filter(sources, None, s))

    # -- routed_networks_filter -------------------------------------------------------

    def routed(self, **conf):
        network = FakeNetwork(
            ports={"p-ip": {"network_id": "net1", "fixed_ips": [{"subnet_id": "sub2"}]},
                   "p-noip": {"network_id": "net1", "fixed_ips": []},
                   "p-bad": {"network_id": "net9", "fixed_ips": [{"subnet_id": "sub9"}]}},
            subnets=[{"id": "sub1", "network_id": "net1", "segment_id": "seg1"},
                     {"id": "sub2", "network_id": "net1", "segment_id": "seg2"},
                     {"id": "sub3", "network_id": "net2", "segment_id": None},
                     {"id": "sub9", "network_id": "net9", "segment_id": "seg9"}])
        placement = FakePlacement({"seg1": ["agg-s1"], "seg2": ["agg-s2"], "seg9": []})
        return self.sources(network=network, placement=placement, **conf)

    async def test_routed_networks_off(self):
        s = spec(requested_networks=[NetworkRequest(network_id="net1")])
        self.assertFalse(await rf.routed_networks_filter(self.routed(), None, s))
        self.assertIsNone(s.requested_destination)

    async def test_routed_networks(self):
        sources = self.routed(scheduler__query_placement_for_routed_network_aggregates=True)
        s = spec(requested_networks=[NetworkRequest(network_id="net1"),
                                     NetworkRequest(port_id="p-ip"),
                                     NetworkRequest(port_id="p-noip"),
                                     NetworkRequest(network_id="net2")])
        self.assertTrue(await rf.routed_networks_filter(sources, None, s))
        self.assertEqual(["agg-s1,agg-s2", "agg-s2", "agg-s1,agg-s2"],
                         s.requested_destination.aggregates)
        self.assertEqual("1.19", sources.placement.urls[0][1])

    async def test_routed_network_without_segment_aggregate(self):
        sources = self.routed(scheduler__query_placement_for_routed_network_aggregates=True)
        for request, reason in ((NetworkRequest(network_id="net9"),
                                 "Aggregates not found for the network net9"),
                                (NetworkRequest(port_id="p-bad"),
                                 "Aggregates not found for the subnet sub9")):
            s = spec(requested_networks=[request])
            error = await self.assertFailure(
                defer.Deferred.fromCoroutine(rf.routed_networks_filter(sources, None, s)),
                exception.RequestFilterFailed)
            self.assertIn(reason, str(error))

    # -- all of them ------------------------------------------------------------------

    async def test_process_reqspec_order_and_defaults(self):
        sources = self.sources([agg("a1", availability_zone="az1")])
        s = spec(availability_zone="az1")
        ran = await rf.process_reqspec(sources, None, s)
        self.assertEqual(["map_az_to_placement_aggregate", "compute_status_filter",
                          "accelerators_filter", "remote_managed_ports_filter"], ran)
        self.assertEqual([f.__name__ for f in rf.ALL_REQUEST_FILTERS], [
            "require_tenant_aggregate", "map_az_to_placement_aggregate",
            "require_image_type_support", "compute_status_filter", "isolate_aggregates",
            "transform_image_metadata", "accelerators_filter", "routed_networks_filter",
            "remote_managed_ports_filter", "ephemeral_encryption_filter"])
        self.assertEqual("limit=1000&member_of=in:a1&resources=DISK_GB:10,MEMORY_MB:1024,"
                         "VCPU:1&root_required=!COMPUTE_STATUS_DISABLED",
                         self.query(s, sources))

    async def test_prefilters_add_to_an_existing_destination(self):
        sources = self.sources([agg("a1", availability_zone="az1"),
                                agg("t1", filter_tenant_id="p1")],
                               scheduler__limit_tenants_to_placement_aggregate=True)
        s = spec(availability_zone="az1", requested_destination=Destination(host="h1"))
        await rf.process_reqspec(sources, None, s)
        self.assertEqual("h1", s.requested_destination.host)
        self.assertEqual(["t1", "a1"], s.requested_destination.aggregates)


class AggregateQueriesTests:
    """``nova_tx.db.api.aggregates`` on each backend (rolled back after each test)."""

    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="aggregate-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)
        agg_db.create(self.conn, "t", uuid="u-t", metadata={"filter_tenant_id2": "p1"},
                      hosts=["h1", "h2"])
        agg_db.create(self.conn, "z", uuid="u-z", metadata={"availability_zone": "az1",
                                                            "trait:CUSTOM_X": "required"})
        agg_db.create(self.conn, "y", uuid="u-y", metadata={"trait:CUSTOM_Y": "required",
                                                            "trait:CUSTOM_X": "required"},
                      hosts=["h2"])
        agg_db.create(self.conn, "n", uuid="u-n", metadata={"traitless": "required"})

    def uuids(self, aggregates):
        return sorted(a.uuid for a in aggregates)

    def test_get_by_metadata(self):
        found = agg_db.get_by_metadata(self.conn, value="p1")
        self.assertEqual(["u-t"], self.uuids(found))
        self.assertEqual({"filter_tenant_id2": "p1"}, found[0].metadata)
        self.assertEqual(("h1", "h2"), found[0].hosts)
        self.assertEqual(["u-z"], self.uuids(
            agg_db.get_by_metadata(self.conn, key="availability_zone", value="az1")))
        self.assertEqual(["u-y", "u-z"], self.uuids(
            agg_db.get_by_metadata(self.conn, key="trait:CUSTOM_X")))
        self.assertEqual(["u-n", "u-y", "u-z"], self.uuids(
            agg_db.get_by_metadata(self.conn, value="required")))

    def test_get_non_matching_by_metadata_keys(self):
        def non_matching(keys):
            return self.uuids(agg_db.get_non_matching_by_metadata_keys(
                self.conn, keys, "trait:", "required"))

        self.assertEqual(["u-y", "u-z"], non_matching([]))
        self.assertEqual(["u-y"], non_matching(["trait:CUSTOM_X"]))
        self.assertEqual([], non_matching(["trait:CUSTOM_X", "trait:CUSTOM_Y"]))
        self.assertRaises(ValueError, agg_db.get_non_matching_by_metadata_keys,
                          self.conn, [], "", "required")

    def test_get_by_host_and_all(self):
        self.assertEqual(["u-t", "u-y"], self.uuids(agg_db.get_by_host(self.conn, "h2")))
        self.assertTrue({"u-t", "u-z", "u-y", "u-n"} <= set(
            self.uuids(agg_db.get_all(self.conn))))


class SQLiteAggregateQueriesTests(AggregateQueriesTests, unittest.TestCase):
    backend = "sqlite"


class PostgreSQLAggregateQueriesTests(AggregateQueriesTests, unittest.TestCase):
    backend = "postgresql"


class MySQLAggregateQueriesTests(AggregateQueriesTests, unittest.TestCase):
    backend = "mysql"


class DBAggregateSourceTests(unittest.TestCase):
    """The prefilters over a real API database, through the thread pool."""

    def setUp(self):
        directory = tempfile.mkdtemp(prefix="nova-tx-aggregates-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "api.sqlite")
        shutil.copy(migrated_sqlite_file("api"), path)
        engine = engine_for(self, f"sqlite:///{path}")
        with engine.begin() as conn:
            agg_db.create(conn, "tenant", uuid="u-t", metadata={"filter_tenant_id": "p1"})
            agg_db.create(conn, "zone", uuid="u-z", metadata={"availability_zone": "az1"})
            agg_db.create(conn, "iso", uuid="u-i", metadata={"trait:CUSTOM_X": "required"})
        from twisted.internet import reactor

        self.pool = DBThreadPool(engine, reactor=reactor)
        self.pool.start()
        self.addCleanup(self.pool.stop)

    async def test_prefilters_over_the_database(self):
        sources = rf.RequestFilterSources(
            conf=make_conf(scheduler__limit_tenants_to_placement_aggregate=True,
                           scheduler__enable_isolated_aggregate_filtering=True),
            aggregates=rf.DBAggregateSource(self.pool))
        s = spec(availability_zone="az1")
        await rf.process_reqspec(sources, None, s)
        self.assertEqual(
            "limit=1000&member_of=!in:u-i&member_of=in:u-t&member_of=in:u-z&"
            "resources=DISK_GB:10,MEMORY_MB:1024,VCPU:1&root_required=!COMPUTE_STATUS_DISABLED",
            unquote(rr.resources_from_request_spec(s, sources.conf).to_querystring()))

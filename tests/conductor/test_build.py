"""The conductor's ``schedule_and_build_instances`` over real databases (an API database,
cell0 and cell1 on SQLite), the in-process scheduler with the embedded Placement, and
a compute that records what it is asked to build."""
from __future__ import annotations

import uuid as uuidlib

from oslo_config import cfg
from twisted.internet import reactor
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.conductor.build import ComputeTaskManager, LocalScheduler
from nova_tx.conf import MODULES
from nova_tx.db import migration
from nova_tx.db.api import build_requests, cell_mappings, host_mappings, instance_mappings
from nova_tx.db.api import request_specs as request_spec_db
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import block_device_mappings, instances
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.build_request import BuildRequest
from nova_tx.objects.cell_mapping import CellMapping
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.objects.request_spec import RequestSpec
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.placement.client import LocalPlacementClient
from nova_tx.scheduler.host_state import HostStates
from nova_tx.scheduler.manager import Scheduler
from tests.db.fixtures import engine_for, fresh_database_url
from tests.placement.db import placement_engine
from tests.scheduler.hosts import NOW, node, service


class RecordingCompute:
    """The compute side of the cast (issue #9 owns the real one)."""

    def __init__(self):
        self.builds = []

    async def build_and_run_instance(self, ctxt, **kwargs):
        self.builds.append(kwargs)


class BuildTests(unittest.TestCase):
    async def setUp(self):
        self.conf = cfg.ConfigOpts()
        for module in MODULES:
            module.register_opts(self.conf)
        self.conf([], default_config_files=[])
        self.conf.set_override("host", "conductor-1")
        self.conf.set_override("host_subset_size", 1, group="filter_scheduler")
        api_url = fresh_database_url(self, "sqlite")
        self.api_engine = engine_for(self, api_url)
        migration.db_sync(self.api_engine, "api")
        self.cell_engines = {}
        with self.api_engine.begin() as conn:
            for name, uuid in (("cell0", CellMapping.CELL0_UUID), ("cell1", None)):
                url = fresh_database_url(self, "sqlite")
                self.cell_engines[name] = engine_for(self, url)
                migration.db_sync(self.cell_engines[name], "main")
                cell = cell_mappings.create(conn, transport_url="none:///",
                                            database_connection=url, name=name, uuid=uuid)
                if name == "cell1":
                    self.cell1 = cell
                    host_mappings.create(conn, "h1", cell)
        self.api_pool = DBThreadPool(self.api_engine, reactor=reactor)
        self.api_pool.start()
        self.addCleanup(self.api_pool.stop)
        self.cells = CellEngines(self.conf)
        self.addCleanup(self.cells.dispose)
        pool = DBThreadPool(placement_engine(self), reactor=reactor)
        pool.start()
        self.addCleanup(pool.stop)
        api = PlacementAPI(pool)
        self.addCleanup(api.close)
        self.placement = LocalPlacementClient(api)
        self.node_uuid = str(uuidlib.uuid4())
        await self.placement.post("/resource_providers",
                                  {"name": "h1", "uuid": self.node_uuid}, version="1.39")
        await self.placement.put(
            f"/resource_providers/{self.node_uuid}/inventories",
            {"resource_provider_generation": 0, "inventories": {
                "VCPU": {"total": 8}, "MEMORY_MB": {"total": 8192},
                "DISK_GB": {"total": 100}}}, version="1.39")
        states_ = HostStates(clock=lambda: NOW)
        states_.update_from_compute_node(
            node("h1", uuid=self.node_uuid, cell_uuid=self.cell1.uuid), service("h1"))
        scheduler = Scheduler(self.conf, placement=self.placement, host_states=states_)
        self.compute = RecordingCompute()
        self.manager = ComputeTaskManager(
            self.conf, api_pool=self.api_pool, cells=self.cells,
            scheduler=LocalScheduler(scheduler), compute=self.compute,
            placement=self.placement)

    def record_request(self, memory_mb=1024, bdms=()):
        """What POST /servers records for one server."""
        uuid = str(uuidlib.uuid4())
        flavor = Flavor(id=1, flavorid="1", name="small", vcpus=1, memory_mb=memory_mb,
                        root_gb=10)
        instance = Instance(uuid=uuid, project_id="p1", user_id="u1", flavor=flavor,
                            display_name="vm", vm_state=states.BUILDING,
                            task_state=states.SCHEDULING, tags=["web"])
        spec = RequestSpec.from_components(flavor=flavor, instance_uuid=uuid,
                                           project_id="p1", user_id="u1")
        build_request = BuildRequest(instance_uuid=uuid, project_id="p1", instance=instance,
                                     block_device_mappings=list(bdms), tags=["web"])
        with self.api_engine.begin() as conn:
            build_requests.create(conn, build_request)
            request_spec_db.create(conn, spec)
            instance_mappings.create(conn, instance_uuid=uuid, project_id="p1",
                                     user_id="u1")
        return build_request, spec

    async def build(self, *pairs):
        await self.manager.schedule_and_build_instances(
            None, build_requests=[b for b, _ in pairs],
            request_specs=[s.to_primitive() for _, s in pairs], image={},
            admin_password="secret", injected_files=[], requested_networks=None,
            block_device_mapping=None, tags=None)

    def mapping(self, uuid):
        with self.api_engine.connect() as conn:
            return instance_mappings.get_by_instance_uuid(conn, uuid)

    def build_request_gone(self, uuid):
        with self.api_engine.connect() as conn:
            self.assertRaises(exception.BuildRequestNotFound,
                              build_requests.get_by_instance_uuid, conn, uuid)

    async def test_built_in_the_hosts_cell(self):
        bdm = {"source_type": "image", "destination_type": "local", "boot_index": 0,
               "image_id": "img-1", "delete_on_termination": True}
        build_request, spec = self.record_request(bdms=[bdm])
        await self.build((build_request, spec))
        uuid = build_request.instance_uuid
        with self.cell_engines["cell1"].connect() as conn:
            stored = instances.get(conn, uuid, expected_attrs=["tags"])
            disks = block_device_mappings.get_by_instance_uuid(conn, uuid)
        self.assertEqual(stored.vm_state, states.BUILDING)
        self.assertEqual(stored.tags, ["web"])
        self.assertEqual(stored.availability_zone, "nova")
        self.assertEqual([d["image_id"] for d in disks], ["img-1"])
        self.assertEqual(self.mapping(uuid).cell_mapping.uuid, self.cell1.uuid)
        self.build_request_gone(uuid)
        [cast] = self.compute.builds
        self.assertEqual(cast["host"], "h1")
        self.assertEqual(cast["node"], "h1")
        self.assertEqual(cast["instance"].uuid, uuid)
        self.assertEqual(cast["admin_password"], "secret")
        self.assertEqual([s.service_host for s in cast["host_list"]], ["h1"])
        body = (await self.placement.get(f"/allocations/{uuid}", version="1.39")).json()
        self.assertEqual(list(body["allocations"]), [self.node_uuid])

    async def test_no_host_buries_in_cell0(self):
        build_request, spec = self.record_request(memory_mb=10 ** 6)
        await self.build((build_request, spec))
        uuid = build_request.instance_uuid
        with self.cell_engines["cell0"].connect() as conn:
            stored = instances.get(conn, uuid)
            [fault] = instances.get_latest_faults(conn, [uuid]).values()
        self.assertEqual(stored.vm_state, states.ERROR)
        self.assertIsNone(stored.task_state)
        self.assertIn("No valid host was found", fault.message)
        self.assertEqual(self.mapping(uuid).cell_mapping.uuid, CellMapping.CELL0_UUID)
        self.build_request_gone(uuid)
        self.assertEqual(self.compute.builds, [])

    async def test_deleted_while_scheduling(self):
        build_request, spec = self.record_request()
        uuid = build_request.instance_uuid
        with self.api_engine.begin() as conn:
            build_requests.destroy(conn, uuid)
        await self.build((build_request, spec))
        with self.cell_engines["cell1"].connect() as conn:
            self.assertRaises(exception.InstanceNotFound, instances.get_by_uuid, conn, uuid)
        self.assertEqual(self.compute.builds, [])
        body = (await self.placement.get(f"/allocations/{uuid}", version="1.39")).json()
        self.assertEqual(body["allocations"], {})

    async def test_unmapped_host_goes_to_cell0(self):
        with self.api_engine.begin() as conn:
            host_mappings.destroy(conn, "h1")
        build_request, spec = self.record_request()
        await self.build((build_request, spec))
        uuid = build_request.instance_uuid
        self.assertEqual(self.mapping(uuid).cell_mapping.uuid, CellMapping.CELL0_UUID)
        body = (await self.placement.get(f"/allocations/{uuid}", version="1.39")).json()
        self.assertEqual(body["allocations"], {})


class RescheduleTests(BuildTests):
    """``build_instances``: a compute's reschedule onto the alternates."""

    async def add_provider(self, name, memory_mb=8192):
        uuid = str(uuidlib.uuid4())
        await self.placement.post("/resource_providers", {"name": name, "uuid": uuid},
                                  version="1.39")
        await self.placement.put(f"/resource_providers/{uuid}/inventories", {
            "resource_provider_generation": 0, "inventories": {
                "VCPU": {"total": 8}, "MEMORY_MB": {"total": memory_mb},
                "DISK_GB": {"total": 100}}}, version="1.39")
        return uuid

    def alternate(self, host, provider, memory_mb=1024):
        import json

        from nova_tx.objects.selection import Selection

        return Selection(service_host=host, nodename=host, compute_node_uuid=provider,
                         cell_uuid=self.cell1.uuid, allocation_request=json.dumps({
                             "allocations": {provider: {"resources": {
                                 "VCPU": 1, "MEMORY_MB": memory_mb, "DISK_GB": 10}}}}),
                         allocation_request_version="1.36")

    async def built_instance(self):
        build_request, spec = self.record_request()
        await self.build((build_request, spec))
        [cast] = self.compute.builds
        self.compute.builds.clear()
        # The compute gave up on h1 and deleted its allocations (Nova's _reschedule).
        await self.placement.delete(f"/allocations/{build_request.instance_uuid}")
        return cast["instance"], spec

    async def reschedule(self, instance, spec, host_list):
        await self.manager.build_instances(
            None, [instance.to_primitive()], {}, {"retry": {
                "num_attempts": 1, "hosts": [["h1", "h1"]]}}, None, [], None, [],
            request_spec=spec.to_primitive(),
            host_lists=[[s.to_primitive() for s in host_list]])

    async def allocated(self, uuid):
        body = (await self.placement.get(f"/allocations/{uuid}", version="1.39")).json()
        return list(body["allocations"])

    async def test_next_alternate_claimed_and_built(self):
        instance, spec = await self.built_instance()
        full = await self.add_provider("h2", memory_mb=512)
        roomy = await self.add_provider("h3")
        await self.reschedule(instance, spec, [self.alternate("h2", full),
                                               self.alternate("h3", roomy)])
        [cast] = self.compute.builds
        self.assertEqual(cast["host"], "h3")
        self.assertEqual(cast["filter_properties"]["retry"]["num_attempts"], 2)
        self.assertEqual([s.service_host for s in cast["host_list"]], ["h3"])
        self.assertEqual(await self.allocated(instance.uuid), [roomy])

    async def test_no_alternate_left_is_error(self):
        instance, spec = await self.built_instance()
        full = await self.add_provider("h2", memory_mb=512)
        await self.reschedule(instance, spec, [self.alternate("h2", full)])
        self.assertEqual(self.compute.builds, [])
        with self.cell_engines["cell1"].connect() as conn:
            stored = instances.get(conn, instance.uuid)
            [fault] = instances.get_latest_faults(conn, [instance.uuid]).values()
        self.assertEqual(stored.vm_state, states.ERROR)
        self.assertIn("Exceeded maximum number of retries", fault.message)
        self.assertEqual(await self.allocated(instance.uuid), [])

    async def test_without_alternates_the_scheduler_chooses_again(self):
        instance, spec = await self.built_instance()
        await self.manager.build_instances(
            None, [instance.to_primitive()], {}, {"retry": {
                "num_attempts": 1, "hosts": [["h1", "h1"]]}}, None, [], None, [],
            request_spec=spec.to_primitive(), host_lists=None)
        # h1 is the only host and it was tried: nothing else can take it.
        self.assertEqual(self.compute.builds, [])
        with self.cell_engines["cell1"].connect() as conn:
            self.assertEqual(instances.get(conn, instance.uuid).vm_state, states.ERROR)

"""A compute restarted with instances running (issue 9, "Must show"): nova-compute
with the fake driver and a conductor on a SQLite cell database, over a memory bus, an
embedded Placement and the embedded network and image services.

Two instances are built through the compute RPC API and one of them is stopped; the
compute is stopped; while it is down the host reboots (the running guest is off),
Placement loses the allocations of one instance, and a third instance is deleted
behind the compute's back. The compute started again finds its instances, starts the
guest that ran before (``resume_guests_state_on_host_boot``), heals the allocations,
destroys the guest of the deleted instance, and loses nothing: states, ports, info
caches, allocations and claims are as they were, and it serves requests again.

The hypervisor outlives nova-compute as libvirtd does: each FakeDriver the compute
makes is given the same guests.
"""
from __future__ import annotations

import datetime
import time
import uuid as uuidlib

from twisted.internet import reactor, task
from twisted.trial import unittest

from nova_tx.bus.url import get_transport
from nova_tx.compute import states
from nova_tx.compute.rpcapi import ComputeAPI
from nova_tx.compute.service import ComputeService
from nova_tx.conductor.service import ConductorService
from nova_tx.context import RequestContext
from nova_tx.db import engines
from nova_tx.db.main import instance_actions, instances
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.instance import Instance
from nova_tx.placement import client as placement_client
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.virt import driver as virt_driver
from nova_tx.virt.fake import FakeDriver
from tests.compute.harness import FLAVOR, HOST, PROJECT, USER, compute_conf
from tests.image.fixture import ImageServer
from tests.network.fixture import NetworkServer
from tests.placement.db import placement_engine
from tests.servicegroup import make_conf, sqlite_cell_database


async def eventually(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await task.deferLater(reactor, 0.05, lambda: None)


class ComputeRestartTest(unittest.TestCase):
    timeout = 120

    async def setUp(self):
        self.cell_url = sqlite_cell_database(self)
        self.engine = engines.create_engine(self.cell_url)
        self.addCleanup(self.engine.dispose)
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        self.addCleanup(self.pool.stop)
        placement_pool = DBThreadPool(placement_engine(self))
        placement_pool.start()
        self.addCleanup(placement_pool.stop)
        self.placement_api = PlacementAPI(placement_pool)
        self.addCleanup(self.placement_api.close)
        placement_client.register_local(self.placement_api)
        self.addCleanup(placement_client.unregister_local, self.placement_api)
        self.placement = placement_client.LocalPlacementClient(self.placement_api)
        self.network = NetworkServer(self)
        await self.network.start()
        self.image = ImageServer(self)
        await self.image.start()

        bus = f"memory:///compute-restart-{uuidlib.uuid4().hex[:8]}"
        conductor = ConductorService(make_conf(
            host="conductor-host", transport_url=bus, database__connection=self.cell_url,
            rpc_response_timeout=10))
        self.addCleanup(self._stop, conductor)
        conductor.startService()
        await conductor.started
        self.conf = compute_conf(
            self, transport_url=bus, resume_guests_state_on_host_boot=True,
            embedded__network_port=self.network.service.port,
            embedded__image_port=self.image.service.port)
        self.client_transport = get_transport(self.conf)
        await self.client_transport.connect()
        self.addCleanup(self.client_transport.close)
        self.rpcapi = ComputeAPI(self.client_transport, self.conf)

        # The hypervisor: the guests every FakeDriver of this test shares.
        self.hypervisor: dict = {}
        load = virt_driver.load_compute_driver

        def load_with_the_same_guests(conf, *, reactor=None):
            made = load(conf, reactor=reactor)
            self.assertIsInstance(made, FakeDriver)
            made.guests = self.hypervisor
            return made

        self.patch(virt_driver, "load_compute_driver", load_with_the_same_guests)
        status, body = await self.network.request("GET", "/v2.0/networks?name=private")
        self.network_id = body["networks"][0]["id"]
        status, _, images = await self.image.request("GET", "/v2/images")
        self.image_id = images["images"][0]["id"]
        self.ctxt = RequestContext(user_id=USER, project_id=PROJECT, roles=["member"],
                                   auth_token="admin:admin-project")

    def _stop(self, service):
        return service.stopService() if service.running else None

    async def start_compute(self) -> ComputeService:
        compute = ComputeService(self.conf)
        self.addCleanup(self._stop, compute)
        compute.startService()
        await compute.started
        self.assertEqual(0, compute.exit_code)
        return compute

    # -- what the conductor and the API would do ----------------------------------------

    async def provider(self) -> str:
        response = await self.placement.get(f"/resource_providers?name={HOST}")
        return response.json()["resource_providers"][0]["uuid"]

    async def new_instance(self, name: str) -> Instance:
        def create(conn):
            made = instances.create(conn, Instance(
                uuid=str(uuidlib.uuid4()), project_id=PROJECT, user_id=USER,
                display_name=name, vm_state=states.BUILDING,
                task_state=states.SCHEDULING, flavor=FLAVOR, image_ref=self.image_id,
                created_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None)))
            instance_actions.create(conn, action="create", instance_uuid=made.uuid,
                                    request_id=self.ctxt.request_id, user_id=USER,
                                    project_id=PROJECT)
            return made

        made = await self.pool.do(create)
        body = {"allocations": {await self.provider(): {"resources": {
            "VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}},
            "project_id": PROJECT, "user_id": USER, "consumer_generation": None}
        response = await self.placement.put(f"/allocations/{made.uuid}", body,
                                            version="1.28")
        self.assertEqual(204, response.status_code, response.text)
        return made

    async def read(self, uuid: str, **kwargs) -> Instance:
        kwargs.setdefault("expected_attrs", ["info_cache", "fault"])
        return await self.pool.do(instances.get, uuid, **kwargs)

    async def state(self, uuid: str):
        found = await self.read(uuid)
        return found.vm_state, found.task_state, found.power_state

    async def allocations(self, uuid: str) -> dict:
        """provider -> resources (the providers' generations move with every write)."""
        found = (await self.placement.get(f"/allocations/{uuid}")).json()["allocations"]
        return {rp: value["resources"] for rp, value in found.items()}

    async def ports(self, uuid: str) -> list:
        status, body = await self.network.request("GET", f"/v2.0/ports?device_id={uuid}")
        return sorted(p["id"] for p in body["ports"])

    async def build(self, instance: Instance) -> None:
        await self.rpcapi.build_and_run_instance(
            self.ctxt, instance, HOST, {"id": self.image_id, "properties": {}}, None,
            {"retry": {"num_attempts": 1, "hosts": [[HOST, HOST]]}},
            requested_networks=[{"network_id": self.network_id}], node=HOST, limits={},
            host_list=[], accel_uuids=[])

    async def test_a_restarted_compute_finds_reconciles_and_loses_nothing(self):
        compute = await self.start_compute()
        web = await self.new_instance("web")
        db = await self.new_instance("db")
        gone = await self.new_instance("gone")
        for instance in (web, db, gone):
            await self.build(instance)

        async def all_active():
            found = [await self.state(i.uuid) for i in (web, db, gone)]
            return found == [(states.ACTIVE, None, states.RUNNING)] * 3

        await eventually(all_active)
        before = {i.uuid: await self.read(i.uuid) for i in (web, db)}
        ports = {i.uuid: await self.ports(i.uuid) for i in (web, db)}
        allocations = {i.uuid: await self.allocations(i.uuid) for i in (web, db)}
        self.assertTrue(all(ports.values()) and all(allocations.values()))

        # db is stopped through the API's path; then the compute goes down.
        stopping = await self.pool.do(instances.update, db.uuid,
                                      {"task_state": states.POWERING_OFF})
        await self.rpcapi.stop_instance(self.ctxt, stopping)

        async def db_stopped():
            return (await self.state(db.uuid)) == (states.STOPPED, None, states.SHUTDOWN)

        await eventually(db_stopped)
        await compute.stopService()

        # While it is down: the host rebooted (web's guest is off), Placement lost
        # web's allocations, and gone was deleted by the API (a local delete).
        self.hypervisor[web.uuid].state = states.SHUTDOWN
        response = await self.placement.delete(f"/allocations/{web.uuid}")
        self.assertEqual(204, response.status_code)
        await self.pool.do(instances.update, gone.uuid, {"vm_state": states.DELETED,
                                                         "task_state": None})
        await self.pool.do(instances.destroy, gone.uuid)
        self.assertIn(gone.uuid, self.hypervisor)

        again = await self.start_compute()
        report = again.restart_report
        self.assertEqual(sorted([web.uuid, db.uuid]), sorted(report.found))
        self.assertEqual([web.uuid], report.resumed)
        self.assertEqual([web.uuid], report.healed_allocations)
        self.assertEqual([gone.uuid], report.destroyed_guests)

        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state(web.uuid))
        self.assertEqual((states.STOPPED, None, states.SHUTDOWN), await self.state(db.uuid))
        self.assertEqual(states.RUNNING, self.hypervisor[web.uuid].state)
        self.assertEqual(states.SHUTDOWN, self.hypervisor[db.uuid].state)
        self.assertNotIn(gone.uuid, self.hypervisor)
        self.assertEqual({}, await self.allocations(gone.uuid))
        for uuid, was in before.items():
            now = await self.read(uuid)
            self.assertEqual((was.host, was.node, was.launched_at, was.network_info),
                             (now.host, now.node, now.launched_at, now.network_info))
            self.assertIsNone(now.fault)
            self.assertEqual(ports[uuid], await self.ports(uuid))
            self.assertEqual(allocations[uuid], await self.allocations(uuid))
        await again.resource_periodic.first_update
        self.assertEqual({web.uuid, db.uuid}, set(again.resource_tracker.tracked))

        # And it serves requests again: db is started through the API's path.
        starting = await self.pool.do(instances.update, db.uuid,
                                      {"task_state": states.POWERING_ON})
        await self.rpcapi.start_instance(self.ctxt, starting)

        async def db_running():
            return (await self.state(db.uuid)) == (states.ACTIVE, None, states.RUNNING)

        await eventually(db_running)


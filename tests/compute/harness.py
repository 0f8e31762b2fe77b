"""One compute host for the manager's tests, with everything it talks to real except
the conductor's build task and the schedulers (recorded):

- the conductor's instance and compute node gateways over a MemoryBus, on a migrated
  SQLite cell database;
- the embedded Placement (in process), the embedded network and image services (HTTP
  on free ports, noauth2);
- ``fake.FakeDriver`` (or a driver made from it) and the resource tracker.

``ComputeHarness.start()`` in setUp; ``make_instance()`` writes a server as the
conductor leaves it for the compute (``building``/``scheduling``, allocations claimed
in Placement), ``build()`` runs ``build_and_run_instance`` to its end.
"""
from __future__ import annotations

import datetime
import json
import os
import tempfile
import uuid as uuidlib
from typing import Any

from oslo_config import cfg
from twisted.internet import defer, reactor

from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.compute import states
from nova_tx.compute.manager import ComputeManager
from nova_tx.compute.resource_tracker import ResourceTracker
from nova_tx.conductor.compute_nodes import ComputeNodeGateway
from nova_tx.conductor.compute_nodes_api import ComputeNodeAPI
from nova_tx.conductor.instances import InstanceGateway
from nova_tx.conductor.instances_api import InstanceGatewayAPI
from nova_tx.conductor.rpcapi import ComputeTaskAPI
from nova_tx.conf import (
    compute,
    compute_manager,
    compute_node,
    embedded_services,
    fake,
    glance,
    neutron,
    placement,
    scheduler,
    virt,
    workarounds,
)
from nova_tx.context import RequestContext
from nova_tx.db import engines
from nova_tx.db.main import instance_actions, instances
from nova_tx.db.pool import DBThreadPool
from nova_tx.image.glance import GlanceImageAPI
from nova_tx.network.neutron import NeutronNetworkAPI
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.objects.selection import Selection
from nova_tx.placement import client as placement_client
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.scheduler.instance_info_client import SchedulerInstanceInfoClient
from nova_tx.virt.fake import FakeDriver
from tests.image.fixture import ImageServer
from tests.network.fixture import NetworkServer
from tests.placement.db import placement_engine
from tests.servicegroup import make_conf, sqlite_cell_database

HOST = "compute1"
FLAVOR = Flavor(flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1,
                ephemeral_gb=0, id=6, extra_specs={})
USER = "alice"
PROJECT = "project-a"


class TaskRecorder:
    """The conductor's ``compute_task`` namespace as far as a compute casts to it."""

    target = Target(namespace="compute_task", version="1.25")

    def __init__(self) -> None:
        self.reschedules: list[dict[str, Any]] = []
        self.received = defer.DeferredQueue()

    def build_instances(self, ctxt: Any, **kwargs: Any) -> None:
        self.reschedules.append(kwargs)
        self.received.put(kwargs)


class SchedulerRecorder:
    """A scheduler receiving the computes' instance info fanouts."""

    target = Target(version="4.5")

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def update_instance_info(self, ctxt: Any, host_name: str, instance_info: Any) -> None:
        uuids = [i["nova_object.data"]["uuid"]
                 for i in instance_info["nova_object.data"]["objects"]]
        self.messages.append(("update", {"host": host_name, "uuids": uuids}))

    def delete_instance_info(self, ctxt: Any, host_name: str, instance_uuid: str) -> None:
        self.messages.append(("delete", {"host": host_name, "uuid": instance_uuid}))

    def sync_instance_info(self, ctxt: Any, host_name: str, instance_uuids: Any) -> None:
        self.messages.append(("sync", {"host": host_name, "uuids": sorted(instance_uuids)}))


def compute_conf(testcase: Any, **overrides: Any) -> cfg.ConfigOpts:
    conf = make_conf()
    for module in (compute, compute_node, compute_manager, embedded_services, fake, glance,
                   neutron, placement, scheduler, virt, workarounds):
        module.register_opts(conf)
    state = tempfile.mkdtemp(prefix="nova-tx-compute-")
    testcase.addCleanup(_rmtree, state)
    values = {"host": HOST, "state_path": state, "instances_path": os.path.join(state, "i"),
              "rpc_response_timeout": 10, "update_resources_interval": -1,
              "compute_driver": "fake.FakeDriver",
              "compute__provider_config_location": os.path.join(state, "providers"),
              **overrides}
    for key, value in values.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class ComputeHarness:
    def __init__(self, testcase: Any, *, driver_class: type = FakeDriver,
                 **conf_overrides: Any):
        self.testcase = testcase
        self.driver_class = driver_class
        self.conf_overrides = conf_overrides

    async def start(self) -> ComputeHarness:
        tc = self.testcase
        self.cell_url = sqlite_cell_database(tc)
        self.engine = engines.create_engine(self.cell_url)
        tc.addCleanup(self.engine.dispose)
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        tc.addCleanup(self.pool.stop)

        placement_pool = DBThreadPool(placement_engine(tc))
        placement_pool.start()
        tc.addCleanup(placement_pool.stop)
        self.placement_api = PlacementAPI(placement_pool)
        tc.addCleanup(self.placement_api.close)
        self.placement = placement_client.LocalPlacementClient(self.placement_api)

        self.network = NetworkServer(tc)
        await self.network.start()
        self.image = ImageServer(tc)
        await self.image.start()

        self.broker = MemoryBroker()
        conductor_bus, scheduler_bus = MemoryBus(self.broker), MemoryBus(self.broker)
        self.bus = MemoryBus(self.broker)
        for bus in (conductor_bus, scheduler_bus, self.bus):
            await bus.connect()
            tc.addCleanup(bus.close)
        self.conf = compute_conf(
            tc, embedded__network_port=self.network.service.port,
            embedded__image_port=self.image.service.port, **self.conf_overrides)
        self.tasks = TaskRecorder()
        conductor = RPCServer(conductor_bus, Target(topic="conductor", server="conductor1"),
                              [InstanceGateway(lambda: self.pool),
                               ComputeNodeGateway(lambda: self.pool), self.tasks],
                              conf=self.conf)
        await conductor.start()
        tc.addCleanup(conductor.stop)
        self.scheduler = SchedulerRecorder()
        scheduler_server = RPCServer(scheduler_bus, Target(topic="scheduler", server="s1"),
                                     [self.scheduler], conf=self.conf)
        await scheduler_server.start()
        tc.addCleanup(scheduler_server.stop)

        # The user's ids with a token the embedded network service takes as admin's:
        # port bindings are an admin's, which Nova does as its service user
        # ([neutron] auth_type = password) and a noauth2 service cannot tell apart.
        self.ctxt = RequestContext(user_id=USER, project_id=PROJECT, roles=["member"],
                                   auth_token="admin:admin-project")
        self.admin = RequestContext(is_admin=True, auth_token="admin:admin-project")
        self.driver = self.driver_class(self.conf, reactor=reactor)
        await self.driver.init_host(HOST)
        self.rt = ResourceTracker(HOST, self.driver, self.conf,
                                  ComputeNodeAPI(self.bus, self.conf), self.placement)
        await self.rt.update_available_resource(self.admin, [])
        self.nodename = self.driver.get_available_nodes()[0]
        self.provider = await self.provider_uuid()
        self.network_api = NeutronNetworkAPI(self.conf)
        tc.addCleanup(self.network_api.close)
        self.image_api = GlanceImageAPI(self.conf)
        tc.addCleanup(self.image_api.close)
        self.manager = self.make_manager()
        status, body = await self.network.request("GET", "/v2.0/networks?name=private")
        self.private_network = body["networks"][0]["id"]
        status, _, images = await self.image.request("GET", "/v2/images")
        self.image_id = images["images"][0]["id"]
        return self

    def context(self) -> RequestContext:
        """A new request of the same user (its own request id, so its own action)."""
        return RequestContext(user_id=USER, project_id=PROJECT, roles=["member"],
                              auth_token=self.ctxt.auth_token)

    def make_manager(self) -> ComputeManager:
        return ComputeManager(
            self.conf, driver=self.driver, resource_tracker=self.rt,
            conductor=InstanceGatewayAPI(self.bus, self.conf),
            compute_task_api=ComputeTaskAPI(self.bus, self.conf),
            scheduler_info=SchedulerInstanceInfoClient(self.bus, self.conf),
            network_api=self.network_api, image_api=self.image_api,
            placement=self.placement, reactor=reactor)

    async def provider_uuid(self) -> str:
        response = await self.placement.get(f"/resource_providers?name={self.nodename}")
        return response.json()["resource_providers"][0]["uuid"]

    # -- instances ---------------------------------------------------------------------

    async def make_instance(self, *, claim: bool = True, **fields: Any) -> Instance:
        """A server as the conductor hands it to the compute (allocations claimed)."""
        values = dict(uuid=str(uuidlib.uuid4()), project_id=PROJECT, user_id=USER,
                      display_name="vm", vm_state=states.BUILDING,
                      task_state=states.SCHEDULING, flavor=FLAVOR, image_ref=self.image_id,
                      host=HOST, node=self.nodename, availability_zone="nova",
                      created_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
        values.update(fields)

        def create(conn: Any) -> Instance:
            made = instances.create(conn, Instance(**values))
            instance_actions.create(conn, action="create", instance_uuid=made.uuid,
                                    request_id=self.ctxt.request_id, user_id=USER,
                                    project_id=PROJECT)
            return made

        made = await self.pool.do(create)
        if claim:
            await self.claim(made)
        return made

    async def claim(self, instance: Instance) -> None:
        body = {"allocations": {self.provider: {"resources": {
            "VCPU": FLAVOR.vcpus, "MEMORY_MB": FLAVOR.memory_mb, "DISK_GB": FLAVOR.root_gb}}},
            "project_id": PROJECT, "user_id": USER, "consumer_generation": None}
        response = await self.placement.put(f"/allocations/{instance.uuid}", body,
                                            version="1.28")
        assert response.status_code == 204, response.text

    async def allocations(self, instance_uuid: str) -> dict[str, Any]:
        response = await self.placement.get(f"/allocations/{instance_uuid}")
        return response.json()["allocations"]

    def selection(self, host: str, node: str | None = None) -> dict[str, Any]:
        return Selection(service_host=host, nodename=node or host,
                         compute_node_uuid=str(uuidlib.uuid4()), cell_uuid=None,
                         allocation_request=json.dumps({"allocations": {}})).to_primitive()

    async def build(self, instance: Instance, *, host_list: list | None = None,
                    retry: bool = True, ctxt: Any = None, image: dict | None = None,
                    **kwargs: Any) -> str:
        """``build_and_run_instance`` as the conductor casts it, awaited to its end;
        the build's outcome (``active``, ``failed``, ``rescheduled``)."""
        image = image or {"id": self.image_id, "name": "nova-tx-tiny", "properties": {}}
        filter_properties = {"retry": {"num_attempts": 1, "hosts": [[HOST, self.nodename]]}
                             } if retry else {}
        args = dict(requested_networks=[{"network_id": self.private_network}])
        args.update(kwargs)
        await self.manager.build_and_run_instance(
            ctxt or self.ctxt, instance.to_primitive(), image, None, filter_properties,
            [], node=self.nodename, limits={},
            host_list=host_list if host_list is not None
            else [self.selection(HOST, self.nodename)], **args)
        return await self.manager.build.in_progress[instance.uuid]

    async def read(self, instance_uuid: str, **kwargs: Any) -> Instance:
        kwargs.setdefault("expected_attrs", ["fault", "info_cache"])
        return await self.pool.do(instances.get, instance_uuid, **kwargs)

    async def events(self, instance_uuid: str) -> list[tuple[str, str, str | None]]:
        """(action, event, result) of every event of the instance, oldest first."""
        def thd(conn: Any) -> list[tuple[str, str, str | None]]:
            found = []
            for action in reversed(instance_actions.get_by_instance(conn, instance_uuid)):
                for event in reversed(instance_actions.get_events(conn, action.id)):
                    found.append((action.action, event.event, event.result))
            return found

        return await self.pool.do(thd)

    async def ports_of(self, instance_uuid: str) -> list[dict[str, Any]]:
        status, body = await self.network.request(
            "GET", f"/v2.0/ports?device_id={instance_uuid}")
        return body["ports"]

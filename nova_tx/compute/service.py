"""The ``nova-compute`` daemon: its service tree.

A compute never opens a database: it records itself and heartbeats through the
conductor over the bus. Issue by issue more children arrive here; the tree is what
``twistd nova-compute``, the ``nova-compute`` console script and the all-in-one run.
"""
from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg
from twisted.application import service
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.conductor.rpcapi import ConductorAPI, ConductorServiceRecords
from nova_tx.context import RequestContext
from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import BusService

RPC_TOPIC = "compute"
LOG = logging.getLogger(__name__)


class ComputeService(BusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-compute", conf, reactor=reactor, transport=transport)
        self.conductor_api = ConductorAPI(self.transport, conf, reactor=self.reactor)
        self.heartbeat = Heartbeat(ConductorServiceRecords(self.conductor_api), conf,
                                   binary="nova-compute", topic=RPC_TOPIC,
                                   reactor=self.reactor)
        self.heartbeat.setServiceParent(self)
        # The driver and the resource tracker are made in prepare() (a bad host or
        # provider config file stops the service there, in one line).
        self.driver: Any = None
        self.resource_tracker: Any = None
        self.resource_periodic: Any = None
        #: The instances on this host (a callable; the manager's, once it exists).
        self.host_instances: Any = list
        #: The compute manager (``nova_tx.compute.manager``), made in prepare() once
        #: there is a driver; its RPC server and periodic tasks start after prepare().
        self.manager: Any = None
        ManagerService(self).setServiceParent(self)

    async def prepare(self) -> None:
        await super().prepare()
        from nova_tx.compute.resource_tracker import build_compute_node
        from nova_tx.conf import virt as virt_conf

        virt_conf.register_opts(self.conf)
        if not self.conf.compute_driver:
            # Nova refuses to start; nova-tx's heartbeat-only computes (the tests of
            # the service framework, an all-in-one without a driver) still run.
            LOG.warning("[DEFAULT] compute_driver is not set: %s reports no compute "
                        "node", self.binary)
            return
        self.driver, self.resource_tracker, self.resource_periodic = \
            await build_compute_node(self.conf, transport=self.transport,
                                     reactor=self.reactor,
                                     instances=lambda: self.host_instances())
        self.manager = self._make_manager()
        self.host_instances = self._manager_instances
        self.resource_tracker.instance_lookup = self._instance_with_deleted
        self.resource_periodic.setServiceParent(self)
        # The node's record and provider exist once the first update is done: the
        # restart's reconciliation (allocations among it) needs them.
        await self.resource_periodic.first_update
        #: What the start-up reconciled (``RestartReport``), for the log and tests.
        self.restart_report = await self.manager.init_host(RequestContext(is_admin=True))

    def _make_manager(self) -> Any:
        from nova_tx.compute.manager import ComputeManager
        from nova_tx.conductor.instances_api import InstanceGatewayAPI
        from nova_tx.conductor.rpcapi import ComputeTaskAPI
        from nova_tx.conf import compute_manager as compute_manager_conf
        from nova_tx.conf import scheduler as scheduler_conf
        from nova_tx.conf import workarounds as workarounds_conf
        from nova_tx.image.api import make_image_api
        from nova_tx.network.api import make_network_api
        from nova_tx.placement.client import make_client
        from nova_tx.scheduler.instance_info_client import SchedulerInstanceInfoClient

        for module in (compute_manager_conf, scheduler_conf, workarounds_conf):
            module.register_opts(self.conf)
        conf, transport, reactor = self.conf, self.transport, self.reactor
        return ComputeManager(
            conf, driver=self.driver, resource_tracker=self.resource_tracker,
            conductor=InstanceGatewayAPI(transport, conf, reactor=reactor),
            compute_task_api=ComputeTaskAPI(transport, conf, reactor=reactor),
            scheduler_info=SchedulerInstanceInfoClient(transport, conf, reactor=reactor),
            network_api=make_network_api(conf, reactor=reactor),
            image_api=make_image_api(conf, reactor=reactor), placement=make_client(conf),
            reactor=reactor, notifier=self._instance_notifier())

    def _instance_notifier(self) -> Any:
        """The instance.* notifications of this compute (legacy publisher
        ``compute.<host>``, versioned ``nova-compute:<host>``)."""
        from nova_tx.bus.notifier import get_notifier, get_versioned_notifier
        from nova_tx.notifications.instance import InstanceNotifier

        conf, transport = self.conf, self.transport
        return InstanceNotifier(
            conf, legacy=get_notifier(transport, conf, "compute"),
            versioned=get_versioned_notifier(transport, conf, f"nova-compute:{conf.host}"))

    def _instance_with_deleted(self, ctxt: Any, instance_uuid: str) -> Any:
        """An instance, deleted ones included: the tracker removes the allocations of
        those deleted while this compute was down."""
        return self.manager.conductor.instance_get_by_uuid(ctxt, instance_uuid,
                                                           read_deleted="yes")

    def _manager_instances(self) -> Any:
        """What the resource tracker counts: the instances of this host."""
        return self.manager.conductor.instance_get_all_by_host(
            RequestContext(is_admin=True), self.conf.host,
            expected_attrs=["flavor", "numa_topology", "pci_requests"])

    def stopService(self) -> defer.Deferred:
        """The children first (the manager's RPC server and builds), then the driver's
        ``cleanup_host``: its connections and threads (libvirt's) are closed last."""
        d = defer.maybeDeferred(super().stopService)

        def cleanup(result: Any) -> Any:
            if self.driver is None:
                return result
            closing = defer.maybeDeferred(self.driver.cleanup_host, self.conf.host)
            closing.addErrback(lambda f: LOG.warning(
                "The virt driver did not clean up: %s", f.getErrorMessage()))
            return closing.addCallback(lambda _: result)

        return d.addCallback(cleanup)

    def reset(self) -> None:
        super().reset()
        self.conductor_api.reset()
        if self.resource_tracker is not None:
            self.resource_tracker.reset()


class ManagerService(service.Service):
    """The compute manager's RPC server (topic ``compute``, server ``[DEFAULT] host``,
    its 6.x endpoint and the 5.x proxy) and periodic tasks, started after the
    parent's ``prepare()`` made the manager; nothing when there is none."""

    name = "compute-manager"

    def __init__(self, compute: ComputeService):
        self.compute = compute
        self.rpc_server: RPCServer | None = None

    def startService(self) -> None:
        super().startService()
        from nova_tx.compute.manager import ComputeV5Proxy

        manager = self.compute.manager
        if manager is None:
            return
        self.rpc_server = RPCServer(
            self.compute.transport, Target(topic=RPC_TOPIC, server=manager.host),
            [manager, ComputeV5Proxy(manager)], conf=self.compute.conf,
            reactor=self.compute.reactor)
        self.rpc_server.startService()
        manager.periodic.startService()

    def stopService(self) -> defer.Deferred:
        super().stopService()
        manager = self.compute.manager
        stopping = []
        if self.rpc_server is not None:
            stopping.append(self.rpc_server.stopService())
        if manager is not None:
            stopping.append(manager.periodic.stopService())
            stopping.extend(manager.build.in_progress.values())
        done = defer.DeferredList(stopping)
        if manager is not None:
            # The ports' HTTP connections, once nothing uses them any more.
            done.addCallback(lambda _: defer.DeferredList([
                port.close() for port in (manager.network_api, manager.image_api)
                if hasattr(port, "close")]))
        return done


def make_service(conf: cfg.ConfigOpts) -> ComputeService:
    return ComputeService(conf)

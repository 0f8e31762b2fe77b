"""Client side of the conductor's RPC API (topic ``conductor``).

As Nova's rpcapi modules: ``VERSION`` is the newest version this client speaks and
``[upgrade_levels] conductor`` caps what it sends during a rolling upgrade.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target, version_cap_from_upgrade_level
from nova_tx.context import RequestContext
from nova_tx.objects.service import Service
from nova_tx.servicegroup.versions import AutoVersionCap

RPC_TOPIC = "conductor"


class ConductorAPI:
    """Version history: see ``nova_tx.conductor.manager.ConductorManager``."""

    VERSION = "1.0"
    #: Release names an operator may pin ``[upgrade_levels] conductor`` to.
    VERSION_ALIASES: dict[str, str] = {}

    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 timeout: float | None = None, records: Any = None):
        """``records``: where this process reads service records, for ``auto``; by
        default the conductor itself answers."""
        level = conf.upgrade_levels.conductor
        cap = None if level == "auto" else version_cap_from_upgrade_level(
            "conductor", level, self.VERSION_ALIASES)
        self.auto_cap = None if level != "auto" else AutoVersionCap(
            records if records is not None else ConductorServiceRecords(self),
            "nova-conductor", "conductor_rpc")
        self.client = RPCClient(transport, Target(topic=RPC_TOPIC, version=self.VERSION),
                                version_cap=cap, conf=conf, reactor=reactor, timeout=timeout,
                                # A lost race to create a record is DBDuplicateEntry
                                # on both sides of the bus.
                                allowed_remote_exmods=("nova_tx.db.exception",))

    def reset(self) -> None:
        """SIGHUP: with ``auto``, look at the conductors' versions again."""
        if self.auto_cap is not None:
            self.auto_cap.reset()

    async def _prepare(self, version: str) -> RPCClient:
        if self.auto_cap is not None:
            self.client.version_cap = await self.auto_cap.get()
        return self.client.prepare(version=version)

    async def _service_call(self, ctxt: Any, method: str, **kwargs: Any) -> Service:
        prepared = await self._prepare("1.0")
        return Service.from_primitive(await prepared.call(ctxt, method, **kwargs))

    def _call(self, ctxt: Any, method: str, **kwargs: Any) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._service_call(ctxt, method, **kwargs))

    def service_get_minimum_version(self, ctxt: Any, binaries: list[str]) -> defer.Deferred:
        # Always at 1.0, which every conductor serves: it is how ``auto`` finds the cap.
        return self.client.prepare(version="1.0").call(
            ctxt, "service_get_minimum_version", binaries=list(binaries))

    def service_get_by_host_and_binary(self, ctxt: Any, host: str, binary: str
                                       ) -> defer.Deferred:
        return self._call(ctxt, "service_get_by_host_and_binary", host=host, binary=binary)

    def service_create(self, ctxt: Any, values: dict[str, Any]) -> defer.Deferred:
        return self._call(ctxt, "service_create", values=values)

    def service_update(self, ctxt: Any, service_id: int, values: dict[str, Any]
                       ) -> defer.Deferred:
        return self._call(ctxt, "service_update", service_id=service_id, values=values)

    def service_report(self, ctxt: Any, service_id: int) -> defer.Deferred:
        return self._call(ctxt, "service_report", service_id=service_id)


class ConductorServiceRecords:
    """``ServiceRecords`` through the conductor, for services without a database."""

    def __init__(self, api: ConductorAPI, ctxt: Any = None):
        self.api = api
        self._ctxt = ctxt

    @property
    def ctxt(self) -> Any:
        # A fresh admin context per call, so each heartbeat has its own request id.
        return self._ctxt if self._ctxt is not None else RequestContext(is_admin=True)

    def get_by_host_and_binary(self, host: str, binary: str) -> defer.Deferred:
        return self.api.service_get_by_host_and_binary(self.ctxt, host, binary)

    def create(self, values: dict[str, Any]) -> defer.Deferred:
        return self.api.service_create(self.ctxt, values)

    def update(self, service_id: int, values: dict[str, Any]) -> defer.Deferred:
        return self.api.service_update(self.ctxt, service_id, values)

    def report(self, service_id: int) -> defer.Deferred:
        return self.api.service_report(self.ctxt, service_id)

    def get_minimum_version(self, binaries: list[str]) -> defer.Deferred:
        return self.api.service_get_minimum_version(self.ctxt, binaries)


class ComputeTaskAPI:
    """Client side of the conductor's task API (Nova's ``conductor.rpcapi.ComputeTaskAPI``:
    topic ``conductor``, namespace ``compute_task``), where builds and moves start.

    ``[upgrade_levels] conductor`` caps it as it caps ``ConductorAPI``. Version history
    (Nova's): 1.17 ``schedule_and_build_instances`` takes ``tags``; 1.16 without them.
    """

    VERSION = "1.25"
    NAMESPACE = "compute_task"

    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None):
        level = conf.upgrade_levels.conductor
        cap = None if level == "auto" else version_cap_from_upgrade_level(
            "conductor", level, ConductorAPI.VERSION_ALIASES)
        self.client = RPCClient(
            transport, Target(topic=RPC_TOPIC, namespace=self.NAMESPACE,
                              version=self.VERSION),
            version_cap=cap, conf=conf, reactor=reactor)

    def schedule_and_build_instances(self, context: Any, build_requests: list[Any],
                                     request_specs: list[Any], image: Any,
                                     admin_password: str | None, injected_files: Any,
                                     requested_networks: Any, block_device_mapping: Any,
                                     tags: Any = None) -> defer.Deferred:
        """Cast the build of new servers: the conductor schedules each one, creates it
        in its cell and asks the compute host to build it (Nova's signature; the
        arguments are sent as given, objects as their Nova primitives)."""
        version = "1.17"
        kwargs = {"build_requests": build_requests, "request_specs": request_specs,
                  "image": image, "admin_password": admin_password,
                  "injected_files": injected_files, "requested_networks": requested_networks,
                  "block_device_mapping": block_device_mapping, "tags": tags}
        if not self.client.can_send_version(version):
            version = "1.16"
            del kwargs["tags"]
        return self.client.prepare(version=version).cast(
            context, "schedule_and_build_instances", **kwargs)

    def build_instances(self, context: Any, instances: list[Any], image: Any,
                        filter_properties: Any, admin_password: str | None,
                        injected_files: Any, requested_networks: Any, security_groups: Any,
                        block_device_mapping: Any, legacy_bdm: bool = True,
                        request_spec: Any = None, host_lists: Any = None) -> defer.Deferred:
        """Cast a reschedule (Nova 1.19): a compute whose build failed hands the
        instance back with the alternates it was given (``host_lists``, one list of
        Selection primitives per instance); the conductor tries the next one without
        asking the scheduler again."""
        kwargs = {"instances": instances, "image": image,
                  "filter_properties": filter_properties, "admin_password": admin_password,
                  "injected_files": injected_files, "requested_networks": requested_networks,
                  "security_groups": security_groups,
                  "block_device_mapping": block_device_mapping, "legacy_bdm": legacy_bdm,
                  "request_spec": request_spec, "host_lists": host_lists}
        return self.client.prepare(version="1.19").cast(context, "build_instances", **kwargs)

"""Client side of the conductor's instance gateway (``nova_tx.conductor.instances``):
what a compute calls instead of saving Nova objects itself.

Every method is a ``call`` (the compute needs the outcome: a compare-and-swap lost, an
instance gone) and gives back domain objects: ``Instance``, ``InstanceFault``,
``InstanceAction``, ``InstanceActionEvent``.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from oslo_config import cfg

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target, version_cap_from_upgrade_level
from nova_tx.conductor.instances import NAMESPACE
from nova_tx.conductor.rpcapi import RPC_TOPIC, ConductorAPI
from nova_tx.objects import instance as instance_obj
from nova_tx.objects import request_spec
from nova_tx.objects.instance import Instance, InstanceFault
from nova_tx.objects.instance_action import InstanceAction, InstanceActionEvent
from nova_tx.objects.numa import InstanceNUMATopology

_UNSET: Any = object()


def _wire(values: Mapping[str, Any]) -> dict[str, Any]:
    result = {key: instance_obj.isotime(value) if isinstance(value, datetime.datetime)
              else value for key, value in values.items()}
    if isinstance(result.get("numa_topology"), InstanceNUMATopology):
        result["numa_topology"] = request_spec.numa_topology_to_primitive(
            result["numa_topology"])
    return result


def _action(data: Mapping[str, Any]) -> InstanceAction:
    values = dict(data)
    for name in ("start_time", "finish_time", "created_at", "updated_at"):
        values[name] = instance_obj.parse_isotime(values.get(name))
    return InstanceAction(**values)


def _event(data: Mapping[str, Any]) -> InstanceActionEvent:
    values = dict(data)
    for name in ("start_time", "finish_time", "created_at", "updated_at"):
        values[name] = instance_obj.parse_isotime(values.get(name))
    return InstanceActionEvent(**values)


class InstanceGatewayAPI:
    """Version history: see ``nova_tx.conductor.instances.InstanceGateway``."""

    VERSION = "1.0"

    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 timeout: float | None = None):
        level = conf.upgrade_levels.conductor
        cap = None if level in (None, "auto") else version_cap_from_upgrade_level(
            "conductor", level, ConductorAPI.VERSION_ALIASES)
        self.client = RPCClient(
            transport, Target(topic=RPC_TOPIC, namespace=NAMESPACE, version=self.VERSION),
            version_cap=cap, conf=conf, reactor=reactor, timeout=timeout)

    async def _call(self, ctxt: Any, method: str, **kwargs: Any) -> Any:
        return await self.client.prepare(version="1.0").call(ctxt, method, **kwargs)

    # -- instances ---------------------------------------------------------------------

    async def instance_get_by_uuid(self, ctxt: Any, instance_uuid: str, *,
                                   expected_attrs: Iterable[str] = (),
                                   read_deleted: str = "no") -> Instance:
        return Instance.from_primitive(await self._call(
            ctxt, "instance_get_by_uuid", instance_uuid=instance_uuid,
            expected_attrs=list(expected_attrs), read_deleted=read_deleted))

    async def instance_get_all_by_host(self, ctxt: Any, host: str, *,
                                       expected_attrs: Iterable[str] = (),
                                       filters: Mapping[str, Any] | None = None
                                       ) -> list[Instance]:
        found = await self._call(ctxt, "instance_get_all_by_host", host=host,
                                 expected_attrs=list(expected_attrs),
                                 filters=dict(filters or {}))
        return [Instance.from_primitive(p) for p in found]

    async def instance_update(self, ctxt: Any, instance_uuid: str,
                              values: Mapping[str, Any], *,
                              expected_task_state: Any = _UNSET,
                              expected_vm_state: Any = _UNSET,
                              expected_attrs: Iterable[str] = ()) -> Instance:
        """Nova's ``Instance.save(expected_task_state=...)``: the expected states, when
        given (a value, a list, None for none), must hold or nothing changes."""
        expected: dict[str, Any] = {}
        if expected_task_state is not _UNSET:
            expected["task_state"] = expected_task_state
        if expected_vm_state is not _UNSET:
            expected["vm_state"] = expected_vm_state
        return Instance.from_primitive(await self._call(
            ctxt, "instance_update", instance_uuid=instance_uuid, values=_wire(values),
            expected=expected, expected_attrs=list(expected_attrs)))

    async def instance_destroy(self, ctxt: Any, instance_uuid: str) -> Instance:
        return Instance.from_primitive(await self._call(
            ctxt, "instance_destroy", instance_uuid=instance_uuid))

    async def instance_info_cache_update(self, ctxt: Any, instance_uuid: str,
                                         network_info: list[dict[str, Any]] | None) -> None:
        await self._call(ctxt, "instance_info_cache_update", instance_uuid=instance_uuid,
                         network_info=list(network_info or []))

    async def instance_fault_create(self, ctxt: Any, fault: InstanceFault) -> InstanceFault:
        return InstanceFault.from_primitive(await self._call(
            ctxt, "instance_fault_create", values={
                "instance_uuid": fault.instance_uuid, "code": fault.code,
                "message": fault.message, "details": fault.details, "host": fault.host}))

    # -- instance actions and events ----------------------------------------------------

    async def instance_action_start(self, ctxt: Any, instance_uuid: str, action: str
                                    ) -> InstanceAction:
        return _action(await self._call(ctxt, "instance_action_start",
                                        instance_uuid=instance_uuid, action=action))

    async def instance_action_finish(self, ctxt: Any, instance_uuid: str) -> InstanceAction:
        return _action(await self._call(ctxt, "instance_action_finish",
                                        instance_uuid=instance_uuid))

    async def action_event_start(self, ctxt: Any, instance_uuid: str, event: str, *,
                                 host: str | None = None) -> InstanceActionEvent:
        return _event(await self._call(ctxt, "action_event_start",
                                       instance_uuid=instance_uuid, event=event, host=host))

    async def action_event_finish(self, ctxt: Any, instance_uuid: str, event: str, *,
                                  result: str, traceback: str | None = None,
                                  details: str | None = None) -> InstanceActionEvent:
        return _event(await self._call(
            ctxt, "action_event_finish", instance_uuid=instance_uuid, event=event,
            result=result, traceback=traceback, details=details))

"""The conductor's gateway to the instance records of its cell, for the computes.

A compute never opens a database (DESIGN.md): what Nova's compute does through
``Instance.save()``, ``InstanceFault.create()``, ``InstanceAction.action_start()`` and
the info cache's ``save()`` (object RPC to the conductor) it asks here, by name. The
endpoint is served by nova-conductor on topic ``conductor`` in the namespace
``instances`` so that it is versioned apart from the service records.

Instances travel as Nova's ``Instance`` primitive (``Instance.to_primitive``), faults,
actions and events as plain dicts; timestamps as ISO 8601 text. ``instance_update``
is Nova's compare-and-swap save: the expected states a compute names are checked in
the same UPDATE, and a lost race comes back as UnexpectedTaskStateError (or
UnexpectedDeletingTaskStateError when the server is being deleted), as in Nova.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from nova_tx import exception
from nova_tx.bus.rpc import Target, expected_exceptions
from nova_tx.db.main import instance_actions, instances
from nova_tx.objects import instance as instance_obj
from nova_tx.objects import request_spec
from nova_tx.objects.instance import InstanceFault

NAMESPACE = "instances"

#: What a compute may filter its host's instances by (Nova's exact filters).
HOST_FILTERS = ("vm_state", "task_state", "power_state", "uuid", "deleted", "soft_deleted")
#: The state columns ``expected`` may compare (Nova's ``expected_*_state``).
COMPARED = ("task_state", "vm_state")


def _dated(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as the bus carried them turned back into what the row takes: the
    timestamps from text, the NUMA topology (a claim's pinning) from its primitive."""
    result = dict(values)
    for name in instance_obj.DATETIME_FIELDS:
        if name in result:
            result[name] = instance_obj.parse_isotime(result[name])
    if result.get("numa_topology") is not None:
        result["numa_topology"] = request_spec.numa_topology_from_primitive(
            result["numa_topology"])
    return result


def action_to_dict(action: Any) -> dict[str, Any]:
    """An ``InstanceAction`` or ``InstanceActionEvent`` as JSON-able values."""
    data = dataclasses.asdict(action)
    for key, value in data.items():
        if hasattr(value, "isoformat"):
            data[key] = instance_obj.isotime(value)
    return data


class InstanceGateway:
    """Version history:

    * 1.0: instance_get_by_uuid, instance_get_all_by_host, instance_update,
      instance_destroy, instance_info_cache_update, instance_fault_create,
      instance_action_start, instance_action_finish, action_event_start,
      action_event_finish
    """

    target = Target(namespace=NAMESPACE, version="1.0")

    def __init__(self, pool: Callable[[], Any]):
        """``pool``: gives the cell database's ``DBThreadPool``, which nova-conductor
        only opens once it starts (``DatabaseBusService.prepare``)."""
        self._pool = pool

    def _do(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        return self._pool().do(fn, *args, **kwargs)

    # -- instances ---------------------------------------------------------------------

    @expected_exceptions(exception.InstanceNotFound)
    async def instance_get_by_uuid(self, ctxt: Any, instance_uuid: str,
                                   expected_attrs: list[str] | None = None,
                                   read_deleted: str = "no") -> dict[str, Any]:
        found = await self._do(instances.get, instance_uuid,
                               expected_attrs=list(expected_attrs or ()),
                               read_deleted=read_deleted)
        return found.to_primitive()

    async def instance_get_all_by_host(self, ctxt: Any, host: str,
                                       expected_attrs: list[str] | None = None,
                                       filters: dict[str, Any] | None = None
                                       ) -> list[dict[str, Any]]:
        """The instances of ``host``, oldest first: as Nova's ``InstanceList.get_by_host``
        those not deleted (soft-deleted servers included) unless ``filters`` says
        ``deleted``."""
        filters = dict(filters or {})
        unknown = set(filters) - set(HOST_FILTERS)
        if unknown:
            raise exception.InvalidInput(
                reason=f"unsupported instance filters {sorted(unknown)}")
        filters.setdefault("deleted", False)
        filters.setdefault("soft_deleted", True)
        filters["host"] = host
        found = await self._do(instances.get_all_by_filters_sort, filters,
                               sort_keys=["created_at", "id"], sort_dirs=["asc", "asc"],
                               expected_attrs=list(expected_attrs or ()))
        return [i.to_primitive() for i in found]

    @expected_exceptions(exception.InstanceNotFound, exception.InstanceUpdateConflict)
    async def instance_update(self, ctxt: Any, instance_uuid: str, values: dict[str, Any],
                              expected: dict[str, Any] | None = None,
                              expected_attrs: list[str] | None = None) -> dict[str, Any]:
        """Change the instance; ``expected`` maps ``task_state``/``vm_state`` to the
        value (or list of values, None meaning no state) it must have now."""
        compare = {f"expected_{name}": value for name, value in (expected or {}).items()}
        if set(expected or {}) - set(COMPARED):
            raise exception.InvalidInput(
                reason=f"cannot compare {sorted(set(expected) - set(COMPARED))}")
        updated = await self._do(instances.update, instance_uuid, _dated(values),
                                 expected_attrs=list(expected_attrs or ()), **compare)
        return updated.to_primitive()

    @expected_exceptions(exception.InstanceNotFound)
    async def instance_destroy(self, ctxt: Any, instance_uuid: str) -> dict[str, Any]:
        """Soft-delete the instance (Nova's ``Instance.destroy``); it as it was."""
        return (await self._do(instances.destroy, instance_uuid)).to_primitive()

    @expected_exceptions(exception.InstanceNotFound)
    async def instance_info_cache_update(self, ctxt: Any, instance_uuid: str,
                                         network_info: list[dict[str, Any]]) -> None:
        await self._do(instances.set_network_info, instance_uuid, network_info)

    async def instance_fault_create(self, ctxt: Any, values: dict[str, Any]
                                    ) -> dict[str, Any]:
        fault = InstanceFault(instance_uuid=values["instance_uuid"],
                              code=int(values.get("code", 500)),
                              message=values.get("message"), details=values.get("details"),
                              host=values.get("host"))
        return (await self._do(instances.add_fault, fault)).to_primitive()

    # -- instance actions and their events ------------------------------------------------

    async def instance_action_start(self, ctxt: Any, instance_uuid: str, action: str
                                    ) -> dict[str, Any]:
        """Record ``action`` for the request of ``ctxt`` (its id, user and project)."""
        made = await self._do(instance_actions.create, action=action,
                              instance_uuid=instance_uuid, request_id=ctxt.request_id,
                              user_id=ctxt.user_id, project_id=ctxt.project_id)
        return action_to_dict(made)

    @expected_exceptions(exception.InstanceActionNotFound)
    async def instance_action_finish(self, ctxt: Any, instance_uuid: str) -> dict[str, Any]:
        return action_to_dict(await self._do(instance_actions.finish, instance_uuid,
                                             ctxt.request_id))

    @expected_exceptions(exception.InstanceActionNotFound)
    async def action_event_start(self, ctxt: Any, instance_uuid: str, event: str,
                                 host: str | None = None) -> dict[str, Any]:
        return action_to_dict(await self._do(instance_actions.event_start, instance_uuid,
                                             ctxt.request_id, event, host=host))

    @expected_exceptions(exception.InstanceActionNotFound,
                         exception.InstanceActionEventNotFound)
    async def action_event_finish(self, ctxt: Any, instance_uuid: str, event: str,
                                  result: str, traceback: str | None = None,
                                  details: str | None = None) -> dict[str, Any]:
        return action_to_dict(await self._do(
            instance_actions.event_finish, instance_uuid, ctxt.request_id, event,
            result=result, traceback=traceback, details=details))

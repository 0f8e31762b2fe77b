"""``aggregate.*`` notifications: Nova's versioned ``AggregatePayload`` 1.1 and the
legacy (unversioned) ones of the same actions.

Versioned (publisher ``nova-api:<host>``), event ``aggregate.<action>.<phase>`` with
``create``, ``delete``, ``update_prop``, ``update_metadata``, ``add_host``,
``remove_host`` and ``cache_images``: the aggregate's ``id``, ``uuid``, ``name``,
``hosts`` and ``metadata``. ``create.start`` goes out before the row exists, so its
``id`` and ``hosts`` are ``null`` (and ``metadata`` too when no zone was given), as
Nova's payload of an object whose fields are not set yet.

Legacy (publisher ``aggregate.<id or name>``), Nova's ``notify_about_aggregate_update``
events and payloads: ``create.start/end`` ``{"name", "meta_data"?, "aggregate_id"
(end)}``, ``updateprop.start/end`` ``{"aggregate_id"}``, ``updatemetadata.start/end``
``{"aggregate_id", "meta_data"}``, ``delete.start/end`` ``{"aggregate_id"}``,
``addhost``/``removehost`` ``{"aggregate_id", "host_name"}`` (and ``name`` at the
end of addhost). Nova has no legacy cache_images notification.
"""
from __future__ import annotations

from typing import Any

from nova_tx.notifications import base
from nova_tx.objects.aggregate import Aggregate

CREATE, DELETE, UPDATE_PROP, UPDATE_METADATA = (
    "create", "delete", "update_prop", "update_metadata")
ADD_HOST, REMOVE_HOST, CACHE_IMAGES = "add_host", "remove_host", "cache_images"
START, END = "start", "end"

#: The legacy event of each versioned action (Nova spells them without underscores).
LEGACY_ACTIONS = {CREATE: "create", DELETE: "delete", UPDATE_PROP: "updateprop",
                  UPDATE_METADATA: "updatemetadata", ADD_HOST: "addhost",
                  REMOVE_HOST: "removehost"}


class AggregatePayload(base.NotificationPayloadBase):
    SCHEMA_NAME = "AggregatePayload"
    # 1.0 first; 1.1 uuid made mandatory-looking in the schema (same data).
    VERSION = "1.1"

    def __init__(self, aggregate: Aggregate, *, unsaved: bool = False):
        self.aggregate = aggregate
        self.unsaved = unsaved

    def data(self) -> dict[str, Any]:
        a = self.aggregate
        if self.unsaved:
            return {"id": None, "uuid": a.uuid, "name": a.name, "hosts": None,
                    "metadata": dict(a.metadata) if a.metadata else None}
        return {"id": a.id, "uuid": a.uuid, "name": a.name, "hosts": list(a.hosts),
                "metadata": dict(a.metadata)}


def aggregate_notification(action: str, phase: str, aggregate: Aggregate, host: str, *,
                           unsaved: bool = False,
                           source: str = "nova-api") -> base.NotificationBase:
    return base.NotificationBase(
        event_type=base.EventType("aggregate", action, phase),
        publisher=base.NotificationPublisher(host=host, source=source),
        payload=AggregatePayload(aggregate, unsaved=unsaved))


class AggregateNotifier:
    """What ``nova_tx.compute.aggregates.AggregateAPI`` calls; ``versioned`` and
    ``legacy`` are Notifiers (either may be None). Never fails the operation."""

    def __init__(self, host: str, versioned=None, legacy=None):
        self.host = host
        self.versioned = versioned
        self.legacy = legacy

    def versioned_event(self, context, action: str, phase: str, aggregate: Aggregate, *,
                        unsaved: bool = False) -> None:
        aggregate_notification(action, phase, aggregate, self.host,
                               unsaved=unsaved).emit(self.versioned, context)

    def legacy_event(self, context, action: str, phase: str,
                     payload: dict[str, Any]) -> None:
        if self.legacy is None or not self.legacy.is_enabled():
            return
        identifier = payload.get("aggregate_id") or payload.get("name")
        if not identifier:
            return
        event = "aggregate.%s.%s" % (LEGACY_ACTIONS[action], phase)
        try:
            self.legacy.prepare(publisher_id="aggregate.%s" % identifier).info(
                context, event, payload)
        except Exception:  # a notification never fails the request
            base.LOG.exception("%s could not be sent", event)

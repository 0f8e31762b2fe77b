"""``service.create``, ``service.update`` and ``service.delete`` with Nova's
``ServiceStatusPayload`` 1.1.

Nova sends them from its Service object, with the service itself as publisher
(``nova-compute:host1``): ``update`` when ``disabled``, ``disabled_reason`` or
``forced_down`` change (not for heartbeats or the version), ``delete`` after the row
is deleted. The payload's ``availability_zone`` is the object's, which Nova does not
set on these paths, so ``null``. There is no legacy service notification.
"""
from __future__ import annotations

import datetime
from typing import Any

from nova_tx.notifications import base
from nova_tx.objects.service import Service

CREATE, UPDATE, DELETE = "create", "update", "delete"
#: The fields whose change makes ``service.update`` go out.
NOTIFIED_FIELDS = frozenset({"disabled", "disabled_reason", "forced_down"})


def _timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


class ServiceStatusPayload(base.NotificationPayloadBase):
    SCHEMA_NAME = "ServiceStatusPayload"
    # 1.0 first; 1.1 uuid.
    VERSION = "1.1"

    def __init__(self, service: Service, availability_zone: str | None = None):
        self.service = service
        self.availability_zone = availability_zone

    def data(self) -> dict[str, Any]:
        s = self.service
        return {"host": s.host, "binary": s.binary, "topic": s.topic,
                "report_count": s.report_count, "disabled": s.disabled,
                "disabled_reason": s.disabled_reason,
                "availability_zone": self.availability_zone,
                "last_seen_up": _timestamp(s.last_seen_up), "forced_down": s.forced_down,
                "version": s.version, "uuid": s.uuid}


def service_notification(action: str, service: Service) -> base.NotificationBase:
    return base.NotificationBase(
        event_type=base.EventType("service", action),
        publisher=base.NotificationPublisher(host=service.host or "",
                                             source=service.binary or ""),
        payload=ServiceStatusPayload(service))


def notify_service(notifier, context, action: str, service: Service) -> None:
    """Send ``service.<action>`` through ``notifier`` (versioned; None sends
    nothing). Never fails the caller."""
    service_notification(action, service).emit(notifier, context)

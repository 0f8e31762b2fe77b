"""The versioned notification and its payload, in the wire form Nova's
``NotificationBase.emit`` gives them::

    {"priority": "INFO", "event_type": "flavor.create",
     "publisher_id": "nova-api:host1",
     "payload": {"nova_object.name": "FlavorPayload", "nova_object.namespace": "nova",
                 "nova_object.version": "1.4", "nova_object.data": {...}}}

The envelope (``message_id``, ``timestamp``, context) is the Notifier's. A payload's
version is the version of Nova's payload object of the same name in Zed; it changes
only when the data's syntax or meaning does (spec/D §5).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, ClassVar

from twisted.internet import defer

LOG = logging.getLogger(__name__)

NAMESPACE = "nova"

#: Nova's notification priorities (``fields.NotificationPriority``).
PRIORITIES = ("AUDIT", "CRITICAL", "DEBUG", "INFO", "ERROR", "SAMPLE", "WARN")


class NotificationPayloadBase:
    """A payload: ``SCHEMA_NAME``/``VERSION`` and the ``data`` it carries."""

    SCHEMA_NAME: ClassVar[str] = ""
    VERSION: ClassVar[str] = "1.0"

    def data(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_primitive(self) -> dict[str, Any]:
        return {
            "nova_object.name": self.SCHEMA_NAME,
            "nova_object.namespace": NAMESPACE,
            "nova_object.version": self.VERSION,
            "nova_object.data": self.data(),
        }


@dataclasses.dataclass(frozen=True)
class NotificationPublisher:
    """Who sends it: ``<source>:<host>`` (``nova-api:host1``)."""

    host: str
    source: str

    @property
    def publisher_id(self) -> str:
        return f"{self.source}:{self.host}"


@dataclasses.dataclass(frozen=True)
class EventType:
    """``<object>.<action>[.<phase>]`` (``flavor.create``, ``instance.create.start``)."""

    object: str
    action: str
    phase: str | None = None

    def __str__(self) -> str:
        parts = [self.object, self.action] + ([self.phase] if self.phase else [])
        return ".".join(parts)


@dataclasses.dataclass(frozen=True)
class NotificationBase:
    """One versioned notification, sent with :meth:`emit`."""

    event_type: EventType
    publisher: NotificationPublisher
    payload: NotificationPayloadBase
    priority: str = "INFO"

    def message(self) -> dict[str, Any]:
        """What a consumer sees besides the envelope (the samples' content)."""
        return {
            "priority": self.priority,
            "event_type": str(self.event_type),
            "publisher_id": self.publisher.publisher_id,
            "payload": self.payload.to_primitive(),
        }

    def emit(self, notifier, context: Any) -> defer.Deferred:
        """Send through ``notifier`` (a versioned ``nova_tx.bus.notifier.Notifier``;
        None or a disabled one sends nothing). Never fails the caller."""
        if notifier is None or not notifier.is_enabled():
            return defer.succeed(None)
        if self.priority not in PRIORITIES:
            raise ValueError(f"unknown notification priority {self.priority!r}")
        try:
            prepared = notifier.prepare(publisher_id=self.publisher.publisher_id)
            send = getattr(prepared, self.priority.lower())
            return send(context, str(self.event_type), self.payload.to_primitive())
        except Exception:
            LOG.exception("Notification %s could not be sent", self.event_type)
            return defer.succeed(None)

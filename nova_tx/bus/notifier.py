"""Notifications, as oslo.messaging's ``Notifier`` sends them, so that anything built on
an oslo.messaging notification listener (Ceilometer, Searchlight, a billing system)
reads ours unchanged.

A notification is ``{"message_id", "publisher_id", "event_type", "priority", "payload",
"timestamp"}`` plus ``_unique_id`` and the ``_context_<key>`` entries of the (redacted)
request context; the ``messagingv2`` driver publishes it in the 2.0 envelope to
``<topic>.<priority>`` (priority in lower case) on ``[DEFAULT] control_exchange``, for
each topic, declaring a queue of that name on the way so that nothing is lost before a
consumer subscribes (oslo does the same). ``messaging`` publishes it without the
envelope, ``log`` writes it to the ``oslo.messaging.notification.<event_type>`` logger,
``noop`` (or no driver, the default) drops it.

Nova has two notifiers: the legacy one (``versioned=False``) sends to
``[oslo_messaging_notifications] topics`` when ``[notifications] notification_format``
is ``unversioned`` or ``both``; the versioned one sends to ``[notifications]
versioned_notifications_topics`` when it is ``versioned`` or ``both``.

A notification that cannot be handed to the bus is tried again
(``[oslo_messaging_notifications] retry`` more times, -1 without end) after the
transport's reconnection delays, then logged and dropped: a notification never fails the
operation it reports on.
"""
from __future__ import annotations

import copy
import datetime
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from twisted.internet import defer, task

from nova_tx.bus import rpc_wire as rpc
from nova_tx.bus.exception import UnsupportedNotificationDriver
from nova_tx.bus.interfaces import TOPIC, Binding, ITransport

LOG = logging.getLogger(__name__)

#: The logger the ``log`` driver writes to, followed by ``.<event_type>`` (oslo's name).
LOGGER_BASE = "oslo.messaging.notification"

MESSAGING_V2, MESSAGING, LOG_DRIVER, NOOP = "messagingv2", "messaging", "log", "noop"
SUPPORTED_DRIVERS = (MESSAGING_V2, MESSAGING, LOG_DRIVER, NOOP)
_BUS_DRIVERS = (MESSAGING_V2, MESSAGING)

_LOG_LEVELS = {
    "AUDIT": logging.INFO,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
    "SAMPLE": logging.DEBUG,
}
#: Keys whose values the ``log`` driver hides, wherever they are in the message.
_SECRET_HINTS = ("password", "secret", "token", "admin_pass")


class Notifier:
    """Sends notifications for one publisher (``nova-compute:host1``, ``compute.host1``).

    ``transport`` may be None when no bus driver is configured. Every method returns a
    Deferred that fires (with None) once the notification is sent or given up on.
    """

    def __init__(self, transport: ITransport | None, conf: cfg.ConfigOpts, publisher_id: str,
                 *, versioned: bool = False, serializer: rpc.ISerializer | None = None,
                 reactor=None):
        drivers = list(dict.fromkeys(conf.oslo_messaging_notifications.driver))
        for driver in drivers:
            if driver not in SUPPORTED_DRIVERS:
                raise UnsupportedNotificationDriver(driver, SUPPORTED_DRIVERS)
        formats = ("versioned", "both") if versioned else ("unversioned", "both")
        if conf.notifications.notification_format not in formats:
            drivers = []
        self.drivers = [d for d in drivers if d != NOOP]
        if transport is None and any(d in _BUS_DRIVERS for d in self.drivers):
            raise ValueError("a notifier with a messaging driver needs a transport")
        if reactor is None:
            from twisted.internet import reactor
        self.transport = transport
        self.conf = conf
        self.publisher_id = publisher_id
        self.versioned = versioned
        self.serializer = serializer or rpc.RequestContextSerializer()
        self.reactor = reactor
        self.topics = list(conf.notifications.versioned_notifications_topics if versioned
                           else conf.oslo_messaging_notifications.topics)
        self.retry = conf.oslo_messaging_notifications.retry
        #: Queues already declared, shared with the notifiers ``prepare`` makes.
        self._declared: set[tuple[str, str]] = set()

    def is_enabled(self) -> bool:
        """False when nothing would be sent: no driver, ``noop``, or a format that leaves
        this kind of notification out. Lets a caller skip building a payload."""
        return bool(self.drivers)

    def prepare(self, publisher_id: str | None = None) -> Notifier:
        prepared = copy.copy(self)
        if publisher_id is not None:
            prepared.publisher_id = publisher_id
        return prepared

    def audit(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "AUDIT")

    def debug(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "DEBUG")

    def info(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "INFO")

    def warn(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "WARN")

    warning = warn

    def error(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "ERROR")

    def critical(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "CRITICAL")

    def sample(self, ctxt: Any, event_type: str, payload: Any) -> defer.Deferred:
        return self._notify(ctxt, event_type, payload, "SAMPLE")

    def _notify(self, ctxt: Any, event_type: str, payload: Any, priority: str) -> defer.Deferred:
        if not self.drivers:
            return defer.succeed(None)
        return defer.Deferred.fromCoroutine(self._send(ctxt, event_type, payload, priority))

    def _message(self, ctxt: Any, event_type: str, payload: Any, priority: str) -> dict:
        now = datetime.datetime.fromtimestamp(self.reactor.seconds(), datetime.UTC)
        return {
            "message_id": str(uuid.uuid4()),
            "publisher_id": self.publisher_id,
            "event_type": event_type,
            "priority": priority,
            "payload": self.serializer.serialize_entity(ctxt, payload),
            # oslo writes str() of a naive UTC datetime: "2024-05-01 12:00:00.123456".
            "timestamp": str(now.replace(tzinfo=None)),
        }

    async def _send(self, ctxt: Any, event_type: str, payload: Any, priority: str) -> None:
        try:
            message = self._message(ctxt, event_type, payload, priority)
            context = _redacted_context(self.serializer, ctxt)
        except Exception:
            LOG.exception("Notification %s from %s could not be built; dropped", event_type,
                          self.publisher_id)
            return
        for driver in self.drivers:
            if driver == LOG_DRIVER:
                self._log(message)
                continue
            for topic in self.topics:
                body = dict(message, _unique_id=uuid.uuid4().hex)
                rpc.pack_context(body, context)
                await self._publish(f"{topic}.{priority.lower()}", body, driver, event_type)

    def _log(self, message: dict) -> None:
        event_type, priority = message["event_type"], message["priority"]
        try:
            text = json.dumps(_masked(message), default=rpc.to_primitive)
        except (TypeError, ValueError) as e:
            LOG.error("Notification %s cannot be serialized (%s); not logged", event_type, e)
            return
        logging.getLogger(f"{LOGGER_BASE}.{event_type}").log(_LOG_LEVELS[priority], text)

    async def _publish(self, routing_key: str, message: dict, driver: str,
                       event_type: str) -> None:
        try:
            if driver == MESSAGING_V2:
                body = rpc.serialize_msg(message)
            else:
                body = json.dumps(message, default=rpc.to_primitive).encode("utf-8")
        except (TypeError, ValueError) as e:
            LOG.error("Notification %s to %s cannot be serialized (%s); dropped",
                      event_type, routing_key, e)
            return
        rabbit = self.conf.oslo_messaging_rabbit
        delay = float(rabbit.rabbit_retry_interval)
        attempt = 0
        while True:
            try:
                await self._declare(routing_key)
                await self.transport.publish(self.conf.control_exchange, routing_key, body,
                                             persistent=rabbit.amqp_durable_queues)
                return
            except Exception as e:
                # Declare again on the next attempt: the failure may have been the
                # exchange or queue gone.
                self._declared.discard((self.conf.control_exchange, routing_key))
                if 0 <= self.retry <= attempt:
                    LOG.error("Notification %s to %s not sent after %d attempt(s), dropped: "
                              "%s", event_type, routing_key, attempt + 1, e)
                    return
                LOG.warning("Notification %s to %s not sent (%s); trying again in %gs",
                            event_type, routing_key, e, delay)
            await task.deferLater(self.reactor, delay, lambda: None)
            attempt += 1
            delay = min(delay + rabbit.rabbit_retry_backoff, float(rabbit.rabbit_interval_max))

    async def _declare(self, routing_key: str) -> None:
        exchange = self.conf.control_exchange
        if (exchange, routing_key) in self._declared:
            return
        rabbit = self.conf.oslo_messaging_rabbit
        await self.transport.declare_exchange(exchange, TOPIC,
                                              durable=rabbit.amqp_durable_queues,
                                              auto_delete=rabbit.amqp_auto_delete)
        await self.transport.declare_queue(routing_key, [Binding(exchange, routing_key)],
                                           durable=rabbit.amqp_durable_queues,
                                           auto_delete=rabbit.amqp_auto_delete)
        self._declared.add((exchange, routing_key))


def _redacted_context(serializer: rpc.ISerializer, ctxt: Any) -> dict[str, Any]:
    """The context without credentials: notifications leave the deployment's trust
    boundary (oslo.messaging redacts them too)."""
    if ctxt is None:
        return {}
    if hasattr(ctxt, "redacted_copy"):
        return serializer.serialize_context(ctxt.redacted_copy())
    if isinstance(ctxt, Mapping):
        return {k: v for k, v in ctxt.items() if k not in ("auth_token", "service_catalog")}
    return serializer.serialize_context(ctxt)


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: "***" if isinstance(k, str) and any(h in k.lower() for h in _SECRET_HINTS)
                and v is not None else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def get_notifier(transport: ITransport | None, conf: cfg.ConfigOpts, service: str,
                 host: str | None = None, **kwargs: Any) -> Notifier:
    """Nova's legacy notifier for a service: publisher ``<service>.<host>``."""
    return Notifier(transport, conf, f"{service}.{host or conf.host}", **kwargs)


def get_versioned_notifier(transport: ITransport | None, conf: cfg.ConfigOpts,
                           publisher_id: str, **kwargs: Any) -> Notifier:
    """Nova's versioned notifier (publisher ``nova-compute:host1`` and the like)."""
    return Notifier(transport, conf, publisher_id, versioned=True, **kwargs)

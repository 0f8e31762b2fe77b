"""A real oslo.messaging notification listener, on the machine's RabbitMQ, receives
what nova-tx's Notifier published (the consumers that exist keep working)."""
from __future__ import annotations

import time

from oslo_config import cfg
from twisted.internet import threads

from nova_tx.bus.notifier import Notifier
from nova_tx.context import RequestContext
from tests.bus import import_oslo_messaging, make_conf, wait_until
from tests.bus.test_amqp import BrokerTestCase

BROKER_URL = "rabbit://guest:guest@127.0.0.1:5672/"


class OsloListenerTest(BrokerTestCase):
    timeout = 60

    async def test_oslo_listener_receives_our_notification(self):
        oslo_messaging = import_oslo_messaging()[0]
        exchange = self.exchange_name("control")
        topic = self.prefix.replace(".", "_")
        self._queues.append(f"{topic}.info")  # declared by oslo's listener; deleted after
        received: list = []

        class Endpoint:
            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                received.append((ctxt, publisher_id, event_type, payload))

        oslo_conf = cfg.ConfigOpts()
        oslo_conf([], project="nova-tx-test")
        transport = oslo_messaging.get_notification_transport(oslo_conf, url=BROKER_URL)
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=topic, exchange=exchange)], [Endpoint()],
            executor="threading")
        # oslo.messaging blocks: it runs in its own threads, never in the reactor's.
        await threads.deferToThread(listener.start)

        def stop_listener():
            listener.stop()
            listener.wait()
            transport.cleanup()

        self.addCleanup(threads.deferToThread, stop_listener)

        conf = make_conf(control_exchange=exchange,
                         oslo_messaging_notifications__driver=["messagingv2"],
                         oslo_messaging_notifications__topics=[topic])
        bus = await self.bus(conf)
        ctxt = RequestContext(user_id="u1", project_id="p1", roles=["member"])
        notifier = Notifier(bus, conf, "compute.host1")
        # The listener declares its queue as it starts consuming; until then a
        # notification would be routed nowhere, so publish until one arrives.
        deadline = time.monotonic() + 20
        while not received:
            await notifier.info(ctxt, "compute.instance.create.end", {"uuid": "i-1"})
            try:
                await wait_until(lambda: received, timeout=1.0)
            except AssertionError:
                self.assertLess(time.monotonic(), deadline, "oslo's listener received nothing")
        their_ctxt, publisher_id, event_type, payload = received[0]
        self.assertEqual(("compute.host1", "compute.instance.create.end", {"uuid": "i-1"}),
                         (publisher_id, event_type, payload))
        self.assertEqual(("u1", "p1", ctxt.request_id),
                         (their_ctxt["user_id"], their_ctxt["project_id"],
                          their_ctxt["request_id"]))

"""The nova-api daemon's own wiring for flavors: ``APIComponents`` gives the handlers
the API database's pool and the versioned notifier from the configuration."""
from __future__ import annotations

import json
import os
import tempfile
import uuid

from oslo_config import cfg
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from nova_tx import policy
from nova_tx.api.compute import service as api_service
from nova_tx.bus.interfaces import TOPIC, Binding
from nova_tx.bus.url import get_transport
from nova_tx.conf import api as api_conf
from nova_tx.conf import database as database_conf
from nova_tx.conf import default, messaging
from nova_tx.db import engines, migration
from tests.bus import Collector, wait_until


class APIComponentsTest(unittest.TestCase):
    def make_conf(self) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        for module in (default, api_conf, database_conf, messaging):
            module.register_opts(conf)
        conf([], project="nova")
        path = os.path.join(tempfile.mkdtemp(), "api.sqlite")
        engine = engines.create_engine("sqlite:///" + path)
        migration.db_sync(engine, "api")
        engine.dispose()
        conf.set_override("connection", "sqlite:///" + path, group="api_database")
        conf.set_override("auth_strategy", "noauth2", group="api")
        conf.set_override("osapi_compute_listen", "127.0.0.1")
        conf.set_override("osapi_compute_listen_port", 0)
        conf.set_override("transport_url", "memory:///flavors-%s" % uuid.uuid4().hex)
        conf.set_override("host", "api-host")
        conf.set_override("driver", ["messagingv2"], group="oslo_messaging_notifications")
        conf.set_override("notification_format", "both", group="notifications")
        return conf

    async def test_flavor_create_through_the_daemon(self):
        conf = self.make_conf()
        listener_bus = get_transport(conf)
        await listener_bus.connect()
        self.addCleanup(listener_bus.close)
        collector = Collector()
        await listener_bus.declare_exchange("nova", TOPIC)
        key = "versioned_notifications.info"
        await listener_bus.declare_queue(key, [Binding("nova", key)])
        await listener_bus.consume(key, collector)

        # The daemons use the global CONF, which policy uses by default; ours is private.
        policy.init(conf)
        self.addCleanup(policy.reset)
        components = api_service.APIComponents(conf)
        self.assertEqual({"api_db", "versioned_notifier", "notifier", "quota", "cell_engines"},
                         set(components.components))
        components.startService()
        self.addCleanup(components.stopService)
        listener = api_service.make_api_listener(conf, components.components)
        listener.startService()
        self.addCleanup(listener.stopService)
        base = "http://127.0.0.1:%d" % listener._port.getHost().port

        body = json.dumps({"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 0,
                                      "id": "f1"}}).encode()
        from io import BytesIO

        response = await Agent(reactor).request(
            b"POST", (base + "/v2.1/flavors").encode(),
            Headers({b"X-Auth-Token": [b"admin:p1"],
                     b"Content-Type": [b"application/json"]}),
            FileBodyProducer(BytesIO(body)))
        raw = await readBody(response)
        self.assertEqual(200, response.code, raw)
        await wait_until(lambda: collector.bodies)
        message = json.loads(collector.decoded()[0]["oslo.message"])
        self.assertEqual(("flavor.create", "nova-api:api-host", "f1"),
                         (message["event_type"], message["publisher_id"],
                          message["payload"]["nova_object.data"]["flavorid"]))

    def test_without_api_database(self):
        conf = self.make_conf()
        conf.clear_override("connection", group="api_database")
        components = api_service.APIComponents(conf)
        self.assertNotIn("api_db", components.components)

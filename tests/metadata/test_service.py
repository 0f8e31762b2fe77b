"""``nova-api-metadata`` as a daemon: its tree listens on ``metadata_listen`` /
``metadata_listen_port`` and serves the tree from the configured databases."""
from __future__ import annotations

import json

from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from nova_tx.api.metadata import service
from nova_tx.api.metadata.identify import sign
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings, instance_mappings
from nova_tx.db.main import instances
from nova_tx.objects.instance import Instance
from tests.db.fixtures import engine_for, fresh_database_url
from tests.helpers import free_ports
from tests.metadata.fixture import make_conf


class ServiceTest(unittest.TestCase):
    def make(self):
        [port] = free_ports(1)
        api_url = fresh_database_url(self, "sqlite")
        cell_url = fresh_database_url(self, "sqlite")
        api, cell = engine_for(self, api_url), engine_for(self, cell_url)
        migration.db_sync(api, "api")
        migration.db_sync(cell, "main")
        with api.begin() as conn:
            mapping = cell_mappings.create(conn, transport_url="none:///",
                                           database_connection=cell_url, name="cell1")
            instance_mappings.create(conn, instance_uuid="a" * 8 + "-0000-0000-0000-" +
                                     "0" * 12, project_id="p", cell_mapping=mapping)
        with cell.begin() as conn:
            instances.create(conn, Instance(uuid="a" * 8 + "-0000-0000-0000-" + "0" * 12,
                                            project_id="p", hostname="vm"))
        conf = make_conf(metadata_listen="127.0.0.1", metadata_listen_port=port,
                         metadata_workers=1, api_database__connection=api_url,
                         neutron__service_metadata_proxy=True,
                         neutron__metadata_proxy_shared_secret="k")
        return conf, port

    async def test_serves_on_the_configured_port(self):
        conf, port = self.make()
        daemon = service.make_service(conf)
        daemon.startService()
        await daemon.started
        self.addCleanup(daemon.stopService)
        agent = Agent(reactor)
        response = await agent.request(b"GET", b"http://127.0.0.1:%d/" % port)
        self.assertEqual(200, response.code)
        self.assertIn(b"2009-04-04", await readBody(response))
        uuid = "a" * 8 + "-0000-0000-0000-" + "0" * 12
        headers = Headers({b"X-Instance-ID": [uuid.encode()], b"X-Tenant-ID": [b"p"],
                           b"X-Instance-ID-Signature": [sign("k", uuid).encode()]})
        response = await agent.request(
            b"GET", b"http://127.0.0.1:%d/openstack/latest/meta_data.json" % port, headers)
        self.assertEqual(uuid, json.loads(await readBody(response))["uuid"])

    def test_worker_count(self):
        conf = make_conf(metadata_workers=3)
        self.assertEqual(3, service.worker_count(conf))
        conf.set_override("transport_url", "memory://")
        self.assertEqual(1, service.worker_count(conf))

    def test_invalidator_only_with_notifications_on_a_bus(self):
        from nova_tx.conf import messaging

        conf = make_conf(metadata_workers=1)
        messaging.register_opts(conf)
        names = [child.name for child in service.make_service(conf)]
        self.assertNotIn("metadata_cache_invalidator", names)
        conf.set_override("driver", ["messagingv2"], group="oslo_messaging_notifications")
        conf.set_override("transport_url", "memory://")
        names = [child.name for child in service.make_service(conf)]
        self.assertIn("metadata_cache_invalidator", names)

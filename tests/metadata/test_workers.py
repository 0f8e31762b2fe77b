"""``metadata_workers``: child processes share the metadata service's socket, each
serving the tree from the databases."""
import json
import os

from oslo_config import cfg
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from nova_tx import config
from nova_tx.api.metadata import service
from nova_tx.api.metadata.identify import sign
from nova_tx.conf import default
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings, instance_mappings
from nova_tx.db.main import instances
from nova_tx.objects.instance import Instance
from tests.db.fixtures import engine_for, fresh_database_url
from tests.helpers import write_config

UUID = "b7cb8a16-4b35-4c4e-9c4e-2b6d0fbb0a01"
CONF_TEXT = """[DEFAULT]
metadata_listen = 127.0.0.1
metadata_listen_port = 0
metadata_workers = 2
transport_url = rabbit://nowhere:1/
[api_database]
connection = %s
[neutron]
service_metadata_proxy = true
metadata_proxy_shared_secret = k
"""


class MetadataWorkersTest(unittest.TestCase):
    timeout = 90

    async def test_workers_serve_the_tree(self):
        api_url = fresh_database_url(self, "sqlite")
        cell_url = fresh_database_url(self, "sqlite")
        api, cell = engine_for(self, api_url), engine_for(self, cell_url)
        migration.db_sync(api, "api")
        migration.db_sync(cell, "main")
        with api.begin() as conn:
            mapping = cell_mappings.create(conn, transport_url="none:///",
                                           database_connection=cell_url, name="cell1")
            instance_mappings.create(conn, instance_uuid=UUID, project_id="p",
                                     cell_mapping=mapping)
        with cell.begin() as conn:
            instances.create(conn, Instance(uuid=UUID, project_id="p", hostname="vm"))
        path = write_config(self, CONF_TEXT % api_url)
        conf = cfg.ConfigOpts()
        default.register_opts(conf)
        config.register_log_opts(conf)
        log_file = os.path.join(os.path.dirname(path), "metadata.log")
        conf(["--config-file", path, "--log-file", log_file], project="nova")
        self.assertEqual(2, service.worker_count(conf))
        daemon = service.make_service(conf)
        pool = daemon.getServiceNamed("metadata")
        daemon.startService()
        self.addCleanup(daemon.stopService)
        pids = await pool.ready
        self.assertEqual(2, len(set(pids)))
        port = pool.address[1]
        headers = Headers({b"X-Instance-ID": [UUID.encode()], b"X-Tenant-ID": [b"p"],
                           b"X-Instance-ID-Signature": [sign("k", UUID).encode()]})
        for _ in range(10):
            response = await Agent(reactor).request(
                b"GET", b"http://127.0.0.1:%d/openstack/latest/meta_data.json" % port,
                headers)
            body = await readBody(response)
            self.assertEqual(200, response.code, body)
            self.assertEqual(UUID, json.loads(body)["uuid"])

"""The nova-tx-placement service, and its HTTP and in-process clients."""
from __future__ import annotations

import os
import shutil
import tempfile

from oslo_config import cfg
from twisted.internet import reactor
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx.conf import database as database_conf
from nova_tx.conf import placement as placement_conf
from nova_tx.placement import client
from nova_tx.placement.service import PlacementService
from tests.db.fixtures import migrated_sqlite_file
from tests.helpers import StoppableReactor

RP = "d1b5a9a4-0f3a-4b4e-9a59-7a1d1b3c0001"


def make_conf(api_url: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    database_conf.register_opts(conf)
    placement_conf.register_opts(conf)
    conf([], project="nova")
    conf.set_override("connection", api_url, group="api_database")
    conf.set_override("placement_listen", "127.0.0.1", group="embedded")
    conf.set_override("placement_port", 0, group="embedded")
    return conf


class PlacementServiceTests(unittest.TestCase):

    def setUp(self):
        directory = tempfile.mkdtemp(prefix="nova-tx-placement-svc-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "api.sqlite")
        # An API database on which placement's tree was synced (as api_db sync does).
        shutil.copy(migrated_sqlite_file("placement"), path)
        self.conf = make_conf(f"sqlite:///{path}")

    async def start(self) -> PlacementService:
        daemon = PlacementService(self.conf, reactor=reactor)
        daemon.startService()
        self.addCleanup(daemon.stopService)
        await daemon.started
        self.assertEqual(0, daemon.exit_code)
        return daemon

    async def test_http_and_local_clients_agree(self):
        daemon = await self.start()
        port = daemon.listener._port.getHost().port
        http = client.HTTPPlacementClient(f"http://127.0.0.1:{port}")
        self.addCleanup(http.close)
        local = client.make_client(self.conf)
        self.assertIsInstance(local, client.LocalPlacementClient)
        for each in (http, local):
            verifyObject(client.IPlacementClient, each)
        response = await http.post("/resource_providers", {"name": "cn1", "uuid": RP},
                                   version="1.20")
        self.assertEqual(200, response.status_code, response.text)
        response = await local.put(f"/resource_providers/{RP}/inventories", {
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096}}})
        self.assertEqual(200, response.status_code, response.text)
        answers = []
        for each in (http, local):
            response = await each.get(
                "/allocation_candidates?resources=VCPU:2,MEMORY_MB:512&limit=5",
                version="1.36")
            self.assertEqual(200, response.status_code, response.text)
            self.assertEqual("placement 1.36", response.headers["openstack-api-version"])
            answers.append(response.json())
        self.assertEqual(answers[0], answers[1])
        self.assertEqual({RP}, set(answers[0]["allocation_requests"][0]["allocations"]))
        # Errors come back the same way too.
        for each in (http, local):
            response = await each.get("/resource_providers/nope", version="1.23")
            self.assertEqual(404, response.status_code)
            self.assertEqual("placement.undefined_code", response.json()["errors"][0]["code"])
        # The standard classes and traits were added on start.
        response = await local.get("/traits?name=startswith:HW_CPU_X86_AVX", version="1.6")
        self.assertIn("HW_CPU_X86_AVX2", response.json()["traits"])

    async def test_stopped_service_is_not_local_any_more(self):
        daemon = await self.start()
        self.assertIs(daemon.api, client.local_api())
        await daemon.stopService()
        self.assertIsNone(client.local_api())
        remote = client.make_client(self.conf)
        self.assertIsInstance(remote, client.HTTPPlacementClient)
        self.assertEqual("http://127.0.0.1:0", remote.endpoint)

    async def test_missing_tables_fail_the_start(self):
        directory = tempfile.mkdtemp(prefix="nova-tx-placement-empty-")
        self.addCleanup(shutil.rmtree, directory, True)
        self.conf.set_override(
            "connection", f"sqlite:///{directory}/empty.sqlite", group="api_database")
        daemon = PlacementService(self.conf, reactor=StoppableReactor())
        daemon.startService()
        await daemon.started
        self.assertEqual(1, daemon.exit_code)

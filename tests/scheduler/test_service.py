"""The nova-scheduler daemon: its host discovery (``[scheduler]
discover_hosts_in_cells_interval``) maps the compute hosts that appear in the cells,
as ``nova-manage cell_v2 discover_hosts`` does, and its host states come from there."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from oslo_config import cfg
from twisted.trial import unittest

from nova_tx.conf import MODULES
from nova_tx.db.api import models as api_models
from nova_tx.db.main import models as main_models
from nova_tx.scheduler.service import SchedulerService
from tests.cmd import Deployment


class DiscoveryTests(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.dep = Deployment(self)
        self.api_url = self.dep.migrated("api.sqlite", "api")
        self.cell_url = self.dep.migrated("nova.sqlite", "main")
        self.dep.add_cell("cell1", self.cell_url)
        self.dep.add_compute_node(self.cell_url, "compute-a")
        self.dep.add_compute_node(self.cell_url, "compute-b", mapped=1)
        conf = cfg.ConfigOpts()
        for module in MODULES:
            module.register_opts(conf)
        conf(args=[], project="nova", default_config_files=[], default_config_dirs=[])
        for key, value in {
                "host": "scheduler-1", "database__connection": self.cell_url,
                "api_database__connection": self.api_url,
                "transport_url": f"memory:///discovery-{uuid.uuid4().hex[:8]}",
                "scheduler__discover_hosts_in_cells_interval": 0}.items():
            group, _, name = key.rpartition("__")
            conf.set_override(name, value, group=group or None)
        self.service = SchedulerService(conf)
        self.addCleanup(lambda: self.service.stopService() if self.service.running else None)

    def mapped_hosts(self):
        table = api_models.HostMapping.__table__
        with self.dep.engine(self.api_url).connect() as conn:
            return sorted(conn.execute(sa.select(table.c.host)).scalars())

    async def test_discovers_at_start(self):
        self.service.startService()
        await self.service.started
        # The first round runs at start (LoopingCall now=True) in a database thread.
        # (The database is not read meanwhile: SQLite would make the round wait.)
        for _ in range(100):
            if self.service.discovery_rounds:
                break
            await _sleep(0.1)
        self.assertEqual(self.mapped_hosts(), ["compute-a"])
        nodes = main_models.ComputeNode.__table__
        with self.dep.engine(self.cell_url).connect() as conn:
            mapped = dict(conn.execute(sa.select(nodes.c.host, nodes.c.mapped)).all())
        self.assertEqual(mapped, {"compute-a": 1, "compute-b": 1})
        self.assertTrue(self.service.discovery.running)

    async def test_disabled_by_default(self):
        self.service.conf.clear_override("discover_hosts_in_cells_interval",
                                         group="scheduler")
        self.service.startService()
        await self.service.started
        self.assertIsNone(self.service.discovery)
        await _sleep(0.3)
        self.assertEqual(self.mapped_hosts(), [])


def _sleep(seconds: float):
    from twisted.internet import reactor, task

    return task.deferLater(reactor, seconds, lambda: None)

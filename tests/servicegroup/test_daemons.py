"""nova-conductor as an operator runs it: records itself, heartbeats, stops on SIGTERM."""
from __future__ import annotations

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx.db.main import services
from tests.helpers import Daemon, write_config
from tests.servicegroup import sqlite_cell_database


class ConductorDaemonTest(unittest.SynchronousTestCase):
    def test_heartbeats_then_sigterm_stops_the_heartbeat_and_the_rpc_server(self):
        url = sqlite_cell_database(self)
        conf = write_config(self, (
            "[DEFAULT]\nhost = conductor-daemon\ntransport_url = memory://\n"
            "report_interval = 1\nservice_down_time = 3\n"
            "[database]\nconnection = %s\n" % url))
        daemon = Daemon(self, "nova-conductor", ["--config-file", conf])
        daemon.wait_for("RPC server rpc-conductor.conductor-daemon consuming")
        daemon.wait_for(r"nova-conductor on conductor-daemon recorded as service \d+")
        self.assertEqual(0, daemon.stop(timeout=10))
        self.assertIn("nova-conductor stopped", daemon.output())
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            row = conn.execute(sa.select(services.services)
                               .where(services.services.c.host == "conductor-daemon")).one()
        self.assertEqual(("nova-conductor", "conductor"), (row.binary, row.topic))


class DriverTest(unittest.SynchronousTestCase):
    def test_the_memcache_driver_is_refused_in_one_line(self):
        from tests.helpers import run

        conf = write_config(self, "[DEFAULT]\ntransport_url = memory://\n"
                                  "servicegroup_driver = mc\n")
        result = run("nova-compute", ["--config-file", conf], timeout=30)
        self.assertEqual(1, result.returncode)
        output = result.stdout + result.stderr
        self.assertIn("nova-compute failed to start: Invalid configuration: [DEFAULT] "
                      "servicegroup_driver = mc is not supported by nova-tx; use db", output)
        self.assertNotIn("Traceback", output)

"""nova-allinone: its state in var/, its first and second start, its failures."""
import configparser
import os
import re
import tempfile

from twisted.trial import unittest

from nova_tx import allinone
from tests.helpers import Daemon, http_get_json, run, write_config


class EnsureConfigTest(unittest.SynchronousTestCase):
    def setUp(self):
        self.state = os.path.join(tempfile.mkdtemp(), "var")

    def test_first_call_writes_the_embedded_defaults(self):
        path = allinone.ensure_config(self.state)
        self.assertEqual(os.path.join(self.state, "nova.conf"), path)
        parser = configparser.ConfigParser()
        parser.read(path)
        self.assertEqual("127.0.0.1", parser["DEFAULT"]["osapi_compute_listen"])
        self.assertEqual("8774", parser["DEFAULT"]["osapi_compute_listen_port"])
        self.assertEqual("memory://", parser["DEFAULT"]["transport_url"])
        self.assertEqual("sqlite:///%s/nova_api.sqlite" % self.state,
                         parser["api_database"]["connection"])
        self.assertEqual("sqlite:///%s/nova.sqlite" % self.state,
                         parser["database"]["connection"])

    def test_an_existing_config_is_never_rewritten(self):
        path = allinone.ensure_config(self.state)
        with open(path, "a") as f:
            f.write("\n# operator's edit\n")
        allinone.ensure_config(self.state)
        with open(path) as f:
            self.assertIn("# operator's edit", f.read())


class AllInOneTest(unittest.SynchronousTestCase):
    def setUp(self):
        self.checkout = tempfile.mkdtemp(prefix="nova-tx-allinone-")
        self.conf = allinone.ensure_config(os.path.join(self.checkout, "var"))
        # A free port instead of 8774, so the test never meets a running all-in-one.
        with open(self.conf) as f:
            text = f.read()
        with open(self.conf, "w") as f:
            f.write(text.replace("osapi_compute_listen_port = 8774",
                                 "osapi_compute_listen_port = 0"))

    def start(self) -> tuple[Daemon, int]:
        # No --config-file: nova-allinone finds var/nova.conf in its directory.
        daemon = Daemon(self, "nova-allinone", [], cwd=self.checkout)
        port = daemon.listening_port()
        daemon.wait_for("nova-allinone started")
        return daemon, port

    def list_cells(self) -> list[tuple[str, str]]:
        result = run("nova-manage", ["--config-file", self.conf, "cell_v2", "list_cells"])
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        return re.findall(r"^\|\s*(cell\d)\s*\|\s*([0-9a-f-]{36})\s*\|", result.stdout, re.M)

    def test_first_and_second_start(self):
        daemon, port = self.start()
        status, body = http_get_json("http://127.0.0.1:%d/" % port)
        self.assertEqual((200, "2.93"), (status, body["versions"][1]["version"]))
        self.assertEqual(0, daemon.stop(timeout=5))
        for name in ("nova_api.sqlite", "nova.sqlite", "nova_cell0.sqlite"):
            self.assertTrue(os.path.exists(os.path.join(self.checkout, "var", name)), name)
        cells = self.list_cells()
        self.assertEqual(["cell0", "cell1"], [name for name, _ in cells])
        self.assertEqual("00000000-0000-0000-0000-000000000000", cells[0][1])
        output = daemon.output()
        for binary in ("nova-api", "nova-conductor", "nova-scheduler", "nova-compute",
                       "nova-api-metadata"):
            self.assertIn("%s started" % binary, output)

        daemon, port = self.start()
        self.assertEqual(0, daemon.stop(timeout=5))
        self.assertEqual(cells, self.list_cells())
        self.assertNotIn("Running upgrade", daemon.output())
        result = run("nova-manage", ["--config-file", self.conf, "db", "version"])
        self.assertEqual(0, result.returncode)
        from nova_tx.db import migration

        self.assertIn(migration.head_revision("main"), result.stdout)

    def test_services_record_themselves_the_compute_through_the_conductor(self):
        daemon, _ = self.start()
        for binary in ("nova-conductor", "nova-scheduler", "nova-compute"):
            daemon.wait_for(r"%s on \S+ recorded as service \d+" % binary, timeout=15)
        self.assertEqual(0, daemon.stop(timeout=5))
        output = daemon.output()
        self.assertNotIn("heartbeat failed", output)
        import sqlite3

        db = sqlite3.connect(os.path.join(self.checkout, "var", "nova.sqlite"))
        try:
            rows = db.execute("SELECT binary, topic FROM services WHERE deleted = 0 "
                              "ORDER BY binary").fetchall()
        finally:
            db.close()
        self.assertEqual([("nova-compute", "compute"), ("nova-conductor", "conductor"),
                          ("nova-scheduler", "scheduler")], rows)

    def test_unreachable_database_is_one_line_and_status_1(self):
        conf = write_config(self, (
            "[DEFAULT]\nosapi_compute_listen_port = 0\ntransport_url = memory://\n"
            "[api_database]\nconnection = postgresql+psycopg2://nova:s3cret@127.0.0.1:1/nova\n"
            "[database]\nconnection = sqlite:////nonexistent/nova.sqlite\n"))
        result = run("nova-allinone", ["--config-file", conf], timeout=30)
        self.assertEqual(1, result.returncode)
        output = result.stdout + result.stderr
        failure = [line for line in output.splitlines() if "failed to start" in line]
        self.assertEqual(1, len(failure), output)
        self.assertIn("postgresql+psycopg2://nova:****@127.0.0.1:1/nova", failure[0])
        self.assertNotIn("s3cret", output)
        self.assertNotIn("Traceback", output)

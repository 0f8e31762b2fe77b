"""nova-allinone: its state in var/, its first and second start, its failures."""
import configparser
import json
import os
import re
import subprocess
import tempfile
import urllib.error

from twisted.trial import unittest

from nova_tx import allinone
from tests.helpers import (
    BIN,
    Daemon,
    free_ports,
    http_get_json,
    run,
    unavailable,
    write_config,
)


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
        # Free ports instead of the defaults, so the test never meets a running
        # all-in-one (or another test's); fixed ones, since the identity's catalog and
        # [keystone_authtoken] name them.
        with open(self.conf) as f:
            text = f.read()
        self.api_port, self.metadata_port, *ports = free_ports(6)
        text = text.replace("osapi_compute_listen_port = 8774",
                            f"osapi_compute_listen_port = {self.api_port}")
        text = text.replace("metadata_listen_port = 8775",
                            f"metadata_listen_port = {self.metadata_port}")
        for (option, default), port in zip((("identity_port", 5000),
                                            ("placement_port", 8778),
                                            ("image_port", 9292), ("network_port", 9696)),
                                           ports, strict=True):
            text = text.replace(f"{option} = {default}", f"{option} = {port}")
            text = text.replace(f"127.0.0.1:{default}/", f"127.0.0.1:{port}/")
            text = text.replace(f"127.0.0.1:{default}\n", f"127.0.0.1:{port}\n")
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self) -> tuple[Daemon, int]:
        # No --config-file: nova-allinone finds var/nova.conf in its directory.
        daemon = Daemon(self, "nova-allinone", [], cwd=self.checkout)
        daemon.wait_for("nova-allinone started")
        return daemon, self.api_port

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
                       "nova-api-metadata", "nova-tx-identity", "nova-tx-placement",
                       "nova-tx-image", "nova-tx-network"):
            self.assertIn("%s started" % binary, output)

        clouds = os.path.join(self.checkout, "var", "clouds.yaml")
        self.assertEqual(0o600, os.stat(clouds).st_mode & 0o777)
        with open(clouds) as f:
            self.assertIn("nova-tx:", f.read())

        daemon, port = self.start()
        # The API validates tokens against the embedded identity: none is a 401.
        with self.assertRaises(urllib.error.HTTPError) as caught:
            http_get_json("http://127.0.0.1:%d/v2.1/servers" % port)
        self.assertEqual(401, caught.exception.code)
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

    def openstack(self, *args: str) -> str:
        """The stock python-openstackclient, logged in through var/clouds.yaml."""
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(self.checkout, "var",
                                                                  "clouds.yaml"))
        result = subprocess.run([os.path.join(BIN, "openstack"), "--os-cloud", "nova-tx",
                                 *args], capture_output=True, text=True, env=env,
                                timeout=120, cwd=self.checkout)
        self.assertEqual(0, result.returncode, f"openstack {' '.join(args)}: "
                         f"{result.stdout}{result.stderr}")
        return result.stdout

    def test_the_stock_openstack_client_works(self):
        if not os.path.exists(os.path.join(BIN, "openstack")):
            unavailable("python-openstackclient is not installed (test extra)")
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        flavors = json.loads(self.openstack("flavor", "list", "-f", "json"))
        # Nova's default order: flavorid as a string ("42" before "5").
        self.assertEqual(["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.nano",
                          "m1.xlarge"], [f["Name"] for f in flavors])
        images = json.loads(self.openstack("image", "list", "-f", "json"))
        self.assertEqual(["nova-tx-tiny"], [i["Name"] for i in images])
        upload = os.path.join(self.checkout, "disk.raw")
        with open(upload, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 17))
        self.openstack("image", "create", "--file", upload, "--disk-format", "raw",
                       "--container-format", "bare", "mine")
        self.openstack("image", "save", "--file", upload + ".back", "mine")
        with open(upload, "rb") as a, open(upload + ".back", "rb") as b:
            self.assertEqual(a.read(), b.read())
        networks = json.loads(self.openstack("network", "list", "-f", "json"))
        self.assertEqual({"public", "private"}, {n["Name"] for n in networks})
        keypair = self.openstack("keypair", "create", "mykey")
        self.assertIn("PRIVATE KEY", keypair)
        self.assertIn("mykey", self.openstack("keypair", "list"))
        quotas = json.loads(self.openstack("quota", "show", "--compute", "-f", "json"))
        self.assertIn("instances", json.dumps(quotas))
        limits = self.openstack("limits", "show", "--absolute")
        self.assertRegex(limits, r"max_total_instances\s*\|\s*10 ")
        # A flavor with extra specs (validated at the client's microversion).
        self.openstack("flavor", "create", "--vcpus", "2", "--ram", "1024", "--disk", "5",
                       "--property", "hw:cpu_policy=dedicated", "pinned")
        pinned = json.loads(self.openstack("flavor", "show", "pinned", "-f", "json"))
        self.assertIn("hw:cpu_policy", json.dumps(pinned["properties"]))
        # openstacksdk itself, as a program would use it (zones through the plain list:
        # the CLI asks an admin for /os-availability-zone/detail, which is issue 11's).
        script = ("import json, openstack\n"
                  "c = openstack.connect(cloud='nova-tx')\n"
                  "print(json.dumps({'flavors': sorted(f.name for f in c.compute.flavors()),"
                  " 'keypairs': [k.name for k in c.compute.keypairs()],"
                  " 'images': sorted(i.name for i in c.image.images()),"
                  " 'networks': sorted(n.name for n in c.network.networks()),"
                  " 'zones': [(z.name, z.state['available'])"
                  " for z in c.compute.availability_zones()]}))\n")
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(self.checkout, "var",
                                                                  "clouds.yaml"))
        result = subprocess.run([os.path.join(BIN, "python"), "-c", script],
                                capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        seen = json.loads(result.stdout)
        self.assertIn("pinned", seen["flavors"])
        self.assertEqual(["mykey"], seen["keypairs"])
        self.assertEqual(["mine", "nova-tx-tiny"], seen["images"])
        self.assertEqual(["private", "public"], seen["networks"])
        self.assertEqual([["nova", True]], seen["zones"])

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

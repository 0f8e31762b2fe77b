"""nova-tx-identity: the service in this reactor, and the daemon as a process."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from twisted.internet import reactor
from twisted.trial import unittest

from nova_tx import service
from nova_tx.identity.service import IdentityService
from tests.helpers import StoppableReactor
from tests.identity.fixtures import USERS, http_client, make_conf


class IdentityServiceTest(unittest.TestCase):
    async def test_serves_on_its_port_and_stops(self):
        conf = make_conf(identity_listen="127.0.0.1", identity_port=0)
        daemon = IdentityService(conf, reactor=reactor)
        daemon.startService()
        self.addCleanup(daemon.stopService)
        await daemon.started
        self.assertEqual(0, daemon.exit_code)
        port = daemon.listener._port.getHost().port
        response = await http_client(self).get(f"http://127.0.0.1:{port}/v3")
        self.assertEqual(200, response.code)
        self.assertEqual("v3.14", (await response.json())["version"]["id"])
        await daemon.stopService()

    async def test_reset_rereads_the_users(self):
        conf = make_conf(identity_listen="127.0.0.1", identity_port=0)
        daemon = IdentityService(conf, reactor=reactor)
        daemon.startService()
        self.addCleanup(daemon.stopService)
        await daemon.started
        conf.set_override("identity_users", ["someone:pw:elsewhere:member"],
                          group="embedded")
        conf.set_override("identity_token_expiration", 60, group="embedded")
        daemon.reset()
        self.assertEqual(["someone"], [u.name for u in daemon.api.directory.users.values()])
        self.assertEqual(60, daemon.api.tokens.lifetime)
        conf.set_override("identity_users", ["broken"], group="embedded")
        daemon.reset()  # logged, and the users stay
        self.assertEqual(["someone"], [u.name for u in daemon.api.directory.users.values()])

    async def test_unreadable_users_fail_the_start(self):
        conf = make_conf(users=["admin-without-password"], identity_port=0)
        daemon = IdentityService(conf, reactor=StoppableReactor())
        daemon.startService()
        await daemon.started
        self.assertEqual(1, daemon.exit_code)

    def test_is_a_daemon_of_nova_tx(self):
        self.assertEqual("nova_tx.identity.service:make_service",
                         service.BUILDERS["nova-tx-identity"])


class ConsoleScriptTest(unittest.SynchronousTestCase):
    def test_runs_in_the_foreground_and_stops_on_sigterm(self):
        directory = tempfile.mkdtemp(prefix="nova-tx-identity-")
        self.addCleanup(__import__("shutil").rmtree, directory, True)
        path = os.path.join(directory, "nova.conf")
        with open(path, "w") as f:
            f.write("[embedded]\nidentity_listen = 127.0.0.1\nidentity_port = 0\n"
                    "identity_users = %s\n" % ",".join(USERS))
        log = open(os.path.join(directory, "out.log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [sys.executable, "-c",
             "from nova_tx.cmd.services import main_tx_identity; main_tx_identity()",
             "--config-file", path], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait()))

        def output() -> str:
            with open(log.name, errors="replace") as f:
                return f.read()

        deadline = time.monotonic() + 30
        while not (match := re.search(r"Identity starting on (\d+)", output())):
            self.assertIsNone(process.poll(), output())
            self.assertLess(time.monotonic(), deadline, output())
            time.sleep(0.05)
        url = "http://127.0.0.1:%s/v3/auth/tokens" % match.group(1)
        body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "admin", "domain": {"id": "default"},
                     "password": "admin-secret"}}}}}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            self.assertEqual(201, response.status)
            self.assertTrue(response.headers["X-Subject-Token"])
        process.send_signal(signal.SIGTERM)
        self.assertEqual(0, process.wait(timeout=10))
        self.assertIn("Starting nova-tx-identity (nova-tx", output())
        self.assertIn("nova-tx-identity stopped", output())

"""The all-in-one serves guests' metadata: a server booted with the stock ``openstack``
command (key pair, user data, properties) is read back from the metadata service with
the Neutron proxy headers signed by the secret of the generated ``var/nova.conf``; a
wrong signature is refused; the guest's password is written once."""
from __future__ import annotations

import configparser
import json
import os
import tempfile
import time
import urllib.error
import urllib.request

from twisted.trial import unittest

from nova_tx.api.metadata.identify import sign
from tests.functional import test_allinone
from tests.helpers import BIN, unavailable

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4Q0eSL1kV7T8LbvqwH6xU0Yz0D8Yb8v5nO"
              "6p5nqK1B test@nova-tx")


class AllInOneMetadataTest(unittest.SynchronousTestCase):
    setUp = test_allinone.AllInOneTest.setUp
    start = test_allinone.AllInOneTest.start
    openstack = test_allinone.AllInOneTest.openstack

    def get(self, path: str, headers: dict, method: str = "GET", data: bytes | None = None
            ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.metadata_port, path), headers=headers,
            method=method, data=data)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_a_booted_server_reads_its_metadata(self):
        if not os.path.exists(os.path.join(BIN, "openstack")):
            unavailable("python-openstackclient is not installed (test extra)")
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.conf)
        self.assertEqual("true", parser["neutron"]["service_metadata_proxy"])
        secret = parser["neutron"]["metadata_proxy_shared_secret"]
        self.assertEqual(64, len(secret))
        daemon, _ = self.start()
        self.addCleanup(daemon.stop, 10)
        key_file = os.path.join(tempfile.mkdtemp(), "key.pub")
        with open(key_file, "w") as f:
            f.write(PUBLIC_KEY)
        self.openstack("keypair", "create", "--public-key", key_file, "mykey")
        user_data = os.path.join(os.path.dirname(key_file), "user-data")
        with open(user_data, "wb") as f:
            f.write(b"#cloud-config\nruncmd: [echo hi]\n")
        created = json.loads(self.openstack(
            "server", "create", "--flavor", "m1.tiny", "--image", "nova-tx-tiny",
            "--network", "private", "--key-name", "mykey", "--user-data", user_data,
            "--property", "role=webservers", "--config-drive", "true", "-f", "json",
            "web"))
        deadline = time.monotonic() + 60
        while True:
            shown = json.loads(self.openstack("server", "show", "-f", "json",
                                              created["id"]))
            if shown["status"] in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual("ACTIVE", shown["status"], shown.get("fault"))
        project = shown["project_id"]
        headers = {"X-Instance-ID": created["id"], "X-Tenant-ID": project,
                   "X-Instance-ID-Signature": sign(secret, created["id"])}
        code, body = self.get("/openstack/latest/meta_data.json", headers)
        self.assertEqual(200, code, body)
        meta = json.loads(body)
        self.assertEqual(created["id"], meta["uuid"])
        self.assertEqual({"role": "webservers"}, meta["meta"])
        self.assertEqual({"mykey": PUBLIC_KEY}, meta["public_keys"])
        code, body = self.get("/openstack/latest/user_data", headers)
        self.assertEqual(b"#cloud-config\nruncmd: [echo hi]\n", body)
        code, body = self.get("/openstack/latest/network_data.json", headers)
        network = json.loads(body)
        self.assertEqual(1, len(network["links"]))
        code, body = self.get("/2009-04-04/meta-data/public-keys/0/openssh-key", headers)
        self.assertEqual(PUBLIC_KEY.encode(), body)
        forged = dict(headers, **{"X-Instance-ID-Signature": sign("guess", created["id"])})
        code, body = self.get("/openstack/latest/meta_data.json", forged)
        self.assertEqual(403, code)
        self.assertNotIn(b"webservers", body)
        # The guest's password, then the owner's view of it.
        code, _ = self.get("/openstack/latest/password", headers, "POST", b"encrypted")
        self.assertEqual(200, code)
        code, _ = self.get("/openstack/latest/password", headers, "POST", b"again")
        self.assertEqual(409, code)
        self.openstack("server", "delete", "--wait", created["id"])

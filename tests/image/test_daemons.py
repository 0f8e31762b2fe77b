"""nova-tx-image and nova-tx-network as an operator runs them: console scripts and
twistd plugins, driven by python-openstackclient when it is installed."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.trial import unittest

from tests.helpers import BIN, Daemon, free_ports, http_get_json, unavailable, write_config

CONF = """\
[DEFAULT]
state_path = {state}
[api]
auth_strategy = noauth2
[embedded]
image_listen = 127.0.0.1
image_port = 0
network_listen = 127.0.0.1
network_port = 0
"""


class CompanionDaemonTests(unittest.TestCase):

    def start(self, program: str, *, twistd: bool = False) -> tuple[Daemon, int, str]:
        path = write_config(self, "")
        state = os.path.join(os.path.dirname(path), "var")
        with open(path, "w") as f:
            f.write(CONF.format(state=state))
        if twistd:
            daemon = Daemon(self, "twistd", ["-n", "--pidfile=", program, "--config-file",
                                             path], cwd=os.path.dirname(path))
        else:
            daemon = Daemon(self, program, ["--config-file", path])
        port = daemon.listening_port()
        daemon.wait_for(f"{program} started")
        return daemon, port, state

    def openstack(self, endpoint: str, *args: str) -> str:
        program = os.path.join(BIN, "openstack")
        if not os.path.exists(program):
            unavailable("python-openstackclient is not installed")
        result = subprocess.run(
            [program, "--os-auth-type", "admin_token", "--os-token", "alice:demo",
             "--os-endpoint", endpoint, *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def test_plugins_are_found(self):
        names = {p.tapname for p in getPlugins(IServiceMaker)}
        self.assertLessEqual({"nova-tx-image", "nova-tx-network"}, names)

    def test_image_daemon_with_openstackclient(self):
        if not os.path.exists(os.path.join(BIN, "nova-tx-image")):
            unavailable("nova-tx-image is not installed (pip install -e .)")
        daemon, port, state = self.start("nova-tx-image")
        self.assertIn("seeded with the placeholder image", daemon.output())
        self.assertEqual(200, http_get_json(f"http://127.0.0.1:{port}/versions")[0])
        endpoint = f"http://127.0.0.1:{port}/v2"
        data = os.urandom(1024 * 1024 + 1)
        source = os.path.join(state, "upload.img")
        with open(source, "wb") as f:
            f.write(data)
        image_id = self.openstack(endpoint, "image", "create", "--file", source,
                                  "--disk-format", "qcow2", "--container-format", "bare",
                                  "osc-image", "-f", "value", "-c", "id").strip()
        self.assertTrue(os.path.exists(os.path.join(state, "images", image_id)))
        target = os.path.join(state, "saved.img")
        self.openstack(endpoint, "image", "save", "--file", target, "osc-image")
        with open(target, "rb") as f:
            self.assertEqual(data, f.read())
        self.assertIn("active", self.openstack(endpoint, "image", "show", "osc-image"))
        listing = self.openstack(endpoint, "image", "list", "-f", "value")
        self.assertIn("osc-image", listing)
        self.assertIn("nova-tx-tiny", listing)
        self.openstack(endpoint, "image", "delete", "osc-image")
        self.assertNotIn("osc-image", self.openstack(endpoint, "image", "list"))
        self.assertEqual(0, daemon.stop(timeout=10))

    def test_network_daemon_with_openstackclient(self):
        if not os.path.exists(os.path.join(BIN, "nova-tx-network")):
            unavailable("nova-tx-network is not installed (pip install -e .)")
        daemon, port, _ = self.start("nova-tx-network")
        endpoint = f"http://127.0.0.1:{port}"
        self.assertIn("private", self.openstack(endpoint, "network", "list"))
        self.openstack(endpoint, "network", "create", "osc-net")
        self.assertIn("osc-net", self.openstack(endpoint, "network", "show", "osc-net"))
        self.openstack(endpoint, "subnet", "create", "--network", "osc-net",
                       "--subnet-range", "10.30.0.0/24", "osc-subnet")
        self.assertIn("10.30.0.0/24", self.openstack(endpoint, "subnet", "list"))
        port_id = self.openstack(endpoint, "port", "create", "--network", "osc-net",
                                 "osc-port", "-f", "value", "-c", "id").strip()
        self.assertIn("10.30.0.2", self.openstack(endpoint, "port", "show", port_id))
        self.assertIn("osc-port", self.openstack(endpoint, "port", "list"))
        self.openstack(endpoint, "port", "delete", "osc-port")
        self.assertNotIn("osc-port", self.openstack(endpoint, "port", "list"))
        self.assertEqual(0, daemon.stop(timeout=10))

    def test_twistd_runs_nova_tx_network(self):
        if shutil.which("twistd", path=BIN) is None:
            unavailable("twistd is not installed")
        daemon, port, _ = self.start("nova-tx-network", twistd=True)
        status, body = http_get_json(f"http://127.0.0.1:{port}/")
        self.assertEqual((200, "v2.0"), (status, body["versions"][0]["id"]))
        self.assertEqual(-signal.SIGTERM, daemon.stop(timeout=10))
        self.assertIn("nova-tx-network stopped", daemon.output())


KEYSTONE_CONF = """\
[DEFAULT]
state_path = {state}
[api]
auth_strategy = keystone
[embedded]
identity_listen = 127.0.0.1
identity_port = {identity}
identity_endpoint_host = 127.0.0.1
identity_users = admin:adminpw:admin:admin,demo:demopw:demo:member,nova:novapw:service:admin+service
identity_catalog = image=http://127.0.0.1:{image},network=http://127.0.0.1:{network}
image_listen = 127.0.0.1
image_port = {image}
network_listen = 127.0.0.1
network_port = {network}
[keystone_authtoken]
auth_type = password
auth_url = http://127.0.0.1:{identity}/v3
www_authenticate_uri = http://127.0.0.1:{identity}
username = nova
password = novapw
project_name = service
user_domain_name = Default
project_domain_name = Default
"""

CLOUDS = """\
clouds:
  demo:
    auth: {{auth_url: "http://127.0.0.1:{identity}/v3", username: demo, password: demopw,
            project_name: demo, user_domain_name: Default, project_domain_name: Default}}
    auth_type: password
    region_name: RegionOne
    interface: public
    identity_api_version: 3
"""


class KeystoneCatalogDaemonTests(unittest.TestCase):
    """nova-tx-identity, nova-tx-image and nova-tx-network as processes; the client
    logs in with a password and finds the image and network services in the catalog
    (version discovery included), as with the all-in-one."""

    def test_openstackclient_through_the_catalog(self):
        for program in ("openstack", "nova-tx-identity", "nova-tx-image",
                        "nova-tx-network"):
            if not os.path.exists(os.path.join(BIN, program)):
                unavailable(f"{program} is not installed")
        identity, image, network = free_ports(3)
        path = write_config(self, "")
        directory = os.path.dirname(path)
        with open(path, "w") as f:
            f.write(KEYSTONE_CONF.format(state=os.path.join(directory, "var"),
                                         identity=identity, image=image, network=network))
        clouds = os.path.join(directory, "clouds.yaml")
        with open(clouds, "w") as f:
            f.write(CLOUDS.format(identity=identity))
        for program in ("nova-tx-identity", "nova-tx-image", "nova-tx-network"):
            Daemon(self, program, ["--config-file", path]).wait_for(f"{program} started")

        def openstack(*args: str) -> str:
            result = subprocess.run(
                [os.path.join(BIN, "openstack"), "--os-cloud", "demo", *args],
                capture_output=True, text=True, timeout=120,
                env=dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds))
            self.assertEqual(0, result.returncode, result.stderr)
            return result.stdout

        data = os.urandom(512 * 1024)
        source = os.path.join(directory, "disk.img")
        with open(source, "wb") as f:
            f.write(data)
        self.assertEqual("active", openstack(
            "image", "create", "--file", source, "--disk-format", "raw",
            "--container-format", "bare", "mine", "-f", "value", "-c", "status").strip())
        target = os.path.join(directory, "saved.img")
        openstack("image", "save", "--file", target, "mine")
        with open(target, "rb") as f:
            self.assertEqual(data, f.read())
        self.assertIn("nova-tx-tiny", openstack("image", "list"))
        self.assertIn("private", openstack("network", "list"))
        openstack("network", "create", "mine")
        openstack("subnet", "create", "--network", "mine", "--subnet-range",
                  "10.40.0.0/24", "mine")
        self.assertIn("10.40.0.2", openstack("port", "create", "--network", "mine",
                                             "mine"))
        self.assertIn("default", openstack("security", "group", "list"))

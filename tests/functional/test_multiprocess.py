"""The whole boot across separate processes, as an operator deploys nova-tx.

``nova-api``, ``nova-conductor``, ``nova-scheduler``, two ``nova-compute`` (the fake
driver, hosts ``compute1`` and ``compute2``) and the companions (``nova-tx-identity``,
``nova-tx-placement``, ``nova-tx-image``, ``nova-tx-network``) each run as its own
``twistd`` process from the plugins, over the machine's RabbitMQ (a virtual host of
the test's own, so that parallel runs never share a queue: the RPC queues are named
by topic, ``conductor``, ``scheduler``, whatever the exchange) and fresh PostgreSQL
databases made with ``nova-manage``. The scheduler's periodic discovery maps the
computes to cell1.

With openstacksdk: two servers of an anti-affinity group boot to ACTIVE on the two
computes, go through the lifecycle actions, show their instance actions and are
deleted, and then no allocation or port is left. An oslo.messaging listener on the
same broker receives ``instance.create.end`` and ``instance.delete.end`` with the
fields of Nova's samples, and their legacy ``compute.instance.*`` twins.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

from twisted.trial import unittest

from nova_tx import allinone
from nova_tx.identity import clouds
from tests.api.flavor_server import notification_sample
from tests.api.test_server_notifications import resolved
from tests.db import fixtures
from tests.helpers import Daemon, free_ports, run, unavailable

RABBIT = "guest:guest@127.0.0.1:5672"
COMPUTES = ("compute1", "compute2")
#: Start order: the identity first (the others validate tokens against it), placement
#: before the scheduler and computes, the conductor before the computes report.
COMPANIONS = ("nova-tx-identity", "nova-tx-placement", "nova-tx-image", "nova-tx-network")
SERVICES = ("nova-conductor", "nova-scheduler", "nova-api")


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                          timeout=60)


class Listener:
    """An oslo.messaging notification listener (in its own threads, as oslo blocks) on
    ``versioned_notifications`` and the legacy ``notifications`` of the ``nova``
    exchange."""

    def __init__(self, url: str):
        from oslo_config import cfg

        from tests.bus import import_oslo_messaging

        oslo_messaging = import_oslo_messaging()[0]
        self.received: list[dict] = []
        self._lock = threading.Lock()
        received, lock = self.received, self._lock

        class Endpoint:
            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                with lock:
                    received.append({"publisher_id": publisher_id,
                                     "event_type": event_type, "payload": payload,
                                     "priority": "INFO"})

        conf = cfg.ConfigOpts()
        conf([], project="nova-tx-test")
        self.transport = oslo_messaging.get_notification_transport(conf, url=url)
        self.listener = oslo_messaging.get_notification_listener(
            self.transport,
            [oslo_messaging.Target(topic=topic, exchange="nova")
             for topic in ("versioned_notifications", "notifications")],
            [Endpoint()], executor="threading")
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()
        self.listener.wait()
        self.transport.cleanup()

    def find(self, event_type: str, instance_uuid: str) -> dict | None:
        with self._lock:
            for message in self.received:
                payload = message["payload"]
                # Versioned: the uuid in the object's data; legacy: instance_id.
                found = payload.get("nova_object.data", {}).get("uuid") \
                    or payload.get("instance_id")
                if message["event_type"] == event_type and found == instance_uuid:
                    return message
        return None


class MultiProcessTest(unittest.SynchronousTestCase):
    def setUp(self):
        try:
            import openstack  # noqa: F401
        except ImportError:
            unavailable("openstacksdk is not installed (test extra)")
        fixtures.require_backend(self, "postgresql")
        if shutil.which("rabbitmqctl") is None:
            unavailable("rabbitmqctl is not here to make the test's RabbitMQ virtual host")
        self.vhost = f"nova-tx-test-{uuid.uuid4().hex[:12]}"
        made = rabbitmqctl("add_vhost", self.vhost)
        if made.returncode != 0:
            unavailable(f"RabbitMQ refused a virtual host: {made.stderr.strip()}")
        self.addCleanup(rabbitmqctl, "delete_vhost", self.vhost)
        allowed = rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.assertEqual(0, allowed.returncode, allowed.stderr)
        self.transport_url = f"rabbit://{RABBIT}/{self.vhost}"

        self.directory = tempfile.mkdtemp(prefix="nova-tx-multiprocess-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.conf = self.write_config()
        for args in (["api_db", "sync"], ["cell_v2", "map_cell0"], ["db", "sync"],
                     ["cell_v2", "create_cell", "--name", "cell1"]):
            done = run("nova-manage", ["--config-file", self.conf, *args], timeout=120)
            self.assertEqual(0, done.returncode, (args, done.stdout, done.stderr))

    def database(self) -> str:
        url, drop = fixtures.create_database("postgresql")
        self.addCleanup(drop)
        return url

    def write_config(self) -> str:
        state = os.path.join(self.directory, "var")
        os.makedirs(state)
        main_url, api_url = self.database(), self.database()
        # cell0's database is the cell's name + _cell0, as nova-manage derives it.
        from nova_tx.objects.cell_mapping import cell0_database_connection

        cell0 = cell0_database_connection(main_url)
        admin = fixtures._admin_engine("postgresql")
        name = cell0.rsplit("/", 1)[1].split("?")[0]
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")

        def drop_cell0():
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()

        self.addCleanup(drop_cell0)

        credentials = clouds.generate_credentials()
        self.admin = credentials["admin"]
        service = credentials["nova"]
        self.api_port, identity, placement, image, network = free_ports(5)
        self.identity_port = identity
        text = allinone.CONFIG_TEMPLATE.format(
            state_path=state, identity_port=identity, service_user=service.user,
            service_password=service.password, service_project=service.project)
        text = text.replace("transport_url = memory://",
                            f"transport_url = {self.transport_url}")
        text = text.replace("osapi_compute_listen_port = 8774",
                            f"osapi_compute_listen_port = {self.api_port}")
        text = text.replace("discover_hosts_in_cells_interval = 5",
                            "discover_hosts_in_cells_interval = 2")
        text = text.replace(f"connection = sqlite:///{state}/nova_api.sqlite",
                            f"connection = {api_url}")
        text = text.replace(f"connection = sqlite:///{state}/nova.sqlite",
                            f"connection = {main_url}")
        companions = allinone.EMBEDDED_COMPANIONS
        for option, default, port in (("placement_port", 8778, placement),
                                      ("image_port", 9292, image),
                                      ("network_port", 9696, network)):
            companions = companions.replace(f"{option} = {default}", f"{option} = {port}")
        text += clouds.allinone_config(credentials, host="127.0.0.1", port=identity,
                                       embedded=companions)
        # Placement is another process: the scheduler and the computes reach it over
        # HTTP as Nova's service user, as they reach the network service.
        text += ("\n[placement]\nauth_type = password\n"
                 f"auth_url = http://127.0.0.1:{identity}/v3\n"
                 f"username = {service.user}\npassword = {service.password}\n"
                 f"project_name = {service.project}\nuser_domain_name = Default\n"
                 "project_domain_name = Default\n")
        text += ("\n[notifications]\nnotification_format = both\n"
                 "\n[oslo_messaging_notifications]\ndriver = messagingv2\n")
        path = os.path.join(self.directory, "nova.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, binary: str, *extra: str) -> Daemon:
        daemon = Daemon(self, "twistd", ["-n", "--pidfile=", binary,
                                         "--config-file", self.conf, *extra],
                        cwd=self.directory)
        return daemon

    def compute_config(self, host: str) -> str:
        """The compute's own file: its host and a state directory of its own."""
        state = os.path.join(self.directory, host)
        os.makedirs(state)
        path = os.path.join(self.directory, f"{host}.conf")
        with open(path, "w") as f:
            f.write(f"[DEFAULT]\nhost = {host}\nstate_path = {state}\n")
        return path

    def start_all(self) -> dict[str, Daemon]:
        self.daemons = daemons = {}
        for binary in COMPANIONS + SERVICES:
            daemons[binary] = self.start(binary)
            daemons[binary].wait_for(f"{binary} started", timeout=60)
        for host in COMPUTES:
            daemons[host] = self.start("nova-compute", "--config-file",
                                       self.compute_config(host))
        for host in COMPUTES:
            daemons[host].wait_for("nova-compute started", timeout=60)
        return daemons

    def connect(self):
        import openstack

        return openstack.connect(
            auth_url=f"http://127.0.0.1:{self.identity_port}/v3", username=self.admin.user,
            password=self.admin.password, project_name=self.admin.project,
            user_domain_name="Default", project_domain_name="Default",
            region_name="RegionOne", identity_api_version=3)

    def wait(self, what, predicate, timeout: float = 60.0, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail(f"{what}: not within {timeout}s\n{self.logs()}")
            time.sleep(interval)

    def mapped_hosts(self) -> set[str]:
        done = run("nova-manage", ["--config-file", self.conf, "cell_v2", "list_hosts"])
        return {host for host in COMPUTES if f" {host} " in done.stdout}

    def status(self, conn, server_id: str, wanted: set[str], timeout: float = 60.0):
        def reached():
            server = conn.compute.get_server(server_id)
            return server if server.status in wanted else None

        return self.wait(f"{server_id} in {sorted(wanted)}", reached, timeout)

    def logs(self) -> str:
        """The warnings and errors the daemons logged, for a failure's message."""
        return "\n".join(
            f"--- {name}\n" + "\n".join(
                line for line in daemon.output().splitlines()
                if " ERROR " in line or " WARNING " in line or "Error" in line)
            for name, daemon in getattr(self, "daemons", {}).items())

    def assert_like_sample(self, sent: dict, name: str) -> None:
        expected = resolved(notification_sample(name))
        payload = expected["payload"]
        self.assertEqual((expected["event_type"], payload["nova_object.name"],
                          payload["nova_object.version"], sorted(payload["nova_object.data"])),
                         (sent["event_type"], sent["payload"]["nova_object.name"],
                          sent["payload"]["nova_object.version"],
                          sorted(sent["payload"]["nova_object.data"])), name)

    def test_boot_lifecycle_and_delete_across_processes(self):
        listener = Listener(f"rabbit://{RABBIT}/{self.vhost}")
        # Cleanups run last first: the listener stops before the virtual host goes.
        self.addCleanup(listener.stop)
        daemons = self.start_all()
        conn = self.connect()
        self.addCleanup(conn.close)
        # Both computes have reported their nodes and the scheduler mapped them.
        self.wait("both computes mapped to cell1",
                  lambda: self.mapped_hosts() == set(COMPUTES), timeout=60, interval=2)
        self.assertEqual(set(COMPUTES), {h.name for h in conn.compute.hypervisors()})

        flavor = conn.compute.find_flavor("m1.tiny") or conn.compute.create_flavor(
            name="m1.tiny", ram=512, vcpus=1, disk=1)
        image = conn.image.find_image("nova-tx-tiny")
        network = conn.network.find_network("private")
        self.assertIsNotNone(image)
        self.assertIsNotNone(network)
        group = conn.compute.create_server_group(name="web", policy="anti-affinity")
        servers = [conn.compute.create_server(
            name=f"web{i}", flavor_id=flavor.id, image_id=image.id,
            networks=[{"uuid": network.id}], scheduler_hints={"group": group.id})
            for i in (1, 2)]
        active = [self.status(conn, s.id, {"ACTIVE", "ERROR"}) for s in servers]
        for server in active:
            self.assertEqual("ACTIVE", server.status, (server.fault, self.logs()))
            self.assertIn("private", server.addresses)
        # Anti-affinity across the two processes: one server on each compute.
        self.assertEqual(set(COMPUTES), {s.compute_host for s in active})

        first = active[0]
        conn.compute.stop_server(first)
        self.status(conn, first.id, {"SHUTOFF"})
        conn.compute.start_server(first)
        self.status(conn, first.id, {"ACTIVE"})
        conn.compute.pause_server(first)
        self.status(conn, first.id, {"PAUSED"})
        conn.compute.unpause_server(first)
        self.status(conn, first.id, {"ACTIVE"})
        conn.compute.reboot_server(first, "HARD")
        self.wait("hard reboot done", lambda: (
            lambda s: s.status == "ACTIVE" and s.task_state is None)(
                conn.compute.get_server(first.id)))
        self.assertIsInstance(conn.compute.get_server_console_output(first)["output"], str)
        actions = sorted(a.action for a in conn.compute.server_actions(first))
        self.assertEqual(["create", "pause", "reboot", "start", "stop", "unpause"], actions)
        for action in conn.compute.server_actions(first):
            shown = conn.compute.get_server_action(action.request_id, first)
            self.assertTrue(shown.events, action.action)
            self.assertTrue(all(e["result"] == "Success" for e in shown.events),
                            (action.action, shown.events))

        created = {s.id: self.wait(f"instance.create.end of {s.id}",
                                   lambda s=s: listener.find("instance.create.end", s.id),
                                   timeout=30)
                   for s in active}
        for server in active:
            sent = created[server.id]
            self.assert_like_sample(sent, "instance-create-end.json")
            data = sent["payload"]["nova_object.data"]
            self.assertEqual(("active", server.compute_host, f"nova-compute:{server.compute_host}"),
                             (data["state"], data["host"], sent["publisher_id"]))
            self.assertTrue(data["ip_addresses"])
            legacy = self.wait("compute.instance.create.end", lambda s=server: listener.find(
                "compute.instance.create.end", s.id), timeout=30)
            self.assertEqual((f"compute.{server.compute_host}", "active"),
                             (legacy["publisher_id"], legacy["payload"]["state"]))

        for server in active:
            conn.compute.delete_server(server)
        for server in active:
            conn.compute.wait_for_delete(server, wait=60)
        for server in active:
            sent = self.wait(f"instance.delete.end of {server.id}",
                             lambda s=server: listener.find("instance.delete.end", s.id),
                             timeout=30)
            self.assert_like_sample(sent, "instance-delete-end.json")
            data = sent["payload"]["nova_object.data"]
            self.assertEqual(("deleted", []), (data["state"], data["ip_addresses"]))
            self.assertIsNotNone(data["deleted_at"])
            legacy = self.wait("compute.instance.delete.end", lambda s=server: listener.find(
                "compute.instance.delete.end", s.id), timeout=30)
            self.assertEqual("deleted", legacy["payload"]["state"])
            # Nothing left behind: no allocation in Placement, no port on the network.
            allocations = conn.placement.get(f"/allocations/{server.id}").json()
            self.assertEqual({}, allocations["allocations"])
            self.assertEqual([], list(conn.network.ports(device_id=server.id)))
        usages = [conn.placement.get(f"/resource_providers/{rp['uuid']}/usages").json()
                  for rp in conn.placement.get("/resource_providers").json()[
                      "resource_providers"]]
        self.assertTrue(usages)
        self.assertTrue(all(not any(u["usages"].values()) for u in usages), usages)
        for name, daemon in daemons.items():
            self.assertNotIn("Traceback", daemon.output(), name)

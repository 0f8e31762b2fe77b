"""A RabbitMQ node of a test's own, for what must not happen to the machine's broker.

Restarting a broker under a stream of messages is the only way to show that durable
queues and publisher confirms survive it, and the machine's RabbitMQ is shared: it must
never be stopped. So the test starts a node of its own, with its own name, ports,
database directory and Erlang cookie (a private ``HOME``), and stops it however the
test ends. Every ``rabbitmqctl`` here names the node (``-n``) and runs with that
private ``HOME``: it cannot reach the machine's node even by mistake, whose cookie it
does not have.

The scripts of ``/usr/lib/rabbitmq/bin`` (or ``$NOVATX_RABBITMQ_BIN``) are used rather
than the ``/usr/sbin`` wrappers, which switch to the ``rabbitmq`` user (whose cookie is
the machine node's).
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

from tests.helpers import free_ports

RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"


class PrivateBrokerUnavailable(Exception):
    """The node could not be started here; the message says why, for the skip or the
    CI failure."""


def _script(name: str) -> str:
    path = os.path.join(os.environ.get("NOVATX_RABBITMQ_BIN", RABBITMQ_BIN), name)
    if not os.access(path, os.X_OK):
        raise PrivateBrokerUnavailable(f"{path} is not installed (NOVATX_RABBITMQ_BIN "
                                       "names the directory of RabbitMQ's own scripts)")
    return path


class PrivateBroker:
    """One private node: ``start()``, ``restart()`` (stop_app/start_app) and ``stop()``.

    ``stop()`` is safe to call whatever state the node is in, so that a test can
    register it as a cleanup before ``start()``.
    """

    def __init__(self, tls: dict[str, str] | None = None) -> None:
        """``tls``: PEM paths ``cacert``, ``cert``, ``key`` for a TLS listener on
        ``tls_port`` (client certificates are asked for, not required) with the EXTERNAL
        login taken from the certificate's common name."""
        self.base = tempfile.mkdtemp(prefix="novatx-rabbit-")
        self.node = f"novatx-test-{secrets.token_hex(4)}@localhost"
        self.port, self.dist_port, tls_port = free_ports(3)
        self.tls = tls
        self.tls_port = tls_port if tls else None
        self.started = False
        self._env = dict(
            os.environ,
            HOME=self.base,
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=os.path.join(self.base, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(self.base, "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.base, "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=os.path.join(self.base, "rabbitmq"),
            RABBITMQ_ADVANCED_CONFIG_FILE=os.path.join(self.base, "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=os.path.join(self.base, "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=os.path.join(self.base, "rabbit.pid"),
        )

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def _write_files(self) -> None:
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(self.base, sub), exist_ok=True)
        conf = (f"listeners.tcp.default = {self.port}\n"
                "loopback_users = none\n"
                # The machine may have little disk left: a node that blocks
                # publishers would look like a bus bug.
                "disk_free_limit.absolute = 1MB\n")
        plugins = "[]"
        if self.tls:
            plugins = "[rabbitmq_auth_mechanism_ssl]"
            conf += (f"listeners.ssl.default = {self.tls_port}\n"
                     f"ssl_options.cacertfile = {self.tls['cacert']}\n"
                     f"ssl_options.certfile = {self.tls['cert']}\n"
                     f"ssl_options.keyfile = {self.tls['key']}\n"
                     "ssl_options.verify = verify_peer\n"
                     "ssl_options.fail_if_no_peer_cert = false\n"
                     "ssl_cert_login_from = common_name\n"
                     "auth_mechanisms.1 = PLAIN\n"
                     "auth_mechanisms.2 = AMQPLAIN\n"
                     "auth_mechanisms.3 = EXTERNAL\n")
        files = {
            "enabled_plugins": plugins + ".\n",
            "rabbitmq.conf": conf,
            "advanced.config": "[].\n",
            "rabbitmq-env.conf": "",
            ".erlang.cookie": secrets.token_hex(16),
        }
        for name, text in files.items():
            path = os.path.join(self.base, name)
            with open(path, "w") as f:
                f.write(text)
        os.chmod(os.path.join(self.base, ".erlang.cookie"), 0o400)

    def ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """``rabbitmqctl -n <this node> args``; never without ``-n``."""
        return subprocess.run([_script("rabbitmqctl"), "-n", self.node, *args],
                              env=self._env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            raise PrivateBrokerUnavailable(
                f"{what} failed for node {self.node} ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-800:]}")

    def start(self, timeout: float = 60.0) -> float:
        """Start the node and wait until it accepts AMQP; return the seconds it took."""
        began = time.monotonic()
        self._write_files()
        server = _script("rabbitmq-server")
        try:
            result = subprocess.run([server, "-detached"], env=self._env,
                                    capture_output=True, text=True, timeout=timeout,
                                    check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PrivateBrokerUnavailable(f"rabbitmq-server -detached: {e}") from None
        self.started = True
        self._check(result, "rabbitmq-server -detached")
        # await_startup fails at once while the node is not yet known to epmd; ``wait``
        # on the pid file covers that gap.
        pid_file = self._env["RABBITMQ_PID_FILE"]
        self._check(self.ctl("wait", pid_file, "--timeout", str(int(timeout)),
                             timeout=timeout + 10), "rabbitmqctl wait")
        self._check(self.ctl("await_startup", "--timeout", str(int(timeout)),
                             timeout=timeout + 10), "rabbitmqctl await_startup")
        self.wait_for_port(timeout)
        if self.tls_port:
            self.wait_for_port(timeout, self.tls_port)
        return time.monotonic() - began

    def wait_for_port(self, timeout: float = 30.0, port: int | None = None) -> None:
        port = port or self.port
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError as e:
                if time.monotonic() > deadline:
                    raise PrivateBrokerUnavailable(
                        f"node {self.node} does not listen on {port}: {e}") from None
                time.sleep(0.05)

    def stop_app(self) -> None:
        self._check(self.ctl("stop_app"), "rabbitmqctl stop_app")

    def start_app(self) -> None:
        self._check(self.ctl("start_app"), "rabbitmqctl start_app")
        self.wait_for_port()

    def queue_length(self, queue: str) -> int:
        """Messages in ``queue`` (virtual host ``/``), ready or delivered and not yet
        acknowledged, as the node counts them."""
        result = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages")
        self._check(result, "rabbitmqctl list_queues")
        for line in result.stdout.splitlines():
            name, _, count = line.rpartition("\t")
            if name == queue:
                return int(count)
        raise KeyError(queue)

    def stop(self) -> None:
        """Stop the node (if it runs) and remove its files."""
        try:
            if self.started:
                self.ctl("stop", timeout=60)
                self.started = False
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

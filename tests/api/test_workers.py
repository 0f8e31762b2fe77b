"""``osapi_compute_workers``: child processes sharing the parent's listening socket."""
import os
import signal

from oslo_config import cfg
from twisted.internet import reactor, task
from twisted.trial import unittest
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from nova_tx import config
from nova_tx.api.compute import service
from nova_tx.conf import api as api_conf
from nova_tx.conf import default
from tests.helpers import write_config

CONF_TEXT = """[DEFAULT]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 0
osapi_compute_workers = 2
transport_url = rabbit://nowhere:1/
[api]
auth_strategy = noauth2
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has not been reaped yet; Twisted reaps ours.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class WorkersTest(unittest.TestCase):
    timeout = 90

    def make_conf(self, text=CONF_TEXT) -> cfg.ConfigOpts:
        path = write_config(self, text)
        log_file = os.path.join(os.path.dirname(path), "workers.log")
        self.log_file = log_file
        conf = cfg.ConfigOpts()
        default.register_opts(conf)
        api_conf.register_opts(conf)
        config.register_log_opts(conf)
        conf(["--config-file", path, "--log-file", log_file], project="nova")
        return conf

    async def get(self, port: int, path: str, token: bytes | None = b"demo:abc1"):
        headers = Headers({b"X-Auth-Token": [token]} if token else {})
        response = await Agent(reactor).request(
            b"GET", b"http://127.0.0.1:%d%s" % (port, path.encode()), headers)
        await readBody(response)
        return response

    async def wait_for(self, predicate, timeout=30.0):
        waited = 0.0
        while not predicate():
            if waited > timeout:
                self.fail("timed out; log:\n" + self.log())
            await task.deferLater(reactor, 0.1, lambda: None)
            waited += 0.1

    def log(self) -> str:
        try:
            with open(self.log_file) as f:
                return f.read()
        except OSError:
            return ""

    async def test_workers_share_the_socket(self):
        conf = self.make_conf()
        self.assertEqual(2, service.worker_count(conf))
        daemon = service.make_service(conf)
        pool = daemon.getServiceNamed("osapi_compute")
        daemon.startService()
        stopped = []

        async def stop():
            if not stopped:
                await daemon.stopService()

        self.addCleanup(stop)
        pids = await pool.ready
        self.assertEqual(2, len(set(pids)))
        self.assertNotIn(os.getpid(), pids)
        port = pool.address[1]
        for _ in range(20):
            response = await self.get(port, "/v2.1/widgets")
            self.assertEqual(404, response.code)
            self.assertTrue(response.headers.hasHeader(b"x-openstack-request-id"))
        response = await self.get(port, "/v2.1/", token=None)
        self.assertEqual(200, response.code)

        # A worker that dies is replaced, and the others keep serving meanwhile.
        os.kill(pids[0], signal.SIGKILL)
        await self.wait_for(lambda: len(pool.workers) == 2
                            and pids[0] not in pool.worker_pids())
        for worker in list(pool.workers.values()):
            await worker.ready
        for _ in range(10):
            response = await self.get(port, "/v2.1/", token=None)
            self.assertEqual(200, response.code)
        current = pool.worker_pids()

        # Stopping the parent stops every worker.
        await daemon.stopService()
        stopped.append(True)
        for pid in current:
            self.assertFalse(_alive(pid), pid)
        self.assertIn("Site starting on %d" % port, self.log())

    def test_memory_bus_or_one_worker_serves_in_process(self):
        conf = self.make_conf(CONF_TEXT.replace("rabbit://nowhere:1/", "memory://"))
        self.assertEqual(1, service.worker_count(conf))
        conf = self.make_conf(CONF_TEXT.replace("workers = 2", "workers = 1"))
        self.assertEqual(1, service.worker_count(conf))
        conf = self.make_conf(CONF_TEXT.replace("osapi_compute_workers = 2\n", ""))
        self.assertEqual(os.cpu_count() or 1, service.worker_count(conf))


class ConsoleScriptWorkersTest(unittest.SynchronousTestCase):
    """``nova-api`` as an operator runs it, with two workers."""

    def test_nova_api_with_workers(self):
        import time
        import urllib.error
        import urllib.request

        from tests.helpers import Daemon, http_get_json

        path = write_config(self, CONF_TEXT)
        daemon = Daemon(self, "nova-api", ["--config-file", path])
        port = daemon.listening_port()
        daemon.wait_for(r"(?s)Site starting on %d.*Site starting on %d" % (port, port))
        with open("/proc/%d/task/%d/children" % (daemon.process.pid, daemon.process.pid)) as f:
            children = [int(pid) for pid in f.read().split()]
        self.assertEqual(2, len(children), daemon.output())
        for _ in range(10):
            status, body = http_get_json("http://127.0.0.1:%d/v2.1/" % port)
            self.assertEqual((200, "2.93"), (status, body["version"]["version"]))
        request = urllib.request.Request("http://127.0.0.1:%d/v2.1/nothing" % port,
                                         headers={"X-Auth-Token": "demo:abc1"})
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(404, caught.exception.code)
        self.assertEqual(0, daemon.stop(timeout=15))
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(any(_alive(pid) for pid in children))
        self.assertIn("nova-api listening on 127.0.0.1:%d with 2 worker processes" % port,
                      daemon.output())

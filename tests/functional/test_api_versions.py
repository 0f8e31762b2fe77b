"""The compute API's version documents, served by the real listener on a real port."""
import json

from oslo_config import cfg
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import Agent, readBody

from nova_tx.api.compute import service as api_service
from nova_tx.conf import api as api_conf
from nova_tx.conf import default


class VersionsTest(unittest.TestCase):
    def setUp(self):
        conf = cfg.ConfigOpts()
        default.register_opts(conf)
        api_conf.register_opts(conf)
        conf([], project="nova")
        conf.set_override("auth_strategy", "noauth2", group="api")
        conf.set_override("osapi_compute_listen", "127.0.0.1")
        conf.set_override("osapi_compute_listen_port", 0)
        self.listener = api_service.make_api_listener(conf)
        self.listener.startService()
        self.addCleanup(self.listener.stopService)
        self.base = "http://127.0.0.1:%d" % self.listener._port.getHost().port

    async def get(self, path: str):
        response = await Agent(reactor).request(b"GET", (self.base + path).encode())
        body = await readBody(response)
        return response, json.loads(body)

    async def test_root_lists_both_versions(self):
        response, body = await self.get("/")
        self.assertEqual(200, response.code)
        self.assertEqual([b"application/json"],
                         response.headers.getRawHeaders(b"content-type"))
        self.assertEqual(
            {"versions": [
                {"id": "v2.0", "links": [{"href": self.base + "/v2/", "rel": "self"}],
                 "status": "SUPPORTED", "version": "", "min_version": "",
                 "updated": "2011-01-21T11:33:21Z"},
                {"id": "v2.1", "links": [{"href": self.base + "/v2.1/", "rel": "self"}],
                 "status": "CURRENT", "version": "2.93", "min_version": "2.1",
                 "updated": "2013-07-23T11:33:21Z"}]},
            body)

    async def test_v21_document(self):
        for path in ("/v2.1/", "/v2.1"):
            response, body = await self.get(path)
            self.assertEqual(200, response.code)
            version = body["version"]
            self.assertEqual("v2.1", version["id"])
            self.assertEqual(("CURRENT", "2.93", "2.1"),
                             (version["status"], version["version"], version["min_version"]))
            self.assertEqual([{"base": "application/json",
                               "type": "application/vnd.openstack.compute+json;version=2.1"}],
                             version["media-types"])
            self.assertEqual(self.base + "/v2.1/", version["links"][0]["href"])
            self.assertEqual("describedby", version["links"][1]["rel"])

    async def test_v20_document(self):
        response, body = await self.get("/v2/")
        self.assertEqual(200, response.code)
        self.assertEqual(("v2.0", "SUPPORTED", ""),
                         (body["version"]["id"], body["version"]["status"],
                          body["version"]["version"]))

    async def test_links_follow_the_host_header(self):
        from twisted.web.http_headers import Headers

        response = await Agent(reactor).request(
            b"GET", (self.base + "/v2.1/").encode(),
            Headers({b"Host": [b"compute.example.com:9999"]}))
        body = json.loads(await readBody(response))
        self.assertEqual("http://compute.example.com:9999/v2.1/",
                         body["version"]["links"][0]["href"])

    async def test_unknown_path_is_404(self):
        response = await Agent(reactor).request(b"GET", (self.base + "/v3/").encode())
        await readBody(response)
        self.assertEqual(404, response.code)

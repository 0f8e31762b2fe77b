"""limit, marker and the next link, over HTTP through the test resource."""
from urllib.parse import parse_qs, urlsplit

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.api.compute import links, pagination
from tests.api import widgets
from tests.api.fixture import APIServer, make_conf

V235 = {"OpenStack-API-Version": "compute 2.35"}
UUIDS = [w["uuid"] for w in widgets.WIDGETS]


class PaginationTest(unittest.TestCase):
    async def list(self, api, query="", prefix="/v2.1"):
        reply = await api.request("GET", prefix + "/widgets" + query, headers=V235)
        self.assertEqual(200, reply.code, reply.raw)
        return reply.json

    async def test_limit_and_next_link(self):
        api = APIServer(self)
        body = await self.list(api, "?limit=2")
        self.assertEqual(UUIDS[:2], [w["uuid"] for w in body["widgets"]])
        self.assertEqual(
            [{"rel": "next",
              "href": api.base + "/v2.1/widgets?limit=2&marker=" + UUIDS[1]}],
            body["widgets_links"])
        body = await self.list(api, "?limit=2&marker=" + UUIDS[1])
        self.assertEqual(UUIDS[2:4], [w["uuid"] for w in body["widgets"]])
        self.assertEqual(UUIDS[3], parse_qs(urlsplit(
            body["widgets_links"][0]["href"]).query)["marker"][0])
        body = await self.list(api, "?limit=2&marker=" + UUIDS[3])
        self.assertEqual(UUIDS[4:], [w["uuid"] for w in body["widgets"]])
        self.assertNotIn("widgets_links", body)

    async def test_full_last_page_still_links(self):
        # Nova links whenever the page is full, even when nothing follows.
        api = APIServer(self)
        body = await self.list(api, "?limit=5")
        self.assertEqual(5, len(body["widgets"]))
        self.assertIn("widgets_links", body)
        body = await self.list(api, "?limit=10")
        self.assertNotIn("widgets_links", body)
        body = await self.list(api, "?limit=0")
        self.assertEqual([], body["widgets"])
        self.assertNotIn("widgets_links", body)

    async def test_max_limit_caps(self):
        api = APIServer(self, conf=make_conf(max_limit=3))
        body = await self.list(api)
        self.assertEqual(3, len(body["widgets"]))
        self.assertEqual(api.base + "/v2.1/widgets?marker=" + UUIDS[2],
                         body["widgets_links"][0]["href"])
        body = await self.list(api, "?limit=100")
        self.assertEqual(3, len(body["widgets"]))
        self.assertEqual(api.base + "/v2.1/widgets?limit=100&marker=" + UUIDS[2],
                         body["widgets_links"][0]["href"])

    async def test_links_keep_project_and_query(self):
        api = APIServer(self)
        body = await self.list(api, "?name=w&limit=1", prefix="/v2.1/abc1")
        # Nova's order: the query sorted, then the marker (in place if it was there).
        self.assertEqual(api.base + "/v2.1/abc1/widgets?limit=1&name=w&marker=%s"
                         % UUIDS[0], body["widgets_links"][0]["href"])
        self.assertEqual(
            [{"rel": "self", "href": api.base + "/v2.1/abc1/widgets/" + UUIDS[0]},
             {"rel": "bookmark", "href": api.base + "/abc1/widgets/" + UUIDS[0]}],
            body["widgets"][0]["links"])

    async def test_compute_link_prefix(self):
        api = APIServer(self, conf=make_conf(compute_link_prefix="https://cloud.example/compute"))
        body = await self.list(api, "?limit=1")
        self.assertEqual("https://cloud.example/compute/v2.1/widgets?limit=1&marker="
                         + UUIDS[0], body["widgets_links"][0]["href"])
        self.assertEqual("https://cloud.example/compute/widgets/" + UUIDS[0],
                         body["widgets"][0]["links"][1]["href"])


    async def test_proxy_headers(self):
        conf = make_conf()
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cloud.example",
                   "X-Forwarded-Prefix": "/compute"}
        api = APIServer(self, conf=conf)
        reply = await api.request("GET", "/v2.1/widgets?limit=1",
                                  headers={**V235, **headers})
        # Not parsed unless configured: a client could forge them.
        self.assertTrue(reply.json["widgets_links"][0]["href"].startswith(api.base))
        conf.set_override("enable_proxy_headers_parsing", True, group="oslo_middleware")
        api = APIServer(self, conf=conf)
        reply = await api.request("GET", "/v2.1/widgets?limit=1",
                                  headers={**V235, **headers})
        self.assertEqual("https://cloud.example/compute/v2.1/widgets?limit=1&marker="
                         + UUIDS[0], reply.json["widgets_links"][0]["href"])
        self.assertEqual("https://cloud.example/compute/widgets/" + UUIDS[0],
                         reply.json["widgets"][0]["links"][1]["href"])
        reply = await api.request("GET", "/v2.1/", headers={
            "Forwarded": 'for=1.2.3.4;proto=https;host="api.example:8443"'})
        self.assertEqual("https://api.example:8443/v2.1/",
                         reply.json["version"]["links"][0]["href"])


class _Req:
    def __init__(self, query, max_limit=1000):
        self.query = query
        self.conf = make_conf(max_limit=max_limit)


class PaginationParamsTest(unittest.SynchronousTestCase):
    def test_params(self):
        self.assertEqual({"limit": 5, "marker": "m", "offset": 2},
                         pagination.get_pagination_params(
                             _Req({"limit": ["5"], "marker": ["m"], "offset": ["2"]})))
        self.assertEqual((1000, None), pagination.get_limit_and_marker(_Req({})))
        self.assertEqual((0, None), pagination.get_limit_and_marker(_Req({"limit": ["0"]})))
        self.assertEqual((7, "x"), pagination.get_limit_and_marker(
            _Req({"limit": ["50"], "marker": ["x"]}, max_limit=7)))

    def test_bad_integers(self):
        for value, message in (("abc", "limit must be an integer"),
                               ("-1", "limit must be >= 0"), ("1.5", "limit must be an integer")):
            with self.assertRaises(exception.InvalidInput) as caught:
                pagination.get_pagination_params(_Req({"limit": [value]}))
            self.assertEqual("Invalid input received: " + message,
                             caught.exception.format_message())
            self.assertEqual(400, caught.exception.code)

    def test_limited(self):
        items = list(range(10))
        self.assertEqual([2, 3, 4], pagination.limited(
            items, _Req({"offset": ["2"], "limit": ["3"]})))
        self.assertEqual(items[:4], pagination.limited(items, _Req({"limit": ["0"]}, 4)))

    def test_url_join(self):
        self.assertEqual("http://h/v2.1/servers", links.url_join("http://h/v2.1/", "", "servers"))
        self.assertEqual("a/b/", links.url_join("a", "b", ""))

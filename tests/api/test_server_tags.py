"""/servers/{id}/tags and /tags/{tag} (2.26) over HTTP: Nova's codes and bodies, the
50-tag limit, bad tags, the state check, and refusals that change nothing."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.compute import states
from tests.api.servers_server import DEMO, ServersServer, sample, version


class ServerTagsTest(unittest.TestCase):

    def setUp(self):
        self.api = ServersServer(self)
        self.server = self.api.add_instance(tags=["old"])
        self.base = f"/v2.1/servers/{self.server.uuid}/tags"

    async def call(self, method, path="", body=None, microversion="2.26"):
        return await self.api.request(method, self.base + path, body=body, token=DEMO,
                                      headers=version(microversion))

    def stored(self):
        return self.api.get_instance(self.server.uuid, expected_attrs=("tags",)).tags

    async def test_not_before_2_26(self):
        self.assertEqual(404, (await self.call("GET", microversion="2.25")).code)

    async def test_index_show_replace_add_delete(self):
        self.assertEqual({"tags": ["old"]}, (await self.call("GET")).json)
        self.assertEqual(204, (await self.call("GET", "/old")).code)
        missing = await self.call("GET", "/nope")
        self.assertEqual((404, f"Server {self.server.uuid} has no tag 'nope'"),
                         (missing.code, missing.json["itemNotFound"]["message"]))
        body = sample("os-server-tags", "v2.26", "server-tags-put-all-req.json")
        reply = await self.call("PUT", body=body)
        self.assertEqual((200, body), (reply.code, reply.json))
        added = await self.call("PUT", "/tag3")
        self.assertEqual(201, added.code)
        self.assertTrue(added.header("Location").endswith(
            f"/v2.1/servers/{self.server.uuid}/tags/tag3"))
        self.assertEqual(204, (await self.call("PUT", "/tag3")).code)
        self.assertEqual(["tag1", "tag2", "tag3"], self.stored())
        self.assertEqual(204, (await self.call("DELETE", "/tag1")).code)
        self.assertEqual(404, (await self.call("DELETE", "/tag1")).code)
        self.assertEqual(204, (await self.call("DELETE")).code)
        self.assertEqual([], self.stored())

    async def test_tags_show_in_the_server(self):
        reply = await self.api.request("GET", f"/v2.1/servers/{self.server.uuid}",
                                       token=DEMO, headers=version("2.26"))
        self.assertEqual(["old"], reply.json["server"]["tags"])

    async def test_limit_and_bad_tags_change_nothing(self):
        many = [f"t{i}" for i in range(50)]
        self.assertEqual(200, (await self.call("PUT", body={"tags": many})).code)
        before = self.api.cell_snapshot()
        over = await self.call("PUT", "/one-more")
        self.assertEqual((400, "The number of tags exceeded the per-server limit 50"),
                         (over.code, over.json["badRequest"]["message"]))
        for body in ({"tags": many + ["t50"]}, {"tags": ["a,b"]}, {"tags": ["a/b"]},
                     {"tags": [""]}, {"tags": ["x" * 61]}, {"tags": "a"}, {}, None):
            self.assertEqual(400, (await self.call("PUT", body=body)).code, body)
        bad = await self.call("PUT", "/a,b")
        self.assertEqual(400, bad.code)
        self.assertTrue(bad.json["badRequest"]["message"].startswith("Tag 'a,b' is invalid."))
        self.assertEqual(400, (await self.call("PUT", "/" + "x" * 61)).code)
        self.assertEqual(before, self.api.cell_snapshot())

    async def test_changes_need_a_settled_server(self):
        building = self.api.add_instance(vm_state=states.BUILDING)
        reply = await self.api.request("PUT", f"/v2.1/servers/{building.uuid}/tags/x",
                                       token=DEMO, headers=version("2.26"))
        self.assertEqual(409, reply.code)
        self.assertEqual(f"Cannot 'update tag' instance {building.uuid} while it is in "
                         "vm_state building", reply.json["conflictingRequest"]["message"])
        request = self.api.add_build_request(tags=["early"])
        path = f"/v2.1/servers/{request.uuid}/tags"
        reply = await self.api.request("GET", path, token=DEMO, headers=version("2.26"))
        self.assertEqual({"tags": ["early"]}, reply.json)
        reply = await self.api.request("DELETE", path, token=DEMO, headers=version("2.26"))
        self.assertEqual(409, reply.code)

"""/servers/{id}/metadata and /metadata/{key} over HTTP: Nova's bodies and codes, the
state, lock and metadata_items quota refusals (which change nothing)."""
from __future__ import annotations

import uuid as uuidlib

from twisted.trial import unittest

from nova_tx.compute import states
from tests.api.servers_server import ADMIN, DEMO, ServersServer, sample


class ServerMetadataTest(unittest.TestCase):

    def setUp(self):
        self.api = ServersServer(self, quota={"metadata_items": 3})
        self.server = self.api.add_instance(metadata={"a": "1"})
        self.base = f"/v2.1/servers/{self.server.uuid}/metadata"

    async def call(self, method, path="", body=None, token=DEMO):
        return await self.api.request(method, self.base + path, body=body, token=token)

    def stored(self, uuid=None):
        return self.api.get_instance(uuid or self.server.uuid,
                                     expected_attrs=("metadata",)).metadata

    async def test_index_show_and_the_samples(self):
        self.assertEqual({"metadata": {"a": "1"}}, (await self.call("GET")).json)
        self.assertEqual({"meta": {"a": "1"}}, (await self.call("GET", "/a")).json)
        missing = await self.call("GET", "/nope")
        self.assertEqual((404, "Metadata item was not found"),
                         (missing.code, missing.json["itemNotFound"]["message"]))
        body = sample("server-metadata", "server-metadata-all-req.json")
        reply = await self.call("PUT", body=body)
        self.assertEqual((200, sample("server-metadata", "server-metadata-all-resp.json")),
                         (reply.code, reply.json))
        body = sample("server-metadata", "server-metadata-req.json")
        [key] = body["meta"]
        reply = await self.call("PUT", "/" + key, body=body)
        # The sample's answer carries another value than its request; the shape holds.
        self.assertEqual((200, body), (reply.code, reply.json))
        self.assertEqual(list(sample("server-metadata", "server-metadata-resp.json")["meta"]),
                         list(reply.json["meta"]))

    async def test_create_merges_update_all_replaces_delete_removes(self):
        reply = await self.call("POST", body={"metadata": {"b": "2"}})
        self.assertEqual((200, {"metadata": {"a": "1", "b": "2"}}), (reply.code, reply.json))
        reply = await self.call("PUT", body={"metadata": {"c": "3"}})
        self.assertEqual({"metadata": {"c": "3"}}, reply.json)
        self.assertEqual({"c": "3"}, self.stored())
        self.assertEqual(204, (await self.call("DELETE", "/c")).code)
        self.assertEqual({}, self.stored())
        self.assertEqual(404, (await self.call("DELETE", "/c")).code)

    async def test_refusals_change_nothing(self):
        before = self.api.cell_snapshot()
        cases = [
            ("POST", "", {"metadata": {"b": "2", "c": "3", "d": "4"}}, 403),
            ("PUT", "", {"metadata": {"": "x"}}, 400),
            ("PUT", "", {"metadata": {"k": "v" * 256}}, 400),
            ("PUT", "/a", {"meta": {"b": "1"}}, 400),
            ("PUT", "/a", {"meta": {"a": "1", "b": "2"}}, 400),
            ("POST", "", {"meta": {"a": "1"}}, 400),
            ("PUT", "", None, 400),
        ]
        for method, path, body, code in cases:
            reply = await self.call(method, path, body)
            self.assertEqual(code, reply.code, (method, path, body, reply.raw))
        over = await self.call("POST", body={"metadata": {"b": "2", "c": "3", "d": "4"}})
        self.assertEqual("Maximum number of metadata items exceeds 3",
                         over.json["forbidden"]["message"])
        self.assertEqual(404, (await self.api.request(
            "GET", f"/v2.1/servers/{uuidlib.uuid4()}/metadata", token=DEMO)).code)
        self.assertEqual(before, self.api.cell_snapshot())

    async def test_state_and_lock_conflicts(self):
        building = self.api.add_instance(vm_state=states.BUILDING)
        reply = await self.api.request("POST", f"/v2.1/servers/{building.uuid}/metadata",
                                       body={"metadata": {"b": "2"}}, token=DEMO)
        self.assertEqual(409, reply.code)
        self.assertEqual(f"Cannot 'update metadata' instance {building.uuid} while it is in "
                         "vm_state building", reply.json["conflictingRequest"]["message"])
        request = self.api.add_build_request(metadata={"early": "yes"})
        reply = await self.api.request("GET", f"/v2.1/servers/{request.uuid}/metadata",
                                       token=DEMO)
        self.assertEqual({"metadata": {"early": "yes"}}, reply.json)
        reply = await self.api.request("DELETE",
                                       f"/v2.1/servers/{request.uuid}/metadata/early",
                                       token=DEMO)
        self.assertEqual(409, reply.code)
        locked = self.api.add_instance(locked=True, locked_by="admin", metadata={"a": "1"})
        path = f"/v2.1/servers/{locked.uuid}/metadata/a"
        reply = await self.api.request("DELETE", path, token=DEMO)
        self.assertEqual((409, f"Instance {locked.uuid} is locked"),
                         (reply.code, reply.json["conflictingRequest"]["message"]))
        self.assertEqual({"a": "1"}, self.stored(locked.uuid))
        self.assertEqual(204, (await self.api.request("DELETE", path, token=ADMIN)).code)
        self.assertEqual({}, self.stored(locked.uuid))

"""/servers/{id}/os-instance-actions and /{request_id} over HTTP: fields and events by
microversion and policy (Nova's samples), paging, changes-since/before, deleted
servers from 2.21."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.db.main import instances
from tests.api.servers_server import ADMIN, DEMO, ServersServer, sample, version

SAMPLES = "os-instance-actions"


class InstanceActionsTest(unittest.TestCase):

    def setUp(self):
        self.api = ServersServer(self)
        self.server = self.api.add_instance()
        self.api.add_action(self.server.uuid, "req-1", "create",
                            events=(("compute__do_build_and_run_instance", "Success", "h1"),))
        self.api.add_action(self.server.uuid, "req-2", "stop",
                            events=(("compute_stop_instance", "Error", "h1"),))
        self.base = f"/v2.1/servers/{self.server.uuid}/os-instance-actions"

    async def get(self, path="", microversion="2.1", token=ADMIN, code=200):
        reply = await self.api.request("GET", self.base + path, token=token,
                                       headers=version(microversion))
        self.assertEqual(code, reply.code, (path, microversion, reply.raw))
        return reply.json

    async def test_list_fields_by_microversion(self):
        for microversion, path in (("2.1", "instance-actions-list-resp.json"),
                                   ("2.58", "v2.58/instance-actions-list-resp.json")):
            expected = sample(SAMPLES, path)["instanceActions"][0]
            got = (await self.get("", microversion))["instanceActions"]
            self.assertEqual(["req-2", "req-1"], [a["request_id"] for a in got])
            self.assertEqual(sorted(expected), sorted(got[0]), microversion)
        self.assertEqual("Error", got[0]["message"])

    async def test_show_events_by_policy_and_microversion(self):
        cases = [("2.1", ADMIN, "instance-action-get-resp.json"),
                 ("2.51", DEMO, "v2.51/instance-action-get-non-admin-resp.json"),
                 ("2.62", DEMO, "v2.62/instance-action-get-non-admin-resp.json"),
                 ("2.62", ADMIN, "v2.62/instance-action-get-resp.json"),
                 ("2.84", DEMO, "v2.84/instance-action-get-non-admin-resp.json"),
                 ("2.84", ADMIN, "v2.84/instance-action-get-resp.json")]
        for microversion, token, path in cases:
            expected = sample(SAMPLES, path)["instanceAction"]
            got = (await self.get("/req-2", microversion, token))["instanceAction"]
            where = (microversion, token)
            self.assertEqual(sorted(expected), sorted(got), where)
            self.assertEqual(sorted(expected["events"][0]), sorted(got["events"][0]), where)
        self.assertEqual(("Error", "h1", "Traceback!", "boom", 56),
                         (got["events"][0]["result"], got["events"][0]["host"],
                          got["events"][0]["traceback"], got["events"][0]["details"],
                          len(got["events"][0]["hostId"])))
        self.assertNotIn("events", (await self.get("/req-2", "2.50", DEMO))["instanceAction"])
        missing = await self.get("/req-9", code=404)
        self.assertEqual("Action req-9 not found", missing["itemNotFound"]["message"])

    async def test_paging_and_changes_filters_from_2_58(self):
        page = await self.get("?limit=1", "2.58")
        self.assertEqual(["req-2"], [a["request_id"] for a in page["instanceActions"]])
        [link] = page["links"]
        self.assertTrue(link["href"].endswith(
            f"/servers/{self.server.uuid}/os-instance-actions?limit=1&marker=req-2"))
        rest = await self.get("?limit=1&marker=req-2", "2.58")
        self.assertEqual(["req-1"], [a["request_id"] for a in rest["instanceActions"]])
        await self.get("?marker=nope", "2.58", code=400)
        await self.get("?limit=1", "2.57", code=200)
        await self.get("?bogus=1", "2.58", code=400)
        since = await self.get("?changes-since=2999-01-01T00:00:00Z", "2.58")
        self.assertEqual([], since["instanceActions"])
        await self.get("?changes-before=2000-01-01T00:00:00Z", "2.65", code=400)
        before = await self.get("?changes-before=2000-01-01T00:00:00Z", "2.66")
        self.assertEqual([], before["instanceActions"])
        await self.get("?changes-since=2020-01-01T00:00:00Z"
                       "&changes-before=2019-01-01T00:00:00Z", "2.66", code=400)

    async def test_deleted_servers_from_2_21(self):
        with self.api.cell_engine.begin() as conn:
            instances.destroy(conn, self.server.uuid)
        await self.get("", "2.20", code=404)
        self.assertEqual(2, len((await self.get("", "2.21"))["instanceActions"]))
        self.assertEqual("stop", (await self.get("/req-2", "2.21"))["instanceAction"][
            "action"])

    async def test_other_projects_are_refused(self):
        refused = await self.get("", token="demo:07her", code=403)
        self.assertIn("os_compute_api:os-instance-actions:list",
                      refused["forbidden"]["message"])

"""/limits over HTTP: Nova's samples at 2.1, 2.36, 2.39 and 2.57, usage, another
project's limits (admin), and the 2.75 query rule."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.quota import NOOP_DRIVER
from tests.api.quota_server import ADMIN, SAMPLE_PROJECT, QuotaServer, sample, version

USER = f"fake:{SAMPLE_PROJECT}"
FOLDERS = {"2.1": (), "2.35": (), "2.36": ("v2.36",), "2.38": ("v2.36",),
           "2.39": ("v2.39",), "2.56": ("v2.39",), "2.57": ("v2.57",), "2.93": ("v2.57",)}


class LimitsTest(unittest.TestCase):

    async def test_samples(self):
        api = QuotaServer(self)
        for microversion, folder in FOLDERS.items():
            reply = await api.request("GET", "/v2.1/limits", token=USER,
                                      headers=version(microversion))
            self.assertEqual(200, reply.code, reply.raw)
            self.assertEqual(sample("limits", *folder, "limit-get-resp.json"), reply.json,
                             microversion)

    async def test_limits_and_usage_follow_quotas(self):
        api = QuotaServer(self, quota={"cores": 7})
        api.add_server_group(SAMPLE_PROJECT, "fake")
        reply = await api.request("PUT", f"/v2.1/os-quota-sets/{SAMPLE_PROJECT}", token=ADMIN,
                                  body={"quota_set": {"server_groups": 3}})
        self.assertEqual(200, reply.code)
        reply = await api.request("GET", "/v2.1/limits", token=USER, headers=version("2.57"))
        absolute = reply.json["limits"]["absolute"]
        self.assertEqual((7, 3, 1), (absolute["maxTotalCores"], absolute["maxServerGroups"],
                                     absolute["totalServerGroupsUsed"]))
        self.assertEqual([], reply.json["limits"]["rate"])

    async def test_other_project(self):
        api = QuotaServer(self)
        await api.request("PUT", "/v2.1/os-quota-sets/other", token=ADMIN,
                          body={"quota_set": {"instances": 4}})
        reply = await api.request("GET", "/v2.1/limits?tenant_id=other", token=ADMIN)
        self.assertEqual(4, reply.json["limits"]["absolute"]["maxTotalInstances"])
        reply = await api.request("GET", "/v2.1/limits?tenant_id=other", token=USER)
        self.assertEqual({"forbidden": {"code": 403, "message":
                          "Policy doesn't allow os_compute_api:limits:other_project to be "
                          "performed."}}, reply.json)
        reply = await api.request("GET", "/v2.1/limits", token="someone:other")
        self.assertEqual(4, reply.json["limits"]["absolute"]["maxTotalInstances"])

    async def test_2_75_unknown_query_parameters(self):
        api = QuotaServer(self)
        reply = await api.request("GET", "/v2.1/limits?foo=1", token=USER,
                                  headers=version("2.74"))
        self.assertEqual(200, reply.code)
        reply = await api.request("GET", "/v2.1/limits?foo=1", token=USER,
                                  headers=version("2.75"))
        self.assertEqual(400, reply.code)
        self.assertIn("Additional properties are not allowed",
                      reply.json["badRequest"]["message"])

    async def test_noop_driver(self):
        api = QuotaServer(self, quota_driver=NOOP_DRIVER)
        reply = await api.request("GET", "/v2.1/limits", token=USER, headers=version("2.57"))
        self.assertEqual({-1}, set(reply.json["limits"]["absolute"].values()))

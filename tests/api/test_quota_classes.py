"""/os-quota-class-sets over HTTP: Nova's samples at 2.1, 2.50 and 2.57, the default
class as every project's defaults, bad input, and who may call it (admins only, with
[oslo_policy] enforce_new_defaults off and on)."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.api.compute import quota_classes
from nova_tx.quota import NOOP_DRIVER
from tests.api.quota_server import ADMIN, RESOURCES, SAMPLE_PROJECT, QuotaServer, sample, version

BASE = "/v2.1/os-quota-class-sets/default"
FOLDERS = {"2.1": (), "2.50": ("v2.50",), "2.57": ("v2.57",)}


class QuotaClassServer(QuotaServer):
    RESOURCES = [*RESOURCES, quota_classes.routes]


class QuotaClassSamplesTest(unittest.TestCase):

    async def test_show_samples(self):
        api = QuotaClassServer(self)
        for microversion, folder in FOLDERS.items():
            reply = await api.request("GET", BASE, token=ADMIN,
                                      headers=version(microversion))
            self.assertEqual(200, reply.code, reply.raw)
            self.assertEqual(sample("os-quota-class-sets", *folder,
                                    "quota-classes-show-get-resp.json"),
                             reply.json, microversion)

    async def test_update_samples(self):
        for microversion, folder in FOLDERS.items():
            api = QuotaClassServer(self)
            reply = await api.request(
                "PUT", BASE, token=ADMIN, headers=version(microversion),
                body=sample("os-quota-class-sets", *folder,
                            "quota-classes-update-post-req.json"))
            self.assertEqual(200, reply.code, (microversion, reply.raw))
            self.assertEqual(sample("os-quota-class-sets", *folder,
                                    "quota-classes-update-post-resp.json"),
                             reply.json, microversion)


class QuotaClassRulesTest(unittest.TestCase):

    async def put(self, api, body, microversion="2.1", name="default"):
        return await api.request("PUT", f"/v2.1/os-quota-class-sets/{name}", token=ADMIN,
                                 headers=version(microversion), body=body)

    async def test_default_class_is_every_projects_defaults(self):
        api = QuotaClassServer(self)
        reply = await self.put(api, {"quota_class_set": {"cores": "40", "instances": 7}})
        self.assertEqual((40, 7), (reply.json["quota_class_set"]["cores"],
                                   reply.json["quota_class_set"]["instances"]))
        self.assertNotIn("id", reply.json["quota_class_set"])
        defaults = await api.request(
            "GET", f"/v2.1/os-quota-sets/{SAMPLE_PROJECT}/defaults", token=ADMIN)
        self.assertEqual((40, 7), (defaults.json["quota_set"]["cores"],
                                   defaults.json["quota_set"]["instances"]))
        quotas = await api.request("GET", f"/v2.1/os-quota-sets/{SAMPLE_PROJECT}",
                                   token=ADMIN)
        self.assertEqual(40, quotas.json["quota_set"]["cores"])
        # Updated again: the row changes, no second row.
        await self.put(api, {"quota_class_set": {"cores": -1}})
        rows = [r for r in api.snapshot()["quota_classes"] if "cores" in r]
        self.assertEqual(1, len(rows), rows)

    async def test_other_class_is_stored_and_shown_but_not_applied(self):
        api = QuotaClassServer(self)
        reply = await self.put(api, {"quota_class_set": {"ram": 1024}}, "2.50", "gold")
        self.assertEqual(200, reply.code, reply.raw)
        shown = await api.request("GET", "/v2.1/os-quota-class-sets/gold", token=ADMIN,
                                  headers=version("2.50"))
        self.assertEqual(("gold", 1024, 20),
                         (shown.json["quota_class_set"]["id"],
                          shown.json["quota_class_set"]["ram"],
                          shown.json["quota_class_set"]["cores"]))
        defaults = await api.request(
            "GET", f"/v2.1/os-quota-sets/{SAMPLE_PROJECT}/defaults", token=ADMIN)
        self.assertEqual(51200, defaults.json["quota_set"]["ram"])

    async def test_unknown_class_shows_the_options(self):
        api = QuotaClassServer(self, quota={"cores": 33})
        reply = await api.request("GET", "/v2.1/os-quota-class-sets/nothing", token=ADMIN)
        self.assertEqual(("nothing", 33), (reply.json["quota_class_set"]["id"],
                                           reply.json["quota_class_set"]["cores"]))

    async def test_noop_driver_shows_unlimited(self):
        api = QuotaClassServer(self, quota_driver=NOOP_DRIVER)
        reply = await api.request("GET", BASE, token=ADMIN, headers=version("2.57"))
        self.assertEqual({-1}, {v for k, v in reply.json["quota_class_set"].items()
                                if k != "id"})

    async def test_networks_before_2_50_is_accepted_and_not_shown(self):
        api = QuotaClassServer(self)
        reply = await self.put(api, {"quota_class_set": {"networks": 3, "cores": 9}})
        self.assertEqual(200, reply.code, reply.raw)
        self.assertNotIn("networks", reply.json["quota_class_set"])
        self.assertEqual(9, reply.json["quota_class_set"]["cores"])

    async def test_bad_input_changes_nothing(self):
        api = QuotaClassServer(self)
        before = api.snapshot()
        for microversion, body in [
                ("2.1", {"quota_class_set": {"cores": "abc"}}),
                ("2.1", {"quota_class_set": {"cores": -2}}),
                ("2.1", {"quota_class_set": {"cores": "-2"}}),
                ("2.1", {"quota_class_set": {"cores": 0x80000000}}),
                ("2.1", {"quota_class_set": {"cores": "2147483648"}}),
                ("2.1", {"quota_class_set": {"cores": 1.5}}),
                ("2.1", {"quota_class_set": {"bogus": 1}}),
                ("2.1", {"quota_class_set": 1}),
                ("2.1", {"cores": 1}),
                ("2.1", {"quota_class_set": {"cores": 1}, "extra": 1}),
                ("2.50", {"quota_class_set": {"fixed_ips": 1}}),
                ("2.50", {"quota_class_set": {"networks": 1}}),
                ("2.57", {"quota_class_set": {"injected_files": 1}}),
        ]:
            reply = await self.put(api, body, microversion)
            self.assertEqual(400, reply.code, (microversion, body, reply.raw))
            self.assertEqual(400, reply.json["badRequest"]["code"], reply.raw)
        self.assertEqual(before, api.snapshot())

    async def test_class_name_too_long(self):
        api = QuotaClassServer(self)
        reply = await self.put(api, {"quota_class_set": {"cores": 1}}, name="x" * 256)
        self.assertEqual({"badRequest": {
            "code": 400, "message": "quota_class_name has more than 255 characters."}},
            reply.json)
        self.assertEqual([], api.snapshot()["quota_classes"])

    async def test_show_and_update_at_the_boundaries(self):
        api = QuotaClassServer(self)
        keys = {}
        for microversion in ("2.49", "2.50", "2.56", "2.57"):
            reply = await api.request("GET", BASE, token=ADMIN,
                                      headers=version(microversion))
            keys[microversion] = set(reply.json["quota_class_set"])
        self.assertNotIn("server_groups", keys["2.49"])
        self.assertIn("fixed_ips", keys["2.49"])
        self.assertEqual(keys["2.50"], keys["2.56"])
        self.assertIn("server_groups", keys["2.50"])
        self.assertNotIn("fixed_ips", keys["2.50"])
        self.assertIn("injected_files", keys["2.56"])
        self.assertNotIn("injected_files", keys["2.57"])
        self.assertEqual(200, (await self.put(
            api, {"quota_class_set": {"fixed_ips": 1}}, "2.49")).code)
        self.assertEqual(200, (await self.put(
            api, {"quota_class_set": {"injected_files": 1}}, "2.56")).code)


OWNER = "0wner"
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
    "other_member": ("bob:07her", "member,reader"),
}
MATRIX = [
    ("GET", BASE, None, "os_compute_api:os-quota-class-sets:show"),
    ("PUT", BASE, {"quota_class_set": {"cores": 30}},
     "os_compute_api:os-quota-class-sets:update"),
]


class QuotaClassPolicyTest(unittest.TestCase):

    async def check(self, enforce_new_defaults: bool):
        api = QuotaClassServer(self, enforce_new_defaults=enforce_new_defaults)
        for method, path, body, rule in MATRIX:
            for persona, (token, roles) in PERSONAS.items():
                before = api.snapshot()
                headers = {"X-Roles": roles} if roles else {}
                reply = await api.request(method, path, token=token, headers=headers,
                                          body=body)
                where = (enforce_new_defaults, method, persona)
                if persona == "admin":
                    self.assertEqual(200, reply.code, (where, reply.raw))
                else:
                    self.assertEqual({"forbidden": {
                        "code": 403,
                        "message": f"Policy doesn't allow {rule} to be performed."}},
                        reply.json, where)
                    self.assertEqual(before, api.snapshot(), where)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

"""/os-quota-sets over HTTP: Nova's samples at 2.1, 2.36 and 2.57 (and the noop
driver's), the update rules, per-user quotas, delete, and the 2.75 query rule."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.quota import NOOP_DRIVER
from tests.api.quota_server import ADMIN, SAMPLE_PROJECT, QuotaServer, sample, version

PROJECT = SAMPLE_PROJECT
BASE = f"/v2.1/{PROJECT}/os-quota-sets/{PROJECT}"
FOLDERS = {"2.1": (), "2.36": ("v2.36",), "2.57": ("v2.57",)}


def with_id(body: dict, project_id: str = PROJECT) -> dict:
    """A sample's body for our project (the samples say "fake_tenant")."""
    if "id" in body["quota_set"]:
        body["quota_set"]["id"] = project_id
    return body


class QuotaSetSamplesTest(unittest.TestCase):

    async def get(self, api, path, microversion, token=ADMIN):
        reply = await api.request("GET", path, token=token, headers=version(microversion))
        self.assertEqual(200, reply.code, reply.raw)
        return reply.json

    async def test_show_detail_defaults(self):
        api = QuotaServer(self)
        for microversion, folder in FOLDERS.items():
            for path, name in ((BASE, "quotas-show-get-resp.json"),
                               (BASE + "/detail", "quotas-show-detail-get-resp.json"),
                               (BASE + "/defaults", "quotas-show-defaults-get-resp.json"),
                               (BASE + "?user_id=fake", "user-quotas-show-get-resp.json")):
                self.assertEqual(with_id(sample("os-quota-sets", *folder, name)),
                                 await self.get(api, path, microversion),
                                 (microversion, path))

    async def test_update_samples(self):
        for microversion, folder in FOLDERS.items():
            for req_name, resp_name, query in (
                    ("quotas-update-post-req.json", "quotas-update-post-resp.json", ""),
                    ("quotas-update-force-post-req.json",
                     "quotas-update-force-post-resp.json", ""),
                    ("user-quotas-update-post-req.json", "user-quotas-update-post-resp.json",
                     "?user_id=fake")):
                api = QuotaServer(self)
                reply = await api.request(
                    "PUT", BASE + query, token=ADMIN, headers=version(microversion),
                    body=sample("os-quota-sets", *folder, req_name))
                self.assertEqual(200, reply.code, (microversion, req_name, reply.raw))
                self.assertEqual(sample("os-quota-sets", *folder, resp_name), reply.json,
                                 (microversion, req_name))

    async def test_noop_driver_samples(self):
        api = QuotaServer(self, quota_driver=NOOP_DRIVER)
        for path, name in ((BASE, "quotas-show-get-resp.json"),
                           (BASE + "/detail", "quotas-show-detail-get-resp.json"),
                           (BASE + "/defaults", "quotas-show-defaults-get-resp.json"),
                           (BASE + "?user_id=fake", "user-quotas-show-get-resp.json")):
            self.assertEqual(with_id(sample("os-quota-sets-noop", name)),
                             await self.get(api, path, "2.1"), path)
        for req_name, resp_name, query in (
                ("quotas-update-post-req.json", "quotas-update-post-resp.json", ""),
                ("quotas-update-force-post-req.json", "quotas-update-force-post-resp.json", ""),
                ("user-quotas-update-post-req.json", "user-quotas-update-post-resp.json",
                 "?user_id=fake")):
            reply = await api.request("PUT", BASE + query, token=ADMIN,
                                      body=sample("os-quota-sets-noop", req_name))
            self.assertEqual(sample("os-quota-sets-noop", resp_name), reply.json)
        self.assertEqual({"quotas": [], "project_user_quotas": []},
                         {k: v for k, v in api.snapshot().items()
                          if k in ("quotas", "project_user_quotas")})


class QuotaSetRulesTest(unittest.TestCase):

    async def put(self, api, quota_set: dict, query: str = "", microversion: str = "2.1"):
        return await api.request("PUT", BASE + query, token=ADMIN,
                                 headers=version(microversion),
                                 body={"quota_set": quota_set})

    async def test_defaults_follow_config_then_default_class(self):
        api = QuotaServer(self, quota={"instances": 3})
        reply = await api.request("GET", BASE + "/defaults", token=ADMIN,
                                  headers=version("2.57"))
        self.assertEqual(3, reply.json["quota_set"]["instances"])
        with api.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO quota_classes (class_name, resource, hard_limit)"
                                 " VALUES ('default', 'instances', 7)")
        for path in (BASE + "/defaults", BASE):
            reply = await api.request("GET", path, token=ADMIN, headers=version("2.57"))
            self.assertEqual(7, reply.json["quota_set"]["instances"], path)

    async def test_project_limit_not_below_usage(self):
        api = QuotaServer(self)
        api.add_server_group(PROJECT, "u1")
        api.add_server_group(PROJECT, "u2")
        before = api.snapshot()
        reply = await self.put(api, {"server_groups": 1})
        self.assertEqual({"badRequest": {"code": 400, "message":
                          "Quota limit 1 for server_groups must be greater than or equal "
                          "to already used and reserved 2."}}, reply.json)
        self.assertEqual(before, api.snapshot())
        reply = await api.request("GET", BASE + "/detail", token=ADMIN)
        self.assertEqual({"in_use": 2, "limit": 10, "reserved": 0},
                         reply.json["quota_set"]["server_groups"])
        for microversion in ("2.1", "2.36", "2.57"):
            reply = await self.put(api, {"server_groups": 1, "force": True},
                                   microversion=microversion)
            self.assertEqual(200, reply.code, microversion)
            self.assertEqual(1, reply.json["quota_set"]["server_groups"])
        reply = await self.put(api, {"server_groups": "2"})
        self.assertEqual(2, reply.json["quota_set"]["server_groups"])

    async def test_bad_values(self):
        api = QuotaServer(self)
        for value in (-2, "-2", 2 ** 31, "2147483648", "1.5", 1.5, "", "x", None, True, []):
            reply = await self.put(api, {"instances": value, "force": True})
            self.assertEqual(400, reply.code, value)
        reply = await self.put(api, {"networks": 1})
        self.assertEqual({"badRequest": {"code": 400,
                                         "message": "The networks quota has been removed"}},
                         reply.json)
        for microversion in ("2.36", "2.57"):
            reply = await self.put(api, {"networks": 1}, microversion=microversion)
            self.assertEqual(400, reply.code)
        for name in ("fixed_ips", "floating_ips", "security_groups", "security_group_rules"):
            self.assertEqual(200, (await self.put(api, {name: 5})).code)
            self.assertEqual(400, (await self.put(api, {name: 5}, microversion="2.36")).code)
        api2 = QuotaServer(self)
        before = api2.snapshot()
        for name in ("injected_files", "injected_file_content_bytes",
                     "injected_file_path_bytes"):
            self.assertEqual(400, (await self.put(api2, {name: 5}, microversion="2.57")).code)
        self.assertEqual(before, api2.snapshot())
        for name in ("injected_files", "injected_file_content_bytes",
                     "injected_file_path_bytes"):
            self.assertEqual(200, (await self.put(api2, {name: 5}, microversion="2.56")).code)
        reply = await self.put(api2, {"bogus": 1})
        self.assertEqual(400, reply.code)
        reply = await api2.request("PUT", BASE, token=ADMIN, body={"quota_set": 1})
        self.assertEqual(400, reply.code)

    async def test_unlimited(self):
        api = QuotaServer(self)
        reply = await self.put(api, {"instances": -1, "cores": "-1"})
        self.assertEqual((-1, -1), (reply.json["quota_set"]["instances"],
                                    reply.json["quota_set"]["cores"]))

    async def test_user_quota_within_project(self):
        api = QuotaServer(self)
        await self.put(api, {"instances": 10})
        reply = await self.put(api, {"instances": 6}, "?user_id=u1")
        self.assertEqual(200, reply.code, reply.raw)
        # u2 may have what the project has left (10 - 6) at most.
        reply = await self.put(api, {"instances": 5}, "?user_id=u2")
        self.assertEqual({"badRequest": {"code": 400, "message":
                          "Quota limit 5 for instances must be less than or equal to 4."}},
                         reply.json)
        reply = await self.put(api, {"instances": 4}, "?user_id=u2")
        self.assertEqual(200, reply.code)
        # u1 may go up to its own limit plus what is left (0).
        self.assertEqual(400, (await self.put(api, {"instances": 7}, "?user_id=u1")).code)
        self.assertEqual(200, (await self.put(api, {"instances": 7, "force": "true"},
                                              "?user_id=u1")).code)
        # The project cannot go below what its users were given (7 + 4).
        reply = await self.put(api, {"instances": 10})
        self.assertIn("already used and reserved 11.", reply.json["badRequest"]["message"])
        reply = await api.request("GET", BASE + "?user_id=u2", token=ADMIN)
        self.assertEqual(4, reply.json["quota_set"]["instances"])
        # A user without rows gets the project's limits.
        reply = await api.request("GET", BASE + "?user_id=u3", token=ADMIN)
        self.assertEqual(10, reply.json["quota_set"]["instances"])

    async def test_delete(self):
        api = QuotaServer(self)
        await self.put(api, {"cores": 5, "instances": 3})
        await self.put(api, {"cores": 2}, "?user_id=u1")
        reply = await api.request("DELETE", BASE + "?user_id=u1", token=ADMIN)
        self.assertEqual((202, b""), (reply.code, reply.raw))
        reply = await api.request("GET", BASE + "?user_id=u1", token=ADMIN)
        self.assertEqual(5, reply.json["quota_set"]["cores"])
        reply = await api.request("DELETE", BASE, token=ADMIN)
        self.assertEqual(202, reply.code)
        reply = await api.request("GET", BASE, token=ADMIN)
        self.assertEqual((20, 10), (reply.json["quota_set"]["cores"],
                                    reply.json["quota_set"]["instances"]))
        self.assertEqual({"quotas": [], "project_user_quotas": []},
                         {k: v for k, v in api.snapshot().items()
                          if k in ("quotas", "project_user_quotas")})

    async def test_2_75_unknown_query_parameters(self):
        api = QuotaServer(self)
        for method, path, body in (("GET", BASE, None), ("GET", BASE + "/detail", None),
                                   ("PUT", BASE, {"quota_set": {"cores": 5}}),
                                   ("DELETE", BASE, None)):
            for microversion, ok in (("2.74", True), ("2.75", False)):
                reply = await api.request(method, path + "?foo=bar", token=ADMIN, body=body,
                                          headers=version(microversion))
                self.assertEqual(ok, reply.code < 400, (method, path, microversion))
        reply = await api.request("GET", BASE + "/defaults?foo=bar", token=ADMIN,
                                  headers=version("2.75"))
        self.assertEqual(200, reply.code)

    async def test_key_pairs_and_members_in_use_zero(self):
        api = QuotaServer(self)
        await api.import_keypair("k", token=f"admin:{PROJECT}")
        reply = await api.request("GET", BASE + "/detail", token=ADMIN)
        self.assertEqual(0, reply.json["quota_set"]["key_pairs"]["in_use"])
        self.assertEqual(0, reply.json["quota_set"]["server_group_members"]["in_use"])

    async def test_instances_counted_in_the_cells(self):
        api = QuotaServer(self)
        api.add_instance(PROJECT, "u1")
        api.add_instance(PROJECT, "u2")
        api.add_instance(PROJECT, "u1", vm_state="soft-delete")
        api.add_instance("elsewhere", "u1")
        reply = await api.request("GET", BASE + "/detail", token=ADMIN,
                                  headers=version("2.57"))
        body = reply.json["quota_set"]
        self.assertEqual((2, 4, 2048), (body["instances"]["in_use"], body["cores"]["in_use"],
                                        body["ram"]["in_use"]))
        reply = await api.request("GET", BASE + "/detail?user_id=u1", token=ADMIN)
        self.assertEqual(1, reply.json["quota_set"]["instances"]["in_use"])
        reply = await api.request("GET", "/v2.1/limits", token=ADMIN, headers=version("2.57"))
        absolute = reply.json["limits"]["absolute"]
        self.assertEqual((2, 4, 2048), (absolute["totalInstancesUsed"],
                                        absolute["totalCoresUsed"], absolute["totalRAMUsed"]))
        # Usage bounds updates.
        reply = await self.put(api, {"instances": 1})
        self.assertIn("already used and reserved 2.", reply.json["badRequest"]["message"])
        reply = await self.put(api, {"instances": 1, "force": True})
        self.assertEqual(200, reply.code)


class ProjectVerificationTest(unittest.TestCase):
    """With Keystone, show/detail/defaults/update refuse a project it does not know."""

    def fake_keystone(self) -> str:
        from twisted.internet import reactor
        from twisted.web import resource, server

        seen = self.seen = []

        class Projects(resource.Resource):
            isLeaf = True

            def render_GET(self, request):
                seen.append((request.path, request.getHeader(b"x-auth-token")))
                project = request.path.rsplit(b"/", 1)[-1]
                request.setResponseCode({b"known": 200, b"secret": 403,
                                         b"broken": 500}.get(project, 404))
                return b"{}"

        root = resource.Resource()
        v3 = resource.Resource()
        root.putChild(b"v3", v3)
        v3.putChild(b"projects", Projects())
        port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return "http://127.0.0.1:%d" % port.getHost().port

    async def test_verification(self):
        from nova_tx.api.project_verifier import KeystoneProjectVerifier
        from nova_tx.conf import keystone_authtoken

        api = QuotaServer(self)
        keystone_authtoken.register_opts(api.conf)
        api.conf.set_override("auth_url", self.fake_keystone(), group="keystone_authtoken")
        api.components["project_verifier"] = verifier = KeystoneProjectVerifier(api.conf)
        self.addCleanup(verifier.close)
        for project, ok in (("known", True), ("secret", True), ("broken", True),
                            ("missing", False)):
            for method, path, body in (("GET", "", None), ("GET", "/detail", None),
                                       ("GET", "/defaults", None),
                                       ("PUT", "", {"quota_set": {"cores": 3}})):
                before = api.snapshot()
                reply = await api.request(method, f"/v2.1/os-quota-sets/{project}{path}",
                                          token=ADMIN, body=body)
                if ok:
                    self.assertEqual(200, reply.code, (project, path, reply.raw))
                else:
                    self.assertEqual({"badRequest": {
                        "code": 400, "message": "Project ID missing is not a valid project."}},
                        reply.json)
                    self.assertEqual(before, api.snapshot())
        self.assertEqual(b"/v3/projects/known", self.seen[0][0])
        # Keystone out of reach: the project is taken to exist.
        api.components["project_verifier"] = verifier = KeystoneProjectVerifier(api.conf)
        self.addCleanup(verifier.close)
        api.components["project_verifier"].identity_url = "http://127.0.0.1:1/v3"
        reply = await api.request("GET", "/v2.1/os-quota-sets/missing", token=ADMIN)
        self.assertEqual(200, reply.code)

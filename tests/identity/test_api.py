"""The embedded identity over real HTTP: discovery, authentication, scoping,
validation, revocation, expiry and Keystone's errors."""
from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx.identity.directory import stable_id
from tests.identity.fixtures import PASSWORDS, RunningIdentity, make_conf

AUTH_REQUIRED = {"error": {"code": 401, "title": "Unauthorized",
                           "message": "The request you have made requires authentication."}}


def inline(method):
    def run(self):
        return defer.ensureDeferred(method(self))
    run.__name__ = method.__name__
    return run


class DiscoveryTest(unittest.TestCase):
    @inline
    async def test_root_lists_v3_with_300(self):
        identity = RunningIdentity(self)
        status, headers, body = await identity.request("GET", "/")
        self.assertEqual(300, status)
        (version,) = body["versions"]["values"]
        self.assertEqual("v3.14", version["id"])
        self.assertEqual("stable", version["status"])
        self.assertEqual([{"rel": "self", "href": identity.url + "/v3/"}], version["links"])

    @inline
    async def test_v3_answers_its_version(self):
        identity = RunningIdentity(self)
        for path in ("/v3", "/v3/"):
            status, _, body = await identity.request("GET", path)
            self.assertEqual(200, status)
            self.assertEqual("v3.14", body["version"]["id"])
            self.assertEqual("application/vnd.openstack.identity-v3+json",
                             body["version"]["media-types"][0]["type"])

    @inline
    async def test_unknown_url_is_keystones_404(self):
        identity = RunningIdentity(self)
        status, _, body = await identity.request("GET", "/v3/nothing")
        self.assertEqual(404, status)
        self.assertEqual(404, body["error"]["code"])


class PasswordAuthTest(unittest.TestCase):
    @inline
    async def test_project_scoped_token(self):
        identity = RunningIdentity(self)
        status, token_id, body = await identity.password_token("admin", project="admin")
        self.assertEqual(201, status)
        self.assertTrue(token_id)
        token = body["token"]
        self.assertEqual(["password"], token["methods"])
        self.assertEqual({"id": stable_id("user", "admin"), "name": "admin",
                          "domain": {"id": "default", "name": "Default"},
                          "password_expires_at": None}, token["user"])
        self.assertEqual({"id": stable_id("project", "admin"), "name": "admin",
                          "domain": {"id": "default", "name": "Default"}},
                         token["project"])
        # admin implies member, which implies reader (Keystone's bootstrap rules).
        self.assertEqual(["admin", "member", "reader"], [r["name"] for r in token["roles"]])
        self.assertEqual(1, len(token["audit_ids"]))
        self.assertTrue(token["expires_at"].endswith("Z"))
        self.assertTrue(token["issued_at"] < token["expires_at"])
        types = {s["type"]: s for s in token["catalog"]}
        self.assertEqual({"identity", "compute", "placement", "image", "network"},
                         set(types))
        compute = types["compute"]
        self.assertEqual("nova", compute["name"])
        self.assertEqual({"public", "internal", "admin"},
                         {e["interface"] for e in compute["endpoints"]})
        self.assertTrue(all(e["url"] == "http://127.0.0.1:8774/v2.1" and
                            e["region"] == "RegionOne" for e in compute["endpoints"]))
        self.assertEqual(identity.url + "/v3", types["identity"]["endpoints"][0]["url"])

    @inline
    async def test_user_by_id_and_project_by_id(self):
        identity = RunningIdentity(self)
        auth = {"identity": {"methods": ["password"], "password": {"user": {
            "id": stable_id("user", "demo"), "password": PASSWORDS["demo"]}}},
            "scope": {"project": {"id": stable_id("project", "other")}}}
        status, _, body = await identity.request("POST", "/v3/auth/tokens",
                                                 body={"auth": auth})
        self.assertEqual(201, status)
        self.assertEqual("other", body["token"]["project"]["name"])
        self.assertEqual(["reader"], [r["name"] for r in body["token"]["roles"]])

    @inline
    async def test_no_scope_means_the_default_project(self):
        identity = RunningIdentity(self)
        status, _, body = await identity.password_token("demo")
        self.assertEqual(201, status)
        self.assertEqual("demo", body["token"]["project"]["name"])
        self.assertEqual(["member", "reader"], [r["name"] for r in body["token"]["roles"]])

    @inline
    async def test_explicitly_unscoped(self):
        identity = RunningIdentity(self)
        status, _, body = await identity.password_token("demo", scope="unscoped")
        self.assertEqual(201, status)
        token = body["token"]
        for key in ("project", "roles", "catalog", "system"):
            self.assertNotIn(key, token)

    @inline
    async def test_system_scope_for_admins_only(self):
        identity = RunningIdentity(self)
        status, _, body = await identity.password_token(
            "admin", scope={"system": {"all": True}})
        self.assertEqual(201, status)
        self.assertEqual({"all": True}, body["token"]["system"])
        self.assertIn("admin", [r["name"] for r in body["token"]["roles"]])
        status, _, body = await identity.password_token(
            "demo", scope={"system": {"all": True}})
        self.assertEqual(401, status)

    @inline
    async def test_nocatalog(self):
        identity = RunningIdentity(self)
        status, _, body = await identity.password_token("admin", project="admin",
                                                        query="?nocatalog")
        self.assertEqual(201, status)
        self.assertNotIn("catalog", body["token"])

    @inline
    async def test_wrong_password_is_401_with_keystones_body(self):
        identity = RunningIdentity(self)
        auth = {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "wrong"}}}}
        status, headers, body = await identity.request("POST", "/v3/auth/tokens",
                                                       body={"auth": auth})
        self.assertEqual(401, status)
        self.assertEqual(AUTH_REQUIRED, body)
        self.assertEqual([f'Keystone uri="{identity.url}"'],
                         headers.getRawHeaders("WWW-Authenticate"))

    @inline
    async def test_unknown_user_domain_or_project_is_401(self):
        identity = RunningIdentity(self)
        for user, domain, scope in [
                ("nobody", {"id": "default"}, None),
                ("admin", {"id": "elsewhere"}, None),
                ("admin", {"id": "default"},
                 {"project": {"name": "nowhere", "domain": {"id": "default"}}}),
                # demo has no role on project admin
                ("demo", {"id": "default"},
                 {"project": {"name": "admin", "domain": {"id": "default"}}}),
                ("admin", {"id": "default"}, {"domain": {"id": "default"}})]:
            auth = {"identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": domain,
                "password": PASSWORDS.get(user, "x")}}}}
            if scope is not None:
                auth["scope"] = scope
            status, _, body = await identity.request("POST", "/v3/auth/tokens",
                                                     body={"auth": auth})
            self.assertEqual((401, AUTH_REQUIRED), (status, body), (user, domain, scope))

    @inline
    async def test_unsupported_method_is_401(self):
        identity = RunningIdentity(self)
        auth = {"identity": {"methods": ["totp"], "totp": {"user": {"id": "x"}}}}
        status, _, body = await identity.request("POST", "/v3/auth/tokens",
                                                 body={"auth": auth})
        self.assertEqual(401, status)


class MalformedBodyTest(unittest.TestCase):
    async def _post(self, identity, **kwargs):
        return await identity.request("POST", "/v3/auth/tokens", **kwargs)

    @inline
    async def test_malformed_bodies_are_400(self):
        identity = RunningIdentity(self)
        cases = [
            (dict(raw=b"{not json"), "Expecting to find valid JSON in request body."),
            (dict(body=[1, 2]), "Expecting to find valid JSON object in request body."),
            (dict(body={}), "'identity' is a required property"),
            (dict(body={"auth": {"identity": {}}}),
             "Invalid input for field 'identity': 'methods' is a required property"),
            (dict(body={"auth": {"identity": {"methods": "password"}}}),
             "Invalid input for field 'identity/methods': 'password' is not of type "
             "'array'"),
            (dict(body={"auth": {"identity": {"methods": ["password"]}}}),
             "Expecting to find password in identity."),
            (dict(body={"auth": {"identity": {"methods": ["password"], "password": {
                "user": {"name": "admin", "password": "x"}}}}}),
             "Expecting to find domain in user."),
            (dict(body={"auth": {"identity": {"methods": ["password"], "password": {
                "user": {"id": "x", "password": "x"}}},
                "scope": {"project": {"name": "admin"}}}}),
             "Expecting to find domain in project."),
            (dict(body={"auth": {"identity": {"methods": ["password"], "password": {
                "user": {"id": "x", "password": "x"}}}, "scope": {}}}),
             "Expecting to find project, domain, OS-TRUST:trust or system in scope."),
            (dict(raw=b"{}", headers={"Content-Type": "text/plain"}),
             "Expecting to find application/json in Content-Type header."),
        ]
        for kwargs, message in cases:
            status, _, body = await self._post(identity, **kwargs)
            self.assertEqual(400, status, kwargs)
            self.assertEqual("Bad Request", body["error"]["title"])
            self.assertEqual(400, body["error"]["code"])
            self.assertTrue(body["error"]["message"].startswith(message),
                            (kwargs, body["error"]["message"]))


class TokenTest(unittest.TestCase):
    @inline
    async def test_token_method_rescopes_and_keeps_expiry_and_audit_chain(self):
        identity = RunningIdentity(self)
        _, unscoped, first = await identity.password_token("demo", scope="unscoped")
        identity.clock.advance(100)
        auth = {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                "scope": {"project": {"name": "other", "domain": {"id": "default"}}}}
        status, headers, body = await identity.request("POST", "/v3/auth/tokens",
                                                       body={"auth": auth})
        self.assertEqual(201, status)
        token = body["token"]
        self.assertEqual("other", token["project"]["name"])
        self.assertEqual(["password", "token"], token["methods"])
        self.assertEqual(first["token"]["expires_at"], token["expires_at"])
        self.assertEqual(first["token"]["audit_ids"][0], token["audit_ids"][1])
        self.assertNotEqual(unscoped, headers.getRawHeaders("X-Subject-Token")[0])

    @inline
    async def test_token_method_with_unknown_token_is_401(self):
        identity = RunningIdentity(self)
        auth = {"identity": {"methods": ["token"], "token": {"id": "nope"}}}
        status, _, body = await identity.request("POST", "/v3/auth/tokens",
                                                 body={"auth": auth})
        self.assertEqual((401, AUTH_REQUIRED), (status, body))

    @inline
    async def test_validation_by_a_service_and_by_the_owner(self):
        identity = RunningIdentity(self)
        _, user_token, issued = await identity.password_token("demo", project="demo")
        _, service_token, _ = await identity.password_token("nova", project="service")
        for caller in (service_token, user_token):
            status, headers, body = await identity.request(
                "GET", "/v3/auth/tokens",
                headers={"X-Auth-Token": caller, "X-Subject-Token": user_token})
            self.assertEqual(200, status)
            self.assertEqual([user_token], headers.getRawHeaders("X-Subject-Token"))
            self.assertEqual(issued["token"], body["token"])
        status, _, body = await identity.request(
            "GET", "/v3/auth/tokens?nocatalog",
            headers={"X-Auth-Token": service_token, "X-Subject-Token": user_token})
        self.assertEqual(200, status)
        self.assertNotIn("catalog", body["token"])
        status, _, body = await identity.request(
            "HEAD", "/v3/auth/tokens",
            headers={"X-Auth-Token": service_token, "X-Subject-Token": user_token})
        self.assertEqual((200, None), (status, body))

    @inline
    async def test_validation_of_someone_elses_token_needs_a_role(self):
        identity = RunningIdentity(self)
        _, admin_token, _ = await identity.password_token("admin", project="admin")
        _, demo_token, _ = await identity.password_token("demo", project="demo")
        status, _, body = await identity.request(
            "GET", "/v3/auth/tokens",
            headers={"X-Auth-Token": demo_token, "X-Subject-Token": admin_token})
        self.assertEqual(403, status)
        self.assertEqual("Forbidden", body["error"]["title"])

    @inline
    async def test_validation_needs_a_valid_caller_token(self):
        identity = RunningIdentity(self)
        _, demo_token, _ = await identity.password_token("demo", project="demo")
        for headers in ({"X-Subject-Token": demo_token},
                        {"X-Auth-Token": "bogus", "X-Subject-Token": demo_token}):
            status, _, body = await identity.request("GET", "/v3/auth/tokens",
                                                     headers=headers)
            self.assertEqual((401, AUTH_REQUIRED), (status, body))

    @inline
    async def test_unknown_subject_is_404(self):
        identity = RunningIdentity(self)
        _, service_token, _ = await identity.password_token("nova", project="service")
        for method in ("GET", "HEAD", "DELETE"):
            status, _, body = await identity.request(
                method, "/v3/auth/tokens",
                headers={"X-Auth-Token": service_token, "X-Subject-Token": "bogus"})
            self.assertEqual(404, status, method)
            if method == "GET":
                self.assertEqual({"error": {"code": 404, "title": "Not Found",
                                            "message": "Could not find token: bogus."}},
                                 body)

    @inline
    async def test_revocation(self):
        identity = RunningIdentity(self)
        _, demo_token, _ = await identity.password_token("demo", project="demo")
        _, service_token, _ = await identity.password_token("nova", project="service")
        headers = {"X-Auth-Token": service_token, "X-Subject-Token": demo_token}
        status, _, _ = await identity.request("DELETE", "/v3/auth/tokens", headers=headers)
        self.assertEqual(204, status)
        status, _, _ = await identity.request("GET", "/v3/auth/tokens", headers=headers)
        self.assertEqual(404, status)
        # the revoked token no longer authenticates its holder either
        status, _, _ = await identity.request(
            "GET", "/v3/auth/projects", headers={"X-Auth-Token": demo_token})
        self.assertEqual(401, status)

    @inline
    async def test_owner_revokes_its_own_token(self):
        identity = RunningIdentity(self)
        _, demo_token, _ = await identity.password_token("demo", project="demo")
        headers = {"X-Auth-Token": demo_token, "X-Subject-Token": demo_token}
        status, _, _ = await identity.request("DELETE", "/v3/auth/tokens", headers=headers)
        self.assertEqual(204, status)
        status, _, _ = await identity.request("GET", "/v3/auth/tokens", headers=headers)
        self.assertEqual(401, status)

    @inline
    async def test_expiry(self):
        identity = RunningIdentity(self, make_conf(identity_token_expiration=600))
        _, demo_token, body = await identity.password_token("demo", project="demo")
        self.assertAlmostEqual(600, _seconds(body["token"]["expires_at"])
                               - _seconds(body["token"]["issued_at"]), places=4)
        identity.clock.advance(599)
        _, service_token, _ = await identity.password_token("nova", project="service")
        headers = {"X-Auth-Token": service_token, "X-Subject-Token": demo_token}
        status, _, _ = await identity.request("GET", "/v3/auth/tokens", headers=headers)
        self.assertEqual(200, status)
        identity.clock.advance(1)
        status, _, _ = await identity.request("GET", "/v3/auth/tokens", headers=headers)
        self.assertEqual(404, status)
        auth = {"identity": {"methods": ["token"], "token": {"id": demo_token}}}
        status, _, _ = await identity.request("POST", "/v3/auth/tokens",
                                              body={"auth": auth})
        self.assertEqual(401, status)

    @inline
    async def test_expired_tokens_are_forgotten(self):
        identity = RunningIdentity(self, make_conf(identity_token_expiration=10))
        for _ in range(3):
            await identity.password_token("demo", project="demo")
        self.assertEqual(3, len(identity.api.tokens))
        identity.clock.advance(61)
        await identity.password_token("demo", project="demo")
        self.assertEqual(1, len(identity.api.tokens))


class AuthListingsTest(unittest.TestCase):
    @inline
    async def test_catalog_projects_domains_system(self):
        identity = RunningIdentity(self)
        _, token, issued = await identity.password_token("demo", project="demo")
        headers = {"X-Auth-Token": token}
        status, _, body = await identity.request("GET", "/v3/auth/catalog",
                                                 headers=headers)
        self.assertEqual(200, status)
        self.assertEqual(issued["token"]["catalog"], body["catalog"])
        status, _, body = await identity.request("GET", "/v3/auth/projects",
                                                 headers=headers)
        self.assertEqual(200, status)
        self.assertEqual(["demo", "other"], sorted(p["name"] for p in body["projects"]))
        self.assertEqual(identity.url + "/v3/auth/projects", body["links"]["self"])
        status, _, body = await identity.request("GET", "/v3/auth/domains",
                                                 headers=headers)
        self.assertEqual((200, []), (status, body["domains"]))
        status, _, body = await identity.request("GET", "/v3/auth/system",
                                                 headers=headers)
        self.assertEqual((200, []), (status, body["system"]))
        status, _, body = await identity.request("GET", "/v3/auth/catalog")
        self.assertEqual(401, status)

    @inline
    async def test_unscoped_token_has_no_catalog(self):
        identity = RunningIdentity(self)
        _, token, _ = await identity.password_token("demo", scope="unscoped")
        status, _, body = await identity.request("GET", "/v3/auth/catalog",
                                                 headers={"X-Auth-Token": token})
        self.assertEqual(403, status)

    @inline
    async def test_directory_reads(self):
        identity = RunningIdentity(self)
        _, admin_token, _ = await identity.password_token("admin", project="admin")
        _, demo_token, _ = await identity.password_token("demo", project="demo")
        status, _, body = await identity.request("GET", "/v3/projects",
                                                 headers={"X-Auth-Token": admin_token})
        self.assertEqual(200, status)
        self.assertEqual({"admin", "demo", "service", "other"},
                         {p["name"] for p in body["projects"]})
        status, _, _ = await identity.request("GET", "/v3/projects",
                                              headers={"X-Auth-Token": demo_token})
        self.assertEqual(403, status)
        demo_id = stable_id("user", "demo")
        status, _, body = await identity.request(
            "GET", f"/v3/users/{demo_id}", headers={"X-Auth-Token": demo_token})
        self.assertEqual((200, "demo"), (status, body["user"]["name"]))
        status, _, body = await identity.request(
            "GET", f"/v3/projects/{stable_id('project', 'demo')}",
            headers={"X-Auth-Token": demo_token})
        self.assertEqual((200, "demo"), (status, body["project"]["name"]))


def _seconds(stamp: str) -> float:
    import datetime

    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.UTC).timestamp()

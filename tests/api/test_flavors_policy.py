"""Who gets what on every flavor route under Nova 26's default policy, with
``enforce_new_defaults`` off and on.

Flavors belong to no project; the "owning project" here is the project a private
flavor is shared with. The personas: the admin, a member and a reader of that
project, and a member of another project. The expected statuses are Nova's: reads of
flavors need no rule (a private flavor is a 404 to a project it is not shared with),
every write is admin-only (``rule:context_is_admin``, deprecated ``admin_api``), the
extra-spec reads are ``project_reader_or_admin`` (deprecated ``admin_or_owner``), and
the access list is admin-only with new defaults but was ``admin_or_owner`` before, so
with the old defaults any project member may read it.
"""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.flavor_server import ADMIN, FlavorServer, version

OWNER = "ownerproj"
PERSONAS = {
    "admin": ("admin:" + OWNER, {}),
    "member": ("member:" + OWNER, {"X-Roles": "member,reader"}),
    "reader": ("reader:" + OWNER, {"X-Roles": "reader"}),
    "other_member": ("other:elsewhere", {"X-Roles": "member,reader"}),
}
ALL = set(PERSONAS)
OWNERS = {"admin", "member", "reader"}

# (name, method, path, body, microversion, who may, status when allowed,
#  status when refused, status when allowed by policy but not visible)
ROUTES = [
    ("list", "GET", "/flavors", None, "2.1", ALL, 200),
    ("detail", "GET", "/flavors/detail", None, "2.61", ALL, 200),
    ("show_private", "GET", "/flavors/priv", None, "2.1", ALL, 200),
    ("create", "POST", "/flavors",
     {"flavor": {"name": "new", "ram": 1, "vcpus": 1, "disk": 0}}, "2.1", {"admin"}, 200),
    ("update", "PUT", "/flavors/pub", {"flavor": {"description": "d"}}, "2.55",
     {"admin"}, 200),
    ("delete", "DELETE", "/flavors/pub", None, "2.1", {"admin"}, 202),
    ("access_list", "GET", "/flavors/priv/os-flavor-access", None, "2.1", "access", 200),
    ("add_tenant_access", "POST", "/flavors/priv/action",
     {"addTenantAccess": {"tenant": "third"}}, "2.7", {"admin"}, 200),
    ("remove_tenant_access", "POST", "/flavors/priv/action",
     {"removeTenantAccess": {"tenant": OWNER}}, "2.7", {"admin"}, 200),
    ("extra_specs_index", "GET", "/flavors/priv/os-extra_specs", None, "2.1", ALL, 200),
    ("extra_specs_show", "GET", "/flavors/priv/os-extra_specs/k", None, "2.1", ALL, 200),
    ("extra_specs_create", "POST", "/flavors/pub/os-extra_specs",
     {"extra_specs": {"k2": "v"}}, "2.86", {"admin"}, 200),
    ("extra_specs_update", "PUT", "/flavors/pub/os-extra_specs/k2", {"k2": "v"}, "2.86",
     {"admin"}, 200),
    ("extra_specs_delete", "DELETE", "/flavors/pub/os-extra_specs/hw:numa_nodes", None,
     "2.1", {"admin"}, 200),
]


def allowed(who, enforce_new_defaults: bool) -> set[str]:
    if who == "access":
        return {"admin"} if enforce_new_defaults else ALL
    return who


def expected(persona: str, route, enforce_new_defaults: bool) -> int:
    name, _, path, _, _, who, ok = route
    if persona not in allowed(who, enforce_new_defaults):
        return 403
    if "priv" in path and persona not in OWNERS:
        return 404  # the flavor is not shared with that project
    return ok


class PolicyMatrixTests(unittest.TestCase):
    async def server(self, enforce_new_defaults: bool) -> FlavorServer:
        api = FlavorServer(self, enforce_new_defaults=enforce_new_defaults)
        await api.create_flavor({"name": "pub", "id": "pub", "ram": 1, "vcpus": 1,
                                 "disk": 0})
        await api.set_extra_specs("pub", {"hw:numa_nodes": "1"})
        await api.create_flavor({"name": "priv", "id": "priv", "ram": 1, "vcpus": 1,
                                 "disk": 0, "os-flavor-access:is_public": False})
        await api.set_extra_specs("priv", {"k": "v"})
        await api.add_access("priv", OWNER)
        return api

    async def check(self, enforce_new_defaults: bool):
        results = {}
        for persona, (token, headers) in PERSONAS.items():
            for route in ROUTES:
                # A fresh database for each call, so every call meets the same state.
                api = await self.server(enforce_new_defaults)
                before = api.snapshot()
                sent = len(api.notifications())
                name, method, path, body, microversion = route[:5]
                reply = await api.request(method, "/v2.1" + path, body=body, token=token,
                                          headers={**version(microversion), **headers})
                want = expected(persona, route, enforce_new_defaults)
                results[persona, name] = (reply.code, want)
                if reply.code >= 400:
                    self.assertEqual([reply.code], [v["code"] for v in reply.json.values()])
                    self.assertEqual(before, api.snapshot(), (persona, name))
                    self.assertEqual(sent, len(api.notifications()))
                if reply.code == 403:
                    self.assertIn("Policy doesn't allow", reply.json["forbidden"]["message"])
        wrong = {k: v for k, v in results.items() if v[0] != v[1]}
        self.assertEqual({}, wrong, "(got, expected) per (persona, route)")

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

    async def test_extra_specs_in_flavor_follow_the_index_rule(self):
        """2.61: a caller whom ``os-flavor-extra-specs:index`` refuses gets flavors
        without ``extra_specs`` (policy.yaml overrides the rule)."""
        import os
        import tempfile

        folder = tempfile.mkdtemp()
        path = os.path.join(folder, "policy.yaml")
        with open(path, "w") as f:
            f.write('"os_compute_api:os-flavor-extra-specs:index": "rule:context_is_admin"\n')
        api = FlavorServer(self, enforce_new_defaults=True, policy_file=path)
        await api.create_flavor({"name": "pub", "id": "pub", "ram": 1, "vcpus": 1,
                                 "disk": 0})
        token, headers = PERSONAS["member"]
        for route in ("/flavors/pub", "/flavors/detail"):
            reply = await api.request("GET", "/v2.1" + route, token=token,
                                      headers={**version("2.61"), **headers})
            flavor = reply.json.get("flavor") or reply.json["flavors"][0]
            self.assertNotIn("extra_specs", flavor)
            reply = await api.request("GET", "/v2.1" + route, token=ADMIN,
                                      headers=version("2.61"))
            flavor = reply.json.get("flavor") or reply.json["flavors"][0]
            self.assertEqual({}, flavor["extra_specs"])
        reply = await api.request(
            "POST", "/v2.1/flavors", token=ADMIN, headers=version("2.61"),
            body={"flavor": {"name": "n", "ram": 1, "vcpus": 1, "disk": 0}})
        self.assertEqual({}, reply.json["flavor"]["extra_specs"])

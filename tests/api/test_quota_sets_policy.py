"""Who may call /os-quota-sets, /limits and /os-availability-zone: the admin, a member
and a reader of the owning project and a member of another project, with
[oslo_policy] enforce_new_defaults off and on (Zed's defaults: show and detail for
the project's readers, update and delete for admins, defaults, limits and the zone
list for anyone, another project's limits for admins)."""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.quota_server import QuotaServer

OWNER = "0wner"
OTHER = "07her"
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
    "other_member": ("bob:" + OTHER, "member,reader"),
}
EVERYONE = frozenset(PERSONAS)
OWNERS = frozenset({"admin", "member", "reader"})
ADMINS = frozenset({"admin"})

BASE = f"/v2.1/os-quota-sets/{OWNER}"
#: (method, path, body, allowed personas, policy named in the 403)
MATRIX = [
    ("GET", BASE, None, OWNERS, "os_compute_api:os-quota-sets:show"),
    ("GET", BASE + "?user_id=alice", None, OWNERS, "os_compute_api:os-quota-sets:show"),
    ("GET", BASE + "/detail", None, OWNERS, "os_compute_api:os-quota-sets:detail"),
    ("GET", BASE + "/defaults", None, EVERYONE, "os_compute_api:os-quota-sets:defaults"),
    ("PUT", BASE, {"quota_set": {"cores": 30}}, ADMINS, "os_compute_api:os-quota-sets:update"),
    ("PUT", BASE + "?user_id=alice", {"quota_set": {"cores": 3}}, ADMINS,
     "os_compute_api:os-quota-sets:update"),
    ("DELETE", BASE + "?user_id=alice", None, ADMINS, "os_compute_api:os-quota-sets:delete"),
    ("DELETE", BASE, None, ADMINS, "os_compute_api:os-quota-sets:delete"),
    ("GET", "/v2.1/limits", None, EVERYONE, "os_compute_api:limits"),
    ("GET", "/v2.1/limits?tenant_id=third", None, ADMINS,
     "os_compute_api:limits:other_project"),
    ("GET", "/v2.1/os-availability-zone", None, EVERYONE,
     "os_compute_api:os-availability-zone:list"),
]


class QuotaPolicyMatrixTest(unittest.TestCase):

    async def check(self, enforce_new_defaults: bool):
        api = QuotaServer(self, enforce_new_defaults=enforce_new_defaults)
        for method, path, body, allowed, rule in MATRIX:
            for persona, (token, roles) in PERSONAS.items():
                before = api.snapshot()
                headers = {"X-Roles": roles} if roles else {}
                reply = await api.request(method, path, token=token, headers=headers,
                                          body=body)
                where = (enforce_new_defaults, method, path, persona)
                if persona in allowed:
                    self.assertLess(reply.code, 300, (where, reply.raw))
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

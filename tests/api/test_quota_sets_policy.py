"""Who may call /os-quota-sets, /limits and /os-availability-zone: the admin, a member
and a reader of the owning project and a member of another project, with
[oslo_policy] enforce_new_defaults off and on (Zed's defaults: show and detail for
the project's readers, update and delete for admins, defaults, limits and the zone
list for anyone, another project's limits for admins)."""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.policy_matrix import (
    ADMINS,
    EVERYONE,
    OWNER,
    OWNERS,
    PERSONAS,
    assert_decision,
    headers_of,
)
from tests.api.quota_server import QuotaServer

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
            for persona, (token, _) in PERSONAS.items():
                before = api.snapshot()
                reply = await api.request(method, path, token=token,
                                          headers=headers_of(persona), body=body)
                assert_decision(self, reply, persona in allowed, rule,
                                (enforce_new_defaults, method, path, persona),
                                before, api.snapshot)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

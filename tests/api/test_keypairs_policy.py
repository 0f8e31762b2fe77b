"""Who may use /os-keypairs: everyone their own key pairs; only admins another user's
(``user_id``, 2.10), for the admin, a member and a reader of the project and a member
of another project, with [oslo_policy] enforce_new_defaults off and on."""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.quota_server import PUBLIC_KEY, QuotaServer, version

OWNER = "0wner"
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
    "other_member": ("bob:07her", "member,reader"),
}
V210 = version("2.10")


class KeypairPolicyMatrixTest(unittest.TestCase):

    async def call(self, api, persona, method, path, body=None):
        token, roles = PERSONAS[persona]
        headers = dict(V210, **({"X-Roles": roles} if roles else {}))
        return await api.request(method, path, token=token, headers=headers, body=body)

    async def check(self, enforce_new_defaults: bool):
        api = QuotaServer(self, enforce_new_defaults=enforce_new_defaults)
        # Everyone may manage their own key pairs.
        for persona in PERSONAS:
            body = {"keypair": {"name": "own", "public_key": PUBLIC_KEY}}
            steps = [("POST", "/v2.1/os-keypairs", body, 201),
                     ("GET", "/v2.1/os-keypairs", None, 200),
                     ("GET", "/v2.1/os-keypairs/own", None, 200),
                     ("DELETE", "/v2.1/os-keypairs/own", None, 204)]
            for method, path, request, status in steps:
                reply = await self.call(api, persona, method, path, request)
                self.assertEqual(status, reply.code, (persona, method, path, reply.raw))
        # alice's key pair: only alice and the admin.
        reply = await self.call(api, "member", "POST", "/v2.1/os-keypairs",
                                {"keypair": {"name": "hers", "public_key": PUBLIC_KEY}})
        self.assertEqual(201, reply.code)
        for persona in PERSONAS:
            allowed = persona in ("admin", "member")
            for method, path, request, action in (
                    ("GET", "/v2.1/os-keypairs?user_id=alice", None, "index"),
                    ("GET", "/v2.1/os-keypairs/hers?user_id=alice", None, "show"),
                    ("POST", "/v2.1/os-keypairs",
                     {"keypair": {"name": "for-alice-" + persona, "user_id": "alice",
                                  "public_key": PUBLIC_KEY}}, "create"),
                    ("DELETE", "/v2.1/os-keypairs/for-alice-" + persona + "?user_id=alice",
                     None, "delete")):
                before = api.snapshot()
                reply = await self.call(api, persona, method, path, request)
                where = (enforce_new_defaults, persona, method, path)
                if allowed:
                    self.assertLess(reply.code, 300, (where, reply.raw))
                else:
                    self.assertEqual({"forbidden": {"code": 403, "message":
                                      "Policy doesn't allow os_compute_api:os-keypairs:%s "
                                      "to be performed." % action}}, reply.json, where)
                    self.assertEqual(before, api.snapshot(), where)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

"""Who may use /os-server-groups under Nova 26's default policy, with
``[oslo_policy] enforce_new_defaults`` off and on: the admin, a member and a reader of
the project that owns a group, and a member of another project.

Nova's defaults: create is ``project_member_or_admin``, list and show
``project_reader_or_admin``, delete ``project_member_or_admin`` (each with the
deprecated ``admin_or_owner``, which lets a reader through while the old defaults
count); every project's groups (``all_projects``) are for admins, and a non-admin who
asks for them gets their own groups rather than an error.
"""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.quota_server import version
from tests.api.server_group_server import ServerGroupServer
from tests.helpers import write_config

OWNER = "0wner"
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
    "other_member": ("bob:07her", "member,reader"),
}
PATH = "/v2.1/os-server-groups"


def denied(action: str) -> dict:
    return {"forbidden": {"code": 403, "message": "Policy doesn't allow "
                          "os_compute_api:os-server-groups:%s to be performed." % action}}


class ServerGroupPolicyMatrixTest(unittest.TestCase):

    async def call(self, api, persona, method, path, body=None):
        token, roles = PERSONAS[persona]
        headers = dict(version("2.64"), **({"X-Roles": roles} if roles else {}))
        return await api.request(method, path, token=token, headers=headers, body=body)

    async def check(self, enforce_new_defaults: bool):
        api = ServerGroupServer(self, enforce_new_defaults=enforce_new_defaults)
        body = {"server_group": {"name": "g", "policy": "affinity"}}
        # Each persona makes a group in their own project.
        may_create = {"admin", "member", "other_member"} | (
            set() if enforce_new_defaults else {"reader"})
        for persona in PERSONAS:
            before = api.snapshot()
            reply = await self.call(api, persona, "POST", PATH, body)
            where = (enforce_new_defaults, persona)
            if persona in may_create:
                self.assertEqual(200, reply.code, (where, reply.raw))
            else:
                self.assertEqual(denied("create"), reply.json, where)
                self.assertEqual(before, api.snapshot(), where)
        # Everyone lists their own project's groups; only the admin every project's.
        for persona in PERSONAS:
            reply = await self.call(api, persona, "GET", PATH)
            self.assertEqual(200, reply.code, reply.raw)
            own = {g["project_id"] for g in reply.json["server_groups"]}
            self.assertLessEqual(own, {PERSONAS[persona][0].split(":")[1]}, persona)
            reply = await self.call(api, persona, "GET", PATH + "?all_projects=1")
            projects = {g["project_id"] for g in reply.json["server_groups"]}
            if persona == "admin":
                self.assertEqual({OWNER, "07her"}, projects)
            else:
                self.assertLessEqual(projects, {PERSONAS[persona][0].split(":")[1]})
        # The owner's group: show and delete.
        reply = await self.call(api, "member", "POST", PATH, body)
        group = reply.json["server_group"]["id"]
        readers = {"admin", "member", "reader"}
        deleters = {"admin", "member"} | (set() if enforce_new_defaults else {"reader"})
        for persona in PERSONAS:
            reply = await self.call(api, persona, "GET", f"{PATH}/{group}")
            where = (enforce_new_defaults, persona)
            if persona in readers:
                self.assertEqual(200, reply.code, (where, reply.raw))
            else:
                self.assertEqual(denied("show"), reply.json, where)
        for persona in ("other_member", "reader", "member"):
            before = api.snapshot()
            reply = await self.call(api, persona, "DELETE", f"{PATH}/{group}")
            where = (enforce_new_defaults, persona)
            if persona in deleters:
                self.assertEqual(204, reply.code, (where, reply.raw))
                break
            self.assertEqual(denied("delete"), reply.json, where)
            self.assertEqual(before, api.snapshot(), where)
        # The admin deletes another project's group.
        reply = await self.call(api, "other_member", "POST", PATH, body)
        theirs = reply.json["server_group"]["id"]
        reply = await self.call(api, "admin", "DELETE", f"{PATH}/{theirs}")
        self.assertEqual(204, reply.code, reply.raw)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

    async def test_all_projects_rule_applies_to_admins(self):
        # An operator who takes index:all_projects away from admins gets a 403.
        path = write_config(self, '"os_compute_api:os-server-groups:index:all_projects": '
                                  '"!"\n', "policy.yaml")
        api = ServerGroupServer(self, policy_file=path)
        reply = await api.request("GET", PATH + "?all_projects=1", token="admin:" + OWNER)
        self.assertEqual(denied("index:all_projects"), reply.json)
        reply = await api.request("GET", PATH, token="admin:" + OWNER)
        self.assertEqual(200, reply.code, reply.raw)

"""Who may read and change servers, their metadata, tags and instance actions: the
admin, a member and a reader of the owning project and a member of another project,
with [oslo_policy] enforce_new_defaults off and on (Zed's defaults: reads for the
project's readers, changes for its members, all_tenants for admins; before the new
defaults, the owner rule lets the project's readers change too). A refusal is Nova's
403 fault naming the policy and changes nothing."""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.policy_matrix import (
    ADMINS,
    EVERYONE,
    MEMBERS,
    OWNER,
    OWNERS,
    PERSONAS,
    assert_decision,
    headers_of,
)
from tests.api.servers_server import ServersServer, version

S = "/v2.1/servers/{uuid}"
#: (method, path, body, allowed with the old defaults, with the new, policy in the 403)
MATRIX = [
    ("GET", "/v2.1/servers", None, EVERYONE, EVERYONE, "os_compute_api:servers:index"),
    ("GET", "/v2.1/servers/detail", None, EVERYONE, EVERYONE,
     "os_compute_api:servers:detail"),
    ("GET", "/v2.1/servers?all_tenants=1", None, ADMINS, ADMINS,
     "os_compute_api:servers:index:get_all_tenants"),
    ("GET", "/v2.1/servers/detail?all_tenants=1", None, ADMINS, ADMINS,
     "os_compute_api:servers:detail:get_all_tenants"),
    ("GET", S, None, OWNERS, OWNERS, "os_compute_api:servers:show"),
    ("PUT", S, {"server": {"name": "renamed"}}, OWNERS, MEMBERS,
     "os_compute_api:servers:update"),
    ("GET", S + "/metadata", None, OWNERS, OWNERS, "os_compute_api:server-metadata:index"),
    ("GET", S + "/metadata/a", None, OWNERS, OWNERS, "os_compute_api:server-metadata:show"),
    ("POST", S + "/metadata", {"metadata": {"b": "2"}}, OWNERS, MEMBERS,
     "os_compute_api:server-metadata:create"),
    ("PUT", S + "/metadata", {"metadata": {"a": "1"}}, OWNERS, MEMBERS,
     "os_compute_api:server-metadata:update_all"),
    ("PUT", S + "/metadata/a", {"meta": {"a": "2"}}, OWNERS, MEMBERS,
     "os_compute_api:server-metadata:update"),
    ("DELETE", S + "/metadata/a", None, OWNERS, MEMBERS,
     "os_compute_api:server-metadata:delete"),
    ("GET", S + "/tags", None, OWNERS, OWNERS, "os_compute_api:os-server-tags:index"),
    ("GET", S + "/tags/t", None, OWNERS, OWNERS, "os_compute_api:os-server-tags:show"),
    ("PUT", S + "/tags", {"tags": ["t"]}, OWNERS, MEMBERS,
     "os_compute_api:os-server-tags:update_all"),
    ("PUT", S + "/tags/u", None, OWNERS, MEMBERS, "os_compute_api:os-server-tags:update"),
    ("DELETE", S + "/tags/t", None, OWNERS, MEMBERS,
     "os_compute_api:os-server-tags:delete"),
    ("DELETE", S + "/tags", None, OWNERS, MEMBERS,
     "os_compute_api:os-server-tags:delete_all"),
    ("GET", S + "/os-instance-actions", None, OWNERS, OWNERS,
     "os_compute_api:os-instance-actions:list"),
    ("GET", S + "/os-instance-actions/req-1", None, OWNERS, OWNERS,
     "os_compute_api:os-instance-actions:show"),
    ("DELETE", S, None, OWNERS, MEMBERS, "os_compute_api:servers:delete"),
]


class ServersPolicyMatrixTest(unittest.TestCase):

    async def check(self, enforce_new_defaults: bool):
        api = ServersServer(self, enforce_new_defaults=enforce_new_defaults)
        for method, path, body, old, new, rule in MATRIX:
            allowed = new if enforce_new_defaults else old
            for persona, (token, _) in PERSONAS.items():
                # A server of its own for each request: a delete or a refusal must not
                # depend on what the request before did.
                server = api.add_instance(project_id=OWNER, metadata={"a": "1"},
                                          tags=["t"])
                api.add_action(server.uuid, "req-1")
                before = (api.snapshot(), api.cell_snapshot())
                reply = await api.request(method, path.format(uuid=server.uuid),
                                          token=token, body=body,
                                          headers=headers_of(persona, version("2.26")))
                assert_decision(self, reply, persona in allowed, rule,
                                (enforce_new_defaults, method, path, persona), before,
                                lambda: (api.snapshot(), api.cell_snapshot()))

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

    async def test_extended_attributes_and_host_status_for_admins_only(self):
        api = ServersServer(self, enforce_new_defaults=True)
        server = api.add_instance(project_id=OWNER, host="h1")
        for persona, (token, roles) in PERSONAS.items():
            if persona == "other_member":
                continue
            headers = {"X-Roles": roles} if roles else {}
            headers.update(version("2.16"))
            reply = await api.request("GET", f"/v2.1/servers/{server.uuid}", token=token,
                                      headers=headers)
            shown = "OS-EXT-SRV-ATTR:host" in reply.json["server"]
            self.assertEqual(persona == "admin", shown, persona)
            self.assertEqual(persona == "admin", "host_status" in reply.json["server"],
                             persona)

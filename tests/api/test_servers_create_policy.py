"""Who may create servers, and with what: the admin, a member and a reader of the
project, with [oslo_policy] enforce_new_defaults off and on, for ``create``,
``create:forced_host``, ``create:requested_destination`` (2.74) and
``create:zero_disk_flavor``; and ``create:attach_volume``, ``create:attach_network``
and ``create:trusted_certs`` each checked only when the request asks for it."""
from __future__ import annotations

import json
import os
import tempfile

from twisted.trial import unittest

from tests.api.servers_create_server import IMAGE, SERVERS, ServersServer, version

OWNER = "0wner"
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
}
ROOT_VOLUME = {"uuid": IMAGE, "source_type": "image", "destination_type": "volume",
               "boot_index": 0, "volume_size": 1}


class ServersCreatePolicyTest(unittest.TestCase):

    async def call(self, api, persona, server, microversion="2.1"):
        token, roles = PERSONAS[persona]
        headers = dict(version(microversion), **({"X-Roles": roles} if roles else {}))
        body = {"server": {"name": "s", "flavorRef": "1", "imageRef": IMAGE, **server}}
        return await api.request("POST", SERVERS, body=body, token=token, headers=headers)

    async def expect(self, api, persona, server, rule, allowed, microversion="2.1",
                     message=None):
        before = api.snapshot()
        reply = await self.call(api, persona, server, microversion)
        where = (persona, server, rule)
        if allowed:
            self.assertEqual(202, reply.code, (where, reply.raw))
            return
        message = message or "Policy doesn't allow %s to be performed." % rule
        self.assertEqual({"forbidden": {"code": 403, "message": message}}, reply.json, where)
        self.assertEqual(before, api.snapshot(), where)

    async def matrix(self, enforce_new_defaults: bool):
        api = await ServersServer.start(self, enforce_new_defaults=enforce_new_defaults)
        api.add_service("compute-1")
        api.add_compute_node("compute-1", "node-1")
        await api.add_flavor("zero", "zero", memory_mb=512, vcpus=1, root_gb=0)
        for persona in PERSONAS:
            # create: the project's members (and, with the old defaults, anyone of it).
            allowed = persona != "reader" or not enforce_new_defaults
            await self.expect(api, persona, {}, "os_compute_api:servers:create", allowed)
            if not allowed:
                continue
            admin = persona == "admin"
            await self.expect(api, persona, {"availability_zone": "nova:compute-1"},
                              "os_compute_api:servers:create:forced_host", admin)
            await self.expect(api, persona, {"host": "compute-1", "networks": "auto"},
                              "compute:servers:create:requested_destination", admin,
                              microversion="2.74")
            await self.expect(
                api, persona, {"flavorRef": "zero"}, "zero_disk_flavor", admin,
                message="Only volume-backed servers are allowed for flavors with zero disk.")
            # A zero-disk flavor is fine for a server that boots from a volume.
            await self.expect(api, persona, {"flavorRef": "zero", "imageRef": "",
                                             "block_device_mapping_v2": [ROOT_VOLUME]},
                              "os_compute_api:servers:create:attach_volume", True)

    async def test_external_network_by_admin(self):
        api = await ServersServer.start(self)
        [public] = await api.networks.list_networks(_ctx(), name="public")
        server = {"networks": [{"uuid": public["id"]}]}
        for persona in ("member", "reader"):
            await self.expect(api, persona, server, "network:attach_external_network",
                              False, message="It is not allowed to create an interface on "
                              "external network %s" % public["id"])
        await self.expect(api, "admin", server, "network:attach_external_network", True)

    async def test_old_defaults(self):
        await self.matrix(False)

    async def test_new_defaults(self):
        await self.matrix(True)

    async def test_rules_checked_only_when_asked_for(self):
        rules = {"os_compute_api:servers:create:attach_volume": "!",
                 "os_compute_api:servers:create:attach_network": "!",
                 "os_compute_api:servers:create:trusted_certs": "!"}
        handle, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w") as f:
            json.dump(rules, f)
        self.addCleanup(os.unlink, path)
        api = await ServersServer.start(self, policy_file=path)
        [private] = await api.networks.list_networks(_ctx(), name="private")
        # None of them asked for: all pass.
        await self.expect(api, "member", {}, "none", True)
        await self.expect(api, "member", {"networks": "none"}, "none", True,
                          microversion="2.37")
        for server, rule, microversion in (
                ({"imageRef": "", "block_device_mapping_v2": [ROOT_VOLUME]},
                 "os_compute_api:servers:create:attach_volume", "2.1"),
                ({"networks": [{"uuid": private["id"]}]},
                 "os_compute_api:servers:create:attach_network", "2.1"),
                ({"networks": "auto"},
                 "os_compute_api:servers:create:attach_network", "2.37"),
                ({"trusted_image_certificates": ["cert"], "networks": "none"},
                 "os_compute_api:servers:create:trusted_certs", "2.63")):
            await self.expect(api, "member", server, rule, False, microversion=microversion)


def _ctx():
    from nova_tx.context import RequestContext

    return RequestContext(user_id="alice", project_id=OWNER, auth_token="alice:" + OWNER)

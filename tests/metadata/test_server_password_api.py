"""``/servers/{id}/os-server-password`` over HTTP: Nova's sample, the owner's and an
admin's access, another project's 404/403, and a clear that lets the guest post again."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.api.compute import server_password
from nova_tx.metadata import password
from tests.api.servers_server import ADMIN, DEMO, RESOURCES, ServersServer, sample


class PasswordServer(ServersServer):
    RESOURCES = RESOURCES + [server_password.routes]


class ServerPasswordTest(unittest.TestCase):
    def setUp(self):
        self.api = PasswordServer(self)
        self.server = self.api.add_instance(system_metadata=password.chunks("x" * 300))
        self.path = "/v2.1/servers/%s/os-server-password" % self.server.uuid

    def stored(self):
        return self.api.get_instance(self.server.uuid,
                                     expected_attrs=("system_metadata",)).system_metadata

    async def test_show_matches_the_sample_shape(self):
        reply = await self.api.request("GET", self.path, token=DEMO)
        self.assertEqual((200, {"password": "x" * 300}), (reply.code, reply.json))
        self.assertEqual(set(sample("os-server-password", "get-password-resp.json")),
                         set(reply.json))

    async def test_clear_then_empty(self):
        reply = await self.api.request("DELETE", self.path, token=DEMO)
        self.assertEqual(204, reply.code)
        self.assertIsNone(password.extract(self.stored()))
        reply = await self.api.request("GET", self.path, token=ADMIN)
        self.assertEqual({"password": ""}, reply.json)

    async def test_none_set_is_empty_string(self):
        other = self.api.add_instance()
        reply = await self.api.request(
            "GET", "/v2.1/servers/%s/os-server-password" % other.uuid, token=DEMO)
        self.assertEqual({"password": ""}, reply.json)

    async def test_unknown_server_is_404(self):
        reply = await self.api.request(
            "GET", "/v2.1/servers/00000000-0000-0000-0000-000000000000/os-server-password",
            token=DEMO)
        self.assertEqual(404, reply.code)

    async def test_other_project_cannot_read_or_clear(self):
        for method in ("GET", "DELETE"):
            reply = await self.api.request(method, self.path, token="other:otherproject")
            self.assertIn(reply.code, (403, 404), method)
            self.assertNotIn(b"xxxx", reply.raw)
        self.assertEqual("x" * 300, password.extract(self.stored()))


class ServerPasswordPolicyMatrixTest(unittest.TestCase):
    """The admin, a member and a reader of the server's project and a member of
    another, with [oslo_policy] enforce_new_defaults off and on."""

    async def check(self, enforce_new_defaults: bool, allowed: dict):
        from tests.api.servers_server import SAMPLE_PROJECT

        api = PasswordServer(self, enforce_new_defaults=enforce_new_defaults)
        personas = {
            "admin": ("admin:" + SAMPLE_PROJECT, None),
            "member": ("alice:" + SAMPLE_PROJECT, "member,reader"),
            "reader": ("rita:" + SAMPLE_PROJECT, "reader"),
            "other_member": ("bob:07her", "member,reader"),
        }
        for persona, (token, roles) in personas.items():
            server = api.add_instance(system_metadata=password.chunks("pw"))
            path = "/v2.1/servers/%s/os-server-password" % server.uuid
            headers = {"X-Roles": roles} if roles else {}
            for method, ok in (("GET", 200), ("DELETE", 204)):
                reply = await api.request(method, path, token=token, headers=headers)
                expected = ok if persona in allowed[method] else (
                    404 if persona == "other_member" else 403)
                self.assertIn(reply.code, (expected,) if expected != 404 else (403, 404),
                              (enforce_new_defaults, persona, method, reply.raw))

    async def test_legacy_defaults(self):
        everyone_of_project = {"admin", "member", "reader"}
        await self.check(False, {"GET": everyone_of_project, "DELETE": everyone_of_project})

    async def test_new_defaults(self):
        await self.check(True, {"GET": {"admin", "member", "reader"},
                                "DELETE": {"admin", "member"}})


class ServerPasswordOpenStackSDKTest(unittest.TestCase):
    """openstacksdk's get_server_password and clear_server_password."""

    async def test_sdk(self):
        from twisted.internet import threads

        from tests.api.servers_server import SAMPLE_PROJECT
        from tests.helpers import unavailable

        try:
            import openstack  # noqa: F401
        except ImportError:
            unavailable("openstacksdk is not installed (test extra)")
        api = PasswordServer(self)
        server = api.add_instance(system_metadata=password.chunks("encrypted-pw"))

        def scenario():
            from openstack import connection

            conn = connection.Connection(
                auth_type="admin_token",
                auth={"endpoint": api.base + "/v2.1", "token": "demo:" + SAMPLE_PROJECT},
                compute_endpoint_override=api.base + "/v2.1")
            try:
                first = conn.compute.get_server_password(server.uuid)
                conn.compute.clear_server_password(server.uuid)
                return first, conn.compute.get_server_password(server.uuid)
            finally:
                conn.close()

        first, after = await threads.deferToThread(scenario)
        self.assertEqual("encrypted-pw", first)
        self.assertIn(after, ("", None))
        self.assertIsNone(password.extract(self.stored_of(api, server.uuid)))

    @staticmethod
    def stored_of(api, uuid):
        return api.get_instance(uuid, expected_attrs=("system_metadata",)).system_metadata

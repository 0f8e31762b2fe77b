"""The guest's password: one write of at most 1020 bytes, 409 on the second, kept in
system metadata (spec D §3.6)."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.db.main import instances
from nova_tx.metadata import password
from tests.metadata.fixture import SECRET, MetadataServer

PATH = "/openstack/latest/password"


class PasswordTest(unittest.TestCase):
    def setUp(self):
        self.server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret=SECRET)
        self.instance = self.server.add_instance()
        self.headers = self.server.proxy_headers(self.instance)

    def system_metadata(self):
        with self.server.cell_engine.connect() as conn:
            return instances.get_system_metadata(conn, self.instance.uuid)

    async def post(self, body: bytes, headers=None):
        return await self.server.request("POST", PATH, headers=headers or self.headers,
                                         body=body)

    async def test_write_once_then_409(self):
        self.assertEqual(b"", (await self.server.get(PATH, headers=self.headers)).body)
        value = b"x" * 100
        self.assertEqual(200, (await self.post(value)).code)
        self.assertEqual(value, (await self.server.get(PATH, headers=self.headers)).body)
        self.assertEqual(409, (await self.post(b"y" * 10)).code)
        self.assertEqual(value, (await self.server.get(PATH, headers=self.headers)).body)

    async def test_stored_in_four_chunks(self):
        value = "".join(chr(ord("a") + i % 26) for i in range(1020))
        self.assertEqual(200, (await self.post(value.encode())).code)
        meta = self.system_metadata()
        self.assertEqual([value[i * 255:(i + 1) * 255] for i in range(4)],
                         [meta["password_%d" % i] for i in range(4)])

    async def test_too_large_is_400_and_nothing_stored(self):
        reply = await self.post(b"z" * 1021)
        self.assertEqual(400, reply.code)
        self.assertIn(b"Request is too large.", reply.body)
        self.assertNotIn("password_0", self.system_metadata())
        self.assertEqual(400, (await self.post(b"z" * 2000)).code)

    async def test_other_methods_are_400(self):
        for method in ("PUT", "DELETE"):
            reply = await self.server.request(method, PATH, headers=self.headers, body=b"a")
            self.assertEqual(400, reply.code, method)
            self.assertIn(b"GET and POST only are supported.", reply.body)

    async def test_cleared_password_can_be_written_again(self):
        self.assertEqual(200, (await self.post(b"first")).code)
        with self.server.cell_engine.begin() as conn:
            password.clear(conn, self.instance.uuid)
        self.assertIsNone(password.extract(self.system_metadata()))
        self.assertEqual(200, (await self.post(b"second")).code)
        self.assertEqual(b"second", (await self.server.get(PATH, headers=self.headers)).body)

    async def test_old_version_has_no_password(self):
        reply = await self.server.request("POST", "/openstack/2012-08-10/password",
                                          headers=self.headers, body=b"a")
        self.assertEqual(404, reply.code)
        self.assertNotIn("password_0", self.system_metadata())

    async def test_forged_signature_cannot_write(self):
        headers = self.server.proxy_headers(self.instance, secret="guess")
        self.assertEqual(403, (await self.post(b"evil", headers=headers)).code)
        self.assertNotIn("password_0", self.system_metadata())

    async def test_other_files_refuse_writes(self):
        reply = await self.server.request("POST", "/openstack/latest/meta_data.json",
                                          headers=self.headers, body=b"a")
        self.assertEqual(405, reply.code)


class PasswordFunctionsTest(unittest.TestCase):
    def test_chunks_and_extract(self):
        self.assertEqual({"password_0": "", "password_1": "", "password_2": "",
                          "password_3": ""}, password.chunks(None))
        self.assertEqual("abc", password.extract(password.chunks("abc")))
        self.assertIsNone(password.extract({"password_0": "", "other": "x"}))

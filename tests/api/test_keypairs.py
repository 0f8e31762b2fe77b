"""/os-keypairs over HTTP: Nova's samples, each microversion boundary (2.2, 2.10, 2.35,
2.75, 2.92), the fault bodies, the key_pairs quota and the keypair notifications."""
from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from twisted.trial import unittest

from nova_tx.compute import keypairs as keypairs_compute
from tests.api.quota_server import (
    FINGERPRINT,
    PUBLIC_KEY,
    SAMPLE_PROJECT,
    QuotaServer,
    notification_sample,
    sample,
    version,
)

USER = f"fake:{SAMPLE_PROJECT}"
ADMIN = f"admin:{SAMPLE_PROJECT}"


def keys_of(body: dict) -> set[str]:
    return set(body)


class KeypairSamplesTest(unittest.TestCase):
    """Requests and answers shaped as Nova's api-samples."""

    async def test_create_generates_rsa_key_2_1(self):
        api = QuotaServer(self)
        request = sample("os-keypairs", "keypairs-post-req.json")
        reply = await api.request("POST", "/v2.1/os-keypairs", body=request, token=USER)
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-keypairs", "keypairs-post-resp.json")["keypair"]
        got = reply.json["keypair"]
        self.assertEqual(keys_of(expected), keys_of(got))
        self.assertEqual(request["keypair"]["name"], got["name"])
        self.assertEqual("fake", got["user_id"])
        self.assertTrue(got["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----\n"))
        self.assertTrue(got["public_key"].startswith("ssh-rsa "))
        self.assertTrue(got["public_key"].endswith(" Generated-by-Nova"))
        self.assertEqual(keypairs_compute.generate_fingerprint(got["public_key"]),
                         got["fingerprint"])
        key = serialization.load_pem_private_key(got["private_key"].encode(), None)
        self.assertEqual(2048, key.key_size)
        self.assertEqual(got["public_key"].split(" ")[:2], key.public_key().public_bytes(
            serialization.Encoding.OpenSSH,
            serialization.PublicFormat.OpenSSH).decode().split(" "))

    async def check_import(self, folder: tuple[str, ...], microversion: str,
                           status: int):
        api = QuotaServer(self)
        request = sample("os-keypairs", *folder, "keypairs-import-post-req.json")
        reply = await api.request("POST", "/v2.1/os-keypairs", body=request, token=USER,
                                  headers=version(microversion))
        self.assertEqual(status, reply.code, reply.raw)
        expected = sample("os-keypairs", *folder, "keypairs-import-post-resp.json")
        expected["keypair"]["name"] = request["keypair"]["name"]
        self.assertEqual(expected, reply.json)
        return api, request

    async def test_import_2_1(self):
        await self.check_import((), "2.1", 200)

    async def test_import_2_2(self):
        await self.check_import(("v2.2",), "2.2", 201)

    async def test_import_2_10(self):
        await self.check_import(("v2.10",), "2.10", 201)

    async def test_import_2_92_with_at_and_dots(self):
        await self.check_import(("v2.92",), "2.92", 201)

    async def check_show_and_list(self, folder: tuple[str, ...], microversion: str):
        api = QuotaServer(self)
        await api.import_keypair("kp1", token=USER)
        reply = await api.request("GET", "/v2.1/os-keypairs/kp1", token=USER,
                                  headers=version(microversion))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-keypairs", *folder, "keypairs-get-resp.json")["keypair"]
        got = reply.json["keypair"]
        self.assertEqual(keys_of(expected), keys_of(got))
        self.assertEqual((False, None, None), (got["deleted"], got["deleted_at"],
                                               got["updated_at"]))
        self.assertEqual((FINGERPRINT, PUBLIC_KEY, "fake"),
                         (got["fingerprint"], got["public_key"], got["user_id"]))
        self.assertIsInstance(got["id"], int)
        self.assertRegex(got["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
        reply = await api.request("GET", "/v2.1/os-keypairs", token=USER,
                                  headers=version(microversion))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-keypairs", *folder, "keypairs-list-resp.json")
        self.assertEqual(keys_of(expected), keys_of(reply.json))
        self.assertEqual(keys_of(expected["keypairs"][0]["keypair"]),
                         keys_of(reply.json["keypairs"][0]["keypair"]))
        return got

    async def test_show_and_list_2_1_without_type(self):
        got = await self.check_show_and_list((), "2.1")
        self.assertNotIn("type", got)

    async def test_show_and_list_2_2_with_type(self):
        got = await self.check_show_and_list(("v2.2",), "2.2")
        self.assertEqual("ssh", got["type"])

    async def test_show_and_list_2_10(self):
        await self.check_show_and_list(("v2.10",), "2.10")

    async def test_list_2_35_paginated_as_sample(self):
        api = QuotaServer(self)
        for name in ("kp-b", "kp-a", "kp-c"):
            await api.import_keypair(name, token=USER)
        prefix = f"/v2.1/{SAMPLE_PROJECT}/os-keypairs"
        reply = await api.request("GET", prefix + "?limit=1", token=USER,
                                  headers=version("2.35"))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-keypairs", "v2.35", "keypairs-list-resp.json")
        self.assertEqual(keys_of(expected), keys_of(reply.json))
        self.assertEqual(["kp-a"], [k["keypair"]["name"] for k in reply.json["keypairs"]])
        self.assertEqual(
            [{"href": api.base + prefix + "?limit=1&marker=kp-a", "rel": "next"}],
            reply.json["keypairs_links"])
        reply = await api.request("GET", prefix + "?limit=5&marker=kp-a", token=USER,
                                  headers=version("2.35"))
        self.assertEqual(["kp-b", "kp-c"],
                         [k["keypair"]["name"] for k in reply.json["keypairs"]])
        self.assertNotIn("keypairs_links", reply.json)

    async def test_list_2_35_other_user_link_keeps_user_id(self):
        api = QuotaServer(self)
        await api.import_keypair("kp1", token=f"user2:{SAMPLE_PROJECT}")
        await api.import_keypair("kp2", token=f"user2:{SAMPLE_PROJECT}")
        prefix = f"/v2.1/{SAMPLE_PROJECT}/os-keypairs"
        reply = await api.request("GET", prefix + "?user_id=user2&limit=1", token=ADMIN,
                                  headers=version("2.35"))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-keypairs", "v2.35", "keypairs-list-user2-resp.json")
        self.assertEqual(keys_of(expected), keys_of(reply.json))
        # Nova's link keeps the query (sorted, then the marker: the sample's order is
        # its test's), so compare the parameters.
        href = urlsplit(reply.json["keypairs_links"][0]["href"])
        self.assertEqual(api.base + prefix, href._replace(query="").geturl())
        self.assertEqual({"limit": ["1"], "marker": ["kp1"], "user_id": ["user2"]},
                         parse_qs(href.query))
        reply = await api.request("GET", prefix + "?user_id=user1", token=ADMIN,
                                  headers=version("2.35"))
        self.assertEqual({"keypairs": []}, reply.json)


class KeypairMicroversionTest(unittest.TestCase):

    async def test_2_1_create_200_delete_202(self):
        api = QuotaServer(self)
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  body={"keypair": {"name": "k", "public_key": PUBLIC_KEY}})
        self.assertEqual(200, reply.code)
        self.assertNotIn("type", reply.json["keypair"])
        reply = await api.request("DELETE", "/v2.1/os-keypairs/k", token=USER)
        self.assertEqual((202, b""), (reply.code, reply.raw))

    async def test_2_1_refuses_type(self):
        api = QuotaServer(self)
        reply = await api.request(
            "POST", "/v2.1/os-keypairs", token=USER,
            body={"keypair": {"name": "k", "public_key": PUBLIC_KEY, "type": "ssh"}})
        self.assertEqual(400, reply.code)
        self.assertIn("Additional properties are not allowed", reply.json["badRequest"]["message"])

    async def test_2_2_create_201_delete_204(self):
        api = QuotaServer(self)
        await api.import_keypair("k", token=USER, microversion="2.2", type="ssh")
        reply = await api.request("DELETE", "/v2.1/os-keypairs/k", token=USER,
                                  headers=version("2.2"))
        self.assertEqual((204, b""), (reply.code, reply.raw))
        reply = await api.request("GET", "/v2.1/os-keypairs/k", token=USER,
                                  headers=version("2.2"))
        self.assertEqual(404, reply.code)

    async def test_2_2_bad_type(self):
        api = QuotaServer(self)
        reply = await api.request(
            "POST", "/v2.1/os-keypairs", token=USER, headers=version("2.2"),
            body={"keypair": {"name": "k", "type": "rsa"}})
        self.assertEqual(400, reply.code)

    async def test_user_id_refused_before_2_10(self):
        api = QuotaServer(self)
        reply = await api.request(
            "POST", "/v2.1/os-keypairs", token=ADMIN, headers=version("2.9"),
            body={"keypair": {"name": "k", "user_id": "fake"}})
        self.assertEqual(400, reply.code)
        # Below 2.10 the user_id query is ignored: the admin sees their own.
        await api.import_keypair("theirs", token=USER)
        reply = await api.request("GET", "/v2.1/os-keypairs?user_id=fake", token=ADMIN,
                                  headers=version("2.9"))
        self.assertEqual({"keypairs": []}, reply.json)

    async def test_2_10_admin_acts_for_another_user(self):
        api = QuotaServer(self)
        request = sample("os-keypairs", "v2.10", "keypairs-post-req.json")
        reply = await api.request("POST", "/v2.1/os-keypairs", body=request, token=ADMIN,
                                  headers=version("2.10"))
        self.assertEqual(201, reply.code, reply.raw)
        expected = sample("os-keypairs", "v2.10", "keypairs-post-resp.json")["keypair"]
        self.assertEqual(keys_of(expected), keys_of(reply.json["keypair"]))
        self.assertEqual("fake", reply.json["keypair"]["user_id"])
        name = request["keypair"]["name"]
        reply = await api.request("GET", f"/v2.1/os-keypairs/{name}", token=USER,
                                  headers=version("2.10"))
        self.assertEqual(200, reply.code)
        reply = await api.request("GET", f"/v2.1/os-keypairs/{name}?user_id=fake",
                                  token=ADMIN, headers=version("2.10"))
        self.assertEqual("fake", reply.json["keypair"]["user_id"])
        reply = await api.request("DELETE", f"/v2.1/os-keypairs/{name}?user_id=fake",
                                  token=ADMIN, headers=version("2.10"))
        self.assertEqual(204, reply.code)
        reply = await api.request("GET", f"/v2.1/os-keypairs/{name}", token=USER,
                                  headers=version("2.10"))
        self.assertEqual(404, reply.code)

    async def test_2_35_paging_refused_before(self):
        api = QuotaServer(self)
        for name in ("a", "b"):
            await api.import_keypair(name, token=USER)
        reply = await api.request("GET", "/v2.1/os-keypairs?limit=1", token=USER,
                                  headers=version("2.34"))
        self.assertEqual(2, len(reply.json["keypairs"]))
        self.assertNotIn("keypairs_links", reply.json)
        reply = await api.request("GET", "/v2.1/os-keypairs?limit=1", token=USER,
                                  headers=version("2.35"))
        self.assertEqual(1, len(reply.json["keypairs"]))

    async def test_2_35_bad_marker_and_limit(self):
        api = QuotaServer(self)
        reply = await api.request("GET", "/v2.1/os-keypairs?marker=nope", token=USER,
                                  headers=version("2.35"))
        self.assertEqual(400, reply.code)
        self.assertEqual({"badRequest": {"code": 400,
                                         "message": "Marker nope could not be found."}},
                         reply.json)
        reply = await api.request("GET", "/v2.1/os-keypairs?limit=-1", token=USER,
                                  headers=version("2.35"))
        self.assertEqual(400, reply.code)

    async def test_2_75_unknown_query_parameters(self):
        api = QuotaServer(self)
        await api.import_keypair("k", token=USER)
        for path in ("/v2.1/os-keypairs?foo=1", "/v2.1/os-keypairs/k?foo=1"):
            reply = await api.request("GET", path, token=USER, headers=version("2.74"))
            self.assertEqual(200, reply.code, path)
            reply = await api.request("GET", path, token=USER, headers=version("2.75"))
            self.assertEqual(400, reply.code, path)
        reply = await api.request("DELETE", "/v2.1/os-keypairs/k?foo=1", token=USER,
                                  headers=version("2.75"))
        self.assertEqual(400, reply.code)
        reply = await api.request("DELETE", "/v2.1/os-keypairs/k?foo=1", token=USER,
                                  headers=version("2.74"))
        self.assertEqual(204, reply.code)

    async def test_2_92_generation_removed(self):
        api = QuotaServer(self)
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  headers=version("2.91"), body={"keypair": {"name": "k"}})
        self.assertEqual(201, reply.code)
        self.assertIn("private_key", reply.json["keypair"])
        before = api.snapshot()
        request = sample("os-keypairs", "v2.92", "keypairs-post-req.json")
        reply = await api.request("POST", "/v2.1/os-keypairs", token=ADMIN,
                                  headers=version("2.92"), body=request)
        self.assertEqual(400, reply.code)
        self.assertIn("'public_key' is a required property",
                      reply.json["badRequest"]["message"])
        self.assertEqual(before, api.snapshot())

    async def test_2_92_names(self):
        api = QuotaServer(self)
        for microversion, status in (("2.91", 400), ("2.92", 201)):
            reply = await api.request(
                "POST", "/v2.1/os-keypairs", token=USER, headers=version(microversion),
                body={"keypair": {"name": "a@b.c", "public_key": PUBLIC_KEY}})
            self.assertEqual(status, reply.code, microversion)
        self.assertIn("An invalid 'name' value was provided",
                      (await api.request(
                          "POST", "/v2.1/os-keypairs", token=USER, headers=version("2.92"),
                          body={"keypair": {"name": "a/b", "public_key": PUBLIC_KEY}})
                       ).json["badRequest"]["message"])

    async def test_legacy_v2_strips_spaces(self):
        api = QuotaServer(self)
        reply = await api.request("POST", "/v2/os-keypairs", token=USER,
                                  body={"keypair": {"name": " k ", "public_key": PUBLIC_KEY}})
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual("k", reply.json["keypair"]["name"])
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  body={"keypair": {"name": " k2 ", "public_key": PUBLIC_KEY}})
        self.assertEqual(400, reply.code)


class KeypairErrorsTest(unittest.TestCase):

    async def test_not_found(self):
        api = QuotaServer(self)
        for method in ("GET", "DELETE"):
            reply = await api.request(method, "/v2.1/os-keypairs/nope", token=USER)
            self.assertEqual({"itemNotFound": {
                "code": 404, "message": "Keypair nope not found for user fake"}}, reply.json)

    async def test_exists(self):
        api = QuotaServer(self)
        await api.import_keypair("k", token=USER)
        before = api.snapshot()
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  body={"keypair": {"name": "k"}})
        self.assertEqual({"conflictingRequest": {
            "code": 409, "message": "Key pair 'k' already exists."}}, reply.json)
        self.assertEqual(before, api.snapshot())
        # Names are per user.
        await api.import_keypair("k", token=f"other:{SAMPLE_PROJECT}")

    async def test_invalid_public_key(self):
        api = QuotaServer(self)
        for key in ("ssh-rsa AAAA", "not a key", "", PUBLIC_KEY.replace("AAAAB3", "AAAAB4")):
            reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                      body={"keypair": {"name": "k", "public_key": key}})
            self.assertEqual({"badRequest": {
                "code": 400,
                "message": "Keypair data is invalid: failed to generate fingerprint"}},
                reply.json, key)
        self.assertEqual([], api.snapshot()["key_pairs"])

    async def test_invalid_certificate(self):
        api = QuotaServer(self)
        reply = await api.request(
            "POST", "/v2.1/os-keypairs", token=USER, headers=version("2.2"),
            body={"keypair": {"name": "k", "type": "x509", "public_key": PUBLIC_KEY}})
        self.assertEqual(400, reply.code)
        self.assertTrue(reply.json["badRequest"]["message"].startswith(
            "Keypair data is invalid: failed to generate X509 fingerprint. Error message: "))

    async def test_quota(self):
        api = QuotaServer(self, quota={"key_pairs": 1})
        await api.import_keypair("k1", token=USER)
        before = api.snapshot()
        for body in ({"name": "k2"}, {"name": "k2", "public_key": PUBLIC_KEY}):
            reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                      body={"keypair": body})
            self.assertEqual({"forbidden": {
                "code": 403, "message": "Quota exceeded, too many key pairs."}}, reply.json)
        self.assertEqual(before, api.snapshot())
        # Per user: another user of the project still may.
        await api.import_keypair("k1", token=f"other:{SAMPLE_PROJECT}")

    async def test_quota_unlimited(self):
        api = QuotaServer(self, quota={"key_pairs": -1})
        for i in range(3):
            await api.import_keypair(f"k{i}", token=USER)

    async def test_quota_recheck_removes_the_racing_key(self):
        api = QuotaServer(self, quota={"key_pairs": 1})
        engine = api.quota_engine()
        real = engine.counters["key_pairs"]
        calls = []

        async def late_counter(context, user_id):
            # The first check sees nothing (a concurrent request has not stored its
            # key yet); the recheck sees both.
            calls.append(user_id)
            count = await real(context, user_id)
            if len(calls) == 1:
                count["user"]["key_pairs"] = 0
            return count

        await api.import_keypair("k1", token=USER)
        engine.register_counter("key_pairs", late_counter)
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  body={"keypair": {"name": "k2", "public_key": PUBLIC_KEY}})
        self.assertEqual(403, reply.code)
        self.assertEqual(["fake", "fake"], calls)  # the check passed, the recheck did not
        with api.engine.connect() as conn:
            names = conn.exec_driver_sql("SELECT name FROM key_pairs").scalars().all()
        self.assertEqual(["k1"], names)


    async def test_quota_no_recheck(self):
        api = QuotaServer(self, quota={"key_pairs": 1, "recheck_quota": False})
        engine = api.quota_engine()
        real = engine.counters["key_pairs"]

        async def blind_counter(context, user_id):
            count = await real(context, user_id)
            count["user"]["key_pairs"] = 0
            return count

        await api.import_keypair("k1", token=USER)
        engine.register_counter("key_pairs", blind_counter)
        await api.import_keypair("k2", token=USER)


class X509Test(unittest.TestCase):

    async def test_generate_x509(self):
        api = QuotaServer(self)
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  headers=version("2.2"),
                                  body={"keypair": {"name": "win", "type": "x509"}})
        self.assertEqual(201, reply.code, reply.raw)
        got = reply.json["keypair"]
        self.assertEqual("x509", got["type"])
        cert = x509.load_pem_x509_certificate(got["public_key"].encode())
        self.assertEqual("CN=fake", cert.subject.rfc4514_string())
        key, bundled, _ = pkcs12.load_key_and_certificates(
            base64.b64decode(got["private_key"]), None)
        self.assertEqual(cert, bundled)
        self.assertEqual(keypairs_compute.generate_x509_fingerprint(got["public_key"]),
                         got["fingerprint"])
        self.assertEqual(59, len(got["fingerprint"]))
        # Imported back under another name, the same certificate has the same print.
        reply = await api.request(
            "POST", "/v2.1/os-keypairs", token=USER, headers=version("2.2"),
            body={"keypair": {"name": "win2", "type": "x509",
                              "public_key": got["public_key"]}})
        self.assertEqual((201, got["fingerprint"]),
                         (reply.code, reply.json["keypair"]["fingerprint"]))


class KeypairNotificationsTest(unittest.TestCase):

    def assertMatchesSample(self, name: str, notification: dict, **data):
        expected = notification_sample(name)
        payload = notification_sample("common_payloads/KeypairPayload.json")
        payload["nova_object.data"].update(expected["payload"].get("nova_object.data", {}))
        payload["nova_object.data"].update(data)
        self.assertEqual(
            {"priority": expected["priority"], "event_type": expected["event_type"],
             "publisher_id": expected["publisher_id"], "payload": payload},
            {k: notification[k] for k in ("priority", "event_type", "publisher_id",
                                          "payload")})

    async def test_import_and_delete(self):
        api = QuotaServer(self)
        await api.import_keypair("my-key", token=USER)
        reply = await api.request("DELETE", "/v2.1/os-keypairs/my-key", token=USER)
        self.assertEqual(202, reply.code)
        sent = api.notifications()
        self.assertEqual(["keypair.import.start", "keypair.import.end",
                          "keypair.delete.start", "keypair.delete.end"],
                         [n["event_type"] for n in sent])
        for name, notification in zip(("keypair-import-start.json", "keypair-import-end.json",
                                       "keypair-delete-start.json", "keypair-delete-end.json"),
                                      sent, strict=True):
            self.assertMatchesSample(name, notification)
        legacy = api.legacy_notifications()
        self.assertEqual(
            [("keypair.import.start", "api.fake-mini"), ("keypair.import.end", "api.fake-mini"),
             ("keypair.delete.start", "api.fake-mini"), ("keypair.delete.end", "api.fake-mini")],
            [(n["event_type"], n["publisher_id"]) for n in legacy])
        self.assertEqual({"tenant_id": SAMPLE_PROJECT, "user_id": "fake", "key_name": "my-key"},
                         legacy[0]["payload"])

    async def test_create(self):
        api = QuotaServer(self, notification_format="versioned")
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  body={"keypair": {"name": "my-key"}})
        got = reply.json["keypair"]
        start, end = api.notifications()
        self.assertMatchesSample("keypair-create-start.json", start)
        self.assertMatchesSample("keypair-create-end.json", end,
                                 fingerprint=got["fingerprint"], public_key=got["public_key"])
        self.assertEqual([], api.legacy_notifications())

    async def test_delete_of_a_missing_key_pair(self):
        api = QuotaServer(self)
        reply = await api.request("DELETE", "/v2.1/os-keypairs/nope", token=USER)
        self.assertEqual(404, reply.code)
        self.assertEqual([], api.notifications())
        self.assertEqual([("keypair.delete.start", {"tenant_id": SAMPLE_PROJECT,
                                                    "user_id": "fake", "key_name": "nope"})],
                         [(n["event_type"], n["payload"]) for n in api.legacy_notifications()])

    async def test_failures_send_no_end(self):
        api = QuotaServer(self, quota={"key_pairs": 0})
        reply = await api.request("POST", "/v2.1/os-keypairs", token=USER,
                                  body={"keypair": {"name": "k"}})
        self.assertEqual(403, reply.code)
        self.assertEqual([], api.notifications())

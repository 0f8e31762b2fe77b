"""The embedded image store's Glance v2 API over HTTP."""
from __future__ import annotations

import hashlib
import os

from twisted.trial import unittest

from nova_tx.image.embedded.seed import SEED_ID, SEED_NAME, tiny_disk
from tests.image.fixture import ADMIN, ALICE, BOB, ImageServer

PATCH = {"content-type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"content-type": "application/octet-stream"}


class ImageAPITests(unittest.TestCase):

    async def setUp(self):
        self.server = ImageServer(self)
        await self.server.start()
        self.call = self.server.request

    async def create(self, token=ALICE, **body):
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        status, _, image = await self.call("POST", "/v2/images", body, token=token)
        self.assertEqual(201, status, image)
        return image

    async def test_versions(self):
        status, _, body = await self.call("GET", "/", token=None)
        self.assertEqual(300, status)
        self.assertEqual("v2.16", body["versions"][0]["id"])
        self.assertEqual("CURRENT", body["versions"][0]["status"])
        self.assertTrue(body["versions"][0]["links"][0]["href"].endswith("/v2/"))
        status, _, body = await self.call("GET", "/versions", token=None)
        self.assertEqual(200, status)

    async def test_seed(self):
        status, _, image = await self.call("GET", f"/v2/images/{SEED_ID}", token=BOB)
        self.assertEqual(200, status)
        self.assertEqual(SEED_NAME, image["name"])
        self.assertEqual("active", image["status"])
        self.assertEqual("public", image["visibility"])
        self.assertEqual(("raw", "bare"), (image["disk_format"], image["container_format"]))
        data = tiny_disk()
        self.assertEqual(len(data), image["size"])
        self.assertEqual(hashlib.md5(data).hexdigest(), image["checksum"])
        self.assertEqual(b"\x55\xaa", data[510:512])
        status, _, content = await self.call("GET", f"/v2/images/{SEED_ID}/file", token=BOB)
        self.assertEqual(200, status)
        self.assertEqual(data, content)

    async def test_auth_required(self):
        status, headers, body = await self.call("GET", "/v2/images", token=None)
        self.assertEqual(401, status)
        self.assertEqual("401 Unauthorized", body["code"])

    async def test_create_show_delete(self):
        image = await self.create(name="one", tags=["a", "b"], min_ram=64,
                                  hw_disk_bus="scsi")
        self.assertEqual("queued", image["status"])
        self.assertEqual("shared", image["visibility"])
        self.assertEqual("project-a", image["owner"])
        self.assertEqual(["a", "b"], image["tags"])
        self.assertEqual("scsi", image["hw_disk_bus"])
        self.assertEqual(f"/v2/images/{image['id']}/file", image["file"])
        self.assertIsNone(image["size"])
        status, _, shown = await self.call("GET", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual(200, status)
        self.assertEqual(image, shown)
        status, _, _ = await self.call("GET", f"/v2/images/{image['id']}/file", token=ALICE)
        self.assertEqual(204, status)
        status, _, body = await self.call("DELETE", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual(204, status)
        status, _, body = await self.call("GET", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual(404, status)
        self.assertEqual("404 Not Found", body["code"])
        self.assertIn(f"No image found with ID {image['id']}", body["message"])

    async def test_create_errors(self):
        for body, code in [({"status": "active"}, 403), ({"deleted": True}, 403),
                           ({"disk_format": "floppy"}, 400), ({"min_ram": "x"}, 400),
                           ({"prop": 3}, 400), ({"id": "not-a-uuid"}, 400),
                           ({"visibility": "public"}, 403), ({"owner": "other"}, 403),
                           ({"visibility": "everyone"}, 400)]:
            status, _, error = await self.call("POST", "/v2/images", body, token=ALICE)
            self.assertEqual(code, status, (body, error))
        status, _, error = await self.call("POST", "/v2/images", raw=b"{nope", token=ALICE,
                                           headers={"content-type": "application/json"})
        self.assertEqual(400, status)
        image = await self.create(id="8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a001")
        status, _, error = await self.call(
            "POST", "/v2/images", {"id": image["id"]}, token=ALICE)
        self.assertEqual(409, status)
        # Admins publicize and give images away.
        image = await self.create(token=ADMIN, visibility="public", owner="project-b")
        self.assertEqual(("public", "project-b"), (image["visibility"], image["owner"]))

    async def test_upload_download_multi_megabyte(self):
        image = await self.create(name="big")
        data = os.urandom(5 * 1024 * 1024 + 17)
        path = f"/v2/images/{image['id']}/file"
        status, _, _ = await self.call("PUT", path, raw=data, token=ALICE, headers=OCTET)
        self.assertEqual(204, status)
        status, _, image = await self.call("GET", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual("active", image["status"])
        self.assertEqual(len(data), image["size"])
        self.assertEqual(len(data), image["virtual_size"])
        self.assertEqual(hashlib.md5(data).hexdigest(), image["checksum"])
        self.assertEqual("sha512", image["os_hash_algo"])
        self.assertEqual(hashlib.sha512(data).hexdigest(), image["os_hash_value"])
        with open(os.path.join(self.server.image_dir, image["id"]), "rb") as f:
            self.assertEqual(data, f.read())
        status, headers, content = await self.call("GET", path, token=ALICE)
        self.assertEqual(200, status)
        self.assertEqual(data, content)
        self.assertEqual([image["checksum"]], headers.getRawHeaders("content-md5"))
        # Data is written once.
        status, _, error = await self.call("PUT", path, raw=b"again", token=ALICE,
                                           headers=OCTET)
        self.assertEqual(409, status)
        status, _, _ = await self.call("DELETE", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual(204, status)
        self.assertFalse(os.path.exists(os.path.join(self.server.image_dir, image["id"])))

    async def test_upload_errors(self):
        image = await self.create()
        path = f"/v2/images/{image['id']}/file"
        status, _, _ = await self.call("PUT", path, raw=b"x", token=ALICE,
                                       headers={"content-type": "text/plain"})
        self.assertEqual(415, status)
        status, _, _ = await self.call("PUT", path, raw=b"x", token=BOB, headers=OCTET)
        self.assertEqual(404, status)
        bare = await self.create(disk_format=None, container_format=None)
        status, _, _ = await self.call("PUT", f"/v2/images/{bare['id']}/file", raw=b"x",
                                       token=ALICE, headers=OCTET)
        self.assertEqual(400, status)

    async def test_qcow2_virtual_size(self):
        import struct

        header = b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", 1 << 30)
        image = await self.create(disk_format="qcow2")
        status, _, _ = await self.call("PUT", f"/v2/images/{image['id']}/file",
                                       raw=header + bytes(1000), token=ALICE, headers=OCTET)
        self.assertEqual(204, status)
        _, _, image = await self.call("GET", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual(1 << 30, image["virtual_size"])
        self.assertEqual(len(header) + 1000, image["size"])

    async def test_size_cap(self):
        self.server.service.api.size_cap = 1000
        image = await self.create()
        status, _, _ = await self.call("PUT", f"/v2/images/{image['id']}/file",
                                       raw=bytes(1001), token=ALICE, headers=OCTET)
        self.assertEqual(413, status)
        _, _, image = await self.call("GET", f"/v2/images/{image['id']}", token=ALICE)
        self.assertEqual("queued", image["status"])

    async def test_json_patch(self):
        image = await self.create(name="before", foo="1")
        path = f"/v2/images/{image['id']}"
        ops = [{"op": "replace", "path": "/name", "value": "after"},
               {"op": "add", "path": "/bar", "value": "2"},
               {"op": "add", "path": "/foo", "value": "3"},
               {"op": "replace", "path": "/tags", "value": ["x", "y"]},
               {"op": "replace", "path": "/min_disk", "value": 2},
               {"op": "add", "path": "/a~1b", "value": "slash"}]
        status, _, patched = await self.call("PATCH", path, ops, token=ALICE, headers=PATCH)
        self.assertEqual(200, status, patched)
        self.assertEqual(("after", "2", "3", ["x", "y"], 2, "slash"),
                         (patched["name"], patched["bar"], patched["foo"], patched["tags"],
                          patched["min_disk"], patched["a/b"]))
        status, _, patched = await self.call(
            "PATCH", path, [{"op": "remove", "path": "/bar"}], token=ALICE, headers=PATCH)
        self.assertEqual(200, status)
        self.assertNotIn("bar", patched)
        cases = [
            ([{"op": "remove", "path": "/bar"}], 409),
            ([{"op": "replace", "path": "/nothere", "value": "1"}], 409),
            ([{"op": "replace", "path": "/status", "value": "active"}], 403),
            ([{"op": "remove", "path": "/name"}], 403),
            ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
            ([{"op": "replace", "path": "/min_ram", "value": -1}], 400),
            ([{"op": "move", "path": "/name", "value": "x"}], 400),
            ([{"op": "add", "path": "/name"}], 400),
            ({"op": "add"}, 400),
        ]
        for ops, code in cases:
            status, _, error = await self.call("PATCH", path, ops, token=ALICE, headers=PATCH)
            self.assertEqual(code, status, (ops, error))
        status, _, _ = await self.call("PATCH", path, [], token=ALICE,
                                       headers={"content-type": "application/json"})
        self.assertEqual(415, status)
        status, _, _ = await self.call("PATCH", path, [], token=BOB, headers=PATCH)
        self.assertEqual(404, status)
        # v2.0's form of an operation.
        status, _, patched = await self.call(
            "PATCH", path, [{"replace": "/name", "value": "old-style"}], token=ALICE,
            headers={"content-type": "application/openstack-images-v2.0-json-patch"})
        self.assertEqual((200, "old-style"), (status, patched["name"]))

    async def test_tags_and_protection(self):
        image = await self.create(protected=True)
        path = f"/v2/images/{image['id']}"
        status, _, _ = await self.call("PUT", path + "/tags/t1", token=ALICE)
        self.assertEqual(204, status)
        _, _, shown = await self.call("GET", path, token=ALICE)
        self.assertEqual(["t1"], shown["tags"])
        status, _, _ = await self.call("DELETE", path + "/tags/t1", token=ALICE)
        self.assertEqual(204, status)
        status, _, _ = await self.call("DELETE", path + "/tags/t1", token=ALICE)
        self.assertEqual(404, status)
        status, _, error = await self.call("DELETE", path, token=ALICE)
        self.assertEqual(403, status)
        self.assertIn("is protected", error["message"])

    async def test_isolation(self):
        private = await self.create(name="a-private", visibility="private")
        shared = await self.create(name="a-shared")
        community = await self.create(name="a-community", visibility="community")
        for image in (private, shared):
            status, _, _ = await self.call("GET", f"/v2/images/{image['id']}", token=BOB)
            self.assertEqual(404, status)
            status, _, _ = await self.call("DELETE", f"/v2/images/{image['id']}", token=BOB)
            self.assertEqual(404, status)
        status, _, _ = await self.call("GET", f"/v2/images/{community['id']}", token=BOB)
        self.assertEqual(200, status)
        status, _, _ = await self.call("DELETE", f"/v2/images/{community['id']}", token=BOB)
        self.assertEqual(403, status)
        status, _, _ = await self.call(
            "PATCH", f"/v2/images/{community['id']}",
            [{"op": "replace", "path": "/name", "value": "mine"}], token=BOB, headers=PATCH)
        self.assertEqual(403, status)
        status, _, _ = await self.call("DELETE", f"/v2/images/{SEED_ID}", token=BOB)
        self.assertEqual(403, status)

        async def names(token, query=""):
            status, _, body = await self.call("GET", "/v2/images" + query, token=token)
            self.assertEqual(200, status, body)
            return sorted(i["name"] for i in body["images"])

        self.assertEqual(["a-community", "a-private", "a-shared", SEED_NAME],
                         await names(ALICE))
        self.assertEqual([SEED_NAME], await names(BOB))
        self.assertEqual(["a-community", SEED_NAME], await names(BOB, "?visibility=all"))
        self.assertEqual(["a-community"], await names(BOB, "?visibility=community"))
        self.assertEqual([], await names(BOB, "?visibility=private"))
        self.assertEqual(["a-private"], await names(ALICE, "?visibility=private"))
        self.assertEqual(["a-community", "a-private", "a-shared", SEED_NAME],
                         await names(ADMIN))
        # An admin may change anyone's image.
        status, _, _ = await self.call(
            "PATCH", f"/v2/images/{private['id']}",
            [{"op": "replace", "path": "/name", "value": "by-admin"}], token=ADMIN,
            headers=PATCH)
        self.assertEqual(200, status)

    async def test_list_filters_sort_paging(self):
        for i in range(7):
            await self.create(name=f"img-{i}", min_ram=i, tags=["even"] if i % 2 == 0
                              else [], flavour="x" if i < 3 else "y",
                              disk_format="qcow2" if i == 6 else "raw")

        async def listing(query):
            status, _, body = await self.call("GET", "/v2/images" + query, token=ALICE)
            self.assertEqual(200, status, body)
            return body

        body = await listing("?name=img-3")
        self.assertEqual(["img-3"], [i["name"] for i in body["images"]])
        self.assertEqual("/v2/schemas/images", body["schema"])
        body = await listing("?name=in:img-1,img-2&sort=name:asc")
        self.assertEqual(["img-1", "img-2"], [i["name"] for i in body["images"]])
        body = await listing("?status=queued&sort_key=name&sort_dir=asc")
        self.assertEqual([f"img-{i}" for i in range(7)], [i["name"] for i in body["images"]])
        body = await listing("?status=active")
        self.assertEqual([SEED_NAME], [i["name"] for i in body["images"]])
        body = await listing("?tag=even&sort=min_ram:desc")
        self.assertEqual(["img-6", "img-4", "img-2", "img-0"],
                         [i["name"] for i in body["images"]])
        body = await listing("?flavour=x&sort_key=min_ram&sort_dir=asc")
        self.assertEqual(["img-0", "img-1", "img-2"], [i["name"] for i in body["images"]])
        body = await listing("?disk_format=qcow2")
        self.assertEqual(["img-6"], [i["name"] for i in body["images"]])
        # Paging by following "next".
        seen, query = [], "?limit=3&sort_key=name&sort_dir=asc&status=queued"
        while True:
            body = await listing(query)
            seen += [i["name"] for i in body["images"]]
            if "next" not in body:
                break
            query = body["next"][len("/v2/images"):]
        self.assertEqual([f"img-{i}" for i in range(7)], seen)
        for query in ("?limit=-1", "?limit=x", "?sort_key=bogus", "?sort_dir=up",
                      "?marker=8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999", "?visibility=nope",
                      "?sort=name&sort_key=id"):
            status, _, _ = await self.call("GET", "/v2/images" + query, token=ALICE)
            self.assertEqual(400, status, query)

    async def test_hidden_images(self):
        await self.create(name="hidden", os_hidden=True)
        _, _, body = await self.call("GET", "/v2/images", token=ALICE)
        self.assertNotIn("hidden", [i["name"] for i in body["images"]])
        _, _, body = await self.call("GET", "/v2/images?os_hidden=true", token=ALICE)
        self.assertEqual(["hidden"], [i["name"] for i in body["images"]])

    async def test_schemas_and_routing_errors(self):
        status, _, schema = await self.call("GET", "/v2/schemas/image", token=ALICE)
        self.assertEqual(200, status)
        self.assertEqual("image", schema["name"])
        self.assertIn("disk_format", schema["properties"])
        status, _, schema = await self.call("GET", "/v2/schemas/images", token=ALICE)
        self.assertEqual("images", schema["name"])
        status, _, _ = await self.call("GET", "/v2/nothing", token=ALICE)
        self.assertEqual(404, status)
        status, headers, _ = await self.call("POST", f"/v2/images/{SEED_ID}", token=ALICE)
        self.assertEqual(405, status)
        status, headers, text = await self.call(
            "GET", "/v2/images/missing", token=ALICE, headers={"accept": "text/plain"})
        self.assertEqual(404, status)
        self.assertIn(b"404 Not Found", text)


class SeedTests(unittest.TestCase):

    async def test_seeded_once(self):
        first = ImageServer(self)
        await first.start()
        status, _, _ = await first.request("DELETE", f"/v2/images/{SEED_ID}")
        self.assertEqual(204, status)
        await first.service.stopService()
        again = ImageServer(self, conf=first.conf)
        await again.start()
        status, _, _ = await again.request("GET", f"/v2/images/{SEED_ID}")
        self.assertEqual(404, status)

    async def test_no_seed(self):
        server = ImageServer(self, image_seed=False)
        await server.start()
        _, _, body = await server.request("GET", "/v2/images")
        self.assertEqual([], body["images"])


class SpooledUploadTests(unittest.TestCase):
    """Large bodies reach the disk from threads, with or without a length."""

    async def setUp(self):
        self.server = ImageServer(self)
        await self.server.start()

    async def upload(self, data: bytes, *, chunked: bool):
        import threading

        import treq
        from twisted.web.client import FileBodyProducer
        from twisted.web.iweb import UNKNOWN_LENGTH

        from nova_tx.image.embedded import spool

        threads_seen = set()
        original = spool.ThreadedSpool._write

        def recording_write(spooler, chunk):
            threads_seen.add(threading.current_thread() is threading.main_thread())
            return original(spooler, chunk)

        self.patch(spool.ThreadedSpool, "_write", recording_write)
        _, _, image = await self.server.request("POST", "/v2/images", {
            "name": "spooled", "disk_format": "raw", "container_format": "bare"})
        import io

        body = FileBodyProducer(io.BytesIO(data))
        if chunked:
            body.length = UNKNOWN_LENGTH
        response = await treq.put(
            f"{self.server.url}/v2/images/{image['id']}/file", data=body,
            headers={"x-auth-token": ["admin:admin-project"],
                     "content-type": ["application/octet-stream"]}, persistent=False)
        await response.content()
        self.assertEqual(204, response.code)
        self.assertEqual({False}, threads_seen)
        _, _, image = await self.server.request("GET", f"/v2/images/{image['id']}")
        self.assertEqual((len(data), hashlib.md5(data).hexdigest()),
                         (image["size"], image["checksum"]))
        _, _, content = await self.server.request("GET", f"/v2/images/{image['id']}/file")
        self.assertEqual(data, content)

    async def test_large_upload_with_length(self):
        await self.upload(os.urandom(20 * 1024 * 1024 + 3), chunked=False)

    async def test_chunked_upload(self):
        await self.upload(os.urandom(3 * 1024 * 1024 + 7), chunked=True)


class ActionsAndRecoveryTests(unittest.TestCase):

    async def setUp(self):
        self.server = ImageServer(self)
        await self.server.start()

    async def test_deactivate_reactivate(self):
        path = f"/v2/images/{SEED_ID}"
        status, _, _ = await self.server.request("POST", path + "/actions/deactivate",
                                                 token=ALICE)
        self.assertEqual(403, status)
        status, _, _ = await self.server.request("POST", path + "/actions/deactivate")
        self.assertEqual(204, status)
        _, _, image = await self.server.request("GET", path, token=ALICE)
        self.assertEqual("deactivated", image["status"])
        status, _, _ = await self.server.request("GET", path + "/file", token=ALICE)
        self.assertEqual(403, status)
        status, _, _ = await self.server.request("GET", path + "/file")
        self.assertEqual(200, status)
        status, _, _ = await self.server.request("POST", path + "/actions/reactivate")
        self.assertEqual(204, status)
        status, _, _ = await self.server.request("GET", path + "/file", token=ALICE)
        self.assertEqual(200, status)
        status, _, _ = await self.server.request("POST", path + "/actions/explode")
        self.assertEqual(404, status)
        status, _, body = await self.server.request("GET", "/v2/info/import", token=ALICE)
        self.assertEqual((200, []), (status, body["import-methods"]["value"]))

    async def test_interrupted_upload_is_undone_on_start(self):
        _, _, image = await self.server.request("POST", "/v2/images", {
            "name": "cut", "disk_format": "raw", "container_format": "bare"})
        await self.server.service.store.set_status(image["id"], "saving")
        partial = os.path.join(self.server.image_dir, image["id"] + ".part")
        with open(partial, "wb") as f:
            f.write(b"half")
        await self.server.service.stopService()
        again = ImageServer(self, conf=self.server.conf)
        await again.start()
        _, _, shown = await again.request("GET", f"/v2/images/{image['id']}")
        self.assertEqual("queued", shown["status"])
        self.assertFalse(os.path.exists(partial))
        status, _, _ = await again.request("PUT", f"/v2/images/{image['id']}/file",
                                           raw=b"whole", headers=OCTET)
        self.assertEqual(204, status)


class MemberTests(unittest.TestCase):
    """Sharing a ``shared`` image with another project, as Glance's members API."""

    async def setUp(self):
        self.server = ImageServer(self)
        await self.server.start()
        self.call = self.server.request

    async def names(self, token, query=""):
        status, _, body = await self.call("GET", "/v2/images" + query, token=token)
        self.assertEqual(200, status, body)
        return sorted(i["name"] for i in body["images"] if i["name"] != SEED_NAME)

    async def test_share_accept_reject_remove(self):
        _, _, image = await self.call("POST", "/v2/images", {"name": "to-share"},
                                      token=ALICE)
        path = f"/v2/images/{image['id']}/members"
        status, _, member = await self.call("POST", path, {"member": "project-b"},
                                            token=ALICE)
        self.assertEqual(200, status, member)
        self.assertEqual(("project-b", "pending", image["id"]),
                         (member["member_id"], member["status"], member["image_id"]))
        status, _, _ = await self.call("POST", path, {"member": "project-b"}, token=ALICE)
        self.assertEqual(409, status)
        status, _, _ = await self.call("POST", path, {"member": "project-c"}, token=BOB)
        self.assertEqual(403, status)
        # Pending: shown to the member, not in its default list.
        status, _, _ = await self.call("GET", f"/v2/images/{image['id']}", token=BOB)
        self.assertEqual(200, status)
        self.assertEqual([], await self.names(BOB))
        self.assertEqual(["to-share"], await self.names(BOB, "?member_status=pending"))
        status, _, _ = await self.call("PUT", path + "/project-b", {"status": "accepted"},
                                       token=ALICE)
        self.assertEqual(403, status)
        status, _, member = await self.call("PUT", path + "/project-b",
                                            {"status": "accepted"}, token=BOB)
        self.assertEqual((200, "accepted"), (status, member["status"]))
        self.assertEqual(["to-share"], await self.names(BOB))
        self.assertEqual(["to-share"], await self.names(BOB, "?visibility=shared"))
        status, _, body = await self.call("GET", path, token=BOB)
        self.assertEqual(["project-b"], [m["member_id"] for m in body["members"]])
        status, _, _ = await self.call("PUT", path + "/project-b", {"status": "maybe"},
                                       token=BOB)
        self.assertEqual(400, status)
        status, _, _ = await self.call("PUT", path + "/project-b", {"status": "rejected"},
                                       token=BOB)
        self.assertEqual([], await self.names(BOB))
        # A member cannot change the image; the owner removes the member.
        status, _, _ = await self.call(
            "PATCH", f"/v2/images/{image['id']}",
            [{"op": "replace", "path": "/name", "value": "x"}], token=BOB,
            headers={"content-type": "application/openstack-images-v2.1-json-patch"})
        self.assertEqual(403, status)
        status, _, _ = await self.call("DELETE", path + "/project-b", token=ALICE)
        self.assertEqual(204, status)
        status, _, _ = await self.call("GET", f"/v2/images/{image['id']}", token=BOB)
        self.assertEqual(404, status)
        # Only shared images have members.
        _, _, private = await self.call("POST", "/v2/images", {"name": "p",
                                                               "visibility": "private"},
                                        token=ALICE)
        status, _, _ = await self.call("POST", f"/v2/images/{private['id']}/members",
                                       {"member": "project-b"}, token=ALICE)
        self.assertEqual(403, status)


class SpooledSizeCapTests(unittest.TestCase):

    async def test_too_large_bodies_are_not_kept(self):
        import io

        import treq
        from twisted.web.client import FileBodyProducer
        from twisted.web.iweb import UNKNOWN_LENGTH

        server = ImageServer(self, image_size_cap=200_000)
        await server.start()
        for chunked in (False, True):
            _, _, image = await server.request("POST", "/v2/images", {
                "name": "big", "disk_format": "raw", "container_format": "bare"})
            body = FileBodyProducer(io.BytesIO(os.urandom(300_000)))
            if chunked:
                body.length = UNKNOWN_LENGTH
            response = await treq.put(
                f"{server.url}/v2/images/{image['id']}/file", data=body,
                headers={"x-auth-token": ["admin:admin-project"],
                         "content-type": ["application/octet-stream"],
                         "accept": ["application/json"]}, persistent=False)
            await response.content()
            self.assertEqual(413, response.code, chunked)
            _, _, image = await server.request("GET", f"/v2/images/{image['id']}")
            self.assertEqual("queued", image["status"])
        self.assertEqual([], [n for n in os.listdir(server.image_dir)
                              if n != SEED_ID])


class DownloadInterruptedTests(unittest.TestCase):

    async def test_client_going_away_mid_download(self):
        from twisted.internet import defer, protocol, reactor, task

        server = ImageServer(self)
        await server.start()
        _, _, image = await server.request("POST", "/v2/images", {
            "name": "big", "disk_format": "raw", "container_format": "bare"})
        data = os.urandom(16 * 1024 * 1024)
        status, _, _ = await server.request("PUT", f"/v2/images/{image['id']}/file",
                                            raw=data, headers=OCTET)
        self.assertEqual(204, status)

        class Impatient(protocol.Protocol):
            received = 0

            def connectionMade(self):
                self.transport.write(
                    f"GET /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n"
                    "X-Auth-Token: admin:admin-project\r\n\r\n".encode())

            def dataReceived(self, chunk):
                self.received += len(chunk)
                if self.received > 1024 * 1024:
                    self.transport.abortConnection()

            def connectionLost(self, reason):
                done.callback(self.received)

        done = defer.Deferred()
        await protocol.ClientCreator(reactor, Impatient).connectTCP(
            "127.0.0.1", server.service.port)
        received = await done
        self.assertLess(received, len(data))
        await task.deferLater(reactor, 0.1)
        # The store still serves it whole.
        status, _, content = await server.request("GET", f"/v2/images/{image['id']}/file")
        self.assertEqual((200, data), (status, content))

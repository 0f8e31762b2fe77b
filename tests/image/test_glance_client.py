"""The Glance v2 client (nova_tx.image.glance) against the embedded store over HTTP."""
from __future__ import annotations

import hashlib
import os
import tempfile

from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx.context import RequestContext
from nova_tx.image import api
from nova_tx.image.embedded.seed import SEED_ID, tiny_disk
from nova_tx.image.glance import GlanceImageAPI
from tests.helpers import free_port
from tests.image.fixture import ImageServer

ALICE = RequestContext(user_id="alice", project_id="project-a", auth_token="alice:project-a")
BOB = RequestContext(user_id="bob", project_id="project-b", auth_token="bob:project-b")


class GlanceClientTests(unittest.TestCase):

    async def setUp(self):
        self.server = ImageServer(self)
        await self.server.start()
        # The client finds the store through [embedded] image_listen/image_port.
        self.server.conf.set_override("image_port", self.server.service.port,
                                      group="embedded")
        self.glance = GlanceImageAPI(self.server.conf)
        self.addCleanup(self.glance.close)

    def test_interface(self):
        verifyObject(api.IImageAPI, self.glance)

    async def test_get_list_and_errors(self):
        image = await self.glance.get(ALICE, SEED_ID)
        self.assertEqual("active", image["status"])
        with self.assertRaises(api.ImageNotFound):
            await self.glance.get(ALICE, "8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999")
        for i in range(5):
            await self.glance.create(ALICE, {"name": f"img-{i}", "disk_format": "raw",
                                             "container_format": "bare",
                                             "properties": {"kind": "test"}})
        # Every page is followed.
        self.server.service.api.limit_default = 2
        images = await self.glance.list(ALICE, {"kind": "test"}, sort_key="name",
                                        sort_dir="asc")
        self.assertEqual([f"img-{i}" for i in range(5)], [i["name"] for i in images])
        images = await self.glance.list(ALICE, {"kind": "test"}, limit=3, sort_key="name",
                                        sort_dir="asc")
        self.assertEqual(["img-0", "img-1", "img-2"], [i["name"] for i in images])
        self.assertEqual([], await self.glance.list(BOB, {"kind": "test"}))
        with self.assertRaises(api.ImageBadRequest):
            await self.glance.create(ALICE, {"disk_format": "floppy"})
        with self.assertRaises(api.ImageNotAuthorized):
            await self.glance.delete(BOB, SEED_ID)

    async def test_upload_download_update_delete(self):
        data = os.urandom(3 * 1024 * 1024 + 5)
        directory = tempfile.mkdtemp()
        self.addCleanup(__import__("shutil").rmtree, directory)
        source = os.path.join(directory, "in.img")
        with open(source, "wb") as f:
            f.write(data)
        image = await self.glance.create(ALICE, {"name": "up", "disk_format": "qcow2",
                                                 "container_format": "bare"})
        image = await self.glance.upload(ALICE, image["id"], source)
        self.assertEqual("active", image["status"])
        self.assertEqual(hashlib.md5(data).hexdigest(), image["checksum"])
        target = os.path.join(directory, "out.img")
        size = await self.glance.download_to(ALICE, image["id"], target)
        self.assertEqual(len(data), size)
        with open(target, "rb") as f:
            self.assertEqual(data, f.read())
        chunks = [c async for c in self.glance.download(ALICE, image["id"])]
        self.assertEqual(data, b"".join(chunks))
        with self.assertRaises(api.ImageUploadConflict):
            await self.glance.upload(ALICE, image["id"], b"again")
        image = await self.glance.update(ALICE, image["id"], {"name": "renamed",
                                                              "hw_qemu_guest_agent": "yes"})
        self.assertEqual(("renamed", "yes"), (image["name"], image["hw_qemu_guest_agent"]))
        image = await self.glance.update(ALICE, image["id"], {}, remove=["hw_qemu_guest_agent"])
        self.assertNotIn("hw_qemu_guest_agent", image)
        await self.glance.delete(ALICE, image["id"])
        with self.assertRaises(api.ImageNotFound):
            await self.glance.get(ALICE, image["id"])

    async def test_create_with_bytes_and_not_active(self):
        image = await self.glance.create(ALICE, {"name": "b", "disk_format": "raw",
                                                 "container_format": "bare"}, data=b"abc")
        self.assertEqual(3, image["size"])
        queued = await self.glance.create(ALICE, {"name": "q", "disk_format": "raw",
                                                  "container_format": "bare"})
        with self.assertRaises(api.ImageNotActive):
            [c async for c in self.glance.download(ALICE, queued["id"])]
        self.assertEqual(tiny_disk(), b"".join(
            [c async for c in self.glance.download(BOB, SEED_ID)]))

    async def test_endpoints(self):
        conf = self.server.conf
        url = self.server.url
        # The service catalog (with a versioned URL), then endpoint_override.
        conf.set_override("image_port", free_port(), group="embedded")
        glance = GlanceImageAPI(conf)
        self.addCleanup(glance.close)
        context = RequestContext(
            user_id="alice", project_id="project-a", auth_token="alice:project-a",
            service_catalog=[{"type": "image", "endpoints": [
                {"interface": "internal", "url": url + "/v2/"}]}])
        self.assertEqual(SEED_ID, (await glance.get(context, SEED_ID))["id"])
        with self.assertRaises(api.ImageServiceUnavailable):
            await glance.get(ALICE, SEED_ID)
        conf.set_override("endpoint_override", url, group="glance")
        self.assertEqual(SEED_ID, (await glance.get(ALICE, SEED_ID))["id"])
        conf.clear_override("endpoint_override", group="glance")
        # api_servers: a dead one first, the live one on retry.
        conf.set_override("api_servers", [f"http://127.0.0.1:{free_port()}", url],
                          group="glance")
        glance = GlanceImageAPI(conf)
        self.addCleanup(glance.close)
        self.assertEqual(SEED_ID, (await glance.get(ALICE, SEED_ID))["id"])
        # As in Nova, api_servers comes before endpoint_override.
        conf.set_override("endpoint_override", f"http://127.0.0.1:{free_port()}",
                          group="glance")
        self.assertEqual(SEED_ID, (await glance.get(ALICE, SEED_ID))["id"])


class NovaImageFormTests(unittest.SynchronousTestCase):

    def test_to_nova_image(self):
        import datetime

        nova = api.to_nova_image({
            "id": "i", "name": "n", "status": "active", "visibility": "public",
            "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:06Z",
            "hw_disk_bus": "scsi", "tags": ["t"], "self": "/v2/images/i", "size": 3,
            "min_disk": 1, "min_ram": 0, "disk_format": "raw", "container_format": "bare",
            "checksum": "c", "owner": "p", "os_hash_algo": "sha512"})
        self.assertEqual({"hw_disk_bus": "scsi"}, nova["properties"])
        self.assertTrue(nova["is_public"])
        self.assertFalse(nova["deleted"])
        self.assertEqual(datetime.datetime(2026, 1, 2, 3, 4, 5), nova["created_at"])
        self.assertEqual(("i", 3, "raw"), (nova["id"], nova["size"], nova["disk_format"]))

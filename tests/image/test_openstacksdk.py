"""openstacksdk against the embedded image store: upload, download, list, show, delete."""
from __future__ import annotations

import hashlib
import os
import tempfile

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.image.embedded.seed import SEED_NAME
from tests.image.fixture import ImageServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        image_endpoint_override=url, image_api_version="2")


class OpenStackSDKImageTests(unittest.TestCase):

    async def setUp(self):
        self.server = ImageServer(self)
        await self.server.start()
        self.directory = tempfile.mkdtemp()
        self.addCleanup(__import__("shutil").rmtree, self.directory)

    def scenario(self):
        conn = connect(self.server.url, "alice:project-a")
        data = os.urandom(2 * 1024 * 1024 + 3)
        source = os.path.join(self.directory, "disk.img")
        with open(source, "wb") as f:
            f.write(data)
        image = conn.image.create_image("sdk-image", filename=source, disk_format="qcow2",
                                        container_format="bare", wait=True,
                                        validate_checksum=True, meta={"hw_foo": "bar"})
        self.assertEqual("active", image.status)
        self.assertEqual(len(data), image.size)
        shown = conn.image.get_image(image.id)
        self.assertEqual(hashlib.md5(data).hexdigest(), shown.checksum)
        self.assertEqual(hashlib.sha512(data).hexdigest(), shown.hash_value)
        names = sorted(i.name for i in conn.image.images())
        self.assertEqual(sorted(["sdk-image", SEED_NAME]), names)
        self.assertEqual(["sdk-image"], [i.name for i in conn.image.images(name="sdk-image")])
        target = os.path.join(self.directory, "saved.img")
        conn.image.download_image(image, output=target)
        with open(target, "rb") as f:
            self.assertEqual(data, f.read())
        conn.image.update_image(image, name="renamed", hw_bar="baz")
        shown = conn.image.get_image(image.id)
        self.assertEqual("renamed", shown.name)
        self.assertEqual("baz", shown.properties.get("hw_bar", getattr(shown, "hw_bar", None)))
        conn.image.add_tag(image, "t1")
        self.assertEqual(["t1"], conn.image.get_image(image.id).tags)
        other = connect(self.server.url, "bob:project-b")
        self.assertIsNone(other.image.find_image("renamed"))
        # Shared with project-b, which accepts.
        conn.image.add_member(image, member_id="project-b")
        other.image.update_member("project-b", image.id, status="accepted")
        self.assertEqual(["renamed"], [i.name for i in other.image.images(
            visibility="shared")])
        self.assertEqual(["accepted"], [m.status for m in conn.image.members(image)])
        conn.image.remove_member("project-b", image.id)
        self.assertIsNone(other.image.find_image("renamed"))
        conn.image.delete_image(image)
        self.assertIsNone(conn.image.find_image(image.id))
        conn.close()
        other.close()

    async def test_sdk(self):
        await threads.deferToThread(self.scenario)

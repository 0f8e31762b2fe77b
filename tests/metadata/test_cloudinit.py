"""cloud-init's own OpenStack data source reads a nova-tx instance, from the running
service and from a generated config drive (extracted with pycdlib, read with
cloud-init's ConfigDriveReader, no loop mount). cloud-init is Debian's package, run
with Debian's python3 in a child process; without it the test is skipped locally and
fails under CI=true."""
from __future__ import annotations

import io
import json
import os
import tempfile

from twisted.internet import utils
from twisted.trial import unittest

from tests.helpers import unavailable
from tests.metadata.fixture import PUBLIC_KEY, USER_DATA, MetadataServer

SYSTEM_PYTHON = "/usr/bin/python3"
READER = os.path.join(os.path.dirname(__file__), "cloudinit_reader.py")


def require_cloud_init() -> None:
    probe = os.path.exists(SYSTEM_PYTHON) and os.path.exists(
        "/usr/lib/python3/dist-packages/cloudinit/sources/helpers/openstack.py")
    if not probe:
        unavailable("Debian's cloud-init is not installed (apt-get install cloud-init)")


async def read_with_cloud_init(kind: str, where: str) -> dict:
    out, err, code = await utils.getProcessOutputAndValue(
        SYSTEM_PYTHON, [READER, kind, where], env={"PATH": "/usr/bin:/bin"})
    if code != 0:
        raise AssertionError("cloud-init reader failed: %s" % err.decode()[-2000:])
    return json.loads(out)


class CloudInitTest(unittest.TestCase):
    def setUp(self):
        require_cloud_init()
        # Source-address mode: cloud-init asks from 127.0.0.1, the instance's address.
        self.server = MetadataServer(self)
        self.instance = self.server.add_instance(address="127.0.0.1")

    def check(self, seen: dict) -> None:
        self.assertEqual(self.instance.uuid, seen["instance-id"])
        self.assertEqual("test-vm.novalocal", seen["local-hostname"])
        self.assertEqual([PUBLIC_KEY], seen["public-keys"])
        self.assertEqual(USER_DATA.decode(), seen["userdata"])
        [interface] = seen["network"]["config"][:1]
        self.assertEqual("physical", interface["type"])
        self.assertEqual("fa:16:3e:00:00:01", interface["mac_address"])
        [subnet] = interface["subnets"]
        self.assertEqual(("static", "127.0.0.1", "255.255.255.0"),
                         (subnet["type"], subnet["address"], subnet["netmask"]))
        self.assertIn({"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"},
                      subnet["routes"])
        self.assertIn({"type": "nameserver", "address": "8.8.8.8"},
                      seen["network"]["config"])

    async def test_from_the_metadata_service(self):
        seen = await read_with_cloud_init("url", self.server.base)
        self.check(seen)
        self.assertEqual(2, seen["version"])
    test_from_the_metadata_service.timeout = 60

    async def test_from_a_config_drive(self):
        import pycdlib

        from nova_tx.db.main import instances
        from nova_tx.metadata import configdrive

        with self.server.cell_engine.connect() as conn:
            instance = instances.get(conn, self.instance.uuid, expected_attrs=(
                "metadata", "system_metadata", "info_cache", "keypairs", "flavor",
                "security_groups"))
        directory = tempfile.mkdtemp()
        self.addCleanup(_rmtree, directory)
        path = os.path.join(directory, "disk.config")
        await configdrive.create_config_drive(self.server.conf, instance, path,
                                              providers={})
        iso = pycdlib.PyCdlib()
        iso.open(path)
        self.assertEqual(b"config-2", iso.pvd.volume_identifier.strip())
        root = os.path.join(directory, "drive")
        for dirname, _, files in iso.walk(rr_path="/"):
            os.makedirs(root + dirname, exist_ok=True)
            for name in files:
                rr = dirname.rstrip("/") + "/" + name
                buffer = io.BytesIO()
                iso.get_file_from_iso_fp(buffer, rr_path=rr)
                with open(root + rr, "wb") as f:
                    f.write(buffer.getvalue())
        iso.close()
        seen = await read_with_cloud_init("drive", root)
        self.check(seen)
        self.assertTrue(seen["ec2-metadata"])
    test_from_a_config_drive.timeout = 60


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


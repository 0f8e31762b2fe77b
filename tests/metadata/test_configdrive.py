"""Config drives (spec D §2.1): the ISO's label and layout, admin_pass and injected
files on the drive only, skipped EC2 versions, and when a drive is required."""
from __future__ import annotations

import io
import json
import os
import tempfile

from twisted.trial import unittest

from nova_tx.metadata import configdrive
from nova_tx.objects.instance import Instance
from tests.metadata.fixture import USER_DATA, MetadataServer, make_conf


class ConfigDriveTest(unittest.TestCase):
    def setUp(self):
        self.server = MetadataServer(self)
        made = self.server.add_instance(config_drive="True")
        from nova_tx.db.main import instances

        with self.server.cell_engine.connect() as conn:
            self.instance = instances.get(conn, made.uuid, expected_attrs=(
                "metadata", "system_metadata", "info_cache", "keypairs", "flavor",
                "security_groups"))

    async def build(self, **kwargs):
        import pycdlib

        path = os.path.join(tempfile.mkdtemp(), "disk.config")
        self.addCleanup(os.unlink, path)
        await configdrive.create_config_drive(self.server.conf, self.instance, path,
                                              **kwargs)
        iso = pycdlib.PyCdlib()
        iso.open(path)
        self.addCleanup(iso.close)
        files = {}
        for dirname, _, names in iso.walk(rr_path="/"):
            for name in names:
                rr = dirname.rstrip("/") + "/" + name
                buffer = io.BytesIO()
                iso.get_file_from_iso_fp(buffer, rr_path=rr)
                files[rr[1:]] = buffer.getvalue()
        return iso, files

    async def test_label_and_layout(self):
        iso, files = await self.build(providers={})
        self.assertEqual(b"config-2", iso.pvd.volume_identifier.strip())
        meta = json.loads(files["openstack/latest/meta_data.json"])
        self.assertEqual(("webservers", self.instance.uuid), (meta["meta"]["role"],
                                                              meta["uuid"]))
        self.assertEqual(USER_DATA, files["openstack/latest/user_data"])
        self.assertIn("ec2/2009-04-04/meta-data.json", files)
        self.assertIn("ec2/latest/meta-data.json", files)
        self.assertEqual(USER_DATA, files["ec2/latest/user-data"])
        self.assertFalse([p for p in files if p.startswith("ec2/1.0")])
        self.assertFalse([p for p in files if p.endswith("/password")])
        ec2 = json.loads(files["ec2/2009-04-04/meta-data.json"])
        self.assertEqual({"0": {"openssh-key": self.instance.key_data}},
                         ec2["public-keys"])
        self.assertNotIn("network_data.json", " ".join(
            p for p in files if p.startswith("openstack/2013-10-17/")))
        self.assertIn("openstack/2015-10-15/network_data.json", files)
        self.assertIn("openstack/2016-10-06/vendor_data2.json", files)
        self.assertNotIn("openstack/2016-06-30/vendor_data2.json", files)
        self.assertNotIn("admin_pass", meta)

    async def test_admin_pass_static_vendordata_and_injected_files(self):
        from nova_tx.metadata.vendordata import StaticJSON

        _, files = await self.build(providers={"StaticJSON": StaticJSON()},
                                    admin_pass="hunter2",
                                    injected_files=[("/etc/motd", b"hello")])
        meta = json.loads(files["openstack/latest/meta_data.json"])
        self.assertEqual("hunter2", meta["admin_pass"])
        self.assertEqual([{"path": "/etc/motd", "content_path": "/content/0000"}],
                         meta["files"])
        self.assertEqual(b"hello", files["openstack/content/0000"])
        self.assertEqual({}, json.loads(files["openstack/latest/vendor_data.json"]))
        self.assertEqual({"static": {}},
                         json.loads(files["openstack/latest/vendor_data2.json"]))

    async def test_skip_versions_option(self):
        self.server.conf.set_override("config_drive_skip_versions",
                                      "1.0 2009-04-04", group="api")
        _, files = await self.build(providers={})
        self.assertIn("ec2/2007-01-19/meta-data.json", files)
        self.assertNotIn("ec2/2009-04-04/meta-data.json", files)


class RequiredByTest(unittest.TestCase):
    def test_required_by(self):
        import datetime

        conf = make_conf()
        self.assertTrue(configdrive.required_by(Instance(uuid="a", config_drive="True"),
                                                conf))
        self.assertFalse(configdrive.required_by(Instance(uuid="a", config_drive=""),
                                                 conf))
        self.assertTrue(configdrive.required_by(
            Instance(uuid="a"), conf, {"img_config_drive": "mandatory"}))
        conf.set_override("force_config_drive", True)
        self.assertTrue(configdrive.required_by(Instance(uuid="a"), conf))
        launched = Instance(uuid="a", launched_at=datetime.datetime(2020, 1, 1))
        self.assertFalse(configdrive.required_by(launched, conf))

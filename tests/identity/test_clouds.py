"""The all-in-one's clouds.yaml and identity configuration."""
from __future__ import annotations

import os
import stat

import yaml
from oslo_config import cfg
from twisted.trial import unittest

from nova_tx.conf import embedded, keystone_authtoken
from nova_tx.identity import clouds
from nova_tx.identity.directory import Directory


class CloudsYamlTest(unittest.SynchronousTestCase):
    def test_written_for_openstacksdk(self):
        path = os.path.join(self.mktemp(), "clouds.yaml")
        others = {"nova-tx-demo": clouds.Credentials("demo", 'p"w: #x', "demo",
                                                     ("member",))}
        self.assertEqual(path, clouds.write_clouds_yaml(
            path, "http://127.0.0.1:5000/v3", "admin", "s3cret", "admin", others=others))
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(path) as f:
            document = yaml.safe_load(f)
        cloud = document["clouds"]["nova-tx"]
        self.assertEqual({"auth_url": "http://127.0.0.1:5000/v3", "username": "admin",
                          "password": "s3cret", "project_name": "admin",
                          "user_domain_name": "Default",
                          "project_domain_name": "Default"}, cloud["auth"])
        self.assertEqual("RegionOne", cloud["region_name"])
        self.assertEqual(3, cloud["identity_api_version"])
        self.assertEqual('p"w: #x', document["clouds"]["nova-tx-demo"]["auth"]["password"])
        self.assertEqual(["clouds.yaml"], os.listdir(os.path.dirname(path)))


class AllInOneConfigTest(unittest.SynchronousTestCase):
    def test_config_declares_the_users_and_the_service_user(self):
        credentials = clouds.generate_credentials()
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(clouds.allinone_config(credentials, port=5001))
        conf = cfg.ConfigOpts()
        embedded.register_opts(conf)
        keystone_authtoken.register_opts(conf)
        conf.register_opt(cfg.StrOpt("auth_strategy"), group="api")
        conf(["--config-file", path], project="nova", default_config_files=[])
        self.assertEqual("keystone", conf.api.auth_strategy)
        self.assertTrue(conf.embedded.identity)
        self.assertEqual(5001, conf.embedded.identity_port)
        directory = Directory.from_conf(conf)
        self.assertEqual({"admin", "demo", "nova"},
                         {u.name for u in directory.users.values()})
        nova = directory.find_user(name="nova")
        self.assertTrue(nova.check_password(conf.keystone_authtoken.password))
        self.assertEqual("http://127.0.0.1:5001/v3", conf.keystone_authtoken.auth_url)
        admin = clouds.admin_credentials(conf)
        self.assertEqual(("admin", credentials["admin"].password, "admin"),
                         (admin.user, admin.password, admin.project))

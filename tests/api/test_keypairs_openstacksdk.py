"""openstacksdk (what python-openstackclient uses) against key pairs, limits, quota sets
and availability zones, with the microversions it negotiates."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from tests.api.quota_server import FINGERPRINT, PUBLIC_KEY, QuotaServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        compute_endpoint_override=url)


class OpenStackSDKTests(unittest.TestCase):

    def scenario(self, api: QuotaServer):
        user = connect(api.base + "/v2.1", "alice:proj1")
        admin = connect(api.base + "/v2.1", "admin:proj1")
        try:
            imported = user.compute.create_keypair(name="imported", public_key=PUBLIC_KEY)
            self.assertEqual((FINGERPRINT, "ssh"), (imported.fingerprint, imported.type))
            generated = user.compute.create_keypair(name="generated", key_type="ssh",
                                                    public_key=PUBLIC_KEY)
            self.assertEqual("alice", generated.user_id)
            self.assertEqual(["generated", "imported"],
                             sorted(k.name for k in user.compute.keypairs()))
            self.assertEqual(FINGERPRINT, user.compute.get_keypair("imported").fingerprint)
            self.assertEqual(["generated", "imported"],
                             sorted(k.name for k in admin.compute.keypairs(user_id="alice")))
            user.compute.delete_keypair("imported")
            self.assertIsNone(user.compute.find_keypair("imported"))

            limits = user.compute.get_limits()
            self.assertEqual(100, limits.absolute.keypairs)
            self.assertEqual(10, limits.absolute.instances)

            quota = admin.compute.get_quota_set("proj1")
            self.assertEqual(20, quota.cores)
            admin.compute.update_quota_set(quota, cores=30)
            self.assertEqual(30, admin.compute.get_quota_set("proj1").cores)
            usage = admin.compute.get_quota_set("proj1", usage=True)
            self.assertEqual(30, usage.cores)
            defaults = admin.compute.get_quota_set_defaults("proj1")
            self.assertEqual(20, defaults.cores)
            admin.compute.revert_quota_set("proj1")
            self.assertEqual(20, admin.compute.get_quota_set("proj1").cores)

            self.assertEqual(["nova"], [z.name for z in user.compute.availability_zones()])
        finally:
            user.close()
            admin.close()

    async def test_sdk(self):
        api = QuotaServer(self)
        api.add_service("compute1")
        await threads.deferToThread(self.scenario, api)

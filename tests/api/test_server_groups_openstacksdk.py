"""openstacksdk (what python-openstackclient uses) against /os-server-groups, with the
microversion it negotiates (2.64 for server groups): create with a policy and rules,
list (and every project's for an admin), show, find by name, delete."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from tests.api.server_group_server import ServerGroupServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        compute_endpoint_override=url)


class OpenStackSDKTests(unittest.TestCase):

    def scenario(self, api: ServerGroupServer):
        user = connect(api.base + "/v2.1", "alice:proj1")
        other = connect(api.base + "/v2.1", "bob:proj2")
        admin = connect(api.base + "/v2.1", "admin:proj3")
        try:
            web = user.compute.create_server_group(
                name="web", policy="anti-affinity", rules={"max_server_per_host": 2})
            self.assertEqual(("web", "anti-affinity", {"max_server_per_host": 2},
                              [], "proj1", "alice"),
                             (web.name, web.policy, web.rules, web.member_ids,
                              web.project_id, web.user_id))
            # The pre-2.64 spelling still works: the SDK turns it into ``policy``.
            db = user.compute.create_server_group(name="db", policies=["soft-affinity"])
            self.assertEqual("soft-affinity", db.policy)
            other.compute.create_server_group(name="theirs", policy="affinity")

            self.assertEqual(["web", "db"], [g.name for g in user.compute.server_groups()])
            self.assertEqual(["theirs"], [g.name for g in other.compute.server_groups()])
            self.assertEqual({"web", "db", "theirs"},
                             {g.name for g in admin.compute.server_groups(all_projects=True)})

            fetched = user.compute.get_server_group(web.id)
            self.assertEqual((web.id, {"max_server_per_host": 2}), (fetched.id, fetched.rules))
            self.assertEqual(db.id, user.compute.find_server_group("db").id)

            user.compute.delete_server_group(web.id)
            self.assertIsNone(user.compute.find_server_group(web.id))
            self.assertEqual(["db"], [g.name for g in user.compute.server_groups()])
        finally:
            user.close()
            other.close()
            admin.close()

    async def test_sdk(self):
        api = ServerGroupServer(self)
        await threads.deferToThread(self.scenario, api)

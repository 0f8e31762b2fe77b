"""openstacksdk (what python-openstackclient uses) against /os-server-groups, with the
microversion it negotiates (2.64 for server groups): create with a policy and rules,
list (and every project's for an admin), show, find by name, delete; and the stock
``openstack server group`` commands."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.internet import threads
from twisted.trial import unittest

from tests.api.server_group_server import ServerGroupServer
from tests.helpers import unavailable

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")


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


class OpenStackClientTests(unittest.TestCase):
    """The stock ``openstack`` command (python-openstackclient)."""

    def openstack(self, api: ServerGroupServer, token: str, *args: str) -> str:
        url = api.base + "/v2.1"
        result = subprocess.run(
            [OPENSTACK, "--os-auth-type", "admin_token", "--os-endpoint", url,
             "--os-token", token, "--os-compute-api-version", "2.64", *args],
            capture_output=True, text=True, timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith("OS_")})
        self.assertEqual(0, result.returncode, (args, result.stdout, result.stderr))
        return result.stdout

    def scenario(self, api: ServerGroupServer):
        created = json.loads(self.openstack(
            api, "alice:proj1", "server", "group", "create", "--policy", "anti-affinity",
            "--rule", "max_server_per_host=2", "web", "-f", "json"))
        self.assertEqual(("web", "anti-affinity"), (created["name"], created["policy"]))
        listed = json.loads(self.openstack(api, "alice:proj1", "server", "group", "list",
                                           "-f", "json"))
        self.assertEqual(["web"], [g["Name"] for g in listed])
        shown = json.loads(self.openstack(api, "alice:proj1", "server", "group", "show",
                                          "web", "-f", "json"))
        self.assertEqual(created["id"], shown["id"])
        self.openstack(api, "alice:proj1", "server", "group", "delete", "web")
        self.assertEqual([], json.loads(self.openstack(api, "alice:proj1", "server", "group",
                                                       "list", "-f", "json")))

    async def test_openstack_client(self):
        if not os.path.exists(OPENSTACK):
            unavailable("python-openstackclient is not installed (test extra)")
        api = ServerGroupServer(self)
        await threads.deferToThread(self.scenario, api)

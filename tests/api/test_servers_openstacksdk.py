"""openstacksdk (what python-openstackclient uses) against the servers read, update and
delete routes, server metadata, tags and instance actions, with the microversion it
negotiates (the highest both sides know: 2.93)."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.compute import states
from tests.api.servers_server import SAMPLE_PROJECT, ServersServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        compute_endpoint_override=url)


class OpenStackSDKTests(unittest.TestCase):

    def scenario(self, api: ServersServer, web: str, db: str, building: str):
        user = connect(api.base + "/v2.1", "demo:" + SAMPLE_PROJECT)
        try:
            compute = user.compute
            listed = {s.id: s for s in compute.servers()}
            self.assertEqual({web, db, building}, set(listed))
            self.assertEqual("BUILD", listed[building].status)
            self.assertEqual([web], [s.id for s in compute.servers(name="^web")])
            self.assertEqual([db], [s.id for s in compute.servers(status="SHUTOFF")])
            self.assertEqual([web], [s.id for s in compute.servers(tags="red")])
            server = compute.get_server(web)
            self.assertEqual(("web", "ACTIVE", "m1.tiny", ["red"]),
                             (server.name, server.status, server.flavor.original_name,
                              server.tags))
            compute.update_server(server, name="web2", description="front")
            server = compute.get_server(web)
            self.assertEqual(("web2", "front"), (server.name, server.description))
            compute.set_server_metadata(server, role="frontend")
            self.assertEqual({"a": "1", "role": "frontend"},
                             compute.get_server_metadata(server).metadata)
            compute.delete_server_metadata(server, ["a"])
            self.assertEqual({"role": "frontend"},
                             compute.get_server_metadata(server).metadata)
            compute.add_tag_to_server(server, "blue")
            self.assertEqual(["blue", "red"], sorted(compute.get_server(web).tags))
            compute.remove_tag_from_server(server, "red")
            self.assertEqual(["blue"], compute.get_server(web).tags)
            actions = list(compute.server_actions(server))
            self.assertEqual(["create"], [a.action for a in actions])
            compute.delete_server(building)
            compute.delete_server(db)
            self.assertEqual({web}, {s.id for s in compute.servers()})
        finally:
            user.close()

    async def test_sdk(self):
        api = ServersServer(self)
        web = api.add_instance(display_name="web", metadata={"a": "1"}, tags=["red"]).uuid
        api.add_action(web, "req-1")
        db = api.add_instance(display_name="db", vm_state=states.STOPPED).uuid
        building = api.add_build_request(display_name="building").uuid
        await threads.deferToThread(self.scenario, api, web, db, building)

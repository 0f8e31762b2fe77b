"""openstacksdk (what python-openstackclient uses) creating servers, at the microversion
it negotiates: the server stays in BUILD (no conductor here), its build request and
the conductor cast are there."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from tests.api.servers_create_server import IMAGE, ServersServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        compute_endpoint_override=url)


class OpenStackSDKTests(unittest.TestCase):

    def scenario(self, api: ServersServer, network_id: str):
        user = connect(api.base + "/v2.1", "alice:proj1")
        try:
            server = user.compute.create_server(
                name="sdk-server", image_id=IMAGE, flavor_id="1",
                networks=[{"uuid": network_id}], metadata={"role": "web"},
                min_count=1, max_count=2)
            self.assertTrue(server.id)
            self.assertEqual(12, len(server.admin_password))
            # The SDK reads no server from a reservation id answer; the request passes.
            user.compute.create_server(
                name="sdk-reserved", image_id=IMAGE, flavor_id="1", networks="none",
                return_reservation_id=True)
            return server.id
        finally:
            user.close()

    async def test_sdk(self):
        api = await ServersServer.start(self)
        from nova_tx.context import RequestContext

        [private] = await api.networks.list_networks(
            RequestContext(user_id="alice", project_id="proj1", auth_token="alice:proj1"),
            name="private")
        server_id = await threads.deferToThread(
            self.scenario, api, private["id"])
        instance = api.build_request(server_id)
        self.assertEqual(("sdk-server-1", {"role": "web"}, "proj1"),
                         (instance["display_name"], instance["metadata"],
                          instance["project_id"]))
        self.assertEqual(3, len(api.rows("build_requests")))
        names = sorted(api.build_request(r["instance_uuid"])["display_name"]
                       for r in api.rows("build_requests"))
        self.assertEqual(["sdk-reserved", "sdk-server-1", "sdk-server-2"], names)
        casts = await api.casts(2)
        self.assertEqual(["schedule_and_build_instances"] * 2, [c["method"] for c in casts])

"""instance.update from the servers API: the server tags API sends it (versioned
``InstanceUpdatePayload`` from nova-api, legacy ``compute.instance.update``) after
every change, as Nova; metadata changes and renames send it only with
``[notifications] notify_on_state_change`` (Nova's ``Instance.save``); refusals send
nothing. Checked against Nova's notification samples."""
from __future__ import annotations

import copy

from twisted.trial import unittest

from tests.api.flavor_server import notification_sample
from tests.api.servers_server import DEMO, ServersServer, version


def resolved(value):
    """A sample with its ``$ref`` payloads merged in (the referenced data, then the
    sample's own)."""
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if not isinstance(value, dict):
        return value
    value = copy.deepcopy(value)
    ref = value.pop("$ref", None)
    if ref is not None:
        base = resolved(notification_sample("common_payloads/" + ref.split("#")[0]
                                            .replace("common_payloads/", "")))
        data = base.get("nova_object.data", {})
        data.update(value.pop("nova_object.data", {}))
        base.update(value)
        base["nova_object.data"] = data
        value = base
    return {k: resolved(v) for k, v in value.items()}


#: Free-form dicts: their keys are data, not shape.
FREE_FORM = ("metadata", "extra_specs", "meta")


def shape(value):
    """Keys and nesting without the values (what must match a sample)."""
    if isinstance(value, dict):
        return {k: None if k in FREE_FORM else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return None


class InstanceUpdateNotificationTest(unittest.TestCase):

    def server(self, **kwargs):
        self.api = ServersServer(self, notification_format="both", **kwargs)
        return self.api.add_instance(
            host="compute", node="fake-mini", hostname="some-server",
            display_description="some-server", reservation_id="r-npxv0e40",
            kernel_id="", ramdisk_id="", architecture="x86_64", key_name="my-key",
            availability_zone="nova", progress=0, tags=["tag0"],
            network_info=[{"id": "ce531f90-199f-48c0-816c-13e38010b442",
                           "address": "fa:16:3e:4c:2c:30", "devname": "tapce531f90-19",
                           "meta": {}, "network": {"label": "private", "subnets": [{
                               "ips": [{"address": "192.168.1.3", "version": 4,
                                        "type": "fixed"}]}]}}])

    async def tags(self, server, method, path="", body=None):
        return await self.api.request(method, f"/v2.1/servers/{server.uuid}/tags{path}",
                                      token=DEMO, body=body, headers=version("2.26"))

    async def test_tag_changes_send_instance_update_like_the_sample(self):
        server = self.server()
        self.assertEqual(200, (await self.tags(server, "PUT", body={"tags": ["tag1"]})).code)
        [sent] = self.api.notifications()
        expected = resolved(notification_sample("instance-update-tags-action.json"))
        self.maxDiff = None
        self.assertEqual(shape(expected["payload"]), shape(sent["payload"]))
        for key in ("event_type", "priority", "publisher_id"):
            self.assertEqual(expected[key], sent[key], key)
        data = sent["payload"]["nova_object.data"]
        self.assertEqual((["tag1"], server.uuid, "running", "MANUAL", "demo", "192.168.1.3",
                          "tapce531f90-19", "m1.tiny"),
                         (data["tags"], data["uuid"], data["power_state"],
                          data["auto_disk_config"], data["action_initiator_user"],
                          data["ip_addresses"][0]["nova_object.data"]["address"],
                          data["ip_addresses"][0]["nova_object.data"]["device_name"],
                          data["flavor"]["nova_object.data"]["name"]))
        expected_data = expected["payload"]["nova_object.data"]
        self.assertEqual(sorted(expected_data["flavor"]["nova_object.data"]),
                         sorted(data["flavor"]["nova_object.data"]))
        [legacy] = self.api.legacy_notifications()
        self.assertEqual(("compute.instance.update", "nova-api.fake-mini", "active", ""),
                         (legacy["event_type"], legacy["publisher_id"],
                          legacy["payload"]["state"],
                          legacy["payload"]["state_description"]))
        await self.tags(server, "PUT", "/tag2")
        await self.tags(server, "DELETE", "/tag1")
        await self.tags(server, "DELETE")
        self.assertEqual([["tag1"], ["tag1", "tag2"], ["tag2"], []],
                         [n["payload"]["nova_object.data"]["tags"]
                          for n in self.api.notifications()])

    async def test_refused_tag_changes_send_nothing(self):
        server = self.server()
        await self.tags(server, "PUT", body={"tags": ["a/b"]})
        await self.tags(server, "PUT", "/a,b")
        await self.tags(server, "DELETE", "/nope")
        await self.tags(server, "PUT", "/tag0")
        self.assertEqual(([], []), (self.api.notifications(),
                                    self.api.legacy_notifications()))

    async def test_metadata_and_rename_only_with_notify_on_state_change(self):
        server = self.server()
        await self.api.request("POST", f"/v2.1/servers/{server.uuid}/metadata",
                               body={"metadata": {"a": "1"}}, token=DEMO)
        self.assertEqual([], self.api.notifications())
        server = self.server(notify_on_state_change="vm_state")
        await self.api.request("POST", f"/v2.1/servers/{server.uuid}/metadata",
                               body={"metadata": {"a": "1"}}, token=DEMO)
        await self.api.request("PUT", f"/v2.1/servers/{server.uuid}", token=DEMO,
                               body={"server": {"name": "renamed"}})
        first, second = self.api.notifications()
        self.assertEqual(("nova-compute:fake-mini", {"a": "1"}, None),
                         (first["publisher_id"], first["payload"]["nova_object.data"][
                             "metadata"], first["payload"]["nova_object.data"][
                             "old_display_name"]))
        self.assertEqual(("renamed", "new-server-test"),
                         (second["payload"]["nova_object.data"]["display_name"],
                          second["payload"]["nova_object.data"]["old_display_name"]))
        legacy = self.api.legacy_notifications()
        self.assertEqual(["compute.fake-mini"] * 2, [n["publisher_id"] for n in legacy])
        self.assertEqual("new-server-test", legacy[1]["payload"]["old_display_name"])

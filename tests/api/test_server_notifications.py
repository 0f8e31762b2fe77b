"""instance.update from the servers API: the server tags API sends it (versioned
``InstanceUpdatePayload`` from nova-api, legacy ``compute.instance.update``) after
every change, as Nova; metadata changes and renames send it only with
``[notifications] notify_on_state_change`` (Nova's ``Instance.save``); refusals send
nothing. Checked against Nova's notification samples."""
from __future__ import annotations

import copy

from twisted.trial import unittest

from tests.api.flavor_server import notification_sample
from tests.api.servers_server import DEMO, T0, ServersServer, version


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


class InstanceDeleteNotificationTest(unittest.TestCase):

    async def delete(self, api, uuid):
        reply = await api.request("DELETE", f"/v2.1/servers/{uuid}", token=DEMO)
        self.assertEqual(204, reply.code, reply.raw)

    def check(self, api, sample_prefix, states_seen):
        start, end = api.notifications()
        for sent, phase in ((start, "start"), (end, "end")):
            expected = resolved(notification_sample(f"instance-delete-{phase}_"
                                                    f"{sample_prefix}.json"))
            # The common payload lists a block device ([notifications]
            # bdms_in_notifications); the API sends none.
            expected["payload"]["nova_object.data"]["block_devices"] = []
            self.maxDiff = None
            self.assertEqual(shape(expected["payload"]), shape(sent["payload"]), phase)
            for key in ("event_type", "priority", "publisher_id"):
                self.assertEqual(expected[key], sent[key], (phase, key))
        self.assertEqual(states_seen, [(n["payload"]["nova_object.data"]["state"],
                                        n["payload"]["nova_object.data"]["task_state"])
                                       for n in (start, end)])
        self.assertIsNotNone(end["payload"]["nova_object.data"]["deleted_at"])
        legacy = api.legacy_notifications()
        self.assertEqual([("compute.instance.delete.start", "compute.fake-mini"),
                          ("compute.instance.delete.end", "compute.fake-mini")],
                         [(n["event_type"], n["publisher_id"]) for n in legacy])

    async def test_compute_down(self):
        api = ServersServer(self, notification_format="both")
        api.add_service("compute", seen=T0)
        server = api.add_instance(host="compute", node="fake-mini")
        await self.delete(api, server.uuid)
        self.check(api, "compute_down", [("active", "deleting"), ("deleted", None)])
        # The ports went between start and end (the end shows no address).
        self.assertEqual([server.uuid], [uuid for uuid, _ in api.network.released])

    async def test_not_scheduled(self):
        api = ServersServer(self, notification_format="both")
        server = api.add_instance(vm_state="error", network_info=[])
        await self.delete(api, server.uuid)
        self.check(api, "not_scheduled", [("error", "deleting"), ("deleted", None)])

    async def test_a_live_compute_gets_the_instance_and_no_notification_is_sent(self):
        api = ServersServer(self, notification_format="both")
        api.add_service("compute")
        server = api.add_instance(host="compute")
        casts = []

        class ComputeAPI:
            def terminate_instance(self, context, instance, bdms):
                casts.append((instance.uuid, instance.task_state, bdms))

        api.components["compute_rpcapi"] = ComputeAPI()
        await self.delete(api, server.uuid)
        self.assertEqual([(server.uuid, "deleting", [])], casts)
        self.assertEqual(([], []), (api.notifications(), api.legacy_notifications()))
        # A compute API without terminate_instance yet (the operator API's): the server
        # waits in deleting for the compute service of issue 9/10.
        api.components["compute_rpcapi"] = object()
        other = api.add_instance(host="compute")
        await self.delete(api, other.uuid)
        self.assertEqual("deleting", api.get_instance(other.uuid).task_state)

    async def test_with_a_reclaim_interval_a_live_compute_soft_deletes(self):
        import datetime

        from nova_tx.conf import compute_manager

        api = ServersServer(self, notification_format="both")
        compute_manager.register_opts(api.conf)
        api.conf.set_override("reclaim_instance_interval", 3600)
        api.add_service("compute")
        launched = api.add_instance(host="compute",
                                    launched_at=datetime.datetime(2022, 1, 1))
        never = api.add_instance(host="compute")
        casts = []

        class ComputeAPI:
            def soft_delete_instance(self, context, instance):
                casts.append(("soft", instance.uuid, instance.task_state))

            def terminate_instance(self, context, instance, bdms):
                casts.append(("terminate", instance.uuid, instance.task_state))

        api.components["compute_rpcapi"] = ComputeAPI()
        await self.delete(api, launched.uuid)
        await self.delete(api, never.uuid)
        self.assertEqual([("soft", launched.uuid, "soft-deleting"),
                          ("terminate", never.uuid, "deleting")], casts)
        self.assertIsNotNone(api.get_instance(launched.uuid).deleted_at)

    async def test_a_build_request_is_gone_without_a_notification(self):
        api = ServersServer(self, notification_format="both")
        request = api.add_build_request()
        await self.delete(api, request.uuid)
        self.assertEqual([], api.notifications())


class DeleteCastTest(unittest.TestCase):
    """The real compute RPC API over the in-memory bus: the delete of a server on a
    live host is Nova's ``terminate_instance`` cast to ``compute.<host>``."""

    async def test_terminate_instance_cast(self):
        import json

        from nova_tx.bus.interfaces import Binding
        from nova_tx.compute.rpcapi import ComputeAPI
        from tests.bus import Collector

        api = ServersServer(self)
        api.add_service("up")
        server = api.add_instance(host="up")
        api.add_volume(server.uuid, "vol-1")
        casts = Collector()
        exchange = api.conf.control_exchange
        api.transport.declare_queue("compute.up", [Binding(exchange, "compute.up")])
        api.transport.consume("compute.up", casts)
        api.components["compute_rpcapi"] = ComputeAPI(api.transport, api.conf)
        await self.delete(api, server.uuid)
        [message] = [json.loads(m["oslo.message"]) for m in casts.decoded()]
        self.assertEqual("terminate_instance", message["method"])
        instance = message["args"]["instance"]["nova_object.data"]
        self.assertEqual((server.uuid, "deleting"), (instance["uuid"],
                                                     instance["task_state"]))
        [bdm] = message["args"]["bdms"]["nova_object.data"]["objects"]
        self.assertEqual("vol-1", bdm["nova_object.data"]["volume_id"])

    async def delete(self, api, uuid):
        reply = await api.request("DELETE", f"/v2.1/servers/{uuid}", token=DEMO)
        self.assertEqual(204, reply.code, reply.raw)

"""POST /os-server-external-events over HTTP: what Neutron, Cinder and Ironic send,
each event's code (200, 400, 404, 422) and the answer's (200, 207, 404), the casts
to the servers' computes (one per host, Nova's InstanceExternalEvent primitives),
the instance actions of volume-extended and power-update, every microversion
boundary of the event names, bad input, and who may call it."""
from __future__ import annotations

import json
import uuid

from twisted.trial import unittest

from nova_tx.api.compute import server_external_events
from nova_tx.bus.interfaces import TOPIC, Binding
from tests.api.operator_server import RESOURCES, OperatorServer
from tests.api.quota_server import ADMIN, sample, version
from tests.bus import Collector, settle

PATH = "/v2.1/os-server-external-events"
UNKNOWN = "00000000-0000-4000-8000-0000000000aa"


class EventsServer(OperatorServer):
    RESOURCES = [*RESOURCES, server_external_events.routes]

    def __init__(self, testcase, **kwargs):
        super().__init__(testcase, **kwargs)
        self.computes = Collector()
        exchange = self.conf.control_exchange
        self.transport.declare_exchange(exchange, TOPIC)
        self.transport.declare_queue("compute-hosts", [Binding(exchange, "compute.*")])
        self.transport.consume("compute-hosts", self.computes)

    def casts(self) -> list[tuple[str, dict]]:
        """(routing key, message) of each cast to a compute."""
        return [(m.routing_key, json.loads(json.loads(m.body)["oslo.message"]))
                for m in self.computes.messages]

    def add_unscheduled(self) -> str:
        """An instance in the cell without a host (it failed before scheduling)."""
        instance_uuid = str(uuid.uuid4())
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO instances (uuid, project_id, user_id, vcpus, memory_mb, "
                "vm_state, deleted, hidden) VALUES (?, 'p', 'u', 1, 512, 'error', 0, 0)",
                (instance_uuid,))
        return instance_uuid

    def map_instance(self, instance_uuid: str) -> None:
        with self.engine.begin() as conn:
            cell_id = conn.exec_driver_sql("SELECT id FROM cell_mappings").scalar()
            conn.exec_driver_sql(
                "INSERT INTO instance_mappings (instance_uuid, cell_id, project_id, "
                "user_id) VALUES (?, ?, 'p', 'u')", (instance_uuid, cell_id))

    def server_on(self, host: str, **kwargs) -> str:
        instance_uuid = self.add_instance_on(host, **kwargs)
        self.map_instance(instance_uuid)
        return instance_uuid

    def actions(self) -> list[tuple[str, str]]:
        return self.rows("SELECT instance_uuid, action FROM instance_actions ORDER BY id",
                         cell=True)


class ExternalEventsCase(unittest.TestCase):
    def setUp(self):
        self.api = EventsServer(self)

    async def post(self, events, microversion="2.1", token=ADMIN, headers=None):
        return await self.api.request("POST", PATH, token=token,
                                      headers={**version(microversion), **(headers or {})},
                                      body={"events": events})


class ExternalEventsTest(ExternalEventsCase):

    async def test_neutron_events_are_cast_to_the_servers_hosts(self):
        a1, a2 = self.api.server_on("hostA"), self.api.server_on("hostA")
        b1 = self.api.server_on("hostB")
        events = [
            {"name": "network-vif-plugged", "server_uuid": a1, "tag": "port-1"},
            {"name": "network-vif-unplugged", "server_uuid": a2, "tag": "port-2",
             "status": "failed"},
            {"name": "network-vif-deleted", "server_uuid": b1, "tag": "port-3"},
            {"name": "network-changed", "server_uuid": a1},
        ]
        reply = await self.post(events)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual({"events": [
            {**events[0], "status": "completed", "code": 200},
            {**events[1], "status": "completed", "code": 200},
            {**events[2], "status": "completed", "code": 200},
            {**events[3], "status": "completed", "code": 200},
        ]}, reply.json)
        await settle()
        casts = dict(self.api.casts())
        self.assertEqual({"compute.hostA", "compute.hostB"}, set(casts))
        for message in casts.values():
            self.assertEqual(("external_instance_event", "6.0"),
                             (message["method"], message["version"]))
        host_a = casts["compute.hostA"]["args"]
        self.assertEqual({a1, a2}, {i["nova_object.data"]["uuid"]
                                    for i in host_a["instances"]})
        self.assertEqual(
            [{"instance_uuid": a1, "name": "network-vif-plugged", "status": "completed",
              "tag": "port-1"},
             {"instance_uuid": a2, "name": "network-vif-unplugged", "status": "failed",
              "tag": "port-2"},
             {"instance_uuid": a1, "name": "network-changed", "status": "completed",
              "tag": None}],
            [e["nova_object.data"] for e in host_a["events"]])
        self.assertEqual({"InstanceExternalEvent"},
                         {e["nova_object.name"] for e in host_a["events"]})
        self.assertEqual([b1], [e["nova_object.data"]["instance_uuid"]
                                for e in casts["compute.hostB"]["args"]["events"]])
        self.assertEqual([], self.api.actions())

    async def test_sample(self):
        server = self.api.server_on("hostA")
        body = sample("os-server-external-events", "event-create-req.json")
        body["events"][0].update(server_uuid=server, name="network-changed")
        reply = await self.api.request("POST", PATH, token=ADMIN, body=body)
        expected = sample("os-server-external-events", "event-create-resp.json")
        expected["events"][0]["server_uuid"] = server
        self.assertEqual((200, expected), (reply.code, reply.json))

    async def test_partial_failure_is_207(self):
        ok = self.api.server_on("hostA")
        deleted = self.api.server_on("hostA", deleted=True)
        unscheduled = self.api.add_unscheduled()
        self.api.map_instance(unscheduled)
        reply = await self.post([
            {"name": "network-changed", "server_uuid": ok},
            {"name": "network-changed", "server_uuid": UNKNOWN},
            {"name": "network-changed", "server_uuid": deleted},
            {"name": "network-changed", "server_uuid": unscheduled},
        ])
        self.assertEqual(207, reply.code, reply.raw)
        self.assertEqual([("completed", 200), ("failed", 404), ("failed", 404),
                          ("failed", 422)],
                         [(e["status"], e["code"]) for e in reply.json["events"]])
        await settle()
        self.assertEqual(["compute.hostA"], [key for key, _ in self.api.casts()])

    async def test_no_event_accepted_is_404(self):
        unscheduled = self.api.add_unscheduled()
        self.api.map_instance(unscheduled)
        for server in (UNKNOWN, unscheduled):
            reply = await self.post([{"name": "network-changed", "server_uuid": server}])
            self.assertEqual({"itemNotFound": {
                "code": 404, "message": "No instances found for any event"}}, reply.json)
        await settle()
        self.assertEqual([], self.api.casts())

    async def test_volume_extended_starts_an_action(self):
        server = self.api.server_on("hostA")
        reply = await self.post([
            {"name": "volume-extended", "server_uuid": server,
             "tag": "a26887c6-c47b-4654-abb5-dfadf7d3f803"},
            {"name": "volume-extended", "server_uuid": server}], "2.51")
        self.assertEqual(207, reply.code, reply.raw)
        self.assertEqual([200, 400], [e["code"] for e in reply.json["events"]])
        self.assertEqual([(server, "extend_volume")], self.api.actions())
        await settle()
        (key, message), = self.api.casts()
        self.assertEqual(["volume-extended"], [e["nova_object.data"]["name"]
                                               for e in message["args"]["events"]])

    async def test_power_update(self):
        server = self.api.server_on("hostA")
        reply = await self.post([
            {"name": "power-update", "server_uuid": server, "tag": "POWER_OFF"},
            {"name": "power-update", "server_uuid": server, "tag": "POWER_ON"},
            {"name": "power-update", "server_uuid": server, "tag": "SIDEWAYS"}], "2.76")
        # Nova answers 200 for the unknown power state and drops it with a warning.
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual([(server, "stop"), (server, "start")], self.api.actions())
        await settle()
        (key, message), = self.api.casts()
        self.assertEqual(["POWER_OFF", "POWER_ON"], [e["nova_object.data"]["tag"]
                                                     for e in message["args"]["events"]])

    async def test_event_names_at_their_microversions(self):
        server = self.api.server_on("hostA")
        for name, first in (("volume-extended", "2.51"), ("power-update", "2.76"),
                            ("accelerator-request-bound", "2.82"),
                            ("volume-reimaged", "2.93")):
            major, minor = first.split(".")
            before = f"{major}.{int(minor) - 1}"
            event = {"name": name, "server_uuid": server, "tag": "POWER_ON"}
            reply = await self.post([event], before)
            self.assertEqual(400, reply.code, (name, before, reply.raw))
            reply = await self.post([event], first)
            self.assertEqual(200, reply.code, (name, first, reply.raw))

    async def test_bad_input(self):
        server = self.api.server_on("hostA")
        for body in (
                {"events": []},
                {"events": [{"name": "network-changed"}]},
                {"events": [{"server_uuid": server}]},
                {"events": [{"name": "network-changed", "server_uuid": "not-a-uuid"}]},
                {"events": [{"name": "test-event", "server_uuid": server}]},
                {"events": [{"name": "network-changed", "server_uuid": server,
                             "status": "done"}]},
                {"events": [{"name": "network-changed", "server_uuid": server,
                             "tag": "x" * 256}]},
                {"events": [{"name": "network-changed", "server_uuid": server,
                             "code": 200}]},
                {"events": {"name": "network-changed", "server_uuid": server}},
                {"event": []},
                {"events": [{"name": "network-changed", "server_uuid": server}],
                 "extra": 1},
        ):
            reply = await self.api.request("POST", PATH, token=ADMIN, body=body)
            self.assertEqual(400, reply.code, (body, reply.raw))
            self.assertEqual(400, reply.json["badRequest"]["code"])
        await settle()
        self.assertEqual(([], []), (self.api.casts(), self.api.actions()))


PERSONAS = {
    "admin": ("admin:p", None),
    "member": ("alice:p", "member,reader"),
    "reader": ("rita:p", "reader"),
    "other_member": ("bob:07her", "member,reader"),
}


class ExternalEventsPolicyTest(unittest.TestCase):

    async def check(self, enforce_new_defaults: bool):
        api = EventsServer(self, enforce_new_defaults=enforce_new_defaults)
        server = api.server_on("hostA")
        rule = "os_compute_api:os-server-external-events:create"
        for persona, (token, roles) in PERSONAS.items():
            headers = {"X-Roles": roles} if roles else {}
            reply = await api.request(
                "POST", PATH, token=token, headers=headers,
                body={"events": [{"name": "network-changed", "server_uuid": server}]})
            if persona == "admin":
                self.assertEqual(200, reply.code, reply.raw)
            else:
                self.assertEqual({"forbidden": {
                    "code": 403,
                    "message": f"Policy doesn't allow {rule} to be performed."}},
                    reply.json, (enforce_new_defaults, persona))
        await settle()
        self.assertEqual(1, len(api.casts()))

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

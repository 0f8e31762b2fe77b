"""/os-aggregates: CRUD, hosts, metadata merge and the availability zone rules of spec
C §2.3 and §3.3 (with decision C 30.1: ``null`` removes a zone), placement mirroring,
the schedulers' fanouts, image pre-caching (2.81), and the notifications."""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.operator_server import OperatorServer, expected_notification, shape
from tests.api.quota_server import ADMIN, sample, version
from tests.bus import settle

PATH = "/v2.1/os-aggregates"
IMAGE1 = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
IMAGE2 = "a2459075-d96c-40d5-893e-577ff92e721c"
RP1 = "00000000-0000-4000-8000-000000000001"


class AggregateTestCase(unittest.TestCase):

    def setUp(self):
        self.api = OperatorServer(self)

    async def call(self, method, path, body=None, *, microversion="2.1", token=ADMIN):
        return await self.api.request(method, path, body=body, token=token,
                                      headers=version(microversion))

    async def ok(self, method, path, body=None, *, status=200, **kw):
        reply = await self.call(method, path, body, **kw)
        self.assertEqual(status, reply.code, (method, path, reply.raw))
        return reply.json

    async def create(self, name, zone=None, **kw):
        body = {"aggregate": {"name": name, **({"availability_zone": zone} if zone else {})}}
        return (await self.ok("POST", PATH, body, **kw))["aggregate"]

    async def action(self, agg_id, name, value, *, status=200, **kw):
        reply = await self.call("POST", f"{PATH}/{agg_id}/action", {name: value}, **kw)
        self.assertEqual(status, reply.code, (name, value, reply.raw))
        return reply.json

    async def add_host(self, agg_id, host, **kw):
        return await self.action(agg_id, "add_host", {"host": host}, **kw)

    async def remove_host(self, agg_id, host, **kw):
        return await self.action(agg_id, "remove_host", {"host": host}, **kw)

    async def set_metadata(self, agg_id, metadata, **kw):
        return await self.action(agg_id, "set_metadata", {"metadata": metadata}, **kw)

    def snapshot(self):
        return {table: self.api.rows(f"SELECT * FROM {table} ORDER BY id")
                for table in ("aggregates", "aggregate_hosts", "aggregate_metadata")}


class CrudTest(AggregateTestCase):

    async def test_spec_flow(self):
        """Spec C §2.3's test, step by step."""
        self.api.add_compute("compute1")
        created = await self.create("agg1")
        self.assertNotIn("hosts", created)
        self.assertNotIn("metadata", created)
        self.assertNotIn("uuid", created)
        self.assertEqual({"availability_zone": None, "deleted": False, "deleted_at": None,
                          "id": created["id"], "name": "agg1", "updated_at": None},
                         {k: v for k, v in created.items() if k != "created_at"})
        reply = await self.call("POST", PATH, {"aggregate": {"name": "agg1"}})
        self.assertEqual({"conflictingRequest": {
            "code": 409, "message": "Aggregate agg1 already exists."}}, reply.json)
        agg_id = created["id"]
        body = await self.add_host(agg_id, "compute1")
        self.assertEqual(["compute1"], body["aggregate"]["hosts"])
        reply = await self.add_host(agg_id, "compute1", status=409)
        self.assertEqual(f"Aggregate {agg_id} already has host compute1.",
                         reply["conflictingRequest"]["message"])
        reply = await self.add_host(agg_id, "no-such-host", status=404)
        self.assertEqual("Compute host no-such-host could not be found.",
                         reply["itemNotFound"]["message"])
        await self.set_metadata(agg_id, {"ssd": "true", "x": "1"})
        body = await self.set_metadata(agg_id, {"x": None, "missing": None})
        self.assertEqual({"ssd": "true"}, body["aggregate"]["metadata"])
        reply = await self.call("DELETE", f"{PATH}/{agg_id}")
        self.assertEqual({"badRequest": {"code": 400, "message": (
            f"Cannot remove host from aggregate {agg_id}. Reason: Host aggregate is not "
            "empty.")}}, reply.json)
        await self.remove_host(agg_id, "compute1")
        reply = await self.call("DELETE", f"{PATH}/{agg_id}")
        self.assertEqual((200, b""), (reply.code, reply.raw))
        reply = await self.call("GET", f"{PATH}/{agg_id}")
        self.assertEqual({"itemNotFound": {
            "code": 404, "message": f"Aggregate {agg_id} could not be found."}}, reply.json)
        reply = await self.call("GET", f"{PATH}/abc")
        self.assertEqual({"badRequest": {
            "code": 400, "message": "Invalid input received: id must be an integer"}},
            reply.json)
        self.assertEqual([], self.snapshot()["aggregate_metadata"])

    async def test_uuid_from_241(self):
        created = await self.create("agg", "london", microversion="2.41")
        self.assertEqual(set(sample("os-aggregates", "v2.41", "aggregate-post-resp.json")
                             ["aggregate"]), set(created))
        shown = await self.ok("GET", f"{PATH}/{created['id']}", microversion="2.41")
        self.assertEqual(created["uuid"], shown["aggregate"]["uuid"])
        self.assertEqual(set(sample("os-aggregates", "v2.41", "aggregates-get-resp.json")
                             ["aggregate"]), set(shown["aggregate"]))
        shown = await self.ok("GET", f"{PATH}/{created['id']}", microversion="2.40")
        self.assertNotIn("uuid", shown["aggregate"])
        self.assertEqual(set(sample("os-aggregates", "aggregates-get-resp.json")
                             ["aggregate"]), set(shown["aggregate"]))

    async def test_list_show_and_timestamps(self):
        first = await self.create("a", "az1")
        await self.create("b")
        listed = (await self.ok("GET", PATH))["aggregates"]
        self.assertEqual(["a", "b"], [a["name"] for a in listed])
        self.assertEqual({"availability_zone": "az1"}, listed[0]["metadata"])
        self.assertEqual("az1", listed[0]["availability_zone"])
        # Timestamps as Nova renders them: ISO 8601 with microseconds, no zone.
        self.assertRegex(first["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")

    async def test_update_name_and_zone(self):
        agg = await self.create("old", "az1")
        body = await self.ok("PUT", f"{PATH}/{agg['id']}",
                             {"aggregate": {"name": "new", "availability_zone": "az2"}})
        self.assertEqual(("new", "az2", {"availability_zone": "az2"}),
                         (body["aggregate"]["name"], body["aggregate"]["availability_zone"],
                          body["aggregate"]["metadata"]))
        self.assertIsNotNone(body["aggregate"]["updated_at"])
        await self.create("other")
        reply = await self.call("PUT", f"{PATH}/{agg['id']}",
                                {"aggregate": {"name": "other"}})
        self.assertEqual(409, reply.code)
        reply = await self.call("PUT", f"{PATH}/99", {"aggregate": {"name": "x"}})
        self.assertEqual(404, reply.code)

    async def test_legacy_v2_strips_spaces(self):
        reply = await self.api.request("POST", "/v2/os-aggregates", token=ADMIN, body={
            "aggregate": {"name": "  spaced ", "availability_zone": " z "}})
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(("spaced", "z"), (reply.json["aggregate"]["name"],
                                           reply.json["aggregate"]["availability_zone"]))


class BadInputTest(AggregateTestCase):

    async def test_bad_bodies_change_nothing(self):
        self.api.add_compute("h1")
        agg = await self.create("agg", "az1")
        before = self.snapshot()
        for method, path, body in (
                ("POST", PATH, {"aggregate": {"name": ""}}),
                ("POST", PATH, {"aggregate": {"name": " lead"}}),
                ("POST", PATH, {"aggregate": {"name": "x" * 256}}),
                ("POST", PATH, {"aggregate": {"name": "a", "availability_zone": "a:b"}}),
                ("POST", PATH, {"aggregate": {"name": "a", "availability_zone": ""}}),
                ("POST", PATH, {"aggregate": {"name": "a", "extra": 1}}),
                ("POST", PATH, {"aggregate": {}}),
                ("PUT", f"{PATH}/{agg['id']}", {"aggregate": {}}),
                ("PUT", f"{PATH}/{agg['id']}", {"aggregate": {"availability_zone": ""}}),
                ("PUT", f"{PATH}/abc", {"aggregate": {"name": "x"}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"add_host": {"host": "a b"}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"add_host": {}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"set_metadata": {"metadata": {
                    "bad/key": "v"}}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"set_metadata": {"metadata": {
                    "k": "v" * 256}}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"set_metadata": {"metadata": {
                    "availability_zone": ""}}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"frobnicate": {}}),
                ("POST", f"{PATH}/{agg['id']}/action", {"add_host": {"host": "h1"},
                                                        "remove_host": {"host": "h1"}})):
            reply = await self.call(method, path, body)
            self.assertEqual(400, reply.code, (method, path, body, reply.raw))
            self.assertEqual(["badRequest"], list(reply.json), reply.raw)
        self.assertEqual(before, self.snapshot())

    async def test_empty_zone_messages(self):
        agg = await self.create("agg")
        reply = await self.set_metadata(agg["id"], {"availability_zone": ""}, status=400)
        # The schema allows an empty metadata value; the zone rule refuses it.
        self.assertEqual(
            f"Cannot update metadata of aggregate {agg['id']}. Reason: Aggregate agg does "
            "not support empty named availability zone.", reply["badRequest"]["message"])

    async def test_remove_host_not_member(self):
        self.api.add_compute("h1")
        agg = await self.create("agg")
        before = self.snapshot()
        reply = await self.remove_host(agg["id"], "h1", status=404)
        self.assertEqual({"itemNotFound": {"code": 404, "message": (
            f"Cannot remove host h1 in aggregate {agg['id']}")}}, reply)
        reply = await self.remove_host(agg["id"], "ghost", status=404)
        self.assertEqual(f"Cannot remove host ghost in aggregate {agg['id']}",
                         reply["itemNotFound"]["message"])
        self.assertEqual(before, self.snapshot())

    async def test_case_insensitive_host_is_not_found(self):
        self.api.add_compute("Host1", mapped=False)
        agg = await self.create("agg")
        await self.add_host(agg["id"], "host1", status=404)
        await self.add_host(agg["id"], "Host1")


class RaceTest(AggregateTestCase):
    """What the unique constraints catch when a concurrent request won: Nova's
    conflicts, not a 500."""

    async def test_concurrent_duplicates_are_conflicts(self):
        from unittest import mock

        from nova_tx.db.api import aggregates as aggregates_db
        from nova_tx.db.exception import DBDuplicateEntry

        self.api.add_compute("h1")
        agg = await self.create("agg")

        def duplicate(*args, **kwargs):
            raise DBDuplicateEntry(columns=["name"])

        with mock.patch.object(aggregates_db, "create_checked", duplicate):
            reply = await self.call("POST", PATH, {"aggregate": {"name": "twin"}})
        self.assertEqual({"conflictingRequest": {
            "code": 409, "message": "Aggregate twin already exists."}}, reply.json)
        with mock.patch.object(aggregates_db, "update", duplicate):
            reply = await self.call("PUT", f"{PATH}/{agg['id']}",
                                    {"aggregate": {"name": "twin"}})
        self.assertEqual(409, reply.code, reply.raw)
        with mock.patch.object(aggregates_db, "add_host", duplicate):
            reply = await self.call("POST", f"{PATH}/{agg['id']}/action",
                                    {"add_host": {"host": "h1"}})
        self.assertEqual({"conflictingRequest": {
            "code": 409, "message": f"Aggregate {agg['id']} already has host h1."}},
            reply.json)


class ZoneRulesTest(AggregateTestCase):
    """Spec C §3.3 tests (a) to (f)."""

    async def test_rules(self):
        self.api.add_compute("A")
        self.api.add_compute("B")
        agg1 = await self.create("agg1", "az1")
        agg2 = await self.create("agg2", "az2")
        await self.add_host(agg1["id"], "A")
        # (a) A is in az1: not into az2; into another az1 aggregate, yes.
        reply = await self.add_host(agg2["id"], "A", status=409)
        self.assertEqual({"conflictingRequest": {"code": 409, "message": (
            f"Cannot add host to aggregate {agg2['id']}. Reason: One or more hosts already "
            "in availability zone(s) ['az1'].")}}, reply)
        agg3 = await self.create("agg3", "az1")
        await self.add_host(agg3["id"], "A")
        # (b) an aggregate without zone holding A cannot be given az2.
        agg4 = await self.create("agg4")
        await self.add_host(agg4["id"], "A")
        reply = await self.set_metadata(agg4["id"], {"availability_zone": "az2"},
                                        status=400)
        self.assertIn("One or more hosts already in availability zone(s) ['az1', 'az1']",
                      reply["badRequest"]["message"])
        # (c) a server on A: renaming agg1's zone is refused (A is in agg1 alone now),
        # the same name is fine.
        await self.remove_host(agg3["id"], "A")
        await self.remove_host(agg4["id"], "A")
        self.api.add_instance_on("A")
        before = self.snapshot()
        reply = await self.call("PUT", f"{PATH}/{agg1['id']}",
                                {"aggregate": {"availability_zone": "az9"}})
        self.assertEqual({"badRequest": {"code": 400, "message": (
            f"Cannot update aggregate {agg1['id']}. Reason: One or more hosts contain "
            "instances in this zone.")}}, reply.json)
        self.assertEqual(before, self.snapshot())
        await self.ok("PUT", f"{PATH}/{agg1['id']}", {"aggregate": {"availability_zone": "az1"}})
        await self.add_host(agg4["id"], "A")
        # Giving a zone to an aggregate of busy hosts is a change too.
        reply = await self.set_metadata(agg4["id"], {"availability_zone": "az1"}, status=400)
        self.assertIn("contain instances", reply["badRequest"]["message"])
        # A busy host may still join an existing zone aggregate (decision C 30.12).
        self.api.add_instance_on("B")
        agg5 = await self.create("agg5", "az5")
        await self.add_host(agg5["id"], "B")
        # (d) an empty zone name is refused.
        await self.set_metadata(agg1["id"], {"availability_zone": ""}, status=400)
        # (f) removing A from its zone aggregate while the server runs is allowed.
        await self.remove_host(agg1["id"], "A")
        zones = await self.ok("GET", "/v2.1/os-availability-zone")
        self.assertIn("nova", [z["zoneName"] for z in zones["availabilityZoneInfo"]])

    async def test_null_removes_the_zone(self):
        """Decision C 30.1: ``openstack aggregate unset --property availability_zone``
        works, under the rule of a zone change."""
        self.api.add_compute("A")
        agg = await self.create("agg", "az1")
        await self.add_host(agg["id"], "A")
        body = await self.set_metadata(agg["id"], {"availability_zone": None})
        self.assertEqual((None, {}), (body["aggregate"]["availability_zone"],
                                      body["aggregate"]["metadata"]))
        body = await self.ok("PUT", f"{PATH}/{agg['id']}",
                             {"aggregate": {"availability_zone": "az1"}})
        self.assertEqual("az1", body["aggregate"]["availability_zone"])
        body = await self.ok("PUT", f"{PATH}/{agg['id']}",
                             {"aggregate": {"availability_zone": None}})
        self.assertIsNone(body["aggregate"]["availability_zone"])
        await self.set_metadata(agg["id"], {"availability_zone": "az1"})
        self.api.add_instance_on("A")
        reply = await self.set_metadata(agg["id"], {"availability_zone": None}, status=400)
        self.assertIn("contain instances", reply["badRequest"]["message"])

    async def test_rename_with_bad_zone_changes_nothing(self):
        """Decision C 30.8: checks first, then one transaction."""
        self.api.add_compute("A")
        agg = await self.create("agg", "az1")
        await self.add_host(agg["id"], "A")
        self.api.add_instance_on("A")
        before = self.snapshot()
        await self.ok("PUT", f"{PATH}/{agg['id']}",
                      {"aggregate": {"name": "renamed", "availability_zone": "az2"}},
                      status=400)
        self.assertEqual(before, self.snapshot())

    async def test_deleted_instances_do_not_block(self):
        self.api.add_compute("A")
        agg = await self.create("agg")
        await self.add_host(agg["id"], "A")
        self.api.add_instance_on("A", deleted=True)
        await self.set_metadata(agg["id"], {"availability_zone": "az1"})


class MirroringTest(AggregateTestCase):

    async def test_placement_membership_follows_hosts(self):
        self.api.add_compute("h1", node="node1")
        await self.api.add_provider("node1", RP1)
        agg = await self.create("agg", microversion="2.41")
        await self.add_host(agg["id"], "h1")
        self.assertEqual([agg["uuid"]], await self.api.provider_aggregates(RP1))
        await self.remove_host(agg["id"], "h1")
        self.assertEqual([], await self.api.provider_aggregates(RP1))

    async def test_missing_provider_does_not_fail_add(self):
        self.api.add_compute("h1")
        agg = await self.create("agg")
        body = await self.add_host(agg["id"], "h1")
        self.assertEqual(["h1"], body["aggregate"]["hosts"])
        self.flushLoggedErrors()
        await self.remove_host(agg["id"], "h1")

    async def test_schedulers_are_told(self):
        self.api.add_compute("h1")
        agg = await self.create("agg", "az1")
        await self.add_host(agg["id"], "h1")
        await self.ok("DELETE", f"{PATH}/{agg['id']}", status=400)
        await self.remove_host(agg["id"], "h1")
        await self.ok("DELETE", f"{PATH}/{agg['id']}")
        await settle()
        casts = self.api.scheduler_casts()
        self.assertEqual(["update_aggregates", "update_aggregates", "update_aggregates",
                          "delete_aggregate"], [c["method"] for c in casts])
        self.assertEqual("4.1", casts[0]["version"])
        sent = casts[1]["args"]["aggregates"][0]
        self.assertEqual(("Aggregate", ["h1"], {"availability_zone": "az1"}),
                         (sent["nova_object.name"], sent["nova_object.data"]["hosts"],
                          sent["nova_object.data"]["metadata"]))
        # What the scheduler's host state makes of it.
        from nova_tx.scheduler.host_state import Aggregate as SchedulerAggregate

        self.assertEqual(["h1"], SchedulerAggregate.from_primitive(sent).hosts)
        self.assertEqual(agg["id"], casts[3]["args"]["aggregate"]["nova_object.data"]["id"])


class ImagesTest(AggregateTestCase):

    async def test_cache_images(self):
        self.api.images.image_ids.update({IMAGE1, IMAGE2})
        self.api.add_compute("up")
        self.api.add_compute("down", heartbeat=__import__("datetime").datetime(2000, 1, 1))
        from nova_tx.bus.interfaces import TOPIC, Binding
        from tests.bus import Collector

        computes = Collector()
        exchange = self.api.conf.control_exchange
        self.api.transport.declare_exchange(exchange, TOPIC)
        self.api.transport.declare_queue("compute-hosts", [Binding(exchange, "compute.*")])
        self.api.transport.consume("compute-hosts", computes)
        agg = await self.create("agg")
        await self.add_host(agg["id"], "up")
        await self.add_host(agg["id"], "down")
        path = f"{PATH}/{agg['id']}/images"
        body = {"cache": [{"id": IMAGE1}, {"id": IMAGE2}]}
        reply = await self.call("POST", path, body, microversion="2.81")
        self.assertEqual((202, b""), (reply.code, reply.raw))
        await settle()
        import json

        sent = [json.loads(m["oslo.message"]) for m in computes.decoded()]
        self.assertEqual([("cache_images", [IMAGE1, IMAGE2], "5.4")],
                         [(m["method"], m["args"]["image_ids"], m["version"]) for m in sent])
        self.assertEqual(["compute.up"], [m.routing_key for m in computes.messages])
        events = [n["event_type"] for n in self.api.notifications()]
        self.assertEqual(["aggregate.cache_images.start", "aggregate.cache_images.end"],
                         [e for e in events if "cache_images" in e])
        reply = await self.call("POST", path, body, microversion="2.80")
        self.assertEqual(404, reply.code)
        reply = await self.call("POST", path, {"cache": [{"id": IMAGE1}, {"id": IMAGE1}]},
                                microversion="2.81")
        self.assertEqual({"badRequest": {"code": 400, "message":
                                         "Duplicate images in request"}}, reply.json)
        unknown = "00000000-0000-4000-8000-0000000000ff"
        reply = await self.call("POST", path, {"cache": [{"id": unknown}]},
                                microversion="2.81")
        self.assertEqual({"badRequest": {"code": 400, "message":
                                         f"Image {unknown} could not be found."}},
                         reply.json)
        for bad in ({"cache": []}, {"cache": [{"id": "not-a-uuid"}]}, {}):
            reply = await self.call("POST", path, bad, microversion="2.81")
            self.assertEqual(400, reply.code, bad)
        reply = await self.call("POST", f"{PATH}/999/images", body, microversion="2.81")
        self.assertEqual(404, reply.code)


class NotificationTest(AggregateTestCase):

    def check_sample(self, sample_name, notification):
        expected = expected_notification(sample_name)
        self.assertEqual((expected["event_type"], expected["priority"],
                          expected["publisher_id"]),
                         (notification["event_type"], notification["priority"],
                          notification["publisher_id"]))
        got, want = notification["payload"], expected["payload"]
        self.assertEqual({k: v for k, v in want.items() if k != "nova_object.data"},
                         {k: v for k, v in got.items() if k != "nova_object.data"})
        self.assertEqual(set(want["nova_object.data"]), set(got["nova_object.data"]))
        for key, value in want["nova_object.data"].items():
            if value is None or key in ("hosts", "metadata"):
                self.assertEqual(shape(value), shape(got["nova_object.data"][key]),
                                 (sample_name, key))

    async def test_versioned_payloads_match_samples(self):
        self.api.add_compute("compute")
        agg = await self.create("my-aggregate", "nova")
        await self.ok("PUT", f"{PATH}/{agg['id']}",
                      {"aggregate": {"name": "my-new-aggregate"}})
        await self.set_metadata(agg["id"], {"availability_zone": "AZ-1"})
        await self.add_host(agg["id"], "compute")
        await self.remove_host(agg["id"], "compute")
        await self.ok("DELETE", f"{PATH}/{agg['id']}")
        await settle()
        sent = {n["event_type"]: n for n in self.api.notifications()}
        for action in ("create", "update_prop", "update_metadata", "add_host",
                       "remove_host", "delete"):
            for phase in ("start", "end"):
                self.check_sample(f"aggregate-{action}-{phase}.json",
                                  sent[f"aggregate.{action}.{phase}"])
        data = {e: n["payload"]["nova_object.data"] for e, n in sent.items()}
        self.assertEqual((None, None), (data["aggregate.create.start"]["id"],
                                        data["aggregate.create.start"]["hosts"]))
        self.assertEqual((agg["id"], []), (data["aggregate.create.end"]["id"],
                                           data["aggregate.create.end"]["hosts"]))
        self.assertEqual("my-new-aggregate", data["aggregate.update_prop.start"]["name"])
        self.assertEqual({"availability_zone": "AZ-1"},
                         data["aggregate.update_metadata.end"]["metadata"])
        self.assertEqual(["compute"], data["aggregate.add_host.end"]["hosts"])
        self.assertEqual([], data["aggregate.remove_host.end"]["hosts"])

    async def test_legacy(self):
        self.api.add_compute("compute")
        agg = await self.create("agg", "az1")
        await self.add_host(agg["id"], "compute")
        await self.set_metadata(agg["id"], {"k": "v"})
        await settle()
        legacy = [(n["event_type"], n["publisher_id"], n["payload"])
                  for n in self.api.legacy_notifications()]
        agg_id = agg["id"]
        self.assertEqual([
            ("aggregate.create.start", "aggregate.agg",
             {"name": "agg", "meta_data": {"availability_zone": "az1"}}),
            ("aggregate.create.end", f"aggregate.{agg_id}",
             {"name": "agg", "meta_data": {"availability_zone": "az1"},
              "aggregate_id": agg_id}),
            ("aggregate.addhost.start", f"aggregate.{agg_id}",
             {"aggregate_id": agg_id, "host_name": "compute"}),
            ("aggregate.addhost.end", f"aggregate.{agg_id}",
             {"aggregate_id": agg_id, "host_name": "compute", "name": "agg"}),
            ("aggregate.updatemetadata.start", f"aggregate.{agg_id}",
             {"aggregate_id": agg_id, "meta_data": {"k": "v"}}),
            ("aggregate.updatemetadata.end", f"aggregate.{agg_id}",
             {"aggregate_id": agg_id, "meta_data": {"k": "v"}}),
        ], legacy)


class PolicyTest(AggregateTestCase):
    """Admin only, for every route: a member and a reader of the project and a member of
    another project get 403 and change nothing, with old and new policy defaults."""

    PERSONAS = (("alice:0wner", "member,reader"), ("rita:0wner", "reader"),
                ("bob:07her", "member,reader"))

    async def check(self):
        self.api.add_compute("h1")
        self.api.images.image_ids.add(IMAGE1)
        agg = await self.create("agg")
        path = f"{PATH}/{agg['id']}"
        routes = [
            ("GET", PATH, None, "2.1", "os_compute_api:os-aggregates:index", 200),
            ("POST", PATH, {"aggregate": {"name": "new"}}, "2.1",
             "os_compute_api:os-aggregates:create", 200),
            ("GET", path, None, "2.1", "os_compute_api:os-aggregates:show", 200),
            ("PUT", path, {"aggregate": {"name": "renamed"}}, "2.1",
             "os_compute_api:os-aggregates:update", 200),
            ("POST", path + "/action", {"add_host": {"host": "h1"}}, "2.1",
             "os_compute_api:os-aggregates:add_host", 200),
            ("POST", path + "/action", {"set_metadata": {"metadata": {"k": "v"}}}, "2.1",
             "os_compute_api:os-aggregates:set_metadata", 200),
            ("POST", path + "/images", {"cache": [{"id": IMAGE1}]}, "2.81",
             "compute:aggregates:images", 202),
            ("POST", path + "/action", {"remove_host": {"host": "h1"}}, "2.1",
             "os_compute_api:os-aggregates:remove_host", 200),
            ("DELETE", path, None, "2.1", "os_compute_api:os-aggregates:delete", 200),
        ]
        for token, roles in self.PERSONAS:
            before = self.snapshot()
            for method, route, body, microversion, rule, _status in routes:
                headers = dict(version(microversion), **{"X-Roles": roles})
                reply = await self.api.request(method, route, body=body, token=token,
                                               headers=headers)
                self.assertEqual({"forbidden": {"code": 403, "message": (
                    f"Policy doesn't allow {rule} to be performed.")}}, reply.json,
                    (token, method, route))
            self.assertEqual(before, self.snapshot(), token)
        for method, route, body, microversion, _rule, status in routes:
            reply = await self.call(method, route, body, microversion=microversion)
            self.assertEqual(status, reply.code, (method, route, reply.raw))

    async def test_old_defaults(self):
        await self.check()

    async def test_new_defaults(self):
        self.api = OperatorServer(self, enforce_new_defaults=True)
        await self.check()

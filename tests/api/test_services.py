"""/os-services: list and filters, up/down from the heartbeats, enable/disable (2.1
actions and 2.53 by uuid), forced_down (2.11, 2.53), delete and its refusals, the
service.update/delete notifications, and the policy matrix."""
from __future__ import annotations

import datetime

from twisted.trial import unittest

from tests.api.operator_server import OperatorServer, expected_notification, shape
from tests.api.quota_server import ADMIN, sample, version
from tests.bus import settle

PATH = "/v2.1/os-services"
LONG_AGO = datetime.datetime(2000, 1, 1)
UNKNOWN = "00000000-0000-4000-8000-0000000000ff"


class ServicesTestCase(unittest.TestCase):

    def setUp(self):
        self.api = OperatorServer(self)

    async def call(self, method, path, body=None, *, microversion="2.1", token=ADMIN,
                   roles=None):
        headers = version(microversion)
        if roles:
            headers["X-Roles"] = roles
        return await self.api.request(method, path, body=body, token=token, headers=headers)

    async def services(self, query="", microversion="2.1"):
        reply = await self.call("GET", PATH + query, microversion=microversion)
        self.assertEqual(200, reply.code, reply.raw)
        return reply.json["services"]

    def service_rows(self):
        return self.api.rows("SELECT id, host, \"binary\", disabled, disabled_reason, "
                             "forced_down, deleted FROM services ORDER BY id", cell=True)


class ListTest(ServicesTestCase):

    async def test_views_by_microversion(self):
        self.api.add_service("host1", binary="nova-scheduler", topic="scheduler")
        self.api.add_compute("host1")
        self.api.add_compute("host2", heartbeat=LONG_AGO)
        self.api.add_service("api-host", binary="nova-osapi_compute", topic=None)
        listed = await self.services()
        self.assertEqual(set(sample("os-services", "services-list-get-resp.json")
                             ["services"][0]), set(listed[0]))
        self.assertEqual([("nova-scheduler", "host1", "internal", "up", "enabled"),
                          ("nova-compute", "host1", "nova", "up", "enabled"),
                          ("nova-compute", "host2", "nova", "down", "enabled")],
                         [(s["binary"], s["host"], s["zone"], s["state"], s["status"])
                          for s in listed])
        self.assertIsInstance(listed[0]["id"], int)
        listed = await self.services(microversion="2.11")
        self.assertEqual(set(sample("os-services", "v2.11", "services-list-get-resp.json")
                             ["services"][0]), set(listed[0]))
        listed = await self.services(microversion="2.53")
        self.assertEqual(set(sample("os-services", "v2.53", "services-list-get-resp.json")
                             ["services"][0]), set(listed[0]))
        self.assertRegex(listed[0]["id"], r"^[0-9a-f-]{36}$")
        self.assertRegex(listed[1]["updated_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")

    async def test_filters_and_zones(self):
        self.api.add_service("ctl", binary="nova-conductor", topic="conductor")
        self.api.add_compute("c1")
        self.api.add_compute("c2")
        self.api.add_aggregate("agg", ["c2"], "az2")
        self.assertEqual(["c1"], [s["host"] for s in await self.services("?host=c1")])
        self.assertEqual(["nova-conductor"],
                         [s["binary"] for s in await self.services("?binary=nova-conductor")])
        self.assertEqual([], await self.services("?host=c1&binary=nova-conductor"))
        self.assertEqual(["az2"], [s["zone"] for s in await self.services("?host=c2")])
        # Unknown parameters: ignored before 2.75, refused from it.
        self.assertEqual(3, len(await self.services("?foo=1", microversion="2.74")))
        reply = await self.call("GET", PATH + "?foo=1", microversion="2.75")
        self.assertEqual(400, reply.code)

    async def test_forced_down_is_down(self):
        self.api.add_compute("c1", forced_down=True)
        listed = await self.services(microversion="2.11")
        self.assertEqual(("down", True), (listed[0]["state"], listed[0]["forced_down"]))


class UpdateBefore253Test(ServicesTestCase):

    async def put(self, action, body, *, microversion="2.1", status=200):
        reply = await self.call("PUT", f"{PATH}/{action}", body, microversion=microversion)
        self.assertEqual(status, reply.code, (action, body, reply.raw))
        return reply.json

    async def test_enable_disable_with_reason(self):
        self.api.add_compute("host1")
        body = {"host": "host1", "binary": "nova-compute"}
        reply = await self.put("disable-log-reason", {**body, "disabled_reason": "test2"})
        self.assertEqual(sample("os-services", "service-disable-log-put-resp.json"), reply)
        listed = await self.services()
        self.assertEqual(("disabled", "test2"), (listed[0]["status"],
                                                 listed[0]["disabled_reason"]))
        reply = await self.put("enable", body)
        self.assertEqual(sample("os-services", "service-enable-put-resp.json"), reply)
        reply = await self.put("disable", body)
        self.assertEqual(sample("os-services", "service-disable-put-resp.json"), reply)
        self.assertEqual([(1, "host1", "nova-compute", 1, None, 0, 0)], self.service_rows())

    async def test_force_down(self):
        self.api.add_compute("host1")
        body = {"host": "host1", "binary": "nova-compute", "forced_down": True}
        # Before 2.11 the body schema refuses forced_down, and the action is unknown.
        await self.put("force-down", body, status=400)
        await self.put("force-down", {"host": "host1", "binary": "nova-compute"},
                       status=404)
        reply = await self.put("force-down", body, microversion="2.11")
        self.assertEqual(sample("os-services", "v2.11", "service-force-down-put-resp.json"),
                         reply)
        self.assertEqual("down", (await self.services())[0]["state"])
        reply = await self.put("force-down", {**body, "forced_down": "false"},
                               microversion="2.11")
        self.assertEqual("up", (await self.services())[0]["state"])

    async def test_refusals_change_nothing(self):
        self.api.add_compute("host1")
        self.api.add_service("host1", binary="nova-scheduler", topic="scheduler")
        self.api.add_compute("unmapped", mapped=False)
        before = self.service_rows()
        cases = [
            ("frobnicate", {"host": "host1", "binary": "nova-compute"}, "2.1", 404,
             "Unknown action"),
            ("disable", {"host": "host1", "binary": "nova-scheduler"}, "2.1", 400,
             "Updating a nova-scheduler service is not supported. Only nova-compute "
             "services can be updated."),
            ("disable-log-reason", {"host": "host1", "binary": "nova-compute"}, "2.1", 400,
             "Missing disabled reason field"),
            ("force-down", {"host": "host1", "binary": "nova-compute"}, "2.11", 400,
             "Missing forced_down field"),
            ("disable", {"host": "ghost", "binary": "nova-compute"}, "2.1", 404,
             "Host 'ghost' is not mapped to any cell"),
            ("disable", {"host": "unmapped", "binary": "nova-compute"}, "2.1", 404,
             "Host 'unmapped' is not mapped to any cell"),
            ("disable", {"host": "host1"}, "2.1", 400, None),
            ("disable", {"host": "host1", "binary": "nova-compute", "forced_down": True},
             "2.1", 400, None),
            ("disable", {"host": "host1", "binary": "nova-compute", "disabled_reason": ""},
             "2.1", 400, None),
        ]
        for action, body, microversion, status, message in cases:
            reply = await self.put(action, body, microversion=microversion, status=status)
            if message is not None:
                self.assertEqual(message, next(iter(reply.values()))["message"], action)
        self.assertEqual(before, self.service_rows())

    async def test_put_with_uuid_before_253_is_an_unknown_action(self):
        ids = self.api.add_compute("host1")
        await self.put(ids["service_uuid"], {"host": "host1", "binary": "nova-compute"},
                       microversion="2.52", status=404)


class Update253Test(ServicesTestCase):

    async def put(self, service_id, body, *, status=200, microversion="2.53"):
        reply = await self.call("PUT", f"{PATH}/{service_id}", body,
                                microversion=microversion)
        self.assertEqual(status, reply.code, (body, reply.raw))
        return reply.json

    async def test_status_and_forced_down(self):
        ids = self.api.add_compute("host1")
        uuid = ids["service_uuid"]
        reply = await self.put(uuid, {"status": "disabled", "disabled_reason": "maintenance"})
        expected = sample("os-services", "v2.53", "service-disable-log-put-resp.json")
        self.assertEqual(set(expected["service"]), set(reply["service"]))
        self.assertEqual((uuid, "disabled", "maintenance", "up", "nova"),
                         tuple(reply["service"][k] for k in
                               ("id", "status", "disabled_reason", "state", "zone")))
        reply = await self.put(uuid, {"forced_down": True})
        self.assertEqual(("down", True, "disabled"), (
            reply["service"]["state"], reply["service"]["forced_down"],
            reply["service"]["status"]))
        reply = await self.put(uuid, {"status": "enabled", "forced_down": False})
        self.assertEqual(("up", False, "enabled", None), (
            reply["service"]["state"], reply["service"]["forced_down"],
            reply["service"]["status"], reply["service"]["disabled_reason"]))

    async def test_refusals_change_nothing(self):
        ids = self.api.add_compute("host1")
        sched_uuid = "11111111-2222-4333-8444-555555555555"
        self.api.add_service("host1", binary="nova-scheduler", topic="scheduler")
        with self.api.cell_engine.begin() as conn:
            conn.exec_driver_sql("UPDATE services SET uuid = ? WHERE \"binary\" = "
                                 "'nova-scheduler'", (sched_uuid,))
        before = self.service_rows()
        uuid = ids["service_uuid"]
        for service_id, body, status, message in (
                ("not-a-uuid", {"status": "enabled"}, 400, "Invalid uuid not-a-uuid"),
                (UNKNOWN, {"status": "enabled"}, 404,
                 f"Service {UNKNOWN} could not be found."),
                (sched_uuid, {"status": "disabled"}, 400,
                 "Updating a nova-scheduler service is not supported. Only nova-compute "
                 "services can be updated."),
                (uuid, {"status": "enabled", "disabled_reason": "why"}, 400,
                 "Specifying 'disabled_reason' with status 'enabled' is invalid."),
                (uuid, {}, 400, "No updates were requested. Fields 'status' or "
                 "'forced_down' should be specified."),
                (uuid, {"disabled_reason": "only"}, 400, "No updates were requested. "
                 "Fields 'status' or 'forced_down' should be specified."),
                (uuid, {"status": "paused"}, 400, None),
                (uuid, {"forced_down": "maybe"}, 400, None),
                (uuid, {"host": "host1"}, 400, None)):
            reply = await self.put(service_id, body, status=status)
            if message is not None:
                self.assertEqual(message, next(iter(reply.values()))["message"], body)
        self.assertEqual(before, self.service_rows())

    async def test_force_up_refused_while_done_evacuations_remain(self):
        ids = self.api.add_compute("host1", forced_down=True)
        self.api.add_migration("host1", status="done", migration_type="evacuation")
        reply = await self.put(ids["service_uuid"], {"forced_down": False}, status=400)
        self.assertIn("Unable to force up host host1 as `done` evacuation migration "
                      "records remain", reply["badRequest"]["message"])
        reply = await self.call("PUT", f"{PATH}/force-down", {
            "host": "host1", "binary": "nova-compute", "forced_down": False},
            microversion="2.11")
        self.assertEqual(400, reply.code)
        self.assertEqual(1, self.service_rows()[0][5])
        # Forcing it down again is always allowed.
        await self.put(ids["service_uuid"], {"forced_down": True})


class DisabledTraitTest(ServicesTestCase):
    """Spec C §15: a disabled compute's provider has COMPUTE_STATUS_DISABLED, removed
    on enable; its other traits stay."""

    async def traits(self, rp_uuid):
        response = await self.api.placement.get(f"/resource_providers/{rp_uuid}/traits",
                                                version="1.6")
        self.assertEqual(200, response.status_code, response.text)
        return sorted(response.json()["traits"])

    async def test_trait_follows_status(self):
        ids = self.api.add_compute("host1")
        rp = ids["node_uuid"]
        await self.api.add_provider("host1", rp)
        response = await self.api.placement.put(f"/resource_providers/{rp}/traits", {
            "traits": ["HW_CPU_X86_AVX"], "resource_provider_generation": 0},
            version="1.6")
        self.assertEqual(200, response.status_code, response.text)
        reply = await self.call("PUT", f"{PATH}/{ids['service_uuid']}",
                                {"status": "disabled"}, microversion="2.53")
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(["COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX"], await self.traits(rp))
        # forced_down alone does not touch it.
        reply = await self.call("PUT", f"{PATH}/{ids['service_uuid']}",
                                {"forced_down": True}, microversion="2.53")
        self.assertEqual(["COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX"], await self.traits(rp))
        reply = await self.call("PUT", f"{PATH}/enable",
                                {"host": "host1", "binary": "nova-compute"})
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(["HW_CPU_X86_AVX"], await self.traits(rp))
        reply = await self.call("PUT", f"{PATH}/disable-log-reason", {
            "host": "host1", "binary": "nova-compute", "disabled_reason": "x"})
        self.assertEqual(["COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX"], await self.traits(rp))

    async def test_no_provider_is_not_an_error(self):
        ids = self.api.add_compute("host1")
        reply = await self.call("PUT", f"{PATH}/{ids['service_uuid']}",
                                {"status": "disabled"}, microversion="2.53")
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual("disabled", reply.json["service"]["status"])


class DeleteTest(ServicesTestCase):

    async def test_delete_compute_cleans_up(self):
        ids = self.api.add_compute("host1", node="node1")
        # A compute node's provider has the node's uuid.
        await self.api.add_provider("node1", ids["node_uuid"])
        agg = await self.call("POST", "/v2.1/os-aggregates",
                              {"aggregate": {"name": "agg", "availability_zone": "az"}})
        agg_id = agg.json["aggregate"]["id"]
        reply = await self.call("POST", f"/v2.1/os-aggregates/{agg_id}/action",
                                {"add_host": {"host": "host1"}})
        self.assertEqual(200, reply.code, reply.raw)
        reply = await self.call("DELETE", f"{PATH}/{ids['service_id']}")
        self.assertEqual((204, b""), (reply.code, reply.raw))
        self.assertEqual([], self.api.rows("SELECT * FROM aggregate_hosts"))
        self.assertEqual([], self.api.rows("SELECT * FROM host_mappings"))
        response = await self.api.placement.get(f"/resource_providers/{ids['node_uuid']}")
        self.assertEqual(404, response.status_code)
        self.assertEqual([(ids["service_id"],)], self.api.rows(
            "SELECT deleted FROM services", cell=True))
        self.assertEqual([(ids["node_id"],)], self.api.rows(
            "SELECT deleted FROM compute_nodes", cell=True))
        self.assertEqual([], await self.services())
        reply = await self.call("DELETE", f"{PATH}/{ids['service_id']}")
        self.assertEqual({"itemNotFound": {
            "code": 404, "message": f"Service {ids['service_id']} not found."}}, reply.json)
        await settle()
        events = [n["event_type"] for n in self.api.notifications()]
        self.assertIn("aggregate.remove_host.end", events)
        self.assertEqual("service.delete", events[-1])

    async def test_delete_by_uuid_from_253(self):
        ids = self.api.add_compute("host1")
        self.api.add_service("host1", binary="nova-scheduler", topic="scheduler")
        reply = await self.call("DELETE", f"{PATH}/{ids['service_id']}",
                                microversion="2.53")
        self.assertEqual({"badRequest": {"code": 400, "message":
                                         f"Invalid uuid {ids['service_id']}"}}, reply.json)
        reply = await self.call("DELETE", f"{PATH}/{UNKNOWN}", microversion="2.53")
        self.assertEqual(404, reply.code)
        reply = await self.call("DELETE", f"{PATH}/{ids['service_uuid']}",
                                microversion="2.53")
        self.assertEqual(204, reply.code, reply.raw)
        self.assertEqual(["nova-scheduler"],
                         [s["binary"] for s in await self.services()])

    async def test_refusals_change_nothing(self):
        busy = self.api.add_compute("busy")
        self.api.add_instance_on("busy")
        moving = self.api.add_compute("moving")
        self.api.add_migration("moving", status="migrating")
        done = self.api.add_compute("done")
        self.api.add_migration("done", status="confirmed")
        before = (self.service_rows(), self.api.rows("SELECT * FROM host_mappings"))
        reply = await self.call("DELETE", f"{PATH}/{busy['service_id']}")
        self.assertEqual({"conflictingRequest": {"code": 409, "message": (
            "Unable to delete compute service that is hosting instances. Migrate or "
            "delete the instances first.")}}, reply.json)
        reply = await self.call("DELETE", f"{PATH}/{moving['service_id']}")
        self.assertEqual({"conflictingRequest": {"code": 409, "message": (
            "Unable to delete compute service that has in-progress migrations. Complete "
            "the in-progress migrations or delete the instances first.")}}, reply.json)
        for bad in ("abc", "0", "99999999999999999999"):
            reply = await self.call("DELETE", f"{PATH}/{bad}")
            self.assertIn(reply.code, (400, 404), bad)
        self.assertEqual(400, (await self.call("DELETE", f"{PATH}/abc")).code)
        self.assertEqual(before, (self.service_rows(),
                                  self.api.rows("SELECT * FROM host_mappings")))
        # A finished migration does not hold the service.
        reply = await self.call("DELETE", f"{PATH}/{done['service_id']}")
        self.assertEqual(204, reply.code, reply.raw)


class TwoCellsTest(ServicesTestCase):

    async def test_integer_ids_clash_across_cells(self):
        ids = self.api.add_compute("host1")
        _cell, engine = self.api.add_cell(self)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO services (uuid, host, \"binary\", topic, report_count, "
                "disabled, forced_down, version, deleted, created_at) VALUES "
                "('7f1a6a59-5d58-4b2b-9b38-7c6d3a1c0a01', 'host9', 'nova-compute', "
                "'compute', 0, 0, 0, 64, 0, CURRENT_TIMESTAMP)")
        listed = await self.services(microversion="2.53")
        self.assertEqual(["host1", "host9"], [s["host"] for s in listed])
        reply = await self.call("DELETE", f"{PATH}/{ids['service_id']}")
        self.assertEqual({"badRequest": {"code": 400, "message": (
            f"Service id {ids['service_id']} refers to multiple services.")}}, reply.json)
        # By uuid (2.53) there is no doubt.
        reply = await self.call("DELETE", f"{PATH}/7f1a6a59-5d58-4b2b-9b38-7c6d3a1c0a01",
                                microversion="2.53")
        self.assertEqual(204, reply.code, reply.raw)
        self.assertEqual(["host1"], [s["host"] for s in await self.services()])


class DownCellTest(ServicesTestCase):

    async def test_partial_views_from_269(self):
        from nova_tx.db.api import cell_mappings, host_mappings

        self.api.add_compute("up1")
        with self.api.engine.begin() as conn:
            down = cell_mappings.create(
                conn, transport_url="none:///", name="down",
                database_connection="sqlite:////nonexistent/dir/cell.db")
            for host in ("host1", "host2"):
                host_mappings.create(conn, host, down)
        self.assertEqual(["up1"], [s["host"] for s in await self.services(
            microversion="2.68")])
        listed = await self.services(microversion="2.69")
        self.assertEqual(sample("os-services", "v2.69", "services-list-get-resp.json")
                         ["services"], listed[1:])
        self.assertEqual("up1", listed[0]["host"])
        self.assertEqual([{"binary": "nova-compute", "host": "host2", "status": "UNKNOWN"}],
                         await self.services("?host=host2", microversion="2.69"))
        self.assertEqual([], [s for s in await self.services(
            "?binary=nova-scheduler", microversion="2.69")])
        self.flushLoggedErrors()


class NotificationTest(ServicesTestCase):

    async def test_service_update_payload(self):
        ids = self.api.add_compute("host1")
        reply = await self.call("PUT", f"{PATH}/{ids['service_uuid']}",
                                {"status": "disabled", "disabled_reason": "x"},
                                microversion="2.53")
        self.assertEqual(200, reply.code)
        await settle()
        [sent] = self.api.notifications()
        expected = expected_notification("service-update.json")
        self.assertEqual(("service.update", "INFO", "nova-compute:host1"),
                         (sent["event_type"], sent["priority"], sent["publisher_id"]))
        payload = sent["payload"]
        self.assertEqual({k: v for k, v in expected["payload"].items()
                          if k != "nova_object.data"},
                         {k: v for k, v in payload.items() if k != "nova_object.data"})
        data = payload["nova_object.data"]
        self.assertEqual(set(expected["payload"]["nova_object.data"]), set(data))
        self.assertEqual((True, "x", "host1", "nova-compute", ids["service_uuid"], None),
                         (data["disabled"], data["disabled_reason"], data["host"],
                          data["binary"], data["uuid"], data["availability_zone"]))
        self.assertRegex(data["last_seen_up"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(shape(expected["payload"]["nova_object.data"]["report_count"]),
                         shape(data["report_count"]))

    async def test_service_delete_payload(self):
        ids = self.api.add_compute("host1")
        reply = await self.call("DELETE", f"{PATH}/{ids['service_id']}")
        self.assertEqual(204, reply.code)
        await settle()
        sent = self.api.notifications()[-1]
        expected = expected_notification("service-delete.json")
        self.assertEqual(expected["event_type"], sent["event_type"])
        self.assertEqual(set(expected["payload"]["nova_object.data"]),
                         set(sent["payload"]["nova_object.data"]))


class PolicyTest(ServicesTestCase):

    async def test_matrix(self):
        ids = self.api.add_compute("host1")
        for persona, token, roles in (("member", "alice:0wner", "member,reader"),
                                      ("reader", "rita:0wner", "reader"),
                                      ("other", "bob:07her", "member,reader")):
            before = self.service_rows()
            for method, path, body, microversion, action in (
                    ("GET", PATH, None, "2.1", "list"),
                    ("PUT", f"{PATH}/disable", {"host": "host1", "binary": "nova-compute"},
                     "2.1", "update"),
                    ("PUT", f"{PATH}/{ids['service_uuid']}", {"status": "disabled"},
                     "2.53", "update"),
                    ("DELETE", f"{PATH}/{ids['service_id']}", None, "2.1", "delete")):
                reply = await self.call(method, path, body, microversion=microversion,
                                        token=token, roles=roles)
                self.assertEqual({"forbidden": {"code": 403, "message": (
                    f"Policy doesn't allow os_compute_api:os-services:{action} to be "
                    "performed.")}}, reply.json, (persona, method, path))
            self.assertEqual(before, self.service_rows())
        for method, path, body, microversion, status in (
                ("GET", PATH, None, "2.1", 200),
                ("PUT", f"{PATH}/disable", {"host": "host1", "binary": "nova-compute"},
                 "2.1", 200),
                ("PUT", f"{PATH}/{ids['service_uuid']}", {"status": "enabled"}, "2.53", 200),
                ("DELETE", f"{PATH}/{ids['service_id']}", None, "2.1", 204)):
            reply = await self.call(method, path, body, microversion=microversion)
            self.assertEqual(status, reply.code, (method, path, reply.raw))

    async def test_matrix_new_defaults(self):
        self.api = OperatorServer(self, enforce_new_defaults=True)
        await self.test_matrix()

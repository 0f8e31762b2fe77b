"""/os-server-groups over HTTP: Nova's samples at 2.1, 2.13 and 2.64, the 2.15 and 2.75
boundaries, the members shown, all_projects, limit and offset, the server_groups and
server_group_members quotas and the server_group notifications."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx import exception
from tests.api.quota_server import SAMPLE_PROJECT, notification_sample, sample, version
from tests.api.server_group_server import ServerGroupServer

USER = f"fake:{SAMPLE_PROJECT}"
ADMIN = f"admin:{SAMPLE_PROJECT}"
OTHER = "bob:07her"
PATH = "/v2.1/os-server-groups"


def without_id(view: dict) -> dict:
    return {k: v for k, v in view.items() if k != "id"}


class ServerGroupSamplesTest(unittest.TestCase):
    """Requests and answers shaped as Nova's api-samples."""

    async def check(self, folder: tuple[str, ...], microversion: str):
        api = ServerGroupServer(self)
        request = sample("os-server-groups", *folder, "server-groups-post-req.json")
        reply = await api.request("POST", PATH, body=request, token=USER,
                                  headers=version(microversion))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-server-groups", *folder, "server-groups-post-resp.json")
        created = reply.json["server_group"]
        self.assertEqual(without_id(expected["server_group"]), without_id(created))
        self.assertRegex(created["id"], r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")

        reply = await api.request("GET", f"{PATH}/{created['id']}", token=USER,
                                  headers=version(microversion))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-server-groups", *folder, "server-groups-get-resp.json")
        self.assertEqual(expected["server_group"].keys(), reply.json.get("server_group",
                                                                         {}).keys())
        self.assertEqual({"server_group": created}, reply.json)

        reply = await api.request("GET", PATH, token=USER, headers=version(microversion))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-server-groups", *folder, "server-groups-list-resp.json")
        self.assertEqual([without_id(g) for g in expected["server_groups"]],
                         [without_id(g) for g in reply.json["server_groups"]])
        self.assertEqual([created["id"]], [g["id"] for g in reply.json["server_groups"]])

        reply = await api.request("DELETE", f"{PATH}/{created['id']}", token=USER,
                                  headers=version(microversion))
        self.assertEqual((204, b""), (reply.code, reply.raw))
        reply = await api.request("GET", f"{PATH}/{created['id']}", token=USER,
                                  headers=version(microversion))
        self.assertEqual({"itemNotFound": {"code": 404, "message": "Instance group %s could "
                                           "not be found." % created["id"]}}, reply.json)

    async def test_2_1(self):
        await self.check((), "2.1")

    async def test_2_13_project_and_user(self):
        await self.check(("v2.13",), "2.13")

    async def test_2_64_policy_and_rules(self):
        await self.check(("v2.64",), "2.64")

    async def test_legacy_v2_endpoint(self):
        api = ServerGroupServer(self)
        request = sample("os-server-groups", "server-groups-post-req.json")
        reply = await api.request("POST", "/v2/os-server-groups", body=request, token=USER)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(["anti-affinity"], reply.json["server_group"]["policies"])


class ServerGroupVersionsTest(unittest.TestCase):

    async def post(self, api, microversion: str, group: dict, token: str = USER):
        return await api.request("POST", PATH, token=token, headers=version(microversion),
                                 body={"server_group": group})

    async def test_soft_policies_from_2_15(self):
        api = ServerGroupServer(self)
        for policy in ("soft-affinity", "soft-anti-affinity"):
            reply = await self.post(api, "2.14", {"name": "g", "policies": [policy]})
            self.assertEqual(400, reply.code, reply.raw)
            self.assertIn("badRequest", reply.json)
            reply = await self.post(api, "2.15", {"name": "g", "policies": [policy]})
            self.assertEqual(200, reply.code, reply.raw)
            self.assertEqual([policy], reply.json["server_group"]["policies"])
        for policy in ("affinity", "anti-affinity"):
            reply = await self.post(api, "2.1", {"name": "g", "policies": [policy]})
            self.assertEqual([policy], reply.json["server_group"]["policies"])

    async def test_policies_list_takes_exactly_one(self):
        api = ServerGroupServer(self)
        for policies in ([], ["affinity", "anti-affinity"], ["affinity", "affinity"],
                         ["bogus"], "affinity"):
            reply = await self.post(api, "2.15", {"name": "g", "policies": policies})
            self.assertEqual(400, reply.code, (policies, reply.raw))

    async def test_policy_string_from_2_64(self):
        api = ServerGroupServer(self)
        reply = await self.post(api, "2.63", {"name": "g", "policy": "affinity"})
        self.assertEqual(400, reply.code, reply.raw)
        reply = await self.post(api, "2.64", {"name": "g", "policies": ["affinity"]})
        self.assertEqual(400, reply.code, reply.raw)
        reply = await self.post(api, "2.64", {"name": "g", "policy": "soft-affinity"})
        self.assertEqual(200, reply.code, reply.raw)
        view = reply.json["server_group"]
        self.assertEqual(("soft-affinity", {}), (view["policy"], view["rules"]))
        self.assertNotIn("policies", view)
        self.assertNotIn("metadata", view)
        # Seen through an older microversion, the same group has policies.
        reply = await api.request("GET", f"{PATH}/{view['id']}", token=USER,
                                  headers=version("2.63"))
        self.assertEqual((["soft-affinity"], {}), (reply.json["server_group"]["policies"],
                                                  reply.json["server_group"]["metadata"]))
        self.assertNotIn("rules", reply.json["server_group"])

    async def test_rules_only_with_anti_affinity(self):
        api = ServerGroupServer(self)
        before = api.snapshot()
        for policy in ("affinity", "soft-affinity", "soft-anti-affinity"):
            reply = await self.post(api, "2.64", {"name": "g", "policy": policy,
                                                  "rules": {"max_server_per_host": 2}})
            self.assertEqual({"badRequest": {"code": 400, "message":
                              "Only anti-affinity policy supports rules."}}, reply.json)
        self.assertEqual(before, api.snapshot())
        reply = await self.post(api, "2.64", {"name": "g", "policy": "affinity",
                                              "rules": {}})
        self.assertEqual(200, reply.code, reply.raw)

    async def test_max_server_per_host(self):
        api = ServerGroupServer(self)
        for value, expected in ((3, 3), ("7", 7), (1, 1)):
            reply = await self.post(api, "2.64", {"name": "g", "policy": "anti-affinity",
                                                  "rules": {"max_server_per_host": value}})
            self.assertEqual(200, reply.code, reply.raw)
            self.assertEqual({"max_server_per_host": expected},
                             reply.json["server_group"]["rules"])
        before = api.snapshot()
        for value in (0, "0", -1, "x", 1.5, None, "", [1]):
            reply = await self.post(api, "2.64", {"name": "g", "policy": "anti-affinity",
                                                  "rules": {"max_server_per_host": value}})
            self.assertEqual(400, reply.code, (value, reply.raw))
        reply = await self.post(api, "2.64", {"name": "g", "policy": "anti-affinity",
                                              "rules": {"max_server_per_hosts": 2}})
        self.assertEqual(400, reply.code, reply.raw)
        self.assertEqual(before, api.snapshot())

    async def test_names(self):
        api = ServerGroupServer(self)
        for name in ("", " lead", "trail ", "x" * 256, None, 5):
            reply = await self.post(api, "2.64", {"name": name, "policy": "affinity"})
            self.assertEqual(400, reply.code, (name, reply.raw))
        reply = await self.post(api, "2.64", {"name": "gr\u00fcppe \u2603",
                                              "policy": "affinity"})
        self.assertEqual("gr\u00fcppe \u2603", reply.json["server_group"]["name"])

    async def test_unknown_query_parameters_refused_from_2_75(self):
        api = ServerGroupServer(self)
        await api.create_group(token=USER)
        reply = await api.request("GET", PATH + "?foo=1", token=USER, headers=version("2.74"))
        self.assertEqual(200, reply.code, reply.raw)
        reply = await api.request("GET", PATH + "?foo=1", token=USER, headers=version("2.75"))
        self.assertEqual(400, reply.code, reply.raw)
        for query in ("?limit=-1", "?offset=x", "?limit=1.5"):
            reply = await api.request("GET", PATH + query, token=USER)
            self.assertEqual(400, reply.code, (query, reply.raw))


class ServerGroupListTest(unittest.TestCase):

    async def names(self, api, query: str = "", token: str = USER) -> list[str]:
        reply = await api.request("GET", PATH + query, token=token, headers=version("2.13"))
        self.assertEqual(200, reply.code, reply.raw)
        return [g["name"] for g in reply.json["server_groups"]]

    async def test_project_scoped_and_all_projects_for_admins(self):
        api = ServerGroupServer(self)
        await api.create_group("mine", token=USER)
        await api.create_group("admins", token=ADMIN)
        await api.create_group("theirs", token=OTHER)
        self.assertEqual(["mine", "admins"], await self.names(api))
        self.assertEqual(["theirs"], await self.names(api, token=OTHER))
        # A non-admin asking for every project gets their own, as in Nova.
        self.assertEqual(["theirs"], await self.names(api, "?all_projects=True", OTHER))
        self.assertEqual(["mine", "admins", "theirs"],
                         await self.names(api, "?all_projects=True", ADMIN))
        self.assertEqual(["mine", "admins", "theirs"],
                         await self.names(api, "?all_projects=0", ADMIN))
        self.assertEqual(["mine", "admins"], await self.names(api, "", ADMIN))
        reply = await api.request("GET", PATH + "?all_projects=1", token=ADMIN,
                                  headers=version("2.13"))
        self.assertEqual({"fake", "admin", "bob"},
                         {g["user_id"] for g in reply.json["server_groups"]})

    async def test_limit_and_offset(self):
        api = ServerGroupServer(self)
        api.conf.set_override("max_limit", 3, group="api")
        for i in range(5):
            await api.create_group(f"g{i}", token=USER)
        self.assertEqual(["g0", "g1", "g2"], await self.names(api))
        self.assertEqual(["g0", "g1", "g2"], await self.names(api, "?limit=0"))
        self.assertEqual(["g0", "g1"], await self.names(api, "?limit=2"))
        self.assertEqual(["g1", "g2"], await self.names(api, "?limit=2&offset=1"))
        self.assertEqual(["g3", "g4"], await self.names(api, "?offset=3"))
        self.assertEqual(["g2", "g3", "g4"], await self.names(api, "?limit=10&offset=2"))
        self.assertEqual([], await self.names(api, "?offset=5"))
        self.assertEqual([], await self.names(api, "?offset=%d" % 10 ** 30))
        self.assertEqual(["g0", "g1", "g2"], await self.names(api, "?limit=%d" % 10 ** 30))


class ServerGroupMembersTest(unittest.TestCase):

    async def test_members_shown_unless_deleted(self):
        api = ServerGroupServer(self)
        group = await api.create_group(token=USER)
        live = api.add_server(SAMPLE_PROJECT, "fake")
        building = api.add_server(SAMPLE_PROJECT, "fake", scheduled=False)
        deleted = api.add_server(SAMPLE_PROJECT, "fake", deleted=True)
        unmapped = api.add_server(SAMPLE_PROJECT, "fake", mapped=False)
        api.add_member_rows(group["id"], live, deleted, unmapped, building)
        for microversion in ("2.1", "2.64"):
            reply = await api.request("GET", f"{PATH}/{group['id']}", token=USER,
                                      headers=version(microversion))
            self.assertEqual([live, building], reply.json["server_group"]["members"])
            reply = await api.request("GET", PATH, token=USER, headers=version(microversion))
            self.assertEqual([live, building], reply.json["server_groups"][0]["members"])

    async def test_hosts_of_the_members(self):
        api = ServerGroupServer(self)
        group = await api.create_group(token=USER)
        on_h1 = api.add_server(SAMPLE_PROJECT, "fake", host="h1")
        also_h1 = api.add_server(SAMPLE_PROJECT, "fake", host="h1")
        on_h2 = api.add_server(SAMPLE_PROJECT, "fake", host="h2")
        gone = api.add_server(SAMPLE_PROJECT, "fake", host="h3", deleted=True)
        building = api.add_server(SAMPLE_PROJECT, "fake", scheduled=False)
        api.add_member_rows(group["id"], on_h1, also_h1, on_h2, gone, building)
        groups = api.server_group_api()
        context = _context("fake", SAMPLE_PROJECT)
        stored = await groups.get(context, group["id"])
        self.assertEqual(["h1", "h2"], await groups.get_hosts(context, stored))
        self.assertEqual(["h1"], await groups.get_hosts(context, stored, exclude=[on_h2]))
        self.assertEqual([], await groups.get_hosts(context, stored.with_members([])))
        wire = stored.with_hosts(await groups.get_hosts(context, stored)
                                 ).to_request_spec_group()
        self.assertEqual((["h1", "h2"], stored.members, "anti-affinity"),
                         (wire.hosts, wire.members, wire.policy))

    async def test_a_cell_that_cannot_be_read_leaves_its_members_out(self):
        api = ServerGroupServer(self)
        group = await api.create_group(token=USER)
        live = api.add_server(SAMPLE_PROJECT, "fake")
        building = api.add_server(SAMPLE_PROJECT, "fake", scheduled=False)
        api.add_member_rows(group["id"], live, building)
        with api.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE cell_mappings SET database_connection = "
                                 "'sqlite:////nonexistent/dir/cell.db'")
        reply = await api.request("GET", f"{PATH}/{group['id']}", token=USER)
        self.assertEqual((200, [building]), (reply.code, reply.json["server_group"]["members"]))

    async def test_add_members_checks_the_member_quota(self):
        api = ServerGroupServer(self, quota={"server_group_members": 2})
        group = await api.create_group(token=USER)
        servers = [api.add_server(SAMPLE_PROJECT, "fake") for _ in range(3)]
        groups = api.server_group_api()
        context = _context("fake", SAMPLE_PROJECT)
        self.assertEqual(servers[:2], await groups.add_members(context, group["id"],
                                                               servers[:2]))
        with self.assertRaises(exception.ServerGroupMembersLimitExceeded) as caught:
            await groups.add_members(context, group["id"], servers[2:])
        self.assertEqual((403, "Quota exceeded, too many servers in group"),
                         (caught.exception.code, caught.exception.format_message()))
        with self.assertRaises(exception.ServerGroupMembersLimitExceeded):
            await groups.check_members_quota(context, group["id"])
        # Another user's servers count against their own limit.
        theirs = api.add_server(SAMPLE_PROJECT, "someone")
        await groups.check_members_quota(_context("someone", SAMPLE_PROJECT), group["id"])
        await groups.add_members(_context("someone", SAMPLE_PROJECT), group["id"], [theirs])
        # A member being deleted no longer counts.
        with api.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE instance_mappings SET queued_for_delete = 1 "
                                 "WHERE instance_uuid = ?", (servers[0],))
        await groups.add_members(context, group["id"], servers[2:])
        reply = await api.request("GET", f"{PATH}/{group['id']}", token=USER)
        self.assertEqual(servers[:2] + [theirs, servers[2]],
                         reply.json["server_group"]["members"])
        found = await groups.get_by_instance_uuid(context, theirs)
        self.assertEqual(group["id"], found.uuid)

    async def test_recheck_takes_a_member_that_raced_past_the_limit_out(self):
        api = ServerGroupServer(self, quota={"server_group_members": 1})
        group = await api.create_group(token=USER)
        first, second = (api.add_server(SAMPLE_PROJECT, "fake") for _ in range(2))
        groups = api.server_group_api()
        context = _context("fake", SAMPLE_PROJECT)
        real_check = groups.check_members_quota
        checks = []

        async def first_check_passes(context, group, user_id=None, delta=1):
            checks.append(delta)
            if len(checks) == 1:
                return None  # another request's member is not yet counted
            return await real_check(context, group, user_id, delta)

        api.add_member_rows(group["id"], first)
        groups.check_members_quota = first_check_passes
        with self.assertRaises(exception.ServerGroupMembersLimitExceeded):
            await groups.add_members(context, group["id"], [second])
        self.assertEqual([1, 0], checks)
        reply = await api.request("GET", f"{PATH}/{group['id']}", token=USER)
        self.assertEqual([first], reply.json["server_group"]["members"])


def _context(user_id: str, project_id: str):
    from nova_tx.context import RequestContext

    return RequestContext(user_id=user_id, project_id=project_id)


class ServerGroupQuotaTest(unittest.TestCase):

    async def test_project_limit(self):
        api = ServerGroupServer(self, quota={"server_groups": 2})
        await api.create_group("a", token=USER)
        await api.create_group("b", token="other:" + SAMPLE_PROJECT)
        before = api.snapshot()
        reply = await api.request("POST", PATH, token=USER, body={
            "server_group": {"name": "c", "policies": ["affinity"]}})
        self.assertEqual({"forbidden": {"code": 403, "message":
                          "Quota exceeded, too many server groups."}}, reply.json)
        self.assertEqual(before, api.snapshot())
        # Another project has its own.
        await api.create_group("c", token=OTHER)
        reply = await api.request("GET", f"/v2.1/os-quota-sets/{SAMPLE_PROJECT}/detail",
                                  token=ADMIN)
        self.assertEqual({"in_use": 2, "limit": 2, "reserved": 0},
                         reply.json["quota_set"]["server_groups"])

    async def test_user_limit(self):
        api = ServerGroupServer(self)
        reply = await api.request(
            "PUT", f"/v2.1/os-quota-sets/{SAMPLE_PROJECT}?user_id=fake", token=ADMIN,
            body={"quota_set": {"server_groups": 1}})
        self.assertEqual(200, reply.code, reply.raw)
        await api.create_group("a", token=USER)
        reply = await api.request("POST", PATH, token=USER, body={
            "server_group": {"name": "b", "policies": ["affinity"]}})
        self.assertEqual(403, reply.code, reply.raw)
        # The project's other users are not held to fake's limit.
        await api.create_group("b", token="other:" + SAMPLE_PROJECT)

    async def test_recheck_removes_a_group_that_raced_past_the_limit(self):
        api = ServerGroupServer(self, quota={"server_groups": 1})
        engine = api.quota_engine()
        real = engine.counters["server_groups"]
        calls = []

        async def racing(context, project_id, user_id=None):
            calls.append(project_id)
            if len(calls) == 1:
                # The first check is passed by a request that raced this one.
                return {"project": {"server_groups": 0}, "user": {"server_groups": 0}}
            return await real(context, project_id, user_id)

        api.add_server_group(SAMPLE_PROJECT, "someone")
        engine.register_counter("server_groups", racing)
        before = api.snapshot()
        reply = await api.request("POST", PATH, token=USER, body={
            "server_group": {"name": "c", "policies": ["affinity"]}})
        self.assertEqual(403, reply.code, reply.raw)
        self.assertEqual(2, len(calls))
        self.assertEqual(before, api.snapshot())
        self.assertEqual([], [n for n in api.notifications()
                              if n["event_type"] == "server_group.create"])

    async def test_no_recheck_when_disabled(self):
        api = ServerGroupServer(self, quota={"server_groups": 1, "recheck_quota": False})
        engine = api.quota_engine()
        calls = []
        real = engine.counters["server_groups"]

        async def counting(context, project_id, user_id=None):
            calls.append(project_id)
            return await real(context, project_id, user_id)

        engine.register_counter("server_groups", counting)
        await api.create_group("a", token=USER)
        self.assertEqual(1, len(calls))


class ServerGroupNotificationsTest(unittest.TestCase):

    def assertMatchesSample(self, name: str, notification: dict, **data):
        expected = notification_sample(name)
        payload = notification_sample("common_payloads/ServerGroupPayload.json")
        payload["nova_object.data"].update(expected["payload"].get("nova_object.data", {}))
        payload["nova_object.data"].update(data)
        self.assertEqual(
            {"priority": expected["priority"], "event_type": expected["event_type"],
             "publisher_id": expected["publisher_id"], "payload": payload},
            {k: notification[k] for k in ("priority", "event_type", "publisher_id",
                                          "payload")})

    async def test_create_add_member_delete(self):
        api = ServerGroupServer(self)
        group = await api.create_group("test-server-group", token=USER,
                                       rules={"max_server_per_host": 3})
        server = api.add_server(SAMPLE_PROJECT, "fake")
        await api.server_group_api().add_members(_context("fake", SAMPLE_PROJECT),
                                                 group["id"], [server])
        reply = await api.request("DELETE", f"{PATH}/{group['id']}", token=USER)
        self.assertEqual(204, reply.code, reply.raw)
        sent = api.notifications()
        self.assertEqual(["server_group.create", "server_group.add_member",
                          "server_group.delete"], [n["event_type"] for n in sent])
        self.assertMatchesSample("server_group-create.json", sent[0], uuid=group["id"])
        self.assertMatchesSample("server_group-add_member.json", sent[1], uuid=group["id"],
                                 members=[server])
        self.assertMatchesSample("server_group-delete.json", sent[2], uuid=group["id"],
                                 members=[server])
        legacy = api.legacy_notifications()
        self.assertEqual(
            [("servergroup.create", "servergroup.fake-mini"),
             ("servergroup.addmember", "servergroup.fake-mini"),
             ("servergroup.delete", "servergroup.fake-mini")],
            [(n["event_type"], n["publisher_id"]) for n in legacy])
        self.assertEqual({"name": "test-server-group", "project_id": SAMPLE_PROJECT,
                          "user_id": "fake", "policy": "anti-affinity",
                          "rules": {"max_server_per_host": "3"},
                          "server_group_id": group["id"]}, legacy[0]["payload"])
        self.assertEqual({"server_group_id": group["id"], "instance_uuids": [server]},
                         legacy[1]["payload"])
        self.assertEqual({"server_group_id": group["id"]}, legacy[2]["payload"])

    async def test_versioned_only(self):
        api = ServerGroupServer(self, notification_format="versioned")
        await api.create_group(token=USER)
        self.assertEqual(["server_group.create"],
                         [n["event_type"] for n in api.notifications()])
        self.assertEqual([], api.legacy_notifications())

    async def test_refusals_send_nothing(self):
        api = ServerGroupServer(self, quota={"server_groups": 0})
        reply = await api.request("POST", PATH, token=USER, body={
            "server_group": {"name": "c", "policies": ["affinity"]}})
        self.assertEqual(403, reply.code)
        reply = await api.request("DELETE", PATH + "/nope", token=USER)
        self.assertEqual(404, reply.code)
        self.assertEqual(([], []), (api.notifications(), api.legacy_notifications()))

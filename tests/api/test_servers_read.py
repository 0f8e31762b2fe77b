"""GET /servers, /servers/detail and /servers/{id}, PUT and DELETE /servers/{id} over
HTTP, checked against Nova's API samples (fields by microversion) and Nova's list
filters, sorting, paging, update and delete behaviour."""
from __future__ import annotations

import datetime
import uuid as uuidlib

from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.db.api import instance_mappings
from tests.api.servers_server import (
    ADMIN,
    DEMO,
    SAMPLE_PROJECT,
    T0,
    ServersServer,
    sample,
    version,
)

OTHER = "demo:07her"


class ServersShowTest(unittest.TestCase):

    def setUp(self):
        self.api = ServersServer(self)

    async def get(self, path, microversion="2.1", token=ADMIN, **kwargs):
        return await self.api.request("GET", "/v2.1/" + SAMPLE_PROJECT + path,
                                      headers=version(microversion), token=token, **kwargs)

    def seed(self, **fields):
        fields.setdefault("host", "compute1")
        fields.setdefault("auto_disk_config", True)
        fields.setdefault("node", "fake-mini")
        fields.setdefault("metadata", {"My Server Name": "Apache1"})
        fields.setdefault("launched_at", datetime.datetime(2013, 9, 23, 13, 37, 0, 880302))
        instance = self.api.add_instance(access_ip_v4="1.2.3.4", access_ip_v6="80fe::",
                                         hostname="new-server-test", **fields)
        self.api.add_volume(instance.uuid, "volume_id1")
        self.api.add_volume(instance.uuid, "volume_id2")
        self.api.add_service("compute1")
        return instance

    async def test_fields_by_microversion_match_the_samples(self):
        instance = self.seed()
        cases = [("2.1", "server-get-resp.json", ADMIN),
                 ("2.3", "v2.3/server-get-resp.json", ADMIN),
                 ("2.9", "v2.9/server-get-resp.json", ADMIN),
                 ("2.16", "v2.16/server-get-resp.json", ADMIN),
                 ("2.19", "v2.19/server-get-resp.json", ADMIN),
                 ("2.47", "v2.47/server-get-resp.json", ADMIN),
                 ("2.63", "v2.63/server-get-resp.json", ADMIN),
                 ("2.71", "v2.71/server-get-resp.json", ADMIN),
                 ("2.73", "v2.73/server-get-resp.json", ADMIN),
                 ("2.90", "v2.90/server-get-resp.json", DEMO)]
        for microversion, path, token in cases:
            expected = sample("servers", path)["server"]
            reply = await self.get(f"/servers/{instance.uuid}", microversion, token)
            self.assertEqual(200, reply.code, (microversion, reply.raw))
            got = reply.json["server"]
            self.assertEqual(sorted(expected), sorted(got), microversion)
            for key in ("addresses", "metadata", "accessIPv4", "accessIPv6", "status",
                        "OS-DCF:diskConfig", "security_groups", "config_drive",
                        "OS-EXT-STS:vm_state",
                        "OS-EXT-STS:power_state", "tenant_id", "name", "key_name"):
                self.assertEqual(expected[key], got[key], (microversion, key))
            self.assertEqual(sorted(expected["flavor"]), sorted(got["flavor"]), microversion)
            if microversion in ("2.71", "2.73", "2.90"):
                self.assertEqual(expected["flavor"], got["flavor"], microversion)
            if expected["os-extended-volumes:volumes_attached"]:  # some samples have none
                self.assertEqual(expected["os-extended-volumes:volumes_attached"],
                                 got["os-extended-volumes:volumes_attached"], microversion)

    async def test_values(self):
        instance = self.seed(display_description="about", tags=["a", "b"],
                             trusted_certs=["c1"], system_metadata={"locked_reason": "why"},
                             locked=True, locked_by="admin", key_name="k")
        got = (await self.get(f"/servers/{instance.uuid}", "2.73")).json["server"]
        base = f"http://127.0.0.1:{self.api.port.getHost().port}"
        self.assertEqual([
            {"rel": "self",
             "href": f"{base}/v2.1/{SAMPLE_PROJECT}/servers/{instance.uuid}"},
            {"rel": "bookmark", "href": f"{base}/{SAMPLE_PROJECT}/servers/{instance.uuid}"}],
            got["links"])
        self.assertEqual({"id": "70a599e0-31e7-49b7-b260-868f441e862b", "links": [
            {"rel": "bookmark", "href": f"{base}/{SAMPLE_PROJECT}/images/"
             "70a599e0-31e7-49b7-b260-868f441e862b"}]}, got["image"])
        self.assertEqual("2013-09-03T04:01:32Z", got["created"])
        self.assertEqual("2013-09-23T13:37:00.880302", got["OS-SRV-USG:launched_at"])
        self.assertEqual(56, len(got["hostId"]))
        self.assertEqual((True, "why", "about", ["a", "b"], ["c1"], "k", "UP", 0, "nova",
                          "instance-%08x" % instance.id),
                         (got["locked"], got["locked_reason"], got["description"],
                          got["tags"], got["trusted_image_certificates"], got["key_name"],
                          got["host_status"], got["progress"],
                          got["OS-EXT-AZ:availability_zone"],
                          got["OS-EXT-SRV-ATTR:instance_name"]))
        old = (await self.get(f"/servers/{instance.uuid}", "2.46")).json["server"]
        self.assertEqual({"id": "1", "links": [
            {"rel": "bookmark", "href": f"{base}/{SAMPLE_PROJECT}/flavors/1"}]},
            old["flavor"])
        self.assertEqual([{"id": "volume_id1"}, {"id": "volume_id2"}], (await self.get(
            f"/servers/{instance.uuid}", "2.1")).json["server"][
                "os-extended-volumes:volumes_attached"])

    async def test_server_groups_from_2_71(self):
        from nova_tx.db.api import instance_groups
        from nova_tx.objects.instance_group import InstanceGroup

        instance = self.api.add_instance()
        group_uuid = str(uuidlib.uuid4())
        with self.api.engine.begin() as conn:
            instance_groups.create(conn, InstanceGroup(
                uuid=group_uuid, name="g", user_id="demo", project_id=SAMPLE_PROJECT,
                policy="anti-affinity"))
            instance_groups.add_members(conn, group_uuid, [instance.uuid])
        got = (await self.get(f"/servers/{instance.uuid}", "2.71", DEMO)).json["server"]
        self.assertEqual([group_uuid], got["server_groups"])
        older = (await self.get(f"/servers/{instance.uuid}", "2.70", DEMO)).json["server"]
        self.assertNotIn("server_groups", older)
        reply = await self.api.request("PUT", f"/v2.1/servers/{instance.uuid}", token=DEMO,
                                       body={"server": {"name": "x"}},
                                       headers=version("2.71"))
        self.assertEqual([group_uuid], reply.json["server"]["server_groups"])

    async def test_host_status_by_service_state_and_policy(self):
        for host, service, expected in (
                ("up", {}, "UP"), ("disabled", {"disabled": True}, "MAINTENANCE"),
                ("forced", {"forced_down": True}, "DOWN"),
                ("late", {"seen": T0}, "UNKNOWN")):
            self.api.add_service(host, **service)
            instance = self.api.add_instance(host=host)
            got = (await self.get(f"/servers/{instance.uuid}", "2.16")).json["server"]
            self.assertEqual(expected, got["host_status"], host)
            mine = (await self.get(f"/servers/{instance.uuid}", "2.16", DEMO)).json
            self.assertNotIn("host_status", mine["server"])
        unscheduled = self.api.add_instance()
        got = (await self.get(f"/servers/{unscheduled.uuid}", "2.16")).json["server"]
        self.assertEqual("", got["host_status"])

    async def test_a_build_request_shows_as_build(self):
        instance = self.api.add_build_request(availability_zone="az1")
        got = (await self.get(f"/servers/{instance.uuid}", "2.3")).json["server"]
        self.assertEqual(("BUILD", {}, "", "building", "scheduling", "az1", ""),
                         (got["status"], got["addresses"],
                          got["OS-EXT-SRV-ATTR:instance_name"], got["OS-EXT-STS:vm_state"],
                          got["OS-EXT-STS:task_state"], got["OS-EXT-AZ:availability_zone"],
                          got["hostId"]))
        self.assertEqual(instance.uuid, got["id"])

    async def test_fault_of_an_error_server(self):
        from nova_tx.db.main import instances
        from nova_tx.objects.instance import InstanceFault

        instance = self.api.add_instance(vm_state=states.ERROR)
        with self.api.cell_engine.begin() as conn:
            instances.add_fault(conn, InstanceFault(instance_uuid=instance.uuid, code=500,
                                                    message="boom", details="trace"))
        admin = (await self.get(f"/servers/{instance.uuid}")).json["server"]
        self.assertEqual(("ERROR", 500, "boom", "trace"),
                         (admin["status"], admin["fault"]["code"],
                          admin["fault"]["message"], admin["fault"]["details"]))
        self.assertNotIn("progress", admin)
        user = (await self.get(f"/servers/{instance.uuid}", token=DEMO)).json["server"]
        self.assertNotIn("details", user["fault"])

    async def test_not_found(self):
        for server_id in (str(uuidlib.uuid4()), "not-a-uuid"):
            reply = await self.get(f"/servers/{server_id}")
            self.assertEqual(404, reply.code)
            self.assertEqual(404, reply.json["itemNotFound"]["code"])
        deleted = self.api.add_instance()
        with self.api.cell_engine.begin() as conn:
            from nova_tx.db.main import instances

            instances.destroy(conn, deleted.uuid)
        self.assertEqual(404, (await self.get(f"/servers/{deleted.uuid}")).code)

    async def test_uuid_without_dashes_and_in_capitals_is_found(self):
        instance = self.api.add_instance()
        reply = await self.get("/servers/" + instance.uuid.replace("-", "").upper())
        self.assertEqual((200, instance.uuid), (reply.code, reply.json["server"]["id"]))


class ServersListTest(unittest.TestCase):

    def setUp(self):
        self.api = ServersServer(self)

    async def ids(self, query="", microversion="2.1", token=ADMIN, detail=False,
                  code=200):
        path = "/v2.1/servers" + ("/detail" if detail else "") + query
        reply = await self.api.request("GET", path, headers=version(microversion),
                                       token=token)
        self.assertEqual(code, reply.code, (query, reply.raw))
        if code != 200:
            return reply.json
        return [s["id"] for s in reply.json["servers"]]

    def seed(self, name, **fields):
        return self.api.add_instance(display_name=name, **fields).uuid

    async def test_index_and_detail_bodies(self):
        uuid = self.seed("web")
        reply = await self.api.request("GET", "/v2.1/servers", token=DEMO)
        self.assertEqual([{"id": uuid, "name": "web", "links": reply.json["servers"][0][
            "links"]}], reply.json["servers"])
        detail = await self.api.request("GET", "/v2.1/servers/detail", token=DEMO,
                                        headers=version("2.47"))
        server = detail.json["servers"][0]
        self.assertEqual(("ACTIVE", "m1.tiny", {"private": [{
            "version": 4, "addr": "192.168.1.30", "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": "00:0c:29:0d:11:74"}]}),
            (server["status"], server["flavor"]["original_name"], server["addresses"]))
        self.assertNotIn("OS-EXT-SRV-ATTR:host", server)
        self.assertIn("OS-EXT-SRV-ATTR:host", (await self.api.request(
            "GET", "/v2.1/servers/detail", token=ADMIN)).json["servers"][0])

    async def test_detail_and_index_match_the_samples(self):
        for i in range(2):
            server = self.api.add_instance(host="compute1", node="fake-mini",
                                           created_at=T0 + datetime.timedelta(seconds=i))
            self.api.add_volume(server.uuid, "volume_id1")
        self.api.add_service("compute1")
        cases = [("2.1", "servers-details-resp.json", ADMIN),
                 ("2.16", "v2.16/servers-details-resp.json", ADMIN),
                 ("2.47", "v2.47/servers-details-resp.json", ADMIN),
                 ("2.73", "v2.73/servers-details-resp.json", ADMIN),
                 ("2.90", "v2.90/servers-details-resp.json", DEMO),
                 ("2.1", "servers-list-resp.json", DEMO),
                 ("2.90", "v2.90/servers-list-resp.json", DEMO)]
        for microversion, path, token in cases:
            expected = sample("servers", path)
            collection = "servers/detail" if "details" in path else "servers"
            limit = "?limit=1" if "servers_links" in expected else ""
            reply = await self.api.request(
                "GET", f"/v2.1/{SAMPLE_PROJECT}/{collection}{limit}", token=token,
                headers=version(microversion))
            self.assertEqual(sorted(expected), sorted(reply.json), path)
            self.assertEqual(sorted(expected["servers"][0]), sorted(reply.json["servers"][0]),
                             path)
            if limit:
                [link] = reply.json["servers_links"]
                marker = reply.json["servers"][0]["id"]
                self.assertEqual("next", link["rel"])
                self.assertTrue(link["href"].endswith(
                    f"/v2.1/{SAMPLE_PROJECT}/{collection}?limit=1&marker={marker}"), path)

    async def test_project_scope_and_all_tenants(self):
        mine = self.seed("mine")
        theirs = self.seed("theirs", project_id="07her")
        self.assertEqual([mine], await self.ids(token=DEMO))
        self.assertEqual([theirs], await self.ids(token=OTHER))
        self.assertEqual({mine, theirs}, set(await self.ids("?all_tenants=1")))
        self.assertEqual({mine, theirs}, set(await self.ids("?all_tenants")))
        self.assertEqual([theirs], await self.ids("?all_tenants=1&tenant_id=07her"))
        self.assertEqual([mine], await self.ids("?all_tenants=0"))
        refused = await self.ids("?all_tenants=1", token=DEMO, code=403)
        self.assertIn("os_compute_api:servers:index:get_all_tenants",
                      refused["forbidden"]["message"])
        await self.ids("?all_tenants=maybe", code=400)

    async def test_build_requests_come_first(self):
        old = self.seed("old")
        building = self.api.add_build_request(display_name="building").uuid
        self.assertEqual([building, old], await self.ids())
        detail = await self.api.request("GET", "/v2.1/servers/detail", token=ADMIN)
        self.assertEqual(["BUILD", "ACTIVE"], [s["status"] for s in detail.json["servers"]])
        self.assertEqual([building], await self.ids("?status=BUILD"))
        self.assertEqual([building], await self.ids("?name=^build"))

    async def test_name_status_image_flavor_and_ip(self):
        web = self.seed("Web-1")
        stopped = self.seed("db", vm_state=states.STOPPED, image_ref="other",
                            network_info=[])
        rebooting = self.seed("r", task_state=states.REBOOTING)
        self.assertEqual([web], await self.ids("?name=^web"))
        self.assertEqual([stopped], await self.ids("?status=shutoff", token=DEMO))
        self.assertEqual([rebooting], await self.ids("?status=REBOOT"))
        self.assertEqual({web, rebooting},
                         set(await self.ids("?status=ACTIVE&status=REBOOT")))
        self.assertEqual([], await self.ids("?status=bogus", "2.37"))
        error = await self.ids("?status=bogus", "2.38", code=400)
        self.assertEqual("Invalid status value", error["badRequest"]["message"])
        self.assertEqual([stopped], await self.ids("?image=other", token=DEMO))
        self.assertEqual(3, len(await self.ids("?flavor=1", token=DEMO)))
        self.assertEqual([], await self.ids("?flavor=404"))
        self.assertEqual({web, rebooting}, set(await self.ids("?ip=192.168", token=DEMO)))
        await self.ids("?name=(", code=400)

    async def test_filters_by_microversion_for_users(self):
        tagged = self.seed("t", tags=["red", "blue"], key_name="k", locked=True,
                           host="h1")
        plain = self.seed("p")
        self.assertEqual({tagged, plain}, set(await self.ids("?tags=red", "2.25", DEMO)))
        self.assertEqual([tagged], await self.ids("?tags=red,blue", "2.26", DEMO))
        self.assertEqual([tagged], await self.ids("?tags-any=red,green", "2.26", DEMO))
        self.assertEqual([plain], await self.ids("?not-tags=red,blue", "2.26", DEMO))
        self.assertEqual([plain], await self.ids("?not-tags-any=blue", "2.26", DEMO))
        self.assertEqual(2, len(await self.ids("?locked=true", "2.72", DEMO)))
        self.assertEqual([tagged], await self.ids("?locked=true", "2.73", DEMO))
        await self.ids("?locked=maybe", "2.73", DEMO, code=400)
        self.assertEqual(2, len(await self.ids("?key_name=k", "2.82", DEMO)))
        self.assertEqual([tagged], await self.ids("?key_name=k", "2.83", DEMO))
        # host is admin-only: ignored for users, applied for admins.
        self.assertEqual(2, len(await self.ids("?host=h1", "2.1", DEMO)))
        self.assertEqual([tagged], await self.ids("?host=h1", "2.1", ADMIN))

    async def test_unknown_filters_ignored_before_2_75_refused_from_it(self):
        self.seed("a")
        self.assertEqual(1, len(await self.ids("?bogus=1", "2.74", DEMO)))
        error = await self.ids("?bogus=1", "2.75", DEMO, code=400)
        self.assertEqual(400, error["badRequest"]["code"])
        await self.ids("?metadata=x", "2.1", ADMIN, code=400)
        await self.ids("?sort_key=bogus", "2.1", DEMO, code=400)

    async def test_changes_since_before_and_deleted(self):
        old = self.seed("old", updated_at=T0)
        new = self.seed("new", updated_at=T0 + datetime.timedelta(hours=2))
        gone = self.seed("gone", updated_at=T0 + datetime.timedelta(hours=1))
        with self.api.cell_engine.begin() as conn:
            from nova_tx.db.main import instances

            instances.update(conn, gone, {"vm_state": states.DELETED,
                                          "updated_at": T0 + datetime.timedelta(hours=1)})
            instances.destroy(conn, gone)
        since = "?changes-since=2013-09-03T05:00:00Z"
        self.assertEqual({new, gone}, set(await self.ids(since, token=DEMO)))
        self.assertEqual({old, gone}, set(await self.ids(
            "?changes-before=2013-09-03T05:30:00Z", "2.66", DEMO)))
        await self.ids(since + "&changes-before=2013-09-03T04:00:00Z", "2.66", DEMO,
                       code=400)
        await self.ids("?changes-since=yesterday", code=400)
        self.assertEqual([gone], await self.ids("?deleted=true"))
        self.assertEqual({old, new}, set(await self.ids("?deleted=true", token=DEMO)))
        refused = await self.ids("?status=deleted", token=DEMO, code=403)
        self.assertEqual("Only administrators may list deleted instances",
                         refused["forbidden"]["message"])
        self.assertEqual([gone], await self.ids("?status=deleted"))

    async def test_sort_limit_marker_and_links(self):
        made = [self.seed(name, created_at=T0 + datetime.timedelta(seconds=i))
                for i, name in enumerate("bcad")]
        self.assertEqual(made[::-1], await self.ids())
        by_name = await self.ids("?sort_key=display_name&sort_dir=asc")
        self.assertEqual([made[2], made[0], made[1], made[3]], by_name)
        reply = await self.api.request("GET", "/v2.1/servers/detail?limit=2", token=ADMIN)
        self.assertEqual(made[::-1][:2], [s["id"] for s in reply.json["servers"]])
        [link] = reply.json["servers_links"]
        self.assertEqual("next", link["rel"])
        self.assertIn(f"/v2.1/servers/detail?limit=2&marker={made[2]}", link["href"])
        self.assertEqual(made[::-1][2:], await self.ids(f"?limit=2&marker={made[2]}"))
        error = await self.ids("?marker=nope", code=400)
        self.assertEqual("marker [nope] not found", error["badRequest"]["message"])
        await self.ids("?limit=-1", code=400)
        self.assertEqual([], await self.ids("?limit=0"))
        refused = await self.ids("?sort_key=host", token=DEMO, code=403)
        self.assertEqual("Only administrators can sort servers by host",
                         refused["forbidden"]["message"])
        self.assertEqual(4, len(await self.ids("?sort_key=host")))
        self.assertEqual(made[::-1], await self.ids("?sort_key=vcpus&sort_dir=asc",
                                                    token=DEMO))
        await self.ids("?sort_key=display_name&sort_dir=up", code=400)

    async def test_lists_merge_the_cells_in_order_and_page_across_them(self):
        self.api.add_cell("cell2")
        made = {}
        for i, (name, cell) in enumerate((("a", "cell1"), ("b", "cell2"), ("c", "cell1"),
                                          ("d", "cell2"), ("e", "cell2"))):
            made[name] = self.seed(name, cell=cell,
                                   created_at=T0 + datetime.timedelta(seconds=i))
        newest_first = [made[n] for n in "edcba"]
        self.assertEqual(newest_first, await self.ids())
        self.assertEqual([made[n] for n in "abcde"],
                         await self.ids("?sort_key=display_name&sort_dir=asc"))
        pages, marker = [], None
        while True:
            page = await self.ids("?limit=2" + (f"&marker={marker}" if marker else ""))
            if not page:
                break
            pages.extend(page)
            marker = page[-1]
        self.assertEqual(newest_first, pages)
        self.assertEqual([made["b"]], await self.ids("?name=^b$"))
        reply = await self.api.request("GET", f"/v2.1/servers/{made['d']}", token=DEMO)
        self.assertEqual("d", reply.json["server"]["name"])
        self.assertEqual(204, (await self.api.request(
            "DELETE", f"/v2.1/servers/{made['d']}", token=DEMO)).code)
        self.assertEqual([made[n] for n in "ecba"], await self.ids())

    async def test_paging_goes_from_build_requests_into_the_cell(self):
        in_cell = self.seed("cell")
        building = self.api.add_build_request(display_name="br").uuid
        self.assertEqual([building], await self.ids("?limit=1"))
        self.assertEqual([in_cell], await self.ids(f"?limit=1&marker={building}"))
        self.assertEqual([], await self.ids(f"?limit=1&marker={in_cell}"))


class ServersUpdateDeleteTest(unittest.TestCase):

    def setUp(self):
        self.api = ServersServer(self)

    async def put(self, uuid, body, microversion="2.1", token=DEMO):
        return await self.api.request("PUT", f"/v2.1/servers/{uuid}",
                                      body={"server": body},
                                      headers=version(microversion), token=token)

    async def delete(self, uuid, token=DEMO):
        return await self.api.request("DELETE", f"/v2.1/servers/{uuid}", token=token)

    async def test_update_fields_by_microversion(self):
        instance = self.api.add_instance(host="compute1")
        reply = await self.put(instance.uuid, {"name": "renamed", "accessIPv4": "4.4.4.4",
                                               "OS-DCF:diskConfig": "AUTO"})
        self.assertEqual(200, reply.code, reply.raw)
        server = reply.json["server"]
        self.assertEqual(("renamed", "4.4.4.4", "AUTO"),
                         (server["name"], server["accessIPv4"], server["OS-DCF:diskConfig"]))
        self.assertNotIn("OS-EXT-STS:vm_state", server)
        self.assertEqual(400, (await self.put(instance.uuid, {"description": "d"},
                                              "2.18")).code)
        reply = await self.put(instance.uuid, {"description": "d"}, "2.19")
        self.assertEqual("d", reply.json["server"]["description"])
        self.assertEqual(400, (await self.put(instance.uuid, {"hostname": "h"}, "2.89")).code)
        reply = await self.put(instance.uuid, {"hostname": "new-host"}, "2.90")
        self.assertEqual("new-host", reply.json["server"]["OS-EXT-SRV-ATTR:hostname"])
        full = (await self.put(instance.uuid, {"description": None}, "2.75")).json["server"]
        self.assertIn("OS-EXT-STS:vm_state", full)
        self.assertIsNone(full["description"])
        self.assertEqual(set(sample("servers", "v2.75", "server-update-resp.json")["server"])
                         - {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hostname",
                            "OS-EXT-SRV-ATTR:hypervisor_hostname",
                            "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:kernel_id",
                            "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:ramdisk_id",
                            "OS-EXT-SRV-ATTR:reservation_id",
                            "OS-EXT-SRV-ATTR:root_device_name",
                            "OS-EXT-SRV-ATTR:user_data", "host_status"},
                         set(full))
        stored = self.api.get_instance(instance.uuid)
        self.assertEqual(("renamed", "4.4.4.4", True, "new-host", None),
                         (stored.display_name, stored.access_ip_v4, stored.auto_disk_config,
                          stored.hostname, stored.display_description))

    async def test_update_refusals_change_nothing(self):
        instance = self.api.add_instance()
        before = self.api.cell_snapshot()
        for body in ({"name": ""}, {"name": " padded "}, {"accessIPv4": "nope"},
                     {"bogus": 1}, {"OS-DCF:diskConfig": "SOMETIMES"}):
            self.assertEqual(400, (await self.put(instance.uuid, body)).code, body)
        self.assertEqual(404, (await self.put(str(uuidlib.uuid4()), {"name": "x"})).code)
        self.assertEqual(before, self.api.cell_snapshot())
        legacy = await self.api.request("PUT", f"/v2/servers/{instance.uuid}", token=DEMO,
                                        body={"server": {"name": " padded "}})
        self.assertEqual("padded", legacy.json["server"]["name"])

    async def test_update_of_a_build_request(self):
        instance = self.api.add_build_request()
        reply = await self.put(instance.uuid, {"name": "early"})
        self.assertEqual(("early", "BUILD"), (reply.json["server"]["name"],
                                              reply.json["server"]["status"]))

    async def test_delete_a_build_request_removes_its_records(self):
        instance = self.api.add_build_request()
        self.assertEqual(204, (await self.delete(instance.uuid)).code)
        self.assertEqual({"build_requests": [], "instance_mappings": [],
                          "request_specs": []}, self.api.snapshot())
        self.assertEqual(404, (await self.delete(instance.uuid)).code)

    async def test_delete_without_host_is_local(self):
        instance = self.api.add_instance(vm_state=states.ERROR)
        reply = await self.delete(instance.uuid)
        self.assertEqual(204, reply.code, reply.raw)
        gone = self.api.get_instance(instance.uuid, read_deleted="yes")
        self.assertEqual((True, states.DELETED, None),
                         (gone.deleted, gone.vm_state, gone.task_state))
        self.assertIsNotNone(gone.terminated_at)
        with self.api.engine.connect() as conn:
            self.assertTrue(instance_mappings.get_by_instance_uuid(
                conn, instance.uuid).queued_for_delete)
        [(action,)] = self.api.cell_rows(
            "SELECT action FROM instance_actions WHERE instance_uuid = ?", instance.uuid)
        self.assertEqual("delete", action)

    async def test_a_local_delete_keeps_the_server_when_its_allocations_stay(self):
        self.api.placement.status = 500
        instance = self.api.add_instance(vm_state=states.ERROR)
        reply = await self.delete(instance.uuid)
        self.assertEqual((409, f"Failed to delete allocations for consumer {instance.uuid}."
                          " Error: boom"),
                         (reply.code, reply.json["conflictingRequest"]["message"]))
        self.assertFalse(self.api.get_instance(instance.uuid).deleted)

    async def test_a_local_delete_releases_the_ports_and_survives_a_network_outage(self):
        released = self.api.add_instance(vm_state=states.ERROR)
        self.assertEqual(204, (await self.delete(released.uuid)).code)
        self.assertEqual([f"/allocations/{released.uuid}"], self.api.placement.deleted)
        self.assertEqual([(released.uuid, self.api.instance().network_info)],
                         self.api.network.released)
        self.assertEqual([], self.api.get_instance(
            released.uuid, read_deleted="yes", expected_attrs=("info_cache",)).network_info)
        self.api.network.fail = True
        kept = self.api.add_instance(vm_state=states.ERROR)
        self.assertEqual(204, (await self.delete(kept.uuid)).code)
        gone = self.api.get_instance(kept.uuid, read_deleted="yes",
                                     expected_attrs=("info_cache",))
        self.assertTrue(gone.deleted)
        self.assertEqual("192.168.1.30", gone.network_info[0]["network"]["subnets"][0][
            "ips"][0]["address"])

    async def test_delete_on_a_live_host_hands_over_and_on_a_down_one_is_local(self):
        self.api.add_service("up")
        self.api.add_service("down", seen=T0)
        live = self.api.add_instance(host="up")
        self.api.add_volume(live.uuid, "vol-1", delete_on_termination=True)
        orphan = self.api.add_instance(host="down")
        self.assertEqual(204, (await self.delete(live.uuid)).code)
        self.assertEqual(204, (await self.delete(orphan.uuid)).code)
        stored = self.api.get_instance(live.uuid)
        self.assertEqual((False, states.DELETING), (stored.deleted, stored.task_state))
        self.assertEqual([("terminate_instance", live.uuid, states.DELETING)],
                         self.api.compute.casts)
        self.assertEqual([("vol-1", True)], [(b["volume_id"], b["delete_on_termination"])
                                             for b in self.api.compute.bdms])
        self.assertTrue(self.api.get_instance(orphan.uuid, read_deleted="yes").deleted)

    async def test_locked_server_is_deleted_only_by_admins(self):
        instance = self.api.add_instance(locked=True, locked_by="admin")
        reply = await self.delete(instance.uuid)
        self.assertEqual(409, reply.code)
        self.assertEqual(f"Instance {instance.uuid} is locked",
                         reply.json["conflictingRequest"]["message"])
        self.assertFalse(self.api.get_instance(instance.uuid).deleted)
        self.assertEqual(204, (await self.delete(instance.uuid, token=ADMIN)).code)


class DownCellTest(unittest.TestCase):
    """A cell whose database cannot be read: left out of lists before 2.69, shown as
    Nova's minimal constructs from 2.69 (checked against the samples)."""

    def setUp(self):
        self.api = ServersServer(self)
        self.up = self.api.add_instance(display_name="up").uuid
        self.api.add_down_cell()
        self.down = self.api.add_down_instance()
        self.theirs = self.api.add_down_instance(project_id="07her")

    async def get(self, path, microversion, token=DEMO):
        return await self.api.request("GET", f"/v2.1/{SAMPLE_PROJECT}" + path,
                                      token=token, headers=version(microversion))

    async def test_lists_leave_the_cell_out_before_2_69(self):
        reply = await self.get("/servers/detail", "2.68")
        self.assertEqual([self.up], [s["id"] for s in reply.json["servers"]])

    async def test_lists_show_minimal_constructs_from_2_69(self):
        for collection, path in (("/servers", "v2.69/servers-list-resp.json"),
                                 ("/servers/detail", "v2.69/servers-details-resp.json")):
            reply = await self.get(collection, "2.69")
            servers = reply.json["servers"]
            self.assertEqual([self.down, self.up], [s["id"] for s in servers])
            expected = sample("servers", path)["servers"][0]
            self.assertEqual(sorted(expected), sorted(servers[0]), collection)
            self.assertEqual("UNKNOWN", servers[0]["status"])
        admin = await self.get("/servers?all_tenants=1", "2.69", ADMIN)
        self.assertEqual({self.down, self.theirs, self.up},
                         {s["id"] for s in admin.json["servers"]})
        # As Nova: the constructs take only what the limit leaves.
        limited = await self.get("/servers?limit=1", "2.69")
        self.assertEqual([self.up], [s["id"] for s in limited.json["servers"]])
        limited = await self.get("/servers?limit=2", "2.69")
        self.assertEqual([self.down, self.up], [s["id"] for s in limited.json["servers"]])

    async def test_show_from_2_69_and_a_500_before(self):
        reply = await self.get(f"/servers/{self.down}", "2.69")
        expected = sample("servers", "v2.69", "server-get-resp.json")["server"]
        self.assertEqual(sorted(expected), sorted(reply.json["server"]))
        for key in ("OS-EXT-AZ:availability_zone", "OS-EXT-STS:power_state", "flavor",
                    "status", "user_id", "tenant_id"):
            self.assertEqual(expected[key], reply.json["server"][key], key)
        self.assertEqual("70a599e0-31e7-49b7-b260-868f441e862b",
                         reply.json["server"]["image"]["id"])
        with_groups = await self.get(f"/servers/{self.down}", "2.71")
        self.assertEqual([], with_groups.json["server"]["server_groups"])
        before = await self.get(f"/servers/{self.down}", "2.68")
        self.assertEqual(500, before.code)
        self.assertEqual(500, before.json["computeFault"]["code"])

    async def test_skipping_down_cells_can_be_turned_off(self):
        self.api.conf.set_override("list_records_by_skipping_down_cells", False,
                                   group="api")
        self.assertEqual(500, (await self.get("/servers", "2.68")).code)
        self.assertEqual(200, (await self.get("/servers", "2.69")).code)

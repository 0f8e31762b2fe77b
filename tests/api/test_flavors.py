"""The flavor resources over HTTP: Nova's samples, each microversion boundary that
touches flavors (2.7, 2.55, 2.61, 2.75, 2.86), filters and paging, fault bodies, and
the versioned notifications compared with Nova's samples."""
from __future__ import annotations

import copy
import re
import uuid

from twisted.trial import unittest

from tests.api.flavor_server import (
    ADMIN,
    SAMPLE_PROJECT,
    FlavorServer,
    notification_sample,
    sample,
    version,
)

P = f"/v2.1/{SAMPLE_PROJECT}"
MEMBER = "alice:" + SAMPLE_PROJECT
MEMBER_ROLES = {"X-Roles": "member,reader"}


def normalised(body):
    """``body`` with each link's host and version prefix taken off, so that ours
    (``http://127.0.0.1:port/v2.1/...``) and the samples'
    (``http://openstack.example.com/v2/...``) compare."""
    body = copy.deepcopy(body)

    def walk(value):
        if isinstance(value, dict):
            if "href" in value and "rel" in value:
                value["href"] = re.sub(r"^https?://[^/]+(/v2(\.1)?(?=/))?", "",
                                       value["href"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body)
    return body


def create_body(flavor: dict) -> dict:
    """A POST /flavors body (2.55) for a flavor of a sample's detail view."""
    body = {"id": flavor["id"], "name": flavor["name"], "ram": flavor["ram"],
            "vcpus": flavor["vcpus"], "disk": flavor["disk"],
            "OS-FLV-EXT-DATA:ephemeral": flavor["OS-FLV-EXT-DATA:ephemeral"],
            "swap": flavor["swap"] or 0, "rxtx_factor": flavor["rxtx_factor"],
            "os-flavor-access:is_public": flavor["os-flavor-access:is_public"]}
    if flavor.get("description"):
        body["description"] = flavor["description"]
    return body


class FlavorTestCase(unittest.TestCase):
    def setUp(self):
        self.api = FlavorServer(self)

    async def get(self, path: str, microversion: str = "2.1", token: str = ADMIN,
                  headers: dict | None = None):
        prefix = P if token.endswith(":" + SAMPLE_PROJECT) else "/v2.1"
        return await self.api.request("GET", prefix + path, token=token,
                                      headers={**version(microversion), **(headers or {})})

    async def call(self, method: str, path: str, body=None, microversion: str = "2.1",
                   token: str = ADMIN, headers: dict | None = None):
        return await self.api.request(method, P + path, body=body, token=token,
                                      headers={**version(microversion), **(headers or {})})

    async def seed(self, ids=None):
        """The flavors of Nova's samples (m1.tiny ... m1.small.description)."""
        for flavor in sample("flavors", "v2.75", "flavors-detail-resp.json")["flavors"]:
            if ids is not None and flavor["id"] not in ids:
                continue
            await self.api.create_flavor(create_body(flavor))
            if flavor["extra_specs"]:
                await self.api.set_extra_specs(flavor["id"], flavor["extra_specs"])

    def assertFault(self, reply, code: int, name: str, message: str | None = None):
        self.assertEqual(code, reply.code, reply.raw)
        self.assertEqual([name], list(reply.json), reply.raw)
        self.assertEqual(code, reply.json[name]["code"])
        if message is not None:
            self.assertEqual(message, reply.json[name]["message"])


class SampleTests(FlavorTestCase):
    """Our bodies equal Nova's samples, links aside from their host."""

    async def check_reads(self, folder: tuple[str, ...], microversion: str, show_id: str):
        expected_list = sample(*folder, "flavors-list-resp.json")
        await self.seed({f["id"] for f in expected_list["flavors"]})
        reply = await self.get("/flavors", microversion)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(normalised(expected_list), normalised(reply.json))
        reply = await self.get("/flavors/detail", microversion)
        self.assertEqual(normalised(sample(*folder, "flavors-detail-resp.json")),
                         normalised(reply.json))
        reply = await self.get(f"/flavors/{show_id}", microversion)
        self.assertEqual(normalised(sample(*folder, "flavor-get-resp.json")),
                         normalised(reply.json))

    async def test_reads_v21(self):
        await self.check_reads(("flavors",), "2.1", "1")

    async def test_reads_v255(self):
        await self.check_reads(("flavors", "v2.55"), "2.55", "7")

    async def test_reads_v261(self):
        await self.check_reads(("flavors", "v2.61"), "2.61", "7")

    async def test_reads_v275(self):
        await self.check_reads(("flavors", "v2.75"), "2.75", "7")

    async def check_create(self, folder: tuple[str, ...], microversion: str):
        reply = await self.call("POST", "/flavors",
                                sample(*folder, "flavor-create-post-req.json"), microversion)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(normalised(sample(*folder, "flavor-create-post-resp.json")),
                         normalised(reply.json))

    async def test_create_v21(self):
        await self.check_create(("flavor-manage",), "2.1")

    async def test_create_v255(self):
        await self.check_create(("flavor-manage", "v2.55"), "2.55")

    async def test_create_v261(self):
        await self.check_create(("flavor-manage", "v2.61"), "2.61")

    async def test_create_v275(self):
        await self.check_create(("flavor-manage", "v2.75"), "2.75")

    async def check_update(self, folder: tuple[str, ...], microversion: str):
        await self.seed({"1"})
        reply = await self.call("PUT", "/flavors/1",
                                sample(*folder, "flavor-update-req.json"), microversion)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(normalised(sample(*folder, "flavor-update-resp.json")),
                         normalised(reply.json))

    async def test_update_v255(self):
        await self.check_update(("flavor-manage", "v2.55"), "2.55")

    async def test_update_v261(self):
        await self.check_update(("flavor-manage", "v2.61"), "2.61")

    async def test_update_v275(self):
        await self.check_update(("flavor-manage", "v2.75"), "2.75")

    async def test_flavor_access(self):
        reply = await self.call("POST", "/flavors",
                                sample("flavor-access", "flavor-create-req.json"))
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("flavor-access", "flavor-access-add-tenant-resp.json")
        tenant = expected["flavor_access"][0]["tenant_id"]
        body = sample("flavor-access", "flavor-access-add-tenant-req.json")
        body["addTenantAccess"]["tenant"] = tenant
        reply = await self.call("POST", "/flavors/10/action", body)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(expected, reply.json)
        reply = await self.get("/flavors/10/os-flavor-access")
        self.assertEqual(sample("flavor-access", "flavor-access-list-resp.json"), reply.json)
        body = sample("flavor-access", "flavor-access-remove-tenant-req.json")
        body["removeTenantAccess"]["tenant"] = tenant
        reply = await self.call("POST", "/flavors/10/action", body)
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(sample("flavor-access", "flavor-access-remove-tenant-resp.json"),
                         reply.json)

    async def test_extra_specs(self):
        await self.seed({"1"})
        folder = "flavor-extra-specs"
        reply = await self.call("POST", "/flavors/1/os-extra_specs",
                                sample(folder, "flavor-extra-specs-create-req.json"))
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(sample(folder, "flavor-extra-specs-create-resp.json"), reply.json)
        reply = await self.get("/flavors/1/os-extra_specs")
        self.assertEqual(sample(folder, "flavor-extra-specs-list-resp.json"), reply.json)
        reply = await self.get("/flavors/1/os-extra_specs/hw:numa_nodes")
        self.assertEqual(sample(folder, "flavor-extra-specs-get-resp.json"), reply.json)
        reply = await self.call("PUT", "/flavors/1/os-extra_specs/hw:numa_nodes",
                                sample(folder, "flavor-extra-specs-update-req.json"))
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(sample(folder, "flavor-extra-specs-update-resp.json"), reply.json)
        reply = await self.call("DELETE", "/flavors/1/os-extra_specs/hw:numa_nodes")
        self.assertEqual((200, b""), (reply.code, reply.raw))
        reply = await self.get("/flavors/1/os-extra_specs")
        self.assertEqual({"extra_specs": {"hw:cpu_policy": "shared"}}, reply.json)


class MicroversionTests(FlavorTestCase):
    async def test_2_7_add_access_to_public_flavor(self):
        await self.seed({"1"})
        body = {"addTenantAccess": {"tenant": "p2"}}
        reply = await self.call("POST", "/flavors/1/action", body, "2.7")
        self.assertFault(reply, 409, "conflictingRequest",
                         "Can not add access to a public flavor.")
        self.assertEqual(0, self.api.count("flavor_projects"))
        # Before 2.7 Nova stored it (and the flavor stays public).
        reply = await self.call("POST", "/flavors/1/action", body, "2.6")
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual({"flavor_access": [{"flavor_id": "1", "tenant_id": "p2"}]},
                         reply.json)

    async def test_2_55_description(self):
        flavor = {"name": "d", "ram": 1, "vcpus": 1, "disk": 0, "description": "x"}
        reply = await self.call("POST", "/flavors", {"flavor": flavor}, "2.54")
        self.assertFault(reply, 400, "badRequest")
        self.assertIn("description", reply.json["badRequest"]["message"])
        self.assertEqual(0, self.api.count("flavors"))
        reply = await self.call("POST", "/flavors", {"flavor": {**flavor, "id": "d"}},
                                "2.55")
        self.assertEqual("x", reply.json["flavor"]["description"])
        reply = await self.get("/flavors", "2.54")
        self.assertNotIn("description", reply.json["flavors"][0])
        reply = await self.get("/flavors", "2.55")
        self.assertEqual("x", reply.json["flavors"][0]["description"])
        # PUT exists from 2.55 only.
        update = {"flavor": {"description": "y"}}
        reply = await self.call("PUT", "/flavors/d", update, "2.54")
        self.assertFault(reply, 404, "itemNotFound", "The resource could not be found.")
        reply = await self.call("PUT", "/flavors/d", update, "2.55")
        self.assertEqual("y", reply.json["flavor"]["description"])
        reply = await self.call("PUT", "/flavors/d", {"flavor": {"description": None}},
                                "2.55")
        self.assertIsNone(reply.json["flavor"]["description"])
        for bad in ({"flavor": {"description": "y", "ram": 2}}, {"flavor": {}},
                    {"flavor": {"description": "x" * 65536}},
                    {"flavor": {"description": "\x01"}}):
            reply = await self.call("PUT", "/flavors/d", bad, "2.55")
            self.assertFault(reply, 400, "badRequest")
        reply = await self.call("PUT", "/flavors/nope", update, "2.55")
        self.assertFault(reply, 404, "itemNotFound", "Flavor nope could not be found.")

    async def test_2_61_extra_specs_in_flavor(self):
        await self.seed({"6"})
        for path in ("/flavors/detail", "/flavors/6"):
            old = await self.get(path, "2.60")
            new = await self.get(path, "2.61")
            old_flavor = old.json.get("flavor") or old.json["flavors"][0]
            new_flavor = new.json.get("flavor") or new.json["flavors"][0]
            self.assertNotIn("extra_specs", old_flavor)
            self.assertEqual({"hw:numa_nodes": "1"}, new_flavor["extra_specs"])
        reply = await self.get("/flavors", "2.61")
        self.assertNotIn("extra_specs", reply.json["flavors"][0])

    async def test_2_75_swap_and_query(self):
        await self.seed({"1"})
        reply = await self.get("/flavors/1", "2.74")
        self.assertEqual("", reply.json["flavor"]["swap"])
        reply = await self.get("/flavors/1", "2.75")
        self.assertEqual(0, reply.json["flavor"]["swap"])
        reply = await self.get("/flavors/detail?foo=1", "2.74")
        self.assertEqual(200, reply.code)
        for path in ("/flavors?foo=1", "/flavors/detail?foo=1"):
            reply = await self.get(path, "2.75")
            self.assertFault(reply, 400, "badRequest")
            self.assertIn("foo", reply.json["badRequest"]["message"])

    async def test_2_86_extra_spec_validation(self):
        await self.seed({"1"})
        for key, value in (("hw:cpu_policy", "bogus"), ("hw:numa_nodes", "0"),
                           ("hw:not_a_key", "1"), ("trait:CUSTOM_X", "maybe"),
                           ("os:secure_boot", "sometimes"), ("hw:mem_page_size", "2M"),
                           ("hw:max_cpu_sockets", "2")):
            reply = await self.call("POST", "/flavors/1/os-extra_specs",
                                    {"extra_specs": {key: value}}, "2.86")
            self.assertFault(reply, 400, "badRequest")
            self.assertTrue(reply.json["badRequest"]["message"].startswith(
                "Validation failed;"), reply.raw)
            reply = await self.call("PUT", f"/flavors/1/os-extra_specs/{key}",
                                    {key: value}, "2.86")
            self.assertFault(reply, 400, "badRequest")
        self.assertEqual(0, self.api.count("flavor_extra_specs"))
        reply = await self.call("POST", "/flavors/1/os-extra_specs",
                                {"extra_specs": {"hw:cpu_policy": "bogus"}}, "2.85")
        self.assertEqual(200, reply.code, reply.raw)
        reply = await self.call("POST", "/flavors/1/os-extra_specs", {"extra_specs": {
            "hw:cpu_policy": "dedicated", "my_ns:anything": "goes", "plain": "too",
            "resources1:CUSTOM_FOO": 1, "trait2:HW_CPU_X86_AVX": "forbidden",
            "group_policy": "isolate", "quota:cpu_quota": "10",
            "aggregate_instance_extra_specs:ssd": "true", "os:secure_boot": "optional",
            "hw:cpu_max_sockets": "2", "hw:mem_page_size": "2MiB"}}, "2.86")
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual(1, reply.json["extra_specs"]["resources1:CUSTOM_FOO"])
        reply = await self.get("/flavors/1/os-extra_specs/resources1:CUSTOM_FOO")
        self.assertEqual({"resources1:CUSTOM_FOO": "1"}, reply.json)
        reply = await self.call("POST", "/flavors/1/os-extra_specs",
                                {"extra_specs": {"hw:cpu_policy": "bogus"}}, "2.86")
        self.assertEqual("Validation failed; 'bogus' is not one of: dedicated, shared, "
                         "mixed.", reply.json["badRequest"]["message"])
        reply = await self.call("POST", "/flavors/1/os-extra_specs",
                                {"extra_specs": {"hw:not_a_key": "1"}}, "2.86")
        self.assertEqual("Validation failed; extra spec 'hw:not_a_key' does not appear to "
                         "be a valid extra spec.", reply.json["badRequest"]["message"])


class FlavorManageTests(FlavorTestCase):
    async def test_create_rules(self):
        base = {"name": "f", "ram": 512, "vcpus": 1, "disk": 1}
        bad = [{"vcpus": 0}, {"ram": 0}, {"disk": -1}, {"swap": -1},
               {"OS-FLV-EXT-DATA:ephemeral": -1}, {"vcpus": 2147483648},
               {"rxtx_factor": 0}, {"rxtx_factor": "abc"}, {"name": " x"},
               {"name": "x" * 256}, {"id": "a/b"}, {"id": " a"}, {"id": ""},
               {"os-flavor-access:is_public": "maybe"}, {"ram": "1.5"}, {"unknown": 1}]
        for change in bad:
            reply = await self.call("POST", "/flavors", {"flavor": {**base, **change}},
                                    "2.55")
            self.assertFault(reply, 400, "badRequest")
        for change in ({"description": "x" * 65536}, {"description": "a\x01"}):
            reply = await self.call("POST", "/flavors", {"flavor": {**base, **change}},
                                    "2.55")
            self.assertFault(reply, 400, "badRequest")
        self.assertEqual(0, self.api.count("flavors"))
        created = await self.api.create_flavor(base)
        uuid.UUID(created["id"])
        reply = await self.call("POST", "/flavors", {"flavor": base}, "2.55")
        self.assertFault(reply, 409, "conflictingRequest",
                         "Flavor with name f already exists.")
        reply = await self.call("POST", "/flavors",
                                {"flavor": {**base, "name": "g", "id": created["id"]}})
        self.assertFault(reply, 409, "conflictingRequest",
                         "Flavor with ID %s already exists." % created["id"])
        numeric = await self.api.create_flavor({**base, "name": "n", "id": 42})
        self.assertEqual("42", numeric["id"])
        strings = await self.api.create_flavor(
            {**base, "name": "s", "id": "s 1.x_y-z", "ram": "64", "vcpus": "2",
             "rxtx_factor": "1.5", "os-flavor-access:is_public": "false", "swap": 5,
             "OS-FLV-EXT-DATA:ephemeral": 3, "description": "d"}, microversion="2.75")
        self.assertEqual((64, 2, 1.5, False, 5, 3),
                         (strings["ram"], strings["vcpus"], strings["rxtx_factor"],
                          strings["os-flavor-access:is_public"], strings["swap"],
                          strings["OS-FLV-EXT-DATA:ephemeral"]))
        # A private flavor gives its creator's project no access (Nova bug 1209101).
        self.assertEqual(0, self.api.count("flavor_projects"))

    async def test_legacy_v2_strips_name(self):
        reply = await self.api.request(
            "POST", "/v2/flavors", token=ADMIN,
            body={"flavor": {"name": " spaced ", "ram": 1, "vcpus": 1, "disk": 0,
                             "id": "v2"}})
        self.assertEqual(200, reply.code, reply.raw)
        self.assertEqual("spaced", reply.json["flavor"]["name"])

    async def test_delete(self):
        await self.seed({"6"})
        await self.api.add_access("6", "p2")
        reply = await self.call("DELETE", "/flavors/6")
        self.assertEqual((202, b""), (reply.code, reply.raw))
        self.assertEqual((0, 0, 0), (self.api.count("flavors"),
                                     self.api.count("flavor_extra_specs"),
                                     self.api.count("flavor_projects")))
        reply = await self.call("DELETE", "/flavors/6")
        self.assertFault(reply, 404, "itemNotFound", "Flavor 6 could not be found.")
        reply = await self.get("/flavors/6")
        self.assertFault(reply, 404, "itemNotFound", "Flavor 6 could not be found.")

    async def test_non_admin_forbidden(self):
        reply = await self.call("POST", "/flavors", {"flavor": {
            "name": "f", "ram": 1, "vcpus": 1, "disk": 0}}, token=MEMBER,
            headers=MEMBER_ROLES)
        self.assertFault(reply, 403, "forbidden", "Policy doesn't allow "
                         "os_compute_api:os-flavor-manage:create to be performed.")


class ListTests(FlavorTestCase):
    async def make(self, name, *, public=True, ram=512, disk=1, **extra):
        return await self.api.create_flavor(
            {"name": name, "id": name, "ram": ram, "vcpus": 1, "disk": disk,
             "os-flavor-access:is_public": public, **extra})

    async def ids(self, query="", token=ADMIN, headers=None, microversion="2.1"):
        reply = await self.get("/flavors" + query, microversion, token=token,
                               headers=headers)
        self.assertEqual(200, reply.code, reply.raw)
        return [f["id"] for f in reply.json["flavors"]]

    async def test_is_public_filter(self):
        await self.make("a")
        await self.make("b", public=False)
        await self.make("c", public=False)
        await self.api.add_access("c", SAMPLE_PROJECT)
        self.assertEqual(["a", "c"], await self.ids())
        self.assertEqual(["a", "c"], await self.ids("?is_public=true"))
        self.assertEqual(["b", "c"], await self.ids("?is_public=false"))
        self.assertEqual(["a", "b", "c"], await self.ids("?is_public=none"))
        reply = await self.get("/flavors?is_public=maybe")
        self.assertFault(reply, 400, "badRequest", "Invalid is_public filter [maybe]")
        # Others: public ones plus those shared with their project; is_public ignored.
        member = dict(token=MEMBER, headers=MEMBER_ROLES)
        self.assertEqual(["a", "c"], await self.ids("?is_public=none", **member))
        other = dict(token="bob:p2", headers=MEMBER_ROLES)
        self.assertEqual(["a"], await self.ids("?is_public=false", **other))
        reply = await self.get("/flavors/b", **other)
        self.assertFault(reply, 404, "itemNotFound", "Flavor b could not be found.")
        await self.api.add_access("b", "p2")
        self.assertEqual(["a", "b"], await self.ids(**other))
        reply = await self.get("/flavors/b", **other)
        self.assertEqual(200, reply.code)

    async def test_disabled_hidden_from_non_admins(self):
        await self.make("a")
        await self.make("b")
        with self.api.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE flavors SET disabled = 1 WHERE flavorid = 'b'")
        self.assertEqual(["a", "b"], await self.ids())
        self.assertEqual(["a"], await self.ids(token=MEMBER, headers=MEMBER_ROLES))
        reply = await self.get("/flavors/detail", "2.1")
        self.assertTrue(reply.json["flavors"][1]["OS-FLV-DISABLED:disabled"])

    async def test_min_ram_min_disk(self):
        await self.make("a", ram=256, disk=0)
        await self.make("b", ram=1024, disk=10)
        await self.make("c", ram=2048, disk=5)
        self.assertEqual(["b", "c"], await self.ids("?minRam=1024"))
        self.assertEqual(["b", "c"], await self.ids("?minDisk=5"))
        self.assertEqual(["b"], await self.ids("?minDisk=6&minRam=1000"))
        reply = await self.get("/flavors?minRam=big")
        self.assertFault(reply, 400, "badRequest", "Invalid minRam filter [big]")
        reply = await self.get("/flavors/detail?minDisk=1.5")
        self.assertFault(reply, 400, "badRequest", "Invalid minDisk filter [1.5]")

    async def test_sort_and_pages(self):
        for name, ram in (("a", 300), ("b", 100), ("c", 200), ("d", 200)):
            await self.make(name, ram=ram)
        self.assertEqual(["b", "c", "d", "a"], await self.ids("?sort_key=memory_mb"))
        self.assertEqual(["a", "d", "c", "b"],
                         await self.ids("?sort_key=memory_mb&sort_dir=desc"))
        self.assertEqual(["a", "b", "c", "d"], await self.ids("?sort_key=description"))
        reply = await self.get("/flavors?sort_key=bogus")
        self.assertFault(reply, 400, "badRequest")
        reply = await self.get("/flavors?sort_key=memory_mb&limit=2")
        self.assertEqual(["b", "c"], [f["id"] for f in reply.json["flavors"]])
        self.assertEqual(
            [{"rel": "next", "href": "%s%s/flavors?limit=2&sort_key=memory_mb&marker=c"
              % (self.api.base, P)}], reply.json["flavors_links"])
        self.assertEqual(["d", "a"], await self.ids("?sort_key=memory_mb&limit=2&marker=c"))
        self.assertEqual(["b", "c", "d"], await self.ids("?marker=a"))
        reply = await self.get("/flavors/detail?marker=zzz")
        self.assertFault(reply, 400, "badRequest", "marker [zzz] not found")
        reply = await self.get("/flavors?limit=-1")
        self.assertFault(reply, 400, "badRequest")


class AccessTests(FlavorTestCase):
    async def test_access_rules(self):
        await self.api.create_flavor({"name": "p", "id": "p", "ram": 1, "vcpus": 1,
                                      "disk": 0, "os-flavor-access:is_public": False})
        await self.seed({"1"})
        reply = await self.get("/flavors/1/os-flavor-access")
        self.assertFault(reply, 404, "itemNotFound",
                         "Access list not available for public flavors.")
        reply = await self.get("/flavors/p/os-flavor-access")
        self.assertEqual({"flavor_access": []}, reply.json)
        add = {"addTenantAccess": {"tenant": "p2"}}
        self.assertEqual(200, (await self.call("POST", "/flavors/p/action", add)).code)
        reply = await self.call("POST", "/flavors/p/action", add)
        self.assertFault(reply, 409, "conflictingRequest",
                         "Flavor access already exists for flavor p and project p2 "
                         "combination.")
        remove = {"removeTenantAccess": {"tenant": "p3"}}
        reply = await self.call("POST", "/flavors/p/action", remove)
        self.assertFault(reply, 404, "itemNotFound",
                         "Flavor access not found for p / p3 combination.")
        reply = await self.call("POST", "/flavors/nope/action", add)
        self.assertFault(reply, 404, "itemNotFound", "Flavor nope could not be found.")
        reply = await self.call("POST", "/flavors/p/action", {"grant": {}})
        self.assertFault(reply, 400, "badRequest", "There is no such action: grant")
        for body in ({"addTenantAccess": {}}, {"addTenantAccess": {"tenant": ""}},
                     {"addTenantAccess": {"tenant": "x", "more": 1}},
                     {"removeTenantAccess": {"tenant": 5}}):
            reply = await self.call("POST", "/flavors/p/action", body)
            self.assertFault(reply, 400, "badRequest")
        self.assertEqual(1, self.api.count("flavor_projects"))


class ExtraSpecTests(FlavorTestCase):
    async def test_errors(self):
        await self.seed({"1"})
        reply = await self.get("/flavors/1/os-extra_specs/nokey")
        self.assertFault(reply, 404, "itemNotFound",
                         "Flavor 1 has no extra specs with key nokey.")
        reply = await self.call("DELETE", "/flavors/1/os-extra_specs/nokey")
        self.assertFault(reply, 404, "itemNotFound",
                         "Flavor 1 has no extra specs with key nokey.")
        reply = await self.call("PUT", "/flavors/1/os-extra_specs/a", {"b": "1"})
        self.assertFault(reply, 400, "badRequest", "Request body and URI mismatch")
        for body in ({"a": "1", "b": "2"}, {}, {"a": ["x"]}, {"a": "x" * 256},
                     {"a": True}, {"a/b": "1"}):
            reply = await self.call("PUT", "/flavors/1/os-extra_specs/a", body)
            self.assertFault(reply, 400, "badRequest")
        reply = await self.call("POST", "/flavors/1/os-extra_specs",
                                {"extra_specs": {"a": 10 ** 300}})
        self.assertFault(reply, 400, "badRequest")
        reply = await self.call("POST", "/flavors/nope/os-extra_specs",
                                {"extra_specs": {"a": "1"}})
        self.assertFault(reply, 404, "itemNotFound", "Flavor nope could not be found.")
        self.assertEqual(0, self.api.count("flavor_extra_specs"))


class NotificationTests(FlavorTestCase):
    """The payloads equal Nova's samples (uuids and timestamps aside)."""

    def assertSample(self, name: str, message: dict):
        expected = notification_sample(name)
        got = {k: message[k] for k in ("priority", "event_type", "publisher_id", "payload")}
        self.assertEqual(expected, got)

    async def test_create_update_delete(self):
        flavorid = "a22d5517-147c-4147-a0d1-e698df5cd4e3"
        flavor = {"name": "test_flavor", "ram": 1024, "vcpus": 2, "disk": 10,
                  "id": flavorid, "rxtx_factor": 2.0}
        await self.api.create_flavor(flavor)
        [created] = self.api.notifications()
        self.assertSample("flavor-create.json", created)
        self.assertEqual(self.api.conf.control_exchange, "nova")
        await self.call("DELETE", f"/flavors/{flavorid}")
        self.assertSample("flavor-delete.json", self.api.notifications()[-1])

        await self.api.create_flavor({**flavor, "os-flavor-access:is_public": False})
        await self.api.add_access(flavorid, SAMPLE_PROJECT)
        await self.api.set_extra_specs(flavorid, {"hw:numa_nodes": "2"})
        events = [n["event_type"] for n in self.api.notifications()]
        self.assertEqual(["flavor.create", "flavor.delete", "flavor.create",
                          "flavor.update", "flavor.update"], events)
        self.assertSample("flavor-update.json", self.api.notifications()[-1])
        reply = await self.call("PUT", f"/flavors/{flavorid}",
                                {"flavor": {"description": "new"}}, "2.55")
        self.assertEqual(200, reply.code)
        last = self.api.notifications()[-1]["payload"]["nova_object.data"]
        self.assertEqual(("new", {"hw:numa_nodes": "2"}, [SAMPLE_PROJECT]),
                         (last["description"], last["extra_specs"], last["projects"]))

    async def test_failures_send_nothing(self):
        await self.call("POST", "/flavors", {"flavor": {"name": "x"}})
        await self.call("DELETE", "/flavors/nope")
        self.assertEqual([], self.api.notifications())

    async def test_a_stuck_bus_does_not_hold_the_answer(self):
        from twisted.internet import defer

        class Stuck:
            calls = []

            def is_enabled(self):
                return True

            def prepare(self, publisher_id=None):
                return self

            def info(self, context, event_type, payload):
                self.calls.append(event_type)
                return defer.Deferred()  # never fires: the broker is down

        api = FlavorServer(self, notifier=Stuck())
        await api.create_flavor({"name": "f", "ram": 1, "vcpus": 1, "disk": 0})
        self.assertEqual(["flavor.create"], Stuck.calls)

    async def test_unversioned_format_sends_no_flavor_notification(self):
        api = FlavorServer(self, notification_format="unversioned")
        await api.create_flavor({"name": "f", "ram": 1, "vcpus": 1, "disk": 0})
        self.assertEqual([], api.notifications())

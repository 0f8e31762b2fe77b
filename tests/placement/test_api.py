"""The Placement REST API over HTTP (treq against our Klein app on a local port)."""
from __future__ import annotations

import uuid

from twisted.trial import unittest

from tests.placement.api_fixture import PlacementServer

RP1 = "c0b5a9a4-0f3a-4b4e-9a59-7a1d1b3c0001"
CONSUMER = "c0b5a9a4-0f3a-4b4e-9a59-7a1d1b3c00c1"
PROJECT = "c0b5a9a4-0f3a-4b4e-9a59-7a1d1b3c00a1"
USER = "c0b5a9a4-0f3a-4b4e-9a59-7a1d1b3c00b1"


class PlacementAPITests(unittest.TestCase):

    def setUp(self):
        self.server = PlacementServer(self)
        self.server.start()
        self.call = self.server.request

    async def make_provider(self, name="cn1", uuid=RP1, inventories=None, **extra):
        status, _, body = await self.call("POST", "/resource_providers",
                                          {"name": name, "uuid": uuid, **extra},
                                          version="1.20")
        self.assertEqual(200, status, body)
        if inventories:
            status, _, body = await self.call(
                "PUT", f"/resource_providers/{uuid}/inventories",
                {"resource_provider_generation": 0, "inventories": inventories})
            self.assertEqual(200, status, body)
        return body

    async def test_root_and_microversions(self):
        status, headers, body = await self.call("GET", "/", headers={"x-auth-token": ""})
        self.assertEqual(200, status)
        self.assertEqual("1.39", body["versions"][0]["max_version"])
        self.assertEqual(["placement 1.0"], headers.getRawHeaders("openstack-api-version"))
        status, headers, _ = await self.call("GET", "/", version="latest")
        self.assertEqual(["placement 1.39"], headers.getRawHeaders("openstack-api-version"))
        status, _, body = await self.call("GET", "/resource_providers", version="1.40")
        self.assertEqual(406, status)
        self.assertEqual("Not Acceptable", body["errors"][0]["title"])
        status, _, body = await self.call("GET", "/resource_providers", version="1.x")
        self.assertEqual(400, status)
        # Routes newer than the version asked for are not there.
        status, _, _ = await self.call("GET", "/traits", version="1.5")
        self.assertEqual(404, status)

    async def test_auth(self):
        status, _, _ = await self.call("GET", "/resource_providers",
                                       headers={"x-auth-token": None})
        self.assertEqual(401, status)
        status, _, body = await self.call("GET", "/resource_providers",
                                          headers={"x-auth-token": "alice:demo"})
        self.assertEqual(403, status)
        self.assertIn("placement:resource_providers:list", body["errors"][0]["detail"])
        status, _, _ = await self.call("GET", "/resource_providers",
                                       headers={"x-auth-token": "nova:service",
                                                "x-roles": "service"})
        self.assertEqual(200, status)

    async def test_policy_defaults(self):
        reader = {"x-auth-token": "bob:p1", "x-roles": "reader"}
        status, _, _ = await self.call("GET", "/usages?project_id=p1", version="1.9",
                                       headers=reader)
        self.assertEqual(200, status)
        status, _, _ = await self.call("GET", "/usages?project_id=p2", version="1.9",
                                       headers=reader)
        self.assertEqual(403, status)
        status, _, _ = await self.call("GET", "/resource_providers", headers=reader)
        self.assertEqual(403, status)
        # A system-scoped token is refused whatever its roles.
        status, _, _ = await self.call("GET", "/resource_providers", headers={
            "x-auth-token": "admin", "openstack-system-scope": "all"})
        self.assertEqual(403, status)

    async def test_error_body_and_codes(self):
        await self.make_provider(inventories={"VCPU": {"total": 4}})
        status, headers, body = await self.call(
            "PUT", f"/resource_providers/{RP1}/inventories",
            {"resource_provider_generation": 0, "inventories": {}}, version="1.23")
        self.assertEqual(409, status)
        error = body["errors"][0]
        self.assertEqual(409, error["status"])
        self.assertEqual("Conflict", error["title"])
        self.assertEqual("placement.concurrent_update", error["code"])
        self.assertTrue(error["request_id"].startswith("req-"))
        self.assertIn("resource provider generation conflict", error["detail"])
        # Before 1.23, no code.
        status, _, body = await self.call("GET", "/resource_providers/nope", version="1.22")
        self.assertEqual(404, status)
        self.assertNotIn("code", body["errors"][0])

    async def test_bad_input_writes_nothing(self):
        await self.make_provider(inventories={"DISK_GB": {"total": 100}})
        cases = [
            ("PUT", f"/allocations/{CONSUMER}", None, b"{not json"),
            ("PUT", f"/allocations/{CONSUMER}",
             {"allocations": {RP1: {"resources": {"DISK_GB": "ten"}}},
              "project_id": PROJECT, "user_id": USER}, None),
            ("PUT", f"/allocations/{CONSUMER}",
             {"allocations": {RP1: {"resources": {"DISK_GB": 0}}},
              "project_id": PROJECT, "user_id": USER}, None),
            ("PUT", f"/allocations/{CONSUMER}",
             {"allocations": {RP1: {"resources": {"DISK_GB": -1}}},
              "project_id": PROJECT, "user_id": USER}, None),
            ("PUT", f"/allocations/{CONSUMER}",
             {"allocations": {RP1: {"resources": {"CUSTOM_NOPE": 1}}},
              "project_id": PROJECT, "user_id": USER}, None),
            ("PUT", f"/resource_providers/{RP1}/traits",
             {"traits": ["CUSTOM_NOPE"], "resource_provider_generation": 1}, None),
        ]
        for method, path, body, raw in cases:
            headers = {"content-type": "application/json"} if raw else None
            status, _, answer = await self.call(method, path, body, raw=raw, version="1.17",
                                                headers=headers)
            self.assertEqual(400, status, (path, body, answer))
        status, _, body = await self.call("GET", f"/resource_providers/{RP1}/usages")
        self.assertEqual({"DISK_GB": 0}, body["usages"])
        self.assertEqual(1, body["resource_provider_generation"])
        status, _, body = await self.call("GET", f"/resource_providers/{RP1}/traits",
                                          version="1.6")
        self.assertEqual([], body["traits"])

    async def test_allocations_and_capacity(self):
        await self.make_provider(inventories={
            "VCPU": {"total": 4, "reserved": 1, "allocation_ratio": 2.0},
            "MEMORY_MB": {"total": 1024}})
        want = {"allocations": {RP1: {"resources": {"VCPU": 6, "MEMORY_MB": 512}}},
                "project_id": PROJECT, "user_id": USER, "consumer_generation": None,
                "consumer_type": "INSTANCE"}
        status, _, body = await self.call("PUT", f"/allocations/{CONSUMER}", want,
                                          version="1.38")
        self.assertEqual(204, status, body)
        other = str(uuid.uuid4())
        status, _, body = await self.call(
            "PUT", f"/allocations/{other}",
            {**want, "allocations": {RP1: {"resources": {"VCPU": 1}}}}, version="1.38")
        self.assertEqual(409, status)
        self.assertIn("would exceed the capacity", body["errors"][0]["detail"])
        status, _, body = await self.call("GET", f"/allocations/{CONSUMER}", version="1.38")
        self.assertEqual({"VCPU": 6, "MEMORY_MB": 512}, body["allocations"][RP1]["resources"])
        self.assertEqual(1, body["consumer_generation"])
        self.assertEqual("INSTANCE", body["consumer_type"])
        # A stale consumer generation is a conflict.
        status, _, body = await self.call("PUT", f"/allocations/{CONSUMER}", want,
                                          version="1.38")
        self.assertEqual(409, status)
        self.assertEqual("placement.concurrent_update", body["errors"][0]["code"])
        status, _, body = await self.call("GET", f"/usages?project_id={PROJECT}",
                                          version="1.9")
        self.assertEqual({"VCPU": 6, "MEMORY_MB": 512}, body["usages"])
        status, _, _ = await self.call("DELETE", f"/allocations/{CONSUMER}")
        self.assertEqual(204, status)
        status, _, _ = await self.call("DELETE", f"/allocations/{CONSUMER}")
        self.assertEqual(404, status)

    async def test_provider_tree_and_traits(self):
        await self.make_provider()
        child = str(uuid.uuid4())
        body = await self.make_provider("numa0", child, parent_provider_uuid=RP1)
        self.assertEqual(RP1, body["root_provider_uuid"])
        status, _, body = await self.call("GET", f"/resource_providers?in_tree={RP1}",
                                          version="1.14")
        self.assertEqual(2, len(body["resource_providers"]))
        status, _, body = await self.call("DELETE", f"/resource_providers/{RP1}",
                                          version="1.23")
        self.assertEqual(409, status)
        self.assertEqual("placement.resource_provider.cannot_delete_parent",
                         body["errors"][0]["code"])
        status, _, _ = await self.call("PUT", "/traits/CUSTOM_FAST", version="1.6")
        self.assertEqual(201, status)
        status, _, body = await self.call(
            "PUT", f"/resource_providers/{child}/traits",
            {"traits": ["CUSTOM_FAST", "HW_CPU_X86_AVX2"], "resource_provider_generation": 0},
            version="1.6")
        self.assertEqual(200, status, body)
        self.assertEqual(1, body["resource_provider_generation"])
        status, _, body = await self.call(
            "GET", "/resource_providers?required=CUSTOM_FAST", version="1.18")
        self.assertEqual([child], [p["uuid"] for p in body["resource_providers"]])

    async def test_reshaper_moves_inventory_and_allocations(self):
        await self.make_provider(inventories={"VCPU": {"total": 8}})
        child = str(uuid.uuid4())
        await self.make_provider("numa0", child, parent_provider_uuid=RP1)
        status, _, body = await self.call(
            "PUT", f"/allocations/{CONSUMER}",
            {"allocations": {RP1: {"resources": {"VCPU": 2}}}, "project_id": PROJECT,
             "user_id": USER, "consumer_generation": None}, version="1.28")
        self.assertEqual(204, status, body)
        _, _, parent = await self.call("GET", f"/resource_providers/{RP1}", version="1.14")
        reshape = {
            "inventories": {
                RP1: {"resource_provider_generation": parent["generation"], "inventories": {}},
                child: {"resource_provider_generation": 0,
                        "inventories": {"VCPU": {"total": 8}}}},
            "allocations": {CONSUMER: {
                "allocations": {child: {"resources": {"VCPU": 2}}}, "project_id": PROJECT,
                "user_id": USER, "consumer_generation": 1}}}
        # The reshaper came with 1.30.
        status, _, _ = await self.call("POST", "/reshaper", reshape, version="1.29")
        self.assertEqual(404, status)
        # Removing the parent's VCPU alone would fail: its allocation is still there.
        status, _, body = await self.call(
            "POST", "/reshaper", {**reshape, "allocations": {}}, version="1.30")
        self.assertEqual(409, status)
        self.assertEqual("placement.inventory.inuse", body["errors"][0]["code"])
        status, _, body = await self.call("POST", "/reshaper", reshape, version="1.30")
        self.assertEqual(204, status, body)
        _, _, body = await self.call("GET", f"/resource_providers/{child}/usages")
        self.assertEqual({"VCPU": 2}, body["usages"])
        _, _, body = await self.call("GET", f"/resource_providers/{RP1}/inventories")
        self.assertEqual({}, body["inventories"])

    async def test_allocation_candidates_formats(self):
        await self.make_provider(inventories={"VCPU": {"total": 8},
                                              "MEMORY_MB": {"total": 2048}})
        query = "/allocation_candidates?resources=VCPU:1,MEMORY_MB:512"
        status, _, body = await self.call("GET", query, version="1.10")
        self.assertEqual(200, status, body)
        self.assertEqual([{"allocations": [{"resource_provider": {"uuid": RP1},
                                            "resources": {"VCPU": 1, "MEMORY_MB": 512}}]}],
                         body["allocation_requests"])
        self.assertEqual({RP1: {"resources": {"VCPU": {"capacity": 8, "used": 0},
                                              "MEMORY_MB": {"capacity": 2048, "used": 0}}}},
                         body["provider_summaries"])
        status, _, body = await self.call("GET", query, version="1.34")
        self.assertEqual([{"allocations": {RP1: {"resources": {"VCPU": 1, "MEMORY_MB": 512}}},
                           "mappings": {"": [RP1]}}], body["allocation_requests"])
        self.assertEqual({"resources", "traits", "parent_provider_uuid",
                          "root_provider_uuid"}, set(body["provider_summaries"][RP1]))
        status, _, body = await self.call(
            "GET", "/allocation_candidates?resources=VCPU:9", version="1.34")
        self.assertEqual([], body["allocation_requests"])
        status, _, body = await self.call(
            "GET", "/allocation_candidates?resources=CUSTOM_NOPE:1", version="1.34")
        self.assertEqual(400, status)
        self.assertIn("No such resource class CUSTOM_NOPE", body["errors"][0]["detail"])


class CORSTests(unittest.TestCase):

    def setUp(self):
        from oslo_config import cfg

        from nova_tx.conf import placement as placement_conf

        conf = cfg.ConfigOpts()
        placement_conf.register_opts(conf)
        conf([], project="nova")
        conf.set_override("allowed_origin", ["http://ok.example.com"], group="cors")
        conf.set_override("allow_headers", ["openstack-api-version"], group="cors")
        self.server = PlacementServer(self, conf=conf)
        self.server.start()

    async def test_preflight_and_actual_requests(self):
        status, headers, _ = await self.server.request("OPTIONS", "/", headers={
            "origin": "http://ok.example.com", "access-control-request-method": "GET",
            "access-control-request-headers": "openstack-api-version"})
        self.assertEqual(200, status)
        self.assertEqual(["http://ok.example.com"],
                         headers.getRawHeaders("access-control-allow-origin"))
        self.assertEqual(["openstack-api-version"],
                         headers.getRawHeaders("access-control-allow-headers"))
        status, headers, _ = await self.server.request("OPTIONS", "/", headers={
            "origin": "http://evil.example.com", "access-control-request-method": "GET"})
        self.assertEqual(200, status)
        self.assertIsNone(headers.getRawHeaders("access-control-allow-origin"))
        status, headers, _ = await self.server.request(
            "GET", "/resource_providers", headers={"origin": "http://ok.example.com"})
        self.assertEqual(200, status)
        self.assertEqual(["http://ok.example.com"],
                         headers.getRawHeaders("access-control-allow-origin"))
        # Without CORS configured, OPTIONS is a method like any other: 405.
        plain = PlacementServer(self)
        plain.start()
        status, _, _ = await plain.request("OPTIONS", "/", headers={
            "origin": "http://ok.example.com", "access-control-request-method": "GET"})
        self.assertEqual(405, status)

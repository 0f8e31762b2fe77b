"""POST /servers over HTTP: Nova's samples, every field at its microversion boundary
(good and bad), the records left in the API database and the conductor cast."""
from __future__ import annotations

import base64
import json

from twisted.trial import unittest

from nova_tx.image.embedded.seed import SEED_ID
from tests.api.quota_server import PUBLIC_KEY, sample
from tests.api.servers_create_server import (
    ADMIN,
    IMAGE,
    SERVERS,
    USER,
    ServersServer,
    version,
)

SAMPLE_IMAGE = "70a599e0-31e7-49b7-b260-868f441e862b"
SAMPLE_NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def image_root(image=IMAGE, **extra):
    return {"uuid": image, "source_type": "image", "destination_type": "local",
            "boot_index": 0, "delete_on_termination": True, **extra}


class Base(unittest.TestCase):

    conf_overrides: dict = {}

    async def setUp(self):
        self.api = await ServersServer.start(self, conf_overrides=self.conf_overrides)
        # The samples boot in zone us-west.
        self.api.add_service("compute-1")
        self.api.add_aggregate("west", ["compute-1"], "us-west")
        [self.private] = await self.api.networks.list_networks(
            _ctx(), name="private")

    async def post(self, body, microversion="2.1", token=USER):
        return await self.api.request("POST", SERVERS, body=body, token=token,
                                      headers=version(microversion))

    async def refused(self, server: dict, microversion="2.1", *, code=400, text="",
                      token=USER, hints=None):
        before = self.api.snapshot()
        casts = len(self.api.conductor.bodies)
        body = {"server": {"name": "s", "flavorRef": "1", "imageRef": IMAGE, **server}}
        if hints is not None:
            body["os:scheduler_hints"] = hints
        reply = await self.post(body, microversion, token)
        name = {400: "badRequest", 403: "forbidden", 404: "itemNotFound",
                409: "conflictingRequest"}[code]
        self.assertEqual(code, reply.code, reply.raw)
        self.assertEqual(code, reply.json[name]["code"])
        self.assertIn(text, reply.json[name]["message"])
        self.assertEqual(before, self.api.snapshot())
        self.assertEqual(casts, len(self.api.conductor.bodies))
        return reply.json[name]["message"]

    async def created(self, server: dict, microversion="2.1", *, token=USER, hints=None):
        reply = await self.api.create(server, microversion=microversion, token=token,
                                      hints=hints)
        return reply.json["server"], self.api.build_request(reply.json["server"]["id"])


def _ctx():
    from nova_tx.context import RequestContext

    return RequestContext(user_id="fake", project_id="6f70656e737461636b20342065766572",
                          auth_token=USER)


class SamplesTest(Base):
    """Nova's request samples, with its placeholder image and network made real."""

    def sample_request(self, folder: str, name: str = "server-create-req.json") -> dict:
        path = (folder, name) if folder else (name,)
        text = json.dumps(sample("servers", *path))
        text = text.replace(SAMPLE_IMAGE, IMAGE).replace(SAMPLE_NETWORK, self.private["id"])
        text = text.replace("%(availability_zone)s", "us-west").replace(
            UUID, "48e6a9f6-30af-47e0-bc04-acaed113bb4e")
        return json.loads(text)

    async def check(self, folder: str, microversion: str, token=USER,
                    name: str = "server-create-req.json") -> dict:
        request = self.sample_request(folder, name)
        reply = await self.post(request, microversion, token)
        self.assertEqual(202, reply.code, reply.raw)
        expected = sample("servers", *((folder,) if folder else ()),
                          "server-create-resp.json")
        got = reply.json["server"]
        self.assertEqual(set(expected["server"]), set(got))
        self.assertEqual(request["server"].get("security_groups", [{"name": "default"}]),
                         got["security_groups"])
        self.assertEqual(got["links"][0]["href"], reply.header("Location"))
        self.assertEqual(["self", "bookmark"], [link["rel"] for link in got["links"]])
        self.assertTrue(got["links"][0]["href"].endswith("/v2.1/servers/" + got["id"]))
        return got

    async def test_2_1(self):
        got = await self.check("", "2.1")
        self.assertEqual("AUTO", got["OS-DCF:diskConfig"])
        self.assertEqual(12, len(got["adminPass"]))
        instance = self.api.build_request(got["id"])
        self.assertEqual(("new-server-test", "new-server-test", "new-server-test"),
                         (instance["display_name"], instance["display_description"],
                          instance["hostname"]))
        self.assertEqual(("us-west", "1.2.3.4", "80fe::", {"My Server Name": "Apache1"}),
                         (instance["availability_zone"], instance["access_ip_v4"],
                          instance["access_ip_v6"], instance["metadata"]))
        self.assertEqual(("building", "scheduling", IMAGE),
                         (instance["vm_state"], instance["task_state"],
                          instance["image_ref"]))
        self.assertRegex(instance["reservation_id"], r"^r-[0-9a-z]{8}$")

    async def test_2_19_description_and_flavor_href(self):
        got = await self.check("v2.19", "2.19")
        instance = self.api.build_request(got["id"])
        self.assertEqual("new-server-description", instance["display_description"])
        self.assertEqual(1, instance["vcpus"])

    async def test_2_32_and_2_42_tags_on_networks_and_bdms(self):
        for folder, microversion in (("v2.32", "2.32"), ("v2.42", "2.42")):
            got = await self.check(folder, microversion)
            [spec] = [json.loads(r["spec"]) for r in self.api.rows("request_specs")
                      if r["instance_uuid"] == got["id"]]
            self.assertTrue(spec["nova_object.data"]["is_bfv"])
            self.assertEqual("", self.api.build_request(got["id"])["image_ref"])

    async def test_2_37_auto(self):
        await self.check("v2.37", "2.37")

    async def test_2_52_tags(self):
        got = await self.check("v2.52", "2.52")
        [row] = [r for r in self.api.rows("build_requests") if r["instance_uuid"] == got["id"]]
        tags = json.loads(row["tags"])["nova_object.data"]["objects"]
        self.assertEqual(["tag1", "tag2"], [t["nova_object.data"]["tag"] for t in tags])

    async def test_2_57(self):
        await self.check("v2.57", "2.57")

    async def test_2_63_trusted_certs(self):
        await self.api.add_flavor("6", "m1.sample", memory_mb=512, vcpus=1, root_gb=1)
        got = await self.check("v2.63", "2.63")
        self.assertEqual(["0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8",
                          "674736e3-f25c-405c-8362-bbf991e0ce0a"],
                         self.api.build_request(got["id"])["trusted_certs"][
                             "nova_object.data"]["ids"])

    async def test_2_67_volume_type_needs_a_volume_service(self):
        reply = await self.post(self.sample_request("v2.67"), "2.67")
        self.assertEqual(400, reply.code, reply.raw)
        self.assertEqual("Volume type lvm-1 could not be found.",
                         reply.json["badRequest"]["message"])

    async def test_2_74_host_and_node(self):
        await self.api.add_flavor("6", "m1.sample", memory_mb=512, vcpus=1, root_gb=1)
        self.api.add_compute_node("openstack-node-01", "openstack-node-01")
        await self.check("v2.74", "2.74", token=ADMIN,
                         name="server-create-req-with-host-and-node.json")
        spec = json.loads(self.api.rows("request_specs")[0]["spec"])["nova_object.data"]
        # requested_destination is per request: not stored, but cast.
        self.assertNotIn("requested_destination", spec)
        [cast] = await self.api.casts()
        [sent] = cast["args"]["request_specs"]
        destination = sent["nova_object.data"]["requested_destination"]["nova_object.data"]
        self.assertEqual(("openstack-node-01", "openstack-node-01"),
                         (destination["host"], destination["node"]))

    async def test_2_90_hostname(self):
        request = self.sample_request("v2.90")
        # The 2.90 sample still carries personality, which 2.57 removed, and lacks
        # networks, which 2.37 made required.
        request["server"].pop("personality")
        request["server"]["networks"] = "auto"
        reply = await self.post(request, "2.90")
        self.assertEqual(202, reply.code, reply.raw)
        self.assertEqual("custom-hostname",
                         self.api.build_request(reply.json["server"]["id"])["hostname"])


class RecordsAndCastTest(Base):

    async def test_records_one_transaction_each_and_cast(self):
        server, instance = await self.created({"name": "multi", "min_count": 2,
                                               "max_count": 3})
        rows = self.api.rows("build_requests")
        self.assertEqual(3, len(rows))
        mappings = self.api.rows("instance_mappings")
        self.assertEqual({r["instance_uuid"] for r in rows},
                         {m["instance_uuid"] for m in mappings})
        self.assertEqual({None}, {m["cell_id"] for m in mappings})
        self.assertEqual({"fake"}, {m["user_id"] for m in mappings})
        self.assertEqual(3, len(self.api.rows("request_specs")))
        [cast] = await self.api.casts()
        self.assertEqual(("schedule_and_build_instances", "1.17", "compute_task"),
                         (cast["method"], cast["version"], cast["namespace"]))
        args = cast["args"]
        self.assertEqual({"build_requests", "request_specs", "image", "admin_password",
                          "injected_files", "requested_networks", "block_device_mapping",
                          "tags"}, set(args))
        self.assertEqual(3, len(args["build_requests"]))
        self.assertEqual(server["adminPass"], args["admin_password"])
        # The image as Nova's image API hands it round: properties apart.
        self.assertEqual((SEED_ID, "active", False), (args["image"]["id"],
                                                      args["image"]["status"],
                                                      args["image"]["deleted"]))
        self.assertIsInstance(args["image"]["properties"], dict)
        [bdm] = args["block_device_mapping"]["nova_object.data"]["objects"]
        self.assertEqual(("image", "local", 0, IMAGE),
                         tuple(bdm["nova_object.data"][k] for k in
                               ("source_type", "destination_type", "boot_index",
                                "image_id")))
        names = sorted((b["nova_object.data"]["instance"]["nova_object.data"]["display_name"],
                        b["nova_object.data"]["instance"]["nova_object.data"]["hostname"])
                       for b in args["build_requests"])
        self.assertEqual([("multi-1", "multi-1"), ("multi-2", "multi-2"),
                          ("multi-3", "multi-3")], names)
        self.assertEqual(1, len({b["nova_object.data"]["instance"]["nova_object.data"][
            "reservation_id"] for b in args["build_requests"]}))

    async def test_system_metadata(self):
        image = await self.api.add_image(os_distro="cirros", hw_disk_bus="virtio")
        _, instance = await self.created({"imageRef": image["id"]})
        system_metadata = instance["system_metadata"]
        self.assertEqual(("cirros", "virtio", image["id"], "raw"),
                         (system_metadata["image_os_distro"],
                          system_metadata["image_hw_disk_bus"],
                          system_metadata["image_base_image_ref"],
                          system_metadata["image_disk_format"]))

    async def test_task_api_made_once_from_the_transport_url(self):
        from twisted.internet import defer

        from nova_tx.api.compute import servers_create

        components = {"rpc_transport": self.api.transport}

        class Request:
            class app:
                pass

            conf = self.api.conf

        Request.app.components = components
        first, second = await defer.gatherResults([
            defer.ensureDeferred(servers_create._compute_task_api(Request)),
            defer.ensureDeferred(servers_create._compute_task_api(Request))])
        self.assertIs(first, second)
        self.assertIs(self.api.transport, first.client.transport)

    async def test_project_in_the_url(self):
        project = "6f70656e737461636b20342065766572"
        reply = await self.api.request(
            "POST", f"/v2.1/{project}/servers", token=USER,
            body={"server": {"name": "p", "flavorRef": "1", "imageRef": IMAGE}})
        self.assertEqual(202, reply.code, reply.raw)
        server_id = reply.json["server"]["id"]
        self.assertEqual(f"{self.api.base}/v2.1/{project}/servers/{server_id}",
                         reply.header("Location"))
        self.assertEqual(f"{self.api.base}/{project}/servers/{server_id}",
                         reply.json["server"]["links"][1]["href"])
        reply = await self.api.request(
            "POST", "/v2.1/abcdef/servers", token=USER,
            body={"server": {"name": "p", "flavorRef": "1", "imageRef": IMAGE}})
        self.assertEqual(400, reply.code)

    async def test_return_reservation_id(self):
        reply = await self.api.create({"return_reservation_id": True, "max_count": 2})
        self.assertEqual({"reservation_id"}, set(reply.json))
        self.assertRegex(reply.json["reservation_id"], r"^r-[0-9a-z]{8}$")
        self.assertEqual({reply.json["reservation_id"]},
                         {self.api.build_request(r["instance_uuid"])["reservation_id"]
                          for r in self.api.rows("build_requests")})

    async def test_hostname_sanitised(self):
        _, instance = await self.created({"name": "My_Server.Name " + "x" * 70})
        self.assertEqual("my-server-name-" + "x" * 48, instance["hostname"])
        _, instance = await self.created({"name": "***"})
        self.assertEqual("Server-" + instance["uuid"], instance["hostname"])

    async def test_admin_password_given_or_hidden(self):
        server, _ = await self.created({"adminPass": "s3cret"})
        self.assertEqual("s3cret", server["adminPass"])
        self.api.conf.set_override("enable_instance_password", False, group="api")
        server, _ = await self.created({})
        self.assertNotIn("adminPass", server)

    async def test_key_pair_config_drive_user_data(self):
        await self.api.import_keypair("kp", token=USER)
        user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
        _, instance = await self.created({"key_name": "kp", "config_drive": True,
                                          "user_data": user_data})
        self.assertEqual(("kp", PUBLIC_KEY, "True", user_data),
                         (instance["key_name"], instance["key_data"],
                          instance["config_drive"], instance["user_data"]))
        # The key pair itself, as Nova's instance_extra.keypairs keeps it.
        [keypair] = instance["keypairs"]["nova_object.data"]["objects"]
        self.assertEqual(("kp", PUBLIC_KEY), (keypair["nova_object.data"]["name"],
                                              keypair["nova_object.data"]["public_key"]))

    async def test_disk_config_from_image_and_request(self):
        image = await self.api.add_image(auto_disk_config="disabled")
        server, _ = await self.created({"imageRef": image["id"]})
        self.assertEqual("MANUAL", server["OS-DCF:diskConfig"])
        await self.refused({"imageRef": image["id"], "OS-DCF:diskConfig": "AUTO"},
                           text="has automatic disk resize disabled")
        await self.refused({"OS-DCF:diskConfig": "SOMETIMES"}, text="OS-DCF:diskConfig")

    async def test_scheduler_hints_and_group(self):
        group = await self.api.request("POST", "/v2.1/os-server-groups", token=USER,
                                       body={"server_group": {"name": "g",
                                                              "policies": ["affinity"]}})
        self.assertEqual(200, group.code, group.raw)
        group_id = group.json["server_group"]["id"]
        await self.api.create({"max_count": 2}, hints={
            "same_host": [IMAGE], "query": '["=", "$a", 1]', "custom": "kept",
            "group": group_id})
        [cast] = await self.api.casts()
        spec = cast["args"]["request_specs"][0]["nova_object.data"]
        self.assertEqual({"same_host": [IMAGE], "query": ['["=", "$a", 1]'],
                          "custom": ["kept"], "group": [group_id]}, spec["scheduler_hints"])
        self.assertEqual("affinity",
                         spec["instance_group"]["nova_object.data"]["policy"])
        members = {r["instance_uuid"] for r in self.api.rows("instance_group_member")}
        self.assertEqual({r["instance_uuid"] for r in self.api.rows("build_requests")},
                         members)
        events = [n["event_type"] for n in self.api.notifications()]
        self.assertIn("server_group.add_member", events)

    async def test_unknown_group_hint(self):
        await self.refused({}, hints={"group": IMAGE}, code=404,
                           text=f"Instance group {IMAGE} could not be found.")


class FieldsTest(Base):

    async def test_name(self):
        await self.refused({"name": ""}, text="name")
        await self.refused({"name": " lead"}, text="name")
        await self.refused({"name": "x" * 256}, text="name")
        reply = await self.post({"server": {"flavorRef": "1", "imageRef": IMAGE}})
        self.assertEqual(400, reply.code)
        self.assertIn("'name' is a required property", reply.raw.decode())

    async def test_image_ref(self):
        await self.refused({"imageRef": None}, text="imageRef")
        await self.refused({"imageRef": "not-a-uuid"}, text="imageRef")
        await self.refused({"imageRef": ""}, text="Missing imageRef attribute")
        await self.refused({"imageRef": "8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999"},
                           text="Can not find requested image")
        body = {"server": {"name": "s", "flavorRef": "1"}}
        reply = await self.post(body)
        self.assertEqual("Missing imageRef attribute", reply.json["badRequest"]["message"])

    async def test_flavor_ref(self):
        await self.refused({"flavorRef": "99"}, text="Flavor 99 could not be found.")
        await self.refused({"flavorRef": ""}, text="flavorRef")
        await self.api.add_flavor("off", "off", memory_mb=512, vcpus=1, root_gb=1,
                                  disabled=True)
        await self.refused({"flavorRef": "off"}, text="Flavor off could not be found.")
        server, instance = await self.created({"flavorRef": 2})
        self.assertEqual(20, instance["root_gb"])

    async def test_private_flavor(self):
        await self.api.add_flavor("hidden", "hidden", memory_mb=512, vcpus=1, root_gb=1,
                                  is_public=False)
        await self.refused({"flavorRef": "hidden"}, text="Flavor hidden could not be found.")
        await self.api.create({"flavorRef": "hidden"}, token=ADMIN)

    async def test_image_checks(self):
        small_ram = await self.api.add_image(min_ram=1024)
        await self.refused({"imageRef": small_ram["id"]},
                           text="Flavor's memory is too small for requested image.")
        big_disk = await self.api.add_image(min_disk=5)
        await self.refused({"imageRef": big_disk["id"]},
                           text="Flavor's disk is smaller than the minimum size specified")
        admin = _ctx()
        queued = await self.api.images.create(admin, {"name": "q", "disk_format": "raw",
                                                      "container_format": "bare"})
        await self.refused({"imageRef": queued["id"]}, text="is not active")

    async def test_image_properties_against_flavor(self):
        image = await self.api.add_image(hw_mem_page_size="large")
        await self.refused({"imageRef": image["id"]}, text="hw_mem_page_size")
        pinned = await self.api.add_image(hw_cpu_policy="dedicated",
                                          hw_cpu_thread_policy="bogus")
        await self.refused({"imageRef": pinned["id"]}, text="")

    async def test_key_name(self):
        await self.refused({"key_name": "nope"}, text="Invalid key_name provided.")
        await self.refused({"key_name": ""}, text="key_name")

    async def test_user_data(self):
        await self.refused({"user_data": "not base64!"}, text="user_data")
        await self.refused({"user_data": "QUFB" * 16384}, text="user_data")
        # A lone surrogate (JSON can carry one) is no base64 either, not a 500.
        await self.refused({"user_data": "\ud800"}, text="user_data")

    async def test_metadata(self):
        await self.refused({"metadata": {"k": "v" * 256}}, text="is too long")
        await self.refused({"metadata": {"bad/key": "v"}}, text="metadata")
        await self.refused({"metadata": {"k": 1}}, text="is not of type 'string'")

    async def test_access_ips(self):
        await self.refused({"accessIPv4": "1.2.3"}, text="accessIPv4")
        await self.refused({"accessIPv6": "zz::"}, text="accessIPv6")

    async def test_security_groups(self):
        await self.refused({"security_groups": [{"name": "missing"}]},
                           text="Security group missing not found.")
        await self.refused({"security_groups": [{"id": "x"}]},
                           text="Additional properties are not allowed ('id' was unexpected)")
        server, instance = await self.created({"security_groups": [{"name": "default"},
                                                                   {"name": "default"}]})
        self.assertEqual([{"name": "default"}, {"name": "default"}],
                         server["security_groups"])
        groups = instance["security_groups"]["nova_object.data"]["objects"]
        self.assertEqual(["default"], [g["nova_object.data"]["name"] for g in groups])

    async def test_availability_zone(self):
        await self.refused({"availability_zone": "nowhere"},
                           text="The requested availability zone is not available")
        _, instance = await self.created({"availability_zone": "us-west"})
        self.assertEqual("us-west", instance["availability_zone"])
        await self.refused({"availability_zone": "a:b:c:d"},
                           text="Unable to parse availability_zone")

    async def test_default_schedule_zone(self):
        self.api.conf.set_override("default_schedule_zone", "us-west")
        _, instance = await self.created({})
        self.assertEqual("us-west", instance["availability_zone"])
        self.api.conf.set_override("default_schedule_zone", "gone")
        await self.refused({}, text="The requested availability zone is not available")

    async def test_forced_host_by_admin(self):
        await self.refused({"availability_zone": "nova:compute-1"}, code=403,
                           text="os_compute_api:servers:create:forced_host")
        await self.api.create({"availability_zone": "us-west:compute-1:node-1"},
                              token=ADMIN)
        [cast] = await self.api.casts()
        spec = cast["args"]["request_specs"][0]["nova_object.data"]
        self.assertEqual((["compute-1"], ["node-1"], "us-west"),
                         (spec["force_hosts"], spec["force_nodes"],
                          spec["availability_zone"]))

    async def test_counts(self):
        await self.refused({"min_count": 3, "max_count": 2},
                           text="min_count must be <= max_count")
        await self.refused({"min_count": 0}, text="min_count")
        await self.refused({"max_count": "x"}, text="max_count")
        await self.api.create({"min_count": "2"})
        self.assertEqual(2, len(self.api.rows("build_requests")))

    async def test_config_drive_and_return_reservation_id_booleans(self):
        await self.refused({"config_drive": "maybe"}, text="config_drive")
        await self.refused({"return_reservation_id": "maybe"},
                           text="return_reservation_id")

    async def test_unknown_field(self):
        await self.refused({"colour": "blue"}, text="Additional properties are not allowed")


class MicroversionTest(Base):

    async def test_description_from_2_19(self):
        await self.refused({"description": "d"}, "2.18", text="description")
        _, instance = await self.created({"description": None}, "2.19")
        self.assertIsNone(instance["display_description"])
        await self.refused({"description": "x" * 256}, "2.19", text="description")

    async def networks_body(self, tag: bool = False):
        network = {"uuid": self.private["id"]}
        if tag:
            network["tag"] = "nic1"
        return [network]

    async def test_network_tag_boundaries(self):
        tagged = await self.networks_body(tag=True)
        for microversion, accepted in (("2.31", False), ("2.32", True), ("2.36", True),
                                       ("2.37", False), ("2.41", False), ("2.42", True)):
            body = {"networks": tagged}
            if accepted:
                await self.api.create(body, microversion=microversion)
            else:
                await self.refused(body, microversion, text="tag")

    async def test_bdm_tag_boundaries(self):
        bdms = [image_root(tag="root")]
        for microversion, accepted in (("2.31", False), ("2.32", True), ("2.33", False),
                                       ("2.41", False), ("2.42", True)):
            body = {"block_device_mapping_v2": bdms, "networks": "auto"}
            if microversion < "2.37":
                body.pop("networks")
            if accepted:
                await self.api.create(body, microversion=microversion)
            else:
                await self.refused(body, microversion, text="tag")

    async def test_networks_from_2_37(self):
        await self.refused({}, "2.37", text="'networks' is a required property")
        await self.refused({"networks": "some"}, "2.37", text="networks")
        await self.refused({"networks": "auto"}, "2.36", text="networks")
        await self.refused({"networks": [{"uuid": "br-x"}]}, "2.37", text="networks")
        await self.api.create({"networks": "none"}, microversion="2.37")
        [cast] = await self.api.casts()
        [request] = cast["args"]["requested_networks"]["nova_object.data"]["objects"]
        self.assertEqual("none", request["nova_object.data"]["network_id"])

    async def test_network_list(self):
        await self.refused({"networks": [{"uuid": "bad"}]},
                           text="Bad networks format: network uuid is not in proper format")
        missing = "8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999"
        await self.refused({"networks": [{"uuid": missing}]},
                           text=f"Network {missing} could not be found.")
        await self.refused({"networks": [{"port": missing, "fixed_ip": "10.0.0.5"}]},
                           text="cannot be specified together")
        await self.refused({"networks": [{"port": missing}]},
                           text=f"Port id {missing} could not be found.")
        await self.refused({"networks": [{"uuid": self.private["id"],
                                          "fixed_ip": "10.0.0.5"}], "max_count": 2},
                           text="max_count cannot be greater than 1 if an fixed_ip")
        await self.api.create({"networks": await self.networks_body()})

    async def test_ports_and_fixed_ips_in_use(self):
        admin = _ctx()
        [subnet] = await self.api.networks.list_subnets(admin, network_id=self.private["id"])
        taken = await self.api.networks.create_port(admin, {
            "network_id": self.private["id"], "device_id": "someone",
            "fixed_ips": [{"subnet_id": subnet["id"]}]})
        address = taken["fixed_ips"][0]["ip_address"]
        await self.refused({"networks": [{"uuid": self.private["id"], "fixed_ip": address}]},
                           text=f"Fixed IP address {address} is already in use")
        await self.refused({"networks": [{"port": taken["id"]}]}, code=409,
                           text=f"Port {taken['id']} is still in use.")
        free = await self.api.networks.create_port(admin, {"network_id": self.private["id"]})
        await self.refused({"networks": [{"port": free["id"]}], "max_count": 2},
                           text="Unable to launch multiple instances with a single "
                           "configured port ID.")
        await self.api.create({"networks": [{"port": free["id"]}]})
        [cast] = await self.api.casts()
        [request] = cast["args"]["requested_networks"]["nova_object.data"]["objects"]
        self.assertEqual((free["id"], self.private["id"]),
                         (request["nova_object.data"]["port_id"],
                          request["nova_object.data"]["network_id"]))

    async def test_several_networks_without_a_choice(self):
        own = (await self.api.networks._call(
            _ctx(), "POST", "/networks", body={"network": {"name": "own"}}))["network"]
        await self.api.networks._call(_ctx(), "POST", "/subnets", body={"subnet": {
            "network_id": own["id"], "cidr": "192.168.77.0/29", "ip_version": 4}})
        for server, microversion in (({}, "2.1"), ({"networks": "auto"}, "2.37")):
            await self.refused(server, microversion, code=409,
                               text="More than one possible network found.")
        await self.api.create({"networks": [{"uuid": own["id"]}]})

    async def test_network_without_subnet(self):
        network = await self.api.networks._call(
            _ctx(), "POST", "/networks", body={"network": {"name": "bare"}})
        bare = network["network"]["id"]
        await self.refused({"networks": [{"uuid": bare}]},
                           text=f"Network {bare} requires a subnet in order to boot")

    async def test_personality_until_2_56(self):
        files = [{"path": "/etc/motd", "contents": base64.b64encode(b"hi").decode()}]
        body = {"personality": files, "networks": "none"}
        await self.api.create(body, microversion="2.56")
        [cast] = await self.api.casts()
        self.assertEqual([["/etc/motd", files[0]["contents"]]],
                         cast["args"]["injected_files"])
        await self.refused(body, "2.57", text="personality")
        await self.refused({"personality": [{"path": "/p", "contents": "abc"}]},
                           text="contents")

    async def test_tags_from_2_52(self):
        await self.refused({"tags": ["a"], "networks": "none"}, "2.51", text="tags")
        await self.refused({"tags": ["a/b"], "networks": "none"}, "2.52",
                           text="does not match")
        await self.refused({"tags": ["t%d" % i for i in range(51)], "networks": "none"},
                           "2.52", text="tags")
        _, instance = await self.created({"tags": ["a", "b"], "networks": "none"}, "2.52")
        objects = instance["tags"]["nova_object.data"]["objects"]
        self.assertEqual(["a", "b"], [t["nova_object.data"]["tag"] for t in objects])

    async def test_trusted_certs_from_2_63(self):
        body = {"trusted_image_certificates": ["cert-1"], "networks": "none"}
        await self.refused(body, "2.62", text="trusted_image_certificates")
        await self.refused(dict(body, trusted_image_certificates=[]), "2.63",
                           text="trusted_image_certificates")
        await self.refused({"networks": "none", "imageRef": "",
                            "trusted_image_certificates": ["cert-1"],
                            "block_device_mapping_v2": [
                                {"uuid": IMAGE, "source_type": "image",
                                 "destination_type": "volume", "boot_index": 0,
                                 "volume_size": 1}]},
                           "2.63", text="Image certificate validation is not supported "
                           "when booting from volume")

    async def test_volume_type_from_2_67(self):
        bdm = {"uuid": IMAGE, "source_type": "image", "destination_type": "volume",
               "boot_index": 0, "volume_size": 1, "volume_type": "ssd"}
        body = {"imageRef": "", "block_device_mapping_v2": [bdm], "networks": "none"}
        await self.refused(body, "2.66", text="volume_type")
        await self.refused(body, "2.67", text="Volume type ssd could not be found.")

    async def test_host_and_hypervisor_hostname_from_2_74(self):
        body = {"host": "compute-1", "networks": "none"}
        await self.refused(body, "2.73", text="host", token=ADMIN)
        await self.refused(body, "2.74", code=403,
                           text="compute:servers:create:requested_destination")
        await self.refused(dict(body, availability_zone="us-west:compute-1"), "2.74",
                           text="mutually exclusive", token=ADMIN)
        await self.refused({"hypervisor_hostname": "-bad-", "networks": "none"}, "2.74",
                           text="hypervisor_hostname", token=ADMIN)
        for destination in ({"host": "compute-1"}, {"hypervisor_hostname": "node-1"},
                            {"host": "compute-1", "hypervisor_hostname": "node-1"},
                            {"host": "compute-2", "hypervisor_hostname": "node-1"}):
            await self.refused(dict(destination, networks="none"), "2.74", token=ADMIN,
                               text="Compute host %s could not be found." % (
                                   destination.get("host") or "node-1"))
        self.api.add_compute_node("compute-1", "node-1")
        self.api.add_compute_node("compute-2", "node-2")
        for destination in ({"host": "compute-1"}, {"hypervisor_hostname": "node-1"},
                            {"host": "compute-1", "hypervisor_hostname": "node-1"}):
            await self.api.create(dict(destination, networks="none"),
                                  microversion="2.74", token=ADMIN)
        await self.refused({"host": "compute-2", "hypervisor_hostname": "node-1",
                            "networks": "none"}, "2.74", token=ADMIN,
                           text="Compute host compute-2 could not be found.")

    async def test_hostname_from_2_90(self):
        body = {"hostname": "my-host", "networks": "none"}
        await self.refused(body, "2.89", text="hostname")
        for bad in ("-x", "x", "a_b", "a" * 64, "a.b"):
            await self.refused(dict(body, hostname=bad), "2.90", text="hostname")
        await self.refused(dict(body, max_count=2), "2.90",
                           text="Unable to allocate a single hostname to multiple")
        _, instance = await self.created(body, "2.90")
        self.assertEqual("my-host", instance["hostname"])


class BlockDeviceMappingTest(Base):
    """The BDM cases of spec A §4.9 through the API."""

    async def bdm_refused(self, bdms, text, *, legacy=False, microversion="2.1", **server):
        key = "block_device_mapping" if legacy else "block_device_mapping_v2"
        return await self.refused({key: bdms, **server}, microversion, text=text)

    async def test_mixing_syntaxes(self):
        await self.refused({"block_device_mapping": [{"volume_id": IMAGE,
                                                      "device_name": "vdb"}],
                            "block_device_mapping_v2": [image_root()]},
                           text="Using different block_device_mapping syntaxes is not "
                           "allowed in the same request.")

    async def test_format_errors(self):
        await self.bdm_refused([image_root(), {"uuid": IMAGE, "source_type": "blank",
                                               "destination_type": "local"}],
                               "Invalid device UUID.")
        await self.bdm_refused([image_root(), {"source_type": "volume",
                                               "destination_type": "volume"}],
                               "Missing device UUID.")
        await self.bdm_refused([image_root(boot_index=1)],
                               "Mapping image to local is not supported.")
        await self.bdm_refused([image_root(), {"source_type": "blank",
                                               "destination_type": "local",
                                               "disk_bus": "foo"}],
                               "Unrecognized disk bus foo")
        await self.bdm_refused([image_root(), {"source_type": "blank",
                                               "destination_type": "local",
                                               "colour": "red"}],
                               "Additional properties are not allowed")
        await self.bdm_refused([image_root(), {"source_type": "blank",
                                               "destination_type": "local",
                                               "device_name": "a b"}], "device_name")

    async def test_sizes_and_sequence(self):
        await self.bdm_refused([{"uuid": IMAGE, "source_type": "image",
                                 "destination_type": "volume", "boot_index": 0}],
                               "need to have a non-zero size specified", imageRef="")
        await self.bdm_refused([image_root(), {"source_type": "blank",
                                               "destination_type": "volume",
                                               "boot_index": 1}],
                               "Blank volumes (source: 'blank', dest: 'volume') need")
        await self.bdm_refused([image_root(), {"source_type": "blank",
                                               "destination_type": "local",
                                               "boot_index": 2}], "Boot sequence")
        await self.bdm_refused([{"source_type": "blank", "destination_type": "volume",
                                 "volume_size": 1}], "Boot sequence", imageRef="")

    async def test_against_the_flavor(self):
        swap = {"source_type": "blank", "destination_type": "local", "guest_format": "swap",
                "volume_size": 1024, "boot_index": -1}
        await self.bdm_refused([image_root(), swap],
                               "Swap drive requested is larger than instance type allows.",
                               flavorRef="2")
        await self.bdm_refused([image_root(), dict(swap, volume_size=256),
                                dict(swap, volume_size=256)],
                               "More than one swap drive requested.", flavorRef="2")
        eph = {"source_type": "blank", "destination_type": "local", "volume_size": 2,
               "boot_index": -1}
        await self.bdm_refused([image_root(), eph, eph],
                               "Ephemeral disks requested are larger than the instance "
                               "type allows.", flavorRef="2")
        eph1 = dict(eph, volume_size=1)
        await self.bdm_refused([image_root(), eph1, eph1, dict(swap, volume_size=1)],
                               "You specified more local devices than the limit allows",
                               flavorRef="2")
        _, instance = await self.created({"flavorRef": "2", "block_device_mapping_v2": [
            image_root(), dict(swap, volume_size=512), eph]})
        [row] = self.api.rows("build_requests")
        bdms = json.loads(row["block_device_mappings"])["nova_object.data"]["objects"]
        self.assertEqual([("image", "local"), ("blank", "local"), ("blank", "local")],
                         [(b["nova_object.data"]["source_type"],
                           b["nova_object.data"]["destination_type"]) for b in bdms])

    async def test_legacy_swap_mapping(self):
        await self.api.create({"flavorRef": "2", "block_device_mapping": [
            {"virtual_name": "swap", "device_name": "/dev/vdb", "volume_size": "256",
             "delete_on_termination": "false"}]})
        [row] = self.api.rows("build_requests")
        bdms = [b["nova_object.data"] for b in
                json.loads(row["block_device_mappings"])["nova_object.data"]["objects"]]
        self.assertEqual([("image", 0, None), ("blank", -1, "swap"), ("blank", -1, None)],
                         [(b["source_type"], b["boot_index"], b.get("guest_format"))
                          for b in bdms])
        self.assertEqual([True, True, True], [b["delete_on_termination"] for b in bdms])
        self.assertEqual([None, 256, 2], [b.get("volume_size") for b in bdms])

    async def test_flavor_disks_added_to_a_plain_boot(self):
        await self.api.create({"flavorRef": "2"})
        [row] = self.api.rows("build_requests")
        bdms = [b["nova_object.data"] for b in
                json.loads(row["block_device_mappings"])["nova_object.data"]["objects"]]
        self.assertEqual([(None, 2), ("swap", 512)],
                         [(b.get("guest_format"), b["volume_size"]) for b in bdms[1:]])

    async def test_volumes_need_the_volume_service(self):
        volume = "9d1c1d1e-1a4c-44c6-8a3f-0d6e1b7e2f10"
        await self.bdm_refused([{"uuid": volume, "source_type": "volume",
                                 "destination_type": "volume", "boot_index": 0}],
                               f"failed to get volume {volume}.", imageRef="")
        await self.bdm_refused([{"volume_id": volume, "device_name": "vdb"}],
                               f"failed to get volume {volume}.", legacy=True)
        await self.bdm_refused([image_root(), {"uuid": volume, "source_type": "volume",
                                               "destination_type": "volume"}],
                               "Cannot attach one or more volumes to multiple instances",
                               max_count=2)
        await self.bdm_refused([image_root(), {"uuid": volume, "source_type": "volume",
                                               "destination_type": "volume",
                                               "device_name": "/dev/vda"}],
                               "The volume cannot be assigned the same device name as the "
                               "root device vda")

    async def test_image_to_volume_boot(self):
        bdm = {"uuid": IMAGE, "source_type": "image", "destination_type": "volume",
               "boot_index": 0, "volume_size": 1}
        await self.api.create({"imageRef": "", "block_device_mapping_v2": [bdm],
                               "flavorRef": "1"})
        missing = dict(bdm, uuid="8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999")
        await self.bdm_refused([missing], "failed to get image "
                               "8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999.", imageRef="")

    async def test_local_limit_zero_forces_boot_from_volume(self):
        self.api.conf.register_opt(
            __import__("oslo_config").cfg.IntOpt("max_local_block_devices", default=3))
        self.api.conf.set_override("max_local_block_devices", 0)
        await self.refused({}, text="You specified more local devices than the limit allows")
        bdm = {"uuid": IMAGE, "source_type": "image", "destination_type": "volume",
               "boot_index": 0, "volume_size": 1}
        await self.api.create({"imageRef": "", "block_device_mapping_v2": [bdm]})


class LegacyV2Test(Base):

    async def test_legacy_endpoint_strips_names_and_allows_null_user_data(self):
        reply = await self.api.request(
            "POST", "/v2/servers", token=USER,
            body={"server": {"name": "  spaced  ", "flavorRef": "1", "imageRef": IMAGE,
                             "user_data": None, "extra": "dropped"}})
        self.assertEqual(202, reply.code, reply.raw)
        self.assertEqual("spaced", self.api.build_request(
            reply.json["server"]["id"])["display_name"])


class EveryDatabaseTest(unittest.TestCase):
    """The records of a multi-create with mappings, tags and a server group, on each
    database engine of the API database."""

    async def check(self, backend: str):
        api = await ServersServer.start(self, backend=backend)
        group = await api.request("POST", "/v2.1/os-server-groups", token=USER,
                                  body={"server_group": {"name": "g",
                                                         "policies": ["anti-affinity"]}})
        self.assertEqual(200, group.code, group.raw)
        reply = await api.create(
            {"min_count": 2, "max_count": 2, "flavorRef": "2", "networks": "none",
             "tags": ["a", "b"], "metadata": {"k": "\u00e9" * 200},
             "block_device_mapping_v2": [image_root()]},
            microversion="2.52", hints={"group": group.json["server_group"]["id"]})
        server = reply.json["server"]
        rows = api.rows("build_requests")
        self.assertEqual(2, len(rows))
        self.assertEqual({"\u00e9" * 200}, {api.build_request(r["instance_uuid"])[
            "metadata"]["k"] for r in rows})
        self.assertEqual(2, len(api.rows("request_specs")))
        self.assertEqual(2, len(api.rows("instance_mappings")))
        self.assertEqual({r["instance_uuid"] for r in rows},
                         {m["instance_uuid"] for m in api.rows("instance_group_member")})
        self.assertIn(server["id"], {r["instance_uuid"] for r in rows})

    async def test_sqlite(self):
        await self.check("sqlite")

    async def test_postgresql(self):
        await self.check("postgresql")

    async def test_mysql(self):
        await self.check("mysql")


class SchemaBoundaryTest(unittest.SynchronousTestCase):
    """Each version-gated field against the schemas of BY_VERSION: refused just before
    its first microversion, accepted from it, refused just after its last."""

    FIELDS = [
        # (where, value, first, last)
        ("description", "d", "2.19", None),
        ("networks", [{"uuid": IMAGE, "tag": "t"}], "2.32", "2.36"),
        ("networks", [{"uuid": IMAGE, "tag": "t"}], "2.42", None),
        ("block_device_mapping_v2", [{"source_type": "blank", "tag": "t"}], "2.32", "2.32"),
        ("block_device_mapping_v2", [{"source_type": "blank", "tag": "t"}], "2.42", None),
        ("networks", "auto", "2.37", None),
        ("tags", ["a"], "2.52", None),
        ("personality", [{"path": "/p", "contents": "YQ=="}], "2.1", "2.56"),
        ("trusted_image_certificates", ["c"], "2.63", None),
        ("block_device_mapping_v2", [{"source_type": "blank", "volume_type": "t"}],
         "2.67", None),
        ("host", "h1", "2.74", None),
        ("hypervisor_hostname", "n1", "2.74", None),
        ("hostname", "h1", "2.90", None),
    ]

    def valid(self, microversion: str, field: str, value) -> bool:
        from nova_tx import exception
        from nova_tx.api.compute.schemas import servers_create as schema
        from nova_tx.api.validation.validators import SchemaValidator

        server = {"name": "s", "flavorRef": "1", "imageRef": IMAGE, field: value}
        if field != "networks" and microversion not in ("2.0",) and _at_least(
                microversion, "2.37"):
            server["networks"] = "none"
        [body_schema] = [b for b, low, high in schema.BY_VERSION
                         if _at_least(microversion, low)
                         and (high is None or _at_least(high, microversion))]
        try:
            SchemaValidator(body_schema).validate({"server": server})
        except exception.ValidationError:
            return False
        return True

    def test_boundaries(self):
        for field, value, first, last in self.FIELDS:
            if first != "2.1":
                self.assertFalse(self.valid(_step(first, -1), field, value), (field, first))
            self.assertTrue(self.valid(first, field, value), (field, first))
            if last is None:
                self.assertTrue(self.valid("2.93", field, value), (field, "2.93"))
            else:
                self.assertTrue(self.valid(last, field, value), (field, last))
                self.assertFalse(self.valid(_step(last, 1), field, value), (field, last))

    def test_networks_required_from_2_37(self):
        from nova_tx import exception
        from nova_tx.api.compute.schemas import servers_create as schema
        from nova_tx.api.validation.validators import SchemaValidator

        body = {"server": {"name": "s", "flavorRef": "1", "imageRef": IMAGE}}
        SchemaValidator(schema.base_create_v233).validate(body)
        for body_schema in (schema.base_create_v237, schema.base_create_v290):
            with self.assertRaises(exception.ValidationError):
                SchemaValidator(body_schema).validate(body)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _at_least(version: str, other: str) -> bool:
    return _version(version) >= _version(other)


def _step(version: str, delta: int) -> str:
    major, minor = _version(version)
    return f"{major}.{minor + delta}"

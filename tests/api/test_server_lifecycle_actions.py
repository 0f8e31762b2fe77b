"""``POST /servers/{id}/action`` over HTTP for restore, forceDelete, rebuild, rescue,
unrescue, createImage and trigger_crash_dump: Nova's state checks and 409s, the task
states set with the action recorded, the casts with their arguments, the bodies and
headers of each microversion, bad input (400) and the policies."""
from __future__ import annotations

import base64
import datetime
import uuid as uuidlib

from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.db.api import key_pairs
from nova_tx.db.main import instance_actions
from nova_tx.image import api as image_api
from tests.api.servers_server import ADMIN, DEMO, sample, version
from tests.api.test_server_actions import (
    OTHER,
    OTHER_ADMIN,
    ActionsServer,
    RecordingCompute,
)

T_LAUNCHED = datetime.datetime(2013, 9, 3, 4, 1, 40)
IMAGE = "70a599e0-31e7-49b7-b260-868f441e862b"
NEW_IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
MISSING_IMAGE = "a440c04b-79fa-479c-bed1-0b816eaec379"


class KeywordRecordingCompute(RecordingCompute):
    """Every cast recorded with its keyword arguments too."""

    def __getattr__(self, method: str):
        def cast(context, instance, *args, **kwargs):
            self.casts.append((method, instance.uuid, instance.task_state, args, kwargs))
        return cast


class FakeImages:
    """The image port as the actions use it."""

    def __init__(self):
        self.images = {
            IMAGE: {"id": IMAGE, "status": "active", "min_ram": 0, "min_disk": 0,
                    "size": 1024, "name": "cirros"},
            NEW_IMAGE: {"id": NEW_IMAGE, "status": "active", "min_ram": 0, "min_disk": 0,
                        "size": 2048, "name": "fedora", "os_type": "linux",
                        "hw_disk_bus": "virtio"},
        }
        self.created: list[dict] = []
        self.deleted: list[str] = []

    async def get(self, context, image_id):
        if image_id not in self.images:
            raise image_api.ImageNotFound(image_id=image_id)
        return dict(self.images[image_id])

    async def create(self, context, image_meta, data=None):
        image = {**image_meta, "id": str(uuidlib.uuid4()), "status": "queued"}
        self.created.append(image)
        self.images[image["id"]] = image
        return image

    async def delete(self, context, image_id):
        self.deleted.append(image_id)
        self.images.pop(image_id, None)


class LifecycleServer(ActionsServer):
    """Servers that ran once (``launched_at``) unless told otherwise."""

    def instance(self, **fields):
        fields.setdefault("launched_at", T_LAUNCHED)
        return super().instance(**fields)

    def __init__(self, testcase, **kwargs):
        super().__init__(testcase, **kwargs)
        self.compute = KeywordRecordingCompute()
        self.components["compute_rpcapi"] = self.compute
        self.images = FakeImages()
        self.components["image_api"] = self.images


class LifecycleActionsTest(unittest.TestCase):
    def setUp(self):
        self.api = LifecycleServer(self)

    async def act(self, server, body, token=DEMO, microversion="2.1"):
        return await self.api.request("POST", f"/v2.1/servers/{server.uuid}/action",
                                      body=body, token=token,
                                      headers=version(microversion))

    def stored(self, server, **kwargs):
        kwargs.setdefault("expected_attrs", ("system_metadata", "metadata", "keypairs",
                                             "trusted_certs"))
        return self.api.get_instance(server.uuid, **kwargs)

    def actions(self, server):
        with self.api.cell_engine.connect() as conn:
            return [a.action for a in instance_actions.get_by_instance(conn, server.uuid)]

    def assert_conflict(self, reply, message):
        self.assertEqual(409, reply.code, reply.json)
        self.assertEqual(message, reply.json["conflictingRequest"]["message"])

    def assert_bad_request(self, reply, message):
        self.assertEqual(400, reply.code, reply.json)
        self.assertEqual(message, reply.json["badRequest"]["message"])

    # -- restore and forceDelete ---------------------------------------------------------

    async def test_restore(self):
        server = self.api.add_instance(vm_state=states.SOFT_DELETED, host="compute1")
        reply = await self.act(server, {"restore": None})
        self.assertEqual(202, reply.code, reply.json)
        self.assertEqual(states.RESTORING, self.stored(server).task_state)
        self.assertEqual(("restore_instance", server.uuid, states.RESTORING),
                         self.api.compute.casts[-1][:3])
        self.assertEqual(["restore"], self.actions(server))

    async def test_restore_without_a_host_is_done_here(self):
        server = self.api.add_instance(vm_state=states.SOFT_DELETED)
        self.assertEqual(202, (await self.act(server, {"restore": None})).code)
        stored = self.stored(server)
        self.assertEqual((states.ACTIVE, None), (stored.vm_state, stored.task_state))
        self.assertEqual([], self.api.compute.casts)

    async def test_restore_over_quota(self):
        api = LifecycleServer(self, quota={"instances": 1})
        api.add_instance(host="compute1")
        server = api.add_instance(vm_state=states.SOFT_DELETED, host="compute1")
        before = api.cell_snapshot()
        reply = await api.request("POST", f"/v2.1/servers/{server.uuid}/action",
                                  body={"restore": None}, token=DEMO)
        self.assertEqual(403, reply.code, reply.json)
        self.assertIn("Quota exceeded for instances", reply.json["forbidden"]["message"])
        self.assertEqual(before, api.cell_snapshot())

    async def test_restore_of_a_server_not_soft_deleted(self):
        server = self.api.add_instance(host="compute1")
        before = self.api.cell_snapshot()
        self.assert_conflict(await self.act(server, {"restore": None}),
                             f"Cannot 'restore' instance {server.uuid} while it is in "
                             "vm_state active")
        self.assertEqual(before, self.api.cell_snapshot())

    async def test_force_delete_of_a_soft_deleted_server(self):
        from nova_tx.conf import compute_manager

        compute_manager.register_opts(self.api.conf)
        self.api.conf.set_override("reclaim_instance_interval", 3600)
        self.api.add_service("compute1")
        server = self.api.add_instance(vm_state=states.SOFT_DELETED, host="compute1")
        self.assertEqual(202, (await self.act(server, {"forceDelete": None})).code)
        # Deleted now (terminate), not soft-deleted again.
        self.assertEqual(("terminate_instance", server.uuid, states.DELETING),
                         self.api.compute.casts[-1][:3])
        self.assertEqual(["delete"], self.actions(server))

    async def test_force_delete_of_a_locked_server(self):
        server = self.api.add_instance(vm_state=states.SOFT_DELETED, host="compute1",
                                       locked=True, locked_by="admin")
        self.assert_conflict(await self.act(server, {"forceDelete": None}),
                             f"Instance {server.uuid} is locked")

    # -- rebuild -------------------------------------------------------------------------

    async def test_rebuild(self):
        server = self.api.add_instance(host="compute1", metadata={"old": "1"},
                                       system_metadata={"image_os_type": "windows",
                                                        "owner_user_name": "demo"})
        reply = await self.act(server, {"rebuild": {
            "imageRef": NEW_IMAGE, "name": "new-name", "adminPass": "seekrit",
            "metadata": {"new": "2"}, "accessIPv4": "1.2.3.4",
            "personality": [{"path": "/etc/motd",
                             "contents": base64.b64encode(b"hi").decode()}]}})
        self.assertEqual(202, reply.code, reply.json)
        body = reply.json["server"]
        self.assertEqual(("new-name", "REBUILD", NEW_IMAGE, "seekrit", {"new": "2"},
                          "1.2.3.4"),
                         (body["name"], body["status"], body["image"]["id"],
                          body["adminPass"], body["metadata"], body["accessIPv4"]))
        # Before 2.75 the answer is the short view.
        self.assertNotIn("OS-EXT-STS:task_state", body)
        stored = self.stored(server)
        self.assertEqual((states.REBUILDING, NEW_IMAGE, "linux"),
                         (stored.task_state, stored.image_ref, stored.os_type))
        self.assertEqual({"new": "2"}, stored.metadata)
        self.assertEqual(("linux", "virtio", NEW_IMAGE, "demo"),
                         (stored.system_metadata.get("image_os_type"),
                          stored.system_metadata.get("image_hw_disk_bus"),
                          stored.system_metadata.get("image_base_image_ref"),
                          stored.system_metadata.get("owner_user_name")))
        method, uuid, task_state, args, kwargs = self.api.compute.casts[-1]
        self.assertEqual(("rebuild_instance", server.uuid, states.REBUILDING),
                         (method, uuid, task_state))
        self.assertEqual((NEW_IMAGE, IMAGE, "seekrit", "windows", False),
                         (kwargs["image_ref"], kwargs["orig_image_ref"], kwargs["new_pass"],
                          kwargs["orig_sys_metadata"]["image_os_type"],
                          kwargs["preserve_ephemeral"]))
        self.assertEqual([["/etc/motd", base64.b64encode(b"hi").decode()]],
                         [list(f) for f in kwargs["injected_files"]])
        self.assertEqual(["rebuild"], self.actions(server))
        # The disk config follows the request, else the new image.
        self.assertFalse(stored.auto_disk_config)
        self.api.images.images[NEW_IMAGE]["auto_disk_config"] = "True"
        other = self.api.add_instance(host="compute1")
        await self.act(other, {"rebuild": {"imageRef": NEW_IMAGE}})
        self.assertTrue(self.stored(other).auto_disk_config)
        third = self.api.add_instance(host="compute1")
        await self.act(third, {"rebuild": {"imageRef": NEW_IMAGE,
                                           "OS-DCF:diskConfig": "MANUAL"}})
        self.assertFalse(self.stored(third).auto_disk_config)

    async def test_rebuild_microversions(self):
        with self.api.engine.begin() as conn:
            key_pairs.create(conn, user_id="demo", name="key1", fingerprint="fp",
                             public_key="ssh-rsa AAAA demo")
        server = self.api.add_instance(host="compute1", key_name="old-key")
        body = {"rebuild": {"imageRef": NEW_IMAGE, "description": "d", "key_name": "key1",
                            "user_data": base64.b64encode(b"#!/bin/sh").decode(),
                            "trusted_image_certificates": ["cert-1"],
                            "hostname": "new-host"}}
        reply = await self.act(server, body, microversion="2.90")
        self.assertEqual(202, reply.code, reply.json)
        shown = reply.json["server"]
        self.assertEqual(("d", "key1", ["cert-1"], states.REBUILDING),
                         (shown["description"], shown["key_name"],
                          shown["trusted_image_certificates"],
                          shown["OS-EXT-STS:task_state"]))
        stored = self.stored(server)
        self.assertEqual(("key1", "ssh-rsa AAAA demo", ["key1"], "new-host", ["cert-1"]),
                         (stored.key_name, stored.key_data,
                          [k.name for k in stored.keypairs], stored.hostname,
                          stored.trusted_certs))
        # Each field only from its microversion: before it the body is a 400.
        for field, value, first in (("description", "d", "2.19"),
                                    ("key_name", "key1", "2.54"),
                                    ("user_data", None, "2.57"),
                                    ("trusted_image_certificates", None, "2.63"),
                                    ("hostname", "h", "2.90")):
            other = self.api.add_instance(host="compute1")
            major, minor = first.split(".")
            before = f"{major}.{int(minor) - 1}"
            reply = await self.act(other, {"rebuild": {"imageRef": NEW_IMAGE,
                                                       field: value}}, microversion=before)
            self.assertEqual(400, reply.code, (field, before))
        # personality is gone from 2.57.
        reply = await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE,
                                                    "personality": []}},
                               microversion="2.57")
        self.assertEqual(400, reply.code)

    async def test_rebuild_bad_input(self):
        server = self.api.add_instance(host="compute1")
        before = self.api.cell_snapshot()
        self.assert_bad_request(
            await self.act(server, {"rebuild": {"imageRef": MISSING_IMAGE}}),
            "Cannot find image for rebuild")
        self.assert_bad_request(
            await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE, "key_name": "nope"}},
                           microversion="2.54"),
            "Invalid key_name provided.")
        self.api.images.images[NEW_IMAGE]["auto_disk_config"] = "disabled"
        self.assert_bad_request(
            await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE,
                                                "OS-DCF:diskConfig": "AUTO"}}),
            f"Requested image {NEW_IMAGE} has automatic disk resize disabled.")
        self.api.images.images[NEW_IMAGE]["min_ram"] = 4096
        self.assert_bad_request(
            await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE}}),
            "Flavor's memory is too small for requested image.")
        for body in ({"rebuild": {}}, {"rebuild": {"imageRef": "not-a-uuid"}},
                     {"rebuild": {"imageRef": NEW_IMAGE, "bogus": 1}},
                     {"rebuild": {"imageRef": NEW_IMAGE, "preserve_ephemeral": "maybe"}}):
            self.assertEqual(400, (await self.act(server, body)).code, body)
        self.assertEqual(before, self.api.cell_snapshot())
        self.assertEqual([], self.api.compute.casts)

    async def test_rebuild_quotas(self):
        api = LifecycleServer(self, quota={"metadata_items": 1, "injected_files": 1,
                                           "injected_file_path_length": 10})
        server = api.add_instance(host="compute1")
        before = api.cell_snapshot()
        file = {"path": "/etc/motd", "contents": base64.b64encode(b"hi").decode()}
        for body, message in (
                ({"metadata": {"a": "1", "b": "2"}},
                 "Maximum number of metadata items exceeds 1"),
                ({"personality": [file, file]}, "Personality file limit exceeded"),
                ({"personality": [{**file, "path": "/etc/a-long-path"}]},
                 "Personality file path exceeds maximum 10")):
            reply = await api.request("POST", f"/v2.1/servers/{server.uuid}/action",
                                      body={"rebuild": {"imageRef": NEW_IMAGE, **body}},
                                      token=DEMO)
            self.assertEqual((403, message), (reply.code, reply.json["forbidden"]["message"]))
        self.assertEqual(before, api.cell_snapshot())

    async def test_rebuild_cannot_change_the_numa_topology(self):
        server = self.api.add_instance(host="compute1")
        self.api.images.images[NEW_IMAGE]["hw_cpu_policy"] = "dedicated"
        before = self.api.cell_snapshot()
        self.assert_bad_request(
            await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE}}),
            "An instance's NUMA topology cannot be changed as part of a rebuild. The "
            "image provided is invalid for this instance.")
        self.assertEqual(before, self.api.cell_snapshot())
        # The same image may be rebuilt whatever it asks for.
        pinned = self.api.add_instance(host="compute1", image_ref=NEW_IMAGE,
                                       system_metadata={"image_hw_cpu_policy": "dedicated"})
        self.assertEqual(202, (await self.act(pinned, {"rebuild": {"imageRef": NEW_IMAGE}})
                               ).code)

    async def test_rebuild_saves_the_new_image_in_the_request_spec(self):
        from nova_tx.db.api import request_specs
        from nova_tx.objects.request_spec import ImageMeta, RequestSpec

        server = self.api.add_instance(host="compute1")
        with self.api.engine.begin() as conn:
            request_specs.create(conn, RequestSpec(
                flavor=self.api.flavor, instance_uuid=server.uuid,
                project_id=server.project_id, image=ImageMeta(id=IMAGE)))
        self.assertEqual(202, (await self.act(
            server, {"rebuild": {"imageRef": NEW_IMAGE}})).code)
        with self.api.engine.connect() as conn:
            spec = request_specs.get_by_instance_uuid(conn, server.uuid)
        self.assertEqual((NEW_IMAGE, "virtio"),
                         (spec.image.id, spec.image.properties.get("hw_disk_bus")))

    async def test_rebuild_states(self):
        stopped = self.api.add_instance(host="compute1", vm_state=states.STOPPED)
        self.assertEqual(202, (await self.act(
            stopped, {"rebuild": {"imageRef": NEW_IMAGE}})).code)
        paused = self.api.add_instance(host="compute1", vm_state=states.PAUSED)
        self.assert_conflict(await self.act(paused, {"rebuild": {"imageRef": NEW_IMAGE}}),
                             f"Cannot 'rebuild' instance {paused.uuid} while it is in "
                             "vm_state paused")
        locked = self.api.add_instance(host="compute1", locked=True, locked_by="admin")
        self.assert_conflict(await self.act(locked, {"rebuild": {"imageRef": NEW_IMAGE}}),
                             f"Instance {locked.uuid} is locked")
        volume_backed = self.api.add_instance(host="compute1", image_ref="")
        self.assert_bad_request(
            await self.act(volume_backed, {"rebuild": {"imageRef": NEW_IMAGE}}),
            f"Image {NEW_IMAGE} is unacceptable: Unable to rebuild with a different "
            "image for a volume-backed server.")

    async def test_rebuild_answers_the_fields_of_nova_samples(self):
        for microversion, token in (("2.1", DEMO), ("2.19", DEMO), ("2.26", DEMO),
                                    ("2.54", DEMO), ("2.57", DEMO), ("2.63", DEMO),
                                    ("2.71", DEMO), ("2.73", DEMO), ("2.75", ADMIN),
                                    ("2.90", DEMO)):
            name = ("server-action-rebuild-resp.json" if microversion == "2.1"
                    else f"v{microversion}/server-action-rebuild-resp.json")
            expected = set(sample("servers", name)["server"])
            server = self.api.add_instance(host="compute1")
            reply = await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE}},
                                   token=token, microversion=microversion)
            self.assertEqual(sorted(expected), sorted(reply.json["server"]), microversion)

    async def test_rebuild_full_view_from_2_75(self):
        server = self.api.add_instance(host="compute1")
        reply = await self.act(server, {"rebuild": {"imageRef": NEW_IMAGE}},
                               microversion="2.75")
        self.assertEqual(states.REBUILDING, reply.json["server"]["OS-EXT-STS:task_state"])
        self.assertEqual(12, len(reply.json["server"]["adminPass"]))

    # -- rescue ---------------------------------------------------------------------------

    async def test_rescue_and_unrescue(self):
        server = self.api.add_instance(host="compute1")
        reply = await self.act(server, {"rescue": {"adminPass": "pw",
                                                   "rescue_image_ref": NEW_IMAGE}})
        self.assertEqual((200, {"adminPass": "pw"}), (reply.code, reply.json))
        self.assertEqual(states.RESCUING, self.stored(server).task_state)
        method, _, _, _, kwargs = self.api.compute.casts[-1]
        self.assertEqual(("rescue_instance", "pw", NEW_IMAGE, True),
                         (method, kwargs["rescue_password"], kwargs["rescue_image_ref"],
                          kwargs["clean_shutdown"]))
        # A generated password when none is given.
        other = self.api.add_instance(host="compute1", vm_state=states.STOPPED)
        reply = await self.act(other, {"rescue": None})
        self.assertEqual(12, len(reply.json["adminPass"]))
        rescued = self.api.add_instance(host="compute1", vm_state=states.RESCUED)
        self.assertEqual(202, (await self.act(rescued, {"unrescue": None})).code)
        self.assertEqual(("unrescue_instance", rescued.uuid, states.UNRESCUING),
                         self.api.compute.casts[-1][:3])
        self.assertEqual(["rescue"], self.actions(server))
        self.assertEqual(["unrescue"], self.actions(rescued))
        # Pause, suspend and stop are not for a rescued server.
        for body in ({"pause": None}, {"suspend": None}, {"os-stop": None}):
            self.assertEqual(409, (await self.act(rescued, body)).code, body)

    async def test_rescue_refusals(self):
        server = self.api.add_instance(host="compute1")
        volume_backed = self.api.add_instance(host="compute1", image_ref="")
        before = self.api.cell_snapshot()
        self.assert_bad_request(
            await self.act(server, {"rescue": {"rescue_image_ref": MISSING_IMAGE}}),
            f"Requested rescue image '{MISSING_IMAGE}' is not supported")
        self.api.images.images[NEW_IMAGE]["img_block_device_mapping"] = "[]"
        self.assert_bad_request(
            await self.act(server, {"rescue": {"rescue_image_ref": NEW_IMAGE}}),
            f"Requested rescue image '{NEW_IMAGE}' is not supported")
        self.assert_bad_request(
            await self.act(volume_backed, {"rescue": None}),
            f"Instance {volume_backed.uuid} cannot be rescued: Cannot rescue a "
            "volume-backed instance")
        for body in ({"rescue": {"rescue_image_ref": "x"}}, {"rescue": {"bogus": 1}}):
            self.assertEqual(400, (await self.act(server, body)).code, body)
        self.assertEqual(before, self.api.cell_snapshot())
        self.assert_conflict(await self.act(server, {"unrescue": None}),
                             f"Cannot 'unrescue' instance {server.uuid} while it is in "
                             "vm_state active")
        paused = self.api.add_instance(host="compute1", vm_state=states.PAUSED)
        self.assert_conflict(await self.act(paused, {"rescue": None}),
                             f"Cannot 'rescue' instance {paused.uuid} while it is in "
                             "vm_state paused")

    async def test_without_instance_passwords(self):
        from nova_tx.conf import api as api_conf

        api_conf.register_opts(self.api.conf)
        self.api.conf.set_override("enable_instance_password", False, group="api")
        server = self.api.add_instance(host="compute1")
        reply = await self.act(server, {"rescue": {"adminPass": "pw"}})
        self.assertEqual((200, {}), (reply.code, reply.json))
        other = self.api.add_instance(host="compute1")
        reply = await self.act(other, {"rebuild": {"imageRef": NEW_IMAGE}})
        self.assertEqual(202, reply.code)
        self.assertNotIn("adminPass", reply.json["server"])

    # -- createImage ----------------------------------------------------------------------

    async def test_create_image_of_a_volume_backed_server(self):
        server = self.api.add_instance(host="compute1", image_ref="")
        reply = await self.act(server, {"createImage": {"name": "s"}})
        self.assertEqual(501, reply.code, reply.json)
        self.assertEqual([], self.api.images.created)
        self.assertEqual([], self.api.compute.casts)

    async def test_create_image(self):
        server = self.api.add_instance(host="compute1", system_metadata={
            "image_os_type": "linux", "image_min_ram": "64", "image_disk_format": "qcow2",
            "image_img_signature": "sig", "image_base_image_ref": IMAGE})
        reply = await self.act(server, {"createImage": {"name": "snap",
                                                        "metadata": {"k": "v"}}})
        self.assertEqual(202, reply.code, reply.json)
        image = self.api.images.created[-1]
        # The image service's URL (the embedded one: [glance] api_servers is unset).
        self.assertEqual(f"http://127.0.0.1:9292/images/{image['id']}",
                         reply.headers.getRawHeaders("location")[0])
        self.assertEqual(
            ("snap", "private", "linux", 64, IMAGE, server.uuid, "snapshot", "v"),
            (image["name"], image["visibility"], image["os_type"], image["min_ram"],
             image["base_image_ref"], image["instance_uuid"], image["image_type"],
             image["k"]))
        for absent in ("img_signature", "disk_format", "container_format"):
            self.assertNotIn(absent, image)
        self.assertEqual(states.IMAGE_SNAPSHOT_PENDING, self.stored(server).task_state)
        self.assertEqual(("snapshot_instance", server.uuid, states.IMAGE_SNAPSHOT_PENDING,
                          (image["id"],)), self.api.compute.casts[-1][:4])
        self.assertEqual(["createImage"], self.actions(server))

    async def test_create_image_from_2_45_answers_the_id(self):
        server = self.api.add_instance(host="compute1", vm_state=states.STOPPED)
        reply = await self.act(server, {"createImage": {"name": "snap"}},
                               microversion="2.45")
        self.assertEqual((202, {"image_id": self.api.images.created[-1]["id"]}),
                         (reply.code, reply.json))
        self.assertIsNone(reply.headers.getRawHeaders("location"))

    async def test_an_admins_snapshot_is_shared_with_the_owner(self):
        server = self.api.add_instance(host="compute1")
        self.assertEqual(202, (await self.act(server, {"createImage": {"name": "s"}},
                                              token=OTHER_ADMIN)).code)
        image = self.api.images.created[-1]
        self.assertEqual(("shared", server.project_id),
                         (image["visibility"], image["instance_owner"]))

    async def test_create_image_refusals(self):
        server = self.api.add_instance(host="compute1", task_state=states.REBOOTING)
        self.assert_conflict(await self.act(server, {"createImage": {"name": "s"}}),
                             f"Cannot 'createImage' instance {server.uuid} while it is in "
                             "task_state rebooting")
        self.assertEqual([], self.api.images.created)
        for body in ({"createImage": {}}, {"createImage": {"name": ""}},
                     {"createImage": {"name": "s", "metadata": {"k": 1}}}):
            self.assertEqual(400, (await self.act(server, body)).code, body)
        # A snapshot is not refused for a locked server (Nova has no lock check).
        locked = self.api.add_instance(host="compute1", locked=True, locked_by="admin")
        self.assertEqual(202, (await self.act(locked, {"createImage": {"name": "s"}})
                               ).code)

    # -- trigger_crash_dump ---------------------------------------------------------------

    async def test_trigger_crash_dump(self):
        server = self.api.add_instance(host="compute1")
        self.assertEqual(202, (await self.act(server, {"trigger_crash_dump": None},
                                              microversion="2.17")).code)
        self.assertEqual(("trigger_crash_dump", server.uuid, None),
                         self.api.compute.casts[-1][:3])
        self.assertEqual(["trigger_crash_dump"], self.actions(server))
        self.assertIsNone(self.stored(server).task_state)

    async def test_trigger_crash_dump_refusals(self):
        server = self.api.add_instance(host="compute1")
        # Not an action before 2.17.
        self.assertEqual(404, (await self.act(server, {"trigger_crash_dump": None},
                                              microversion="2.16")).code)
        self.assertEqual(400, (await self.act(server, {"trigger_crash_dump": {}},
                                              microversion="2.17")).code)
        stopped = self.api.add_instance(host="compute1", vm_state=states.STOPPED)
        self.assert_conflict(await self.act(stopped, {"trigger_crash_dump": None},
                                            microversion="2.17"),
                             f"Cannot 'trigger_crash_dump' instance {stopped.uuid} while "
                             "it is in vm_state stopped")
        nowhere = self.api.add_instance()
        self.assert_conflict(await self.act(nowhere, {"trigger_crash_dump": None},
                                            microversion="2.17"),
                             f"Instance {nowhere.uuid} is not ready")
        self.assertEqual([], self.api.compute.casts)
        self.assertEqual([], self.actions(stopped))

    async def test_a_server_that_never_ran(self):
        for body, vm_state in (({"rebuild": {"imageRef": NEW_IMAGE}}, states.ERROR),
                               ({"rescue": None}, states.ERROR),
                               ({"createImage": {"name": "s"}}, states.STOPPED),
                               ({"trigger_crash_dump": None}, states.ERROR),
                               ({"restore": None}, states.SOFT_DELETED)):
            server = self.api.add_instance(host="compute1", vm_state=vm_state,
                                           launched_at=None)
            action = next(iter(body))
            self.assert_conflict(await self.act(server, body, microversion="2.17"),
                                 f"Cannot '{action}' instance {server.uuid} while it is "
                                 "in launched_at None")
        self.assertEqual([], self.api.compute.casts)
        self.assertEqual([], self.api.images.created)

    async def test_other_project(self):
        server = self.api.add_instance(host="compute1")
        for body in ({"rebuild": {"imageRef": NEW_IMAGE}}, {"rescue": None},
                     {"createImage": {"name": "s"}}, {"trigger_crash_dump": None}):
            reply = await self.act(server, body, token=OTHER, microversion="2.17")
            self.assertEqual(403, reply.code, body)
        self.assertEqual([], self.api.compute.casts)




class LifecycleActionsPolicyMatrixTest(unittest.TestCase):
    """Who may run each action, old and new defaults; a refusal is Nova's 403 naming
    the policy and changes nothing."""

    async def check(self, enforce_new_defaults: bool):
        from tests.api.test_servers_policy import MEMBERS, OWNER, OWNERS, PERSONAS

        matrix = [
            ({"restore": None}, states.SOFT_DELETED, OWNERS, MEMBERS,
             "os_compute_api:os-deferred-delete:restore"),
            ({"forceDelete": None}, states.SOFT_DELETED, OWNERS, MEMBERS,
             "os_compute_api:os-deferred-delete:force"),
            ({"rebuild": {"imageRef": NEW_IMAGE}}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:servers:rebuild"),
            ({"rescue": None}, states.ACTIVE, OWNERS, MEMBERS, "os_compute_api:os-rescue"),
            ({"unrescue": None}, states.RESCUED, OWNERS, MEMBERS,
             "os_compute_api:os-unrescue"),
            ({"createImage": {"name": "s"}}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:servers:create_image"),
            ({"trigger_crash_dump": None}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:servers:trigger_crash_dump"),
        ]
        api = LifecycleServer(self, enforce_new_defaults=enforce_new_defaults)
        api.add_service("compute1")
        for body, vm_state, old, new, rule in matrix:
            allowed = new if enforce_new_defaults else old
            for persona, (token, roles) in PERSONAS.items():
                server = api.add_instance(project_id=OWNER, vm_state=vm_state,
                                          host="compute1")
                before = api.cell_snapshot()
                headers = {"X-Roles": roles} if roles else {}
                headers.update(version("2.17"))
                reply = await api.request("POST", f"/v2.1/servers/{server.uuid}/action",
                                          body=body, token=token, headers=headers)
                where = (enforce_new_defaults, body, persona)
                if persona in allowed:
                    self.assertLess(reply.code, 300, (where, reply.raw))
                else:
                    self.assertEqual({"forbidden": {
                        "code": 403,
                        "message": f"Policy doesn't allow {rule} to be performed."}},
                        reply.json, where)
                    self.assertEqual(before, api.cell_snapshot(), where)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

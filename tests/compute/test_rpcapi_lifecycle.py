"""``nova_tx.compute.rpcapi.ComputeAPI``: the casts of restore, rebuild, rescue,
unrescue, snapshot and the crash dump reach the instance's host with Nova's 6.0
argument names (those ``ComputeManager`` takes)."""
from __future__ import annotations

import inspect
import uuid as uuidlib

from twisted.trial import unittest

from nova_tx.compute.manager import ComputeManager
from tests.compute import test_rpcapi


class LifecycleCastsTest(unittest.TestCase):
    timeout = 20
    setUp = test_rpcapi.ComputeAPITest.setUp

    async def received(self, method):
        name, kwargs = await self.compute.received.get()
        self.assertEqual(method, name)
        self.assertEqual(self.instance.uuid, kwargs["instance"]["nova_object.data"]["uuid"])
        # Every argument the manager's method takes, and nothing it does not.
        accepted = set(inspect.signature(getattr(ComputeManager, method)).parameters)
        self.assertLessEqual(set(kwargs), accepted - {"self", "ctxt"}, method)
        return kwargs

    async def test_casts(self):
        image_id = str(uuidlib.uuid4())
        await self.api.restore_instance(self.ctxt, self.instance)
        await self.received("restore_instance")
        await self.api.rebuild_instance(
            self.ctxt, self.instance, new_pass="pw", injected_files=[("/a", "Yg==")],
            image_ref=image_id, orig_image_ref="old", orig_sys_metadata={"image_a": "b"},
            preserve_ephemeral=True)
        kwargs = await self.received("rebuild_instance")
        self.assertEqual(("pw", [["/a", "Yg=="]], image_id, "old", {"image_a": "b"}, True,
                          False),
                         (kwargs["new_pass"], [list(f) for f in kwargs["injected_files"]],
                          kwargs["image_ref"], kwargs["orig_image_ref"],
                          kwargs["orig_sys_metadata"], kwargs["preserve_ephemeral"],
                          kwargs["recreate"]))
        await self.api.rescue_instance(self.ctxt, self.instance, rescue_password="pw",
                                       rescue_image_ref=image_id)
        kwargs = await self.received("rescue_instance")
        self.assertEqual(("pw", image_id, True), (kwargs["rescue_password"],
                                                  kwargs["rescue_image_ref"],
                                                  kwargs["clean_shutdown"]))
        await self.api.unrescue_instance(self.ctxt, self.instance)
        await self.received("unrescue_instance")
        await self.api.snapshot_instance(self.ctxt, self.instance, image_id)
        self.assertEqual(image_id, (await self.received("snapshot_instance"))["image_id"])
        await self.api.trigger_crash_dump(self.ctxt, self.instance)
        await self.received("trigger_crash_dump")

"""The compute's delete notifications: ``instance.delete.start``, ``instance.shutdown.
start/end`` around the guest's destroy and the network's release, ``instance.delete.
end`` once the allocations are gone, and ``instance.soft_delete.start/end``; versioned
(as Nova's samples) and legacy (``compute.instance.*``)."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.db.main import instances
from tests.compute import test_manager_notifications as notifications


class DeleteNotificationsTest(unittest.TestCase):
    timeout = 60
    # The compute with its notifiers on the in-memory bus, and the sample checks, of the
    # build and power notifications' test (not its tests).
    setUp = notifications.ComputeNotificationsTest.setUp
    messages = staticmethod(notifications.ComputeNotificationsTest.messages)
    legacy_events = notifications.ComputeNotificationsTest.legacy_events
    assert_like_sample = notifications.ComputeNotificationsTest.assert_like_sample

    async def active(self):
        instance = await self.h.make_instance()
        self.assertEqual("active", await self.h.build(instance))
        return instance

    async def asked(self, instance, task_state):
        """The API's half: the task state set before the cast."""
        await self.h.pool.do(instances.update, instance.uuid, {"task_state": task_state})
        return (await self.h.read(instance.uuid)).to_primitive()

    async def test_terminate_sends_delete_and_shutdown(self):
        instance = await self.active()
        self.assertTrue(await self.h.ports_of(instance.uuid))
        sent_before = len(self.messages(self.versioned))
        legacy_before = len(self.legacy_events())
        ended: list = []
        original = self.h.manager.notifier.notify_about_instance_action

        def record(ctxt, inst, action, phase=None, **kwargs):
            # What delete.end promises a consumer: the allocations are already gone.
            if (action, phase) == ("delete", "end"):
                ended.append(self.h.allocations(inst.uuid))
            return original(ctxt, inst, action, phase, **kwargs)

        self.h.manager.notifier.notify_about_instance_action = record
        await self.h.manager.terminate_instance(
            self.h.context(), await self.asked(instance, states.DELETING), [])
        sent = self.messages(self.versioned)[sent_before:]
        self.assertEqual(["instance.delete.start", "instance.shutdown.start",
                          "instance.shutdown.end", "instance.delete.end"],
                         [m["event_type"] for m in sent])
        for message, sample in zip(sent, ("instance-delete-start.json",
                                          "instance-shutdown-start.json",
                                          "instance-shutdown-end.json",
                                          "instance-delete-end.json"), strict=True):
            self.assert_like_sample(message, sample)
        data = [m["payload"]["nova_object.data"] for m in sent]
        self.assertEqual([states.DELETING] * 3 + [None], [d["task_state"] for d in data])
        self.assertTrue(data[0]["ip_addresses"], "delete.start shows the server's IPs")
        self.assertEqual([], data[2]["ip_addresses"])
        self.assertEqual([], data[3]["ip_addresses"])
        end = data[3]
        self.assertEqual((states.DELETED, "pending", instance.uuid),
                         (end["state"], end["power_state"], end["uuid"]))
        self.assertIsNotNone(end["deleted_at"])
        self.assertIsNotNone(end["terminated_at"])
        self.assertEqual("m1.tiny", end["flavor"]["nova_object.data"]["name"])
        self.assertEqual({}, await ended[0])
        self.assertEqual(["compute.instance.delete.start", "compute.instance.shutdown.start",
                          "compute.instance.shutdown.end", "compute.instance.delete.end"],
                         self.legacy_events()[legacy_before:])
        legacy_end = self.messages(self.legacy)[-1]["payload"]
        self.assertEqual((instance.uuid, states.DELETED),
                         (legacy_end["instance_id"], legacy_end["state"]))
        self.assertNotEqual("", legacy_end["deleted_at"])

    async def test_soft_delete_sends_soft_delete(self):
        instance = await self.active()
        sent_before = len(self.messages(self.versioned))
        await self.h.manager.soft_delete_instance(
            self.h.context(), await self.asked(instance, states.SOFT_DELETING))
        start, end = self.messages(self.versioned)[sent_before:]
        self.assert_like_sample(start, "instance-soft_delete-start.json")
        self.assert_like_sample(end, "instance-soft_delete-end.json")
        self.assertEqual((states.ACTIVE, states.SOFT_DELETING),
                         (start["payload"]["nova_object.data"]["state"],
                          start["payload"]["nova_object.data"]["task_state"]))
        self.assertEqual((states.SOFT_DELETED, None, "shutdown"),
                         (end["payload"]["nova_object.data"]["state"],
                          end["payload"]["nova_object.data"]["task_state"],
                          end["payload"]["nova_object.data"]["power_state"]))
        self.assertEqual(["compute.instance.soft_delete.start",
                          "compute.instance.soft_delete.end"], self.legacy_events()[-2:])

    async def test_failed_destroy_sends_no_delete_end(self):
        instance = await self.active()

        async def broken_destroy(*args, **kwargs):
            raise RuntimeError("the guest will not die")

        self.h.driver.destroy = broken_destroy
        sent_before = len(self.messages(self.versioned))
        with self.assertRaises(RuntimeError):
            await self.h.manager.terminate_instance(
                self.h.context(), await self.asked(instance, states.DELETING), [])
        self.assertEqual(["instance.delete.start", "instance.shutdown.start"],
                         [m["event_type"] for m in self.messages(self.versioned)[sent_before:]])
        self.assertEqual(states.ERROR, (await self.h.read(instance.uuid)).vm_state)

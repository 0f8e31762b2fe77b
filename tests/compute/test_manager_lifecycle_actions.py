"""Restore, rebuild, rescue/unrescue, snapshot and the crash dump on a built instance:
the task states and compare-and-swaps Nova makes, the driver's work (on the fake
driver), the events, faults and ERROR states of failures, and the versioned and legacy
notifications, checked against Nova's samples."""
from __future__ import annotations

import datetime
import json

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface import implementer_only

from nova_tx import exception
from nova_tx.bus.interfaces import TOPIC, Binding
from nova_tx.bus.notifier import get_notifier, get_versioned_notifier
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.compute.manager.crash_dump import TriggerCrashDumpNotSupported
from nova_tx.compute.manager.rescue import InstanceNotRescuable, RescueNotSupported
from nova_tx.compute.manager.snapshot import SnapshotNotSupported
from nova_tx.db.main import instances
from nova_tx.notifications.instance import InstanceNotifier
from nova_tx.virt import driver as virt_driver
from nova_tx.virt.fake import FakeDriver, InstanceNotRunning
from tests.api.flavor_server import notification_sample
from tests.api.test_server_notifications import resolved
from tests.bus import Collector
from tests.compute.harness import ComputeHarness

LONG_AGO = datetime.datetime(2000, 1, 1)


@implementer_only(virt_driver.IComputeDriver)
class BareDriver(FakeDriver):
    """A driver that can neither snapshot, rescue nor dump (the optional interfaces
    FakeDriver declares are not provided)."""


class SpawnFails(FakeDriver):
    fail_spawn = False

    def spawn(self, *args, **kwargs):
        if self.fail_spawn:
            return defer.fail(RuntimeError("no room for the new disk"))
        return super().spawn(*args, **kwargs)

    def rescue(self, *args, **kwargs):
        return defer.fail(RuntimeError("rescue disk broken"))


class ActionsTestBase:
    driver_class = FakeDriver
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(
            self, driver_class=self.driver_class,
            notifications__notification_format="both",
            oslo_messaging_notifications__driver=["messagingv2"]).start()
        exchange = self.h.conf.control_exchange
        self.h.bus.declare_exchange(exchange, TOPIC)
        self.versioned, self.legacy = Collector(), Collector()
        for key, collector in (("versioned_notifications.info", self.versioned),
                               ("versioned_notifications.error", self.versioned),
                               ("notifications.info", self.legacy),
                               ("notifications.error", self.legacy)):
            self.h.bus.declare_queue(key, [Binding(exchange, key)])
            self.h.bus.consume(key, collector)
        conf = self.h.conf
        self.h.manager.notifier = InstanceNotifier(
            conf, legacy=get_notifier(self.h.bus, conf, "compute"),
            versioned=get_versioned_notifier(self.h.bus, conf, f"nova-compute:{conf.host}"))
        self.instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(self.instance))
        self.sent_before = len(self.messages(self.versioned))
        self.legacy_before = len(self.messages(self.legacy))

    @staticmethod
    def messages(collector):
        return [json.loads(m["oslo.message"]) for m in collector.decoded()]

    def sent(self):
        return self.messages(self.versioned)[self.sent_before:]

    def legacy_sent(self):
        return [m["event_type"] for m in self.messages(self.legacy)[self.legacy_before:]]

    def assert_like_sample(self, sent, name):
        expected = resolved(notification_sample(name))
        self.assertEqual((expected["event_type"], expected["priority"]),
                         (sent["event_type"], sent["priority"]))
        payload = expected["payload"]
        self.assertEqual((payload["nova_object.name"], payload["nova_object.version"],
                          sorted(payload["nova_object.data"])),
                         (sent["payload"]["nova_object.name"],
                          sent["payload"]["nova_object.version"],
                          sorted(sent["payload"]["nova_object.data"])), name)
        self.assertTrue(sent["publisher_id"].startswith("nova-compute:"))

    async def asked(self, task_state, **values):
        """The instance as the API leaves it before its cast."""
        values["task_state"] = task_state
        return (await self.h.pool.do(instances.update, self.instance.uuid, values,
                                     expected_attrs=["system_metadata", "flavor"])
                ).to_primitive()

    async def state(self):
        found = await self.h.read(self.instance.uuid)
        return found.vm_state, found.task_state, found.power_state

    async def image(self, image_id):
        status, _, body = await self.h.image.request("GET", f"/v2/images/{image_id}")
        return status, body

    async def new_image(self, **fields):
        body = {"name": "snap", "visibility": "public", **fields}
        status, _, image = await self.h.image.request("POST", "/v2/images", body)
        assert status == 201, image
        return image


class LifecycleActionsTest(ActionsTestBase, unittest.TestCase):
    async def test_restore_powers_on_a_soft_deleted_instance(self):
        manager = self.h.manager
        await manager.soft_delete_instance(self.h.context(),
                                           await self.asked(states.SOFT_DELETING))
        self.assertEqual((states.SOFT_DELETED, None, states.SHUTDOWN), await self.state())
        await manager.restore_instance(self.h.context(),
                                       await self.asked(states.RESTORING))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        self.assertIn(("restore", "compute_restore_instance", "Success"),
                      await self.h.events(self.instance.uuid))
        start, end = self.sent()[-2:]
        self.assert_like_sample(start, "instance-restore-start.json")
        self.assert_like_sample(end, "instance-restore-end.json")
        self.assertEqual((states.SOFT_DELETED, states.RESTORING),
                         (start["payload"]["nova_object.data"]["state"],
                          start["payload"]["nova_object.data"]["task_state"]))
        self.assertEqual(["compute.instance.restore.start", "compute.instance.restore.end"],
                         self.legacy_sent()[-2:])

    async def test_a_restore_the_api_did_not_ask_for_changes_nothing(self):
        await self.h.manager.soft_delete_instance(self.h.context(),
                                                  await self.asked(states.SOFT_DELETING))
        with self.assertRaises(exception.UnexpectedTaskStateError):
            await self.h.manager.restore_instance(self.h.context(), await self.asked(None))
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.SOFT_DELETED, None), (found.vm_state, found.task_state))

    async def test_rebuild_spawns_the_new_image_on_the_same_host(self):
        image = await self.new_image(disk_format="raw", container_format="bare")
        await self.h.image.request("PUT", f"/v2/images/{image['id']}/file", None,
                                   raw=b"new root disk",
                                   headers={"content-type": "application/octet-stream"})
        old_guest = self.h.driver.guests[self.instance.uuid]
        ports = await self.h.ports_of(self.instance.uuid)
        allocations = await self.h.allocations(self.instance.uuid)
        asked = await self.asked(states.REBUILDING, image_ref=image["id"],
                                 launched_at=LONG_AGO)
        await self.h.manager.rebuild_instance(
            self.h.context(), asked, orig_image_ref=self.h.image_id, image_ref=image["id"],
            injected_files=[], new_pass="secret", orig_sys_metadata={})
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))
        guest = self.h.driver.guests[self.instance.uuid]
        self.assertIsNot(old_guest, guest)
        self.assertEqual(image["id"], guest.image)
        self.assertGreater(found.launched_at, LONG_AGO)
        # Same host, same ports, same allocations.
        self.assertEqual(ports, await self.h.ports_of(self.instance.uuid))
        self.assertEqual(allocations, await self.h.allocations(self.instance.uuid))
        self.assertIn(("rebuild", "compute_rebuild_instance", "Success"),
                      await self.h.events(self.instance.uuid))
        start, end = self.sent()[-2:]
        self.assert_like_sample(start, "instance-rebuild-start.json")
        self.assert_like_sample(end, "instance-rebuild-end.json")
        self.assertEqual(image["id"], end["payload"]["nova_object.data"]["image_uuid"])
        self.assertEqual(["compute.instance.rebuild.start", "compute.instance.rebuild.end"],
                         self.legacy_sent()[-2:])

    async def test_the_destroys_late_stopped_event_does_not_stop_the_rebuilt_guest(self):
        from twisted.internet import reactor, task

        self.h.conf.set_override("handle_virt_lifecycle_events", True, group="workarounds")
        self.assertTrue(self.h.manager.lifecycle.register())
        await self.h.manager.rebuild_instance(
            self.h.context(), await self.asked(states.REBUILDING), self.h.image_id,
            self.h.image_id, [], None, {})
        # The driver's events (stopped by the destroy, started by the spawn) arrive
        # after the rebuild; the stopped one no longer says what the guest is.
        await task.deferLater(reactor, 0.05, lambda: None)
        await defer.gatherResults(list(self.h.manager.lifecycle.in_progress))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())

    async def test_rebuild_of_a_stopped_instance_leaves_it_stopped(self):
        await self.h.manager.stop_instance(self.h.context(),
                                           await self.asked(states.POWERING_OFF))
        await self.h.manager.rebuild_instance(
            self.h.context(), await self.asked(states.REBUILDING), self.h.image_id,
            self.h.image_id, [], None, {})
        self.assertEqual((states.STOPPED, None, states.SHUTDOWN), await self.state())

    async def test_rescue_and_unrescue(self):
        rescue_image = await self.new_image(disk_format="raw", container_format="bare")
        manager = self.h.manager
        await manager.rescue_instance(self.h.context(), await self.asked(states.RESCUING),
                                      "pw", rescue_image["id"])
        self.assertEqual((states.RESCUED, None, states.RUNNING), await self.state())
        self.assertEqual(rescue_image["id"],
                         self.h.driver.guests[self.instance.uuid].rescue_image)
        start, end = self.sent()[-2:]
        self.assert_like_sample(start, "instance-rescue-start.json")
        self.assert_like_sample(end, "instance-rescue-end.json")
        self.assertEqual(rescue_image["id"],
                         end["payload"]["nova_object.data"]["rescue_image_ref"])
        self.assertEqual(states.RESCUING, start["payload"]["nova_object.data"]["task_state"])
        await manager.unrescue_instance(self.h.context(),
                                        await self.asked(states.UNRESCUING))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        self.assertIsNone(self.h.driver.guests[self.instance.uuid].rescue_image)
        start, end = self.sent()[-2:]
        self.assert_like_sample(start, "instance-unrescue-start.json")
        self.assert_like_sample(end, "instance-unrescue-end.json")
        events = await self.h.events(self.instance.uuid)
        self.assertIn(("rescue", "compute_rescue_instance", "Success"), events)
        self.assertIn(("unrescue", "compute_unrescue_instance", "Success"), events)
        self.assertEqual(["compute.instance.rescue.start", "compute.instance.rescue.end",
                          "compute.instance.unrescue.start",
                          "compute.instance.unrescue.end"], self.legacy_sent()[-4:])

    async def test_rescue_without_an_image_uses_the_servers(self):
        await self.h.manager.rescue_instance(
            self.h.context(), await self.asked(states.RESCUING), "pw", None)
        self.assertEqual(self.h.image_id,
                         self.h.driver.guests[self.instance.uuid].rescue_image)

    async def test_snapshot_uploads_the_disk_through_the_image_service(self):
        queued = await self.new_image(visibility="private")
        await self.h.manager.snapshot_instance(
            self.h.context(), queued["id"], await self.asked(states.IMAGE_SNAPSHOT_PENDING))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        status, image = await self.image(queued["id"])
        self.assertEqual((200, "active", "raw", "bare"),
                         (status, image["status"], image["disk_format"],
                          image["container_format"]))
        status, _, data = await self.h.image.request("GET",
                                                     f"/v2/images/{queued['id']}/file")
        self.assertEqual(self.h.driver.disk_contents(self.instance.uuid), data)
        start, end = self.sent()[-2:]
        self.assert_like_sample(start, "instance-snapshot-start.json")
        self.assert_like_sample(end, "instance-snapshot-end.json")
        self.assertEqual(states.IMAGE_SNAPSHOT,
                         start["payload"]["nova_object.data"]["task_state"])
        self.assertEqual(queued["id"],
                         end["payload"]["nova_object.data"]["snapshot_image_id"])
        self.assertIn(("createImage", "compute_snapshot_instance", "Success"),
                      await self.h.events(self.instance.uuid))

    async def test_snapshot_of_an_instance_being_deleted_stops_quietly(self):
        queued = await self.new_image()
        await self.h.manager.snapshot_instance(self.h.context(), queued["id"],
                                               await self.asked(states.DELETING))
        self.assertEqual((states.ACTIVE, states.DELETING, states.RUNNING),
                         await self.state())
        self.assertEqual([], self.sent())

    async def test_trigger_crash_dump(self):
        await self.h.manager.trigger_crash_dump(self.h.context(),
                                                self.instance.to_primitive())
        self.assertEqual(1, self.h.driver.guests[self.instance.uuid].crash_dumps)
        start, end = self.sent()[-2:]
        self.assert_like_sample(start, "instance-trigger_crash_dump-start.json")
        self.assert_like_sample(end, "instance-trigger_crash_dump-end.json")
        self.assertIn(("trigger_crash_dump", "compute_trigger_crash_dump", "Success"),
                      await self.h.events(self.instance.uuid))

    async def test_crash_dump_of_a_stopped_guest_is_a_fault(self):
        self.h.driver.guests[self.instance.uuid].state = states.SHUTDOWN
        with self.assertRaises(InstanceNotRunning):
            await self.h.manager.trigger_crash_dump(self.h.context(),
                                                    self.instance.to_primitive())
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ACTIVE, 409), (found.vm_state, found.fault.code))
        self.assertIn(("trigger_crash_dump", "compute_trigger_crash_dump", "Error"),
                      await self.h.events(self.instance.uuid))


class DriverFailuresTest(ActionsTestBase, unittest.TestCase):
    driver_class = SpawnFails

    async def test_a_failed_rebuild_spawn_is_an_error(self):
        self.h.driver.fail_spawn = True
        with self.assertRaises(RuntimeError):
            await self.h.manager.rebuild_instance(
                self.h.context(), await self.asked(states.REBUILDING), self.h.image_id,
                self.h.image_id, [], None, {})
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ERROR, None), (found.vm_state, found.task_state))
        self.assertEqual("RuntimeError", found.fault.message)
        error = self.sent()[-1]
        self.assert_like_sample(error, "instance-rebuild-error.json")
        self.assertIn("no room for the new disk", error["payload"]["nova_object.data"][
            "fault"]["nova_object.data"]["exception_message"])
        self.assertEqual("compute.instance.rebuild.error", self.legacy_sent()[-1])

    async def test_a_failed_rescue_is_an_error(self):
        with self.assertRaises(InstanceNotRescuable):
            await self.h.manager.rescue_instance(
                self.h.context(), await self.asked(states.RESCUING), "pw", None)
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ERROR, None), (found.vm_state, found.task_state))
        self.assertIn("Driver Error: rescue disk broken", found.fault.message)


class UnsupportedDriverTest(ActionsTestBase, unittest.TestCase):
    driver_class = BareDriver

    async def test_rescue_snapshot_and_crash_dump_are_refused(self):
        with self.assertRaises(RescueNotSupported):
            await self.h.manager.rescue_instance(
                self.h.context(), await self.asked(states.RESCUING), "pw", None)
        # Refused before the guest was touched: it runs, the task is cleared.
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        self.assertEqual(501, (await self.h.read(self.instance.uuid)).fault.code)
        queued = await self.new_image()
        with self.assertRaises(SnapshotNotSupported):
            await self.h.manager.snapshot_instance(
                self.h.context(), queued["id"],
                await self.asked(states.IMAGE_SNAPSHOT_PENDING))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        # Nova's @delete_image_on_error.
        self.assertEqual(404, (await self.image(queued["id"]))[0])
        with self.assertRaises(TriggerCrashDumpNotSupported):
            await self.h.manager.trigger_crash_dump(self.h.context(),
                                                    self.instance.to_primitive())
        self.assertEqual(400, (await self.h.read(self.instance.uuid)).fault.code)

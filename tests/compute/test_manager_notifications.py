"""The compute's instance notifications on the bus: ``instance.create.start/end`` of a
build, ``instance.create.error`` of a failed one, ``instance.power_off/power_on/pause/
unpause/suspend/resume/reboot.start/end`` of the power actions, versioned (as Nova's
samples) and legacy (``compute.instance.*``)."""
from __future__ import annotations

import json

from twisted.trial import unittest

from nova_tx.bus.interfaces import TOPIC, Binding
from nova_tx.bus.notifier import get_notifier, get_versioned_notifier
from nova_tx.compute import states
from nova_tx.db.main import instances
from nova_tx.notifications.instance import InstanceNotifier
from tests.api.flavor_server import notification_sample
from tests.api.test_server_notifications import resolved
from tests.bus import Collector
from tests.compute.harness import ComputeHarness


class ComputeNotificationsTest(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(
            self, notifications__notification_format="both",
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

    @staticmethod
    def messages(collector):
        return [json.loads(m["oslo.message"]) for m in collector.decoded()]

    def events(self):
        return [m["event_type"] for m in self.messages(self.versioned)]

    def legacy_events(self):
        return [m["event_type"] for m in self.messages(self.legacy)]

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

    async def test_build_and_power_actions(self):
        instance = await self.h.make_instance()
        self.assertEqual("active", await self.h.build(instance))
        start, end = self.messages(self.versioned)[-2:]
        self.assert_like_sample(start, "instance-create-start.json")
        self.assert_like_sample(end, "instance-create-end.json")
        self.assertEqual((states.BUILDING, states.ACTIVE),
                         (start["payload"]["nova_object.data"]["state"],
                          end["payload"]["nova_object.data"]["state"]))
        self.assertEqual(["compute.instance.create.start", "compute.instance.create.end"],
                         self.legacy_events()[-2:])
        manager = self.h.manager
        steps = [
            ("stop_instance", states.POWERING_OFF, "instance-power_off"),
            ("start_instance", states.POWERING_ON, "instance-power_on"),
            ("pause_instance", states.PAUSING, "instance-pause"),
            ("unpause_instance", states.UNPAUSING, "instance-unpause"),
            ("suspend_instance", states.SUSPENDING, "instance-suspend"),
            ("resume_instance", states.RESUMING, "instance-resume"),
        ]
        for method, task_state, sample in steps:
            # The API's half: the task state set before the cast.
            await self.h.pool.do(instances.update, instance.uuid, {"task_state": task_state})
            current = await self.h.read(instance.uuid)
            await getattr(manager, method)(self.h.context(), current.to_primitive())
            start, end = self.messages(self.versioned)[-2:]
            self.assert_like_sample(start, f"{sample}-start.json")
            self.assert_like_sample(end, f"{sample}-end.json")
            self.assertIsNone(end["payload"]["nova_object.data"]["task_state"], method)
        await self.h.pool.do(instances.update, instance.uuid,
                             {"task_state": states.REBOOTING})
        current = await self.h.read(instance.uuid)
        await manager.reboot_instance(self.h.context(), current.to_primitive(),
                                      reboot_type="SOFT")
        start, end = self.messages(self.versioned)[-2:]
        self.assert_like_sample(start, "instance-reboot-start.json")
        self.assert_like_sample(end, "instance-reboot-end.json")
        self.assertIn("compute.instance.power_off.end", self.legacy_events())

    async def test_failed_build_sends_create_error(self):
        async def broken_spawn(*args, **kwargs):
            raise RuntimeError("the hypervisor is on fire")

        self.h.driver.spawn = broken_spawn
        instance = await self.h.make_instance()
        await self.h.build(instance, retry=False)
        error = self.messages(self.versioned)[-1]
        self.assert_like_sample(error, "instance-create-error.json")
        fault = error["payload"]["nova_object.data"]["fault"]["nova_object.data"]
        self.assertEqual("ExceptionPayload", error["payload"]["nova_object.data"]["fault"][
            "nova_object.name"])
        self.assertIn("the hypervisor is on fire", fault["exception_message"])
        self.assertEqual("compute.instance.create.error", self.legacy_events()[-1])

"""Power actions, console output and deletes on a built instance: the states and
compare-and-swaps Nova makes, faults and task state reverts when the driver fails."""
from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.db.main import instances
from nova_tx.virt.fake import FakeDriver
from tests.compute.harness import HOST, ComputeHarness


class PauseFails(FakeDriver):
    def pause(self, instance):
        return defer.fail(RuntimeError("the monitor went away"))

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None):
        return defer.fail(RuntimeError("reboot refused"))


class PowerTests:
    driver_class = FakeDriver
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self, driver_class=self.driver_class).start()
        self.instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(self.instance))

    async def asked(self, task_state, **values):
        """The instance as the API leaves it before its cast."""
        values["task_state"] = task_state
        return (await self.h.pool.do(instances.update, self.instance.uuid, values)
                ).to_primitive()

    async def state(self):
        found = await self.h.read(self.instance.uuid)
        return found.vm_state, found.task_state, found.power_state


class PowerTest(PowerTests, unittest.TestCase):
    async def test_stop_then_start(self):
        await self.h.manager.stop_instance(self.h.context(), await self.asked(states.POWERING_OFF))
        self.assertEqual((states.STOPPED, None, states.SHUTDOWN), await self.state())
        self.assertEqual(states.SHUTDOWN, self.h.driver.guests[self.instance.uuid].state)
        await self.h.manager.start_instance(self.h.context(), await self.asked(states.POWERING_ON))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        events = await self.h.events(self.instance.uuid)
        self.assertIn(("stop", "compute_stop_instance", "Success"), events)
        self.assertIn(("start", "compute_start_instance", "Success"), events)

    async def test_a_stop_the_api_did_not_ask_for_changes_nothing(self):
        with self.assertRaises(exception.UnexpectedTaskStateError):
            await self.h.manager.stop_instance(self.h.context(), await self.asked(None))
        # The guest was stopped, but the record says what the API asked: nothing; the
        # lost race is the instance's latest fault, as Nova's @wrap_instance_fault has it.
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        self.assertIn("Conflict updating instance",
                      (await self.h.read(self.instance.uuid)).fault.message)

    async def test_soft_and_hard_reboot(self):
        await self.h.manager.reboot_instance(self.h.context(), await self.asked(states.REBOOTING),
                                             None, "SOFT")
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        await self.h.manager.stop_instance(self.h.context(), await self.asked(states.POWERING_OFF))
        await self.h.manager.reboot_instance(
            self.h.context(), await self.asked(states.REBOOTING_HARD), None, "HARD")
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        console = await self.h.manager.get_console_output(
            self.h.context(), self.instance.to_primitive(), None)
        self.assertIn("reboot (SOFT)", console)
        self.assertIn("reboot (HARD)", console)

    async def test_pause_unpause_suspend_resume(self):
        manager = self.h.manager
        await manager.pause_instance(self.h.context(), await self.asked(states.PAUSING))
        self.assertEqual((states.PAUSED, None, states.POWER_PAUSED), await self.state())
        await manager.unpause_instance(self.h.context(), await self.asked(states.UNPAUSING))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())
        await manager.suspend_instance(self.h.context(), await self.asked(states.SUSPENDING))
        self.assertEqual((states.SUSPENDED, None, states.POWER_SUSPENDED), await self.state())
        await manager.resume_instance(self.h.context(), await self.asked(states.RESUMING))
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state())

    async def test_console_output_tail(self):
        self.h.driver.guests[self.instance.uuid].console[:] = [b"one\n", b"two\n", b"three"]
        primitive = self.instance.to_primitive()
        get = self.h.manager.get_console_output
        self.assertEqual("one\ntwo\nthree", await get(self.h.context(), primitive, None))
        self.assertEqual("two\nthree", await get(self.h.context(), primitive, 2))
        self.assertEqual("", await get(self.h.context(), primitive, 0))

    async def test_terminate_removes_everything(self):
        await self.h.manager.terminate_instance(self.h.context(), await self.asked(states.DELETING),
                                                [])
        gone = await self.h.pool.do(instances.get, self.instance.uuid, read_deleted="yes")
        self.assertTrue(gone.deleted)
        self.assertEqual((states.DELETED, None, states.NOSTATE),
                         (gone.vm_state, gone.task_state, gone.power_state))
        self.assertIsNotNone(gone.terminated_at)
        self.assertNotIn(self.instance.uuid, self.h.driver.guests)
        self.assertNotIn(self.instance.uuid, self.h.rt.tracked)
        self.assertEqual({}, await self.h.allocations(self.instance.uuid))
        self.assertEqual([], await self.h.ports_of(self.instance.uuid))
        self.assertIn(("delete", {"host": HOST, "uuid": self.instance.uuid}),
                      self.h.scheduler.messages)

    async def test_soft_delete_powers_off_and_keeps_the_instance(self):
        await self.h.manager.soft_delete_instance(
            self.h.context(), await self.asked(states.SOFT_DELETING))
        self.assertEqual((states.SOFT_DELETED, None, states.SHUTDOWN), await self.state())
        self.assertIn(self.instance.uuid, self.h.driver.guests)
        self.assertNotEqual({}, await self.h.allocations(self.instance.uuid))


class DriverFailureTest(PowerTests, unittest.TestCase):
    driver_class = PauseFails

    async def test_a_failed_pause_records_a_fault_and_clears_the_task(self):
        with self.assertRaises(RuntimeError):
            await self.h.manager.pause_instance(self.h.context(), await self.asked(states.PAUSING))
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ACTIVE, None), (found.vm_state, found.task_state))
        self.assertEqual((500, "RuntimeError"), (found.fault.code, found.fault.message))
        self.assertIn(("pause", "compute_pause_instance", "Error"),
                      await self.h.events(self.instance.uuid))

    async def test_a_failed_reboot_of_a_running_guest_is_not_an_error(self):
        await self.h.manager.reboot_instance(self.h.context(), await self.asked(states.REBOOTING),
                                             None, "SOFT")
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))
        self.assertEqual("RuntimeError", found.fault.message)

    async def test_a_failed_reboot_of_a_stopped_guest_is_an_error(self):
        self.h.driver.guests[self.instance.uuid].state = states.SHUTDOWN
        with self.assertRaises(RuntimeError):
            await self.h.manager.reboot_instance(
                self.h.context(), await self.asked(states.REBOOTING_HARD), None, "HARD")
        found = await self.h.read(self.instance.uuid)
        self.assertEqual((states.ERROR, None), (found.vm_state, found.task_state))

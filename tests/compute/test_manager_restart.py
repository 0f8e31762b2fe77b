"""``init_host``: what a compute reconciles at start-up, case by case (Nova's
``_init_instance`` and the reconciliation with Placement)."""
from __future__ import annotations

import uuid as uuidlib

from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.db.main import instances
from nova_tx.virt.fake import FakeGuest
from tests.compute.harness import ComputeHarness


class RestartTest(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self).start()

    async def built(self, **then):
        instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
        if then:
            await self.h.pool.do(instances.update, instance.uuid, then)
        return instance

    async def restart(self):
        """A new manager on the same hypervisor and records, as after a restart."""
        self.h.manager = self.h.make_manager()
        return await self.h.manager.init_host(self.h.admin)

    async def state(self, instance):
        found = await self.h.read(instance.uuid)
        return found.vm_state, found.task_state, found.power_state

    async def test_an_interrupted_build_goes_to_error(self):
        spawning = await self.h.make_instance(task_state=states.SPAWNING)
        report = await self.restart()
        self.assertEqual([spawning.uuid], report.errored)
        self.assertEqual((states.ERROR, None), (await self.state(spawning))[:2])

    async def test_a_build_whose_cast_was_lost_goes_to_error(self):
        lost = await self.h.make_instance(host=None, node=None)
        report = await self.restart()
        self.assertNotIn(lost.uuid, report.found)
        self.assertEqual([lost.uuid], report.errored)
        self.assertEqual((states.ERROR, None), (await self.state(lost))[:2])

    async def test_an_interrupted_stop_is_run_again(self):
        instance = await self.built(task_state=states.POWERING_OFF)
        report = await self.restart()
        self.assertEqual([instance.uuid], report.retried)
        self.assertEqual((states.STOPPED, None, states.SHUTDOWN), await self.state(instance))

    async def test_an_interrupted_soft_reboot_is_run_again(self):
        instance = await self.built(task_state=states.REBOOT_PENDING)
        await self.restart()
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state(instance))

    async def test_an_interrupted_delete_is_finished(self):
        instance = await self.built(task_state=states.DELETING)
        report = await self.restart()
        self.assertEqual([instance.uuid], report.deleted)
        gone = await self.h.pool.do(instances.get, instance.uuid, read_deleted="yes")
        self.assertTrue(gone.deleted)
        self.assertNotIn(instance.uuid, self.h.driver.guests)
        self.assertEqual({}, await self.h.allocations(instance.uuid))
        self.assertEqual([], await self.h.ports_of(instance.uuid))

    async def test_a_snapshot_task_left_behind_is_cleared(self):
        instance = await self.built(task_state=states.IMAGE_SNAPSHOT)
        await self.restart()
        self.assertEqual((states.ACTIVE, None, states.RUNNING), await self.state(instance))

    async def test_a_guest_that_stopped_while_down_is_stopped_without_resume(self):
        instance = await self.built()
        self.h.driver.guests[instance.uuid].state = states.SHUTDOWN
        await self.restart()
        for _ in range(100):
            if not self.h.manager.power.pending:
                break
            await list(self.h.manager.power.pending.values())[0]
        self.assertEqual((states.STOPPED, None, states.SHUTDOWN), await self.state(instance))

    async def test_a_guest_no_instance_knows_is_left_alone(self):
        stranger = str(uuidlib.uuid4())
        self.h.driver.guests[stranger] = FakeGuest(stranger, "stranger", states.RUNNING,
                                                   1, 64, 1)
        report = await self.restart()
        self.assertEqual([stranger], report.unknown_guests)
        self.assertIn(stranger, self.h.driver.guests)

    async def test_allocations_of_an_instance_deleted_elsewhere_are_removed(self):
        instance = await self.built()
        await self.h.pool.do(instances.destroy, instance.uuid)
        del self.h.driver.guests[instance.uuid]
        report = await self.restart()
        self.assertEqual([instance.uuid], report.removed_allocations)
        self.assertEqual({}, await self.h.allocations(instance.uuid))

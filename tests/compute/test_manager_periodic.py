"""The compute manager's periodic tasks and the driver's lifecycle events: which
tasks run at which interval, and what each does to the instances of the host."""
from __future__ import annotations

import datetime
import os
import time

from twisted.internet import task
from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.compute.manager.image_cache import base_name
from nova_tx.db.main import instances
from nova_tx.virt import driver as virt_driver
from tests.compute.harness import HOST, ComputeHarness, compute_conf


async def eventually(condition, timeout: float = 5.0) -> None:
    """Wait (on the real reactor) until ``condition()`` holds: a fanout or a lifecycle
    event arrives after the call that caused it has returned."""
    from twisted.internet import reactor

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await task.deferLater(reactor, 0.01, lambda: None)


def _ago(seconds: int) -> datetime.datetime:
    return (datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            - datetime.timedelta(seconds=seconds))


class IntervalsTest(unittest.TestCase):
    def periodic(self, **overrides):
        from nova_tx.compute.manager.periodic import PeriodicTasks

        class Mgr:
            conf = compute_conf(self, **overrides)

        return PeriodicTasks(Mgr())

    def test_nova_defaults(self):
        self.assertEqual({"sync_power_states": 600, "heal_instance_info_cache": 60,
                          "run_image_cache_manager_pass": 2400,
                          "sync_scheduler_instance_info": 120,
                          "cleanup_running_deleted_instances": 1800},
                         self.periodic().intervals())

    def test_zero_is_the_default_spacing_and_negative_is_off(self):
        intervals = self.periodic(
            sync_power_state_interval=0, heal_instance_info_cache_interval=0,
            image_cache__manager_interval=-1, scheduler_instance_sync_interval=-1,
            reclaim_instance_interval=30, instance_build_timeout=600,
            reboot_timeout=300, running_deleted_instance_action="noop").intervals()
        self.assertEqual({"sync_power_states": 60, "reclaim_queued_deletes": 30,
                          "check_instance_build_time": 60, "poll_rebooting_instances": 60},
                         intervals)


class PeriodicTest(unittest.TestCase):
    timeout = 60
    conf_overrides: dict = {}

    async def setUp(self):
        self.h = await ComputeHarness(self, **self.conf_overrides).start()
        self.periodic = self.h.manager.periodic

    async def built(self):
        instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
        return instance

    async def set(self, instance, **values):
        return await self.h.pool.do(instances.update, instance.uuid, values)

    async def settle(self):
        """Until the stops and syncs started in the background are done."""
        manager = self.h.manager
        await eventually(lambda: not (manager.power.pending or manager.lifecycle.in_progress))

    async def test_power_sync_stops_an_instance_whose_guest_shut_down(self):
        instance = await self.built()
        self.h.driver.guests[instance.uuid].state = states.SHUTDOWN
        await self.periodic.sync_power_states(self.h.admin)
        await self.settle()
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.STOPPED, None, states.SHUTDOWN),
                         (found.vm_state, found.task_state, found.power_state))
        self.assertIn(("stop", "compute_stop_instance", "Success"),
                      await self.h.events(instance.uuid))

    async def test_power_sync_stops_a_guest_that_runs_although_stopped(self):
        instance = await self.built()
        await self.set(instance, vm_state=states.STOPPED, power_state=states.SHUTDOWN)
        await self.periodic.sync_power_states(self.h.admin)
        await self.settle()
        self.assertEqual(states.SHUTDOWN, self.h.driver.guests[instance.uuid].state)
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.STOPPED, states.SHUTDOWN),
                         (found.vm_state, found.power_state))

    async def test_power_sync_leaves_an_instance_with_a_task_alone(self):
        instance = await self.built()
        await self.set(instance, task_state=states.REBOOTING)
        self.h.driver.guests[instance.uuid].state = states.SHUTDOWN
        await self.periodic.sync_power_states(self.h.admin)
        await self.settle()
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, states.REBOOTING, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))

    async def test_a_lifecycle_event_syncs_the_power_state(self):
        instance = await self.built()
        self.assertTrue(self.h.manager.lifecycle.register())
        self.h.driver.simulate_state(instance.uuid, states.SHUTDOWN,
                                     virt_driver.EVENT_STOPPED)
        stopped = []

        async def read():
            stopped.append((await self.h.read(instance.uuid)).vm_state == states.STOPPED)

        for _ in range(200):
            await read()
            if stopped[-1]:
                break
        await self.settle()
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.STOPPED, states.SHUTDOWN),
                         (found.vm_state, found.power_state))

    async def test_info_cache_heal_reads_the_ports_again(self):
        instance = await self.built()
        ports = await self.h.ports_of(instance.uuid)
        await self.set(instance, network_info=[])
        await self.periodic.heal_instance_info_cache(self.h.admin)
        healed = await self.h.read(instance.uuid)
        self.assertEqual([p["id"] for p in ports], [v["id"] for v in healed.network_info])

    async def test_build_timeout_puts_old_builds_in_error(self):
        self.h.conf.set_override("instance_build_timeout", 3600)
        old = await self.h.make_instance(created_at=_ago(7200))
        young = await self.h.make_instance()
        await self.periodic.check_instance_build_time(self.h.admin)
        self.assertEqual(states.ERROR, (await self.h.read(old.uuid)).vm_state)
        self.assertEqual(states.BUILDING, (await self.h.read(young.uuid)).vm_state)

    async def test_reclaim_deletes_soft_deleted_instances_old_enough(self):
        self.h.conf.set_override("reclaim_instance_interval", 600)
        old, young = await self.built(), await self.built()
        await self.set(old, vm_state=states.SOFT_DELETED, deleted_at=_ago(3600))
        await self.set(young, vm_state=states.SOFT_DELETED, deleted_at=_ago(60))
        await self.periodic.reclaim_queued_deletes(self.h.admin)
        gone = await self.h.pool.do(instances.get, old.uuid, read_deleted="yes")
        self.assertTrue(gone.deleted)
        self.assertEqual({}, await self.h.allocations(old.uuid))
        self.assertNotIn(old.uuid, self.h.driver.guests)
        self.assertEqual(states.SOFT_DELETED, (await self.h.read(young.uuid)).vm_state)

    async def test_a_hung_soft_reboot_becomes_a_hard_one(self):
        self.h.conf.set_override("reboot_timeout", 60)
        instance = await self.built()
        await self.set(instance, task_state=states.REBOOT_STARTED, updated_at=_ago(600))
        await self.periodic.poll_rebooting_instances(self.h.admin)
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, None), (found.vm_state, found.task_state))
        self.assertIn("reboot (HARD)",
                      b"".join(self.h.driver.guests[instance.uuid].console).decode())

    async def test_image_cache_removes_old_unused_base_files_only(self):
        await self.built()
        base = os.path.join(self.h.conf.instances_path, "_base")
        unused_old, unused_young = base_name("old-image"), base_name("young-image")
        resized = base_name("resized-image") + "_10"
        for name in (unused_old, unused_young, resized, "not-a-base-file"):
            with open(os.path.join(base, name), "wb") as f:
                f.write(b"x")
        long_ago = time.time() - 2 * 86400
        for name in (unused_old, resized):
            os.utime(os.path.join(base, name), (long_ago, long_ago))
        used = os.path.join(base, base_name(self.h.image_id))
        os.utime(used, (long_ago, long_ago))
        removed = await self.periodic.run_image_cache_manager_pass(self.h.admin)
        self.assertEqual(sorted([unused_old, resized]), sorted(removed))
        self.assertEqual(sorted([base_name(self.h.image_id), unused_young,
                                 "not-a-base-file"]), sorted(os.listdir(base)))
        self.assertGreater(os.path.getmtime(used), long_ago + 3600)

    async def deleted_behind_its_back(self, **values):
        instance = await self.built()
        if values:
            await self.set(instance, **values)
        await self.h.pool.do(instances.destroy, instance.uuid)
        return instance

    async def test_guests_of_deleted_instances_are_reaped(self):
        deleted = await self.deleted_behind_its_back()
        alive = await self.built()
        self.assertEqual([deleted.uuid],
                         await self.periodic.cleanup_running_deleted_instances(self.h.admin))
        self.assertNotIn(deleted.uuid, self.h.driver.guests)
        self.assertIn(alive.uuid, self.h.driver.guests)

    async def test_running_deleted_instance_action_log_and_shutdown(self):
        deleted = await self.deleted_behind_its_back()
        self.h.conf.set_override("running_deleted_instance_action", "log")
        await self.periodic.cleanup_running_deleted_instances(self.h.admin)
        self.assertEqual(states.RUNNING, self.h.driver.guests[deleted.uuid].state)
        self.h.conf.set_override("running_deleted_instance_action", "shutdown")
        await self.periodic.cleanup_running_deleted_instances(self.h.admin)
        self.assertEqual(states.SHUTDOWN, self.h.driver.guests[deleted.uuid].state)

    async def test_running_deleted_instance_timeout_spares_recent_deletes(self):
        self.h.conf.set_override("running_deleted_instance_timeout", 600)
        deleted = await self.deleted_behind_its_back()
        self.assertEqual([],
                         await self.periodic.cleanup_running_deleted_instances(self.h.admin))
        self.assertIn(deleted.uuid, self.h.driver.guests)

    async def test_scheduler_sync_sends_the_instances_of_the_host(self):
        first, second = await self.built(), await self.built()
        await self.periodic.sync_scheduler_instance_info(self.h.admin)
        await eventually(lambda: any(m[0] == "sync" for m in self.h.scheduler.messages))
        self.assertIn(("sync", {"host": HOST, "uuids": sorted([first.uuid, second.uuid])}),
                      self.h.scheduler.messages)

    async def test_the_tasks_run_on_the_reactor_clock(self):
        await self.built()
        clock = task.Clock()
        self.h.manager.reactor = clock
        self.periodic.startService()
        self.addCleanup(self.periodic.stopService)
        clock.advance(119)
        self.assertNotIn("sync_scheduler_instance_info", self.periodic._running)
        self.assertFalse([m for m in self.h.scheduler.messages if m[0] == "sync"])
        clock.advance(1)
        await eventually(lambda: any(m[0] == "sync" for m in self.h.scheduler.messages))


class NoLifecycleEventsTest(PeriodicTest):
    conf_overrides = {"workarounds__handle_virt_lifecycle_events": False}

    async def test_a_lifecycle_event_syncs_the_power_state(self):
        instance = await self.built()
        self.assertFalse(self.h.manager.lifecycle.register())
        self.h.driver.simulate_state(instance.uuid, states.SHUTDOWN,
                                     virt_driver.EVENT_STOPPED)
        # The event would be delivered on the next turn of the reactor.
        from twisted.internet import reactor

        await task.deferLater(reactor, 0.2, lambda: None)
        await self.settle()
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, states.RUNNING), (found.vm_state, found.power_state))


class ServiceUserPorts:
    """The network port as with ``[neutron] auth_type = password``: admin calls carry
    the service user's token (here, the embedded service's admin)."""

    def __init__(self, network_api):
        self.network_api = network_api
        self.admin_contexts = 0

    def __getattr__(self, name):
        return getattr(self.network_api, name)

    async def admin_context(self, context):
        from nova_tx.context import RequestContext

        self.admin_contexts += 1
        return RequestContext(is_admin=True, auth_token="admin:admin-project",
                              request_id=context.request_id)


class TokenlessPeriodicTest(unittest.TestCase):
    """Periodic tasks run with an admin context of their own, without a token."""

    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self).start()

    async def test_info_cache_heal_uses_the_service_user(self):
        from nova_tx.context import RequestContext

        instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
        await self.h.pool.do(instances.update, instance.uuid, {"network_info": []})
        ports = ServiceUserPorts(self.h.network_api)
        self.h.manager.network_api = ports
        await self.h.manager.periodic.heal_instance_info_cache(RequestContext(is_admin=True))
        self.assertEqual(1, ports.admin_contexts)
        self.assertEqual(1, len((await self.h.read(instance.uuid)).network_info))

"""The driver's lifecycle events (a guest started, stopped, paused, resumed or
suspended on its own) turned into a power state sync (Nova's
``handle_lifecycle_event``), unless ``[workarounds] handle_virt_lifecycle_events`` is
off.

The driver calls back in the reactor thread; each event's sync runs on its own and
its failure is logged, so that one bad instance does not stop the others' events.
"""
from __future__ import annotations

import logging
from typing import Any

from twisted.internet import defer

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.context import RequestContext
from nova_tx.virt import driver as virt_driver

LOG = logging.getLogger("nova_tx.compute.manager.lifecycle")

#: Nova's transition → power state.
POWER_STATES = {
    virt_driver.EVENT_STOPPED: states.SHUTDOWN,
    virt_driver.EVENT_STARTED: states.RUNNING,
    virt_driver.EVENT_PAUSED: states.POWER_PAUSED,
    virt_driver.EVENT_RESUMED: states.RUNNING,
    virt_driver.EVENT_SUSPENDED: states.POWER_SUSPENDED,
}


class LifecycleHandler:
    def __init__(self, mgr: Any):
        self.mgr = mgr
        #: Syncs under way (tests wait for them).
        self.in_progress: set[defer.Deferred] = set()

    def register(self) -> bool:
        """Listen to the driver's events; False when the workaround says not to."""
        if not self.mgr.conf.workarounds.handle_virt_lifecycle_events:
            LOG.debug("Lifecycle events of the driver are not handled "
                      "([workarounds] handle_virt_lifecycle_events is off)")
            return False
        self.mgr.driver.register_event_listener(self.handle_event)
        return True

    def handle_event(self, event: virt_driver.LifecycleEvent) -> None:
        d = defer.Deferred.fromCoroutine(self.handle_lifecycle_event(event))
        self.in_progress.add(d)

        def done(result: Any) -> None:
            self.in_progress.discard(d)
            if hasattr(result, "getTraceback"):
                LOG.error("Failed to handle lifecycle event %s of instance %s: %s",
                          event.transition, event.instance_uuid, result.getTraceback())

        d.addBoth(done)

    async def handle_lifecycle_event(self, event: virt_driver.LifecycleEvent) -> None:
        power_state = POWER_STATES.get(event.transition)
        if power_state is None:
            LOG.warning("Unexpected lifecycle event: %s", event.transition)
            return
        ctxt = RequestContext(is_admin=True)
        try:
            instance = await self.mgr.conductor.instance_get_by_uuid(ctxt,
                                                                     event.instance_uuid)
        except exception.InstanceNotFound:
            LOG.debug("Event %s arrived for non-existent instance %s. The instance was "
                      "probably deleted.", event.transition, event.instance_uuid)
            return
        LOG.debug("Synchronizing instance %s power state after lifecycle event %s; "
                  "current vm_state: %s, current task_state: %s, current DB power_state: "
                  "%s, VM power_state: %s", instance.uuid, event.transition,
                  instance.vm_state, instance.task_state, instance.power_state,
                  power_state)
        async with self.mgr.locks.hold(instance.uuid):
            # Nova's: the event may be late (a rebuild's destroy is followed by its
            # spawn) and no longer say what the guest is; then it is ignored.
            current = await self.mgr.power.get_power_state(instance)
            if current != power_state:
                LOG.debug("Ignoring late event %s of instance %s: its power state is "
                          "now %s", event.transition, instance.uuid, current)
                return
            try:
                await self.mgr.power.sync_instance_power_state(ctxt, instance, power_state)
            except exception.InstanceNotFound:
                pass

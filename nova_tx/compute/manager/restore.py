"""Restore of a soft-deleted instance on this host (Nova's ``restore_instance``): the
guest, powered off by the soft delete, runs again and the instance is ACTIVE; the API
set the task state ``restoring`` and recorded the action."""
from __future__ import annotations

import logging
from typing import Any

from nova_tx.compute import states
from nova_tx.compute.manager import action_common
from nova_tx.compute.manager.power import as_instance

LOG = logging.getLogger("nova_tx.compute.manager.restore")


class RestoreManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr

    async def restore_instance(self, ctxt: Any, instance: Any) -> None:
        """The driver interface has no restore: the guest is powered on (Nova's
        fallback when a driver does not implement it)."""
        instance = as_instance(instance)
        mgr = self.mgr
        async with action_common.operation(mgr, ctxt, instance, "restore_instance",
                                           "restore", notification="restore"):
            network_info = await mgr.power._network_info(ctxt, instance)
            await mgr.driver.power_on(ctxt, instance, network_info)
            await mgr.conductor.instance_update(ctxt, instance.uuid, {
                "power_state": await mgr.power.get_power_state(instance),
                "vm_state": states.ACTIVE, "task_state": None},
                expected_task_state=[states.RESTORING])

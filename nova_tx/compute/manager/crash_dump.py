"""The crash dump of a guest (Nova's ``trigger_crash_dump``): no state changes, what
the guest does with the NMI is its configuration's affair. A driver without
``ICrashDumpDriver`` refuses (TriggerCrashDumpNotSupported, the instance's fault and
the event's error), as Nova's drivers that raise NotImplementedError do."""
from __future__ import annotations

import logging
from typing import Any

from nova_tx import exception
from nova_tx.compute.manager import action_common, common
from nova_tx.compute.manager.power import as_instance
from nova_tx.virt import driver as virt_driver

LOG = logging.getLogger("nova_tx.compute.manager.crash_dump")


class TriggerCrashDumpNotSupported(exception.Invalid):
    msg_fmt = "Triggering crash dump is not supported"


class CrashDumpManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr

    async def trigger_crash_dump(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        mgr = self.mgr
        async with action_common.operation(mgr, ctxt, instance, "trigger_crash_dump",
                                           "trigger_crash_dump",
                                           notification="trigger_crash_dump",
                                           revert_task_state=False):
            if not virt_driver.ICrashDumpDriver.providedBy(mgr.driver):
                raise TriggerCrashDumpNotSupported()
            await common.maybe(mgr.driver.trigger_crash_dump(instance))

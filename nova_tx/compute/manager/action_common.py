"""What restore, rebuild, rescue, snapshot and the crash dump share: Nova's
``@wrap_instance_fault``, ``@reverts_task_state`` and
``@wrap_instance_event(prefix='compute')`` around one method, with its
``instance.<action>.start/end`` (and ``.error``) notifications, whose versioned
payload may be the action's own (``InstanceActionRebuildPayload``...)."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from nova_tx import exception
from nova_tx.compute.manager import common
from nova_tx.objects.instance import Instance

LOG = logging.getLogger("nova_tx.compute.manager")

#: ``payload(ctxt, instance, error)``: the versioned payload, or None for Nova's
#: ``InstanceActionPayload``.
PayloadFactory = Callable[[Any, Instance, BaseException | None], Any]


async def notify(mgr: Any, ctxt: Any, instance: Instance, action: str, phase: str, *,
                 payload: PayloadFactory | None = None, error: BaseException | None = None,
                 reread: bool = False) -> None:
    """``common.notify_action`` with the action's own payload."""
    notifier = getattr(mgr, "notifier", None)
    if notifier is None:
        return
    try:
        if reread:
            instance = await mgr.conductor.instance_get_by_uuid(
                ctxt, instance.uuid, expected_attrs=common.NOTIFY_ATTRS)
        notifier.notify_about_instance_action(
            ctxt, instance, action, phase, error=error, legacy_event=action,
            payload=payload(ctxt, instance, error) if payload else None)
    except exception.InstanceNotFound:
        LOG.debug("Instance %s is gone: no %s.%s notification", instance.uuid, action,
                  phase)
    except Exception:
        LOG.exception("instance.%s.%s could not be sent", action, phase)


@contextlib.asynccontextmanager
async def operation(mgr: Any, ctxt: Any, instance: Instance, method: str, action: str, *,
                    notification: str, payload: PayloadFactory | None = None,
                    error_notification: bool = False, revert_task_state: bool = True
                    ) -> AsyncIterator[None]:
    """Under the instance's lock: the event ``compute_<method>`` of the action, the
    start notification, and on the way out the end one; a failure is the instance's
    fault, clears the task state (``revert_task_state``; a preempted task keeps
    the winner's) and, with ``error_notification``, sends ``.error``."""
    async with mgr.locks.hold(instance.uuid):
        async with common.InstanceEvent(mgr, ctxt, instance.uuid, f"compute_{method}",
                                        action):
            await notify(mgr, ctxt, instance, notification, "start", payload=payload)
            try:
                yield
            except exception.InstanceNotFound:
                raise
            except exception.UnexpectedTaskStateError as error:
                LOG.info("Task possibly preempted: %s", error.format_message())
                await common.add_instance_fault(mgr, ctxt, instance, error)
                raise
            except Exception as error:
                await common.add_instance_fault(mgr, ctxt, instance, error)
                if revert_task_state:
                    await common.revert_task_state(mgr, ctxt, instance)
                if error_notification:
                    await notify(mgr, ctxt, instance, notification, "error",
                                 payload=payload, error=error, reread=True)
                raise
            await notify(mgr, ctxt, instance, notification, "end", payload=payload,
                         reread=True)

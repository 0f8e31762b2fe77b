"""What the parts of the compute manager share: per-instance locks, the build's
outcome exceptions, instance faults, instance action events, and the state changes
Nova makes in many places (``_set_instance_obj_error_state``, task state reverts).

Every write goes through the conductor's instance gateway; the helpers take the
``ComputeManager`` (``mgr``) for its ``conductor``, ``host`` and ``reactor``.
"""
from __future__ import annotations

import contextlib
import logging
import traceback as tb
from collections.abc import AsyncIterator
from typing import Any

from twisted.internet import defer

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.objects.instance import Instance, InstanceFault

LOG = logging.getLogger("nova_tx.compute.manager")

SUCCESS = "Success"
ERROR = "Error"


class RescheduledException(exception.NovaException):
    """The build failed here but may succeed on an alternate host (Nova's)."""

    msg_fmt = "Build of instance %(instance_uuid)s was re-scheduled: %(reason)s"


class BuildAbortException(exception.NovaException):
    """The build failed for a reason another host would not change (Nova's)."""

    msg_fmt = "Build of instance %(instance_uuid)s aborted: %(reason)s"


class VirtualInterfaceCreateException(exception.NovaException):
    msg_fmt = "Virtual Interface creation failed"


class ConsoleNotAvailable(exception.NovaException):
    msg_fmt = "Guest does not have a console available."
    code = 409


#: Nova's ``build_results``.
ACTIVE = "active"
FAILED = "failed"
RESCHEDULED = "rescheduled"

#: Nova's task state groups.
SOFT_REBOOT_STATES = (states.REBOOTING, states.REBOOT_PENDING, states.REBOOT_STARTED)
HARD_REBOOT_STATES = (states.REBOOTING_HARD, states.REBOOT_PENDING_HARD,
                      states.REBOOT_STARTED_HARD)
ALLOW_SOFT_REBOOT = (states.ACTIVE,)
ALLOW_HARD_REBOOT = ALLOW_SOFT_REBOOT + (states.STOPPED, states.PAUSED, states.SUSPENDED,
                                         states.ERROR)
#: Power states in which a guest counts as off (Nova's ``_sync_instance_power_state``).
POWERED_OFF = (states.NOSTATE, states.SHUTDOWN, states.CRASHED)


async def maybe(value: Any) -> Any:
    """``value`` or, when it is a Deferred or a coroutine, what it gives."""
    if isinstance(value, defer.Deferred):
        return await value
    if hasattr(value, "__await__"):
        return await value
    return value


async def network_context(mgr: Any, ctxt: Any) -> Any:
    """The context of a network call: the caller's, or for the compute's own work
    (periodic tasks, start-up: an admin context without a token) Nova's service
    user's, as Nova's neutron client does for an admin context."""
    if getattr(ctxt, "auth_token", None) is None and \
            hasattr(mgr.network_api, "admin_context"):
        return await mgr.network_api.admin_context(ctxt)
    return ctxt


class InstanceLocks:
    """Nova's ``@utils.synchronized(instance.uuid)``: one operation on an instance at a
    time (a stop and the power state sync must not interleave)."""

    def __init__(self) -> None:
        self._locks: dict[str, defer.DeferredLock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, instance_uuid: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(instance_uuid, defer.DeferredLock())
        await lock.acquire()
        try:
            yield
        finally:
            lock.release()
            if not lock.locked and not lock.waiting:
                self._locks.pop(instance_uuid, None)

    def locked(self, instance_uuid: str) -> bool:
        lock = self._locks.get(instance_uuid)
        return lock is not None and lock.locked


def fault_from_exc(instance: Instance, error: BaseException, host: str | None, *,
                   message: str | None = None) -> InstanceFault:
    """Nova's ``exception_to_dict`` and ``_get_fault_details``: the code of a Nova
    exception (500 otherwise), its message (the class name of any other exception, whose
    text might hold secrets), and the traceback only for a 500."""
    code = 500
    if isinstance(error, exception.NovaException):
        code = int(error.kwargs.get("code", 500))
        text = message or error.format_message()
    else:
        text = message or type(error).__name__
    details = None
    if code == 500:
        details = "".join(tb.format_exception(type(error), error, error.__traceback__))
    return InstanceFault(instance_uuid=instance.uuid, code=code, message=text[:255],
                         details=details, host=host)


async def add_instance_fault(mgr: Any, ctxt: Any, instance: Instance,
                             error: BaseException, *, message: str | None = None) -> None:
    """Record the fault; a failure to record it is logged, never raised over the
    error being reported."""
    try:
        await mgr.conductor.instance_fault_create(
            ctxt, fault_from_exc(instance, error, mgr.host, message=message))
    except Exception:
        LOG.exception("Could not record the fault of instance %s", instance.uuid)


async def set_error_state(mgr: Any, ctxt: Any, instance: Instance, *,
                          clean_task_state: bool = False) -> Instance | None:
    """Nova's ``_set_instance_obj_error_state``; None when the instance is gone."""
    values: dict[str, Any] = {"vm_state": states.ERROR}
    if clean_task_state:
        values["task_state"] = None
    try:
        return await mgr.conductor.instance_update(ctxt, instance.uuid, values)
    except exception.InstanceNotFound:
        LOG.debug("Instance %s disappeared before it was put in ERROR", instance.uuid)
        return None


async def revert_task_state(mgr: Any, ctxt: Any, instance: Instance) -> None:
    """Nova's ``@reverts_task_state``: an operation that failed leaves no task."""
    try:
        await mgr.conductor.instance_update(ctxt, instance.uuid, {"task_state": None})
    except exception.InstanceNotFound:
        pass
    except Exception:
        LOG.exception("Failed to revert the task state of instance %s", instance.uuid)


class InstanceEvent:
    """One step of an instance action (Nova's ``EventReporter``): started when entered,
    finished with ``Success``, or ``Error`` and the traceback when the step raises or
    calls ``failed()``. When no action exists for the request (an operation started
    by the compute itself, a periodic task's stop) the action is started here."""

    def __init__(self, mgr: Any, ctxt: Any, instance_uuid: str, event: str, action: str):
        self.mgr = mgr
        self.ctxt = ctxt
        self.instance_uuid = instance_uuid
        self.event = event
        self.action = action
        self._error: BaseException | None = None
        self._details: str | None = None
        self._started = False

    def failed(self, error: BaseException, details: str | None = None) -> None:
        self._error = error
        self._details = details

    async def __aenter__(self) -> InstanceEvent:
        gateway = self.mgr.conductor
        try:
            try:
                await gateway.action_event_start(self.ctxt, self.instance_uuid, self.event,
                                                 host=self.mgr.host)
            except exception.InstanceActionNotFound:
                await gateway.instance_action_start(self.ctxt, self.instance_uuid,
                                                    self.action)
                await gateway.action_event_start(self.ctxt, self.instance_uuid, self.event,
                                                 host=self.mgr.host)
            self._started = True
        except exception.InstanceNotFound:
            raise
        except Exception:
            LOG.exception("Could not record event %s of instance %s", self.event,
                          self.instance_uuid)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        if not self._started:
            return
        error = exc if exc is not None else self._error
        kwargs: dict[str, Any] = {"result": SUCCESS}
        if error is not None:
            kwargs = {"result": ERROR,
                      "traceback": "".join(tb.format_exception(
                          type(error), error, error.__traceback__)),
                      "details": self._details or (
                          error.format_message() if isinstance(error, exception.NovaException)
                          else type(error).__name__)}
        try:
            await self.mgr.conductor.action_event_finish(self.ctxt, self.instance_uuid,
                                                         self.event, **kwargs)
        except Exception:
            LOG.exception("Could not finish event %s of instance %s", self.event,
                          self.instance_uuid)



async def notify_action(mgr: Any, ctxt: Any, instance: Any, action: str, phase: str, *,
                        error: BaseException | None = None, reread: bool = False) -> None:
    """``instance.<action>.<phase>`` and the legacy ``compute.instance.<action>.<phase>``
    from this compute (Nova's ``notify_about_instance_action`` and
    ``_notify_about_instance_usage``). ``reread``: the instance as it is now (an end
    phase, after the action changed it). A notification never fails the action."""
    notifier = getattr(mgr, "notifier", None)
    if notifier is None:
        return
    try:
        if reread:
            instance = await mgr.conductor.instance_get_by_uuid(
                ctxt, instance.uuid, expected_attrs=NOTIFY_ATTRS)
        notifier.notify_about_instance_action(ctxt, instance, action, phase, error=error,
                                              legacy_event=action)
    except exception.InstanceNotFound:
        LOG.debug("Instance %s is gone: no %s.%s notification", instance.uuid, action,
                  phase)
    except Exception:
        LOG.exception("instance.%s.%s could not be sent", action, phase)


#: What an instance notification shows (its flavor, addresses, metadata...).
NOTIFY_ATTRS = ["flavor", "info_cache", "metadata", "system_metadata", "tags", "keypairs",
                "trusted_certs"]

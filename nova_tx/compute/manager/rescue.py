"""Rescue and unrescue on this host (Nova's ``rescue_instance`` and
``unrescue_instance``).

A rescue powers the guest off (cleanly, within the image's or ``[DEFAULT]
shutdown_timeout``) and has the driver boot it from the rescue image (the request's,
else the one the server was built from) with its own disk attached second; the
instance is then RESCUED with a new ``launched_at``. A driver failure leaves it in
ERROR (InstanceNotRescuable, "Driver Error: ..."), as Nova's does. Unrescue boots it
from its own disk again (ACTIVE); a failure there is an ERROR too (Nova's
``_error_out_instance_on_exception``). A driver without ``IRescueDriver`` refuses
before the guest is touched: the fault is recorded and the task state cleared.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import action_common, common
from nova_tx.compute.manager.power import as_instance
from nova_tx.notifications.instance_action_payloads import InstanceActionRescuePayload
from nova_tx.objects.request_spec import ImageMeta
from nova_tx.virt import driver as virt_driver

LOG = logging.getLogger("nova_tx.compute.manager.rescue")


class InstanceNotRescuable(exception.Invalid):
    msg_fmt = "Instance %(instance_id)s cannot be rescued: %(reason)s"


class RescueNotSupported(exception.NovaException):
    msg_fmt = "The hypervisor of this host cannot rescue instances"
    code = 501


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class RescueManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr

    def _check_supported(self) -> None:
        if not virt_driver.IRescueDriver.providedBy(self.mgr.driver):
            raise RescueNotSupported()

    async def _rescue_image(self, ctxt: Any, instance: Any,
                            rescue_image_ref: str | None) -> ImageMeta:
        """Nova's ``_get_rescue_image``: the request's image, else the one the server
        was built from."""
        image_ref = rescue_image_ref or (instance.system_metadata or {}).get(
            "image_base_image_ref") or instance.image_ref
        return ImageMeta.from_image(await self.mgr.image_api.get(ctxt, image_ref))

    async def rescue_instance(self, ctxt: Any, instance: Any, rescue_password: str | None,
                              rescue_image_ref: str | None = None,
                              clean_shutdown: bool = True) -> None:
        instance = as_instance(instance)
        mgr = self.mgr

        def payload(c: Any, i: Any, error: BaseException | None) -> Any:
            return InstanceActionRescuePayload(c, i, rescue_image_ref, error)

        async with action_common.operation(mgr, ctxt, instance, "rescue_instance",
                                           "rescue", notification="rescue",
                                           payload=payload):
            self._check_supported()
            network_info = await mgr.power._network_info(ctxt, instance)
            image_meta = await self._rescue_image(ctxt, instance, rescue_image_ref)
            try:
                timeout, retry = mgr.power.power_off_values(instance, clean_shutdown)
                await mgr.driver.power_off(instance, timeout, retry)
                await mgr.driver.rescue(ctxt, instance, network_info, image_meta,
                                        rescue_password)
            except Exception as error:
                LOG.exception("Error trying to Rescue Instance %s", instance.uuid)
                await common.set_error_state(mgr, ctxt, instance)
                raise InstanceNotRescuable(instance_id=instance.uuid,
                                           reason=f"Driver Error: {error}") from error
            await mgr.conductor.instance_update(ctxt, instance.uuid, {
                "vm_state": states.RESCUED, "task_state": None,
                "power_state": await mgr.power.get_power_state(instance),
                "launched_at": _utcnow()}, expected_task_state=[states.RESCUING])

    async def unrescue_instance(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        mgr = self.mgr
        async with action_common.operation(mgr, ctxt, instance, "unrescue_instance",
                                           "unrescue", notification="unrescue"):
            self._check_supported()
            try:
                await mgr.driver.unrescue(ctxt, instance)
            except Exception:
                await common.set_error_state(mgr, ctxt, instance)
                raise
            await mgr.conductor.instance_update(ctxt, instance.uuid, {
                "vm_state": states.ACTIVE, "task_state": None,
                "power_state": await mgr.power.get_power_state(instance)},
                expected_task_state=[states.UNRESCUING])

"""Snapshots on this host (Nova's ``snapshot_instance``): the API created the image
(queued) and set ``image_snapshot_pending``; here the task goes to
``image_snapshot``, the driver uploads the guest's disk through the image port
(moving the task to ``image_pending_upload`` then ``image_uploading``), and the task
is cleared.

As Nova's ``@delete_image_on_error``, a failure deletes the image; an instance deleted
meanwhile takes its unfinished image with it and is not an error. A driver without
``ISnapshotDriver`` refuses with the fault recorded.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from twisted.internet import defer

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import action_common
from nova_tx.compute.manager.power import as_instance
from nova_tx.image import api as image_api
from nova_tx.notifications.instance_action_payloads import InstanceActionSnapshotPayload
from nova_tx.virt import driver as virt_driver

LOG = logging.getLogger("nova_tx.compute.manager.snapshot")


class SnapshotNotSupported(exception.NovaException):
    msg_fmt = "The hypervisor of this host cannot snapshot instances"
    code = 501


class SnapshotManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr
        # A driver that uploads through the image port (libvirt's) and was made
        # without one uploads through this manager's.
        if getattr(mgr.driver, "image_api", False) is None:
            mgr.driver.image_api = mgr.image_api

    async def snapshot_instance(self, ctxt: Any, image_id: str, instance: Any) -> None:
        instance = as_instance(instance)
        mgr = self.mgr
        try:
            instance = await mgr.conductor.instance_update(
                ctxt, instance.uuid, {"task_state": states.IMAGE_SNAPSHOT},
                expected_task_state=[states.IMAGE_SNAPSHOT_PENDING])
        except exception.InstanceNotFound:
            LOG.debug("Instance %s not found, could not set state %s", instance.uuid,
                      states.IMAGE_SNAPSHOT)
            return
        except exception.UnexpectedDeletingTaskStateError:
            LOG.debug("Instance %s being deleted, snapshot cannot continue",
                      instance.uuid)
            return
        await self._snapshot(ctxt, image_id, instance)

    async def _snapshot(self, ctxt: Any, image_id: str, instance: Any) -> None:
        mgr = self.mgr

        def payload(c: Any, i: Any, error: BaseException | None) -> Any:
            return InstanceActionSnapshotPayload(c, i, image_id, error)

        try:
            async with action_common.operation(mgr, ctxt, instance, "snapshot_instance",
                                               "createImage", notification="snapshot",
                                               payload=payload):
                await self._run(ctxt, image_id, instance)
        except (exception.InstanceNotFound, exception.UnexpectedDeletingTaskStateError):
            LOG.debug("Instance %s disappeared during snapshot", instance.uuid)
            await self._drop_unfinished(ctxt, image_id)
        except BaseException:
            await self._delete_image(ctxt, image_id)
            raise

    async def _run(self, ctxt: Any, image_id: str, instance: Any) -> None:
        mgr = self.mgr
        if not virt_driver.ISnapshotDriver.providedBy(mgr.driver):
            raise SnapshotNotSupported()
        power_state = await mgr.power.get_power_state(instance)
        instance = await mgr.conductor.instance_update(
            ctxt, instance.uuid, {"power_state": power_state})
        if power_state != states.RUNNING:
            LOG.warning("trying to snapshot a non-running instance %s: (state: %s "
                        "expected: %s)", instance.uuid, power_state, states.RUNNING)
        current = {"expected": states.IMAGE_SNAPSHOT}

        async def update_task_state(task_state: str, expected_state: Any = None) -> None:
            expected = expected_state if expected_state is not None else current["expected"]
            await mgr.conductor.instance_update(ctxt, instance.uuid,
                                                {"task_state": task_state},
                                                expected_task_state=[expected])
            current["expected"] = task_state

        started = time.monotonic()
        await mgr.driver.snapshot(ctxt, instance, image_id,
                                  lambda task_state, expected_state=None:
                                  defer.Deferred.fromCoroutine(
                                      update_task_state(task_state, expected_state)))
        LOG.info("Took %0.2f seconds to snapshot the instance %s on the hypervisor.",
                 time.monotonic() - started, instance.uuid)
        await mgr.conductor.instance_update(ctxt, instance.uuid, {"task_state": None},
                                            expected_task_state=[states.IMAGE_UPLOADING])

    async def _drop_unfinished(self, ctxt: Any, image_id: str) -> None:
        try:
            image = await self.mgr.image_api.get(ctxt, image_id)
            if image.get("status") != "active":
                await self.mgr.image_api.delete(ctxt, image_id)
        except image_api.ImageNotFound:
            LOG.debug("Image not found during clean up %s", image_id)
        except Exception as e:
            LOG.warning("Error while trying to clean up image %s: %s", image_id, e)

    async def _delete_image(self, ctxt: Any, image_id: str) -> None:
        """Nova's ``@delete_image_on_error``."""
        try:
            await self.mgr.image_api.delete(ctxt, image_id)
        except Exception as e:
            LOG.warning("Error while trying to clean up image %s: %s", image_id, e)

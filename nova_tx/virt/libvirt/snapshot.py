"""Snapshots (Nova's ``LibvirtDriver.snapshot``, its cold path).

The guest's memory is saved (managed save) while ``qemu-img convert`` flattens its root
disk and its backing base into one file of ``[libvirt] snapshot_image_format`` (qcow2 by
default) under ``snapshots_directory``; the guest then runs again as it was (running or
paused), and the file becomes the data of the image the API created.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import libvirt
from twisted.internet import defer, threads

from nova_tx.compute import states
from nova_tx.virt.libvirt import imagebackend
from nova_tx.virt.libvirt.errors import SnapshotFailure

if TYPE_CHECKING:
    from nova_tx.virt.libvirt.driver import LibvirtDriver

__all__ = ["snapshot"]


async def _maybe_await(value: Any) -> Any:
    if isinstance(value, defer.Deferred) or hasattr(value, "__await__"):
        return await value
    return value


def _scratch_dir(parent: str) -> str:
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(dir=parent)


def _restart(conn: Any, uuid: str, paused: bool) -> None:
    """Run the saved guest again, paused if it was (``START_PAUSED``, or start and
    pause where the hypervisor lacks that flag, as libvirt's test driver does)."""
    dom = conn.lookupByUUIDString(uuid)
    if not paused:
        dom.createWithFlags(0)
        return
    try:
        dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
    except libvirt.libvirtError as e:
        if e.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        dom.createWithFlags(0)
        dom.suspend()


async def snapshot(driver: LibvirtDriver, context: Any, instance: Any, image_id: str,
                   update_task_state: Any) -> None:
    """Nova's cold snapshot: the guest's memory is saved (managed save) while qemu-img
    flattens its disk into one image file, then it runs again as it was; the file is
    uploaded as the data of ``image_id``."""
    uuid = instance.uuid
    if driver.image_api is None:
        raise SnapshotFailure(instance_uuid=uuid, reason="no image service to upload to")
    disk = driver.image_backend.disk_path(uuid)
    info = await driver.get_info(instance)
    await _maybe_await(update_task_state(task_state=states.IMAGE_PENDING_UPLOAD))
    fmt = driver.conf.libvirt.snapshot_image_format or "qcow2"
    live = info.state in (states.RUNNING, states.POWER_PAUSED)
    directory = await threads.deferToThread(_scratch_dir,
                                            driver.conf.libvirt.snapshots_directory)
    try:
        out = os.path.join(directory, image_id)
        if live:
            await driver._domain_call(instance, "managedSave", 0)
        try:
            await imagebackend.qemu_img("convert", "-f", "qcow2", "-O", fmt, disk, out,
                                        reactor=driver._reactor)
        finally:
            if live:
                await driver.host.call(_restart, uuid, info.state == states.POWER_PAUSED)
        await _maybe_await(update_task_state(task_state=states.IMAGE_UPLOADING,
                                             expected_state=states.IMAGE_PENDING_UPLOAD))
        await driver.image_api.update(context, image_id,
                                      {"disk_format": fmt, "container_format": "bare"})
        await driver.image_api.upload(context, image_id, out)
    except libvirt.libvirtError as e:
        raise SnapshotFailure(instance_uuid=uuid, reason=e.get_error_message()) from e
    except imagebackend.QemuImgError as e:
        raise SnapshotFailure(instance_uuid=uuid, reason=str(e)) from e
    finally:
        await threads.deferToThread(shutil.rmtree, directory, True)



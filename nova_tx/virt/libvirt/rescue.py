"""Rescue and unrescue (Nova's ``LibvirtDriver.rescue`` / ``unrescue``).

A rescued guest boots a fresh overlay of the rescue image (``disk.rescue``) with its
own root disk attached second, so its data can be repaired; its normal definition waits
in ``$instances_path/<uuid>/unrescue.xml`` until ``unrescue`` puts it back. The rescue
password is not injected (nova-tx does not inject files into disks).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import libvirt
from twisted.internet import threads

from nova_tx import exception, log
from nova_tx.compute import states
from nova_tx.virt.libvirt import config as designer
from nova_tx.virt.libvirt.errors import InstanceRescueFailure, InstanceUnRescueFailure
from nova_tx.virt.libvirt.guest import _image_id, _properties

if TYPE_CHECKING:
    from nova_tx.virt.libvirt.driver import LibvirtDriver

LOG = log.getLogger(__name__)

__all__ = ["rescue", "unrescue"]


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _unrescue_xml(driver: LibvirtDriver, instance: Any) -> str:
    return os.path.join(driver.image_backend.instance_dir(instance.uuid), "unrescue.xml")


async def rescue(driver: LibvirtDriver, context: Any, instance: Any, network_info: Any,
                 image_meta: Any) -> None:
    """Nova's rescue: the current definition is kept in ``unrescue.xml``; the guest
    is redefined to boot ``disk.rescue`` (an overlay of the rescue image: the
    request's, else ``[libvirt] rescue_image_id``, else the instance's) with its own
    disk second, and started. A failure puts the old definition back."""
    uuid = instance.uuid
    saved = _unrescue_xml(driver, instance)

    def current(conn: libvirt.virConnect) -> tuple[str, bool]:
        dom = driver._lookup(conn, uuid)
        return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), bool(dom.isActive())
    original, was_active = await driver.host.call(current)
    await threads.deferToThread(_write, saved, original)
    image_id = (_image_id(instance, image_meta) if image_meta else None) \
        or driver.conf.libvirt.rescue_image_id or instance.image_ref
    try:
        rescue_disk = await driver.image_backend.create_root_disk(
            uuid, image_id, 0, driver._fetcher(context), name="disk.rescue")
        disks = [designer.DiskConfig(path=rescue_disk, target_dev="vda"),
                 designer.DiskConfig(path=driver.image_backend.disk_path(uuid),
                                     target_dev="vdb")]
        model = await driver._guest_cpu_model(instance, _properties(image_meta),
                                            driver.guest_arch(image_meta))
        xml = designer.domain_xml(driver.guest_request(
            instance, image_meta, network_info, disks,
            driver.image_backend.console_log(uuid), cpu_model=model))

        def boot(conn: libvirt.virConnect) -> None:
            dom = driver._lookup(conn, uuid)
            if dom.isActive():
                dom.destroy()
            conn.defineXML(xml).createWithFlags(0)
        await driver.host.call(boot)
        await driver._wait_for_state(uuid, {states.RUNNING})
    except Exception as e:
        await _restore_definition(driver, uuid, original, was_active)
        await threads.deferToThread(_unlink_quietly, os.path.join(
            driver.image_backend.instance_dir(uuid), "disk.rescue"))
        await threads.deferToThread(_unlink_quietly, saved)
        if isinstance(e, libvirt.libvirtError):
            raise InstanceRescueFailure(instance_uuid=uuid,
                                        reason=e.get_error_message()) from e
        raise


async def _restore_definition(driver: LibvirtDriver, uuid: str, xml: str, start: bool
                              ) -> None:
    """The guest's own definition again (started if it was running): a failed rescue
    leaves the guest as it found it."""
    def thd(conn: libvirt.virConnect) -> None:
        try:
            dom = driver._lookup(conn, uuid)
            if dom.isActive():
                dom.destroy()
        except exception.InstanceNotFound:
            pass
        dom = conn.defineXML(xml)
        if start:
            dom.createWithFlags(0)
    try:
        await driver.host.call(thd)
    except Exception:
        LOG.exception("restoring the definition of %s", uuid)


async def unrescue(driver: LibvirtDriver, instance: Any) -> None:
    """The saved definition back, booted from the guest's own disk; the rescue disk
    goes. A guest that is not rescued is ``InstanceUnRescueFailure``."""
    uuid = instance.uuid
    saved = _unrescue_xml(driver, instance)
    try:
        original = await threads.deferToThread(_read, saved)
    except FileNotFoundError:
        raise InstanceUnRescueFailure(instance_uuid=uuid,
                                      reason="the instance is not rescued") from None

    def boot(conn: libvirt.virConnect) -> None:
        dom = driver._lookup(conn, uuid)
        if dom.isActive():
            dom.destroy()
        conn.defineXML(original).createWithFlags(0)
    try:
        await driver.host.call(boot)
    except libvirt.libvirtError as e:
        raise InstanceUnRescueFailure(instance_uuid=uuid,
                                      reason=e.get_error_message()) from e
    await driver._wait_for_state(uuid, {states.RUNNING})
    await threads.deferToThread(_unlink_quietly, os.path.join(
        driver.image_backend.instance_dir(uuid), "disk.rescue"))
    await threads.deferToThread(_unlink_quietly, saved)


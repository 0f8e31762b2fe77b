"""The guest half of ``LibvirtDriver``: spawn, destroy, reboot, power, pause, suspend,
snapshot, rescue and the console (Nova's ``LibvirtDriver`` guest methods).

``GuestLifecycle`` is a mixin of ``driver.LibvirtDriver``, which provides the host
(``self.host``), the image backend, the image port and ``guest_request`` (what the
domain XML of a guest is built from). Every libvirt call goes through
``self.host.call`` (the libvirt thread pool); waits are reactor timers.
"""
from __future__ import annotations

import os
from typing import Any

import libvirt
from twisted.internet import defer, task, threads

from nova_tx import exception, log
from nova_tx.compute import states
from nova_tx.virt import driver as virt_driver
from nova_tx.virt.libvirt import config as designer
from nova_tx.virt.libvirt.errors import (
    InstancePowerFailure,
    InstanceRebootFailure,
    InstanceSpawnFailure,
)

LOG = log.getLogger(__name__)

__all__ = ["GuestLifecycle", "power_state"]

MAX_CONSOLE_BYTES = 100 * 1024
# How often a wait for a guest's state looks again (Nova polls every 0.5 s to 1 s).
POLL_INTERVAL = 0.5

_POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: states.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: states.RUNNING,
    # A blocked guest is running as far as anyone outside it can tell.
    libvirt.VIR_DOMAIN_BLOCKED: states.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: states.POWER_PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: states.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: states.POWER_SUSPENDED,
}


def power_state(libvirt_state: int) -> int:
    """Nova's power state of a libvirt domain state."""
    return _POWER_STATES.get(libvirt_state, states.NOSTATE)


def _properties(image_meta: Any) -> dict[str, Any]:
    if image_meta is None:
        return {}
    if isinstance(image_meta, dict):
        return dict(image_meta.get("properties") or {})
    return dict(getattr(image_meta, "properties", None) or {})


def _image_id(instance: Any, image_meta: Any) -> str | None:
    if isinstance(image_meta, dict) and image_meta.get("id"):
        return image_meta["id"]
    return getattr(image_meta, "id", None) or instance.image_ref


class _Ref:
    """An instance known only by its uuid (what the domain calls look it up by)."""

    def __init__(self, uuid: str):
        self.uuid = uuid


class GuestLifecycle:
    """The guest operations of ``IComputeDriver`` (and the optional snapshot and rescue)."""

    def _lookup(self, conn: libvirt.virConnect, uuid: str) -> libvirt.virDomain:
        try:
            return conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=uuid) from None
            raise

    def list_instance_uuids(self) -> defer.Deferred:
        return self.host.call(lambda conn: [d.UUIDString() for d in conn.listAllDomains(0)])

    def instance_exists(self, instance: Any) -> defer.Deferred:
        def thd(conn: libvirt.virConnect) -> bool:
            try:
                self._lookup(conn, instance.uuid)
            except exception.InstanceNotFound:
                return False
            return True
        return self.host.call(thd)

    def get_info(self, instance: Any) -> defer.Deferred:
        def thd(conn: libvirt.virConnect) -> virt_driver.InstanceInfo:
            dom = self._lookup(conn, instance.uuid)
            return virt_driver.InstanceInfo(state=power_state(dom.info()[0]),
                                            internal_id=str(dom.ID()))
        return self.host.call(thd)

    def _fetcher(self, context: Any) -> Any:
        if self.image_api is None:
            return None

        def fetch(image_id: str, path: str) -> Any:
            return defer.ensureDeferred(self.image_api.download_to(context, image_id, path))
        return fetch

    def spawn(self, context: Any, instance: Any, image_meta: Any, injected_files: Any,
              admin_password: str | None, allocations: Any, network_info: Any = None,
              block_device_info: Any = None, power_on: bool = True) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._spawn(
            context, instance, image_meta, network_info, block_device_info, power_on,
            admin_password=admin_password, injected_files=injected_files))

    async def _spawn(self, context: Any, instance: Any, image_meta: Any, network_info: Any,
                     block_device_info: Any, power_on: bool, *,
                     admin_password: str | None = None,
                     injected_files: Any = None) -> None:
        if (block_device_info or {}).get("block_device_mapping"):
            raise InstanceSpawnFailure(instance_uuid=instance.uuid,
                                       reason="volumes are not supported by this driver")
        image_id = _image_id(instance, image_meta)
        if not image_id:
            raise InstanceSpawnFailure(instance_uuid=instance.uuid,
                                       reason="no image to boot from")
        uuid = instance.uuid
        defined = False
        try:
            disks = await self._create_disks(context, instance, image_id,
                                             block_device_info or {})
            drive = await self._config_drive(instance, image_meta, network_info,
                                             admin_password, injected_files)
            if drive is not None:
                disks.append(drive)
            model = await self._guest_cpu_model(instance, _properties(image_meta),
                                                self.guest_arch(image_meta))
            request = self.guest_request(
                instance, image_meta, network_info, disks,
                self.image_backend.console_log(uuid), cpu_model=model)
            xml = designer.domain_xml(request)

            def define(conn: libvirt.virConnect) -> None:
                dom = conn.defineXML(xml)
                if power_on:
                    dom.createWithFlags(0)
            await self.host.call(define)
            defined = True
            if power_on:
                await self._wait_for_state(uuid, {states.RUNNING}, fail_on={
                    states.SHUTDOWN, states.CRASHED})
        except Exception as e:
            await self._cleanup_failed_spawn(uuid, defined)
            if isinstance(e, libvirt.libvirtError):
                raise InstanceSpawnFailure(instance_uuid=uuid,
                                           reason=e.get_error_message()) from e
            raise

    async def _config_drive(self, instance: Any, image_meta: Any, network_info: Any,
                            admin_password: str | None, injected_files: Any
                            ) -> designer.DiskConfig | None:
        """The instance's config drive (``config_drive`` on create, the image's
        ``img_config_drive=mandatory`` or ``[DEFAULT] force_config_drive``):
        ``disk.config`` in its directory, an ISO 9660 image labelled ``config-2`` with
        the metadata trees, attached read-only as an IDE cdrom (Nova's default for an
        x86 guest)."""
        from nova_tx.metadata import configdrive

        if not configdrive.required_by(instance, self.conf, _properties(image_meta)):
            return None
        if network_info is not None:
            instance = instance.replace(network_info=list(network_info))
        path = os.path.join(self.image_backend.instance_dir(instance.uuid), "disk.config")
        files = [(f.get("path"), f.get("contents")) if isinstance(f, dict) else tuple(f)
                 for f in injected_files or ()]
        await configdrive.create_config_drive(
            self.conf, instance, path, admin_pass=admin_password,
            injected_files=[(p, c.encode() if isinstance(c, str) else c)
                            for p, c in files])
        return designer.DiskConfig(path=path, format="raw", target_dev="hda", bus="ide",
                                   device="cdrom")

    async def _create_disks(self, context: Any, instance: Any, image_id: str,
                            block_device_info: dict[str, Any]) -> list[designer.DiskConfig]:
        """The root overlay, then the ephemeral and swap disks of ``block_device_info``
        (the compute manager's: root device name, ephemerals, swap), each on the bus
        its device name implies (vd: virtio, sd: scsi, hd: ide)."""
        used: set[str] = set()

        def target(device_name: str | None) -> str:
            name = (device_name or "").rsplit("/", 1)[-1]
            if not name:
                name = next(f"vd{c}" for c in "bcdefghijklmnopqrstuvwxyz"
                            if f"vd{c}" not in used)
            if name in used:
                raise InstanceSpawnFailure(instance_uuid=instance.uuid,
                                           reason=f"two disks on device {name}")
            used.add(name)
            return name

        def bus(dev: str) -> str:
            return {"sd": "scsi", "hd": "ide"}.get(dev[:2], "virtio")

        root_dev = target(block_device_info.get("root_device_name") or "/dev/vda")
        root = await self.image_backend.create_root_disk(
            instance.uuid, image_id, instance.root_gb or 0, self._fetcher(context))
        disks = [designer.DiskConfig(path=root, target_dev=root_dev, bus=bus(root_dev))]
        for eph in block_device_info.get("ephemerals") or ():
            dev = target(eph.get("device_name"))
            path = await self.image_backend.create_blank_disk(
                instance.uuid, f"disk.eph{eph.get('num', len(disks) - 1)}",
                int(eph.get("size") or 0) * 1024)
            disks.append(designer.DiskConfig(path=path, target_dev=dev,
                                             bus=eph.get("disk_bus") or bus(dev)))
        swap = block_device_info.get("swap")
        if swap and int(swap.get("swap_size") or 0) > 0:
            dev = target(swap.get("device_name"))
            path = await self.image_backend.create_blank_disk(
                instance.uuid, "disk.swap", int(swap["swap_size"]))
            disks.append(designer.DiskConfig(path=path, target_dev=dev, bus=bus(dev)))
        return disks

    async def _cleanup_failed_spawn(self, uuid: str, defined: bool) -> None:
        try:
            if defined:
                await self.host.call(self._destroy_domain, uuid)
            await threads.deferToThread(self.image_backend.remove, uuid)
        except Exception:
            LOG.exception("cleaning up the failed spawn of %s", uuid)

    async def _wait_for_state(self, uuid: str, wanted: set[int], timeout: float | None = None,
                              fail_on: set[int] = frozenset()) -> bool:
        """Poll until the guest's power state is one of ``wanted``: True; False when
        ``timeout`` seconds pass first. A state in ``fail_on`` is the guest failing."""
        waited = 0.0
        while True:
            info = await self.get_info(_Ref(uuid))
            if info.state in wanted:
                return True
            if info.state in fail_on:
                raise InstanceSpawnFailure(instance_uuid=uuid,
                                           reason=f"the guest stopped (power state "
                                           f"{info.state}) while starting")
            if timeout is not None and waited >= timeout:
                return False
            await task.deferLater(self._reactor, POLL_INTERVAL, lambda: None)
            waited += POLL_INTERVAL

    def _destroy_domain(self, conn: libvirt.virConnect, uuid: str) -> None:
        try:
            dom = self._lookup(conn, uuid)
        except exception.InstanceNotFound:
            return
        if dom.isActive():
            try:
                dom.destroy()
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
        try:
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if e.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT,
                                          libvirt.VIR_ERR_INVALID_ARG):
                raise
            dom.undefine()

    def destroy(self, context: Any, instance: Any, network_info: Any,
                block_device_info: Any = None, destroy_disks: bool = True) -> defer.Deferred:
        async def run() -> None:
            await self.host.call(self._destroy_domain, instance.uuid)
            if destroy_disks:
                await threads.deferToThread(self.image_backend.remove, instance.uuid)
        return defer.Deferred.fromCoroutine(run())

    def _domain_call(self, instance: Any, method: str, *args: Any) -> defer.Deferred:
        return self.host.call(lambda conn: getattr(self._lookup(conn, instance.uuid),
                                                   method)(*args))

    def reboot(self, context: Any, instance: Any, network_info: Any, reboot_type: str,
               block_device_info: Any = None) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._reboot(instance, reboot_type))

    async def _reboot(self, instance: Any, reboot_type: str) -> None:
        uuid = instance.uuid
        try:
            if reboot_type == "SOFT":
                if await self._soft_reboot(instance):
                    return
                LOG.warning("instance %s did not shut down within %s s; rebooting it hard",
                            uuid, self.conf.libvirt.wait_soft_reboot_seconds)
            await self._hard_reboot(instance)
        except libvirt.libvirtError as e:
            raise InstanceRebootFailure(instance_uuid=uuid,
                                        reason=e.get_error_message()) from e

    async def _soft_reboot(self, instance: Any) -> bool:
        """Shut the guest down and start it again; False when it is not running or does
        not stop within ``wait_soft_reboot_seconds`` (the caller reboots hard)."""
        info = await self.get_info(instance)
        if info.state != states.RUNNING:
            return False
        await self._domain_call(instance, "shutdown")
        stopped = await self._wait_for_state(
            instance.uuid, {states.SHUTDOWN}, timeout=self.conf.libvirt.wait_soft_reboot_seconds)
        if not stopped:
            return False
        await self._domain_call(instance, "createWithFlags", 0)
        await self._wait_for_state(instance.uuid, {states.RUNNING})
        return True

    async def _hard_reboot(self, instance: Any) -> None:
        def thd(conn: libvirt.virConnect) -> None:
            dom = self._lookup(conn, instance.uuid)
            if dom.isActive():
                dom.destroy()
            dom.createWithFlags(0)
        await self.host.call(thd)
        await self._wait_for_state(instance.uuid, {states.RUNNING})

    def power_off(self, instance: Any, timeout: int = 0, retry_interval: int = 0
                  ) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._power_off(instance, timeout, retry_interval))

    async def _power_off(self, instance: Any, timeout: int, retry_interval: int) -> None:
        """A clean shutdown asked again every ``retry_interval`` s for up to ``timeout``
        s (Nova's ``_clean_shutdown``), then the guest is destroyed if still running."""
        try:
            info = await self.get_info(instance)
            if info.state == states.SHUTDOWN:
                return
            if timeout:
                interval = retry_interval or timeout
                waited = 0
                while waited < timeout:
                    await self._domain_call(instance, "shutdown")
                    step = min(interval, timeout - waited)
                    if await self._wait_for_state(instance.uuid, {states.SHUTDOWN},
                                                  timeout=step):
                        return
                    waited += step

            def thd(conn: libvirt.virConnect) -> None:
                dom = self._lookup(conn, instance.uuid)
                if dom.isActive():
                    dom.destroy()
            await self.host.call(thd)
        except libvirt.libvirtError as e:
            raise InstancePowerFailure(action="power off", instance_uuid=instance.uuid,
                                       reason=e.get_error_message()) from e

    def power_on(self, context: Any, instance: Any, network_info: Any,
                 block_device_info: Any = None) -> defer.Deferred:
        async def run() -> None:
            def thd(conn: libvirt.virConnect) -> None:
                dom = self._lookup(conn, instance.uuid)
                if not dom.isActive():
                    dom.createWithFlags(0)
            try:
                await self.host.call(thd)
            except libvirt.libvirtError as e:
                raise InstancePowerFailure(action="power on", instance_uuid=instance.uuid,
                                           reason=e.get_error_message()) from e
            await self._wait_for_state(instance.uuid, {states.RUNNING})
        return defer.Deferred.fromCoroutine(run())

    def pause(self, instance: Any) -> defer.Deferred:
        return self._domain_call(instance, "suspend")

    def unpause(self, instance: Any) -> defer.Deferred:
        return self._domain_call(instance, "resume")

    def suspend(self, context: Any, instance: Any) -> defer.Deferred:
        return self._domain_call(instance, "managedSave", 0)

    def resume(self, context: Any, instance: Any, network_info: Any,
               block_device_info: Any = None) -> defer.Deferred:
        async def run() -> None:
            await self._domain_call(instance, "createWithFlags", 0)
            await self._wait_for_state(instance.uuid, {states.RUNNING})
        return defer.Deferred.fromCoroutine(run())

    # -- snapshot and rescue ----------------------------------------------------------

    def snapshot(self, context: Any, instance: Any, image_id: str,
                 update_task_state: Any) -> defer.Deferred:
        from nova_tx.virt.libvirt import snapshot

        return defer.Deferred.fromCoroutine(
            snapshot.snapshot(self, context, instance, image_id, update_task_state))

    def rescue(self, context: Any, instance: Any, network_info: Any, image_meta: Any,
               rescue_password: str | None, block_device_info: Any = None) -> defer.Deferred:
        from nova_tx.virt.libvirt import rescue

        return defer.Deferred.fromCoroutine(
            rescue.rescue(self, context, instance, network_info, image_meta))

    def unrescue(self, context: Any, instance: Any) -> defer.Deferred:
        from nova_tx.virt.libvirt import rescue

        return defer.Deferred.fromCoroutine(rescue.unrescue(self, instance))

    def get_console_output(self, context: Any, instance: Any) -> defer.Deferred:
        path = self.image_backend.console_log(instance.uuid)

        def read() -> bytes:
            try:
                with open(path, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    size = f.tell()
                    f.seek(max(0, size - MAX_CONSOLE_BYTES))
                    return f.read()
            except FileNotFoundError:
                return b""
        return threads.deferToThread(read)

"""The lifecycle actions of a server at the API (Nova's ``compute.api.API`` methods
behind ``POST /servers/{id}/action``): reboot, stop, start, pause, unpause, suspend,
resume, lock, unlock, reset state, the console log, restore and force delete of a
soft-deleted server, rebuild, rescue and unrescue, snapshot (createImage) and the
crash dump.

Each power action checks the server's states as Nova's ``check_instance_state`` does
(the allowed vm_states and task_states below), refuses a locked server unless the
caller is an admin, then in one transaction of the server's cell sets its task state
(a compare-and-swap against the task state it was read with: two requests racing
cannot both start) and records the instance action, and finally casts the compute
host. The compute does the rest and records the action's event.
"""
from __future__ import annotations

import logging
from typing import Any

from nova_tx import exception
from nova_tx import quota as quota_mod
from nova_tx.compute import boot_image, states
from nova_tx.compute.servers import Located, ServersAPI, check_not_locked, check_state
from nova_tx.compute.servers_create import ServersCreateAPI
from nova_tx.db.api import key_pairs, request_specs
from nova_tx.db.main import instance_actions, instances
from nova_tx.image import api as image_api
from nova_tx.objects.instance import Instance
from nova_tx.virt import hardware

LOG = logging.getLogger(__name__)

# Nova's vm_states.ALLOW_SOFT_REBOOT / ALLOW_HARD_REBOOT and task_states.ALLOW_REBOOT.
ALLOW_SOFT_REBOOT = (states.ACTIVE,)
ALLOW_HARD_REBOOT = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED,
                     states.ERROR)
ALLOW_REBOOT = (None, states.REBOOTING, states.REBOOT_PENDING, states.REBOOT_STARTED,
                states.REBOOTING_HARD, states.RESUMING, states.UNPAUSING, states.PAUSING,
                states.SUSPENDING)

#: action -> (vm_states allowed, task_states allowed, new task state, compute method).
POWER_ACTIONS: dict[str, tuple[tuple, tuple, str, str]] = {
    "stop": ((states.ACTIVE, states.ERROR), (None,), states.POWERING_OFF, "stop_instance"),
    "start": ((states.STOPPED,), (None,), states.POWERING_ON, "start_instance"),
    "pause": ((states.ACTIVE,), (None,), states.PAUSING, "pause_instance"),
    "unpause": ((states.PAUSED,), (None,), states.UNPAUSING, "unpause_instance"),
    "suspend": ((states.ACTIVE,), (None,), states.SUSPENDING, "suspend_instance"),
    "resume": ((states.SUSPENDED,), (None,), states.RESUMING, "resume_instance"),
}

#: The states ``os-resetState`` may set.
RESET_STATES = {"active": states.ACTIVE, "error": states.ERROR}

#: The vm_states of Nova's ``check_instance_state`` for the other actions.
ALLOW_REBUILD = (states.ACTIVE, states.STOPPED, states.ERROR)
ALLOW_RESCUE = (states.ACTIVE, states.STOPPED, states.ERROR)
ALLOW_SNAPSHOT = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
ALLOW_CRASH_DUMP = (states.ACTIVE, states.PAUSED, states.RESCUED, states.RESIZED,
                    states.ERROR)

#: What a snapshot does not inherit of its server's image (Nova's
#: ``NON_INHERITABLE_IMAGE_PROPERTIES``, ``SM_SKIP_KEYS`` and the default of
#: ``[DEFAULT] non_inheritable_image_properties``).
NON_INHERITABLE = frozenset({
    "cinder_encryption_key_id", "cinder_encryption_key_deletion_policy",
    "img_signature", "img_signature_hash_method", "img_signature_key_type",
    "img_signature_certificate_uuid", "mappings", "block_device_mapping",
    "cache_in_nova", "bittorrent"})
NON_INHERITABLE_NAMESPACES = ("traits:",)
#: System metadata that are attributes of the image, not properties.
IMAGE_ATTRIBUTES = ("min_disk", "min_ram", "disk_format", "container_format")
IMAGE_PREFIX = "image_"


class UnsupportedRescueImage(exception.Invalid):
    msg_fmt = "Requested rescue image '%(image)s' is not supported"


class InstanceNotRescuable(exception.Invalid):
    msg_fmt = "Instance %(instance_id)s cannot be rescued: %(reason)s"


class VolumeBackedRebuild(exception.Invalid):
    msg_fmt = "Image %(image_id)s is unacceptable: %(reason)s"


class ImageNUMATopologyRebuildConflict(exception.Invalid):
    msg_fmt = ("An instance's NUMA topology cannot be changed as part of a rebuild. The "
               "image provided is invalid for this instance.")


def instance_image_meta(instance: Instance) -> Any:
    """Nova's ``instance.image_meta``: the image the server was built from as its
    system metadata remembers it."""
    properties = {key[len(IMAGE_PREFIX):]: value
                  for key, value in (instance.system_metadata or {}).items()
                  if key.startswith(IMAGE_PREFIX) and value is not None
                  and key[len(IMAGE_PREFIX):] not in IMAGE_ATTRIBUTES + ("base_image_ref",)}
    return boot_image.image_meta({"id": instance.image_ref, "properties": properties})


def check_numa_rebuild(instance: Instance, image: dict[str, Any]) -> None:
    """Nova's ``_validate_numa_rebuild``: the claim of a rebuild is the old one, so a
    new image must not ask for another NUMA topology than the old one did."""
    if image.get("id") == instance.image_ref:
        return
    flavor = instance.flavor.for_numa()
    old = hardware.numa_get_constraints(flavor, instance_image_meta(instance))
    new = hardware.numa_get_constraints(flavor, boot_image.image_meta(image))
    if old is None and new is None:
        return
    if old is None or new is None or old != new:
        raise ImageNUMATopologyRebuildConflict()


def snapshot_properties(context: Any, instance: Instance, name: str,
                        extra_properties: dict[str, str] | None) -> dict[str, Any]:
    """Nova's ``create_image`` for a snapshot: the server's image as its system
    metadata remembers it (``get_image_from_system_metadata``) less what must not be
    inherited, private to the owner (shared with the owner's project when someone
    else takes it), with the snapshot's own properties; Glance v2 attributes with the
    properties at the top level and no formats (the driver sets those on upload)."""
    attributes: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in (instance.system_metadata or {}).items():
        if value is None:
            continue
        if key.startswith(IMAGE_PREFIX):
            key = key[len(IMAGE_PREFIX):]
        if key in IMAGE_ATTRIBUTES:
            attributes[key] = value
        else:
            properties[key] = value
    extra = dict(extra_properties or {})
    if context.project_id != instance.project_id:
        attributes["visibility"] = "shared"
        extra["instance_owner"] = instance.project_id
    else:
        attributes["visibility"] = "private"
    for key in list(properties):
        if key in NON_INHERITABLE or key.startswith(NON_INHERITABLE_NAMESPACES):
            del properties[key]
    properties.update({"instance_uuid": instance.uuid, "user_id": str(context.user_id),
                       "image_type": "snapshot"})
    properties.update(extra)
    for key in ("min_disk", "min_ram"):
        if key in attributes:
            try:
                attributes[key] = int(attributes[key])
            except (TypeError, ValueError):
                del attributes[key]
    attributes.pop("disk_format", None)
    attributes.pop("container_format", None)
    return {**properties, **attributes, "name": name}


def check_launched(instance: Instance, method: str) -> None:
    """The ``must_have_launched`` half of Nova's ``check_instance_state``: a server
    that never ran cannot be rebuilt, rescued, snapshotted or restored."""
    if not instance.launched_at:
        raise exception.InstanceInvalidState(
            attr="launched_at", instance_uuid=instance.uuid, state=instance.launched_at,
            method=method)


class ServerActionsAPI:
    """``images``: the image port (``nova_tx.image.api.IImageAPI``) rebuild, rescue
    and snapshots read and write images through."""

    def __init__(self, servers: ServersAPI, images: Any = None):
        self.servers = servers
        self.images = images

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _in_a_cell(located: Located, method: str) -> Instance:
        """A server still being scheduled has no host to act on (Nova: the build
        request's vm_state ``building``)."""
        if located.is_build_request:
            raise exception.InstanceInvalidState(
                attr="vm_state", instance_uuid=located.instance.uuid,
                state=states.BUILDING, method=method)
        return located.instance

    async def _in_cell(self, located: Located, fn, *args: Any) -> Any:
        def run(api_conn: Any) -> Any:
            return self.servers._in_cell(located.cell, fn, *args)
        return await self.servers.api_db.do(run)

    async def _start_task(self, context: Any, located: Located, action: str,
                          task_state: str, updates: dict[str, Any] | None = None
                          ) -> Instance:
        """The new task state (compare-and-swap) and the instance action, together."""
        instance = located.instance

        def start(conn: Any) -> Instance:
            changed = instances.update(
                conn, instance.uuid, {"task_state": task_state, **(updates or {})},
                expected_task_state=instance.task_state, expected_attrs=["flavor"])
            instance_actions.create(conn, action=action, instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)
            return changed

        return await self._in_cell(located, start)

    def _cast(self, method: str, *args: Any, **kwargs: Any) -> None:
        """A cast to the server's compute host; the API does not wait for it."""
        result = getattr(self.servers.compute_rpcapi, method)(*args, **kwargs)
        if hasattr(result, "addErrback"):
            result.addErrback(lambda f: LOG.error("%s could not be sent: %s", method,
                                                  f.getErrorMessage()))

    # -- power actions ---------------------------------------------------------------

    async def reboot(self, context: Any, located: Located, reboot_type: str) -> None:
        instance = self._in_a_cell(located, "reboot")
        check_not_locked(context, instance)
        if reboot_type == "SOFT":
            check_state(instance, "reboot", ALLOW_SOFT_REBOOT, (None,))
            task_state = states.REBOOTING
        else:
            check_state(instance, "reboot", ALLOW_HARD_REBOOT, ALLOW_REBOOT)
            task_state = states.REBOOTING_HARD
        changed = await self._start_task(context, located, "reboot", task_state)
        self._cast("reboot_instance", context, changed, None, reboot_type)

    async def power_action(self, context: Any, located: Located, action: str) -> None:
        """stop, start, pause, unpause, suspend or resume."""
        vm_states, task_states, task_state, method = POWER_ACTIONS[action]
        instance = self._in_a_cell(located, action)
        check_not_locked(context, instance)
        check_state(instance, action, vm_states, task_states)
        changed = await self._start_task(context, located, action, task_state)
        self._cast(method, context, changed)

    # -- lock ------------------------------------------------------------------------

    async def lock(self, context: Any, located: Located, reason: str | None) -> None:
        """Nova's ``lock``: ``locked_by`` says whether the owner or an admin locked it;
        the reason (2.73) is kept in system metadata."""
        instance = self._in_a_cell(located, "lock")
        locked_by = "owner" if context.project_id == instance.project_id else "admin"

        def lock(conn: Any) -> None:
            instances.update(conn, instance.uuid, {"locked": True, "locked_by": locked_by})
            if reason is not None:
                instances.update_system_metadata(conn, instance.uuid,
                                                 {"locked_reason": reason})
            instance_actions.create(conn, action="lock", instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, lock)
        system_metadata = dict(instance.system_metadata)
        if reason is not None:
            system_metadata["locked_reason"] = reason
        self._notify(context, instance.replace(locked=True, locked_by=locked_by,
                                               system_metadata=system_metadata), "lock")

    def _notify(self, context: Any, instance: Instance, action: str) -> None:
        """``instance.lock``/``instance.unlock`` from nova-api, as Nova sends them."""
        notifier = self.servers.notifier
        if notifier is not None:
            notifier.notify_about_instance_action(context, instance, action,
                                                  source="nova-api")

    async def unlock(self, context: Any, located: Located) -> None:
        instance = self._in_a_cell(located, "unlock")

        def unlock(conn: Any) -> None:
            instances.update(conn, instance.uuid, {"locked": False, "locked_by": None})
            if "locked_reason" in instance.system_metadata:
                instances.delete_system_metadata_key(conn, instance.uuid, "locked_reason")
            instance_actions.create(conn, action="unlock", instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, unlock)
        system_metadata = {k: v for k, v in instance.system_metadata.items()
                           if k != "locked_reason"}
        self._notify(context, instance.replace(locked=False, locked_by=None,
                                               system_metadata=system_metadata), "unlock")

    # -- admin -----------------------------------------------------------------------

    async def reset_state(self, context: Any, located: Located, state: str) -> None:
        """``os-resetState``: the vm_state set, the task state cleared, whatever they
        were (an admin's repair); recorded as the action ``resetState``."""
        instance = self._in_a_cell(located, "resetState")

        def reset(conn: Any) -> None:
            instances.update(conn, instance.uuid,
                             {"vm_state": RESET_STATES[state], "task_state": None})
            instance_actions.create(conn, action="resetState", instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, reset)

    # -- console ---------------------------------------------------------------------

    async def console_output(self, context: Any, located: Located,
                             tail_length: int | None) -> str:
        """The compute's console log (an RPC call): InstanceNotReady without a host."""
        instance = located.instance
        if located.is_build_request or not instance.host:
            raise exception.InstanceNotReady(instance_id=instance.uuid)
        output = await self.servers.compute_rpcapi.get_console_output(
            context, instance, tail_length)
        if isinstance(output, bytes):
            output = output.decode("utf-8", "replace")
        return output

    # -- soft delete: restore and force delete -------------------------------------------

    async def restore(self, context: Any, located: Located) -> None:
        """Nova's ``restore`` (TooManyInstances when the project's quota has no room
        for one more server of its flavor): a SOFT_DELETED server on a host is handed
        to its compute (task state ``restoring``, ``restore_instance``); one without a
        host is simply active again."""
        instance = self._in_a_cell(located, "restore")
        check_not_locked(context, instance)
        check_state(instance, "restore", (states.SOFT_DELETED,))
        check_launched(instance, "restore")
        if self.servers.quota is not None and instance.flavor is not None:
            # Nova's check_num_instances_quota for one more server of its flavor.
            await quota_mod.check_num_instances_quota(
                self.servers.quota, context, vcpus=instance.flavor.vcpus,
                memory_mb=instance.flavor.memory_mb, min_count=1, max_count=1,
                project_id=instance.project_id, user_id=instance.user_id)
        if instance.host:
            changed = await self._start_task(context, located, "restore",
                                             states.RESTORING, {"deleted_at": None})
            self._cast("restore_instance", context, changed)
        else:
            await self._start_task(context, located, "restore", None,
                                   {"vm_state": states.ACTIVE, "deleted_at": None})

    async def force_delete(self, context: Any, located: Located) -> None:
        """Nova's ``force_delete``: deleted now whatever its states (a soft-deleted
        server does not wait for the reclaim)."""
        check_not_locked(context, located.instance)
        await self.servers.delete(context, located, force=True)

    # -- rebuild ---------------------------------------------------------------------------

    async def _image(self, context: Any, image_id: str) -> dict[str, Any]:
        if self.images is None:
            raise exception.ConfigError(reason="the compute API has no image service")
        return await self.images.get(context, image_id)

    async def _key_pair(self, context: Any, name: str) -> Any:
        return await self.servers.api_db.do(key_pairs.get_by_name, context.user_id, name)

    async def rebuild(self, context: Any, located: Located, image_href: str,
                      admin_password: str | None, *, files: list | None = None,
                      preserve_ephemeral: bool = False, **changes: Any) -> Instance:
        """Nova's ``rebuild`` on the server's own host.

        ``changes`` are instance fields (``display_name``, ``display_description``,
        ``metadata`` (replacing the old), ``access_ip_v4``/``_v6``,
        ``auto_disk_config``, ``user_data``, ``hostname``) and the requests
        ``key_name`` (None: no key) and ``trusted_certs``. The image must be active and
        fit the flavor (ImageNotFound, FlavorDiskTooSmall... as at create); the
        server's image properties in its system metadata are replaced by the new
        image's; then task state ``rebuilding``, the action ``rebuild`` and the cast of
        ``rebuild_instance`` with the old image and system metadata.
        """
        instance = self._in_a_cell(located, "rebuild")
        check_not_locked(context, instance)
        check_state(instance, "rebuild", ALLOW_REBUILD)
        check_launched(instance, "rebuild")
        if not instance.image_ref:
            # A volume-backed server: its root volume would have to be re-imaged.
            raise VolumeBackedRebuild(
                image_id=image_href,
                reason="Unable to rebuild with a different image for a volume-backed "
                       "server.")
        updates: dict[str, Any] = {}
        if "key_name" in changes:
            key_name = changes.pop("key_name")
            if key_name:
                key_pair = await self._key_pair(context, key_name)
                updates.update(key_name=key_pair.name, key_data=key_pair.public_key,
                               keypairs=[key_pair])
            else:
                updates.update(key_name=None, key_data=None, keypairs=[])
        if "trusted_certs" in changes:
            certs = changes.pop("trusted_certs")
            updates["trusted_certs"] = list(certs) if certs else None
        image = await self._image(context, image_href)
        boot_image.check_requested_image(image, instance.flavor, None)
        check_numa_rebuild(instance, image)
        if "metadata" in changes:
            await self.servers._check_metadata_quota(context, instance.project_id,
                                                     changes["metadata"])
        await self._check_injected_files_quota(context, instance.project_id, files or [])
        orig_sys_metadata = dict(instance.system_metadata or {})
        system_metadata = {k: v for k, v in orig_sys_metadata.items()
                           if not k.startswith(IMAGE_PREFIX)}
        system_metadata.update(boot_image.system_metadata_from_image(image))
        system_metadata["image_base_image_ref"] = image["id"]
        properties = boot_image.image_meta(image).properties
        for name in ("os_type", "architecture", "vm_mode"):
            if properties.get(name) is not None:
                updates[name] = str(properties[name])
        # Nova's _inherit_properties_from_image: the request's disk config, else the
        # image's (AutoDiskConfigDisabledByImage when the image forbids AUTO).
        updates["auto_disk_config"] = ServersCreateAPI._auto_disk_config(
            image, changes.pop("auto_disk_config", None))
        updates.update(changes)
        updates.update(image_ref=image_href, progress=0,
                       kernel_id=properties.get("kernel_id") or "",
                       ramdisk_id=properties.get("ramdisk_id") or "",
                       system_metadata=system_metadata)
        changed = await self._start_task(context, located, "rebuild", states.REBUILDING,
                                         updates)
        if image_href != instance.image_ref:
            # Later moves schedule with the image the server now runs (Nova persists
            # it in the request spec).
            await self.servers.api_db.do(self._save_spec_image, instance.uuid, image)
        self._cast("rebuild_instance", context, changed, new_pass=admin_password,
                   injected_files=list(files or []), image_ref=image_href,
                   orig_image_ref=instance.image_ref, orig_sys_metadata=orig_sys_metadata,
                   preserve_ephemeral=preserve_ephemeral)
        return changed

    async def _check_injected_files_quota(self, context: Any, project_id: str,
                                          files: list[tuple[str, str]]) -> None:
        """Nova's ``_check_injected_file_quota`` of the personality (before 2.57)."""
        quota = self.servers.quota
        if quota is None or not files:
            return
        try:
            await quota.limit_check(context, project_id, injected_files=len(files))
        except exception.OverQuota:
            raise exception.OnsetFileLimitExceeded() from None
        max_path = max(len((path or "").encode("utf-8")) for path, _ in files)
        max_content = max(len(content or "") for _, content in files)
        try:
            await quota.limit_check(context, project_id,
                                    injected_file_path_bytes=max_path,
                                    injected_file_content_bytes=max_content)
        except exception.OverQuota as e:
            quotas = e.kwargs["quotas"]
            if "injected_file_path_bytes" in e.kwargs["overs"]:
                raise exception.OnsetFilePathLimitExceeded(
                    allowed=quotas["injected_file_path_bytes"]) from None
            raise exception.OnsetFileContentLimitExceeded(
                allowed=quotas["injected_file_content_bytes"]) from None

    @staticmethod
    def _save_spec_image(api_conn: Any, instance_uuid: str, image: dict[str, Any]) -> None:
        try:
            spec = request_specs.get_by_instance_uuid(api_conn, instance_uuid)
        except exception.RequestSpecNotFound:
            return
        spec.image = boot_image.image_meta(image)
        request_specs.save(api_conn, spec)

    # -- rescue ----------------------------------------------------------------------------

    async def rescue(self, context: Any, located: Located, rescue_password: str,
                     rescue_image_ref: str | None) -> None:
        """Nova's ``rescue``: an image of the request must exist and not be a volume
        snapshot; volume-backed servers cannot be rescued (the stable device rescue of
        2.87 is not built)."""
        instance = self._in_a_cell(located, "rescue")
        check_not_locked(context, instance)
        check_state(instance, "rescue", ALLOW_RESCUE)
        check_launched(instance, "rescue")
        if rescue_image_ref:
            try:
                image = await self._image(context, rescue_image_ref)
            except (image_api.ImageNotFound, image_api.ImageBadRequest):
                LOG.warning("Failed to fetch rescue image metadata using image_ref %s",
                            rescue_image_ref)
                raise UnsupportedRescueImage(image=rescue_image_ref) from None
            if "img_block_device_mapping" in boot_image.image_meta(image).properties \
                    or image.get("img_block_device_mapping") is not None:
                raise UnsupportedRescueImage(image=rescue_image_ref)
        if not instance.image_ref:
            raise InstanceNotRescuable(instance_id=instance.uuid,
                                       reason="Cannot rescue a volume-backed instance")
        changed = await self._start_task(context, located, "rescue", states.RESCUING)
        self._cast("rescue_instance", context, changed, rescue_password=rescue_password,
                   rescue_image_ref=rescue_image_ref, clean_shutdown=True)

    async def unrescue(self, context: Any, located: Located) -> None:
        instance = self._in_a_cell(located, "unrescue")
        check_not_locked(context, instance)
        check_state(instance, "unrescue", (states.RESCUED,))
        check_launched(instance, "unrescue")
        changed = await self._start_task(context, located, "unrescue", states.UNRESCUING)
        self._cast("unrescue_instance", context, changed)

    # -- snapshot --------------------------------------------------------------------------

    async def snapshot(self, context: Any, located: Located, name: str,
                       extra_properties: dict[str, str] | None = None) -> dict[str, Any]:
        """Nova's ``snapshot``: the image is created (queued) first, then the task
        state ``image_snapshot_pending`` and the action ``createImage``, then
        ``snapshot_instance`` uploads its data. A server deleted meanwhile takes its
        image with it (InstanceInvalidState)."""
        instance = self._in_a_cell(located, "snapshot")
        check_state(instance, "snapshot", ALLOW_SNAPSHOT)
        check_launched(instance, "snapshot")
        if self.images is None:
            raise exception.ConfigError(reason="the compute API has no image service")
        image = await self.images.create(
            context, snapshot_properties(context, instance, name, extra_properties))
        try:
            changed = await self._start_task(context, located, "createImage",
                                             states.IMAGE_SNAPSHOT_PENDING)
        except (exception.InstanceNotFound,
                exception.UnexpectedDeletingTaskStateError) as error:
            LOG.debug("Instance %s disappeared during snapshot.", instance.uuid)
            try:
                await self.images.delete(context, image["id"])
            except Exception as e:  # the image's cleanup never hides why
                LOG.warning("Error while trying to clean up image %s: %s",
                            image["id"], e)
            gone = isinstance(error, exception.InstanceNotFound)
            raise exception.InstanceInvalidState(
                attr="vm_state" if gone else "task_state", instance_uuid=instance.uuid,
                state=states.DELETED if gone else states.DELETING,
                method="snapshot") from None
        self._cast("snapshot_instance", context, changed, image["id"])
        return image

    # -- crash dump ------------------------------------------------------------------------

    async def trigger_crash_dump(self, context: Any, located: Located) -> None:
        """Nova's ``trigger_crash_dump`` (2.17): no task state (what the guest does
        with the NMI is its own affair), the action recorded, the compute told."""
        instance = self._in_a_cell(located, "trigger_crash_dump")
        check_not_locked(context, instance)
        check_state(instance, "trigger_crash_dump", ALLOW_CRASH_DUMP)
        check_launched(instance, "trigger_crash_dump")
        if not instance.host:
            raise exception.InstanceNotReady(instance_id=instance.uuid)

        def record(conn: Any) -> None:
            instance_actions.create(conn, action="trigger_crash_dump",
                                    instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, record)
        self._cast("trigger_crash_dump", context, instance)

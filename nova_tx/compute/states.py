"""An instance's states (Nova's ``vm_states``, ``task_states``, ``power_state``) and the
API status they show as (``nova/api/openstack/common.py``).

``vm_state`` is where the instance stably is, ``task_state`` what is being done to it
(None when nothing), ``power_state`` what the hypervisor last reported. The API shows
one ``status`` computed from the first two; the list filter ``status`` maps back.
"""
from __future__ import annotations

from nova_tx import log

LOG = log.getLogger(__name__)

# -- vm_states ---------------------------------------------------------------------------
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# -- task_states -------------------------------------------------------------------------
SCHEDULING = "scheduling"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
NETWORKING = "networking"
SPAWNING = "spawning"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
IMAGE_BACKUP = "image_backup"
UPDATING_PASSWORD = "updating_password"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
REBOOTING = "rebooting"
REBOOT_PENDING = "reboot_pending"
REBOOT_STARTED = "reboot_started"
REBOOTING_HARD = "rebooting_hard"
REBOOT_PENDING_HARD = "reboot_pending_hard"
REBOOT_STARTED_HARD = "reboot_started_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
REBUILDING = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
REBUILD_SPAWNING = "rebuild_spawning"
MIGRATING = "migrating"
DELETING = "deleting"
SOFT_DELETING = "soft-deleting"
RESTORING = "restoring"
SHELVING = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"

# -- power_state -------------------------------------------------------------------------
NOSTATE = 0
RUNNING = 1
POWER_PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
POWER_SUSPENDED = 7

_REBUILD = {REBUILDING: "REBUILD", REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
            REBUILD_SPAWNING: "REBUILD"}
_RESIZE = {RESIZE_PREP: "RESIZE", RESIZE_MIGRATING: "RESIZE", RESIZE_MIGRATED: "RESIZE",
           RESIZE_FINISH: "RESIZE"}

#: vm_state -> task_state -> status ("default": whatever the task).
STATE_MAP: dict[str, dict[str, str]] = {
    ACTIVE: {
        "default": "ACTIVE",
        REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT", REBOOT_STARTED: "REBOOT",
        REBOOTING_HARD: "HARD_REBOOT", REBOOT_PENDING_HARD: "HARD_REBOOT",
        REBOOT_STARTED_HARD: "HARD_REBOOT",
        UPDATING_PASSWORD: "PASSWORD",
        **_REBUILD,
        MIGRATING: "MIGRATING",
        **_RESIZE,
    },
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", **_RESIZE, **_REBUILD},
    RESIZED: {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
    ERROR: {"default": "ERROR", **_REBUILD},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}


def status_from_state(vm_state: str | None, task_state: str | None = "default") -> str:
    """The API status of an instance; UNKNOWN (logged) for a vm_state Nova never sets."""
    task_map = STATE_MAP.get(vm_state or "", {"default": "UNKNOWN"})
    status = task_map.get(task_state or "default", task_map["default"])
    if status == "UNKNOWN":
        LOG.error("status is UNKNOWN from vm_state=%s task_state=%s. Bad upgrade or db "
                  "corrupted?", vm_state, task_state)
    return status


def task_and_vm_state_from_status(statuses: list[str]) -> tuple[list[str], list[str]]:
    """(vm_states, task_states) that show as any of ``statuses`` (case-insensitive).

    ``"default"`` among the task states means any task state will do.
    """
    wanted = {status.lower() for status in statuses}
    vm_states: set[str] = set()
    task_states: set[str] = set()
    for vm_state, task_map in STATE_MAP.items():
        for task_state, status in task_map.items():
            if status.lower() in wanted:
                vm_states.add(vm_state)
                task_states.add(task_state)
    return sorted(vm_states), sorted(task_states)

"""The libvirt driver's errors, with Nova's names and messages: what the compute manager
records as an instance fault when an operation on a guest fails."""
from nova_tx import exception

__all__ = ["InstancePowerFailure", "InstanceRebootFailure", "InstanceRescueFailure",
           "InstanceSpawnFailure", "InstanceUnRescueFailure", "SnapshotFailure"]


class InstanceSpawnFailure(exception.NovaException):
    msg_fmt = "Failed to spawn instance %(instance_uuid)s: %(reason)s"


class InstanceRebootFailure(exception.NovaException):
    msg_fmt = "Failed to reboot instance %(instance_uuid)s: %(reason)s"


class InstancePowerFailure(exception.NovaException):
    msg_fmt = "Failed to %(action)s instance %(instance_uuid)s: %(reason)s"


class SnapshotFailure(exception.NovaException):
    msg_fmt = "Failed to snapshot instance %(instance_uuid)s: %(reason)s"


class InstanceRescueFailure(exception.NovaException):
    """Nova's ``InstanceRescueFailure`` / ``InstanceUnRescueFailure``."""

    msg_fmt = "Failed to move instance %(instance_uuid)s to rescue mode: %(reason)s"


class InstanceUnRescueFailure(exception.NovaException):
    msg_fmt = "Failed to unrescue instance %(instance_uuid)s: %(reason)s"

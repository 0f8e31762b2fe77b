"""The action payloads of rebuild, rescue and snapshot (Nova's
``InstanceActionRebuildPayload``, ``InstanceActionRescuePayload`` and
``InstanceActionSnapshotPayload``): the action payload with what the action was about,
so a consumer need not look the image up."""
from __future__ import annotations

from typing import Any

from nova_tx.notifications.instance import InstanceActionPayload
from nova_tx.objects.instance import Instance


class InstanceActionRebuildPayload(InstanceActionPayload):
    """``instance.rebuild.*``: the new image, the architecture and the trusted image
    certificates the rebuild asked for."""

    SCHEMA_NAME = "InstanceActionRebuildPayload"
    VERSION = "1.10"

    def data(self) -> dict[str, Any]:
        i = self.instance
        return {**super().data(), "architecture": i.architecture,
                "image_uuid": i.image_ref,
                "trusted_image_certificates": (None if i.trusted_certs is None
                                               else list(i.trusted_certs))}


class InstanceActionRescuePayload(InstanceActionPayload):
    """``instance.rescue.*``: the rescue image of the request (None: the server's)."""

    SCHEMA_NAME = "InstanceActionRescuePayload"
    VERSION = "1.4"

    def __init__(self, context: Any, instance: Instance, rescue_image_ref: str | None,
                 error: BaseException | None = None):
        super().__init__(context, instance, error)
        self.rescue_image_ref = rescue_image_ref

    def data(self) -> dict[str, Any]:
        return {**super().data(), "rescue_image_ref": self.rescue_image_ref}


class InstanceActionSnapshotPayload(InstanceActionPayload):
    """``instance.snapshot.*``: the image the snapshot goes into."""

    SCHEMA_NAME = "InstanceActionSnapshotPayload"
    VERSION = "1.10"

    def __init__(self, context: Any, instance: Instance, snapshot_image_id: str,
                 error: BaseException | None = None):
        super().__init__(context, instance, error)
        self.snapshot_image_id = snapshot_image_id

    def data(self) -> dict[str, Any]:
        return {**super().data(), "snapshot_image_id": self.snapshot_image_id}

"""Nova's ``BuildRequest``: a server the API accepted that is not in a cell yet.

It lives in the API database (``build_requests``) from ``POST /servers`` until the
conductor has scheduled the instance and created it in a cell; meanwhile the API lists,
shows and deletes the server from it. The columns hold Nova's JSON: ``instance`` the
Instance primitive, ``block_device_mappings`` a BlockDeviceMappingList primitive,
``tags`` a TagList primitive, so a build request written by Nova loads here.

When loaded, the instance gets what Nova's ``BuildRequest._load_instance`` sets: it is
not deleted, has no host, node or launch time, its ``created_at``/``updated_at`` are
the build request's, and its tags are the build request's.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

from nova_tx.objects.instance import Instance, envelope, unwrap

#: Nova Zed's versions of the lists a build request stores.
BDM_LIST_VERSION = "1.18"
BDM_VERSION = "1.20"


@dataclasses.dataclass
class BuildRequest:
    instance_uuid: str
    project_id: str
    instance: Instance
    #: The BlockDeviceMapping fields of each disk asked for (Nova's object data).
    block_device_mappings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tags: list[str] = dataclasses.field(default_factory=list)
    id: int | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    def instance_json(self) -> str:
        return json.dumps(self.instance.to_primitive())

    def block_device_mappings_json(self) -> str:
        objects = []
        for bdm in self.block_device_mappings:
            objects.append({"nova_object.name": "BlockDeviceMapping",
                            "nova_object.namespace": "nova",
                            "nova_object.version": BDM_VERSION,
                            "nova_object.data": dict(bdm),
                            "nova_object.changes": sorted(bdm)})
        return json.dumps({"nova_object.name": "BlockDeviceMappingList",
                           "nova_object.namespace": "nova",
                           "nova_object.version": BDM_LIST_VERSION,
                           "nova_object.data": {"objects": objects},
                           "nova_object.changes": ["objects"]})

    def tags_json(self) -> str:
        return json.dumps(envelope("TagList", {"objects": [
            envelope("Tag", {"resource_id": self.instance_uuid, "tag": tag})
            for tag in self.tags]}))

    @classmethod
    def from_columns(cls, *, id: int | None, instance_uuid: str, project_id: str,
                     instance: str | None, block_device_mappings: str | None,
                     tags: str | None, created_at: datetime.datetime | None,
                     updated_at: datetime.datetime | None) -> BuildRequest:
        """A build request from its row, the instance completed as Nova's
        ``_load_instance`` does."""
        loaded = Instance.from_primitive(json.loads(instance)) if instance else Instance(
            uuid=instance_uuid, project_id=project_id)
        tag_names = [unwrap(t)["tag"] for t in
                     (unwrap(json.loads(tags)).get("objects") or [])] if tags else []
        bdms = [dict(unwrap(b)) for b in
                (unwrap(json.loads(block_device_mappings)).get("objects") or [])
                ] if block_device_mappings else []
        loaded = loaded.replace(
            deleted=False, disable_terminate=False, terminated_at=None, host=None,
            node=None, launched_at=None, launched_on=None, cell_name=None,
            created_at=created_at, updated_at=updated_at, tags=list(tag_names))
        return cls(id=id, instance_uuid=instance_uuid, project_id=project_id,
                   instance=loaded, block_device_mappings=bdms, tags=tag_names,
                   created_at=created_at, updated_at=updated_at)

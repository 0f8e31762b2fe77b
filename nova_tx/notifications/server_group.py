"""``server_group.{create,delete,add_member}``: Nova's versioned ``ServerGroupPayload``
1.1, and the legacy ``servergroup.{create,delete,addmember}`` of the same moments.

Versioned (publisher ``nova-api:<host>``): ``uuid``, ``name``, ``user_id``,
``project_id``, ``policies``, ``policy``, ``rules`` (values as strings, as Nova stores
them), ``members`` and ``hosts`` (never loaded by the API: null). ``add_member`` carries
the group as it is after the members were added.

Legacy (publisher ``servergroup.<host>``, as Nova's
``compute_utils.notify_about_server_group_update``): on create the group's fields and
``server_group_id``; on delete ``{"server_group_id"}``; on addmember
``{"server_group_id", "instance_uuids"}``.
"""
from __future__ import annotations

from typing import Any

from nova_tx.notifications import base
from nova_tx.objects.instance_group import InstanceGroup

CREATE, DELETE, ADD_MEMBER = "create", "delete", "add_member"
#: The legacy event names of the same actions.
LEGACY_EVENTS = {CREATE: "servergroup.create", DELETE: "servergroup.delete",
                 ADD_MEMBER: "servergroup.addmember"}


class ServerGroupPayload(base.NotificationPayloadBase):
    SCHEMA_NAME = "ServerGroupPayload"
    VERSION = "1.1"

    def __init__(self, group: InstanceGroup):
        self.group = group

    def data(self) -> dict[str, Any]:
        g = self.group
        return {"uuid": g.uuid, "name": g.name, "user_id": g.user_id,
                "project_id": g.project_id, "policies": g.policies, "policy": g.policy,
                "rules": dict(g.stored_rules), "members": list(g.members),
                "hosts": None if g.hosts is None else list(g.hosts)}


def server_group_notification(action: str, group: InstanceGroup, host: str,
                              source: str = "nova-api") -> base.NotificationBase:
    return base.NotificationBase(
        event_type=base.EventType("server_group", action),
        publisher=base.NotificationPublisher(host=host, source=source),
        payload=ServerGroupPayload(group))


def legacy_payload(action: str, group: InstanceGroup,
                   instance_uuids: list[str] | None = None) -> dict[str, Any]:
    if action == CREATE:
        payload: dict[str, Any] = {"name": group.name, "project_id": group.project_id,
                                   "user_id": group.user_id, "policy": group.policy}
        if group.stored_rules:
            payload["rules"] = dict(group.stored_rules)
        payload["server_group_id"] = group.uuid
        return payload
    if action == ADD_MEMBER:
        return {"server_group_id": group.uuid, "instance_uuids": list(instance_uuids or ())}
    return {"server_group_id": group.uuid}


class ServerGroupNotifier:
    """What ``nova_tx.compute.server_groups.ServerGroupAPI`` calls: the legacy
    notification (``legacy``, a Notifier; sent as ``servergroup.<host>``) and the
    versioned one (``versioned``); either may be None. Never fails the operation."""

    def __init__(self, host: str, versioned=None, legacy=None):
        self.host = host
        self.versioned = versioned
        self.legacy = legacy

    def notify(self, context, action: str, group: InstanceGroup,
               instance_uuids: list[str] | None = None) -> None:
        if self.legacy is not None and self.legacy.is_enabled():
            try:
                self.legacy.prepare(publisher_id="servergroup.%s" % self.host).info(
                    context, LEGACY_EVENTS[action],
                    legacy_payload(action, group, instance_uuids))
            except Exception:  # a notification never fails the request
                base.LOG.exception("%s could not be sent", LEGACY_EVENTS[action])
        server_group_notification(action, group, self.host).emit(self.versioned, context)

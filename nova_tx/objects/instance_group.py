"""A server group as the API database stores it (Nova's ``InstanceGroup`` 1.11).

Since Nova's 2.64 a group has one ``policy`` and a ``rules`` dict; ``policies`` (a
one-item list) stays for the older microversions and the notification payload. The
only rule is ``max_server_per_host`` (anti-affinity): the database and the wire hold
rule values as strings (Nova's ``DictOfStringsField``), ``rules`` gives it back as an
integer, as Nova's ``InstanceGroup.rules`` property does for the API.

``hosts`` is not stored: whoever needs it (the conductor, the late affinity check)
fills it from the members' instances and hands the group to the scheduler through
:meth:`InstanceGroup.to_request_spec_group`, the wire form the filters read.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from nova_tx.objects import request_spec

AFFINITY = "affinity"
ANTI_AFFINITY = "anti-affinity"
SOFT_AFFINITY = "soft-affinity"
SOFT_ANTI_AFFINITY = "soft-anti-affinity"
#: Before 2.15 only the hard policies may be asked for.
HARD_POLICIES = (ANTI_AFFINITY, AFFINITY)
POLICIES = HARD_POLICIES + (SOFT_ANTI_AFFINITY, SOFT_AFFINITY)
MAX_SERVER_PER_HOST = "max_server_per_host"


def _stored_rules(rules: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (rules or {}).items()}


@dataclasses.dataclass(frozen=True)
class InstanceGroup:
    uuid: str
    name: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    policy: str | None = None
    #: As stored: values are strings (``{"max_server_per_host": "3"}``).
    stored_rules: dict[str, str] = dataclasses.field(default_factory=dict)
    members: list[str] = dataclasses.field(default_factory=list)
    hosts: list[str] | None = None
    id: int | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    @classmethod
    def new(cls, *, uuid: str, name: str | None, user_id: str | None,
            project_id: str | None, policy: str,
            rules: dict[str, Any] | None = None,
            members: list[str] | None = None) -> InstanceGroup:
        """A group not stored yet, its rules given as the API takes them."""
        return cls(uuid=uuid, name=name, user_id=user_id, project_id=project_id,
                   policy=policy, stored_rules=_stored_rules(rules),
                   members=list(members or ()))

    @property
    def rules(self) -> dict[str, Any]:
        """The rules for the API: ``max_server_per_host`` as an integer."""
        rules: dict[str, Any] = dict(self.stored_rules)
        if MAX_SERVER_PER_HOST in rules:
            rules[MAX_SERVER_PER_HOST] = int(rules[MAX_SERVER_PER_HOST])
        return rules

    @property
    def policies(self) -> list[str]:
        """The pre-2.64 view of the policy."""
        return [self.policy] if self.policy else []

    def with_members(self, members: list[str]) -> InstanceGroup:
        return dataclasses.replace(self, members=list(members))

    def with_hosts(self, hosts: list[str] | None) -> InstanceGroup:
        return dataclasses.replace(self, hosts=None if hosts is None else list(hosts))

    def to_request_spec_group(self) -> request_spec.InstanceGroup:
        """The group as a RequestSpec carries it to the scheduler (its wire form)."""
        return request_spec.InstanceGroup(
            uuid=self.uuid, name=self.name, policy=self.policy, rules=self.rules,
            members=list(self.members), hosts=None if self.hosts is None else list(self.hosts),
            project_id=self.project_id, user_id=self.user_id)

    @classmethod
    def from_request_spec_group(cls, group: request_spec.InstanceGroup) -> InstanceGroup:
        """The group a RequestSpec carried (a spec read back from the database or RPC)."""
        return cls(uuid=group.uuid or "", name=group.name, user_id=group.user_id,
                   project_id=group.project_id, policy=group.policy,
                   stored_rules=_stored_rules(group.rules),
                   members=list(group.members or ()),
                   hosts=None if group.hosts is None else list(group.hosts))

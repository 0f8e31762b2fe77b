"""The request context: who asked, in which project, under which request id.

It travels with every RPC message and notification as Nova's does, its ``to_dict`` keys
prefixed with ``_context_`` (oslo.messaging's ``pack_context``), so the keys are Nova's:
oslo.context's (``user``, ``project_id``, ``request_id``, ``global_request_id``,
``roles``, ``is_admin``, ``user_identity`` ...) plus Nova's own (``user_id``,
``read_deleted``, ``remote_address``, ``timestamp``, ``quota_class``, ``user_name``,
``project_name``, ``service_catalog``). A context built by real Nova therefore reads
here, and ours reads in Nova.
"""
from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

#: Nova's ``utils.strtime`` format, which its context uses for ``timestamp``.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def generate_request_id() -> str:
    return "req-" + str(uuid.uuid4())


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


@dataclasses.dataclass
class RequestContext:
    """``is_admin`` left unset means "has the admin role", which is the default of the
    ``context_is_admin`` policy rule."""

    user_id: str | None = None
    project_id: str | None = None
    roles: list[str] = dataclasses.field(default_factory=list)
    is_admin: bool | None = None
    request_id: str = dataclasses.field(default_factory=generate_request_id)
    global_request_id: str | None = None
    read_deleted: str = "no"
    remote_address: str | None = None
    timestamp: datetime.datetime = dataclasses.field(default_factory=_utcnow)
    quota_class: str | None = None
    user_name: str | None = None
    project_name: str | None = None
    service_catalog: list[dict] = dataclasses.field(default_factory=list)
    auth_token: str | None = None
    domain_id: str | None = None
    user_domain_id: str | None = None
    project_domain_id: str | None = None
    system_scope: str | None = None
    is_admin_project: bool = True
    show_deleted: bool = False
    read_only: bool = False
    resource_uuid: str | None = None

    def __post_init__(self) -> None:
        if self.is_admin is None:
            self.is_admin = "admin" in [role.lower() for role in self.roles]
        if isinstance(self.timestamp, str):
            self.timestamp = _parse_time(self.timestamp)

    @property
    def user_identity(self) -> str:
        """oslo.context's ``user_identity``: what the log line shows for the caller."""
        return " ".join(value or "-" for value in (
            self.user_id, self.project_id, self.domain_id, self.user_domain_id,
            self.project_domain_id))

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user_id,
            "project_id": self.project_id,
            "system_scope": self.system_scope,
            "project": self.project_id,
            "domain": self.domain_id,
            "user_domain": self.user_domain_id,
            "project_domain": self.project_domain_id,
            "is_admin": self.is_admin,
            "read_only": self.read_only,
            "show_deleted": self.show_deleted,
            "auth_token": self.auth_token,
            "request_id": self.request_id,
            "global_request_id": self.global_request_id,
            "resource_uuid": self.resource_uuid,
            "roles": list(self.roles),
            "user_identity": self.user_identity,
            "is_admin_project": self.is_admin_project,
            "user_id": self.user_id,
            "read_deleted": self.read_deleted,
            "remote_address": self.remote_address,
            "timestamp": self.timestamp.strftime(TIME_FORMAT),
            "quota_class": self.quota_class,
            "user_name": self.user_name,
            "service_catalog": self.service_catalog,
            "project_name": self.project_name,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RequestContext:
        """Read a context dict from us, from Nova, or from a bare oslo.context; unknown
        keys are ignored and missing ones take their defaults."""
        kwargs: dict[str, Any] = {
            "user_id": values.get("user_id", values.get("user")),
            "project_id": values.get("project_id", values.get("project")),
            "roles": list(values.get("roles") or []),
            "is_admin": values.get("is_admin"),
            "global_request_id": values.get("global_request_id"),
            "read_deleted": values.get("read_deleted") or "no",
            "remote_address": values.get("remote_address"),
            "quota_class": values.get("quota_class"),
            "user_name": values.get("user_name"),
            "project_name": values.get("project_name"),
            "service_catalog": values.get("service_catalog") or [],
            "auth_token": values.get("auth_token"),
            "domain_id": values.get("domain"),
            "user_domain_id": values.get("user_domain"),
            "project_domain_id": values.get("project_domain"),
            "system_scope": values.get("system_scope"),
            "is_admin_project": values.get("is_admin_project", True),
            "show_deleted": bool(values.get("show_deleted", False)),
            "read_only": bool(values.get("read_only", False)),
            "resource_uuid": values.get("resource_uuid"),
        }
        if values.get("request_id"):
            kwargs["request_id"] = values["request_id"]
        if values.get("timestamp"):
            kwargs["timestamp"] = values["timestamp"]
        return cls(**kwargs)

    def redacted_copy(self) -> RequestContext:
        """A copy without credentials, for what leaves the RPC path (notifications, logs)."""
        return dataclasses.replace(self, auth_token=None, service_catalog=[])

    def to_policy_values(self) -> dict[str, Any]:
        """The credentials policy rules see: oslo.context's keys plus Nova's ``is_admin``."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "system_scope": self.system_scope,
            "domain_id": self.domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "roles": list(self.roles),
            "is_admin_project": self.is_admin_project,
            "service_user_id": None,
            "service_user_domain_id": None,
            "service_project_id": None,
            "service_project_domain_id": None,
            "service_roles": [],
            "is_admin": self.is_admin,
        }

    def can(self, action: str, target: dict[str, Any] | None = None,
            fatal: bool = True) -> bool:
        """Whether policy lets this caller do ``action`` to ``target`` (by default, to
        its own project and user). Raises ``PolicyNotAuthorized`` (403) when not, or
        answers False if ``fatal`` is false."""
        from nova_tx import policy

        return policy.authorize(self, action, target, fatal=fatal)


def _parse_time(text: str) -> datetime.datetime:
    for fmt in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
                "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"unreadable context timestamp {text!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed

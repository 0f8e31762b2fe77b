"""Who exists: the users, projects, roles and role assignments of the configuration.

Everything lives in the one domain ``default`` (named ``Default``), as Keystone's
bootstrap makes it. Identifiers are derived from names (UUID 5, as 32 hex digits
like Keystone's), so they stay the same across restarts and across processes reading
the same configuration: Nova stores project and user ids in its databases.
"""
from __future__ import annotations

import dataclasses
import hmac
import uuid
from collections.abc import Iterable

from nova_tx import exception

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"

#: Keystone's default role inference rules (``keystone-manage bootstrap``).
IMPLIED_ROLES = {"admin": ("member",), "member": ("reader",)}

_NAMESPACE = uuid.UUID("6f4ad7f0-3c0b-5b43-9d8e-1c0a7d3e6b21")


def stable_id(kind: str, name: str) -> str:
    """The id of the ``kind`` (user, project, role, ...) called ``name``."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{name}").hex


@dataclasses.dataclass(frozen=True)
class Domain:
    id: str = DEFAULT_DOMAIN_ID
    name: str = DEFAULT_DOMAIN_NAME

    def ref(self) -> dict:
        return {"id": self.id, "name": self.name}


@dataclasses.dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain: Domain = Domain()


@dataclasses.dataclass(frozen=True)
class Role:
    id: str
    name: str


@dataclasses.dataclass(frozen=True)
class User:
    id: str
    name: str
    password: str
    default_project_id: str
    domain: Domain = Domain()

    def check_password(self, password: str) -> bool:
        return hmac.compare_digest(self.password.encode("utf-8"), password.encode("utf-8"))


def expand_roles(names: Iterable[str]) -> list[str]:
    """``names`` with the roles they imply, in a stable order (given ones first)."""
    result: list[str] = []
    pending = list(names)
    while pending:
        name = pending.pop(0)
        if name in result:
            continue
        result.append(name)
        pending.extend(IMPLIED_ROLES.get(name, ()))
    return result


class Directory:
    """The identity data of one configuration, read-only once built."""

    def __init__(self) -> None:
        self.domain = Domain()
        self.users: dict[str, User] = {}  # by id
        self.projects: dict[str, Project] = {}  # by id
        self.roles: dict[str, Role] = {}  # by id
        #: (user id, project id) -> role ids, implied roles included.
        self.assignments: dict[tuple[str, str], list[str]] = {}

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> Directory:
        """Read ``name:password:project:role1+role2`` entries (``[embedded]
        identity_users``); raise ConfigError for an unreadable one."""
        directory = cls()
        for entry in entries:
            entry = entry.strip()
            if entry:
                directory._add_entry(entry)
        return directory

    @classmethod
    def from_conf(cls, conf) -> Directory:
        return cls.from_entries(conf.embedded.identity_users)

    def _add_entry(self, entry: str) -> None:
        name, sep, rest = entry.partition(":")
        parts = rest.rsplit(":", 2)
        if not sep or len(parts) != 3 or not (name and parts[0] and parts[1]):
            raise exception.ConfigError(
                reason="[embedded] identity_users: %r is not "
                "'name:password:project:role1+role2'" % _masked(entry))
        password, project_name, role_list = parts
        roles = [r.strip() for r in role_list.split("+") if r.strip()]
        project = self._project(project_name)
        user_id = stable_id("user", name)
        user = self.users.get(user_id)
        if user is None:
            user = User(user_id, name, password, project.id)
            self.users[user_id] = user
        elif not user.check_password(password):
            raise exception.ConfigError(
                reason="[embedded] identity_users: user %r is given two passwords" % name)
        role_ids = self.assignments.setdefault((user_id, project.id), [])
        for role_name in expand_roles(roles):
            role = self._role(role_name)
            if role.id not in role_ids:
                role_ids.append(role.id)

    def _project(self, name: str) -> Project:
        project_id = stable_id("project", name)
        return self.projects.setdefault(project_id, Project(project_id, name, self.domain))

    def _role(self, name: str) -> Role:
        role_id = stable_id("role", name)
        return self.roles.setdefault(role_id, Role(role_id, name))

    # -- look-ups -------------------------------------------------------------------

    def find_domain(self, ref: dict | None) -> Domain | None:
        """The domain ``{"id": ...}`` or ``{"name": ...}`` names, if it exists."""
        if not isinstance(ref, dict):
            return None
        if "id" in ref:
            return self.domain if ref["id"] == self.domain.id else None
        if "name" in ref:
            return self.domain if ref["name"] == self.domain.name else None
        return None

    def find_user(self, *, user_id: str | None = None, name: str | None = None
                  ) -> User | None:
        if user_id is not None:
            return self.users.get(user_id)
        return next((u for u in self.users.values() if u.name == name), None)

    def find_project(self, *, project_id: str | None = None, name: str | None = None
                     ) -> Project | None:
        if project_id is not None:
            return self.projects.get(project_id)
        return next((p for p in self.projects.values() if p.name == name), None)

    def roles_of(self, user_id: str, project_id: str) -> list[Role]:
        return [self.roles[r] for r in self.assignments.get((user_id, project_id), [])]

    def projects_of(self, user_id: str) -> list[Project]:
        return [self.projects[p] for (u, p), roles in self.assignments.items()
                if u == user_id and roles]

    def system_roles_of(self, user_id: str) -> list[Role]:
        """The user's roles on the system: those it has where it has ``admin``.

        Keystone's bootstrap gives its admin user the admin role on the system as
        well as on the admin project; here every admin gets its roles on the system.
        """
        admin = stable_id("role", "admin")
        for (u, _), roles in self.assignments.items():
            if u == user_id and admin in roles:
                return [self.roles[r] for r in roles]
        return []


def _masked(entry: str) -> str:
    name, _, rest = entry.partition(":")
    tail = rest.rsplit(":", 2)[1:] if rest.count(":") >= 2 else []
    return ":".join([name, "***", *tail])

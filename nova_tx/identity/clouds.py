"""What the all-in-one needs to run with ``auth_strategy = keystone`` against its
embedded identity: generated credentials, the configuration that declares them, and
the clients' ``clouds.yaml``.

``OS_CLIENT_CONFIG_FILE=var/clouds.yaml openstack --os-cloud nova-tx flavor list``
then logs in as the all-in-one's admin.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
from collections.abc import Mapping

from nova_tx.identity.directory import DEFAULT_DOMAIN_NAME

#: The cloud name of the all-in-one's admin in ``clouds.yaml``.
CLOUD_NAME = "nova-tx"


@dataclasses.dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    project: str
    roles: tuple[str, ...]

    def entry(self) -> str:
        """This user as an ``[embedded] identity_users`` entry."""
        return f"{self.user}:{self.password}:{self.project}:{'+'.join(self.roles)}"


def generate_credentials() -> dict[str, Credentials]:
    """The all-in-one's users with fresh passwords: ``admin`` (admin of project
    ``admin``), ``demo`` (member of project ``demo``) and ``nova``, the service user
    ``[keystone_authtoken]`` validates tokens as (admin and service in ``service``)."""
    def password() -> str:
        return secrets.token_hex(16)

    return {
        "admin": Credentials("admin", password(), "admin", ("admin",)),
        "demo": Credentials("demo", password(), "demo", ("member",)),
        "nova": Credentials("nova", password(), "service", ("admin", "service")),
    }


def allinone_config(credentials: Mapping[str, Credentials], *, host: str = "127.0.0.1",
                    port: int = 5000, embedded: str = "") -> str:
    """The ``nova.conf`` sections that serve the identity in the all-in-one and make
    its API validate tokens against it (``[api] auth_strategy = keystone``);
    ``embedded`` adds the caller's lines to the one ``[embedded]`` section."""
    service = credentials["nova"]
    users = ",".join(c.entry() for c in credentials.values())
    return f"""\
[api]
auth_strategy = keystone

[embedded]
identity = true
identity_listen = {host}
identity_port = {port}
identity_endpoint_host = {host}
identity_users = {users}
{embedded}
[keystone_authtoken]
auth_type = password
auth_url = http://{host}:{port}/v3
www_authenticate_uri = http://{host}:{port}
username = {service.user}
password = {service.password}
project_name = {service.project}
user_domain_name = {DEFAULT_DOMAIN_NAME}
project_domain_name = {DEFAULT_DOMAIN_NAME}
"""


def configured_credentials(conf) -> list[Credentials]:
    """The users of ``[embedded] identity_users`` (entries that do not parse are left
    to the identity service, which refuses them at start)."""
    found = []
    for entry in conf.embedded.identity_users:
        user, _, rest = entry.strip().partition(":")
        parts = rest.rsplit(":", 2)
        if len(parts) == 3:
            found.append(Credentials(user, parts[0], parts[1], tuple(parts[2].split("+"))))
    return found


def admin_credentials(conf) -> Credentials | None:
    """The first user of ``[embedded] identity_users`` with the admin role, if any."""
    for credentials in configured_credentials(conf):
        if "admin" in credentials.roles:
            return credentials
    return None


def clouds_document(auth_url: str, user: str, password: str, project: str, *,
                    cloud: str = CLOUD_NAME, region: str = "RegionOne",
                    user_domain: str = DEFAULT_DOMAIN_NAME,
                    project_domain: str = DEFAULT_DOMAIN_NAME,
                    others: Mapping[str, Credentials] | None = None) -> dict:
    """The ``clouds.yaml`` content: ``cloud`` as ``user``, plus one cloud per entry
    of ``others`` (cloud name -> credentials) on the same identity."""
    def one(user: str, password: str, project: str) -> dict:
        return {
            "auth": {
                "auth_url": auth_url,
                "username": user,
                "password": password,
                "project_name": project,
                "user_domain_name": user_domain,
                "project_domain_name": project_domain,
            },
            "auth_type": "password",
            "region_name": region,
            "interface": "public",
            "identity_api_version": 3,
        }

    clouds = {cloud: one(user, password, project)}
    for name, credentials in (others or {}).items():
        clouds[name] = one(credentials.user, credentials.password, credentials.project)
    return {"clouds": clouds}


def write_clouds_yaml(path: str, auth_url: str, user: str, password: str, project: str,
                      *, cloud: str = CLOUD_NAME, region: str = "RegionOne",
                      user_domain: str = DEFAULT_DOMAIN_NAME,
                      project_domain: str = DEFAULT_DOMAIN_NAME,
                      others: Mapping[str, Credentials] | None = None) -> str:
    """Write ``clouds.yaml`` at ``path`` (mode 0600, replaced atomically); return
    ``path``. See :func:`clouds_document` for the arguments."""
    document = clouds_document(auth_url, user, password, project, cloud=cloud,
                               region=region, user_domain=user_domain,
                               project_domain=project_domain, others=others)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    partial = path + ".new"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# Generated by nova-tx: the all-in-one's clouds for openstacksdk and\n"
                "# python-openstackclient (OS_CLIENT_CONFIG_FILE=this file, --os-cloud "
                f"{cloud}).\n")
        f.write(to_yaml(document))
    os.replace(partial, path)
    return path


def to_yaml(value, indent: int = 0) -> str:
    """Block-style YAML of nested dicts of scalars (strings quoted as JSON, which
    YAML reads as double-quoted scalars), without a YAML library."""
    lines: list[str] = []
    pad = "  " * indent
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{_yaml_key(key)}:")
            lines.append(to_yaml(item, indent + 1).rstrip("\n"))
        else:
            lines.append(f"{pad}{_yaml_key(key)}: {json.dumps(item)}")
    return "\n".join(lines) + "\n"


def _yaml_key(key) -> str:
    key = str(key)
    plain = (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key)
             and key.lower() not in ("true", "false", "yes", "no", "on", "off", "null",
                                     "y", "n"))
    return key if plain else json.dumps(key)

"""The token DynamicJSON vendordata targets are called with: the service user of
``[vendordata_dynamic_auth]`` (Keystone v3 password authentication,
``auth_type = password``), kept until shortly before it expires.

Without ``auth_type`` the targets are called without a token, as Nova does (with a
warning, once). Another ``auth_type`` is a configuration error reported on use.
"""
from __future__ import annotations

import json
from typing import Any

import treq

from nova_tx import exception, log

LOG = log.getLogger(__name__)

#: Seconds before expiry at which a token is replaced.
TOKEN_MARGIN = 60
PASSWORD_TYPES = ("password", "v3password")


class VendordataToken:
    def __init__(self, conf: Any, reactor: Any):
        self.conf = conf
        self.reactor = reactor
        self._token: tuple[str, float] | None = None
        self._warned = False

    async def get(self) -> str | None:
        group = self.conf.vendordata_dynamic_auth
        if not group.auth_type:
            if not self._warned:
                LOG.warning("[vendordata_dynamic_auth] has no auth_type: dynamic "
                            "vendordata targets are called without a token")
                self._warned = True
            return None
        if group.auth_type not in PASSWORD_TYPES:
            raise exception.ConfigError(
                reason="[vendordata_dynamic_auth] auth_type = %s is not supported "
                "(password only)" % group.auth_type)
        now = self.reactor.seconds()
        if self._token and self._token[1] - TOKEN_MARGIN > now:
            return self._token[0]
        self._token = await self._login(group)
        return self._token[0]

    async def _login(self, group: Any) -> tuple[str, float]:
        from nova_tx.api.keystone import identity_url, parse_time, password_user

        user = password_user(_with_defaults(group))
        if group.system_scope:
            scope: dict[str, Any] = {"system": {group.system_scope: True}}
        elif group.project_id:
            scope = {"project": {"id": group.project_id}}
        else:
            scope = {"project": {"name": group.project_name, "domain": (
                {"id": group.project_domain_id or group.default_domain_id}
                if group.project_domain_id or group.default_domain_id
                else {"name": group.project_domain_name or group.default_domain_name
                      or "Default"})}}
        body = {"auth": {"identity": {"methods": ["password"],
                                      "password": {"user": user}},
                         "scope": scope}}
        url = identity_url(group.auth_url) + "/auth/tokens"
        from twisted.web.client import Agent, HTTPConnectionPool

        # A login every hour or so: no connection is worth keeping open.
        client = treq.client.HTTPClient(Agent(
            self.reactor, pool=HTTPConnectionPool(self.reactor, persistent=False)))
        response = await client.post(url, data=json.dumps(body).encode(),
                                     headers={b"Content-Type": [b"application/json"]},
                                     timeout=group.timeout or 30)
        content = json.loads(await treq.content(response) or b"{}")
        token = (response.headers.getRawHeaders("x-subject-token") or [None])[0]
        if response.code != 201 or not token:
            raise exception.NovaException(
                "[vendordata_dynamic_auth] could not log in to %s: HTTP %d"
                % (url, response.code))
        return token, parse_time(content["token"]["expires_at"])


class _with_defaults:  # noqa: N801 - a view, named for what it does
    """The group with ``default_domain_*`` standing in for the user's domain."""

    def __init__(self, group: Any):
        self._group = group

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._group, name)
        if value is None and name == "user_domain_id":
            return self._group.default_domain_id
        if value is None and name == "user_domain_name":
            return self._group.default_domain_name
        return value

"""Who is asking, and may they.

Authentication follows ``[api] auth_strategy``, as for the compute API. ``keystone``
validates ``X-Auth-Token`` with the compute API's authenticator
(``nova_tx.api.keystone``, under ``[keystone_authtoken]``); ``noauth2`` (also what a
PlacementAPI without configuration uses) reads ``X-Auth-Token: user[:project]`` as
Placement's noauth2 does: roles from ``X-Roles`` when given, otherwise ``admin`` for
the user ``admin`` and none for anyone else. Every URL but the root needs a token
(401). The in-process client's calls carry their service's context and skip this.

Authorization is Placement's policy (``nova_tx.placement.policies``, oslo.policy):
by default the ``admin`` or ``service`` role may do everything, a project's reader
may read its usages, ``[oslo_policy] enforce_new_defaults`` leaves the reshaper to
the ``service`` role, and ``policy.yaml`` overrides any rule. A system-scoped token
(``OpenStack-System-Scope``) is refused. A denial is a 403 with Placement's message.
"""
from __future__ import annotations

import logging

from oslo_config import cfg

from nova_tx.context import RequestContext
from nova_tx.placement import exception
from nova_tx.placement.api.wire import PlacementRequest

LOG = logging.getLogger(__name__)


class _TwistedRequestView:
    """What the compute API's authenticators read of a request, from a PlacementRequest."""

    def __init__(self, req: PlacementRequest, remote: str | None):
        self._req = req
        self._remote = remote

    def getHeader(self, name):  # noqa: N802 - twisted.web's IRequest
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        return self._req.header(name)

    def getClientAddress(self):  # noqa: N802
        from twisted.internet.address import IPv4Address

        return IPv4Address("TCP", self._remote or "127.0.0.1", 0)


def make_authenticator(conf, reactor=None):
    """The compute API's authenticator for ``[api] auth_strategy = keystone``, or None
    for noauth2 (and when there is no ``[api]`` section)."""
    if conf is None:
        return None
    try:
        strategy = conf.api.auth_strategy
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return None
    if strategy != "keystone":
        return None
    from nova_tx import exception as nova_exception
    from nova_tx.api import auth as compute_auth

    try:
        return compute_auth.make_authenticator(conf, reactor=reactor)
    except nova_exception.ConfigError as e:
        # As the compute API does: serve the root, fail what needs a token, say why.
        LOG.error("Placement API requests that need a token will fail: %s",
                  e.format_message())
        return compute_auth.UnavailableAuthenticator(e)


async def authenticate_with(authenticator, req: PlacementRequest,
                            request_id: str) -> RequestContext:
    """The caller's context from ``authenticator`` (Keystone); 401 or 503 otherwise."""
    from nova_tx import exception as nova_exception

    try:
        context = await authenticator.authenticate(_TwistedRequestView(req, req.remote))
    except nova_exception.Unauthorized as e:
        raise exception.Unauthorized(headers=dict(getattr(e, "headers", None) or {})) from None
    except nova_exception.NovaException as e:
        if getattr(e, "code", None) == 503:
            raise exception.ServiceUnavailable(e.format_message()) from None
        raise exception.PlacementError(e.format_message()) from None
    context.request_id = request_id
    context.global_request_id = req.header("x-openstack-request-id")
    context.system_scope = context.system_scope or req.header("openstack-system-scope")
    return context


def authenticate(req: PlacementRequest, request_id: str) -> RequestContext:
    token = req.header("x-auth-token")
    if token is None:
        raise exception.Unauthorized()
    user_id, _, project_id = token.partition(":")
    project_id = project_id or user_id
    roles_header = req.header("x-roles")
    if roles_header is not None:
        roles = [r.strip() for r in roles_header.split(",") if r.strip()]
    elif user_id == "admin":
        roles = ["admin"]
    else:
        roles = []
    return RequestContext(
        user_id=req.header("x-user-id") or user_id,
        project_id=req.header("x-project-id") or project_id,
        roles=roles, request_id=request_id, auth_token=token,
        global_request_id=req.header("x-openstack-request-id"),
        system_scope=req.header("openstack-system-scope"))


def authorize(enforcer, context: RequestContext | None, action: str,
              target: dict | None = None) -> None:
    """Allow ``action`` (a Placement policy name) or raise Forbidden.

    Placement's rules are project-scoped: a system-scoped token is refused first.
    """
    if context is not None and not context.system_scope:
        creds = {"roles": list(context.roles), "project_id": context.project_id,
                 "user_id": context.user_id}
        if target is None:
            target = {"project_id": context.project_id, "user_id": context.user_id}
        if enforcer.enforce(action, target, creds):
            return
    raise exception.Forbidden(f"Policy does not allow {action} to be performed.")

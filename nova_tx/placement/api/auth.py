"""Who is asking, and may they.

Authentication follows ``[api] auth_strategy``; ``noauth2`` (the default here while
nova-tx's Keystone middleware is not written) reads ``X-Auth-Token: user[:project]``
as Placement's and Nova's noauth2 do: roles from ``X-Roles`` when given, otherwise
``admin`` for the user ``admin``. Every URL but the root needs a token (401).

Authorization is Placement's policy (``nova_tx.placement.policies``, oslo.policy):
by default the ``admin`` or ``service`` role may do everything, a project's reader
may read its usages, ``[oslo_policy] enforce_new_defaults`` leaves the reshaper to
the ``service`` role, and ``policy.yaml`` overrides any rule. A system-scoped token
(``OpenStack-System-Scope``) is refused. A denial is a 403 with Placement's message.
"""
from __future__ import annotations

from nova_tx.context import RequestContext
from nova_tx.placement import exception
from nova_tx.placement.api.wire import PlacementRequest


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

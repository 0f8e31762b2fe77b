"""``/os-server-groups``: server groups (list, create, show, delete).

Microversions (spec A §1, §3.5):

- 2.1: ``policies`` (a one-item list: ``affinity`` or ``anti-affinity``) and an empty
  ``metadata`` in the views; create answers 200, delete 204.
- 2.13: ``project_id`` and ``user_id`` in the views.
- 2.15: ``soft-affinity`` and ``soft-anti-affinity``.
- 2.64: ``policy`` (a string) and ``rules`` (``max_server_per_host``, anti-affinity
  only) in requests and views; ``policies`` and ``metadata`` gone.
- 2.75: unknown query parameters of the list are refused (400).

The list is the caller's project's groups; an admin (``is_admin``) with
``all_projects`` in the query (any value, as Nova) gets every project's, policy
``index:all_projects`` permitting. ``limit`` (capped at ``[api] max_limit``, 0 meaning
the cap) and ``offset`` page over them in creation order. ``members`` are the server
ids of the group that are not deleted.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import pagination, wsgi
from nova_tx.api.compute._components import cell_engines, quota_engine
from nova_tx.api.compute.schemas import server_groups as schema
from nova_tx.compute.server_groups import ServerGroupAPI
from nova_tx.notifications.server_group import ServerGroupNotifier
from nova_tx.objects.instance_group import InstanceGroup

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-server-groups:%s"
#: From this microversion a group has ``policy`` and ``rules``.
GROUP_POLICY_OBJ_MICROVERSION = "2.64"


def _host(req) -> str:
    try:
        return req.conf.host
    except Exception:  # no [DEFAULT] host registered (tests)
        return "localhost"


def server_group_api(req) -> ServerGroupAPI:
    components = req.app.components
    if components.get("api_db") is None:
        raise exception.ConfigError(reason="the compute API has no API database "
                                    "([api_database] connection)")
    notifier = ServerGroupNotifier(_host(req), versioned=components.get("versioned_notifier"),
                                   legacy=components.get("notifier"))
    return ServerGroupAPI(components["api_db"], quota_engine(req), req.conf, notifier,
                          cells=cell_engines(req))


def _view(req, group: InstanceGroup, members: list[str]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if req.supports(GROUP_POLICY_OBJ_MICROVERSION):
        view["policy"] = group.policy
        view["rules"] = group.rules
    else:
        view["policies"] = group.policies
        view["metadata"] = {}
    view["members"] = members
    if req.supports("2.13"):
        view["project_id"] = group.project_id
        view["user_id"] = group.user_id
    return view


async def _views(req, api: ServerGroupAPI, groups: list[InstanceGroup]) -> list[dict]:
    members = await api.shown_members(groups)
    return [_view(req, group, shown) for group, shown in zip(groups, members, strict=True)]


# -- list ------------------------------------------------------------------------------

@routes.get("/os-server-groups")
@validation.query_schema(schema.index_query, "2.0", "2.74")
@validation.query_schema(schema.index_query_v275, "2.75")
async def index(req):
    context = req.context
    target = {"project_id": context.project_id}
    policy.authorize(context, POLICY_ROOT % "index", target=target)
    project_id: str | None = context.project_id
    if "all_projects" in req.query and context.is_admin:
        # As Nova: a non-admin asking for all projects gets their own, no error.
        policy.authorize(context, POLICY_ROOT % "index:all_projects", target=target)
        project_id = None
    params = pagination.get_pagination_params(req)
    cap = pagination.max_limit(req)
    limit = min(cap, params.get("limit") or cap)
    api = server_group_api(req)
    groups = await api.list(context, project_id, limit=limit,
                            offset=params.get("offset", 0))
    return {"server_groups": await _views(req, api, groups)}


# -- create ----------------------------------------------------------------------------

@routes.post("/os-server-groups")
@validation.schema(schema.create, "2.0", "2.14")
@validation.schema(schema.create_v215, "2.15", "2.63")
@validation.schema(schema.create_v264, GROUP_POLICY_OBJ_MICROVERSION)
async def create(req):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "create",
                     target={"project_id": context.project_id})
    values = req.body["server_group"]
    if req.supports(GROUP_POLICY_OBJ_MICROVERSION):
        group_policy, rules = values["policy"], values.get("rules") or {}
    else:
        group_policy, rules = values["policies"][0], {}
    api = server_group_api(req)
    group = await api.create(context, name=values["name"], policy=group_policy, rules=rules)
    [view] = await _views(req, api, [group])
    return {"server_group": view}


# -- show and delete -------------------------------------------------------------------

@routes.get("/os-server-groups/{server_group_id}")
async def show(req, server_group_id):
    context = req.context
    api = server_group_api(req)
    group = await api.get(context, server_group_id)
    policy.authorize(context, POLICY_ROOT % "show", target={"project_id": group.project_id})
    [view] = await _views(req, api, [group])
    return {"server_group": view}


@routes.delete("/os-server-groups/{server_group_id}", status=204)
async def delete(req, server_group_id):
    context = req.context
    api = server_group_api(req)
    group = await api.get(context, server_group_id)
    policy.authorize(context, POLICY_ROOT % "delete", target={"project_id": group.project_id})
    await api.delete(context, group)

"""``/servers/{server_id}/os-instance-actions`` and ``/{request_id}``: what was done to
a server and, by policy and microversion, the steps of each action.

Microversions (Nova's InstanceActionsController): 2.21 reads deleted servers too;
2.51 shows events to the project (the traceback only with
``os_compute_api:os-instance-actions:events``, which before 2.51 is what shows events
at all); 2.58 adds ``updated_at``, paging (``limit``, ``marker`` = request id, a
``links`` next link) and ``changes-since``; 2.62 ``hostId`` for everyone and ``host``
with the events policy; 2.66 ``changes-before``; 2.84 ``details`` with
``...:events:details``.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import pagination, wsgi
from nova_tx.api.compute.schemas import instance_actions as schema
from nova_tx.api.compute.server_views import host_id, perfect_time
from nova_tx.api.compute.servers import get_server, servers_api
from nova_tx.compute.servers import Located, parse_isotime
from nova_tx.objects.instance_action import InstanceAction, InstanceActionEvent

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-instance-actions:%s"
BASE = "/servers/{server_id}/os-instance-actions"
ACTION_KEYS = ("action", "instance_uuid", "request_id", "user_id", "project_id",
               "start_time", "message")
ACTION_KEYS_V258 = ACTION_KEYS + ("updated_at",)
EVENT_KEYS = ("event", "start_time", "finish_time", "result", "traceback", "host",
              "hostId", "details")


def _value(value: Any) -> Any:
    return perfect_time(value) if hasattr(value, "strftime") else value


def format_action(action: InstanceAction, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: _value(getattr(action, key)) for key in keys}


def format_event(event: InstanceActionEvent, project_id: str | None, *, traceback: bool,
                 host: bool, host_id_shown: bool, details: bool) -> dict[str, Any]:
    shown = {"traceback": traceback, "host": host, "hostId": host_id_shown,
             "details": details}
    body: dict[str, Any] = {}
    for key in EVENT_KEYS:
        if not shown.get(key, True):
            continue
        if key == "hostId":
            body[key] = host_id(event.host, project_id)
        else:
            body[key] = _value(getattr(event, key))
    return body


async def _server(req, server_id: str, rule: str) -> Located:
    located = await get_server(req, server_id, expected_attrs=(),
                               read_deleted="yes" if req.supports("2.21") else "no")
    policy.authorize(req.context, POLICY_ROOT % rule,
                     target={"project_id": located.instance.project_id})
    return located


@routes.get(BASE, max_version="2.57")
async def index(req, server_id):
    located = await _server(req, server_id, "list")
    found = await servers_api(req).actions(req.context, located)
    return {"instanceActions": [format_action(a, ACTION_KEYS) for a in found]}


@routes.get(BASE, min_version="2.58")
@validation.query_schema(schema.list_query_params_v258, "2.58", "2.65")
@validation.query_schema(schema.list_query_params_v266, "2.66")
async def index_v258(req, server_id):
    located = await _server(req, server_id, "list")
    filters: dict[str, Any] = {}
    for name in ("changes-since", "changes-before"):
        if name in req.query:
            filters[name] = parse_isotime(req.query[name][-1])
    if ("changes-since" in filters and "changes-before" in filters
            and filters["changes-before"] < filters["changes-since"]):
        raise exception.InvalidInput(message="The value of changes-since must be less "
                                     "than or equal to changes-before.")
    limit, marker = pagination.get_limit_and_marker(req)
    try:
        found = await servers_api(req).actions(req.context, located, limit=limit,
                                               marker=marker, filters=filters)
    except exception.MarkerNotFound as e:
        raise exception.InvalidInput(message=e.format_message()) from None
    actions = [format_action(a, ACTION_KEYS_V258) for a in found]
    body: dict[str, Any] = {"instanceActions": actions}
    next_links = pagination.collection_links(
        req, actions, "servers/%s/os-instance-actions" % server_id, "request_id")
    if next_links:
        body["links"] = next_links
    return body


@routes.get(BASE + "/{request_id}")
async def show(req, server_id, request_id):
    context = req.context
    located = await _server(req, server_id, "show")
    project_id = located.instance.project_id
    show_events = show_traceback = show_host = False
    if policy.authorize(context, POLICY_ROOT % "events", target={"project_id": project_id},
                        fatal=False):
        show_events = show_traceback = True
        show_host = req.supports("2.62")
    elif req.supports("2.51"):
        show_events = True
    show_details = req.supports("2.84") and policy.authorize(
        context, POLICY_ROOT % "events:details", target={"project_id": project_id},
        fatal=False)
    try:
        action, events = await servers_api(req).action(context, located, request_id,
                                                       with_events=show_events)
    except exception.InstanceActionNotFound:
        raise exception.NotFound(message="Action %s not found" % request_id) from None
    body = format_action(action, ACTION_KEYS_V258 if req.supports("2.58") else ACTION_KEYS)
    if show_events:
        body["events"] = [format_event(
            event, action.project_id or project_id, traceback=show_traceback,
            host=show_host, host_id_shown=req.supports("2.62"), details=show_details)
            for event in events]
    return {"instanceAction": body}

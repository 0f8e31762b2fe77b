"""``/servers``: list (``GET /servers``, ``/servers/detail``), show, update and delete
(``POST /servers`` is ``servers_create``).

Lists (Nova's ``_get_servers``):

- Everyone may filter by ``reservation_id``, ``name``, ``status``, ``image``,
  ``flavor``, ``ip``, ``changes-since`` and ``all_tenants``; 2.5 adds ``ip6``, 2.26
  ``tags``/``tags-any``/``not-tags``/``not-tags-any``, 2.66 ``changes-before``, 2.73
  ``locked``, 2.83 ``availability_zone``, ``config_drive``, ``key_name``,
  ``created_at``, ``launched_at``, ``terminated_at``, ``power_state``, ``task_state``,
  ``vm_state``, ``progress``, ``user_id``, 2.90 ``hostname``. Other filters are
  dropped unless ``os_compute_api:servers:allow_all_filters`` (admins) allows them;
  from 2.75 an unknown one is a 400 for everyone.
- ``all_tenants`` needs ``...:index:get_all_tenants`` (or ``detail:``); without it
  the list is the caller's project. ``status`` maps to vm and task states (an unknown
  status: 400 from 2.38, an empty list before); ``deleted`` servers only for admins.
- ``sort_key``/``sort_dir`` (Nova's keys; ``host`` and ``node`` admin-only, 403),
  ``limit`` and ``marker`` with a ``servers_links`` next link.
"""
from __future__ import annotations

import uuid as uuidlib
from typing import Any

from oslo_utils import strutils

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import pagination, wsgi
from nova_tx.api.compute._components import cell_engines, quota_engine
from nova_tx.api.compute._operator import compute_rpcapi, placement_client
from nova_tx.api.compute.schemas import servers as schema
from nova_tx.api.compute.server_views import ViewBuilder
from nova_tx.compute import states
from nova_tx.compute.servers import SHOW_ATTRS, Located, ServersAPI, parse_isotime
from nova_tx.network import api as network_api
from nova_tx.notifications.instance import InstanceNotifier

routes = wsgi.Routes()

SERVERS = "os_compute_api:servers:%s"
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
PAGING_SORTING_PARAMS = ("sort_key", "sort_dir", "limit", "marker")
#: Filters whose values are integers in the database.
INTEGER_FILTERS = ("launch_index", "power_state", "progress")
#: Filters whose values are timestamps.
TIME_FILTERS = ("created_at", "launched_at", "terminated_at")
#: Query names and the filter names the database knows them by.
RENAMED_FILTERS = {"name": "display_name", "image": "image_ref", "tenant_id": "project_id"}


def servers_api(req) -> ServersAPI:
    components = req.app.components
    if components.get("api_db") is None:
        raise exception.ConfigError(reason="the compute API has no API database "
                                    "([api_database] connection)")
    notifier = InstanceNotifier(req.conf, versioned=components.get("versioned_notifier"),
                                legacy=components.get("notifier"))
    return ServersAPI(components["api_db"], cell_engines(req), req.conf,
                      quota=quota_engine(req),
                      compute_rpcapi=_OnFirstUse(lambda: compute_rpcapi(req)),
                      notifier=notifier,
                      network=_OnFirstUse(lambda: _network_api(req)),
                      placement=_OnFirstUse(lambda: placement_client(req)))


class _OnFirstUse:
    """A client made when a delete first needs it, so reading servers makes none (and
    opens no bus connection)."""

    def __init__(self, make):
        self._make = make

    def __getattr__(self, name: str):
        return getattr(self._make(), name)


def _network_api(req):
    """The network port of this process (made on first use, shared with create)."""
    components = req.app.components
    if components.get("network_api") is None:
        components["network_api"] = network_api.make_network_api(req.conf)
    return components["network_api"]


def canonical_uuid(server_id: str) -> str:
    """The server id as stored, or InstanceNotFound for what cannot be one (Nova looks
    up only uuid-like ids)."""
    try:
        return str(uuidlib.UUID(server_id))
    except (ValueError, TypeError):
        raise exception.InstanceNotFound(instance_id=server_id) from None


async def get_server(req, server_id: str, *, expected_attrs=SHOW_ATTRS,
                     read_deleted: str = "no", cell_down_support: bool = False
                     ) -> Located:
    """Nova's ``common.get_instance``: the server or a 404."""
    return await servers_api(req).get(req.context, canonical_uuid(server_id),
                                      expected_attrs=expected_attrs,
                                      read_deleted=read_deleted,
                                      cell_down_support=cell_down_support)


def conflict_for_invalid_state(error: exception.InstanceInvalidState, action: str,
                               server_id: str) -> exception.Conflict:
    """Nova's ``raise_http_conflict_for_instance_invalid_state`` (409)."""
    attr, state = error.kwargs.get("attr"), error.kwargs.get("state")
    if attr is not None and "state" in error.kwargs:
        message = "Cannot '%s' instance %s while it is in %s %s" % (
            action, server_id, attr, state)
    else:
        message = "Instance %s is in an invalid state for '%s'" % (server_id, action)
    return exception.Conflict(message=message)


# -- list ------------------------------------------------------------------------------

def user_filters(req) -> tuple[str, ...]:
    """The filters everyone may use at this microversion."""
    allowed = ("reservation_id", "name", "status", "image", "flavor", "ip",
               "changes-since", "all_tenants")
    if req.supports("2.5"):
        allowed += ("ip6",)
    if req.supports("2.26"):
        allowed += TAG_FILTERS
    if req.supports("2.66"):
        allowed += ("changes-before",)
    if req.supports("2.73"):
        allowed += ("locked",)
    if req.supports("2.83"):
        allowed += ("availability_zone", "config_drive", "key_name", "created_at",
                    "launched_at", "terminated_at", "power_state", "task_state",
                    "vm_state", "progress", "user_id")
    if req.supports("2.90"):
        allowed += ("hostname",)
    return allowed


def _bool(value: str, name: str) -> bool:
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError as e:
        raise exception.InvalidInput(reason=str(e)) from None


def _search_options(req) -> dict[str, Any]:
    """The query as Nova's search options: the last value of each name, those the
    caller may not use removed."""
    context = req.context
    opts = {name: values[-1] for name, values in req.query.items() if values}
    if policy.authorize(context, SERVERS % "allow_all_filters", fatal=False):
        for name in PAGING_SORTING_PARAMS:
            opts.pop(name, None)
        for name in opts:
            if name in schema.JOINED_TABLE_QUERY_PARAMS_SERVERS or name.startswith("_"):
                raise exception.InvalidInput(reason="Invalid filter field: %s." % name)
        return opts
    allowed = user_filters(req)
    return {name: value for name, value in opts.items() if name in allowed}


class _NoMatch(Exception):
    """A filter no server can pass (Nova answers an empty list)."""


def _filters(req, opts: dict[str, Any], *, detail: bool) -> tuple[dict[str, Any], bool]:
    """(database filters, all_tenants) from the search options."""
    context = req.context
    opts.pop("status", None)
    if "status" in req.query:
        vm_states, task_states = states.task_and_vm_state_from_status(req.query["status"])
        if not vm_states and not task_states:
            if req.supports("2.38"):
                raise exception.InvalidInput(message="Invalid status value")
            raise _NoMatch()
        opts["vm_state"] = vm_states
        if "default" not in task_states:
            opts["task_state"] = task_states
    for name in ("changes-since", "changes-before"):
        if name in opts:
            try:
                opts[name] = parse_isotime(opts[name])
            except ValueError:
                raise exception.InvalidInput(
                    message="Invalid filter field: %s." % name) from None
    if ("changes-since" in opts and "changes-before" in opts
            and opts["changes-before"] < opts["changes-since"]):
        raise exception.InvalidInput(message="The value of changes-since must be less "
                                     "than or equal to changes-before.")
    if "deleted" not in opts:
        if "changes-since" not in opts and "changes-before" not in opts:
            opts["deleted"] = False
    else:
        opts["deleted"] = strutils.bool_from_string(opts["deleted"], default=False)
    if "soft_deleted" in opts:
        opts["soft_deleted"] = strutils.bool_from_string(opts["soft_deleted"],
                                                         default=False)
    if opts.get("vm_state") == [states.DELETED]:
        if not context.is_admin:
            raise exception.Forbidden(message="Only administrators may list deleted "
                                      "instances")
        opts["deleted"] = True
    if req.supports("2.26"):
        for name in TAG_FILTERS:
            if name in opts:
                opts[name] = opts[name].split(",")
    all_tenants = _all_tenants(opts)
    opts.pop("all_tenants", None)
    if "locked" in opts:
        opts["locked"] = _bool(opts["locked"], "locked")
    if all_tenants:
        policy.authorize(context, SERVERS % ("detail:get_all_tenants" if detail
                                             else "index:get_all_tenants"), target={})
    elif context.project_id:
        opts.pop("tenant_id", None)
        opts["project_id"] = context.project_id
    else:
        opts["user_id"] = context.user_id
    filters: dict[str, Any] = {}
    for name, value in opts.items():
        filters[RENAMED_FILTERS.get(name, name)] = value
    for name in INTEGER_FILTERS:
        if name in filters:
            try:
                filters[name] = int(filters[name])
            except (TypeError, ValueError):
                raise _NoMatch() from None
    for name in TIME_FILTERS:
        if name in filters:
            try:
                filters[name] = parse_isotime(filters[name])
            except ValueError:
                raise exception.InvalidInput(
                    message="Invalid filter field: %s." % name) from None
    return filters, all_tenants


def _all_tenants(opts: dict[str, Any]) -> bool:
    """Nova's ``is_all_tenants``: present and empty counts as true."""
    value = opts.get("all_tenants")
    if value:
        return _bool(value, "all_tenants")
    return "all_tenants" in opts


def _sort_params(req) -> tuple[list[str], list[str]]:
    """Nova's ``get_sort_params`` and ``remove_invalid_sort_keys``."""
    keys = [k.strip() for k in req.query.get("sort_key", [])] or ["created_at"]
    dirs = [d.strip() for d in req.query.get("sort_dir", [])] or ["desc"]
    ignored = (schema.SERVER_LIST_IGNORE_SORT_KEY_V273 if req.supports("2.73")
               else schema.SERVER_LIST_IGNORE_SORT_KEY)
    for key in list(keys):
        if key in ignored:
            index = keys.index(key)
            if len(dirs) > index:
                dirs.pop(index)
            keys.pop(index)
        elif key in ("host", "node") and not req.context.is_admin:
            raise exception.Forbidden(
                message="Only administrators can sort servers by %s" % key)
    return keys, dirs


async def _list(req, *, detail: bool) -> dict:
    context = req.context
    policy.authorize(context, SERVERS % ("detail" if detail else "index"))
    opts = _search_options(req)
    view = ViewBuilder(req)
    try:
        filters, all_tenants = _filters(req, opts, detail=detail)
    except _NoMatch:
        return {"servers": []}
    limit, marker = pagination.get_limit_and_marker(req)
    sort_keys, sort_dirs = _sort_params(req)
    api = servers_api(req)
    down_support = req.supports("2.69")
    project = None if all_tenants else filters.get("project_id", context.project_id)
    try:
        found = await api.get_all(context, filters, limit=limit, marker=marker,
                                  sort_keys=sort_keys, sort_dirs=sort_dirs,
                                  expected_attrs=SHOW_ATTRS if detail else (),
                                  cell_down_support=down_support,
                                  down_cell_project=project)
    except exception.MarkerNotFound:
        raise exception.InvalidInput(message="marker [%s] not found" % marker) from None
    except exception.InvalidSortKey as e:
        raise exception.InvalidInput(message=e.format_message()) from None
    if not detail:
        return view.index(found)
    host_status = req.supports("2.16") and view.host_status_policy() is not None
    extras = await api.view_extras(context, found, host_status=host_status)
    return view.detail(found, extras)


@routes.get("/servers")
@validation.query_schema(schema.query_params_v21, "2.0", "2.25")
@validation.query_schema(schema.query_params_v226, "2.26", "2.65")
@validation.query_schema(schema.query_params_v266, "2.66", "2.72")
@validation.query_schema(schema.query_params_v273, "2.73", "2.74")
@validation.query_schema(schema.query_params_v275, "2.75")
async def index(req):
    return await _list(req, detail=False)


@routes.get("/servers/detail")
@validation.query_schema(schema.query_params_v21, "2.0", "2.25")
@validation.query_schema(schema.query_params_v226, "2.26", "2.65")
@validation.query_schema(schema.query_params_v266, "2.66", "2.72")
@validation.query_schema(schema.query_params_v273, "2.73", "2.74")
@validation.query_schema(schema.query_params_v275, "2.75")
async def detail(req):
    return await _list(req, detail=True)


# -- show ----------------------------------------------------------------------------

async def render(req, located: Located, *, full: bool = True,
                 show_extended_attr: bool | None = None,
                 host_status: bool = True) -> dict:
    """``{"server": ...}`` as show answers it (and update, which says ``full``)."""
    view = ViewBuilder(req)
    show_groups = req.supports("2.71")
    if located.down:
        extras = await servers_api(req).view_extras(req.context, [located],
                                                    server_groups=show_groups)
        return {"server": view.from_down_cell(
            located, extras[located.instance.uuid],
            show_extra_specs=view.show_extra_specs(), show_server_groups=show_groups)}
    unknown_only = (view.host_status_policy(located.instance)
                    if host_status and req.supports("2.16") else None)
    extras = await servers_api(req).view_extras(
        req.context, [located], host_status=unknown_only is not None,
        server_groups=show_groups)
    return {"server": view.show(
        located, extras[located.instance.uuid], show_extra_specs=view.show_extra_specs(),
        show_extended_attr=show_extended_attr, unknown_only=unknown_only, full=full,
        show_server_groups=show_groups)}


@routes.get("/servers/{server_id}")
@validation.query_schema(schema.show_query)
async def show(req, server_id):
    located = await get_server(req, server_id, cell_down_support=req.supports("2.69"))
    policy.authorize(req.context, SERVERS % "show",
                     target={"project_id": located.instance.project_id})
    return await render(req, located)


# -- update --------------------------------------------------------------------------

@routes.put("/servers/{server_id}")
@validation.schema(schema.update_v20, "2.0", "2.0")
@validation.schema(schema.update, "2.1", "2.18")
@validation.schema(schema.update_v219, "2.19", "2.89")
@validation.schema(schema.update_v290, "2.90")
async def update(req, server_id):
    context = req.context
    located = await get_server(req, server_id)
    instance = located.instance
    policy.authorize(context, SERVERS % "update",
                     target={"user_id": instance.user_id, "project_id": instance.project_id})
    body = req.body["server"]
    updates: dict[str, Any] = {}
    if "name" in body:
        updates["display_name"] = body["name"].strip()
    if "description" in body:
        updates["display_description"] = body["description"]
    if "hostname" in body:
        updates["hostname"] = body["hostname"]
    if "accessIPv4" in body:
        updates["access_ip_v4"] = body["accessIPv4"]
    if "accessIPv6" in body:
        updates["access_ip_v6"] = body["accessIPv6"]
    if "OS-DCF:diskConfig" in body:
        updates["auto_disk_config"] = body["OS-DCF:diskConfig"] == "AUTO"
    located = await servers_api(req).update_instance(context, instance.uuid, updates)
    full = req.supports("2.75")
    return await render(req, located, full=full,
                        show_extended_attr=None if full else False, host_status=full)


# -- delete --------------------------------------------------------------------------

@routes.delete("/servers/{server_id}", status=204)
async def delete(req, server_id):
    context = req.context
    try:
        located = await get_server(req, server_id, expected_attrs=())
        instance = located.instance
        policy.authorize(context, SERVERS % "delete", target={
            "user_id": instance.user_id, "project_id": instance.project_id})
        await servers_api(req).delete(context, located)
    except exception.InstanceNotFound:
        raise exception.NotFound(message="Instance could not be found") from None
    except exception.InstanceIsLocked as e:
        raise exception.Conflict(message=e.format_message()) from None
    except exception.InstanceInvalidState as e:
        raise conflict_for_invalid_state(e, "delete", server_id) from None

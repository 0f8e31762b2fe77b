"""``/os-quota-sets/{tenant_id}``: a project's (or, with ``?user_id=``, a user's) quota
limits: show, ``/detail`` (with usage), ``/defaults``, update, delete (back to the
defaults).

Microversions: 2.36 drops the nova-network quotas (``fixed_ips``, ``floating_ips``,
``security_groups``, ``security_group_rules``) from answers and refuses them in updates;
2.57 drops ``injected_files``, ``injected_file_content_bytes`` and
``injected_file_path_bytes`` likewise; 2.75 refuses unknown query parameters (show,
detail, update and delete; defaults keeps ignoring them, as Nova). ``force`` works at
every microversion (spec D §4.4: Nova's 2.36 regression is not reproduced).

The project must exist when the identity service can tell (Keystone; 400
otherwise), for show, detail, defaults and update, as in Nova.

An update is checked per resource unless ``force``: a project's new limit may not be
below its usage or below the limits its users were given; a user's may not be below
the user's usage nor above what the project has left for it (400).
"""
from __future__ import annotations

from typing import Any

from oslo_utils import strutils

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import wsgi
from nova_tx.api.compute._components import quota_engine, verify_project_id
from nova_tx.api.compute.keypairs import storable_id
from nova_tx.api.compute.schemas import quota_sets as schema

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-quota-sets:%s"
FILTERED_QUOTAS_2_36 = ("fixed_ips", "floating_ips", "security_group_rules",
                        "security_groups")
FILTERED_QUOTAS_2_57 = FILTERED_QUOTAS_2_36 + (
    "injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
MAX_LIMIT = 0x7FFFFFFF


def _filtered(req) -> tuple[str, ...]:
    if req.supports("2.57"):
        return FILTERED_QUOTAS_2_57
    if req.supports("2.36"):
        return FILTERED_QUOTAS_2_36
    return ()


def _format_quota_set(project_id: str | None, quota_set: dict[str, Any],
                      filtered: tuple[str, ...]) -> dict:
    result: dict[str, Any] = {"id": str(project_id)} if project_id else {}
    for resource in sorted(quota_set):
        if resource not in filtered:
            result[resource] = quota_set[resource]
    return {"quota_set": result}


def _user_id(req) -> str | None:
    values = req.query.get("user_id")
    return values[0] if values else None


async def _get_quotas(req, project_id: str, user_id: str | None,
                      usages: bool = False) -> dict[str, Any]:
    engine = quota_engine(req)
    if user_id:
        values = await engine.get_user_quotas(req.context, project_id, user_id,
                                              usages=usages)
    else:
        values = await engine.get_project_quotas(req.context, project_id, usages=usages)
    if usages:
        # No reservations since Pike; the API still shows the key.
        reserved = engine.get_reserved()
        return {k: {"in_use": v["in_use"], "limit": v["limit"], "reserved": reserved}
                for k, v in values.items()}
    return {k: v["limit"] for k, v in values.items()}


# -- show, detail, defaults ----------------------------------------------------------------

@routes.get("/os-quota-sets/{tenant_id}")
@validation.query_schema(schema.query_schema, "2.0", "2.74")
@validation.query_schema(schema.query_schema_275, "2.75")
async def show(req, tenant_id):
    policy.authorize(req.context, POLICY_ROOT % "show", target={"project_id": tenant_id})
    await verify_project_id(req, tenant_id)
    quotas = await _get_quotas(req, tenant_id, _user_id(req))
    return _format_quota_set(tenant_id, quotas, _filtered(req))


@routes.get("/os-quota-sets/{tenant_id}/detail")
@validation.query_schema(schema.query_schema, "2.0", "2.74")
@validation.query_schema(schema.query_schema_275, "2.75")
async def detail(req, tenant_id):
    policy.authorize(req.context, POLICY_ROOT % "detail", target={"project_id": tenant_id})
    await verify_project_id(req, tenant_id)
    quotas = await _get_quotas(req, tenant_id, _user_id(req), usages=True)
    return _format_quota_set(tenant_id, quotas, _filtered(req))


@routes.get("/os-quota-sets/{tenant_id}/defaults")
@validation.query_schema(schema.query_schema)
async def defaults(req, tenant_id):
    policy.authorize(req.context, POLICY_ROOT % "defaults",
                     target={"project_id": tenant_id})
    await verify_project_id(req, tenant_id)
    values = await quota_engine(req).get_defaults(req.context)
    return _format_quota_set(tenant_id, values, _filtered(req))


# -- update ----------------------------------------------------------------------------------

def _check_limit(resource: str, limit: int, minimum: int, maximum: int) -> None:
    def inf(value: int) -> float:
        return float("inf") if value == -1 else value

    if inf(limit) < inf(minimum):
        raise exception.InvalidInput(
            message="Quota limit %(limit)s for %(resource)s must be greater than or equal "
            "to already used and reserved %(minimum)s."
            % {"limit": limit, "resource": resource, "minimum": minimum})
    if inf(limit) > inf(maximum):
        raise exception.InvalidInput(
            message="Quota limit %(limit)s for %(resource)s must be less than or equal "
            "to %(maximum)s." % {"limit": limit, "resource": resource, "maximum": maximum})


def _as_limit(resource: str, value: Any) -> int:
    """The integer of a schema-checked value; the schema's bounds apply to numbers
    only, so a numeric string is bounded here."""
    limit = int(value)
    if limit < -1:
        raise exception.ValidationError(
            detail="Invalid input for field/attribute %s. Value: %s. %s is less than the "
            "minimum of -1" % (resource, value, limit))
    if limit > MAX_LIMIT:
        raise exception.ValidationError(
            detail="Invalid input for field/attribute %s. Value: %s. %s is greater than "
            "the maximum of %d" % (resource, value, limit, MAX_LIMIT))
    return limit


def _check_stored_id(name: str, value: str | None) -> None:
    """An id that becomes a row must fit its column (255) and be storable text."""
    if value is not None and not storable_id(value):
        raise exception.InvalidInput(
            reason="%s must be at most 255 characters of text, without NUL" % name)


@routes.put("/os-quota-sets/{tenant_id}")
@validation.schema(schema.update, "2.0", "2.35")
@validation.schema(schema.update_v236, "2.36", "2.56")
@validation.schema(schema.update_v257, "2.57")
@validation.query_schema(schema.query_schema, "2.0", "2.74")
@validation.query_schema(schema.query_schema_275, "2.75")
async def update(req, tenant_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "update", target={"project_id": tenant_id})
    await verify_project_id(req, tenant_id)
    user_id = _user_id(req)
    _check_stored_id("project_id", tenant_id)
    _check_stored_id("user_id", user_id)
    quota_set = req.body["quota_set"]
    if "networks" in quota_set:
        raise exception.InvalidInput(message="The networks quota has been removed")
    force = strutils.bool_from_string(quota_set.get("force", "False"))
    engine = quota_engine(req)
    requested = {key: _as_limit(key, value) for key, value in quota_set.items()
                 if key != "force" and (value or value == 0)}
    if requested and not force:
        settable = await engine.get_settable_quotas(context, tenant_id, user_id=user_id)
        for key, value in requested.items():
            _check_limit(key, value, settable[key]["minimum"], settable[key]["maximum"])
    if requested:
        await engine.set_limits(context, tenant_id, requested, user_id=user_id)
    quotas = await _get_quotas(req, tenant_id, user_id)
    # No "id" in the update's answer, as in v2.
    return _format_quota_set(None, quotas, _filtered(req))


# -- delete ----------------------------------------------------------------------------------

@routes.delete("/os-quota-sets/{tenant_id}", status=202)
@validation.query_schema(schema.query_schema, "2.0", "2.74")
@validation.query_schema(schema.query_schema_275, "2.75")
async def delete(req, tenant_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "delete", target={"project_id": tenant_id})
    user_id = _user_id(req)
    engine = quota_engine(req)
    if user_id:
        await engine.destroy_all_by_project_and_user(context, tenant_id, user_id)
    else:
        await engine.destroy_all_by_project(context, tenant_id)

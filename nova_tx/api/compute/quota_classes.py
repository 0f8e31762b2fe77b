"""``/os-quota-class-sets/{id}``: the limits of a quota class (show, update).

Only the ``default`` class is read when limits are resolved (``nova_tx.quota``): its
rows are the defaults of every project. Other classes can be stored and shown, as
in Nova, but nothing applies them.

Microversions: before 2.50 the answers leave out ``server_groups`` and
``server_group_members``; 2.50 adds them and drops the nova-network quotas
(``fixed_ips``, ``floating_ips``, ``security_groups``, ``security_group_rules``),
which updates may no longer name; 2.57 drops the injected-file quotas likewise.
A resource a class has no row for shows its ``[quota]`` option.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import wsgi
from nova_tx.api.compute._components import quota_engine
from nova_tx.api.compute.quota_sets import FILTERED_QUOTAS_2_57, _as_limit
from nova_tx.api.compute.schemas import quota_classes as schema

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-quota-class-sets:%s"
#: Left out of answers before 2.50 (Nova's bug 1693168, fixed by 2.50).
EXTENDED_QUOTAS = ("server_groups", "server_group_members")
FILTERED_QUOTAS_2_50 = ("fixed_ips", "floating_ips", "security_group_rules",
                        "security_groups")


def _filtered(req) -> tuple[str, ...]:
    if req.supports("2.57"):
        return FILTERED_QUOTAS_2_57
    if req.supports("2.50"):
        return FILTERED_QUOTAS_2_50
    return EXTENDED_QUOTAS


def _format(class_name: str | None, values: dict[str, Any],
            filtered: tuple[str, ...]) -> dict:
    result: dict[str, Any] = {"id": str(class_name)} if class_name else {}
    for resource, limit in values.items():
        if resource not in filtered:
            result[resource] = limit
    return {"quota_class_set": result}


def _check_class_name(name: str) -> None:
    """Nova's ``check_string_length(id, 'quota_class_name', 1, 255)``."""
    if len(name) < 1:
        raise exception.InvalidInput(
            message="quota_class_name has a minimum character requirement of 1.")
    if len(name) > 255:
        raise exception.InvalidInput(
            message="quota_class_name has more than 255 characters.")
    if "\x00" in name:
        raise exception.InvalidInput(message="quota_class_name must not contain NUL.")


@routes.get("/os-quota-class-sets/{id}")
async def show(req, id):
    policy.authorize(req.context, POLICY_ROOT % "show", target={"quota_class": id})
    values = await quota_engine(req).get_class_quotas(req.context, id)
    return _format(id, values, _filtered(req))


@routes.put("/os-quota-class-sets/{id}")
@validation.schema(schema.update, "2.0", "2.49")
@validation.schema(schema.update_v250, "2.50", "2.56")
@validation.schema(schema.update_v257, "2.57")
async def update(req, id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "update", target={"quota_class": id})
    _check_class_name(id)
    engine = quota_engine(req)
    # "networks" passes the schema before 2.50 but is no resource of this release:
    # Nova stores a row nothing reads; nothing is stored here, which shows the same.
    limits = {key: _as_limit(key, value)
              for key, value in req.body["quota_class_set"].items()
              if key in engine.resources}
    if limits:
        await engine.set_class_limits(context, id, limits)
    values = await engine.get_class_quotas(context, id)
    # No "id" in the update's answer, as in Nova.
    return _format(None, values, _filtered(req))

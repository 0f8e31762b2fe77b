"""``/flavors/{id}/os-extra_specs``: read (project readers), set and delete (admins).

From 2.86 every key in a namespace Nova knows is validated
(``nova_tx.api.validation.extra_specs``); below it any key and value the schema
allows is stored.
"""
from __future__ import annotations

from oslo_utils import strutils

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import flavors as flavors_view
from nova_tx.api.compute import wsgi
from nova_tx.api.compute.schemas import flavors_extraspecs as schema
from nova_tx.api.validation import extra_specs

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-flavor-extra-specs:%s"
VALIDATION_VERSION = "2.86"
PATH = "/flavors/{flavor_id}/os-extra_specs"


def _check_values(req, specs: dict) -> dict[str, str]:
    """The specs as stored (numbers as strings, at most 255 characters each), each
    validated from 2.86."""
    validate = req.supports(VALIDATION_VERSION)
    stored = {}
    for name, value in specs.items():
        if isinstance(value, (int, float)):
            value = str(value)
            try:
                strutils.check_string_length(value, "extra_specs value", max_length=255)
            except ValueError as e:
                raise exception.InvalidInput(str(e)) from None
        if validate:
            extra_specs.validate(name, value)
        stored[name] = value
    return stored


def _no_such_key(flavor_id: str, key: str) -> exception.NotFound:
    return exception.NotFound("Flavor %(flavor_id)s has no extra specs with key %(key)s."
                              % {"flavor_id": flavor_id, "key": key})


@routes.get(PATH)
async def index(req, flavor_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "index", target={"project_id": context.project_id})
    flavor = await flavors_view.flavor_api(req).get(context, flavor_id)
    return {"extra_specs": dict(flavor.extra_specs or {})}


@routes.post(PATH)
@validation.schema(schema.create)
async def create(req, flavor_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "create", target={})
    specs = _check_values(req, req.body["extra_specs"])
    api = flavors_view.flavor_api(req)
    await api.get(context, flavor_id)
    await api.update_extra_specs(context, flavor_id, specs)
    return req.body


@routes.put(PATH + "/{key}")
@validation.schema(schema.update)
async def update(req, flavor_id, key):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "update", target={})
    specs = _check_values(req, req.body)
    if key not in req.body:
        raise exception.InvalidInput("Request body and URI mismatch")
    api = flavors_view.flavor_api(req)
    await api.get(context, flavor_id)
    await api.update_extra_specs(context, flavor_id, specs)
    return req.body


@routes.get(PATH + "/{key}")
async def show(req, flavor_id, key):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "show", target={"project_id": context.project_id})
    flavor = await flavors_view.flavor_api(req).get(context, flavor_id)
    specs = flavor.extra_specs or {}
    if key not in specs:
        raise _no_such_key(flavor_id, key)
    return {key: specs[key]}


@routes.delete(PATH + "/{key}")
async def delete(req, flavor_id, key):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "delete", target={})
    api = flavors_view.flavor_api(req)
    await api.get(context, flavor_id)
    try:
        await api.delete_extra_spec(context, flavor_id, key)
    except exception.FlavorExtraSpecsNotFound:
        raise _no_such_key(flavor_id, key) from None

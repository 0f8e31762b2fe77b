"""Who may use a private flavor: ``GET /flavors/{id}/os-flavor-access`` and the
``addTenantAccess`` / ``removeTenantAccess`` actions (admins; 2.7 refuses access to
a public flavor with a 409)."""
from __future__ import annotations

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import flavors as flavors_view
from nova_tx.api.compute import wsgi
from nova_tx.api.compute.schemas import flavor_access as schema
from nova_tx.objects.flavor import Flavor

routes = wsgi.Routes()

BASE_POLICY_NAME = "os_compute_api:os-flavor-access"
POLICY_ROOT = BASE_POLICY_NAME + ":%s"


def _access_list(flavor: Flavor) -> dict:
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": project_id}
                              for project_id in flavor.projects or ()]}


@routes.get("/flavors/{flavor_id}/os-flavor-access")
async def index(req, flavor_id):
    context = req.context
    policy.authorize(context, BASE_POLICY_NAME)
    flavor = await flavors_view.flavor_api(req).get(context, flavor_id)
    if flavor.is_public:
        raise exception.NotFound("Access list not available for public flavors.")
    return _access_list(flavor)


@routes.action("/flavors/{flavor_id}/action", "addTenantAccess", status=200)
@validation.schema(schema.add_tenant_access)
async def add_tenant_access(req, flavor_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "add_tenant_access", target={})
    tenant = req.body["addTenantAccess"]["tenant"]
    api = flavors_view.flavor_api(req)
    flavor = await api.get(context, flavor_id)
    if req.supports("2.7") and flavor.is_public:
        raise exception.Conflict("Can not add access to a public flavor.")
    return _access_list(await api.add_access(context, flavor_id, tenant))


@routes.action("/flavors/{flavor_id}/action", "removeTenantAccess", status=200)
@validation.schema(schema.remove_tenant_access)
async def remove_tenant_access(req, flavor_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "remove_tenant_access", target={})
    tenant = req.body["removeTenantAccess"]["tenant"]
    api = flavors_view.flavor_api(req)
    await api.get(context, flavor_id)
    return _access_list(await api.remove_access(context, flavor_id, tenant))

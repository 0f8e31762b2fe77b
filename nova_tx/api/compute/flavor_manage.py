"""``POST /flavors``, ``DELETE /flavors/{id}`` and (2.55) ``PUT /flavors/{id}``: admins
create and delete flavors and change their description (nothing else of a flavor
changes; the ``os_compute_api:os-flavor-manage:*`` rules)."""
from __future__ import annotations

from nova_tx import policy
from nova_tx.api import validation
from nova_tx.api.compute import flavors as flavors_view
from nova_tx.api.compute import wsgi
from nova_tx.api.compute.schemas import flavor_manage as schema
from nova_tx.compute import flavors

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-flavor-manage:%s"


@routes.post("/flavors", status=200)
@validation.schema(schema.create_v20, "2.0", "2.0")
@validation.schema(schema.create, "2.1", "2.54")
@validation.schema(schema.create_v255, "2.55")
async def create(req):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "create", target={})
    vals = req.body["flavor"]
    flavor = flavors.new_flavor(
        vals["name"], vals["ram"], vals["vcpus"], vals["disk"],
        ephemeral_gb=vals.get("OS-FLV-EXT-DATA:ephemeral", 0),
        flavorid=vals.get("id"), swap=vals.get("swap", 0),
        rxtx_factor=vals.get("rxtx_factor", 1.0),
        is_public=vals.get("os-flavor-access:is_public", True),
        description=vals.get("description"))
    # A private flavor gets no access entry for the creator's project (Nova bug 1209101).
    created = await flavors_view.flavor_api(req).create(context, flavor)
    extra = flavors_view.include_extra_specs(req)
    return {"flavor": flavors_view.show_view(req, created.replace(extra_specs={}),
                                             include_extra_specs=extra)}


@routes.put("/flavors/{flavor_id}", min_version=flavors_view.DESCRIPTION_VERSION)
@validation.schema(schema.update_v255, flavors_view.DESCRIPTION_VERSION)
async def update(req, flavor_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "update", target={})
    flavor = await flavors_view.flavor_api(req).update_description(
        context, flavor_id, req.body["flavor"]["description"])
    extra = flavors_view.include_extra_specs(req)
    return {"flavor": flavors_view.show_view(req, flavor, include_extra_specs=extra)}


@routes.delete("/flavors/{flavor_id}", status=202)
async def delete(req, flavor_id):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "delete", target={})
    await flavors_view.flavor_api(req).delete(context, flavor_id)

"""``/limits``: the project's absolute limits and usage (rate limits: always none).

``?tenant_id=`` asks for another project (``os_compute_api:limits:other_project``,
admin by default). Microversions: 2.36 drops the nova-network limits
(``maxTotalFloatingIps``, ``maxSecurityGroups``, ``maxSecurityGroupRules``,
``totalFloatingIpsUsed``, ``totalSecurityGroupsUsed``); 2.39 drops ``maxImageMeta``;
2.57 drops ``maxPersonality`` and ``maxPersonalitySize``; 2.75 refuses unknown query
parameters.
"""
from __future__ import annotations

from typing import Any

from nova_tx import policy
from nova_tx.api import validation
from nova_tx.api.compute import wsgi
from nova_tx.api.compute._components import quota_engine
from nova_tx.api.compute.schemas import limits as schema

routes = wsgi.Routes()

FILTERED_LIMITS_2_36 = ("floating_ips", "security_groups", "security_group_rules")
FILTERED_LIMITS_2_57 = FILTERED_LIMITS_2_36 + ("injected_files", "injected_file_content_bytes")

#: Quota resource -> the absolute limits that show it (Nova's limits view).
LIMIT_NAMES = {
    "ram": ("maxTotalRAMSize",),
    "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",),
}
#: The usage shown, by the quota resource it counts.
USED_NAMES = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


def build(quotas: dict[str, dict[str, int]], filtered: tuple[str, ...] = (),
          max_image_meta: bool = True) -> dict[str, Any]:
    absolute: dict[str, int] = {}
    for name, value in quotas.items():
        if name in LIMIT_NAMES and value["limit"] is not None and name not in filtered:
            for limit_name in LIMIT_NAMES[name]:
                if limit_name == "maxImageMeta" and not max_image_meta:
                    continue
                absolute[limit_name] = value["limit"]
    for display, name in USED_NAMES.items():
        if name in quotas and name not in filtered:
            absolute[display] = quotas[name]["in_use"]
    return {"limits": {"rate": [], "absolute": absolute}}


async def _index(req, filtered: tuple[str, ...] = (), max_image_meta: bool = True):
    context = req.context
    policy.authorize(context, "os_compute_api:limits", target={})
    project_id = context.project_id
    if "tenant_id" in req.query:
        project_id = req.query["tenant_id"][-1]
        policy.authorize(context, "os_compute_api:limits:other_project",
                         target={"project_id": project_id})
    quotas = await quota_engine(req).get_project_quotas(context, project_id, usages=True)
    return build(quotas, filtered, max_image_meta)


@routes.get("/limits", max_version="2.35")
@validation.query_schema(schema.limits_query_schema)
async def index(req):
    return await _index(req)


@routes.get("/limits", min_version="2.36", max_version="2.38")
@validation.query_schema(schema.limits_query_schema)
async def index_v236(req):
    return await _index(req, FILTERED_LIMITS_2_36)


@routes.get("/limits", min_version="2.39", max_version="2.56")
@validation.query_schema(schema.limits_query_schema)
async def index_v239(req):
    return await _index(req, FILTERED_LIMITS_2_36, max_image_meta=False)


@routes.get("/limits", min_version="2.57")
@validation.query_schema(schema.limits_query_schema, "2.57", "2.74")
@validation.query_schema(schema.limits_query_schema_275, "2.75")
async def index_v257(req):
    return await _index(req, FILTERED_LIMITS_2_57, max_image_meta=False)

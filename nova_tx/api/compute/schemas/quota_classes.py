"""Request schema of ``PUT /os-quota-class-sets/{id}`` (Nova Zed's), per microversion.

The resources are those of ``/os-quota-sets``; 2.50 drops the nova-network ones,
2.57 the injected-file ones. As in ``quota_sets``, ``quota_class_set`` must be an
object.
"""
import copy

from nova_tx.api.compute.schemas.quota_sets import quota_resources

update = {
    "type": "object",
    "properties": {
        "quota_class_set": {
            "type": "object",
            "properties": copy.deepcopy(quota_resources),
            "additionalProperties": False,
        },
    },
    "required": ["quota_class_set"],
    "additionalProperties": False,
}

update_v250 = copy.deepcopy(update)
for _name in ("fixed_ips", "floating_ips", "security_groups", "security_group_rules",
              "networks"):
    del update_v250["properties"]["quota_class_set"]["properties"][_name]

update_v257 = copy.deepcopy(update_v250)
for _name in ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes"):
    del update_v257["properties"]["quota_class_set"]["properties"][_name]

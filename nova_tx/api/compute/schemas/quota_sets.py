"""Request schemas of ``/os-quota-sets`` (Nova Zed's), per microversion.

Unlike Nova's, ``quota_set`` must be an object (Nova's schema forgot its type, so
``{"quota_set": 1}`` reached the handler and failed there with a 500).
"""
import copy

from nova_tx.api.validation import parameter_types

common_quota = {
    "type": ["integer", "string"],
    "pattern": "^-?[0-9]+$",
    # -1 is unlimited; the maximum is the database's INT.
    "minimum": -1,
    "maximum": 0x7FFFFFFF,
}

quota_resources = {
    "instances": common_quota,
    "cores": common_quota,
    "ram": common_quota,
    "floating_ips": common_quota,
    "fixed_ips": common_quota,
    "metadata_items": common_quota,
    "key_pairs": common_quota,
    "security_groups": common_quota,
    "security_group_rules": common_quota,
    "injected_files": common_quota,
    "injected_file_content_bytes": common_quota,
    "injected_file_path_bytes": common_quota,
    "server_groups": common_quota,
    "server_group_members": common_quota,
    # nova-network's: accepted by the schema, always refused by the handler.
    "networks": common_quota,
}

update_quota_set = copy.deepcopy(quota_resources)
update_quota_set["force"] = parameter_types.boolean

update_quota_set_v236 = copy.deepcopy(update_quota_set)
for _name in ("fixed_ips", "floating_ips", "security_groups", "security_group_rules",
              "networks"):
    del update_quota_set_v236[_name]

update_quota_set_v257 = copy.deepcopy(update_quota_set_v236)
for _name in ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes"):
    del update_quota_set_v257[_name]

update = {
    "type": "object",
    "properties": {
        "quota_set": {
            "type": "object",
            "properties": update_quota_set,
            "additionalProperties": False,
        },
    },
    "required": ["quota_set"],
    "additionalProperties": False,
}

update_v236 = copy.deepcopy(update)
update_v236["properties"]["quota_set"]["properties"] = update_quota_set_v236

update_v257 = copy.deepcopy(update_v236)
update_v257["properties"]["quota_set"]["properties"] = update_quota_set_v257

query_schema = {
    "type": "object",
    "properties": {
        "user_id": parameter_types.multi_params({"type": "string"}),
    },
    # Unknown parameters are dropped until 2.75, refused from it.
    "additionalProperties": True,
}

query_schema_275 = copy.deepcopy(query_schema)
query_schema_275["additionalProperties"] = False

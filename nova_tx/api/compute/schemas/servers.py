"""Query and body schemas of the read and update side of ``/servers`` (Nova Zed's
``schemas/servers.py``, less ``POST /servers``, which is ``servers_create``)."""
import copy

from nova_tx.api.validation import parameter_types

#: Sort keys a list accepts but ignores (Nova's SERVER_LIST_IGNORE_SORT_KEY).
SERVER_LIST_IGNORE_SORT_KEY = [
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb",
    "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus",
    "vm_mode",
]
#: From 2.73 ``locked`` sorts.
SERVER_LIST_IGNORE_SORT_KEY_V273 = [
    key for key in SERVER_LIST_IGNORE_SORT_KEY if key != "locked"]

_SORT_KEYS = [
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
    "config_drive", "created_at", "display_description", "display_name", "host",
    "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name", "launch_index",
    "launched_at", "locked_by", "node", "power_state", "progress", "project_id",
    "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at",
    "user_id", "uuid", "vm_state",
]
VALID_SORT_KEYS = {"type": "string", "enum": _SORT_KEYS + SERVER_LIST_IGNORE_SORT_KEY}
VALID_SORT_KEYS_V273 = {"type": "string",
                        "enum": _SORT_KEYS + ["locked"] + SERVER_LIST_IGNORE_SORT_KEY_V273}

#: Filters on joined tables: accepted by the schema so that the API refuses them (400).
JOINED_TABLE_QUERY_PARAMS_SERVERS = {
    "block_device_mapping": parameter_types.common_query_param,
    "services": parameter_types.common_query_param,
    "metadata": parameter_types.common_query_param,
    "system_metadata": parameter_types.common_query_param,
    "info_cache": parameter_types.common_query_param,
    "security_groups": parameter_types.common_query_param,
    "pci_devices": parameter_types.common_query_param,
}

_param = parameter_types.common_query_param
_regex = parameter_types.common_query_regex_param
_datetime = parameter_types.multi_params({"type": "string", "format": "date-time"})

query_params_v21 = {
    "type": "object",
    "properties": {
        "user_id": _param, "project_id": _param, "tenant_id": _param,
        "launch_index": _param, "image_ref": _param, "image": _param,
        "kernel_id": _regex, "ramdisk_id": _regex, "hostname": _regex, "key_name": _regex,
        "power_state": _regex, "vm_state": _param, "task_state": _param, "host": _param,
        "node": _regex, "flavor": _regex, "reservation_id": _regex, "launched_at": _regex,
        "terminated_at": _regex, "availability_zone": _regex, "name": _regex,
        "display_name": _regex, "description": _regex, "display_description": _regex,
        "locked_by": _regex, "uuid": _param, "root_device_name": _regex,
        "config_drive": _regex, "access_ip_v4": _regex, "access_ip_v6": _regex,
        "auto_disk_config": _regex, "progress": _regex,
        "sort_key": parameter_types.multi_params(VALID_SORT_KEYS),
        "sort_dir": _param, "all_tenants": _param, "soft_deleted": _param,
        "deleted": _param, "status": _param, "changes-since": _datetime,
        "ip": _regex, "ip6": _regex, "created_at": _regex,
        "limit": parameter_types.pagination_parameters["limit"],
        "marker": parameter_types.pagination_parameters["marker"],
    },
    # Unknown names are dropped before 2.75 (and refused from it).
    "additionalProperties": True,
    # Names starting with "_" are kept so the API refuses them.
    "patternProperties": {"^_": _param},
}
query_params_v21["properties"].update(JOINED_TABLE_QUERY_PARAMS_SERVERS)

query_params_v226 = copy.deepcopy(query_params_v21)
query_params_v226["properties"].update({
    "tags": _regex, "tags-any": _regex, "not-tags": _regex, "not-tags-any": _regex})

query_params_v266 = copy.deepcopy(query_params_v226)
query_params_v266["properties"]["changes-before"] = _datetime

query_params_v273 = copy.deepcopy(query_params_v266)
query_params_v273["properties"].update({
    "sort_key": parameter_types.multi_params(VALID_SORT_KEYS_V273), "locked": _param})

query_params_v275 = copy.deepcopy(query_params_v273)
query_params_v275["additionalProperties"] = False

#: ``GET /servers/{id}`` takes no query parameters (ignored, as Nova).
show_query = {"type": "object", "properties": {}, "additionalProperties": True}

_access_ipv4 = {"type": "string", "format": "ipv4"}
_access_ipv6 = {"type": "string", "format": "ipv6"}

update = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": parameter_types.name,
                "OS-DCF:diskConfig": parameter_types.disk_config,
                "accessIPv4": _access_ipv4,
                "accessIPv6": _access_ipv6,
            },
            "additionalProperties": False,
        },
    },
    "required": ["server"],
    "additionalProperties": False,
}

update_v20 = copy.deepcopy(update)
update_v20["properties"]["server"]["properties"]["name"] = (
    parameter_types.name_with_leading_trailing_spaces)

update_v219 = copy.deepcopy(update)
update_v219["properties"]["server"]["properties"]["description"] = (
    parameter_types.description)

update_v290 = copy.deepcopy(update_v219)
update_v290["properties"]["server"]["properties"]["hostname"] = parameter_types.fqdn

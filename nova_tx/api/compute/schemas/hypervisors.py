"""Query schemas of ``/os-hypervisors`` (Nova Zed's)."""
from nova_tx.api.validation import parameter_types

#: 2.33 to 2.52: paging; unknown parameters still ignored.
list_query_schema_v233 = {
    "type": "object",
    "properties": parameter_types.pagination_parameters,
    "additionalProperties": True,
}

#: From 2.53: one value each, the hostname pattern and with_servers, nothing else.
list_query_schema_v253 = {
    "type": "object",
    "properties": {
        "limit": parameter_types.single_param(parameter_types.non_negative_integer),
        "marker": parameter_types.single_param({"type": "string"}),
        "hypervisor_hostname_pattern": parameter_types.single_param(parameter_types.fqdn),
        "with_servers": parameter_types.single_param(parameter_types.boolean),
    },
    "additionalProperties": False,
}

show_query_schema_v253 = {
    "type": "object",
    "properties": {
        "with_servers": parameter_types.single_param(parameter_types.boolean),
    },
    "additionalProperties": False,
}

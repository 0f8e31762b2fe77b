"""Request schemas of ``/os-services`` (Nova Zed's)."""
import copy

from nova_tx.api.validation import parameter_types

_binary = {"type": "string", "minLength": 1, "maxLength": 255}
_reason = {"type": "string", "minLength": 1, "maxLength": 255}

#: Before 2.53 the body names the service by host and binary.
service_update = {
    "type": "object",
    "properties": {
        "host": parameter_types.hostname,
        "binary": _binary,
        "disabled_reason": _reason,
    },
    "required": ["host", "binary"],
    "additionalProperties": False,
}

service_update_v211 = copy.deepcopy(service_update)
service_update_v211["properties"]["forced_down"] = parameter_types.boolean

#: From 2.53 the path names the service by uuid; nothing is required by the schema
#: (an empty update is refused in the handler).
service_update_v253 = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["enabled", "disabled"]},
        "disabled_reason": _reason,
        "forced_down": parameter_types.boolean,
    },
    "additionalProperties": False,
}

index_query_schema = {
    "type": "object",
    "properties": {
        "host": parameter_types.common_query_param,
        "binary": parameter_types.common_query_param,
    },
    "additionalProperties": True,
}

index_query_schema_275 = copy.deepcopy(index_query_schema)
index_query_schema_275["additionalProperties"] = False

"""Query schemas of ``/servers/{id}/os-instance-actions`` (Nova Zed's)."""
import copy

from nova_tx.api.validation import parameter_types

list_query_params_v258 = {
    "type": "object",
    "properties": {
        "limit": parameter_types.single_param(parameter_types.non_negative_integer),
        "marker": parameter_types.single_param({"type": "string"}),
        "changes-since": parameter_types.single_param(
            {"type": "string", "format": "date-time"}),
    },
    "additionalProperties": False,
}

list_query_params_v266 = copy.deepcopy(list_query_params_v258)
list_query_params_v266["properties"]["changes-before"] = parameter_types.single_param(
    {"type": "string", "format": "date-time"})

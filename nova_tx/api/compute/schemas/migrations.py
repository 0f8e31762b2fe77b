"""Query schemas of ``GET /os-migrations`` (Nova Zed's), per microversion."""
import copy

from nova_tx.api.validation import parameter_types

list_query_schema_v20 = {
    "type": "object",
    "properties": {
        "hidden": parameter_types.common_query_param,
        "host": parameter_types.common_query_param,
        "instance_uuid": parameter_types.common_query_param,
        "source_compute": parameter_types.common_query_param,
        "status": parameter_types.common_query_param,
        "migration_type": parameter_types.common_query_param,
    },
    # Unknown parameters are ignored before 2.59.
    "additionalProperties": True,
}

list_query_params_v259 = copy.deepcopy(list_query_schema_v20)
list_query_params_v259["properties"].update({
    "limit": parameter_types.single_param(parameter_types.non_negative_integer),
    "marker": parameter_types.single_param({"type": "string"}),
    "changes-since": parameter_types.single_param({"type": "string", "format": "date-time"}),
})
list_query_params_v259["additionalProperties"] = False

list_query_params_v266 = copy.deepcopy(list_query_params_v259)
list_query_params_v266["properties"].update({
    "changes-before": parameter_types.single_param(
        {"type": "string", "format": "date-time"}),
})

list_query_params_v280 = copy.deepcopy(list_query_params_v266)
list_query_params_v280["properties"].update({
    "user_id": parameter_types.single_param({"type": "string"}),
    "project_id": parameter_types.single_param({"type": "string"}),
})

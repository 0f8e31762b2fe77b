"""Query schemas of ``/os-simple-tenant-usage`` (Nova Zed's), per microversion."""
import copy

from nova_tx.api.validation import parameter_types

index_query = {
    "type": "object",
    "properties": {
        "start": parameter_types.multi_params({"type": "string"}),
        "end": parameter_types.multi_params({"type": "string"}),
        "detailed": parameter_types.multi_params({"type": "string"}),
    },
    # Unknown parameters are ignored until 2.75.
    "additionalProperties": True,
}

show_query = {
    "type": "object",
    "properties": {
        "start": parameter_types.multi_params({"type": "string"}),
        "end": parameter_types.multi_params({"type": "string"}),
    },
    "additionalProperties": True,
}

index_query_v240 = copy.deepcopy(index_query)
index_query_v240["properties"].update(parameter_types.pagination_parameters)

show_query_v240 = copy.deepcopy(show_query)
show_query_v240["properties"].update(parameter_types.pagination_parameters)

index_query_275 = copy.deepcopy(index_query_v240)
index_query_275["additionalProperties"] = False

show_query_275 = copy.deepcopy(show_query_v240)
show_query_275["additionalProperties"] = False

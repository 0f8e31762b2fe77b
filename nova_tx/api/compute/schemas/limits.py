"""Query schemas of ``/limits`` (Nova Zed's)."""
import copy

from nova_tx.api.validation import parameter_types

limits_query_schema = {
    "type": "object",
    "properties": {
        "tenant_id": parameter_types.common_query_param,
    },
    # Unknown parameters are dropped until 2.75, refused from it.
    "additionalProperties": True,
}

limits_query_schema_275 = copy.deepcopy(limits_query_schema)
limits_query_schema_275["additionalProperties"] = False

"""Query schemas of ``GET /flavors`` and ``GET /flavors/detail``."""
import copy

from nova_tx.api.validation import parameter_types

VALID_SORT_KEYS = [
    "created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
    "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at",
    "vcpu_weight", "vcpus",
]
VALID_SORT_DIR = ["asc", "desc"]

index_query_schema = {
    "type": "object",
    "properties": {
        "limit": parameter_types.multi_params(parameter_types.non_negative_integer),
        "marker": parameter_types.multi_params({"type": "string"}),
        "is_public": parameter_types.multi_params({"type": "string"}),
        "minRam": parameter_types.multi_params({"type": "string"}),
        "minDisk": parameter_types.multi_params({"type": "string"}),
        "sort_key": parameter_types.multi_params({"type": "string",
                                                  "enum": VALID_SORT_KEYS}),
        "sort_dir": parameter_types.multi_params({"type": "string",
                                                  "enum": VALID_SORT_DIR}),
    },
    # Unknown parameters are ignored before 2.75.
    "additionalProperties": True,
}

index_query_schema_v275 = copy.deepcopy(index_query_schema)
index_query_schema_v275["additionalProperties"] = False

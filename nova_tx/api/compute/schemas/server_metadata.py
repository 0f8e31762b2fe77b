"""Body schemas of ``/servers/{id}/metadata`` (Nova Zed's)."""
import copy

from nova_tx.api.validation import parameter_types

create = {
    "type": "object",
    "properties": {"metadata": parameter_types.metadata},
    "required": ["metadata"],
    "additionalProperties": False,
}

_one_item = copy.deepcopy(parameter_types.metadata)
_one_item.update({"minProperties": 1, "maxProperties": 1})

update = {
    "type": "object",
    "properties": {"meta": _one_item},
    "required": ["meta"],
    "additionalProperties": False,
}

update_all = copy.deepcopy(create)

"""Request bodies of ``POST /flavors/{id}/os-extra_specs`` and ``PUT .../{key}``."""
import copy

from nova_tx.api.validation import parameter_types

# Extra spec values may be numbers (they are stored as strings).
metadata = copy.deepcopy(parameter_types.metadata)
metadata["patternProperties"]["^[a-zA-Z0-9-_:. ]{1,255}$"]["type"] = ["string", "number"]

create = {
    "type": "object",
    "properties": {"extra_specs": metadata},
    "required": ["extra_specs"],
    "additionalProperties": False,
}

update = copy.deepcopy(metadata)
update.update({"minProperties": 1, "maxProperties": 1})

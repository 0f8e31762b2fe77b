"""Request bodies of ``POST /flavors`` and ``PUT /flavors/{id}`` (2.55)."""
import copy

from nova_tx.api.validation import parameter_types

create = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {
                "name": parameter_types.name,
                # Letters, digits, ".", " ", "_", "-"; no leading or trailing space.
                "id": {
                    "type": ["string", "number", "null"],
                    "minLength": 1, "maxLength": 255,
                    "pattern": "^(?! )[a-zA-Z0-9. _-]+(?<! )$",
                },
                "ram": parameter_types.flavor_param_positive,
                "vcpus": parameter_types.flavor_param_positive,
                "disk": parameter_types.flavor_param_non_negative,
                "OS-FLV-EXT-DATA:ephemeral": parameter_types.flavor_param_non_negative,
                "swap": parameter_types.flavor_param_non_negative,
                "rxtx_factor": {
                    "type": ["number", "string"],
                    "pattern": r"^[0-9]+(\.[0-9]+)?$",
                    "minimum": 0, "exclusiveMinimum": True,
                    # A single-precision float column.
                    "maximum": 3.40282e+38,
                },
                "os-flavor-access:is_public": parameter_types.boolean,
            },
            # "id" may be left out (or null): a UUID is made.
            "required": ["name", "ram", "vcpus", "disk"],
            "additionalProperties": False,
        },
    },
    "required": ["flavor"],
    "additionalProperties": False,
}

create_v20 = copy.deepcopy(create)
create_v20["properties"]["flavor"]["properties"]["name"] = (
    parameter_types.name_with_leading_trailing_spaces)

# The column is a TEXT (64 KiB).
flavor_description = dict(parameter_types.description, maxLength=65535)

create_v255 = copy.deepcopy(create)
create_v255["properties"]["flavor"]["properties"]["description"] = flavor_description

update_v255 = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {"description": flavor_description},
            "required": ["description"],
            "additionalProperties": False,
        },
    },
    "required": ["flavor"],
    "additionalProperties": False,
}

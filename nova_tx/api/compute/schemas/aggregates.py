"""Request schemas of ``/os-aggregates`` (Nova Zed's)."""
import copy

from nova_tx.api.validation import parameter_types

availability_zone = {"oneOf": [parameter_types.az_name, {"type": "null"}]}
availability_zone_with_leading_trailing_spaces = {"oneOf": [
    parameter_types.az_name_with_leading_trailing_spaces, {"type": "null"}]}

create = {
    "type": "object",
    "properties": {
        "aggregate": {
            "type": "object",
            "properties": {
                "name": parameter_types.name,
                "availability_zone": availability_zone,
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["aggregate"],
    "additionalProperties": False,
}

#: The legacy v2 endpoint: leading and trailing spaces allowed (and stripped).
create_v20 = copy.deepcopy(create)
create_v20["properties"]["aggregate"]["properties"]["name"] = (
    parameter_types.name_with_leading_trailing_spaces)
create_v20["properties"]["aggregate"]["properties"]["availability_zone"] = (
    availability_zone_with_leading_trailing_spaces)

update = {
    "type": "object",
    "properties": {
        "aggregate": {
            "type": "object",
            "properties": {
                "name": parameter_types.name_with_leading_trailing_spaces,
                "availability_zone": availability_zone,
            },
            "additionalProperties": False,
            "anyOf": [{"required": ["name"]}, {"required": ["availability_zone"]}],
        },
    },
    "required": ["aggregate"],
    "additionalProperties": False,
}

update_v20 = copy.deepcopy(update)
update_v20["properties"]["aggregate"]["properties"]["availability_zone"] = (
    availability_zone_with_leading_trailing_spaces)


def _host_action(name: str) -> dict:
    return {
        "type": "object",
        "properties": {
            name: {
                "type": "object",
                "properties": {"host": parameter_types.hostname},
                "required": ["host"],
                "additionalProperties": False,
            },
        },
        "required": [name],
        "additionalProperties": False,
    }


add_host = _host_action("add_host")
remove_host = _host_action("remove_host")

set_metadata = {
    "type": "object",
    "properties": {
        "set_metadata": {
            "type": "object",
            "properties": {"metadata": parameter_types.metadata_with_null},
            "required": ["metadata"],
            "additionalProperties": False,
        },
    },
    "required": ["set_metadata"],
    "additionalProperties": False,
}

#: ``POST /os-aggregates/{id}/images`` (2.81).
images = {
    "type": "object",
    "properties": {
        "cache": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"id": parameter_types.image_id},
                "required": ["id"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["cache"],
    "additionalProperties": False,
}

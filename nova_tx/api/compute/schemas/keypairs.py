"""Request schemas of ``/os-keypairs`` (Nova Zed's), per microversion."""
import copy

from nova_tx.api.validation import parameter_types

#: Names before 2.92: letters, digits, space, ``_`` and ``-``.
keypair_name_special_chars = {"allOf": [parameter_types.name, {
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "keypair_name_20",
}]}

#: From 2.92 also ``@`` and ``.``.
keypair_name_special_chars_292 = {"allOf": [parameter_types.name, {
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "keypair_name_292",
}]}

create = {
    "type": "object",
    "properties": {
        "keypair": {
            "type": "object",
            "properties": {
                "name": keypair_name_special_chars,
                "public_key": {"type": "string"},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["keypair"],
    "additionalProperties": False,
}

#: The legacy v2 endpoint: leading and trailing spaces allowed (and stripped).
create_v20 = copy.deepcopy(create)
create_v20["properties"]["keypair"]["properties"]["name"] = (
    parameter_types.name_with_leading_trailing_spaces)

create_v22 = copy.deepcopy(create)
create_v22["properties"]["keypair"]["properties"]["type"] = {
    "type": "string", "enum": ["ssh", "x509"]}

create_v210 = copy.deepcopy(create_v22)
create_v210["properties"]["keypair"]["properties"]["user_id"] = {"type": "string"}

create_v292 = copy.deepcopy(create_v210)
create_v292["properties"]["keypair"]["properties"]["name"] = keypair_name_special_chars_292
create_v292["properties"]["keypair"]["required"] = ["name", "public_key"]

index_query_schema_v20 = {
    "type": "object",
    "properties": {},
    "additionalProperties": True,
}

index_query_schema_v210 = {
    "type": "object",
    "properties": {
        "user_id": parameter_types.multi_params({"type": "string"}),
    },
    "additionalProperties": True,
}

index_query_schema_v235 = copy.deepcopy(index_query_schema_v210)
index_query_schema_v235["properties"].update(parameter_types.pagination_parameters)

show_query_schema_v20 = index_query_schema_v20
show_query_schema_v210 = index_query_schema_v210
delete_query_schema_v20 = index_query_schema_v20
delete_query_schema_v210 = index_query_schema_v210

index_query_schema_v275 = copy.deepcopy(index_query_schema_v235)
index_query_schema_v275["additionalProperties"] = False
show_query_schema_v275 = copy.deepcopy(show_query_schema_v210)
show_query_schema_v275["additionalProperties"] = False
delete_query_schema_v275 = copy.deepcopy(delete_query_schema_v210)
delete_query_schema_v275["additionalProperties"] = False

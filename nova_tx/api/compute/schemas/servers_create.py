"""Request schemas of ``POST /servers`` (Nova Zed's), per microversion (spec A §2.2).

The ranges, each schema building on the one before it::

    2.0 (legacy v2)  base, names may carry leading/trailing spaces, user_data null
    2.1 - 2.18       base
    2.19 - 2.31      + description
    2.32             + tag on networks[] and block_device_mapping_v2[]
    2.33 - 2.36      tag on networks[] only (Nova's slip: the BDM tag was 2.32-only)
    2.37 - 2.41      networks required: a list (uuid a UUID) or "auto" / "none"; no tags
    2.42 - 2.51      tags on networks[] and block_device_mapping_v2[] again
    2.52 - 2.56      + tags
    2.57 - 2.62      - personality
    2.63 - 2.66      + trusted_image_certificates
    2.67 - 2.73      + block_device_mapping_v2[].volume_type
    2.74 - 2.89      + host, hypervisor_hostname
    2.90 -           + hostname
"""
from __future__ import annotations

import copy

from nova_tx.api.validation import parameter_types

#: Nova's ``objects.instance.MAX_TAG_COUNT``.
MAX_TAG_COUNT = 50

# -- block device mappings (Nova's schemas/block_device_mapping*.py) --------------------

legacy_block_device_mapping = {
    "type": "object",
    "properties": {
        "virtual_name": {"type": "string", "maxLength": 255},
        "volume_id": parameter_types.volume_id,
        "snapshot_id": parameter_types.image_id,
        "volume_size": parameter_types.volume_size,
        # Empty names, numbers and spaces are refused (nova/block_device.py); the
        # range ``_-r`` is Nova's.
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": "^[a-zA-Z0-9._-r/]*$"},
        "delete_on_termination": parameter_types.boolean,
        "no_device": {},
        # block_device_mapping.connection_info is a MEDIUMTEXT.
        "connection_info": {"type": "string", "maxLength": 16777215},
    },
    "additionalProperties": False,
}

_bdm_v2_new_items = {
    "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
    "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
             "pattern": "^[a-zA-Z0-9._-]*$"},
    "image_id": parameter_types.image_id,
    "destination_type": {"type": "string", "enum": ["local", "volume"]},
    "guest_format": {"type": "string", "maxLength": 255},
    "device_type": {"type": "string", "maxLength": 255},
    "disk_bus": {"type": "string", "maxLength": 255},
    # null is accepted as the legacy v2 API did (it means "not a boot device").
    "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
}

block_device_mapping_v2 = copy.deepcopy(legacy_block_device_mapping)
block_device_mapping_v2["properties"].update(_bdm_v2_new_items)

# -- scheduler hints -------------------------------------------------------------------

_uuid_or_uuids = {
    # One server as a string, several as a list.
    "oneOf": [{"type": "string", "format": "uuid"},
              {"type": "array", "items": parameter_types.server_id}],
}

hints = {
    "type": "object",
    "properties": {
        "group": {"type": "string", "format": "uuid"},
        "different_host": _uuid_or_uuids,
        "same_host": copy.deepcopy(_uuid_or_uuids),
        # The JsonFilter's query: JSON text or the object itself.
        "query": {"type": ["string", "object"]},
        "target_cell": parameter_types.name,
        "different_cell": {"type": ["string", "array"], "items": {"type": "string"}},
        "build_near_host_ip": parameter_types.ip_address,
        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
    },
    # Out-of-tree filters read their own hints: unknown ones pass (Nova, since 2015).
    "additionalProperties": True,
}

# -- networks --------------------------------------------------------------------------

_port = {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}

_network_v21 = {
    "type": "object",
    "properties": {
        "fixed_ip": parameter_types.ip_address,
        "port": _port,
        "uuid": {"type": "string"},
    },
    "additionalProperties": False,
}

# -- the base --------------------------------------------------------------------------

base_create = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": parameter_types.name,
                # "" only for a boot from volume; the handler checks that.
                "imageRef": parameter_types.image_id_or_empty_string,
                "flavorRef": parameter_types.flavor_ref,
                "adminPass": parameter_types.admin_password,
                "metadata": parameter_types.metadata,
                "networks": {"type": "array", "items": _network_v21},
                "OS-DCF:diskConfig": parameter_types.disk_config,
                "accessIPv4": parameter_types.accessIPv4,
                "accessIPv6": parameter_types.accessIPv6,
                "personality": parameter_types.personality,
                "availability_zone": parameter_types.name,
                "block_device_mapping": {"type": "array",
                                         "items": legacy_block_device_mapping},
                "block_device_mapping_v2": {"type": "array",
                                            "items": block_device_mapping_v2},
                "config_drive": parameter_types.boolean,
                "key_name": parameter_types.name,
                "min_count": parameter_types.positive_integer,
                "max_count": parameter_types.positive_integer,
                "return_reservation_id": parameter_types.boolean,
                "security_groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        # Names or ids: the network service takes both.
                        "properties": {"name": parameter_types.name},
                        "additionalProperties": False,
                    },
                },
                "user_data": {"type": "string", "format": "base64", "maxLength": 65535},
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": hints,
        "OS-SCH-HNT:scheduler_hints": copy.deepcopy(hints),
    },
    "required": ["server"],
    "additionalProperties": False,
}


def _server(schema: dict) -> dict:
    return schema["properties"]["server"]["properties"]


base_create_v20 = copy.deepcopy(base_create)
for _name in ("name", "availability_zone", "key_name"):
    _server(base_create_v20)[_name] = parameter_types.name_with_leading_trailing_spaces
_server(base_create_v20)["security_groups"]["items"]["properties"]["name"] = (
    parameter_types.name_with_leading_trailing_spaces)
_server(base_create_v20)["user_data"] = {"oneOf": [
    {"type": "string", "format": "base64", "maxLength": 65535}, {"type": "null"}]}

base_create_v219 = copy.deepcopy(base_create)
_server(base_create_v219)["description"] = parameter_types.description

base_create_v232 = copy.deepcopy(base_create_v219)
_server(base_create_v232)["networks"]["items"]["properties"]["tag"] = parameter_types.tag
_server(base_create_v232)["block_device_mapping_v2"]["items"]["properties"]["tag"] = (
    parameter_types.tag)

# Nova meant ">= 2.32" for the BDM tag and wrote "== 2.32"; 2.42 put it back.
base_create_v233 = copy.deepcopy(base_create_v219)
_server(base_create_v233)["networks"]["items"]["properties"]["tag"] = parameter_types.tag


def _networks(tag: bool) -> dict:
    item = {
        "type": "object",
        "properties": {
            "fixed_ip": parameter_types.ip_address,
            "port": _port,
            "uuid": {"type": "string", "format": "uuid"},
        },
        "additionalProperties": False,
    }
    if tag:
        item["properties"]["tag"] = parameter_types.tag
    return {"oneOf": [{"type": "array", "items": item},
                      {"type": "string", "enum": ["none", "auto"]}]}


# 2.37: networks required, a list or "auto"/"none", uuid a UUID; the network tag is
# lost (until 2.42).
base_create_v237 = copy.deepcopy(base_create_v233)
base_create_v237["properties"]["server"]["required"].append("networks")
_server(base_create_v237)["networks"] = _networks(tag=False)

base_create_v242 = copy.deepcopy(base_create_v237)
_server(base_create_v242)["networks"] = _networks(tag=True)
_server(base_create_v242)["block_device_mapping_v2"]["items"]["properties"]["tag"] = (
    parameter_types.tag)

base_create_v252 = copy.deepcopy(base_create_v242)
_server(base_create_v252)["tags"] = {
    "type": "array", "items": parameter_types.tag, "maxItems": MAX_TAG_COUNT}

base_create_v257 = copy.deepcopy(base_create_v252)
_server(base_create_v257).pop("personality")

base_create_v263 = copy.deepcopy(base_create_v257)
_server(base_create_v263)["trusted_image_certificates"] = parameter_types.trusted_certs

base_create_v267 = copy.deepcopy(base_create_v263)
_server(base_create_v267)["block_device_mapping_v2"]["items"]["properties"][
    "volume_type"] = parameter_types.volume_type

base_create_v274 = copy.deepcopy(base_create_v267)
_server(base_create_v274)["host"] = parameter_types.fqdn
_server(base_create_v274)["hypervisor_hostname"] = parameter_types.fqdn

#: A server's own hostname (2.90): one DNS label of 2 to 63 characters.
server_hostname = {
    "type": "string", "minLength": 2, "maxLength": 63,
    "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
}

base_create_v290 = copy.deepcopy(base_create_v274)
_server(base_create_v290)["hostname"] = server_hostname

#: (schema, first microversion, last microversion) in order, for the handler's
#: decorators and for the tests that build bodies from them.
BY_VERSION = (
    (base_create_v20, "2.0", "2.0"),
    (base_create, "2.1", "2.18"),
    (base_create_v219, "2.19", "2.31"),
    (base_create_v232, "2.32", "2.32"),
    (base_create_v233, "2.33", "2.36"),
    (base_create_v237, "2.37", "2.41"),
    (base_create_v242, "2.42", "2.51"),
    (base_create_v252, "2.52", "2.56"),
    (base_create_v257, "2.57", "2.62"),
    (base_create_v263, "2.63", "2.66"),
    (base_create_v267, "2.67", "2.73"),
    (base_create_v274, "2.74", "2.89"),
    (base_create_v290, "2.90", None),
)

"""Body schemas of the lifecycle actions of ``POST /servers/{id}/action`` (Nova Zed's
``schemas/servers.py`` reboot, ``lock_server.py``, ``reset_server_state.py`` and
``console_output.py``; ``rebuild``, ``rescue.py``, ``create_image`` and
``trigger_crash_dump``)."""
import copy as _copy

from nova_tx.api.validation import parameter_types as _types

reboot = {
    "type": "object",
    "properties": {
        "reboot": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["HARD", "Hard", "hard",
                                                    "SOFT", "Soft", "soft"]},
            },
            "required": ["type"],
            "additionalProperties": False,
        },
    },
    "required": ["reboot"],
    "additionalProperties": False,
}

lock_v2_73 = {
    "type": "object",
    "properties": {
        "lock": {
            "type": ["object", "null"],
            "properties": {
                "locked_reason": {"type": "string", "minLength": 1, "maxLength": 255},
            },
            "additionalProperties": False,
        },
    },
    "required": ["lock"],
    "additionalProperties": False,
}

reset_state = {
    "type": "object",
    "properties": {
        "os-resetState": {
            "type": "object",
            "properties": {"state": {"type": "string", "enum": ["active", "error"]}},
            "required": ["state"],
            "additionalProperties": False,
        },
    },
    "required": ["os-resetState"],
    "additionalProperties": False,
}

get_console_output = {
    "type": "object",
    "properties": {
        "os-getConsoleOutput": {
            "type": "object",
            "properties": {
                "length": {
                    "type": ["integer", "string", "null"],
                    "pattern": "^-?[0-9]+$",
                    # -1 is the same as None (the whole log).
                    "minimum": -1,
                },
            },
            "additionalProperties": False,
        },
    },
    "required": ["os-getConsoleOutput"],
    "additionalProperties": False,
}


# -- rebuild (Nova Zed's ``schemas/servers.py`` base_rebuild*) ------------------------------

rebuild = {
    "type": "object",
    "properties": {
        "rebuild": {
            "type": "object",
            "properties": {
                "name": _types.name,
                "imageRef": _types.image_id,
                "adminPass": _types.admin_password,
                "metadata": _types.metadata,
                "preserve_ephemeral": _types.boolean,
                "OS-DCF:diskConfig": _types.disk_config,
                "accessIPv4": {"type": "string", "format": "ipv4"},
                "accessIPv6": {"type": "string", "format": "ipv6"},
                "personality": _types.personality,
            },
            "required": ["imageRef"],
            "additionalProperties": False,
        },
    },
    "required": ["rebuild"],
    "additionalProperties": False,
}


def _rebuild_props(schema: dict) -> dict:
    return schema["properties"]["rebuild"]["properties"]


rebuild_v20 = _copy.deepcopy(rebuild)
_rebuild_props(rebuild_v20)["name"] = _types.name_with_leading_trailing_spaces

rebuild_v219 = _copy.deepcopy(rebuild)
_rebuild_props(rebuild_v219)["description"] = _types.description

rebuild_v254 = _copy.deepcopy(rebuild_v219)
_rebuild_props(rebuild_v254)["key_name"] = _types.name_or_none

rebuild_v257 = _copy.deepcopy(rebuild_v254)
_rebuild_props(rebuild_v257).pop("personality")
_rebuild_props(rebuild_v257)["user_data"] = {"oneOf": [
    {"type": "string", "format": "base64", "maxLength": 65535},
    {"type": "null"},
]}

rebuild_v263 = _copy.deepcopy(rebuild_v257)
_rebuild_props(rebuild_v263)["trusted_image_certificates"] = _types.trusted_certs

rebuild_v290 = _copy.deepcopy(rebuild_v263)
_rebuild_props(rebuild_v290)["hostname"] = _types.fqdn

# -- rescue (``schemas/rescue.py``) ---------------------------------------------------------

rescue = {
    "type": "object",
    "properties": {
        "rescue": {
            "type": ["object", "null"],
            "properties": {
                "adminPass": _types.admin_password,
                "rescue_image_ref": _types.image_id,
            },
            "additionalProperties": False,
        },
    },
    "required": ["rescue"],
    "additionalProperties": False,
}

# -- createImage (``schemas/servers.py`` create_image) ------------------------------------

create_image = {
    "type": "object",
    "properties": {
        "createImage": {
            "type": "object",
            "properties": {
                "name": _types.name,
                "metadata": _types.metadata,
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["createImage"],
    "additionalProperties": False,
}

# -- trigger_crash_dump (2.17; Nova's ``schemas/servers.py``) ----------------------------

trigger_crash_dump = {
    "type": "object",
    "properties": {"trigger_crash_dump": {"type": "null"}},
    "required": ["trigger_crash_dump"],
    "additionalProperties": False,
}

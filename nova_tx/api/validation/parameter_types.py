"""The JSON-schema building blocks of request bodies and query strings (Nova's names).

Request schemas in ``nova_tx/api/compute/schemas/`` compose these, so a ``name`` or a
``metadata`` map is checked the same way by every resource, with the same message.
"""
from __future__ import annotations

import copy
import functools
import re
import unicodedata


def single_param(schema: dict) -> dict:
    """A query parameter that may be given once (query values are lists)."""
    result = multi_params(schema)
    result["maxItems"] = 1
    return result


def multi_params(schema: dict) -> dict:
    """A query parameter that may be given several times."""
    return {"type": "array", "items": schema}


# Query parameters whose values were never checked (kept for compatibility).
common_query_param = multi_params({"type": "string"})
common_query_regex_param = multi_params({"type": "string", "format": "regex"})


class ValidationRegex:
    def __init__(self, regex: str, reason: str):
        self.regex = regex
        self.reason = reason


def _is_printable(char: str) -> bool:
    """Not "other" (control, format, surrogate ...) and no space but the plain ones."""
    category = unicodedata.category(char)
    return not category.startswith("C") and (
        not category.startswith("Z") or category == "Zs")


@functools.cache
def _build_regex_range(ws: bool = True, invert: bool = False,
                       exclude: tuple[str, ...] = ()) -> str:
    """A regex character-class body of the valid characters of the BMP.

    Valid is printable (``ws=False``: and not a space separator), minus ``exclude``;
    ``invert`` takes the complement.
    """

    def valid(char: str) -> bool:
        if char in exclude:
            result = False
        elif ws:
            result = _is_printable(char)
        else:
            result = _is_printable(char) and unicodedata.category(char) != "Zs"
        return not result if invert else result

    parts = []
    start = None
    for code in range(0xFFFF):
        if valid(chr(code)):
            if start is None:
                start = code
        elif start is not None:
            parts.append(_range_text(start, code - 1))
            start = None
    if start is not None:
        parts.append(_range_text(start, 0xFFFE))
    return "".join(parts)


def _range_text(first: int, last: int) -> str:
    if first == last:
        return re.escape(chr(first))
    return "%s-%s" % (re.escape(chr(first)), re.escape(chr(last)))


_NAME_BASE = "^(?![%s])[%s]*(?<![%s])$"
_LEADING_TRAILING_BASE = (
    "^[%(ws)s]*[%(no_ws)s]+[%(ws)s]*$|"
    "^[%(ws)s]*[%(no_ws)s][%(no_ws)s%(ws)s]+[%(no_ws)s][%(ws)s]*$")


@functools.cache
def regexes() -> dict[str, ValidationRegex]:
    """The name regexes, built once on first use (scanning the BMP takes a moment)."""
    not_printable = _build_regex_range(ws=False, invert=True)
    return {
        "name": ValidationRegex(
            _NAME_BASE % (not_printable, _build_regex_range(), not_printable),
            "printable characters. Can not start or end with whitespace."),
        "az_name": ValidationRegex(
            _NAME_BASE % (not_printable, _build_regex_range(exclude=(":",)),
                          not_printable),
            "printable characters except :.Can not start or end with whitespace."),
        "az_name_with_leading_trailing_spaces": ValidationRegex(
            _LEADING_TRAILING_BASE % {
                "ws": _build_regex_range(exclude=(":",)),
                "no_ws": _build_regex_range(ws=False, exclude=(":",))},
            "printable characters except :, with at least one non space character"),
        "name_with_leading_trailing_spaces": ValidationRegex(
            _LEADING_TRAILING_BASE % {
                "ws": _build_regex_range(),
                "no_ws": _build_regex_range(ws=False)},
            "printable characters with at least one non space character"),
    }


boolean = {
    "type": ["boolean", "string"],
    "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on",
             "YES", "Yes", "yes",
             False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
             "NO", "No", "no"],
}

none = {"enum": ["None", None, {}]}

name_or_none = {
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": 255},
        {"type": "null"},
    ]
}

positive_integer = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1,
}

non_negative_integer = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1,
}

positive_integer_with_empty_str = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$", "minimum": 1,
}

hostname = {
    "type": "string", "minLength": 1, "maxLength": 255,
    # Underscores are not in RFC 952, but real systems have them.
    "pattern": "^[a-zA-Z0-9-._]*$",
}

hostname_or_ip_address = {
    "type": "string", "maxLength": 255,
    "pattern": "^[a-zA-Z0-9-_.:]*$",
}

# The server's ``hostname`` (2.90): a subset of RFC 1123 labels, up to 63 characters
# and no trailing dot.
fqdn = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "pattern": "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
               "(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
}

name = {
    # The names of keypairs, servers, flavors, aggregates ...: stored, so bounded.
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "name",
}

az_name = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "az_name",
}

az_name_with_leading_trailing_spaces = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "az_name_with_leading_trailing_spaces",
}

name_with_leading_trailing_spaces = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "format": "name_with_leading_trailing_spaces",
}

description = {
    "type": ["string", "null"], "minLength": 0, "maxLength": 255,
    # Same characters as ``name`` (checked by the "description" format so the regex is
    # built only when a description is validated).
    "format": "description",
}

tcp_udp_port = {
    "type": ["integer", "string"], "pattern": "^[0-9]*$",
    "minimum": 0, "maximum": 65535,
    "minLength": 1,
}

project_id = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "pattern": "^[a-zA-Z0-9-]*$",
}

server_id = {"type": "string", "format": "uuid"}

image_id = {"type": "string", "format": "uuid"}

image_id_or_empty_string = {
    "oneOf": [
        {"type": "string", "format": "uuid"},
        {"type": "string", "maxLength": 0},
    ]
}

volume_id = {"type": "string", "format": "uuid"}

volume_type = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}

network_id = {"type": "string", "format": "uuid"}

network_port_id = {"type": "string", "format": "uuid"}

admin_password = {
    # Not stored by nova, and users choose long or strange passwords: any string.
    "type": "string",
}

flavor_ref = {"type": ["string", "integer"], "minLength": 1}

metadata = {
    "type": "object",
    "patternProperties": {
        "^[a-zA-Z0-9-_:. ]{1,255}$": {
            "type": "string", "maxLength": 255,
        }
    },
    "additionalProperties": False,
}

metadata_with_null = copy.deepcopy(metadata)
metadata_with_null["patternProperties"]["^[a-zA-Z0-9-_:. ]{1,255}$"]["type"] = [
    "string", "null"]

mac_address = {
    "type": "string",
    "pattern": "^([0-9a-fA-F]{2})(:[0-9a-fA-F]{2}){5}$",
}

ip_address = {
    "type": "string",
    "oneOf": [
        {"format": "ipv4"},
        {"format": "ipv6"},
    ],
}

ipv4 = {"type": "string", "format": "ipv4"}

ipv6 = {"type": "string", "format": "ipv6"}

cidr = {"type": "string", "format": "cidr"}

volume_size = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]+$",
    "minimum": 1,
    # The database's MAX_INT.
    "maximum": 0x7FFFFFFF,
}

disk_config = {"type": "string", "enum": ["AUTO", "MANUAL"]}

accessIPv4 = {"type": "string", "format": "ipv4"}

accessIPv6 = {"type": "string", "format": "ipv6"}

flavor_param_positive = copy.deepcopy(volume_size)

flavor_param_non_negative = copy.deepcopy(volume_size)
flavor_param_non_negative["minimum"] = 0

personality = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "contents": {"type": "string", "format": "base64"},
        },
        "additionalProperties": False,
    },
}

#: Nova's ``objects.tag.MAX_TAG_LENGTH``.
MAX_TAG_LENGTH = 60

tag = {
    "type": "string",
    "minLength": 1, "maxLength": MAX_TAG_LENGTH,
    "pattern": "^[^,/]*$",
}

pagination_parameters = {
    "limit": multi_params(non_negative_integer),
    "marker": multi_params({"type": "string"}),
}

# Up to 50 certificate ids; null unsets them on rebuild.
trusted_certs = {
    "type": ["array", "null"],
    "minItems": 1,
    "maxItems": 50,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1},
}

uuid = {"type": "string", "format": "uuid"}

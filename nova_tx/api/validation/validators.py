"""The JSON-schema validator of request bodies and query strings, with Nova's messages.

Draft 4, as Nova, with its additions: ``minimum``/``maximum`` also apply to numeric
strings (``"5"`` against ``minimum: 1``), the formats Nova defines (``uuid``,
``name``, ``cidr``, ``base64`` ...) whose failures explain themselves, and for the
legacy ``/v2`` endpoint additional properties dropped rather than refused. A failure
is an ``exception.ValidationError`` (400) reading::

    Invalid input for field/attribute <name>. Value: <value>. <jsonschema's message>
    Invalid input for query parameters <name>. Value: <value>. <jsonschema's message>
"""
from __future__ import annotations

import base64
import binascii
import re
import string

import jsonschema
import netaddr
import rfc3986
from jsonschema import exceptions as jsonschema_exc
from oslo_utils import timeutils, uuidutils

from nova_tx import exception
from nova_tx.api.validation import parameter_types


class FormatChecker(jsonschema.FormatChecker):
    """Keeps the exception a format check raised, so its message reaches the user."""

    def check(self, instance, format):  # noqa: A002 - jsonschema's signature
        if format not in self.checkers:
            return
        func, raises = self.checkers[format]
        result, cause = None, None
        try:
            result = func(instance)
        except raises as e:
            cause = e
        if not result:
            raise jsonschema_exc.FormatError(
                "%r is not a %r" % (instance, format), cause=cause)


def _regex_format(instance) -> bool:
    if not instance or not isinstance(instance, str):
        return True
    try:
        re.compile(instance)
    except re.error:
        return False
    return True


def _datetime_format(instance) -> bool:
    try:
        timeutils.parse_isotime(instance)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _base64_format(instance) -> bool:
    try:
        if isinstance(instance, str):
            instance = instance.encode("utf-8")
        base64.decodebytes(instance)
    except (binascii.Error, TypeError, UnicodeEncodeError):
        # UnicodeEncodeError: a lone surrogate, which JSON may carry.
        return False
    return True


def _cidr_format(instance) -> bool:
    try:
        netaddr.IPNetwork(instance)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return False
    if "/" not in instance:
        return False
    return not re.search(r"\s", instance)


def _uuid_format(instance) -> bool:
    return uuidutils.is_uuid_like(instance)


def _uri_format(instance) -> bool:
    return rfc3986.is_valid_uri(instance, require_scheme=True, require_authority=True)


def _named_regex_check(kind: str):
    def check(instance) -> bool:
        regex = parameter_types.regexes()[kind]
        try:
            if re.search(regex.regex, instance):
                return True
        except TypeError:
            # Not a string: the "type" keyword says so too.
            pass
        raise exception.InvalidName(reason=regex.reason)

    return check


def _description_format(instance) -> bool:
    if instance is None or not isinstance(instance, str):
        return True
    return re.search(parameter_types.regexes()["name"].regex, instance) is not None


def _keypair_name(safe_chars: str):
    def check(instance) -> bool:
        if not isinstance(instance, str):
            return True
        if "".join(c for c in instance if c in safe_chars) != instance:
            raise exception.InvalidName(
                reason="Only expected characters: [%s]" % safe_chars)
        return True

    return check


def make_format_checker() -> FormatChecker:
    checker = FormatChecker()
    plain = {
        "regex": _regex_format,
        "date-time": _datetime_format,
        "base64": _base64_format,
        "cidr": _cidr_format,
        "uuid": _uuid_format,
        "uri": _uri_format,
        "description": _description_format,
    }
    for name, func in plain.items():
        checker.checks(name)(func)
    for name in ("name", "az_name", "name_with_leading_trailing_spaces",
                 "az_name_with_leading_trailing_spaces"):
        checker.checks(name, raises=exception.InvalidName)(_named_regex_check(name))
    checker.checks("keypair_name_20", raises=exception.InvalidName)(
        _keypair_name("_- " + string.digits + string.ascii_letters))
    checker.checks("keypair_name_292", raises=exception.InvalidName)(
        _keypair_name("@._- " + string.digits + string.ascii_letters))
    return checker


FORMAT_CHECKER = make_format_checker()


def _soft_validate_additional_properties(validator, additional_properties_value,
                                         instance, schema):
    """``additionalProperties`` of the legacy ``/v2`` endpoint: unknown keys are
    removed from the body, except where ``patternProperties`` (metadata) are
    declared: there an unknown key that matches no pattern is still an error."""
    if not validator.is_type(instance, "object") or additional_properties_value:
        return
    properties = schema.get("properties", {})
    patterns = "|".join(schema.get("patternProperties", {}))
    extra = set()
    for prop in instance:
        if prop not in properties:
            if patterns:
                if not re.search(patterns, prop):
                    extra.add(prop)
            else:
                extra.add(prop)
    if not extra:
        return
    if patterns:
        verb = "was" if len(extra) == 1 else "were"
        yield jsonschema_exc.ValidationError(
            "Additional properties are not allowed (%s %s unexpected)"
            % (", ".join(repr(e) for e in sorted(extra)), verb))
    else:
        for prop in extra:
            del instance[prop]


def _number_from_str(instance):
    if isinstance(instance, bool):
        return None
    try:
        return int(instance)
    except (ValueError, TypeError):
        try:
            return float(instance)
        except (ValueError, TypeError):
            return None


_BASE = jsonschema.Draft4Validator


def _minimum(validator, minimum, instance, schema):
    value = _number_from_str(instance)
    if value is None:
        return
    yield from _BASE.VALIDATORS["minimum"](validator, minimum, value, schema) or ()


def _maximum(validator, maximum, instance, schema):
    value = _number_from_str(instance)
    if value is None:
        return
    yield from _BASE.VALIDATORS["maximum"](validator, maximum, value, schema) or ()


def _size(kind: str, too_short: bool):
    """minLength/maxLength/minItems/maxItems with the words of the jsonschema Zed
    shipped with ("'' is too short" where newer releases say "should be non-empty")."""

    def check(validator, bound, instance, schema):
        if not validator.is_type(instance, kind):
            return
        if (len(instance) < bound) if too_short else (len(instance) > bound):
            yield jsonschema_exc.ValidationError(
                "%r is too %s" % (instance, "short" if too_short else "long"))

    return check


_KEYWORDS = {
    "minimum": _minimum,
    "maximum": _maximum,
    "minLength": _size("string", True),
    "maxLength": _size("string", False),
    "minItems": _size("array", True),
    "maxItems": _size("array", False),
}
_STRICT = jsonschema.validators.extend(_BASE, _KEYWORDS)
_RELAXED = jsonschema.validators.extend(
    _BASE, {**_KEYWORDS, "additionalProperties": _soft_validate_additional_properties})


class SchemaValidator:
    """Validates one schema; ``relax_additional_properties`` for the legacy endpoint."""

    def __init__(self, schema: dict, relax_additional_properties: bool = False,
                 is_body: bool = True):
        cls = _RELAXED if relax_additional_properties else _STRICT
        self.validator = cls(schema, format_checker=FORMAT_CHECKER)
        self.is_body = is_body

    def validate(self, instance) -> None:
        try:
            self.validator.validate(instance)
        except jsonschema.ValidationError as ex:
            raise exception.ValidationError(detail=self._detail(ex)) from None
        except TypeError as ex:
            # A non-string key checked against patternProperties.
            raise exception.ValidationError(detail=str(ex)) from None

    def _detail(self, ex: jsonschema.ValidationError) -> str:
        if isinstance(ex.cause, exception.InvalidName):
            return ex.cause.format_message()
        if len(ex.path) > 0:
            if self.is_body:
                return ("Invalid input for field/attribute %(path)s. Value: %(value)s. "
                        "%(message)s" % {"path": ex.path.pop(), "value": ex.instance,
                                         "message": ex.message})
            # Query values are lists: the first path element is the parameter.
            return ("Invalid input for query parameters %(path)s. Value: %(value)s. "
                    "%(message)s" % {"path": ex.path.popleft(), "value": ex.instance,
                                     "message": ex.message})
        return ex.message

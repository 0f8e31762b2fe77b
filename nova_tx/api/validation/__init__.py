"""Request validation per microversion: ``@validation.schema`` and
``@validation.query_schema`` on a compute API handler.

Stack one decorator per version range; each checks only requests whose microversion
lies in its range (both bounds inclusive, either open)::

    @routes.route("POST", "/os-keypairs", status=201)
    @validation.schema(keypairs.create, "2.0", "2.1")
    @validation.schema(keypairs.create_v22, "2.2", "2.9")
    @validation.schema(keypairs.create_v210, "2.10")
    async def create(req): ...

Requests through the legacy ``/v2`` endpoint are checked as microversion "2.0"
(so a schema declared for "2.0" applies to them, one whose range starts at "2.1"
does not), with unknown body properties dropped instead of refused, as Nova's
v2.0 compatibility mode does. The body is ``req.body`` (``None`` when empty); the
query is ``req.query`` (name -> list of values), from which parameters a schema
does not declare are removed unless the schema refuses them (Nova's 2.75 rule is
written in the schemas as ``additionalProperties: False``).
"""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from nova_tx.api.compute import api_version
from nova_tx.api.validation.validators import SchemaValidator


def _in_range(req, min_version: str | None, max_version: str | None) -> bool:
    if min_version is None and max_version is None:
        return True
    return req.schema_version.matches(min_version, max_version)


async def _call(func: Callable, req, args, kwargs) -> Any:
    result = func(req, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def _check_version_strings(*versions: str | None) -> None:
    for version in versions:
        if version is not None:
            api_version.APIVersionRequest(version)  # raises on a typo at import


def schema(request_body_schema: dict, min_version: str | None = None,
           max_version: str | None = None) -> Callable:
    """Validate ``req.body`` against ``request_body_schema`` in this version range."""
    _check_version_strings(min_version, max_version)
    validators: dict[bool, SchemaValidator] = {}

    def validator(relaxed: bool) -> SchemaValidator:
        if relaxed not in validators:
            validators[relaxed] = SchemaValidator(
                request_body_schema, relax_additional_properties=relaxed, is_body=True)
        return validators[relaxed]

    def add_validator(func: Callable) -> Callable:
        @functools.wraps(func)
        async def wrapper(req, *args, **kwargs):
            if _in_range(req, min_version, max_version):
                validator(req.is_legacy_v2).validate(req.body)
            return await _call(func, req, args, kwargs)

        return wrapper

    return add_validator


def query_schema(query_params_schema: dict, min_version: str | None = None,
                 max_version: str | None = None) -> Callable:
    """Validate ``req.query`` against ``query_params_schema`` in this version range,
    then drop the parameters the schema does not name (when it allows others)."""
    _check_version_strings(min_version, max_version)
    validators: dict[bool, SchemaValidator] = {}

    def validator(relaxed: bool) -> SchemaValidator:
        if relaxed not in validators:
            validators[relaxed] = SchemaValidator(
                query_params_schema, relax_additional_properties=relaxed, is_body=False)
        return validators[relaxed]

    def add_validator(func: Callable) -> Callable:
        @functools.wraps(func)
        async def wrapper(req, *args, **kwargs):
            if _in_range(req, min_version, max_version):
                query = req.query
                validator(req.is_legacy_v2).validate(query)
                _strip_additional_query_parameters(query_params_schema, query)
            return await _call(func, req, args, kwargs)

        return wrapper

    return add_validator


def _strip_additional_query_parameters(schema: dict, query: dict[str, list[str]]) -> None:
    if not schema.get("additionalProperties", True):
        return
    patterns = [re.compile(p) for p in schema.get("patternProperties", {}) or {}]
    known = schema.get("properties", {})
    for param in list(query):
        if param not in known and not any(p.match(param) for p in patterns):
            del query[param]

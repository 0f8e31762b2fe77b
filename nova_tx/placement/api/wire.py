"""The request and response of one Placement API call, independent of HTTP.

The Klein front end builds a PlacementRequest from a twisted.web request; the
in-process client builds one directly. Handlers take one and return a
PlacementResponse, so both paths run exactly the same code.
"""
from __future__ import annotations

import dataclasses
import datetime
import email.utils
import json
import uuid as uuidlib
from typing import Any

import jsonschema

from nova_tx.context import RequestContext
from nova_tx.placement import exception
from nova_tx.placement.api.microversion import MIN_VERSION, Version

JSON = "application/json"

#: jsonschema's format checker with Placement's idea of a uuid (oslo's
#: ``is_uuid_like``: with or without dashes).
FORMAT_CHECKER = jsonschema.FormatChecker()


def is_uuid_like(value: Any) -> bool:
    try:
        uuidlib.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


@FORMAT_CHECKER.checks("uuid")
def _check_uuid(value: Any) -> bool:
    return not isinstance(value, str) or is_uuid_like(value)


@dataclasses.dataclass
class PlacementRequest:
    method: str
    path: str
    #: Query parameters, each name with every value given, in order.
    query: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: Lower-case header names, each with every value given.
    headers: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    #: Set by the pipeline: the negotiated microversion and who is asking.
    version: Version = MIN_VERSION
    context: RequestContext | None = None
    #: Path prefix the API is served under ("" at the root), for links.
    prefix: str = ""
    #: Set only by the in-process client: ``context`` is the calling service's own
    #: and needs no authentication. Never set from an HTTP request.
    trusted: bool = False
    #: The caller's address, when known.
    remote: str | None = None

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    @property
    def content_type(self) -> str:
        value = self.header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    def wants(self, min_version: tuple[int, int]) -> bool:
        return self.version.matches(min_version)

    def link(self, path: str) -> str:
        return self.prefix + path


@dataclasses.dataclass
class PlacementResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    #: When set and the microversion is 1.15 or later, Last-Modified and
    #: Cache-Control are sent (GET answers).
    last_modified: datetime.datetime | None = None

    def json(self) -> Any:
        """The body as Python data (for the in-process client)."""
        if isinstance(self.body, bytes | str):
            return json.loads(self.body) if self.body else None
        return self.body


def http_date(when: datetime.datetime) -> str:
    return email.utils.format_datetime(
        when.replace(tzinfo=datetime.UTC) if when.tzinfo is None else when, usegmt=True)


def require_json(req: PlacementRequest) -> None:
    """A body must come as application/json: 415 otherwise (Placement's wording)."""
    if req.content_type != JSON:
        raise exception.UnsupportedMediaType(
            f"The media type {req.content_type or 'None'} is not supported, use {JSON}")


def extract_json(req: PlacementRequest, schema: dict) -> Any:
    """The request body parsed and validated against ``schema``; 400 otherwise."""
    require_json(req)
    try:
        data = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise exception.BadRequest(f"Malformed JSON: {e}") from None
    validate(data, schema, "JSON does not validate: {}")
    return data


#: Validators by schema text. ``jsonschema.validate`` checks the schema against its
#: meta-schema and builds a validator on every call, which costs a hundred times the
#: validation of a claim's body; the schemas are a few per route and microversion.
_VALIDATORS: dict[str, Any] = {}
_MAX_VALIDATORS = 1024


def _validator(schema: dict) -> Any:
    key = json.dumps(schema, sort_keys=True, default=repr)
    validator = _VALIDATORS.get(key)
    if validator is None:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = cls(schema, format_checker=FORMAT_CHECKER)
        if len(_VALIDATORS) >= _MAX_VALIDATORS:
            _VALIDATORS.clear()
        _VALIDATORS[key] = validator
    return validator


def validate(data: Any, schema: dict, message: str) -> None:
    """``jsonschema.validate`` with the validator built once per schema: the same
    error (``best_match`` of the errors) in the same message."""
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(data))
    if error is not None:
        raise exception.BadRequest(message.format(error))


def query_dict(req: PlacementRequest) -> dict[str, str]:
    """The query as one value per name (the last), as Placement validates it."""
    return {name: values[-1] for name, values in req.query.items()}


def validate_query(req: PlacementRequest, schema: dict) -> dict[str, str]:
    params = query_dict(req)
    validate(params, schema, "Invalid query string parameters: {}")
    return params


def accepts_json(accept: str | None) -> bool:
    """Whether an Accept header allows application/json (no header allows anything)."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if q > 0 and media in (JSON, "application/*", "*/*"):
            return True
    return False


def prefers_html(accept: str | None) -> bool:
    """Whether an error should be an HTML page (HTML accepted, JSON not named)."""
    if not accept:
        return False
    lowered = accept.lower()
    return "text/html" in lowered and JSON not in lowered and "*/*" not in lowered


def check_accept(req: PlacementRequest) -> None:
    if not accepts_json(req.header("accept")):
        raise exception.NotAcceptable(f"Only {JSON} is provided")

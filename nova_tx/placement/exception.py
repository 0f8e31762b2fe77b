"""Placement's errors: a class per meaning, each with its HTTP status and error code.

The REST layer turns them into Placement's error body
(``{"errors": [{"status", "title", "detail", "code", "request_id"}]}``); the storage
layer raises them so the same rule answers the same way over HTTP and in process.
Codes are Placement's (``placement/errors.py``); ``code`` appears in the body from
microversion 1.23.
"""
from __future__ import annotations

UNDEFINED = "placement.undefined_code"
INVENTORY_INUSE = "placement.inventory.inuse"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
ILLEGAL_DUPLICATE_QUERYPARAM = "placement.query.duplicate_key"
QUERYPARAM_BAD_VALUE = "placement.query.bad_value"
QUERYPARAM_MISSING_VALUE = "placement.query.missing_value"


class PlacementError(Exception):
    """An error the API answers with ``status`` and Placement's body."""

    status = 500
    code = UNDEFINED

    def __init__(self, detail: str = "", *, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = headers or {}


class BadRequest(PlacementError):
    status = 400


class Unauthorized(PlacementError):
    status = 401


class Forbidden(PlacementError):
    status = 403


class NotFound(PlacementError):
    status = 404


class MethodNotAllowed(PlacementError):
    status = 405


class NotAcceptable(PlacementError):
    status = 406


class Conflict(PlacementError):
    status = 409


class UnsupportedMediaType(PlacementError):
    status = 415


class ServiceUnavailable(PlacementError):
    status = 503


class ConcurrentUpdate(Conflict):
    """A generation (of a provider or a consumer) changed under us."""

    code = CONCURRENT_UPDATE


class ResourceProviderConcurrentUpdate(ConcurrentUpdate):
    """A provider's generation moved while allocations were written to it: the write is
    retried (the client gave no provider generation to conflict with)."""


class ConcurrentCreate(ConcurrentUpdate):
    """Another transaction created the same row first and this one cannot see it yet
    (MySQL's repeatable read): the transaction is retried."""


class ResourceProviderNotFound(NotFound):
    def __init__(self, uuid: str):
        super().__init__(f"No resource provider with uuid {uuid} found")
        self.uuid = uuid


class ResourceClassNotFound(NotFound):
    def __init__(self, name: str):
        super().__init__(f"No such resource class {name}.")
        self.name = name


class TraitNotFound(NotFound):
    def __init__(self, names):
        names = sorted(names) if not isinstance(names, str) else [names]
        super().__init__("No such trait(s): %s." % ", ".join(names))
        self.names = names


class InventoryInUse(Conflict):
    code = INVENTORY_INUSE


class InvalidInventory(Conflict):
    """An allocation that the provider's inventory cannot take."""

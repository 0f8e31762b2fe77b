"""The image port: what Nova's compute API and computes ask of the image service.

Images are plain dicts shaped as Glance v2 shapes them (``id``, ``name``, ``status``,
``disk_format``, ``container_format``, ``size``, ``checksum``, ``os_hash_algo``,
``os_hash_value``, ``min_disk``, ``min_ram``, ``visibility``, ``owner``, ``tags``, ...,
and every extra property at the top level), so code written against Nova's
``image.glance.API`` reads them unchanged. Each call takes the caller's
RequestContext: its token is passed to the service, whose isolation rules apply.

The one adapter is ``nova_tx.image.glance.GlanceImageAPI``: a Glance v2 client that
talks to a real Glance or to the embedded image store (``nova_tx.image.embedded``),
which serves the same API.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from zope.interface import Interface

from nova_tx import exception
from nova_tx.context import RequestContext


class ImageNotFound(exception.NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class ImageNotAuthorized(exception.NovaException):
    msg_fmt = "Not authorized for image %(image_id)s."
    code = 403


class ImageBadRequest(exception.Invalid):
    msg_fmt = "Request of image %(image_id)s got BadRequest response: %(response)s"


class ImageNotActive(exception.Invalid):
    msg_fmt = "Image %(image_id)s is not active."
    code = 409


class ImageUploadConflict(exception.Conflict):
    msg_fmt = "Image %(image_id)s cannot take data: %(reason)s"


class ImageServiceUnavailable(exception.NovaException):
    msg_fmt = "Connection to glance host %(server)s failed: %(reason)s"
    code = 503


class ImageChecksumMismatch(exception.NovaException):
    msg_fmt = "Downloaded data of image %(image_id)s does not match its checksum."
    code = 500


class IImageAPI(Interface):
    """Nova's ``image.glance.API``, asynchronous (every method returns a Deferred or is
    a coroutine) and with Glance v2 dicts."""

    async def get(context: RequestContext, image_id: str) -> dict[str, Any]:
        """One image; ImageNotFound when it does not exist or is not visible."""

    async def list(context: RequestContext, filters: dict[str, Any] | None = None, *,
                   limit: int | None = None, marker: str | None = None,
                   sort_key: str | None = None, sort_dir: str | None = None
                   ) -> list[dict[str, Any]]:
        """The images visible to the caller matching ``filters`` (Glance's query
        parameters: ``name``, ``status``, ``visibility``, properties ...). Without a
        limit every page is followed."""

    async def create(context: RequestContext, image_meta: dict[str, Any],
                     data: bytes | None = None) -> dict[str, Any]:
        """A new image from Glance v2 attributes (extra properties at the top level);
        ``data``, when given, is uploaded at once."""

    async def update(context: RequestContext, image_id: str, changes: dict[str, Any],
                     remove: list[str] | None = None) -> dict[str, Any]:
        """Set the attributes and properties of ``changes``, remove those named in
        ``remove``; return the image."""

    async def upload(context: RequestContext, image_id: str, data: Any) -> dict[str, Any]:
        """Store ``data`` (bytes, a file object or a path) as the image's data; the
        image becomes active. Return the image."""

    def download(context: RequestContext, image_id: str) -> AsyncIterator[bytes]:
        """The image's data, chunk by chunk (checksum verified at the end)."""

    async def download_to(context: RequestContext, image_id: str, path: str) -> int:
        """Write the image's data to ``path`` (never in the reactor thread); return its
        size."""

    async def delete(context: RequestContext, image_id: str) -> None:
        """Delete the image and its data."""


#: Nova's ``image.glance.IMAGE_ATTRIBUTES``: what its internal image dict keeps at the
#: top level; everything else of a v2 image goes to ``properties``.
IMAGE_ATTRIBUTES = ("size", "disk_format", "owner", "container_format", "status", "id",
                    "name", "created_at", "updated_at", "deleted", "deleted_at",
                    "checksum", "min_disk", "min_ram", "is_public", "direct_url",
                    "locations")
_OMITTED = ("self", "schema", "protected", "virtual_size", "file", "tags", "visibility",
            "os_hidden", "os_hash_algo", "os_hash_value", "stores")


def to_nova_image(image: dict[str, Any]) -> dict[str, Any]:
    """A Glance v2 image in the form Nova's ``image.glance`` hands to the rest of Nova
    (``_translate_from_glance``): ``is_public``, ``deleted``, timestamps as datetimes
    and the extra properties under ``properties``."""
    import datetime

    def when(value: Any) -> Any:
        if isinstance(value, str):
            return datetime.datetime.strptime(value.rstrip("Z").split(".")[0],
                                              "%Y-%m-%dT%H:%M:%S")
        return value

    nova = {name: image.get(name) for name in IMAGE_ATTRIBUTES}
    nova["is_public"] = image.get("visibility") == "public"
    nova["deleted"] = False
    nova["deleted_at"] = None
    for name in ("created_at", "updated_at"):
        nova[name] = when(nova[name])
    nova["locations"] = image.get("locations") or []
    nova["properties"] = {k: v for k, v in image.items()
                          if k not in IMAGE_ATTRIBUTES and k not in _OMITTED}
    return nova


def make_image_api(conf: Any, *, reactor: Any = None) -> Any:
    """The image port's adapter for ``conf`` ([glance] and ``[embedded]``)."""
    from nova_tx.image.glance import GlanceImageAPI

    return GlanceImageAPI(conf, reactor=reactor)

"""The Glance v2 subset the embedded image store serves, on Klein.

Routes: ``GET /`` and ``/versions``; ``/v2/images`` (list with Glance's filters, sorting
and paging; create); ``/v2/images/{id}`` (show, JSON-patch update, delete);
``/v2/images/{id}/file`` (upload, download); ``/v2/images/{id}/tags/{tag}``;
``/v2/images/{id}/members[/{member}]``; ``/v2/images/{id}/actions/(de|re)activate``;
``/v2/schemas/image(s)`` and ``/v2/info/import|stores``. Isolation as Glance's
defaults: a project sees public and community images, its own and those shared with
it; admins see and change everything; only admins publicize. The import workflow,
locations and multiple stores are not served.
"""
from __future__ import annotations

import datetime
import re
import urllib.parse
from typing import Any

from klein import Klein
from twisted.web.iweb import IRequest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from nova_tx import log
from nova_tx.context import RequestContext
from nova_tx.embedded_web import (
    FileSender,
    NotAuthenticated,
    args,
    authenticate,
    header,
    is_admin,
    json_body,
    read_json,
    wants_json,
)
from nova_tx.image.embedded import errors, schemas
from nova_tx.image.embedded.store import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    READ_ONLY,
    RESERVED,
    SETTABLE,
    SORT_KEYS,
    STATUSES,
    VISIBILITIES,
    Image,
    ImageStore,
)

LOG = log.getLogger(__name__)

#: Glance v2 minor versions this API answers as (Zed's Glance is at 2.16).
VERSIONS = ["2.16", "2.15", "2.14", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8", "2.7",
            "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"]
PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")
#: List filters on columns (``name=in:a,b`` accepted).
COLUMN_FILTERS = ("id", "name", "status", "owner", "disk_format", "container_format")
IGNORED_FILTERS = ("created_at", "updated_at")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                     r"[0-9a-fA-F]{12}$")


def isotime(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: Image) -> dict[str, Any]:
    """The image as Glance v2 shows it: extra properties at the top level."""
    view: dict[str, Any] = dict(image.properties)
    view.update({
        "id": image.id, "name": image.name, "status": image.status,
        "visibility": image.visibility, "protected": image.protected,
        "os_hidden": image.os_hidden, "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo, "os_hash_value": image.os_hash_value,
        "owner": image.owner, "size": image.size, "virtual_size": image.virtual_size,
        "min_ram": image.min_ram, "min_disk": image.min_disk,
        "disk_format": image.disk_format, "container_format": image.container_format,
        "created_at": isotime(image.created_at), "updated_at": isotime(image.updated_at),
        "tags": list(image.tags), "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file", "schema": "/v2/schemas/image",
    })
    return view


def check_value(name: str, value: Any) -> Any:
    """``value`` if it is valid for the attribute or property ``name``, else BadRequest
    (Glance's schema validation)."""
    def bad(reason: str):
        return errors.BadRequest(
            f"Provided object does not match schema 'image': {reason}\n\n"
            f"Failed validating in schema['properties'][{name!r}]")

    if name in ("name", "owner"):
        if value is not None and not isinstance(value, str):
            raise bad(f"{value!r} is not of type 'null', 'string'")
        if value is not None and len(value) > 255:
            raise bad(f"{value!r} is too long")
    elif name == "visibility":
        if value not in VISIBILITIES:
            raise bad(f"{value!r} is not one of {list(VISIBILITIES)}")
    elif name == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise bad(f"{value!r} is not one of {[None, *DISK_FORMATS]}")
    elif name == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise bad(f"{value!r} is not one of {[None, *CONTAINER_FORMATS]}")
    elif name in ("min_disk", "min_ram"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad(f"{value!r} is not of type 'integer'")
        if value < 0:
            raise bad(f"{value!r} is less than the minimum of 0")
    elif name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise bad(f"{value!r} is not of type 'boolean'")
    elif name == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise bad(f"{value!r} is not of type 'array' of strings")
        if any(len(t) > 255 for t in value):
            raise bad("a tag is too long")
    elif name == "id":
        if not isinstance(value, str) or not UUID_RE.match(value):
            raise bad(f"{value!r} does not match the id pattern")
    else:
        if len(name) > 255:
            raise bad(f"property name {name[:20]!r}... is too long")
        if not isinstance(value, str):
            raise bad(f"{value!r} is not of type 'string'")
        if len(value) > 65535:
            raise bad(f"{name!r} is too long")
    return value


def check_writable(name: str) -> None:
    if name in READ_ONLY:
        raise errors.Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED:
        raise errors.Forbidden(f"Attribute '{name}' is reserved.")


def check_publicize(context: RequestContext, visibility: str) -> None:
    if visibility == "public" and not is_admin(context):
        raise errors.Forbidden("You are not authorized to complete publicize_image action.")


class ImageStoreAPI:
    """``ImageStoreAPI(store, authenticator).app.resource()`` is what a Site serves."""

    app = Klein()

    def __init__(self, store: ImageStore, authenticator: Any, *,
                 size_cap: int = 1099511627776, limit_default: int = 25,
                 limit_max: int = 1000):
        self.store = store
        self.authenticator = authenticator
        self.size_cap = size_cap
        self.limit_default = limit_default
        self.limit_max = limit_max

    def resource(self):
        return self.app.resource()

    # -- errors ----------------------------------------------------------------------

    @app.handle_errors(errors.GlanceError)
    def _glance_error(self, request: IRequest, failure) -> bytes:
        return self._render_error(request, failure.value)

    @app.handle_errors(NotAuthenticated)
    def _unauthorized(self, request: IRequest, failure) -> bytes:
        for name, value in failure.value.headers.items():
            request.setHeader(name.encode(), value.encode())
        return self._render_error(request, errors.Unauthorized())

    @app.handle_errors(NotFound)
    def _not_found(self, request: IRequest, failure) -> bytes:
        return self._render_error(request, errors.NotFound())

    @app.handle_errors(MethodNotAllowed)
    def _not_allowed(self, request: IRequest, failure) -> bytes:
        allowed = failure.value.valid_methods or []
        request.setHeader(b"allow", ", ".join(allowed).encode())
        return self._render_error(request, errors.MethodNotAllowed())

    @app.handle_errors(Exception)
    def _internal(self, request: IRequest, failure) -> bytes:
        LOG.error("Image API error on %s %s: %s", request.method.decode(),
                  request.uri.decode(errors="replace"), failure.getTraceback())
        return self._render_error(request, errors.GlanceError("Internal error"))

    @staticmethod
    def _render_error(request: IRequest, error: errors.GlanceError) -> bytes:
        if wants_json(request):
            return json_body(request, error.code, error.json())
        request.setResponseCode(error.code)
        request.setHeader(b"content-type", b"text/plain; charset=UTF-8")
        return error.text().encode()

    # -- versions and schemas --------------------------------------------------------

    def _versions(self, request: IRequest) -> list[dict]:
        from nova_tx.embedded_web import base_url

        href = base_url(request) + "/v2/"
        return [{"id": "v" + v, "status": "CURRENT" if i == 0 else "SUPPORTED",
                 "links": [{"rel": "self", "href": href}]}
                for i, v in enumerate(VERSIONS)]

    @app.route("/", methods=["GET"])
    def root(self, request: IRequest) -> bytes:
        return json_body(request, 300, {"versions": self._versions(request)})

    @app.route("/versions", methods=["GET"])
    def versions(self, request: IRequest) -> bytes:
        return json_body(request, 200, {"versions": self._versions(request)})

    @app.route("/v2/schemas/image", methods=["GET"])
    async def image_schema(self, request: IRequest) -> bytes:
        await authenticate(self.authenticator, request)
        return json_body(request, 200, schemas.IMAGE_SCHEMA)

    @app.route("/v2/schemas/images", methods=["GET"])
    async def images_schema(self, request: IRequest) -> bytes:
        await authenticate(self.authenticator, request)
        return json_body(request, 200, schemas.IMAGES_SCHEMA)

    # -- images ----------------------------------------------------------------------

    @app.route("/v2/images", methods=["GET"])
    async def list_images(self, request: IRequest) -> bytes:
        context = await authenticate(self.authenticator, request)
        query = args(request)
        page = await self.store.list(context, **self._list_params(query))
        body: dict[str, Any] = {"images": [image_view(i) for i in page],
                                "first": "/v2/images", "schema": "/v2/schemas/images"}
        limit = self._limit(query)
        if page and len(page) == limit:
            following = [(k, v) for k, vs in query.items() if k != "marker" for v in vs]
            following.append(("marker", page[-1].id))
            body["next"] = "/v2/images?" + urllib.parse.urlencode(following)
        return json_body(request, 200, body)

    def _limit(self, query: dict[str, list[str]]) -> int:
        if "limit" not in query:
            return self.limit_default
        try:
            limit = int(query["limit"][-1])
        except ValueError:
            raise errors.BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise errors.BadRequest("limit param must be positive")
        return min(limit, self.limit_max)

    def _list_params(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "visibility": None, "columns": {}, "properties": {}, "tags": [],
            "size_min": None, "size_max": None, "os_hidden": False,
            "sort": self._sort(query), "marker": None, "limit": self._limit(query),
            "member_status": "accepted"}
        for name, values in query.items():
            value = values[-1]
            if name in ("limit", "sort", "sort_key", "sort_dir"):
                continue
            if name == "marker":
                params["marker"] = value
            elif name == "member_status":
                if value not in (*MEMBER_STATUSES, "all"):
                    raise errors.BadRequest(f"Invalid status value: {value}")
                params["member_status"] = value
            elif name == "visibility":
                if value not in (*VISIBILITIES, "all"):
                    raise errors.BadRequest(f"Invalid visibility value: {value}")
                params["visibility"] = value
            elif name in COLUMN_FILTERS:
                wanted = value[3:].split(",") if value.startswith("in:") else [value]
                if name == "status" and not set(wanted) <= set(STATUSES):
                    raise errors.BadRequest(f"Invalid status value: {value}")
                params["columns"][name] = [w.strip('"') for w in wanted]
            elif name == "tag":
                params["tags"] = values
            elif name in ("size_min", "size_max"):
                try:
                    params[name] = int(value)
                except ValueError:
                    raise errors.BadRequest(f"Invalid value for {name}: {value}") from None
            elif name in ("protected", "os_hidden"):
                if value.lower() not in ("true", "false"):
                    raise errors.BadRequest(f"Invalid value for {name}: {value}")
                if name == "os_hidden":
                    params["os_hidden"] = value.lower() == "true"
                else:
                    params["columns"]["protected"] = [value.lower() == "true"]
            elif name in IGNORED_FILTERS:
                continue
            else:
                params["properties"][name] = value
        return params

    @staticmethod
    def _sort(query: dict[str, list[str]]) -> list[tuple[str, str]]:
        if "sort" in query and ("sort_key" in query or "sort_dir" in query):
            raise errors.BadRequest("The parameters 'sort' and 'sort_key'/'sort_dir' are "
                                    "mutually exclusive")
        pairs: list[tuple[str, str]] = []
        if "sort" in query:
            for item in ",".join(query["sort"]).split(","):
                key, _, direction = item.strip().partition(":")
                pairs.append((key, direction or "desc"))
        else:
            keys = query.get("sort_key", ["created_at"])
            dirs = query.get("sort_dir", ["desc"])
            if len(dirs) not in (1, len(keys)):
                raise errors.BadRequest("Number of sort dirs does not match the number of "
                                        "sort keys")
            pairs = [(k, dirs[i] if len(dirs) > 1 else dirs[0]) for i, k in enumerate(keys)]
        for key, direction in pairs:
            if key not in SORT_KEYS:
                raise errors.BadRequest(f"Invalid sort key: {key}. It should be one of "
                                        f"the following: {', '.join(SORT_KEYS)}.")
            if direction not in ("asc", "desc"):
                raise errors.BadRequest(f"Invalid sort direction: {direction}")
        return pairs

    @app.route("/v2/images", methods=["POST"])
    async def create_image(self, request: IRequest) -> bytes:
        context = await authenticate(self.authenticator, request)
        try:
            body = read_json(request)
        except ValueError:
            raise errors.BadRequest("Malformed JSON in request body.") from None
        if not isinstance(body, dict):
            raise errors.BadRequest("Body expected in request.")
        values: dict[str, Any] = {"owner": context.project_id}
        properties: dict[str, str] = {}
        tags: list[str] = []
        for name, value in body.items():
            if name != "id":
                check_writable(name)
            check_value(name, value)
            if name == "tags":
                tags = value
            elif name in SETTABLE or name == "id":
                values[name] = value
            else:
                properties[name] = value
        check_publicize(context, values.get("visibility", "shared"))
        if values["owner"] != context.project_id and not is_admin(context):
            raise errors.Forbidden("You are not permitted to create images owned by "
                                   f"'{values['owner']}'.")
        image = await self.store.create(values, properties, tags)
        request.setHeader(b"location", f"/v2/images/{image.id}".encode())
        return json_body(request, 201, image_view(image))

    @app.route("/v2/images/<image_id>", methods=["GET"])
    async def show_image(self, request: IRequest, image_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        image = await self.store.get_visible(context, image_id)
        return json_body(request, 200, image_view(image))

    async def _owned(self, context: RequestContext, image_id: str, action: str) -> Image:
        image = await self.store.get_visible(context, image_id)
        if not image.owned_by(context):
            raise errors.Forbidden(f"You are not authorized to complete {action} action.")
        return image

    @app.route("/v2/images/<image_id>", methods=["PATCH"])
    async def update_image(self, request: IRequest, image_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        content_type = (header(request, "content-type") or "").split(";")[0].strip()
        if content_type not in PATCH_TYPES:
            raise errors.UnsupportedMediaType(
                f"Unsupported Content-Type; allowed: {', '.join(PATCH_TYPES)}")
        try:
            changes = read_json(request)
        except ValueError:
            raise errors.BadRequest("Malformed JSON in request body.") from None
        if not isinstance(changes, list):
            raise errors.BadRequest("Request body must be a JSON array of operation "
                                    "objects.")
        image = await self._owned(context, image_id, "modify_image")
        status = image.status
        for change in changes:
            apply_change(image, change, context)
        if image.status != status:
            raise errors.Forbidden("Attribute 'status' is read-only.")
        image = await self.store.save(image)
        return json_body(request, 200, image_view(image))

    @app.route("/v2/images/<image_id>", methods=["DELETE"])
    async def delete_image(self, request: IRequest, image_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        image = await self._owned(context, image_id, "delete_image")
        if image.protected:
            raise errors.Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        await self.store.delete_record(image_id)
        await self.store.remove_data(image_id)
        request.setResponseCode(204)
        return b""

    @app.route("/v2/images/<image_id>/tags/<tag>", methods=["PUT", "DELETE"])
    async def image_tag(self, request: IRequest, image_id: str, tag: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        image = await self._owned(context, image_id, "modify_image")
        if request.method == b"PUT":
            check_value("tags", [tag])
            if tag not in image.tags:
                image.tags.append(tag)
        elif tag in image.tags:
            image.tags.remove(tag)
        else:
            raise errors.NotFound(f"Tag {tag} not found")
        await self.store.save(image)
        request.setResponseCode(204)
        return b""

    # -- members ---------------------------------------------------------------------

    @app.route("/v2/images/<image_id>/members", methods=["GET"])
    async def list_members(self, request: IRequest, image_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        image = await self.store.get_visible(context, image_id)
        members = await self.store.list_members(image_id)
        if not image.owned_by(context):
            members = [m for m in members if m["member_id"] == context.project_id]
        return json_body(request, 200, {"members": members,
                                        "schema": "/v2/schemas/members"})

    @app.route("/v2/images/<image_id>/members", methods=["POST"])
    async def add_member(self, request: IRequest, image_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        image = await self._owned(context, image_id, "add_member")
        try:
            body = read_json(request)
        except ValueError:
            raise errors.BadRequest("Malformed JSON in request body.") from None
        if not isinstance(body, dict) or not isinstance(body.get("member"), str) \
                or not body["member"]:
            raise errors.BadRequest("Member to be added not specified")
        if image.visibility != "shared":
            raise errors.Forbidden(f"Only shared images have members. Image {image_id} "
                                   f"is {image.visibility}.")
        member = await self.store.add_member(image_id, body["member"])
        return json_body(request, 200, member)

    async def _membership(self, request: IRequest, image_id: str, member_id: str):
        context = await authenticate(self.authenticator, request)
        image = await self.store.get_visible(context, image_id)
        if not image.owned_by(context) and member_id != context.project_id:
            raise errors.NotFound(f"{member_id} is not a member of image {image_id}.")
        return context, image, await self.store.get_member(image_id, member_id)

    @app.route("/v2/images/<image_id>/members/<member_id>", methods=["GET"])
    async def show_member(self, request: IRequest, image_id: str, member_id: str) -> bytes:
        _, _, member = await self._membership(request, image_id, member_id)
        return json_body(request, 200, member)

    @app.route("/v2/images/<image_id>/members/<member_id>", methods=["PUT"])
    async def update_member(self, request: IRequest, image_id: str, member_id: str
                            ) -> bytes:
        context, _, _ = await self._membership(request, image_id, member_id)
        if member_id != context.project_id:
            raise errors.Forbidden("You are not permitted to modify 'status' on this "
                                   "image member.")
        try:
            body = read_json(request)
        except ValueError:
            raise errors.BadRequest("Malformed JSON in request body.") from None
        status = body.get("status") if isinstance(body, dict) else None
        if status not in MEMBER_STATUSES:
            raise errors.BadRequest(f"Invalid status: {status}")
        return json_body(request, 200,
                         await self.store.set_member_status(image_id, member_id, status))

    @app.route("/v2/images/<image_id>/members/<member_id>", methods=["DELETE"])
    async def remove_member(self, request: IRequest, image_id: str, member_id: str
                            ) -> bytes:
        context = await authenticate(self.authenticator, request)
        await self._owned(context, image_id, "delete_member")
        await self.store.get_member(image_id, member_id)
        await self.store.remove_member(image_id, member_id)
        request.setResponseCode(204)
        return b""

    @app.route("/v2/images/<image_id>/actions/<action>", methods=["POST"])
    async def image_action(self, request: IRequest, image_id: str, action: str) -> bytes:
        """``deactivate`` / ``reactivate`` (admins): a deactivated image's data cannot be
        downloaded by others."""
        context = await authenticate(self.authenticator, request)
        if action not in ("deactivate", "reactivate"):
            raise errors.NotFound(f"Action {action} not found")
        image = await self.store.get_visible(context, image_id)
        if not is_admin(context):
            raise errors.Forbidden(f"You are not authorized to complete {action} action.")
        source, target = (("active", "deactivated") if action == "deactivate"
                          else ("deactivated", "active"))
        if image.status not in (source, target):
            raise errors.Forbidden(f"Not allowed to {action} image in status "
                                   f"'{image.status}'")
        await self.store.set_status(image_id, target, expect=(source, target))
        request.setResponseCode(204)
        return b""

    @app.route("/v2/info/import", methods=["GET"])
    async def import_info(self, request: IRequest) -> bytes:
        """No interoperable import: clients upload with ``PUT .../file``."""
        await authenticate(self.authenticator, request)
        return json_body(request, 200, {"import-methods": {
            "description": "Import methods available.", "type": "array", "value": []}})

    @app.route("/v2/info/stores", methods=["GET"])
    async def stores_info(self, request: IRequest) -> bytes:
        await authenticate(self.authenticator, request)
        return json_body(request, 200, {"stores": [
            {"id": "file", "description": "Files of the embedded image store",
             "default": True}]})

    # -- data ------------------------------------------------------------------------

    @app.route("/v2/images/<image_id>/file", methods=["PUT"])
    async def upload(self, request: IRequest, image_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        content_type = (header(request, "content-type") or "").split(";")[0].strip()
        if content_type != "application/octet-stream":
            raise errors.UnsupportedMediaType(
                f"Content-Type {content_type!r} is not supported; use "
                "application/octet-stream")
        image = await self._owned(context, image_id, "upload_image")
        if image.status != "queued":
            raise errors.Conflict(f"Image status transition from {image.status} to saving "
                                  "is not allowed")
        if not image.disk_format or not image.container_format:
            raise errors.BadRequest("Properties disk_format, container_format must be set "
                                    "prior to saving data.")
        length = header(request, "content-length")
        if length is not None and length.isdigit() and int(length) > self.size_cap:
            raise errors.RequestEntityTooLarge(
                f"Image exceeds the storage quota: {self.size_cap} bytes at most")
        if not await self.store.set_status(image_id, "saving", expect=("queued",)):
            raise errors.Conflict(f"Image {image_id} is already being uploaded")
        try:
            ready = getattr(request.content, "ready", None)
            if ready is not None:
                await ready()  # a body spooled to disk by a thread (spool.py)
            else:
                request.content.seek(0)
            info = await self.store.write_data(image_id, request.content, self.size_cap)
        except BaseException:
            await self.store.set_status(image_id, "queued", expect=("saving",))
            raise
        if not await self.store.set_status(image_id, "active", expect=("saving",), data=info):
            await self.store.remove_data(image_id)
            raise errors.Conflict(f"Image {image_id} could not be found after upload. The "
                                  "image may have been deleted during the upload.")
        request.setResponseCode(204)
        return b""

    @app.route("/v2/images/<image_id>/file", methods=["GET"])
    async def download(self, request: IRequest, image_id: str) -> bytes | None:
        context = await authenticate(self.authenticator, request)
        image = await self.store.get_visible(context, image_id)
        if image.status == "deactivated" and not is_admin(context):
            raise errors.Forbidden("The requested image has been deactivated. Image data "
                                   "download is forbidden.")
        if image.status not in ("active", "deactivated") or image.size is None:
            request.setResponseCode(204)
            return b""
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"content-length", str(image.size).encode())
        if image.checksum:
            request.setHeader(b"content-md5", image.checksum.encode())
        if request.method == b"HEAD":
            return b""
        sender = FileSender(self.store.reactor, request, self.store.data_path(image_id))
        try:
            await sender.send()
        except FileNotFoundError:
            raise errors.NotFound(f"Image {image_id} has no data") from None
        return None


def _pointer(path: Any) -> str:
    """The attribute a JSON-patch path names (``/name``; one level, RFC 6901 escapes)."""
    if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1:
        raise errors.BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
    name = path[1:].replace("~1", "/").replace("~0", "~")
    if not name:
        raise errors.BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
    return name


def apply_change(image: Image, change: Any, context: RequestContext) -> None:
    """One JSON-patch operation of Glance's v2.1 (or v2.0) media type."""
    if not isinstance(change, dict):
        raise errors.BadRequest("Operation objects must be JSON objects.")
    if "op" in change:
        op, path = change["op"], change.get("path")
    else:  # v2.0: {"replace": "/name", "value": ...}
        found = [k for k in ("add", "replace", "remove") if k in change]
        if len(found) != 1:
            raise errors.BadRequest("Operation objects must contain exactly one of "
                                    "\"add\", \"remove\", or \"replace\".")
        op, path = found[0], change[found[0]]
    if op not in ("add", "replace", "remove"):
        raise errors.BadRequest(f"Invalid operation: `{op}`: Unable to find '{op}' in JSON "
                                "Schema change")
    name = _pointer(path)
    check_writable(name)
    core = name in SETTABLE or name == "tags"
    if op == "remove":
        if core:
            raise errors.Forbidden(f"Property {name} may not be removed.")
        if name not in image.properties:
            raise errors.Conflict(f"Property {name} does not exist.")
        del image.properties[name]
        return
    if "value" not in change:
        raise errors.BadRequest(f"Operation \"{op}\" requires a member named \"value\".")
    value = check_value(name, change["value"])
    if op == "replace" and not core and name not in image.properties:
        raise errors.Conflict(f"Property {name} does not exist.")
    if name in ("disk_format", "container_format") and image.status != "queued" \
            and getattr(image, name) != value:
        raise errors.Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    if name == "visibility":
        check_publicize(context, value)
    if name == "owner" and not is_admin(context) and value != image.owner:
        raise errors.Forbidden("You are not permitted to modify 'owner' on this image.")
    if name == "id":
        raise errors.Forbidden("Attribute 'id' is read-only.")
    if name == "tags":
        image.tags = list(dict.fromkeys(value))
    elif core:
        setattr(image, name, value)
    else:
        image.properties[name] = value

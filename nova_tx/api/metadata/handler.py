"""The metadata service's one resource: every path, both trees (Nova's
``MetadataRequestHandler``).

A request is identified (:mod:`.identify`), its instance's :class:`InstanceMetadata`
found in the cache or built from the databases, the path looked up and printed as
Nova prints it. ``GET /`` answers the EC2 version list without identifying anyone.
Errors are webob's plain-text pages with Nova's codes; a lookup failure is a 500 that
says nothing of the instance.
"""
from __future__ import annotations

import inspect
import json
import posixpath
import urllib.parse
from typing import Any

from klein import Klein
from twisted.internet import defer
from twisted.web import resource

from nova_tx import exception, log
from nova_tx.api.metadata import identify
from nova_tx.api.metadata.identify import HTTPError, Identity
from nova_tx.metadata import base, password, source
from nova_tx.metadata import versions as v
from nova_tx.metadata.cache import MetadataCache
from nova_tx.metadata.errors import (
    InvalidMetadataPath,
    PasswordAlreadySet,
    PasswordTooLarge,
    VendorDataFailed,
)

LOG = log.getLogger(__name__)

UNKNOWN_ERROR = "An unknown error has occurred. Please try your request again."


class MetadataApp:
    """What requests share: ``api_db`` (the API database's pool; None with ``[api]
    local_metadata_per_cell``, then ``cell_db`` is the local cell's pool), ``cells``
    (CellEngines), ``network`` (for the provider mode), the vendordata ``providers``
    by name and the cache (on ``clock``, the reactor unless a test passes one)."""

    app = Klein()

    def __init__(self, conf: Any, *, api_db: Any = None, cells: Any = None,
                 cell_db: Any = None, network: Any = None,
                 providers: dict | None = None, reactor: Any = None,
                 clock: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.conf = conf
        self.api_db = api_db
        self.cells = cells
        self.cell_db = cell_db
        self.network = network
        self.reactor = reactor
        if providers is None:
            from nova_tx.metadata.vendordata import load_providers

            providers = load_providers(conf)
        self.providers = providers
        self.cache = MetadataCache(conf.api.metadata_cache_expiration, clock or reactor)
        if conf.neutron.service_metadata_proxy and \
                not conf.neutron.metadata_proxy_shared_secret:
            LOG.warning("[neutron] service_metadata_proxy is on with an empty "
                        "metadata_proxy_shared_secret: anyone who can reach the metadata "
                        "service can sign requests")

    def resource(self):
        return _Guard(self.app.resource())

    # -- routing ---------------------------------------------------------------------

    @app.route("/", branch=True, methods=["GET", "HEAD", "POST", "PUT", "DELETE",
                                          "PATCH", "OPTIONS"])
    async def serve(self, request):
        try:
            body, content_type = await self._answer(request)
        except HTTPError as e:
            body, content_type = e.body(), "text/plain"
            request.setResponseCode(e.code)
        request.setHeader(b"Content-Type", content_type.encode() + b"; charset=UTF-8"
                          if content_type == "text/plain" else content_type.encode())
        return body

    @staticmethod
    def _path(request) -> str:
        path = urllib.parse.unquote(request.path.decode("utf-8"), errors="strict")
        if "\x00" in path:
            raise HTTPError(404, "The resource could not be found.")
        return path

    async def _answer(self, request) -> tuple[bytes, str]:
        try:
            path = self._path(request)
        except UnicodeDecodeError:
            raise HTTPError(404, "The resource could not be found.") from None
        if posixpath.normpath("/" + path.lstrip("/")) == "/":
            return base.md_print(list(v.EC2_VERSIONS) + [v.LATEST]), "text/plain"
        found, meta = await self._metadata(request)
        try:
            data, content_type = meta.lookup(path)
        except InvalidMetadataPath:
            raise HTTPError(404, "The resource could not be found.") from None
        if isinstance(data, base.Dynamic):
            return await self._dynamic(request, data, found, meta), content_type
        if request.method not in (b"GET", b"HEAD"):
            # Nova's handler is method-blind; only the password takes a body.
            raise HTTPError(405, "The method is not allowed for this resource.")
        return base.md_print(data), content_type

    # -- identifying -----------------------------------------------------------------

    async def _identity(self, request) -> Identity:
        conf = self.conf
        headers = request.requestHeaders
        if conf.neutron.service_metadata_proxy:
            if headers.hasHeader(b"X-Metadata-Provider"):
                return await identify.from_provider(conf, headers, self.network)
            return identify.from_proxy(conf, headers)
        peer = request.getClientAddress()
        return identify.from_source(conf, headers, getattr(peer, "host", None))

    async def _metadata(self, request) -> tuple[source.Found, base.InstanceMetadata]:
        who = await self._identity(request)
        if who.instance_uuid is not None:
            key: tuple = ("uuid", who.instance_uuid)
        else:
            key = ("address", who.address)
        cached = self.cache.get(key)
        if cached is None:
            try:
                found = await self._load(who)
            except exception.InstanceNotFound:
                LOG.error("Failed to get metadata for %s: no such instance",
                          who.instance_uuid or who.address)
                raise HTTPError(404, "The resource could not be found.") from None
            except Exception as e:
                LOG.error("Failed to get metadata for %s: %s",
                          who.instance_uuid or who.address, exception.one_line(e))
                raise HTTPError(500, UNKNOWN_ERROR) from None
            meta = base.InstanceMetadata(found.instance, self.conf, address=who.address,
                                         bdms=found.bdms, devices=found.devices)
            cached = (found, meta)
            self.cache.put(key, found.instance.uuid, cached)
        found, meta = cached
        if who.instance_uuid is not None and found.instance.project_id != who.project_id:
            LOG.warning("Tenant_id %s does not match tenant_id of instance %s.",
                        who.project_id, who.instance_uuid)
            raise HTTPError(404, "The resource could not be found.")
        return cached

    def _load(self, who: Identity) -> defer.Deferred:
        if self.conf.api.local_metadata_per_cell:
            if self.cell_db is None:
                raise exception.ConfigError(reason="no [database] connection")
            if who.instance_uuid is not None:
                return self.cell_db.do(source.local_by_uuid, who.instance_uuid)
            return self.cell_db.do(source.local_by_address, who.address)
        if self.api_db is None:
            raise exception.ConfigError(reason="no [api_database] connection")
        if who.instance_uuid is not None:
            return self.api_db.do(source.by_uuid, self.cells, self.conf,
                                  who.instance_uuid)
        if not who.address:
            raise exception.InstanceNotFound(instance_id="(no address)")
        return self.api_db.do(source.by_address, self.cells, self.conf, who.address)

    # -- what is computed per request ------------------------------------------------

    async def _dynamic(self, request, item: base.Dynamic, found: source.Found,
                       meta: base.InstanceMetadata) -> bytes:
        if item.kind == "password":
            return await self._password(request, found, meta)
        if request.method not in (b"GET", b"HEAD"):
            raise HTTPError(405, "The method is not allowed for this resource.")
        try:
            if item.kind == "vendor_data":
                data = await self._provider("StaticJSON", found.instance)
            else:
                data = await self._vendor_data2(found.instance)
        except VendorDataFailed as e:
            LOG.error("%s", e.format_message())
            raise HTTPError(500, UNKNOWN_ERROR) from None
        except exception.NovaException as e:
            LOG.error("Vendordata failed: %s", e.format_message())
            raise HTTPError(500, UNKNOWN_ERROR) from None
        return json.dumps(data).encode()

    async def _provider(self, name: str, instance: Any) -> dict:
        result = self.providers[name].get(self.conf, instance, reactor=self.reactor)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _vendor_data2(self, instance: Any) -> dict:
        document: dict = {}
        for name in self.conf.api.vendordata_providers:
            values = await self._provider(name, instance)
            if name == "StaticJSON":
                document["static"] = values
                continue
            for key in list(values):
                if key in document:
                    LOG.warning("Removing duplicate metadata key: %s", key)
                    del values[key]
            document.update(values)
        return document

    async def _password(self, request, found: source.Found,
                        meta: base.InstanceMetadata) -> bytes:
        if request.method in (b"GET", b"HEAD"):
            return (meta.password or "").encode()
        if request.method != b"POST":
            raise HTTPError(400, "GET and POST only are supported.")
        length = request.getHeader(b"Content-Length")
        body = request.content.read(password.MAX_SIZE + 1)
        if (length is not None and length.isdigit() and int(length) > password.MAX_SIZE) \
                or len(body) > password.MAX_SIZE:
            raise HTTPError(400, "Request is too large.")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(400, "The password must be UTF-8 text.") from None
        uuid = found.instance.uuid
        try:
            if self.conf.api.local_metadata_per_cell:
                await self.cell_db.do(password.set_once, uuid, text)
            else:
                await self.api_db.do(_in_cell, self.cells, found.cell_url,
                                     password.set_once, uuid, text)
        except PasswordAlreadySet:
            raise HTTPError(409, "The password is already set.") from None
        except PasswordTooLarge:
            raise HTTPError(400, "Request is too large.") from None
        except exception.InstanceNotFound as e:
            raise HTTPError(400, e.format_message()) from None
        self.cache.invalidate(uuid)
        return b""


def _in_cell(api_conn, cells, cell_url: str, fn, *args):
    """Run ``fn`` in one transaction of the instance's cell (from a pool thread)."""
    with cells.engine(cell_url).begin() as conn:
        return fn(conn, *args)


class _Guard(resource.Resource):
    """Answers a path that is not UTF-8 with a plain 404 before Klein, which would log
    the decoding failure as an error of its own."""

    isLeaf = True

    def __init__(self, wrapped):
        super().__init__()
        self.wrapped = wrapped

    def render(self, request):
        try:
            urllib.parse.unquote_to_bytes(request.path).decode("utf-8")
            request.path.decode("utf-8")
        except UnicodeDecodeError:
            error = HTTPError(404, "The resource could not be found.")
            request.setResponseCode(404)
            request.setHeader(b"Content-Type", b"text/plain; charset=UTF-8")
            return error.body()
        return self.wrapped.render(request)

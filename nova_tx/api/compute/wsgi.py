"""The compute API's request pipeline and how resources declare their handlers.

A resource module declares its routes on a :class:`Routes`; alternatives of one route
are told apart by microversion range, actions by the key of the body::

    routes = wsgi.Routes()

    @routes.route("GET", "/os-keypairs", max_version="2.34")
    @validation.query_schema(keypairs.index_query_schema_v210, "2.10", "2.34")
    async def index(req): ...

    @routes.route("GET", "/os-keypairs", min_version="2.35")
    @validation.query_schema(keypairs.index_query_schema_v235, "2.35")
    async def index_v235(req): ...

    @routes.action("/servers/{server_id}/action", "reboot")
    @validation.schema(reboot_schema)
    async def reboot(req, server_id): ...

A handler gets the :class:`APIRequest` and the path's arguments; it returns a JSON-able
body (answered with the route's ``status``), ``None`` (no body), or a
:class:`Response`. It raises ``nova_tx.exception`` classes for errors; they become
Nova's fault bodies in :mod:`faults`.

Every path is served under ``/v2.1`` and under ``/v2.1/{project_id}`` (2.18 made the
project optional; a project that is not the caller's is a 400), and under the legacy
``/v2`` likewise. The pipeline, in the order of Nova's paste pipeline and Resource:

    request id -> body size (413) -> authentication (401) -> routing (404, 405)
    -> microversion (400, 406) -> Content-Type (415) -> URL project (400)
    -> handler for the microversion (404) -> JSON body (400) -> schemas (400)
    -> handler -> response headers (request ids, microversion, Vary)
"""
from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from klein import Klein
from klein.resource import KleinResource
from oslo_serialization import jsonutils
from twisted.web import server
from twisted.web.iweb import IRequest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter

from nova_tx import exception, log
from nova_tx.api.compute import api_version, faults
from nova_tx.context import RequestContext, generate_request_id

LOG = log.getLogger(__name__)

Handler = Callable[..., Awaitable[Any] | Any]

#: The response headers of the request id (oslo.middleware's and Nova's compat one).
REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id")
#: An incoming ``X-OpenStack-Request-ID`` of this form becomes the global request id.
GLOBAL_REQUEST_ID = re.compile(
    r"^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
SUPPORTED_CONTENT_TYPES = ("application/json", "application/vnd.openstack.compute+json")
METHODS_WITH_BODY = ("POST", "PUT")
#: Where the API is mounted: (prefix, legacy v2.0 compatibility).
PREFIXES = (("/v2.1", False), ("/v2", True))
#: Nova's project id token in URLs: hex and dashes, so it never shadows a resource.
PROJECT_ID_REGEX = r"[0-9a-f\-]+"


class _ProjectIdConverter(BaseConverter):
    regex = PROJECT_ID_REGEX


@dataclasses.dataclass
class Response:
    """What a handler may return instead of a body: its own status and headers.

    ``status`` None means the route's declared status. ``body`` is JSON-able, or bytes
    sent as they are (then say the ``Content-Type`` in ``headers``).
    """

    body: Any = None
    status: int | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Version:
    """One handler of a route or action with the microversions it serves."""

    func: Handler
    min_version: api_version.APIVersionRequest
    max_version: api_version.APIVersionRequest
    status: int

    def serves(self, version: api_version.APIVersionRequest) -> bool:
        return version.matches(self.min_version, self.max_version)

    def overlaps(self, other: Version) -> bool:
        low = max(self.min_version, other.min_version)
        highs = [v for v in (self.max_version, other.max_version) if not v.is_null()]
        high = min(highs) if highs else None
        return high is None or low <= high


def _version(text: str | None) -> api_version.APIVersionRequest:
    return api_version.APIVersionRequest(text) if text else api_version.APIVersionRequest()


@dataclasses.dataclass
class Endpoint:
    """One method on one path: versioned handlers, or (``POST .../action``) actions."""

    method: str
    path: str
    versions: list[Version] = dataclasses.field(default_factory=list)
    actions: dict[str, list[Version]] = dataclasses.field(default_factory=dict)
    public: bool = False
    project_prefix: bool = True

    def add(self, version: Version, action: str | None = None) -> None:
        if action is None:
            if self.actions:
                raise ValueError(f"{self.method} {self.path} has actions already")
            existing = self.versions
        else:
            if self.versions:
                raise ValueError(f"{self.method} {self.path} has plain handlers already")
            existing = self.actions.setdefault(action, [])
        for other in existing:
            if other.overlaps(version):
                raise ValueError(
                    "%s %s%s: handlers %s and %s overlap in microversions"
                    % (self.method, self.path, f" ({action})" if action else "",
                       other.func.__qualname__, version.func.__qualname__))
        existing.append(version)
        existing.sort(key=lambda v: v.min_version)

    def merge(self, other: Endpoint) -> None:
        for version in other.versions:
            self.add(version)
        for action, versions in other.actions.items():
            for version in versions:
                self.add(version, action)

    def select(self, req: APIRequest) -> Version:
        """The handler for ``req``'s microversion (and body's action)."""
        if self.actions:
            name = _action_name(req)
            candidates = self.actions.get(name)
            if candidates is None:
                raise exception.InvalidInput(
                    message="There is no such action: %s" % name)
        else:
            candidates = self.versions
        for candidate in candidates:
            if candidate.serves(req.api_version):
                return candidate
        raise exception.VersionNotFoundForAPIMethod()


def _action_name(req: APIRequest) -> str:
    body = req.body
    if not isinstance(body, dict) or len(body) != 1:
        raise exception.MalformedRequestBody()
    return next(iter(body))


class Routes:
    """The routes one resource module declares; mounted by :class:`ComputeApp`.

    Paths are relative to the version prefix and use ``{name}`` for arguments, which
    the handler receives as keyword arguments (``project_id`` is reserved).
    """

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], Endpoint] = {}

    def _endpoint(self, method: str, path: str, public: bool, project_prefix: bool
                  ) -> Endpoint:
        key = (method.upper(), path)
        if key not in self.endpoints:
            self.endpoints[key] = Endpoint(method.upper(), path, public=public,
                                           project_prefix=project_prefix)
        return self.endpoints[key]

    def route(self, method: str, path: str, *, min_version: str | None = None,
              max_version: str | None = None, status: int = 200, public: bool = False,
              project_prefix: bool = True) -> Callable[[Handler], Handler]:
        """Declare ``handler(req, **path_args)`` for ``method path`` in a version range.

        ``public`` routes skip authentication (the version documents);
        ``project_prefix=False`` does not mount the ``/{project_id}`` variant.
        """
        version = (_version(min_version), _version(max_version))

        def register(func: Handler) -> Handler:
            self._endpoint(method, path, public, project_prefix).add(
                Version(func, version[0], version[1], status))
            return func

        return register

    def get(self, path: str, **kwargs) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kwargs)

    def action(self, path: str, name: str, *, min_version: str | None = None,
               max_version: str | None = None, status: int = 202
               ) -> Callable[[Handler], Handler]:
        """Declare ``handler(req, **path_args)`` for ``POST path`` with body
        ``{name: ...}`` (Nova's ``@wsgi.action``). Unknown actions are a 400."""

        def register(func: Handler) -> Handler:
            self._endpoint("POST", path, False, True).add(
                Version(func, _version(min_version), _version(max_version), status),
                action=name)
            return func

        return register


def _proxy_headers(conf) -> bool:
    try:
        return bool(conf.oslo_middleware.enable_proxy_headers_parsing)
    except Exception:  # no configuration, or the option not registered
        return False


class APIRequest:
    """One compute API request as handlers see it."""

    def __init__(self, app: ComputeApp, http: IRequest, *, request_id: str,
                 global_request_id: str | None, prefix: str, legacy_v2: bool):
        self.app = app
        self.http = http
        self.request_id = request_id
        self.global_request_id = global_request_id
        self.prefix = prefix
        self.is_legacy_v2 = legacy_v2
        self.method = http.method.decode("ascii", "replace")
        self.context: RequestContext | None = None
        self.api_version = api_version.APIVersionRequest()
        #: The project id the URL named (``/v2.1/{project_id}/...``), if any.
        self.project_id: str | None = None
        #: The parsed JSON body (POST and PUT; None when empty).
        self.body: Any = None
        self._query: dict[str, list[str]] | None = None
        self.raw_body = b""
        if http.content is not None:
            http.content.seek(0)
            self.raw_body = http.content.read()

    @property
    def conf(self):
        return self.app.conf

    def supports(self, min_version: str, max_version: str | None = None) -> bool:
        """Whether the request's microversion is in the range (Nova's
        ``api_version_request.is_supported``), for behaviour that changes inside one
        handler: ``if req.supports("2.47"): ...``."""
        return self.api_version.matches(min_version, max_version)

    @property
    def schema_version(self) -> api_version.APIVersionRequest:
        """The version request schemas are chosen by: "2.0" on the legacy endpoint."""
        if self.is_legacy_v2:
            return api_version.LEGACY_V2_VERSION
        return self.api_version

    def header(self, name: str) -> str | None:
        value = self.http.getHeader(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string as name -> values (a 400 if it is not UTF-8)."""
        if self._query is None:
            raw = urlsplit(self.http.uri).query
            query: dict[str, list[str]] = {}
            try:
                # latin-1 keeps the bytes as they came; then they must be UTF-8.
                for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True,
                                             encoding="latin-1"):
                    query.setdefault(_utf8(name), []).append(_utf8(value))
            except UnicodeDecodeError:
                raise exception.ValidationError(
                    detail="Query string is not UTF-8 encoded") from None
            self._query = query
        return self._query

    @property
    def host_url(self) -> str:
        """``scheme://host[:port]`` as the client reached us: the Host header, or
        with ``[oslo_middleware] enable_proxy_headers_parsing`` what the proxy in
        front says (``Forwarded``, ``X-Forwarded-Proto``, ``X-Forwarded-Host``)."""
        scheme = "https" if self.http.isSecure() else "http"
        host = self.header("host")
        if self.app.proxy_headers:
            forwarded = _forwarded(self.header("forwarded"))
            scheme = (forwarded.get("proto") or self.header("x-forwarded-proto")
                      or scheme).split(",")[0].strip()
            host = (forwarded.get("host") or self.header("x-forwarded-host")
                    or host)
            host = host.split(",")[0].strip() if host else host
        if host:
            return "%s://%s" % (scheme, host)
        address = self.http.getHost()
        return "%s://%s:%d" % (scheme, address.host, address.port)

    @property
    def root_url(self) -> str:
        """Where the API's URL tree starts: ``host_url`` plus the proxy's
        ``X-Forwarded-Prefix`` (with proxy headers parsing)."""
        prefix = ""
        if self.app.proxy_headers:
            prefix = (self.header("x-forwarded-prefix") or "").rstrip("/")
            if prefix and not prefix.startswith("/"):
                prefix = "/" + prefix
        return self.host_url + prefix

    @property
    def application_url(self) -> str:
        """The API's root as the client reached it: ``http://host:8774/v2.1``."""
        return self.root_url + self.prefix

    @property
    def url(self) -> str:
        return self.root_url + self.http.uri.decode("latin-1")


def _forwarded(value: str | None) -> dict[str, str]:
    """The first element of an RFC 7239 ``Forwarded`` header, lower-case keys."""
    result: dict[str, str] = {}
    if not value:
        return result
    for pair in value.split(",")[0].split(";"):
        name, _, item = pair.partition("=")
        if item:
            result[name.strip().lower()] = item.strip().strip('"')
    return result


def _utf8(text: str) -> str:
    return text.encode("latin-1").decode("utf-8")


@dataclasses.dataclass(frozen=True)
class Mount:
    endpoints: dict[str, Endpoint]
    prefix: str
    legacy_v2: bool
    public: bool


class ComputeApp:
    """The compute API over Klein: the resources' routes under every prefix.

    ``components`` is for the services handlers call (``req.app.components``).
    """

    def __init__(self, conf, resources: list[Routes], *, authenticator=None,
                 reactor=None, components: dict[str, Any] | None = None):
        if reactor is None:
            from twisted.internet import reactor
        self.conf = conf
        self.reactor = reactor
        self.authenticator = authenticator
        self.components = dict(components or {})
        self.proxy_headers = _proxy_headers(conf)
        self.klein = Klein()
        self.klein.url_map.converters["project_id"] = _ProjectIdConverter
        self.klein.url_map.strict_slashes = False
        self.klein.url_map.redirect_defaults = False
        self.klein.url_map.merge_slashes = False
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        for routes in resources:
            for key, endpoint in routes.endpoints.items():
                if key in self.endpoints:
                    self.endpoints[key].merge(endpoint)
                else:
                    self.endpoints[key] = dataclasses.replace(
                        endpoint, versions=list(endpoint.versions),
                        actions={k: list(v) for k, v in endpoint.actions.items()})
        self._mount()

    def resource(self):
        return _Front(self)

    def add_unversioned(self, path: str, handler: Handler) -> None:
        """Serve ``GET path`` outside the API prefixes (``GET /``): no
        authentication, no microversion, but request ids and faults."""
        endpoint = Endpoint("GET", path, public=True)
        endpoint.add(Version(handler, api_version.APIVersionRequest(),
                             api_version.APIVersionRequest(), 200))
        mount = Mount({"GET": endpoint}, "", False, True)
        self.klein.route(path, methods=["GET"], endpoint="unversioned " + path)(
            self._view(mount))

    def _mount(self) -> None:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for (method, path), endpoint in self.endpoints.items():
            by_path.setdefault(path, {})[method] = endpoint
        for path, endpoints in by_path.items():
            rule = re.sub(r"\{(\w+)\}", r"<\1>", path)
            public = any(e.public for e in endpoints.values())
            project = all(e.project_prefix for e in endpoints.values())
            for prefix, legacy in PREFIXES:
                variants = [prefix + rule]
                if project:
                    variants.append(prefix + "/<project_id:project_id>" + rule)
                for url in variants:
                    mount = Mount(endpoints, prefix, legacy, public)
                    self.klein.route(
                        url, methods=sorted(endpoints), endpoint=url,
                        strict_slashes=True)(self._view(mount))
        self.klein.handle_errors(NotFound, MethodNotAllowed)(self._routing_error)

    def _view(self, mount: Mount):
        def view(request: IRequest, **args):
            return self.serve(request, mount, args)

        return view

    def _routing_error(self, request: IRequest, failure) -> Any:
        error = failure.value
        if isinstance(error, MethodNotAllowed):
            allowed = sorted(m for m in (error.valid_methods or []) if m != "HEAD")
            raised: Exception = faults.HTTPError(405, headers={"Allow": ", ".join(allowed)})
        else:
            raised = faults.HTTPError(404)
        path = request.path.decode("latin-1", "replace")
        prefix, legacy = next(((p, lg) for p, lg in PREFIXES
                               if path == p or path.startswith(p + "/")), ("", False))
        mount = Mount({}, prefix, legacy, public=not prefix)
        return self.serve(request, mount, {}, routing_error=raised)

    # -- the pipeline -------------------------------------------------------------

    def serve(self, request: IRequest, mount: Mount, args: dict,
              routing_error: Exception | None = None):
        from twisted.internet import defer

        return defer.ensureDeferred(self._serve(request, mount, args, routing_error))

    async def _serve(self, request: IRequest, mount: Mount, args: dict,
                     routing_error: Exception | None) -> bytes:
        started = self.reactor.seconds()
        incoming = request.getHeader(b"x-openstack-request-id")
        incoming = incoming.decode("latin-1", "replace") if incoming else ""
        req = APIRequest(
            self, request, request_id=generate_request_id(),
            global_request_id=incoming if GLOBAL_REQUEST_ID.match(incoming) else None,
            prefix=mount.prefix, legacy_v2=mount.legacy_v2)
        try:
            result, status = await self._handle(req, mount, args, routing_error)
            response = result if isinstance(result, Response) else Response(result)
            if response.status is None:
                response.status = status
            data = self._render(response)
        except Exception as e:
            fault = faults.from_exception(e, where="%s %s" % (req.method, request.uri))
            response = Response(fault.body(), fault.code, {
                "Content-Type": faults.CONTENT_TYPE, **fault.headers})
            data = self._render(response)
        body = self._write_head(req, mount, response, data)
        LOG.info('%(addr)s "%(method)s %(uri)s" status: %(status)s len: %(len)s '
                 'microversion: %(version)s time: %(time).6f',
                 {"addr": getattr(request.getClientAddress(), "host", "-"),
                  "method": req.method, "uri": request.uri.decode("latin-1", "replace"),
                  "status": response.status, "len": len(body),
                  "version": "-" if req.api_version.is_null() else req.api_version,
                  "time": self.reactor.seconds() - started})
        return body

    async def _handle(self, req: APIRequest, mount: Mount, args: dict,
                      routing_error: Exception | None) -> tuple[Any, int]:
        if getattr(req.http, "body_too_large", False):
            raise exception.RequestBodyTooLarge()
        endpoint = mount.endpoints.get(req.method)
        if endpoint is None and req.method == "HEAD":
            endpoint = mount.endpoints.get("GET")
        if not (endpoint.public if endpoint is not None else mount.public):
            req.context = await self._authenticate(req)
        if routing_error is not None:
            raise routing_error
        if endpoint is None:
            raise faults.HTTPError(404)
        if not mount.prefix:
            # Outside /v2.1 and /v2 (the versions document): no microversion.
            return endpoint.versions[0].func(req, **args), endpoint.versions[0].status
        self._negotiate(req)
        self._check_content_type(req)
        req.project_id = args.pop("project_id", None)
        if (req.project_id and req.context is not None
                and req.project_id != req.context.project_id):
            raise exception.InvalidInput(
                message="Malformed request URL: URL's project_id '%s' doesn't match "
                "Context's project_id '%s'" % (req.project_id, req.context.project_id))
        if req.method in METHODS_WITH_BODY:
            req.body = self._parse_body(req)
        handler = endpoint.select(req)
        result = handler.func(req, **args)
        if inspect.isawaitable(result):
            result = await result
        return result, handler.status

    async def _authenticate(self, req: APIRequest) -> RequestContext:
        if self.authenticator is None:
            raise exception.Unauthorized()
        context = await self.authenticator.authenticate(req.http)
        context.request_id = req.request_id
        if req.global_request_id is not None:
            context.global_request_id = req.global_request_id
        return context

    @staticmethod
    def _negotiate(req: APIRequest) -> None:
        if req.is_legacy_v2:
            # v2.0 compatibility: the headers are ignored, the API is 2.1's.
            req.api_version = api_version.MIN_VERSION
            return
        headers = [(name.decode("latin-1"), value.decode("latin-1"))
                   for name, values in req.http.requestHeaders.getAllRawHeaders()
                   for value in values]
        negotiated = api_version.negotiate(headers)
        req.api_version = negotiated.version
        if negotiated.error is not None:
            raise negotiated.error

    @staticmethod
    def _check_content_type(req: APIRequest) -> None:
        value = req.header("content-type")
        if value is None:
            return
        content_type = value.split(";", 1)[0].strip().lower()
        if not content_type or content_type == "text/plain":
            return
        if content_type not in SUPPORTED_CONTENT_TYPES:
            raise exception.InvalidContentType()

    @staticmethod
    def _parse_body(req: APIRequest) -> Any:
        if not req.raw_body:
            return None
        try:
            return jsonutils.loads(req.raw_body)
        except (ValueError, TypeError, RecursionError):
            raise exception.MalformedRequestBody() from None

    @staticmethod
    def _render(response: Response) -> bytes:
        """The body's bytes (JSON unless bytes already); sets the JSON content type."""
        body = response.body
        if response.status == 204 or body is None:
            return b""
        if isinstance(body, bytes):
            return body
        data = jsonutils.dump_as_bytes(body)
        if not any(name.lower() == "content-type" for name in response.headers):
            response.headers["Content-Type"] = "application/json"
        return data

    def _write_head(self, req: APIRequest, mount: Mount, response: Response,
                    data: bytes) -> bytes:
        http = req.http
        http.defaultContentType = None
        http.setResponseCode(response.status)
        headers = http.responseHeaders
        for name in REQUEST_ID_HEADERS:
            headers.setRawHeaders(name.encode("latin-1"),
                                  [req.request_id.encode("latin-1")])
        if mount.prefix and not mount.legacy_v2 and not req.api_version.is_null():
            version = req.api_version.get_string()
            headers.setRawHeaders(api_version.HEADER.encode("latin-1"),
                                  [("compute " + version).encode("latin-1")])
            headers.setRawHeaders(api_version.LEGACY_HEADER.encode("latin-1"),
                                  [version.encode("latin-1")])
            headers.addRawHeader(b"Vary", api_version.HEADER.encode("latin-1"))
            headers.addRawHeader(b"Vary", api_version.LEGACY_HEADER.encode("latin-1"))
        for name, value in response.headers.items():
            headers.setRawHeaders(name.encode("latin-1", "replace"),
                                  [str(value).encode("latin-1", "replace")])
        if response.status != 204:
            # Known length rather than chunks, as Nova answers.
            headers.setRawHeaders(b"content-length", [b"%d" % len(data)])
        return data


class _Front(KleinResource):
    """Klein's resource, but a URL Klein cannot decode (not UTF-8) is answered by the
    pipeline too: 404 for the path, 400 for the Host header, in Nova's fault body."""

    def __init__(self, app: ComputeApp):
        super().__init__(app.klein)
        self.compute = app

    def render(self, request: IRequest):
        error = None
        try:
            request.getRequestHostname().decode("utf-8")
        except UnicodeDecodeError:
            error = faults.HTTPError(400)
        try:
            for segment in request.postpath:
                segment.decode("utf-8")
        except UnicodeDecodeError:
            error = error or faults.HTTPError(404)
        if error is None:
            return super().render(request)
        answer = self.compute.serve(request, Mount({}, "", False, True), {},
                                    routing_error=error)

        def finish(body: bytes) -> None:
            if not request.finished and not getattr(request, "_disconnected", False):
                request.write(body)
                request.finish()

        answer.addCallback(finish)
        return server.NOT_DONE_YET


class LimitedRequest(server.Request):
    """A twisted.web request that stops keeping a body beyond the site's limit.

    Nova's ``sizelimit`` filter answers 413 to such a request; the body is read
    (HTTP needs its end) but not stored, so a large upload costs no memory or disk.
    """

    body_too_large = False

    def gotLength(self, length):
        limit = getattr(self.channel.site, "max_request_body_size", None)
        self._body_limit = limit
        self._body_seen = 0
        if limit is not None and length is not None and length > limit:
            self.body_too_large = True
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.body_too_large:
            return
        self._body_seen += len(data)
        limit = self._body_limit
        if limit is not None and self._body_seen > limit:
            self.body_too_large = True
            self.content.seek(0)
            self.content.truncate()
            return
        super().handleContentChunk(data)


class ComputeSite(server.Site):
    """The Site of the compute API: bounded bodies, no tracebacks, and no access log
    of its own (the pipeline logs each request as Nova's request_log does)."""

    requestFactory = LimitedRequest
    displayTracebacks = False

    def __init__(self, resource, *, max_request_body_size: int | None = 114688, **kw):
        super().__init__(resource, **kw)
        self.max_request_body_size = max_request_body_size

    def log(self, request) -> None:
        pass

    def logPrefix(self) -> str:
        # "Site starting on 8774", the line operators (and tests) look for.
        return "Site"

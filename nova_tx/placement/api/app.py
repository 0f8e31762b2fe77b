"""The Placement API application: routes, the request pipeline, and the Klein front.

Every handler module declares its routes with :func:`route`; :class:`PlacementAPI`
mounts them on one Klein app (``PlacementAPI(pool).resource()`` is what a twisted.web
Site serves) and :meth:`PlacementAPI.handle` runs one request through the pipeline
that OpenStack Placement's WSGI middleware stack forms:

    request id -> auth (401) -> microversion (400/406) -> routing (404/405)
    -> handler (its policy, schemas and storage) -> error body and headers

The in-process client calls :meth:`PlacementAPI.handle` directly with a
PlacementRequest, so the all-in-one's services use exactly the code HTTP clients do.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from klein import Klein
from oslo_config import cfg
from twisted.internet import defer, task
from twisted.web.iweb import IRequest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from nova_tx.context import generate_request_id
from nova_tx.db.exception import is_deadlock
from nova_tx.db.types import utcnow
from nova_tx.placement import exception, policies
from nova_tx.placement.api import auth, errors, microversion
from nova_tx.placement.api.cors import CORS
from nova_tx.placement.api.wire import PlacementRequest, PlacementResponse, http_date, prefers_html

LOG = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[PlacementResponse]]


@dataclasses.dataclass(frozen=True)
class Route:
    path: str
    method: str
    handler: Handler
    #: The microversion that introduced this method on this path, and the status a
    #: request at an older one gets (404: the URL did not exist; 405: the method).
    min_version: tuple[int, int] = (1, 0)
    too_old_status: int = 404

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


ROUTES: dict[str, Route] = {}


def route(path: str, method: str, *, min_version: tuple[int, int] = (1, 0),
          too_old_status: int = 404) -> Callable[[Handler], Handler]:
    """Declare ``handler(api, req, **path_args)`` as the answer to ``method path``.

    ``path`` uses werkzeug's syntax (``/resource_providers/<uuid>``).
    """
    def register(handler: Handler) -> Handler:
        declared = Route(path, method, handler, min_version, too_old_status)
        ROUTES[declared.endpoint] = declared
        return handler

    return register


def _load_handlers() -> None:
    # Importing them declares their routes.
    from nova_tx.placement.api import (  # noqa: F401
        aggregates,
        allocation_candidates,
        allocations,
        inventories,
        reshaper,
        resource_classes,
        resource_providers,
        root,
        traits,
        usages,
    )


class PlacementAPI:
    """One Placement API over one database (a DBThreadPool on Placement's tables)."""

    app = Klein()
    _mounted = False

    def __init__(self, pool, conf=None, *, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.pool = pool
        self.conf = conf
        self.reactor = reactor
        self.enforcer = policies.make_enforcer(conf)
        self.authenticator = auth.make_authenticator(conf, reactor)
        self.cors = CORS.from_conf(conf)
        self.mount()

    @classmethod
    def mount(cls) -> None:
        if cls._mounted:
            return
        _load_handlers()
        by_path: dict[str, list[Route]] = {}
        for declared in ROUTES.values():
            by_path.setdefault(declared.path, []).append(declared)
        for path, routes in by_path.items():
            methods = [r.method for r in routes]
            cls.app.route(path, methods=methods, endpoint=path, strict_slashes=True)(
                _klein_view)
        cls.app.handle_errors(NotFound, MethodNotAllowed)(_klein_routing_error)
        cls._mounted = True

    def resource(self):
        return self.app.resource()

    def close(self):
        """Close what the API holds open (the Keystone authenticator's connections)."""
        close = getattr(self.authenticator, "close", None)
        return defer.maybeDeferred(close) if close is not None else defer.succeed(None)

    # -- the pipeline -------------------------------------------------------------

    def authorize(self, req: PlacementRequest, action: str, target: dict | None = None) -> None:
        """Allow ``action`` for ``req``'s caller or raise Forbidden (403)."""
        auth.authorize(self.enforcer, req.context, action, target)

    async def run(self, fn, *args, **kw):
        """Run storage function ``fn(conn, *args, **kw)`` in one transaction.

        As Placement's oslo.db retries do, a transaction that lost a deadlock, or an
        allocation write that met a provider generation moved by another writer, runs
        again (up to :data:`RETRIES` times, after a short random pause).
        """
        for attempt in range(RETRIES + 1):
            try:
                return await self.pool.do(fn, *args, **kw)
            except Exception as e:
                if attempt == RETRIES or not _retriable(e):
                    raise
                LOG.debug("Retrying %s after %s", getattr(fn, "__name__", fn), e)
                await task.deferLater(self.reactor, random.uniform(0.0, 0.05 * (attempt + 1)))

    def option(self, name: str, default: Any = None) -> Any:
        """An option of ``[placement]``, or ``default`` without a configuration."""
        if self.conf is None:
            return default
        try:
            return getattr(self.conf.placement, name)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
            return default

    def match(self, path: str, method: str) -> tuple[Route | None, dict, list[str]]:
        """(route, path arguments, allowed methods) for ``method path``."""
        adapter = self.app.url_map.bind("placement", "/")
        try:
            endpoint, args = adapter.match(path, method=method)
        except MethodNotAllowed as e:
            # werkzeug adds HEAD to GET routes; Placement does not answer it.
            allowed = [m for m in (e.valid_methods or []) if m != "HEAD"]
            return None, {}, allowed
        except NotFound:
            return None, {}, []
        except Exception:  # werkzeug's redirects for slashes
            return None, {}, []
        return ROUTES.get(f"{method} {endpoint}"), args, []

    async def handle(self, req: PlacementRequest) -> PlacementResponse:
        """Answer ``req`` as Placement would: never raises, errors become answers."""
        request_id = generate_request_id()
        if self.cors is not None:
            preflight = self.cors.preflight(req)
            if preflight is not None:
                return preflight
        response = await self._handle(req, request_id)
        if self.cors is not None:
            self.cors.decorate(req, response)
        return response

    async def _handle(self, req: PlacementRequest, request_id: str) -> PlacementResponse:
        version = None
        try:
            if req.trusted and req.context is not None:
                req.context.request_id = request_id
            # The root answers without a token (clients discover versions there).
            elif req.path != "/" or req.header("x-auth-token") is not None:
                if self.authenticator is not None:
                    req.context = await auth.authenticate_with(
                        self.authenticator, req, request_id)
                else:
                    req.context = auth.authenticate(req, request_id)
            version = microversion.from_headers(req.headers.get(microversion.HEADER, []))
            req.version = version
            self._check_content_length(req)
            declared, args, allowed = self.match(req.path, req.method)
            if declared is None:
                if allowed:
                    raise exception.MethodNotAllowed(
                        "The method specified is not allowed for this resource.",
                        headers={"Allow": ", ".join(allowed)})
                raise exception.NotFound("The resource could not be found.")
            if not version.matches(declared.min_version):
                if declared.too_old_status == 405:
                    raise exception.MethodNotAllowed(
                        "The method specified is not allowed for this resource.",
                        headers={"Allow": ", ".join(self._allowed_at(req.path, version))})
                raise exception.NotFound("The resource could not be found.")
            response = await declared.handler(self, req, **args)
        except exception.PlacementError as e:
            response = self._error(req, e, request_id, version)
        except Exception:
            LOG.exception("Placement request %s %s failed", req.method, req.path)
            response = self._error(req, exception.PlacementError(
                "An unexpected error occurred."), request_id, version)
        return self._finish(req, response, request_id, version)

    def _allowed_at(self, path: str, version) -> list[str]:
        """The methods of ``path`` that exist at ``version``."""
        adapter = self.app.url_map.bind("placement", "/")
        for declared in ROUTES.values():
            try:
                endpoint, _ = adapter.match(path, method=declared.method)
            except Exception:
                continue
            return [r.method for r in ROUTES.values()
                    if r.path == endpoint and version.matches(r.min_version)]
        return []

    @staticmethod
    def _check_content_length(req: PlacementRequest) -> None:
        length = req.header("content-length")
        if length is None:
            return
        try:
            size = int(length)
        except ValueError:
            raise exception.BadRequest("content-length header must be an integer") from None
        if size > 0 and not req.header("content-type"):
            raise exception.BadRequest("content-type header required when content-length > 0")

    def _error(self, req: PlacementRequest, error: exception.PlacementError,
               request_id: str, version) -> PlacementResponse:
        body, content_type = errors.render(
            error, request_id=request_id,
            with_code=bool(version and version.matches((1, 23))),
            as_html=prefers_html(req.header("accept")),
            method=req.method, content_type=req.content_type or "None")
        headers = {"Content-Type": content_type, **error.headers}
        if error.status == 401:
            headers.setdefault("WWW-Authenticate", "Keystone uri='http://localhost'")
        return PlacementResponse(status=error.status, body=body, headers=headers)

    def _finish(self, req: PlacementRequest, response: PlacementResponse, request_id: str,
                version) -> PlacementResponse:
        headers = dict(response.headers)
        if version is not None:
            headers[microversion.HEADER] = microversion.header_value(version)
            headers["vary"] = microversion.HEADER
        headers["x-openstack-request-id"] = request_id
        if (version is not None and version.matches((1, 15)) and response.status < 300
                and (response.status == 200 or response.last_modified is not None)):
            headers["cache-control"] = "no-cache"
            headers["last-modified"] = http_date(response.last_modified or utcnow())
        body = response.body
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if response.status == 204:
            body = None
            headers.pop("Content-Type", None)
        return PlacementResponse(status=response.status, body=body, headers=headers,
                                 last_modified=response.last_modified)


#: How many times a transaction is run again (see PlacementAPI.run).
RETRIES = 5


def _retriable(error: Exception) -> bool:
    if isinstance(error, exception.ResourceProviderConcurrentUpdate | exception.ConcurrentCreate):
        return True
    return is_deadlock(error)


# -- the Klein front ----------------------------------------------------------------

async def _klein_view(self: PlacementAPI, request: IRequest, **_args) -> bytes:
    return await _serve(self, request)


async def _klein_routing_error(self: PlacementAPI, request: IRequest, failure) -> bytes:
    # Unknown URLs and methods still go through the pipeline: auth comes first.
    return await _serve(self, request)


async def _serve(api: PlacementAPI, request: IRequest) -> bytes:
    req = from_twisted(request)
    response = await api.handle(req)
    request.defaultContentType = None  # an empty answer has no type
    request.setResponseCode(response.status)
    location = response.headers.get("Location")
    if location and location.startswith("/"):
        # Absolute, as webob makes it in Placement.
        response.headers["Location"] = _base_url(request) + location
    for name, value in response.headers.items():
        request.setHeader(name.encode("latin-1"), str(value).encode("latin-1"))
    if response.body is None:
        return b""
    return response.body


def _base_url(request: IRequest) -> str:
    scheme = "https" if request.isSecure() else "http"
    host = request.getHeader(b"host")
    if host:
        return f"{scheme}://{host.decode('latin-1')}"
    address = request.getHost()
    return f"{scheme}://{address.host}:{address.port}"


def from_twisted(request: IRequest) -> PlacementRequest:
    """A PlacementRequest from a twisted.web request (path and query decoded)."""
    from urllib.parse import unquote

    path = request.path.decode("latin-1")
    headers: dict[str, list[str]] = {}
    for name, values in request.requestHeaders.getAllRawHeaders():
        headers[name.decode("latin-1").lower()] = [v.decode("latin-1") for v in values]
    query: dict[str, list[str]] = {}
    for name, values in (request.args or {}).items():
        query[name.decode("utf-8", "replace")] = [v.decode("utf-8", "replace") for v in values]
    body = request.content.read() if request.content is not None else b""
    address = request.getClientAddress()
    return PlacementRequest(
        method=request.method.decode("ascii"), path=unquote(path), query=query,
        headers=headers, body=body, remote=getattr(address, "host", None))

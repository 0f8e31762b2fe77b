"""Clients of the Placement API: over HTTP (treq) or in process, one interface.

Services talk to Placement as Nova's report client does, with URLs, microversions
and JSON bodies::

    client = placement.client.make_client(conf)
    response = await client.get("/resource_providers?name=cn1", version="1.14")
    if response.status_code == 200:
        providers = response.json()["resource_providers"]

:class:`HTTPPlacementClient` reaches any Placement (ours or OpenStack's) with treq.
:class:`LocalPlacementClient` hands the same requests to the PlacementAPI of this
process (the all-in-one's), without sockets: the request goes through exactly the
pipeline an HTTP request does (auth, microversion, schemas, errors), so the two are
interchangeable. :func:`make_client` picks the local one when this process serves
Placement and ``[placement] endpoint_override`` names no other.

Credentials: with ``noauth2`` (the only strategy nova-tx has so far) the client sends
``X-Auth-Token: <[placement] username or nova>:<[placement] project_name or service>``
and ``X-Roles: admin,service``. Keystone tokens are not implemented yet.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer
from zope.interface import Interface, implementer

from nova_tx.placement.api.wire import PlacementRequest

#: Nova's report client asks for these when it says nothing else.
DEFAULT_VERSION = "1.0"


class PlacementClientResponse:
    """What a call answered: ``status_code``, ``headers`` (lower-case names), body."""

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None

    def __bool__(self) -> bool:
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        return f"<PlacementClientResponse {self.status_code}>"


class IPlacementClient(Interface):
    """A Placement API client; every method returns a Deferred of a response."""

    def get(url: str, *, version: str | None = None,  # noqa: N805
            global_request_id: str | None = None) -> defer.Deferred:
        """GET ``url`` (a path with its query, e.g. ``/traits?name=in:A``)."""

    def put(url: str, data: Any, *, version: str | None = None,  # noqa: N805
            global_request_id: str | None = None) -> defer.Deferred:
        """PUT ``data`` (JSON-serialisable, or None for no body) to ``url``."""

    def post(url: str, data: Any, *, version: str | None = None,  # noqa: N805
             global_request_id: str | None = None) -> defer.Deferred:
        """POST ``data`` to ``url``."""

    def delete(url: str, *, version: str | None = None,  # noqa: N805
               global_request_id: str | None = None) -> defer.Deferred:
        """DELETE ``url``."""


class _BaseClient:
    """The verbs, over a subclass's ``request(method, url, data, version, request_id)``."""

    def __init__(self, *, token: str = "nova:service", roles: str | None = "admin,service"):
        self.token = token
        self.roles = roles

    def _headers(self, version: str | None, global_request_id: str | None,
                 has_body: bool) -> dict[str, str]:
        headers = {"accept": "application/json", "x-auth-token": self.token,
                   "openstack-api-version": f"placement {version or DEFAULT_VERSION}"}
        if self.roles:
            headers["x-roles"] = self.roles
        if global_request_id:
            headers["x-openstack-request-id"] = global_request_id
        if has_body:
            headers["content-type"] = "application/json"
        return headers

    def get(self, url, *, version=None, global_request_id=None):
        return self.request("GET", url, None, version, global_request_id)

    def put(self, url, data, *, version=None, global_request_id=None):
        return self.request("PUT", url, data, version, global_request_id)

    def post(self, url, data, *, version=None, global_request_id=None):
        return self.request("POST", url, data, version, global_request_id)

    def delete(self, url, *, version=None, global_request_id=None):
        return self.request("DELETE", url, None, version, global_request_id)


@implementer(IPlacementClient)
class LocalPlacementClient(_BaseClient):
    """Calls the PlacementAPI of this process directly."""

    def __init__(self, api, **kwargs):
        super().__init__(**kwargs)
        self.api = api

    def request(self, method, url, data, version, global_request_id) -> defer.Deferred:
        parts = urlsplit(url)
        body = b"" if data is None else json.dumps(data).encode("utf-8")
        headers = self._headers(version, global_request_id, data is not None)
        if body:
            headers["content-length"] = str(len(body))
        req = PlacementRequest(
            method=method, path=parts.path or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: [v] for k, v in headers.items()}, body=body)
        d = defer.Deferred.fromCoroutine(self.api.handle(req))
        d.addCallback(_from_placement_response)
        return d


def _from_placement_response(response) -> PlacementClientResponse:
    content = response.body or b""
    if not isinstance(content, bytes):
        content = json.dumps(content).encode("utf-8")
    return PlacementClientResponse(
        response.status, {k.lower(): str(v) for k, v in response.headers.items()}, content)


@implementer(IPlacementClient)
class HTTPPlacementClient(_BaseClient):
    """Calls a Placement over HTTP with treq."""

    def __init__(self, endpoint: str, *, http=None, timeout: float | None = None,
                 reactor=None, **kwargs):
        super().__init__(**kwargs)
        self.endpoint = endpoint.rstrip("/")
        self._pool = None
        if http is None:
            if reactor is None:
                from twisted.internet import reactor
            from treq.client import HTTPClient
            from twisted.web.client import Agent, HTTPConnectionPool

            # A pool of its own, so that close() can end its keep-alive connections.
            self._pool = HTTPConnectionPool(reactor, persistent=True)
            http = HTTPClient(Agent(reactor, pool=self._pool))
        self.http = http
        self.timeout = timeout

    def close(self) -> defer.Deferred:
        """Close the kept-alive connections (call when done with the client)."""
        if self._pool is None:
            return defer.succeed(None)
        return self._pool.closeCachedConnections()

    def request(self, method, url, data, version, global_request_id) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(
            self._request(method, url, data, version, global_request_id))

    async def _request(self, method, url, data, version, global_request_id):
        headers = self._headers(version, global_request_id, data is not None)
        kwargs: dict = {"headers": {k: [v] for k, v in headers.items()}}
        if data is not None:
            kwargs["data"] = json.dumps(data).encode("utf-8")
        if self.timeout:
            kwargs["timeout"] = self.timeout
        response = await self.http.request(method, self.endpoint + url, **kwargs)
        content = await response.content()
        headers_out = {k.decode("latin-1").lower(): v[-1].decode("latin-1")
                       for k, v in response.headers.getAllRawHeaders()}
        return PlacementClientResponse(response.code, headers_out, content)


# -- which one ----------------------------------------------------------------------

_local_api = None


def register_local(api) -> None:
    """Make ``api`` the Placement of this process (the embedded service calls this)."""
    global _local_api
    _local_api = api


def unregister_local(api) -> None:
    global _local_api
    if _local_api is api:
        _local_api = None


def local_api():
    return _local_api


def make_client(conf) -> IPlacementClient:
    """The client services should use: in process when this process serves Placement
    and ``[placement] endpoint_override`` is unset, otherwise HTTP."""
    from nova_tx.conf import placement as placement_conf

    placement_conf.register_opts(conf)
    options = conf.placement
    credentials = {"token": "%s:%s" % (options.username or "nova",
                                       options.project_name or "service")}
    if options.endpoint_override is None and _local_api is not None:
        return LocalPlacementClient(_local_api, **credentials)
    endpoint = options.endpoint_override
    if endpoint is None:
        host = conf.embedded.placement_listen
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        endpoint = f"http://{host}:{conf.embedded.placement_port}"
    return HTTPPlacementClient(endpoint, timeout=options.timeout, **credentials)

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

Credentials: the in-process client calls as the service itself (a context with the
``admin`` and ``service`` roles, no token). Over HTTP, with ``[placement] auth_type =
password`` the client gets a Keystone token for ``[placement] username`` (and
``password``, ``project_name``, their domains) from ``[placement] auth_url``, renews
it before it expires and once more on a 401; otherwise (noauth2) it sends
``X-Auth-Token: <username or nova>:<project_name or service>`` and ``X-Roles:
admin,service``.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer
from zope.interface import Interface, implementer

from nova_tx.context import RequestContext
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

    def __init__(self, *, token: str | None = "nova:service",
                 roles: str | None = "admin,service"):
        self.token = token
        self.roles = roles

    def _headers(self, version: str | None, global_request_id: str | None,
                 has_body: bool) -> dict[str, str]:
        headers = {"accept": "application/json",
                   "openstack-api-version": f"placement {version or DEFAULT_VERSION}"}
        if self.token:
            headers["x-auth-token"] = self.token
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

    def __init__(self, api, *, user_id: str = "nova", project_id: str = "service"):
        super().__init__(token=None, roles=None)
        self.api = api
        self.user_id = user_id
        self.project_id = project_id

    def request(self, method, url, data, version, global_request_id) -> defer.Deferred:
        parts = urlsplit(url)
        body = b"" if data is None else json.dumps(data).encode("utf-8")
        headers = self._headers(version, global_request_id, data is not None)
        if body:
            headers["content-length"] = str(len(body))
        context = RequestContext(user_id=self.user_id, project_id=self.project_id,
                                 roles=["admin", "service"],
                                 global_request_id=global_request_id)
        req = PlacementRequest(
            method=method, path=parts.path or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: [v] for k, v in headers.items()}, body=body,
            context=context, trusted=True)
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
                 reactor=None, keystone: KeystonePassword | None = None, **kwargs):
        super().__init__(**kwargs)
        self.endpoint = endpoint.rstrip("/")
        #: Where tokens come from with ``[placement] auth_type = password``.
        self.keystone = keystone
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
        for attempt in (1, 2):
            headers = self._headers(version, global_request_id, data is not None)
            if self.keystone is not None:
                headers.pop("x-roles", None)
                headers["x-auth-token"] = await self.keystone.token(self.http,
                                                                    renew=attempt == 2)
            kwargs: dict = {"headers": {k: [v] for k, v in headers.items()}}
            if data is not None:
                kwargs["data"] = json.dumps(data).encode("utf-8")
            if self.timeout:
                kwargs["timeout"] = self.timeout
            response = await self.http.request(method, self.endpoint + url, **kwargs)
            content = await response.content()
            if response.code == 401 and self.keystone is not None and attempt == 1:
                continue  # the token was revoked or expired early: once more, anew
            headers_out = {k.decode("latin-1").lower(): v[-1].decode("latin-1")
                           for k, v in response.headers.getAllRawHeaders()}
            return PlacementClientResponse(response.code, headers_out, content)
        raise AssertionError("unreachable")


class KeystonePassword:
    """Keystone v3 password authentication with ``[placement]``'s credentials
    (keystoneauth's ``password`` plugin, the part Nova's report client uses)."""

    #: A token is renewed when it has less than this many seconds left.
    MARGIN = 120.0

    def __init__(self, options, *, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.options = options
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0

    @property
    def url(self) -> str:
        url = self.options.auth_url.rstrip("/")
        return url if url.endswith("/v3") else url + "/v3"

    def body(self) -> dict:
        o = self.options
        user = {"name": o.username, "password": o.password,
                "domain": {"name": o.user_domain_name or "Default"}}
        auth: dict = {"identity": {"methods": ["password"], "password": {"user": user}}}
        if o.project_name:
            auth["scope"] = {"project": {"name": o.project_name, "domain": {
                "name": o.project_domain_name or "Default"}}}
        return {"auth": auth}

    async def token(self, http, *, renew: bool = False) -> str:
        if (not renew and self._token is not None
                and self.clock.seconds() < self._expires - self.MARGIN):
            return self._token
        response = await http.request(
            "POST", self.url + "/auth/tokens?nocatalog",
            data=json.dumps(self.body()).encode("utf-8"),
            headers={"Content-Type": ["application/json"]})
        content = await response.content()
        token = (response.headers.getRawHeaders("X-Subject-Token") or [None])[0]
        if response.code != 201 or not token:
            raise PlacementAuthError(
                f"Keystone at {self.url} refused [placement] username "
                f"{self.options.username!r}: HTTP {response.code}")
        expires_at = json.loads(content)["token"]["expires_at"]
        self._token = token.decode("latin-1") if isinstance(token, bytes) else token
        self._expires = _epoch(expires_at)
        return self._token


class PlacementAuthError(Exception):
    """The Placement client could not get a Keystone token."""


def _epoch(text: str) -> float:
    import datetime

    when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


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
    if options.endpoint_override is None and _local_api is not None:
        return LocalPlacementClient(_local_api, user_id=options.username or "nova",
                                    project_id=options.project_name or "service")
    credentials: dict = {"token": "%s:%s" % (options.username or "nova",
                                             options.project_name or "service")}
    if options.auth_type == "password" and options.auth_url:
        credentials["keystone"] = KeystonePassword(options)
    endpoint = options.endpoint_override
    if endpoint is None:
        host = conf.embedded.placement_listen
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        endpoint = f"http://{host}:{conf.embedded.placement_port}"
    return HTTPPlacementClient(endpoint, timeout=options.timeout, **credentials)

"""What the Glance and Neutron clients share: endpoints, tokens, retries, bodies.

The endpoint of a service comes from a list the client prefers when it has one (Nova's
deprecated ``[glance] api_servers``), else, as with the keystoneauth Adapter options
that Nova reads, from the group's ``endpoint_override``, else from the caller's service
catalog (``service_type``, ``valid_interfaces``, ``region_name``), else from nova-tx's
embedded service. Requests carry the caller's token (``X-Auth-Token``) and global
request id, go through treq on a non-persistent pool, and are retried on connection
errors. HTTPS follows the group's ``cafile``, ``insecure``, ``certfile`` and ``keyfile``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import treq
from treq.client import HTTPClient
from twisted.internet import defer, error
from twisted.web.client import Agent, HTTPConnectionPool, ResponseFailed
from twisted.web.iweb import IResponse

from nova_tx import log
from nova_tx.context import RequestContext

LOG = log.getLogger(__name__)

CONNECTION_ERRORS = (error.ConnectError, error.ConnectionRefusedError, error.DNSLookupError,
                     error.TimeoutError, error.ConnectionLost, ResponseFailed,
                     defer.CancelledError)


class ServiceUnavailable(Exception):
    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def local_url(listen: str, port: int) -> str:
    """The URL of a service of this host listening on ``listen``:``port``."""
    host = "127.0.0.1" if listen in ("", "0.0.0.0") else "::1" if listen == "::" else listen
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def catalog_url(catalog: Sequence[dict], service_type: str, interfaces: Sequence[str],
                region: str | None) -> str | None:
    """The first endpoint of ``service_type`` in a Keystone v3 (or v2) catalog, by
    interface preference."""
    for interface in interfaces:
        for service in catalog or ():
            if service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints", ()):
                if region and endpoint.get("region", endpoint.get("region_id")) != region:
                    continue
                if endpoint.get("interface") == interface and endpoint.get("url"):
                    return endpoint["url"]
                legacy = endpoint.get(f"{interface}URL")
                if legacy:
                    return legacy
    return None


class ServiceClient:
    """A JSON client of one OpenStack service for one group of options."""

    def __init__(self, group: Any, fallback: Sequence[str], *, reactor: Any = None,
                 retries: int = 0, version_suffix: str = "",
                 preferred: Callable[[], Sequence[str]] | None = None):
        if reactor is None:
            from twisted.internet import reactor
        self.group = group
        self.fallback = list(fallback)
        #: Endpoints that come before everything else when there are any (Nova's
        #: ``[glance] api_servers``), read on every request.
        self.preferred = preferred or (lambda: ())
        self.reactor = reactor
        self.retries = retries
        #: Dropped from endpoints that end with it (catalogs list ``.../v2`` sometimes).
        self.version_suffix = version_suffix
        self._pool = HTTPConnectionPool(reactor, persistent=False)
        agent_args: dict[str, Any] = {"pool": self._pool}
        if hasattr(group, "cafile"):
            # HTTPS as keystoneauth's session options say: cafile, insecure, and a
            # client certificate from certfile/keyfile (read now: a bad file is a
            # configuration error at start).
            from nova_tx.api.keystone import tls_policy

            agent_args["contextFactory"] = tls_policy(group)
        self._http = HTTPClient(Agent(reactor, **agent_args))

    def endpoints(self, context: RequestContext | None) -> list[str]:
        """Where to send a request, in order of preference (without trailing ``/`` or
        version)."""
        return [self._strip(url) for url in self._endpoints(context)]

    def _strip(self, url: str) -> str:
        url = url.rstrip("/")
        if self.version_suffix and url.endswith(self.version_suffix):
            url = url[:-len(self.version_suffix)]
        return url

    def _endpoints(self, context: RequestContext | None) -> list[str]:
        preferred = list(self.preferred())
        if preferred:
            return preferred
        if self.group.endpoint_override:
            return [self.group.endpoint_override.rstrip("/")]
        found = catalog_url(context.service_catalog if context else (),
                            self.group.service_type, self.group.valid_interfaces,
                            self.group.region_name)
        if found:
            return [found.rstrip("/")]
        return [url.rstrip("/") for url in self.fallback]

    def headers(self, context: RequestContext | None, extra: dict | None = None) -> dict:
        headers = {"accept": "application/json", "user-agent": "nova-tx"}
        if context is not None:
            if context.auth_token:
                headers["x-auth-token"] = context.auth_token
            if context.global_request_id or context.request_id:
                headers["x-openstack-request-id"] = (context.global_request_id
                                                     or context.request_id)
        headers.update(extra or {})
        return headers

    async def request(self, context: RequestContext | None, method: str, path: str, *,
                      body: Any = None, data: Any = None, params: Any = None,
                      headers: dict | None = None, prefix: str = "") -> IResponse:
        """The response to ``method`` on ``endpoint + prefix + path``; connection errors
        are retried on the next endpoint, ``retries`` times in all."""
        extra = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            extra.setdefault("content-type", "application/json")
        all_headers = {k: [v] for k, v in self.headers(context, extra).items()}
        endpoints = self.endpoints(context)
        if not endpoints:
            raise ServiceUnavailable("(none)", "no endpoint configured")
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            url = endpoints[attempt % len(endpoints)] + prefix + path
            try:
                return await self._http.request(
                    method, url, data=data, params=params, headers=all_headers,
                    timeout=self.group.timeout or None)
            except CONNECTION_ERRORS as e:
                last = e
                LOG.warning("%s %s failed (attempt %d of %d): %s", method, url, attempt + 1,
                            self.retries + 1, e)
                if data is not None and not isinstance(data, bytes):
                    break  # a stream cannot be sent twice
        raise ServiceUnavailable(endpoints[0], str(last))

    @staticmethod
    async def json(response: IResponse) -> Any:
        content = await treq.content(response)
        if not content:
            return None
        try:
            return json.loads(content)
        except ValueError:
            return content.decode("utf-8", "replace")

    def close(self) -> defer.Deferred:
        return self._pool.closeCachedConnections()

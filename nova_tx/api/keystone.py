"""``[api] auth_strategy = keystone``: the caller's token, validated against Keystone v3.

What keystonemiddleware's ``auth_token`` and Nova's ``NovaKeystoneContext`` do together,
without WSGI: :class:`KeystoneAuthenticator` reads ``X-Auth-Token``, asks the Identity
API (``GET /v3/auth/tokens``, with a service token of its own in ``X-Auth-Token`` and the
caller's in ``X-Subject-Token``) and builds the RequestContext from the answer. It
talks to Keystone, real or embedded, with treq, under ``[keystone_authtoken]``:

- ``auth_url`` is the Identity API (``/v3`` appended unless it ends so; no version
  discovery); the service user (``username``/``user_id``, ``password``, its domain,
  and ``project_name``/``project_id`` with its domain, or ``system_scope``) gets a
  token, renewed before it expires and when Keystone refuses it.
- A validated token is remembered for ``token_cache_time`` seconds (never beyond its
  own expiry; -1 disables the cache), in memory, under a hash of the token.
- A missing, unknown, revoked or expired token fails with ``Unauthorized`` (401) whose
  ``headers`` carry ``WWW-Authenticate: Keystone uri="<www_authenticate_uri>"``.
  Keystone out of reach, or refusing the service user, fails with
  ``KeystoneUnavailable`` (503), as keystonemiddleware answers then.
- HTTPS: ``cafile`` (the system's authorities when unset), ``insecure``, and a client
  certificate from ``certfile`` and ``keyfile``.

The service catalog of the context is the token's, in the v2 form keystonemiddleware
passes on (``X-Service-Catalog``) and limited to the services Nova's context keeps.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
from typing import Any

import treq
from twisted.internet import defer, ssl
from twisted.python.failure import Failure
from twisted.web import client
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from nova_tx import exception
from nova_tx.api.auth import IAuthenticator, header, remote_address
from nova_tx.conf import keystone_authtoken as keystone_authtoken_conf
from nova_tx.context import RequestContext

LOG = logging.getLogger(__name__)

#: The services Nova's RequestContext keeps from the catalog (``nova/context.py``).
CATALOG_TYPES = ("image", "block-storage", "volumev3", "key-manager", "placement",
                 "network", "accelerator")

#: A service token is renewed when it has less than this many seconds left.
SERVICE_TOKEN_MARGIN = 120.0

#: Seconds between two sweeps of the validation cache.
CACHE_SWEEP_INTERVAL = 60.0


class KeystoneUnavailable(exception.NovaException):
    """Keystone could not be asked (keystonemiddleware's 503)."""

    msg_fmt = "The Keystone service is temporarily unavailable."
    code = 503


class _InvalidToken(Exception):
    pass


class _ServiceTokenRefused(Exception):
    pass


def identity_url(auth_url: str) -> str:
    """The v3 Identity API under ``auth_url`` (``/v3`` appended unless there)."""
    url = auth_url.rstrip("/")
    return url if re.search(r"/v3(\.\d+)?$", url) else url + "/v3"


def parse_time(text: str) -> float:
    """Seconds since the epoch of a Keystone time (``2015-11-05T22:00:11.000000Z``)."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def v2_catalog(catalog: list[dict]) -> list[dict]:
    """keystonemiddleware's ``_v3_to_v2_catalog``: one entry per region with its
    ``publicURL``, ``internalURL`` and ``adminURL``."""
    services = []
    for v3_service in catalog:
        service: dict[str, Any] = {"type": v3_service.get("type")}
        if "name" in v3_service:
            service["name"] = v3_service["name"]
        regions: dict[str | None, dict] = {}
        for endpoint in v3_service.get("endpoints", []):
            region_name = endpoint.get("region")
            region = regions.setdefault(region_name,
                                        {"region": region_name} if region_name else {})
            region[endpoint["interface"].lower() + "URL"] = endpoint["url"]
        service["endpoints"] = list(regions.values())
        services.append(service)
    return services


@implementer(IPolicyForHTTPS)
class TLSPolicy:
    """HTTPS to Keystone as keystonemiddleware does it: the server's certificate
    verified against ``cafile`` (the system's authorities when unset), or not at all
    with ``insecure``; ``certfile`` and ``keyfile`` are presented when set."""

    def __init__(self, trust_root=None, client_cert: ssl.PrivateCertificate | None = None,
                 insecure: bool = False):
        self.trust_root = trust_root
        self.client_cert = client_cert
        self.insecure = insecure

    def creatorForNetloc(self, hostname: bytes, port: int):
        if self.insecure:
            extra = {}
            if self.client_cert is not None:
                extra = {"privateKey": self.client_cert.privateKey.original,
                         "certificate": self.client_cert.original}
            return ssl.CertificateOptions(verify=False, **extra)
        return ssl.optionsForClientTLS(hostname.decode("idna"), trustRoot=self.trust_root,
                                       clientCertificate=self.client_cert)


def tls_policy(opts) -> TLSPolicy:
    """The TLSPolicy of ``[keystone_authtoken]``; its files are read now, so a bad one
    is a configuration error at start."""
    if bool(opts.certfile) != bool(opts.keyfile):
        raise exception.ConfigError(
            reason="[keystone_authtoken] certfile and keyfile go together")
    client_cert = None
    if opts.certfile:
        pem = _read(opts.certfile, "certfile") + b"\n" + _read(opts.keyfile, "keyfile")
        client_cert = _pem(ssl.PrivateCertificate.loadPEM, pem, "certfile/keyfile")
    trust_root = None
    if opts.cafile and not opts.insecure:
        data = _read(opts.cafile, "cafile")
        blocks = [b + b"-----END CERTIFICATE-----\n"
                  for b in data.split(b"-----END CERTIFICATE-----") if b"-----BEGIN" in b]
        if not blocks:
            raise exception.ConfigError(
                reason=f"[keystone_authtoken] cafile {opts.cafile!r} holds no certificate")
        trust_root = ssl.trustRootFromCertificates(
            [_pem(ssl.Certificate.loadPEM, b, "cafile") for b in blocks])
    return TLSPolicy(trust_root, client_cert, insecure=opts.insecure)


def _read(path: str, option: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise exception.ConfigError(
            reason=f"[keystone_authtoken] {option} {path!r} cannot be read: "
            f"{e.strerror or e}") from None


def _pem(loader, data: bytes, option: str):
    try:
        return loader(data)
    except Exception as e:  # OpenSSL's errors have no common class worth naming
        raise exception.ConfigError(
            reason=f"[keystone_authtoken] {option} is not a usable PEM file: {e}") from None


@implementer(IAuthenticator)
class KeystoneAuthenticator:
    """Validates ``X-Auth-Token`` against Keystone v3; see the module's description."""

    def __init__(self, conf, reactor=None, *, clock=None):
        if reactor is None:
            from twisted.internet import reactor
        keystone_authtoken_conf.register_opts(conf)
        self.conf = conf
        self.reactor = reactor
        #: Time for the caches (the reactor, or a Clock in tests).
        self.clock = clock if clock is not None else reactor
        opts = conf.keystone_authtoken
        if not opts.auth_url:
            raise exception.ConfigError(
                reason="[api] auth_strategy = keystone needs [keystone_authtoken] auth_url")
        if not (opts.username or opts.user_id) or opts.password is None:
            raise exception.ConfigError(
                reason="[api] auth_strategy = keystone needs the service user that "
                "validates tokens: [keystone_authtoken] username (or user_id) and password")
        self.identity_url = identity_url(opts.auth_url)
        self.www_authenticate_uri = opts.www_authenticate_uri or opts.auth_url
        self._pool = client.HTTPConnectionPool(reactor, persistent=True)
        self._http = treq.client.HTTPClient(client.Agent(
            reactor, contextFactory=tls_policy(opts), pool=self._pool,
            connectTimeout=opts.http_connect_timeout))
        #: sha256(token) -> (cache until, token expiry, token body)
        self._cache: dict[str, tuple[float, float, dict]] = {}
        self._last_sweep = self.clock.seconds()
        self._pending: dict[str, _Shared] = {}
        self._service_token: str | None = None
        self._service_expires = 0.0
        self._service_pending: _Shared | None = None
        #: How many times Keystone was asked, by kind (for operators and tests).
        self.requests = {"validate": 0, "service_token": 0}

    def close(self) -> defer.Deferred:
        """Close the connections to Keystone (a service's ``stopService``)."""
        return self._pool.closeCachedConnections()

    # -- IAuthenticator -------------------------------------------------------------

    def authenticate(self, request) -> defer.Deferred:
        """The caller's RequestContext; fails with Unauthorized (401) or
        KeystoneUnavailable (503)."""
        return defer.Deferred.fromCoroutine(self._authenticate(request))

    async def _authenticate(self, request) -> RequestContext:
        token_id = header(request, "X-Auth-Token") or header(request, "X-Storage-Token")
        if not token_id:
            raise self.unauthorized()
        token = await self.validate(token_id)
        return self.context_from(token, token_id, request)

    def unauthorized(self) -> exception.NovaException:
        error = exception.Unauthorized()
        error.headers = {"WWW-Authenticate": f'Keystone uri="{self.www_authenticate_uri}"'}
        return error

    # -- validation -----------------------------------------------------------------

    async def validate(self, token_id: str) -> dict:
        """The token body Keystone answers for ``token_id`` (cached); Unauthorized
        when it is not a valid token."""
        key = hashlib.sha256(token_id.encode("utf-8")).hexdigest()
        now = self.clock.seconds()
        cached = self._cache.get(key)
        if cached is not None:
            cache_until, expires, body = cached
            if now < cache_until and now < expires:
                return body
            del self._cache[key]
            if now >= expires:
                raise self.unauthorized()
        pending = self._pending.get(key)
        if pending is None:
            pending = _Shared(self._fetch_and_cache(token_id, key))
            if not pending.done:
                self._pending[key] = pending
        body = await pending.wait()
        if body is None:
            raise self.unauthorized()
        return body

    async def _fetch_and_cache(self, token_id: str, key: str) -> dict | None:
        try:
            body = await self._fetch(token_id)
        finally:
            self._pending.pop(key, None)
        if body is None:
            return None
        now = self.clock.seconds()
        expires = parse_time(body["expires_at"])
        lifetime = self.conf.keystone_authtoken.token_cache_time
        if lifetime > 0:
            self._sweep(now)
            self._cache[key] = (now + lifetime, expires, body)
        return body if now < expires else None

    def _sweep(self, now: float) -> None:
        """Forget the cache entries that ended (at most once a minute)."""
        if now - self._last_sweep < CACHE_SWEEP_INTERVAL:
            return
        self._last_sweep = now
        for key in [k for k, (until, expires, _) in self._cache.items()
                    if now >= until or now >= expires]:
            del self._cache[key]

    async def _fetch(self, token_id: str) -> dict | None:
        """The token body, or None for a token Keystone does not know (404)."""
        for attempt in range(2):
            service_token = await self.service_token()
            try:
                return await self._ask(service_token, token_id)
            except _InvalidToken:
                return None
            except _ServiceTokenRefused:
                # Expired or revoked under us: get another one, once.
                self._service_token = None
                if attempt:
                    LOG.error("Keystone refuses the service token of [keystone_authtoken]"
                              " %s", self._service_user_text())
                    raise KeystoneUnavailable() from None
        raise AssertionError("unreachable")

    async def _ask(self, service_token: str, token_id: str) -> dict:
        url = self.identity_url + "/auth/tokens"
        if not self.conf.keystone_authtoken.include_service_catalog:
            url += "?nocatalog"
        self.requests["validate"] += 1
        response = await self._request("GET", url, headers={
            "X-Auth-Token": service_token, "X-Subject-Token": token_id})
        if response.code == 200:
            return (await _json(response))["token"]
        await response.content()  # the connection goes back to the pool
        if response.code == 404:
            raise _InvalidToken()
        if response.code == 401:
            raise _ServiceTokenRefused()
        LOG.error("Keystone answered %s to a token validation (the service user %s "
                  "may lack the admin or service role)", response.code,
                  self._service_user_text())
        raise KeystoneUnavailable()

    # -- the service token ----------------------------------------------------------

    async def service_token(self) -> str:
        """A valid token of the service user, obtained or renewed as needed."""
        if (self._service_token is not None
                and self.clock.seconds() < self._service_expires - SERVICE_TOKEN_MARGIN):
            return self._service_token
        if self._service_pending is None or self._service_pending.done:
            self._service_pending = _Shared(self._new_service_token())
        return await self._service_pending.wait()

    async def _new_service_token(self) -> str:
        self.requests["service_token"] += 1
        response = await self._request(
            "POST", self.identity_url + "/auth/tokens?nocatalog",
            body=self._service_auth(), headers={"Content-Type": "application/json"})
        if response.code != 201:
            await response.content()
            LOG.error("Keystone answered %s to the service user %s of "
                      "[keystone_authtoken]", response.code, self._service_user_text())
            raise KeystoneUnavailable()
        token_id = response.headers.getRawHeaders("X-Subject-Token", [None])[0]
        body = await _json(response)
        if not token_id:
            raise KeystoneUnavailable()
        self._service_token = token_id
        self._service_expires = parse_time(body["token"]["expires_at"])
        return token_id

    def _service_auth(self) -> dict:
        opts = self.conf.keystone_authtoken
        auth: dict[str, Any] = {"identity": {"methods": ["password"],
                                             "password": {"user": password_user(opts)}}}
        if opts.project_id:
            auth["scope"] = {"project": {"id": opts.project_id}}
        elif opts.project_name:
            auth["scope"] = {"project": {
                "name": opts.project_name,
                "domain": _domain(opts.project_domain_id, opts.project_domain_name)}}
        elif opts.system_scope:
            auth["scope"] = {"system": {opts.system_scope: True}}
        elif opts.domain_id or opts.domain_name:
            auth["scope"] = {"domain": _domain(opts.domain_id, opts.domain_name)}
        return {"auth": auth}

    def _service_user_text(self) -> str:
        opts = self.conf.keystone_authtoken
        return repr(opts.username or opts.user_id)

    # -- HTTP -----------------------------------------------------------------------

    async def _request(self, method: str, url: str, *, body: dict | None = None,
                       headers: dict | None = None):
        """One request; connection failures are retried ``http_request_max_retries``
        times, then KeystoneUnavailable."""
        opts = self.conf.keystone_authtoken
        data = json.dumps(body).encode("utf-8") if body is not None else None
        attempts = max(0, opts.http_request_max_retries) + 1
        for attempt in range(attempts):
            try:
                return await self._http.request(
                    method, url, data=data, headers=headers,
                    timeout=opts.http_connect_timeout)
            except Exception as e:  # refused, reset, timed out, DNS ...
                if attempt + 1 == attempts:
                    LOG.error("Keystone at %s is unreachable: %s", self.identity_url,
                              exception.one_line(e))
                    raise KeystoneUnavailable() from None
                LOG.warning("Retrying a request to Keystone at %s: %s", self.identity_url,
                            exception.one_line(e))
        raise AssertionError("unreachable")

    # -- the context ----------------------------------------------------------------

    def context_from(self, token: dict, token_id: str, request=None) -> RequestContext:
        """Nova's RequestContext for the validated ``token`` (its Keystone body)."""
        user = token.get("user") or {}
        project = token.get("project") or {}
        domain = token.get("domain") or {}
        system = token.get("system") or {}
        catalog = v2_catalog(token.get("catalog") or [])
        values: dict[str, Any] = {
            "user_id": user.get("id"),
            "user_name": user.get("name"),
            "user_domain_id": (user.get("domain") or {}).get("id"),
            "project_id": project.get("id"),
            "project_name": project.get("name"),
            "project_domain_id": (project.get("domain") or {}).get("id"),
            "domain_id": domain.get("id"),
            "system_scope": "all" if system.get("all") else None,
            "roles": [r["name"] for r in token.get("roles") or []],
            "service_catalog": [s for s in catalog if s.get("type") in CATALOG_TYPES],
            "auth_token": token_id,
        }
        if request is not None:
            # The pipeline sets request_id and global_request_id itself.
            values["remote_address"] = remote_address(request, self.conf)
        return RequestContext(**values)


def password_user(opts: Any) -> dict[str, Any]:
    """The ``user`` of a Keystone v3 password authentication from a service user's
    options (``password``, ``user_id`` or ``username`` with ``user_domain_id`` or
    ``user_domain_name``): ``[keystone_authtoken]``, ``[neutron]``."""
    user: dict[str, Any] = {"password": opts.password}
    if opts.user_id:
        user["id"] = opts.user_id
    else:
        user["name"] = opts.username
        user["domain"] = _domain(opts.user_domain_id, opts.user_domain_name)
    return user


def _domain(domain_id: str | None, domain_name: str | None) -> dict:
    if domain_id:
        return {"id": domain_id}
    return {"name": domain_name or "Default"}


class _Shared:
    """One coroutine's outcome for any number of waiters (concurrent requests with
    the same token make one request to Keystone)."""

    def __init__(self, coroutine):
        self.done = False
        self._result = None
        self._waiters: list[defer.Deferred] = []
        defer.Deferred.fromCoroutine(coroutine).addBoth(self._finish)

    def _finish(self, result) -> None:
        self.done, self._result = True, result
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            self._fire(waiter)

    def _fire(self, waiter: defer.Deferred) -> None:
        if isinstance(self._result, Failure):
            waiter.errback(self._result)
        else:
            waiter.callback(self._result)

    def wait(self) -> defer.Deferred:
        waiter: defer.Deferred = defer.Deferred()
        if self.done:
            self._fire(waiter)
        else:
            self._waiters.append(waiter)
        return waiter


async def _json(response) -> dict:
    try:
        return json.loads(await response.content())
    except ValueError:
        raise KeystoneUnavailable() from None

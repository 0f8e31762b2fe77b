"""What the embedded image store and network service share on the HTTP side.

Authentication goes through ``nova_tx.api.auth`` (``IAuthenticator.authenticate(request)
-> Deferred[RequestContext]``, chosen by ``make_authenticator(conf)``) when nova-tx has
it; until then, and for tests that build the apps without a configuration, the
noauth2 reading of ``X-Auth-Token`` below: ``user[:project]``, roles from ``X-Roles``
when given, otherwise ``admin`` for the user ``admin``.

File data is never read or written in the reactor thread: :class:`FileSender` reads a
file in a thread pool chunk by chunk and writes it to the request, honouring the
transport's back-pressure.
"""
from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer, threads
from twisted.internet.interfaces import IPushProducer
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest
from zope.interface import implementer

from nova_tx import log
from nova_tx.context import RequestContext, generate_request_id

LOG = log.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class NotAuthenticated(Exception):
    """The request carries no usable credentials (401)."""


class NoAuth2Authenticator:
    """noauth2: ``X-Auth-Token: user[:project]``; the user ``admin`` is an admin."""

    def authenticate(self, request: IRequest) -> defer.Deferred[RequestContext]:
        try:
            return defer.succeed(self.context_of(request))
        except NotAuthenticated as e:
            return defer.fail(e)

    @staticmethod
    def context_of(request: IRequest) -> RequestContext:
        token = header(request, "x-auth-token")
        if not token:
            raise NotAuthenticated()
        user_id, _, project_id = token.partition(":")
        project_id = project_id or user_id
        roles_header = header(request, "x-roles")
        if roles_header is not None:
            roles = [r.strip() for r in roles_header.split(",") if r.strip()]
        elif user_id == "admin":
            roles = ["admin"]
        else:
            roles = ["member", "reader"]
        return RequestContext(
            user_id=user_id, project_id=project_id, roles=roles, auth_token=token,
            request_id=generate_request_id(),
            global_request_id=header(request, "x-openstack-request-id"))


def make_authenticator(conf: Any = None) -> Any:
    """nova-tx's authenticator for ``conf`` when there is one, else noauth2."""
    if conf is not None:
        try:
            from nova_tx.api import auth
        except ImportError:
            auth = None
        if auth is not None and hasattr(auth, "make_authenticator"):
            return auth.make_authenticator(conf)
    return NoAuth2Authenticator()


async def authenticate(authenticator: Any, request: IRequest) -> RequestContext:
    """The caller's context, or NotAuthenticated whatever the authenticator raised."""
    try:
        return await defer.maybeDeferred(authenticator.authenticate, request)
    except NotAuthenticated:
        raise
    except Exception as e:
        LOG.debug("Authentication refused: %s", e)
        raise NotAuthenticated() from e


def is_admin(context: RequestContext) -> bool:
    return bool(context.is_admin) or context.user_id == "admin"


def header(request: IRequest, name: str) -> str | None:
    value = request.getHeader(name)
    return value.decode("latin-1") if isinstance(value, bytes) else value


def args(request: IRequest) -> dict[str, list[str]]:
    """The query string as text: name -> values in order."""
    return {k.decode(): [v.decode() for v in vs] for k, vs in request.args.items()}


def base_url(request: IRequest) -> str:
    """``scheme://host:port`` as the client addressed us (the Host header)."""
    scheme = "https" if request.isSecure() else "http"
    host = header(request, "host")
    if not host:
        address = request.getHost()
        host = f"{address.host}:{address.port}"
    return f"{scheme}://{host}"


def json_body(request: IRequest, status: int, body: Any) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json; charset=UTF-8")
    return json.dumps(body).encode()


def read_json(request: IRequest) -> Any:
    """The request body parsed as JSON; ValueError when it is not JSON."""
    request.content.seek(0)
    raw = request.content.read()
    if not raw:
        raise ValueError("empty body")
    return json.loads(raw)


def wants_json(request: IRequest) -> bool:
    accept = header(request, "accept") or ""
    return not accept or "json" in accept or "*/*" in accept


def in_thread(reactor: Any, pool: ThreadPool | None, fn, *a, **kw) -> defer.Deferred:
    """``fn(*a, **kw)`` in ``pool`` (the reactor's own pool when None)."""
    return threads.deferToThreadPool(reactor, pool or reactor.getThreadPool(), fn, *a, **kw)


@implementer(IPushProducer)
class FileSender:
    """Writes a file to a request from a thread pool, pausing when the client lags."""

    def __init__(self, reactor: Any, request: IRequest, path: str, *,
                 pool: ThreadPool | None = None, chunk_size: int = CHUNK_SIZE):
        self._reactor = reactor
        self._request = request
        self._path = path
        self._pool = pool
        self._chunk_size = chunk_size
        self._resumed: defer.Deferred | None = None
        self._stopped = False

    def pauseProducing(self) -> None:
        if self._resumed is None:
            self._resumed = defer.Deferred()

    def resumeProducing(self) -> None:
        resumed, self._resumed = self._resumed, None
        if resumed is not None:
            resumed.callback(None)

    def stopProducing(self) -> None:
        self._stopped = True
        self.resumeProducing()

    async def send(self) -> int:
        """Write the whole file (the request stays open); return the bytes written."""
        f = await in_thread(self._reactor, self._pool, open, self._path, "rb")
        sent = 0
        self._request.registerProducer(self, True)
        try:
            while not self._stopped:
                if self._resumed is not None:
                    await self._resumed
                    continue
                data = await in_thread(self._reactor, self._pool, f.read, self._chunk_size)
                if not data or self._stopped:
                    break
                self._request.write(data)
                sent += len(data)
        finally:
            self._request.unregisterProducer()
            self._reactor.callInThread(f.close)
        return sent

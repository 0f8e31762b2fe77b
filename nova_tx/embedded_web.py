"""What the embedded image store and network service share on the HTTP side.

Authentication goes through ``nova_tx.api.auth`` (``IAuthenticator.authenticate(request)
-> Deferred[RequestContext]``, chosen by ``make_authenticator(conf)`` from ``[api]
auth_strategy``), the compute API's own: Keystone tokens, or noauth2's
``user:project`` (the user ``admin`` is an admin).

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
    """The request carries no usable credentials (401); ``headers`` go with the 401."""

    def __init__(self, headers: dict | None = None):
        super().__init__("authentication required")
        self.headers = headers or {}


def make_authenticator(conf: Any) -> Any:
    """nova-tx's authenticator for ``conf`` (``[api] auth_strategy``: ``keystone``,
    validating tokens with ``[keystone_authtoken]``, or ``noauth2``)."""
    from nova_tx.api import auth
    from nova_tx.conf import api as api_conf

    api_conf.register_opts(conf)
    return auth.make_authenticator(conf)


def noauth2() -> Any:
    from nova_tx.api import auth

    return auth.NoAuth2Authenticator()


async def authenticate(authenticator: Any, request: IRequest) -> RequestContext:
    """The caller's context, or NotAuthenticated whatever the authenticator raised."""
    try:
        context = await defer.maybeDeferred(authenticator.authenticate, request)
    except NotAuthenticated:
        raise
    except Exception as e:
        LOG.debug("Authentication refused: %s", e)
        raise NotAuthenticated(getattr(e, "headers", None)) from e
    if not context.request_id:
        context.request_id = generate_request_id()
    if context.global_request_id is None:
        context.global_request_id = header(request, "x-openstack-request-id")
    return context


def is_admin(context: RequestContext) -> bool:
    return bool(context.is_admin)


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
            if getattr(self._request, "channel", None) is not None:
                self._request.unregisterProducer()  # not when the client went away
            self._reactor.callInThread(f.close)
        return sent

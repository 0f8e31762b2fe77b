"""Who is calling the compute API: ``[api] auth_strategy`` picks an authenticator.

An authenticator turns the incoming twisted.web request into a ``RequestContext``
or fails with ``exception.Unauthorized`` (401). The pipeline then sets the context's
``request_id`` and ``global_request_id`` itself, so an authenticator need not.

- ``keystone`` (Nova's default): ``nova_tx.api.keystone.KeystoneAuthenticator``,
  validating ``X-Auth-Token`` against Keystone v3 (imported only when chosen).
- ``noauth2`` (development and tests): ``X-Auth-Token: user:project`` as Nova's
  NoAuthMiddleware reads it.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.internet import defer
from twisted.web.iweb import IRequest
from zope.interface import Interface, implementer

from nova_tx import exception
from nova_tx.context import RequestContext


class IAuthenticator(Interface):
    def authenticate(request: IRequest) -> defer.Deferred:
        """A Deferred firing with the caller's ``RequestContext``, or failing with
        ``nova_tx.exception.Unauthorized`` (its ``headers``, such as
        ``WWW-Authenticate``, are sent with the 401)."""


def header(request: IRequest, name: str) -> str | None:
    value = request.getHeader(name.encode("latin-1"))
    if value is None:
        return None
    return value.decode("latin-1") if isinstance(value, bytes) else value


def remote_address(request: IRequest, conf: cfg.ConfigOpts | None = None) -> str | None:
    """The caller's address; ``X-Forwarded-For`` with ``[api] use_forwarded_for``."""
    if conf is not None and _option(conf, "use_forwarded_for", False):
        forwarded = header(request, "X-Forwarded-For")
        if forwarded:
            return forwarded
    address = request.getClientAddress()
    return getattr(address, "host", None)


def _option(conf: cfg.ConfigOpts, name: str, default):
    try:
        return getattr(conf.api, name)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return default


@implementer(IAuthenticator)
class NoAuth2Authenticator:
    """Nova's noauth2: ``X-Auth-Token: user:project``, no credential is checked.

    Without ``:project`` the project is ``X-Auth-Project-Id`` when sent, otherwise the
    user. The user ``admin`` gets the admin role; everyone else ``member`` and
    ``reader`` (what Keystone gives a project member), so Zed's default policies
    behave as they would behind Keystone. ``X-Roles`` (comma-separated), as
    keystonemiddleware passes them, replaces the roles. A missing token is a 401
    (Nova's middleware would hand out a token instead; spec/DECISIONS 2).
    """

    def __init__(self, conf: cfg.ConfigOpts | None = None):
        self.conf = conf

    def authenticate(self, request: IRequest) -> defer.Deferred:
        try:
            return defer.succeed(self._context(request))
        except exception.Unauthorized:
            return defer.fail()

    def _context(self, request: IRequest) -> RequestContext:
        token = header(request, "X-Auth-Token")
        if not token:
            raise exception.Unauthorized()
        user_id, _, project_id = token.partition(":")
        if not user_id:
            raise exception.Unauthorized()
        project_id = project_id or header(request, "X-Auth-Project-Id") or user_id
        roles_header = header(request, "X-Roles")
        if roles_header is not None:
            roles = [r.strip() for r in roles_header.split(",") if r.strip()]
        elif user_id == "admin":
            roles = ["admin", "member", "reader"]
        else:
            roles = ["member", "reader"]
        return RequestContext(
            user_id=user_id, project_id=project_id, roles=roles,
            is_admin=None if roles_header is not None else user_id == "admin",
            auth_token=token, remote_address=remote_address(request, self.conf))


@implementer(IAuthenticator)
class UnavailableAuthenticator:
    """Fails every request with the error that kept the real one from being built."""

    def __init__(self, error: Exception):
        self.error = error

    def authenticate(self, request: IRequest) -> defer.Deferred:
        return defer.fail(self.error)


def make_authenticator(conf: cfg.ConfigOpts, reactor=None) -> IAuthenticator:
    """The authenticator ``[api] auth_strategy`` names."""
    strategy = _option(conf, "auth_strategy", "keystone")
    if strategy == "noauth2":
        return NoAuth2Authenticator(conf)
    if strategy == "keystone":
        from nova_tx.api.keystone import KeystoneAuthenticator

        return KeystoneAuthenticator(conf, reactor=reactor)
    raise exception.ConfigError(reason="unknown [api] auth_strategy %r" % strategy)

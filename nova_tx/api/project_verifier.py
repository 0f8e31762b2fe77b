"""Does a project exist? Nova's ``identity.verify_project_id`` for the quota APIs.

The caller's token asks Keystone (``GET /v3/projects/<id>``, under ``[keystone_authtoken]
auth_url``): a 404 means the project does not exist (400 "Project ID <id> is not a
valid project."); a 2xx that it does; a 403 (the caller may not look), any other
answer, or Keystone out of reach count as "exists", with a log line, as in Nova, so
that Keystone trouble never blocks quota work.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

import treq
from twisted.web import client

from nova_tx import exception
from nova_tx.api.keystone import identity_url, tls_policy
from nova_tx.conf import keystone_authtoken as keystone_authtoken_conf

LOG = logging.getLogger(__name__)

#: Seconds a verification may take before it is given up (and the project assumed).
TIMEOUT = 10.0


class KeystoneProjectVerifier:
    def __init__(self, conf, reactor=None, *, http=None):
        if reactor is None:
            from twisted.internet import reactor
        keystone_authtoken_conf.register_opts(conf)
        opts = conf.keystone_authtoken
        self.identity_url = identity_url(opts.auth_url)
        self._pool = None
        if http is None:
            self._pool = client.HTTPConnectionPool(reactor, persistent=True)
            http = treq.client.HTTPClient(client.Agent(
                reactor, contextFactory=tls_policy(opts), pool=self._pool,
                connectTimeout=opts.http_connect_timeout))
        self.http = http

    def close(self):
        """Close the kept-alive connections (a Deferred)."""
        from twisted.internet import defer

        if self._pool is None:
            return defer.succeed(None)
        return self._pool.closeCachedConnections()

    async def verify(self, context, project_id: str) -> None:
        """Raise InvalidInput (400) when Keystone says the project does not exist."""
        url = "%s/projects/%s" % (self.identity_url, quote(project_id, safe=""))
        headers = {"Accept": ["application/json"]}
        if context.auth_token:
            headers["X-Auth-Token"] = [context.auth_token]
        try:
            response = await self.http.get(url, headers=headers, timeout=TIMEOUT)
            await response.content()
        except Exception as e:
            LOG.info("Unable to contact keystone to verify project_id %s: %s", project_id, e)
            return
        code = response.code
        if 200 <= code < 300:
            return
        if code == 404:
            raise exception.InvalidInput(
                message="Project ID %s is not a valid project." % project_id)
        if code == 403:
            LOG.info("Insufficient permissions for user %s to verify existence of "
                     "project_id %s", context.user_id, project_id)
            return
        LOG.warning("Unexpected response from keystone trying to verify project_id %s - "
                    "resp: %s", project_id, code)


def make_project_verifier(conf, reactor=None) -> KeystoneProjectVerifier | None:
    """The verifier for ``[api] auth_strategy = keystone`` (None with noauth2: there is
    no Keystone to ask, every project exists)."""
    try:
        strategy = conf.api.auth_strategy
    except Exception:
        return None
    keystone_authtoken_conf.register_opts(conf)
    if strategy != "keystone" or not conf.keystone_authtoken.auth_url:
        return None
    return KeystoneProjectVerifier(conf, reactor)

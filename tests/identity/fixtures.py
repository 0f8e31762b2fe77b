"""An embedded identity on a real port for the tests, and an HTTP client that leaves
the reactor clean."""
from __future__ import annotations

import json
import time

import treq
from oslo_config import cfg
from twisted.internet import defer, reactor, task
from twisted.protocols import policies
from twisted.web import client, server

from nova_tx.conf import embedded, keystone_authtoken
from nova_tx.identity.api import IdentityAPI

PASSWORDS = {"admin": "admin-secret", "demo": "demo:secret", "nova": "nova-secret"}

USERS = [
    f"admin:{PASSWORDS['admin']}:admin:admin",
    f"demo:{PASSWORDS['demo']}:demo:member",
    f"nova:{PASSWORDS['nova']}:service:admin+service",
    # a second project for demo, by a second entry
    f"demo:{PASSWORDS['demo']}:other:reader",
]


def make_conf(users=None, **embedded_overrides) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    embedded.register_opts(conf)
    keystone_authtoken.register_opts(conf)
    conf([], project="nova", default_config_files=[])
    conf.set_override("identity_users", USERS if users is None else users,
                      group="embedded")
    for name, value in embedded_overrides.items():
        conf.set_override(name, value, group="embedded")
    return conf


class RunningIdentity:
    """An IdentityAPI listening on 127.0.0.1 (a free port), its time on a Clock set to
    now, so that the tests move it forward."""

    def __init__(self, test, conf: cfg.ConfigOpts | None = None, *, tls=None):
        self.conf = conf or make_conf()
        self.clock = task.Clock()
        self.clock.advance(time.time())
        self.api = IdentityAPI(self.conf, clock=self.clock)
        self.factory = ClosingFactory(server.Site(self.api.resource()))
        if tls is None:
            self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        else:  # ``tls``: the server's context factory; clients name it "localhost"
            self.port = reactor.listenSSL(0, self.factory, tls, interface="127.0.0.1")
        test.addCleanup(self.factory.close_all)
        test.addCleanup(self.port.stopListening)
        self.url = "%s://%s:%d" % ("http" if tls is None else "https",
                                   "127.0.0.1" if tls is None else "localhost",
                                   self.port.getHost().port)
        # The catalog names the identity where it really listens.
        self.conf.set_override("identity_catalog", [f"identity={self.url}/v3"],
                               group="embedded")
        self.http = http_client(test, verify=tls is None)

    async def request(self, method: str, path: str, *, body=None, headers=None,
                      raw: bytes | None = None):
        """(status, headers, parsed JSON or None) of one request."""
        sent = {"Content-Type": "application/json"} if (body is not None or raw) else {}
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode()
                                            if body is not None else None)
        response = await self.http.request(method, self.url + path, data=data,
                                           headers=sent)
        content = await response.content()
        parsed = json.loads(content) if content else None
        return response.code, response.headers, parsed

    async def password_token(self, user: str, *, project: str | None = None,
                             scope=None, query: str = ""):
        """(status, token id, body) of a password authentication by name."""
        auth = {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": PASSWORDS[user]}}}}
        if project is not None:
            auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
        elif scope is not None:
            auth["scope"] = scope
        status, headers, body = await self.request("POST", "/v3/auth/tokens" + query,
                                                   body={"auth": auth})
        token = headers.getRawHeaders("X-Subject-Token", [None])[0]
        return status, token, body


class ClosingFactory(policies.WrappingFactory):
    """Tracks the server's connections, so a test can close those its clients left
    open (keystoneauth's, in another thread) and wait until they are gone."""

    def __init__(self, wrapped):
        super().__init__(wrapped)
        self._gone: list[defer.Deferred] = []

    def unregisterProtocol(self, p):
        super().unregisterProtocol(p)
        if not self.protocols:
            waiting, self._gone = self._gone, []
            for d in waiting:
                d.callback(None)

    def close_all(self) -> defer.Deferred:
        if not self.protocols:
            return defer.succeed(None)
        d = defer.Deferred()
        self._gone.append(d)
        for p in list(self.protocols):
            p.transport.abortConnection()
        return d


def http_client(test, verify: bool = True) -> treq.client.HTTPClient:
    """A treq client whose connections are closed when the test ends (``verify``
    False: HTTPS without checking the server's certificate)."""
    from nova_tx.api.keystone import TLSPolicy

    pool = client.HTTPConnectionPool(reactor, persistent=True)
    test.addCleanup(pool.closeCachedConnections)
    extra = {} if verify else {"contextFactory": TLSPolicy(insecure=True)}
    return treq.client.HTTPClient(client.Agent(reactor, pool=pool, **extra))

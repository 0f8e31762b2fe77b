"""An embedded image store served by the test's reactor on a free port."""
from __future__ import annotations

import json
import os
import tempfile

import treq
from oslo_config import cfg

from nova_tx.conf import default, embedded_services, glance, neutron
from nova_tx.embedded_web import noauth2
from nova_tx.image.service import ImageStoreService

ADMIN = "admin:admin-project"
ALICE = "alice:project-a"
BOB = "bob:project-b"


def make_conf(testcase, **embedded) -> cfg.ConfigOpts:
    state = tempfile.mkdtemp(prefix="nova-tx-image-")
    testcase.addCleanup(_rmtree, state)
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    embedded_services.register_opts(conf)
    glance.register_opts(conf)
    neutron.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("state_path", state)
    conf.set_override("image_listen", "127.0.0.1", group="embedded")
    conf.set_override("image_port", 0, group="embedded")
    conf.set_override("network_listen", "127.0.0.1", group="embedded")
    conf.set_override("network_port", 0, group="embedded")
    for name, value in embedded.items():
        conf.set_override(name, value, group="embedded")
    return conf


def track_connections(testcase, site) -> None:
    """Close what clients leave open (openstacksdk keeps connections alive) when the
    test ends, so that the reactor is clean."""
    channels = []
    build = site.buildProtocol

    def buildProtocol(addr):
        channel = build(addr)
        channels.append(channel)
        return channel

    site.buildProtocol = buildProtocol

    async def close_all():
        from twisted.internet import reactor, task

        for channel in channels:
            transport = getattr(channel, "transport", None)
            if transport is not None and transport.connected:
                transport.abortConnection()
        await task.deferLater(reactor, 0.01)

    testcase.addCleanup(close_all)


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class EmbeddedServer:
    """An embedded service (``service_class``) for a test: ``await start()`` in setUp;
    the subclass's ``request(method, path, ...)`` in tests."""

    service_class: type
    #: What the start failure says failed.
    what = "the service"

    def __init__(self, testcase, conf: cfg.ConfigOpts | None = None, **embedded):
        self.testcase = testcase
        self.conf = conf or make_conf(testcase, **embedded)
        self.service = self.service_class(self.conf, authenticator=noauth2())

    async def start(self) -> None:
        track_connections(self.testcase, self.service.listener.args[1])
        self.service.startService()
        self.testcase.addCleanup(self.service.stopService)
        await self.service.started
        assert not self.service.exit_code, f"{self.what} failed to start"
        self.url = f"http://127.0.0.1:{self.service.port}"

    async def _call(self, method: str, path: str, body, token: str | None,
                    raw: bytes | None, headers: dict | None):
        """(response, content) of one call: JSON accepted, ``body`` sent as JSON."""
        all_headers = {"accept": "application/json"}
        if token is not None:
            all_headers["x-auth-token"] = token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        all_headers.update(headers or {})
        response = await treq.request(method, self.url + path, data=data,
                                      headers={k: [v] for k, v in all_headers.items()},
                                      persistent=False)
        return response, await response.content()


class ImageServer(EmbeddedServer):
    """``await start()`` in setUp; ``request(method, path, ...)`` in tests."""

    service_class = ImageStoreService
    what = "the image store"

    async def start(self) -> None:
        await super().start()
        self.image_dir = self.conf.embedded.image_dir
        assert os.path.isdir(self.image_dir)

    async def request(self, method: str, path: str, body=None, *, token: str | None = ADMIN,
                      raw: bytes | None = None, headers: dict | None = None):
        """(status, headers, parsed JSON body, or bytes) of one call."""
        response, content = await self._call(method, path, body, token, raw, headers)
        ctype = (response.headers.getRawHeaders("content-type") or [""])[0]
        if "json" in ctype and content:
            return response.code, response.headers, json.loads(content)
        return response.code, response.headers, content

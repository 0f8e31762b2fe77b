"""A Placement API served by the test's reactor on a free port, over a fresh database."""
from __future__ import annotations

import json

import treq
from twisted.internet import reactor
from twisted.web import server

from nova_tx.db.pool import DBThreadPool
from nova_tx.placement.api.app import PlacementAPI
from tests.placement.db import placement_engine

ADMIN = {"x-auth-token": "admin", "accept": "application/json"}


class PlacementServer:
    """``start()`` in setUp; ``request(method, path, body, version=...)`` in tests."""

    def __init__(self, testcase, backend: str = "sqlite", conf=None):
        self.testcase = testcase
        self.engine = placement_engine(testcase, backend)
        self.pool = DBThreadPool(self.engine, reactor=reactor)
        self.api = PlacementAPI(self.pool, conf)

    def start(self) -> None:
        self.pool.start()
        self.port = reactor.listenTCP(0, server.Site(self.api.resource()),
                                      interface="127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port.getHost().port}"
        self.testcase.addCleanup(self.pool.stop)
        self.testcase.addCleanup(self.api.close)
        self.testcase.addCleanup(self.port.stopListening)

    async def request(self, method: str, path: str, body=None, *, version: str | None = None,
                      headers: dict | None = None, raw: bytes | None = None):
        """(status, headers, parsed JSON body or text) of one call."""
        all_headers = dict(ADMIN)
        if version:
            all_headers["openstack-api-version"] = f"placement {version}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        all_headers.update(headers or {})
        all_headers = {k: v for k, v in all_headers.items() if v is not None}
        response = await treq.request(method, self.url + path, data=data,
                                      headers={k: [v] for k, v in all_headers.items()},
                                      persistent=False)
        text = await response.text()
        try:
            content = json.loads(text) if text else None
        except ValueError:
            content = text
        return response.code, response.headers, content


# -- for the gabbi runner -----------------------------------------------------------

def fresh_placement(testcase, config: str) -> str:
    """``gabbi_runner``'s ``fresh_placement``: our Placement, served by this reactor on a
    free port over a new SQLite database, configured as ``config`` says ("default",
    "open_policy", "secure_rbac" or "cors"), gone when ``testcase`` ends."""
    import os
    import shutil
    import tempfile

    from oslo_config import cfg
    from oslo_policy import opts as policy_opts

    from nova_tx.conf import placement as placement_conf
    from nova_tx.placement import policies

    conf = cfg.ConfigOpts()
    placement_conf.register_opts(conf)
    policy_opts.set_defaults(conf)
    conf([], project="nova", default_config_files=[])
    directory = tempfile.mkdtemp(prefix="nova-tx-placement-policy-")
    testcase.addCleanup(shutil.rmtree, directory, True)
    conf.set_override("enforce_new_defaults", config == "secure_rbac", group="oslo_policy")
    conf.set_override("policy_file", os.path.join(directory, "policy.yaml"),
                      group="oslo_policy")
    if config == "open_policy":
        with open(os.path.join(directory, "policy.yaml"), "w") as f:
            json.dump({rule.name: "@" for rule in policies.list_rules()
                       if rule.name != "admin_api"}, f)
    if config == "cors":
        conf.set_override("allowed_origin", ["http://valid.example.com"], group="cors")
        conf.set_override("allow_headers", ["openstack-api-version"], group="cors")
    server = PlacementServer(testcase, conf=conf)
    server.start()
    return server.url

"""The root of the compute API's URL tree (Klein): where each branch is mounted.

``/`` answers the versions document; ``/v2.1`` and ``/v2`` are the API itself, which
answers its own version document at its root.
"""
from __future__ import annotations

import json

from klein import Klein
from twisted.web.iweb import IRequest

from nova_tx.api.compute import versions


class APIRouter:
    app = Klein()

    @app.route("/", methods=["GET"])
    def root(self, request: IRequest) -> bytes:
        return _json(request, versions.versions_document(_base_url(request)))

    @app.route("/v2.1", methods=["GET"])
    @app.route("/v2.1/", methods=["GET"])
    def v21_root(self, request: IRequest) -> bytes:
        return _json(request, versions.version_document("v2.1", _base_url(request)))

    @app.route("/v2", methods=["GET"])
    @app.route("/v2/", methods=["GET"])
    def v20_root(self, request: IRequest) -> bytes:
        return _json(request, versions.version_document("v2.0", _base_url(request)))

    def resource(self):
        return self.app.resource()


def _base_url(request: IRequest) -> str:
    """The URL clients reached us at, ending with a slash.

    The Host header is taken whole (name and port) because clients behind a proxy or
    a load balancer reached the address it names, not our socket; keystoneauth's
    version discovery follows these links.
    """
    scheme = b"https" if request.isSecure() else b"http"
    host = request.getHeader(b"host")
    if not host:
        address = request.getHost()
        host = ("%s:%d" % (address.host, address.port)).encode("ascii")
    return (scheme + b"://" + host + b"/").decode("ascii", "replace")


def _json(request: IRequest, body: dict) -> bytes:
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode("utf-8")

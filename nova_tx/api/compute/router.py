"""The root of the compute API's URL tree: the version documents and the resources.

``/`` answers the versions document; ``/v2.1`` and ``/v2`` are the API itself, which
answers its own version document at its root (without authentication, so clients
can discover the microversion range before they have a token).

Resources are the modules of this package that define ``routes`` (a
``wsgi.Routes``); each is found and mounted when the router is built, so adding a
resource is adding its module.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from nova_tx.api.compute import versions, wsgi

#: Modules of this package that are the framework, not resources.
FRAMEWORK_MODULES = frozenset({
    "api_version", "faults", "links", "pagination", "router", "service", "versions",
    "wsgi", "workers",
})

version_routes = wsgi.Routes()


@version_routes.route("GET", "", public=True, project_prefix=False)
@version_routes.route("GET", "/", public=True, project_prefix=False)
def version_root(req: wsgi.APIRequest) -> dict:
    version_id = "v2.0" if req.is_legacy_v2 else "v2.1"
    return versions.version_document(version_id, req.root_url + "/")


def discover_resources() -> list[wsgi.Routes]:
    """The ``routes`` of every resource module of ``nova_tx.api.compute``."""
    import nova_tx.api.compute as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg or info.name in FRAMEWORK_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        routes = getattr(module, "routes", None)
        if isinstance(routes, wsgi.Routes):
            found.append(routes)
    return found


class APIRouter:
    """The compute API's Klein application.

    ``resources`` None mounts every resource module found; a list mounts those
    (tests mount their own). Without an ``authenticator`` the one ``[api]
    auth_strategy`` names is built (only version documents answer without ``conf``).
    """

    def __init__(self, conf=None, *, resources: list[wsgi.Routes] | None = None,
                 authenticator=None, reactor=None,
                 components: dict[str, Any] | None = None):
        if resources is None:
            resources = discover_resources()
        if authenticator is None and conf is not None:
            from nova_tx.api import auth

            authenticator = auth.make_authenticator(conf, reactor=reactor)
        self.app = wsgi.ComputeApp(
            conf, [version_routes, *resources], authenticator=authenticator,
            reactor=reactor, components=components)
        self.app.add_unversioned("/", _versions_document)

    def resource(self):
        return self.app.resource()


def _versions_document(req: wsgi.APIRequest) -> dict:
    return versions.versions_document(req.root_url + "/")

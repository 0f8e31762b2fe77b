"""The version documents of the compute API (``GET /``, ``GET /v2.1/``, ``GET /v2/``).

Clients (keystoneauth's discovery, openstacksdk, novaclient) read these to learn the
microversion range before their first real call, so the values are Zed's exactly.
"""
from __future__ import annotations

#: The newest microversion nova-tx serves (Zed's maximum).
MAX_API_VERSION = "2.93"
#: The oldest microversion of the v2.1 API.
MIN_API_VERSION = "2.1"

_V21 = {
    "id": "v2.1",
    "status": "CURRENT",
    "version": MAX_API_VERSION,
    "min_version": MIN_API_VERSION,
    "updated": "2013-07-23T11:33:21Z",
    "path": "v2.1/",
    "media_type": "application/vnd.openstack.compute+json;version=2.1",
}
# v2.0 is the same API without microversions; Zed still called it SUPPORTED.
_V20 = {
    "id": "v2.0",
    "status": "SUPPORTED",
    "version": "",
    "min_version": "",
    "updated": "2011-01-21T11:33:21Z",
    "path": "v2/",
    "media_type": "application/vnd.openstack.compute+json;version=2",
}
VERSIONS = {"v2.0": _V20, "v2.1": _V21}


def _summary(version: dict, base_url: str) -> dict:
    return {
        "id": version["id"],
        "links": [{"href": base_url + version["path"], "rel": "self"}],
        "status": version["status"],
        "version": version["version"],
        "min_version": version["min_version"],
        "updated": version["updated"],
    }


def versions_document(base_url: str) -> dict:
    """``GET /``: every version, ``base_url`` ending with a slash."""
    return {"versions": [_summary(v, base_url) for v in (_V20, _V21)]}


def version_document(version_id: str, base_url: str) -> dict:
    """``GET /v2.1/`` or ``GET /v2/``: one version with its media types."""
    version = VERSIONS[version_id]
    body = _summary(version, base_url)
    body["links"].append(
        {"href": "http://docs.openstack.org/", "rel": "describedby", "type": "text/html"})
    body["media-types"] = [{"base": "application/json", "type": version["media_type"]}]
    return {"version": body}

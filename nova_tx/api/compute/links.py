"""The links in compute API bodies: ``self``, ``bookmark`` and a list's ``next``.

As Nova's view builders: ``self`` is under the version prefix
(``http://host:8774/v2.1/servers/<id>``), ``bookmark`` without it
(``http://host:8774/servers/<id>``), both with the project id when the request URL
carried one, and ``[api] compute_link_prefix`` replacing scheme, host and path prefix
when set (a proxy in front of the API).
"""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit


def url_join(*parts: str) -> str:
    """Join with one slash between parts; an empty last part keeps a trailing slash."""
    parts = parts or ("",)
    clean = [part.strip("/") for part in parts if part]
    if not parts[-1]:
        clean.append("")
    return "/".join(clean)


def update_link_prefix(orig_url: str, prefix: str | None) -> str:
    if not prefix:
        return orig_url
    url_parts = list(urlsplit(orig_url))
    prefix_parts = list(urlsplit(prefix))
    url_parts[0:2] = prefix_parts[0:2]
    url_parts[2] = prefix_parts[2] + url_parts[2]
    return urlunsplit(url_parts).rstrip("/")


def _option(req, name: str):
    conf = req.conf
    try:
        return getattr(conf.api, name)
    except Exception:
        return None


def compute_url(req, url: str) -> str:
    return update_link_prefix(url, _option(req, "compute_link_prefix"))


def project_part(req) -> str:
    """The project id when the request URL carried one (then links carry it too)."""
    return req.project_id or ""


def href_link(req, identifier, collection_name: str) -> str:
    return url_join(compute_url(req, req.application_url), project_part(req),
                    collection_name, str(identifier))


def bookmark_link(req, identifier, collection_name: str) -> str:
    return url_join(compute_url(req, req.root_url), project_part(req),
                    collection_name, str(identifier))


def links(req, identifier, collection_name: str) -> list[dict]:
    """``[{"rel": "self", ...}, {"rel": "bookmark", ...}]`` of one item."""
    return [
        {"rel": "self", "href": href_link(req, identifier, collection_name)},
        {"rel": "bookmark", "href": bookmark_link(req, identifier, collection_name)},
    ]


def next_link(req, identifier, collection_name: str) -> str:
    """The list's URL with the request's query, ``marker`` set to ``identifier``."""
    # Nova sorts the (name, value) pairs into a dict: the last sorted value of a
    # repeated parameter wins.
    params = dict(sorted((name, value) for name, values in req.query.items()
                         for value in values))
    params["marker"] = identifier
    url = url_join(compute_url(req, req.application_url), project_part(req),
                   collection_name)
    return "%s?%s" % (url, urlencode(params))

"""``limit`` and ``marker`` of list requests, and the ``next`` link of a full page.

``limit`` is capped at ``[api] max_limit`` (1000); a list whose page is full (as many
items as the effective limit) gets ``[{"rel": "next", "href": ...?marker=<last>}]``
under ``<collection>_links``, as Nova's view builders make it.
"""
from __future__ import annotations

from typing import Any

from oslo_utils import strutils

from nova_tx import exception
from nova_tx.api.compute import links

DEFAULT_MAX_LIMIT = 1000


def max_limit(req) -> int:
    try:
        return req.conf.api.max_limit
    except Exception:
        return DEFAULT_MAX_LIMIT


def _last(req, name: str) -> str:
    return req.query[name][-1]


def _int_param(req, name: str) -> int:
    try:
        return strutils.validate_integer(_last(req, name), name, min_value=0)
    except ValueError as e:
        raise exception.InvalidInput(reason=str(e)) from None


def get_pagination_params(req) -> dict[str, Any]:
    """``limit``, ``page_size``, ``offset`` (non-negative integers) and ``marker``
    as given (400 for a bad integer)."""
    params: dict[str, Any] = {}
    for name in ("limit", "page_size"):
        if name in req.query:
            params[name] = _int_param(req, name)
    if "marker" in req.query:
        params["marker"] = _last(req, "marker")
    if "offset" in req.query:
        params["offset"] = _int_param(req, "offset")
    return params


def get_limit_and_marker(req) -> tuple[int, str | None]:
    """(limit capped at ``max_limit``, marker or None); ``limit=0`` stays 0."""
    params = get_pagination_params(req)
    cap = max_limit(req)
    return min(cap, params.get("limit", cap)), params.get("marker")


def limited(items: list, req) -> list:
    """``items[offset:offset + limit]`` (a list filtered in the API; 0 means the cap)."""
    params = get_pagination_params(req)
    offset = params.get("offset", 0)
    cap = max_limit(req)
    limit = min(cap, params.get("limit") or cap)
    return items[offset:offset + limit]


def collection_links(req, items: list[dict], collection_name: str,
                     id_key: str = "uuid") -> list[dict]:
    """The ``next`` link when the page is full.

    Full means: as many items as ``limit`` (when given, capped at ``max_limit``) or as
    ``max_limit``. The marker is the last item's ``id_key``, else ``id``, else
    ``flavorid``.
    """
    cap = max_limit(req)
    try:
        requested = int(req.query["limit"][-1]) if "limit" in req.query else cap
    except ValueError:
        requested = cap
    page = min(requested, cap)
    if not page or page != len(items):
        return []
    last = items[-1]
    if id_key in last:
        identifier = last[id_key]
    elif "id" in last:
        identifier = last["id"]
    else:
        identifier = last["flavorid"]
    return [{"rel": "next", "href": links.next_link(req, identifier, collection_name)}]

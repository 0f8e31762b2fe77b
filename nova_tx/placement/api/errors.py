"""Placement's error answers: status, title, detail, code and request id.

The body is Placement's (webob's text, stripped of its HTML, as Placement's
``json_error_formatter`` makes it)::

    {"errors": [{"status": 409, "title": "Conflict",
                 "detail": "There was a conflict when trying to complete your request.\\n\\n ...",
                 "code": "placement.concurrent_update", "request_id": "req-..."}]}

``code`` appears from microversion 1.23. A client that accepts HTML but not JSON gets
webob's HTML page instead.
"""
from __future__ import annotations

import html
import json

from nova_tx.placement import exception

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
    415: "Unsupported Media Type", 500: "Internal Server Error",
    503: "Service Unavailable",
}

EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
         "or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document "
         "you requested.  Either you supplied the wrong credentials (e.g., bad "
         "password), or your browser does not understand how to supply the credentials "
         "required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method {method} is not allowed for this resource.",
    406: "The resource could not be generated that was acceptable to your request.",
    409: "There was a conflict when trying to complete your request.",
    415: "The request media type {content_type} is not supported by this server.",
    500: "The server has either erred or is incapable of performing the requested "
         "operation.",
    503: "The server is currently unavailable. Please try again at a later time.",
}


def detail_text(status: int, detail: str, *, method: str = "", content_type: str = ""
                ) -> str:
    explanation = EXPLANATIONS.get(status, "").format(method=method,
                                                      content_type=content_type)
    return f"{explanation}\n\n {detail}  " if detail else f"{explanation}\n\n   "


def render(error: exception.PlacementError, *, request_id: str, with_code: bool,
           as_html: bool = False, method: str = "", content_type: str = ""
           ) -> tuple[bytes, str]:
    """(body, content type) of ``error``'s answer."""
    title = TITLES.get(error.status, "Error")
    detail = detail_text(error.status, error.detail, method=method,
                         content_type=content_type)
    if as_html:
        body = (f"<html>\n <head>\n  <title>{error.status} {title}</title>\n </head>\n"
                f" <body>\n  <h1>{error.status} {title}</h1>\n  "
                f"{html.escape(detail).replace(chr(10), '<br />')}\n </body>\n</html>")
        return body.encode("utf-8"), "text/html; charset=UTF-8"
    entry: dict = {"status": error.status, "title": title, "detail": detail}
    if with_code:
        entry["code"] = error.code
    entry["request_id"] = request_id
    return json.dumps({"errors": [entry]}).encode("utf-8"), "application/json"

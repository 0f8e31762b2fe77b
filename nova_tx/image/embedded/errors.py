"""Glance's errors: webob HTTP exceptions, rendered as webob renders them.

A JSON-accepting client gets ``{"message": ..., "code": "404 Not Found", "title": "Not
Found"}`` (webob's JSON formatter, which openstacksdk and glanceclient read); others get
webob's plain-text page.
"""
from __future__ import annotations

EXPLANATIONS = {
    400: ("Bad Request", "The server could not comply with the request since it is "
          "either malformed or otherwise incorrect."),
    401: ("Unauthorized", "This server could not verify that you are authorized to access "
          "the document you requested. Either you supplied the wrong credentials (e.g., "
          "bad password), or your browser does not understand how to supply the "
          "credentials required."),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    413: ("Request Entity Too Large", "The body of your request was too large for this "
          "server."),
    415: ("Unsupported Media Type", "The request media type is not supported by this "
          "server."),
    500: ("Internal Server Error", "The server has either erred or is incapable of "
          "performing the requested operation."),
}


class GlanceError(Exception):
    code = 500

    def __init__(self, detail: str = ""):
        super().__init__(detail)
        self.detail = detail

    @property
    def title(self) -> str:
        return EXPLANATIONS[self.code][0]

    @property
    def status(self) -> str:
        return f"{self.code} {self.title}"

    def json(self) -> dict:
        explanation = EXPLANATIONS[self.code][1]
        return {"message": f"{explanation}<br /><br />\n{self.detail}\n\n\n",
                "code": self.status, "title": self.title}

    def text(self) -> str:
        explanation = EXPLANATIONS[self.code][1]
        return f"{self.status}\n\n{explanation}\n\n {self.detail}\n\n   "


class BadRequest(GlanceError):
    code = 400


class Unauthorized(GlanceError):
    code = 401


class Forbidden(GlanceError):
    code = 403


class NotFound(GlanceError):
    code = 404


class MethodNotAllowed(GlanceError):
    code = 405


class Conflict(GlanceError):
    code = 409


class RequestEntityTooLarge(GlanceError):
    code = 413


class UnsupportedMediaType(GlanceError):
    code = 415

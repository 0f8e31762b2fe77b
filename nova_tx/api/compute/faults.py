"""Nova's fault bodies, made in one place from the exception a request ended with.

    {"itemNotFound": {"code": 404, "message": "Instance ... could not be found."}}

The name follows the status (Nova's ``Fault._fault_names``; any other status is a
``computeFault``). A ``NovaException`` answers its ``code`` with its message; one with
a 5xx code answers webob's generic explanation unless the class is marked ``safe``
(then ``"ClassName: message"``, as Nova's FaultWrapper). Any other exception is a bug:
500 ``computeFault`` with the generic explanation, and the traceback only in the log.
An exception's ``headers`` (``Retry-After``, ``Allow``, ``WWW-Authenticate``) are sent;
``Retry-After`` is also copied into the body of a 413 or 429 as ``retryAfter``.
"""
from __future__ import annotations

import dataclasses

from nova_tx import exception, log

LOG = log.getLogger(__name__)

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
DEFAULT_FAULT_NAME = "computeFault"
#: Nova's fault responses say their charset; its other answers do not.
CONTENT_TYPE = "application/json; charset=UTF-8"

#: webob's explanations: the message when the exception has none to tell.
EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
         "or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document "
         "you requested. Either you supplied the wrong credentials (e.g., bad "
         "password), or your browser does not understand how to supply the credentials "
         "required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    406: "The server could not comply with the request since it is either malformed "
         "or otherwise incorrect.",
    409: "There was a conflict when trying to complete your request.",
    410: "This resource is no longer available. No forwarding address is given.",
    413: "The body of your request was too large for this server.",
    415: "The server could not comply with the request since it is either malformed "
         "or otherwise incorrect.",
    429: "The client has sent too many requests in a given amount of time",
    500: "The server has either erred or is incapable of performing the requested "
         "operation.",
    501: "The server has either erred or is incapable of performing the requested "
         "operation.",
    503: "The server is currently unavailable. Please try again at a later time.",
}
GENERIC_500 = EXPLANATIONS[500]


class HTTPError(Exception):
    """An answer by status alone, for what no domain exception means (webob.exc's role).

    ``HTTPError(410)`` answers webob's explanation for 410; ``explanation`` replaces it.
    """

    def __init__(self, code: int, explanation: str | None = None,
                 headers: dict[str, str] | None = None):
        self.code = code
        self.explanation = explanation or EXPLANATIONS.get(code, GENERIC_500)
        self.headers = dict(headers or {})
        super().__init__(self.explanation)


@dataclasses.dataclass
class Fault:
    code: int
    message: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return FAULT_NAMES.get(self.code, DEFAULT_FAULT_NAME)

    def body(self) -> dict:
        content: dict = {"code": self.code, "message": self.message}
        if self.code in (413, 429):
            retry = self.headers.get("Retry-After")
            if retry:
                content["retryAfter"] = retry
        return {self.name: content}


def from_exception(error: BaseException, *, where: str = "") -> Fault:
    """The fault ``error`` answers; logs what the client does not see."""
    headers = {str(k): str(v) for k, v in (getattr(error, "headers", None) or {}).items()}
    if isinstance(error, HTTPError):
        LOG.debug("Returning %d to user: %s", error.code, error.explanation)
        return Fault(error.code, error.explanation, headers)
    if isinstance(error, exception.NovaException):
        code = getattr(error, "code", 500) or 500
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = 500
        if code < 500 or code in (501, 503):
            LOG.debug("Returning %d to user: %s", code, error.format_message())
            return Fault(code, error.format_message(), headers)
        LOG.error("%s returned with HTTP %d: %s", where or "request", code,
                  exception.one_line(error), exc_info=error)
        if getattr(error, "safe", False):
            message = "%s: %s" % (type(error).__name__, error.format_message())
        else:
            message = EXPLANATIONS.get(code, GENERIC_500)
        return Fault(code, message, headers)
    LOG.error("Unexpected error in %s", where or "request", exc_info=error)
    return Fault(500, GENERIC_500)

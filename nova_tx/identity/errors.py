"""Keystone's error answers: ``{"error": {"code": ..., "message": ..., "title": ...}}``.

The classes and messages are Keystone's (``keystone/exception.py``); security errors
(401) always carry the generic message, as Keystone's do when ``insecure_debug`` is off.
"""
from __future__ import annotations

AUTH_REQUIRED = "The request you have made requires authentication."


class IdentityError(Exception):
    code = 500
    title = "Internal Server Error"
    message = ("An unexpected error prevented the server from fulfilling your request.")

    def __init__(self, message: str | None = None):
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "title": self.title}}


class ValidationError(IdentityError):
    code = 400
    title = "Bad Request"

    @classmethod
    def expecting(cls, attribute: str, target: str) -> ValidationError:
        return cls(f"Expecting to find {attribute} in {target}. The server could not "
                   "comply with the request since it is either malformed or otherwise "
                   "incorrect. The client is assumed to be in error.")


class SchemaValidationError(ValidationError):
    """A body that fails the JSON schema; ``message`` is the schema's detail."""


class Unauthorized(IdentityError):
    code = 401
    title = "Unauthorized"
    message = AUTH_REQUIRED

    def __init__(self) -> None:  # never the reason: it would help a guesser
        super().__init__(AUTH_REQUIRED)


class Forbidden(IdentityError):
    code = 403
    title = "Forbidden"
    message = "You are not authorized to perform the requested action."

    @classmethod
    def action(cls, action: str) -> Forbidden:
        return cls(f"You are not authorized to perform the requested action: {action}.")


class NotFound(IdentityError):
    code = 404
    title = "Not Found"
    message = "The resource could not be found."


class TokenNotFound(NotFound):
    def __init__(self, token_id: str | None):
        super().__init__(f"Could not find token: {token_id}." if token_id
                         else "Could not find token.")


class MethodNotAllowed(IdentityError):
    code = 405
    title = "Method Not Allowed"
    message = "The method is not allowed for the requested URL."

"""Exceptions with a class per meaning, as in Nova's ``nova/exception.py``.

Each class carries the HTTP status the REST layer answers with (``code``) and a message
template (``msg_fmt``) filled from keyword arguments, so the same error reads the same
whether it reaches a REST client, an RPC caller or ``nova-manage``.
"""


class NovaException(Exception):
    """Base class: formats ``msg_fmt`` with the keyword arguments it was raised with."""

    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs):
        self.kwargs = kwargs
        self.kwargs.setdefault("code", self.code)
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A missing keyword is a programming error, but the operator still
                # deserves the template rather than a second exception.
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def format_message(self) -> str:
        return self.args[0]


class Invalid(NovaException):
    msg_fmt = "Bad Request - Invalid Parameters"
    code = 400


class NotFound(NovaException):
    msg_fmt = "Resource could not be found."
    code = 404


class Conflict(NovaException):
    msg_fmt = "Conflict."
    code = 409


class ConfigError(NovaException):
    """Configuration that cannot be used; ends a command with a one-line message."""

    msg_fmt = "Invalid configuration: %(reason)s"


class CellMappingNotFound(NotFound):
    msg_fmt = "Cell %(uuid)s has no mapping."


class HostMappingNotFound(NotFound):
    msg_fmt = "Host '%(name)s' is not mapped to any cell"


class InstanceMappingNotFound(NotFound):
    msg_fmt = "Instance %(uuid)s has no mapping to a cell."


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class MarkerNotFound(NotFound):
    msg_fmt = "Marker %(marker)s could not be found."


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class HostBinaryNotFound(NotFound):
    msg_fmt = "Could not find binary %(binary)s on host %(host)s."


def one_line(error: BaseException) -> str:
    """An error's message on one line, for a log line or a command's last word."""
    message = error.format_message() if isinstance(error, NovaException) else str(error)
    return " ".join(message.split())

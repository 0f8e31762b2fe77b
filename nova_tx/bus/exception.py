"""What can go wrong on the bus, one class per meaning, named as oslo.messaging names them
so that people who know Nova recognise ``MessagingTimeout`` or ``RemoteError`` in a log.

They live apart from ``nova_tx.exception`` because the bus sits below everything else
and must not import the layers above it.

Each class keeps its constructor arguments in ``args`` and builds its message in
``__str__``: an exception crosses the bus as its class, ``args`` and message, and is
rebuilt on the other side as ``cls(*args)``, so ``args`` must be what the constructor
takes.
"""
from __future__ import annotations


class MessagingException(Exception):
    """Base class of every bus error; plain ``MessagingException(message)`` is fine."""


class InvalidTransportURL(MessagingException, ValueError):
    """A ``transport_url`` that cannot name a bus; the message fits on one line and
    never shows a password (pass the URL already masked)."""

    def __init__(self, url: str, reason: str):
        super().__init__(url, reason)
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return f"Invalid transport URL '{self.url}': {self.reason}"


class MessageDeliveryFailure(MessagingException):
    """The message could not be handed over to the broker."""


class TransportNotConnected(MessagingException):
    """An operation on a transport that is not (or no longer) connected."""


class InvalidTarget(MessagingException, ValueError):
    """A target that cannot be used for what was asked (a call with fanout, a server
    without a topic ...)."""


class MessagingTimeout(MessagingException):
    """No reply to a call within its timeout."""

    def __init__(self, message: str, msg_id: str | None = None):
        super().__init__(message, msg_id)
        self.msg_id = msg_id

    def __str__(self) -> str:
        return self.args[0]


class RemoteError(MessagingException):
    """A remote method raised an exception whose class may not cross the bus.

    ``exc_type`` is the remote class name and ``value`` its message; the remote
    traceback is kept in ``traceback`` (a list of lines) rather than in the message, so
    that the error still reads in one line.
    """

    def __init__(self, exc_type: str | None = None, value: str | None = None,
                 traceback: list[str] | None = None):
        super().__init__(exc_type, value, traceback or [])
        self.exc_type = exc_type
        self.value = value
        self.traceback = traceback or []

    def __str__(self) -> str:
        return f"Remote error: {self.exc_type} {self.value}"


class UnsupportedVersion(MessagingException):
    """No endpoint implements the requested RPC version (same major, minor <=)."""

    def __init__(self, version: str | None = None, method: str | None = None):
        super().__init__(version, method)
        self.version = version
        self.method = method

    def __str__(self) -> str:
        message = f"Endpoint does not support RPC version {self.version}"
        if self.method:
            message += f". Attempted method: {self.method}"
        return message


class RPCVersionCapError(UnsupportedVersion):
    """The client was about to send a version above its cap (``[upgrade_levels]``).

    A subclass of ``UnsupportedVersion`` so that one ``except`` covers a version the
    other side cannot handle, whichever side noticed.
    """

    def __init__(self, version: str | None, version_cap: str | None):
        MessagingException.__init__(self, version, version_cap)
        self.version = version
        self.version_cap = version_cap
        self.method = None

    def __str__(self) -> str:
        return (f"Requested message version {self.version} is incompatible with the "
                f"version cap {self.version_cap}: it needs the same major version and a "
                "minor version no higher")


class NoSuchMethod(MessagingException, AttributeError):
    """No endpoint of a compatible version exposes the requested method."""

    def __init__(self, method: str):
        super().__init__(method)
        self.method = method

    def __str__(self) -> str:
        return f"Endpoint does not support RPC method {self.method}"


class InvalidUpgradeLevel(MessagingException, ValueError):
    """An ``[upgrade_levels]`` value that is neither a release alias nor a version."""

    def __init__(self, service: str, level: str):
        super().__init__(service, level)
        self.service = service
        self.level = level

    def __str__(self) -> str:
        return (f"[upgrade_levels] {self.service} = {self.level!r} is neither 'auto', a "
                "known release name nor a version such as 5.0")


class UnsupportedNotificationDriver(MessagingException, ValueError):
    """An ``[oslo_messaging_notifications] driver`` we do not implement."""

    def __init__(self, driver: str, supported: tuple[str, ...]):
        super().__init__(driver, supported)
        self.driver = driver
        self.supported = supported

    def __str__(self) -> str:
        return (f"[oslo_messaging_notifications] driver {self.driver!r} is not supported "
                f"(supported: {', '.join(self.supported)})")

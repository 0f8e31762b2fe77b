"""The metadata service's errors (Nova keeps these in ``nova/exception.py``; they are
here because only the metadata service and config drives raise them)."""
from nova_tx import exception


class InvalidMetadataVersion(exception.Invalid):
    msg_fmt = "Invalid instance metadata version: %(version)s"


class InvalidMetadataPath(exception.NotFound):
    msg_fmt = "Invalid instance metadata path: %(path)s"


class PasswordAlreadySet(exception.Conflict):
    msg_fmt = "The instance's password is already set."


class PasswordTooLarge(exception.Invalid):
    msg_fmt = "Request is too large."


class VendorDataFailed(exception.NovaException):
    msg_fmt = "Dynamic vendordata target %(target)s failed: %(reason)s"

"""Neutron's faults: ``{"NeutronError": {"type": ..., "message": ..., "detail": ""}}``.

The ``type`` is the name of Neutron's exception class, which clients (openstacksdk,
neutronclient, Nova) read; the messages are Neutron's.
"""
from __future__ import annotations


class NeutronError(Exception):
    code = 500
    msg_fmt = "Request Failed: internal server error while processing your request."

    def __init__(self, message: str | None = None, **kwargs):
        if message is None:
            message = self.msg_fmt % kwargs if kwargs else self.msg_fmt
        super().__init__(message)
        self.message = message

    @property
    def type(self) -> str:
        return type(self).__name__

    def body(self) -> dict:
        return {"NeutronError": {"type": self.type, "message": self.message, "detail": ""}}


class HTTPBadRequest(NeutronError):
    code = 400
    msg_fmt = "Bad Request"


class InvalidInput(NeutronError):
    code = 400
    msg_fmt = "Invalid input for operation: %(error_message)s."


class InvalidIpForSubnet(NeutronError):
    code = 400
    msg_fmt = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidIpForNetwork(NeutronError):
    code = 400
    msg_fmt = "IP address %(ip_address)s is not a valid IP for any of the subnets on the " \
              "specified network."


class InvalidFilter(NeutronError):
    code = 400
    msg_fmt = "Invalid filter: %(filter)s"


class GatewayConflictWithAllocationPools(NeutronError):
    code = 409
    msg_fmt = "Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s."


class InvalidAllocationPool(NeutronError):
    code = 400
    msg_fmt = "The allocation pool %(pool)s is not valid."


class OutOfBoundsAllocationPool(NeutronError):
    code = 400
    msg_fmt = "The allocation pool %(pool)s spans beyond the subnet cidr %(subnet_cidr)s."


class HTTPNotFound(NeutronError):
    code = 404
    msg_fmt = "The resource could not be found."


class NetworkNotFound(NeutronError):
    code = 404
    msg_fmt = "Network %(net_id)s could not be found."


class SubnetNotFound(NeutronError):
    code = 404
    msg_fmt = "Subnet %(subnet_id)s could not be found."


class PortNotFound(NeutronError):
    code = 404
    msg_fmt = "Port %(port_id)s could not be found."


class SecurityGroupNotFound(NeutronError):
    code = 404
    msg_fmt = "Security group %(id)s does not exist"


class SecurityGroupRuleNotFound(NeutronError):
    code = 404
    msg_fmt = "Security group rule %(id)s does not exist"


class NotAuthorized(NeutronError):
    code = 401
    msg_fmt = "Authentication required"


class PolicyNotAuthorized(NeutronError):
    code = 403
    msg_fmt = "(%(action)s) is disallowed by policy"


class HTTPMethodNotAllowed(NeutronError):
    code = 405
    msg_fmt = "The method is not allowed for this resource."


class NetworkInUse(NeutronError):
    code = 409
    msg_fmt = "Unable to complete operation on network %(net_id)s. There are one or more " \
              "ports still in use on the network."


class SubnetInUse(NeutronError):
    code = 409
    msg_fmt = "Unable to complete operation on subnet %(subnet_id)s: One or more ports " \
              "have an IP allocation from this subnet."


class IpAddressGenerationFailure(NeutronError):
    code = 409
    msg_fmt = "No more IP addresses available on network %(net_id)s."


class IpAddressAlreadyAllocated(NeutronError):
    code = 409
    msg_fmt = "IP address %(ip)s already allocated in subnet %(subnet_id)s"


class MacAddressInUse(NeutronError):
    code = 409
    msg_fmt = "Unable to complete operation for network %(net_id)s. The mac address " \
              "%(mac)s is in use."


class MacAddressGenerationFailure(NeutronError):
    code = 503
    msg_fmt = "Unable to generate unique mac on network %(net_id)s."


class SecurityGroupInUse(NeutronError):
    code = 409
    msg_fmt = "Security Group %(id)s in use."


class SecurityGroupCannotRemoveDefault(NeutronError):
    code = 409
    msg_fmt = "Insufficient rights for removing default security group."


class SecurityGroupRuleExists(NeutronError):
    code = 409
    msg_fmt = "Security group rule already exists. Rule id is %(rule_id)s."


class PortBound(NeutronError):
    code = 409
    msg_fmt = "Unable to complete operation on port %(port_id)s, port is already bound, " \
              "port type: %(vif_type)s, old_mac %(old_mac)s, new_mac %(new_mac)s."

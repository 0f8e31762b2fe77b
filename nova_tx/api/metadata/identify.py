"""Who is asking: the three ways of Nova's metadata handler (spec D §3.2).

- Neutron proxy (``[neutron] service_metadata_proxy``): ``X-Instance-ID`` signed with
  ``X-Instance-ID-Signature`` = hex HMAC-SHA256 of it under
  ``[neutron] metadata_proxy_shared_secret``, and ``X-Tenant-ID``;
- load-balancer provider (proxy mode with ``X-Metadata-Provider``): the provider's
  subnets and the port with the ``X-Forwarded-For`` address;
- source address (no proxy): the peer address, or ``X-Forwarded-For`` only with
  ``[api] use_forwarded_for``.

Each returns an :class:`Identity` or raises :class:`HTTPError`; the signature is
checked before anything is looked up, so a forged request learns nothing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import Any

from nova_tx import log

LOG = log.getLogger(__name__)


class HTTPError(Exception):
    """An answer that is not metadata: ``code`` and the explanation webob would give."""

    TITLES = {400: "Bad Request", 403: "Forbidden", 404: "Not Found",
              405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error"}

    def __init__(self, code: int, explanation: str = ""):
        super().__init__(explanation)
        self.code = code
        self.explanation = explanation

    def body(self) -> bytes:
        title = "%d %s" % (self.code, self.TITLES.get(self.code, ""))
        return ("%s\n\n%s\n\n   " % (title, self.explanation)).encode()


@dataclasses.dataclass
class Identity:
    """The instance named by a request: by ``instance_uuid`` (then ``project_id``
    must own it) or by ``address`` alone; ``address`` is the guest's address."""

    instance_uuid: str | None = None
    project_id: str | None = None
    address: str | None = None


def _single(headers: Any, name: str) -> tuple[str | None, bool]:
    """The header's value and whether it was sent more than once."""
    values = headers.getRawHeaders(name)
    if not values:
        return None, False
    return values[0].decode("latin-1") if isinstance(values[0], bytes) else values[0], \
        len(values) > 1


def sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def check_signature(secret: str, value: str, signature: str | None,
                    address: str | None) -> None:
    expected = sign(secret, value)
    if not signature or not hmac.compare_digest(expected.encode(),
                                                signature.encode("utf-8", "replace")):
        # Never log the expected value: it would sign any request.
        LOG.warning("Bad metadata proxy signature for id %s (request from %s)",
                    value, address)
        raise HTTPError(403, "Invalid proxy request signature.")


def from_proxy(conf: Any, headers: Any) -> Identity:
    instance_id, many_ids = _single(headers, b"X-Instance-ID")
    tenant_id, many_tenants = _single(headers, b"X-Tenant-ID")
    signature, many_signatures = _single(headers, b"X-Instance-ID-Signature")
    forwarded, _ = _single(headers, b"X-Forwarded-For")
    address = first_forwarded(forwarded) if forwarded else None
    if instance_id is None:
        msg = "X-Instance-ID header is missing from request."
    elif signature is None:
        msg = "X-Instance-ID-Signature header is missing from request."
    elif tenant_id is None:
        msg = "X-Tenant-ID header is missing from request."
    elif many_ids:
        msg = "Multiple X-Instance-ID headers found within request."
    elif many_tenants:
        msg = "Multiple X-Tenant-ID headers found within request."
    elif many_signatures:
        msg = "Multiple X-Instance-ID-Signature headers found within request."
    else:
        msg = None
    if msg:
        raise HTTPError(400, msg)
    check_signature(conf.neutron.metadata_proxy_shared_secret, instance_id, signature,
                    address)
    return Identity(instance_uuid=instance_id, project_id=tenant_id, address=address)


def first_forwarded(value: str) -> str:
    return value.split(",")[0].strip()


def from_source(conf: Any, headers: Any, peer: str | None) -> Identity:
    if headers.hasHeader(b"X-Instance-ID"):
        LOG.warning("X-Instance-ID present in request headers. The "
                    "'service_metadata_proxy' option must be enabled to process this "
                    "header.")
    address = peer
    if conf.api.use_forwarded_for:
        forwarded, _ = _single(headers, b"X-Forwarded-For")
        if forwarded:
            address = first_forwarded(forwarded)
    return Identity(address=address)


async def from_provider(conf: Any, headers: Any, network: Any) -> Identity:
    """The load-balancer mode: the provider's networks, then the one port there with
    the guest's address (400 unless exactly one)."""
    forwarded, _ = _single(headers, b"X-Forwarded-For")
    if forwarded is None:
        raise HTTPError(400, "X-Forwarded-For is missing from request.")
    provider, _ = _single(headers, b"X-Metadata-Provider")
    if provider is None:
        raise HTTPError(400, "X-Metadata-Provider is missing from request.")
    address = first_forwarded(forwarded)
    secret = conf.neutron.metadata_proxy_shared_secret
    if secret:
        signature, _ = _single(headers, b"X-Metadata-Provider-Signature")
        check_signature(secret, provider, signature, address)
    if network is None:
        raise HTTPError(500, "An unknown error has occurred. Please try your request "
                        "again.")
    from nova_tx.context import RequestContext

    context = RequestContext(is_admin=True, roles=["admin"])
    try:
        subnets = await network.list_subnets(context,
                                             advanced_service_providers=[provider])
        networks = sorted({s["network_id"] for s in subnets})
        ports = []
        if networks:
            ports = await network.list_ports(context,
                                             fixed_ips="ip_address=" + address,
                                             network_id=networks)
    except Exception as e:
        LOG.error("Failed to find the port of %s behind provider %s: %s",
                  address, provider, e)
        raise HTTPError(500, "An unknown error has occurred. Please try your request "
                        "again.") from None
    if len(ports) != 1:
        raise HTTPError(400, "Expected a single port matching provider %s and IP %s. "
                        "Found %d." % (provider, address, len(ports)))
    port = ports[0]
    return Identity(instance_uuid=port["device_id"],
                    project_id=port.get("tenant_id") or port.get("project_id"),
                    address=address)

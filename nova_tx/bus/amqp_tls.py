"""TLS for the AMQP connection: oslo.messaging's ``[oslo_messaging_rabbit] ssl*``
options turned into what Twisted's TLS endpoint wrapper needs.

oslo.messaging's meaning is kept so that existing configurations behave the same:
the broker's certificate is verified only when ``ssl_ca_file`` names its authority
(chain, and host name unless ``ssl_enforce_hostname_verification`` is off); with
``ssl`` alone the connection is encrypted but the broker unauthenticated, which is
logged as a warning once. A client certificate (``ssl_cert_file`` + ``ssl_key_file``)
is presented when configured, which is also what ``rabbit_login_method = EXTERNAL``
logs in with.

The files are read once, when the transport is built (service start), so a missing or
unreadable file is a one-line configuration error then, not a failed reconnection
later, and nothing reads files in the reactor afterwards.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator

from nova_tx.bus.exception import MessagingException

LOG = logging.getLogger(__name__)

#: ``ssl_version`` values and the oldest TLS version each allows.
MINIMUM_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1_0,
    "TLSv1_1": ssl.TLSVersion.TLSv1_1,
    "TLSv1_2": ssl.TLSVersion.TLSv1_2,
    "TLSv1_3": ssl.TLSVersion.TLSv1_3,
}

Creator = Callable[[str], IOpenSSLClientConnectionCreator]


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise MessagingException(f"[oslo_messaging_rabbit] {what} {path!r} cannot be "
                                 f"read: {e.strerror or e}") from None


def _load(loader: Callable[[bytes], Any], data: bytes, path: str, what: str) -> Any:
    try:
        return loader(data)
    except Exception as e:  # OpenSSL's errors have no common class worth naming
        raise MessagingException(f"[oslo_messaging_rabbit] {what} {path!r} is not a "
                                 f"usable PEM file: {e}") from None


def client_tls(option: Callable[[str], Any]) -> Creator | None:
    """A factory of per-host TLS connection creators, or None when ``ssl`` is off.

    ``option(name)`` reads an ``[oslo_messaging_rabbit]`` option (the URL may
    override it).
    """
    if not option("ssl"):
        return None
    extra: dict[str, Any] = {}
    version = option("ssl_version") or ""
    if version and version != "SSLv23":
        if version not in MINIMUM_VERSIONS:
            raise MessagingException(
                f"[oslo_messaging_rabbit] ssl_version {version!r} is not one of "
                f"{', '.join(['SSLv23', *MINIMUM_VERSIONS])}")
        extra["raiseMinimumTo"] = MINIMUM_VERSIONS[version]

    cert_file, key_file = option("ssl_cert_file"), option("ssl_key_file")
    if bool(cert_file) != bool(key_file):
        raise MessagingException("[oslo_messaging_rabbit] ssl_cert_file and ssl_key_file "
                                 "go together: set both or neither")
    client_cert = None
    if cert_file:
        pem = _read(cert_file, "ssl_cert_file") + b"\n" + _read(key_file, "ssl_key_file")
        client_cert = _load(ssl.PrivateCertificate.loadPEM, pem, cert_file,
                            "ssl_cert_file/ssl_key_file")

    ca_file = option("ssl_ca_file")
    if not ca_file:
        LOG.warning("AMQP over TLS without [oslo_messaging_rabbit] ssl_ca_file: the "
                    "connection is encrypted but the broker's certificate is not verified")
        options = ssl.CertificateOptions(
            verify=False, **_client_key_pair(client_cert), **extra)
        return lambda hostname: options
    authority = _load(ssl.Certificate.loadPEM, _read(ca_file, "ssl_ca_file"), ca_file,
                      "ssl_ca_file")
    if not option("ssl_enforce_hostname_verification"):
        options = ssl.CertificateOptions(
            verify=True, caCerts=[authority.original], requireCertificate=True,
            **_client_key_pair(client_cert), **extra)
        return lambda hostname: options

    def for_host(hostname: str) -> IOpenSSLClientConnectionCreator:
        return ssl.optionsForClientTLS(hostname, trustRoot=authority,
                                       clientCertificate=client_cert,
                                       extraCertificateOptions=extra)

    return for_host


def _client_key_pair(client_cert: ssl.PrivateCertificate | None) -> dict[str, Any]:
    if client_cert is None:
        return {}
    return {"privateKey": client_cert.privateKey.original,
            "certificate": client_cert.original}

"""Certificates made by the tests: an authority, a server certificate, a client
certificate and an unrelated authority, as PEM files.

The AMQP TLS tests (a private RabbitMQ node) and the identity and network client tests
(a Keystone or Neutron stand-in over HTTPS) need the same four; a subclass names its
authority, client and server hosts.
"""
from __future__ import annotations

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import ssl


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool = False,
                hosts: tuple[str, ...] = ()) -> x509.Certificate:
    """A certificate of ``subject`` signed by ``issuer``, valid from five minutes ago for
    a day; ``hosts`` (names or IP addresses) are its subject alternative names."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if hosts:
        names = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit()
                 else x509.DNSName(h) for h in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Certificates:
    """``cacert``, ``cert``/``key`` (the server's), ``client_cert``/``client_key`` and
    ``other_ca`` (an unrelated authority): paths of PEM files in ``directory``."""

    #: The authority's common name.
    authority = "nova-tx test CA"
    #: The client certificate's common name.
    client = "guest"
    #: The server certificate's subject alternative names.
    hosts: tuple[str, ...] = ("localhost",)
    #: The files' mode (None: as created).
    mode: int | None = None

    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = certificate(self.authority, ca_key, self.authority, ca_key, ca=True)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = certificate("localhost", server_key, self.authority, ca_key,
                             hosts=self.hosts)
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = certificate(self.client, client_key, self.authority, ca_key)
        other_key = ec.generate_private_key(ec.SECP256R1())
        other = certificate("another CA", other_key, "another CA", other_key, ca=True)
        self.cacert = self._write("ca.pem", ca)
        self.cert = self._write("server.pem", server)
        self.key = self._write("server.key", server_key)
        self.client_cert = self._write("client.pem", client)
        self.client_key = self._write("client.key", client_key)
        self.other_ca = self._write("other-ca.pem", other)

    def server_options(self) -> ssl.CertificateOptions:
        """Twisted's TLS options serving the server certificate."""
        with open(self.cert, "rb") as f, open(self.key, "rb") as g:
            pem = ssl.PrivateCertificate.loadPEM(f.read() + b"\n" + g.read())
        return pem.options()

    def _write(self, name: str, item) -> str:
        if isinstance(item, x509.Certificate):
            data = item.public_bytes(serialization.Encoding.PEM)
        else:
            data = item.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())
        path = os.path.join(self.directory, name)
        with open(path, "wb") as f:
            f.write(data)
        if self.mode is not None:
            os.chmod(path, self.mode)
        return path

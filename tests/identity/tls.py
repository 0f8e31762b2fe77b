"""Certificates made by the tests: an authority, a server certificate for localhost,
a client certificate, and an unrelated authority, as PEM files."""
from __future__ import annotations

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import ssl


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool = False,
                 host: str | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if host:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Certificates:
    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("identity test CA", ca_key, "identity test CA", ca_key, ca=True)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = _certificate("localhost", server_key, "identity test CA", ca_key,
                              host="localhost")
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = _certificate("nova", client_key, "identity test CA", ca_key)
        other_key = ec.generate_private_key(ec.SECP256R1())
        other = _certificate("another CA", other_key, "another CA", other_key, ca=True)
        self.cacert = self._write("ca.pem", ca)
        self.cert = self._write("server.pem", server)
        self.key = self._write("server.key", server_key)
        self.client_cert = self._write("client.pem", client)
        self.client_key = self._write("client.key", client_key)
        self.other_ca = self._write("other-ca.pem", other)

    def server_options(self) -> ssl.CertificateOptions:
        with open(self.cert, "rb") as f, open(self.key, "rb") as g:
            certificate = ssl.PrivateCertificate.loadPEM(f.read() + b"\n" + g.read())
        return certificate.options()

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
        return path

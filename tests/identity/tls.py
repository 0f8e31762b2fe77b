"""Certificates made by the tests: an authority, a server certificate for localhost,
a client certificate, and an unrelated authority, as PEM files."""
from __future__ import annotations

from tests import tls_certs


class Certificates(tls_certs.Certificates):
    authority = "identity test CA"
    client = "nova"
    hosts = ("localhost",)

"""Key pairs: what creating, importing and deleting one means (Nova's ``KeypairAPI``
and the key functions of ``nova/crypto.py``).

- ``ssh`` keys: generated as 2048-bit RSA (the private key in the traditional
  ``BEGIN RSA PRIVATE KEY`` PEM form, the public key as ``ssh-rsa <base64>
  Generated-by-Nova``); an imported key must be an OpenSSH public key. The
  fingerprint is the MD5 of the key blob in colon-separated hex.
- ``x509`` certificates (WinRM): generated as a self-signed client certificate for
  ``CN=<user_id>`` valid ten years, whose private key is returned as a base64 PKCS#12
  bundle without a password; an imported one must be a PEM certificate. The
  fingerprint is the certificate's SHA-1 in colon-separated hex.

The ``key_pairs`` quota is per user: one more is checked before a key pair is stored
and, with ``[quota] recheck_quota``, again after (a key pair that raced past the limit
is removed and the request fails with 403).
"""
from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from nova_tx import exception, log
from nova_tx.db.api import key_pairs as key_pairs_db
from nova_tx.objects.keypair import KEYPAIR_TYPE_SSH, KEYPAIR_TYPE_X509, KeyPair

LOG = log.getLogger(__name__)

#: Microsoft's User Principal Name, the otherName WinRM certificates carry.
UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def _colon_hex(digest: str) -> str:
    return ":".join(a + b for a, b in zip(digest[::2], digest[1::2], strict=True))


def generate_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key; InvalidKeypair if it is not one
    (or if it holds a NUL, which some databases cannot store)."""
    try:
        if "\x00" in public_key:
            raise ValueError("NUL in key")
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split(" ")[1])
        return _colon_hex(hashlib.md5(blob, usedforsecurity=False).hexdigest())
    except Exception:
        raise exception.InvalidKeypair(reason="failed to generate fingerprint") from None


def generate_x509_fingerprint(pem_key: str | bytes) -> str:
    """The SHA-1 fingerprint of a PEM certificate; InvalidKeypair if it is not one."""
    try:
        if isinstance(pem_key, str):
            pem_key = pem_key.encode("utf-8")
        if b"\x00" in pem_key:
            raise ValueError("the certificate holds a NUL character")
        cert = x509.load_pem_x509_certificate(pem_key)
        return _colon_hex(binascii.hexlify(cert.fingerprint(hashes.SHA1())).decode("ascii"))
    except (ValueError, TypeError, binascii.Error) as e:
        raise exception.InvalidKeypair(
            reason="failed to generate X509 fingerprint. Error message: %s" % e) from None


def generate_key_pair(bits: int = 2048) -> tuple[str, str, str]:
    """A new RSA key: (private key PEM, ``ssh-rsa ... Generated-by-Nova``, fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode("ascii")
    openssh = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
    public_key = "%s Generated-by-Nova" % openssh
    return private_key, public_key, generate_fingerprint(public_key)


def _der_utf8_string(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) < 0x80:
        length = bytes([len(data)])
    else:
        size = data.__len__().to_bytes((len(data).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return b"\x0c" + length + data


def generate_winrm_x509_cert(user_id: str, bits: int = 2048,
                             now: datetime.datetime | None = None) -> tuple[str, str, str]:
    """A WinRM client certificate for ``user_id``: (base64 PKCS#12 of key and
    certificate with an empty password, certificate PEM, fingerprint)."""
    try:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    except ValueError as e:
        # A CN is at most 64 characters; Keystone's user ids are 32.
        raise exception.InvalidKeypair(
            reason="cannot make a certificate for user %s: %s" % (user_id, e)) from None
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    now = now or datetime.datetime.now(datetime.UTC)
    upn = "%s@localhost" % user_id
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName(
            [x509.OtherName(UPN_OID, _der_utf8_string(upn))]), critical=False)
        .sign(key, hashes.SHA256()))
    certificate = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    bundle = pkcs12.serialize_key_and_certificates(
        None, key, cert, None, serialization.NoEncryption())
    return (base64.b64encode(bundle).decode("ascii"), certificate,
            generate_x509_fingerprint(certificate))


def fingerprint_for(public_key: str, key_type: str) -> str:
    if key_type == KEYPAIR_TYPE_X509:
        return generate_x509_fingerprint(public_key)
    return generate_fingerprint(public_key)


def generate_for(user_id: str, key_type: str) -> tuple[str, str, str]:
    """(private key, public key or certificate, fingerprint) of a new key pair."""
    if key_type == KEYPAIR_TYPE_X509:
        return generate_winrm_x509_cert(user_id)
    return generate_key_pair()


def _defer_to_thread(fn: Callable[..., Any], *args) -> Any:
    from twisted.internet import threads

    return threads.deferToThread(fn, *args)


class KeypairAPI:
    """Key pair operations for the REST API (and anything else that needs them).

    ``db`` is the API database's DBThreadPool, ``quota`` the QuotaEngine,
    ``notifier`` (optional) sends the legacy and versioned ``keypair.*``
    notifications (``nova_tx.notifications.keypair``). Key generation (CPU-bound)
    runs in ``run_in_thread``, never in the reactor.
    """

    def __init__(self, db, quota, conf, notifier=None, *,
                 run_in_thread: Callable[..., Any] = _defer_to_thread):
        self.db = db
        self.quota = quota
        self.conf = conf
        self.notifier = notifier
        self.run_in_thread = run_in_thread

    def _notify(self, context, action: str, phase: str, keypair: KeyPair,
                **which: bool) -> None:
        if self.notifier is not None:
            self.notifier.notify_keypair(context, action, phase, keypair, **which)

    async def _check_quota(self, context, user_id: str, delta: int) -> None:
        try:
            await self.quota.check_deltas(context, {"key_pairs": delta}, user_id)
        except exception.KeypairLimitExceeded:
            raise
        except exception.OverQuota:
            raise exception.KeypairLimitExceeded() from None

    async def _store(self, context, keypair: KeyPair) -> KeyPair:
        stored = await self.db.do(
            key_pairs_db.create, user_id=keypair.user_id, name=keypair.name,
            fingerprint=keypair.fingerprint, public_key=keypair.public_key,
            type=keypair.type)
        if self.conf.quota.recheck_quota:
            try:
                await self._check_quota(context, keypair.user_id, 0)
            except exception.KeypairLimitExceeded:
                await self.db.do(key_pairs_db.destroy_by_name, keypair.user_id,
                                 keypair.name)
                raise
        return stored

    async def import_key_pair(self, context, user_id: str, key_name: str, public_key: str,
                              key_type: str = KEYPAIR_TYPE_SSH) -> KeyPair:
        """Store the user's existing public key (or certificate)."""
        await self._check_quota(context, user_id, 1)
        keypair = KeyPair(name=key_name, user_id=user_id, fingerprint=None,
                          public_key=public_key, type=key_type)
        self._notify(context, "import", "start", keypair)
        keypair = KeyPair(name=key_name, user_id=user_id,
                          fingerprint=fingerprint_for(public_key, key_type),
                          public_key=public_key, type=key_type)
        keypair = await self._store(context, keypair)
        self._notify(context, "import", "end", keypair)
        return keypair

    async def create_key_pair(self, context, user_id: str, key_name: str,
                              key_type: str = KEYPAIR_TYPE_SSH) -> tuple[KeyPair, str]:
        """Generate a key pair: (the stored key pair, its private key)."""
        await self._check_quota(context, user_id, 1)
        keypair = KeyPair(name=key_name, user_id=user_id, fingerprint=None,
                          public_key=None, type=key_type)
        self._notify(context, "create", "start", keypair)
        private_key, public_key, fingerprint = await self.run_in_thread(
            generate_for, user_id, key_type)
        keypair = KeyPair(name=key_name, user_id=user_id, fingerprint=fingerprint,
                          public_key=public_key, type=key_type)
        keypair = await self._store(context, keypair)
        self._notify(context, "create", "end", keypair)
        return keypair, private_key

    async def delete_key_pair(self, context, user_id: str, key_name: str) -> None:
        """Delete the user's key pair ``key_name``; KeypairNotFound if there is none."""
        # As Nova: the legacy start goes out before the lookup, the versioned one
        # (which carries the key pair) after it.
        self._notify(context, "delete", "start",
                     KeyPair(name=key_name, user_id=user_id, fingerprint=None,
                             public_key=None), versioned=False)
        keypair = await self.get_key_pair(context, user_id, key_name)
        self._notify(context, "delete", "start", keypair, legacy=False)
        await self.db.do(key_pairs_db.destroy_by_name, user_id, key_name)
        self._notify(context, "delete", "end", keypair)

    async def get_key_pairs(self, context, user_id: str, limit: int | None = None,
                            marker: str | None = None) -> list[KeyPair]:
        return await self.db.do(key_pairs_db.get_by_user, user_id, limit=limit,
                                marker=marker)

    async def get_key_pair(self, context, user_id: str, key_name: str) -> KeyPair:
        return await self.db.do(key_pairs_db.get_by_name, user_id, key_name)

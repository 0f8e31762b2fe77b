"""``keypair.{create,import,delete}.{start,end}``: Nova's versioned ``KeypairPayload``
1.0 and the legacy (unversioned) notification of the same name.

Versioned (publisher ``nova-api:<host>``): ``user_id``, ``name``, ``fingerprint``,
``public_key``, ``type``; ``create.start`` has neither fingerprint nor public key yet,
``import.start`` no fingerprint. Legacy (publisher ``api.<host>``): ``{"tenant_id",
"user_id", "key_name"}`` of the caller, as Nova's ``KeypairAPI._notify``. Which of
them go out is ``[notifications] notification_format``'s business (the notifiers').
"""
from __future__ import annotations

from typing import Any

from nova_tx.notifications import base
from nova_tx.objects.keypair import KeyPair

CREATE, IMPORT, DELETE = "create", "import", "delete"
START, END = "start", "end"


class KeypairPayload(base.NotificationPayloadBase):
    SCHEMA_NAME = "KeypairPayload"
    VERSION = "1.0"

    def __init__(self, keypair: KeyPair):
        self.keypair = keypair

    def data(self) -> dict[str, Any]:
        k = self.keypair
        return {"user_id": k.user_id, "name": k.name, "fingerprint": k.fingerprint,
                "public_key": k.public_key, "type": k.type}


def keypair_notification(action: str, phase: str, keypair: KeyPair, host: str,
                         source: str = "nova-api") -> base.NotificationBase:
    return base.NotificationBase(
        event_type=base.EventType("keypair", action, phase),
        publisher=base.NotificationPublisher(host=host, source=source),
        payload=KeypairPayload(keypair))


class KeypairNotifier:
    """What ``nova_tx.compute.keypairs.KeypairAPI`` calls: sends the legacy
    notification (``legacy``, a Notifier of publisher ``api.<host>``) and the versioned
    one (``versioned``); either may be None. Never fails the operation."""

    def __init__(self, host: str, versioned=None, legacy=None):
        self.host = host
        self.versioned = versioned
        self.legacy = legacy

    def notify_keypair(self, context, action: str, phase: str, keypair: KeyPair, *,
                       legacy: bool = True, versioned: bool = True) -> None:
        if legacy and self.legacy is not None and self.legacy.is_enabled():
            payload = {"tenant_id": getattr(context, "project_id", None),
                       "user_id": getattr(context, "user_id", None),
                       "key_name": keypair.name}
            try:
                self.legacy.info(context, "keypair.%s.%s" % (action, phase), payload)
            except Exception:  # a notification never fails the request
                base.LOG.exception("keypair.%s.%s could not be sent", action, phase)
        if versioned:
            keypair_notification(action, phase, keypair, self.host).emit(self.versioned,
                                                                         context)

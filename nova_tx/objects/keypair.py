"""A user's key pair as the API database stores it (``key_pairs``).

Nova's API database does not soft-delete key pairs, but its API still shows
``deleted`` (always False) and ``deleted_at`` (always None): they are properties here.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any

KEYPAIR_TYPE_SSH = "ssh"
KEYPAIR_TYPE_X509 = "x509"
KEYPAIR_TYPES = (KEYPAIR_TYPE_SSH, KEYPAIR_TYPE_X509)


@dataclasses.dataclass(frozen=True)
class KeyPair:
    name: str
    user_id: str
    fingerprint: str | None
    public_key: str | None
    type: str = KEYPAIR_TYPE_SSH
    id: int | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    @property
    def deleted(self) -> bool:
        return False

    @property
    def deleted_at(self) -> None:
        return None

    def to_dict(self) -> dict[str, Any]:
        """Every field Nova's KeyPair object has, by name (the API views pick from it)."""
        values = dataclasses.asdict(self)
        values["deleted"] = self.deleted
        values["deleted_at"] = self.deleted_at
        return values

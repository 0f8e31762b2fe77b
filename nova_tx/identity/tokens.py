"""Tokens of the embedded identity: random strings kept in memory until they expire.

A token records who it was issued to and for what scope, not the roles: those are
read from the directory each time the token is shown, as Keystone's Fernet tokens do.
Expired and revoked tokens are forgotten lazily (on the next issue after a minute), so
nothing runs in the background. The store is the process's: a restart invalidates the
tokens, and clients authenticate again.
"""
from __future__ import annotations

import base64
import dataclasses
import secrets

#: Seconds between two sweeps of expired tokens.
PURGE_INTERVAL = 60.0


def random_id(nbytes: int = 16) -> str:
    """An URL-safe random identifier (audit ids are 22 characters, as Keystone's)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


@dataclasses.dataclass(frozen=True)
class Token:
    id: str
    user_id: str
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    system: bool = False

    @property
    def scoped(self) -> bool:
        return self.project_id is not None or self.system


class TokenStore:
    """Issued tokens by id; time is ``clock.seconds()`` (a reactor or a Clock)."""

    def __init__(self, clock, lifetime: float):
        self.clock = clock
        self.lifetime = lifetime
        self._tokens: dict[str, Token] = {}
        self._last_purge = clock.seconds()

    def issue(self, user_id: str, methods: list[str], *, project_id: str | None = None,
              system: bool = False, parent: Token | None = None) -> Token:
        """A new token; one made from ``parent`` (token method) keeps its expiry and
        carries its audit chain, as Keystone's do."""
        now = self.clock.seconds()
        self._purge(now)
        if parent is None:
            expires_at = now + self.lifetime
            audit_ids: tuple[str, ...] = (random_id(),)
        else:
            expires_at = parent.expires_at
            audit_ids = (random_id(), parent.audit_ids[-1])
        token = Token(id=random_id(32), user_id=user_id, methods=tuple(methods),
                      issued_at=now, expires_at=expires_at, audit_ids=audit_ids,
                      project_id=project_id, system=system)
        self._tokens[token.id] = token
        return token

    def get(self, token_id: str | None) -> Token | None:
        """The valid token ``token_id`` names, or None (unknown, expired, revoked)."""
        if not token_id:
            return None
        token = self._tokens.get(token_id)
        if token is None:
            return None
        if token.expires_at <= self.clock.seconds():
            del self._tokens[token_id]
            return None
        return token

    def revoke(self, token_id: str) -> bool:
        """Forget ``token_id``; whether it was a valid token."""
        valid = self.get(token_id) is not None
        self._tokens.pop(token_id, None)
        return valid

    def __len__(self) -> int:
        return len(self._tokens)

    def _purge(self, now: float) -> None:
        if now - self._last_purge < PURGE_INTERVAL:
            return
        self._last_purge = now
        for token_id in [t.id for t in self._tokens.values() if t.expires_at <= now]:
            del self._tokens[token_id]

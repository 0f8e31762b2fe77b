"""Rendered metadata kept per instance for ``[api] metadata_cache_expiration`` seconds
(0: not kept), on the reactor's clock.

Entries are found by how the request named the instance (its uuid, its address, or a
load-balancer provider and address), as Nova's cache keys; :meth:`invalidate` drops
every entry of one instance at once, which the service does when it changes the
instance itself (a password written by the guest).
"""
from __future__ import annotations

from typing import Any


class MetadataCache:
    def __init__(self, expiration: int, clock: Any):
        self.expiration = expiration
        self.clock = clock
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._keys_of: dict[str, set] = {}

    def get(self, key: Any) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self.clock.seconds() >= expires:
            self._drop(key)
            return None
        return value

    def put(self, key: Any, instance_uuid: str, value: Any) -> None:
        if self.expiration <= 0:
            return
        self._entries[key] = (self.clock.seconds() + self.expiration, value)
        self._keys_of.setdefault(instance_uuid, set()).add(key)
        if len(self._entries) % 1024 == 0:
            self._purge()

    def invalidate(self, instance_uuid: str) -> None:
        for key in self._keys_of.pop(instance_uuid, ()):
            self._entries.pop(key, None)

    def _drop(self, key: Any) -> None:
        self._entries.pop(key, None)

    def _purge(self) -> None:
        """Forget expired entries, so a cache of many instances does not only grow."""
        now = self.clock.seconds()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        live = set(self._entries)
        for uuid in list(self._keys_of):
            self._keys_of[uuid] &= live
            if not self._keys_of[uuid]:
                del self._keys_of[uuid]

    def __len__(self) -> int:
        return len(self._entries)

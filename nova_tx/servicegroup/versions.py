"""``[upgrade_levels] <service> = auto``: the RPC version cap that the oldest running
service of the deployment understands.

During a rolling upgrade old and new services run side by side; a client of the new
code must not send a version an old server would refuse. With ``auto`` the cap is the
RPC version that ``SERVICE_VERSION_HISTORY`` gives for the lowest ``services.version``
of the serving binary (Nova's ``_determine_version_cap``):

- no service of that binary recorded yet (minimum 0): no cap, and nothing is cached,
  so the first real service is seen at the next call;
- older than this code still talks to: ``ServiceTooOld``; newer than it knows:
  ``ServiceTooNew`` (this service is the one to upgrade);
- otherwise the cap is cached until SIGHUP (``reset``), which the procedure in
  spec F asks operators to send once every service runs the new code.
"""
from __future__ import annotations

import logging
from typing import Any

from nova_tx import exception
from nova_tx.objects import service as service_obj

LOG = logging.getLogger(__name__)


def rpc_version_cap(binary: str, rpc_key: str, minimum: int) -> str | None:
    """The cap for ``rpc_key`` (``conductor_rpc``, ...) when the oldest ``binary``
    runs service version ``minimum``; None (no cap) when there is none yet."""
    if minimum == 0:
        return None
    history = service_obj.SERVICE_VERSION_HISTORY
    if minimum < service_obj.OLDEST_SUPPORTED_SERVICE_VERSION:
        raise exception.ServiceTooOld(
            binary=binary, minver=minimum, thisver=service_obj.SERVICE_VERSION,
            oldest=service_obj.OLDEST_SUPPORTED_SERVICE_VERSION)
    if minimum not in history:
        raise exception.ServiceTooNew(binary=binary, minver=minimum,
                                      thisver=service_obj.SERVICE_VERSION)
    return history[minimum][rpc_key]


class AutoVersionCap:
    """The cap one RPC API client uses with ``auto``, worked out on first use.

    ``records`` is where service records live for this process (its database, or the
    conductor's gateway): anything with ``get_minimum_version(binaries)``.
    """

    def __init__(self, records: Any, binary: str, rpc_key: str):
        self.records = records
        self.binary = binary
        self.rpc_key = rpc_key
        self._cap: str | None = None
        self._known = False

    async def get(self) -> str | None:
        if self._known:
            return self._cap
        minimum = (await self.records.get_minimum_version([self.binary]))[self.binary]
        cap = rpc_version_cap(self.binary, self.rpc_key, minimum)
        if cap is None:
            LOG.debug("Not caching the %s version cap: no %s service is recorded yet",
                      self.rpc_key, self.binary)
            return None
        self._cap, self._known = cap, True
        LOG.info("Automatically selected %s version %s from minimum service version %i",
                 self.rpc_key.replace("_rpc", " RPC"), cap, minimum)
        return cap

    def reset(self) -> None:
        """Forget the cap (SIGHUP): the next call looks at the services again."""
        self._cap, self._known = None, False

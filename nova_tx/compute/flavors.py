"""What flavor operations mean (Nova's ``compute/flavors.py`` and the Flavor object):
the rules of a new flavor, who sees which flavor, and the notifications of changes.

The same :class:`FlavorAPI` serves the REST resources and anything else (the
all-in-one's seeding, ``nova-manage``); it runs the queries of
``nova_tx.db.api.flavors`` in the API database's thread pool.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from oslo_utils import strutils

from nova_tx import exception, log
from nova_tx.db.api import flavors as db
from nova_tx.notifications import flavor as flavor_notifications
from nova_tx.objects.flavor import Flavor

LOG = log.getLogger(__name__)

#: The largest value of an Integer column (Nova's ``db.constants.MAX_INT``).
MAX_INT = 0x7FFFFFFF
#: The largest single-precision float a Float column keeps (``SQL_SP_FLOAT_MAX``).
SQL_SP_FLOAT_MAX = 3.40282e+38

# (argument name in messages, minimum) of the integer fields, as Nova checks them.
_INTEGER_FIELDS = {
    "memory_mb": ("ram", 1),
    "vcpus": ("vcpus", 1),
    "root_gb": ("disk", 0),
    "ephemeral_gb": ("ephemeral", 0),
    "swap": ("swap", 0),
}


def _validate_integer(value: Any, name: str, minimum: int) -> int:
    try:
        return strutils.validate_integer(value, name, min_value=minimum, max_value=MAX_INT)
    except ValueError as e:
        raise exception.InvalidInput(reason=str(e)) from None


def new_flavor(name: str, memory: Any, vcpus: Any, root_gb: Any, ephemeral_gb: Any = 0,
               flavorid: Any = None, swap: Any = 0, rxtx_factor: Any = 1.0,
               is_public: Any = True, description: str | None = None) -> Flavor:
    """The flavor these arguments describe, checked as Nova's ``flavors.create`` does
    (InvalidInput, 400). No ``flavorid`` (None or empty) means a new UUID; a number
    becomes its string; the name loses surrounding spaces."""
    if not flavorid:  # None, "" and 0 alike, as in Nova
        flavorid = str(uuid.uuid4())
    values = {"memory_mb": memory, "vcpus": vcpus, "root_gb": root_gb,
              "ephemeral_gb": ephemeral_gb, "swap": swap}
    checked = {key: _validate_integer(values[key], label, minimum)
               for key, (label, minimum) in _INTEGER_FIELDS.items()}
    try:
        rxtx = float(rxtx_factor)
        if not 0 < rxtx <= SQL_SP_FLOAT_MAX:
            raise ValueError()
    except (TypeError, ValueError):
        raise exception.InvalidInput(
            reason="'rxtx_factor' argument must be a float between 0 and %g"
            % SQL_SP_FLOAT_MAX) from None
    try:
        public = strutils.bool_from_string(is_public, strict=True)
    except ValueError:
        raise exception.InvalidInput(reason="is_public must be a boolean") from None
    if isinstance(name, str):
        name = name.strip()
    return Flavor(flavorid=str(flavorid), name=name, rxtx_factor=rxtx, is_public=public,
                  description=description, **checked)


class FlavorAPI:
    """Flavor operations over the API database's ``DBThreadPool``.

    ``notifier`` is the versioned notifier (``nova_tx.bus.notifier``; None sends
    nothing); ``host`` goes into the publisher id (``nova-api:<host>``).
    """

    def __init__(self, pool, notifier=None, host: str = "localhost"):
        self.pool = pool
        self.notifier = notifier
        self.host = host

    async def _notify(self, context, action: str, flavor: Flavor) -> None:
        """Send the notification without waiting for it: a bus that is down (the
        notifier retries, by default without end) must not hold the API's answer."""
        note = flavor_notifications.flavor_notification(action, flavor, self.host)
        note.emit(self.notifier, context).addErrback(
            lambda failure: LOG.error("flavor.%s notification not sent: %s", action,
                                      failure.getErrorMessage()))

    @staticmethod
    def _visibility(context) -> dict[str, Any]:
        return {"admin": bool(context.is_admin), "project_id": context.project_id}

    async def get(self, context, flavorid: str) -> Flavor:
        """The flavor as the caller may see it (FlavorNotFound for a private flavor
        their project has no access to, unless they are an admin)."""
        return await self.pool.do(db.get_by_flavorid, str(flavorid),
                                  **self._visibility(context))

    async def get_all(self, context, **filters: Any) -> list[Flavor]:
        return await self.pool.do(db.get_all, **self._visibility(context), **filters)

    async def create(self, context, flavor: Flavor) -> Flavor:
        """Store a flavor made by :func:`new_flavor` (FlavorExists, FlavorIdExists)."""
        created = await self.pool.do(db.create, flavor)
        await self._notify(context, flavor_notifications.CREATE, created)
        return created

    async def delete(self, context, flavorid: str) -> None:
        deleted = await self.pool.do(db.destroy, str(flavorid))
        await self._notify(context, flavor_notifications.DELETE, deleted)

    async def update_description(self, context, flavorid: str,
                                 description: str | None) -> Flavor:
        flavor = await self.pool.do(db.update_description, str(flavorid), description)
        await self._notify(context, flavor_notifications.UPDATE, flavor)
        return flavor

    async def update_extra_specs(self, context, flavorid: str,
                                 specs: Mapping[str, str]) -> Flavor:
        flavor = await self.pool.do(db.update_extra_specs, str(flavorid), dict(specs))
        await self._notify(context, flavor_notifications.UPDATE, flavor)
        return flavor

    async def delete_extra_spec(self, context, flavorid: str, key: str) -> Flavor:
        flavor = await self.pool.do(db.delete_extra_spec, str(flavorid), key)
        await self._notify(context, flavor_notifications.UPDATE, flavor)
        return flavor

    async def add_access(self, context, flavorid: str, project_id: str) -> Flavor:
        flavor = await self.pool.do(db.add_access, str(flavorid), project_id)
        await self._notify(context, flavor_notifications.UPDATE, flavor)
        return flavor

    async def remove_access(self, context, flavorid: str, project_id: str) -> Flavor:
        flavor = await self.pool.do(db.remove_access, str(flavorid), project_id)
        await self._notify(context, flavor_notifications.UPDATE, flavor)
        return flavor

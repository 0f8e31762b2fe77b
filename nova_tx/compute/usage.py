"""Usage of a period, per project (``os-simple-tenant-usage``; Nova's
``SimpleTenantUsageController._tenant_usages_for_period``).

Hours are those of the period the instance ran (from its launch or the period's
start, whichever is later, to its termination or the period's end); the totals
weigh them by the flavor's vCPUs, memory and disk (root + ephemeral). The instances
come from every cell, merged in (project, uuid) order and paged; a cell that does not
answer is left out with a warning. An instance without a recorded flavor is billed by
its flavor id when it is deleted (Nova's fallback for old records), and skipped when
that flavor is gone too.
"""
from __future__ import annotations

import collections
import datetime
import logging
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings
from nova_tx.db.api import flavors as flavors_db
from nova_tx.db.api import models as api_models
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import usage as usage_db
from nova_tx.db.main.usage import UsageInstance
from nova_tx.db.types import utcnow
from nova_tx.objects.cell_mapping import BaseUrls
from nova_tx.objects.flavor import Flavor

LOG = logging.getLogger(__name__)

_flavors = api_models.Flavors.__table__


def hours_for(instance: UsageInstance, start: datetime.datetime,
              stop: datetime.datetime) -> float:
    """Hours ``instance`` ran between ``start`` and ``stop`` (Nova's ``_hours_for``)."""
    launched, terminated = instance.launched_at, instance.terminated_at
    if terminated is not None and terminated < start:
        return 0
    if launched is None or launched > stop:
        return 0
    begin = max(launched, start)
    end = min(stop, terminated) if terminated is not None else stop
    return (end - begin).total_seconds() / 3600.0


class UsageAPI:
    """``api_db``: the API database's DBThreadPool; ``cells``: the CellEngines."""

    def __init__(self, api_db, cells: CellEngines, conf):
        self.api_db = api_db
        self.cells = cells
        self.conf = conf

    def _base_urls(self) -> BaseUrls | None:
        try:
            return BaseUrls.from_conf(self.conf)
        except Exception:  # the options are not registered in this process
            return None

    async def instances(self, start: datetime.datetime, stop: datetime.datetime, *,
                        project_id: str | None, limit: int, marker: str | None
                        ) -> list[tuple[UsageInstance, Flavor | None]]:
        """One page of the instances active in the period, with the flavor each is
        billed by; MarkerNotFound when no cell has the instance ``marker``."""
        return await self.api_db.do(self._instances, start, stop, project_id, limit,
                                    marker)

    def _instances(self, api_conn: sa.Connection, start, stop, project_id, limit, marker
                   ) -> list[tuple[UsageInstance, Flavor | None]]:
        engines = []
        for cell in cell_mappings.get_all(api_conn, base_urls=self._base_urls()):
            if cell.database_connection:
                engines.append((cell, self.cells.engine(cell.database_connection)))
        after = None
        if marker is not None:
            for _cell, engine in engines:
                try:
                    with engine.connect() as conn:
                        after = usage_db.get_sort_values(conn, marker)
                except sa.exc.SQLAlchemyError:
                    continue
                if after is not None:
                    break
            else:
                raise exception.MarkerNotFound(marker=marker)
        found: list[UsageInstance] = []
        for cell, engine in engines:
            try:
                with engine.connect() as conn:
                    found += usage_db.get_active_by_window(
                        conn, start, stop, project_id=project_id, limit=limit,
                        after=after)
            except sa.exc.SQLAlchemyError as e:
                LOG.warning("Failed to get usage for cell %s: %s", cell.identity, e)
        found.sort(key=lambda i: i.sort_key)
        page = found[:limit]
        by_id: dict[int, Flavor | None] = {}
        result = []
        for instance in page:
            flavor = instance.flavor
            if flavor is None and instance.deleted and instance.instance_type_id:
                if instance.instance_type_id not in by_id:
                    row = api_conn.execute(sa.select(_flavors).where(
                        _flavors.c.id == instance.instance_type_id)).first()
                    by_id[instance.instance_type_id] = (
                        flavors_db.from_row(row) if row is not None else None)
                flavor = by_id[instance.instance_type_id]
            result.append((instance, flavor))
        return result


def _time(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def tenant_usages(found: list[tuple[UsageInstance, Flavor | None]],
                  start: datetime.datetime, stop: datetime.datetime, *, detailed: bool,
                  now: datetime.datetime | None = None
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(one summary per project, every server usage) as Nova's API shows them."""
    now = now or utcnow()
    summaries: dict[str, dict[str, Any]] = collections.OrderedDict()
    server_usages = []
    for instance, flavor in found:
        if flavor is None:
            # Nothing to bill it by.
            continue
        hours = hours_for(instance, start, stop)
        ended = instance.terminated_at
        state = "terminated" if ended is not None else instance.vm_state
        uptime = (ended if ended is not None else now) - instance.launched_at
        info = {
            "hours": hours,
            "flavor": flavor.name,
            "instance_id": instance.uuid,
            "name": instance.display_name,
            "tenant_id": instance.project_id,
            "memory_mb": flavor.memory_mb,
            "local_gb": flavor.root_gb + flavor.ephemeral_gb,
            "vcpus": flavor.vcpus,
            "started_at": _time(instance.launched_at),
            "ended_at": _time(ended),
            "state": state,
            "uptime": int(uptime.total_seconds()),
        }
        summary = summaries.get(instance.project_id)
        if summary is None:
            summary = summaries[instance.project_id] = {
                "tenant_id": instance.project_id,
                **({"server_usages": []} if detailed else {}),
                "total_local_gb_usage": 0, "total_vcpus_usage": 0,
                "total_memory_mb_usage": 0, "total_hours": 0,
                "start": _time(start), "stop": _time(stop),
            }
        summary["total_local_gb_usage"] += info["local_gb"] * hours
        summary["total_vcpus_usage"] += info["vcpus"] * hours
        summary["total_memory_mb_usage"] += info["memory_mb"] * hours
        summary["total_hours"] += hours
        server_usages.append(info)
        if detailed:
            summary["server_usages"].append(info)
    return list(summaries.values()), server_usages

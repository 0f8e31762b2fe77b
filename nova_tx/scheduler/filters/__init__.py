"""Host filters: the ``IHostFilter`` plugins and the handler that applies them.

A filter answers for all candidate rows of ``HostStates`` at once:
``filter_all(host_states, rows, spec_obj)`` returns a boolean mask over ``rows``. The
built-in filters (one module per filter or group, Nova's module and class names) are
array operations; the few that must look at hosts one by one say so in their
docstring. A filter written as Nova writes one (``host_passes(host_state, spec_obj)``
on a ``BaseHostFilter`` subclass) works unchanged, host by host.

Filters are Twisted plugins: ``plugins/nova_tx_filters.py`` names the built-ins, and an
operator's module in any ``nova_tx/plugins`` directory on ``sys.path`` adds more. The
handler loads ``[filter_scheduler] available_filters`` (``nova.scheduler.filters.
all_filters`` or ``nova_tx.scheduler.filters.all_filters``: every plugin found; a
dotted class path: that class) and applies ``enabled_filters`` in order, with Nova's
``SchedulerHostFilterNotFound`` for a name that is not available.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from oslo_config import cfg
from twisted.plugin import IPlugin
from zope.interface import Attribute, Interface, implementer

from nova_tx import exception
from nova_tx.scheduler import loadables

__all__ = ["BaseHostFilter", "FilterHandler", "IHostFilter", "all_filters"]

LOG = logging.getLogger(__name__)

#: The values of ``available_filters`` that mean "every filter plugin".
ALL_FILTERS = ("nova.scheduler.filters.all_filters", "nova_tx.scheduler.filters.all_filters")


class IHostFilter(Interface):
    """A host filter (plugin): which candidate hosts can take the request."""

    name = Attribute("The name ``enabled_filters`` uses (Nova's class name).")
    run_filter_once_per_request = Attribute(
        "True: skipped for the second and later instances of a multi-create.")
    RUN_ON_REBUILD = Attribute("True: also runs for a rebuild's check of the host.")

    def with_conf(conf: cfg.ConfigOpts) -> IHostFilter:
        """The filter reading its options from ``conf`` (the plugin itself has none)."""

    def filter_all(host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        """A boolean mask over ``rows`` (rows of ``host_states``): True passes."""


@implementer(IPlugin, IHostFilter)
class BaseHostFilter(loadables.BasePlugin):
    """Base class: Nova's ``BaseHostFilter`` attributes and per-host fallback."""

    name = "BaseHostFilter"
    run_filter_once_per_request = False
    RUN_ON_REBUILD = False

    def run_filter_for_index(self, index: int) -> bool:
        return not (self.run_filter_once_per_request and index > 0)

    def filter_all(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        if not self.RUN_ON_REBUILD and request_is_rebuild(spec_obj):
            return np.ones(len(rows), dtype=bool)
        return np.asarray(self.filter_rows(host_states, np.asarray(rows, dtype=np.int64),
                                           spec_obj), dtype=bool)

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        """The mask; by default ``host_passes`` host by host (Nova's contract)."""
        return np.array([bool(self.host_passes(host_states.host_state(int(r)), spec_obj))
                         for r in rows], dtype=bool)

    def host_passes(self, host_state: Any, spec_obj: Any) -> bool:
        raise NotImplementedError(f"{self.name} implements neither filter_rows nor "
                                  "host_passes")


def request_is_rebuild(spec_obj: Any) -> bool:
    """Nova's ``scheduler.utils.request_is_rebuild``: the ``_nova_check_type`` hint."""
    hints = getattr(spec_obj, "scheduler_hints", None) if spec_obj is not None else None
    return bool(hints) and hints.get("_nova_check_type") == ["rebuild"]


def _plugins() -> list[IHostFilter]:
    return loadables.plugins(IHostFilter)


def all_filters() -> list[IHostFilter]:
    """Every filter plugin: the built-ins and any drop-in (Nova's ``all_filters``)."""
    return sorted(_plugins(), key=lambda f: f.name)


def load_available(paths: Iterable[str]) -> dict[str, IHostFilter]:
    """``available_filters``: name -> unconfigured filter (a later path naming a filter
    replaces an earlier one; ``all_filters`` adds only the names not yet there)."""
    found: dict[str, IHostFilter] = {}
    for plugin, from_every in loadables.load_paths(
            paths, IHostFilter, every=ALL_FILTERS, all_plugins=all_filters,
            nova_package="nova.scheduler.filters", kind="filter"):
        if from_every:
            found.setdefault(plugin.name, plugin)
        else:
            found[plugin.name] = plugin
    return found


class FilterHandler:
    """The enabled filters, loaded once, applied to candidate rows per request."""

    def __init__(self, conf: cfg.ConfigOpts, enabled: Sequence[str] | None = None) -> None:
        self.conf = conf
        options = conf.filter_scheduler
        self.available = load_available(options.available_filters)
        names = list(options.enabled_filters if enabled is None else enabled)
        missing = [name for name in names if name not in self.available]
        if missing:
            raise exception.SchedulerHostFilterNotFound(filter_name=", ".join(missing))
        self.filters = [self.available[name].with_conf(conf) for name in names]

    def get_filtered_objects(self, host_states: Any, rows: Sequence[int] | np.ndarray,
                             spec_obj: Any, index: int = 0) -> np.ndarray:
        """Nova's ``get_filtered_objects``: the rows every enabled filter passes."""
        rows = np.asarray(rows, dtype=np.int64)
        LOG.debug("Starting with %d host(s)", len(rows))
        part_results = []
        full_results: list[tuple[str, Any]] = []
        for host_filter in self.filters:
            if host_filter.run_filter_once_per_request and index > 0:
                continue
            start = len(rows)
            rows = rows[host_filter.filter_all(host_states, rows, spec_obj)]
            part_results.append(f"{host_filter.name}: (start: {start}, end: {len(rows)})")
            if len(rows):
                full_results.append((host_filter.name, [
                    (host_states.host[r], host_states.nodename[r]) for r in rows[:20]]))
            else:
                LOG.info("Filter %s returned 0 hosts", host_filter.name)
                full_results.append((host_filter.name, None))
                break
            LOG.debug("Filter %s returned %d host(s)", host_filter.name, len(rows))
        if not len(rows):
            uuid = getattr(spec_obj, "instance_uuid", None)
            LOG.debug("Filtering removed all hosts for the request with instance ID "
                      "'%s'. Filter results: %s", uuid, full_results)
            LOG.info("Filtering removed all hosts for the request with instance ID "
                     "'%s'. Filter results: %s", uuid, part_results)
        return rows

    def get_filtered_hosts(self, host_states: Any, rows: Sequence[int] | np.ndarray,
                           spec_obj: Any, index: int = 0) -> np.ndarray:
        """Nova's ``HostManager.get_filtered_hosts``: the requested destination,
        ``ignore_hosts``, ``force_hosts`` and ``force_nodes`` narrow the rows first;
        forcing a host or node skips the filters unless the ``_nova_check_type`` hint
        is set."""
        rows = np.asarray(rows, dtype=np.int64)
        destination = getattr(spec_obj, "requested_destination", None)
        if destination is not None and getattr(destination, "host", None):
            keep = host_states.host[rows] == destination.host
            if getattr(destination, "node", None):
                keep &= host_states.nodename[rows] == destination.node
            rows = rows[keep]
            if len(rows):
                LOG.info("Host filter only checking host %s and node %s",
                         destination.host, getattr(destination, "node", None))
            else:
                LOG.info("No hosts matched due to not matching requested destination "
                         "(%s, %s)", destination.host, getattr(destination, "node", None))
        ignore = list(getattr(spec_obj, "ignore_hosts", None) or ())
        force_hosts = list(getattr(spec_obj, "force_hosts", None) or ())
        force_nodes = list(getattr(spec_obj, "force_nodes", None) or ())
        if ignore or force_hosts or force_nodes:
            lowered = np.array([str(h).lower() for h in host_states.host[rows]], dtype=object)
            if ignore:
                dropped = np.isin(lowered, [h.lower() for h in ignore])
                LOG.info("Host filter ignoring hosts: %s",
                         ", ".join(sorted(set(host_states.host[rows[dropped]]))))
                rows, lowered = rows[~dropped], lowered[~dropped]
                if not len(rows):
                    return rows
            if force_hosts:
                kept = np.isin(lowered, [h.lower() for h in force_hosts])
                rows = rows[kept]
                if len(rows):
                    LOG.info("Host filter forcing available hosts to %s",
                             ", ".join(host_states.host[rows]))
                else:
                    LOG.info("No hosts matched due to not matching 'force_hosts' value of "
                             "'%s'", ", ".join(force_hosts))
            if force_nodes:
                rows = rows[np.isin(host_states.nodename[rows].astype(object), force_nodes)]
                if len(rows):
                    LOG.info("Host filter forcing available nodes to %s",
                             ", ".join(host_states.nodename[rows]))
                else:
                    LOG.info("No nodes matched due to not matching 'force_nodes' value of "
                             "'%s'", ", ".join(force_nodes))
            hints = getattr(spec_obj, "scheduler_hints", None) or {}
            if not hints.get("_nova_check_type") and (force_hosts or force_nodes):
                return rows
        return self.get_filtered_objects(host_states, rows, spec_obj, index)

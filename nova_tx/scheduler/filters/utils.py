"""Aggregate helpers of the filters (Nova's ``scheduler/filters/utils.py``), over rows.

Nova reads a host's aggregates one host at a time: ``aggregate_values_from_key`` (the
set of a key's values), ``aggregate_metadata_get_by_host`` (every key to the union of
its comma-split, stripped values) and ``validate_num_values`` (the smallest number,
else the default). Here each answers for every row at once from ``HostStates``'
aggregate table; aggregates are few, so the work is per aggregate, not per host.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nova_tx.scheduler.host_state import Aggregate, HostStates

__all__ = ["any_value", "has_key", "metadata_values", "number_or_default", "parse_options"]

LOG = logging.getLogger(__name__)


def metadata_values(aggregate: Aggregate, key: str) -> set[str]:
    """The comma-split, stripped values of ``key`` in one aggregate (empty if absent)."""
    if key not in aggregate.metadata:
        return set()
    return {value.strip() for value in aggregate.metadata[key].split(",")}


def has_key(host_states: HostStates, rows: np.ndarray, key: str) -> np.ndarray:
    """Mask over ``rows``: some aggregate of the host has ``key``."""
    if not host_states.aggregates:
        return np.zeros(len(rows), dtype=bool)
    return host_states.rows_in_aggregates(lambda a: key in a.metadata, key=("has", key))[rows]


def any_value(host_states: HostStates, rows: np.ndarray, key: str,
              accept: Callable[[set[str]], bool]) -> np.ndarray:
    """Mask over ``rows``: some aggregate of the host has ``key`` and ``accept`` takes
    its split values (Nova's ``aggregate_metadata_get_by_host`` union, per aggregate:
    a value in the union is a value of one of them)."""
    if not host_states.aggregates:
        return np.zeros(len(rows), dtype=bool)
    return host_states.rows_in_aggregates(
        lambda a: key in a.metadata and accept(metadata_values(a, key)))[rows]


def number_or_default(host_states: HostStates, rows: np.ndarray, key: str, default: float,
                      cast: Callable[[str], object] = int) -> np.ndarray:
    """Nova's ``validate_num_values(aggregate_values_from_key(host, key), default,
    cast_to=cast)`` for every row: the smallest value over the host's aggregates, or
    ``default`` when it has none or one does not cast."""
    return host_states.aggregate_number_or(key, default, rows, cast)


def parse_options(opts: Iterable[str], sep: str = "=", converter: Callable[[str], Any] = str,
                  name: str = "") -> list[tuple[str, Any]]:
    """Nova's ``parse_options``: ``key<sep>value`` entries, the bad ones warned about."""
    good, bad = [], []
    for opt in opts:
        try:
            key, seen_sep, value = opt.partition(sep)
            value = converter(value)
        except ValueError:
            key, seen_sep, value = None, "", None
        if key and seen_sep and value is not None:
            good.append((key, value))
        else:
            bad.append(opt)
    if bad:
        LOG.warning("Ignoring the invalid elements of the option %(name)s: %(options)s",
                    {"name": name, "options": ", ".join(bad)})
    return good

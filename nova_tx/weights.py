"""Weighing: from each weigher's raw values to one weight per host, for all hosts at once.

Nova's ``nova/weights.py`` normalises each weigher's values over the hosts that passed
the filters and sums them with multipliers, host by host and weigher by weigher in
Python. Here the same formula (spec D §1.5.1) is one numpy step over a
``raw[W, H]`` matrix (``W`` weighers in ``weight_classes`` order, ``H`` hosts in
host-state order):

1. ``H <= 1``: every weight is 0 and nothing is computed.
2. Per weigher, ``raw`` is clamped to the weigher's ``minval``/``maxval`` where it has
   them (NaN where it has not); ``lo``/``hi`` are those bounds, or the row's min/max;
   ``norm = (raw - lo) / (hi - lo)``, or 0 for the whole row when ``lo == hi``.
3. ``weight = sum over weighers of multiplier[w, h] * norm[w, h]``, added weigher by
   weigher in order (as Nova adds them, so the float results are Nova's to the bit).
4. Hosts are ordered by weight, highest first; ties keep host-state order (a stable
   sort, as Python's ``sorted`` in Nova).

The multiplier is per host (:func:`host_multipliers`): the smallest float value of the
weigher's key in the host's aggregates' metadata, else the configured multiplier. The
BuildFailureWeigher's negation is the caller's, in the multiplier it passes.

:func:`weigh_reference` is the same formula written as Nova writes it, one host at a
time; property tests hold the two equal.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

LOG = logging.getLogger(__name__)


def normalized(raw: np.ndarray, minval: np.ndarray, maxval: np.ndarray) -> np.ndarray:
    """``norm[W, H]`` from ``raw[W, H]`` and each weigher's bounds (NaN: none)."""
    raw = np.asarray(raw, dtype=np.float64)
    has_min = ~np.isnan(minval)
    has_max = ~np.isnan(maxval)
    clamped = np.where(has_min[:, None], np.maximum(raw, minval[:, None]), raw)
    clamped = np.where(has_max[:, None], np.minimum(clamped, maxval[:, None]), clamped)
    lo = np.where(has_min, minval, clamped.min(axis=1))
    hi = np.where(has_max, maxval, clamped.max(axis=1))
    span = hi - lo
    flat = span == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = (clamped - lo[:, None]) / np.where(flat, 1.0, span)[:, None]
    norm[flat, :] = 0.0
    return norm


def weigh(raw: np.ndarray, minval: Sequence[float], maxval: Sequence[float],
          multipliers: np.ndarray) -> np.ndarray:
    """The weight of each host: ``raw`` and ``multipliers`` are ``[W, H]``."""
    raw = np.asarray(raw, dtype=np.float64)
    weighers, hosts = raw.shape
    total = np.zeros(hosts, dtype=np.float64)
    if hosts <= 1 or weighers == 0:
        return total
    norm = normalized(raw, np.asarray(minval, dtype=np.float64),
                      np.asarray(maxval, dtype=np.float64))
    multipliers = np.asarray(multipliers, dtype=np.float64)
    for w in range(weighers):  # in order, so that the sums round as Nova's do
        total += multipliers[w] * norm[w]
    return total


def order(weights: np.ndarray) -> np.ndarray:
    """Host indices, heaviest first; equal weights keep host-state order."""
    return np.argsort(-np.asarray(weights, dtype=np.float64), kind="stable")


def host_multipliers(configured: float, aggregate_values: Iterable[Iterable[str]],
                     key: str) -> np.ndarray:
    """One weigher's multiplier per host (Nova's ``get_weight_multiplier``).

    ``aggregate_values`` gives, per host, the values of ``key`` in the metadata of its
    aggregates. A host with none gets ``configured``; one with several the smallest;
    a value that is not a number is warned about and the host gets ``configured``.
    """
    result = []
    for values in aggregate_values:
        values = list(values)
        if not values:
            result.append(configured)
            continue
        try:
            numbers = [float(v) for v in values]
        except (TypeError, ValueError) as e:
            LOG.warning("Could not decode '%s' weight multiplier: %s", key, e)
            result.append(configured)
            continue
        result.append(min(numbers))
    return np.asarray(result, dtype=np.float64)


def aggregate_values(host_aggregates: Sequence[Sequence[Mapping[str, str]]], key: str
                     ) -> list[list[str]]:
    """Per host, the values of ``key`` in its aggregates' metadata."""
    return [[metadata[key] for metadata in aggregates if key in metadata]
            for aggregates in host_aggregates]


# --- the reference -------------------------------------------------------------------------


def weigh_reference(raw: Sequence[Sequence[float]], minval: Sequence[float],
                    maxval: Sequence[float], multipliers: Sequence[Sequence[float]]
                    ) -> list[float]:
    """Nova's loop: weigher by weigher, host by host."""
    hosts = len(raw[0]) if raw else 0
    weights = [0.0] * hosts
    if hosts <= 1:
        return weights
    for w, values in enumerate(raw):
        values = [float(v) for v in values]
        if not math.isnan(minval[w]):
            values = [max(v, minval[w]) for v in values]
        if not math.isnan(maxval[w]):
            values = [min(v, maxval[w]) for v in values]
        lo = minval[w] if not math.isnan(minval[w]) else min(values)
        hi = maxval[w] if not math.isnan(maxval[w]) else max(values)
        for h, value in enumerate(values):
            norm = 0.0 if lo == hi else (value - lo) / (hi - lo)
            weights[h] += multipliers[w][h] * norm
    return weights


def order_reference(weights: Sequence[float]) -> list[int]:
    return sorted(range(len(weights)), key=lambda h: weights[h], reverse=True)

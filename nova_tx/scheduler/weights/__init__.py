"""Host weighers: the ``IHostWeigher`` plugins and the handler that ranks hosts.

A weigher gives a raw value per candidate row (``raw(host_states, rows, spec_obj)``),
its ``minval``/``maxval`` (None: none) and a multiplier per row (its option, overridden
by the smallest value of its aggregate metadata key, negated for the
BuildFailureWeigher). ``WeightHandler`` stacks them and calls ``nova_tx.weights.weigh``
once: Nova's normalisation and sum (spec D §1.5.1) for all rows in one numpy step. Then
``choose`` is Nova's end of ``_get_sorted_hosts``: the best-weighed hosts shuffled when
``shuffle_best_same_weighed_hosts``, and one host picked at random among the
``host_subset_size`` best.

Weighers are Twisted plugins (``plugins/nova_tx_weighers.py``); ``[filter_scheduler]
weight_classes`` names them: ``nova.scheduler.weights.all_weighers`` (or
``nova_tx.scheduler.weights.all_weighers``) for every plugin, Nova class paths
(``nova.scheduler.weights.ram.RAMWeigher``) for ours of that name, other dotted paths
for a class to import.
"""
from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from oslo_config import cfg
from twisted.plugin import IPlugin
from zope.interface import Attribute, Interface, implementer

from nova_tx import weights
from nova_tx.scheduler import loadables

__all__ = ["BaseHostWeigher", "IHostWeigher", "WeightHandler", "all_weighers"]

LOG = logging.getLogger(__name__)

ALL_WEIGHERS = ("nova.scheduler.weights.all_weighers", "nova_tx.scheduler.weights.all_weighers")
#: The built-ins in the order ``all_weighers`` lists them (the sum's order).
BUILTIN_ORDER = ("RAMWeigher", "CPUWeigher", "DiskWeigher", "MetricsWeigher", "IoOpsWeigher",
                 "PCIWeigher", "ServerGroupSoftAffinityWeigher",
                 "ServerGroupSoftAntiAffinityWeigher", "BuildFailureWeigher",
                 "CrossCellWeigher")


class IHostWeigher(Interface):
    """A host weigher (plugin)."""

    name = Attribute("Nova's class name.")
    minval = Attribute("Raw values below it count as it, and it is the range's low end "
                       "(None: the smallest raw value).")
    maxval = Attribute("As minval, at the top (None: the largest raw value).")

    def with_conf(conf: cfg.ConfigOpts) -> IHostWeigher:
        """The weigher reading its options from ``conf``."""

    def raw(host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        """The raw value of each row (float)."""

    def multipliers(host_states: Any, rows: np.ndarray) -> np.ndarray:
        """The multiplier of each row, aggregate overrides and sign included."""


@implementer(IPlugin, IHostWeigher)
class BaseHostWeigher(loadables.BasePlugin):
    """Base class: the option and aggregate key of the multiplier, per-host fallback.

    ``multiplier_option`` is ``(group, name)``; ``aggregate_key`` the metadata key
    whose smallest float value over a host's aggregates overrides it (Nova's
    ``get_weight_multiplier``). A weigher written as Nova writes one
    (``_weigh_object(host_state, spec_obj)``) works unchanged, host by host.
    """

    name = "BaseHostWeigher"
    minval: float | None = None
    maxval: float | None = None
    multiplier_option: tuple[str, str] | None = None
    aggregate_key: str | None = None
    negate = False

    def configured_multiplier(self) -> float:
        if self.multiplier_option is None:
            return 1.0
        group, name = self.multiplier_option
        return float(getattr(getattr(self.conf, group), name))

    def weight_multiplier(self, host_state: Any) -> float:
        """Nova's per-host form; a weigher that overrides it is asked host by host."""
        return 1.0

    def multipliers(self, host_states: Any, rows: np.ndarray) -> np.ndarray:
        if type(self).weight_multiplier is not BaseHostWeigher.weight_multiplier:
            return np.array([float(self.weight_multiplier(host_states.host_state(int(r))))
                             for r in rows], dtype=np.float64)
        configured = self.configured_multiplier()
        if self.aggregate_key is None:
            values = np.full(len(rows), configured)
        else:
            values = host_states.aggregate_number_or(self.aggregate_key, configured, rows)
        return -values if self.negate else values

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return np.array([float(self._weigh_object(host_states.host_state(int(r)), spec_obj))
                         for r in rows], dtype=np.float64)

    def _weigh_object(self, host_state: Any, spec_obj: Any) -> float:
        raise NotImplementedError(f"{self.name} implements neither raw nor _weigh_object")


def _plugins() -> list[IHostWeigher]:
    return loadables.plugins(IHostWeigher)


def all_weighers() -> list[IHostWeigher]:
    """Every weigher plugin: the built-ins in ``BUILTIN_ORDER``, then drop-ins by name."""
    rank = {name: i for i, name in enumerate(BUILTIN_ORDER)}
    found = {w.name: w for w in _plugins()}
    return sorted(found.values(), key=lambda w: (rank.get(w.name, len(rank)), w.name))


def load_weighers(paths: Iterable[str]) -> list[IHostWeigher]:
    """``weight_classes``: the unconfigured weighers, in order, each once (the first)."""
    unique: dict[str, IHostWeigher] = {}
    for weigher, _ in loadables.load_paths(
            paths, IHostWeigher, every=ALL_WEIGHERS, all_plugins=all_weighers,
            nova_package="nova.scheduler.weights", kind="weigher"):
        unique.setdefault(weigher.name, weigher)
    return list(unique.values())


def _bound(value: float | None) -> float:
    return math.nan if value is None else float(value)


class WeightHandler:
    """The configured weighers, and the ranking and choice of hosts."""

    def __init__(self, conf: cfg.ConfigOpts, classes: Sequence[str] | None = None,
                 rng: random.Random | None = None) -> None:
        self.conf = conf
        names = conf.filter_scheduler.weight_classes if classes is None else classes
        self.weighers = [w.with_conf(conf) for w in load_weighers(names)]
        self.rng = rng if rng is not None else random.Random()

    def weigh(self, host_states: Any, rows: Sequence[int] | np.ndarray, spec_obj: Any
              ) -> np.ndarray:
        """The total weight of each row (Nova's ``get_weighed_objects``' weights)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) <= 1 or not self.weighers:
            return np.zeros(len(rows), dtype=np.float64)
        raw = np.empty((len(self.weighers), len(rows)), dtype=np.float64)
        multipliers = np.empty_like(raw)
        for i, weigher in enumerate(self.weighers):
            raw[i] = weigher.raw(host_states, rows, spec_obj)
            multipliers[i] = weigher.multipliers(host_states, rows)
        return weights.weigh(raw, [_bound(w.minval) for w in self.weighers],
                             [_bound(w.maxval) for w in self.weighers], multipliers)

    def get_weighed_hosts(self, host_states: Any, rows: Sequence[int] | np.ndarray,
                          spec_obj: Any) -> tuple[np.ndarray, np.ndarray]:
        """(rows, weights), heaviest first; equal weights keep the given order."""
        rows = np.asarray(rows, dtype=np.int64)
        total = self.weigh(host_states, rows, spec_obj)
        order = weights.order(total)
        rows, total = rows[order], total[order]
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug("Weighed %s", [f"WeighedHost [host: ({host_states.host[r]}, "
                                     f"{host_states.nodename[r]}), weight: {w}]"
                                     for r, w in zip(rows[:10].tolist(), total[:10].tolist(),
                                                     strict=True)])
        return rows, total

    def choose(self, rows: np.ndarray, total: np.ndarray) -> np.ndarray:
        """Nova's ``_get_sorted_hosts`` end: the weighed rows with the chosen one first.

        With ``shuffle_best_same_weighed_hosts`` the rows sharing the top weight are
        shuffled first; then one of the first ``host_subset_size`` is picked at random.
        """
        rows = np.asarray(rows, dtype=np.int64).copy()
        if not len(rows):
            return rows
        options = self.conf.filter_scheduler
        if options.shuffle_best_same_weighed_hosts:
            best = int(np.count_nonzero(total == total[0]))
            head = rows[:best].tolist()
            self.rng.shuffle(head)
            rows[:best] = head
        subset = min(options.host_subset_size, len(rows))
        chosen = self.rng.randrange(subset) if subset > 1 else 0
        if chosen:
            rows = np.concatenate([rows[chosen:chosen + 1], rows[:chosen], rows[chosen + 1:]])
        return rows

    def get_sorted_hosts(self, host_states: Any, rows: Sequence[int] | np.ndarray,
                         spec_obj: Any) -> np.ndarray:
        """Weigh, then ``choose``: the rows to try, in order."""
        ordered, total = self.get_weighed_hosts(host_states, rows, spec_obj)
        return self.choose(ordered, total)

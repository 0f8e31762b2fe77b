"""AvailabilityZoneFilter: the host is in the requested availability zone.

No zone requested: every host passes. A host with aggregates carrying
``availability_zone`` passes when the requested zone is one of their (comma-split)
values; a host without passes when the requested zone is ``[DEFAULT]
default_availability_zone``. The requested zone is one name (spec D §7 item 3).
Vectorised (per aggregate).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from oslo_config import cfg

from nova_tx.scheduler.filters import BaseHostFilter, utils

LOG = logging.getLogger(__name__)
KEY = "availability_zone"


def default_availability_zone(conf: cfg.ConfigOpts) -> str:
    try:
        return conf.default_availability_zone
    except cfg.NoSuchOptError:
        return "nova"  # Nova's default, when [DEFAULT] zones are not registered


class AvailabilityZoneFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def with_conf(self, conf: cfg.ConfigOpts) -> AvailabilityZoneFilter:
        try:
            prefilter = conf.scheduler.query_placement_for_availability_zone
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            prefilter = False
        if prefilter:
            LOG.warning("The AvailabilityZoneFilter is deprecated. Use "
                        "[scheduler]/query_placement_for_availability_zone=True and "
                        "remove AvailabilityZoneFilter from the enabled filters.")
        return type(self)(conf)

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        zone = spec_obj.availability_zone
        if not zone:
            return np.ones(len(rows), dtype=bool)
        in_zone = utils.any_value(host_states, rows, KEY, lambda values: zone in values)
        zoned = utils.has_key(host_states, rows, KEY)
        default = zone == default_availability_zone(self.conf)
        return np.where(zoned, in_zone, default)

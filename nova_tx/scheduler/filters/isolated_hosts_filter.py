"""IsolatedHostsFilter: isolated images only on isolated hosts (and, restricted, only
isolated images there).

``isolated_images`` empty: a host passes unless ``restrict_isolated_hosts_to_isolated_
images`` and it is in ``isolated_hosts``. Otherwise, with the image isolated (its id in
``isolated_images``; a volume-backed request without image id is not) and the host
isolated: restricted, pass iff both or neither; not restricted, pass iff the image is
not isolated or the host is. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter


class IsolatedHostsFilter(BaseHostFilter):
    run_filter_once_per_request = True
    RUN_ON_REBUILD = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        options = self.conf.filter_scheduler
        isolated_hosts = list(options.isolated_hosts)
        restrict = options.restrict_isolated_hosts_to_isolated_images
        host_isolated = (np.isin(host_states.host[rows].astype(object), isolated_hosts)
                         if isolated_hosts else np.zeros(len(rows), dtype=bool))
        if not options.isolated_images:
            return ~host_isolated if restrict else np.ones(len(rows), dtype=bool)
        image = getattr(spec_obj, "image", None)
        image_id = getattr(image, "id", None) if image is not None else None
        image_isolated = image_id in options.isolated_images
        if restrict:
            return host_isolated == image_isolated
        return host_isolated | (not image_isolated)

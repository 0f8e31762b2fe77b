"""AggregateImagePropertiesIsolation: aggregate metadata that names an image property
admits only images with one of its values.

For every key in the metadata of the host's aggregates (with
``aggregate_image_properties_isolation_namespace`` set, only keys starting with it and
``..._separator``) that is a standard image property (``image_meta.STANDARD``): an image
with that property set to a true value fails unless ``str(value)`` is one of the key's
comma-split values over the host's aggregates. Other keys, hosts without aggregates and
images without the property pass. Vectorised (per aggregate and image property).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, utils
from nova_tx.scheduler.filters.image_meta import image_meta_props


class AggregateImagePropertiesIsolation(BaseHostFilter):
    run_filter_once_per_request = True
    RUN_ON_REBUILD = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        passes = np.ones(len(rows), dtype=bool)
        if not host_states.aggregates:
            return passes
        options = self.conf.filter_scheduler
        namespace = options.aggregate_image_properties_isolation_namespace
        prefix = (namespace + options.aggregate_image_properties_isolation_separator
                  if namespace else "")
        image = getattr(spec_obj, "image", None)
        props = image_meta_props(image.properties if image is not None else {})
        for key, value in props.items():
            if not value or not key.startswith(prefix):
                continue
            wanted = str(value)
            listed = utils.has_key(host_states, rows, key)
            if not listed.any():
                continue
            allowed = utils.any_value(host_states, rows, key,
                                      lambda values, wanted=wanted: wanted in values)
            passes &= allowed | ~listed
        return passes

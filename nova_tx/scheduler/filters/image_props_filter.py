"""ImagePropertiesFilter: the host supports the image's architecture, hypervisor type,
VM mode and hypervisor version.

The image's ``hw_architecture`` (default ``image_properties_default_architecture``),
``img_hv_type`` and ``hw_vm_mode``, canonicalised: none set, every host passes; a host
advertising no ``supported_instances`` fails; otherwise one advertised (arch, hv type,
vm mode) entry must contain every value set, and when the host has a
``hypervisor_version`` and the image an ``img_hv_requested_version`` (e.g. ``>=6.2``) the
host's version in dotted form (6002000 -> 6.2.0) must satisfy it. Vectorised: each
distinct ``supported_instances`` list and hypervisor version is checked once.
"""
from __future__ import annotations

import operator
import re
from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter
from nova_tx.scheduler.filters.image_meta import (
    canonical_arch,
    canonical_hv_type,
    canonical_vm_mode,
    image_meta_props,
)

_COMPARE = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">": operator.gt,
            ">=": operator.ge, "!=": operator.ne}
_PREDICATE = re.compile(r"^\s*(<=|>=|<|>|==|!=)\s*([^\s,]+)\s*$")


def convert_version_to_str(version: int) -> str:
    """oslo's ``versionutils.convert_version_to_str``: 6002000 -> "6.2.0"."""
    numbers = []
    while version != 0:
        numbers.insert(0, str(version % 1000))
        version //= 1000
    return ".".join(numbers)


def _version(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def version_satisfies(version: str, predicate: str) -> bool:
    """distutils' ``VersionPredicate("image_prop (<predicate>)").satisfied_by(version)``:
    comma-separated ``op version`` terms, all of them true. A predicate that does not
    parse is not satisfied."""
    try:
        have = _version(version)
        for term in str(predicate).split(","):
            found = _PREDICATE.match(term)
            if not found:
                return False
            if not _COMPARE[found.group(1)](have, _version(found.group(2))):
                return False
    except ValueError:
        return False
    return True


class ImagePropertiesFilter(BaseHostFilter):
    run_filter_once_per_request = True
    RUN_ON_REBUILD = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        image = getattr(spec_obj, "image", None)
        props = image_meta_props(image.properties if image is not None else {})
        default_arch = self.conf.filter_scheduler.image_properties_default_architecture
        wanted = (canonical_arch(props.get("hw_architecture", default_arch)),
                  canonical_hv_type(props.get("img_hv_type")),
                  canonical_vm_mode(props.get("hw_vm_mode")))
        if not any(wanted):
            return np.ones(len(rows), dtype=bool)
        required = props.get("img_hv_requested_version")
        ids = host_states.supported_id[rows]
        versions = host_states.hypervisor_version[rows]
        passes = np.zeros(len(rows), dtype=bool)
        table = host_states.supported_table
        for sid in np.unique(ids).tolist():
            specs = table[sid]
            matching = any(all(not value or value in spec for value in wanted)
                           for spec in specs)
            if not matching:
                continue
            mine = ids == sid
            if not required:
                passes |= mine
                continue
            for version in np.unique(versions[mine]).tolist():
                if (not version or version_satisfies(convert_version_to_str(version),
                                                     required)):
                    passes |= mine & (versions == version)
        return passes

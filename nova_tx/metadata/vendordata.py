"""Vendordata providers: what the deployer adds to ``vendor_data.json`` and
``vendor_data2.json`` (``[api] vendordata_providers``).

A provider is an :class:`IVendorDataProvider` plugin (``plugins/nova_tx_vendordata.py``)
named as Nova names it: ``StaticJSON`` (a file) or ``DynamicJSON`` (REST targets).
Providers are asked on every request for the document they feed (DynamicJSON targets
see each request, as in Nova), never cached with the rendered metadata.
"""
from __future__ import annotations

import json
import os
from typing import Any

from twisted.plugin import IPlugin
from zope.interface import Attribute, implementer

from nova_tx import exception, log

LOG = log.getLogger(__name__)


class IVendorDataProvider(IPlugin):
    name = Attribute("The name ``[api] vendordata_providers`` lists.")

    def get(conf: Any, instance: Any, *, reactor: Any = None) -> Any:  # noqa: N805
        """The provider's JSON object for ``instance`` (a dict, or a Deferred/coroutine
        of one)."""


def load_providers(conf: Any) -> dict[str, Any]:
    """The enabled providers by name; a name no plugin has is a ConfigError."""
    from twisted.plugin import getPlugins

    import plugins

    found = {p.name: p for p in getPlugins(IVendorDataProvider, plugins)}
    enabled = {}
    for name in conf.api.vendordata_providers:
        if name not in found:
            raise exception.ConfigError(
                reason="[api] vendordata_providers: no provider %r (known: %s)"
                % (name, ", ".join(sorted(found))))
        enabled[name] = found[name]
    return enabled


@implementer(IVendorDataProvider)
class StaticJSON:
    """``[api] vendordata_jsonfile_path`` as it is; ``{}`` when the option is unset.

    The file is read again when its modification time changes, so an operator's edit
    shows without a restart and a request does not read the file each time.
    """

    name = "StaticJSON"

    def __init__(self) -> None:
        self._cache: tuple[str, float, dict] | None = None

    def get(self, conf: Any, instance: Any, *, reactor: Any = None) -> dict:
        path = conf.api.vendordata_jsonfile_path
        if not path:
            return {}
        try:
            mtime = os.stat(path).st_mtime
            if self._cache is not None and self._cache[:2] == (path, mtime):
                return json.loads(json.dumps(self._cache[2]))
            with open(path) as f:
                data = json.load(f)
        except OSError as e:
            LOG.warning("Failed to read %s: %s", path, e)
            raise exception.NovaException(
                "Failed to read vendordata file %s: %s" % (path, e)) from None
        except ValueError as e:
            LOG.warning("Failed to parse %s: %s", path, e)
            raise exception.NovaException(
                "Failed to parse vendordata file %s: %s" % (path, e)) from None
        self._cache = (path, mtime, data)
        return json.loads(json.dumps(data))

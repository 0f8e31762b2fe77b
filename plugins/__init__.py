"""Drop-in plugin modules: filters, weighers, virt drivers, vendordata providers.

Found with ``twisted.plugin.getPlugins(IFace, nova_tx.plugins)``. This directory is
installed as ``nova_tx.plugins``; as in ``twisted/plugins``, any ``nova_tx/plugins``
directory on ``sys.path`` also contributes modules, so an operator can add a filter
without touching the installed package.
"""
from twisted.plugin import pluginPackagePaths

__path__.extend(pluginPackagePaths(__name__))  # noqa: F821
__all__: list[str] = []

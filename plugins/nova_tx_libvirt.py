"""The libvirt virt driver, as a plugin (``[DEFAULT] compute_driver = libvirt.LibvirtDriver``)."""
from typing import Any

from twisted.plugin import IPlugin
from zope.interface import implementer

from nova_tx.virt.driver import IComputeDriverFactory


@implementer(IPlugin, IComputeDriverFactory)
class _LibvirtDriverFactory:
    name = "libvirt.LibvirtDriver"

    def __call__(self, conf: Any, *, reactor: Any = None) -> Any:
        from nova_tx.virt.libvirt.driver import LibvirtDriver

        return LibvirtDriver(conf, reactor=reactor)


libvirt_driver = _LibvirtDriverFactory()

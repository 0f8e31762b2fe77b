"""The virt driver interface (Nova's ``nova.virt.driver.ComputeDriver``).

A compute manager talks to its hypervisor only through an ``IComputeDriver``. Drivers
are plugins: a module in ``plugins/`` provides an ``IComputeDriverFactory`` whose
``name`` is what ``[DEFAULT] compute_driver`` says (Nova's names: ``libvirt.LibvirtDriver``,
``fake.FakeDriver``), and ``load_compute_driver(conf)`` finds and builds it.

Every method that may block (a hypervisor call) returns a Deferred: the driver runs
its blocking work in its own thread pool, never in the reactor. Methods that only read
what the driver already holds (``capabilities``, ``get_available_nodes``) are plain.

What the resource tracker reads of a node (``get_available_resource``) is a dict with
Nova's keys: ``vcpus``, ``memory_mb``, ``local_gb``, ``vcpus_used``, ``memory_mb_used``,
``local_gb_used``, ``hypervisor_type``, ``hypervisor_version``,
``hypervisor_hostname``, ``cpu_info`` (JSON text), ``disk_available_least``,
``supported_instances`` (list of ``[arch, hv_type, vm_mode]``), ``numa_topology``
(a ``nova_tx.objects.numa.NUMATopology`` or None), ``pci_passthrough_devices`` (JSON
text of a list of device dicts) and ``cpu_dedicated_set`` / ``cpu_shared_set`` (sets
of host CPU ids, from ``[compute]`` or the hypervisor).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from twisted.plugin import IPlugin
from zope.interface import Attribute, Interface

from nova_tx import exception
from nova_tx.compute import states


@dataclasses.dataclass(frozen=True)
class InstanceInfo:
    """What the hypervisor says of a guest (Nova's ``hardware.InstanceInfo``)."""

    state: int = states.NOSTATE
    internal_id: str | None = None


@dataclasses.dataclass(frozen=True)
class LifecycleEvent:
    """A guest started, stopped, paused, resumed or suspended on its own (Nova's
    ``virtevent.LifecycleEvent``); the manager syncs the power state from it."""

    instance_uuid: str
    transition: str
    timestamp: float


EVENT_STARTED = "started"
EVENT_STOPPED = "stopped"
EVENT_PAUSED = "paused"
EVENT_RESUMED = "resumed"
EVENT_SUSPENDED = "suspended"


class IComputeDriver(Interface):
    """One hypervisor (or several nodes of one, as ironic has) of a compute host."""

    capabilities = Attribute(
        "Nova's capability dict: has_imagecache, supports_evacuate, "
        "supports_migrate_to_same_host, supports_attach_interface, "
        "supports_device_tagging, supports_multiattach, supports_trusted_certs, "
        "supports_pcpus, supports_accelerators, supports_remote_managed_ports, "
        "and the COMPUTE_* trait capabilities (supports_image_type_*, ...)")

    def init_host(host: str) -> Any:  # noqa: N805
        """Connect and check the hypervisor (a Deferred); errors stop the service."""

    def cleanup_host(host: str) -> Any:  # noqa: N805
        """Disconnect (a Deferred)."""

    def get_available_nodes(refresh: bool = False) -> list[str]:  # noqa: N805
        """The node names this driver manages."""

    def get_available_resource(nodename: str) -> Any:  # noqa: N805
        """The node's resources (a Deferred of the dict the module docstring lists)."""

    def update_provider_tree(provider_tree: Any, nodename: str,  # noqa: N805
                             allocations: Any = None) -> Any:
        """Set the node provider's inventories and traits in ``provider_tree``."""

    def list_instance_uuids() -> Any:  # noqa: N805
        """The uuids of the guests the hypervisor has (a Deferred)."""

    def instance_exists(instance: Any) -> Any:  # noqa: N805
        """Whether the hypervisor has the guest (a Deferred of a bool)."""

    def get_info(instance: Any) -> Any:  # noqa: N805
        """The guest's ``InstanceInfo`` (a Deferred); InstanceNotFound if none."""

    def spawn(context: Any, instance: Any, image_meta: Any,  # noqa: N805
              injected_files: Any, admin_password: str | None, allocations: Any,
              network_info: Any = None, block_device_info: Any = None,
              power_on: bool = True) -> Any:
        """Create and start the guest (a Deferred that fires when it runs)."""

    def destroy(context: Any, instance: Any, network_info: Any,  # noqa: N805
                block_device_info: Any = None, destroy_disks: bool = True) -> Any:
        """Stop and remove the guest; a guest already gone is not an error."""

    def reboot(context: Any, instance: Any, network_info: Any,  # noqa: N805
               reboot_type: str, block_device_info: Any = None) -> Any:
        """``SOFT`` (falling back to hard when the guest does not stop) or ``HARD``."""

    def power_off(instance: Any, timeout: int = 0, retry_interval: int = 0) -> Any:  # noqa: N805
        """Stop the guest, cleanly within ``timeout`` seconds when it is non-zero."""

    def power_on(context: Any, instance: Any, network_info: Any,  # noqa: N805
                 block_device_info: Any = None) -> Any:
        """Start a stopped guest."""

    def pause(instance: Any) -> Any:  # noqa: N805
        """Pause the guest's vCPUs."""

    def unpause(instance: Any) -> Any:  # noqa: N805
        """Resume a paused guest."""

    def suspend(context: Any, instance: Any) -> Any:  # noqa: N805
        """Save the guest's memory and stop it."""

    def resume(context: Any, instance: Any, network_info: Any,  # noqa: N805
               block_device_info: Any = None) -> Any:
        """Restore a suspended guest."""

    def get_console_output(context: Any, instance: Any) -> Any:  # noqa: N805
        """The guest's serial console log (a Deferred of bytes)."""

    def register_event_listener(callback: Any) -> None:  # noqa: N805
        """``callback(LifecycleEvent)`` is called in the reactor thread."""

    def get_host_uptime() -> Any:  # noqa: N805
        """The host's ``uptime`` line (a Deferred of str)."""


class ISnapshotDriver(Interface):
    """A driver that can snapshot a guest's root disk into an image (optional: the
    compute manager asks ``ISnapshotDriver.providedBy(driver)``; Nova's drivers raise
    NotImplementedError instead)."""

    def snapshot(context: Any, instance: Any, image_id: str,  # noqa: N805
                 update_task_state: Any) -> Any:
        """Upload the guest's root disk as the data of the (queued) image ``image_id``
        (a Deferred). ``update_task_state(task_state, expected_state=None)`` is called
        with ``image_pending_upload`` then ``image_uploading``; it may return a Deferred."""


class IRescueDriver(Interface):
    """A driver that can boot a guest from a rescue image with its own disk attached
    second (optional, like ``ISnapshotDriver``)."""

    def rescue(context: Any, instance: Any, network_info: Any, image_meta: Any,  # noqa: N805
               rescue_password: str | None, block_device_info: Any = None) -> Any:
        """Boot the guest from ``image_meta``'s image, its root disk as the second disk."""

    def unrescue(context: Any, instance: Any) -> Any:  # noqa: N805
        """Boot the guest from its own disk again and drop the rescue disk."""


class ICrashDumpDriver(Interface):
    """A driver that can make a guest's kernel dump its memory (optional, like
    ``ISnapshotDriver``; Nova's libvirt injects an NMI)."""

    def trigger_crash_dump(instance: Any) -> Any:  # noqa: N805
        """Send the guest the NMI (a Deferred); InstanceNotRunning when it does not
        run."""


class IComputeDriverFactory(IPlugin):
    """A plugin that builds a driver: ``name`` as ``[DEFAULT] compute_driver`` says."""

    name = Attribute("The compute_driver value that selects this driver")

    def __call__(conf: Any, *, reactor: Any = None) -> IComputeDriver:  # noqa: N805
        """A new driver for this process."""


def load_compute_driver(conf: Any, *, reactor: Any = None) -> IComputeDriver:
    """The driver ``[DEFAULT] compute_driver`` names, found among the plugins of
    ``plugins/``; a name no plugin has is a ConfigError in one line."""
    from twisted.plugin import getPlugins

    import plugins

    name = conf.compute_driver
    if not name:
        raise exception.ConfigError(reason="[DEFAULT] compute_driver is not set")
    found = {factory.name: factory for factory in getPlugins(IComputeDriverFactory, plugins)}
    # Nova accepts the module path too (nova.virt.libvirt.LibvirtDriver).
    for prefix in ("nova.virt.", "nova_tx.virt."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    factory = found.get(name)
    if factory is None:
        raise exception.ConfigError(
            reason=f"[DEFAULT] compute_driver = {conf.compute_driver}: no such driver "
            f"(known: {', '.join(sorted(found)) or 'none'})")
    return factory(conf, reactor=reactor)

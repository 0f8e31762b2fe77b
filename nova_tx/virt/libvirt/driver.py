"""``libvirt.LibvirtDriver``: KVM/QEMU guests through libvirt (Nova's ``nova.virt.libvirt``).

Every libvirt call runs in the host's thread pool (``host.Host.call``); waiting for a
guest to boot or to shut down is a reactor timer, not a sleeping thread. The host's
NUMA topology, CPU sets and PCI devices are read once in ``init_host`` (a topology or
CPU option that cannot be used stops the service there, with one line naming it).

This module is the host half (resources, provider tree, options, what a guest's XML is
built from); the guest operations are ``guest.GuestLifecycle``, mixed in. What a guest
looks like is ``config.build_domain``; where its root disk comes from is
``imagebackend.Qcow2Backend``. A libvirt error during spawn undefines what was defined,
removes the disk and raises ``InstanceSpawnFailure`` with libvirt's message, which the
compute manager records as the instance's fault.
"""
from __future__ import annotations

import json
import os
import struct
import xml.etree.ElementTree as ET
from typing import Any

import libvirt
from twisted.internet import defer, threads, utils
from zope.interface import implementer

from nova_tx import exception, log
from nova_tx.objects import numa as obj
from nova_tx.virt import driver as virt_driver
from nova_tx.virt import inventory
from nova_tx.virt.cpuset import parse_cpu_spec
from nova_tx.virt.host_topology import host_cpu_sets
from nova_tx.virt.libvirt import config as designer
from nova_tx.virt.libvirt import cpu_models
from nova_tx.virt.libvirt import host as host_mod
from nova_tx.virt.libvirt.errors import (  # noqa: F401 - the driver's errors, by its name
    InstancePowerFailure,
    InstanceRebootFailure,
    InstanceRescueFailure,
    InstanceSpawnFailure,
    InstanceUnRescueFailure,
    SnapshotFailure,
)
from nova_tx.virt.libvirt.guest import (  # noqa: F401
    MAX_CONSOLE_BYTES,
    GuestLifecycle,
    _image_id,
    _properties,
    power_state,
)
from nova_tx.virt.libvirt.imagebackend import Qcow2Backend

LOG = log.getLogger(__name__)

__all__ = ["LibvirtDriver"]

# Capability -> trait (Nova's nova.virt.driver.CAPABILITY_TRAITS_MAP, the part that
# applies to libvirt). The resource tracker applies the same map; setting them here too
# keeps the tree right for callers that use the driver alone.
CAPABILITY_TRAITS = {
    "supports_attach_interface": "COMPUTE_NET_ATTACH_INTERFACE",
    "supports_device_tagging": "COMPUTE_DEVICE_TAGGING",
    "supports_multiattach": "COMPUTE_VOLUME_MULTI_ATTACH",
    "supports_trusted_certs": "COMPUTE_TRUSTED_CERTS",
    "supports_accelerators": "COMPUTE_ACCELERATORS",
    "supports_remote_managed_ports": "COMPUTE_REMOTE_MANAGED_PORTS",
    "supports_image_type_qcow2": "COMPUTE_IMAGE_TYPE_QCOW2",
    "supports_image_type_raw": "COMPUTE_IMAGE_TYPE_RAW",
    "supports_socket_pci_numa_affinity": "COMPUTE_SOCKET_PCI_NUMA_AFFINITY",
}
# Traits of features the domain XML always offers (spec/E §3.3, §5.11).
FEATURE_TRAITS = frozenset({
    "COMPUTE_NODE",
    "COMPUTE_NET_VIF_MODEL_VIRTIO",
    "COMPUTE_GRAPHICS_MODEL_VIRTIO",
})
HYPERTHREADING = "HW_CPU_HYPERTHREADING"
MANAGED_TRAITS = (frozenset(CAPABILITY_TRAITS.values()) | FEATURE_TRAITS | {HYPERTHREADING}
                  | frozenset(cpu_models.CPU_TRAITS_MAPPING.values())
                  | {f"COMPUTE_VIOMMU_MODEL_{m}" for m in ("INTEL", "SMMUV3", "VIRTIO", "AUTO")})


@implementer(virt_driver.IComputeDriver, virt_driver.ISnapshotDriver,
             virt_driver.IRescueDriver)
class LibvirtDriver(GuestLifecycle):
    """One libvirt host (one node, its hostname)."""

    capabilities = {
        "has_imagecache": True,
        "supports_evacuate": False,
        "supports_migrate_to_same_host": False,
        "supports_attach_interface": False,
        "supports_device_tagging": False,
        "supports_multiattach": False,
        "supports_trusted_certs": False,
        "supports_pcpus": True,
        "supports_accelerators": False,
        "supports_remote_managed_ports": False,
        "supports_image_type_qcow2": True,
        "supports_image_type_raw": True,
        "supports_socket_pci_numa_affinity": True,
        "supports_tagged_attach_interface": False,
        "supports_tagged_attach_volume": False,
        "supports_extend_volume": False,
    }

    def __init__(self, conf: Any, *, reactor: Any = None, image_api: Any = None):
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        from nova_tx.conf import api as api_conf
        from nova_tx.conf import metadata as metadata_conf

        # The config drive reads the metadata options (the daemon has them already).
        api_conf.register_opts(conf)
        metadata_conf.register_opts(conf)
        self.conf = conf
        self._reactor = reactor
        uri = conf.libvirt.connection_uri or host_mod.default_uri(conf.libvirt.virt_type)
        self.host = host_mod.Host(uri, reactor=reactor)
        # The compute manager's image cache downloads into the same directory
        # ([image_cache] subdirectory_name) before spawn; a base found there is used.
        image_cache = getattr(conf, "image_cache", None)
        self.image_backend = Qcow2Backend(
            conf.instances_path, reactor=reactor,
            subdirectory_name=getattr(image_cache, "subdirectory_name", "_base"))
        #: The image port (``nova_tx.image.api``) base images are downloaded with; the
        #: compute manager sets it. Without one, only images already cached boot.
        self.image_api = image_api
        self.numa_topology: obj.NUMATopology | None = None
        self.pci_devices: list[dict[str, Any]] = []
        self._hostname: str | None = None
        self._memory_mb = 0
        self._disk_total_gb = 0
        self._libvirt_version = 0
        self._shared: set[int] = set()
        self._model_features: dict[str, set[str]] = {}
        self._cpu_traits: set[str] = set()

    # -- host ------------------------------------------------------------------------------

    def init_host(self, host: str) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._init_host())

    async def _init_host(self) -> None:
        self._check_virt_type()
        self._check_cpu_options()
        self._check_file_backed_memory()
        await self.host.start()
        try:
            caps = self.host.capabilities
            online = caps.online_cpus or set(range(await self.host.call(
                lambda conn: conn.getInfo()[2])))
            self._shared, _ = host_cpu_sets(
                online, self.conf.compute.cpu_shared_set, self.conf.compute.cpu_dedicated_set,
                self.conf.vcpu_pin_set, self.conf.reserved_host_cpus)
            self.numa_topology = self.host.numa_topology(self.conf)
            self._hostname, memory_mb, self._libvirt_version = await self.host.call(
                lambda conn: (conn.getHostname(), conn.getInfo()[1], conn.getLibVersion()))
            self._memory_mb = self._memory_total(memory_mb)
            self.pci_devices = await self.host.pci_devices()
            self._cpu_traits = await self._read_cpu_traits()
            os.makedirs(self.conf.instances_path, exist_ok=True)
            self._disk_total_gb, _free = await threads.deferToThread(self._disk_gb)
        except BaseException:
            await self.host.stop()
            raise

    def _check_file_backed_memory(self) -> None:
        """spec/E §5.4's start-up checks of ``[libvirt] file_backed_memory``."""
        size = self.conf.libvirt.file_backed_memory
        if not size:
            return
        # virt_type is kvm or qemu here (_check_virt_type).
        ratio = self.conf.ram_allocation_ratio
        if ratio is None or ratio == 0.0:
            ratio = self.conf.initial_ram_allocation_ratio
        if ratio != 1.0:
            raise exception.ConfigError(
                reason="Running Nova with file_backed_memory requires "
                "ram_allocation_ratio configured to 1.0")
        if self.conf.reserved_host_memory_mb >= size:
            raise exception.ConfigError(
                reason=f"[DEFAULT] reserved_host_memory_mb "
                f"({self.conf.reserved_host_memory_mb}) must be less than [libvirt] "
                f"file_backed_memory ({size}); 0 is recommended")
        if self.conf.reserved_host_memory_mb:
            LOG.warning("reserved_host_memory_mb is %s with file_backed_memory: it is "
                        "taken from the file-backed capacity; 0 is recommended",
                        self.conf.reserved_host_memory_mb)

    def _check_virt_type(self) -> None:
        # The domain XML here is a full virtual machine's; lxc containers and Virtuozzo
        # need documents of their own, which nova-tx does not build.
        if self.conf.libvirt.virt_type not in ("kvm", "qemu"):
            raise exception.ConfigError(
                reason=f"[libvirt] virt_type = {self.conf.libvirt.virt_type} is not "
                "supported by nova-tx's libvirt driver (kvm or qemu)")

    def _check_cpu_options(self) -> None:
        mode, models = self._cpu_mode(), self.conf.libvirt.cpu_models
        if mode == "custom" and not models:
            raise exception.ConfigError(
                reason="[libvirt] cpu_mode = custom needs [libvirt] cpu_models")
        if models and mode != "custom":
            raise exception.ConfigError(
                reason="[libvirt] cpu_models can only be set when [libvirt] cpu_mode = custom")
        for flag in self.conf.libvirt.cpu_model_extra_flags:
            if not flag.strip().lstrip("+-"):
                raise exception.ConfigError(
                    reason=f"[libvirt] cpu_model_extra_flags: {flag!r} names no flag")

    async def _features_of_models(self, arch: str | None) -> dict[str, set[str]]:
        """libvirt's features of each ``[libvirt] cpu_models`` entry, read once; a model
        libvirt does not know stops the service (Nova refuses to start too)."""
        missing = [m for m in self.conf.libvirt.cpu_models if m not in self._model_features]
        if missing:
            def thd(conn: libvirt.virConnect) -> dict[str, set[str]]:
                found = {}
                for model in missing:
                    try:
                        found[model] = cpu_models.model_features(conn, arch, model)
                    except libvirt.libvirtError as e:
                        raise exception.ConfigError(
                            reason=f"[libvirt] cpu_models: {model}: "
                            f"{e.get_error_message()}") from None
                return found
            self._model_features.update(await self.host.call(thd))
        return {m: self._model_features[m] for m in self.conf.libvirt.cpu_models}

    async def _read_cpu_traits(self) -> set[str]:
        """The ``HW_CPU_X86_*`` traits of what guests get: the host CPU's features for
        host-model and host-passthrough, any configured model's for custom."""
        mode = self._cpu_mode()
        if mode == "custom":
            features = set().union(*(await self._features_of_models(
                self.host.capabilities.arch)).values())
        elif mode in ("host-model", "host-passthrough"):
            features = set(self.host.capabilities.features)
        else:
            features = set()
        return cpu_models.features_to_traits(features)

    async def _guest_cpu_model(self, instance: Any, props: dict[str, Any], arch: str | None
                               ) -> str | None:
        if self._cpu_mode() != "custom":
            return None
        required = cpu_models.required_cpu_traits(instance.flavor.extra_specs or {}, props)
        features = await self._features_of_models(arch)
        model = cpu_models.choose_cpu_model(list(self.conf.libvirt.cpu_models), required,
                                            features.__getitem__)
        if model is None:
            raise InstanceSpawnFailure(
                instance_uuid=instance.uuid,
                reason=f"no [libvirt] cpu_models entry "
                f"({', '.join(self.conf.libvirt.cpu_models)}) provides "
                f"{', '.join(sorted(required))}")
        return model

    def _cpu_mode(self) -> str:
        if self.conf.libvirt.cpu_mode:
            return self.conf.libvirt.cpu_mode
        return "host-model" if self.conf.libvirt.virt_type in ("kvm", "qemu") else "none"

    def cleanup_host(self, host: str) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self.host.stop())

    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        return [self._hostname] if self._hostname else []

    def register_event_listener(self, callback: Any) -> None:
        self.host.register_event_listener(callback)

    def get_host_uptime(self) -> defer.Deferred:
        d = utils.getProcessOutput("uptime", env={"LANG": "C", "PATH": os.environ.get(
            "PATH", "")}, reactor=self._reactor)
        return d.addCallback(lambda out: out.decode().strip())

    # -- resources -------------------------------------------------------------------------

    def _disk_gb(self) -> tuple[int, int]:
        """(total, free) GiB of the filesystem holding ``instances_path``."""
        st = os.statvfs(self.conf.instances_path)
        return (st.f_blocks * st.f_frsize) // 1024 ** 3, (st.f_bavail * st.f_frsize) // 1024 ** 3

    def get_available_resource(self, nodename: str) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._get_available_resource())

    async def _get_available_resource(self) -> dict[str, Any]:
        def thd(conn: libvirt.virConnect) -> tuple:
            vcpus_used = memory_kb_used = 0
            disks: list[str] = []
            for dom in conn.listAllDomains(0):
                disks.extend(_file_disks(dom.XMLDesc(0)))
                if not dom.isActive():
                    continue
                state, max_mem, _mem, ncpu, _time = dom.info()
                vcpus_used += ncpu
                memory_kb_used += max_mem
            return (conn.getType(), conn.getVersion(), conn.getInfo()[1], vcpus_used,
                    memory_kb_used // 1024, disks)
        hv_type, hv_version, memory_mb, vcpus_used, memory_used, disks = \
            await self.host.call(thd)
        over_committed = await threads.deferToThread(disk_over_committed, disks)
        memory_mb = self._memory_mb = self._memory_total(memory_mb)
        pci = await self.host.pci_devices()
        self.pci_devices = pci
        total_gb, free_gb = await threads.deferToThread(self._disk_gb)
        self._disk_total_gb = total_gb
        caps = self.host.capabilities
        return {
            "vcpus": len(self._shared),
            "memory_mb": memory_mb,
            "local_gb": total_gb,
            "vcpus_used": vcpus_used,
            "memory_mb_used": memory_used,
            "local_gb_used": total_gb - free_gb,
            "hypervisor_type": hv_type,
            "hypervisor_version": hv_version,
            "hypervisor_hostname": self._hostname,
            "cpu_info": json.dumps(caps.cpu_info()),
            # Nova's: the free space once every sparse disk has grown to its size.
            "disk_available_least": free_gb - over_committed // 1024 ** 3,
            "supported_instances": [list(g) for g in caps.guests],
            "numa_topology": self.numa_topology.copy() if self.numa_topology else None,
            "pci_passthrough_devices": json.dumps(pci),
            "cpu_dedicated_set": self._dedicated_set(),
            "cpu_shared_set": set(self._shared),
        }

    def _memory_total(self, host_memory_mb: int) -> int:
        """The node's memory: ``file_backed_memory`` when set (spec/E §5.4)."""
        return self.conf.libvirt.file_backed_memory or host_memory_mb

    def _dedicated_set(self) -> set[int]:
        spec = self.conf.compute.cpu_dedicated_set
        return parse_cpu_spec(spec) if spec else set()

    def update_provider_tree(self, provider_tree: Any, nodename: str,
                             allocations: Any = None) -> None:
        """Inventories and traits of the node (spec/E §3.3).

        Plain (not a Deferred): it reads only what ``init_host`` and
        ``get_available_resource`` measured. ``provider_tree`` is either Nova's ``ProviderTree`` API (``data(name)``,
        ``update_inventory``, ``update_traits``) or a dict of providers by name, each
        ``{"inventories": {...}, "traits": set()}``.
        """
        existing_inv, existing_traits = _read_provider(provider_tree, nodename)
        # What init_host or the last get_available_resource measured: this method runs
        # in the reactor and asks nothing of the host.
        inventories = inventory.host_inventory(
            self.conf, vcpus=len(self._shared), pcpus=len(self._dedicated_set()),
            memory_mb=self._memory_mb, disk_gb=self._disk_total_gb, existing=existing_inv)
        traits = (set(existing_traits) - MANAGED_TRAITS) | self._traits()
        _write_provider(provider_tree, nodename, inventories, traits)

    def _traits(self) -> set[str]:
        traits = set(FEATURE_TRAITS)
        traits |= {trait for cap, trait in CAPABILITY_TRAITS.items()
                   if self.capabilities.get(cap)}
        traits |= self._cpu_traits
        if self.host.capabilities.has_smt:
            traits.add(HYPERTHREADING)
        traits |= self._viommu_traits()
        return traits

    def _viommu_traits(self) -> set[str]:
        """The vIOMMU models guests of this host can have (spec/E §5.1)."""
        arch = self.host.capabilities.arch
        if arch in designer.X86_ARCHES:
            models = {"INTEL", "AUTO"}
        elif arch == "aarch64":
            models = {"SMMUV3", "AUTO"}
        else:
            return set()
        if self._libvirt_version >= designer.MIN_LIBVIRT_VIOMMU_VIRTIO:
            models.add("VIRTIO")
        return {f"COMPUTE_VIOMMU_MODEL_{m}" for m in models}

    # -- guests ----------------------------------------------------------------------------

    def guest_arch(self, image_meta: Any) -> str | None:
        return _properties(image_meta).get("hw_architecture") or self.host.capabilities.arch

    def guest_request(self, instance: Any, image_meta: Any, network_info: Any,
                      disks: list[designer.DiskConfig], console_log: str | None,
                      cpu_model: str | None = None) -> designer.GuestRequest:
        """What ``config.build_domain`` needs to know of this guest on this host."""
        conf = self.conf
        flavor = instance.flavor
        props = _properties(image_meta)
        caps = self.host.capabilities
        arch = self.guest_arch(image_meta)
        machine = props.get("hw_machine_type")
        if not machine:
            for entry in conf.libvirt.hw_machine_type or ():
                key, _, value = entry.partition("=")
                if key.strip() == arch:
                    machine = value.strip()
        shared = conf.compute.cpu_shared_set
        floating = conf.vcpu_pin_set or shared
        return designer.GuestRequest(
            name=instance.name,
            uuid=instance.uuid,
            memory_mb=instance.memory_mb or flavor.memory_mb,
            vcpus=instance.vcpus or flavor.vcpus,
            domain_type=conf.libvirt.virt_type,
            arch=arch,
            machine_type=machine,
            flavor_name=flavor.name,
            extra_specs=dict(flavor.extra_specs or {}),
            image_props=props,
            numa=instance.numa_topology,
            host_numa=self.numa_topology,
            cpu_shared_set=parse_cpu_spec(shared) if shared else None,
            floating_cpus=parse_cpu_spec(floating) if floating else None,
            online_cpus=set(caps.online_cpus) or None,
            cpu_mode=self._cpu_mode(),
            cpu_model=cpu_model or (conf.libvirt.cpu_models or [None])[0],
            cpu_model_extra_flags=list(conf.libvirt.cpu_model_extra_flags),
            realtime_priority=conf.libvirt.realtime_scheduler_priority,
            disks=disks,
            network_info=list(network_info or instance.network_info or []),
            console_log=console_log,
            vnc_listen=conf.vnc.server_listen if conf.vnc.enabled else None,
            spice_listen=conf.spice.server_listen if conf.spice.enabled else None,
            rng_dev_path=conf.libvirt.rng_dev_path,
            file_backed_memory=bool(conf.libvirt.file_backed_memory),
            libvirt_version=self._libvirt_version,
        )

def _file_disks(xml_text: str) -> list[str]:
    """The file paths of a domain's file-backed disks."""
    root = ET.fromstring(xml_text)
    return [d.find("source").get("file") for d in root.iterfind("devices/disk[@type='file']")
            if d.find("source") is not None and d.find("source").get("file")]


def _virtual_size(path: str, size: int) -> int:
    """A disk's virtual size: a qcow2 header's (bytes 24–31), a raw file's length."""
    with open(path, "rb") as f:
        header = f.read(32)
    if header[:4] == b"QFI\xfb" and len(header) == 32:
        return struct.unpack(">Q", header[24:32])[0]
    return size


def disk_over_committed(paths: list[str]) -> int:
    """Bytes the disks may still grow by (Nova's ``_get_disk_over_committed_size_total``):
    each disk's virtual size less what it holds on the host. Blocking: a thread's job."""
    total = 0
    for path in set(paths):
        try:
            st = os.stat(path)
            virtual = _virtual_size(path, st.st_size)
        except OSError:
            continue  # a disk that went away (or is not ours to read) grows no more
        total += max(0, virtual - st.st_blocks * 512)
    return total


def _read_provider(tree: Any, name: str) -> tuple[dict[str, Any], set[str]]:
    if hasattr(tree, "data"):
        data = tree.data(name)
        return dict(data.inventory or {}), set(data.traits or ())
    provider = tree.get(name) or {}
    return dict(provider.get("inventories") or {}), set(provider.get("traits") or ())


def _write_provider(tree: Any, name: str, inventories: dict[str, Any], traits: set[str]
                    ) -> None:
    if hasattr(tree, "update_inventory"):
        tree.update_inventory(name, inventories)
        tree.update_traits(name, traits)
        return
    provider = tree.setdefault(name, {})
    provider["inventories"] = inventories
    provider["traits"] = traits

"""``libvirt.LibvirtDriver``: KVM/QEMU guests through libvirt (Nova's ``nova.virt.libvirt``).

Every libvirt call runs in the host's thread pool (``host.Host.call``); waiting for a
guest to boot or to shut down is a reactor timer, not a sleeping thread. The host's
NUMA topology, CPU sets and PCI devices are read once in ``init_host`` (a topology or
CPU option that cannot be used stops the service there, with one line naming it).

What a guest looks like is ``config.build_domain``; where its root disk comes from is
``imagebackend.Qcow2Backend``. A libvirt error during spawn undefines what was defined,
removes the disk and raises ``InstanceSpawnFailure`` with libvirt's message, which the
compute manager records as the instance's fault.
"""
from __future__ import annotations

import json
import os
from typing import Any

import libvirt
from twisted.internet import defer, task, threads, utils
from zope.interface import implementer

from nova_tx import exception, log
from nova_tx.compute import states
from nova_tx.objects import numa as obj
from nova_tx.virt import driver as virt_driver
from nova_tx.virt import inventory
from nova_tx.virt.cpuset import parse_cpu_spec
from nova_tx.virt.host_topology import host_cpu_sets
from nova_tx.virt.libvirt import config as designer
from nova_tx.virt.libvirt import cpu_models
from nova_tx.virt.libvirt import host as host_mod
from nova_tx.virt.libvirt.imagebackend import Qcow2Backend

LOG = log.getLogger(__name__)

__all__ = ["InstanceSpawnFailure", "LibvirtDriver", "power_state"]

MAX_CONSOLE_BYTES = 100 * 1024
# How often a wait for a guest's state looks again (Nova polls every 0.5 s to 1 s).
POLL_INTERVAL = 0.5

_POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: states.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: states.RUNNING,
    # A blocked guest is running as far as anyone outside it can tell.
    libvirt.VIR_DOMAIN_BLOCKED: states.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: states.POWER_PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: states.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: states.POWER_SUSPENDED,
}

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


def power_state(libvirt_state: int) -> int:
    """Nova's power state of a libvirt domain state."""
    return _POWER_STATES.get(libvirt_state, states.NOSTATE)


class InstanceSpawnFailure(exception.NovaException):
    msg_fmt = "Failed to spawn instance %(instance_uuid)s: %(reason)s"


class InstanceRebootFailure(exception.NovaException):
    msg_fmt = "Failed to reboot instance %(instance_uuid)s: %(reason)s"


class InstancePowerFailure(exception.NovaException):
    msg_fmt = "Failed to %(action)s instance %(instance_uuid)s: %(reason)s"


class SnapshotFailure(exception.NovaException):
    msg_fmt = "Failed to snapshot instance %(instance_uuid)s: %(reason)s"


class InstanceRescueFailure(exception.NovaException):
    """Nova's ``InstanceRescueFailure`` / ``InstanceUnRescueFailure``."""

    msg_fmt = "Failed to move instance %(instance_uuid)s to rescue mode: %(reason)s"


class InstanceUnRescueFailure(exception.NovaException):
    msg_fmt = "Failed to unrescue instance %(instance_uuid)s: %(reason)s"




def _properties(image_meta: Any) -> dict[str, Any]:
    if image_meta is None:
        return {}
    if isinstance(image_meta, dict):
        return dict(image_meta.get("properties") or {})
    return dict(getattr(image_meta, "properties", None) or {})


def _image_id(instance: Any, image_meta: Any) -> str | None:
    if isinstance(image_meta, dict) and image_meta.get("id"):
        return image_meta["id"]
    return getattr(image_meta, "id", None) or instance.image_ref


@implementer(virt_driver.IComputeDriver, virt_driver.ISnapshotDriver,
             virt_driver.IRescueDriver)
class LibvirtDriver:
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
        if self.conf.libvirt.virt_type not in ("kvm", "qemu"):
            raise exception.ConfigError(
                reason="[libvirt] file_backed_memory needs [libvirt] virt_type kvm or qemu")
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
            for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                state, max_mem, _mem, ncpu, _time = dom.info()
                vcpus_used += ncpu
                memory_kb_used += max_mem
            return (conn.getType(), conn.getVersion(), conn.getInfo()[1], vcpus_used,
                    memory_kb_used // 1024)
        hv_type, hv_version, memory_mb, vcpus_used, memory_used = await self.host.call(thd)
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
            "disk_available_least": free_gb,
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

    def _lookup(self, conn: libvirt.virConnect, uuid: str) -> libvirt.virDomain:
        try:
            return conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=uuid) from None
            raise

    def list_instance_uuids(self) -> defer.Deferred:
        return self.host.call(lambda conn: [d.UUIDString() for d in conn.listAllDomains(0)])

    def instance_exists(self, instance: Any) -> defer.Deferred:
        def thd(conn: libvirt.virConnect) -> bool:
            try:
                self._lookup(conn, instance.uuid)
            except exception.InstanceNotFound:
                return False
            return True
        return self.host.call(thd)

    def get_info(self, instance: Any) -> defer.Deferred:
        def thd(conn: libvirt.virConnect) -> virt_driver.InstanceInfo:
            dom = self._lookup(conn, instance.uuid)
            return virt_driver.InstanceInfo(state=power_state(dom.info()[0]),
                                            internal_id=str(dom.ID()))
        return self.host.call(thd)

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

    def _fetcher(self, context: Any) -> Any:
        if self.image_api is None:
            return None

        def fetch(image_id: str, path: str) -> Any:
            return defer.ensureDeferred(self.image_api.download_to(context, image_id, path))
        return fetch

    def spawn(self, context: Any, instance: Any, image_meta: Any, injected_files: Any,
              admin_password: str | None, allocations: Any, network_info: Any = None,
              block_device_info: Any = None, power_on: bool = True) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._spawn(
            context, instance, image_meta, network_info, block_device_info, power_on))

    async def _spawn(self, context: Any, instance: Any, image_meta: Any, network_info: Any,
                     block_device_info: Any, power_on: bool) -> None:
        if (block_device_info or {}).get("block_device_mapping"):
            raise InstanceSpawnFailure(instance_uuid=instance.uuid,
                                       reason="volumes are not supported by this driver")
        image_id = _image_id(instance, image_meta)
        if not image_id:
            raise InstanceSpawnFailure(instance_uuid=instance.uuid,
                                       reason="no image to boot from")
        uuid = instance.uuid
        defined = False
        try:
            disks = await self._create_disks(context, instance, image_id,
                                             block_device_info or {})
            model = await self._guest_cpu_model(instance, _properties(image_meta),
                                                self.guest_arch(image_meta))
            request = self.guest_request(
                instance, image_meta, network_info, disks,
                self.image_backend.console_log(uuid), cpu_model=model)
            xml = designer.domain_xml(request)

            def define(conn: libvirt.virConnect) -> None:
                dom = conn.defineXML(xml)
                if power_on:
                    dom.createWithFlags(0)
            await self.host.call(define)
            defined = True
            if power_on:
                await self._wait_for_state(uuid, {states.RUNNING}, fail_on={
                    states.SHUTDOWN, states.CRASHED})
        except Exception as e:
            await self._cleanup_failed_spawn(uuid, defined)
            if isinstance(e, libvirt.libvirtError):
                raise InstanceSpawnFailure(instance_uuid=uuid,
                                           reason=e.get_error_message()) from e
            raise

    async def _create_disks(self, context: Any, instance: Any, image_id: str,
                            block_device_info: dict[str, Any]) -> list[designer.DiskConfig]:
        """The root overlay, then the ephemeral and swap disks of ``block_device_info``
        (the compute manager's: root device name, ephemerals, swap), each on the bus
        its device name implies (vd: virtio, sd: scsi, hd: ide)."""
        used: set[str] = set()

        def target(device_name: str | None) -> str:
            name = (device_name or "").rsplit("/", 1)[-1]
            if not name:
                name = next(f"vd{c}" for c in "bcdefghijklmnopqrstuvwxyz"
                            if f"vd{c}" not in used)
            if name in used:
                raise InstanceSpawnFailure(instance_uuid=instance.uuid,
                                           reason=f"two disks on device {name}")
            used.add(name)
            return name

        def bus(dev: str) -> str:
            return {"sd": "scsi", "hd": "ide"}.get(dev[:2], "virtio")

        root_dev = target(block_device_info.get("root_device_name") or "/dev/vda")
        root = await self.image_backend.create_root_disk(
            instance.uuid, image_id, instance.root_gb or 0, self._fetcher(context))
        disks = [designer.DiskConfig(path=root, target_dev=root_dev, bus=bus(root_dev))]
        for eph in block_device_info.get("ephemerals") or ():
            dev = target(eph.get("device_name"))
            path = await self.image_backend.create_blank_disk(
                instance.uuid, f"disk.eph{eph.get('num', len(disks) - 1)}",
                int(eph.get("size") or 0) * 1024)
            disks.append(designer.DiskConfig(path=path, target_dev=dev,
                                             bus=eph.get("disk_bus") or bus(dev)))
        swap = block_device_info.get("swap")
        if swap and int(swap.get("swap_size") or 0) > 0:
            dev = target(swap.get("device_name"))
            path = await self.image_backend.create_blank_disk(
                instance.uuid, "disk.swap", int(swap["swap_size"]))
            disks.append(designer.DiskConfig(path=path, target_dev=dev, bus=bus(dev)))
        return disks

    async def _cleanup_failed_spawn(self, uuid: str, defined: bool) -> None:
        try:
            if defined:
                await self.host.call(self._destroy_domain, uuid)
            await threads.deferToThread(self.image_backend.remove, uuid)
        except Exception:
            LOG.exception("cleaning up the failed spawn of %s", uuid)

    async def _wait_for_state(self, uuid: str, wanted: set[int], timeout: float | None = None,
                              fail_on: set[int] = frozenset()) -> bool:
        """Poll until the guest's power state is one of ``wanted``: True; False when
        ``timeout`` seconds pass first. A state in ``fail_on`` is the guest failing."""
        waited = 0.0
        while True:
            info = await self.get_info(_Ref(uuid))
            if info.state in wanted:
                return True
            if info.state in fail_on:
                raise InstanceSpawnFailure(instance_uuid=uuid,
                                           reason=f"the guest stopped (power state "
                                           f"{info.state}) while starting")
            if timeout is not None and waited >= timeout:
                return False
            await task.deferLater(self._reactor, POLL_INTERVAL, lambda: None)
            waited += POLL_INTERVAL

    def _destroy_domain(self, conn: libvirt.virConnect, uuid: str) -> None:
        try:
            dom = self._lookup(conn, uuid)
        except exception.InstanceNotFound:
            return
        if dom.isActive():
            try:
                dom.destroy()
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
        try:
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if e.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT,
                                          libvirt.VIR_ERR_INVALID_ARG):
                raise
            dom.undefine()

    def destroy(self, context: Any, instance: Any, network_info: Any,
                block_device_info: Any = None, destroy_disks: bool = True) -> defer.Deferred:
        async def run() -> None:
            await self.host.call(self._destroy_domain, instance.uuid)
            if destroy_disks:
                await threads.deferToThread(self.image_backend.remove, instance.uuid)
        return defer.Deferred.fromCoroutine(run())

    def _domain_call(self, instance: Any, method: str, *args: Any) -> defer.Deferred:
        return self.host.call(lambda conn: getattr(self._lookup(conn, instance.uuid),
                                                   method)(*args))

    def reboot(self, context: Any, instance: Any, network_info: Any, reboot_type: str,
               block_device_info: Any = None) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._reboot(instance, reboot_type))

    async def _reboot(self, instance: Any, reboot_type: str) -> None:
        uuid = instance.uuid
        try:
            if reboot_type == "SOFT":
                if await self._soft_reboot(instance):
                    return
                LOG.warning("instance %s did not shut down within %s s; rebooting it hard",
                            uuid, self.conf.libvirt.wait_soft_reboot_seconds)
            await self._hard_reboot(instance)
        except libvirt.libvirtError as e:
            raise InstanceRebootFailure(instance_uuid=uuid,
                                        reason=e.get_error_message()) from e

    async def _soft_reboot(self, instance: Any) -> bool:
        """Shut the guest down and start it again; False when it is not running or does
        not stop within ``wait_soft_reboot_seconds`` (the caller reboots hard)."""
        info = await self.get_info(instance)
        if info.state != states.RUNNING:
            return False
        await self._domain_call(instance, "shutdown")
        stopped = await self._wait_for_state(
            instance.uuid, {states.SHUTDOWN}, timeout=self.conf.libvirt.wait_soft_reboot_seconds)
        if not stopped:
            return False
        await self._domain_call(instance, "createWithFlags", 0)
        await self._wait_for_state(instance.uuid, {states.RUNNING})
        return True

    async def _hard_reboot(self, instance: Any) -> None:
        def thd(conn: libvirt.virConnect) -> None:
            dom = self._lookup(conn, instance.uuid)
            if dom.isActive():
                dom.destroy()
            dom.createWithFlags(0)
        await self.host.call(thd)
        await self._wait_for_state(instance.uuid, {states.RUNNING})

    def power_off(self, instance: Any, timeout: int = 0, retry_interval: int = 0
                  ) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._power_off(instance, timeout, retry_interval))

    async def _power_off(self, instance: Any, timeout: int, retry_interval: int) -> None:
        """A clean shutdown asked again every ``retry_interval`` s for up to ``timeout``
        s (Nova's ``_clean_shutdown``), then the guest is destroyed if still running."""
        try:
            info = await self.get_info(instance)
            if info.state == states.SHUTDOWN:
                return
            if timeout:
                interval = retry_interval or timeout
                waited = 0
                while waited < timeout:
                    await self._domain_call(instance, "shutdown")
                    step = min(interval, timeout - waited)
                    if await self._wait_for_state(instance.uuid, {states.SHUTDOWN},
                                                  timeout=step):
                        return
                    waited += step

            def thd(conn: libvirt.virConnect) -> None:
                dom = self._lookup(conn, instance.uuid)
                if dom.isActive():
                    dom.destroy()
            await self.host.call(thd)
        except libvirt.libvirtError as e:
            raise InstancePowerFailure(action="power off", instance_uuid=instance.uuid,
                                       reason=e.get_error_message()) from e

    def power_on(self, context: Any, instance: Any, network_info: Any,
                 block_device_info: Any = None) -> defer.Deferred:
        async def run() -> None:
            def thd(conn: libvirt.virConnect) -> None:
                dom = self._lookup(conn, instance.uuid)
                if not dom.isActive():
                    dom.createWithFlags(0)
            try:
                await self.host.call(thd)
            except libvirt.libvirtError as e:
                raise InstancePowerFailure(action="power on", instance_uuid=instance.uuid,
                                           reason=e.get_error_message()) from e
            await self._wait_for_state(instance.uuid, {states.RUNNING})
        return defer.Deferred.fromCoroutine(run())

    def pause(self, instance: Any) -> defer.Deferred:
        return self._domain_call(instance, "suspend")

    def unpause(self, instance: Any) -> defer.Deferred:
        return self._domain_call(instance, "resume")

    def suspend(self, context: Any, instance: Any) -> defer.Deferred:
        return self._domain_call(instance, "managedSave", 0)

    def resume(self, context: Any, instance: Any, network_info: Any,
               block_device_info: Any = None) -> defer.Deferred:
        async def run() -> None:
            await self._domain_call(instance, "createWithFlags", 0)
            await self._wait_for_state(instance.uuid, {states.RUNNING})
        return defer.Deferred.fromCoroutine(run())

    # -- snapshot and rescue ----------------------------------------------------------

    def snapshot(self, context: Any, instance: Any, image_id: str,
                 update_task_state: Any) -> defer.Deferred:
        from nova_tx.virt.libvirt import snapshot

        return defer.Deferred.fromCoroutine(
            snapshot.snapshot(self, context, instance, image_id, update_task_state))

    def rescue(self, context: Any, instance: Any, network_info: Any, image_meta: Any,
               rescue_password: str | None, block_device_info: Any = None) -> defer.Deferred:
        from nova_tx.virt.libvirt import rescue

        return defer.Deferred.fromCoroutine(
            rescue.rescue(self, context, instance, network_info, image_meta))

    def unrescue(self, context: Any, instance: Any) -> defer.Deferred:
        from nova_tx.virt.libvirt import rescue

        return defer.Deferred.fromCoroutine(rescue.unrescue(self, instance))

    def get_console_output(self, context: Any, instance: Any) -> defer.Deferred:
        path = self.image_backend.console_log(instance.uuid)

        def read() -> bytes:
            try:
                with open(path, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    size = f.tell()
                    f.seek(max(0, size - MAX_CONSOLE_BYTES))
                    return f.read()
            except FileNotFoundError:
                return b""
        return threads.deferToThread(read)


class _Ref:
    """An instance known only by its uuid (what the domain calls look it up by)."""

    def __init__(self, uuid: str):
        self.uuid = uuid


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

"""The domain XML of a guest (Nova's ``LibvirtDriver._get_guest_config`` and
``nova.virt.libvirt.config``), built with ``xml.etree.ElementTree``.

Pure: ``GuestRequest`` carries everything the document depends on (the flavor's extra
specs, the image's properties, the fitted guest NUMA topology the claim chose, the
host topology and CPU options, the disks, VIFs and console log), so a test builds the
exact document a spawn would define.

CPU placement follows spec/E §2.12: ``<vcpupin>`` per vCPU (a pinned vCPU to its pCPU,
a floating one to its host cell's shared CPUs), ``<emulatorpin>`` by the emulator-thread
policy, ``<vcpusched>`` for realtime vCPUs, ``<numatune>`` strict per guest cell,
``<cpu><numa>`` cells and huge pages in ``<memoryBacking>``. The other features are
spec/E §5.9–§5.11 and §5.8 (UEFI): ``quota:*`` limits, CPU mode and model, RNG,
watchdog, guest agent, PMU, hidden hypervisor id, locked memory.
"""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.virt import constraints, cpu_topology, guest_cpus
from nova_tx.virt.cpuset import format_cpu_spec

__all__ = ["DiskConfig", "GuestRequest", "build_domain", "domain_xml", "read_pins"]

_WATCHDOG_ACTIONS = ("poweroff", "reset", "pause", "none")
_VIOMMU_MODELS = ("intel", "smmuv3", "virtio", "auto")
X86_ARCHES = ("x86_64", "i686")
#: libvirt 8.3.0, the first with the virtio vIOMMU model (Nova's MIN_LIBVIRT_VIOMMU_VIRTIO_MODEL).
MIN_LIBVIRT_VIOMMU_VIRTIO = 8003000


class InvalidVIOMMUMachineType(exception.Invalid):
    msg_fmt = ("vIOMMU is not supported by Current machine type %(mtype)s "
               "(Architecture: %(arch)s).")


class InvalidVIOMMUArchitecture(exception.Invalid):
    msg_fmt = ("vIOMMU required either x86 or AArch64 architecture, but given "
               "architecture %(arch)s.")
_DISK_QUOTAS = ("read_bytes_sec", "write_bytes_sec", "total_bytes_sec",
                "read_iops_sec", "write_iops_sec", "total_iops_sec")
_VIF_QUOTAS = ("average", "peak", "burst")


@dataclasses.dataclass
class DiskConfig:
    """One file-backed disk (the image backend's root disk)."""

    path: str
    format: str = "qcow2"
    target_dev: str = "vda"
    bus: str = "virtio"
    device: str = "disk"
    cache: str = "none"


@dataclasses.dataclass
class GuestRequest:
    """What the domain XML of one guest is built from."""

    name: str
    uuid: str
    memory_mb: int
    vcpus: int
    domain_type: str = "kvm"
    arch: str | None = None
    machine_type: str | None = None
    flavor_name: str | None = None
    extra_specs: dict[str, str] = dataclasses.field(default_factory=dict)
    image_props: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The guest topology the claim fitted (host cell ids, pinning, page sizes).
    numa: obj.InstanceNUMATopology | None = None
    host_numa: obj.NUMATopology | None = None
    #: ``[compute] cpu_shared_set`` when configured (emulator threads ``share``).
    cpu_shared_set: set[int] | None = None
    #: ``vcpu_pin_set`` or ``cpu_shared_set`` when configured: a non-NUMA guest's CPUs.
    floating_cpus: set[int] | None = None
    online_cpus: set[int] | None = None
    cpu_mode: str | None = None
    cpu_model: str | None = None
    cpu_model_extra_flags: list[str] = dataclasses.field(default_factory=list)
    realtime_priority: int = 1
    disks: list[DiskConfig] = dataclasses.field(default_factory=list)
    network_info: list[Mapping[str, Any]] = dataclasses.field(default_factory=list)
    console_log: str | None = None
    vnc_listen: str | None = None
    spice_listen: str | None = None
    rng_dev_path: str | None = "/dev/urandom"
    #: ``[libvirt] file_backed_memory`` is on: guest memory is a shared file.
    file_backed_memory: bool = False
    #: libvirt's version as one number (9000000 is 9.0.0): features depend on it.
    libvirt_version: int = 0

    @property
    def numa_flavor(self) -> obj.Flavor:
        return obj.Flavor(vcpus=self.vcpus, memory_mb=self.memory_mb,
                          extra_specs=dict(self.extra_specs), name=self.flavor_name)

    @property
    def numa_image(self) -> obj.ImageMeta:
        return obj.ImageMeta(properties=dict(self.image_props))


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: Any) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()
                                          if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def _int_spec(specs: Mapping[str, Any], key: str, minimum: int | None = 0) -> int | None:
    raw = specs.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise exception.Invalid(f"Invalid {key} '{raw}': it must be an integer") from None
    if minimum is not None and value < minimum:
        raise exception.Invalid(f"Invalid {key} '{raw}': it must be at least {minimum}")
    return value


def _bool(value: Any, key: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    return constraints.parse_bool(value, key)


def _smallest_page(req: GuestRequest, host_cell_id: int) -> int | None:
    for cell in (req.host_numa.cells if req.host_numa else ()):
        if cell.id == host_cell_id and cell.mempages:
            return min(p.size_kb for p in cell.mempages)
    return None


def _huge_cells(req: GuestRequest) -> list[tuple[int, int]]:
    """(guest cell index, page size KiB) of the cells backed by pages larger than the
    host cell's smallest: only those get ``<hugepages><page>`` and shared memory."""
    result = []
    for index, cell in enumerate(req.numa.cells if req.numa else ()):
        smallest = _smallest_page(req, cell.id)
        if cell.pagesize and smallest and cell.pagesize > smallest:
            result.append((index, cell.pagesize))
    return result


def _realtime_vcpus(req: GuestRequest) -> set[int]:
    return constraints.get_realtime_cpu_constraint(req.numa_flavor, req.numa_image) or set()


# -- sections ------------------------------------------------------------------------------

class MemoryPagesUnsupported(exception.Invalid):
    msg_fmt = "Host does not support guests with custom memory page sizes"


def _memory_backing(domain: ET.Element, req: GuestRequest, realtime: bool) -> None:
    huge = _huge_cells(req)
    locked = bool(constraints.get_locked_memory_constraint(req.numa_flavor, req.numa_image))
    if req.file_backed_memory:
        # spec/E §5.4: file-backed memory excludes any page size request (as Nova, even
        # "small").
        if any(cell.pagesize for cell in (req.numa.cells if req.numa else ())):
            raise MemoryPagesUnsupported()
    if not (huge or realtime or locked or req.file_backed_memory):
        return
    backing = _sub(domain, "memoryBacking")
    if huge:
        pages = _sub(backing, "hugepages")
        for index, size in huge:
            _sub(pages, "page", size=size, unit="KiB", nodeset=index)
    if realtime:
        _sub(backing, "nosharepages")
    if realtime or locked:
        _sub(backing, "locked")
    if req.file_backed_memory:
        _sub(backing, "source", type="file")
        _sub(backing, "access", mode="shared")
        _sub(backing, "allocation", mode="immediate")
        _sub(backing, "discard")


def _cputune(domain: ET.Element, req: GuestRequest, realtime: set[int]) -> None:
    specs = req.extra_specs
    shares = _int_spec(specs, "quota:cpu_shares")
    period = _int_spec(specs, "quota:cpu_period")
    if period is not None and period != 0 and not 1000 <= period <= 1000000:
        raise exception.Invalid(
            f"Invalid quota:cpu_period '{period}': it must be 0 or 1000 to 1000000")
    quota = _int_spec(specs, "quota:cpu_quota", minimum=None)
    if quota is not None and 0 < quota < 1000:
        # libvirt refuses these at define time; the guest could never start.
        raise exception.Invalid(
            f"Invalid quota:cpu_quota '{quota}': it must be 0, negative or at least 1000")
    pins: dict[int, set[int]] = {}
    emulator: set[int] = set()
    if req.numa is not None and req.host_numa is not None:
        pins = guest_cpus.vcpu_pin_sets(req.numa, req.host_numa)
        emulator = guest_cpus.emulator_threads_pin(
            req.numa, req.host_numa, req.cpu_shared_set, req.online_cpus, realtime)
    if shares is None and period is None and quota is None and not pins and not realtime:
        return
    tune = _sub(domain, "cputune")
    if shares is not None:
        _sub(tune, "shares", shares)
    if period is not None:
        _sub(tune, "period", period)
    if quota is not None:
        _sub(tune, "quota", quota)
    for vcpu, cpus in pins.items():
        _sub(tune, "vcpupin", vcpu=vcpu, cpuset=format_cpu_spec(cpus))
    if emulator:
        _sub(tune, "emulatorpin", cpuset=format_cpu_spec(emulator))
    if realtime:
        _sub(tune, "vcpusched", vcpus=format_cpu_spec(realtime), scheduler="fifo",
             priority=req.realtime_priority)


def _numatune(domain: ET.Element, req: GuestRequest) -> None:
    if req.numa is None or req.host_numa is None:
        return
    tune = _sub(domain, "numatune")
    used = sorted({cell.id for cell in req.numa.cells})
    _sub(tune, "memory", mode="strict", nodeset=format_cpu_spec(used))
    for index, cell in enumerate(req.numa.cells):
        _sub(tune, "memnode", cellid=index, mode="strict", nodeset=cell.id)


def _os(domain: ET.Element, req: GuestRequest) -> None:
    firmware = req.image_props.get("hw_firmware_type")
    if firmware not in (None, "bios", "uefi"):
        raise exception.Invalid(f"Invalid hw_firmware_type '{firmware}': bios or uefi")
    secure = _secure_boot(req) if firmware == "uefi" else False
    os_el = _sub(domain, "os", firmware="efi" if firmware == "uefi" else None)
    _sub(os_el, "type", req.image_props.get("hw_vm_mode") or "hvm",
         arch=req.arch, machine=req.machine_type)
    if secure:
        fw = _sub(os_el, "firmware")
        _sub(fw, "feature", enabled="yes", name="secure-boot")
    _sub(os_el, "boot", dev="hd")


def _secure_boot(req: GuestRequest) -> bool:
    flavor = req.extra_specs.get("os:secure_boot")
    image = req.image_props.get("os_secure_boot")
    if flavor and image and flavor != image and image != "optional":
        raise exception.Invalid(
            f"Flavor os:secure_boot={flavor} conflicts with image os_secure_boot={image}")
    return "required" in (flavor, image)


def _features(domain: ET.Element, req: GuestRequest) -> None:
    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    pmu = req.extra_specs.get("hw:pmu", req.image_props.get("hw_pmu"))
    hide = req.extra_specs.get("hw:hide_hypervisor_id",
                               req.extra_specs.get("hide_hypervisor_id",
                                                   req.image_props.get("img_hide_hypervisor_id")))
    if _bool(hide, "hw:hide_hypervisor_id", False):
        kvm = _sub(features, "kvm")
        _sub(kvm, "hidden", state="on")
    if pmu is not None and pmu != "":
        _sub(features, "pmu", state="on" if _bool(pmu, "hw:pmu", False) else "off")
    if req.image_props.get("hw_firmware_type") == "uefi" and _secure_boot(req):
        _sub(features, "smm", state="on")
    if viommu_model(req):
        _sub(features, "ioapic", driver="qemu")


def _cpu(domain: ET.Element, req: GuestRequest) -> None:
    topology = cpu_topology.get_best_cpu_topology(req.numa_flavor, req.numa_image,
                                                  numa_topology=req.numa)
    mode = req.cpu_mode
    if mode == "custom" and not req.cpu_model:
        raise exception.Invalid("[libvirt] cpu_mode is custom but cpu_models is empty")
    cpu = _sub(domain, "cpu", mode=mode if mode not in (None, "none") else None,
               match="exact" if mode == "custom" else None)
    if mode == "custom":
        _sub(cpu, "model", req.cpu_model, fallback="forbid")
    _sub(cpu, "topology", sockets=topology.sockets, dies=1, cores=topology.cores,
         threads=topology.threads)
    for flag in req.cpu_model_extra_flags:
        flag = flag.strip().lower()
        if not flag:
            continue
        policy = "disable" if flag.startswith("-") else "require"
        _sub(cpu, "feature", policy=policy, name=flag.lstrip("+-"))
    if req.numa is None:
        return
    # As Nova: once any cell is backed by huge pages, every cell's memory is shared
    # (vhost-user ports need the guest's memory mapped shared).
    shared = "shared" if _huge_cells(req) else None
    numa = _sub(cpu, "numa")
    for index, cell in enumerate(req.numa.cells):
        _sub(numa, "cell", id=index, cpus=format_cpu_spec(cell.total_cpus),
             memory=cell.memory * 1024, unit="KiB", memAccess=shared)


def _disks(devices: ET.Element, req: GuestRequest) -> None:
    iotune = {key: _int_spec(req.extra_specs, f"quota:disk_{key}") for key in _DISK_QUOTAS}
    for disk in req.disks:
        el = _sub(devices, "disk", type="file", device=disk.device)
        _sub(el, "driver", name="qemu", type=disk.format, cache=disk.cache)
        _sub(el, "source", file=disk.path)
        _sub(el, "target", dev=disk.target_dev, bus=disk.bus)
        if any(v is not None for v in iotune.values()):
            tune = _sub(el, "iotune")
            for key in _DISK_QUOTAS:
                if iotune[key] is not None:
                    _sub(tune, key, iotune[key])


def _interfaces(devices: ET.Element, req: GuestRequest) -> None:
    quotas = {(d, k): _int_spec(req.extra_specs, f"quota:vif_{d}_{k}")
              for d in ("inbound", "outbound") for k in _VIF_QUOTAS}
    model = req.image_props.get("hw_vif_model") or "virtio"
    for vif in req.network_info:
        vif_type = vif.get("type")
        network = vif.get("network") or {}
        bridge = network.get("bridge") or (vif.get("details") or {}).get("bridge_name")
        devname = vif.get("devname") or ("tap" + str(vif.get("id", ""))[:11])
        if vif_type in ("bridge", "ovs") and bridge:
            el = _sub(devices, "interface", type="bridge")
            _sub(el, "mac", address=vif.get("address"))
            _sub(el, "source", bridge=bridge)
            if vif_type == "ovs":
                port = _sub(el, "virtualport", type="openvswitch")
                _sub(port, "parameters", interfaceid=vif.get("id"))
        elif vif_type in ("bridge", "ovs", "tap", "ethernet", "other", None):
            el = _sub(devices, "interface", type="ethernet")
            _sub(el, "mac", address=vif.get("address"))
        else:
            raise exception.Invalid(f"Unsupported VIF type {vif_type} for port {vif.get('id')}")
        _sub(el, "target", dev=devname)
        _sub(el, "model", type=model)
        mtu = network.get("mtu") or (network.get("meta") or {}).get("mtu")
        if mtu:
            _sub(el, "mtu", size=mtu)
        if any(v is not None for v in quotas.values()):
            bandwidth = _sub(el, "bandwidth")
            for direction in ("inbound", "outbound"):
                values = {k: quotas[(direction, k)] for k in _VIF_QUOTAS
                          if quotas[(direction, k)] is not None}
                if values:
                    _sub(bandwidth, direction, **values)


def _console(devices: ET.Element, req: GuestRequest) -> None:
    if req.console_log:
        serial = _sub(devices, "serial", type="file")
        _sub(serial, "source", path=req.console_log)
    _sub(devices, "serial", type="pty")


def _agent(devices: ET.Element, req: GuestRequest) -> None:
    if _bool(req.image_props.get("hw_qemu_guest_agent"), "hw_qemu_guest_agent", False):
        channel = _sub(devices, "channel", type="unix")
        _sub(channel, "target", type="virtio", name="org.qemu.guest_agent.0")


def _graphics(devices: ET.Element, req: GuestRequest) -> None:
    if req.vnc_listen:
        _sub(devices, "graphics", type="vnc", autoport="yes", listen=req.vnc_listen)
    if req.spice_listen:
        _sub(devices, "graphics", type="spice", autoport="yes", listen=req.spice_listen)
    if req.vnc_listen or req.spice_listen:
        video = _sub(devices, "video")
        _sub(video, "model", type=req.image_props.get("hw_video_model") or "virtio")


def _watchdog(devices: ET.Element, req: GuestRequest) -> None:
    action = req.image_props.get("hw_watchdog_action") or req.extra_specs.get(
        "hw:watchdog_action")
    if not action or action == "disabled":
        return
    if action not in _WATCHDOG_ACTIONS:
        raise exception.Invalid(f"Invalid watchdog action '{action}': one of "
                                f"disabled, {', '.join(_WATCHDOG_ACTIONS)}")
    _sub(devices, "watchdog", model="i6300esb", action=action)


def viommu_model(req: GuestRequest) -> str | None:
    """The vIOMMU model of spec/E §5.1 (flavor over image; ``auto`` resolved), or None;
    raises when the architecture or machine type cannot have one."""
    model = req.extra_specs.get("hw:viommu_model") or req.image_props.get("hw_viommu_model")
    if not model:
        return None
    if model not in _VIOMMU_MODELS:
        raise exception.Invalid(f"Invalid hw:viommu_model '{model}': one of "
                                f"{', '.join(_VIOMMU_MODELS)}")
    arch, machine = req.arch or "", req.machine_type or ""
    if arch in X86_ARCHES:
        if "q35" not in machine:
            raise InvalidVIOMMUMachineType(mtype=machine or "default", arch=arch)
    elif arch == "aarch64":
        if "virt" not in machine:
            raise InvalidVIOMMUMachineType(mtype=machine or "default", arch=arch)
    else:
        raise InvalidVIOMMUArchitecture(arch=arch or "unknown")
    if model == "auto":
        if req.libvirt_version >= MIN_LIBVIRT_VIOMMU_VIRTIO:
            return "virtio"
        return "intel" if arch in X86_ARCHES else "smmuv3"
    return model


def _viommu(devices: ET.Element, req: GuestRequest, model: str | None) -> None:
    if model is None:
        return
    iommu = _sub(devices, "iommu", model=model)
    if model == "intel":
        # libvirt refuses driver attributes on the virtio and smmuv3 models.
        _sub(iommu, "driver", intremap="on", caching_mode="on", iotlb="on", aw_bits=48,
             eim="on" if "q35" in (req.machine_type or "") else "off")


def _rng(devices: ET.Element, req: GuestRequest) -> None:
    if not _bool(req.extra_specs.get("hw_rng:allowed"), "hw_rng:allowed", True):
        return
    model = req.image_props.get("hw_rng_model") or "virtio"
    if model != "virtio":
        raise exception.Invalid(f"Invalid hw_rng_model '{model}': only virtio is supported")
    rng = _sub(devices, "rng", model="virtio")
    rate_bytes = _int_spec(req.extra_specs, "hw_rng:rate_bytes")
    rate_period = _int_spec(req.extra_specs, "hw_rng:rate_period")
    if rate_bytes and rate_period:
        _sub(rng, "rate", bytes=rate_bytes, period=rate_period)
    _sub(rng, "backend", req.rng_dev_path or "/dev/urandom", model="random")


# -- the document --------------------------------------------------------------------------

def build_domain(req: GuestRequest) -> ET.Element:
    """The ``<domain>`` element; a flavor or image value the guest cannot honour raises
    ``Invalid`` (the spawn fails rather than silently dropping it)."""
    realtime = _realtime_vcpus(req)
    if realtime:
        guest_cpus.check_realtime_host_config(
            realtime, req.numa.emulator_threads_policy if req.numa else None,
            req.cpu_shared_set)
    domain = ET.Element("domain", type=req.domain_type)
    _sub(domain, "name", req.name)
    _sub(domain, "uuid", req.uuid)
    _sub(domain, "memory", req.memory_mb * 1024, unit="KiB")
    _memory_backing(domain, req, bool(realtime))
    vcpu_cpuset = None
    if req.numa is None and req.floating_cpus:
        vcpu_cpuset = format_cpu_spec(req.floating_cpus)
    _sub(domain, "vcpu", req.vcpus, placement="static", cpuset=vcpu_cpuset)
    _cputune(domain, req, realtime)
    _numatune(domain, req)
    _os(domain, req)
    _features(domain, req)
    _cpu(domain, req)
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    _disks(devices, req)
    _interfaces(devices, req)
    _console(devices, req)
    _agent(devices, req)
    _graphics(devices, req)
    _watchdog(devices, req)
    _sub(_sub(devices, "memballoon", model="virtio"), "stats", period=10)
    _rng(devices, req)
    _viommu(devices, req, viommu_model(req))
    return domain


def domain_xml(req: GuestRequest) -> str:
    element = build_domain(req)
    ET.indent(element)
    return ET.tostring(element, encoding="unicode")


def read_pins(xml_text: str) -> dict[str, Any]:
    """The CPU and page placement a domain document asks for, read back from it:
    ``vcpupin`` {vCPU: CPUs}, ``emulatorpin``, ``memnode`` {guest cell: host cells},
    ``hugepages`` {guest cell: KiB}, ``vcpusched``. What a test (or an operator's
    check) compares with the claim."""
    from nova_tx.virt.cpuset import parse_cpu_spec

    root = ET.fromstring(xml_text)
    emulator = root.find("cputune/emulatorpin")
    sched: set[int] = set()
    for element in root.iterfind("cputune/vcpusched"):
        sched |= parse_cpu_spec(element.get("vcpus"))
    return {
        "vcpupin": {int(p.get("vcpu")): parse_cpu_spec(p.get("cpuset"))
                    for p in root.iterfind("cputune/vcpupin")},
        "emulatorpin": parse_cpu_spec(emulator.get("cpuset")) if emulator is not None else None,
        "memnode": {int(m.get("cellid")): parse_cpu_spec(m.get("nodeset"))
                    for m in root.iterfind("numatune/memnode")},
        "hugepages": {int(p.get("nodeset")): int(p.get("size"))
                      for p in root.iterfind("memoryBacking/hugepages/page")},
        "vcpusched": sched or None,
    }

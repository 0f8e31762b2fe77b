"""From flavor extra specs and image properties to a guest NUMA topology (spec/E §1, §2.2).

Every check of spec/E §1.2–§1.5 and §1.7 lives here, in the order §2.2 gives, because
when a request breaks several rules the first error raised is the one the user sees.
All errors are ``nova_tx.exception.Invalid`` subclasses (HTTP 400) whose message names
the extra spec or image property at fault.

Seed-versus-Zed decisions applied (spec/E §0.2, spec/DECISIONS.md):

* D2: realtime without any CPU policy means ``dedicated``. Applied after the explicit
  ``resources:PCPU/VCPU`` step, so that ``resources:PCPU`` with realtime stays valid
  and ``resources:VCPU`` with realtime is refused as a non-dedicated realtime guest.
* D6: flavor and image thread policies must agree whenever both are set.
* D8: an image page size without a flavor page size is forbidden (Zed).
* Booleans (``hw:cpu_realtime``, ``hw:locked_memory``) are parsed strictly, as the
  extra-spec validator of microversion 2.86 does: a value that is not a boolean is an
  error naming the key rather than a silent False.
"""
from __future__ import annotations

import math
import re
from typing import Any

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.virt.cpuset import InvalidCPUSpec, parse_cpu_spec

__all__ = [
    "get_cpu_policy_constraint",
    "get_cpu_thread_policy_constraint",
    "get_dedicated_cpu_constraint",
    "get_emulator_thread_policy_constraint",
    "get_locked_memory_constraint",
    "get_mem_page_size_constraint",
    "get_numa_node_count_constraint",
    "get_pci_numa_policy_constraint",
    "get_realtime_cpu_constraint",
    "get_vpmems",
    "is_realtime_enabled",
    "numa_get_constraints",
    "parse_bool",
    "parse_mem_page_size",
]

# Nova reads at most this many hw:numa_cpus.N / hw:numa_mem.N entries.
NUMA_NODES_MAX = 128

_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")

_RESOURCES_VCPU = re.compile(r"resources([1-9][0-9]*)?:VCPU")
_RESOURCES_PCPU = re.compile(r"resources([1-9][0-9]*)?:PCPU")
_HT_TRAIT = re.compile(r"trait([1-9][0-9]*)?:HW_CPU_HYPERTHREADING")
# oslo.utils strutils.string_to_bytes, IEC unit system.
_IEC_SIZE = re.compile(r"(^[-+]?\d*\.?\d+)([KMGT]i?)?(b|bit|B)$")
_IEC_EXPONENT = {"K": 1, "Ki": 1, "M": 2, "Mi": 2, "G": 3, "Gi": 3, "T": 4, "Ti": 4}


def _specs(flavor: obj.Flavor) -> dict[str, str]:
    return flavor.extra_specs or {}


def _props(image: obj.ImageMeta | None) -> dict[str, Any]:
    return image.properties if image is not None else {}


def _flavor_image(name: str, flavor: obj.Flavor, image: obj.ImageMeta | None
                  ) -> tuple[Any, Any]:
    """The raw ``hw:<name>`` extra spec and ``hw_<name>`` image property (None if unset)."""
    return _specs(flavor).get(f"hw:{name}"), _props(image).get(f"hw_{name}")


def parse_bool(value: Any, key: str) -> bool:
    """A boolean extra spec or image property: ``true/yes/on/1/...`` or their opposites."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise exception.InvalidRequest(
        f"Invalid value {value!r} for '{key}': expected a boolean "
        f"({', '.join(_TRUE)} or {', '.join(_FALSE)})")


def _parse_int(value: Any, key: str, minimum: int = 0) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise exception.InvalidRequest(
            f"Invalid value {value!r} for '{key}': invalid literal for int()") from None
    if number < minimum:
        raise exception.InvalidRequest(
            f"Invalid value {value!r} for '{key}': must be at least {minimum}")
    return number


def _parse_cpus(spec: Any, key: str) -> set[int]:
    try:
        return parse_cpu_spec(str(spec))
    except InvalidCPUSpec as e:
        raise InvalidCPUSpec(f"Invalid CPU set specification for '{key}': "
                             f"{e.format_message()}") from None


def _vcpus_mask(spec: Any, vcpus: int, key: str) -> set[int]:
    """A vCPU mask; a leading ``^`` means "every vCPU except" (``hw:cpu_realtime_mask``)."""
    text = str(spec)
    if text.strip().startswith("^"):
        return _parse_cpus(f"0-{vcpus - 1},{text}", key)
    return _parse_cpus(text, key)


# -- CPU policy, thread policy, emulator threads (R-POL, R-THR, R-EMU) -----------------

def get_cpu_policy_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                              ) -> str | None:
    """R-POL: the CPU allocation policy, or None (floating) when neither sets one."""
    flavor_policy, image_policy = _flavor_image("cpu_policy", flavor, image)
    for source, key, policy in (("flavor extra specs", "hw:cpu_policy", flavor_policy),
                                ("image properties", "hw_cpu_policy", image_policy)):
        if policy and policy not in obj.CPU_POLICIES:
            raise exception.InvalidCPUAllocationPolicy(
                source=source, key=key, requested=policy, available=str(obj.CPU_POLICIES))
    if flavor_policy == obj.CPU_POLICY_DEDICATED:
        return flavor_policy
    if flavor_policy == obj.CPU_POLICY_MIXED:
        if image_policy == obj.CPU_POLICY_DEDICATED:
            raise exception.ImageCPUPinningForbidden()
        return flavor_policy
    if flavor_policy == obj.CPU_POLICY_SHARED:
        if image_policy in obj.PINNED_CPU_POLICIES:
            raise exception.ImageCPUPinningForbidden()
        return flavor_policy
    return image_policy or None


def get_cpu_thread_policy_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                                     ) -> str | None:
    """R-THR: the thread policy; flavor and image must agree when both set one (D6)."""
    flavor_policy, image_policy = _flavor_image("cpu_thread_policy", flavor, image)
    for source, key, policy in (("flavor extra specs", "hw:cpu_thread_policy", flavor_policy),
                                ("image properties", "hw_cpu_thread_policy", image_policy)):
        if policy and policy not in obj.THREAD_POLICIES:
            raise exception.InvalidCPUThreadAllocationPolicy(
                source=source, key=key, requested=policy, available=str(obj.THREAD_POLICIES))
    if flavor_policy and image_policy and flavor_policy != image_policy:
        raise exception.ImageCPUThreadPolicyForbidden()
    return flavor_policy or image_policy or None


def get_emulator_thread_policy_constraint(flavor: obj.Flavor) -> str | None:
    """R-EMU: ``hw:emulator_threads_policy`` (flavor only), or None."""
    policy = _specs(flavor).get("hw:emulator_threads_policy")
    if not policy:
        return None
    if policy not in obj.EMULATOR_THREADS_POLICIES:
        raise exception.InvalidEmulatorThreadsPolicy(
            requested=policy, available=str(obj.EMULATOR_THREADS_POLICIES))
    return policy


# -- realtime and mixed (R-RT, R-MIX) --------------------------------------------------

def is_realtime_enabled(flavor: obj.Flavor) -> bool:
    value = _specs(flavor).get("hw:cpu_realtime")
    return value is not None and parse_bool(value, "hw:cpu_realtime")


def get_realtime_cpu_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                                ) -> set[int] | None:
    """R-RT steps 1–4: the realtime vCPUs, or None when realtime is off.

    The image's ``hw_cpu_realtime_mask`` wins over the flavor's; no mask means every
    vCPU, which needs the emulator threads moved off them.
    """
    if not is_realtime_enabled(flavor):
        return None
    flavor_mask, image_mask = _flavor_image("cpu_realtime_mask", flavor, image)
    key = "hw_cpu_realtime_mask" if image_mask else "hw:cpu_realtime_mask"
    mask = image_mask or flavor_mask
    vcpus = set(range(flavor.vcpus))
    realtime = _vcpus_mask(mask, flavor.vcpus, key) if mask else set(vcpus)
    if not realtime:
        raise exception.RealtimeMaskNotFoundOrInvalid()
    if realtime == vcpus and not get_emulator_thread_policy_constraint(flavor):
        raise exception.RealtimeMaskNotFoundOrInvalid()
    if not realtime <= vcpus:
        raise exception.RealtimeMaskNotFoundOrInvalid(
            f"Realtime policy vCPU(s) mask ({key}) is configured with RT vCPUs that are "
            f"not a subset of the vCPUs in the flavor.")
    return realtime


def get_dedicated_cpu_constraint(flavor: obj.Flavor) -> set[int] | None:
    """R-MIX: the vCPUs ``hw:cpu_dedicated_mask`` pins, or None without a mask."""
    mask = _specs(flavor).get("hw:cpu_dedicated_mask")
    if not mask:
        return None
    pinned = _vcpus_mask(mask, flavor.vcpus, "hw:cpu_dedicated_mask")
    vcpus = set(range(flavor.vcpus))
    if not pinned or not vcpus - pinned:
        raise exception.InvalidMixedInstanceDedicatedMask()
    if not pinned <= vcpus:
        raise exception.InvalidMixedInstanceDedicatedMask(
            "Mixed instance dedicated vCPU(s) mask is not a subset of vCPUs in the "
            "flavor. See 'hw:cpu_dedicated_mask'")
    return pinned


# -- explicit PCPU/VCPU resources and the hyperthreading trait (§1.3) -------------------

def _vcpu_pcpu_resources(flavor: obj.Flavor) -> tuple[int, int]:
    vcpu = pcpu = 0
    for key, value in _specs(flavor).items():
        for pattern, is_pcpu in ((_RESOURCES_VCPU, False), (_RESOURCES_PCPU, True)):
            if pattern.match(key):
                amount = _parse_int(value, key)
                if is_pcpu:
                    pcpu += amount
                else:
                    vcpu += amount
    return vcpu, pcpu


def _hyperthreading_trait(flavor: obj.Flavor, image: obj.ImageMeta | None) -> str | None:
    for key, value in _specs(flavor).items():
        if _HT_TRAIT.match(key):
            if value not in ("required", "forbidden"):
                raise exception.InvalidRequest(
                    f"Invalid value {value!r} for '{key}': expected 'required' or "
                    f"'forbidden'")
            return value
    props = _props(image)
    if "HW_CPU_HYPERTHREADING" in (props.get("traits_required") or ()):
        return "required"
    if props.get("trait:HW_CPU_HYPERTHREADING") == "required":
        return "required"
    return None


# -- NUMA shape, pages, locked memory, pmem (§1.4, §1.5) -------------------------------

def get_numa_node_count_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                                   ) -> int | None:
    flavor_nodes, image_nodes = _flavor_image("numa_nodes", flavor, image)
    if flavor_nodes and image_nodes:
        raise exception.ImageNUMATopologyForbidden(name="hw_numa_nodes")
    key = "hw:numa_nodes" if flavor_nodes else "hw_numa_nodes"
    nodes = flavor_nodes or image_nodes
    if nodes is None or nodes == "":
        return None
    try:
        count = int(str(nodes).strip())
    except ValueError:
        count = 0
    if count < 1:
        raise exception.InvalidNUMANodesNumber(key=key, nodes=nodes)
    return count


def parse_mem_page_size(value: Any, key: str) -> int:
    """A page size: ``small``/``large``/``any`` (negative constants) or KiB.

    Digits alone are KiB; otherwise oslo's IEC ``string_to_bytes``, so ``2MB`` and
    ``2MiB`` are 2048 but ``2Mb`` is 256 (a lower-case ``b`` means bits) and ``2M``
    is refused. Sizes below 1 KiB become 0 (no page size), as in Nova.
    """
    text = str(value)
    if text == "any":
        return obj.MEMPAGES_ANY
    if text == "large":
        return obj.MEMPAGES_LARGE
    if text == "small":
        return obj.MEMPAGES_SMALL
    if text.isdigit():
        return int(text)
    match = _IEC_SIZE.match(text)
    if not match:
        raise exception.MemoryPageSizeInvalid(pagesize=text, key=key)
    magnitude = float(match.group(1))
    if match.group(3) in ("b", "bit"):
        magnitude /= 8
    if match.group(2):
        magnitude *= 1024 ** _IEC_EXPONENT[match.group(2)]
    size_bytes = int(math.ceil(magnitude))
    if size_bytes < 0:
        raise exception.MemoryPageSizeInvalid(pagesize=text, key=key)
    return size_bytes // 1024


def get_mem_page_size_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                                 ) -> int | None:
    """R-PAGE: the requested page size; an image may only narrow ``large``/``any``."""
    flavor_request, image_request = _flavor_image("mem_page_size", flavor, image)
    if not flavor_request and image_request:
        raise exception.MemoryPageSizeForbidden(pagesize=image_request, against="<empty>")
    if not flavor_request:
        return None
    pagesize = parse_mem_page_size(flavor_request, "hw:mem_page_size")
    if image_request and pagesize in (obj.MEMPAGES_ANY, obj.MEMPAGES_LARGE):
        return parse_mem_page_size(image_request, "hw_mem_page_size")
    if image_request:
        raise exception.MemoryPageSizeForbidden(pagesize=image_request, against=flavor_request)
    return pagesize


def get_locked_memory_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                                 ) -> bool | None:
    flavor_value, image_value = _flavor_image("locked_memory", flavor, image)
    image_locked = None if image_value is None else parse_bool(image_value, "hw_locked_memory")
    if flavor_value is not None:
        locked = parse_bool(flavor_value, "hw:locked_memory")
        if image_locked is not None and locked != image_locked:
            raise exception.FlavorImageLockedMemoryConflict(image=image_locked, flavor=locked)
    else:
        locked = image_locked
    if locked and not get_mem_page_size_constraint(flavor, image):
        raise exception.LockMemoryForbidden()
    return locked


def get_vpmems(flavor: obj.Flavor) -> list[str]:
    """``hw:pmem`` labels, in order (a label may repeat)."""
    value = _specs(flavor).get("hw:pmem")
    if not value:
        return []
    return [label.strip() for label in value.split(",") if label.strip()]


def get_pci_numa_policy_constraint(flavor: obj.Flavor, image: obj.ImageMeta | None
                                   ) -> str | None:
    """The flavor/image PCI NUMA affinity policy; it overrides every alias's policy."""
    flavor_policy, image_policy = _flavor_image("pci_numa_affinity_policy", flavor, image)
    if flavor_policy and image_policy and flavor_policy != image_policy:
        raise exception.ImagePCINUMAPolicyForbidden()
    key = "hw:pci_numa_affinity_policy" if flavor_policy else "hw_pci_numa_affinity_policy"
    policy = flavor_policy or image_policy
    if policy and policy not in obj.PCI_NUMA_POLICIES:
        raise exception.InvalidPCINUMAAffinity(key=key, policy=policy)
    return policy or None


def _numa_lists(flavor: obj.Flavor, image: obj.ImageMeta | None, name: str
                ) -> tuple[list[Any] | None, str]:
    """``hw:numa_<name>.N`` (or the image's ``hw_numa_<name>.N``) values, N = 0, 1, ..."""
    def read(source: dict[str, Any], prefix: str) -> list[Any] | None:
        values = []
        for index in range(NUMA_NODES_MAX):
            key = f"{prefix}.{index}"
            if key not in source:
                break
            values.append(source[key])
        return values or None

    flavor_list = read(_specs(flavor), f"hw:numa_{name}")
    image_list = read(_props(image), f"hw_numa_{name}")
    if flavor_list is None:
        return image_list, f"hw_numa_{name}"
    if image_list is not None:
        raise exception.ImageNUMATopologyForbidden(name=f"hw_numa_{name}")
    return flavor_list, f"hw:numa_{name}"


# -- the whole topology (§2.2) ---------------------------------------------------------

def numa_get_constraints(flavor: obj.Flavor, image: obj.ImageMeta | None = None
                         ) -> obj.InstanceNUMATopology | None:
    """The guest NUMA topology a flavor and image ask for, or None (spec/E §2.2).

    A topology exists iff NUMA nodes, a page size or vPMEM are requested, or the CPU
    policy pins (dedicated or mixed). Otherwise the guest floats and no NUMA cell
    accounts for it.
    """
    cpu_policy = get_cpu_policy_constraint(flavor, image)
    thread_policy = get_cpu_thread_policy_constraint(flavor, image)
    realtime_cpus = get_realtime_cpu_constraint(flavor, image)
    dedicated_cpus = get_dedicated_cpu_constraint(flavor)
    emulator_policy = get_emulator_thread_policy_constraint(flavor)

    requested_vcpus, requested_pcpus = _vcpu_pcpu_resources(flavor)
    if cpu_policy and (requested_vcpus or requested_pcpus):
        raise exception.InvalidRequest(
            "It is not possible to use the 'resources:VCPU' or 'resources:PCPU' extra "
            "specs in combination with the 'hw:cpu_policy' extra spec or 'hw_cpu_policy' "
            "image metadata property; use one or the other")
    if requested_vcpus and requested_pcpus:
        raise exception.InvalidRequest(
            "It is not possible to specify both 'resources:VCPU' and 'resources:PCPU' "
            "extra specs; use one or the other")
    if requested_pcpus:
        if (emulator_policy == obj.EMULATOR_THREADS_ISOLATE
                and requested_pcpus != flavor.vcpus + 1):
            raise exception.InvalidRequest(
                "You have requested 'hw:emulator_threads_policy=isolate' but have not "
                "requested sufficient PCPUs to handle this policy; you must allocate "
                "exactly flavor.vcpus + 1 PCPUs ('resources:PCPU').")
        if (emulator_policy != obj.EMULATOR_THREADS_ISOLATE
                and requested_pcpus != flavor.vcpus):
            raise exception.InvalidRequest(
                "There is a mismatch between the number of PCPUs requested via "
                "'resourcesNN:PCPU' and the flavor; you must allocate exactly "
                "flavor.vcpus PCPUs")
        cpu_policy = obj.CPU_POLICY_DEDICATED
    if requested_vcpus:
        cpu_policy = obj.CPU_POLICY_SHARED
    # D2: realtime alone implies a dedicated policy (an explicit 'shared' stays an error).
    if cpu_policy is None and realtime_cpus:
        cpu_policy = obj.CPU_POLICY_DEDICATED

    ht_trait = _hyperthreading_trait(flavor, image)
    if thread_policy and ht_trait:
        raise exception.InvalidRequest(
            "It is not possible to use the 'trait:HW_CPU_HYPERTHREADING' extra spec in "
            "combination with the 'hw:cpu_thread_policy' extra spec or "
            "'hw_cpu_thread_policy' image metadata property; use one or the other")
    if ht_trait == "forbidden":
        thread_policy = obj.THREAD_POLICY_ISOLATE
    elif ht_trait == "required":
        thread_policy = obj.THREAD_POLICY_REQUIRE

    if cpu_policy in (None, obj.CPU_POLICY_SHARED):
        if thread_policy:
            key = ("trait:HW_CPU_HYPERTHREADING" if ht_trait
                   else "hw:cpu_thread_policy/hw_cpu_thread_policy")
            raise exception.CPUThreadPolicyConfigurationInvalid(key=key)
        if emulator_policy == obj.EMULATOR_THREADS_ISOLATE:
            raise exception.BadRequirementEmulatorThreadsPolicy()
        if dedicated_cpus:
            raise exception.RequiredMixedInstancePolicy()
        if realtime_cpus:
            raise exception.RealtimeConfigurationInvalid()
    elif cpu_policy == obj.CPU_POLICY_DEDICATED:
        if dedicated_cpus:
            raise exception.RequiredMixedInstancePolicy()
    else:
        if bool(realtime_cpus) == bool(dedicated_cpus):
            raise exception.RequiredMixedOrRealtimeCPUMask()
        dedicated_cpus = dedicated_cpus or realtime_cpus

    nodes = get_numa_node_count_constraint(flavor, image)
    pagesize = get_mem_page_size_constraint(flavor, image)
    vpmems = get_vpmems(flavor)
    get_locked_memory_constraint(flavor, image)

    all_cpus = set(range(flavor.vcpus))
    if cpu_policy == obj.CPU_POLICY_DEDICATED:
        pinned = set(all_cpus)
    else:
        pinned = set(dedicated_cpus or ())

    if not (nodes or pagesize or vpmems or cpu_policy in obj.PINNED_CPU_POLICIES):
        return None

    floating = all_cpus - pinned
    nodes = nodes or 1
    cpu_list, cpu_key = _numa_lists(flavor, image, "cpus")
    mem_list, mem_key = _numa_lists(flavor, image, "mem")
    if cpu_list is None and mem_list is None:
        cells = _numa_topology_auto(nodes, flavor, floating, pinned)
    elif cpu_list is not None and mem_list is not None:
        if len(cpu_list) != nodes or len(mem_list) != nodes:
            raise exception.ImageNUMATopologyIncomplete()
        cpus = [_parse_cpus(spec, f"{cpu_key}.{i}") for i, spec in enumerate(cpu_list)]
        mems = [_parse_int(mem, f"{mem_key}.{i}", minimum=1) for i, mem in enumerate(mem_list)]
        cells = _numa_topology_manual(flavor, floating, pinned, cpus, mems, cpu_key, mem_key)
    else:
        raise exception.ImageNUMATopologyIncomplete()

    for cell in cells:
        cell.pagesize = pagesize or None
        cell.cpu_policy = cpu_policy
        cell.cpu_thread_policy = thread_policy
    return obj.InstanceNUMATopology(cells=cells, emulator_threads_policy=emulator_policy)


def _numa_topology_auto(nodes: int, flavor: obj.Flavor, floating: set[int], pinned: set[int]
                        ) -> list[obj.InstanceNUMACell]:
    if flavor.vcpus % nodes or flavor.memory_mb % nodes:
        raise exception.ImageNUMATopologyAsymmetric()
    per_node = flavor.vcpus // nodes
    memory = flavor.memory_mb // nodes
    cells = []
    for node in range(nodes):
        cpus = set(range(node * per_node, (node + 1) * per_node))
        cells.append(obj.InstanceNUMACell(id=node, cpuset=cpus & floating,
                                          pcpuset=cpus & pinned, memory=memory))
    return cells


def _numa_topology_manual(flavor: obj.Flavor, floating: set[int], pinned: set[int],
                          cpu_list: list[set[int]], mem_list: list[int],
                          cpu_key: str, mem_key: str) -> list[obj.InstanceNUMACell]:
    unassigned = set(range(flavor.vcpus))
    cells = []
    for node, (cpus, memory) in enumerate(zip(cpu_list, mem_list, strict=True)):
        key = f"{cpu_key}.{node}"
        for cpu in sorted(cpus):
            if cpu > flavor.vcpus - 1:
                raise exception.ImageNUMATopologyCPUOutOfRange(
                    cpunum=cpu, cpumax=flavor.vcpus - 1, key=key)
            if cpu not in unassigned:
                raise exception.ImageNUMATopologyCPUDuplicates(cpunum=cpu, key=key)
            unassigned.remove(cpu)
        cells.append(obj.InstanceNUMACell(id=node, cpuset=cpus & floating,
                                          pcpuset=cpus & pinned, memory=memory))
    if unassigned:
        raise exception.ImageNUMATopologyCPUsUnassigned(
            cpuset=str(sorted(unassigned)), key=f"{cpu_key}.N")
    total = sum(mem_list)
    if total != flavor.memory_mb:
        raise exception.ImageNUMATopologyMemoryOutOfRange(
            memsize=total, memtotal=flavor.memory_mb, key=f"{mem_key}.N")
    return cells

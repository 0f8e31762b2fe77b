"""What libvirt says of a host, parsed: ``virConnectGetCapabilities`` and PCI node devices.

Pure functions of XML text, so the rules are tested without a connection.

libvirt's test driver and custom hosts
--------------------------------------
``test:///<path>.xml`` opens a host described by a ``<node>`` file, but libvirt builds
that connection's capabilities before it reads the file (``testOpenFromFile``), so they
carry no NUMA cells at all (``<cells num='0'>``). To test NUMA hosts through libvirt's
test driver, nova-tx reads a ``<topology>`` element placed in the ``<node>`` file, in
the very form ``virsh capabilities`` prints (cells, memory, ``<pages>``, CPUs with
``socket_id``/``core_id``/``siblings``), and uses it in place of the empty one
(``merge_test_topology``). libvirt ignores the element; nothing else is read from the
file.
"""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

from nova_tx import exception
from nova_tx.virt.cpuset import parse_cpu_spec
from nova_tx.virt.host_topology import HostCellInfo

__all__ = [
    "HostCapabilities",
    "merge_test_topology",
    "parse_capabilities",
    "parse_pci_device",
    "test_file_of_uri",
]


@dataclasses.dataclass
class HostCapabilities:
    """The host half of the capabilities: CPU model and features, cells, guest types."""

    arch: str | None = None
    model: str | None = None
    vendor: str | None = None
    features: list[str] = dataclasses.field(default_factory=list)
    sockets: int = 1
    cores: int = 1
    threads: int = 1
    cells: list[HostCellInfo] = dataclasses.field(default_factory=list)
    #: Every CPU id the cells list; an offline CPU is listed without a socket.
    online_cpus: set[int] = dataclasses.field(default_factory=set)
    #: [arch, domain type, os type] of each guest the hypervisor can run.
    guests: list[list[str]] = dataclasses.field(default_factory=list)

    @property
    def has_smt(self) -> bool:
        """Whether any CPU has a thread sibling, whatever the CPU options keep."""
        return any(len(sib) > 1 for cell in self.cells for sib in cell.siblings)

    def cpu_info(self) -> dict[str, Any]:
        """Nova's ``cpu_info`` of the compute node (the JSON of os-hypervisors)."""
        return {"arch": self.arch, "model": self.model, "vendor": self.vendor,
                "topology": {"sockets": self.sockets, "cores": self.cores,
                             "threads": self.threads},
                "features": sorted(self.features)}


def _kib(element: ET.Element | None) -> int:
    if element is None or not (element.text or "").strip():
        return 0
    value = int(element.text.strip())
    unit = element.get("unit", "KiB")
    factor = {"b": 1 / 1024, "bytes": 1 / 1024, "KiB": 1, "k": 1, "MiB": 1024, "M": 1024,
              "GiB": 1024 ** 2, "G": 1024 ** 2}.get(unit, 1)
    return int(value * factor)


def _parse_cell(cell: ET.Element) -> tuple[HostCellInfo, set[int]]:
    cell_id = int(cell.get("id", "0"))
    cpus: set[int] = set()
    online: set[int] = set()
    siblings: list[set[int]] = []
    sockets: dict[int, int] = {}
    for cpu in cell.iterfind("cpus/cpu"):
        cpu_id = int(cpu.get("id"))
        cpus.add(cpu_id)
        if cpu.get("socket_id") is None:
            continue  # libvirt lists an offline CPU by its id alone
        online.add(cpu_id)
        sockets[cpu_id] = int(cpu.get("socket_id"))
        sib = parse_cpu_spec(cpu.get("siblings") or str(cpu_id))
        if sib not in siblings:
            siblings.append(sib)
    mempages = [(int(p.get("size")), int((p.text or "0").strip() or 0))
                for p in cell.iterfind("pages")]
    return HostCellInfo(id=cell_id, cpus=cpus, memory_kb=_kib(cell.find("memory")),
                        siblings=siblings, sockets=sockets, mempages=mempages), online


def parse_capabilities(text: str) -> HostCapabilities:
    """The host capabilities; a document libvirt could not have written is Invalid."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise exception.Invalid(f"libvirt capabilities are not XML: {e}") from None
    host = root.find("host")
    if host is None:
        raise exception.Invalid("libvirt capabilities have no <host> element")
    caps = HostCapabilities()
    cpu = host.find("cpu")
    if cpu is not None:
        caps.arch = cpu.findtext("arch")
        caps.model = cpu.findtext("model")
        caps.vendor = cpu.findtext("vendor")
        caps.features = [f.get("name") for f in cpu.iterfind("feature") if f.get("name")]
        topology = cpu.find("topology")
        if topology is not None:
            caps.sockets = int(topology.get("sockets", 1))
            caps.cores = int(topology.get("cores", 1))
            caps.threads = int(topology.get("threads", 1))
    for cell in host.iterfind("topology/cells/cell"):
        info, online = _parse_cell(cell)
        caps.cells.append(info)
        caps.online_cpus |= online
    for guest in root.iterfind("guest"):
        os_type = guest.findtext("os_type")
        arch = guest.find("arch")
        if arch is None:
            continue
        for domain in arch.iterfind("domain"):
            caps.guests.append([arch.get("name"), domain.get("type"), os_type])
    return caps


def test_file_of_uri(uri: str) -> str | None:
    """The ``<node>`` file of a ``test:///<path>`` URI; None for ``test:///default``
    and every other driver."""
    if not uri.startswith("test://"):
        return None
    path = uri[len("test://"):]
    if not path.startswith("/") or path == "/default":
        return None
    return path


def merge_test_topology(caps_text: str, node_text: str, source: str) -> str:
    """``caps_text`` with the ``<topology>`` of a test driver's ``<node>`` file in place
    of its empty one (see the module docstring); unchanged when the file has none.

    ``source`` names the file in errors: a topology that cannot be used stops the
    service with the file and the problem in one line.
    """
    try:
        node = ET.fromstring(node_text)
    except ET.ParseError as e:
        raise exception.ConfigError(reason=f"{source}: not XML: {e}") from None
    topology = node.find("topology")
    if topology is None:
        return caps_text
    cells = topology.findall("cells/cell")
    if not cells:
        raise exception.ConfigError(reason=f"{source}: <topology> has no <cells><cell>")
    seen: set[int] = set()
    for cell in cells:
        where = f"{source}: cell {cell.get('id')!r}"
        if cell.get("id") is None or not cell.get("id").isdigit():
            raise exception.ConfigError(reason=f"{where}: the id must be an integer")
        if cell.find("memory") is None:
            raise exception.ConfigError(reason=f"{where}: <memory> is missing")
        for cpu in cell.iterfind("cpus/cpu"):
            cpu_id = cpu.get("id")
            if cpu_id is None or not cpu_id.isdigit():
                raise exception.ConfigError(reason=f"{where}: a <cpu> without a numeric id")
            if int(cpu_id) in seen:
                raise exception.ConfigError(reason=f"{where}: CPU {cpu_id} is listed twice")
            seen.add(int(cpu_id))
            try:
                parse_cpu_spec(cpu.get("siblings") or cpu_id)
            except exception.Invalid as e:
                raise exception.ConfigError(reason=f"{where}: CPU {cpu_id}: {e}") from None
    caps = ET.fromstring(caps_text)
    host = caps.find("host")
    old = host.find("topology")
    index = list(host).index(old) if old is not None else len(host)
    if old is not None:
        host.remove(old)
    host.insert(index, topology)
    return ET.tostring(caps, encoding="unicode")


def _hex(text: str | None) -> str:
    return format(int(text, 16), "04x") if text else ""


def parse_pci_device(text: str) -> dict[str, Any] | None:
    """A PCI node device as Nova's PCI tracker reads it (``_get_pci_passthrough_devices``):
    address, vendor/product ids, type (type-PF with SR-IOV functions, type-VF for a
    virtual function, type-PCI otherwise), parent PF and NUMA node; None when the
    device is not PCI."""
    node = ET.fromstring(text)
    cap = node.find("capability[@type='pci']")
    if cap is None:
        return None
    domain, bus, slot, function = (int(cap.findtext(k) or "0")
                                   for k in ("domain", "bus", "slot", "function"))
    address = "%04x:%02x:%02x.%x" % (domain, bus, slot, function)
    vendor = _hex(cap.find("vendor").get("id") if cap.find("vendor") is not None else None)
    product = _hex(cap.find("product").get("id") if cap.find("product") is not None else None)
    device: dict[str, Any] = {
        "dev_id": node.findtext("name"),
        "address": address,
        "product_id": product,
        "vendor_id": vendor,
        "numa_node": None,
        "label": f"label_{vendor}_{product}",
        "dev_type": "type-PCI",
    }
    numa = cap.find("numa")
    if numa is not None and numa.get("node") not in (None, "-1"):
        device["numa_node"] = int(numa.get("node"))
    for sub in cap.iterfind("capability"):
        if sub.get("type") == "virt_functions" and (
                sub.find("address") is not None or sub.get("maxCount")):
            device["dev_type"] = "type-PF"
        elif sub.get("type") == "phys_function":
            parent = sub.find("address")
            if parent is not None:
                device["dev_type"] = "type-VF"
                device["parent_addr"] = "%04x:%02x:%02x.%x" % tuple(
                    int(parent.get(k), 16) for k in ("domain", "bus", "slot", "function"))
    return device

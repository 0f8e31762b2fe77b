"""``fake.FakeDriver``: an in-memory hypervisor (Nova's ``nova.virt.fake.FakeDriver``).

Guests are entries of a dict with a power state; nothing runs. Unlike Nova's, the host
is not fixed in code: ``[fake] host_topology_file`` describes its NUMA cells, CPUs and
thread siblings, memory and huge pages, and disk, so that a simulation can run many
computes of different shapes in one process. Nothing here blocks or starts a thread:
every Deferred has already fired, which keeps hundreds of drivers cheap.

Host file (YAML or JSON; every key optional, ``cells`` replacing the default ones)::

    hypervisor_type: fake           # Nova's fake reports "fake"
    hypervisor_version: 1000
    hypervisor_hostname: node1      # default: [DEFAULT] host
    arch: x86_64
    disk_gb: 200
    cells:
      - id: 0
        cpus: "0-3,8-11"            # a CPU set spec or a list of CPU numbers
        siblings: [[0, 8], [1, 9], [2, 10], [3, 11]]   # default: one thread per core
        memory_mb: 8192
        hugepages: {2048: 512}      # page size KiB: pages (taken from memory_mb)
        socket: 0

What the host reports goes through ``nova_tx.virt.host_topology`` with ``[compute]
cpu_shared_set`` / ``cpu_dedicated_set``, ``[DEFAULT] vcpu_pin_set``,
``reserved_host_cpus`` and ``reserved_huge_pages``, as the libvirt driver's does, so
the fake host's inventories and NUMA topology follow the same rules.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from twisted.internet import defer
from zope.interface import implementer

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.conf import compute as compute_conf
from nova_tx.conf import fake as fake_conf
from nova_tx.objects import numa as obj
from nova_tx.virt import driver, host_topology
from nova_tx.virt.cpuset import format_cpu_spec, parse_cpu_spec

HYPERVISOR_TYPE = "fake"
HYPERVISOR_VERSION = 1000
SMALL_PAGE_KB = 4

#: The host when ``[fake] host_topology_file`` is unset: 2 cells x 4 cores x 2 threads
#: (siblings n and n+8, as Linux numbers them), 8 GiB per cell, 200 GiB of disk.
DEFAULT_HOST: dict[str, Any] = {
    "disk_gb": 200,
    "cells": [
        {"id": 0, "cpus": "0-3,8-11", "siblings": [[0, 8], [1, 9], [2, 10], [3, 11]],
         "memory_mb": 8192, "socket": 0},
        {"id": 1, "cpus": "4-7,12-15", "siblings": [[4, 12], [5, 13], [6, 14], [7, 15]],
         "memory_mb": 8192, "socket": 1},
    ],
}

_HOST_KEYS = {"hypervisor_type", "hypervisor_version", "hypervisor_hostname", "arch",
              "disk_gb", "cells"}
_CELL_KEYS = {"id", "cpus", "siblings", "memory_mb", "hugepages", "socket"}

#: Capabilities as Nova's fake driver declares them.
CAPABILITIES = {
    "has_imagecache": True,
    "supports_evacuate": True,
    "supports_migrate_to_same_host": True,
    "supports_attach_interface": True,
    "supports_device_tagging": True,
    "supports_tagged_attach_interface": True,
    "supports_tagged_attach_volume": True,
    "supports_extend_volume": True,
    "supports_multiattach": True,
    "supports_trusted_certs": True,
    "supports_pcpus": True,
    "supports_accelerators": True,
    "supports_remote_managed_ports": True,
    "supports_socket_pci_numa_affinity": True,
    "supports_image_type_aki": True,
    "supports_image_type_ami": True,
    "supports_image_type_ari": True,
    "supports_image_type_iso": True,
    "supports_image_type_qcow2": True,
    "supports_image_type_raw": True,
    "supports_image_type_vdi": False,
    "supports_image_type_vhd": False,
    "supports_image_type_vhdx": False,
    "supports_image_type_vmdk": False,
    "supports_image_type_ploop": False,
}


class FakeHost:
    """A parsed host file: what the hypervisor would report, before the CPU options."""

    def __init__(self, spec: Mapping[str, Any], source: str):
        self.source = source
        self.hypervisor_type = str(spec.get("hypervisor_type", HYPERVISOR_TYPE))
        self.hypervisor_version = int(spec.get("hypervisor_version", HYPERVISOR_VERSION))
        self.hypervisor_hostname = spec.get("hypervisor_hostname")
        self.arch = str(spec.get("arch", "x86_64"))
        self.disk_gb = int(spec.get("disk_gb", DEFAULT_HOST["disk_gb"]))
        self.cells: list[host_topology.HostCellInfo] = []
        for cell in spec.get("cells", DEFAULT_HOST["cells"]):
            self.cells.append(self._cell(cell))
        self.online_cpus = set().union(*(c.cpus for c in self.cells)) if self.cells else set()
        self.memory_mb = sum(c.memory_kb for c in self.cells) // 1024

    def _cell(self, cell: Mapping[str, Any]) -> host_topology.HostCellInfo:
        cpus = cell["cpus"]
        cpus = parse_cpu_spec(cpus) if isinstance(cpus, str) else {int(c) for c in cpus}
        siblings = [({int(c) for c in s} if not isinstance(s, str) else parse_cpu_spec(s))
                    for s in cell.get("siblings") or [[c] for c in sorted(cpus)]]
        memory_kb = int(cell["memory_mb"]) * 1024
        huge = {int(size): int(count) for size, count in (cell.get("hugepages") or {}).items()}
        huge_kb = sum(size * count for size, count in huge.items())
        socket = cell.get("socket")
        return host_topology.HostCellInfo(
            id=int(cell["id"]), cpus=cpus, memory_kb=memory_kb, siblings=siblings,
            sockets={c: int(socket) for c in cpus} if socket is not None else {},
            mempages=[(SMALL_PAGE_KB, (memory_kb - huge_kb) // SMALL_PAGE_KB),
                      *sorted(huge.items())])


def _check(spec: Any) -> str | None:
    """The first problem of a host file's content, or None."""
    if not isinstance(spec, Mapping):
        return "must be a mapping of host keys"
    unknown = set(spec) - _HOST_KEYS
    if unknown:
        return f"unknown key(s) {', '.join(sorted(map(str, unknown)))}"
    for key in ("hypervisor_version", "disk_gb"):
        if key in spec and (not isinstance(spec[key], int) or spec[key] < 0):
            return f"{key} must be a non-negative integer"
    cells = spec.get("cells", DEFAULT_HOST["cells"])
    if not isinstance(cells, list) or not cells:
        return "cells must be a non-empty list"
    seen_ids: set[int] = set()
    seen_cpus: set[int] = set()
    for index, cell in enumerate(cells):
        where = f"cells[{index}]"
        if not isinstance(cell, Mapping):
            return f"{where} must be a mapping"
        unknown = set(cell) - _CELL_KEYS
        if unknown:
            return f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}"
        for key in ("id", "cpus", "memory_mb"):
            if key not in cell:
                return f"{where} needs '{key}'"
        if not isinstance(cell["id"], int) or cell["id"] < 0 or cell["id"] in seen_ids:
            return f"{where}: id must be a distinct non-negative integer"
        seen_ids.add(cell["id"])
        if not isinstance(cell["memory_mb"], int) or cell["memory_mb"] <= 0:
            return f"{where}: memory_mb must be a positive integer"
        try:
            cpus = (parse_cpu_spec(cell["cpus"]) if isinstance(cell["cpus"], str)
                    else {int(c) for c in cell["cpus"]})
            siblings = [(parse_cpu_spec(s) if isinstance(s, str) else {int(c) for c in s})
                        for s in cell.get("siblings") or ()]
        except (exception.Invalid, TypeError, ValueError) as e:
            return f"{where}: bad CPU list: {exception.one_line(e)}"
        if not cpus:
            return f"{where}: cpus is empty"
        if cpus & seen_cpus:
            return f"{where}: CPUs {format_cpu_spec(cpus & seen_cpus)} are in another cell"
        seen_cpus |= cpus
        for sib in siblings:
            if not sib <= cpus:
                return f"{where}: siblings {format_cpu_spec(sib)} are not all CPUs of the cell"
        if "socket" in cell and (not isinstance(cell["socket"], int) or cell["socket"] < 0):
            return f"{where}: socket must be a non-negative integer"
        huge = cell.get("hugepages") or {}
        if not isinstance(huge, Mapping):
            return f"{where}: hugepages must map a page size in KiB to a page count"
        total_kb = 0
        for size, count in huge.items():
            try:
                size, count = int(size), int(count)
            except (TypeError, ValueError):
                return f"{where}: hugepages must map a page size in KiB to a page count"
            if size <= SMALL_PAGE_KB or count < 0:
                return f"{where}: huge page size {size} KiB or count {count} is invalid"
            total_kb += size * count
        if total_kb > cell["memory_mb"] * 1024:
            return f"{where}: huge pages ({total_kb} KiB) exceed memory_mb"
    return None


_HOSTS: dict[tuple[str, float], FakeHost] = {}


def load_host(path: str | None) -> FakeHost:
    """The host of ``path`` (the default host for None); ConfigError in one line,
    naming the file, when it cannot be used. Parsed once per file version, so that
    hundreds of drivers in one process share one parse."""
    if not path:
        return FakeHost(DEFAULT_HOST, "default")

    def fail(problem: str) -> exception.ConfigError:
        return exception.ConfigError(reason=f"[fake] host_topology_file {path}: {problem}")

    try:
        mtime = os.stat(path).st_mtime
        cached = _HOSTS.get((path, mtime))
        if cached is not None:
            return cached
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise fail(f"cannot be read: {e.strerror or e}") from None
    try:
        spec = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise fail("is not valid " + ("JSON" if path.endswith(".json") else "YAML") + ": "
                   + " ".join(str(e).split())) from None
    problem = _check(spec)
    if problem:
        raise fail(problem)
    host = FakeHost(spec, path)
    _HOSTS[(path, mtime)] = host
    return host


class FakeGuest:
    """One guest: what a hypervisor keeps of it. ``image`` is the image its disk was
    made from, ``rescue_image`` the one it boots from while rescued (None: its own
    disk), ``crash_dumps`` how many NMIs it received."""

    __slots__ = ("uuid", "name", "state", "vcpus", "memory_mb", "disk_gb", "console",
                 "image", "rescue_image", "crash_dumps")

    def __init__(self, uuid: str, name: str, state: int, vcpus: int, memory_mb: int,
                 disk_gb: int):
        self.uuid = uuid
        self.name = name
        self.state = state
        self.vcpus = vcpus
        self.memory_mb = memory_mb
        self.disk_gb = disk_gb
        self.console: list[bytes] = []
        self.image: str | None = None
        self.rescue_image: str | None = None
        self.crash_dumps = 0


def _uuid(instance: Any) -> str:
    return instance if isinstance(instance, str) else instance.uuid


def _size(instance: Any, name: str) -> int:
    value = getattr(instance, name, None)
    if value is None:
        flavor = getattr(instance, "flavor", None)
        value = getattr(flavor, name, None) if flavor is not None else None
    return int(value or 0)


@implementer(driver.IComputeDriver, driver.ISnapshotDriver, driver.IRescueDriver,
             driver.ICrashDumpDriver)
class FakeDriver:
    capabilities = CAPABILITIES
    #: The image port snapshots upload through (the compute manager gives its own).
    image_api: Any = None

    def __init__(self, conf: Any, *, reactor: Any = None):
        compute_conf.register_opts(conf)
        fake_conf.register_opts(conf)
        if reactor is None:
            from twisted.internet import reactor
        self.conf = conf
        self.reactor = reactor
        self.host = load_host(conf.fake.host_topology_file)
        self.nodename = self.host.hypervisor_hostname or conf.host
        self.guests: dict[str, FakeGuest] = {}
        self._listeners: list[Callable[[driver.LifecycleEvent], None]] = []
        self._started = time.time()
        self._topology: obj.NUMATopology | None = None

    # -- host ------------------------------------------------------------------------

    def init_host(self, host: str) -> defer.Deferred:
        # The CPU options are checked here, as the libvirt driver checks them: a bad
        # cpu_dedicated_set stops the service in one line.
        try:
            self._topology = self._build_topology()
        except exception.NovaException as e:
            return defer.fail(e)
        return defer.succeed(None)

    def cleanup_host(self, host: str) -> defer.Deferred:
        return defer.succeed(None)

    def _build_topology(self) -> obj.NUMATopology:
        conf = self.conf
        return host_topology.build_host_numa_topology(
            self.host.cells, self.host.online_cpus,
            cpu_shared_set=conf.compute.cpu_shared_set,
            cpu_dedicated_set=conf.compute.cpu_dedicated_set,
            vcpu_pin_set=conf.vcpu_pin_set,
            reserved_host_cpus=conf.reserved_host_cpus,
            reserved_huge_pages=conf.reserved_huge_pages)

    @property
    def topology(self) -> obj.NUMATopology:
        if self._topology is None:
            self._topology = self._build_topology()
        return self._topology

    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        return [self.nodename]

    def _cpu_sets(self) -> tuple[set[int], set[int]]:
        conf = self.conf
        return host_topology.host_cpu_sets(
            self.host.online_cpus, conf.compute.cpu_shared_set,
            conf.compute.cpu_dedicated_set, conf.vcpu_pin_set, conf.reserved_host_cpus)

    def get_available_resource(self, nodename: str) -> defer.Deferred:
        if nodename != self.nodename:
            return defer.fail(exception.ComputeHostNotFound(host=nodename))
        shared, dedicated = self._cpu_sets()
        # Nova's vcpus: the CPUs floating guests may use (all online by default).
        shared_opt = self.conf.compute.cpu_shared_set or self.conf.vcpu_pin_set
        vcpus = len(shared) if shared_opt or self.conf.compute.cpu_dedicated_set \
            else len(self.host.online_cpus)
        guests = self.guests.values()
        cpu_info = {"arch": self.host.arch, "model": "fake", "vendor": "fake",
                    "topology": self._cpu_topology(), "features": []}
        return defer.succeed({
            "vcpus": vcpus,
            "memory_mb": self.host.memory_mb,
            "local_gb": self.host.disk_gb,
            "vcpus_used": sum(g.vcpus for g in guests),
            "memory_mb_used": sum(g.memory_mb for g in guests),
            "local_gb_used": sum(g.disk_gb for g in guests),
            "hypervisor_type": self.host.hypervisor_type,
            "hypervisor_version": self.host.hypervisor_version,
            "hypervisor_hostname": self.nodename,
            "cpu_info": json.dumps(cpu_info, sort_keys=True),
            "disk_available_least": self.host.disk_gb - sum(g.disk_gb for g in guests),
            "supported_instances": [[self.host.arch, "fake", "hvm"]],
            "numa_topology": self.topology.copy(),
            "pci_passthrough_devices": "[]",
            "cpu_dedicated_set": set(dedicated) if self.conf.compute.cpu_dedicated_set
            else set(),
            "cpu_shared_set": set(shared),
        })

    def _cpu_topology(self) -> dict[str, int]:
        sockets = {s for c in self.host.cells for s in c.sockets.values()} or {0}
        threads = max((len(s) for c in self.host.cells for s in c.siblings), default=1)
        cores = max(1, len(self.host.online_cpus) // (threads * len(sockets)))
        return {"sockets": len(sockets), "cores": cores, "threads": threads,
                "cells": len(self.host.cells)}

    def update_provider_tree(self, provider_tree: Any, nodename: str,
                             allocations: Any = None) -> None:
        """Inventories and traits of the node, as the libvirt driver sets them."""
        from nova_tx.virt import inventory

        shared, dedicated = self._cpu_sets()
        if not self.conf.compute.cpu_dedicated_set:
            dedicated = set()   # the legacy layout reports no PCPU
        if not (self.conf.compute.cpu_shared_set or self.conf.vcpu_pin_set
                or self.conf.compute.cpu_dedicated_set):
            shared = set(self.host.online_cpus)
        existing = provider_tree.data(nodename).inventory
        provider_tree.update_inventory(nodename, inventory.host_inventory(
            self.conf, vcpus=len(shared), pcpus=len(dedicated),
            memory_mb=self.host.memory_mb, disk_gb=self.host.disk_gb, existing=existing))
        smt = any(len(s) > 1 for c in self.host.cells for s in c.siblings)
        traits = {"COMPUTE_SOCKET_PCI_NUMA_AFFINITY"}
        if smt:
            traits.add("HW_CPU_HYPERTHREADING")
        provider_tree.add_traits(nodename, *traits)
        if not smt:
            provider_tree.remove_traits(nodename, "HW_CPU_HYPERTHREADING")

    def get_host_uptime(self) -> defer.Deferred:
        up = int(time.time() - self._started)
        clock = time.strftime("%H:%M:%S")
        return defer.succeed(f" {clock} up {up // 86400} days, {up % 86400 // 3600:2d}:"
                             f"{up % 3600 // 60:02d},  0 users,  load average: 0.00, 0.00, 0.00")

    # -- guests ------------------------------------------------------------------------

    def _guest(self, instance: Any) -> FakeGuest:
        guest = self.guests.get(_uuid(instance))
        if guest is None:
            raise exception.InstanceNotFound(instance_id=_uuid(instance))
        return guest

    def _set_state(self, instance: Any, state: int, transition: str | None
                   ) -> defer.Deferred:
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        changed = guest.state != state
        guest.state = state
        if changed and transition is not None:
            self._emit(guest.uuid, transition)
        return defer.succeed(None)

    def _emit(self, uuid: str, transition: str) -> None:
        if not self._listeners:
            return
        event = driver.LifecycleEvent(uuid, transition, self.reactor.seconds())
        # After the operation's Deferred has fired, as a hypervisor's event arrives.
        for listener in list(self._listeners):
            self.reactor.callLater(0, listener, event)

    def register_event_listener(self, callback: Callable[[driver.LifecycleEvent], None]
                                ) -> None:
        self._listeners.append(callback)

    def list_instance_uuids(self) -> defer.Deferred:
        return defer.succeed(list(self.guests))

    def instance_exists(self, instance: Any) -> defer.Deferred:
        return defer.succeed(_uuid(instance) in self.guests)

    def get_info(self, instance: Any) -> defer.Deferred:
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        return defer.succeed(driver.InstanceInfo(state=guest.state, internal_id=guest.name))

    def spawn(self, context: Any, instance: Any, image_meta: Any, injected_files: Any,
              admin_password: str | None, allocations: Any, network_info: Any = None,
              block_device_info: Any = None, power_on: bool = True) -> defer.Deferred:
        uuid = _uuid(instance)
        name = getattr(instance, "name", None) or uuid
        disk_gb = _size(instance, "root_gb") + _size(instance, "ephemeral_gb")
        guest = FakeGuest(uuid, name, states.RUNNING if power_on else states.SHUTDOWN,
                          _size(instance, "vcpus"), _size(instance, "memory_mb"), disk_gb)
        guest.console.append(f"[    0.000000] Linux version fake ({name})\n".encode())
        guest.image = getattr(image_meta, "id", None) or getattr(instance, "image_ref", None)
        self.guests[uuid] = guest
        if power_on:
            self._emit(uuid, driver.EVENT_STARTED)
        return defer.succeed(None)

    def destroy(self, context: Any, instance: Any, network_info: Any,
                block_device_info: Any = None, destroy_disks: bool = True) -> defer.Deferred:
        guest = self.guests.pop(_uuid(instance), None)
        if guest is not None and guest.state == states.RUNNING:
            self._emit(guest.uuid, driver.EVENT_STOPPED)
        return defer.succeed(None)

    def reboot(self, context: Any, instance: Any, network_info: Any, reboot_type: str,
               block_device_info: Any = None) -> defer.Deferred:
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        if guest.state != states.RUNNING:
            self._emit(guest.uuid, driver.EVENT_STARTED)
        guest.state = states.RUNNING
        guest.console.append(f"[    0.000000] reboot ({reboot_type})\n".encode())
        return defer.succeed(None)

    def power_off(self, instance: Any, timeout: int = 0, retry_interval: int = 0
                  ) -> defer.Deferred:
        return self._set_state(instance, states.SHUTDOWN, driver.EVENT_STOPPED)

    def power_on(self, context: Any, instance: Any, network_info: Any,
                 block_device_info: Any = None) -> defer.Deferred:
        return self._set_state(instance, states.RUNNING, driver.EVENT_STARTED)

    def pause(self, instance: Any) -> defer.Deferred:
        return self._set_state(instance, states.POWER_PAUSED, driver.EVENT_PAUSED)

    def unpause(self, instance: Any) -> defer.Deferred:
        return self._set_state(instance, states.RUNNING, driver.EVENT_RESUMED)

    def suspend(self, context: Any, instance: Any) -> defer.Deferred:
        return self._set_state(instance, states.POWER_SUSPENDED, driver.EVENT_SUSPENDED)

    def resume(self, context: Any, instance: Any, network_info: Any,
               block_device_info: Any = None) -> defer.Deferred:
        return self._set_state(instance, states.RUNNING, driver.EVENT_RESUMED)

    def get_console_output(self, context: Any, instance: Any) -> defer.Deferred:
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        return defer.succeed(b"".join(guest.console))

    # -- snapshot, rescue, crash dump ------------------------------------------------------

    def disk_contents(self, instance: Any) -> bytes:
        """What a snapshot of the guest's root disk uploads (the fake has no disk: a
        description of the guest, so a test can tell whose snapshot it is)."""
        guest = self._guest(instance)
        return f"fake disk of {guest.uuid} from image {guest.image}\n".encode()

    def snapshot(self, context: Any, instance: Any, image_id: str,
                 update_task_state: Any) -> defer.Deferred:
        async def run() -> None:
            data = self.disk_contents(instance)
            if self.image_api is None:
                raise exception.NovaException("the fake driver has no image service to "
                                              "upload snapshot %s to" % image_id)
            await _maybe(update_task_state(task_state=states.IMAGE_PENDING_UPLOAD))
            await _maybe(update_task_state(task_state=states.IMAGE_UPLOADING,
                                           expected_state=states.IMAGE_PENDING_UPLOAD))
            await self.image_api.update(context, image_id, {"disk_format": "raw",
                                                            "container_format": "bare"})
            await self.image_api.upload(context, image_id, data)

        return defer.Deferred.fromCoroutine(run())

    def rescue(self, context: Any, instance: Any, network_info: Any, image_meta: Any,
               rescue_password: str | None, block_device_info: Any = None
               ) -> defer.Deferred:
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        guest.rescue_image = getattr(image_meta, "id", None) or guest.image
        guest.console.append(f"[    0.000000] rescue ({guest.rescue_image})\n".encode())
        return self._set_state(instance, states.RUNNING, driver.EVENT_STARTED)

    def unrescue(self, context: Any, instance: Any) -> defer.Deferred:
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        guest.rescue_image = None
        guest.console.append(b"[    0.000000] unrescue\n")
        return self._set_state(instance, states.RUNNING, driver.EVENT_STARTED)

    def trigger_crash_dump(self, instance: Any) -> defer.Deferred:
        """An NMI to a running guest; InstanceNotRunning otherwise (libvirt's)."""
        try:
            guest = self._guest(instance)
        except exception.InstanceNotFound as e:
            return defer.fail(e)
        if guest.state != states.RUNNING:
            return defer.fail(InstanceNotRunning(instance_id=guest.uuid))
        guest.crash_dumps += 1
        guest.console.append(b"[    0.000000] Kernel panic - not syncing: NMI\n")
        return defer.succeed(None)

    # -- what a test or a simulation does to the "hardware" ----------------------------

    def simulate_state(self, uuid: str, state: int, transition: str) -> None:
        """Change a guest's power state behind Nova's back (a crash, a shutdown from
        inside the guest) and send the lifecycle event a hypervisor would."""
        self._set_state(uuid, state, transition)


class InstanceNotRunning(exception.NovaException):
    msg_fmt = "Instance %(instance_id)s is not running."
    code = 409


async def _maybe(value: Any) -> Any:
    if isinstance(value, defer.Deferred) or hasattr(value, "__await__"):
        return await value
    return value


@implementer(driver.IComputeDriverFactory)
class FakeDriverFactory:
    name = "fake.FakeDriver"

    def __call__(self, conf: Any, *, reactor: Any = None) -> FakeDriver:
        return FakeDriver(conf, reactor=reactor)

"""Which host CPUs a fitted guest's vCPUs and emulator threads run on (spec/E §2.12).

The libvirt driver turns these sets into ``<vcpupin>``, ``<emulatorpin>`` and
``<vcpusched>``; the rules are here so that every driver reads them the same way.
``cpu_shared_set`` and the online CPUs are arguments (the caller reads
``[compute] cpu_shared_set`` and asks the hypervisor).
"""
from __future__ import annotations

from collections.abc import Iterable

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.virt.cpuset import format_cpu_spec

__all__ = ["check_realtime_host_config", "emulator_threads_pin", "vcpu_pin_sets"]


def vcpu_pin_sets(fitted: obj.InstanceNUMATopology, host: obj.NUMATopology
                  ) -> dict[int, set[int]]:
    """{vCPU: host CPUs}: a pinned vCPU gets its pCPU, a floating one its host cell's
    shared CPUs (``cpuset``)."""
    cells = {cell.id: cell for cell in host.cells}
    pins: dict[int, set[int]] = {}
    for guest_cell in fitted.cells:
        host_cell = cells[guest_cell.id]
        pinning = guest_cell.cpu_pinning or {}
        for vcpu in sorted(guest_cell.cpuset | guest_cell.pcpuset):
            pins[vcpu] = {pinning[vcpu]} if vcpu in pinning else set(host_cell.cpuset)
    return dict(sorted(pins.items()))


def emulator_threads_pin(fitted: obj.InstanceNUMATopology, host: obj.NUMATopology,
                         cpu_shared_set: Iterable[int] | None = None,
                         online_cpus: Iterable[int] | None = None,
                         realtime_vcpus: Iterable[int] | None = None) -> set[int]:
    """The host CPUs of ``<emulatorpin>``.

    * ``isolate``: the reserved pCPU(s) (on the host cell of guest cell 0).
    * ``share`` with ``cpu_shared_set``: that set's online CPUs (none online: Invalid).
    * otherwise: every vCPU's CPUs, only the non-realtime vCPUs' under realtime.
    """
    policy = fitted.emulator_threads_policy
    if policy == obj.EMULATOR_THREADS_ISOLATE:
        reserved: set[int] = set()
        for cell in fitted.cells:
            reserved |= cell.cpuset_reserved or set()
        return reserved
    shared = set(cpu_shared_set or ())
    if policy == obj.EMULATOR_THREADS_SHARE and shared:
        online = set(online_cpus) if online_cpus is not None else shared
        cpus = shared & online
        if not cpus:
            raise exception.Invalid(
                f"Invalid [compute] cpu_shared_set config, one or more of the specified "
                f"cpuset is not online. Online cpuset(s): {format_cpu_spec(online)}, "
                f"requested cpuset(s): {format_cpu_spec(shared)}")
        return cpus
    realtime = set(realtime_vcpus or ())
    result: set[int] = set()
    for vcpu, cpus in vcpu_pin_sets(fitted, host).items():
        if vcpu not in realtime:
            result |= cpus
    return result


def check_realtime_host_config(realtime_vcpus: Iterable[int] | None,
                               emulator_threads_policy: str | None,
                               cpu_shared_set: Iterable[int] | None) -> None:
    """R-RT step 6, at spawn: realtime emulator threads shared with nothing to share.

    Raises ``RealtimeMaskNotFoundOrInvalid`` (which reschedules the build) when a
    realtime guest asks for ``hw:emulator_threads_policy=share`` on a host without
    ``[compute] cpu_shared_set``.
    """
    if (realtime_vcpus and emulator_threads_policy == obj.EMULATOR_THREADS_SHARE
            and not set(cpu_shared_set or ())):
        raise exception.RealtimeMaskNotFoundOrInvalid(
            "Realtime guests with hw:emulator_threads_policy=share need "
            "[compute] cpu_shared_set on the host (hw:cpu_realtime_mask, "
            "hw:emulator_threads_policy).")

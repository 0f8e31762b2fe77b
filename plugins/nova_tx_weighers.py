"""The built-in host weighers, as plugins (``[filter_scheduler] weight_classes``)."""
from nova_tx.scheduler.weights import (
    affinity,
    compute,
    cpu,
    cross_cell,
    disk,
    io_ops,
    metrics,
    pci,
    ram,
)

RAMWeigher = ram.RAMWeigher()
CPUWeigher = cpu.CPUWeigher()
DiskWeigher = disk.DiskWeigher()
MetricsWeigher = metrics.MetricsWeigher()
IoOpsWeigher = io_ops.IoOpsWeigher()
PCIWeigher = pci.PCIWeigher()
ServerGroupSoftAffinityWeigher = affinity.ServerGroupSoftAffinityWeigher()
ServerGroupSoftAntiAffinityWeigher = affinity.ServerGroupSoftAntiAffinityWeigher()
BuildFailureWeigher = compute.BuildFailureWeigher()
CrossCellWeigher = cross_cell.CrossCellWeigher()

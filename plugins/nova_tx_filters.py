"""The built-in host filters, as plugins (``[filter_scheduler] enabled_filters`` names)."""
from nova_tx.scheduler.filters import (
    affinity_filter,
    aggregate_image_properties_isolation,
    aggregate_instance_extra_specs,
    aggregate_multitenancy_isolation,
    all_hosts_filter,
    availability_zone_filter,
    compute_capabilities_filter,
    compute_filter,
    image_props_filter,
    io_ops_filter,
    isolated_hosts_filter,
    json_filter,
    metrics_filter,
    num_instances_filter,
    numa_topology_filter,
    pci_passthrough_filter,
    type_filter,
)

AggregateImagePropertiesIsolation = \
    aggregate_image_properties_isolation.AggregateImagePropertiesIsolation()
AggregateInstanceExtraSpecsFilter = \
    aggregate_instance_extra_specs.AggregateInstanceExtraSpecsFilter()
AggregateIoOpsFilter = io_ops_filter.AggregateIoOpsFilter()
AggregateMultiTenancyIsolation = \
    aggregate_multitenancy_isolation.AggregateMultiTenancyIsolation()
AggregateNumInstancesFilter = num_instances_filter.AggregateNumInstancesFilter()
AggregateTypeAffinityFilter = type_filter.AggregateTypeAffinityFilter()
AllHostsFilter = all_hosts_filter.AllHostsFilter()
AvailabilityZoneFilter = availability_zone_filter.AvailabilityZoneFilter()
ComputeCapabilitiesFilter = compute_capabilities_filter.ComputeCapabilitiesFilter()
ComputeFilter = compute_filter.ComputeFilter()
DifferentHostFilter = affinity_filter.DifferentHostFilter()
ImagePropertiesFilter = image_props_filter.ImagePropertiesFilter()
IoOpsFilter = io_ops_filter.IoOpsFilter()
IsolatedHostsFilter = isolated_hosts_filter.IsolatedHostsFilter()
JsonFilter = json_filter.JsonFilter()
MetricsFilter = metrics_filter.MetricsFilter()
NUMATopologyFilter = numa_topology_filter.NUMATopologyFilter()
NumInstancesFilter = num_instances_filter.NumInstancesFilter()
PciPassthroughFilter = pci_passthrough_filter.PciPassthroughFilter()
SameHostFilter = affinity_filter.SameHostFilter()
ServerGroupAffinityFilter = affinity_filter.ServerGroupAffinityFilter()
ServerGroupAntiAffinityFilter = affinity_filter.ServerGroupAntiAffinityFilter()
SimpleCIDRAffinityFilter = affinity_filter.SimpleCIDRAffinityFilter()

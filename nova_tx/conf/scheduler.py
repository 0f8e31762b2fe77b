"""``[scheduler]`` and ``[filter_scheduler]``: Nova Zed's names, defaults and limits.

``[scheduler]`` holds the scheduling pipeline (attempts, the placement query and its
prefilters, spec D §1.1-§1.3); ``[filter_scheduler]`` the filters, weighers and their
multipliers (spec D §1.4-§1.7). The deprecated ``[DEFAULT] scheduler_*`` names Nova
still reads are kept as aliases.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

scheduler_group = cfg.OptGroup(
    "scheduler",
    title="Scheduler configuration",
)

filter_scheduler_group = cfg.OptGroup(
    "filter_scheduler",
    title="Filter scheduler options",
)

#: The CPU architectures ``image_properties_default_architecture`` accepts (Nova's
#: ``nova.objects.fields.Architecture.ALL``).
ARCHITECTURES = (
    "alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32",
    "m68k", "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el",
    "openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb",
    "s390", "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64",
    "xtensa", "xtensaeb",
)

scheduler_opts = [
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        deprecated_name="scheduler_max_attempts",
        deprecated_group="DEFAULT",
        help="The maximum number of schedule attempts. This is the maximum number of "
        "attempts that will be made for a given instance build/move operation. It "
        "limits the number of alternate hosts returned by the scheduler. When that "
        "list of hosts is exhausted, a MaxRetriesExceeded exception is raised and the "
        "instance is set to an error state.",
    ),
    cfg.IntOpt(
        "discover_hosts_in_cells_interval",
        default=-1,
        min=-1,
        help="Periodic task interval (seconds) at which the scheduler discovers new "
        "hosts added to cells and maps them. 0 uses the default interval (60 "
        "seconds); a negative value (the default) disables the discovery.",
    ),
    cfg.IntOpt(
        "max_placement_results",
        default=1000,
        min=1,
        help="The maximum number of placement results to request: the ``limit`` of "
        "GET /allocation_candidates. 1 defers scheduling to placement strictly on "
        "'will it fit' grounds; a higher value caps the number of hosts the filters "
        "and weighers consider.",
    ),
    cfg.IntOpt(
        "workers",
        min=0,
        help="Number of workers for the nova-scheduler service. Defaults to the "
        "number of CPUs available.",
    ),
    cfg.BoolOpt(
        "query_placement_for_routed_network_aggregates",
        default=False,
        help="Enable the scheduler to filter compute hosts affined to routed network "
        "segment aggregates.",
    ),
    cfg.BoolOpt(
        "limit_tenants_to_placement_aggregate",
        default=False,
        help="Restrict tenants to specific placement aggregates. The scheduler looks "
        "up host aggregates with the metadata key ``filter_tenant_id`` (or "
        "``filter_tenant_id<suffix>``, such as ``filter_tenant_id:123``) set to the "
        "project of the request, and limits placement results to those aggregates. "
        "The aggregate UUIDs must be mirrored in placement.",
    ),
    cfg.BoolOpt(
        "placement_aggregate_required_for_tenants",
        default=False,
        help="Require a placement aggregate association for all tenants. With "
        "limit_tenants_to_placement_aggregate=True, a tenant with no aggregate "
        "affinity is refused (no valid host) instead of scheduling to any node.",
    ),
    cfg.BoolOpt(
        "query_placement_for_availability_zone",
        default=True,
        deprecated_for_removal=True,
        deprecated_since="24.0.0",
        deprecated_reason="Since the introduction of placement pre-filters in 18.0.0 "
        "(Rocky), availability zones are tracked either natively in placement or with "
        "the legacy AvailabilityZoneFilter; the filter-based approach is deprecated "
        "in 24.0.0 (Xena), and this option will be removed with the filter.",
        help="Use placement to determine availability zones: the scheduler looks up "
        "the host aggregate whose ``availability_zone`` metadata is the requested "
        "zone and limits placement results to it. If disabled, the "
        "AvailabilityZoneFilter must be enabled for zones to work.",
    ),
    cfg.BoolOpt(
        "query_placement_for_image_type_support",
        default=False,
        help="Use placement to determine host support for the instance's image type: "
        "the scheduler asks placement only for compute hosts that support the "
        "``disk_format`` of the image (trait COMPUTE_IMAGE_TYPE_<FORMAT>).",
    ),
    cfg.BoolOpt(
        "enable_isolated_aggregate_filtering",
        default=False,
        help="Restrict use of aggregates to instances with matching metadata. If an "
        "aggregate has metadata ``trait:$TRAIT_NAME=required``, the flavor extra "
        "specs and/or image properties must also require that trait for the instance "
        "to be scheduled to hosts in that aggregate.",
    ),
    cfg.BoolOpt(
        "image_metadata_prefilter",
        default=False,
        help="Use placement to filter hosts based on image metadata: well known image "
        "properties (hw_cdrom_bus, hw_disk_bus, hw_video_model, hw_vif_model) become "
        "placement required traits. Supported by the libvirt driver.",
    ),
]

filter_scheduler_opts = [
    cfg.IntOpt(
        "host_subset_size",
        default=1,
        min=1,
        deprecated_name="scheduler_host_subset_size",
        deprecated_group="DEFAULT",
        help="Size of subset of best hosts selected by scheduler. New instances are "
        "scheduled on a host chosen randomly from a subset of the N best hosts, where "
        "N is this value.",
    ),
    cfg.IntOpt(
        "max_io_ops_per_host",
        default=8,
        min=0,
        deprecated_group="DEFAULT",
        help="The number of instances that can be actively performing IO on a host "
        "(build, resize, snapshot, migrate, rescue, unshelve). Only used by the "
        "IoOpsFilter.",
    ),
    cfg.IntOpt(
        "max_instances_per_host",
        default=50,
        min=1,
        deprecated_group="DEFAULT",
        help="Maximum number of instances that can exist on a host. Used by the "
        "NumInstancesFilter and AggregateNumInstancesFilter.",
    ),
    cfg.BoolOpt(
        "track_instance_changes",
        default=True,
        deprecated_name="scheduler_tracks_instance_changes",
        deprecated_group="DEFAULT",
        help="Enable querying of individual hosts for instance information (computes "
        "report their instances to the scheduler), used by the (anti-)affinity "
        "filters. See also [workarounds] disable_group_policy_check_upcall.",
    ),
    cfg.MultiStrOpt(
        "available_filters",
        default=["nova.scheduler.filters.all_filters"],
        deprecated_name="scheduler_available_filters",
        deprecated_group="DEFAULT",
        help="Filters that the scheduler can use. An unordered list of the filter "
        "classes the scheduler may apply; only those in enabled_filters are used, but "
        "any filter in enabled_filters must also be in this list. "
        "``nova.scheduler.filters.all_filters`` names every filter shipped with Nova "
        "(and, in nova-tx, the filter plugins found in ``plugins/``).",
    ),
    cfg.ListOpt(
        "enabled_filters",
        default=[
            "ComputeFilter",
            "ComputeCapabilitiesFilter",
            "ImagePropertiesFilter",
            "ServerGroupAntiAffinityFilter",
            "ServerGroupAffinityFilter",
        ],
        deprecated_name="scheduler_default_filters",
        deprecated_group="DEFAULT",
        help="Filters that the scheduler will use, in order: place the most "
        "restrictive first. Every filter named must be in available_filters, or "
        "SchedulerHostFilterNotFound is raised.",
    ),
    cfg.ListOpt(
        "weight_classes",
        default=["nova.scheduler.weights.all_weighers"],
        deprecated_name="scheduler_weight_classes",
        deprecated_group="DEFAULT",
        help="Weighers that the scheduler will use. Only hosts which pass the filters "
        "are weighed. ``nova.scheduler.weights.all_weighers`` names every weigher "
        "shipped with Nova.",
    ),
    cfg.FloatOpt(
        "ram_weight_multiplier",
        default=1.0,
        deprecated_group="DEFAULT",
        help="RAM weight multiplier ratio. Positive values prefer hosts with more "
        "available RAM (spread), negative values prefer less (stack).",
    ),
    cfg.FloatOpt(
        "cpu_weight_multiplier",
        default=1.0,
        help="CPU weight multiplier ratio for free vCPUs. Negative numbers stack "
        "rather than spread.",
    ),
    cfg.FloatOpt(
        "disk_weight_multiplier",
        default=1.0,
        deprecated_group="DEFAULT",
        help="Disk weight multiplier ratio for free disk space. Negative numbers "
        "stack rather than spread.",
    ),
    cfg.FloatOpt(
        "io_ops_weight_multiplier",
        default=-1.0,
        deprecated_group="DEFAULT",
        help="IO operations weight multiplier ratio. Negative values (the default) "
        "prefer hosts with lighter workloads; positive values prefer busier hosts.",
    ),
    cfg.FloatOpt(
        "pci_weight_multiplier",
        default=1.0,
        min=0.0,
        help="PCI device affinity weight multiplier, based on the number of PCI "
        "devices on the host and the number the instance requests.",
    ),
    cfg.FloatOpt(
        "soft_affinity_weight_multiplier",
        default=1.0,
        min=0.0,
        deprecated_group="DEFAULT",
        help="Multiplier used for weighing hosts for group soft-affinity.",
    ),
    cfg.FloatOpt(
        "soft_anti_affinity_weight_multiplier",
        default=1.0,
        min=0.0,
        deprecated_group="DEFAULT",
        help="Multiplier used for weighing hosts for group soft-anti-affinity.",
    ),
    cfg.FloatOpt(
        "build_failure_weight_multiplier",
        default=1000000.0,
        help="Multiplier used for weighing hosts that have had recent build failures. "
        "The weight is inversely proportional to the number of recent failures; 0 "
        "disables the weigher's effect.",
    ),
    cfg.FloatOpt(
        "cross_cell_move_weight_multiplier",
        default=1000000.0,
        help="Multiplier used for weighing hosts during a cross-cell move. Positive "
        "values prefer hosts in the instance's current cell. Overridable per "
        "aggregate with the metadata key of the same name.",
    ),
    cfg.BoolOpt(
        "shuffle_best_same_weighed_hosts",
        default=False,
        help="Enable spreading the instances between hosts with the same best weight.",
    ),
    cfg.StrOpt(
        "image_properties_default_architecture",
        choices=ARCHITECTURES,
        help="The default architecture used by the ImagePropertiesFilter when the "
        "image has no hw_architecture property.",
    ),
    cfg.ListOpt(
        "isolated_images",
        default=[],
        deprecated_group="DEFAULT",
        help="List of UUIDs for images that can only be run on certain hosts "
        "(IsolatedHostsFilter).",
    ),
    cfg.ListOpt(
        "isolated_hosts",
        default=[],
        deprecated_group="DEFAULT",
        help="List of hosts that can only run certain images (IsolatedHostsFilter).",
    ),
    cfg.BoolOpt(
        "restrict_isolated_hosts_to_isolated_images",
        default=True,
        deprecated_group="DEFAULT",
        help="Prevent non-isolated images from being built on isolated hosts "
        "(IsolatedHostsFilter).",
    ),
    cfg.StrOpt(
        "aggregate_image_properties_isolation_namespace",
        deprecated_group="DEFAULT",
        help="Image property namespace for use in the host aggregate "
        "(AggregateImagePropertiesIsolation).",
    ),
    cfg.StrOpt(
        "aggregate_image_properties_isolation_separator",
        default=".",
        deprecated_group="DEFAULT",
        help="Separator character(s) for image property namespace and name "
        "(AggregateImagePropertiesIsolation).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, scheduler_group, scheduler_opts)
    register_group_opts(conf, filter_scheduler_group, filter_scheduler_opts)


def list_opts() -> dict:
    return {scheduler_group: scheduler_opts, filter_scheduler_group: filter_scheduler_opts}

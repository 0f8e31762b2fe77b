"""The compute manager's options: its periodic tasks, build and power behaviour
(``[DEFAULT]``, Nova's ``nova/conf/compute.py``), the image cache (``[image_cache]``,
Nova's ``nova/conf/imagecache.py``), ``[compute] shutdown_retry_interval`` and the
lifecycle-event workaround.

Names, types, defaults and help are Nova Zed's. Interval options keep Nova's meaning:
0 runs at the default periodic interval (60 s), a negative value disables the task,
except where the help says 0 disables.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

#: Nova's ``periodic_task`` default spacing, used when an interval option is 0.
DEFAULT_INTERVAL = 60

interval_opts = [
    cfg.IntOpt(
        "sync_power_state_interval",
        default=600,
        help="Interval to sync power states between the database and the hypervisor.\n\n"
        "The interval that Nova checks the actual virtual machine power state and the "
        "power state that Nova has in its database. If a user powers down their VM, "
        "Nova updates the API to report the VM has been powered down. Should something "
        "turn on the VM unexpectedly, Nova will turn the VM back off to keep the system "
        "in the expected state.\n\nPossible values:\n\n* 0: Will run at the default "
        "periodic interval.\n* Any value < 0: Disables the option.\n* Any positive "
        "integer in seconds.",
    ),
    cfg.IntOpt(
        "heal_instance_info_cache_interval",
        default=60,
        help="Interval between instance network information cache updates.\n\nNumber of "
        "seconds after which each compute node runs the task of querying Neutron for all "
        "of its instances networking information, then updates the Nova db with that "
        "information. Nova will never update it's cache if this option is set to 0.\n\n"
        "Possible values:\n\n* Any positive integer in seconds.\n* Any value <=0 will "
        "disable the sync. This is not recommended.",
    ),
    cfg.IntOpt(
        "reclaim_instance_interval",
        default=0,
        help="Interval for reclaiming deleted instances.\n\nA value greater than 0 will "
        "enable SOFT_DELETE of instances. If the deleted server remains longer than the "
        "value of reclaim_instance_interval, it will be deleted by a periodic task in "
        "the compute service automatically.\n\nPossible values:\n\n* Any positive "
        "integer(in seconds) greater than 0 will enable this option.\n* Any value <=0 "
        "will disable the option.",
    ),
    cfg.IntOpt(
        "scheduler_instance_sync_interval",
        default=120,
        help="Interval between sending the scheduler a list of current instance UUIDs "
        "to verify that its view of instances is in sync with nova.\n\nPossible "
        "values:\n\n* 0: Will run at the default periodic interval.\n* Any value < 0: "
        "Disables the option.\n* Any positive integer in seconds.",
    ),
]

running_deleted_opts = [
    cfg.StrOpt(
        "running_deleted_instance_action",
        default="reap",
        choices=[
            ("reap", "Powers down the instances and deletes them"),
            ("log", "Logs warning message about deletion of the resource"),
            ("shutdown", "Powers down instances and marks them as non-bootable which "
             "can be later used for debugging/analysis"),
            ("noop", "Takes no action"),
        ],
        help="The compute service periodically checks for instances that have been "
        "deleted in the database but remain running on the compute node. The above "
        "option enables action to be taken when such instances are identified.\n\n"
        "Related options:\n\n* ``running_deleted_instance_poll_interval``\n"
        "* ``running_deleted_instance_timeout``",
    ),
    cfg.IntOpt(
        "running_deleted_instance_poll_interval",
        default=1800,
        help="Time interval in seconds to wait between runs for the clean up action.\n"
        "If set to 0, above check will be disabled. If \"running_deleted_instance"
        "_action\" is set to \"log\" or \"reap\", a value greater than 0 must be set."
        "\n\nPossible values:\n\n* Any positive integer in seconds enables the "
        "option.\n* 0: Disables the option.\n* 1800: Default value.\n\nRelated "
        "options:\n\n* running_deleted_instance_action",
    ),
    cfg.IntOpt(
        "running_deleted_instance_timeout",
        default=0,
        help="Time interval in seconds to wait for the instances that have been marked "
        "as deleted in database to be eligible for cleanup.\n\nPossible values:\n\n"
        "* Any positive integer in seconds(default is 0).\n\nRelated options:\n\n"
        "* \"running_deleted_instance_action\"",
    ),
]

timeout_opts = [
    cfg.IntOpt(
        "reboot_timeout",
        default=0,
        min=0,
        help="Time interval after which an instance is hard rebooted automatically.\n\n"
        "When doing a soft reboot, it is possible that a guest kernel is completely hung "
        "in a way that causes the soft reboot task to not ever finish. Setting this "
        "option to a time period in seconds will automatically hard reboot an instance "
        "if it has been stuck in a rebooting state longer than N seconds.\n\n"
        "Possible values:\n\n* 0: Disables the option (default).\n* Any positive "
        "integer in seconds: Enables the option.",
    ),
    cfg.IntOpt(
        "instance_build_timeout",
        default=0,
        min=0,
        help="Maximum time in seconds that an instance can take to build.\n\nIf this "
        "timer expires, instance status will be changed to ERROR. Enabling this option "
        "will make sure an instance will not be stuck in BUILD state for a longer "
        "period.\n\nPossible values:\n\n* 0: Disables the option (default)\n* Any "
        "positive integer in seconds: Enables the option.",
    ),
    cfg.IntOpt(
        "shutdown_timeout",
        default=60,
        min=0,
        help="Total time to wait in seconds for an instance to perform a clean "
        "shutdown.\n\nIt determines the overall period (in seconds) a VM is allowed to "
        "perform a clean shutdown. While performing stop, rescue and shelve, rebuild "
        "operations, configuring this option gives the VM a chance to perform a "
        "controlled shutdown before the instance is powered off. A value of 0 (zero) "
        "means the guest will be powered off immediately with no opportunity for guest "
        "OS clean-up.\n\nThe timeout value can be overridden on a per image basis by "
        "means of os_shutdown_timeout that is an image metadata setting.",
    ),
]

manager_opts = [
    cfg.BoolOpt(
        "resume_guests_state_on_host_boot",
        default=False,
        help="This option specifies whether to start guests that were running before "
        "the host rebooted. It ensures that all of the instances on a Nova compute node "
        "resume their state each time the compute node boots or restarts.",
    ),
    cfg.IntOpt(
        "max_concurrent_builds",
        default=10,
        min=0,
        help="Limits the maximum number of instance builds to run concurrently by "
        "nova-compute. Compute service can attempt to build an infinite number of "
        "instances, if asked to do so. This limit is enforced to avoid building "
        "unlimited instance concurrently on a compute node. This value can be set per "
        "compute node.\n\nPossible Values:\n\n* 0 : treated as unlimited.\n* Any "
        "positive integer representing maximum concurrent builds.",
    ),
    cfg.IntOpt(
        "sync_power_state_pool_size",
        default=1000,
        help="Number of greenthreads available for use to sync power states.\n\nThis "
        "option can be used to reduce the number of concurrent requests made to the "
        "hypervisor or system with real instance power states for performance reasons.",
    ),
    cfg.BoolOpt(
        "vif_plugging_is_fatal",
        default=True,
        help="Determine if instance should boot or fail on VIF plugging timeout.\n\n"
        "Nova sends a port update to Neutron after an instance has been scheduled, "
        "providing Neutron with the necessary information to finish setup of the port. "
        "Once completed, Neutron notifies Nova that it has finished setting up the port, "
        "at which point Nova resumes the boot of the instance since network "
        "connectivity is now supposed to be present. A timeout will occur if the reply "
        "is not received after a given interval.\n\nThis option determines what Nova "
        "does when the VIF plugging timeout event happens. When enabled, the instance "
        "will error out. When disabled, the instance will continue to boot on the "
        "assumption that the port is ready.",
    ),
    cfg.IntOpt(
        "vif_plugging_timeout",
        default=300,
        min=0,
        help="Timeout for Neutron VIF plugging event message arrival.\n\nNumber of "
        "seconds to wait for Neutron vif plugging events to arrive before continuing or "
        "failing (see 'vif_plugging_is_fatal').",
    ),
]

compute_group = cfg.OptGroup(
    "compute",
    title="Compute Manager Options",
    help="Options for a compute host: its CPU layout and NUMA placement.",
)

compute_group_opts = [
    cfg.IntOpt(
        "shutdown_retry_interval",
        default=10,
        min=1,
        help="Time to wait in seconds before resending an ACPI shutdown signal to "
        "instances.\n\nThe overall time to wait is set by ``shutdown_timeout``.\n\n"
        "Possible values:\n\n* Any integer greater than 0 in seconds\n\nRelated "
        "options:\n\n* ``shutdown_timeout``",
    ),
]

image_cache_group = cfg.OptGroup(
    "image_cache",
    title="Image Cache Options",
    help="A collection of options specific to image caching.",
)

image_cache_opts = [
    cfg.IntOpt(
        "manager_interval",
        default=2400,
        min=-1,
        deprecated_name="image_cache_manager_interval",
        deprecated_group="DEFAULT",
        help="Number of seconds to wait between runs of the image cache manager.\n\n"
        "Note when using shared storage for the ``[DEFAULT]/instances_path`` "
        "configuration option across multiple nova-compute services, this periodic could "
        "process a large number of instances. Every time the image_cache_manager runs "
        "the timestamps of images in ``[DEFAULT]/instances_path`` are updated.\n\n"
        "Possible values:\n\n* 0: run at the default interval of 60 seconds (not "
        "recommended)\n* -1: disable\n* Any other value",
    ),
    cfg.StrOpt(
        "subdirectory_name",
        default="_base",
        deprecated_name="image_cache_subdirectory_name",
        deprecated_group="DEFAULT",
        help="Location of cached images.\n\nThis is NOT the full path - just a folder "
        "name relative to '$instances_path'. For per-compute-host cached images, set to "
        "'_base_$my_ip'",
    ),
    cfg.BoolOpt(
        "remove_unused_base_images",
        default=True,
        deprecated_group="DEFAULT",
        help="Should unused base images be removed?\n\nWhen there are no remaining "
        "instances on the hypervisor created from this base image or linked to it, the "
        "base image is considered unused.",
    ),
    cfg.IntOpt(
        "remove_unused_original_minimum_age_seconds",
        default=24 * 3600,
        deprecated_group="DEFAULT",
        help="Unused unresized base images younger than this will not be removed.",
    ),
    cfg.IntOpt(
        "remove_unused_resized_minimum_age_seconds",
        default=3600,
        deprecated_group="DEFAULT",
        help="Unused resized base images younger than this will not be removed.",
    ),
    cfg.IntOpt(
        "precache_concurrency",
        default=1,
        min=1,
        help="Maximum number of compute hosts to trigger image precaching in parallel."
        "\n\nWhen an image precache request is made, compute nodes will be contacted to "
        "initiate the download. This number constrains the number of those that will "
        "happen in parallel.",
    ),
]

workarounds_group = cfg.OptGroup(
    "workarounds",
    title="Workaround Options",
    help="A collection of workarounds used to mitigate bugs or issues found in system "
    "tools or as a result of known limitations.",
)

workarounds_opts = [
    cfg.BoolOpt(
        "handle_virt_lifecycle_events",
        default=True,
        help="Enable handling of events emitted from compute drivers.\n\nMany compute "
        "drivers emit lifecycle events, which are events that occur when, for example, "
        "an instance is starting or stopping. If the instance is going through task "
        "state changes due to an API operation, like resize, the events are ignored.\n\n"
        "This is an advanced feature which allows the hypervisor to signal to the "
        "compute service that an unexpected state change has occurred in an instance "
        "and that the instance can be shutdown automatically. Unfortunately, this can "
        "race in some conditions, for example in reboot operations or when the compute "
        "service or when host is rebooted (planned or due to an outage). If such races "
        "are common, then it is advisable to disable this feature.\n\nCare should be "
        "taken when this feature is disabled and 'sync_power_state_interval' is set to "
        "a negative value. In this case, any instances that get out of sync between the "
        "hypervisor and the Nova database will have to be synchronized manually.",
    ),
]

DEFAULT_OPTS = interval_opts + running_deleted_opts + timeout_opts + manager_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(DEFAULT_OPTS)
    register_group_opts(conf, image_cache_group, image_cache_opts)
    register_group_opts(conf, compute_group, compute_group_opts)
    # [workarounds] may already be registered by its own module: this adds to it.
    register_group_opts(conf, workarounds_group, workarounds_opts)


def list_opts() -> dict:
    return {"DEFAULT": DEFAULT_OPTS, "compute": compute_group_opts,
            "image_cache": image_cache_opts,
            "workarounds": workarounds_opts}

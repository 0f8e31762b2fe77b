"""``[libvirt]`` options the libvirt driver reads, and the ``[vnc]`` / ``[spice]`` switches
that decide its guests' graphics (Nova's ``nova/conf/libvirt.py``, ``vnc.py``,
``spice.py``; Zed names, types and defaults).

Only what ``nova_tx.virt.libvirt`` acts on is here: an option nova-tx would accept and
ignore would mislead the operator who set it.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

libvirt_group = cfg.OptGroup(
    "libvirt",
    title="Libvirt Options",
    help="Libvirt options allows cloud administrator to configure related libvirt "
    "hypervisor driver to be used within an OpenStack deployment. Almost all of the "
    "libvirt config options are influence by ``virt_type`` config which describes the "
    "virtualization type (or so called domain type) libvirt should use for specific "
    "features such as live migration, snapshot.",
)

libvirt_opts = [
    cfg.StrOpt(
        "virt_type",
        default="kvm",
        choices=("kvm", "lxc", "qemu", "parallels"),
        help="Describes the virtualization type (or so called domain type) libvirt should "
        "use. The choice of this type must match the underlying virtualization strategy "
        "you have chosen for this host.",
    ),
    cfg.StrOpt(
        "connection_uri",
        default="",
        help="Overrides the default libvirt URI of the chosen virtualization type. If "
        "set, Nova will use this URI to connect to libvirt. nova-tx also accepts libvirt's "
        "test driver: test:///default, or test:///<path>.xml for a host described by a "
        "file (docs/libvirt.md).",
    ),
    cfg.IntOpt(
        "wait_soft_reboot_seconds",
        default=120,
        help="Number of seconds to wait for instance to shut down after soft reboot "
        "request is made. We fall back to hard reboot if instance does not shutdown "
        "within this window.",
    ),
    cfg.StrOpt(
        "cpu_mode",
        choices=("host-model", "host-passthrough", "custom", "none"),
        help="Is used to set the CPU mode an instance should have. If "
        "``virt_type=\"kvm|qemu\"``, it will default to ``host-model``, otherwise it will "
        "default to ``none``.",
    ),
    cfg.ListOpt(
        "cpu_models",
        default=[],
        deprecated_name="cpu_model",
        help="An ordered list of CPU models the host supports. It is expected that the "
        "list is ordered so that the more common and less advanced CPU models are listed "
        "earlier. Used with ``cpu_mode = custom``.",
    ),
    cfg.ListOpt(
        "cpu_model_extra_flags",
        default=[],
        help="Enable or disable guest CPU flags: ``+flag`` enables, ``-flag`` disables, "
        "a bare ``flag`` enables. Case-insensitive; valid with every ``cpu_mode``.",
    ),
    cfg.StrOpt(
        "snapshot_image_format",
        choices=("raw", "qcow2", "vmdk", "vdi"),
        help="Determine the snapshot image format when sending to the image service. If "
        "set, this decides what format is used when sending the snapshot to the image "
        "service. If not set, defaults to same type as source image.",
    ),
    cfg.StrOpt(
        "snapshots_directory",
        default="$instances_path/snapshots",
        help="Location where libvirt driver will store snapshots before uploading them "
        "to image service",
    ),
    cfg.StrOpt(
        "rescue_image_id",
        help="The ID of the image to boot from to rescue data from a corrupted instance. "
        "If the rescue REST API operation doesn't provide an ID of an image to use, the "
        "image which is referenced by this ID is used. If this option is not set, the "
        "image from the instance is used.",
    ),
    cfg.StrOpt(
        "rng_dev_path",
        default="/dev/urandom",
        help="The path to an RNG (Random Number Generator) device that will be used as "
        "the source of entropy on the host.",
    ),
    cfg.ListOpt(
        "hw_machine_type",
        help="For qemu or KVM guests, set this option to specify a default machine type "
        "per host architecture. The format of the value for this config option is "
        "``host-arch=machine-type``. For example: ``x86_64=machinetype1,armv7l=machinetype2``.",
    ),
    cfg.IntOpt(
        "file_backed_memory",
        default=0,
        min=0,
        help="Available capacity in MiB for file-backed memory. Set to 0 to disable "
        "file-backed memory. When enabled, instances will create memory files in the "
        "directory specified in ``/etc/libvirt/qemu.conf``'s ``memory_backing_dir`` "
        "option. The default location is ``/var/lib/libvirt/qemu/ram``. When enabled, "
        "the value defined for this option is reported as the node memory capacity. "
        "Compute node system memory will be used as a cache for file-backed memory, via "
        "the kernel's pagecache mechanism. This feature is not compatible with hugepages "
        "nor with memory overcommit: ``virt_type`` must be ``kvm`` or ``qemu`` and "
        "``ram_allocation_ratio`` must be set to 1.0.",
    ),
    cfg.IntOpt(
        "realtime_scheduler_priority",
        default=1,
        help="In a realtime host context vCPUs for guest will run in that scheduling "
        "priority. Priority depends on the host kernel (usually 1-99)",
    ),
]

vnc_group = cfg.OptGroup(
    "vnc",
    title="VNC options",
    help="Virtual Network Computer (VNC) can be used to provide remote desktop console "
    "access to instances for tenants and/or administrators.",
)

vnc_opts = [
    cfg.BoolOpt(
        "enabled",
        default=True,
        deprecated_group="DEFAULT",
        deprecated_name="vnc_enabled",
        help="Enable VNC related features. Guests will get created with graphical devices "
        "to support this.",
    ),
    cfg.HostAddressOpt(
        "server_listen",
        default="127.0.0.1",
        help="The IP address or hostname on which an instance should listen to for "
        "incoming VNC connection requests on this node.",
    ),
]

spice_group = cfg.OptGroup(
    "spice",
    title="SPICE console features",
    help="SPICE console feature allows you to connect to a guest virtual machine.",
)

spice_opts = [
    cfg.BoolOpt(
        "enabled",
        default=False,
        help="Enable SPICE related features. Guests get a SPICE graphics device.",
    ),
    cfg.HostAddressOpt(
        "server_listen",
        default="127.0.0.1",
        help="The address where the SPICE server running on the instances should listen.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, libvirt_group, libvirt_opts)
    register_group_opts(conf, vnc_group, vnc_opts)
    register_group_opts(conf, spice_group, spice_opts)


def list_opts() -> dict:
    return {libvirt_group: libvirt_opts, vnc_group: vnc_opts, spice_group: spice_opts}

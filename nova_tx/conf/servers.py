"""``[DEFAULT]`` options of server creation at the API (Nova's ``nova/conf/compute.py``)
and ``[pci] alias`` (Nova's ``nova/conf/pci.py``), which flavors name in
``pci_passthrough:alias``."""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

create_opts = [
    cfg.IntOpt("password_length", default=12, min=0,
               help="Length of generated instance admin passwords."),
    cfg.IntOpt(
        "max_local_block_devices", default=3,
        help="Maximum number of devices that will result in a local image being created "
        "on the hypervisor node (the root disk from imageRef, ephemeral and swap disks). "
        "A negative number means unlimited; 0 refuses any request that would create a "
        "local disk (it does not turn images into volumes)."),
    cfg.StrOpt(
        "instance_name_template", default="instance-%08x",
        help="Template for the name of an instance on its hypervisor (and the API's "
        "OS-EXT-SRV-ATTR:instance_name): the database id (the default) or named columns "
        "such as instance-%(uuid)s. Changing it breaks a deployment that has instances."),
    cfg.StrOpt(
        "instance_usage_audit_period", default="month",
        help="Time period to generate instance usages for: hour, day, month or year, "
        "optionally with an offset after @ (month@15: monthly audits starting on the "
        "15th)."),
    cfg.StrOpt(
        "default_ephemeral_format",
        help="The default format an ephemeral volume will be formatted with on creation: "
        "ext2, ext3, ext4, xfs or ntfs (only for Windows guests)."),
]

pci_group = cfg.OptGroup("pci", title="PCI passthrough options")

pci_opts = [
    cfg.MultiStrOpt(
        "alias", default=[], deprecated_name="pci_alias", deprecated_group="DEFAULT",
        help="An alias for a PCI passthrough device requirement: a JSON object with "
        "name, vendor_id, product_id, device_type (type-PCI, type-PF, type-VF), "
        "numa_policy (required, legacy, preferred, socket); repeat the option for "
        "several aliases. Flavors request devices with pci_passthrough:alias."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(create_opts)
    register_group_opts(conf, pci_group, pci_opts)


def list_opts() -> dict:
    return {"DEFAULT": create_opts, pci_group: pci_opts}

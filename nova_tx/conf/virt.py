"""``[DEFAULT]`` options of a compute host's hypervisor side (Nova's ``nova/conf/compute.py``
and ``virt.py``): which driver, where instances live. The driver's own groups
(``[libvirt]``) and the compute manager's periodic options have modules of their own.
"""
from oslo_config import cfg

virt_opts = [
    cfg.StrOpt(
        "compute_driver",
        help="The virt driver of this compute host, by Nova's name: libvirt.LibvirtDriver "
        "(KVM or QEMU through libvirt) or fake.FakeDriver (an in-memory hypervisor for "
        "tests and simulations). Other drivers are plugins in plugins/ that provide "
        "nova_tx.virt.driver.IComputeDriverFactory under the name given here.",
    ),
    cfg.StrOpt(
        "instances_path",
        default="$state_path/instances",
        sample_default="$state_path/instances",
        help="Where instances' disks, console logs and the image cache are kept on the "
        "compute host.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(virt_opts)


def list_opts() -> dict:
    return {"DEFAULT": virt_opts}

"""``[fake]``: the host the fake virt driver (``fake.FakeDriver``) pretends to be.

Nova's fake driver has no options (its host is fixed in code); nova-tx simulates many
hosts of different shapes in one process, so the topology is read from a file.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

fake_group = cfg.OptGroup(
    "fake",
    title="Fake virt driver options",
    help="The in-memory hypervisor of compute_driver = fake.FakeDriver.",
)

fake_opts = [
    cfg.StrOpt(
        "host_topology_file",
        help="A YAML or JSON file describing the simulated host: its NUMA cells (CPUs, "
        "thread siblings, memory, huge pages, socket), disk and hypervisor identity "
        "(docs/compute-node.md gives the format). Unset: 2 NUMA cells of 8 CPUs each "
        "(4 cores with 2 threads), 16 GiB of memory and 200 GiB of disk. A file that "
        "cannot be read or is malformed stops nova-compute.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, fake_group, fake_opts)


def list_opts() -> dict:
    return {fake_group: fake_opts}

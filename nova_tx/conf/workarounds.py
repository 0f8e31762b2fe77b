"""``[workarounds]``: Nova Zed's names and defaults for the workarounds nova-tx reads.

Each option here changes one documented behaviour; the other ``[workarounds]`` options
of Nova are added by the modules that read them.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

workarounds_group = cfg.OptGroup(
    "workarounds",
    title="Workaround Options",
    help="A collection of workarounds used to mitigate bugs or issues found in system "
    "tools or as a result of known limitations.",
)

workarounds_opts = [
    cfg.BoolOpt(
        "disable_fallback_pcpu_query",
        default=False,
        deprecated_for_removal=True,
        deprecated_since="20.0.0",
        help="Disable fallback request for VCPU allocations when using pinned "
        "instances. The scheduler translates hw:cpu_policy=dedicated (and the "
        "emulator threads policy) into PCPU requests; unless this is set it makes a "
        "second placement request for the legacy VCPU-based allocation and falls back "
        "to those candidates when the PCPU request finds none.",
    ),
    cfg.BoolOpt(
        "disable_group_policy_check_upcall",
        default=False,
        help="Disable the server group policy check upcall in compute: the late "
        "anti-affinity/affinity check the compute host makes before building. "
        "Needed when computes cannot reach the API database.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, workarounds_group, workarounds_opts)


def list_opts() -> dict:
    return {workarounds_group: workarounds_opts}

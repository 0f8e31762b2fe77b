"""``[metrics]``: the MetricsFilter and MetricsWeigher options (Nova Zed's names and
defaults, spec D §1.10)."""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

metrics_group = cfg.OptGroup(
    "metrics",
    title="Metrics parameters",
    help="Weighing hosts by the metrics their compute monitors report "
    "([DEFAULT] compute_monitors).",
)

metrics_weight_opts = [
    cfg.FloatOpt(
        "weight_multiplier",
        default=1.0,
        help="Multiplier of the MetricsWeigher's weight: above 1.0 it counts for more "
        "against the other weighers, between 0 and 1 for less, 0 disables it and a "
        "negative value prefers hosts with smaller metric sums. Per aggregate: the "
        "metrics_weight_multiplier metadata key.",
    ),
    cfg.ListOpt(
        "weight_setting",
        default=[],
        help="The metrics to weigh and their ratios, as name=ratio pairs (for example "
        "'name1=1.0, name2=-1.0'): a host weighs the sum of value x ratio. The "
        "MetricsFilter passes only hosts that report all of them.",
    ),
    cfg.BoolOpt(
        "required",
        default=True,
        help="Whether every metric of weight_setting must be reported: when True a host "
        "without one makes the weigher raise (enable the MetricsFilter to avoid it); "
        "when False the host weighs weight_of_unavailable.",
    ),
    cfg.FloatOpt(
        "weight_of_unavailable",
        default=(-10000.0),
        help="The weight of a host missing a metric of weight_setting when required is "
        "False.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, metrics_group, metrics_weight_opts)


def list_opts() -> dict:
    return {metrics_group: metrics_weight_opts}

"""``[DEFAULT]`` options of the service group: how often services report, when they
count as down."""
from oslo_config import cfg

servicegroup_opts = [
    cfg.StrOpt(
        "servicegroup_driver",
        default="db",
        choices=[("db", "Database ServiceGroup driver"),
                 ("mc", "Memcache ServiceGroup driver (not supported by nova-tx: "
                  "services refuse to start with it)")],
        help="Where services record that they are alive. nova-tx supports 'db' (the "
        "services table, through the conductor for computes), as Nova recommends; 'mc' "
        "is accepted by the parser so that a Nova configuration reads, but services "
        "refuse to start with a one-line error rather than run unreported.",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        help="Seconds between two heartbeats of a service (each one increments its "
        "services.report_count and refreshes last_seen_up); 0 turns heartbeats off, so "
        "the service looks down once service_down_time has passed. Keep it well below "
        "service_down_time.",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        help="Seconds since a service's last heartbeat after which it counts as down. "
        "When it is not above report_interval, int(report_interval * 2.5) is used "
        "instead (and a warning logged), since services would otherwise flap.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(servicegroup_opts)


def list_opts() -> dict:
    return {"DEFAULT": servicegroup_opts}

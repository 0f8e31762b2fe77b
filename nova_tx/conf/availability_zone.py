"""``[DEFAULT]`` availability zone options, with Nova Zed's names and defaults."""
from oslo_config import cfg

availability_zone_opts = [
    cfg.StrOpt(
        "internal_service_availability_zone",
        default="internal",
        help="Availability zone for internal services (nova-scheduler, nova-conductor, "
        "...). Services other than nova-compute are in it; it is never listed by "
        "GET /os-availability-zone.",
    ),
    cfg.StrOpt(
        "default_availability_zone",
        default="nova",
        help="Default availability zone for compute services, used when a compute "
        "service's host is in no aggregate with availability_zone metadata.",
    ),
    cfg.StrOpt(
        "default_schedule_zone",
        help="Default availability zone for instances, used when a user does not "
        "specify one when creating an instance. None: an instance may move between "
        "zones during its lifetime.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for opt in availability_zone_opts:
        if opt.dest not in conf:
            conf.register_opt(opt)


def list_opts() -> dict:
    return {"DEFAULT": availability_zone_opts}

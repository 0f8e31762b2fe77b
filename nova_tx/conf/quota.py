"""``[quota]``: the default limits of every quota resource and how usage is counted.

Names, defaults and the ``[DEFAULT] quota_<name>`` aliases are Nova Zed's. A limit set
through ``os-quota-sets`` (a project or user row) or ``os-quota-class-sets`` (the
``default`` class row) wins over these; -1 means unlimited.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

quota_group = cfg.OptGroup(
    "quota",
    title="Quota Options",
    help="Quota options allow to manage quotas in openstack deployment.",
)


def _limit(name: str, default: int, help_text: str, alias: str | None = None) -> cfg.IntOpt:
    return cfg.IntOpt(
        name,
        min=-1,
        default=default,
        deprecated_group="DEFAULT",
        deprecated_name="quota_" + (alias or name),
        help=help_text + " -1 disables the quota.",
    )


quota_opts = [
    _limit("instances", 10, "The number of instances allowed per project."),
    _limit("cores", 20, "The number of instance cores or vCPUs allowed per project."),
    _limit("ram", 51200, "The number of megabytes of instance RAM allowed per project."),
    _limit("metadata_items", 128, "The number of metadata items allowed per instance."),
    _limit("injected_files", 5, "The number of injected files allowed (personality, "
           "before microversion 2.57)."),
    _limit("injected_file_content_bytes", 10240, "The number of bytes allowed per "
           "injected file."),
    _limit("injected_file_path_length", 255, "The maximum allowed injected file path "
           "length (the quota resource injected_file_path_bytes)."),
    _limit("key_pairs", 100, "The maximum number of key pairs allowed per user."),
    _limit("server_groups", 10, "The maximum number of server groups per project."),
    _limit("server_group_members", 10, "The maximum number of servers per server group."),
    cfg.StrOpt(
        "driver",
        default="nova.quota.DbQuotaDriver",
        choices=[
            ("nova.quota.DbQuotaDriver", "Stores quota limit information in the database "
             "and relies on the quota_* configuration options for default quota limit "
             "values. Counts quota usage on-demand."),
            ("nova.quota.NoopQuotaDriver", "Ignores quota and treats all resources as "
             "unlimited."),
            ("nova.quota.UnifiedLimitsDriver", "Do not use. Still being developed (in "
             "nova-tx: treated as nova.quota.DbQuotaDriver, with a warning)."),
        ],
        help="Provides abstraction for quota checks. Users can configure a specific "
        "driver to use for quota checks.",
    ),
    cfg.BoolOpt(
        "recheck_quota",
        default=True,
        help="Recheck quota after resource creation to prevent allowing quota to be "
        "exceeded by racing requests: the resource is counted again once created and, "
        "when over quota, deleted and the request answered 403.",
    ),
    cfg.BoolOpt(
        "count_usage_from_placement",
        default=False,
        help="Count cores and ram from the placement service and instances from the API "
        "database instead of counting them in the cell databases. Do not enable it when "
        "several Nova deployments share one placement service.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, quota_group, quota_opts)


def list_opts() -> dict:
    return {quota_group: quota_opts}

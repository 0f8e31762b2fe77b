"""The message bus options: RPC (``[DEFAULT]``), notifications
(``[oslo_messaging_notifications]``, ``[notifications]``), rolling-upgrade pins
(``[upgrade_levels]``) and the RabbitMQ transport (``[oslo_messaging_rabbit]``).

Nova gets most of these from oslo.messaging; nova-tx has its own bus and declares the
ones it reads, with the same names, groups and defaults, so an existing ``nova.conf``
means the same thing here. ``transport_url`` itself is in ``default.py``.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

rpc_opts = [
    cfg.StrOpt(
        "control_exchange",
        default="nova",
        help="Name of the AMQP topic exchange that RPC topics and notifications are "
        "published to. Every service of one deployment must use the same name.",
    ),
    cfg.IntOpt(
        "rpc_response_timeout",
        default=60,
        help="Seconds an RPC call waits for its reply before failing with "
        "MessagingTimeout.",
    ),
    cfg.IntOpt(
        "executor_thread_pool_size",
        default=64,
        deprecated_name="rpc_thread_pool_size",
        help="How many RPC requests one RPC server handles at the same time; further "
        "requests wait on the bus until one finishes.",
    ),
]

oslo_messaging_notifications = cfg.OptGroup(
    "oslo_messaging_notifications",
    title="Notification transport",
    help="Where and how notifications are sent.",
)

notification_transport_opts = [
    cfg.MultiStrOpt(
        "driver",
        default=[],
        deprecated_name="notification_driver",
        deprecated_group="DEFAULT",
        help="How notifications are emitted: 'messagingv2' publishes them on the bus in "
        "oslo.messaging's 2.0 envelope, 'messaging' without the envelope (for very old "
        "consumers), 'log' writes them to the service log, 'noop' (or nothing) drops "
        "them. May be given several times.",
    ),
    cfg.StrOpt(
        "transport_url",
        secret=True,
        deprecated_name="notification_transport_url",
        deprecated_group="DEFAULT",
        help="Bus URL for notifications when they should not travel on the RPC bus; "
        "unset, notifications use [DEFAULT] transport_url.",
    ),
    cfg.ListOpt(
        "topics",
        default=["notifications"],
        deprecated_name="notification_topics",
        deprecated_group="DEFAULT",
        help="Topics of the legacy (unversioned) notifications; each notification goes "
        "to <topic>.<priority> on the control exchange.",
    ),
    cfg.IntOpt(
        "retry",
        default=-1,
        help="How many more times a notification that could not be handed to the bus is "
        "tried again before it is logged and dropped; -1 tries until it goes through, 0 "
        "never tries again.",
    ),
]

notifications = cfg.OptGroup(
    "notifications",
    title="Notifications",
    help="Which notifications nova emits about the changes it makes.",
)

notification_opts = [
    cfg.StrOpt(
        "notify_on_state_change",
        choices=[
            (None, "no instance.update notifications"),
            ("vm_state", "on every vm_state change"),
            ("vm_and_task_state", "on every vm_state or task_state change"),
        ],
        help="When to send instance.update notifications for an instance whose state "
        "changed.",
    ),
    cfg.StrOpt(
        "notification_format",
        default="unversioned",
        choices=[
            ("both", "the legacy and the versioned notifications"),
            ("versioned", "only the versioned notifications"),
            ("unversioned", "only the legacy notifications"),
        ],
        help="Which notification interface to emit. The versioned one carries "
        "versioned payload objects and is where new notifications appear; the legacy one "
        "is what older consumers such as Ceilometer read.",
    ),
    cfg.ListOpt(
        "versioned_notifications_topics",
        default=["versioned_notifications"],
        help="Topics of the versioned notifications; each one receives a copy of every "
        "versioned notification.",
    ),
]

upgrade_levels = cfg.OptGroup(
    "upgrade_levels",
    title="RPC version pins for rolling upgrades",
    help="During a rolling upgrade, cap the RPC version sent to each service so that the "
    "older ones still understand it. A value is 'auto' (the oldest version among the "
    "running services), a release name (such as 'zed') or a version (such as '6.0'); "
    "unset means the newest version this code speaks.",
)

upgrade_level_opts = [
    cfg.StrOpt("compute", help="Cap of the RPC version sent to nova-compute."),
    cfg.StrOpt("conductor", help="Cap of the RPC version sent to nova-conductor."),
    cfg.StrOpt("scheduler", help="Cap of the RPC version sent to nova-scheduler."),
]

oslo_messaging_rabbit = cfg.OptGroup(
    "oslo_messaging_rabbit",
    title="RabbitMQ transport",
    help="How the AMQP transport uses RabbitMQ (transport_url = rabbit://...).",
)

rabbit_opts = [
    cfg.BoolOpt(
        "amqp_durable_queues",
        default=False,
        help="Declare the RPC and notification exchanges and queues durable, so that "
        "they and their persistent messages survive a broker restart.",
    ),
    cfg.BoolOpt(
        "amqp_auto_delete",
        default=False,
        help="Declare the RPC topic exchange and queues auto-deleting: removed by the "
        "broker once nothing uses them.",
    ),
    cfg.IntOpt(
        "rabbit_qos_prefetch_count",
        default=0,
        help="How many unacknowledged messages a consumer may hold at once; 0 means no "
        "limit.",
    ),
    cfg.IntOpt(
        "heartbeat_timeout_threshold",
        default=60,
        help="Seconds without traffic from the broker after which the connection is "
        "considered dead and re-opened; 0 disables AMQP heartbeats.",
    ),
    cfg.IntOpt(
        "heartbeat_rate",
        default=3,
        help="How many times per heartbeat_timeout_threshold period the connection's "
        "heartbeat is checked.",
    ),
    cfg.IntOpt(
        "rabbit_retry_interval",
        default=1,
        help="Seconds before the first attempt to reconnect to the broker.",
    ),
    cfg.IntOpt(
        "rabbit_retry_backoff",
        default=2,
        help="Back-off factor, in seconds, for reconnection attempts: after n failed "
        "attempts the wait is rabbit_retry_interval + rabbit_retry_backoff * (2^(n-1) - 1), "
        "capped at rabbit_interval_max.",
    ),
    cfg.IntOpt(
        "rabbit_interval_max",
        default=30,
        help="Longest wait, in seconds, between two reconnection attempts.",
    ),
    cfg.FloatOpt(
        "kombu_reconnect_delay",
        default=1.0,
        min=0.0,
        help="Seconds to wait before reconnecting after the broker reported an error "
        "on the connection.",
    ),
    cfg.IntOpt(
        "rabbit_transient_queues_ttl",
        default=1800,
        min=1,
        help="Seconds a reply or fanout queue may stay without a consumer before the "
        "broker deletes it (queue x-expires), so queues of vanished processes do not "
        "pile up.",
    ),
    cfg.StrOpt(
        "rabbit_login_method",
        default="AMQPLAIN",
        choices=["PLAIN", "AMQPLAIN", "EXTERNAL"],
        help="How to log in to RabbitMQ: PLAIN or AMQPLAIN with the URL's user and "
        "password, or EXTERNAL with the TLS client certificate (ssl_cert_file; the "
        "broker needs its rabbitmq_auth_mechanism_ssl plugin). RABBIT-CR-DEMO is not "
        "supported.",
    ),
    cfg.BoolOpt(
        "ssl",
        default=False,
        help="Connect over TLS (the URL's port is still used; RabbitMQ's TLS listener "
        "is usually 5671). As in oslo.messaging, the broker's certificate is verified only "
        "when ssl_ca_file is set; without it the connection is encrypted but the broker "
        "is not authenticated, and a warning says so.",
    ),
    cfg.StrOpt(
        "ssl_version",
        default="",
        help="The oldest TLS version to accept: TLSv1, TLSv1_1, TLSv1_2 or TLSv1_3 "
        "(SSLv23 or empty: the library's default minimum).",
    ),
    cfg.StrOpt(
        "ssl_key_file",
        default="",
        help="PEM private key of the client certificate (with ssl_cert_file).",
    ),
    cfg.StrOpt(
        "ssl_cert_file",
        default="",
        help="PEM client certificate presented to the broker (with ssl_key_file).",
    ),
    cfg.StrOpt(
        "ssl_ca_file",
        default="",
        help="PEM certificate(s) of the authority that signed the broker's certificate; "
        "when set, the broker's certificate chain is verified.",
    ),
    cfg.BoolOpt(
        "ssl_enforce_hostname_verification",
        default=True,
        deprecated_for_removal=True,
        deprecated_reason="Verification is always enabled now",
        help="With ssl_ca_file: also check that the broker's certificate names the host "
        "connected to. Without ssl_ca_file there is no verification at all.",
    ),
    cfg.BoolOpt(
        "ssl_enforce_fips_mode",
        default=False,
        deprecated_for_removal=True,
        deprecated_reason="FIPS_mode_set API was removed in OpenSSL 3.0.0. This option "
        "has no effect now.",
        help="Has no effect (OpenSSL 3 removed the switch); kept so that configurations "
        "that set it still load.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(rpc_opts)
    for group, opts in ((oslo_messaging_notifications, notification_transport_opts),
                        (notifications, notification_opts),
                        (upgrade_levels, upgrade_level_opts),
                        (oslo_messaging_rabbit, rabbit_opts)):
        register_group_opts(conf, group, opts)


def list_opts() -> dict:
    return {
        "DEFAULT": rpc_opts,
        oslo_messaging_notifications: notification_transport_opts,
        notifications: notification_opts,
        upgrade_levels: upgrade_level_opts,
        oslo_messaging_rabbit: rabbit_opts,
    }

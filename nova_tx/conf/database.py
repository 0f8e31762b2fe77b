"""``[database]`` (this cell's database) and ``[api_database]`` options.

Nova takes these from oslo.db; nova-tx has its own database layer, so it declares the
subset it reads itself, with the same names and defaults, and one definition serves
both groups.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

database = cfg.OptGroup(
    "database",
    title="Cell database options",
    help="The database of the cell this service belongs to (the 'main' schema).",
)
api_database = cfg.OptGroup(
    "api_database",
    title="API database options",
    help="The API database: cell, host and instance mappings, flavors, key pairs, "
    "aggregates, server groups, quotas, build requests and request specs.",
)


def _db_opts() -> list[cfg.Opt]:
    return [
        cfg.StrOpt(
            "connection",
            secret=True,
            help="SQLAlchemy URL of the database, e.g. mysql+pymysql://nova:pw@host/nova, "
            "postgresql+psycopg2://nova:pw@host/nova or sqlite:////var/lib/nova/nova.sqlite.",
        ),
        cfg.BoolOpt(
            "sqlite_synchronous",
            default=True,
            help="For SQLite only: when false, do not wait for writes to reach the disk.",
        ),
        cfg.StrOpt(
            "mysql_sql_mode",
            default="TRADITIONAL",
            help="For MySQL and MariaDB: the sql_mode of every connection. Set it to an "
            "empty string to keep the server's setting.",
        ),
        cfg.IntOpt(
            "connection_recycle_time",
            default=3600,
            help="Seconds after which a pooled connection is replaced on next use.",
        ),
        cfg.IntOpt(
            "max_pool_size",
            default=5,
            min=0,
            help="Connections kept open in the pool, which is also the number of database "
            "threads of a service. 0 means no limit.",
        ),
        cfg.IntOpt(
            "max_overflow",
            default=50,
            help="Connections that may be opened beyond max_pool_size at busy times.",
        ),
        cfg.IntOpt(
            "pool_timeout",
            help="Seconds to wait for a pooled connection before giving up.",
        ),
        cfg.IntOpt(
            "connection_debug",
            default=0,
            min=0,
            max=100,
            help="SQL debugging output: 0 none, 50 statements, 100 statements and rows.",
        ),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group in (database, api_database):
        register_group_opts(conf, group, _db_opts())


def list_opts() -> dict:
    return {database: _db_opts(), api_database: _db_opts()}


def engine_args(group: cfg.ConfigOpts.GroupAttr) -> dict:
    """The keyword arguments of ``nova_tx.db.engines.create_engine`` for one group."""
    return {
        "max_pool_size": group.max_pool_size,
        "max_overflow": group.max_overflow,
        "pool_timeout": group.pool_timeout,
        "connection_recycle_time": group.connection_recycle_time,
        "mysql_sql_mode": group.mysql_sql_mode,
        "sqlite_synchronous": group.sqlite_synchronous,
        "connection_debug": group.connection_debug,
    }

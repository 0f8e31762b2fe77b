"""Where Placement's tables live and how they are brought up to date."""
from __future__ import annotations

import sqlalchemy as sa
from oslo_config import cfg

from nova_tx.conf import database as database_conf
from nova_tx.conf import placement as placement_conf
from nova_tx.db import engines, migration
from nova_tx.placement.storage import resource_classes, traits


def in_api_database(conf: cfg.ConfigOpts) -> bool:
    """Whether Placement's tables live in the API database (no own connection set)."""
    placement_conf.register_opts(conf)
    return not conf.placement_database.connection


def create_engine(conf: cfg.ConfigOpts) -> sa.Engine:
    """An Engine on Placement's database: its own, or the API database."""
    group = conf.api_database if in_api_database(conf) else conf.placement_database
    if not group.connection:
        raise cfg.RequiredOptError("connection", cfg.OptGroup("placement_database"))
    return engines.create_engine(group.connection, **database_conf.engine_args(group))


def sync(engine: sa.Engine) -> None:
    """Upgrade Placement's tables to head and add the standard classes and traits."""
    migration.db_sync(engine, "placement")
    sync_standards(engine)


def sync_standards(engine: sa.Engine) -> None:
    """Insert the standard resource classes and traits the database lacks."""
    with engine.begin() as conn:
        resource_classes.sync_standard(conn)
        traits.sync_standard(conn)


def sync_with_api_database(api_engine: sa.Engine, conf: cfg.ConfigOpts) -> None:
    """What ``nova-manage api_db sync`` adds: Placement's tables when they live there."""
    if in_api_database(conf):
        sync(api_engine)

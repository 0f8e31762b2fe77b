"""Tests of the service framework: up/down, heartbeats, the conductor's gateway."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from oslo_config import cfg

from nova_tx.conf import database, default, messaging, servicegroup
from tests.db.fixtures import migrated_sqlite_file


def make_conf(**overrides: Any) -> cfg.ConfigOpts:
    """A private configuration with the options a service reads; ``group__name=value``."""
    conf = cfg.ConfigOpts()
    for module in (default, database, messaging, servicegroup):
        module.register_opts(conf)
    # Parsed (with no files) as a daemon's is: NovaService logs config_file at start.
    conf(args=[], project="nova", default_config_files=[], default_config_dirs=[])
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


def sqlite_cell_database(testcase) -> str:
    """URL of a migrated cell database of this test's own (a copy of the template)."""
    directory = tempfile.mkdtemp(prefix="nova-tx-sg-")
    testcase.addCleanup(shutil.rmtree, directory, True)
    path = os.path.join(directory, "nova.sqlite")
    shutil.copy(migrated_sqlite_file("main"), path)
    return "sqlite:///" + path

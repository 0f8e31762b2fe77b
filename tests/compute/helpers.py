"""Configuration and small objects shared by the compute node tests."""
from __future__ import annotations

import os
import tempfile
from typing import Any

from oslo_config import cfg

from nova_tx.conf import compute, compute_node, default, fake, virt


def make_conf(**overrides: Any) -> cfg.ConfigOpts:
    """A private configuration with the compute node's options; ``group__name=value``
    (no group: ``[DEFAULT]``)."""
    conf = cfg.ConfigOpts()
    for module in (compute, compute_node, default, fake, virt):
        module.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override("host", "host1")
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


def write_file(testcase, name: str, text: str, directory: str | None = None) -> str:
    """Write ``text`` to ``name`` in ``directory`` (a fresh one by default)."""
    if directory is None:
        directory = tempfile.mkdtemp(prefix="nova-tx-compute-")
        testcase.addCleanup(_rmtree, directory)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)

"""Options, flavors and specs for the scheduler tests."""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from nova_tx.conf import scheduler, workarounds
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.request_spec import RequestSpec


def make_conf(**overrides: Any) -> cfg.ConfigOpts:
    """A ConfigOpts with ``[scheduler]``, ``[filter_scheduler]`` and ``[workarounds]``;
    ``overrides`` are ``group__name=value``."""
    conf = cfg.ConfigOpts()
    scheduler.register_opts(conf)
    workarounds.register_opts(conf)
    conf([], default_config_files=[])
    for key, value in overrides.items():
        group, name = key.split("__")
        conf.set_override(name, value, group=group)
    return conf


def flavor(vcpus: int = 1, memory_mb: int = 1024, root_gb: int = 10, ephemeral_gb: int = 0,
           swap: int = 0, **extra_specs: str) -> Flavor:
    """A flavor; extra spec keys are given with ``__`` for ``:`` (``hw__cpu_policy``)."""
    return Flavor(flavorid="42", name="f1", vcpus=vcpus, memory_mb=memory_mb,
                  root_gb=root_gb, ephemeral_gb=ephemeral_gb, swap=swap,
                  extra_specs={k.replace("__", ":"): v for k, v in extra_specs.items()})


def spec(flavor_: Flavor | None = None, image: dict | None = None, **fields: Any
         ) -> RequestSpec:
    result = RequestSpec.from_components(
        flavor=flavor_ or flavor(), instance_uuid="6f5a8a5c-4a3e-4bfe-9d8c-5e0f0b1f6d1a",
        image=image, project_id="p1", user_id="u1")
    for name, value in fields.items():
        setattr(result, name, value)
    return result

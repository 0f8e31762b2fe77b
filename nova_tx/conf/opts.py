"""The option list for ``oslo-config-generator`` (namespace ``nova_tx.conf``)."""
import collections

from oslo_config import cfg

from nova_tx.conf import MODULES


def list_opts() -> list[tuple]:
    """Options grouped by section, merged across modules, sorted by section name."""
    by_group: dict[str, tuple[cfg.OptGroup | str, list]] = collections.OrderedDict()
    for module in MODULES:
        for group, opts in module.list_opts().items():
            name = group.name if isinstance(group, cfg.OptGroup) else group
            by_group.setdefault(name, (group, []))[1].extend(opts)
    from nova_tx import policy

    for group, opts in policy.list_opts():
        by_group.setdefault(group, (group, []))[1].extend(opts)
    return [(group, opts) for name, (group, opts) in sorted(
        by_group.items(), key=lambda item: (item[0] != "DEFAULT", item[0]))]

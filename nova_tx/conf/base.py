"""Registration shared by the section modules."""
from oslo_config import cfg


def register_group_opts(conf: cfg.ConfigOpts, group: cfg.OptGroup, opts: list[cfg.Opt],
                        *, cli: bool = False) -> None:
    """Register ``opts`` under a copy of ``group`` on ``conf``.

    oslo.config keeps an option's state (overrides among it) in the group object it was
    registered with, so a module-level group shared by several ConfigOpts would carry
    one configuration's overrides into another; each ConfigOpts gets its own copy.
    """
    conf.register_group(cfg.OptGroup(group.name, title=group.title, help=group.help))
    if cli:
        conf.register_cli_opts(opts, group=group.name)
    else:
        conf.register_opts(opts, group=group.name)

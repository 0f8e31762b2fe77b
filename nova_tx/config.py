"""Parsing ``nova.conf`` and the command line, as every nova-tx program does it.

oslo.config checks a value only when the value is read, which would let a typo in
``nova.conf`` surface hours later inside a running service. ``parse_args`` therefore
reads every registered option once, so a bad file or value ends the program at start
with a one-line ``ConfigError`` that names the option.
"""
import os
from collections.abc import Sequence

from oslo_config import cfg
from oslo_log import log as logging

from nova_tx import exception, version
from nova_tx.conf import CONF


def register_log_opts(conf: cfg.ConfigOpts = CONF) -> None:
    """Register oslo.log's options once per ConfigOpts (they are CLI options too)."""
    if "debug" not in conf:
        logging.register_options(conf)


def parse_args(
    argv: Sequence[str],
    *,
    conf: cfg.ConfigOpts = CONF,
    default_config_files: list[str] | None = None,
    default_config_dirs: list[str] | None = None,
) -> cfg.ConfigOpts:
    """Parse ``argv`` (argv[0] is the program) into ``conf`` and validate every value.

    Raises ``nova_tx.exception.ConfigError`` with a one-line reason on any problem.
    """
    register_log_opts(conf)
    try:
        conf(
            list(argv[1:]),
            project="nova",
            prog=_prog(argv),
            version=version.version_string,
            default_config_files=default_config_files,
            default_config_dirs=default_config_dirs,
        )
    except cfg.ConfigFilesNotFoundError as e:
        raise exception.ConfigError(
            reason="config file not found: %s" % ", ".join(e.config_files)) from None
    except cfg.ConfigDirNotFoundError as e:
        raise exception.ConfigError(reason="config dir not found: %s" % e.config_dir) from None
    except cfg.ConfigFileParseError as e:
        raise exception.ConfigError(
            reason="cannot parse %s: %s" % (e.config_file, e.msg)) from None
    except cfg.Error as e:
        raise exception.ConfigError(reason=exception.one_line(e)) from None
    validate(conf)
    return conf


def validate(conf: cfg.ConfigOpts = CONF) -> None:
    """Read every registered option so that a bad value fails now, naming the option."""
    for name in list(conf):
        value = _read(conf, None, name)
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for opt_name in list(value):
                _read(value, name, opt_name)


def _read(holder, group_name: str | None, name: str):
    try:
        return holder[name]
    except (cfg.ConfigFileValueError, ValueError) as e:
        where = name if group_name is None else "%s.%s" % (group_name, name)
        reason = exception.one_line(e)
        if " is not valid: " in reason:
            # oslo.config says where the value came from in a repr; keep the reason.
            reason = reason.split(" is not valid: ", 1)[1]
        raise exception.ConfigError(
            reason="invalid value for option %s: %s" % (where, reason)) from None


def _prog(argv: Sequence[str]) -> str:
    return os.path.basename(argv[0]) if argv else "nova"

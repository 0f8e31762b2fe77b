"""What ``nova-manage`` and ``nova-status`` share: Nova's command grammar and the databases.

The grammar is Nova's ``nova/cmd/common.py``: an oslo.config ``SubCommandOpt`` named
``category`` whose argparse sub-parsers are built from command classes, one sub-parser
per public method (the *action*), with that method's arguments declared by the ``@args``
decorator. So ``nova-manage`` alone, or ``nova-manage db`` alone, is an argparse usage
error listing the categories or the actions (exit status 2, as in Nova), and the global
oslo options (``--config-file``, ``--debug`` ...) are accepted before or after the
command.

Exit statuses at the edge, as Nova's: whatever the action returns (``None`` is 0), 255
for an unexpected exception (with its traceback), 2 for argparse usage errors. Errors
that an operator fixes in ``nova.conf`` or in the database server (a file that does not
parse, an invalid value, a database that cannot be reached) end with one line on stderr
and 255 instead, without a traceback that would hide the one line that matters.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import _options as oslo_log_options
from oslo_log import log as oslo_logging

from nova_tx import config, exception, log, version
from nova_tx.conf import MODULES, register_policy_opts
from nova_tx.conf import database as database_conf
from nova_tx.db import engines
from nova_tx.db import exception as db_exception
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping

#: Status of an unexpected error, and of the one-line configuration/database errors.
ERROR_EXIT = 255


# --- the grammar ------------------------------------------------------------------------

def args(*args: str, **kwargs: Any) -> Callable:
    """Declare one argparse argument of an action (decorators apply bottom-up)."""
    def _decorator(func: Callable) -> Callable:
        func.__dict__.setdefault("args", []).insert(0, (args, kwargs))
        return func
    return _decorator


def methods_of(obj: object) -> list[tuple[str, Callable]]:
    """The actions of a command object: its public callables, by name."""
    return [(name, getattr(obj, name)) for name in dir(obj)
            if not name.startswith("_") and callable(getattr(obj, name))]


def add_command_parsers(subparsers, categories: dict[str, Callable[[], object]]) -> None:
    """Build one sub-parser per category and, inside it, one per action.

    ``categories`` maps a category name to a factory of its command object. The
    ``version`` and ``bash-completion`` categories are Nova's undocumented helpers.
    """
    subparsers.add_parser("version", help="Print the version and exit.")
    parser = subparsers.add_parser("bash-completion",
                                   help="Print the categories, or one category's actions.")
    parser.add_argument("query_category", nargs="?")

    for category, factory in categories.items():
        command_object = factory()
        desc = getattr(command_object, "description", None) or inspect.getdoc(command_object)
        parser = subparsers.add_parser(category, description=desc)
        parser.set_defaults(command_object=command_object)

        category_subparsers = parser.add_subparsers(dest="action")
        category_subparsers.required = True

        for action, action_fn in methods_of(command_object):
            parser = category_subparsers.add_parser(
                action, description=getattr(action_fn, "description", None)
                or inspect.getdoc(action_fn))
            action_kwargs = []
            for arg_names, kwargs in getattr(action_fn, "args", []):
                kwargs = dict(kwargs)
                if arg_names[0] != arg_names[0].lstrip("-"):
                    # An option (--name): its value reaches the action as a keyword.
                    kwargs.setdefault("dest", arg_names[0].lstrip("-").replace("-", "_"))
                    action_kwargs.append(kwargs["dest"])
                    kwargs["dest"] = "action_kwarg_" + kwargs["dest"]
                else:
                    # A positional argument.
                    action_kwargs.append(arg_names[0])
                    arg_names = tuple("action_kwarg_" + name for name in arg_names)
                parser.add_argument(*arg_names, **kwargs)
            parser.set_defaults(action_fn=action_fn, action_kwargs=action_kwargs)
            parser.add_argument("action_args", nargs="*", help=argparse.SUPPRESS)


def hoist_global_options(argv: Sequence[str], opts: Sequence[cfg.Opt]) -> list[str]:
    """Move the global options given after the command in front of it.

    Nova's documentation says global options may come before or after the command,
    but argparse only knows them before it: a sub-parser rejects ``--debug`` or
    ``--config-file`` after ``cell_v2 list_cells``. No action has an option of the same
    name as a global one, so moving them is unambiguous.
    """
    # Not --version: "db sync --version N", the syntax removed in Train, must stay an
    # error rather than print the version and exit 0 without syncing.
    takes_value = {"--config-file": True, "--config-dir": True, "--shell_completion": True}
    for opt in opts:
        is_bool = isinstance(opt, cfg.BoolOpt)
        names = [opt.name] + [d.name for d in opt.deprecated_opts
                              if d.name and d.group in (None, "DEFAULT")]
        for name in names:
            takes_value["--" + name] = not is_bool
            if is_bool:
                takes_value["--no" + name] = False
        if opt.short:
            takes_value["-" + opt.short] = not is_bool
    argv = list(argv)
    index = 0
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "--":
        option = argv[index]
        index += 2 if takes_value.get(option) and "=" not in option else 1
    # argv[index] is the category; global options after it keep their order (later
    # --config-file files win) and come after those already in front of it.
    hoisted: list[str] = []
    rest: list[str] = []
    position = index + 1
    while position < len(argv):
        token = argv[position]
        if token == "--":
            rest.extend(argv[position:])
            break
        name = token.split("=", 1)[0]
        if name in takes_value:
            width = 2 if takes_value[name] and "=" not in token else 1
            hoisted.extend(argv[position:position + width])
            position += width
        else:
            rest.append(token)
            position += 1
    return argv[:index] + hoisted + argv[index:index + 1] + rest


def print_bash_completion(conf: cfg.ConfigOpts, categories: dict[str, Callable]) -> None:
    query = conf.category.query_category
    if not query:
        print(" ".join(categories))
    elif query in categories:
        print(" ".join(name for name, _ in methods_of(categories[query]())))


def validate_args(fn: Callable, *fn_args: Any, **fn_kwargs: Any) -> list[str]:
    """The required parameters of ``fn`` that neither ``fn_args`` nor ``fn_kwargs`` give."""
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p.name for p in params if p.default is p.empty]
    missing = [name for name in required if name not in fn_kwargs]
    return missing[len(fn_args):]


def get_action_fn(conf: cfg.ConfigOpts) -> tuple[Callable, list, dict]:
    """The action the command line names, with its positional and keyword arguments."""
    fn = conf.category.action_fn
    fn_args = list(conf.category.action_args)
    fn_kwargs = {}
    for name in conf.category.action_kwargs:
        value = getattr(conf.category, "action_kwarg_" + name)
        if value is not None:
            fn_kwargs[name] = value
    missing = validate_args(fn, *fn_args, **fn_kwargs)
    if missing:
        # As Nova: the action's doc and the help, then exit 255.
        print(inspect.getdoc(fn))
        conf.print_help()
        raise exception.Invalid("Missing arguments: {}".format(", ".join(missing)))
    return fn, fn_args, fn_kwargs


# --- the program around it --------------------------------------------------------------

def new_conf() -> cfg.ConfigOpts:
    """A ConfigOpts with every nova-tx option and oslo.log's options registered.

    Tests give each run its own, so nothing leaks between runs through the global CONF.
    """
    conf = cfg.ConfigOpts()
    for module in MODULES:
        module.register_opts(conf)
    register_policy_opts(conf)
    config.register_log_opts(conf)
    return conf


class OneLineError(exception.NovaException):
    """A failure the operator fixes outside nova-tx; reported in one line, exit 255."""

    msg_fmt = "%(reason)s"


#: Errors reported in one line: bad configuration, unreachable database, a migration
#: that cannot run (unknown revision, downgrade), and the commands' own OneLineError.
ONE_LINE_ERRORS = (exception.ConfigError, OneLineError, db_exception.DBConnectionError,
                   db_exception.DBMigrationError)


def run(
    prog: str,
    argv: Sequence[str],
    conf: cfg.ConfigOpts,
    categories: dict[str, Callable[[], object]],
    *,
    error_header: str,
    extra_cli_opts: Sequence[cfg.Opt] = (),
    on_unexpected: Callable[[cfg.ConfigOpts], None] | None = None,
) -> int:
    """Parse ``argv`` into ``conf``, run the action it names; return the exit status.

    ``error_header`` introduces the traceback of an unexpected exception
    (``An error has occurred:`` for nova-manage, ``Error:`` for nova-status);
    ``on_unexpected`` may replace printing it (nova-manage's ``--post-mortem``).
    """
    category_opt = cfg.SubCommandOpt(
        "category", title="Command categories", help="Available categories",
        handler=functools.partial(add_command_parsers, categories=categories))
    conf.register_cli_opts([category_opt, *extra_cli_opts])
    argv = hoist_global_options(argv, [*oslo_log_options.common_cli_opts,
                                       *oslo_log_options.logging_cli_opts, *extra_cli_opts])
    try:
        config.parse_args([prog, *argv], conf=conf)
    except exception.ConfigError as e:
        print_error(prog, e)
        return ERROR_EXIT
    except SystemExit as e:
        # argparse: --help and --version (0), usage errors (2).
        return _exit_code(e)
    _setup_logging(conf)

    if conf.category.name == "version":
        print(version.version_string)
        return 0
    if conf.category.name == "bash-completion":
        print_bash_completion(conf, categories)
        return 0

    try:
        fn, fn_args, fn_kwargs = get_action_fn(conf)
        result = fn(*fn_args, **fn_kwargs)
        return 0 if result is None else int(result)
    except ONE_LINE_ERRORS as e:
        print_error(prog, e)
        return ERROR_EXIT
    except SystemExit as e:
        return _exit_code(e)
    except Exception:
        if on_unexpected is not None:
            on_unexpected(conf)
        else:
            print(f"{error_header}\n{traceback.format_exc()}")
        return ERROR_EXIT


format_message = exception.one_line


def print_error(prog: str, error: BaseException) -> None:
    print(f"{prog}: {format_message(error)}", file=sys.stderr)


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def _setup_logging(conf: cfg.ConfigOpts) -> None:
    # oslo.log directly rather than nova_tx.log.setup: these programs run no reactor,
    # so Twisted's log has nothing to route. Without a log file oslo.log writes to
    # stdout, next to the command's output, as Nova's nova-manage does.
    oslo_logging.setup(conf, "nova", version=version.version_string, fix_eventlet=False)
    log.quiet_alembic()


# --- the databases ----------------------------------------------------------------------

class Databases:
    """The engines a command uses, made on first use, each checked once, closed at the end.

    A database that cannot be reached raises DBConnectionError (one line, masked URL);
    an unusable URL raises ConfigError naming the option, or OneLineError for a URL
    that comes from a cell mapping.
    """

    def __init__(self, conf: cfg.ConfigOpts):
        self.conf = conf
        self._engines: dict[str, sa.Engine] = {}

    @property
    def base_urls(self) -> BaseUrls:
        return BaseUrls.from_conf(self.conf)

    def api(self) -> sa.Engine:
        """The API database (``[api_database] connection``)."""
        url = self.conf.api_database.connection
        if not url:
            raise exception.ConfigError(reason="[api_database] connection is not set")
        return self._engine(url, self.conf.api_database, "api_database.connection")

    def main(self) -> sa.Engine:
        """This cell's database (``[database] connection``)."""
        url = self.conf.database.connection
        if not url:
            raise exception.ConfigError(reason="[database] connection is not set")
        return self._engine(url, self.conf.database, "database.connection")

    def cell(self, cell: CellMapping) -> sa.Engine:
        """The database of a mapped cell, from its (template-filled) mapping."""
        if not cell.database_connection:
            raise OneLineError(reason=f"cell {cell.identity} has no database connection")
        return self._engine(cell.database_connection, self.conf.database, None)

    def _engine(self, url: str, group, option: str | None) -> sa.Engine:
        engine = self._engines.get(url)
        if engine is not None:
            return engine
        try:
            engine = engines.create_engine(url, **database_conf.engine_args(group))
        except (sa.exc.ArgumentError, ImportError) as e:
            # A URL SQLAlchemy cannot read, or whose driver is not installed.
            reason = "{}: {}".format(engines.mask_password(url), " ".join(str(e).split()))
            if option is None:
                raise OneLineError(reason="unusable database URL " + reason) from e
            raise exception.ConfigError(
                reason=f"invalid value for option {option}: {reason}") from e
        try:
            engines.check_connection(engine)
        except BaseException:
            engine.dispose()
            raise
        self._engines[url] = engine
        return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()


"""Loading scheduler plugins from the class paths operators write (Nova's ``loadables``).

Filters (``[filter_scheduler] available_filters``) and weighers (``weight_classes``) are
named the same way, so they are loaded the same way: one value for every plugin of
the kind (``nova.scheduler.filters.all_filters`` and its ``nova_tx`` spelling), a Nova
class path (``nova.scheduler.weights.ram.RAMWeigher``) for our built-in of that class
name, and any other dotted path for a class, an instance or a function returning a
list of them, imported. What the handlers do with duplicates differs (a later filter
path replaces an earlier one, the first weigher stays), so that is left to them.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self

from oslo_config import cfg
from twisted.plugin import getPlugins
from zope.interface.interface import InterfaceClass

from nova_tx import exception


class BasePlugin:
    """What filters and weighers have alike: ``name`` (the class name unless the class
    sets one; what ``enabled_filters`` and the logs use), the options (``conf``; the
    plugin found by Twisted has none), and ``with_conf`` to get the configured one."""

    name = "BasePlugin"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def __init__(self, conf: cfg.ConfigOpts | None = None) -> None:
        self.conf = conf

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def with_conf(self, conf: cfg.ConfigOpts) -> Self:
        return type(self)(conf)


def plugins(interface: InterfaceClass) -> list[Any]:
    """Every Twisted plugin providing ``interface`` in the ``nova_tx.plugins`` packages
    (the built-ins and the drop-ins of any ``nova_tx/plugins`` directory on sys.path)."""
    import nova_tx.plugins

    return list(getPlugins(interface, nova_tx.plugins))


def as_plugin(value: Any, interface: InterfaceClass, path: str) -> Any:
    """``value`` (a class is instantiated) if it provides ``interface``, else Nova's
    ``ClassNotFound`` for ``path``."""
    if inspect.isclass(value):
        value = value()
    if not interface.providedBy(value):
        raise exception.ClassNotFound(class_name=path,
                                      exception="Not a class of the correct type")
    return value


def load_paths(paths: Iterable[str], interface: InterfaceClass, *, every: Iterable[str],
               all_plugins: Callable[[], list[Any]], nova_package: str, kind: str
               ) -> Iterator[tuple[Any, bool]]:
    """``(plugin, from_every)`` for each plugin the paths name, in order.

    ``every`` are the values meaning "all plugins" (``from_every`` is True for those),
    ``nova_package`` the Nova package whose class paths name our built-ins
    (``nova.scheduler.filters``), ``kind`` the word of the error ("filter").
    """
    builtins: dict[str, Any] | None = None
    for path in paths:
        if path in every:
            for plugin in all_plugins():
                yield plugin, True
            continue
        if path.startswith(nova_package + "."):
            # Nova's own class paths name our built-ins of the same class name.
            if builtins is None:
                builtins = {p.name: p for p in all_plugins()}
            name = path.rsplit(".", 1)[-1]
            if name not in builtins:
                raise exception.ClassNotFound(class_name=path,
                                              exception=f"No such {kind} in nova-tx")
            yield builtins[name], False
            continue
        module, _, attribute = path.rpartition(".")
        try:
            value = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError) as e:
            raise exception.ClassNotFound(class_name=path, exception=str(e)) from e
        for item in (value() if inspect.isfunction(value) else [value]):
            yield as_plugin(item, interface, path), False

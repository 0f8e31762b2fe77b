"""JsonFilter: the ``query`` hint, a JSON prefix expression over host attributes.

``["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 204800]]``: operators
``=``, ``<``, ``>``, ``<=``, ``>=`` (the first argument against every other), ``in``
(the first among the rest), ``not`` (each argument negated, a list), ``or``, ``and``;
``$name`` and ``$name.key`` read a HostState attribute and dict keys; arguments that
resolve to None are dropped; a comparison with fewer than two arguments is False; a
list result passes if any element is true. No hint: every host passes.

Per-host Python (a rarely enabled filter; not in the default list).
"""
from __future__ import annotations

import json
import operator
from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter
from nova_tx.scheduler.filters.compute_capabilities_filter import attribute


def _compare(args: list[Any], op: Any) -> bool:
    if len(args) < 2:
        return False
    if op is operator.contains:
        return args[0] in args[1:]
    return all(op(args[0], arg) for arg in args[1:])


_COMMANDS = {
    "=": lambda args: _compare(args, operator.eq),
    "<": lambda args: _compare(args, operator.lt),
    ">": lambda args: _compare(args, operator.gt),
    "in": lambda args: _compare(args, operator.contains),
    "<=": lambda args: _compare(args, operator.le),
    ">=": lambda args: _compare(args, operator.ge),
    "not": lambda args: [not arg for arg in args],
    "or": any,
    "and": all,
}


class JsonFilter(BaseHostFilter):
    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        query = spec_obj.get_scheduler_hint("query")
        if not query:
            return np.ones(len(rows), dtype=bool)
        if isinstance(query, str):
            query = json.loads(query)
        result = np.empty(len(rows), dtype=bool)
        for i, row in enumerate(rows.tolist()):
            answer = self._process(query, host_states, row)
            if isinstance(answer, list):
                answer = any(answer)
            result[i] = bool(answer)
        return result

    def _parse_string(self, text: str, host_states: Any, row: int) -> Any:
        if not text:
            return None
        if not text.startswith("$"):
            return text
        path = text[1:].split(".")
        value = attribute(host_states, row, path[0])
        if value is None:
            return None
        for item in path[1:]:
            value = value.get(item)
            if value is None:
                return None
        return value

    def _process(self, query: list[Any], host_states: Any, row: int) -> Any:
        if not query:
            return True
        method = _COMMANDS[query[0]]
        args = []
        for arg in query[1:]:
            if isinstance(arg, list):
                arg = self._process(arg, host_states, row)
            elif isinstance(arg, str):
                arg = self._parse_string(arg, host_states, row)
            if arg is not None:
                args.append(arg)
        return method(args)

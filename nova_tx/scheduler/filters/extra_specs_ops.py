"""The extra-spec operator grammar (spec D §1.4.3; Nova's ``extra_specs_ops``).

``match(value, req)``: ``req`` is split on whitespace and its first word is the
operator. No operator (or an unknown first word) means string equality with the whole
``req``; ``=`` means ``float(value) >= float(operand)`` (Nova's "same as vcpus" case);
``==``, ``!=``, ``>=``, ``<=`` compare floats; ``s==``, ``s!=``, ``s<``, ``s<=``, ``s>``,
``s>=`` compare strings; ``<in>`` is a substring test, ``<all-in>`` needs every
following word in the value, ``<or> a <or> b`` equals one of the alternatives. Only
the first operand word counts for the binary operators; a None value or a missing
operand never matches. Where Nova raises (a float operator on a value that is not a
number, ``<or>`` with nothing after it), ``match`` answers False.

``match_values`` answers for a whole column at once: each distinct value is matched
once (a fleet has few distinct hypervisor types or CPU models), and the float
operators on a numeric column are one numpy comparison.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["match", "match_values"]

_FLOAT_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
}
_OP_METHODS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: float(x) >= float(y),
    "<in>": lambda x, y: y in x,
    "<all-in>": lambda x, y: all(word in x for word in y),
    "==": lambda x, y: float(x) == float(y),
    "!=": lambda x, y: float(x) != float(y),
    ">=": lambda x, y: float(x) >= float(y),
    "<=": lambda x, y: float(x) <= float(y),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def match(value: str | None, req: str) -> bool:
    """Whether ``value`` (a string, or None) satisfies the requirement ``req``."""
    words = req.split()
    op = method = None
    if words:
        op = words.pop(0)
        method = _OP_METHODS.get(op)
    if op != "<or>" and not method:
        return value == req
    if value is None:
        return False
    if op == "<or>":
        # <or> v1 <or> v2 <or> v3: the words at even positions are the alternatives.
        return value in words[::2]
    if not words:
        return False
    try:
        if op == "<all-in>":
            return bool(method(value, words))
        return bool(method(value, words[0]))
    except (TypeError, ValueError):
        return False


def match_values(values: np.ndarray, req: str) -> np.ndarray:
    """``match(str(v), req)`` for every element (None elements stay None).

    A numeric array with a float operator is compared in numpy; otherwise each
    distinct value is matched once.
    """
    values = np.asarray(values)
    words = req.split()
    if (values.dtype != object and words and words[0] in _FLOAT_OPS
            and len(words) > 1):
        try:
            operand = float(words[1])
        except ValueError:
            return np.zeros(len(values), dtype=bool)
        return np.asarray(_FLOAT_OPS[words[0]](values.astype(np.float64), operand), dtype=bool)
    if values.dtype != object:
        values = values.astype(object)
    answers: dict[Any, bool] = {}
    result = np.empty(len(values), dtype=bool)
    for i, value in enumerate(values.tolist()):
        answer = answers.get(value)
        if answer is None:
            answer = answers[value] = match(None if value is None else str(value), req)
        result[i] = answer
    return result

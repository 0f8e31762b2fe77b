"""Microversion 2.86's validation of flavor extra specs.

:func:`validate` checks one key and value: a key a validator knows is checked against
it (Nova's messages, 400); an unknown key in a namespace Nova knows (``hw:``,
``quota:``, ``resources1:``, ...) is refused; anything else (no namespace, or a
namespace of the operator's own) is accepted as it is.
"""
from __future__ import annotations

import re

from nova_tx import exception
from nova_tx.api.validation.extra_specs import hw, others
from nova_tx.api.validation.extra_specs.base import ExtraSpecValidator

VALIDATORS: dict[str, ExtraSpecValidator] = {
    v.name: v for v in [*hw.VALIDATORS, *others.VALIDATORS]}
#: Namespace patterns (the part before the first ":" of a validator's name regex).
NAMESPACES: frozenset[str] = frozenset(
    v.name_regex.split(":", 1)[0] for v in VALIDATORS.values() if ":" in v.name_regex)
_NAMESPACES = [re.compile(n) for n in sorted(NAMESPACES)]
_PATTERNED = [v for v in VALIDATORS.values() if v.parameters]


def validate(name: str, value: str) -> None:
    """Check one extra spec; ValidationError (400) when Nova 2.86+ would refuse it."""
    validator = VALIDATORS.get(name)
    if validator is None:
        validator = next((v for v in _PATTERNED if v.matches(name)), None)
    if validator is not None:
        validator.validate(name, value)
        return
    if ":" not in name:
        return
    namespace = name.split(":", 1)[0]
    if not any(n.fullmatch(namespace) for n in _NAMESPACES):
        return
    raise exception.ValidationError(
        detail=f"Validation failed; extra spec '{name}' does not appear to be a valid "
               f"extra spec.")

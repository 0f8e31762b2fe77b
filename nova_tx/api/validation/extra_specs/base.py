"""One known extra spec: its name (a template with ``{parameters}``) and the values it
takes, checked with Nova's 2.86 messages (``ValidationError``, 400)."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

from oslo_utils import strutils

from nova_tx import exception

INT, STR, BOOL = "int", "str", "bool"


@dataclasses.dataclass
class ExtraSpecValidator:
    """``name`` like ``hw:numa_cpus.{id}``, with ``parameters`` giving each ``{id}``'s
    pattern; ``value``: ``type`` (int/str/bool) and ``min``/``max``, ``enum`` or
    ``pattern``; ``check``: an extra test of the value (raising ValidationError)."""

    name: str
    description: str
    value: dict[str, Any]
    parameters: Sequence[dict[str, str]] = ()
    check: Callable[[str, str], None] | None = None
    name_regex: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        regex = self.name
        for param in self.parameters:
            regex = regex.replace("{%s}" % param["name"],
                                  "(?P<%s>%s)" % (param["name"], param["pattern"]))
        self.name_regex = regex
        if self.value["type"] not in (INT, STR, BOOL):
            raise ValueError(f"Unsupported parameter type {self.value['type']!r}")
        self._name = re.compile(regex)
        pattern = self.value.get("pattern") if self.value["type"] == STR else None
        self._pattern = re.compile(pattern) if pattern else None

    def matches(self, name: str) -> bool:
        return self._name.fullmatch(name) is not None

    def validate(self, name: str, value: str) -> None:
        if not self.matches(name):
            raise exception.ValidationError(
                detail=f"Validation failed; expected a name of format '{self.name}' "
                       f"but got '{name}'.")
        kind = self.value["type"]
        if kind == INT:
            self._validate_int(value)
        elif kind == BOOL:
            try:
                strutils.bool_from_string(value, strict=True)
            except ValueError:
                raise exception.ValidationError(
                    detail=f"Validation failed; '{value}' is not a valid boolean-like "
                           f"value.") from None
        else:
            self._validate_str(value)
        if self.check is not None:
            self.check(name, value)

    def _validate_str(self, value: str) -> None:
        if self._pattern is not None:
            if not self._pattern.fullmatch(value):
                raise exception.ValidationError(
                    detail=f"Validation failed; '{value}' is not of the format "
                           f"'{self.value['pattern']}'.")
        elif "enum" in self.value and value not in self.value["enum"]:
            values = ", ".join(str(v) for v in self.value["enum"])
            raise exception.ValidationError(
                detail=f"Validation failed; '{value}' is not one of: {values}.")

    def _validate_int(self, value: str) -> None:
        try:
            number = int(value)
        except ValueError:
            raise exception.ValidationError(
                detail=f"Validation failed; '{value}' is not a valid integer value."
            ) from None
        if "max" in self.value and self.value["max"] < number:
            raise exception.ValidationError(
                detail=f"Validation failed; '{value}' is greater than the max value of "
                       f"'{self.value['max']}'.")
        if "min" in self.value and self.value["min"] > number:
            raise exception.ValidationError(
                detail=f"Validation failed; '{value}' is less than the min value of "
                       f"'{self.value['min']}'.")


def spec(name: str, kind: str, description: str = "", **value: Any) -> ExtraSpecValidator:
    """A validator without parameters: ``spec("hw:numa_nodes", INT, min=1)``."""
    parameters = value.pop("parameters", ())
    check = value.pop("check", None)
    return ExtraSpecValidator(name=name, description=description or name,
                              value={"type": kind, **value}, parameters=parameters,
                              check=check)

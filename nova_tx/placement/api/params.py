"""Query-string grammar shared by ``GET /resource_providers`` and
``GET /allocation_candidates``: resources, required traits, member_of (Placement's
``util.normalize_*_qs_param``, with its messages)."""
from __future__ import annotations

import uuid as uuidlib

from nova_tx.placement import exception
from nova_tx.placement.api.wire import PlacementRequest, is_uuid_like
from nova_tx.placement.storage.resource_providers import MemberOf


def normalize_uuid(value: str) -> str:
    return str(uuidlib.UUID(value))


def parse_resources(text: str) -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` -> {"VCPU": 2, "MEMORY_MB": 1024}."""
    form = ("Badly formed resources parameter. Expected resources query string parameter "
            "in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: %s.")
    if text.strip() == "":
        raise exception.BadRequest(form % "empty string")
    result = {}
    for item in text.split(","):
        try:
            name, amount_text = item.split(":")
        except ValueError:
            raise exception.BadRequest(form % item) from None
        try:
            amount = int(amount_text)
        except ValueError:
            raise exception.BadRequest(
                f"Requested resource {name} expected positive integer amount. "
                f"Got: {amount_text}.") from None
        if amount < 1:
            raise exception.BadRequest(
                f"Requested resource {name} requires amount >= 1. Got: {amount}.")
        result[name] = amount
    return result


class TraitQuery:
    """Trait names a query asks for: all of ``required``, none of ``forbidden``, one
    of each ``any_of`` set."""

    def __init__(self) -> None:
        self.required: set[str] = set()
        self.forbidden: set[str] = set()
        self.any_of: list[set[str]] = []

    def names(self) -> set[str]:
        return self.required | self.forbidden | {n for s in self.any_of for n in s}

    def __bool__(self) -> bool:
        return bool(self.names())


def parse_traits(req: PlacementRequest, name: str, traits: TraitQuery | None = None
                 ) -> TraitQuery:
    """The ``name`` (``required``, ``requiredX``, ``root_required``) parameters.

    ``!T`` forbids T from 1.22; ``in:A,B`` asks for any of A and B from 1.39, where
    the parameter may also be repeated (before, the last one counts).
    """
    traits = traits or TraitQuery()
    values = req.query.get(name, [])
    if not req.wants((1, 39)):
        values = values[-1:]
    allow_forbidden = req.wants((1, 22))
    form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
    for value in values:
        if value.startswith("in:"):
            if not req.wants((1, 39)):
                raise exception.BadRequest(
                    f"The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since "
                    f"microversion 1.39. Got: {value}")
            names = {n.strip() for n in value[3:].split(",")}
            if not all(names) or any(n.startswith("!") for n in names):
                raise exception.BadRequest(
                    f"Invalid query string parameters: Expected '{name}' parameter value of "
                    f"the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}")
            traits.any_of.append(names)
            continue
        names = {n.strip() for n in value.split(",")}
        if not all(names) or (not allow_forbidden and any(n.startswith("!") for n in names)):
            raise exception.BadRequest(
                f"Invalid query string parameters: Expected '{name}' parameter value of the "
                f"form: {form}. Got: {value}")
        for trait in names:
            if trait.startswith("!"):
                if not trait[1:]:
                    raise exception.BadRequest(
                        f"Invalid query string parameters: Expected '{name}' parameter "
                        f"value of the form: {form}. Got: {value}")
                traits.forbidden.add(trait[1:])
            else:
                traits.required.add(trait)
    conflicts = traits.required & traits.forbidden
    if conflicts:
        raise exception.BadRequest(
            "Conflicting required and forbidden traits found in the following traits "
            f"keys: {name}: ({', '.join(sorted(conflicts))})")
    return traits


def parse_member_of(req: PlacementRequest, name: str = "member_of") -> list[MemberOf]:
    """The ``member_of`` parameters: ``uuid``, ``in:u1,u2``, and from 1.32 ``!uuid``
    and ``!in:u1,u2``; several of them (ANDed) from 1.24."""
    values = req.query.get(name, [])
    if len(values) > 1 and not req.wants((1, 24)):
        raise exception.BadRequest(f"Multiple {name} parameters are not supported")
    result = []
    for value in values:
        negated = value.startswith("!")
        if negated:
            if not req.wants((1, 32)):
                raise exception.BadRequest(
                    "Forbidden member_of parameters are not supported in the specified "
                    "microversion")
            value = value[1:]
        uuids = value[3:].split(",") if value.startswith("in:") else [value]
        for item in uuids:
            if not is_uuid_like(item):
                raise exception.BadRequest(
                    f"Invalid query string parameters: Expected '{name}' parameter to "
                    f"contain valid UUID(s). Got: {item}")
        result.append(MemberOf([normalize_uuid(u) for u in uuids], negated=negated))
    return result

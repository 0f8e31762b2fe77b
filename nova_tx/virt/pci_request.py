"""PCI aliases and the PCI requests a flavor makes (spec/E §1.7, §2.10.2, §3.4).

``[pci] alias`` entries are JSON objects; entries with one name are ORed, and must
agree on ``numa_policy`` and ``device_type``. A flavor's ``pci_passthrough:alias``
(``"a1:2,a2:1"``) becomes one request per entry. The NUMA policy of each request is the
flavor/image policy if set, else the alias's, else ``legacy``.

The aliases are an argument (the caller reads ``[pci] alias``), never global config.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.virt.constraints import get_pci_numa_policy_constraint

__all__ = ["get_pci_requests_from_flavor", "parse_pci_aliases"]

Aliases = dict[str, tuple[str, list[dict[str, Any]]]]

DEVICE_TYPES = ("type-PCI", "type-PF", "type-VF", "vdpa")
_ALIAS_KEYS = {"name", "capability_type", "product_id", "vendor_id", "device_type",
               "numa_policy"}
_PCI_ID = re.compile(r"^[0-9a-fA-F]{4}$")
_ALIAS_SPEC = re.compile(r"^[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*$")


def _check_alias(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise exception.PciInvalidAlias(reason=f"{entry!r} is not a JSON object")
    unknown = sorted(set(entry) - _ALIAS_KEYS)
    if unknown:
        raise exception.PciInvalidAlias(
            reason=f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                   f"unexpected)")
    name = entry.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 256:
        raise exception.PciInvalidAlias(reason="'name' must be a string of 1 to 256 characters")
    for key in ("vendor_id", "product_id"):
        if key in entry and not (isinstance(entry[key], str) and _PCI_ID.match(entry[key])):
            raise exception.PciInvalidAlias(
                reason=f"'{key}' must be 4 hexadecimal digits, got {entry[key]!r}")
    checks = (("capability_type", ("pci",)), ("device_type", DEVICE_TYPES[:3]),
              ("numa_policy", obj.PCI_NUMA_POLICIES))
    for key, allowed in checks:
        if key in entry and entry[key] not in allowed:
            raise exception.PciInvalidAlias(
                reason=f"{entry[key]!r} is not one of {list(allowed)} for '{key}'")
    return dict(entry)


def parse_pci_aliases(entries: Iterable[str | dict[str, Any]]) -> Aliases:
    """``[pci] alias`` values (JSON strings or dicts) as {name: (numa_policy, specs)}."""
    aliases: Aliases = {}
    for raw in entries:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as e:
                raise exception.PciInvalidAlias(reason=str(e)) from None
        spec = _check_alias(raw)
        name = spec.pop("name").strip()
        policy = spec.pop("numa_policy", None) or obj.PCI_NUMA_LEGACY
        device_type = spec.pop("device_type", None)
        if device_type:
            spec["dev_type"] = device_type
        if name not in aliases:
            aliases[name] = (policy, [spec])
            continue
        if aliases[name][0] != policy:
            raise exception.PciInvalidAlias(reason=f"NUMA policy mismatch for alias '{name}'")
        if aliases[name][1][0].get("dev_type") != spec.get("dev_type"):
            raise exception.PciInvalidAlias(reason=f"Device type mismatch for alias '{name}'")
        aliases[name][1].append(spec)
    return aliases


def get_pci_requests_from_flavor(flavor: obj.Flavor, image: obj.ImageMeta | None,
                                 aliases: Aliases) -> list[obj.InstancePCIRequest]:
    """One request per ``pci_passthrough:alias`` entry, with its effective NUMA policy."""
    alias_spec = (flavor.extra_specs or {}).get("pci_passthrough:alias")
    if not alias_spec:
        return []
    if not _ALIAS_SPEC.match(alias_spec.strip()):
        raise exception.InvalidRequest(
            f"Invalid value {alias_spec!r} for 'pci_passthrough:alias': expected "
            f"'<alias>:<count>[,<alias>:<count>...]'")
    policy = get_pci_numa_policy_constraint(flavor, image)
    requests = []
    for item in alias_spec.split(","):
        name, count = (part.strip() for part in item.split(":"))
        if name not in aliases:
            raise exception.PciRequestAliasNotDefined(alias=name)
        alias_policy, specs = aliases[name]
        requests.append(obj.InstancePCIRequest(
            count=int(count), spec=[dict(s) for s in specs], alias_name=name,
            numa_policy=policy or alias_policy))
    return requests

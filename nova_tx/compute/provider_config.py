"""Provider config files: operator-defined inventories and traits (spec/E §4).

``load_provider_configs(directory)`` reads every ``*.yaml`` of ``[compute]
provider_config_location`` once, at start, and checks it (schema version 1.x, the
JSON schema, custom resource classes and traits only, one definition per provider);
any problem raises ``ProviderConfigException`` naming the file, which stops
nova-compute. ``ProviderConfigMerger.merge(configs, tree)`` then adds the configured
inventories and traits to the provider tree after the driver's
``update_provider_tree`` on every update, refusing to override what the driver owns.
"""
from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml

from nova_tx import exception
from nova_tx.compute.provider_tree import ProviderTree

LOG = logging.getLogger(__name__)

COMPUTE_NODE = "$COMPUTE_NODE"
COMPUTE_NODE_TRAIT = "COMPUTE_NODE"
#: Major version -> the minor versions this code knows.
SUPPORTED_SCHEMA_VERSIONS = {1: {0}}
SOURCE_FILE = "__source_file"

_UUID = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_NAME = "^[A-Z0-9_]{1,255}$"

SCHEMA_V1: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        SOURCE_FILE: {"not": {}},
        "meta": {
            "type": "object",
            "properties": {"schema_version": {
                "type": "string", "pattern": r"^1\.([0-9]|[1-9][0-9]+)$"}},
            "required": ["schema_version"],
            "additionalProperties": True,
        },
        "providers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "identification": {"$ref": "#/$defs/providerIdentification"},
                    "inventories": {"$ref": "#/$defs/providerInventories"},
                    "traits": {"$ref": "#/$defs/providerTraits"},
                },
                "required": ["identification"],
                "additionalProperties": True,
            },
        },
    },
    "required": ["meta"],
    "additionalProperties": True,
    "$defs": {
        "providerIdentification": {
            "type": "object",
            "properties": {
                "uuid": {"oneOf": [
                    {"type": "string", "pattern": _UUID},
                    {"type": "string", "const": COMPUTE_NODE},
                ]},
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
            },
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": False,
        },
        "providerInventories": {
            "type": "object",
            "properties": {"additional": {
                "type": "array",
                "items": {
                    "patternProperties": {_NAME: {
                        "type": "object",
                        "properties": {
                            "total": {"type": "integer"},
                            "reserved": {"type": "integer"},
                            "min_unit": {"type": "integer"},
                            "max_unit": {"type": "integer"},
                            "step_size": {"type": "integer"},
                            "allocation_ratio": {"type": "number"},
                        },
                        "required": ["total"],
                        "additionalProperties": False,
                    }},
                    "additionalProperties": False,
                },
            }},
            "additionalProperties": True,
        },
        "providerTraits": {
            "type": "object",
            "properties": {"additional": {
                "type": "array",
                "items": {"type": "string", "pattern": _NAME},
            }},
            "additionalProperties": True,
        },
    },
}

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def _fail(path: str, problem: str) -> exception.ProviderConfigException:
    return exception.ProviderConfigException(error=f"{path}: {problem}")


def _parse_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except OSError as e:
        raise _fail(path, f"cannot be read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise _fail(path, "is not valid YAML: " + " ".join(str(e).split())) from None
    if not isinstance(config, dict):
        raise _fail(path, "must be a YAML mapping with 'meta' and 'providers'")
    return config


def _check_schema(path: str, config: Mapping[str, Any]) -> None:
    meta = config.get("meta")
    version = meta.get("schema_version") if isinstance(meta, Mapping) else None
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise _fail(path, f"unable to detect schema version (meta.schema_version: "
                    f"{version!r})")
    major, minor = int(match.group(1)), int(match.group(2))
    if major not in SUPPORTED_SCHEMA_VERSIONS:
        raise _fail(path, f"unsupported schema major version: {major}")
    if minor not in SUPPORTED_SCHEMA_VERSIONS[major]:
        LOG.warning("Provider config file [%s] is at schema version %s. Nova supports the "
                    "major version, but not the minor. Some fields may be ignored.",
                    path, version)
    try:
        jsonschema.validate(config, SCHEMA_V1)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "the document"
        raise _fail(path, f"did not pass validation for schema version {version} at "
                    f"{where}: {' '.join(e.message.split())}") from None


def _check_custom(path: str, provider: Mapping[str, Any]) -> None:
    traits = (provider.get("traits") or {}).get("additional") or []
    invalid = [t for t in traits if not t.startswith("CUSTOM_")]
    if invalid:
        raise _fail(path, f"Invalid traits, only custom traits are allowed: {invalid}")
    inventories = (provider.get("inventories") or {}).get("additional") or []
    for inventory in inventories:
        for rc in inventory:
            if not rc.startswith("CUSTOM_"):
                raise _fail(path, "Invalid resource class, only custom resource classes "
                            f"are allowed: {rc}")


def load_provider_configs(directory: str) -> dict[str, dict[str, Any]]:
    """The providers of every ``*.yaml`` in ``directory``, by identification (a uuid,
    a name or ``$COMPUTE_NODE``), each with ``__source_file`` naming its file."""
    paths = sorted(glob.glob(os.path.join(glob.escape(directory), "*.yaml")))
    if not paths:
        LOG.info("No provider configs found in %s. If files are present, ensure the Nova "
                 "process has access.", directory)
        return {}
    configs: dict[str, dict[str, Any]] = {}
    for path in paths:
        config = _parse_file(path)
        _check_schema(path, config)
        for provider in config.get("providers") or ():
            identification = provider["identification"]
            provider_id = identification.get("uuid") or identification.get("name")
            if provider_id in configs:
                raise _fail(path, f"Provider {provider_id} has multiple definitions in "
                            f"source file(s): {[configs[provider_id][SOURCE_FILE], path]}.")
            _check_custom(path, provider)
            traits = (provider.get("traits") or {}).get("additional")
            inventories = (provider.get("inventories") or {}).get("additional")
            if not traits and not inventories:
                LOG.warning("Provider %s in %s defines no additional inventories or "
                            "traits; ignored.", provider_id, path)
                continue
            configs[provider_id] = {**provider, SOURCE_FILE: path}
    return configs


class ProviderConfigMerger:
    """Adds configured inventories and traits to a provider tree, update after update.

    The configured custom traits of the previous merge are remembered per provider:
    they are in the tree already and may be added again, whereas any other trait the
    tree has is the driver's or the API's and may not be claimed by a file.
    """

    def __init__(self) -> None:
        self.provider_traits: dict[str, set[str]] = {}
        self._absent_warned: set[str] = set()

    def merge(self, configs: Mapping[str, Mapping[str, Any]], tree: ProviderTree) -> None:
        processed: dict[str, str] = {}
        custom_traits: dict[str, set[str]] = {}
        for uuid_or_name, provider_data in configs.items():
            traits = list((provider_data.get("traits") or {}).get("additional") or [])
            inventories = list(
                (provider_data.get("inventories") or {}).get("additional") or [])
            source = provider_data[SOURCE_FILE]
            if uuid_or_name == COMPUTE_NODE:
                # Every compute node root, unless the files name it explicitly.
                targets = [
                    tree.data(root.uuid) for root in tree.roots
                    if COMPUTE_NODE_TRAIT in root.traits
                    and root.uuid not in configs and root.name not in configs]
            elif tree.exists(uuid_or_name):
                targets = [tree.data(uuid_or_name)]
            else:
                if uuid_or_name not in self._absent_warned:
                    LOG.warning("Provider '%s' named in provider config file %s is not "
                                "managed by this compute host; ignored.",
                                uuid_or_name, source)
                    self._absent_warned.add(uuid_or_name)
                continue
            for provider in targets:
                if provider.uuid in processed:
                    raise _fail(source, f"Provider {provider.uuid} (name: {provider.name}) "
                                f"is also identified in {processed[provider.uuid]}; a "
                                "provider may be configured only once")
                processed[provider.uuid] = source
                if traits:
                    # A provider not merged yet in this process may have this file's
                    # traits from before a restart: they are the file's, not owned.
                    previous = self.provider_traits.get(provider.uuid, set(traits))
                    owned = (provider.traits & set(traits)) - previous
                    if owned:
                        raise _fail(source, "attempts to define a trait that is owned by "
                                    "the virt driver or specified via the placement api. "
                                    f"Invalid traits '{sorted(owned)}' must be removed")
                    tree.add_traits(provider.uuid, *traits)
                if inventories:
                    merged = dict(provider.inventory)
                    wanted = {rc for inventory in inventories for rc in inventory}
                    owned_rcs = set(merged) & wanted
                    if owned_rcs:
                        raise _fail(source, "attempts to define an inventory that is owned "
                                    "by the virt driver. Invalid inventories "
                                    f"'{sorted(owned_rcs)}' must be removed")
                    for inventory in inventories:
                        merged.update({rc: dict(record) for rc, record in inventory.items()})
                    tree.update_inventory(provider.uuid, merged)
                custom_traits[provider.uuid] = set(traits)
        self.provider_traits = custom_traits

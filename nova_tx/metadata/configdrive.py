"""Config drives: the metadata trees on an ISO 9660 image labelled ``config-2``
(Nova's ``nova/virt/configdrive.py`` and ``metadata_for_config_drive``), built with
pycdlib rather than genisoimage so no external tool is needed.

The layout is spec D §2.1's: ``ec2/<v>/meta-data.json`` and ``ec2/<v>/user-data``
for the EC2 versions not in ``[api] config_drive_skip_versions`` and ``latest``;
``openstack/<v>/{meta_data.json,user_data,vendor_data.json,network_data.json,
vendor_data2.json}`` for every OpenStack version and ``latest``; injected files under
``openstack/content/``. No password file; ``admin_pass`` goes into meta_data.json.
Names are kept by Rock Ridge and Joliet, as genisoimage's ``-J -r`` does.

The virt driver calls :func:`create_config_drive` when :func:`required_by` says so.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from twisted.internet import threads

from nova_tx import log, version
from nova_tx.metadata import base
from nova_tx.metadata import versions as v

LOG = log.getLogger(__name__)

LABEL = "config-2"


def required_by(instance: Any, conf: Any, image_properties: dict | None = None) -> bool:
    """Whether the instance gets a config drive (Nova's ``required_by``)."""
    if str(instance.config_drive or "").lower() in ("true", "1", "yes", "on", "t", "y"):
        return True
    if (image_properties or {}).get("img_config_drive") == "mandatory":
        return True
    return bool(conf.force_config_drive) and instance.launched_at is None


def metadata_for_config_drive(meta: base.InstanceMetadata, vendor_data: dict | None,
                              vendor_data2: dict) -> Iterator[tuple[str, bytes]]:
    """``(path, content)`` of every file of the drive."""
    skip = set(meta.conf.api.config_drive_skip_versions.split())
    for ec2_version in list(v.EC2_VERSIONS) + [v.LATEST]:
        if ec2_version in skip:
            continue
        data = meta.ec2_metadata(ec2_version)
        if "user-data" in data:
            yield "ec2/%s/user-data" % ec2_version, data.pop("user-data")
        meta_data = data["meta-data"]
        keys = meta_data.get("public-keys", {}).get("0")
        if keys is not None:
            keys.pop("_name", None)
        yield "ec2/%s/meta-data.json" % ec2_version, json.dumps(meta_data).encode()
    for os_version in list(v.OPENSTACK_VERSIONS) + [v.LATEST]:
        resolved = meta.openstack_version(os_version)
        prefix = "openstack/%s/" % os_version
        yield prefix + base.MD_JSON_NAME, json.dumps(meta.metadata_json(resolved)).encode()
        if meta.userdata_raw is not None:
            yield prefix + base.UD_NAME, meta.userdata_raw
        if v.at_least(v.HAVANA, resolved) and vendor_data is not None:
            yield prefix + base.VD_JSON_NAME, json.dumps(vendor_data).encode()
        if v.at_least(v.LIBERTY, resolved):
            yield prefix + base.NW_JSON_NAME, json.dumps(meta.network_metadata or {}).encode()
        if v.at_least(v.NEWTON_TWO, resolved):
            yield prefix + base.VD2_JSON_NAME, json.dumps(vendor_data2).encode()
    for key, content in meta.content.items():
        yield "openstack/%s/%s" % (base.CONTENT_DIR, key), content


def _iso_name(name: str, is_dir: bool) -> str:
    """An ISO 9660 level-4 identifier for ``name`` (Rock Ridge and Joliet keep the
    real one)."""
    cleaned = "".join(c if c.isalnum() or c in "_." else "_" for c in name.upper())
    return cleaned if is_dir else cleaned + ";1"


def build_iso(files: Iterable[tuple[str, bytes]], *, publisher: str | None = None
              ) -> bytes:
    """The ISO image of ``files`` (blocking: call it from a thread)."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, joliet=3, rock_ridge="1.09", vol_ident=LABEL,
            pub_ident_str=publisher or "nova-tx %s" % version.version_string)
    made: set[str] = set()
    for path, content in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if directory in made:
                continue
            made.add(directory)
            iso.add_directory(
                "/" + "/".join(_iso_name(p, True) for p in parts[:depth]),
                rr_name=parts[depth - 1], joliet_path="/" + directory)
        iso.add_fp(io.BytesIO(content), len(content),
                   "/" + "/".join([_iso_name(p, True) for p in parts[:-1]]
                                  + [_iso_name(parts[-1], False)]),
                   rr_name=parts[-1], joliet_path="/" + path)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


async def drive_files(conf: Any, instance: Any, *, providers: dict | None = None,
                      bdms: list[dict] | None = None, devices: list[dict] | None = None,
                      admin_pass: str | None = None,
                      injected_files: list[tuple[str, bytes]] | None = None,
                      reactor: Any = None) -> list[tuple[str, bytes]]:
    """The drive's files for ``instance`` (with its metadata, system metadata, info
    cache and key pairs loaded); vendordata from this process's providers."""
    import inspect

    from nova_tx.metadata.vendordata import load_providers

    if providers is None:
        providers = load_providers(conf)
    extra_md = {"admin_pass": admin_pass} if admin_pass else None
    meta = base.InstanceMetadata(instance, conf, bdms=bdms, devices=devices,
                                 content=injected_files, extra_md=extra_md)

    async def ask(name: str) -> dict:
        result = providers[name].get(conf, instance, reactor=reactor)
        return await result if inspect.isawaitable(result) else result

    vendor_data = await ask("StaticJSON") if "StaticJSON" in providers else None
    vendor_data2: dict = {}
    for name in conf.api.vendordata_providers:
        if name not in providers:
            continue
        values = await ask(name)
        if name == "StaticJSON":
            vendor_data2["static"] = values
        else:
            vendor_data2.update({k: val for k, val in values.items()
                                 if k not in vendor_data2})
    return list(metadata_for_config_drive(meta, vendor_data, vendor_data2))


async def create_config_drive(conf: Any, instance: Any, path: str, **kwargs: Any
                              ) -> str:
    """Write ``instance``'s config drive to ``path`` (the ISO built in a thread); the
    path. ``kwargs`` as :func:`drive_files`."""
    files = await drive_files(conf, instance, **kwargs)

    def write() -> None:
        image = build_iso(files)
        with open(path, "wb") as f:
            f.write(image)

    await threads.deferToThread(write)
    LOG.info("Config drive of instance %s written to %s", instance.uuid, path)
    return path

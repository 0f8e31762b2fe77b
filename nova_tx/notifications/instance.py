"""``instance.update`` and ``instance.delete.{start,end}`` sent from the API: Nova's
versioned ``InstanceUpdatePayload``/``InstanceActionPayload`` and the legacy
``compute.instance.update``/``compute.instance.delete.*``, as
``nova/notifications/base.py`` and ``compute/utils.py`` send them.

- ``send_instance_update_notification``: always (the server tags API sends it after
  every change, from ``nova-api``).
- ``send_update``: what Nova's ``Instance.save()`` sends, only with ``[notifications]
  notify_on_state_change`` set (from ``compute``: legacy publisher ``compute.<host>``,
  versioned ``nova-compute:<host>``, as Nova's API does when it saves an instance).
- ``notify_about_instance_delete``: around a delete the API does itself (the server
  had no host, or its compute service is down).

The payload carries no block devices (``[notifications] bdms_in_notifications`` needs
the compute side) and no bandwidth (Nova's is empty without the XenAPI driver).
"""
from __future__ import annotations

import datetime
import inspect
import traceback
from typing import Any

from nova_tx.db.types import utcnow
from nova_tx.notifications import base
from nova_tx.notifications.flavor import FlavorPayload
from nova_tx.objects.instance import Instance

#: Nova's ``fields.InstancePowerState`` names of the power state numbers.
POWER_STATES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                7: "suspended"}


def _option(conf, group: str | None, name: str, default: Any) -> Any:
    try:
        return getattr(getattr(conf, group) if group else conf, name)
    except Exception:  # not registered in this process
        return default


def isotime(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def strtime(value: datetime.datetime | None) -> str:
    """Nova's ``null_safe_isotime`` of the legacy payloads (``utils.strtime``)."""
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def audit_period_bounds(conf, now: datetime.datetime) -> tuple[datetime.datetime,
                                                                 datetime.datetime]:
    """The current audit period (``[DEFAULT] instance_usage_audit_period``, month by
    default): from the start of the period to now."""
    unit = str(_option(conf, None, "instance_usage_audit_period", "month")).split("@")[0]
    if unit == "year":
        start = datetime.datetime(now.year, 1, 1)
    elif unit == "day":
        start = datetime.datetime(now.year, now.month, now.day)
    elif unit == "hour":
        start = datetime.datetime(now.year, now.month, now.day, now.hour)
    else:
        start = datetime.datetime(now.year, now.month, 1)
    return start, now


class _Payload(base.NotificationPayloadBase):
    def __init__(self, data: dict[str, Any]):
        self._data = data

    def data(self) -> dict[str, Any]:
        return self._data


class _Named(_Payload):
    def __init__(self, name: str, version: str, data: dict[str, Any]):
        super().__init__(data)
        self.SCHEMA_NAME = name  # type: ignore[misc]
        self.VERSION = version  # type: ignore[misc]


def ip_payloads(instance: Instance) -> list[dict[str, Any]]:
    """Nova's ``IpPayload.from_network_info``: one per fixed IP of the info cache."""
    found = []
    for vif in instance.network_info or ():
        network = vif.get("network") or {}
        for subnet in network.get("subnets") or ():
            for ip in subnet.get("ips") or ():
                if ip.get("type", "fixed") != "fixed" or not ip.get("address"):
                    continue
                found.append(_Named("IpPayload", "1.0", {
                    "label": network.get("label"), "mac": vif.get("address"),
                    "meta": dict(vif.get("meta") or {}), "port_uuid": vif.get("id"),
                    "version": ip.get("version") or (6 if ":" in ip["address"] else 4),
                    "address": ip["address"], "device_name": vif.get("devname"),
                }).to_primitive())
    return found


def instance_data(context, instance: Instance) -> dict[str, Any]:
    """The fields of Nova's ``InstancePayload`` (1.9) of an instance."""
    i = instance
    return {
        "uuid": i.uuid, "user_id": i.user_id, "tenant_id": i.project_id,
        "reservation_id": i.reservation_id, "display_name": i.display_name,
        "display_description": i.display_description, "host_name": i.hostname,
        "host": i.host, "node": i.node, "os_type": i.os_type,
        "architecture": i.architecture, "availability_zone": i.availability_zone,
        "flavor": FlavorPayload(i.flavor).to_primitive() if i.flavor else None,
        "image_uuid": i.image_ref, "key_name": i.key_name, "kernel_id": i.kernel_id,
        "ramdisk_id": i.ramdisk_id, "created_at": isotime(i.created_at),
        "launched_at": isotime(i.launched_at), "terminated_at": isotime(i.terminated_at),
        "deleted_at": isotime(i.deleted_at), "updated_at": isotime(i.updated_at),
        "state": i.vm_state, "power_state": POWER_STATES.get(i.power_state or 0),
        "task_state": i.task_state, "progress": i.progress,
        "ip_addresses": ip_payloads(i), "block_devices": [],
        "metadata": dict(i.metadata), "locked": bool(i.locked),
        "auto_disk_config": "AUTO" if i.auto_disk_config else "MANUAL",
        "request_id": getattr(context, "request_id", None),
        "action_initiator_user": getattr(context, "user_id", None),
        "action_initiator_project": getattr(context, "project_id", None),
        "locked_reason": i.system_metadata.get("locked_reason"),
        "shares": [],
    }


def exception_payload(error: BaseException) -> dict[str, Any]:
    """Nova's ``ExceptionPayload`` (1.1) of a failure: where it was raised (the last
    frame of its traceback), its class and message, and the traceback."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = inspect.getmodule(tb.tb_frame) if tb is not None else None
    message = (error.format_message() if hasattr(error, "format_message")
               else str(error))
    return _Named("ExceptionPayload", "1.1", {
        "module_name": module.__name__ if module else "",
        "function_name": tb.tb_frame.f_code.co_name if tb is not None else "",
        "exception": type(error).__name__,
        "exception_message": message,
        "traceback": "".join(traceback.format_exception(error)),
    }).to_primitive()


class InstanceActionPayload(base.NotificationPayloadBase):
    """An action on an instance (``instance.delete.start``, ``instance.lock``,
    ``instance.reboot.error``...): the instance and, for a failed action, the fault."""

    SCHEMA_NAME = "InstanceActionPayload"
    VERSION = "1.9"

    def __init__(self, context, instance: Instance, error: BaseException | None = None):
        self.context = context
        self.instance = instance
        self.error = error

    def data(self) -> dict[str, Any]:
        fault = None if self.error is None else exception_payload(self.error)
        return {**instance_data(self.context, self.instance), "fault": fault}


class InstanceCreatePayload(InstanceActionPayload):
    """``instance.create.*``: the action payload with the key pairs, tags, trusted
    image certificates and the instance's name on its hypervisor."""

    SCHEMA_NAME = "InstanceCreatePayload"
    VERSION = "1.13"

    def __init__(self, context, instance: Instance, conf, error: BaseException | None = None):
        super().__init__(context, instance, error)
        self.conf = conf

    def data(self) -> dict[str, Any]:
        from nova_tx.compute.servers import instance_name
        from nova_tx.notifications.keypair import KeypairPayload

        i = self.instance
        return {
            **super().data(),
            "keypairs": [KeypairPayload(k).to_primitive() for k in i.keypairs or []],
            "tags": list(i.tags),
            "trusted_image_certificates": (None if i.trusted_certs is None
                                           else list(i.trusted_certs)),
            "instance_name": instance_name(self.conf, i),
        }


class InstanceUpdatePayload(base.NotificationPayloadBase):
    SCHEMA_NAME = "InstanceUpdatePayload"
    VERSION = "2.1"

    def __init__(self, context, instance: Instance, conf, *,
                 old_display_name: str | None = None,
                 now: datetime.datetime | None = None):
        self.context = context
        self.instance = instance
        self.conf = conf
        self.old_display_name = old_display_name
        self.now = now or utcnow()

    def data(self) -> dict[str, Any]:
        i = self.instance
        start, end = audit_period_bounds(self.conf, self.now)
        return {
            **instance_data(self.context, i),
            "state_update": _Named("InstanceStateUpdatePayload", "1.0", {
                "old_state": i.vm_state, "state": i.vm_state,
                "old_task_state": i.task_state, "new_task_state": i.task_state,
            }).to_primitive(),
            "audit_period": _Named("AuditPeriodPayload", "1.0", {
                "audit_period_beginning": isotime(start),
                "audit_period_ending": isotime(end)}).to_primitive(),
            "old_display_name": self.old_display_name,
            "tags": list(i.tags),
        }


def info_from_instance(instance: Instance, conf) -> dict[str, Any]:
    """Nova's ``info_from_instance``: the legacy payload of an instance."""
    i = instance
    flavor = i.flavor
    image_url = None
    endpoint = _option(conf, "glance", "endpoint_override", None)
    if endpoint and i.image_ref:
        image_url = "%s/images/%s" % (endpoint.rstrip("/"), i.image_ref)
    payload: dict[str, Any] = {
        "tenant_id": i.project_id, "user_id": i.user_id, "instance_id": i.uuid,
        "display_name": i.display_name, "reservation_id": i.reservation_id,
        "hostname": i.hostname,
        "instance_type": flavor.name if flavor else None,
        "instance_type_id": i.instance_type_id,
        "instance_flavor_id": flavor.flavorid if flavor else None,
        "architecture": i.architecture,
        "memory_mb": flavor.memory_mb if flavor else i.memory_mb,
        "disk_gb": (flavor.root_gb + flavor.ephemeral_gb) if flavor else None,
        "vcpus": flavor.vcpus if flavor else i.vcpus,
        "root_gb": flavor.root_gb if flavor else i.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb if flavor else i.ephemeral_gb,
        "host": i.host, "node": i.node, "availability_zone": i.availability_zone,
        "cell_name": i.cell_name or "",
        "created_at": str(i.created_at.replace(tzinfo=datetime.UTC)) if i.created_at
        else "",
        "terminated_at": strtime(i.terminated_at), "deleted_at": strtime(i.deleted_at),
        "launched_at": strtime(i.launched_at),
        "image_ref_url": image_url, "os_type": i.os_type, "kernel_id": i.kernel_id,
        "ramdisk_id": i.ramdisk_id, "state": i.vm_state,
        "state_description": i.task_state or "",
        "progress": int(i.progress) if i.progress else "",
        "access_ip_v4": i.access_ip_v4, "access_ip_v6": i.access_ip_v6,
        "image_meta": {k[len("image_"):]: v for k, v in i.system_metadata.items()
                       if k.startswith("image_")},
        "metadata": dict(i.metadata),
    }
    return payload


def legacy_payload(instance: Instance, conf, *, old_display_name: str | None = None,
                   now: datetime.datetime | None = None) -> dict[str, Any]:
    """``info_from_instance`` with the update's states, audit period and bandwidth (the
    legacy ``compute.instance.update``)."""
    start, end = audit_period_bounds(conf, now or utcnow())
    payload = info_from_instance(instance, conf)
    payload.update({
        "old_state": instance.vm_state, "old_task_state": instance.task_state,
        "new_task_state": instance.task_state,
        "audit_period_beginning": strtime(start), "audit_period_ending": strtime(end),
        "bandwidth": {}})
    if old_display_name:
        payload["old_display_name"] = old_display_name
    return payload


class InstanceNotifier:
    """Sends ``instance.update`` through the legacy (``legacy``, publisher
    ``<service>.<host>``) and versioned (``versioned``) notifiers; either may be None.
    A notification never fails the request."""

    def __init__(self, conf, *, versioned=None, legacy=None):
        self.conf = conf
        self.versioned = versioned
        self.legacy = legacy

    def _host(self) -> str:
        return _option(self.conf, None, "host", "localhost")

    def send_instance_update_notification(self, context, instance: Instance, *,
                                          service: str = "compute",
                                          old_display_name: str | None = None) -> None:
        host = self._host()
        if self.legacy is not None and self.legacy.is_enabled():
            try:
                self.legacy.prepare(publisher_id=f"{service}.{host}").info(
                    context, "compute.instance.update",
                    legacy_payload(instance, self.conf, old_display_name=old_display_name))
            except Exception:
                base.LOG.exception("compute.instance.update could not be sent")
        source = service if service.startswith("nova-") else "nova-" + service
        base.NotificationBase(
            event_type=base.EventType("instance", "update"),
            publisher=base.NotificationPublisher(host=host, source=source),
            payload=InstanceUpdatePayload(context, instance, self.conf,
                                          old_display_name=old_display_name),
        ).emit(self.versioned, context)

    def notify_about_instance_delete(self, context, instance: Instance, phase: str
                                     ) -> None:
        """``compute.instance.delete.<phase>`` (legacy, publisher ``compute.<host>``)
        and ``instance.delete.<phase>`` (versioned, from nova-api), as Nova's
        ``notify_about_instance_delete`` around a delete done in the API."""
        host = self._host()
        if self.legacy is not None and self.legacy.is_enabled():
            try:
                self.legacy.prepare(publisher_id=f"compute.{host}").info(
                    context, "compute.instance.delete.%s" % phase,
                    info_from_instance(instance, self.conf))
            except Exception:
                base.LOG.exception("compute.instance.delete.%s could not be sent", phase)
        base.NotificationBase(
            event_type=base.EventType("instance", "delete", phase),
            publisher=base.NotificationPublisher(host=host, source="nova-api"),
            payload=InstanceActionPayload(context, instance),
        ).emit(self.versioned, context)

    def notify_about_instance_action(self, context, instance: Instance, action: str,
                                     phase: str | None = None, *,
                                     source: str = "nova-compute",
                                     error: BaseException | None = None,
                                     legacy_event: str | None = None,
                                     payload: Any = None) -> None:
        """``instance.<action>[.<phase>]`` (versioned; ERROR priority for the error
        phase, with the fault) and, with ``legacy_event``, the legacy
        ``compute.instance.<legacy_event>.<phase>`` (publisher ``compute.<host>``), as
        Nova's ``notify_about_instance_action`` and ``notify_about_instance_usage``.
        ``payload``: the versioned payload of an action that has its own (rebuild,
        rescue, snapshot)."""
        versioned_payload = payload
        host = self._host()
        if legacy_event and self.legacy is not None and self.legacy.is_enabled():
            payload = info_from_instance(instance, self.conf)
            if error is not None:
                payload["message"] = (error.format_message()
                                      if hasattr(error, "format_message") else str(error))
            event = "compute.instance.%s" % legacy_event + (f".{phase}" if phase else "")
            try:
                prepared = self.legacy.prepare(publisher_id=f"compute.{host}")
                (prepared.error if phase == "error" else prepared.info)(
                    context, event, payload)
            except Exception:
                base.LOG.exception("%s could not be sent", event)
        payload = versioned_payload
        if payload is None:
            payload = (InstanceCreatePayload(context, instance, self.conf, error)
                       if action == "create" else
                       InstanceActionPayload(context, instance, error))
        base.NotificationBase(
            event_type=base.EventType("instance", action, phase),
            publisher=base.NotificationPublisher(host=host, source=source),
            payload=payload, priority="ERROR" if phase == "error" else "INFO",
        ).emit(self.versioned, context)

    def send_update(self, context, old: Instance, new: Instance) -> None:
        """What Nova's ``Instance.save()`` sends: nothing unless ``[notifications]
        notify_on_state_change`` is set."""
        if not _option(self.conf, "notifications", "notify_on_state_change", None):
            return
        old_name = old.display_name if old.display_name != new.display_name else None
        self.send_instance_update_notification(context, new, old_display_name=old_name)

"""Client side of the compute service's RPC API (topic ``compute``, one server per
host), as far as the operator API needs it: ``get_host_uptime`` (a call) and
``cache_images`` (a cast). Versions are Nova Zed's (5.x); the compute manager's
side of them is the compute service's (issue #9).
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target

RPC_TOPIC = "compute"


class ComputeAPI:
    VERSION = "5.0"

    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 timeout: float | None = None):
        self.client = RPCClient(transport, Target(topic=RPC_TOPIC, version=self.VERSION),
                                conf=conf, reactor=reactor, timeout=timeout)

    def get_host_uptime(self, ctxt: Any, host: str, *,
                        timeout: float | None = None) -> defer.Deferred:
        """The ``uptime`` line of ``host`` (Nova's ``get_host_uptime``, 5.0);
        ``timeout`` None is ``[DEFAULT] rpc_response_timeout``."""
        prepared = self.client.prepare(server=host, version="5.0")
        if timeout is not None:
            prepared = prepared.prepare(timeout=timeout)
        return prepared.call(ctxt, "get_host_uptime")

    def cache_images(self, ctxt: Any, host: str, image_ids: list[str]) -> defer.Deferred:
        """Ask ``host`` to fetch ``image_ids`` into its image cache (Nova 5.4); sent and
        not waited for: pre-caching is best effort and reports through the log."""
        return self.client.prepare(server=host, version="5.4").cast(
            ctxt, "cache_images", image_ids=list(image_ids))

    # -- the build and the power actions (Nova's 6.0) ---------------------------------------

    def build_and_run_instance(self, ctxt: Any, instance: Any, host: str, image: Any,
                               request_spec: Any, filter_properties: Any,
                               admin_password: str | None = None, injected_files: Any = None,
                               requested_networks: Any = None, security_groups: Any = None,
                               block_device_mapping: Any = None, node: str | None = None,
                               limits: Any = None, host_list: Any = None,
                               accel_uuids: Any = None) -> defer.Deferred:
        """Cast the build of ``instance`` to ``host`` (Nova's 6.0 arguments): the
        request spec, the BDMs and the alternates (``host_list``, Selections) travel as
        Nova's object primitives, the limits as the compute's dict form."""
        if hasattr(limits, "to_dict"):
            limits = limits.to_dict()
        kwargs = {
            "instance": _primitive(instance), "image": image,
            "request_spec": _primitive(request_spec),
            "filter_properties": filter_properties, "admin_password": admin_password,
            "injected_files": injected_files,
            "requested_networks": _requested_networks(requested_networks),
            "security_groups": security_groups,
            "block_device_mapping": _bdms(block_device_mapping, instance),
            "node": node, "limits": limits,
            "host_list": None if host_list is None else [_primitive(s) for s in host_list],
            "accel_uuids": list(accel_uuids or []),
        }
        return self.client.prepare(server=host, version="6.0").cast(
            ctxt, "build_and_run_instance", **kwargs)

    def _instance_cast(self, ctxt: Any, instance: Any, method: str,
                       **kwargs: Any) -> defer.Deferred:
        return self.client.prepare(server=_host(instance), version="6.0").cast(
            ctxt, method, instance=_primitive(instance), **kwargs)

    def reboot_instance(self, ctxt: Any, instance: Any, block_device_info: Any,
                        reboot_type: str) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "reboot_instance",
                                   block_device_info=block_device_info,
                                   reboot_type=reboot_type)

    def stop_instance(self, ctxt: Any, instance: Any, do_cast: bool = True,
                      clean_shutdown: bool = True) -> defer.Deferred:
        """A cast, or a call (``do_cast`` False) for callers that wait for it."""
        prepared = self.client.prepare(server=_host(instance), version="6.0")
        send = prepared.cast if do_cast else prepared.call
        return send(ctxt, "stop_instance", instance=_primitive(instance),
                    clean_shutdown=clean_shutdown)

    def start_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "start_instance")

    def pause_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "pause_instance")

    def unpause_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "unpause_instance")

    def suspend_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "suspend_instance")

    def resume_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "resume_instance")

    def terminate_instance(self, ctxt: Any, instance: Any, bdms: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "terminate_instance",
                                   bdms=_bdms(bdms, instance))

    def soft_delete_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "soft_delete_instance")

    def external_instance_event(self, ctxt: Any, instances: list[Any], events: list[Any],
                                host: str | None = None) -> defer.Deferred:
        """Neutron's events (``network-vif-plugged`` ...) for instances of one host."""
        return self.client.prepare(server=host or _host(instances[0]), version="6.0").cast(
            ctxt, "external_instance_event", instances=[_primitive(i) for i in instances],
            events=[_primitive(e) for e in events])

    # -- soft delete, rebuild, rescue, snapshot, crash dump (Nova's 6.0) ------------------

    def restore_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "restore_instance")

    def rebuild_instance(self, ctxt: Any, instance: Any, *, new_pass: str | None,
                         injected_files: Any, image_ref: str, orig_image_ref: str,
                         orig_sys_metadata: dict[str, str], bdms: Any = None,
                         recreate: bool = False, on_shared_storage: bool = False,
                         preserve_ephemeral: bool = False, migration: Any = None,
                         node: str | None = None, limits: Any = None,
                         request_spec: Any = None, accel_uuids: Any = None,
                         reimage_boot_volume: bool = False,
                         target_state: str | None = None) -> defer.Deferred:
        """The rebuild on the instance's own host (Nova sends it through the conductor
        and the scheduler's same-host check; nova-tx casts it straight there)."""
        return self._instance_cast(
            ctxt, instance, "rebuild_instance", new_pass=new_pass,
            injected_files=injected_files, image_ref=image_ref,
            orig_image_ref=orig_image_ref, orig_sys_metadata=orig_sys_metadata,
            bdms=None if bdms is None else _bdms(bdms, instance), recreate=recreate,
            on_shared_storage=on_shared_storage, preserve_ephemeral=preserve_ephemeral,
            migration=migration, scheduled_node=node, limits=limits,
            request_spec=_primitive(request_spec), accel_uuids=list(accel_uuids or []),
            reimage_boot_volume=reimage_boot_volume, target_state=target_state)

    def rescue_instance(self, ctxt: Any, instance: Any, *, rescue_password: str,
                        rescue_image_ref: str | None = None,
                        clean_shutdown: bool = True) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "rescue_instance",
                                   rescue_password=rescue_password,
                                   rescue_image_ref=rescue_image_ref,
                                   clean_shutdown=clean_shutdown)

    def unrescue_instance(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "unrescue_instance")

    def snapshot_instance(self, ctxt: Any, instance: Any, image_id: str) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "snapshot_instance", image_id=image_id)

    def trigger_crash_dump(self, ctxt: Any, instance: Any) -> defer.Deferred:
        return self._instance_cast(ctxt, instance, "trigger_crash_dump")

    def get_console_output(self, ctxt: Any, instance: Any,
                           tail_length: int | None) -> defer.Deferred:
        """A call: the console log's last ``tail_length`` lines (all when None)."""
        return self.client.prepare(server=_host(instance), version="6.0").call(
            ctxt, "get_console_output", instance=_primitive(instance),
            tail_length=tail_length)


def _primitive(value: Any) -> Any:
    return value.to_primitive() if hasattr(value, "to_primitive") else value


def _host(instance: Any) -> str:
    if isinstance(instance, dict):
        return instance.get("nova_object.data", instance)["host"]
    return instance.host


def _requested_networks(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value  # None, or already a NetworkRequestList primitive (the API's)
    if hasattr(value, "to_primitive"):
        return value.to_primitive()
    return [_primitive(v) for v in value]


def _bdms(value: Any, instance: Any) -> Any:
    """BDMs as Nova's BlockDeviceMappingList primitive (dicts of fields are wrapped)."""
    if value is None or isinstance(value, dict):
        return value
    from nova_tx.compute.block_device import bdm_list_primitive

    uuid = (instance.get("nova_object.data", instance).get("uuid")
            if isinstance(instance, dict) else getattr(instance, "uuid", None))
    return bdm_list_primitive([dict(b) for b in value], uuid)

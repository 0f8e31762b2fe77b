"""Exceptions with a class per meaning, as in Nova's ``nova/exception.py``.

Each class carries the HTTP status the REST layer answers with (``code``) and a message
template (``msg_fmt``) filled from keyword arguments, so the same error reads the same
whether it reaches a REST client, an RPC caller or ``nova-manage``.
"""


class NovaException(Exception):
    """Base class: formats ``msg_fmt`` with the keyword arguments it was raised with."""

    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs):
        self.kwargs = kwargs
        self.kwargs.setdefault("code", self.code)
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A missing keyword is a programming error, but the operator still
                # deserves the template rather than a second exception.
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def format_message(self) -> str:
        return self.args[0]


class Invalid(NovaException):
    msg_fmt = "Bad Request - Invalid Parameters"
    code = 400


class NotFound(NovaException):
    msg_fmt = "Resource could not be found."
    code = 404


class Conflict(NovaException):
    msg_fmt = "Conflict."
    code = 409


class ConfigError(NovaException):
    """Configuration that cannot be used; ends a command with a one-line message."""

    msg_fmt = "Invalid configuration: %(reason)s"


class CellMappingNotFound(NotFound):
    msg_fmt = "Cell %(uuid)s has no mapping."


class HostMappingNotFound(NotFound):
    msg_fmt = "Host '%(name)s' is not mapped to any cell"


class InstanceMappingNotFound(NotFound):
    msg_fmt = "Instance %(uuid)s has no mapping to a cell."


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class MarkerNotFound(NotFound):
    msg_fmt = "Marker %(marker)s could not be found."


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class HostBinaryNotFound(NotFound):
    msg_fmt = "Could not find binary %(binary)s on host %(host)s."


def one_line(error: BaseException) -> str:
    """An error's message on one line, for a log line or a command's last word."""
    message = error.format_message() if isinstance(error, NovaException) else str(error)
    return " ".join(message.split())


# NUMA, CPU pinning, huge pages and PCI affinity (spec/E §1.9). Each is raised while a
# flavor and an image are turned into a guest topology, so each is a 400 (Nova maps its
# Forbidden ones to 400 there too). Where Nova's message does not name the extra spec
# or image property at fault, ours does.

class InvalidRequest(Invalid):
    msg_fmt = "The request is invalid."


class FlavorImageConflict(Invalid):
    msg_fmt = ("Conflicting values for %(setting)s found in the flavor (%(flavor_val)s) "
               "and the image (%(image_val)s).")


class InvalidCPUAllocationPolicy(Invalid):
    msg_fmt = ("CPU policy requested from '%(source)s' (%(key)s) is invalid, "
               "given: '%(requested)s', available: '%(available)s'.")


class InvalidCPUThreadAllocationPolicy(Invalid):
    msg_fmt = ("CPU thread policy requested from '%(source)s' (%(key)s) is invalid, "
               "given: '%(requested)s', available: '%(available)s'.")


class InvalidEmulatorThreadsPolicy(Invalid):
    msg_fmt = ("CPU emulator threads option requested (hw:emulator_threads_policy) is "
               "invalid, given: '%(requested)s', available: '%(available)s'.")


class ImageCPUPinningForbidden(Invalid):
    msg_fmt = ("Image property 'hw_cpu_policy' is not permitted to override CPU pinning "
               "policy set against the flavor")


class ImageCPUThreadPolicyForbidden(Invalid):
    msg_fmt = ("Image property 'hw_cpu_thread_policy' is not permitted to override CPU "
               "thread pinning policy set against the flavor")


class CPUThreadPolicyConfigurationInvalid(Invalid):
    msg_fmt = ("Cannot set cpu thread pinning policy (%(key)s) in a non dedicated cpu "
               "pinning policy")


class BadRequirementEmulatorThreadsPolicy(Invalid):
    msg_fmt = ("An isolated CPU emulator threads option (hw:emulator_threads_policy) "
               "requires a dedicated CPU policy option.")


class RealtimeConfigurationInvalid(Invalid):
    msg_fmt = ("Cannot set realtime policy (hw:cpu_realtime) in a non dedicated cpu "
               "pinning policy")


class RealtimeMaskNotFoundOrInvalid(Invalid):
    msg_fmt = ("Use of realtime CPUs requires either one or more non-realtime CPU(s) or "
               "offloaded emulator threads (hw:cpu_realtime_mask, "
               "hw:emulator_threads_policy).")


class RequiredMixedInstancePolicy(Invalid):
    msg_fmt = "Cannot specify 'hw:cpu_dedicated_mask' without the 'mixed' policy."


class RequiredMixedOrRealtimeCPUMask(Invalid):
    msg_fmt = ("Must specify either 'hw:cpu_dedicated_mask' or 'hw:cpu_realtime_mask' "
               "when using 'mixed' CPU policy instance.")


class InvalidMixedInstanceDedicatedMask(Invalid):
    msg_fmt = ("Mixed instance must have at least 1 pinned vCPU and 1 unpinned vCPU. "
               "See 'hw:cpu_dedicated_mask' or 'hw:cpu_realtime_mask'.")


class ImageNUMATopologyIncomplete(Invalid):
    msg_fmt = ("CPU and memory allocation must be provided for all NUMA nodes "
               "(hw:numa_cpus.N and hw:numa_mem.N for N in 0..hw:numa_nodes-1)")


class ImageNUMATopologyForbidden(Invalid):
    msg_fmt = ("Image property '%(name)s' is not permitted to override NUMA "
               "configuration set against the flavor")


class ImageNUMATopologyAsymmetric(Invalid):
    msg_fmt = ("Instance CPUs and/or memory cannot be evenly distributed across instance "
               "NUMA nodes (hw:numa_nodes). Explicit assignment of CPUs and memory to "
               "nodes is required")


class ImageNUMATopologyCPUOutOfRange(Invalid):
    msg_fmt = "CPU number %(cpunum)d is larger than max %(cpumax)d (%(key)s)"


class ImageNUMATopologyCPUDuplicates(Invalid):
    msg_fmt = "CPU number %(cpunum)d is assigned to two nodes (%(key)s)"


class ImageNUMATopologyCPUsUnassigned(Invalid):
    msg_fmt = "CPU number %(cpuset)s is not assigned to any node (%(key)s)"


class ImageNUMATopologyMemoryOutOfRange(Invalid):
    msg_fmt = ("%(memsize)d MB of memory assigned, but expected %(memtotal)d MB "
               "(%(key)s)")


class InvalidNUMANodesNumber(Invalid):
    msg_fmt = ("The property 'numa_nodes' (%(key)s) cannot be '%(nodes)s'. It must be a "
               "number greater than 0")


class ImageVCPULimitsRangeExceeded(Invalid):
    msg_fmt = ("Image vCPU topology limits (sockets=%(image_sockets)d, "
               "cores=%(image_cores)d, threads=%(image_threads)d) exceeds the limits of "
               "the flavor (sockets=%(flavor_sockets)d, cores=%(flavor_cores)d, "
               "threads=%(flavor_threads)d) (hw_cpu_max_sockets, hw_cpu_max_cores, "
               "hw_cpu_max_threads)")


class ImageVCPUTopologyRangeExceeded(Invalid):
    msg_fmt = ("Image vCPU topology (sockets=%(image_sockets)d, cores=%(image_cores)d, "
               "threads=%(image_threads)d) exceeds the limits of the flavor or image "
               "(sockets=%(max_sockets)d, cores=%(max_cores)d, threads=%(max_threads)d) "
               "(hw_cpu_sockets, hw_cpu_cores, hw_cpu_threads)")


class ImageVCPULimitsRangeImpossible(Invalid):
    msg_fmt = ("Requested vCPU limits %(sockets)d:%(cores)d:%(threads)d are impossible "
               "to satisfy for vcpus count %(vcpus)d")


class MemoryPageSizeInvalid(Invalid):
    msg_fmt = "Invalid memory page size '%(pagesize)s' (%(key)s)"


class MemoryPageSizeForbidden(Invalid):
    msg_fmt = ("Page size %(pagesize)s forbidden against '%(against)s' "
               "(hw_mem_page_size against hw:mem_page_size)")


class MemoryPageSizeNotSupported(Invalid):
    msg_fmt = "Page size %(pagesize)s is not supported by the host."


class FlavorImageLockedMemoryConflict(Invalid):
    msg_fmt = ("locked_memory value in image (%(image)s) and flavor (%(flavor)s) "
               "conflict. A consistent value is expected if both specified "
               "(hw_locked_memory, hw:locked_memory).")


class LockMemoryForbidden(Invalid):
    msg_fmt = ("locked_memory value in image or flavor is forbidden when mem_page_size "
               "is not set (hw:locked_memory, hw:mem_page_size).")


class ImagePCINUMAPolicyForbidden(Invalid):
    msg_fmt = ("Image property 'hw_pci_numa_affinity_policy' is not permitted to "
               "override the 'hw:pci_numa_affinity_policy' flavor extra spec.")


class InvalidPCINUMAAffinity(Invalid):
    msg_fmt = "Invalid PCI NUMA affinity configured (%(key)s): %(policy)s"


class PciInvalidAlias(Invalid):
    msg_fmt = "Invalid PCI alias definition: %(reason)s"


class PciRequestAliasNotDefined(Invalid):
    msg_fmt = "PCI alias %(alias)s is not defined"


class InvalidReservedMemoryPagesOption(Invalid):
    msg_fmt = ("The format of the option 'reserved_huge_pages' is invalid. (found "
               "'%(conf)s') Please refer to the nova config-reference.")


class CPUPinningInvalid(Invalid):
    msg_fmt = ("CPU set to pin %(requested)s must be a subset of free CPU set "
               "%(available)s")


class CPUPinningUnknown(Invalid):
    msg_fmt = ("CPU set to pin %(requested)s must be a subset of known CPU set "
               "%(available)s")


class CPUUnpinningInvalid(Invalid):
    msg_fmt = ("CPU set to unpin %(requested)s must be a subset of pinned CPU set "
               "%(available)s")


class CPUUnpinningUnknown(Invalid):
    msg_fmt = ("CPU set to unpin %(requested)s must be a subset of known CPU set "
               "%(available)s")


class ServiceTooOld(NovaException):
    """The deployment still runs a service older than this code can talk to."""

    msg_fmt = ("The oldest %(binary)s in the deployment has service version %(minver)i; "
               "this service (version %(thisver)i) talks to %(oldest)i and newer. Upgrade "
               "it or pin [upgrade_levels] to its release.")


class ServiceTooNew(NovaException):
    """Every running service is newer than this code knows: this one is too old."""

    msg_fmt = ("The oldest %(binary)s in the deployment has service version %(minver)i, "
               "newer than this service (version %(thisver)i) knows. Unable to continue; "
               "upgrade this service.")


class Forbidden(NovaException):
    msg_fmt = "Forbidden"
    code = 403


class PolicyNotAuthorized(Forbidden):
    """A policy rule denied the caller (``nova_tx.policy.authorize``)."""

    msg_fmt = "Policy doesn't allow %(action)s to be performed."


# The compute API's request pipeline (nova_tx.api): each maps to its status in
# nova_tx.api.compute.faults through ``code``.

class Unauthorized(NovaException):
    """No credentials, or credentials the authenticator rejects (401)."""

    msg_fmt = "The request you have made requires authentication."
    code = 401


class InvalidInput(Invalid):
    msg_fmt = "Invalid input received: %(reason)s"


class ValidationError(Invalid):
    msg_fmt = "%(detail)s"


class InvalidName(Invalid):
    msg_fmt = "An invalid 'name' value was provided. The name must be: %(reason)s"


class InvalidAPIVersionString(Invalid):
    msg_fmt = ("API Version String %(version)s is of invalid format. Must be of format "
               "MajorNum.MinorNum.")


class InvalidGlobalAPIVersion(Invalid):
    msg_fmt = ("Version %(req_ver)s is not supported by the API. Minimum is %(min_ver)s "
               "and maximum is %(max_ver)s.")
    code = 406


class VersionNotFoundForAPIMethod(NotFound):
    """The route exists, but not at the requested microversion; Nova answers 404 with
    webob's text."""

    msg_fmt = "The resource could not be found."


class MalformedRequestBody(Invalid):
    msg_fmt = "Malformed request body"


class InvalidContentType(Invalid):
    msg_fmt = "Unsupported Content-Type"
    code = 415


class RequestBodyTooLarge(NovaException):
    msg_fmt = "Request is too large."
    code = 413


# Flavors (nova_tx.compute.flavors, the flavor resources of the compute API).

class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorExists(Conflict):
    msg_fmt = "Flavor with name %(name)s already exists."


class FlavorIdExists(Conflict):
    msg_fmt = "Flavor with ID %(flavor_id)s already exists."


class FlavorAccessExists(Conflict):
    msg_fmt = ("Flavor access already exists for flavor %(flavor_id)s and project "
               "%(project_id)s combination.")


class FlavorAccessNotFound(NotFound):
    msg_fmt = "Flavor access not found for %(flavor_id)s / %(project_id)s combination."


class FlavorExtraSpecsNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s has no extra specs with key %(extra_specs_key)s."


# Key pairs and quotas (nova_tx.compute.keypairs, nova_tx.quota).

class KeypairNotFound(NotFound):
    msg_fmt = "Keypair %(name)s not found for user %(user_id)s"


class KeyPairExists(Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class InvalidKeypair(Invalid):
    msg_fmt = "Keypair data is invalid: %(reason)s"


class QuotaNotFound(NotFound):
    msg_fmt = "Quota could not be found"


class QuotaResourceUnknown(QuotaNotFound):
    msg_fmt = "Unknown quota resources %(unknown)s."


class InvalidQuotaValue(Invalid):
    msg_fmt = ("Change would make usage less than 0 for the following resources: "
               "%(unders)s")


class InvalidQuotaMethodUsage(Invalid):
    msg_fmt = "Wrong quota method %(method)s used on resource %(res)s"


class OverQuota(NovaException):
    """A quota check failed; ``overs``, ``quotas``, ``usages`` and ``headroom`` are in
    ``kwargs`` for callers that word their own message (TooManyInstances)."""

    msg_fmt = "Quota exceeded for resources: %(overs)s"
    code = 403


class TooManyInstances(OverQuota):
    msg_fmt = ("Quota exceeded for %(overs)s: Requested %(req)s, but already used "
               "%(used)s of %(allowed)s %(overs)s")


class MetadataLimitExceeded(OverQuota):
    msg_fmt = "Maximum number of metadata items exceeds %(allowed)d"


class OnsetFileLimitExceeded(OverQuota):
    msg_fmt = "Personality file limit exceeded"


class OnsetFilePathLimitExceeded(OnsetFileLimitExceeded):
    msg_fmt = "Personality file path exceeds maximum %(allowed)s"


class OnsetFileContentLimitExceeded(OnsetFileLimitExceeded):
    msg_fmt = "Personality file content exceeds maximum %(allowed)s"


class KeypairLimitExceeded(OverQuota):
    msg_fmt = "Quota exceeded, too many key pairs."


class ServerGroupLimitExceeded(OverQuota):
    msg_fmt = "Quota exceeded, too many server groups."


# Scheduling (nova_tx.scheduler.request_filter, nova_tx.scheduler.resource_request).

class NoValidHost(NovaException):
    msg_fmt = "No valid host was found. %(reason)s"


class RequestFilterFailed(NovaException):
    msg_fmt = "Scheduling failed: %(reason)s"


class MaxRetriesExceeded(NoValidHost):
    msg_fmt = "Exceeded maximum number of retries. %(reason)s"


class RequestGroupSuffixConflict(NovaException):
    msg_fmt = "Duplicate request group suffix %(suffix)s."


class InvalidRoutedNetworkConfiguration(NovaException):
    msg_fmt = "Invalid routed network configuration: %(reason)s"


# -- scheduler: filters and weighers -----------------------------------------------------


class ClassNotFound(NotFound):
    msg_fmt = "Class %(class_name)s could not be found: %(exception)s"


class SchedulerHostFilterNotFound(NotFound):
    msg_fmt = "Scheduler Host Filter %(filter_name)s could not be found."


class ComputeHostMetricNotFound(NotFound):
    msg_fmt = "Metric %(name)s could not be found on the compute host node %(host)s.%(node)s."


class RequestSpecNotFound(NotFound):
    msg_fmt = "RequestSpec not found for instance %(instance_uuid)s"


# Server groups (nova_tx.compute.server_groups).

class InstanceGroupNotFound(NotFound):
    msg_fmt = "Instance group %(group_uuid)s could not be found."


class InstanceGroupIdExists(Conflict):
    msg_fmt = "Instance group %(group_uuid)s already exists."


class ServerGroupMembersLimitExceeded(OverQuota):
    msg_fmt = "Quota exceeded, too many servers in group"


# -- POST /servers: block device mappings, image and flavor checks, networks -------------

class InvalidBDM(Invalid):
    msg_fmt = "Block Device Mapping is Invalid."


class InvalidBDMSnapshot(InvalidBDM):
    msg_fmt = "Block Device Mapping is Invalid: failed to get snapshot %(id)s."


class InvalidBDMVolume(InvalidBDM):
    msg_fmt = "Block Device Mapping is Invalid: failed to get volume %(id)s."


class InvalidBDMImage(InvalidBDM):
    msg_fmt = "Block Device Mapping is Invalid: failed to get image %(id)s."


class InvalidBDMBootSequence(InvalidBDM):
    msg_fmt = ("Block Device Mapping is Invalid: Boot sequence for the instance and "
               "image/block device mapping combination is not valid.")


class InvalidBDMLocalsLimit(InvalidBDM):
    msg_fmt = ("Block Device Mapping is Invalid: You specified more local devices than "
               "the limit allows")


class InvalidBDMEphemeralSize(InvalidBDM):
    msg_fmt = ("Ephemeral disks requested are larger than the instance type allows. If "
               "no size is given in one block device mapping, flavor ephemeral size will "
               "be used.")


class InvalidBDMSwapSize(InvalidBDM):
    msg_fmt = "Swap drive requested is larger than instance type allows."


class InvalidBDMFormat(InvalidBDM):
    msg_fmt = "Block Device Mapping is Invalid: %(details)s"


class InvalidBDMDiskBus(InvalidBDM):
    msg_fmt = "Block Device Mapping is Invalid: Unrecognized disk bus %(disk_bus)s."


class VolumeTypeNotFound(NotFound):
    msg_fmt = "Volume type %(id_or_name)s could not be found."


class FlavorMemoryTooSmall(Invalid):
    msg_fmt = "Flavor's memory is too small for requested image."


class FlavorDiskTooSmall(Invalid):
    msg_fmt = "The created instance's disk would be too small."


class FlavorDiskSmallerThanImage(FlavorDiskTooSmall):
    msg_fmt = ("Flavor's disk is too small for requested image. Flavor disk is "
               "%(flavor_size)i bytes, image is %(image_size)i bytes.")


class FlavorDiskSmallerThanMinDisk(FlavorDiskTooSmall):
    msg_fmt = ("Flavor's disk is smaller than the minimum size specified in image "
               "metadata. Flavor disk is %(flavor_size)i bytes, minimum size is "
               "%(image_min_disk)i bytes.")


class VolumeSmallerThanMinDisk(FlavorDiskTooSmall):
    msg_fmt = ("Volume is smaller than the minimum size specified in image metadata. "
               "Volume size is %(volume_size)i bytes, minimum size is "
               "%(image_min_disk)i bytes.")


class BootFromVolumeRequiredForZeroDiskFlavor(Forbidden):
    msg_fmt = "Only volume-backed servers are allowed for flavors with zero disk."


class InvalidImageConfigDrive(Invalid):
    msg_fmt = "Image's config drive option '%(config_drive)s' is invalid"


class AutoDiskConfigDisabledByImage(Invalid):
    msg_fmt = "Requested image %(image)s has automatic disk resize disabled."


class CertificateValidationFailed(Invalid):
    msg_fmt = ("Image signature certificate validation failed for certificate: "
               "%(cert_uuid)s. %(reason)s")


class AmbiguousHostnameForMultipleInstances(Invalid):
    msg_fmt = "Unable to allocate a single hostname to multiple instances"


class InvalidFixedIpAndMaxCountRequest(Invalid):
    msg_fmt = "Failed to launch instances: %(reason)s"


class MultiplePortsNotApplicable(Invalid):
    msg_fmt = "Failed to launch instances: %(reason)s"


class UnableToAutoAllocateNetwork(Invalid):
    msg_fmt = "Unable to automatically allocate a network for project %(project_id)s"


class ExternalNetworkAttachForbidden(Forbidden):
    msg_fmt = "It is not allowed to create an interface on external network %(network_uuid)s"


class InvalidVolume(Invalid):
    msg_fmt = "Invalid volume: %(reason)s"


# -- servers: instances, build requests, actions, tags, metadata ---------------------------


class InstanceUpdateConflict(Conflict):
    """An update whose expected states were no longer current (the compare-and-swap of
    ``instances.update`` lost); Nova's handlers answer it with 409."""

    msg_fmt = ("Conflict updating instance %(instance_uuid)s. Expected: %(expected)s. "
               "Actual: %(actual)s")


class UnexpectedTaskStateError(InstanceUpdateConflict):
    pass


class UnexpectedDeletingTaskStateError(UnexpectedTaskStateError):
    pass


class InstanceInvalidState(Invalid):
    msg_fmt = ("Instance %(instance_uuid)s in %(attr)s %(state)s. Cannot %(method)s while "
               "the instance is in this state.")


class InstanceIsLocked(InstanceInvalidState):
    msg_fmt = "Instance %(instance_uuid)s is locked"


class InstanceNotReady(Conflict):
    msg_fmt = "Instance %(instance_id)s is not ready"


class NotImplementedYet(NovaException):
    """What a driver cannot do (Nova answers 501 for it)."""

    msg_fmt = "Not implemented."
    code = 501


class BuildRequestNotFound(NotFound):
    msg_fmt = "BuildRequest not found for instance %(uuid)s"


class InstanceActionNotFound(NotFound):
    msg_fmt = "Action for request_id %(request_id)s on instance %(instance_uuid)s not found"


class InstanceActionEventNotFound(NotFound):
    msg_fmt = "Event %(event)s not found for action id %(action_id)s"


class InstanceTagNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s has no tag '%(tag)s'"


class TooManyInstanceTags(Invalid):
    msg_fmt = "The number of tags exceeded the per-server limit %(limit)d"


class InvalidMetadata(Invalid):
    msg_fmt = "Invalid metadata: %(reason)s"


class InvalidMetadataSize(Invalid):
    msg_fmt = "Invalid metadata size: %(reason)s"


class InvalidSortKey(Invalid):
    msg_fmt = "Sort key supplied was not valid."


# -- operator API: aggregates, services, hypervisors (nova_tx.compute.aggregates,
# nova_tx.compute.host_api and their resources) --------------------------------------

class AggregateNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_name)s already exists."


class AggregateHostNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s has no host %(host)s."


class AggregateHostExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class InvalidAggregateAction(Invalid):
    msg_fmt = "Unacceptable parameters."


class InvalidAggregateActionAdd(InvalidAggregateAction):
    msg_fmt = "Cannot add host to aggregate %(aggregate_id)s. Reason: %(reason)s."


class InvalidAggregateActionDelete(InvalidAggregateAction):
    msg_fmt = "Cannot remove host from aggregate %(aggregate_id)s. Reason: %(reason)s."


class InvalidAggregateActionUpdate(InvalidAggregateAction):
    msg_fmt = "Cannot update aggregate %(aggregate_id)s. Reason: %(reason)s."


class InvalidAggregateActionUpdateMeta(InvalidAggregateAction):
    msg_fmt = "Cannot update metadata of aggregate %(aggregate_id)s. Reason: %(reason)s."


class HostNotFound(NotFound):
    msg_fmt = "Host %(host)s could not be found."


class ComputeHostNotFound(HostNotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class ComputeServiceUnavailable(Invalid):
    msg_fmt = "Compute service of %(host)s is unavailable at this time."


class ComputeServiceInUse(Conflict):
    """A compute service that cannot be deleted yet; the reason is Nova's message."""

    msg_fmt = "%(reason)s"


class ServiceNotUnique(Invalid):
    msg_fmt = "More than one possible service found."


class ResourceProviderNotFound(NotFound):
    msg_fmt = "No such resource provider %(name_or_uuid)s."


class ResourceProviderUpdateConflict(Conflict):
    msg_fmt = ("A conflict was encountered attempting to update resource provider "
               "%(uuid)s (generation %(generation)d): %(error)s. Please retry your "
               "request.")


class PlacementAPIError(NovaException):
    """Placement answered something the caller cannot use (a 5xx, an unexpected
    status); the message says which call and what came back."""

    msg_fmt = "Placement API call %(call)s failed: %(status)s %(text)s"


class PortRequiresFixedIP(Invalid):
    msg_fmt = "Port %(port_id)s requires a FixedIP in order to be used."


class NetworkRequiresSubnet(Invalid):
    msg_fmt = ("Network %(network_uuid)s requires a subnet in order to boot instances "
               "on.")


class AllocationDeleteFailed(NovaException):
    msg_fmt = "Failed to delete allocations for consumer %(consumer_uuid)s. Error: %(error)s"
    code = 409


# The compute node (issue 9): resource tracking and provider config files.

class ComputeResourcesUnavailable(NovaException):
    """A claim no longer fits the host (the build is rescheduled)."""

    msg_fmt = "Insufficient compute resources: %(reason)s."


class ProviderConfigException(NovaException):
    """A provider config file (``[compute] provider_config_location``) that
    nova-compute cannot use: the service does not start."""

    msg_fmt = "An error occurred while processing a provider config file: %(error)s"

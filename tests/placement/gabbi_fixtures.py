"""Gabbi fixtures equivalent to Placement's own, built through the REST API.

Placement's gabbi files (``../shared/reference/placement-gabbits``) name fixtures from
upstream's ``placement/tests/functional/fixtures/gabbits.py``, which write providers,
inventories, traits, aggregates and allocations straight into Placement's database and
export the UUIDs the YAML refers to (``$ENVIRON['RP_UUID']``, ``SS_UUID``, ...). The
classes here have the same names and leave the same state and the same environment
variables, but make every change with HTTP requests against the Placement under test,
so they work against any Placement: the real one (:mod:`tests.placement.real_placement`)
or ours.

Where the API and a direct database write differ, the requests are chosen to leave
what upstream's fixture leaves:

- aggregates are set with microversion 1.18 (a plain list), which, like upstream's
  ``set_aggregates``, does not bump the provider generation; an inventory added, a
  trait set and an allocation written each bump it, as they do upstream;
- allocations are written with microversion 1.37, so that, like upstream's consumers,
  the fixture's consumers have no consumer type.

What cannot be reached through the API is configuration (policy rules, enforcement of
the new defaults, CORS): each fixture class names, in ``server_config``, the
configuration its Placement must be started with (``tests.placement.real_placement``
knows how to start the real one so). The database is emptied before each gabbi file by
whoever provides the server (``fresh_placement`` in :mod:`tests.placement.gabbi_runner`).

The fixtures are used through :func:`bound`, which gives gabbi a "fixture module"
whose classes send their requests to one base URL.
"""
from __future__ import annotations

import json
import os
import types
import urllib.error
import urllib.request
import uuid as uuidlib

from gabbi import fixture

# Every admin request the fixtures make carries these.
ADMIN_HEADERS = {"x-auth-token": "admin", "content-type": "application/json",
                 "accept": "application/json"}

# A name -> UUID that stays the same for the whole run, as oslo's uuidsentinel does
# for upstream (``uuids.cn1`` is the same UUID in every fixture of a process).
_sentinels: dict[str, str] = {}


def sentinel(name: str) -> str:
    return _sentinels.setdefault(name, str(uuidlib.uuid4()))


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class FixtureRequestError(Exception):
    """A request a fixture made was refused by the Placement under test."""


class Client:
    """The few Placement requests the fixtures need, as the admin."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, body=None, version: str = "1.20"):
        headers = dict(ADMIN_HEADERS, **{"openstack-api-version": f"placement {version}"})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as e:
            raise FixtureRequestError(
                f"{method} {path} ({version}) -> {e.code}: "
                f"{e.read().decode(errors='replace')[:500]}") from None
        return json.loads(payload) if payload else None

    # -- provider state -----------------------------------------------------------

    def generation(self, rp_uuid: str) -> int:
        return self.request("GET", f"/resource_providers/{rp_uuid}")["generation"]

    def create_provider(self, name: str, *aggregates: str, uuid: str | None = None,
                        parent: str | None = None) -> str:
        """Create a provider (UUID by default the run's sentinel for ``name``)."""
        rp_uuid = uuid or sentinel(name)
        body = {"name": name, "uuid": rp_uuid}
        if parent:
            body["parent_provider_uuid"] = parent
        self.request("POST", "/resource_providers", body)
        if aggregates:
            self.set_aggregates(rp_uuid, *aggregates)
        return rp_uuid

    def set_aggregates(self, rp_uuid: str, *aggregates: str) -> None:
        # 1.18: the body is the list alone and the generation is not bumped.
        self.request("PUT", f"/resource_providers/{rp_uuid}/aggregates",
                     list(aggregates), version="1.18")

    def ensure_resource_class(self, name: str) -> None:
        if name.startswith("CUSTOM_"):
            self.request("PUT", f"/resource_classes/{name}", version="1.7")

    def add_inventory(self, rp_uuid: str, resource_class: str, total: int,
                      **fields) -> None:
        """Add one inventory record, ``max_unit`` defaulting to ``total``."""
        self.ensure_resource_class(resource_class)
        fields.setdefault("max_unit", total)
        body = {"resource_class": resource_class, "total": total,
                "resource_provider_generation": self.generation(rp_uuid), **fields}
        self.request("POST", f"/resource_providers/{rp_uuid}/inventories", body)

    def set_traits(self, rp_uuid: str, *traits: str) -> None:
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                self.request("PUT", f"/traits/{trait}", version="1.6")
        body = {"traits": list(traits),
                "resource_provider_generation": self.generation(rp_uuid)}
        self.request("PUT", f"/resource_providers/{rp_uuid}/traits", body, version="1.6")

    def set_allocation(self, consumer: str, rp_uuid: str, resources: dict[str, int],
                       project_id: str, user_id: str) -> None:
        """Write ``consumer``'s allocations (a new consumer) against one provider."""
        body = {"allocations": {rp_uuid: {"resources": resources}},
                "project_id": project_id, "user_id": user_id,
                "consumer_generation": None}
        self.request("PUT", f"/allocations/{consumer}", body, version="1.37")


class APIFixture(fixture.GabbiFixture):
    """An empty Placement, and the environment every gabbi file may refer to."""

    # The configuration of the Placement this fixture needs (see real_placement).
    server_config = "default"
    # The Placement's base URL; set on the classes :func:`bound` returns.
    base_url: str | None = None

    def start_fixture(self) -> None:
        if self.base_url is None:
            raise RuntimeError("use the fixture classes from gabbi_fixtures.bound(url)")
        self.client = Client(self.base_url)
        for name in ("RP_UUID", "RP_NAME", "RP_UUID1", "RP_NAME1", "RP_UUID2", "RP_NAME2",
                     "PROJECT_ID", "ADMIN_PROJECT_ID", "SERVICE_PROJECT_ID", "USER_ID",
                     "PROJECT_ID_ALT", "USER_ID_ALT", "INSTANCE_UUID", "MIGRATION_UUID",
                     "CONSUMER_UUID", "PARENT_PROVIDER_UUID", "ALT_PARENT_PROVIDER_UUID"):
            os.environ[name] = new_uuid()
        os.environ["CUSTOM_RES_CLASS"] = "CUSTOM_IRON_NFV"
        os.environ["CUSTOM_RES_CLASS1"] = "CUSTOM_IRON_NFV1"
        os.environ["CUSTOM_RES_CLASS2"] = "CUSTOM_IRON_NFV2"
        self.make_entities()

    def make_entities(self) -> None:
        """Subclasses create their providers here."""

    def stop_fixture(self) -> None:
        pass


class OpenPolicyFixture(APIFixture):
    """Every policy rule but ``admin_api`` allows anyone."""

    server_config = "open_policy"


class LegacyRBACPolicyFixture(APIFixture):
    """The deprecated (pre secure-RBAC) policy defaults: Placement's default here."""


class SecureRBACPolicyFixture(APIFixture):
    """``[oslo_policy] enforce_new_defaults = True``."""

    server_config = "secure_rbac"


class CORSFixture(APIFixture):
    """CORS on for ``http://valid.example.com``, allowing ``openstack-api-version``."""

    server_config = "cors"


class AllocationFixture(APIFixture):
    """One provider (``RP_UUID``: VCPU 10, DISK_GB 2048 in steps of 10) and three
    consumers on it: ``CONSUMER_0`` (DISK_GB 1000) and ``CONSUMER_ID`` (VCPU 6) of
    ``USER_ID``, ``ALT_CONSUMER_ID`` (DISK_GB 20, VCPU 1) of ``ALT_USER_ID``, all of
    ``PROJECT_ID``. ``ALT_RP_UUID``/``ALT_RP_NAME`` name a provider not created."""

    def make_entities(self) -> None:
        c = self.client
        os.environ["ALT_USER_ID"] = new_uuid()
        project, user, alt_user = (os.environ["PROJECT_ID"], os.environ["USER_ID"],
                                   os.environ["ALT_USER_ID"])
        rp = c.create_provider(os.environ["RP_NAME"], uuid=os.environ["RP_UUID"])
        c.add_inventory(rp, "DISK_GB", 2048, step_size=10, min_unit=10, max_unit=1000)
        c.add_inventory(rp, "VCPU", 10, max_unit=10)
        for env, owner, resources in (("CONSUMER_0", user, {"DISK_GB": 1000}),
                                      ("CONSUMER_ID", user, {"VCPU": 6}),
                                      ("ALT_CONSUMER_ID", alt_user,
                                       {"DISK_GB": 20, "VCPU": 1})):
            os.environ[env] = new_uuid()
            c.set_allocation(os.environ[env], rp, resources, project, owner)
        os.environ["ALT_RP_UUID"] = new_uuid()
        os.environ["ALT_RP_NAME"] = new_uuid()


class SharedStorageFixture(APIFixture):
    """Compute nodes cn1 (VCPU, MEMORY_MB; SSE traits) and cn2 (VCPU, MEMORY_MB,
    DISK_GB) and sharing providers ss and ss2 (DISK_GB) in aggregate ``AGG_UUID``;
    each compute node has two NUMA children, each with one PF child (SRIOV_NET_VF 8)."""

    def make_entities(self) -> None:
        c = self.client
        agg = os.environ["AGG_UUID"] = new_uuid()
        tops = {name: c.create_provider(name, agg) for name in ("cn1", "cn2", "ss", "ss2")}
        for name, rp in tops.items():
            os.environ[f"{name.upper()}_UUID"] = rp
        pairs = [(cn, n) for cn in ("1", "2") for n in ("1", "2")]
        for cn, n in pairs:
            os.environ[f"NUMA{cn}_{n}_UUID"] = c.create_provider(
                f"numa{cn}_{n}", parent=tops[f"cn{cn}"])
        for cn, n in pairs:
            os.environ[f"PF{cn}_{n}_UUID"] = c.create_provider(
                f"pf{cn}_{n}", parent=os.environ[f"NUMA{cn}_{n}_UUID"])
        for cn in ("cn1", "cn2"):
            c.add_inventory(tops[cn], "VCPU", 24, allocation_ratio=16.0)
            c.add_inventory(tops[cn], "MEMORY_MB", 128 * 1024, allocation_ratio=1.5)
        c.set_traits(tops["cn1"], "HW_CPU_X86_SSE", "HW_CPU_X86_SSE2")
        c.add_inventory(tops["cn2"], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
        for ss in ("ss", "ss2"):
            c.add_inventory(tops[ss], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
            c.set_traits(tops[ss], "MISC_SHARES_VIA_AGGREGATE")
        for cn, n in pairs:
            c.add_inventory(os.environ[f"PF{cn}_{n}_UUID"], "SRIOV_NET_VF", 8,
                            allocation_ratio=1.0)


class NUMAAggregateFixture(APIFixture):
    """Compute nodes without inventory, cn1 (aggregate A) and cn2 (A and B), each with
    two NUMA children of VCPU 24; sharing ss1 (DISK_GB, aggregate A) and ss2
    (DISK_GB, aggregate C, which numa1_1 is in too)."""

    def make_entities(self) -> None:
        c = self.client
        agg_a, agg_b, agg_c = new_uuid(), new_uuid(), new_uuid()
        os.environ.update(AGGA_UUID=agg_a, AGGB_UUID=agg_b, AGGC_UUID=agg_c)
        cn1 = c.create_provider("cn1", agg_a)
        cn2 = c.create_provider("cn2", agg_a, agg_b)
        ss1 = c.create_provider("ss1", agg_a)
        ss2 = c.create_provider("ss2", agg_c)
        numas = {"1_1": c.create_provider("numa1_1", agg_c, parent=cn1),
                 "1_2": c.create_provider("numa1_2", parent=cn1),
                 "2_1": c.create_provider("numa2_1", parent=cn2),
                 "2_2": c.create_provider("numa2_2", parent=cn2)}
        os.environ.update(CN1_UUID=cn1, CN2_UUID=cn2, SS1_UUID=ss1, SS2_UUID=ss2)
        for suffix, numa in numas.items():
            os.environ[f"NUMA{suffix}_UUID"] = numa
            c.add_inventory(numa, "VCPU", 24, allocation_ratio=16.0)
        for ss in (ss1, ss2):
            c.add_inventory(ss, "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
            c.set_traits(ss, "MISC_SHARES_VIA_AGGREGATE")


class NonSharedStorageFixture(APIFixture):
    """Three compute nodes cn1..cn3, each with VCPU 24, MEMORY_MB 128G, DISK_GB 2000;
    three aggregate UUIDs exported but not used."""

    def make_entities(self) -> None:
        c = self.client
        for letter in "ABC":
            os.environ[f"AGG{letter}_UUID"] = new_uuid()
        for i in (1, 2, 3):
            cn = os.environ[f"CN{i}_UUID"] = c.create_provider(f"cn{i}")
            c.add_inventory(cn, "VCPU", 24)
            c.add_inventory(cn, "MEMORY_MB", 128 * 1024)
            c.add_inventory(cn, "DISK_GB", 2000)


class NUMANetworkFixture(APIFixture):
    """cn1 (no inventory; NUMA children with VCPU/MEMORY_MB and FPGA/VGPU devices, an
    SR-IOV and an OVS agent with bandwidth devices) and cn2 (VCPU, MEMORY_MB, DISK_GB;
    three NIC children with PFs of CUSTOM_VF), sharing DISK_GB from ss1 through
    aggregate A. Two consumers of project ``numafx-project`` use VCPU 2 of numa0 and
    VCPU 3 of cn2."""

    def make_entities(self) -> None:
        self.make_network_entities()

    def make_network_entities(self, cn1: str | None = None, cn2: str | None = None) -> None:
        c = self.client
        agg_a = os.environ["AGGA_UUID"] = new_uuid()
        ss1 = os.environ["SS1_UUID"] = c.create_provider("ss1", agg_a)
        c.set_traits(ss1, "MISC_SHARES_VIA_AGGREGATE")
        c.add_inventory(ss1, "DISK_GB", 2000)

        cn1 = cn1 or c.create_provider("cn1", agg_a)
        c.set_aggregates(cn1, agg_a)
        c.set_traits(cn1, "COMPUTE_VOLUME_MULTI_ATTACH")
        os.environ["CN1_UUID"] = cn1
        numas = []
        for i in (0, 1):
            numa = os.environ[f"NUMA{i}_UUID"] = c.create_provider(f"numa{i}", parent=cn1)
            c.set_traits(numa, "HW_NUMA_ROOT", *(("CUSTOM_FOO",) if i == 1 else ()))
            c.add_inventory(numa, "VCPU", 4)
            numas.append(numa)
        c.add_inventory(numas[0], "MEMORY_MB", 2048, min_unit=512, step_size=256)
        c.add_inventory(numas[1], "MEMORY_MB", 2048, min_unit=256, max_unit=1024)
        project, user = "numafx-project", "numafx-user"
        c.set_allocation(new_uuid(), numas[0], {"VCPU": 2}, project, user)

        fpga = os.environ["FPGA0_UUID"] = c.create_provider("fpga0", parent=numas[0])
        c.add_inventory(fpga, "FPGA", 1)
        pgpu = os.environ["PGPU0_UUID"] = c.create_provider("pgpu0", parent=numas[0])
        c.add_inventory(pgpu, "VGPU", 8)
        for i in (0, 1):
            fpga = c.create_provider(f"fpga1_{i}", parent=numas[1])
            os.environ[f"FPGA1_{i}_UUID"] = fpga
            c.add_inventory(fpga, "FPGA", 1)

        sriov = os.environ["SRIOV_AGENT_UUID"] = c.create_provider("sriov_agent", parent=cn1)
        c.set_traits(sriov, "CUSTOM_VNIC_TYPE_DIRECT")
        for i in (1, 2):
            esn = os.environ[f"ESN{i}_UUID"] = c.create_provider(f"esn{i}", parent=sriov)
            c.set_traits(esn, f"CUSTOM_PHYSNET{i}")
            c.add_inventory(esn, "NET_BW_EGR_KILOBIT_PER_SEC", 10000 * i)
        ovs = os.environ["OVS_AGENT_UUID"] = c.create_provider("ovs_agent", parent=cn1)
        c.set_traits(ovs, "CUSTOM_VNIC_TYPE_NORMAL")
        br_int = os.environ["BR_INT_UUID"] = c.create_provider("br_int", parent=ovs)
        c.set_traits(br_int, "CUSTOM_PHYSNET0")
        c.add_inventory(br_int, "NET_BW_EGR_KILOBIT_PER_SEC", 1000)

        cn2 = cn2 or c.create_provider("cn2")
        c.set_aggregates(cn2, agg_a)
        c.add_inventory(cn2, "VCPU", 8)
        c.set_allocation(new_uuid(), cn2, {"VCPU": 3}, project, user)
        c.add_inventory(cn2, "MEMORY_MB", 2048, min_unit=1024, step_size=128)
        c.add_inventory(cn2, "DISK_GB", 1000)
        c.set_traits(cn2, "CUSTOM_FOO")
        os.environ["CN2_UUID"] = cn2
        nics = []
        for i in (1, 2, 3):
            nic = os.environ[f"NIC{i}_UUID"] = c.create_provider(f"nic{i}", parent=cn2)
            c.set_traits(nic, "CUSTOM_HW_NIC_ROOT")
            nics.append(nic)
        # (NIC, PF suffix, physnet, VFs)
        pfs = [(0, "1_1", 1, 4), (0, "1_2", 2, 4),
               (1, "2_1", 1, 2), (1, "2_2", 2, 2), (1, "2_3", 1, 2), (1, "2_4", 2, 2),
               (2, "3_1", 1, 8)]
        for nic, suffix, physnet, vfs in pfs:
            pf = os.environ[f"PF{suffix}_UUID"] = c.create_provider(
                f"pf{suffix}", parent=nics[nic])
            c.set_traits(pf, f"CUSTOM_PHYSNET{physnet}")
            c.add_inventory(pf, "CUSTOM_VF", vfs)


class DeepNUMANetworkFixture(NUMANetworkFixture):
    """NUMANetworkFixture with cn1 and cn2 under parents p1 and p2 of root gp1."""

    def make_entities(self) -> None:
        c = self.client
        gp1 = c.create_provider("gp1")
        p1 = c.create_provider("p1", parent=gp1)
        p2 = c.create_provider("p2", parent=gp1)
        self.make_network_entities(cn1=c.create_provider("cn1", parent=p1),
                                   cn2=c.create_provider("cn2", parent=p2))


class GranularFixture(APIFixture):
    """cn_left (aggregate A), cn_middle (A, B) and cn_right (B, C) with VCPU,
    MEMORY_MB and various disk, GPU and network resources and traits; sharing
    providers shr_disk_1 (A), shr_disk_2 (A, B) and shr_net (C)."""

    def make_entities(self) -> None:
        c = self.client
        c.ensure_resource_class("CUSTOM_NET_MBPS")
        agg = {letter: sentinel("agg" + letter) for letter in "ABC"}
        os.environ.update(AGGA=agg["A"], AGGB=agg["B"], AGGC=agg["C"])
        layout = [
            ("cn_left", "CN_LEFT", ("A",),
             [("VCPU", 8, {}), ("MEMORY_MB", 4096, {}), ("DISK_GB", 500, {}),
              ("VGPU", 8, {}), ("SRIOV_NET_VF", 8, {}), ("CUSTOM_NET_MBPS", 4000, {})],
             ("HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_GPU_API_DXVA", "HW_NIC_DCB_PFC",
              "CUSTOM_FOO")),
            ("cn_middle", "CN_MIDDLE", ("A", "B"),
             [("VCPU", 8, {}), ("MEMORY_MB", 4096, {}), ("SRIOV_NET_VF", 8, {}),
              ("CUSTOM_NET_MBPS", 4000, {})],
             ("HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE", "HW_NIC_ACCEL_TLS")),
            ("cn_right", "CN_RIGHT", ("B", "C"),
             [("VCPU", 8, {}), ("MEMORY_MB", 4096, {}), ("DISK_GB", 500, {}),
              ("VGPU", 8, {"max_unit": 2})],
             ("HW_CPU_X86_MMX", "HW_GPU_API_DXVA", "CUSTOM_DISK_SSD")),
            ("shr_disk_1", "SHR_DISK_1", ("A",), [("DISK_GB", 1000, {})],
             ("MISC_SHARES_VIA_AGGREGATE", "CUSTOM_DISK_SSD")),
            ("shr_disk_2", "SHR_DISK_2", ("A", "B"), [("DISK_GB", 1000, {})],
             ("MISC_SHARES_VIA_AGGREGATE",)),
            ("shr_net", "SHR_NET", ("C",),
             [("SRIOV_NET_VF", 16, {}), ("CUSTOM_NET_MBPS", 40000, {})],
             ("MISC_SHARES_VIA_AGGREGATE",)),
        ]
        for name, env, aggs, inventories, traits in layout:
            rp = os.environ[env] = c.create_provider(name, *(agg[a] for a in aggs))
            for resource_class, total, fields in inventories:
                c.add_inventory(rp, resource_class, total, **fields)
            c.set_traits(rp, *traits)


class NeutronQoSMultiSegmentFixture(APIFixture):
    """Four compute trees as Neutron's QoS minimum bandwidth and packet rate features
    report them on a multi-segment network: compute0 on physnet OTHER, compute1 on
    MSN_S1, compute2 on MSN_S2, and compute3 (little bandwidth) on both."""

    OVS_TRAITS = ("CUSTOM_VNIC_TYPE_NORMAL",)
    SRIOV_TRAITS = ("CUSTOM_VNIC_TYPE_DIRECT", "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL",
                    "CUSTOM_VNIC_TYPE_MACVTAP")
    # compute -> (bandwidth of each device, [(bridge, physnet)], [(pf, physnet)])
    COMPUTES = {
        "compute0": (5000, 10000, [("br-ex", "OTHER")], [("enp129s0f0", "OTHER")]),
        "compute1": (5000, 10000, [("br-ex", "MSN_S1")], [("enp129s0f0", "MSN_S1")]),
        "compute2": (5000, 10000, [("br-ex", "MSN_S2")], [("enp129s0f0", "MSN_S2")]),
        "compute3": (1000, 1000, [("br-ex", "MSN_S1"), ("br-ex2", "MSN_S2")],
                     [("enp129s0f0", "MSN_S1"), ("enp129s0f1", "MSN_S2")]),
    }

    def make_entities(self) -> None:
        c = self.client
        sriov_agents = {}
        for compute, (br_bw, pf_bw, bridges, pfs) in self.COMPUTES.items():
            root = os.environ[compute] = c.create_provider(compute)
            c.add_inventory(root, "VCPU", 8)
            c.add_inventory(root, "MEMORY_MB", 4096)
            c.add_inventory(root, "DISK_GB", 500)

            ovs_name = f"{compute}:Open vSwitch agent"
            ovs = os.environ[f"{compute}:ovs_agent"] = c.create_provider(ovs_name,
                                                                         parent=root)
            c.add_inventory(ovs, "NET_PACKET_RATE_KILOPACKET_PER_SEC", 1000)
            c.set_traits(ovs, *self.OVS_TRAITS)
            for bridge, physnet in bridges:
                rp = c.create_provider(f"{ovs_name}:{bridge}", parent=ovs)
                os.environ[f"{compute}:{bridge.replace('-', '_')}"] = rp
                c.add_inventory(rp, "NET_BW_EGR_KILOBIT_PER_SEC", br_bw)
                c.add_inventory(rp, "NET_BW_IGR_KILOBIT_PER_SEC", br_bw)
                c.set_traits(rp, *self.OVS_TRAITS, f"CUSTOM_PHYSNET_{physnet}")

            sriov_name = f"{compute}:NIC Switch agent"
            sriov = sriov_agents[compute] = c.create_provider(sriov_name, parent=root)
            # Upstream exports compute2's agent as compute3's too; so do we.
            os.environ[f"{compute}:sriov_agent"] = sriov_agents.get("compute2", sriov)
            c.set_traits(sriov, *self.SRIOV_TRAITS)
            for index, (pf, physnet) in enumerate(pfs):
                rp = c.create_provider(f"{sriov_name}:{pf}", parent=sriov)
                os.environ[f"{compute}:pf{index}"] = rp
                c.add_inventory(rp, "NET_BW_EGR_KILOBIT_PER_SEC", pf_bw)
                c.add_inventory(rp, "NET_BW_IGR_KILOBIT_PER_SEC", pf_bw)
                c.set_traits(rp, *self.SRIOV_TRAITS, f"CUSTOM_PHYSNET_{physnet}")


FIXTURES = (APIFixture, OpenPolicyFixture, LegacyRBACPolicyFixture,
            SecureRBACPolicyFixture, CORSFixture, AllocationFixture,
            SharedStorageFixture, NUMAAggregateFixture, NonSharedStorageFixture,
            NUMANetworkFixture, DeepNUMANetworkFixture, GranularFixture,
            NeutronQoSMultiSegmentFixture)


def bound(base_url: str) -> types.SimpleNamespace:
    """A gabbi ``fixture_module``: every fixture class, sending to ``base_url``."""
    return types.SimpleNamespace(**{
        cls.__name__: type(cls.__name__, (cls,), {"base_url": base_url})
        for cls in FIXTURES})


def server_config(names: list[str]) -> str:
    """The one server configuration that the fixtures ``names`` need."""
    by_name = {cls.__name__: cls for cls in FIXTURES}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise KeyError(f"no equivalent of upstream's fixture(s) {unknown}")
    configs = {by_name[name].server_config for name in names} or {"default"}
    if len(configs) > 1:
        raise ValueError(f"fixtures {names} need different servers: {sorted(configs)}")
    return configs.pop()

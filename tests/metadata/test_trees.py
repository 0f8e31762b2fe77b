"""Every path and version of both trees over HTTP, identified by the Neutron proxy
headers (spec D §3.3-§3.6)."""
from __future__ import annotations

import base64
import json

from twisted.trial import unittest

from nova_tx.metadata import versions as v
from tests.metadata.fixture import PUBLIC_KEY, USER_DATA, MetadataServer

EC2_LIST = ["1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
            "2008-02-01", "2008-09-01", "2009-04-04", "latest"]
OS_LIST = ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
           "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest"]
BASE_KEYS = {"uuid", "meta", "public_keys", "keys", "hostname", "name", "launch_index",
             "availability_zone"}


class TreesTest(unittest.TestCase):
    def setUp(self):
        self.server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret="s3cr3t")
        self.instance = self.server.add_instance()
        self.headers = self.server.proxy_headers(self.instance)

    async def get(self, path, **kwargs):
        return await self.server.get(path, headers=self.headers, **kwargs)

    async def test_root_is_the_ec2_version_list_without_identification(self):
        reply = await self.server.get("/")
        self.assertEqual(200, reply.code)
        self.assertEqual(EC2_LIST, reply.lines)
        self.assertTrue(reply.content_type.startswith("text/plain"))

    async def test_openstack_version_list(self):
        for path in ("/openstack", "/openstack/", "/openstack//"):
            reply = await self.get(path)
            self.assertEqual((200, OS_LIST), (reply.code, reply.lines), path)

    async def test_ec2_version_list_under_ec2(self):
        reply = await self.get("/ec2")
        self.assertEqual(EC2_LIST, reply.lines)

    async def test_version_listings_are_gated(self):
        expected = {
            "2012-08-10": ["meta_data.json", "user_data"],
            "2013-04-04": ["meta_data.json", "user_data", "password"],
            "2013-10-17": ["meta_data.json", "user_data", "password", "vendor_data.json"],
            "2015-10-15": ["meta_data.json", "user_data", "password", "vendor_data.json",
                           "network_data.json"],
        }
        expected["2016-06-30"] = expected["2015-10-15"]
        full = expected["2015-10-15"] + ["vendor_data2.json"]
        for version in OS_LIST[:-1]:
            reply = await self.get("/openstack/%s" % version)
            self.assertEqual(200, reply.code)
            self.assertEqual(expected.get(version, full), reply.lines, version)
        reply = await self.get("/openstack/latest/")
        self.assertEqual(full, reply.lines)

    async def test_meta_data_json_fields_by_version(self):
        added = {"2013-04-04": {"random_seed"}, "2015-10-15": {"project_id"},
                 "2016-06-30": {"devices"}, "2020-10-14": {"dedicated_cpus"}}
        keys = set(BASE_KEYS)
        for version in OS_LIST[:-1]:
            keys |= added.get(version, set())
            reply = await self.get("/openstack/%s/meta_data.json" % version)
            self.assertEqual(200, reply.code)
            self.assertEqual("application/json", reply.content_type)
            self.assertEqual(keys, set(json.loads(reply.body)), version)
        latest = json.loads((await self.get("/openstack/latest/meta_data.json")).body)
        self.assertEqual(keys, set(latest))
        self.assertEqual(self.instance.uuid, latest["uuid"])
        self.assertEqual({"role": "webservers"}, latest["meta"])
        self.assertEqual({"mykey": PUBLIC_KEY}, latest["public_keys"])
        self.assertEqual([{"name": "mykey", "type": "ssh", "data": PUBLIC_KEY}],
                         latest["keys"])
        self.assertEqual("test-vm.novalocal", latest["hostname"])
        self.assertEqual("test-vm", latest["name"])
        self.assertEqual("nova", latest["availability_zone"])
        self.assertEqual(512, len(base64.b64decode(latest["random_seed"])))
        self.assertEqual(self.instance.project_id, latest["project_id"])
        self.assertEqual([], latest["devices"])
        self.assertEqual([], latest["dedicated_cpus"])

    async def test_user_data_both_trees(self):
        for path in ("/openstack/latest/user_data", "/openstack/2012-08-10/user_data",
                     "/latest/user-data", "/2009-04-04/user-data", "/ec2/1.0/user-data"):
            reply = await self.get(path)
            self.assertEqual((200, USER_DATA), (reply.code, reply.body), path)

    async def test_no_user_data_is_404_and_unlisted(self):
        instance = self.server.add_instance(user_data=None, address="10.0.0.6")
        headers = self.server.proxy_headers(instance)
        for path in ("/openstack/latest/user_data", "/2009-04-04/user-data"):
            self.assertEqual(404, (await self.server.get(path, headers=headers)).code)
        listing = await self.server.get("/openstack/latest", headers=headers)
        self.assertNotIn("user_data", listing.lines)
        ec2 = await self.server.get("/2009-04-04", headers=headers)
        self.assertEqual(["meta-data/"], ec2.lines)

    async def test_network_data_json(self):
        reply = await self.get("/openstack/latest/network_data.json")
        self.assertEqual(200, reply.code)
        data = json.loads(reply.body)
        self.assertEqual([{"id": "tap11111111-22",
                           "vif_id": "11111111-2222-3333-4444-555555555555",
                           "type": "ovs", "mtu": 1450,
                           "ethernet_mac_address": "fa:16:3e:00:00:01"}], data["links"])
        [network] = data["networks"]
        self.assertEqual("ipv4", network["type"])
        self.assertEqual("10.0.0.5", network["ip_address"])
        self.assertEqual("255.255.255.0", network["netmask"])
        self.assertEqual([{"network": "0.0.0.0", "netmask": "0.0.0.0",
                           "gateway": "10.0.0.1"},
                          {"network": "192.168.0.0", "netmask": "255.255.0.0",
                           "gateway": "10.0.0.254"}], network["routes"])
        self.assertEqual([{"type": "dns", "address": "8.8.8.8"}], data["services"])

    async def test_network_data_without_network_info_is_empty(self):
        instance = self.server.add_instance(address=None)
        reply = await self.server.get("/openstack/latest/network_data.json",
                                      headers=self.server.proxy_headers(instance))
        self.assertEqual((200, {}), (reply.code, json.loads(reply.body)))

    async def test_vendor_data_static_default_is_empty(self):
        for path in ("/openstack/latest/vendor_data.json",
                     "/openstack/2013-10-17/vendor_data.json"):
            reply = await self.get(path)
            self.assertEqual((200, {}), (reply.code, json.loads(reply.body)))
            self.assertEqual("application/json", reply.content_type)
        reply = await self.get("/openstack/latest/vendor_data2.json")
        self.assertEqual({"static": {}}, json.loads(reply.body))

    async def test_version_gated_files_are_404_before_their_version(self):
        for path in ("/openstack/2012-08-10/password",
                     "/openstack/2013-04-04/vendor_data.json",
                     "/openstack/2016-06-30/vendor_data2.json"):
            self.assertEqual(404, (await self.get(path)).code, path)
        self.assertEqual(200, (await self.get("/openstack/2013-04-04/password")).code)

    async def test_ec2_meta_data(self):
        reply = await self.get("/2009-04-04/meta-data/")
        self.assertEqual(["ami-id", "ami-launch-index", "ami-manifest-path",
                          "block-device-mapping/", "hostname", "instance-action",
                          "instance-id", "instance-type", "local-hostname", "local-ipv4",
                          "placement/", "public-hostname", "public-ipv4", "public-keys/",
                          "reservation-id", "security-groups"], reply.lines)
        values = {
            "local-ipv4": "10.0.0.5", "public-ipv4": "172.24.4.10",
            "hostname": "test-vm.novalocal", "instance-type": "m1.tiny",
            "placement/availability-zone": "nova", "instance-action": "none",
            "reservation-id": "r-abcd1234", "ami-manifest-path": "FIXME",
            "ami-launch-index": "0", "public-keys/0/openssh-key": PUBLIC_KEY,
            "public-keys/0": "openssh-key", "public-keys": "0=mykey", "placement": "availability-zone",
            "block-device-mapping": "ami\nephemeral0\nroot\nswap",
            "block-device-mapping/root": "/dev/sda1",
            "instance-id": "i-%08x" % self.instance.id,
            "ami-id": "ami-70a599e0",
        }
        for key, value in values.items():
            reply = await self.get("/2009-04-04/meta-data/" + key)
            self.assertEqual((200, value), (reply.code, reply.text), key)

    async def test_ec2_keys_by_version(self):
        old = await self.get("/1.0/meta-data/")
        self.assertNotIn("placement/", old.lines)
        self.assertNotIn("local-hostname", old.lines)
        self.assertNotIn("instance-type", old.lines)
        self.assertEqual(404, (await self.get("/1.0/meta-data/placement")).code)
        mid = await self.get("/2007-12-15/meta-data/")
        self.assertIn("block-device-mapping/", mid.lines)
        self.assertNotIn("placement/", mid.lines)
        latest = await self.get("/latest/meta-data/")
        self.assertIn("instance-action", latest.lines)

    async def test_unknown_versions_and_paths_are_404(self):
        for path in ("/openstack/2011-01-01", "/openstack/2011-01-01/meta_data.json",
                     "/openstack/latest/nothing", "/2010-01-01/meta-data/",
                     "/2009-04-04/meta-data/nothing", "/2009-04-04/meta-data/hostname/x",
                     "/2009-04-04/meta-data/public-keys/0/_name",
                     "/2009-04-04/meta-data/security-groups/default",
                     "/openstack/content", "/openstack/content/0000",
                     "/openstack/latest/meta_data.json/x", "/nonsense",
                     "/openstack/latest/password/x"):
            reply = await self.get(path)
            self.assertEqual(404, reply.code, path)
            self.assertNotIn(self.instance.uuid.encode(), reply.body)

    async def test_future_version_is_hidden_but_served(self):
        app = self.server.app
        self.patch(v, "OPENSTACK_VERSIONS", v.OPENSTACK_VERSIONS + ("2999-01-01",))
        app.cache.invalidate(self.instance.uuid)
        reply = await self.get("/openstack")
        self.assertNotIn("2999-01-01", reply.lines)
        self.assertEqual(200, (await self.get("/openstack/2999-01-01/meta_data.json")).code)

    async def test_tagged_devices_and_pinned_cpus(self):
        from nova_tx.objects import numa

        devices = json.dumps({"nova_object.name": "InstanceDeviceMetadata",
                              "nova_object.data": {"devices": [
                                  {"nova_object.name": "NetworkInterfaceMetadata",
                                   "nova_object.data": {
                                       "mac": "fa:16:3e:00:00:01", "tags": ["nic1"],
                                       "vlan": 1000, "vf_trusted": True,
                                       "bus": {"nova_object.name": "PCIDeviceBus",
                                               "nova_object.data": {
                                                   "address": "0000:00:02.0"}}}},
                                  {"nova_object.name": "NetworkInterfaceMetadata",
                                   "nova_object.data": {"mac": "fa:16:3e:00:00:02"}},
                                  {"nova_object.name": "DiskMetadata",
                                   "nova_object.data": {"serial": "disk-1",
                                                        "tags": ["db"]}}]}})
        topology = numa.InstanceNUMATopology(cells=[numa.InstanceNUMACell(
            id=0, cpuset=set(), pcpuset={0, 1}, memory=512, cpu_pinning={0: 7, 1: 3})])
        instance = self.server.add_instance(address="10.0.0.9", numa_topology=topology)
        with self.server.cell_engine.begin() as conn:
            from nova_tx.db.main.instances import instance_extra

            conn.execute(instance_extra.update().where(
                instance_extra.c.instance_uuid == instance.uuid).values(
                    device_metadata=devices))
        headers = self.server.proxy_headers(instance)
        latest = json.loads((await self.server.get("/openstack/latest/meta_data.json",
                                                   headers=headers)).body)
        self.assertEqual([
            {"type": "nic", "bus": "pci", "address": "0000:00:02.0",
             "mac": "fa:16:3e:00:00:01", "tags": ["nic1"], "vlan": 1000,
             "vf_trusted": True},
            {"type": "disk", "bus": "none", "address": "none", "serial": "disk-1",
             "tags": ["db"]}], latest["devices"])
        self.assertEqual([3, 7], latest["dedicated_cpus"])
        newton = json.loads((await self.server.get(
            "/openstack/2016-06-30/meta_data.json", headers=headers)).body)
        self.assertNotIn("vlan", newton["devices"][0])
        self.assertNotIn("vf_trusted", newton["devices"][0])


class KeyFallbackTest(unittest.TestCase):
    async def test_key_columns_stand_in_for_a_missing_keypairs_record(self):
        server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                neutron__metadata_proxy_shared_secret="s3cr3t")
        instance = server.add_instance(keypairs=None)
        reply = await server.get("/openstack/latest/meta_data.json",
                                 headers=server.proxy_headers(instance))
        self.assertEqual({"mykey": PUBLIC_KEY}, json.loads(reply.body)["public_keys"])

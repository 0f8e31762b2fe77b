"""openstacksdk (the library behind ``openstack flavor ...``) against our flavor
resources: create, list with paging, show, description, extra specs, access, delete."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from tests.api.flavor_server import FlavorServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        compute_endpoint_override=url)


class OpenStackSDKFlavorTests(unittest.TestCase):
    def scenario(self, url: str):
        admin = connect(url, "admin:adminproj")
        user = connect(url, "alice:userproj")
        try:
            compute = admin.compute
            flavor = compute.create_flavor(name="sdk.small", ram=512, vcpus=1, disk=1,
                                           swap=256, ephemeral=2, description="small one")
            self.assertEqual(("sdk.small", 512, 1, 1, 256, 2, "small one", True),
                             (flavor.name, flavor.ram, flavor.vcpus, flavor.disk,
                              flavor.swap, flavor.ephemeral, flavor.description,
                              flavor.is_public))
            private = compute.create_flavor(name="sdk.private", ram=1024, vcpus=2, disk=0,
                                            id="private-1", is_public=False)
            for i in range(3):
                compute.create_flavor(name=f"sdk.page{i}", ram=64, vcpus=1, disk=0,
                                      id=f"page-{i}")
            names = [f.name for f in compute.flavors(details=True, limit=2)]
            self.assertEqual(5, len(names))
            self.assertEqual("sdk.small", compute.find_flavor("sdk.small").name)
            self.assertEqual(["sdk.page0", "sdk.page1", "sdk.page2", "sdk.small"],
                             sorted(f.name for f in user.compute.flavors()))

            updated = compute.update_flavor(flavor, description="renamed")
            self.assertEqual("renamed", updated.description)

            compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "dedicated",
                                                       "hw:numa_nodes": "1"})
            specs = compute.fetch_flavor_extra_specs(flavor).extra_specs
            self.assertEqual({"hw:cpu_policy": "dedicated", "hw:numa_nodes": "1"}, specs)
            self.assertEqual("1", compute.get_flavor_extra_specs_property(
                flavor, "hw:numa_nodes"))
            compute.update_flavor_extra_specs_property(flavor, "hw:numa_nodes", "2")
            compute.delete_flavor_extra_specs_property(flavor, "hw:cpu_policy")
            self.assertEqual({"hw:numa_nodes": "2"},
                             compute.get_flavor(flavor.id).extra_specs)

            compute.flavor_add_tenant_access(private, "userproj")
            self.assertEqual([{"flavor_id": "private-1", "tenant_id": "userproj"}],
                             compute.get_flavor_access(private))
            self.assertIn("sdk.private", {f.name for f in user.compute.flavors()})
            compute.flavor_remove_tenant_access(private, "userproj")
            self.assertEqual([], compute.get_flavor_access(private))

            compute.delete_flavor(flavor)
            self.assertIsNone(compute.find_flavor("sdk.small", ignore_missing=True))
        finally:
            admin.close()
            user.close()

    async def test_sdk(self):
        api = FlavorServer(self)
        await threads.deferToThread(self.scenario, api.base + "/v2.1")
        events = [n["event_type"] for n in api.notifications()]
        self.assertEqual(5, events.count("flavor.create"))
        self.assertEqual(["flavor.delete"], events[-1:])

"""The pure parts of creating servers: names, passwords and reservation ids
(nova_tx.compute.instance_names) and the boot image against the flavor
(nova_tx.compute.boot_image)."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import boot_image, instance_names
from nova_tx.image import api as image_api
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance

GiB = 1024 ** 3
FLAVOR = Flavor(flavorid="1", name="tiny", memory_mb=512, vcpus=1, root_gb=1)


class NamesTest(unittest.SynchronousTestCase):

    def test_sanitize_hostname(self):
        sanitize = instance_names.sanitize_hostname
        self.assertEqual("my-server-name", sanitize("My_Server.Name"))
        self.assertEqual("caf", sanitize("caf\u20ac"))
        self.assertEqual("café", sanitize("Café"))
        self.assertEqual("a" * 63, sanitize("a" * 70))
        self.assertEqual("x", sanitize("--.x.--"))
        self.assertEqual("", sanitize("***"))
        self.assertEqual("Server-1", sanitize("***", "Server-1"))

    def test_password(self):
        for length in (3, 12, 40):
            password = instance_names.generate_password(length)
            self.assertEqual(length, len(password))
            for group in instance_names.PASSWORD_SYMBOLS:
                self.assertTrue(set(password) & set(group), password)
            self.assertFalse(set(password) & set("01lIO"), password)
        self.assertNotEqual(instance_names.generate_password(),
                            instance_names.generate_password())

    def test_reservation_id(self):
        self.assertRegex(instance_names.generate_uid("r"), r"^r-[0-9a-z]{8}$")

    def test_multi_instance_template(self):
        name = instance_names.multi_instance_display_name
        self.assertEqual("web-2", name(None, "web", 1, "u"))
        self.assertEqual("web #3 (u)", name("%(name)s #%(count)d (%(uuid)s)", "web", 2, "u"))
        self.assertEqual("web-1", name("%(nope)s", "web", 0, "u"))
        instance = Instance(uuid="u9", display_name="db")
        instance_names.populate_names(instance, 2, 1, "%(name)s.%(count)d")
        self.assertEqual(("db.2", "db-2"), (instance.display_name, instance.hostname))

    def test_populate_names(self):
        one = Instance(uuid="u1", display_name="web")
        instance_names.populate_names(one, 1, 0)
        self.assertEqual(("web", "web"), (one.display_name, one.hostname))
        second = Instance(uuid="u2", display_name="Web Server")
        instance_names.populate_names(second, 3, 1)
        self.assertEqual(("Web Server-2", "web-server-2"),
                         (second.display_name, second.hostname))
        chosen = Instance(uuid="u3", display_name="web", hostname="mine")
        instance_names.populate_names(chosen, 1, 0)
        self.assertEqual("mine", chosen.hostname)
        empty = Instance(uuid="u4", display_name="!!!")
        instance_names.populate_names(empty, 2, 0)
        self.assertEqual(("!!!-1", "Server-u4"), (empty.display_name, empty.hostname))


def image(**values):
    return {"id": "img", "status": "active", "size": 1024, "min_ram": 0, "min_disk": 0,
            **values}


class BootImageTest(unittest.SynchronousTestCase):

    def test_status_and_config_drive(self):
        with self.assertRaises(image_api.ImageNotActive):
            boot_image.check_requested_image(image(status="queued"), FLAVOR, None)
        with self.assertRaises(exception.InvalidImageConfigDrive):
            boot_image.check_requested_image(image(img_config_drive="always"), FLAVOR, None)
        boot_image.check_requested_image(image(img_config_drive="mandatory"), FLAVOR, None)
        boot_image.check_requested_image(None, FLAVOR, None)

    def test_flavor_sizes(self):
        with self.assertRaises(exception.FlavorMemoryTooSmall):
            boot_image.check_requested_image(image(min_ram=1024), FLAVOR, None)
        with self.assertRaises(exception.FlavorDiskSmallerThanImage) as caught:
            boot_image.check_requested_image(image(size=2 * GiB), FLAVOR, None)
        self.assertEqual("Flavor's disk is too small for requested image. Flavor disk is "
                         "1073741824 bytes, image is 2147483648 bytes.",
                         caught.exception.format_message())
        with self.assertRaises(exception.FlavorDiskSmallerThanMinDisk):
            boot_image.check_requested_image(image(min_disk=2), FLAVOR, None)
        # A zero-disk flavor takes any image (the policy decides).
        boot_image.check_requested_image(image(size=9 * GiB), FLAVOR.replace(root_gb=0),
                                         None)

    def test_root_volume_sizes(self):
        root = {"destination_type": "volume", "volume_size": 1, "boot_index": 0}
        with self.assertRaises(exception.VolumeSmallerThanMinDisk):
            boot_image.check_requested_image(image(min_disk=2), FLAVOR, root)
        with self.assertRaises(exception.VolumeSmallerThanMinDisk):
            boot_image.check_requested_image(image(size=2 * GiB), FLAVOR, root)
        boot_image.check_requested_image(image(min_disk=2), FLAVOR,
                                         dict(root, volume_size=None))
        boot_image.check_requested_image(image(min_disk=2), FLAVOR.replace(root_gb=0),
                                         dict(root, volume_size=2))

    def test_constraints(self):
        topology, pci = boot_image.flavor_image_constraints(FLAVOR, image(), None)
        self.assertEqual((None, []), (topology, pci))
        pinned = FLAVOR.replace(vcpus=2, extra_specs={"hw:cpu_policy": "dedicated"})
        topology, _ = boot_image.flavor_image_constraints(pinned, image(), None)
        self.assertEqual(1, len(topology.cells))
        with self.assertRaises(exception.Invalid):
            boot_image.flavor_image_constraints(
                FLAVOR, image(hw_mem_page_size="large"), None)
        with self.assertRaises(exception.Invalid):
            boot_image.flavor_image_constraints(
                FLAVOR.replace(extra_specs={"pci_passthrough:alias": "nope:1"}), image(),
                None)

    def test_system_metadata(self):
        self.assertEqual({"image_os_distro": "cirros", "image_min_ram": "0",
                          "image_min_disk": "0", "image_disk_format": "raw"},
                         boot_image.system_metadata_from_image(image(
                             os_distro="cirros", disk_format="raw",
                             block_device_mapping="[]", status="active")))
        self.assertEqual({}, boot_image.system_metadata_from_image(None))


class _NoNetworks:
    """A network service with no network for the project and no auto-allocation."""

    async def get_available_networks(self, context, network_ids=None):
        return []

    async def get_extensions(self, context):
        return [{"alias": "binding"}]


class AutoAllocateTest(unittest.TestCase):

    async def test_auto_without_networks_or_auto_allocation(self):
        from nova_tx.compute.servers_create import CreateRequest, ServersCreateAPI
        from nova_tx.context import RequestContext
        from nova_tx.objects.request_spec import NetworkRequest

        api = ServersCreateAPI(None, None, None, images=None, networks=_NoNetworks(),
                               server_groups=None)
        context = RequestContext(user_id="u", project_id="p")
        auto = CreateRequest(flavor_id="1", image_ref="i", display_name="s",
                             requested_networks=[NetworkRequest(network_id="auto")])
        with self.assertRaises(exception.UnableToAutoAllocateNetwork) as caught:
            await api._check_networks(context, auto)
        self.assertEqual("Unable to automatically allocate a network for project p",
                         caught.exception.format_message())
        # Without networks asked for (before 2.37) a server may have none.
        await api._check_networks(context, CreateRequest(flavor_id="1", image_ref="i",
                                                         display_name="s"))

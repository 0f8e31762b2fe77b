"""Block device mappings at boot (nova_tx.compute.block_device): the v2 API form, the
legacy conversion and the checks of spec A §4.3-§4.5 and §4.9."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import block_device
from nova_tx.objects.flavor import Flavor

IMAGE = "70a599e0-31e7-49b7-b260-868f441e862b"
VOLUME = "9d1c1d1e-1a4c-44c6-8a3f-0d6e1b7e2f10"
SNAPSHOT = "4e1f6a83-1b8c-4a53-9f3c-62fb2bd8a0d1"
FLAVOR = Flavor(flavorid="1", name="small", memory_mb=512, vcpus=1, root_gb=1,
                ephemeral_gb=2, swap=512)


def image_root(**extra):
    return {"uuid": IMAGE, "source_type": "image", "destination_type": "local",
            "boot_index": 0, "delete_on_termination": True, **extra}


class FromAPITest(unittest.SynchronousTestCase):

    def refused(self, api_dict, image_ref=IMAGE, text=""):
        with self.assertRaises(exception.InvalidBDMFormat) as caught:
            block_device.from_api(api_dict, image_ref)
        self.assertEqual(400, caught.exception.code)
        self.assertIn(text, caught.exception.format_message())
        return caught.exception

    def test_image_root(self):
        bdm = block_device.from_api(image_root(), IMAGE)
        self.assertEqual({"source_type": "image", "destination_type": "local",
                          "boot_index": 0, "delete_on_termination": True,
                          "image_id": IMAGE}, bdm)

    def test_uuid_becomes_source_id_and_values_normalised(self):
        bdm = block_device.from_api({"uuid": VOLUME, "source_type": "volume",
                                     "destination_type": "volume", "boot_index": "0",
                                     "volume_size": "3", "delete_on_termination": "yes",
                                     "device_name": "/dev/vdb"}, None)
        self.assertEqual((VOLUME, 0, 3, True),
                         (bdm["volume_id"], bdm["boot_index"], bdm["volume_size"],
                          bdm["delete_on_termination"]))
        self.assertNotIn("uuid", bdm)

    def test_blank_with_uuid(self):
        self.refused({"uuid": VOLUME, "source_type": "blank",
                      "destination_type": "local"}, text="Invalid device UUID.")

    def test_volume_without_uuid(self):
        self.refused({"source_type": "volume", "destination_type": "volume"},
                     text="Missing device UUID.")

    def test_image_to_local_must_be_boot_index_0_with_image_ref(self):
        self.refused(image_root(boot_index=1), text="Mapping image to local is not supported.")
        self.refused(image_root(boot_index=None), text="Mapping image to local")
        self.refused(image_root(), image_ref=None, text="Mapping image to local")

    def test_image_to_local_must_name_image_ref(self):
        self.refused(image_root(uuid=VOLUME), text="must name the image of imageRef")

    def test_volume_type_refused_with_local_and_existing_volume(self):
        self.refused({"source_type": "blank", "destination_type": "local",
                      "volume_type": "ssd"}, text="destination_type=local")
        self.refused({"uuid": VOLUME, "source_type": "volume", "destination_type": "volume",
                      "volume_type": "ssd"}, text="existing volume")

    def test_unlisted_pairs_refused(self):
        for source in ("volume", "snapshot"):
            self.refused({"uuid": VOLUME, "source_type": source, "destination_type": "local",
                          "boot_index": 0}, text=f"Mapping {source} to local")

    def test_missing_destination_type_defaults(self):
        self.assertEqual("volume", block_device.from_api(
            {"uuid": SNAPSHOT, "source_type": "snapshot"}, None)["destination_type"])
        self.assertEqual("local", block_device.from_api(
            {"source_type": "blank", "guest_format": "swap"}, None)["destination_type"])

    def test_device_names(self):
        self.refused({"source_type": "blank", "destination_type": "local",
                      "device_name": "vd b"}, text="Device name contains spaces.")
        self.refused({"source_type": "blank", "destination_type": "local",
                      "device_name": ""}, text="Device name empty or too long.")

    def test_fields_and_boot_index(self):
        self.refused({"source_type": "blank", "destination_type": "local",
                      "virtual_name": "swap"}, text="Some fields are invalid.")
        self.refused({"source_type": "blank", "destination_type": "local",
                      "boot_index": "x"}, text="Boot index is invalid.")
        self.refused({"destination_type": "local"}, text="Some required fields are missing")

    def test_no_device_passes(self):
        self.assertEqual({"device_name": "vdb", "no_device": True},
                         block_device.from_api({"device_name": "vdb", "no_device": True},
                                               IMAGE))


class LegacyTest(unittest.SynchronousTestCase):

    def test_from_legacy_kinds(self):
        swap = block_device.from_legacy({"virtual_name": "swap", "device_name": "vdc"})
        self.assertEqual(("blank", "local", "swap", True),
                         (swap["source_type"], swap["destination_type"],
                          swap["guest_format"], swap["delete_on_termination"]))
        eph = block_device.from_legacy({"virtual_name": "ephemeral0"}, "ext4")
        self.assertEqual(("blank", "ext4"), (eph["source_type"], eph["guest_format"]))
        snap = block_device.from_legacy({"snapshot_id": SNAPSHOT, "volume_size": "2"})
        self.assertEqual(("snapshot", "volume", 2),
                         (snap["source_type"], snap["destination_type"], snap["volume_size"]))
        vol = block_device.from_legacy({"volume_id": VOLUME})
        self.assertEqual(("volume", "volume"), (vol["source_type"], vol["destination_type"]))
        with self.assertRaises(exception.InvalidBDMFormat) as caught:
            block_device.from_legacy({"virtual_name": "foo"})
        self.assertIn("Unrecognized legacy format.", caught.exception.format_message())

    def test_root_volume_boots_and_no_image_bdm(self):
        bdms = block_device.from_legacy_mapping(
            [{"volume_id": VOLUME, "device_name": "/dev/vda"}], IMAGE, "vda")
        self.assertEqual(1, len(bdms))
        self.assertEqual(0, bdms[0]["boot_index"])

    def test_data_volume_with_image_prepends_the_image(self):
        bdms = block_device.from_legacy_mapping(
            [{"volume_id": VOLUME, "device_name": "vdb"}], IMAGE, "vda")
        self.assertEqual([("image", 0), ("volume", -1)],
                         [(b["source_type"], b["boot_index"]) for b in bdms])
        self.assertEqual(IMAGE, bdms[0]["image_id"])

    def test_no_image_no_root_name_first_volume_boots(self):
        bdms = block_device.from_legacy_mapping(
            [{"virtual_name": "swap"}, {"snapshot_id": SNAPSHOT}], "", None)
        self.assertEqual([-1, 0], [b["boot_index"] for b in bdms])

    def test_no_root(self):
        bdms = block_device.from_legacy_mapping(
            [{"volume_id": VOLUME, "device_name": "vda"}], IMAGE, "vda", no_root=True)
        self.assertEqual([-1], [b["boot_index"] for b in bdms])


def transform(bdms, *, image_ref=IMAGE, legacy=False, min_count=1, max_count=1,
              properties=None, flavor=FLAVOR):
    return block_device.check_and_transform(
        bdms, flavor=flavor, image_properties=properties or {}, image_ref=image_ref,
        legacy_bdm=legacy, min_count=min_count, max_count=max_count)


class CheckAndTransformTest(unittest.SynchronousTestCase):

    def test_flavor_disks_added(self):
        bdms = transform([block_device.create_image_bdm(IMAGE)])
        self.assertEqual([("image", None), ("blank", None), ("blank", "swap")],
                         [(b["source_type"], b.get("guest_format")) for b in bdms])
        self.assertEqual([None, 2, 512], [b.get("volume_size") for b in bdms])

    def test_requested_ephemeral_and_swap_replace_the_flavors(self):
        bdms = transform([block_device.create_image_bdm(IMAGE),
                          block_device.create_blank_bdm(1),
                          block_device.create_blank_bdm(256, "swap")])
        self.assertEqual(3, len(bdms))

    def test_volume_named_as_root_with_image(self):
        with self.assertRaises(exception.InvalidRequest) as caught:
            transform([{"source_type": "volume", "destination_type": "volume",
                        "volume_id": VOLUME, "device_name": "/dev/vda", "boot_index": -1}])
        self.assertIn("same device name as the root device vda",
                      caught.exception.format_message())

    def test_volume_with_multiple_instances(self):
        with self.assertRaises(exception.InvalidRequest) as caught:
            transform([{"source_type": "volume", "destination_type": "volume",
                        "volume_id": VOLUME, "boot_index": 0}], image_ref="", max_count=2)
        self.assertEqual("Cannot attach one or more volumes to multiple instances",
                         caught.exception.format_message())

    def test_image_root_bdm_wins_over_client_image_entry(self):
        properties = {"bdm_v2": True, "block_device_mapping": [
            {"source_type": "snapshot", "destination_type": "volume",
             "snapshot_id": SNAPSHOT, "boot_index": 0, "device_name": "/dev/vda"}]}
        bdms = transform([block_device.create_image_bdm(IMAGE)], properties=properties,
                         flavor=FLAVOR.replace(ephemeral_gb=0, swap=0))
        self.assertEqual([("snapshot", 0)], [(b["source_type"], b["boot_index"]) for b in bdms])

    def test_request_overrides_image_mapping_by_device_name(self):
        properties = {"block_device_mapping": [
            {"snapshot_id": SNAPSHOT, "device_name": "/dev/vdb"}]}
        mine = {"source_type": "blank", "destination_type": "volume", "volume_size": 1,
                "device_name": "/dev/vdb", "boot_index": -1}
        bdms = transform([block_device.create_image_bdm(IMAGE), mine], properties=properties,
                         flavor=FLAVOR.replace(ephemeral_gb=0, swap=0))
        self.assertEqual(["image", "blank"], [b["source_type"] for b in bdms])

    def test_image_mappings_property(self):
        properties = {"mappings": [{"virtual": "ami", "device": "vda"},
                                   {"virtual": "ephemeral0", "device": "vdb"},
                                   {"virtual": "swap", "device": "/dev/vdc"}]}
        bdms = transform([block_device.create_image_bdm(IMAGE)], properties=properties)
        self.assertEqual([("image", None, None), ("blank", "/dev/vdb", 2),
                          ("blank", "/dev/vdc", 512)],
                         [(b["source_type"], b.get("device_name"), b.get("volume_size"))
                          for b in bdms])
        self.assertEqual("swap", bdms[2]["guest_format"])
        # The flavor gives no swap: the image's swap disk is left out.
        bdms = transform([block_device.create_image_bdm(IMAGE)], properties=properties,
                         flavor=FLAVOR.replace(swap=0))
        self.assertEqual(2, len(bdms))

    def test_legacy_request(self):
        bdms = transform([{"volume_id": VOLUME, "device_name": "vdb"}], legacy=True,
                         flavor=FLAVOR.replace(ephemeral_gb=0, swap=0))
        self.assertEqual([("image", 0), ("volume", -1)],
                         [(b["source_type"], b["boot_index"]) for b in bdms])


class ValidateTest(unittest.SynchronousTestCase):

    def check(self, bdms, error, text="", *, max_local=3, flavor=FLAVOR):
        with self.assertRaises(error) as caught:
            block_device.validate(bdms, flavor=flavor, max_local_block_devices=max_local)
        self.assertEqual(400, caught.exception.code)
        self.assertIn(text, caught.exception.format_message())

    def root(self):
        return block_device.create_image_bdm(IMAGE)

    def test_boot_sequences(self):
        vol = {"source_type": "volume", "destination_type": "volume", "volume_id": VOLUME}
        for indexes in ([0, 2], [0, 0], [1], [None], [-1]):
            bdms = [dict(vol, boot_index=i) for i in indexes]
            self.check(bdms, exception.InvalidBDMBootSequence, "Boot sequence")
        block_device.validate([dict(vol, boot_index=1), dict(vol, boot_index=0),
                               dict(vol, boot_index=None)],
                              flavor=FLAVOR, max_local_block_devices=3)

    def test_sizes_required(self):
        self.check([{"source_type": "image", "destination_type": "volume",
                     "image_id": IMAGE, "boot_index": 0}], exception.InvalidBDM,
                   "Images with destination_type 'volume' need to have a non-zero size")
        self.check([self.root(), {"source_type": "blank", "destination_type": "volume",
                                  "boot_index": -1}], exception.InvalidBDM,
                   "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero")

    def test_bus_and_type(self):
        self.check([self.root() | {"disk_bus": "foo"}], exception.InvalidBDMDiskBus, "foo")
        self.check([self.root() | {"device_type": "tape"}], exception.InvalidBDMFormat,
                   "Device type tape")
        block_device.validate([self.root() | {"disk_bus": "scsi", "device_type": "cdrom"}],
                              flavor=FLAVOR, max_local_block_devices=3)

    def test_ephemeral_and_swap_sizes(self):
        self.check([self.root(), block_device.create_blank_bdm(2),
                    block_device.create_blank_bdm(2)], exception.InvalidBDMEphemeralSize,
                   "Ephemeral disks requested are larger")
        # An ephemeral without a size counts as the flavor's.
        self.check([self.root(), block_device.create_blank_bdm(None),
                    block_device.create_blank_bdm(1)], exception.InvalidBDMEphemeralSize)
        self.check([self.root(), block_device.create_blank_bdm(1, "swap"),
                    block_device.create_blank_bdm(1, "swap")], exception.InvalidBDMFormat,
                   "More than one swap drive requested.")
        self.check([self.root(), block_device.create_blank_bdm(1024, "swap")],
                   exception.InvalidBDMSwapSize,
                   "Swap drive requested is larger than instance type allows.")
        block_device.validate([self.root(), block_device.create_blank_bdm(2),
                               block_device.create_blank_bdm(512, "swap")],
                              flavor=FLAVOR, max_local_block_devices=3)

    def test_local_limit(self):
        bdms = [self.root(), block_device.create_blank_bdm(1),
                block_device.create_blank_bdm(1), block_device.create_blank_bdm(256, "swap")]
        self.check(bdms, exception.InvalidBDMLocalsLimit,
                   "You specified more local devices than the limit allows",
                   flavor=FLAVOR.replace(ephemeral_gb=4))
        self.check([self.root()], exception.InvalidBDMLocalsLimit, max_local=0)
        block_device.validate(bdms, flavor=FLAVOR.replace(ephemeral_gb=4),
                              max_local_block_devices=-1)
        block_device.validate([{"source_type": "volume", "destination_type": "volume",
                                "volume_id": VOLUME, "boot_index": 0}],
                              flavor=FLAVOR, max_local_block_devices=0)


class HelpersTest(unittest.SynchronousTestCase):

    def test_dev_names(self):
        self.assertEqual("vda", block_device.strip_dev("/dev/vda"))
        self.assertEqual("/dev/vda", block_device.prepend_dev("vda"))
        self.assertIsNone(block_device.strip_dev(None))

    def test_root_and_volume_backed(self):
        self.assertFalse(block_device.is_volume_backed([block_device.create_image_bdm(IMAGE)]))
        self.assertTrue(block_device.is_volume_backed(
            [{"source_type": "image", "destination_type": "volume", "boot_index": 0}]))
        self.assertIsNone(block_device.get_root_bdm([block_device.create_blank_bdm(1)]))

    def test_primitives(self):
        bdm = block_device.create_blank_bdm(1, "swap")
        listed = block_device.bdm_list_primitive([bdm])
        self.assertEqual(("BlockDeviceMappingList", "1.18"),
                         (listed["nova_object.name"], listed["nova_object.version"]))
        [item] = listed["nova_object.data"]["objects"]
        self.assertEqual(("BlockDeviceMapping", "1.20"),
                         (item["nova_object.name"], item["nova_object.version"]))
        self.assertNotIn("instance_uuid", item["nova_object.data"])
        owned = block_device.bdm_primitive(block_device.create_image_bdm(IMAGE), "u1")
        self.assertEqual(("u1", True, 0), tuple(owned["nova_object.data"][k] for k in (
            "instance_uuid", "delete_on_termination", "boot_index")))
        self.assertEqual(sorted(owned["nova_object.data"]), owned["nova_object.changes"])

"""Rescue, unrescue, snapshot and rebuild through the compute manager with
``libvirt.LibvirtDriver`` on libvirt's test driver: the rescued domain boots the rescue
disk with its own disk second, the snapshot is a qcow2 image uploaded to the image
service through the manager's image port, and a rebuild defines the domain again."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.db.main import instances
from tests.virt.libvirt.test_manager_build import LibvirtBuildCase


class LibvirtLifecycleActionsTest(LibvirtBuildCase):
    async def asked(self, instance, task_state):
        return (await self.h.pool.do(instances.update, instance.uuid,
                                     {"task_state": task_state},
                                     expected_attrs=["system_metadata", "flavor"])
                ).to_primitive()

    async def built(self):
        instance = await self.h.make_instance()
        self.addCleanup(self.forget, instance.uuid)
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
        return instance

    def disks(self, xml):
        root = ET.fromstring(xml)
        return [(d.find("target").get("dev"), d.find("source").get("file"))
                for d in root.findall("devices/disk")]

    async def test_rescue_and_unrescue(self):
        instance = await self.built()
        await self.h.manager.rescue_instance(
            self.h.context(), await self.asked(instance, states.RESCUING), "pw", None)
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.RESCUED, None, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))
        (first, rescue_disk), (second, own_disk) = self.disks(
            await self.domain_xml(instance.uuid))[:2]
        self.assertEqual(("vda", "vdb"), (first, second))
        self.assertTrue(rescue_disk.endswith("disk.rescue"))
        self.assertTrue(own_disk.endswith(f"{instance.uuid}/disk"))
        await self.h.manager.unrescue_instance(
            self.h.context(), await self.asked(instance, states.UNRESCUING))
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))
        self.assertTrue(self.disks(await self.domain_xml(instance.uuid))[0][1].endswith(
            f"{instance.uuid}/disk"))

    async def test_snapshot_uploads_a_qcow2_image(self):
        instance = await self.built()
        status, _, queued = await self.h.image.request(
            "POST", "/v2/images", {"name": "snap", "visibility": "private"})
        self.assertEqual(201, status, queued)
        await self.h.manager.snapshot_instance(
            self.h.context(), queued["id"],
            await self.asked(instance, states.IMAGE_SNAPSHOT_PENDING))
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))
        status, _, image = await self.h.image.request("GET", f"/v2/images/{queued['id']}")
        self.assertEqual(("active", "qcow2"), (image["status"], image["disk_format"]))
        self.assertGreater(image["size"], 0)

    async def test_rebuild_defines_the_domain_again(self):
        instance = await self.built()
        await self.h.manager.rebuild_instance(
            self.h.context(), await self.asked(instance, states.REBUILDING),
            self.h.image_id, self.h.image_id, [], None, {})
        found = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING),
                         (found.vm_state, found.task_state, found.power_state))
        root = ET.fromstring(await self.domain_xml(instance.uuid))
        self.assertEqual(found.name, root.findtext("name"))

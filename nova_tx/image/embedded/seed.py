"""The image the store adds on its first start, so ``server create --image`` has one.

``nova-tx-tiny`` is a placeholder disk, not an operating system: a 1 MiB raw disk with an
MBR whose boot code prints one line through the BIOS and halts, and one empty Linux
partition. It boots (in QEMU, say) and proves the image path end to end; a guest that
runs cloud-init needs a real image (CirrOS, Ubuntu cloud images ...) uploaded as usual.
"""
from __future__ import annotations

import io
import struct
import uuid

SEED_NAME = "nova-tx-tiny"
#: Stable, so that a fresh all-in-one always has the same image id.
SEED_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-tx:image:" + SEED_NAME))
DISK_SIZE = 1024 * 1024
SECTOR = 512
MESSAGE = b"nova-tx-tiny: placeholder disk, no operating system. Halted.\r\n\0"

# 16-bit real mode, loaded at 0000:7C00:
#   xor ax,ax; mov ds,ax; xor bx,bx; mov si,msg; mov ah,0Eh
#   .loop: lodsb; or al,al; jz .halt; int 10h; jmp .loop
#   .halt: cli; hlt; jmp .halt
BOOT_CODE = bytes([
    0x31, 0xC0, 0x8E, 0xD8, 0x31, 0xDB, 0xBE, 0x18, 0x7C, 0xB4, 0x0E,
    0xAC, 0x08, 0xC0, 0x74, 0x04, 0xCD, 0x10, 0xEB, 0xF7,
    0xFA, 0xF4, 0xEB, 0xFC,
])


def tiny_disk() -> bytes:
    """The seed image's data: an MBR (boot code, one partition) and zeros."""
    mbr = bytearray(SECTOR)
    code = BOOT_CODE + MESSAGE
    mbr[:len(code)] = code
    sectors = DISK_SIZE // SECTOR
    # One active Linux partition from LBA 1 to the end; CHS fields say "use LBA".
    mbr[446:462] = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff",
                               1, sectors - 1)
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr) + bytes(DISK_SIZE - SECTOR)


def seed_image() -> tuple[dict, dict[str, str], io.BytesIO]:
    """(attributes, properties, data) of the seed image."""
    values = {"id": SEED_ID, "name": SEED_NAME, "disk_format": "raw",
              "container_format": "bare", "visibility": "public", "min_disk": 1,
              "min_ram": 0, "owner": None}
    properties = {
        "description": "nova-tx placeholder disk: a boot sector that prints one line and "
                       "halts; not an operating system",
        "hw_disk_bus": "virtio", "os_type": "linux",
    }
    return values, properties, io.BytesIO(tiny_disk())


async def seed_store(store, size_cap: int) -> bool:
    """Add the seed image unless the store was seeded before; whether it was added."""
    if await store.get_fact("seeded"):
        return False
    added = False
    if await store.get(SEED_ID) is None:
        values, properties, data = seed_image()
        await store.create(values, properties, [])
        await store.set_status(SEED_ID, "saving", expect=("queued",))
        # The cap is for uploads; the seed is ours.
        info = await store.write_data(SEED_ID, data, max(size_cap, DISK_SIZE))
        await store.set_status(SEED_ID, "active", expect=("saving",), data=info)
        added = True
    await store.set_fact("seeded", "1")
    return added

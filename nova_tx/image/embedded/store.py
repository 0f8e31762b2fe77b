"""The embedded image store's rules: image records in the database, data in files.

Database work runs in the store's DBThreadPool (``thd(conn)`` functions); file work runs
in the reactor's thread pool. Records come back as :class:`Image` dataclasses.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import struct
import uuid
from typing import Any, BinaryIO

import sqlalchemy as sa

from nova_tx import log
from nova_tx.context import RequestContext
from nova_tx.db.pool import DBThreadPool
from nova_tx.db.types import utcnow
from nova_tx.embedded_web import in_thread, is_admin
from nova_tx.image.embedded import errors
from nova_tx.image.embedded.tables import (
    image_members,
    image_properties,
    image_tags,
    images,
    store_facts,
)

LOG = log.getLogger(__name__)

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = ("queued", "saving", "active", "killed", "deleted", "pending_delete",
            "deactivated", "uploading", "importing")

#: Columns a client may set (the others are the store's).
SETTABLE = ("name", "visibility", "disk_format", "container_format", "min_disk", "min_ram",
            "protected", "os_hidden", "owner")
READ_ONLY = ("id", "status", "size", "virtual_size", "checksum", "os_hash_algo",
             "os_hash_value", "created_at", "updated_at", "self", "file", "schema",
             "direct_url", "stores")
RESERVED = ("deleted", "deleted_at", "location", "locations")
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram",
             "virtual_size")
HASH_ALGO = "sha512"


@dataclasses.dataclass
class Image:
    id: str
    name: str | None
    status: str
    visibility: str
    owner: str | None
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    protected: bool
    os_hidden: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: list[str] = dataclasses.field(default_factory=list)
    #: member project -> status (pending, accepted, rejected)
    members: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any, properties: dict[str, str], tags: list[str],
                 members: dict[str, str] | None = None) -> Image:
        values = {c.name: row._mapping[c.name] for c in images.columns}
        return cls(**values, properties=properties, tags=tags, members=members or {})

    def visible_to(self, context: RequestContext) -> bool:
        return (is_admin(context) or self.visibility in ("public", "community")
                or (self.owner is not None and self.owner == context.project_id)
                or (self.visibility == "shared" and context.project_id in self.members))

    def owned_by(self, context: RequestContext) -> bool:
        return is_admin(context) or (self.owner is not None
                                     and self.owner == context.project_id)


@dataclasses.dataclass
class DataInfo:
    size: int
    checksum: str
    os_hash_value: str
    virtual_size: int | None


def _load(conn: sa.Connection, rows: list) -> list[Image]:
    ids = [row.id for row in rows]
    props: dict[str, dict[str, str]] = {i: {} for i in ids}
    tags: dict[str, list[str]] = {i: [] for i in ids}
    members: dict[str, dict[str, str]] = {i: {} for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for p in conn.execute(sa.select(image_properties).where(
                image_properties.c.image_id.in_(chunk))):
            props[p.image_id][p.name] = p.value
        for t in conn.execute(sa.select(image_tags).where(image_tags.c.image_id.in_(chunk))
                              .order_by(image_tags.c.value)):
            tags[t.image_id].append(t.value)
        for m in conn.execute(sa.select(image_members).where(
                image_members.c.image_id.in_(chunk))):
            members[m.image_id][m.member] = m.status
    return [Image.from_row(row, props[row.id], tags[row.id], members[row.id])
            for row in rows]


def _get(conn: sa.Connection, image_id: str) -> Image | None:
    row = conn.execute(sa.select(images).where(images.c.id == image_id)).one_or_none()
    return _load(conn, [row])[0] if row is not None else None


def _visibility_clause(context: RequestContext, visibility: str | None,
                       member_status: str = "accepted"):
    own = images.c.owner == context.project_id
    admin = is_admin(context)
    membership = sa.exists().where(image_members.c.image_id == images.c.id,
                                   image_members.c.member == context.project_id)
    if member_status != "all":
        membership = membership.where(image_members.c.status == member_status)
    shared_with_me = sa.and_(images.c.visibility == "shared", membership)
    if visibility is None:
        # Glance's default list: public images, the caller's own of any visibility and
        # those shared with it that it accepted.
        return sa.true() if admin else sa.or_(images.c.visibility == "public", own,
                                               shared_with_me)
    if visibility == "all":
        return sa.true() if admin else sa.or_(
            images.c.visibility.in_(("public", "community")), own, shared_with_me)
    clause = images.c.visibility == visibility
    if visibility == "private" and not admin:
        clause = sa.and_(clause, own)
    if visibility == "shared" and not admin:
        clause = sa.or_(sa.and_(clause, own), shared_with_me)
    return clause


class ImageStore:
    """Image records and files; every method returns a Deferred (or is a coroutine)."""

    def __init__(self, pool: DBThreadPool, image_dir: str, *, reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.pool = pool
        self.image_dir = image_dir
        self.reactor = reactor

    # -- setup -----------------------------------------------------------------------

    def create_schema(self):
        from nova_tx.image.embedded.tables import metadata

        def thd(engine: sa.Engine) -> None:
            metadata.create_all(engine, checkfirst=True)
            os.makedirs(self.image_dir, exist_ok=True)
            # An upload cut short by a stop or a crash: its partial file goes, and the
            # image may take data again (Glance would leave it "saving" for ever).
            for name in os.listdir(self.image_dir):
                if name.endswith(".part"):
                    _remove(os.path.join(self.image_dir, name))
            with engine.begin() as conn:
                conn.execute(sa.update(images).where(images.c.status == "saving")
                             .values(status="queued", updated_at=utcnow()))

        return self.pool.do_with_engine(thd)

    def get_fact(self, name: str):
        def thd(conn: sa.Connection) -> str | None:
            return conn.execute(sa.select(store_facts.c.value).where(
                store_facts.c.name == name)).scalar_one_or_none()
        return self.pool.do(thd)

    def set_fact(self, name: str, value: str):
        def thd(conn: sa.Connection) -> None:
            conn.execute(sa.delete(store_facts).where(store_facts.c.name == name))
            conn.execute(sa.insert(store_facts).values(name=name, value=value))
        return self.pool.do(thd)

    # -- records ---------------------------------------------------------------------

    def data_path(self, image_id: str) -> str:
        return os.path.join(self.image_dir, image_id)

    def get(self, image_id: str):
        return self.pool.do(_get, image_id)

    async def get_visible(self, context: RequestContext, image_id: str) -> Image:
        image = await self.get(image_id)
        if image is None or not image.visible_to(context):
            raise errors.NotFound(f"No image found with ID {image_id}")
        return image

    def create(self, values: dict[str, Any], properties: dict[str, str], tags: list[str]):
        now = utcnow()
        row = {"id": values.get("id") or str(uuid.uuid4()), "status": "queued",
               "visibility": "shared", "min_disk": 0, "min_ram": 0, "protected": False,
               "os_hidden": False, "created_at": now, "updated_at": now}
        row.update({k: v for k, v in values.items() if k in SETTABLE or k == "id"})

        def thd(conn: sa.Connection) -> Image:
            if conn.execute(sa.select(images.c.id).where(images.c.id == row["id"])).first():
                raise errors.Conflict(f"Image with identifier {row['id']} already exists!")
            conn.execute(sa.insert(images).values(**row))
            _write_properties(conn, row["id"], properties)
            _write_tags(conn, row["id"], tags)
            return _get(conn, row["id"])

        return self.pool.do(thd)

    def save(self, image: Image, *, expect_status: str | None = None):
        """Write ``image``'s settable attributes, properties and tags back."""
        values = {k: getattr(image, k) for k in SETTABLE}
        values["updated_at"] = utcnow()

        def thd(conn: sa.Connection) -> Image:
            query = sa.update(images).where(images.c.id == image.id)
            if expect_status is not None:
                query = query.where(images.c.status == expect_status)
            if conn.execute(query.values(**values)).rowcount != 1:
                raise errors.Conflict(f"Image {image.id} changed while it was being updated")
            conn.execute(sa.delete(image_properties).where(
                image_properties.c.image_id == image.id))
            conn.execute(sa.delete(image_tags).where(image_tags.c.image_id == image.id))
            _write_properties(conn, image.id, image.properties)
            _write_tags(conn, image.id, image.tags)
            return _get(conn, image.id)

        return self.pool.do(thd)

    def set_status(self, image_id: str, status: str, *, expect: tuple[str, ...] = (),
                   data: DataInfo | None = None):
        """Move the image to ``status`` if it is in one of ``expect`` (any when empty);
        return whether it moved."""
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if data is not None:
            values.update(size=data.size, checksum=data.checksum, os_hash_algo=HASH_ALGO,
                          os_hash_value=data.os_hash_value, virtual_size=data.virtual_size)

        def thd(conn: sa.Connection) -> bool:
            query = sa.update(images).where(images.c.id == image_id)
            if expect:
                query = query.where(images.c.status.in_(expect))
            return conn.execute(query.values(**values)).rowcount == 1

        return self.pool.do(thd)

    def list(self, context: RequestContext, *, visibility: str | None,
             member_status: str = "accepted",
             columns: dict[str, list[str]], properties: dict[str, str], tags: list[str],
             size_min: int | None, size_max: int | None, os_hidden: bool,
             sort: list[tuple[str, str]], marker: str | None, limit: int):
        """One page of the images visible to the caller; NotFound-marker is BadRequest."""

        def thd(conn: sa.Connection) -> list[Image]:
            query = sa.select(images).where(
                _visibility_clause(context, visibility, member_status))
            query = query.where(images.c.os_hidden == os_hidden)
            for name, wanted in columns.items():
                query = query.where(images.c[name].in_(wanted))
            if size_min is not None:
                query = query.where(images.c.size >= size_min)
            if size_max is not None:
                query = query.where(images.c.size <= size_max)
            for name, value in properties.items():
                query = query.where(sa.exists().where(
                    image_properties.c.image_id == images.c.id,
                    image_properties.c.name == name, image_properties.c.value == value))
            for tag in tags:
                query = query.where(sa.exists().where(
                    image_tags.c.image_id == images.c.id, image_tags.c.value == tag))
            order = []
            for key, direction in sort:
                column = images.c[key]
                order.append(column.desc() if direction == "desc" else column.asc())
            if "id" not in [k for k, _ in sort]:
                order.append(images.c.id.desc() if sort and sort[-1][1] == "desc"
                             else images.c.id.asc())
            # The ids in order first, then one page of rows: the marker is found by
            # position, so any sort (NULLs included) pages correctly.
            ids = [r.id for r in conn.execute(query.with_only_columns(images.c.id)
                                              .order_by(*order))]
            start = 0
            if marker is not None:
                if marker not in ids:
                    raise errors.BadRequest(
                        f"Invalid marker. Image {marker} could not be found.")
                start = ids.index(marker) + 1
            page = ids[start:start + limit]
            if not page:
                return []
            rows = {r.id: r for r in conn.execute(sa.select(images).where(
                images.c.id.in_(page)))}
            return _load(conn, [rows[i] for i in page])

        return self.pool.do(thd)

    # -- members ---------------------------------------------------------------------

    def add_member(self, image_id: str, member: str):
        def thd(conn: sa.Connection) -> dict:
            if conn.execute(sa.select(image_members).where(
                    image_members.c.image_id == image_id,
                    image_members.c.member == member)).first() is not None:
                raise errors.Conflict(f"Member {member} already exists for image "
                                      f"{image_id}.")
            now = utcnow()
            conn.execute(sa.insert(image_members).values(
                image_id=image_id, member=member, status="pending", created_at=now,
                updated_at=now))
            return _member(conn, image_id, member)
        return self.pool.do(thd)

    def get_member(self, image_id: str, member: str):
        return self.pool.do(_member, image_id, member)

    def list_members(self, image_id: str):
        def thd(conn: sa.Connection) -> list[dict]:
            return [_member_view(r) for r in conn.execute(sa.select(image_members).where(
                image_members.c.image_id == image_id).order_by(image_members.c.created_at,
                                                               image_members.c.member))]
        return self.pool.do(thd)

    def set_member_status(self, image_id: str, member: str, status: str):
        def thd(conn: sa.Connection) -> dict:
            conn.execute(sa.update(image_members).where(
                image_members.c.image_id == image_id, image_members.c.member == member)
                .values(status=status, updated_at=utcnow()))
            return _member(conn, image_id, member)
        return self.pool.do(thd)

    def remove_member(self, image_id: str, member: str):
        def thd(conn: sa.Connection) -> None:
            conn.execute(sa.delete(image_members).where(
                image_members.c.image_id == image_id, image_members.c.member == member))
        return self.pool.do(thd)

    def delete_record(self, image_id: str):
        def thd(conn: sa.Connection) -> None:
            conn.execute(sa.delete(image_members).where(
                image_members.c.image_id == image_id))
            conn.execute(sa.delete(image_properties).where(
                image_properties.c.image_id == image_id))
            conn.execute(sa.delete(image_tags).where(image_tags.c.image_id == image_id))
            conn.execute(sa.delete(images).where(images.c.id == image_id))
        return self.pool.do(thd)

    # -- data ------------------------------------------------------------------------

    def write_data(self, image_id: str, source: BinaryIO, size_cap: int):
        """Copy ``source`` to the image's file in a thread; the DataInfo of what was
        written. Over ``size_cap`` bytes: the file is removed, RequestEntityTooLarge."""
        return in_thread(self.reactor, None, _write_file, self.data_path(image_id), source,
                         size_cap)

    def remove_data(self, image_id: str):
        return in_thread(self.reactor, None, _remove, self.data_path(image_id))


def _member_view(row: Any) -> dict:
    return {"image_id": row.image_id, "member_id": row.member, "status": row.status,
            "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "schema": "/v2/schemas/member"}


def _member(conn: sa.Connection, image_id: str, member: str) -> dict:
    row = conn.execute(sa.select(image_members).where(
        image_members.c.image_id == image_id, image_members.c.member == member)).first()
    if row is None:
        raise errors.NotFound(f"{member} is not a member of image {image_id}.")
    return _member_view(row)


def _write_properties(conn: sa.Connection, image_id: str, properties: dict[str, str]) -> None:
    if properties:
        conn.execute(sa.insert(image_properties), [
            {"image_id": image_id, "name": k, "value": v} for k, v in properties.items()])


def _write_tags(conn: sa.Connection, image_id: str, tags: list[str]) -> None:
    if tags:
        conn.execute(sa.insert(image_tags), [
            {"image_id": image_id, "value": t} for t in dict.fromkeys(tags)])


def _write_file(path: str, source: BinaryIO, size_cap: int) -> DataInfo:
    md5 = hashlib.md5(usedforsecurity=False)
    multihash = hashlib.new(HASH_ALGO)
    size = 0
    head = b""
    partial = path + ".part"
    try:
        with open(partial, "wb") as out:
            while True:
                chunk = source.read(1024 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > size_cap:
                    raise errors.RequestEntityTooLarge(
                        f"Image exceeds the storage quota: {size_cap} bytes at most")
                if len(head) < 512:
                    head += chunk[:512 - len(head)]
                md5.update(chunk)
                multihash.update(chunk)
                out.write(chunk)
        os.replace(partial, path)
    except BaseException:
        _remove(partial)
        raise
    return DataInfo(size=size, checksum=md5.hexdigest(), os_hash_value=multihash.hexdigest(),
                    virtual_size=virtual_size(head, size))


def virtual_size(head: bytes, size: int) -> int:
    """The guest-visible size: a qcow2 header's size field, else the data's size."""
    if len(head) >= 32 and head[:4] == b"QFI\xfb":
        return struct.unpack(">Q", head[24:32])[0]
    return size


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

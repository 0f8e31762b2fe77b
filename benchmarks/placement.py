"""GET /allocation_candidates: our Placement against the real OpenStack Placement (issue 5).

    .venv/bin/python benchmarks/placement.py [--sizes 1000,10000,50000] [--repeat 7]
        [--engine postgresql|sqlite] [--pg-url postgresql+psycopg2://root@127.0.0.1]

For each size N (compute nodes) the same deterministic cloud is loaded into two fresh
databases on the same engine (PostgreSQL by default: ``bench_ours_<N>`` and
``bench_real_<N>``, dropped afterwards; or SQLite files with ``--engine sqlite``):

- N compute nodes (VCPU 64 at 4.0, MEMORY_MB 256 GiB with 512 reserved, DISK_GB 2000,
  nine standard traits each, HW_CPU_X86_AVX2 on a third, one of four "AZ" aggregates);
- every 10th node (i % 10 == 3) also has PCPU 32;
- every 10th node (i % 10 == 5) has two child providers (SR-IOV PFs, SRIOV_NET_VF 16,
  one CUSTOM_PHYSNET_A, one CUSTOM_PHYSNET_B);
- every 20th node (i % 20 == 0) has no local disk: it is in a sharing aggregate (20
  nodes each) whose storage provider (DISK_GB 100000, MISC_SHARES_VIA_AGGREGATE)
  gives its disk;
- half the nodes have one consumer (4 VCPU, 8 GiB, 40 GB), and every 50th node is
  full (a consumer of 250 GiB of memory), so capacity filtering has work to do.

Each system loads through the fastest path it offers, not its HTTP API: its own
schema tooling (ours: ``nova_tx.placement.db.sync``; the real one: ``placement-manage
db sync`` and its boot-time trait and class sync ``placement.deploy.update_database``)
and then bulk inserts into its own schema (PostgreSQL ``COPY``; SQLite ``executemany``),
ids looked up by name in each database, then ``VACUUM ANALYZE`` (what autovacuum would
have done by the time a cloud is this size).

Each system is then served by its own process, as deployed: ours by ``nova-tx-placement
--config-file`` (the Klein app on the reactor), the real one by its WSGI application
(``placement.wsgi.init_application``) under ``wsgiref``, as
``tests/placement/real_placement.py`` does; both with noauth2 and Placement's defaults
(no randomisation, no ``max_allocation_candidates``). The timed part is HTTP: the same
``GET /allocation_candidates`` requests at microversion 1.39, from this process, one at
a time, until the body is read:

1. ``resources=VCPU:1,MEMORY_MB:1024,DISK_GB:10`` (the typical request)
2. the same with ``limit=50``
3. ``resources=PCPU:2,MEMORY_MB:2048&required=HW_CPU_X86_AVX2``
4. a granular request on a nested child: ``resources=VCPU:2,MEMORY_MB:2048,DISK_GB:10
   &resources1=SRIOV_NET_VF:1&required1=CUSTOM_PHYSNET_A&group_policy=isolate``
5. ``resources=VCPU:1,MEMORY_MB:1024,DISK_GB:10&member_of=<a sharing aggregate>``

Each request is sent once to warm up, then ``--repeat`` times to each system in turn;
the median is reported. A system whose warm-up took long gets fewer timed runs (as many
as fit in about 20 s, at least one), and a request over 120 s counts as 120 s (printed
``>120000 ms``; the server is restarted after it). Both answers are checked to hold the
same candidates: the set of allocation requests (provider, class, amount) and the set
of summarised providers (for ``limit=50`` each system picks 50 of the same candidates:
only the count and that they are among the full answer's are checked).

The last line is ``ratio_10k=X.XX``: real / ours, the median time of the real Placement
divided by ours for request 1 at 10,000 compute nodes (above 1: ours is faster). The
geometric mean over the five requests at 10,000 is printed before it.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
TIMEOUT = 120.0
VERSION = "placement 1.39"
NS = uuidlib.UUID("3f6b8c1e-0a4d-4e57-9b1f-5c2a9e7d4b10")

STD_TRAITS = ("HW_CPU_X86_SSE", "HW_CPU_X86_SSE2", "HW_CPU_X86_SSE41", "HW_CPU_X86_SSE42",
              "HW_CPU_X86_AVX", "COMPUTE_NET_ATTACH_PORT_WITH_TAG",
              "COMPUTE_VOLUME_MULTI_ATTACH", "COMPUTE_IMAGE_TYPE_QCOW2",
              "COMPUTE_IMAGE_TYPE_RAW")
PROJECT = "5a1f9e0c-6b3d-4c2e-8f7a-1d2c3b4a5e60"
USER = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def _uuid(name: str) -> str:
    return str(uuidlib.uuid5(NS, name))


# -- the cloud ----------------------------------------------------------------------

class Cloud:
    """The rows of one cloud of ``n`` compute nodes, with names rather than ids."""

    def __init__(self, n: int):
        self.n = n
        # (id, uuid, name, parent id, root id)
        self.providers: list[tuple[int, str, str, int | None, int]] = []
        self.inventories: list[tuple] = []  # (rp id, class, total, reserved, max, ratio)
        self.traits: list[tuple[int, str]] = []  # (rp id, trait)
        self.aggregates: list[str] = []  # uuids; index + 1 is the id
        self.members: list[tuple[int, int]] = []  # (rp id, aggregate index)
        self.consumers: list[str] = []
        self.allocations: list[tuple[int, int, str, int]] = []  # (rp, consumer, class, used)
        self._build()

    def _provider(self, name, parent=None, root=None) -> int:
        pid = len(self.providers) + 1
        self.providers.append((pid, _uuid(name), name, parent, root or pid))
        return pid

    def _consume(self, amounts: list[tuple[int, str, int]]) -> None:
        consumer = len(self.consumers)
        self.consumers.append(_uuid(f"consumer-{consumer}"))
        for rp_id, rc, used in amounts:
            self.allocations.append((rp_id, consumer, rc, used))

    def _build(self) -> None:
        n = self.n
        for a in range(4):
            self.aggregates.append(_uuid(f"az-{a}"))
        sharing_aggs = (n + 399) // 400
        share_first = len(self.aggregates)
        for s in range(sharing_aggs):
            self.aggregates.append(_uuid(f"share-agg-{s}"))
        self.share_aggregate = self.aggregates[share_first]
        sharing_rp = {}
        for s in range(sharing_aggs):
            pid = self._provider(f"shared-storage-{s}")
            sharing_rp[s] = pid
            self.inventories.append((pid, "DISK_GB", 100000, 0, 100000, 1.0))
            self.traits.append((pid, "MISC_SHARES_VIA_AGGREGATE"))
            self.members.append((pid, share_first + s))
        for i in range(n):
            cn = self._provider(f"cn-{i:05d}")
            self.inventories += [(cn, "VCPU", 64, 0, 64, 4.0),
                                 (cn, "MEMORY_MB", 262144, 512, 262144, 1.0)]
            shared = i % 20 == 0
            if shared:
                disk_from = sharing_rp[i // 400]
                self.members.append((cn, share_first + i // 400))
            else:
                disk_from = cn
                self.inventories.append((cn, "DISK_GB", 2000, 0, 2000, 1.0))
            self.members.append((cn, i % 4))
            self.traits += [(cn, t) for t in STD_TRAITS]
            if i % 3 == 0:
                self.traits.append((cn, "HW_CPU_X86_AVX2"))
            if i % 10 == 3:
                self.inventories.append((cn, "PCPU", 32, 0, 32, 1.0))
            if i % 10 == 5:
                for k, physnet in enumerate(("CUSTOM_PHYSNET_A", "CUSTOM_PHYSNET_B")):
                    pf = self._provider(f"cn-{i:05d}-pf{k}", parent=cn, root=cn)
                    self.inventories.append((pf, "SRIOV_NET_VF", 16, 0, 16, 1.0))
                    self.traits.append((pf, physnet))
            if i % 2 == 1:
                self._consume([(cn, "VCPU", 4), (cn, "MEMORY_MB", 8192),
                               (disk_from, "DISK_GB", 40)])
            if i % 50 == 7:
                self._consume([(cn, "MEMORY_MB", 256000)])
            if i % 10 == 3 and i % 20 == 3:
                self._consume([(cn, "PCPU", 8), (cn, "MEMORY_MB", 16384)])


def requests_for(cloud: Cloud) -> list[tuple[str, str]]:
    return [
        ("1 VCPU,MEMORY_MB,DISK_GB", "resources=VCPU:1,MEMORY_MB:1024,DISK_GB:10"),
        ("2 same, limit=50", "resources=VCPU:1,MEMORY_MB:1024,DISK_GB:10&limit=50"),
        ("3 PCPU + required AVX2",
         "resources=PCPU:2,MEMORY_MB:2048&required=HW_CPU_X86_AVX2"),
        ("4 granular nested VF",
         "resources=VCPU:2,MEMORY_MB:2048,DISK_GB:10&resources1=SRIOV_NET_VF:1"
         "&required1=CUSTOM_PHYSNET_A&group_policy=isolate"),
        ("5 member_of sharing agg",
         f"resources=VCPU:1,MEMORY_MB:1024,DISK_GB:10&member_of={cloud.share_aggregate}"),
    ]


# -- databases ----------------------------------------------------------------------

class Database:
    """One fresh database of the chosen engine."""

    def __init__(self, args, name: str):
        self.args = args
        self.name = name
        if args.engine == "postgresql":
            self.url = f"{args.pg_url}/{name}"
        else:
            self.path = os.path.join(args.workdir, f"{name}.sqlite")
            self.url = f"sqlite:///{self.path}"

    def create(self) -> None:
        if self.args.engine == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
            self._admin(f'CREATE DATABASE "{self.name}"')
        elif os.path.exists(self.path):
            os.unlink(self.path)

    def drop(self) -> None:
        if self.args.engine == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def _admin(self, statement: str) -> None:
        import sqlalchemy as sa
        engine = sa.create_engine(f"{self.args.pg_url}/postgres",
                                  isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()


def load(url: str, cloud: Cloud) -> dict[str, int]:
    """Bulk-insert ``cloud`` into the (migrated, standards-synced) database at ``url``."""
    import sqlalchemy as sa
    engine = sa.create_engine(url)
    now = "2026-01-01 00:00:00"
    counts = {}
    try:
        with engine.begin() as conn:
            rc_ids = dict(conn.execute(sa.text("SELECT name, id FROM resource_classes")).all())
            needed = {t for _, t in cloud.traits}
            known = dict(conn.execute(sa.text("SELECT name, id FROM traits")).all())
            for name in sorted(needed - set(known)):
                conn.execute(sa.text("INSERT INTO traits (name, created_at) VALUES (:n, :c)"),
                             {"n": name, "c": now})
            trait_ids = dict(conn.execute(sa.text("SELECT name, id FROM traits")).all())
            conn.execute(sa.text(
                "INSERT INTO projects (id, external_id, created_at) VALUES (1, :p, :c)"),
                {"p": PROJECT, "c": now})
            conn.execute(sa.text(
                "INSERT INTO users (id, external_id, created_at) VALUES (1, :u, :c)"),
                {"u": USER, "c": now})
            tables = [
                ("resource_providers",
                 ("id", "uuid", "name", "generation", "parent_provider_id",
                  "root_provider_id", "created_at"),
                 [(p, u, name, 1, parent, root, now)
                  for p, u, name, parent, root in cloud.providers]),
                ("inventories",
                 ("resource_provider_id", "resource_class_id", "total", "reserved",
                  "min_unit", "max_unit", "step_size", "allocation_ratio", "created_at"),
                 [(p, rc_ids[rc], total, reserved, 1, max_unit, 1, ratio, now)
                  for p, rc, total, reserved, max_unit, ratio in cloud.inventories]),
                ("resource_provider_traits",
                 ("resource_provider_id", "trait_id", "created_at"),
                 [(p, trait_ids[t], now) for p, t in cloud.traits]),
                ("placement_aggregates", ("id", "uuid", "created_at"),
                 [(i + 1, u, now) for i, u in enumerate(cloud.aggregates)]),
                ("resource_provider_aggregates",
                 ("resource_provider_id", "aggregate_id", "created_at"),
                 [(p, a + 1, now) for p, a in cloud.members]),
                ("consumers",
                 ("id", "uuid", "project_id", "user_id", "generation", "created_at"),
                 [(i + 1, u, 1, 1, 1, now) for i, u in enumerate(cloud.consumers)]),
                ("allocations",
                 ("resource_provider_id", "consumer_id", "resource_class_id", "used",
                  "created_at"),
                 [(p, cloud.consumers[c], rc_ids[rc], used, now)
                  for p, c, rc, used in cloud.allocations]),
            ]
            for table, columns, rows in tables:
                _bulk_insert(conn, table, columns, rows)
                counts[table] = len(rows)
            if engine.dialect.name == "postgresql":
                for table in ("resource_providers", "placement_aggregates", "consumers",
                              "projects", "users", "traits", "inventories", "allocations"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum would have done to a cloud's tables by now (statistics,
            # and the visibility map that index-only scans need).
            conn.execute(sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                                 else "ANALYZE"))
    finally:
        engine.dispose()
    return counts


def _bulk_insert(conn, table: str, columns: tuple, rows: list) -> None:
    import sqlalchemy as sa
    if conn.dialect.name == "postgresql":
        buf = io.StringIO()
        for row in rows:
            buf.write(",".join("" if v is None else str(v) for v in row))
            buf.write("\n")
        buf.seek(0)
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buf)
        cursor.close()
    else:
        statement = sa.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                            f"({', '.join(':' + c for c in columns)})")
        conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])


# -- the servers --------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_conf(path: str, options: dict) -> None:
    with open(path, "w") as f:
        for group, values in options.items():
            f.write(f"[{group}]\n")
            for key, value in values.items():
                f.write(f"{key} = {value}\n")
            f.write("\n")


class Server:
    """One Placement process (ours or the real one) on one database."""

    def __init__(self, kind: str, url: str, workdir: str):
        self.kind = kind
        self.db_url = url
        self.directory = tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=workdir)
        self.process: subprocess.Popen | None = None
        self.base: str | None = None

    def prepare_schema(self) -> None:
        """Schema and standard classes and traits, by the system's own tooling."""
        if self.kind == "ours":
            import sqlalchemy as sa

            from nova_tx.placement import db as placement_db
            engine = sa.create_engine(self.db_url)
            try:
                placement_db.sync(engine)
            finally:
                engine.dispose()
            return
        conf = self._real_conf()
        subprocess.run([os.path.join(BIN, "placement-manage"), "--config-file", conf,
                        "db", "sync"], check=True, capture_output=True, timeout=300)
        subprocess.run([sys.executable, "-P", __file__, "--child-real-sync", self.directory],
                       check=True, timeout=300)

    def _real_conf(self) -> str:
        path = os.path.join(self.directory, "placement.conf")
        _write_conf(path, {
            "DEFAULT": {"log_file": os.path.join(self.directory, "placement.log")},
            "api": {"auth_strategy": "noauth2"},
            "placement_database": {"connection": self.db_url},
        })
        return path

    def start(self) -> None:
        log = open(os.path.join(self.directory, "server.log"), "wb")
        if self.kind == "ours":
            port = _free_port()
            conf = os.path.join(self.directory, "nova.conf")
            _write_conf(conf, {
                "DEFAULT": {"log_file": os.path.join(self.directory, "nova.log")},
                "api": {"auth_strategy": "noauth2"},
                "placement_database": {"connection": self.db_url},
                "embedded": {"placement_listen": "127.0.0.1", "placement_port": port},
            })
            argv = [os.path.join(BIN, "nova-tx-placement"), "--config-file", conf]
            if os.environ.get("BENCH_PROFILE_OURS"):
                argv = [sys.executable, "-m", "cProfile", "-o",
                        os.environ["BENCH_PROFILE_OURS"], argv[0], *argv[1:]]
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log)
            self.base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(self.base + "/", timeout=5) as r:
                        r.read()
                    return
                except OSError:
                    time.sleep(0.2)
            raise RuntimeError(f"our Placement did not start: {self.log_tail()}")
        self._real_conf()
        self.process = subprocess.Popen(
            [sys.executable, "-P", __file__, "--child-real-serve", self.directory],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ready = select.select([self.process.stdout], [], [], 120)[0]
        line = self.process.stdout.readline() if ready else b""
        if not line.startswith(b"LISTENING "):
            raise RuntimeError(f"the real Placement did not start: {self.log_tail()}")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"

    def log_tail(self) -> str:
        with contextlib.suppress(OSError), \
                open(os.path.join(self.directory, "server.log"), errors="replace") as f:
            return "".join(f.readlines()[-30:])
        return ""

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    stream.close()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def get(self, query: str) -> tuple[float, dict | None]:
        """(seconds, body) of GET /allocation_candidates?query; (inf, None) past TIMEOUT."""
        request = urllib.request.Request(
            f"{self.base}/allocation_candidates?{query}",
            headers={"OpenStack-API-Version": VERSION, "X-Auth-Token": "admin",
                     "Accept": "application/json"})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                data = response.read()
        except TimeoutError:
            return math.inf, None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError | socket.timeout):
                return math.inf, None
            raise
        elapsed = time.perf_counter() - start
        if elapsed > TIMEOUT:
            return math.inf, None
        return elapsed, json.loads(data)


# -- the child: the real Placement ---------------------------------------------------

def _child_real(directory: str, serve: bool) -> None:
    os.environ["OS_PLACEMENT_CONFIG_DIR"] = directory
    if not serve:
        from oslo_config import cfg
        from placement import conf as placement_conf
        from placement import db_api, deploy
        conf = cfg.ConfigOpts()
        placement_conf.register_opts(conf)
        conf([], default_config_files=[os.path.join(directory, "placement.conf")])
        db_api.configure(conf)
        deploy.update_database(conf)
        return
    import signal
    import threading
    from wsgiref import simple_server

    from placement import wsgi
    application = wsgi.init_application()

    class Handler(simple_server.WSGIRequestHandler):
        def get_environ(self):
            environ = super().get_environ()
            if self.headers.get("content-type") is None:
                environ.pop("CONTENT_TYPE", None)
            return environ

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

    httpd = simple_server.make_server("127.0.0.1", 0, application, handler_class=Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    def exit_with_parent():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    print(f"LISTENING {httpd.server_port}", flush=True)
    httpd.serve_forever()


# -- comparing answers -------------------------------------------------------------

def candidate_set(body: dict) -> set:
    return {frozenset((rp, rc, amount)
                      for rp, alloc in request["allocations"].items()
                      for rc, amount in alloc["resources"].items())
            for request in body["allocation_requests"]}


def compare(name: str, ours: dict | None, real: dict | None, full: tuple | None) -> str:
    if ours is None or real is None:
        return "not compared (timeout)"
    a, b = candidate_set(ours), candidate_set(real)
    if name.startswith("2") and full is not None:
        full_ours, full_real = full
        ok = (len(a) == len(b) and (full_ours is None or a <= full_ours)
              and (full_real is None or b <= full_real))
        return (f"same count ({len(a)}), all among the full answer" if ok
                else f"DIFFERENT: ours {len(a)}, real {len(b)}")
    summaries_same = set(ours["provider_summaries"]) == set(real["provider_summaries"])
    if a == b and summaries_same:
        return f"same {len(a)} candidates, same {len(ours['provider_summaries'])} summaries"
    return (f"DIFFERENT: ours {len(a)} candidates / {len(ours['provider_summaries'])} "
            f"summaries, real {len(b)} / {len(real['provider_summaries'])}, "
            f"{len(a & b)} in common")


def fmt_ms(seconds: float) -> str:
    return f">{TIMEOUT * 1000:.0f} ms" if math.isinf(seconds) else f"{seconds * 1000:.0f} ms"


# -- the run ------------------------------------------------------------------------

def time_request(servers: dict[str, Server], query: str, repeat: int
                 ) -> tuple[dict[str, float], dict[str, dict | None]]:
    times: dict[str, list[float]] = {}
    bodies: dict[str, dict | None] = {}
    reps: dict[str, int] = {}
    for kind, server in servers.items():
        warm, bodies[kind] = server.get(query)
        if math.isinf(warm):
            server.restart()
            times[kind] = [math.inf]
            reps[kind] = 0
        else:
            times[kind] = []
            reps[kind] = max(1, min(repeat, int(20 / max(warm, 1e-3))))
    for i in range(repeat):
        for kind, server in servers.items():
            if i < reps[kind]:
                elapsed, _ = server.get(query)
                times[kind].append(elapsed)
                if math.isinf(elapsed):
                    server.restart()
                    reps[kind] = 0
    return {k: statistics.median(v) for k, v in times.items()}, bodies


def run_size(args, n: int, results: dict) -> None:
    label = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    t0 = time.perf_counter()
    cloud = Cloud(n)
    print(f"\n== {n} compute nodes: {len(cloud.providers)} providers, "
          f"{len(cloud.inventories)} inventories, {len(cloud.traits)} provider traits, "
          f"{len(cloud.allocations)} allocations ({time.perf_counter() - t0:.1f} s to build)",
          flush=True)
    servers: dict[str, Server] = {}
    databases: list[Database] = []
    try:
        for kind in ("ours", "real"):
            db = Database(args, f"bench_{kind}_{label}")
            databases.append(db)
            db.create()
            server = Server(kind, db.url, args.workdir)
            servers[kind] = server
            t0 = time.perf_counter()
            server.prepare_schema()
            t1 = time.perf_counter()
            load(db.url, cloud)
            t2 = time.perf_counter()
            server.start()
            print(f"   {kind}: schema {t1 - t0:.1f} s, load {t2 - t1:.1f} s, "
                  f"start {time.perf_counter() - t2:.1f} s", flush=True)
        print(f"   {'request':<28} {'ours':>10} {'real':>11} {'real/ours':>9}  answers",
              flush=True)
        full = None
        for name, query in requests_for(cloud):
            medians, bodies = time_request(servers, query, args.repeat)
            if name.startswith("1"):
                full = tuple(candidate_set(bodies[k]) if bodies[k] else None
                             for k in ("ours", "real"))
            ratio = medians["real"] / medians["ours"]
            results[(n, name)] = (medians["ours"], medians["real"])
            ratio_text = f">{TIMEOUT / medians['ours']:.1f}" if math.isinf(ratio) \
                else f"{ratio:.2f}"
            print(f"   {name:<28} {fmt_ms(medians['ours']):>10} {fmt_ms(medians['real']):>11} "
                  f"{ratio_text:>9}  {compare(name, bodies['ours'], bodies['real'], full)}",
                  flush=True)
    finally:
        for server in servers.values():
            if args.keep:
                server.stop()
            else:
                server.cleanup()
        if not args.keep:
            for db in databases:
                db.drop()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] in ("--child-real-sync", "--child-real-serve"):
        _child_real(sys.argv[2], serve=sys.argv[1] == "--child-real-serve")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default="postgresql+psycopg2://root@127.0.0.1:5432")
    parser.add_argument("--requests", default="1,2,3,4,5",
                        help="which requests (numbers) to time")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases (bench_*), for EXPLAIN")
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    args.workdir = tempfile.mkdtemp(prefix="bench-placement-")
    sizes = [int(s) for s in args.sizes.split(",")]
    global requests_for
    chosen = set(args.requests.split(","))
    all_requests = requests_for
    requests_for = lambda cloud: [r for r in all_requests(cloud)  # noqa: E731
                                  if r[0].split()[0] in chosen]
    import sqlalchemy
    engine_text = "PostgreSQL" if args.engine == "postgresql" else "SQLite"
    print(f"placement: GET /allocation_candidates, ours (nova-tx-placement) vs real "
          f"(openstack-placement {_real_version()}), both on {engine_text} "
          f"(SQLAlchemy {sqlalchemy.__version__}), microversion {VERSION.split()[1]}, "
          f"median of {args.repeat} warm runs", flush=True)
    results: dict = {}
    started = time.perf_counter()
    try:
        for n in sizes:
            run_size(args, n, results)
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    ten = [(o, r) for (n, _), (o, r) in results.items() if n == 10000]
    if ten:
        logs = [math.log(min(r, TIMEOUT) / o) for o, r in ten]
        print(f"geomean_10k={math.exp(sum(logs) / len(logs)):.2f} (over {len(ten)} requests)")
        first = [(o, r) for (n, name), (o, r) in results.items()
                 if n == 10000 and name.startswith("1")]
        if first:
            o, r = first[0]
            print(f"ratio_10k={min(r, TIMEOUT) / o:.2f}")


def _real_version() -> str:
    from importlib import metadata
    try:
        return metadata.version("openstack-placement")
    except metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()

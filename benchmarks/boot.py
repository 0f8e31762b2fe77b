"""Boot throughput of the all-in-one (issue 10): how fast servers reach ACTIVE.

The all-in-one (``nova-allinone``: memory bus, SQLite, embedded Placement, identity,
images and network, the fake hypervisor) runs as its own process, as ``make run``
starts it, on a fake host large enough for every server (64 CPUs, 256 GiB, 2 TB) and
with the quotas off. This process is the client: openstacksdk's session, so every
request is authenticated against the embedded identity as an operator's would be.

For each size (100, then 1,000 by default) it POSTs that many servers (``m1.nano``,
the ``nova-tx-tiny`` image, ``networks: none``: the embedded flat network's /24 could
not hold 1,000 ports) from ``--concurrency`` client threads, and polls ``GET
/servers?status=ACTIVE`` (ids only, paged) every ``--poll`` seconds to note when each
server is first seen ACTIVE. It reports:

- servers per second: the size over the time from the first POST to the last ACTIVE;
- p50/p99 of create-to-ACTIVE: from a server's POST returning to its first ACTIVE
  sighting (so to within ``--poll`` seconds);
- the POST's own p50/p99 (the API's synchronous part).

The servers are deleted between sizes (and that is timed too). ``--profile FILE`` runs
the all-in-one under cProfile and prints what dominates once it stops. The last line
is ``servers_per_s=X`` of the largest size measured.

    .venv/bin/python benchmarks/boot.py [--sizes 100,1000] [--profile /tmp/boot.prof]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from nova_tx import allinone  # noqa: E402

BIN = os.path.dirname(sys.executable)
MICROVERSION = "2.37"  # networks "none"

HOST_FILE = """\
hypervisor_type: fake
disk_gb: 2000
cells:
  - {id: 0, cpus: "0-31", memory_mb: 131072, socket: 0}
  - {id: 1, cpus: "32-63", memory_mb: 131072, socket: 1}
"""


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def postgresql_databases(cleanups: list) -> tuple[str, str]:
    """Fresh API and cell databases (and the cell's ``_cell0``) on the local
    PostgreSQL, dropped at the end."""
    sys.path.insert(0, os.path.dirname(HERE))
    from nova_tx.objects.cell_mapping import cell0_database_connection
    from tests.db import fixtures

    urls = []
    for _ in range(2):
        url, drop = fixtures.create_database("postgresql")
        cleanups.append(drop)
        urls.append(url)
    name = cell0_database_connection(urls[1]).rsplit("/", 1)[1].split("?")[0]
    admin = fixtures._admin_engine("postgresql")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop_cell0() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    cleanups.append(drop_cell0)
    return urls[0], urls[1]


def write_config(directory: str, database: str, cleanups: list) -> str:
    """``nova-allinone``'s own first configuration, on free ports, with a big fake host
    and no quotas; with ``database`` ``postgresql`` its databases on PostgreSQL instead
    of its SQLite files (everything else stays in the one process)."""
    path = allinone.ensure_config(os.path.join(directory, "var"))
    with open(path) as f:
        text = f.read()
    if database == "postgresql":
        api_url, cell_url = postgresql_databases(cleanups)
        state = os.path.join(directory, "var")
        text = text.replace(f"connection = sqlite:///{state}/nova_api.sqlite",
                            f"connection = {api_url}")
        text = text.replace(f"connection = sqlite:///{state}/nova.sqlite",
                            f"connection = {cell_url}")
    api, metadata, *ports = free_ports(6)
    text = text.replace("osapi_compute_listen_port = 8774",
                        f"osapi_compute_listen_port = {api}")
    for (option, default), port in zip((("identity_port", 5000), ("placement_port", 8778),
                                        ("image_port", 9292), ("network_port", 9696)),
                                       ports, strict=True):
        text = text.replace(f"{option} = {default}", f"{option} = {port}")
        text = text.replace(f"127.0.0.1:{default}/", f"127.0.0.1:{port}/")
        text = text.replace(f"127.0.0.1:{default}\n", f"127.0.0.1:{port}\n")
    text = text.replace("metadata_listen_port = 8775", f"metadata_listen_port = {metadata}")
    host_file = os.path.join(directory, "host.yaml")
    with open(host_file, "w") as f:
        f.write(HOST_FILE)
    text = text.replace("[DEFAULT]\n", "[DEFAULT]\ncpu_allocation_ratio = 16.0\n"
                        "ram_allocation_ratio = 1.0\n", 1)
    text += (f"\n[fake]\nhost_topology_file = {host_file}\n"
             "\n[quota]\ninstances = -1\ncores = -1\nram = -1\n")
    with open(path, "w") as f:
        f.write(text)
    return path


class AllInOne:
    def __init__(self, directory: str, profile: str | None):
        self.log_path = os.path.join(directory, "allinone.log")
        self.log = open(self.log_path, "wb")
        program = os.path.join(BIN, "nova-allinone")
        args = [program]
        if profile:
            args = [sys.executable, "-m", "cProfile", "-o", profile, program]
        self.process = subprocess.Popen(args, cwd=directory, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_started(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "nova-allinone started" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("nova-allinone did not start:\n" + self.output()[-3000:])
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Client:
    def __init__(self, conn):
        self.conn = conn

    def ids(self, **filters: str) -> set[str]:
        """Every server id the filters select, page by page (1,000 a page)."""
        found: set[str] = set()
        marker = None
        while True:
            query = "&".join(f"{k}={v}" for k, v in filters.items())
            url = f"/servers?{query}&limit=1000" + (f"&marker={marker}" if marker else "")
            page = self.conn.compute.get(url, microversion=MICROVERSION).json()["servers"]
            found.update(s["id"] for s in page)
            if len(page) < 1000:
                return found
            marker = page[-1]["id"]

    def create(self, name: str, flavor: str, image: str
               ) -> tuple[str | None, float, float]:
        """The new server's id (None when the API refused it), and when the POST
        started and returned."""
        started = time.monotonic()
        response = self.conn.compute.post("/servers", microversion=MICROVERSION, json={
            "server": {"name": name, "flavorRef": flavor, "imageRef": image,
                       "networks": "none"}}, raise_exc=False)
        if response.status_code != 202:
            return None, started, time.monotonic()
        return response.json()["server"]["id"], started, time.monotonic()

    def delete(self, server_id: str) -> None:
        self.conn.compute.delete(f"/servers/{server_id}", microversion=MICROVERSION)


def run_size(client: Client, size: int, flavor: str, image: str, concurrency: int,
             poll: float, timeout: float) -> dict:
    name = f"bench-{size}-{int(time.time())}"
    posted: dict[str, float] = {}
    post_times: list[float] = []
    lock = threading.Lock()
    active_at: dict[str, float] = {}
    errors: set[str] = set()
    done = threading.Event()

    def poller() -> None:
        while not done.is_set():
            now = time.monotonic()
            for server_id in client.ids(name=name, status="ACTIVE"):
                active_at.setdefault(server_id, now)
            errors.update(client.ids(name=name, status="ERROR"))
            with lock:
                finished = len(posted) + len(refused) == size and \
                    set(posted) <= set(active_at) | errors
            if finished:
                done.set()
            else:
                done.wait(poll)

    first_post = time.monotonic()
    watcher = threading.Thread(target=poller, daemon=True)
    watcher.start()

    refused: list[int] = []

    def one(_: int) -> None:
        server_id, started, returned = client.create(name, flavor, image)
        with lock:
            if server_id is None:
                refused.append(1)
            else:
                posted[server_id] = returned
            post_times.append(returned - started)

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(size)))
    posts_done = time.monotonic()
    if not done.wait(timeout):
        print(f"  timed out after {timeout:.0f} s: {len(active_at)} ACTIVE, {len(errors)} "
              f"ERROR, {len(refused)} POSTs refused of {size}; the rest never left BUILD")
    done.set()
    watcher.join()
    reached = [active_at[s] - posted[s] for s in posted if s in active_at]
    last = max(active_at[s] for s in posted if s in active_at) if reached else posts_done
    wall = last - first_post
    result = {
        "size": size, "active": len(reached), "error": len(errors & set(posted)),
        "refused": len(refused),
        "wall_s": wall, "servers_per_s": len(reached) / wall if wall > 0 else 0.0,
        "posts_s": posts_done - first_post,
        "post_p50_ms": 1000 * statistics.median(post_times),
        "post_p99_ms": 1000 * percentile(post_times, 99),
        "active_p50_s": statistics.median(reached) if reached else float("nan"),
        "active_p99_s": percentile(reached, 99) if reached else float("nan"),
    }
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client.delete, list(posted)))
    deadline = time.monotonic() + timeout
    while client.ids(name=name) and time.monotonic() < deadline:
        time.sleep(poll)
    result["delete_s"] = time.monotonic() - started
    return result


def print_profile(path: str, top: int) -> None:
    stats = pstats.Stats(path)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="client threads POSTing servers")
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds a size may take to reach ACTIVE")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the all-in-one's databases: its SQLite files (its default) "
                             "or fresh PostgreSQL databases")
    parser.add_argument("--profile", help="run the all-in-one under cProfile into FILE")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    import openstack

    directory = tempfile.mkdtemp(prefix="nova-tx-boot-bench-")
    cleanups: list = []
    write_config(directory, args.database, cleanups)
    daemon = AllInOne(directory, args.profile)
    results = []
    try:
        daemon.wait_started()
        os.environ["OS_CLIENT_CONFIG_FILE"] = os.path.join(directory, "var", "clouds.yaml")
        conn = openstack.connect(cloud="nova-tx")
        client = Client(conn)
        flavor = conn.compute.find_flavor("m1.nano").id
        image = conn.image.find_image("nova-tx-tiny").id
        print(f"nova-allinone on {args.database} in {directory} (pid "
              f"{daemon.process.pid}); {os.cpu_count()} CPUs here; "
              f"{args.concurrency} client threads")
        for size in (int(s) for s in args.sizes.split(",")):
            result = run_size(client, size, flavor, image, args.concurrency, args.poll,
                              args.timeout)
            results.append(result)
            print("boot {size:>5}: {active} ACTIVE, {error} ERROR, {refused} POSTs "
                  "refused, in {wall_s:.1f} s = "
                  "{servers_per_s:.2f} servers/s; create-to-ACTIVE p50 {active_p50_s:.2f} s "
                  "p99 {active_p99_s:.2f} s; POST p50 {post_p50_ms:.0f} ms p99 "
                  "{post_p99_ms:.0f} ms (all POSTs took {posts_s:.1f} s); delete all "
                  "{delete_s:.1f} s".format(**result), flush=True)
        errors = re.findall(r"^.* ERROR .*$", daemon.output(), re.M)
        if errors:
            print(f"{len(errors)} ERROR lines in the all-in-one's log, the first: {errors[0]}")
    except BaseException:
        # The failures the all-in-one logged (their first lines and last frames).
        lines = re.findall(r"^.* (?:ERROR|CRITICAL) .*$", daemon.output(), re.M)
        print("\n".join(line for line in lines
                        if "[-]" in line or "Error" in line or "nova_tx/" in line))
        raise
    finally:
        daemon.stop()
        if args.profile and os.path.exists(args.profile):
            print_profile(args.profile, args.top)
        shutil.rmtree(directory, ignore_errors=True)
        for cleanup in reversed(cleanups):
            cleanup()
    if results:
        print(f"servers_per_s={results[-1]['servers_per_s']:.2f}")


if __name__ == "__main__":
    main()

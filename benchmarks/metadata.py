"""Metadata service throughput (issue 12): ``meta_data.json`` requests per second.

This process writes an SQLite API database and one cell with ``--instances`` (1,000)
instances (metadata, key pair, user data, network info), then runs
``nova-api-metadata``'s site in a second process (``--serve``: one reactor, as with
``metadata_workers = 1``) on a loopback port, in Neutron proxy mode. The client here
asks ``/openstack/latest/meta_data.json`` of random instances with signed headers
from ``--concurrency`` threads on keep-alive connections for ``--seconds`` per run:

- cached: ``[api] metadata_cache_expiration = 15`` after one warm-up pass;
- uncached: ``metadata_cache_expiration = 0`` (every request reads the databases).

The last line is ``rps=X``: the cached rate.

    .venv/bin/python benchmarks/metadata.py [--instances 1000] [--seconds 5]
"""
from __future__ import annotations

import argparse
import base64
import http.client
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SECRET = "benchmark-secret"
PROJECT = "6f70656e737461636b20342065766572"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(directory: str, count: int) -> tuple[str, list[str]]:
    """The API database URL and the uuids of ``count`` instances in cell1."""
    from nova_tx.db import engines, migration
    from nova_tx.db.api import cell_mappings, flavors, instance_mappings
    from nova_tx.db.main import instances
    from nova_tx.objects.flavor import Flavor
    from nova_tx.objects.instance import Instance
    from nova_tx.objects.keypair import KeyPair

    api_url = "sqlite:///%s/api.sqlite" % directory
    cell_url = "sqlite:///%s/cell1.sqlite" % directory
    api, cell = engines.create_engine(api_url), engines.create_engine(cell_url)
    migration.db_sync(api, "api")
    migration.db_sync(cell, "main")
    uuids = [str(uuidlib.uuid4()) for _ in range(count)]
    key = KeyPair(name="mykey", user_id="demo", fingerprint="fp", type="ssh",
                  public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4Q0eSL1kV7T8Lbvq bench")
    with api.begin() as conn:
        mapping = cell_mappings.create(conn, transport_url="none:///",
                                       database_connection=cell_url, name="cell1")
        flavor = flavors.create(conn, Flavor(flavorid="1", name="m1.tiny", memory_mb=512,
                                             vcpus=1, root_gb=1, extra_specs={}))
        for uuid in uuids:
            instance_mappings.create(conn, instance_uuid=uuid, project_id=PROJECT,
                                     cell_mapping=mapping)
    with cell.begin() as conn:
        for number, uuid in enumerate(uuids):
            address = "10.%d.%d.%d" % (number // 65536, number // 256 % 256, number % 256)
            instances.create(conn, Instance(
                uuid=uuid, project_id=PROJECT, user_id="demo", hostname="vm-%d" % number,
                display_name="vm-%d" % number, flavor=flavor, availability_zone="nova",
                key_name="mykey", key_data=key.public_key, keypairs=[key],
                metadata={"role": "web", "n": str(number)}, launch_index=0,
                user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
                network_info=[{"id": "port-%d" % number, "address": "fa:16:3e:00:00:01",
                               "type": "ovs", "devname": "tap%d" % number,
                               "network": {"id": "net", "meta": {"mtu": 1450},
                                           "subnets": [{
                                               "cidr": "10.0.0.0/8", "version": 4,
                                               "gateway": {"address": "10.0.0.1"},
                                               "dns": [], "routes": [], "meta": {},
                                               "ips": [{"address": address,
                                                        "floating_ips": []}]}]}}]))
    api.dispose()
    cell.dispose()
    return api_url, uuids


def serve(api_url: str, port: int, expiration: int) -> None:
    """The child: the metadata site on ``port`` until killed."""
    from oslo_config import cfg
    from twisted.internet import reactor

    from nova_tx.api.metadata import service
    from nova_tx.conf import api as api_conf
    from nova_tx.conf import database, default, neutron
    from nova_tx.conf import metadata as metadata_conf

    conf = cfg.ConfigOpts()
    for module in (default, api_conf, metadata_conf, database, neutron):
        module.register_opts(conf)
    conf([], project="nova")
    conf.set_override("connection", api_url, group="api_database")
    conf.set_override("metadata_cache_expiration", expiration, group="api")
    conf.set_override("service_metadata_proxy", True, group="neutron")
    conf.set_override("metadata_proxy_shared_secret", SECRET, group="neutron")
    components = service.MetadataComponents(conf)
    components.startService()
    reactor.listenTCP(port, service.make_site(conf, components), interface="127.0.0.1",
                      backlog=128)
    print("serving", flush=True)
    reactor.run()


def measure(port: int, uuids: list[str], seconds: float, concurrency: int) -> float:
    from nova_tx.api.metadata.identify import sign

    signatures = {uuid: sign(SECRET, uuid) for uuid in uuids}
    stop = time.monotonic() + seconds
    counts = [0] * concurrency
    errors: list[str] = []

    def client(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            uuid = rng.choice(uuids)
            conn.request("GET", "/openstack/latest/meta_data.json", headers={
                "X-Instance-ID": uuid, "X-Tenant-ID": PROJECT,
                "X-Instance-ID-Signature": signatures[uuid]})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
                return
            counts[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit("requests failed: %s" % errors[:5])
    return sum(counts) / (time.monotonic() - started)


def run(api_url: str, uuids: list[str], expiration: int, args) -> float:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", api_url, str(port),
         str(expiration)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "serving"
        time.sleep(0.2)
        if expiration:
            measure(port, uuids, max(1.0, args.seconds / 5), args.concurrency)  # warm
            # every instance once so that the cached run is all hits
            for start in range(0, len(uuids), 200):
                measure(port, uuids[start:start + 200], 0.05, 1)
        return measure(port, uuids, args.seconds, args.concurrency)
    finally:
        # The server's database threads would hold a SIGTERM'd reactor up; it is
        # only a benchmark's child.
        child.kill()
        child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=3, metavar=("API_URL", "PORT", "EXPIRATION"))
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    directory = tempfile.mkdtemp(prefix="nova-tx-metadata-bench-")
    started = time.monotonic()
    api_url, uuids = seed(directory, args.instances)
    print("seeded %d instances in %.1f s" % (len(uuids), time.monotonic() - started))
    uncached = run(api_url, uuids, 0, args)
    print("uncached (metadata_cache_expiration = 0): %.0f requests/s" % uncached)
    cached = run(api_url, uuids, 15, args)
    print("cached (metadata_cache_expiration = 15): %.0f requests/s" % cached)
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
    print("rps=%.0f" % cached)


if __name__ == "__main__":
    main()

"""Run by Debian's python3 with Debian's cloud-init (never imported by the tests):
read a nova-tx instance's metadata with cloud-init's own OpenStack readers, from the
metadata service (``url URL``) or from an extracted config drive (``drive DIR``), and
print what cloud-init made of it as JSON."""
import json
import sys

from cloudinit import sources
from cloudinit.sources.helpers import openstack


def main():
    kind, where = sys.argv[1], sys.argv[2]
    if kind == "url":
        reader = openstack.MetadataReader(where, timeout=5, retries=0)
    else:
        reader = openstack.ConfigDriveReader(where)
    results = reader.read_v2()
    metadata = results["metadata"]
    # The guest's NICs by MAC (here: the one the test instance has, as eth0).
    network = openstack.convert_net_json(results.get("networkdata"),
                                         known_macs={"fa:16:3e:00:00:01": "eth0"})
    user_data = results.get("userdata")
    if isinstance(user_data, bytes):
        user_data = user_data.decode()
    print(json.dumps({
        "version": results.get("version"),
        "instance-id": metadata.get("instance-id"),
        "local-hostname": metadata.get("local-hostname"),
        # What DataSourceOpenStack.get_public_ssh_keys gives for version 2.
        "public-keys": sources.normalize_pubkey_data(metadata.get("public_keys")),
        "userdata": user_data,
        "network": network,
        "vendordata": results.get("vendordata"),
        "ec2-metadata": bool(results.get("ec2-metadata")),
    }, default=str))


main()

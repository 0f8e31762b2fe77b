"""Bad input on POST /servers (hypothesis): bodies built from the request schema of a
drawn microversion, then bent (a field's value replaced by any JSON, unknown fields,
block device mappings and networks of every shape, hints, mangled JSON). No request
gets a 500, every refusal is a fault body with its status, and a refused request
records nothing in the API database and casts nothing to the conductor.
"""
from __future__ import annotations

from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx.api.compute.schemas import servers_create as schema
from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.servers_create_server import IMAGE, ServersServer, version

MICROVERSIONS = ["2.0", "2.1", "2.18", "2.19", "2.32", "2.33", "2.36", "2.37", "2.41",
                 "2.42", "2.52", "2.56", "2.57", "2.62", "2.63", "2.66", "2.67", "2.73",
                 "2.74", "2.89", "2.90", "2.93"]
TOKENS = ["admin:6f70656e737461636b20342065766572", "fake:6f70656e737461636b20342065766572"]
UUIDS = st.sampled_from([IMAGE, "8c8e6b61-63cf-4a3a-9dc4-4c4b0ef7a999", "", "x", None])
odd_text = st.sampled_from(["x" * 70000, "\u00e9" * 300, "a\x00b", " lead", "\ud800",
                            "a/b", "a:b:c", "-x-", "r" * 256]) | st.text(max_size=20)
values = json_values | odd_text | UUIDS | st.integers(-5, 5) | st.sampled_from(
    ["auto", "none", "AUTO", "MANUAL", "1", "2", "true", "swap", "local", "volume",
     "image", "blank", "snapshot", "virtio", "foo"])

BDM_KEYS = sorted(schema.block_device_mapping_v2["properties"]) + ["colour"]


def server_fields(microversion: str) -> list[str]:
    for body_schema, low, high in schema.BY_VERSION:
        if _between(microversion, low, high):
            return sorted(body_schema["properties"]["server"]["properties"])
    raise AssertionError(microversion)


def _between(v: str, low: str, high: str | None) -> bool:
    def key(text):
        return tuple(int(p) for p in text.split("."))

    return key(low) <= key(v) and (high is None or key(v) <= key(high))


@st.composite
def bdms(draw):
    items = []
    for _ in range(draw(st.integers(0, 3))):
        item = {k: draw(values) for k in draw(st.lists(st.sampled_from(BDM_KEYS),
                                                       max_size=6, unique=True))}
        if draw(st.booleans()):
            item.update(uuid=IMAGE, source_type="image", boot_index=0,
                        destination_type=draw(st.sampled_from(["local", "volume"])),
                        volume_size=draw(st.sampled_from([1, "1", 0, None])))
        items.append(item)
    return items


@st.composite
def bodies(draw, microversion: str):
    server: dict = {"name": "s", "flavorRef": "1", "imageRef": IMAGE}
    if microversion >= "2.37" and microversion != "2.0":
        server["networks"] = draw(st.sampled_from(["auto", "none"]))
    fields = server_fields(microversion) + ["unknown"]
    for field in draw(st.lists(st.sampled_from(fields), max_size=4, unique=True)):
        if field in ("block_device_mapping_v2", "block_device_mapping"):
            server[field] = draw(bdms())
        elif field == "networks":
            server[field] = draw(st.lists(st.fixed_dictionaries(
                {}, optional={"uuid": UUIDS, "port": UUIDS, "fixed_ip": values,
                              "tag": values}), max_size=2) | values)
        else:
            server[field] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        server.pop(draw(st.sampled_from(["name", "flavorRef", "imageRef"])))
    body = {"server": server}
    if draw(st.booleans()):
        body[draw(st.sampled_from(["os:scheduler_hints", "OS-SCH-HNT:scheduler_hints",
                                   "extra"]))] = draw(
            st.dictionaries(st.sampled_from(["group", "same_host", "query", "cidr", "x"]),
                            values, max_size=2) | values)
    return body


@st.composite
def requests(draw):
    microversion = draw(st.sampled_from(MICROVERSIONS))
    raw = mangle(draw, draw(bodies(microversion)), intact=8)
    return ("POST", "/servers", raw, microversion, draw(st.sampled_from(TOKENS)))


class BadInputTests(unittest.TestCase):

    async def test_no_500_and_refusals_record_nothing(self):
        api = await ServersServer.start(self, quota={"instances": -1, "cores": -1,
                                                     "ram": -1})
        seen: dict[int, int] = {}

        def check(request):
            before = in_reactor(api.snapshot)
            casts = len(api.conductor.bodies)
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                assert before == in_reactor(api.snapshot), request
                assert casts == len(api.conductor.bodies), request
            else:
                assert reply.code == 202, (request, reply.raw)

        await run_examples(requests(), check, max_examples=250)
        self.assertTrue({202, 400}.issubset(seen), seen)

"""StaticJSON and DynamicJSON vendordata (spec D §3.7): a local HTTP target that sees
the 7-key POST, a target that is down, one that times out, bad JSON, and
``vendordata_dynamic_failure_fatal``."""
from __future__ import annotations

import json
import os
import tempfile

from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web import resource, server

from nova_tx.metadata.dynamic_vendordata import DynamicJSON, targets
from nova_tx.metadata.vendordata import StaticJSON
from tests.metadata.fixture import SECRET, MetadataServer, make_conf

VD2 = "/openstack/latest/vendor_data2.json"


class Target(resource.Resource):
    isLeaf = True

    def __init__(self, answer: bytes = b'{"a": 1}', code: int = 200, hang: bool = False):
        super().__init__()
        self.answer = answer
        self.code = code
        self.hang = hang
        self.seen: list[tuple[dict, dict]] = []

    def render_POST(self, request):
        headers = {k.decode(): v[0].decode()
                   for k, v in request.requestHeaders.getAllRawHeaders()}
        self.seen.append((json.loads(request.content.read()), headers))
        if self.hang:
            return server.NOT_DONE_YET
        request.setResponseCode(self.code)
        return self.answer


class _Harness:
    def setUp(self):
        fd, self.static_path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"static-key": "static-value"}, f)
        self.addCleanup(os.unlink, self.static_path)

    def serve(self, target: Target) -> str:
        port = reactor.listenTCP(0, server.Site(target), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return "http://127.0.0.1:%d/" % port.getHost().port

    def metadata_server(self, targets_: list[str], **overrides):
        self.server = MetadataServer(
            self, neutron__service_metadata_proxy=True,
            neutron__metadata_proxy_shared_secret=SECRET,
            api__vendordata_providers=["StaticJSON", "DynamicJSON"],
            api__vendordata_jsonfile_path=self.static_path,
            api__vendordata_dynamic_targets=targets_, **overrides)
        self.instance = self.server.add_instance()
        return self.server.proxy_headers(self.instance)


class VendordataTest(_Harness, unittest.TestCase):
    async def test_static_and_dynamic(self):
        target = Target()
        headers = self.metadata_server(["testing@" + self.serve(target)])
        reply = await self.server.get(VD2, headers=headers)
        self.assertEqual(200, reply.code)
        self.assertEqual({"static": {"static-key": "static-value"}, "testing": {"a": 1}},
                         json.loads(reply.body))
        [(body, sent)] = target.seen
        self.assertEqual({"project-id", "instance-id", "image-id", "user-data", "hostname",
                          "metadata", "boot-roles"}, set(body))
        self.assertEqual(self.instance.uuid, body["instance-id"])
        self.assertEqual({"role": "webservers"}, body["metadata"])
        self.assertEqual("openstack-nova-vendordata", sent["User-Agent"])
        self.assertEqual("application/json", sent["Content-Type"])
        static = await self.server.get("/openstack/latest/vendor_data.json", headers=headers)
        self.assertEqual({"static-key": "static-value"}, json.loads(static.body))
        # Asked on every request, not cached with the metadata.
        await self.server.get(VD2, headers=headers)
        self.assertEqual(2, len(target.seen))

    async def test_target_down_gives_empty(self):
        port = reactor.listenTCP(0, server.Site(Target()), interface="127.0.0.1")
        url = "http://127.0.0.1:%d/" % port.getHost().port
        await port.stopListening()
        headers = self.metadata_server(["testing@" + url])
        reply = await self.server.get(VD2, headers=headers)
        self.assertEqual({"static": {"static-key": "static-value"}, "testing": {}},
                         json.loads(reply.body))

    async def test_http_error_and_bad_json_give_empty(self):
        bad = self.serve(Target(code=500))
        garbage = self.serve(Target(answer=b"not json"))
        empty = self.serve(Target(answer=b""))
        headers = self.metadata_server(["bad@" + bad, "garbage@" + garbage,
                                        "empty@" + empty])
        reply = await self.server.get(VD2, headers=headers)
        self.assertEqual({"static": {"static-key": "static-value"}, "bad": {},
                          "garbage": {}, "empty": {}}, json.loads(reply.body))

    async def test_failure_fatal_is_500(self):
        bad = self.serve(Target(code=500))
        headers = self.metadata_server(["bad@" + bad],
                                       api__vendordata_dynamic_failure_fatal=True)
        reply = await self.server.get(VD2, headers=headers)
        self.assertEqual(500, reply.code)

    async def test_read_timeout(self):
        target = Target(hang=True)
        url = self.serve(target)
        conf = make_conf(api__vendordata_dynamic_targets=["slow@" + url],
                         api__vendordata_dynamic_read_timeout=0,
                         api__vendordata_dynamic_connect_timeout=3)

        class _Instance:
            uuid = "u"
            project_id = "p"
            image_ref = "i"
            user_data = None
            hostname = "h"
            metadata: dict = {}
            system_metadata: dict = {}

        # connect 3 s + read 0 s: the hanging target is given up on after 3 s.
        result = await DynamicJSON().get(conf, _Instance(), reactor=reactor)
        self.assertEqual({"slow": {}}, result)
        self.assertEqual(1, len(target.seen))
    test_read_timeout.timeout = 20

    async def test_duplicate_keys_from_dynamic_targets_are_dropped(self):
        first = self.serve(Target(answer=b'{"x": 1}'))
        headers = self.metadata_server(["static@" + first])
        reply = await self.server.get(VD2, headers=headers)
        # "static" is StaticJSON's: the target of the same name is dropped.
        self.assertEqual({"static": {"static-key": "static-value"}},
                         json.loads(reply.body))

    def test_targets_skip_unnamed_and_repeated(self):
        conf = make_conf(api__vendordata_dynamic_targets=[
            "http://nameless/", "a@http://one/", "a@http://two/", "b@http://x@y/"])
        self.assertEqual([("a", "http://one/"), ("b", "http://x@y/")], targets(conf))

    def test_static_missing_file_raises_and_unset_is_empty(self):
        from nova_tx import exception

        conf = make_conf()
        self.assertEqual({}, StaticJSON().get(conf, None))
        conf.set_override("vendordata_jsonfile_path", "/nonexistent/vd.json", group="api")
        self.assertRaises(exception.NovaException, StaticJSON().get, conf, None)

    async def test_static_disabled_vendor_data_json_is_404(self):
        self.server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret=SECRET,
                                     api__vendordata_providers=[])
        instance = self.server.add_instance()
        headers = self.server.proxy_headers(instance)
        reply = await self.server.get("/openstack/latest/vendor_data.json", headers=headers)
        self.assertEqual(404, reply.code)
        reply = await self.server.get(VD2, headers=headers)
        self.assertEqual({}, json.loads(reply.body))


class Keystone(resource.Resource):
    """Keystone v3's POST /v3/auth/tokens for one user."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.logins: list[dict] = []

    def render_POST(self, request):
        body = json.loads(request.content.read())
        self.logins.append(body)
        user = body["auth"]["identity"]["password"]["user"]
        if user.get("password") != "vd-secret":
            request.setResponseCode(401)
            return b"{}"
        request.setResponseCode(201)
        request.setHeader(b"X-Subject-Token", b"tok-%d" % len(self.logins))
        return json.dumps({"token": {"expires_at": "2999-01-01T00:00:00.000000Z"}}).encode()


class VendordataAuthTest(_Harness, unittest.TestCase):
    def auth(self, password="vd-secret"):
        keystone = Keystone()
        port = reactor.listenTCP(0, server.Site(keystone), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return keystone, {
            "vendordata_dynamic_auth__auth_type": "password",
            "vendordata_dynamic_auth__auth_url":
                "http://127.0.0.1:%d/v3" % port.getHost().port,
            "vendordata_dynamic_auth__username": "vendordata",
            "vendordata_dynamic_auth__password": password,
            "vendordata_dynamic_auth__user_domain_name": "Default",
            "vendordata_dynamic_auth__project_name": "service",
        }

    async def test_targets_get_the_service_users_token(self):
        keystone, options = self.auth()
        target = Target()
        headers = self.metadata_server(["testing@" + self.serve(target)], **options)
        for _ in range(2):
            reply = await self.server.get(VD2, headers=headers)
            self.assertEqual({"a": 1}, json.loads(reply.body)["testing"])
        self.assertEqual(["tok-1", "tok-1"], [sent["X-Auth-Token"]
                                               for _, sent in target.seen])
        self.assertEqual(1, len(keystone.logins))
        login = keystone.logins[0]["auth"]
        self.assertEqual({"name": "service", "domain": {"name": "Default"}},
                         login["scope"]["project"])

    async def test_failed_login_gives_empty_target(self):
        _, options = self.auth(password="wrong")
        target = Target()
        headers = self.metadata_server(["testing@" + self.serve(target)], **options)
        reply = await self.server.get(VD2, headers=headers)
        self.assertEqual({}, json.loads(reply.body)["testing"])
        self.assertEqual([], target.seen)

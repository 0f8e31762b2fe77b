"""The compute API's pipeline over real HTTP: microversions, request ids, faults,
bodies, routing, and the v2.0 compatibility endpoint."""
import re
import uuid

from twisted.trial import unittest

from tests.api.fixture import APIServer

GENERIC_500 = ("The server has either erred or is incapable of performing the requested "
               "operation.")
VARY = ["OpenStack-API-Version", "X-OpenStack-Nova-API-Version"]


class MicroversionTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_no_header_is_21(self):
        reply = await self.api.request("GET", "/v2.1/whoami")
        self.assertEqual(200, reply.code)
        self.assertEqual("2.1", reply.json["version"])
        self.assertEqual("compute 2.1", reply.header("OpenStack-API-Version"))
        self.assertEqual("2.1", reply.header("X-OpenStack-Nova-API-Version"))
        self.assertEqual(VARY, reply.all("Vary"))

    async def test_standard_header_is_echoed(self):
        reply = await self.api.request(
            "GET", "/v2.1/whoami", headers={"OpenStack-API-Version": "compute 2.93"})
        self.assertEqual("2.93", reply.json["version"])
        self.assertEqual("compute 2.93", reply.header("OpenStack-API-Version"))
        self.assertEqual("2.93", reply.header("X-OpenStack-Nova-API-Version"))

    async def test_legacy_header(self):
        reply = await self.api.request(
            "GET", "/v2.1/whoami", headers={"X-OpenStack-Nova-API-Version": "2.27"})
        self.assertEqual("2.27", reply.json["version"])
        self.assertEqual("compute 2.27", reply.header("OpenStack-API-Version"))

    async def test_standard_header_wins_and_other_services_are_ignored(self):
        reply = await self.api.request("GET", "/v2.1/whoami", headers={
            "OpenStack-API-Version": "placement 1.30, compute 2.60",
            "X-OpenStack-Nova-API-Version": "2.10"})
        self.assertEqual("2.60", reply.json["version"])
        reply = await self.api.request("GET", "/v2.1/whoami", headers={
            "OpenStack-API-Version": "placement 1.30",
            "X-OpenStack-Nova-API-Version": "2.10"})
        self.assertEqual("2.10", reply.json["version"])

    async def test_latest(self):
        for headers in ({"OpenStack-API-Version": "compute latest"},
                        {"X-OpenStack-Nova-API-Version": "latest"}):
            reply = await self.api.request("GET", "/v2.1/whoami", headers=headers)
            self.assertEqual("2.93", reply.json["version"])
            self.assertEqual("compute 2.93", reply.header("OpenStack-API-Version"))

    async def test_out_of_range_is_406(self):
        for version in ("2.94", "2.0", "3.0", "1.1"):
            reply = await self.api.request(
                "GET", "/v2.1/whoami", headers={"OpenStack-API-Version": "compute " + version})
            self.assertEqual(406, reply.code, version)
            self.assertEqual(
                {"computeFault": {"code": 406, "message":
                                  "Version %s is not supported by the API. Minimum is 2.1 "
                                  "and maximum is 2.93." % version}},
                reply.json)
            # Nova echoes the version asked for.
            self.assertEqual("compute " + version, reply.header("OpenStack-API-Version"))
            self.assertEqual(VARY, reply.all("Vary"))

    async def test_bad_format_is_400(self):
        for version in ("2.x", "2", "02.1", "2.01", "", "compute"):
            reply = await self.api.request(
                "GET", "/v2.1/whoami", headers={"X-OpenStack-Nova-API-Version": version})
            if version == "":
                # An empty header is no header.
                self.assertEqual(200, reply.code)
                continue
            self.assertEqual(400, reply.code, version)
            self.assertEqual(
                {"badRequest": {"code": 400, "message":
                                "API Version String %s is of invalid format. Must be of "
                                "format MajorNum.MinorNum." % version}},
                reply.json)
            self.assertIsNone(reply.header("OpenStack-API-Version"))

    async def test_handlers_by_version(self):
        reply = await self.api.request(
            "GET", "/v2.1/widgets", headers={"OpenStack-API-Version": "compute 2.34"})
        self.assertEqual("index", reply.json["handler"])
        reply = await self.api.request(
            "GET", "/v2.1/widgets", headers={"OpenStack-API-Version": "compute 2.35"})
        self.assertEqual("index_v235", reply.json["handler"])

    async def test_supports(self):
        for version, expected in (("2.1", (False, False)), ("2.10", (False, True)),
                                  ("2.20", (False, True)), ("2.21", (False, False)),
                                  ("2.47", (True, False)), ("2.93", (True, False))):
            reply = await self.api.request(
                "GET", "/v2.1/whoami", headers={"OpenStack-API-Version": "compute " + version})
            self.assertEqual(expected, (reply.json["supports_2_47"],
                                        reply.json["supports_2_10_to_2_20"]), version)

    async def test_one_handler_two_statuses(self):
        for version, status in (("2.1", 200), ("2.2", 201), ("2.93", 201)):
            reply = await self.api.request(
                "POST", "/v2.1/gadgets", body={},
                headers={"OpenStack-API-Version": "compute " + version})
            self.assertEqual(status, reply.code, version)
        reply = await self.api.request("POST", "/v2/gadgets", body={})
        self.assertEqual(200, reply.code)

    def test_overlapping_alternatives_are_refused(self):
        from nova_tx.api.compute import wsgi

        routes = wsgi.Routes()
        routes.get("/x", max_version="2.10")(lambda req: None)
        with self.assertRaises(ValueError):
            routes.get("/x", min_version="2.10")(lambda req: None)
        routes.get("/x", min_version="2.11")(lambda req: None)
        other = wsgi.Routes()
        other.get("/x", min_version="2.50")(lambda req: None)
        with self.assertRaises(ValueError):
            wsgi.ComputeApp(None, [routes, other])

    async def test_route_missing_at_version_is_404(self):
        widget = "/v2.1/widgets/%s/topology" % uuid.uuid4()
        reply = await self.api.request(
            "GET", widget, headers={"OpenStack-API-Version": "compute 2.77"})
        self.assertEqual(404, reply.code)
        self.assertEqual({"itemNotFound": {"code": 404, "message":
                                           "The resource could not be found."}}, reply.json)
        self.assertEqual("compute 2.77", reply.header("OpenStack-API-Version"))
        reply = await self.api.request(
            "GET", widget, headers={"OpenStack-API-Version": "compute 2.78"})
        self.assertEqual(200, reply.code)

    async def test_version_documents_carry_version_headers(self):
        reply = await self.api.request("GET", "/v2.1/", token=None,
                                       headers={"OpenStack-API-Version": "compute 2.5"})
        self.assertEqual(200, reply.code)
        self.assertEqual("compute 2.5", reply.header("OpenStack-API-Version"))
        reply = await self.api.request("GET", "/", token=None)
        self.assertEqual(200, reply.code)
        self.assertIsNone(reply.header("OpenStack-API-Version"))
        self.assertIsNotNone(reply.header("x-openstack-request-id"))


class LegacyV2Test(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_headers_ignored_and_not_sent(self):
        reply = await self.api.request(
            "GET", "/v2/whoami", headers={"OpenStack-API-Version": "compute 2.94",
                                          "X-OpenStack-Nova-API-Version": "2.x"})
        self.assertEqual(200, reply.code)
        self.assertEqual(("2.1", True), (reply.json["version"], reply.json["legacy"]))
        self.assertIsNone(reply.header("OpenStack-API-Version"))
        self.assertIsNone(reply.header("X-OpenStack-Nova-API-Version"))
        self.assertEqual([], reply.all("Vary"))
        self.assertIsNotNone(reply.header("x-compute-request-id"))

    async def test_unknown_properties_are_dropped(self):
        reply = await self.api.request(
            "POST", "/v2/widgets", body={"widget": {"name": "a", "colour": "red"},
                                         "extra": 1})
        self.assertEqual(201, reply.code)
        self.assertEqual({"widget": {"name": "a"}}, reply.json)
        reply = await self.api.request(
            "POST", "/v2.1/widgets", body={"widget": {"name": "a", "colour": "red"}})
        self.assertEqual(400, reply.code)

    async def test_pattern_properties_still_checked(self):
        reply = await self.api.request(
            "POST", "/v2/widgets", body={"widget": {"name": "a", "metadata": {"a/b": "x"}}})
        self.assertEqual(400, reply.code)
        self.assertIn("Additional properties are not allowed ('a/b' was unexpected)",
                      reply.json["badRequest"]["message"])

    async def test_project_in_url(self):
        reply = await self.api.request("GET", "/v2/abc1/whoami")
        self.assertEqual(200, reply.code)
        self.assertEqual("abc1", reply.json["url_project_id"])


class RequestIdTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_both_headers_carry_the_context_request_id(self):
        reply = await self.api.request("GET", "/v2.1/whoami")
        request_id = reply.header("x-openstack-request-id")
        self.assertRegex(request_id, r"^req-[0-9a-f-]{36}$")
        self.assertEqual(request_id, reply.header("x-compute-request-id"))
        self.assertEqual(request_id, reply.json["request_id"])
        self.assertIsNone(reply.json["global_request_id"])

    async def test_on_errors_too(self):
        for path, token in (("/v2.1/whoami", None), ("/v2.1/nothing", "a:b"),
                            ("/v2.1/boom", "a:b")):
            reply = await self.api.request("GET", path, token=token)
            self.assertRegex(reply.header("x-compute-request-id") or "", r"^req-", path)
            self.assertEqual(reply.header("x-compute-request-id"),
                             reply.header("x-openstack-request-id"))

    async def test_global_request_id(self):
        incoming = "req-" + str(uuid.uuid4())
        reply = await self.api.request(
            "GET", "/v2.1/whoami", headers={"X-OpenStack-Request-ID": incoming})
        self.assertEqual(incoming, reply.json["global_request_id"])
        self.assertNotEqual(incoming, reply.header("x-openstack-request-id"))
        for bad in ("req-" + str(uuid.uuid4()).upper(), "my-id", str(uuid.uuid4())):
            reply = await self.api.request(
                "GET", "/v2.1/whoami", headers={"X-OpenStack-Request-ID": bad})
            self.assertIsNone(reply.json["global_request_id"], bad)

    async def test_each_request_has_its_own(self):
        ids = set()
        for _ in range(3):
            reply = await self.api.request("GET", "/v2.1/whoami")
            ids.add(reply.header("x-openstack-request-id"))
        self.assertEqual(3, len(ids))


class FaultTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_not_found_exception(self):
        reply = await self.api.request("GET", "/v2.1/widgets/nope")
        self.assertEqual(404, reply.code)
        self.assertEqual({"itemNotFound": {"code": 404,
                                           "message": "Instance nope could not be found."}},
                         reply.json)
        self.assertEqual("application/json; charset=UTF-8", reply.header("content-type"))
        reply = await self.api.request("GET", "/v2.1/whoami")
        self.assertEqual("application/json", reply.header("content-type"))

    async def test_unexpected_error_is_generic_500(self):
        reply = await self.api.request("GET", "/v2.1/boom")
        self.assertEqual(500, reply.code)
        self.assertEqual({"computeFault": {"code": 500, "message": GENERIC_500}}, reply.json)
        self.assertNotIn(b"secret", reply.raw)
        errors = self.flushLoggedErrors(RuntimeError)
        self.assertLessEqual(len(errors), 1)

    async def test_unrenderable_body_is_a_500_fault(self):
        reply = await self.api.request("GET", "/v2.1/unserialisable")
        self.assertEqual(500, reply.code)
        self.assertEqual({"computeFault": {"code": 500, "message": GENERIC_500}}, reply.json)
        self.flushLoggedErrors()

    async def test_public_is_per_method(self):
        reply = await self.api.request("GET", "/v2.1/mixed", token=None)
        self.assertEqual((200, {"context": False}), (reply.code, reply.json))
        reply = await self.api.request("POST", "/v2.1/mixed", token=None, body={})
        self.assertEqual(401, reply.code)
        reply = await self.api.request("POST", "/v2.1/mixed", body={})
        self.assertEqual((200, {"context": True}), (reply.code, reply.json))

    async def test_over_limit_with_retry_after(self):
        reply = await self.api.request("GET", "/v2.1/busy")
        self.assertEqual(413, reply.code)
        self.assertEqual({"overLimit": {"code": 413, "message": "Too many widgets.",
                                        "retryAfter": "30"}}, reply.json)
        self.assertEqual("30", reply.header("Retry-After"))

    async def test_conflict_forbidden_gone(self):
        reply = await self.api.request("GET", "/v2.1/conflict")
        self.assertEqual((409, {"conflictingRequest": {"code": 409,
                                                       "message": "Widget is busy."}}),
                         (reply.code, reply.json))
        reply = await self.api.request("GET", "/v2.1/forbidden")
        self.assertEqual(403, reply.code)
        self.assertEqual("Policy doesn't allow widgets:show to be performed.",
                         reply.json["forbidden"]["message"])
        reply = await self.api.request("GET", "/v2.1/gone")
        self.assertEqual(410, reply.code)
        self.assertEqual({"computeFault": {"code": 410, "message": "This resource is no "
                                           "longer available. No forwarding address is "
                                           "given."}}, reply.json)

    async def test_unknown_route_is_404(self):
        for path in ("/v2.1/nothing", "/v2.1/widgets/a/b/c", "/v3/", "/v2.1/widgets/"):
            reply = await self.api.request("GET", path)
            self.assertEqual(404, reply.code, path)
            self.assertEqual({"itemNotFound": {"code": 404, "message":
                                               "The resource could not be found."}},
                             reply.json, path)

    async def test_wrong_method_is_405(self):
        reply = await self.api.request("PUT", "/v2.1/widgets", body={})
        self.assertEqual(405, reply.code)
        self.assertEqual({"badMethod": {"code": 405, "message": "The method specified is "
                                        "not allowed for this resource."}}, reply.json)
        self.assertEqual("GET, POST", reply.header("Allow"))

    async def test_unknown_route_needs_a_token_first(self):
        reply = await self.api.request("GET", "/v2.1/nothing", token=None)
        self.assertEqual(401, reply.code)

    async def test_unsupported_content_type(self):
        reply = await self.api.request("POST", "/v2.1/widgets", body="<widget/>",
                                       headers={"Content-Type": "application/xml"})
        self.assertEqual(415, reply.code)
        self.assertEqual({"badMediaType": {"code": 415,
                                           "message": "Unsupported Content-Type"}},
                         reply.json)
        for content_type in ("application/json; charset=UTF-8", "text/plain",
                             "application/vnd.openstack.compute+json"):
            reply = await self.api.request("POST", "/v2.1/widgets",
                                           body={"widget": {"name": "x"}},
                                           headers={"Content-Type": content_type})
            self.assertEqual(201, reply.code, content_type)


class BodyTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self, max_body=1024)

    async def test_malformed_json(self):
        for body in ("{", "{'a': 1}", b"\xff\xfe", "[1, 2"):
            reply = await self.api.request("POST", "/v2.1/widgets", body=body)
            self.assertEqual(400, reply.code, body)
            self.assertEqual({"badRequest": {"code": 400,
                                             "message": "Malformed request body"}},
                             reply.json)

    async def test_empty_body_fails_the_schema(self):
        reply = await self.api.request("POST", "/v2.1/widgets", body="")
        self.assertEqual(400, reply.code)
        self.assertEqual("None is not of type 'object'", reply.json["badRequest"]["message"])

    async def test_too_large(self):
        big = {"widget": {"name": "x" * 2000}}
        reply = await self.api.request("POST", "/v2.1/widgets", body=big)
        self.assertEqual(413, reply.code)
        self.assertEqual({"overLimit": {"code": 413, "message": "Request is too large."}},
                         reply.json)
        # Before authentication, as Nova's sizelimit filter.
        reply = await self.api.request("POST", "/v2.1/widgets", body=big, token=None)
        self.assertEqual(413, reply.code)

    async def test_too_large_chunked(self):
        from io import BytesIO

        from twisted.internet import reactor
        from twisted.web.client import Agent, FileBodyProducer, readBody
        from twisted.web.http_headers import Headers
        from twisted.web.iweb import UNKNOWN_LENGTH

        producer = FileBodyProducer(BytesIO(b'{"a": "' + b"x" * 5000 + b'"}'))
        producer.length = UNKNOWN_LENGTH  # sent chunked: no Content-Length
        response = await Agent(reactor).request(
            b"POST", (self.api.base + "/v2.1/widgets").encode(),
            Headers({b"X-Auth-Token": [b"a:b"], b"Content-Type": [b"application/json"]}),
            producer)
        await readBody(response)
        self.assertEqual(413, response.code)

    async def test_created_status(self):
        reply = await self.api.request("POST", "/v2.1/widgets", body={"widget": {"name": "x"}})
        self.assertEqual(201, reply.code)

    async def test_no_content(self):
        reply = await self.api.request("DELETE", "/v2.1/widgets/x")
        self.assertEqual(204, reply.code)
        self.assertEqual(b"", reply.raw)

    async def test_body_of_get_is_ignored(self):
        reply = await self.api.request("GET", "/v2.1/whoami", body="{{{")
        self.assertEqual(200, reply.code)


class ActionTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_action_dispatch(self):
        reply = await self.api.request("POST", "/v2.1/widgets/w1/action",
                                       body={"poke": {"force": "yes"}})
        self.assertEqual(200, reply.code)
        self.assertEqual({"poked": "w1"}, reply.json)
        self.assertEqual("yes", reply.header("X-Poked"))

    async def test_action_schema(self):
        reply = await self.api.request("POST", "/v2.1/widgets/w1/action",
                                       body={"poke": {"force": "maybe"}})
        self.assertEqual(400, reply.code)
        self.assertTrue(reply.json["badRequest"]["message"].startswith(
            "Invalid input for field/attribute force. Value: maybe. 'maybe' is not one of"))

    async def test_unknown_action(self):
        reply = await self.api.request("POST", "/v2.1/widgets/w1/action",
                                       body={"explode": None})
        self.assertEqual(400, reply.code)
        self.assertEqual("There is no such action: explode",
                         reply.json["badRequest"]["message"])

    async def test_action_body_must_have_one_key(self):
        for body in ({}, {"poke": {}, "prod": None}, "[1]", "3"):
            reply = await self.api.request("POST", "/v2.1/widgets/w1/action", body=body)
            self.assertEqual(400, reply.code, body)
            self.assertEqual("Malformed request body", reply.json["badRequest"]["message"])

    async def test_action_by_version(self):
        reply = await self.api.request(
            "POST", "/v2.1/widgets/w1/action", body={"prod": None},
            headers={"OpenStack-API-Version": "compute 2.49"})
        self.assertEqual(404, reply.code)
        reply = await self.api.request(
            "POST", "/v2.1/widgets/w1/action", body={"prod": None},
            headers={"OpenStack-API-Version": "compute 2.50"})
        self.assertEqual(202, reply.code)
        self.assertEqual(b"", reply.raw)


class ProjectInURLTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_with_and_without_project(self):
        reply = await self.api.request("GET", "/v2.1/abc1/whoami")
        self.assertEqual(("abc1", "abc1"), (reply.json["url_project_id"],
                                            reply.json["project_id"]))
        reply = await self.api.request("GET", "/v2.1/whoami")
        self.assertIsNone(reply.json["url_project_id"])

    async def test_other_project_is_400(self):
        reply = await self.api.request("GET", "/v2.1/def2/whoami")
        self.assertEqual(400, reply.code)
        self.assertEqual("Malformed request URL: URL's project_id 'def2' doesn't match "
                         "Context's project_id 'abc1'", reply.json["badRequest"]["message"])

    async def test_project_ids_are_hex_and_dashes(self):
        reply = await self.api.request("GET", "/v2.1/xyz/whoami")
        self.assertEqual(404, reply.code)


class LogLineTest(unittest.TestCase):
    async def test_request_logged_like_nova(self):
        import logging

        records = []

        class Catch(logging.Handler):
            def emit(self, record):
                records.append(record.getMessage())

        handler = Catch()
        logger = logging.getLogger("nova_tx.api.compute.wsgi")
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.INFO)
        self.addCleanup(logger.removeHandler, handler)
        self.addCleanup(logger.setLevel, old_level)
        api = APIServer(self)
        await api.request("GET", "/v2.1/whoami",
                          headers={"OpenStack-API-Version": "compute 2.5"})
        self.assertTrue(any(re.match(
            r'127\.0\.0\.1 "GET /v2\.1/whoami" status: 200 len: \d+ microversion: 2\.5 '
            r'time: \d+\.\d{6}$', line) for line in records), records)


class RawHTTPTest(unittest.TestCase):
    """Requests no HTTP client library would send still get Nova's faults."""

    async def send(self, api, raw: bytes) -> tuple[int, bytes]:
        from twisted.internet import defer, endpoints, protocol, reactor

        class Grab(protocol.Protocol):
            def __init__(self):
                self.data = b""
                self.done = defer.Deferred()

            def dataReceived(self, data):
                self.data += data

            def connectionLost(self, reason):
                self.done.callback(self.data)

        grab = Grab()
        endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1",
                                                api.port.getHost().port)
        await endpoints.connectProtocol(endpoint, grab)
        grab.transport.write(raw)
        data = await grab.done
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body

    async def test_undecodable_path_and_host(self):
        api = APIServer(self)
        code, body = await self.send(api, b"GET /v2.1/widgets/%ff HTTP/1.1\r\nHost: x\r\n"
                                     b"X-Auth-Token: a:b\r\nConnection: close\r\n\r\n")
        self.assertEqual(404, code)
        self.assertIn(b'"itemNotFound"', body)
        code, body = await self.send(api, b"GET /v2.1/whoami HTTP/1.1\r\nHost: \xff\r\n"
                                     b"X-Auth-Token: a:b\r\nConnection: close\r\n\r\n")
        self.assertEqual(400, code)
        self.assertIn(b'"badRequest"', body)

    async def test_responses_have_a_length(self):
        api = APIServer(self)
        for path in ("/v2.1/whoami", "/v2.1/nothing", "/"):
            reply = await api.request("GET", path)
            self.assertEqual(len(reply.raw), reply.length, path)

"""Request validation: Nova's parameter types and its 400 messages."""
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.api.validation import parameter_types
from nova_tx.api.validation.validators import SchemaValidator
from tests.api.fixture import APIServer


def _schema(**properties):
    return {"type": "object", "properties": properties, "additionalProperties": False}


class ParameterTypesTest(unittest.SynchronousTestCase):
    def message(self, schema, body, is_body=True, relaxed=False):
        with self.assertRaises(exception.ValidationError) as caught:
            SchemaValidator(schema, relaxed, is_body).validate(body)
        self.assertEqual(400, caught.exception.code)
        return caught.exception.format_message()

    def ok(self, schema, body):
        SchemaValidator(schema).validate(body)

    def test_name(self):
        schema = _schema(name=parameter_types.name)
        for good in ("a", "a b", "ünïcode", "x" * 255, "a\u00a0b"):
            self.ok(schema, {"name": good})
        # (Like Nova's, the regex lets one trailing newline through: "$".)
        for bad in (" a", "a ", "\na", "\ta", "a\x00b", "a\u2028b"):
            self.assertEqual(
                "An invalid 'name' value was provided. The name must be: printable "
                "characters. Can not start or end with whitespace.",
                self.message(schema, {"name": bad}), repr(bad))
        self.assertEqual("Invalid input for field/attribute name. Value: . '' is too short",
                         self.message(schema, {"name": ""}))
        self.assertEqual("Invalid input for field/attribute name. Value: 1. 1 is not of "
                         "type 'string'", self.message(schema, {"name": 1}))
        self.assertTrue(self.message(schema, {"name": "x" * 256}).endswith("is too long"))

    def test_name_with_leading_trailing_spaces(self):
        schema = _schema(name=parameter_types.name_with_leading_trailing_spaces)
        self.ok(schema, {"name": " a "})
        self.assertEqual(
            "An invalid 'name' value was provided. The name must be: printable characters "
            "with at least one non space character",
            self.message(schema, {"name": "   "}))

    def test_az_name(self):
        schema = _schema(az=parameter_types.az_name)
        self.ok(schema, {"az": "nova"})
        self.assertIn("printable characters except :", self.message(schema, {"az": "a:b"}))

    def test_uuid(self):
        schema = _schema(id=parameter_types.uuid)
        self.ok(schema, {"id": "7fae1b8c-6d13-4a43-a8c0-7ebd2e2ef9c0"})
        self.ok(schema, {"id": "7fae1b8c6d134a43a8c07ebd2e2ef9c0"})
        self.assertEqual("Invalid input for field/attribute id. Value: nope. 'nope' is not "
                         "a 'uuid'", self.message(schema, {"id": "nope"}))

    def test_boolean_forms(self):
        schema = _schema(flag=parameter_types.boolean)
        for good in (True, False, "true", "False", "1", "0", "on", "OFF", "yes", "No"):
            self.ok(schema, {"flag": good})
        for bad in ("maybe", "tRuE"):
            self.assertIn("is not one of", self.message(schema, {"flag": bad}))
        for bad in (2, None):
            self.assertIn("is not of type 'boolean', 'string'",
                          self.message(schema, {"flag": bad}))

    def test_positive_integer(self):
        schema = _schema(n=parameter_types.positive_integer)
        for good in (1, "1", "42", 10**6):
            self.ok(schema, {"n": good})
        self.assertEqual("Invalid input for field/attribute n. Value: 0. 0 is less than "
                         "the minimum of 1", self.message(schema, {"n": "0"}))
        self.assertEqual("Invalid input for field/attribute n. Value: abc. 'abc' does not "
                         "match '^[0-9]*$'", self.message(schema, {"n": "abc"}))
        self.assertIn("is not of type", self.message(schema, {"n": 1.5}))
        self.assertIn("is too short", self.message(schema, {"n": ""}))
        non_negative = _schema(n=parameter_types.non_negative_integer)
        self.ok(non_negative, {"n": "0"})

    def test_volume_size_maximum_on_strings(self):
        schema = _schema(size=parameter_types.volume_size)
        self.ok(schema, {"size": "2147483647"})
        self.assertIn("is greater than the maximum of 2147483647",
                      self.message(schema, {"size": "2147483648"}))

    def test_metadata(self):
        schema = _schema(metadata=parameter_types.metadata)
        self.ok(schema, {"metadata": {"a-b_c:d. e": "v"}})
        self.assertEqual(
            "Invalid input for field/attribute metadata. Value: {'a/b': 'x'}. 'a/b' does "
            "not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'",
            self.message(schema, {"metadata": {"a/b": "x"}}))
        self.assertIn("is too long", self.message(schema, {"metadata": {"k": "v" * 256}}))
        self.assertIn("is not of type 'string'", self.message(schema, {"metadata": {"k": 1}}))
        with_null = _schema(metadata=parameter_types.metadata_with_null)
        self.ok(with_null, {"metadata": {"k": None}})

    def test_additional_and_required(self):
        schema = {"type": "object", "properties": {"widget": _schema(
            name=parameter_types.name)}, "required": ["widget"],
            "additionalProperties": False}
        self.assertEqual("'widget' is a required property", self.message(schema, {}))
        self.assertEqual(
            "Additional properties are not allowed ('other' was unexpected)",
            self.message(schema, {"widget": {}, "other": 1}))
        self.assertEqual(
            "Invalid input for field/attribute widget. Value: {'colour': 'red'}. Additional "
            "properties are not allowed ('colour' was unexpected)",
            self.message(schema, {"widget": {"colour": "red"}}))

    def test_relaxed_drops_unknown_keys(self):
        schema = {"type": "object", "properties": {"widget": _schema(
            name=parameter_types.name)}, "additionalProperties": False}
        body = {"widget": {"name": "a", "colour": "red"}, "other": 1}
        SchemaValidator(schema, relax_additional_properties=True).validate(body)
        self.assertEqual({"widget": {"name": "a"}}, body)

    def test_formats(self):
        schema = _schema(cidr=parameter_types.cidr, ip=parameter_types.ip_address,
                         v4=parameter_types.accessIPv4, v6=parameter_types.accessIPv6,
                         mac=parameter_types.mac_address,
                         when={"type": "string", "format": "date-time"},
                         data={"type": "string", "format": "base64"},
                         uri={"type": "string", "format": "uri"})
        self.ok(schema, {"cidr": "10.0.0.0/8", "ip": "::1", "v4": "1.2.3.4", "v6": "fe80::1",
                         "mac": "aa:bb:cc:dd:ee:ff", "when": "2026-01-01T00:00:00Z",
                         "data": "aGVsbG8=", "uri": "http://example.com/x"})
        for field, bad in (("cidr", "10.0.0.0"), ("cidr", "10.0.0.0/ 8"), ("v4", "1.2.3"),
                           ("v6", "nope"), ("when", "yesterday"), ("data", "a"),
                           ("uri", "example"), ("ip", "300.1.1.1"),
                           ("mac", "aa:bb:cc:dd:ee")):
            self.assertTrue(self.message(schema, {field: bad}).startswith(
                "Invalid input for field/attribute %s." % field), (field, bad))

    def test_description(self):
        schema = _schema(description=parameter_types.description)
        self.ok(schema, {"description": None})
        self.ok(schema, {"description": ""})
        self.ok(schema, {"description": "A fine widget"})
        self.assertIn("is not a 'description'", self.message(schema, {"description": " x"}))

    def test_keypair_names(self):
        schema = _schema(name={"type": "string", "format": "keypair_name_20"})
        self.ok(schema, {"name": "my key_1-2"})
        self.assertEqual(
            "An invalid 'name' value was provided. The name must be: Only expected "
            "characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]",
            self.message(schema, {"name": "a@b"}))
        schema = _schema(name={"type": "string", "format": "keypair_name_292"})
        self.ok(schema, {"name": "me@example.com"})

    def test_query_message(self):
        schema = {"type": "object", "properties": parameter_types.pagination_parameters}
        self.assertEqual(
            "Invalid input for query parameters limit. Value: abc. 'abc' does not match "
            "'^[0-9]*$'", self.message(schema, {"limit": ["abc"]}, is_body=False))
        schema = {"type": "object",
                  "properties": {"limit": parameter_types.single_param(
                      parameter_types.non_negative_integer)}}
        self.assertIn("is too long",
                      self.message(schema, {"limit": ["1", "2"]}, is_body=False))

    def test_non_string_pattern_key_is_400(self):
        # JSON keys are strings, but a body built in code may not be.
        schema = _schema(metadata=parameter_types.metadata)
        self.message(schema, {"metadata": {1: "x"}})


class ValidationOverHTTPTest(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def test_schema_by_version(self):
        body = {"widget": {"name": "w", "enabled": "yes"}}
        reply = await self.api.request("POST", "/v2.1/widgets", body=body,
                                       headers={"OpenStack-API-Version": "compute 2.9"})
        self.assertEqual(400, reply.code)
        self.assertEqual("Invalid input for field/attribute widget. Value: {'name': 'w', "
                         "'enabled': 'yes'}. Additional properties are not allowed "
                         "('enabled' was unexpected)", reply.json["badRequest"]["message"])
        reply = await self.api.request("POST", "/v2.1/widgets", body=body,
                                       headers={"OpenStack-API-Version": "compute 2.10"})
        self.assertEqual(201, reply.code)

    async def test_query_schema_strips_unknown_before_275(self):
        reply = await self.api.request(
            "GET", "/v2.1/widgets?limit=2&colour=red&name=w1",
            headers={"OpenStack-API-Version": "compute 2.74"})
        self.assertEqual(200, reply.code)
        self.assertEqual({"limit": ["2"], "name": ["w1"]}, reply.json["query"])

    async def test_query_schema_refuses_unknown_from_275(self):
        reply = await self.api.request(
            "GET", "/v2.1/widgets?colour=red",
            headers={"OpenStack-API-Version": "compute 2.75"})
        self.assertEqual(400, reply.code)
        self.assertEqual("Additional properties are not allowed ('colour' was unexpected)",
                         reply.json["badRequest"]["message"])

    async def test_bad_query_values(self):
        reply = await self.api.request(
            "GET", "/v2.1/widgets?limit=-1",
            headers={"OpenStack-API-Version": "compute 2.35"})
        self.assertEqual(400, reply.code)
        self.assertEqual("Invalid input for query parameters limit. Value: -1. '-1' does "
                         "not match '^[0-9]*$'", reply.json["badRequest"]["message"])
        reply = await self.api.request(
            "GET", "/v2.1/widgets?name=%ff",
            headers={"OpenStack-API-Version": "compute 2.35"})
        self.assertEqual(400, reply.code)
        self.assertEqual("Query string is not UTF-8 encoded",
                         reply.json["badRequest"]["message"])

    async def test_non_object_bodies(self):
        for body in ("[]", "1", '"x"', "null"):
            reply = await self.api.request("POST", "/v2.1/widgets", body=body)
            self.assertEqual(400, reply.code, body)
            self.assertIn("is not of type 'object'", reply.json["badRequest"]["message"])

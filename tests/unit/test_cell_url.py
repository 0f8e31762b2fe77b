"""Cell mapping URL templates (Nova's spec B §5.4): filled from this host's own URLs."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.objects.cell_mapping import (
    BaseUrls,
    CellMapping,
    CellUrlTemplateError,
    format_cell_url,
    mask_password,
    url_parts,
)

BASE = "rabbit://bob:s3kret@myhost:123/nova?sync=true#extra"


class FormatCellUrlTest(unittest.SynchronousTestCase):
    def test_documented_example(self):
        self.assertEqual(
            "rabbit://bob:s3kret@otherhost/nova",
            format_cell_url("rabbit://{username}:{password}@otherhost/{path}", BASE))

    def test_every_variable(self):
        for variable, value in [("scheme", "rabbit"), ("username", "bob"),
                                ("password", "s3kret"), ("hostname", "myhost"),
                                ("port", "123"), ("path", "nova"), ("query", "sync=true"),
                                ("fragment", "extra")]:
            self.assertEqual(f"<{value}>", format_cell_url(f"<{{{variable}}}>", BASE))

    def test_whole_url_rebuilt(self):
        template = "{scheme}://{username}:{password}@{hostname}:{port}/{path}?{query}#{fragment}"
        self.assertEqual(BASE, format_cell_url(template, BASE))

    def test_database_url(self):
        self.assertEqual(
            "mysql+pymysql://service1:foo@mycell1dbhost/nova",
            format_cell_url("mysql+pymysql://{username}:{password}@mycell1dbhost/nova",
                            "mysql+pymysql://service1:foo@myapidbhost/nova_cell0"))

    def test_missing_port_is_an_error_naming_the_variable(self):
        e = self.assertRaises(CellUrlTemplateError, format_cell_url,
                              "rabbit://{hostname}:{port}/", "rabbit://bob:pw@myhost/")
        self.assertIn("{port}", e.reason)
        self.assertIn("rabbit://bob:****@myhost/", e.reason)
        self.assertNotIn("pw@", e.reason)

    def test_missing_credentials_are_errors(self):
        for variable in ("username", "password"):
            self.assertRaises(CellUrlTemplateError, format_cell_url,
                              f"x://{{{variable}}}@h/", "rabbit://myhost:5672/")

    def test_empty_parts_are_empty_not_missing(self):
        self.assertEqual("x://h/?#", format_cell_url("x://h/{path}?{query}#{fragment}",
                                                     "rabbit://myhost:5672"))

    def test_unknown_variable(self):
        e = self.assertRaises(CellUrlTemplateError, format_cell_url, "x://{nope}/", BASE)
        self.assertIn("unknown variable {nope}", e.reason)

    def test_format_spec_refused(self):
        self.assertRaises(CellUrlTemplateError, format_cell_url, "x://{port:>8}/", BASE)
        self.assertRaises(CellUrlTemplateError, format_cell_url, "x://{port!r}/", BASE)

    def test_malformed_template(self):
        self.assertRaises(CellUrlTemplateError, format_cell_url, "x://{hostname/", BASE)

    def test_doubled_braces_are_literal(self):
        self.assertEqual("x://h/{path}/nova", format_cell_url("x://h/{{path}}/{path}", BASE))

    def test_multi_host_numbered_variables(self):
        base = "rabbit://userA:passwordA@hostA:1001,userB:passwordB@hostB:1002/vhost"
        self.assertEqual(
            "rabbit://userA:passwordA@a:1001,userB:passwordB@b:1002/vhost",
            format_cell_url("rabbit://{username1}:{password1}@a:{port1},"
                            "{username2}:{password2}@b:{port2}/{path}", base))
        # Unnumbered variables are the first host's.
        self.assertEqual("userA hostA 1001",
                         format_cell_url("{username} {hostname} {port}", base))
        self.assertEqual("hostB", format_cell_url("{hostname2}", base))
        self.assertRaises(CellUrlTemplateError, format_cell_url, "{hostname3}", base)

    def test_single_host_has_numbered_variables_too(self):
        self.assertEqual("bob@myhost:123", format_cell_url("{username1}@{hostname1}:{port1}",
                                                           BASE))

    def test_ipv6_host_keeps_brackets(self):
        self.assertEqual("[::1]:5432", format_cell_url(
            "{hostname}:{port}", "postgresql://u:p@[::1]:5432/nova"))

    def test_password_with_reserved_characters(self):
        parts = url_parts("mysql+pymysql://u:p/a?b#c@dbhost:3306/nova?charset=utf8")
        self.assertEqual(("u", "p/a?b#c", "dbhost", "3306", "nova", "charset=utf8"),
                         (parts["username"], parts["password"], parts["hostname"],
                          parts["port"], parts["path"], parts["query"]))

    def test_sqlite_path(self):
        self.assertEqual("sqlite:////var/lib/nova/nova_cell1.sqlite",
                         format_cell_url("sqlite:////{path}_cell1.sqlite",
                                         "sqlite:////var/lib/nova/nova"))


class CellMappingTest(unittest.SynchronousTestCase):
    def cell(self, **kw) -> CellMapping:
        values = {"uuid": "c1", "name": "cell1",
                  "transport_url": "rabbit://{username}:{password}@mq2:5672/",
                  "database_connection": "mysql+pymysql://{username}:{password}@db2/nova"}
        values.update(kw)
        return CellMapping(**values)

    def test_cell0(self):
        self.assertTrue(CellMapping(CellMapping.CELL0_UUID, "cell0", "none:///", "x").is_cell0)
        self.assertFalse(self.cell().is_cell0)

    def test_loaded_with_base_urls(self):
        filled = self.cell().with_base_urls(BaseUrls(
            transport_url="rabbit://hostuser:hostpw@mq1:5672/",
            database_connection="mysql+pymysql://dbuser:dbpw@db1/nova"))
        self.assertEqual("rabbit://hostuser:hostpw@mq2:5672/", filled.transport_url)
        self.assertEqual("mysql+pymysql://dbuser:dbpw@db2/nova", filled.database_connection)
        self.assertEqual(("c1", "cell1"), (filled.uuid, filled.name))

    def test_without_base_urls_as_stored(self):
        cell = self.cell()
        self.assertIs(cell, cell.with_base_urls(None))

    def test_unfillable_template_kept_as_stored_and_logged(self):
        cell = self.cell(transport_url="rabbit://h:{port}/")
        with self.assertLogs("nova_tx.objects.cell_mapping", "ERROR") as logs:
            filled = cell.with_base_urls(BaseUrls(
                transport_url="rabbit://u:p@mq1/",
                database_connection="mysql+pymysql://dbuser:dbpw@db1/nova"))
        self.assertEqual("rabbit://h:{port}/", filled.transport_url)
        self.assertEqual("mysql+pymysql://dbuser:dbpw@db2/nova", filled.database_connection)
        self.assertIn("cell1(c1)", logs.output[0])
        self.assertIn("{port}", logs.output[0])

    def test_template_without_local_option_kept(self):
        with self.assertLogs("nova_tx.objects.cell_mapping", "ERROR"):
            filled = self.cell().with_base_urls(BaseUrls("rabbit://u:p@mq1/", None))
        self.assertEqual("mysql+pymysql://{username}:{password}@db2/nova",
                         filled.database_connection)


class MaskPasswordTest(unittest.SynchronousTestCase):
    def test_masks(self):
        for url, masked in [
            ("rabbit://u:secret@h", "rabbit://u:****@h"),
            ("rabbit://a:pa@h1:5672,b:pb@h2:5672/v", "rabbit://a:****@h1:5672,b:****@h2:5672/v"),
            ("mysql+pymysql://u:p/w@h/nova?x=1", "mysql+pymysql://u:****@h/nova?x=1"),
            ("rabbit://u@h/", "rabbit://u@h/"),
            ("none:///", "none:///"),
            ("sqlite:////var/lib/nova.sqlite", "sqlite:////var/lib/nova.sqlite"),
            # SQLAlchemy's reading: user "u@server", password "secret".
            ("postgresql://u@server:secret@h/nova", "postgresql://u@server:****@h/nova"),
        ]:
            self.assertEqual(masked, mask_password(url))

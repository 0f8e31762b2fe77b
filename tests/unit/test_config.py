"""Configuration parsing: a bad file or value stops a program with one clear line."""
import os
import tempfile

from oslo_config import cfg
from twisted.trial import unittest

from nova_tx import config, exception
from nova_tx.conf import database, default
from nova_tx.conf import opts as conf_opts
from tests.helpers import unavailable


def _conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    database.register_opts(conf)
    return conf


class ParseArgsTest(unittest.SynchronousTestCase):
    def config_file(self, text: str) -> str:
        fd, path = tempfile.mkstemp(suffix=".conf")
        self.addCleanup(os.remove, path)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def parse(self, *args: str) -> cfg.ConfigOpts:
        return config.parse_args(["nova-test", *args], conf=_conf())

    def test_values_from_file_and_defaults(self):
        path = self.config_file("[DEFAULT]\nosapi_compute_listen_port = 9774\n"
                                "[api_database]\nconnection = sqlite://\n")
        conf = self.parse("--config-file", path)
        self.assertEqual(9774, conf.osapi_compute_listen_port)
        self.assertEqual("0.0.0.0", conf.osapi_compute_listen)
        self.assertEqual("sqlite://", conf.api_database.connection)
        self.assertIsNone(conf.database.connection)
        self.assertEqual(5, conf.database.max_pool_size)
        self.assertEqual([path], conf.config_file)

    def test_later_files_win_and_config_dir_after_files(self):
        first = self.config_file("[DEFAULT]\nosapi_compute_listen_port = 1001\n")
        second = self.config_file("[DEFAULT]\nosapi_compute_listen_port = 1002\n")
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        with open(os.path.join(directory, "50-port.conf"), "w") as f:
            f.write("[DEFAULT]\nosapi_compute_listen = 127.0.0.2\n")
        self.addCleanup(os.remove, os.path.join(directory, "50-port.conf"))
        conf = self.parse("--config-file", first, "--config-file", second,
                          "--config-dir", directory)
        self.assertEqual(1002, conf.osapi_compute_listen_port)
        self.assertEqual("127.0.0.2", conf.osapi_compute_listen)

    def test_invalid_value_names_the_option(self):
        path = self.config_file("[database]\nmax_pool_size = lots\n")
        e = self.assertRaises(exception.ConfigError, self.parse, "--config-file", path)
        message = e.format_message()
        self.assertIn("database.max_pool_size", message)
        self.assertIn("lots", message)
        self.assertNotIn("\n", message)

    def test_out_of_range_value(self):
        path = self.config_file("[DEFAULT]\nosapi_compute_listen_port = 70000\n")
        e = self.assertRaises(exception.ConfigError, self.parse, "--config-file", path)
        self.assertIn("osapi_compute_listen_port", e.format_message())

    def test_unparsable_file(self):
        path = self.config_file("[DEFAULT\nhost = x\n")
        e = self.assertRaises(exception.ConfigError, self.parse, "--config-file", path)
        self.assertIn("cannot parse %s" % path, e.format_message())
        self.assertNotIn("\n", e.format_message())

    def test_missing_file(self):
        e = self.assertRaises(exception.ConfigError, self.parse,
                              "--config-file", "/nonexistent/nova.conf")
        self.assertIn("/nonexistent/nova.conf", e.format_message())

    def test_logging_options_are_registered(self):
        conf = self.parse("--debug", "--use-json", "--log-dir", "/tmp")
        self.assertTrue(conf.debug)
        self.assertTrue(conf.use_json)
        self.assertEqual("/tmp", conf.log_dir)


#: Sections nova-tx has and Nova does not (spec/DECISIONS.md, "Companion services").
NOVA_TX_GROUPS = frozenset({
    "embedded",
    # The embedded Placement reads Placement's own sections (placement.conf's), and the
    # API oslo.middleware's, which Nova's paste pipeline reads but its sample omits.
    "placement_database", "cors", "oslo_middleware",
    # The in-memory hypervisor's host file (fake.FakeDriver; Nova's has no options).
    "fake"})
#: Options of Nova's sections that Zed's sample lacks: ``enforce_scope`` is gone from
#: the oslo.policy the sample was generated with, and nova-tx keeps Zed's switch.
NOVA_TX_OPTIONS = frozenset({
    ("oslo_policy", "enforce_scope"),
    # Placement's own [placement] options (placement.conf), beside Nova's client ones.
    ("placement", "randomize_allocation_candidates"),
    ("placement", "incomplete_consumer_project_id"),
    ("placement", "incomplete_consumer_user_id")}) | frozenset(
    # keystoneauth's password plugin options: Nova loads them at run time with
    # ``auth_type = password``, so its generated sample does not list them.
    ("keystone_authtoken", name) for name in (
        "auth_url", "system_scope", "domain_id", "domain_name", "project_id",
        "project_name", "project_domain_id", "project_domain_name", "user_id", "username",
        "user_domain_id", "user_domain_name", "password"))


class OptionListTest(unittest.SynchronousTestCase):
    def test_groups_have_nova_names_and_defaults(self):
        groups = {getattr(g, "name", g): opts for g, opts in conf_opts.list_opts()}
        self.assertEqual("DEFAULT", conf_opts.list_opts()[0][0])
        self.assertIn("database", groups)
        self.assertIn("api_database", groups)
        defaults = {o.name: o.default for o in groups["DEFAULT"]}
        self.assertEqual(8774, defaults["osapi_compute_listen_port"])
        self.assertEqual("rabbit://", defaults["transport_url"])
        self.assertEqual("$pybasedir", defaults["state_path"])
        db = {o.name: o.default for o in groups["database"]}
        self.assertEqual({"connection": None, "max_pool_size": 5, "max_overflow": 50,
                          "connection_recycle_time": 3600, "mysql_sql_mode": "TRADITIONAL"},
                         {k: db[k] for k in ("connection", "max_pool_size", "max_overflow",
                                             "connection_recycle_time", "mysql_sql_mode")})

    def test_defaults_match_nova_zed(self):
        """Every option we share with Nova has Zed's default (reference sample)."""
        sample = _zed_sample_defaults()
        if sample is None:
            unavailable("shared/reference/nova-zed.conf.sample is not beside the checkout")
        for group, opts in conf_opts.list_opts():
            group_name = getattr(group, "name", group)
            for opt in opts:
                key = (group_name, opt.dest)
                if group_name in NOVA_TX_GROUPS or key in NOVA_TX_OPTIONS:
                    continue
                self.assertIn(key, sample, "%s.%s is not a Nova option" % key)
                ours = opt.sample_default if opt.sample_default is not None else opt.default
                self.assertEqual(sample[key], _render(ours), "default of %s.%s" % key)


def _render(value) -> str:
    if isinstance(value, list):
        return ",".join(_render(v) for v in value)
    if value is None:
        return "<None>"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _zed_sample_defaults() -> dict | None:
    import re

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "..", "shared", "reference", "nova-zed.conf.sample")
    if not os.path.exists(path):
        return None
    defaults, group = {}, None
    with open(path) as f:
        for line in f:
            section = re.match(r"^\[(\w+)\]", line)
            if section:
                group = section.group(1)
            option = re.match(r"^#(\w+) = ?(.*)$", line)
            if option and group:
                defaults.setdefault((group, option.group(1)), option.group(2))
    return defaults

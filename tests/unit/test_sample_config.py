"""The committed etc/nova/nova.conf.sample is what oslo-config-generator makes today."""
import io
import os

from oslo_config import cfg, generator
from twisted.trial import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR_CONF = os.path.join(ROOT, "etc", "nova", "nova-config-generator.conf")
SAMPLE = os.path.join(ROOT, "etc", "nova", "nova.conf.sample")


def generate_sample() -> str:
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(["--config-file", GENERATOR_CONF], project="nova")
    out = io.StringIO()
    generator.generate(conf, output_file=out)
    return out.getvalue()


class SampleConfigTest(unittest.SynchronousTestCase):
    def test_sample_is_current(self):
        with open(SAMPLE) as f:
            committed = f.read()
        self.assertTrue(
            committed == generate_sample(),
            "etc/nova/nova.conf.sample is stale: run `make sample-config` and commit it")

    def test_sample_has_our_groups_and_oslo_log(self):
        text = generate_sample()
        for section in ("[DEFAULT]", "[database]", "[api_database]"):
            self.assertIn(section, text)
        self.assertIn("#osapi_compute_listen_port = 8774", text)
        self.assertIn("#debug = false", text)  # from oslo.log's namespace

"""Choosing the virt driver by ``[DEFAULT] compute_driver``."""
from oslo_config import cfg
from twisted.trial.unittest import SynchronousTestCase

from nova_tx import exception
from nova_tx.conf import default, virt
from nova_tx.virt import driver


def conf_with(name):
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    virt.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override("compute_driver", name)
    return conf


class LoadComputeDriverTests(SynchronousTestCase):
    def test_unset(self):
        error = self.assertRaises(exception.ConfigError, driver.load_compute_driver,
                                  conf_with(None))
        self.assertIn("compute_driver is not set", str(error))

    def test_unknown(self):
        error = self.assertRaises(exception.ConfigError, driver.load_compute_driver,
                                  conf_with("nova.virt.hyperv.HyperVDriver"))
        self.assertIn("compute_driver = nova.virt.hyperv.HyperVDriver: no such driver",
                      str(error))

    def test_instances_path_follows_state_path(self):
        conf = conf_with(None)
        conf.set_override("state_path", "/var/lib/nova")
        self.assertEqual(conf.instances_path, "/var/lib/nova/instances")

"""Drop-in plugins: a module in any nova_tx/plugins directory on sys.path is found."""
import os
import subprocess
import sys
import tempfile

from twisted.trial import unittest

DROPIN = '''
from twisted.plugin import IPlugin
from zope.interface import Interface, provider


class IExample(Interface):
    """An interface only this test knows."""


@provider(IPlugin, IExample)
class ExampleFilter:
    name = "ExampleFilter"
'''

FIND = '''
import nova_tx.plugins
from twisted.plugin import getPlugins
from nova_tx.plugins.operator_plugins_example import IExample
print(sorted(p.name for p in getPlugins(IExample, nova_tx.plugins)))
'''


class DropInPluginTest(unittest.SynchronousTestCase):
    def test_operator_directory_contributes_plugins(self):
        site = tempfile.mkdtemp(prefix="nova-tx-site-")
        directory = os.path.join(site, "nova_tx", "plugins")
        os.makedirs(directory)
        # Like twisted/plugins: the operator's directory has no __init__.py.
        with open(os.path.join(directory, "operator_plugins_example.py"), "w") as f:
            f.write(DROPIN)
        env = dict(os.environ, PYTHONPATH=site)
        result = subprocess.run([sys.executable, "-c", FIND], env=env, capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual("['ExampleFilter']", result.stdout.strip())

"""`pip install .` builds a complete package: compiled kernel, migrations, plugins, scripts."""
import atexit
import functools
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from twisted.trial import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@functools.cache
def built_wheel() -> tuple[frozenset, str]:
    """Build, once per run, the wheel `pip install .` would install, from the tracked files.

    Returns the wheel's file names and its entry_points.txt.
    """
    workdir = tempfile.mkdtemp(prefix="nova-tx-wheel-")
    atexit.register(shutil.rmtree, workdir, True)
    source = os.path.join(workdir, "src")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        target = os.path.join(source, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(os.path.join(ROOT, name)):
            os.symlink(os.readlink(os.path.join(ROOT, name)), target)
        else:
            shutil.copy2(os.path.join(ROOT, name), target)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--no-build-isolation", "--wheel-dir", workdir, source],
        check=True, capture_output=True)
    (wheel,) = glob.glob(os.path.join(workdir, "nova_tx-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = frozenset(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    return names, entry_points


class WheelTest(unittest.SynchronousTestCase):
    def setUp(self):
        self.names, self.entry_points = built_wheel()

    def test_compiled_kernel_is_in_the_wheel(self):
        self.assertTrue(any(n.startswith("nova_tx/_speedups/cpuset.") and n.endswith(".so")
                            for n in self.names), sorted(self.names))

    def test_migrations_are_in_the_wheel(self):
        for database in ("api", "main"):
            base = "nova_tx/db/%s/migrations/" % database
            self.assertIn(base + "env.py", self.names)
            self.assertIn(base + "script.py.mako", self.names)
            self.assertTrue(any(n.startswith(base + "versions/") for n in self.names))

    def test_amqp_spec_is_in_the_wheel(self):
        self.assertIn("nova_tx/bus/specs/amqp0-9-1.stripped.extended.xml", self.names)

    def test_plugins_are_in_the_wheel(self):
        self.assertIn("twisted/plugins/nova_tx_services.py", self.names)
        self.assertNotIn("twisted/plugins/__init__.py", self.names)
        self.assertIn("nova_tx/plugins/__init__.py", self.names)

    def test_console_scripts(self):
        for script in ("nova-api", "nova-api-metadata", "nova-conductor", "nova-scheduler",
                       "nova-compute", "nova-allinone", "nova-manage", "nova-status"):
            self.assertIn("%s = " % script, self.entry_points)
        self.assertIn("nova_tx.conf = nova_tx.conf.opts:list_opts", self.entry_points)


class EditableInstallTest(unittest.SynchronousTestCase):
    def test_the_checkout_runs_its_compiled_kernel(self):
        from nova_tx._speedups import cpuset

        self.assertTrue(cpuset.__file__.startswith(os.path.join(ROOT, "nova_tx", "_speedups")))
        self.assertTrue(cpuset.__file__.endswith(".so"))

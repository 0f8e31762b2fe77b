"""The daemons as an operator runs them: console scripts and twistd plugins."""
import os
import shutil
import signal
import tempfile

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.trial import unittest

from tests.db.fixtures import migrated_sqlite_file
from tests.helpers import Daemon, http_get_json, run, write_config

API_CONF = """[DEFAULT]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 0
metadata_listen = 127.0.0.1
metadata_listen_port = 0
transport_url = memory://
"""

LOGGING_CONF = """[loggers]
keys = root

[handlers]
keys = file

[formatters]
keys = custom

[logger_root]
level = INFO
handlers = file

[handler_file]
class = FileHandler
args = (%r,)
formatter = custom

[formatter_custom]
format = CUSTOM %%(levelname)s %%(name)s %%(message)s
"""

DAEMONS = ("nova-api", "nova-api-metadata", "nova-conductor", "nova-scheduler",
           "nova-compute")


class ConsoleScriptTest(unittest.SynchronousTestCase):
    def test_api_serves_versions_and_stops_on_sigterm(self):
        conf = write_config(self, API_CONF)
        daemon = Daemon(self, "nova-api", ["--config-file", conf])
        port = daemon.listening_port()
        status, body = http_get_json("http://127.0.0.1:%d/" % port)
        self.assertEqual(200, status)
        self.assertEqual("2.93", body["versions"][1]["version"])
        self.assertEqual(0, daemon.stop(timeout=5))
        output = daemon.output()
        self.assertIn("Starting nova-api (nova-tx", output)
        self.assertIn("config files: %s" % conf, output)
        self.assertIn("nova-api stopped", output)

    def test_every_daemon_starts_logs_and_stops(self):
        conf = write_config(self, API_CONF)
        database = os.path.join(os.path.dirname(conf), "nova.sqlite")
        shutil.copy(migrated_sqlite_file("main"), database)
        with open(conf, "a") as f:
            f.write("[database]\nconnection = sqlite:///%s\n" % database)
        for program in DAEMONS:
            daemon = Daemon(self, program, ["--config-file", conf])
            daemon.wait_for("%s started" % program)
            self.assertEqual(0, daemon.stop(timeout=5), program)
            self.assertIn("Starting %s (nova-tx" % program, daemon.output())

    def test_conductor_without_database_is_one_line(self):
        conf = write_config(self, API_CONF)
        result = run("nova-conductor", ["--config-file", conf], timeout=30)
        self.assertEqual(1, result.returncode)
        output = result.stdout + result.stderr
        self.assertIn("nova-conductor failed to start: Invalid configuration: [database] "
                      "connection is not set", output)
        self.assertNotIn("Traceback", output)

    def test_debug_and_log_file_options(self):
        conf = write_config(self, API_CONF)
        log_file = os.path.join(os.path.dirname(conf), "api.log")
        daemon = Daemon(self, "nova-api", ["--config-file", conf, "--debug",
                                           "--log-file", log_file])
        self.assertTrue(_wait_file(log_file, "nova-api started"))
        self.assertEqual(0, daemon.stop())
        with open(log_file) as f:
            text = f.read()
        # oslo.log's format for ours, and Twisted's own events in the same file.
        self.assertRegex(text, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ INFO nova_tx.service ")
        self.assertRegex(text, r"INFO twisted \[-\] Site starting on \d+")
        self.assertIn(" DEBUG ", text)  # --debug: the option values are logged

    def test_log_dir_names_the_file_after_the_program(self):
        conf = write_config(self, API_CONF)
        log_dir = os.path.dirname(conf)
        daemon = Daemon(self, "nova-compute", ["--config-file", conf, "--log-dir", log_dir])
        log_file = os.path.join(log_dir, "nova-compute.log")
        self.assertTrue(_wait_file(log_file, "nova-compute started"))
        self.assertEqual(0, daemon.stop())

    def test_log_config_append_takes_over(self):
        conf = write_config(self, API_CONF)
        directory = os.path.dirname(conf)
        log_file = os.path.join(directory, "custom.log")
        logging_conf = os.path.join(directory, "logging.conf")
        with open(logging_conf, "w") as f:
            f.write(LOGGING_CONF % log_file)
        daemon = Daemon(self, "nova-api", ["--config-file", conf,
                                           "--log-config-append", logging_conf])
        self.assertTrue(_wait_file(log_file, "nova-api started"))
        self.assertEqual(0, daemon.stop())
        with open(log_file) as f:
            lines = f.read().splitlines()
        self.assertIn("CUSTOM INFO nova_tx.service nova-api started", lines)
        self.assertTrue(any(line.startswith("CUSTOM INFO twisted Site starting on")
                            for line in lines), lines)

    def test_json_logging(self):
        import json

        conf = write_config(self, API_CONF)
        log_file = os.path.join(os.path.dirname(conf), "api.json")
        daemon = Daemon(self, "nova-api", ["--config-file", conf, "--use-json",
                                           "--log-file", log_file])
        self.assertTrue(_wait_file(log_file, "Site starting"))
        self.assertEqual(0, daemon.stop())
        with open(log_file) as f:
            records = [json.loads(line) for line in f if line.strip()]
        names = {r["name"] for r in records}
        self.assertIn("twisted", names)
        self.assertIn("nova_tx.service", names)

    def test_sighup_applies_debug(self):
        conf = write_config(self, API_CONF + "debug = false\n")
        daemon = Daemon(self, "nova-api", ["--config-file", conf])
        daemon.wait_for("nova-api started")
        with open(conf, "w") as f:
            f.write(API_CONF.replace("[DEFAULT]\n", "[DEFAULT]\ndebug = true\n"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("Configuration reloaded; mutable options applied")
        self.assertEqual(0, daemon.stop())

    def test_unparsable_config_is_one_line(self):
        conf = write_config(self, "[DEFAULT\nhost = a\n")
        result = run("nova-api", ["--config-file", conf])
        self.assertEqual(1, result.returncode)
        self.assertEqual(1, len(result.stderr.strip().splitlines()), result.stderr)
        self.assertIn("cannot parse", result.stderr)
        self.assertNotIn("Traceback", result.stderr + result.stdout)

    def test_invalid_value_is_one_line_naming_option(self):
        conf = write_config(self, "[DEFAULT]\nosapi_compute_listen_port = http\n")
        result = run("nova-conductor", ["--config-file", conf])
        self.assertEqual(1, result.returncode)
        self.assertIn("osapi_compute_listen_port", result.stderr)
        self.assertEqual(1, len(result.stderr.strip().splitlines()), result.stderr)

    def test_port_in_use_fails_with_status_1(self):
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        self.addCleanup(sock.close)
        conf = write_config(self, API_CONF.replace(
            "= 0", "= %d" % sock.getsockname()[1]))
        result = run("nova-api", ["--config-file", conf], timeout=15)
        self.assertEqual(1, result.returncode)
        self.assertIn("nova-api failed to start", result.stdout + result.stderr)

    def test_remote_debug_options_are_accepted(self):
        conf = write_config(self, API_CONF)
        # pydevd is not a dependency: asking for the debugger without it is one clear line.
        result = run("nova-compute", ["--config-file", conf, "--remote_debug-host",
                                      "127.0.0.1", "--remote_debug-port", "5678"])
        self.assertEqual(1, result.returncode)
        self.assertEqual(1, len(result.stderr.strip().splitlines()), result.stderr)
        self.assertIn("pydevd", result.stderr)
        # One of the two alone does not attach anything: the daemon runs.
        daemon = Daemon(self, "nova-compute", ["--config-file", conf,
                                               "--remote_debug-host", "127.0.0.1"])
        daemon.wait_for("nova-compute started")
        self.assertEqual(0, daemon.stop())

    def test_version(self):
        result = run("nova-api", ["--version"])
        self.assertEqual(0, result.returncode)
        from nova_tx import version

        self.assertIn(version.version_string, result.stdout + result.stderr)


class TwistdPluginTest(unittest.SynchronousTestCase):
    def test_plugins_are_found(self):
        names = {p.tapname for p in getPlugins(IServiceMaker)}
        self.assertTrue(set(DAEMONS) | {"nova-allinone"} <= names, names)

    def test_twistd_runs_nova_api(self):
        conf = write_config(self, API_CONF)
        directory = os.path.dirname(conf)
        daemon = Daemon(self, "twistd", ["-n", "--pidfile=", "nova-api", "--config-file", conf],
                        cwd=directory)
        port = daemon.listening_port()
        self.assertEqual(200, http_get_json("http://127.0.0.1:%d/v2.1/" % port)[0])
        # twistd ends by re-raising the signal it stopped on (its own convention); the
        # clean stop shows in the log.
        self.assertEqual(-signal.SIGTERM, daemon.stop(timeout=5))
        self.assertIn("nova-api stopped", daemon.output())

    def test_twistd_with_our_logger_writes_one_stream(self):
        conf = write_config(self, API_CONF)
        directory = os.path.dirname(conf)
        log_file = os.path.join(directory, "api.log")
        daemon = Daemon(self, "twistd", [
            "-n", "--pidfile=", "--logger", "nova_tx.log.twistd_observer",
            "nova-api", "--config-file", conf, "--log-file", log_file], cwd=directory)
        self.assertTrue(_wait_file(log_file, "nova-api started"))
        daemon.stop(timeout=5)
        with open(log_file) as f:
            text = f.read()
        self.assertRegex(text, r"INFO twisted \[-\] Site starting on \d+")
        self.assertIn("INFO nova_tx.service", text)


    def test_twistd_sighup_reloads(self):
        conf = write_config(self, API_CONF + "debug = false\n")
        daemon = Daemon(self, "twistd", ["-n", "--pidfile=", "nova-api", "--config-file", conf],
                        cwd=os.path.dirname(conf))
        daemon.wait_for("nova-api started")
        with open(conf, "w") as f:
            f.write(API_CONF.replace("[DEFAULT]\n", "[DEFAULT]\ndebug = true\n"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("Configuration reloaded; mutable options applied")
        self.assertIsNone(daemon.process.poll())
        daemon.stop(timeout=5)

    def test_twistd_bad_config_is_one_line(self):
        directory = tempfile.mkdtemp(prefix="nova-tx-test-")
        result = run("twistd", ["-n", "--pidfile=", "nova-api", "--config-file",
                                os.path.join(directory, "missing.conf")], cwd=directory)
        self.assertEqual(1, result.returncode)
        self.assertEqual(["nova-api: Invalid configuration: config file not found: %s"
                          % os.path.join(directory, "missing.conf")],
                         result.stderr.strip().splitlines())

    def test_twistd_port_in_use_is_one_line(self):
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        self.addCleanup(sock.close)
        conf = write_config(self, API_CONF.replace("= 0", "= %d" % sock.getsockname()[1]))
        result = run("twistd", ["-n", "--pidfile=", "nova-api", "--config-file", conf],
                     cwd=os.path.dirname(conf), timeout=20)
        output = result.stdout + result.stderr
        self.assertIn("nova-api failed to start: CannotListenError: Couldn't listen on", output)
        self.assertNotIn("Traceback", output)


def _wait_file(path: str, text: str, timeout: float = 20) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                if text in f.read():
                    return True
        time.sleep(0.05)
    return False

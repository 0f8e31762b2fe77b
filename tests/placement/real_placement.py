"""The real OpenStack Placement service (PyPI ``openstack-placement``) for tests.

Placement's own gabbi tests run against it (``tests/placement/test_gabbits_real.py``),
so that they are known to describe Placement's behaviour before they judge ours::

    from tests.placement import real_placement

    url = real_placement.fresh_url("default")   # a server with an empty database

Each server is a separate process: this file run as a script serves Placement's own
WSGI application (``placement.wsgi.init_application``, exactly as a deployment loads
it) with ``wsgiref`` on a free local port, on a SQLite file in a temporary directory,
with ``[api] auth_strategy = noauth2``. Only the child imports ``placement``; this
module imports nothing but the standard library at the top, so Placement's own
dependencies stay out of the test process.

A server is started once per *configuration* (see :data:`CONFIGS`) and reused:
:func:`fresh_url` gives it an empty database again (the child swaps in a copy of the
database it migrated at start, outside Placement's URL space, on ``POST
/__nova_tx_reset__``), which costs milliseconds rather than a restart. All servers stop
when the test process exits.

The interpreter that runs the child is this one unless ``NOVA_TX_REAL_PLACEMENT_PYTHON``
names another; ``openstack-placement`` is in the ``test`` extra of setup.py, so
``.venv`` (``make test``) has it. When it is missing, tests that need it are skipped,
except under ``CI=true`` where they fail (as ``tests/db/fixtures.py`` does for servers).
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

# Configuration name -> what the server is started with (see _write_config).
#   default      enforce_new_defaults = False (the deprecated "legacy" policy rules
#                apply), as upstream's APIFixture; otherwise Placement's defaults.
#   open_policy  every policy rule but admin_api is "@" (anyone): upstream's
#                OpenPolicyFixture.
#   secure_rbac  [oslo_policy] enforce_new_defaults = True: SecureRBACPolicyFixture.
#   cors         CORS middleware on for http://valid.example.com: CORSFixture.
CONFIGS = ("default", "open_policy", "secure_rbac", "cors")

RESET_PATH = "/__nova_tx_reset__"
PYTHON_ENV = "NOVA_TX_REAL_PLACEMENT_PYTHON"
START_TIMEOUT = 60.0

_servers: dict[str, RealPlacement] = {}
_lock = threading.Lock()
_unavailable: list[str | None] = []  # memo of unavailable_reason()


def python() -> str:
    """The interpreter that has ``openstack-placement`` installed."""
    return os.environ.get(PYTHON_ENV) or sys.executable


def unavailable_reason() -> str | None:
    """Why the real Placement cannot be run here, or None when it can."""
    if not _unavailable:
        try:
            subprocess.run(
                [python(), "-c", "import placement.wsgi, placement.deploy"],
                check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as e:
            stderr = getattr(e, "stderr", b"") or b""
            last = stderr.decode(errors="replace").strip().splitlines()[-1:]
            _unavailable.append(
                f"openstack-placement cannot be imported by {python()}: "
                f"{last[0] if last else e}")
        else:
            _unavailable.append(None)
    return _unavailable[0]


def require_real_placement(testcase) -> None:
    """Skip ``testcase`` when the real Placement is not installed (fail it in CI)."""
    reason = unavailable_reason()
    if reason is None:
        return
    # Imported here: this file also runs as the server's own script, without tests/.
    from tests.helpers import unavailable

    unavailable(reason + " (`pip install -e .[test]` installs the real Placement)")


class RealPlacement:
    """One Placement server process with one configuration."""

    def __init__(self, config: str = "default") -> None:
        if config not in CONFIGS:
            raise ValueError(f"unknown configuration {config!r}; expected one of {CONFIGS}")
        self.config = config
        self.directory: str | None = None
        self.process: subprocess.Popen | None = None
        self.url: str | None = None
        self._log = None

    def start(self) -> str:
        """Start the server; return its base URL once it answers."""
        self.directory = tempfile.mkdtemp(prefix=f"real-placement-{self.config}-")
        self._log = open(os.path.join(self.directory, "server.log"), "wb")
        self.process = subprocess.Popen(
            [python(), "-P", os.path.abspath(__file__), self.directory, self.config],
            # stdin: the child exits when it reads EOF, i.e. when this process is gone
            # (even killed) and the pipe closes.
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        # The child prints "LISTENING <port>" when it serves, or exits.
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while (remaining := deadline - time.monotonic()) > 0:
            if not select.select([self.process.stdout], [], [], remaining)[0]:
                break  # silent until the deadline
            line = self.process.stdout.readline()
            if not line or line.startswith(b"LISTENING "):
                break
        if not line.startswith(b"LISTENING "):
            log = self.log_tail()
            self.stop()
            raise RuntimeError(f"real Placement ({self.config}) did not start:\n{log}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self.url

    def reset(self) -> None:
        """Give the server an empty (migrated, traits and classes synced) database."""
        request = urllib.request.Request(self.url + RESET_PATH, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.directory:
            return ""
        try:
            with open(os.path.join(self.directory, "server.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def server(config: str = "default") -> RealPlacement:
    """The running server of ``config``, started on first use and kept for the run."""
    with _lock:
        running = _servers.get(config)
        if running is None or not running.alive():
            if running is not None:
                running.stop()
            running = RealPlacement(config)
            running.start()
            _servers[config] = running
        return running


def fresh_url(config: str = "default") -> str:
    """Base URL of a real Placement of ``config`` whose database is empty again.

    The ``fresh_placement`` argument of :mod:`tests.placement.gabbi_runner`.
    """
    running = server(config)
    running.reset()
    return running.url


@atexit.register
def stop_all() -> None:
    with _lock:
        for running in _servers.values():
            running.stop()
        _servers.clear()


# ---------------------------------------------------------------------------------
# The child: python real_placement.py DIRECTORY CONFIG. Everything below runs in the
# server process, the only one that imports placement.

def _write_config(directory: str, config: str) -> None:
    database = os.path.join(directory, "placement.sqlite")
    options = {
        "DEFAULT": {"log_file": os.path.join(directory, "placement.log")},
        "api": {"auth_strategy": "noauth2"},
        "placement_database": {"connection": f"sqlite:///{database}",
                               "sync_on_startup": "true"},
        "oslo_policy": {
            "enforce_new_defaults": str(config == "secure_rbac").lower(),
            # A file that is not there (unless open_policy writes it): the defaults.
            "policy_file": os.path.join(directory, "policy.yaml"),
        },
    }
    if config == "cors":
        options["cors"] = {"allowed_origin": "http://valid.example.com",
                           "allow_headers": "openstack-api-version"}
    if config == "open_policy":
        from placement import policies
        rules = {rule.name: "@" for rule in policies.list_rules()
                 if rule.name != "admin_api"}
        with open(os.path.join(directory, "policy.yaml"), "w") as f:
            json.dump(rules, f)  # JSON is YAML
    with open(os.path.join(directory, "placement.conf"), "w") as f:
        for group, values in options.items():
            f.write(f"[{group}]\n")
            for key, value in values.items():
                f.write(f"{key} = {value}\n")


def _serve(directory: str, config: str) -> None:
    import signal
    from wsgiref import simple_server

    _write_config(directory, config)
    os.environ["OS_PLACEMENT_CONFIG_DIR"] = directory
    from placement import db_api, wsgi

    application = wsgi.init_application()
    database = os.path.join(directory, "placement.sqlite")
    template = database + ".template"
    engine = db_api.get_placement_engine()
    engine.dispose()
    shutil.copyfile(database, template)

    def app(environ, start_response):
        if environ.get("PATH_INFO") == RESET_PATH:
            engine.dispose()
            shutil.copyfile(template, database)
            start_response("204 No Content", [])
            return []
        return application(environ, start_response)

    class Handler(simple_server.WSGIRequestHandler):
        def get_environ(self):
            environ = super().get_environ()
            # wsgiref makes up "text/plain" for a request without Content-Type;
            # other servers (and upstream's in-process client) leave it out, and
            # Placement's errors tell the two apart.
            if self.headers.get("content-type") is None:
                environ.pop("CONTENT_TYPE", None)
            return environ

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

    httpd = simple_server.make_server("127.0.0.1", 0, app, handler_class=Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def exit_with_parent():
        sys.stdin.buffer.read()  # EOF: the test process has gone
        shutil.rmtree(directory, ignore_errors=True)
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    print(f"LISTENING {httpd.server_port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])

"""Helpers shared by the functional tests: running a nova-tx program as a process, and
starting a service in the test's reactor (``StoppableReactor``)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.dirname(sys.executable)


def free_ports(count: int) -> list[int]:
    """``count`` distinct local ports nothing listens on now. The sockets are held open
    together while the ports are chosen: a port closed and asked for again may come
    back, and two services given the same port fail to start."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str):
    """What a test needs is not here: skip it, except under ``CI=true``.

    In CI every service runs, ``make test`` has installed the test extras and built the
    kernel, and ``shared/`` is beside the checkout, so a skip there would hide a
    failure: it fails instead.
    """
    from twisted.trial import unittest

    if in_ci():
        raise unittest.FailTest(f"{reason} (CI=true: it is required)")
    raise unittest.SkipTest(f"{reason}; with CI=true this is a failure")


def write_config(testcase, text: str, name: str = "nova.conf") -> str:
    """Write ``text`` to a config file in a fresh temporary directory; return its path."""
    directory = tempfile.mkdtemp(prefix="nova-tx-test-")
    testcase.addCleanup(_rmtree, directory)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class Daemon:
    """A console script run as a child process, its log file read as it runs."""

    def __init__(self, testcase, program: str, args: list[str], cwd: str | None = None):
        self.log_path = os.path.join(tempfile.mkdtemp(prefix="nova-tx-log-"), "out.log")
        testcase.addCleanup(_rmtree, os.path.dirname(self.log_path))
        self._out = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [os.path.join(BIN, program), *args], stdout=self._out, stderr=subprocess.STDOUT,
            cwd=cwd, start_new_session=True)
        testcase.addCleanup(self.kill)

    def output(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        """Wait until the output matches ``pattern`` (the daemon says it is ready)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.process.poll() is not None:
                raise AssertionError("exited with %s before %r:\n%s"
                                     % (self.process.returncode, pattern, self.output()))
            time.sleep(0.05)
        raise AssertionError("no %r within %ss:\n%s" % (pattern, timeout, self.output()))

    def listening_port(self) -> int:
        return int(self.wait_for(r"Site starting on (\d+)").group(1))

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then the exit status (raises if it takes longer than ``timeout``)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._out.close()


def http_get_json(url: str) -> tuple[int, dict]:
    import json

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def run(program: str, args: list[str], cwd: str | None = None, timeout: float = 60
        ) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN, program), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


class StoppableReactor:
    """The real reactor, except that a failed start does not stop it (a NovaService
    stops its reactor when ``prepare`` fails; a test wants to see ``exit_code``)."""

    running = True

    def __getattr__(self, name):
        from twisted.internet import reactor

        return getattr(reactor, name)

    def stop(self):
        pass

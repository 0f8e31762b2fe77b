"""Run Placement's own gabbi files under trial, against any Placement.

Placement's gabbi tests (YAML, in ``../shared/reference/placement-gabbits`` next to
the checkout, the same layout in CI) are sequences of HTTP requests with their expected
responses; each file names the fixtures that prepare the service before its first
request (:mod:`tests.placement.gabbi_fixtures` has our equivalents). One trial test
runs one file::

    from tests.placement import gabbi_runner

    class OurPlacementGabbits(gabbi_runner.gabbi_testcase(fresh_placement)):
        pass

``fresh_placement(testcase, config)`` is the only thing a target provides. It is
called in the reactor thread at the start of each file's test, with that trial test
(for ``addCleanup``: a server listening in the test process must be gone when the test
ends, or trial reports a dirty reactor) and the name of the server configuration the
file's fixtures need (``"default"``, ``"open_policy"``, ``"secure_rbac"`` or
``"cors"``, see :mod:`tests.placement.real_placement`). It returns (or returns a
Deferred firing with) the base URL of a Placement with that configuration and an empty
database, e.g. ``"http://127.0.0.1:8778"`` or ``"http://127.0.0.1:8778/placement"``.
The fixtures and the file's requests then run in a thread (``deferToThread``), so the
reactor stays free to serve a Placement running in the test process itself; every
connection gabbi opened is closed before the test's Deferred fires.

A file passes when none of its requests fails (a request upstream marks ``xfail`` may
fail; one that unexpectedly passes fails the file); the failure message lists every
failed request with gabbi's explanation. Files in :data:`EXCLUDED` (or not in ``only``)
get no test; ``docs/placement-gabbits.md`` lists them with the same reasons.
"""
from __future__ import annotations

import os
import re
import unittest
from collections.abc import Callable, Iterable

from gabbi import handlers, suitemaker, utils
from twisted.internet import defer, threads
from twisted.trial import unittest as trial_unittest

from tests.placement import gabbi_fixtures

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GABBITS_DIR = os.path.normpath(os.environ.get(
    "NOVA_TX_PLACEMENT_GABBITS",
    os.path.join(REPO, os.pardir, "shared", "reference", "placement-gabbits")))

# File name (without .yaml) -> why it does not run. Kept equal to the table in
# docs/placement-gabbits.md.
EXCLUDED: dict[str, str] = {}

# (file, request name) -> why that one request is skipped (gabbi's ``skip``) while
# the rest of its file runs.
SKIPPED_STEPS: dict[tuple[str, str], str] = {
    ("basic-http", "bad content length not int"):
        "gabbi's HTTP client (httpx) refuses to send a non-integer Content-Length "
        "over a socket; upstream sends it in-process through a WSGI transport",
}


def gabbi_files(directory: str = GABBITS_DIR) -> list[str]:
    """The names (without ``.yaml``) of the gabbi files in ``directory``, sorted."""
    if not os.path.isdir(directory):
        return []
    return sorted(name[:-len(".yaml")] for name in os.listdir(directory)
                  if name.endswith(".yaml"))


def load(name: str, directory: str = GABBITS_DIR,
         skip_steps: dict[tuple[str, str], str] | None = None) -> dict:
    """Gabbi file ``name``, its requests in ``skip_steps`` (default
    :data:`SKIPPED_STEPS`) marked skip."""
    skip_steps = SKIPPED_STEPS if skip_steps is None else skip_steps
    suite_dict = utils.load_yaml(yaml_file=os.path.join(directory, name + ".yaml"))
    for step in suite_dict.get("tests") or []:
        reason = skip_steps.get((name, step.get("name")))
        if reason:
            step["skip"] = reason
    return suite_dict


def fixture_names(suite_dict: dict) -> list[str]:
    return list(suite_dict.get("fixtures") or [])


def config_for(name: str, directory: str = GABBITS_DIR) -> str:
    """The server configuration the fixtures of gabbi file ``name`` need."""
    return gabbi_fixtures.server_config(fixture_names(load(name, directory)))


def run_file(name: str, base_url: str, directory: str = GABBITS_DIR,
             skip_steps: dict[tuple[str, str], str] | None = None) -> unittest.TestResult:
    """Run gabbi file ``name`` against ``base_url``, blocking; return the result.

    The fixtures the file names run first (against ``base_url``), as gabbi runs them.
    """
    host, port, prefix, ssl = utils.host_info_from_target(base_url)
    suite_dict = load(name, directory, skip_steps)
    if ssl:
        suite_dict.setdefault("defaults", {})["ssl"] = True
    else:
        # Plain HTTP has no certificate to check; without this gabbi's client for
        # each request loads the CA bundle, which takes most of the run's time.
        suite_dict.setdefault("defaults", {})["cert_validate"] = False
    suite = suitemaker.test_suite_from_dict(
        unittest.TestLoader(), name, suite_dict, directory, host, port,
        gabbi_fixtures.bound(base_url), None, prefix=prefix.rstrip("/"),
        handlers=[handler() for handler in handlers.RESPONSE_HANDLERS])
    result = unittest.TestResult()
    tests = list(suite)  # (a suite drops its tests as it runs them)
    try:
        suite.run(result)
    finally:
        # gabbi makes an HTTP client per request and never closes it: close their
        # keep-alive connections, which a server in the test process would see.
        for test in tests:
            http = getattr(test, "http", None)
            if http is not None:
                http.client.close()
    return result


def _step(test) -> str:
    data = getattr(test, "test_data", None)
    if not data:
        return str(test)
    return f"{data['name']!r} ({data.get('method', 'GET')} {data.get('url', '')})"


def _message(trace: str, limit: int = 60) -> str:
    """The exception of a traceback without its frames: gabbi's explanation."""
    lines = trace.rstrip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    start = frames[-1] + 1 if frames else 0
    while start < len(lines) and lines[start].startswith("    "):
        start += 1
    message = lines[start:] or lines
    if len(message) > limit:
        message = message[:limit] + [f"... ({len(message) - limit} more lines)"]
    return "\n".join(message)


def describe_failures(name: str, result: unittest.TestResult) -> str | None:
    """A report of every failed request of a file's result, or None if it passed."""
    problems = ([(test, "failed", trace) for test, trace in result.failures]
                + [(test, "error", trace) for test, trace in result.errors]
                + [(test, "unexpectedly passed (upstream marks it xfail)", "")
                   for test in result.unexpectedSuccesses])
    if not problems:
        return None
    lines = [f"{name}.yaml: {len(problems)} of {result.testsRun} requests went wrong"]
    for test, what, trace in problems:
        lines.append(f"--- {_step(test)}: {what}")
        if trace:
            lines.append(_message(trace))
    return "\n".join(lines)


def _method_name(name: str) -> str:
    return "test_" + re.sub(r"\W", "_", name)


def gabbi_testcase(fresh_placement: Callable[[trial_unittest.TestCase, str],
                                              str | defer.Deferred],
                   only: Iterable[str] | None = None,
                   exclude: dict[str, str] | None = None,
                   require: Callable[[trial_unittest.TestCase], None] | None = None,
                   directory: str = GABBITS_DIR,
                   skip_steps: dict[tuple[str, str], str] | None = None,
                   ) -> type[trial_unittest.TestCase]:
    """A trial TestCase class with one test per gabbi file, e.g. ``test_aggregate``.

    ``fresh_placement(testcase, config)``: see the module docstring. ``only``: run just these
    files (names without ``.yaml``). ``exclude``: files left out, name -> reason
    (default :data:`EXCLUDED`). ``require(testcase)``, if given, runs first in each
    test and may skip or fail it (e.g. when the server cannot be run here).
    ``skip_steps``: single requests skipped, (file, request name) -> reason (default
    :data:`SKIPPED_STEPS`).

    Subclass the result in the test module (the subclass's name is the tests' name);
    the class returned is not meant to be found by trial itself.
    """
    excluded = EXCLUDED if exclude is None else exclude
    names = [name for name in gabbi_files(directory)
             if name not in excluded and (only is None or name in set(only))]

    def make_test(name: str):
        def test(self):
            if require is not None:
                require(self)
            config = config_for(name, directory)
            d = defer.maybeDeferred(fresh_placement, self, config)
            d.addCallback(lambda url: threads.deferToThread(
                run_file, name, url, directory, skip_steps))

            def check(result):
                report = describe_failures(name, result)
                if report:
                    self.fail(report)

            return d.addCallback(check)

        test.__name__ = _method_name(name)
        test.__doc__ = f"Placement's gabbi file {name}.yaml"
        return test

    attrs = {_method_name(name): make_test(name) for name in names}
    if not names:
        def test_gabbits_found(self):
            from tests.helpers import unavailable

            unavailable(f"no gabbi files in {directory} (shared/ is not beside the "
                        "checkout)")
        attrs["test_gabbits_found"] = test_gabbits_found
    return type("GabbiFiles", (trial_unittest.TestCase,), attrs)

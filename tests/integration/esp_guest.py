"""Pytest plugin: run the ESP lab tests in one User-Mode Linux guest when this kernel lacks ESP.

Tests marked both `esp` and `lab` build tunnels in the namespace lab, so they need a kernel that
installs ESP SAs. Where they run is decided once per session, after collection and deselection:

- Inside the guest (the guest runner sets GUEST_RESULTS), or when tests.lab.esp_supported()
  finds that this kernel installs ESP SAs, they run here like any other test.
- When the lab cannot run at all (not root, no `ip netns`), they stay as they are and the `lab`
  fixture skips them with its reason.
- Otherwise each of them is replaced by a GuestTestItem with the same node id. The first of these
  to run boots ONE guest that runs all of them:
      python -m pytest -m esp NODEID... --junitxml GUEST_RESULTS/junit.xml
  Each item then passes, fails or is skipped as the JUnit XML records for its test. A failure
  shows the guest's traceback and captured output, so a failing tunnel test fails `pytest` here.
- When no UML kernel is installed either, the tests are skipped with that reason.

The terminal summary lists every guest test with its outcome and duration, and the guest's boot
and total wall time. The guest's results directory is kept when a test did not pass.

tests/integration/conftest.py registers the plugin under the name `esp_guest`, so
`-p no:esp_guest` turns it off (the tests then run here and fail without ESP).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from xml.etree import ElementTree
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.guest import UML_BINARY, GuestError, GuestUnavailableError, run_in_guest
from tests.guest.kernel import find_uml_binary
from tests.lab import esp_supported

__all__ = ["EspGuestPlugin", "GuestTestItem", "GuestOutcome", "GUEST_TIMEOUT", "junit_test_name"]

PLUGIN_NAME = "esp_guest"
# Seconds for the whole guest run: boot, every delegated test and power-off.
GUEST_TIMEOUT = 900
GUEST_MEMORY = "1G"
JUNIT_FILE = "junit.xml"
OUTPUT_TAIL_CHARS = 6000


def in_guest() -> bool:
    """Tell whether this process runs inside the guest, whose runner sets GUEST_RESULTS."""
    return bool(os.environ.get("GUEST_RESULTS"))


def needs_esp_kernel(item) -> bool:
    return item.get_closest_marker("esp") is not None and item.get_closest_marker("lab") is not None


def guest_unavailable_reason() -> str | None:
    """Return why the guest cannot boot here, or None when its kernel is installed."""
    try:
        find_uml_binary(UML_BINARY)
    except GuestUnavailableError as error:
        return str(error)
    return None


def junit_test_name(nodeid: str) -> tuple:
    """Return the (classname, name) pair that pytest's JUnit XML report gives the test `nodeid`.

    The file path becomes a dotted module path without ".py", classes are appended with dots,
    and the name keeps its parameters: "tests/integration/test_x.py::test_y[a]" becomes
    ("tests.integration.test_x", "test_y[a]").
    """
    path, bracket, parameters = nodeid.partition("[")
    names = path.split("::")
    module = names[0].replace("/", ".")
    if module.endswith(".py"):
        module = module[: -len(".py")]
    names[0] = module
    names[-1] += bracket + parameters
    return ".".join(names[:-1]), names[-1]


@dataclass
class GuestOutcome:
    """What the guest recorded for one test: `status` is passed, failed, skipped or xfailed.

    `message` is the one-line reason (failure message or skip reason); `details` is the full
    report text of a failure (traceback and captured output). `seconds` is the test's duration.
    """

    status: str
    message: str = ""
    details: str = ""
    seconds: float = 0.0


def parse_junit(path: str) -> dict:
    """Return {(classname, name): GuestOutcome} for every testcase in the JUnit XML file at `path`."""
    outcomes = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        seconds = float(case.get("time") or 0)
        problems = [child for child in case if child.tag in ("failure", "error")]
        skipped = case.find("skipped")
        if problems:
            outcome = GuestOutcome(
                "failed",
                message="; ".join(child.get("message", child.tag) for child in problems),
                details="\n\n".join((child.text or "").strip() for child in problems),
                seconds=seconds,
            )
        elif skipped is not None:
            status = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
            outcome = GuestOutcome(status, message=skipped.get("message", ""), seconds=seconds)
        else:
            outcome = GuestOutcome("passed", seconds=seconds)
        outcomes[key] = outcome
    return outcomes


class GuestTestFailed(Exception):
    """A test failed in the guest, or the guest run that should have run it failed."""


class GuestRun:
    """One guest boot that runs every delegated test, started by the first GuestTestItem to run."""

    def __init__(self, config, nodeids: list):
        self.config = config
        self.nodeids = list(nodeids)
        self.outcomes = {}
        self.result = None
        self.error = None
        self.skip_reason = None
        self.results_dir = None
        self.results_kept = False
        self.wall_seconds = None

    def argv(self, junit_path: str) -> list:
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-m", "esp"]
        argv += ["--rootdir", str(self.config.rootpath), "--junitxml", junit_path]
        if self.config.inipath is not None:
            argv += ["-c", str(self.config.inipath)]
        return argv + ["--", *self.nodeids]

    def execute(self) -> None:
        """Boot the guest, run the tests and read their outcomes; record a whole-run failure in `error`."""
        started = time.monotonic()
        self.results_dir = tempfile.mkdtemp(prefix="esp-guest-")
        junit_path = os.path.join(self.results_dir, JUNIT_FILE)
        # With `-s`, the guest's output goes to the terminal as it comes; otherwise it is shown
        # for failed tests only.
        stream = sys.stdout if self.config.getoption("capture") == "no" else None
        try:
            self.result = run_in_guest(
                self.argv(junit_path),
                cwd=str(self.config.rootpath),
                timeout=GUEST_TIMEOUT,
                result_dir=self.results_dir,
                memory=GUEST_MEMORY,
                on_output=(lambda data: _write_live(stream, data)) if stream else None,
            )
        except GuestUnavailableError as error:
            self.skip_reason = "this kernel cannot install ESP SAs and the UML guest cannot boot: %s" % error
        except GuestError as error:
            self.error = "the UML guest run failed: %s%s" % (error, _output_tail(error.result))
        except (OSError, ValueError) as error:
            # ValueError: run_in_guest rejects a path that the guest cannot mount or use.
            self.error = "the UML guest could not be started: %s" % error
        self.wall_seconds = time.monotonic() - started
        if self.result is not None:
            if os.path.exists(junit_path):
                self.outcomes = parse_junit(junit_path)
            else:
                self.error = "the guest's pytest exited %s and wrote no JUnit XML%s" % (
                    self.result.returncode,
                    _output_tail(self.result),
                )

    def outcome(self, nodeid: str) -> GuestOutcome:
        """Return the guest's outcome for `nodeid`, or a failure that explains why there is none."""
        if self.skip_reason:
            return GuestOutcome("skipped", message=self.skip_reason)
        if self.error:
            return GuestOutcome("failed", message=self.error.splitlines()[0], details=self.error)
        found = self.outcomes.get(junit_test_name(nodeid))
        if found is not None:
            return found
        details = "the guest's pytest (exit status %s) did not report %s%s" % (
            self.result.returncode,
            nodeid,
            _output_tail(self.result),
        )
        return GuestOutcome("failed", message=details.splitlines()[0], details=details)

    def finish(self) -> None:
        """Remove the results directory when every test passed; otherwise keep it for inspection."""
        if self.results_dir is None:
            return
        expected = ("passed", "xfailed")
        passed = self.error is None and all(self.outcome(nodeid).status in expected for nodeid in self.nodeids)
        if passed or self.skip_reason:
            shutil.rmtree(self.results_dir, ignore_errors=True)
        else:
            self.results_kept = True


def _write_live(stream, data: bytes) -> None:
    stream.write(data.decode("utf-8", errors="replace"))
    stream.flush()


def _output_tail(result) -> str:
    if result is None:
        return ""
    return "\nend of the guest's output:\n%s" % result.output[-OUTPUT_TAIL_CHARS:]


class GuestTestItem(pytest.Item):
    """Stands for one test that runs in the guest; reports the outcome the guest recorded for it.

    It has the node id, markers, keywords and location of the test it replaces, and no fixtures.
    """

    def __init__(self, *, plugin, location, **kwargs):
        super().__init__(**kwargs)
        self.plugin = plugin
        self._location_info = location
        self.user_properties.append(("ran_in", "UML guest"))

    @classmethod
    def replacing(cls, item, plugin) -> "GuestTestItem":
        proxy = cls.from_parent(item.parent, name=item.name, plugin=plugin, location=item.reportinfo())
        proxy.own_markers.extend(item.own_markers)
        proxy.keywords.update(dict(item.keywords))
        return proxy

    def reportinfo(self):
        return self._location_info

    def runtest(self) -> None:
        outcome = self.plugin.guest_outcome(self)
        if outcome.status == "skipped":
            skip = pytest.skip.Exception("in the UML guest: %s" % outcome.message)
            # Report the test's own location rather than this line.
            skip._use_item_location = True
            raise skip
        if outcome.status == "xfailed":
            pytest.xfail("in the UML guest: %s" % outcome.message)
        if outcome.status != "passed":
            raise GuestTestFailed("failed in the UML guest: %s\n\n%s" % (outcome.message, outcome.details))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GuestTestFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class EspGuestPlugin:
    """Moves the ESP lab tests into one guest boot when this kernel cannot install ESP SAs.

    `lab_unavailable_reason` returns why the lab cannot run here, or None; the plugin leaves the
    tests alone when it returns a reason.
    """

    def __init__(self, lab_unavailable_reason: Callable[[], str | None]):
        self.lab_unavailable_reason = lab_unavailable_reason
        self.items = []
        self.run = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        # trylast: -m and -k have deselected their items by now, so only selected tests go to the guest.
        if in_guest():
            return
        selected = [item for item in items if needs_esp_kernel(item)]
        if not selected or self.lab_unavailable_reason() or esp_supported():
            return
        reason = guest_unavailable_reason()
        if reason:
            skip = pytest.mark.skip(
                reason="this kernel cannot install ESP SAs and the UML guest cannot boot: %s" % reason
            )
            for item in selected:
                item.add_marker(skip)
            return
        chosen = set(map(id, selected))
        for index, item in enumerate(items):
            if id(item) in chosen:
                items[index] = GuestTestItem.replacing(item, self)
                self.items.append(items[index])

    def guest_outcome(self, item: GuestTestItem) -> GuestOutcome:
        if self.run is None:
            self.run = GuestRun(item.config, [each.nodeid for each in self.items])
            self.run.execute()
            self.run.finish()
        return self.run.outcome(item.nodeid)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        run = self.run
        if run is None:
            return
        terminalreporter.section("ESP tests in the UML guest")
        if run.result is not None:
            terminalreporter.write_line(
                "%d tests in one guest boot: boot %.1f s, total %.1f s, guest pytest exit status %d"
                % (len(run.nodeids), run.result.boot_seconds or 0.0, run.wall_seconds, run.result.returncode)
            )
        for nodeid in run.nodeids:
            outcome = run.outcome(nodeid)
            terminalreporter.write_line("%-8s %7.2fs %s" % (outcome.status.upper(), outcome.seconds, nodeid))
        if run.error:
            terminalreporter.write_line(run.error.splitlines()[0])
        if run.results_kept:
            terminalreporter.write_line("guest output and JUnit XML kept in %s" % run.results_dir)


def register(config, lab_unavailable_reason: Callable[[], str | None]) -> None:
    """Register the plugin once per session, unless `-p no:esp_guest` blocks it."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME) and not config.pluginmanager.is_blocked(PLUGIN_NAME):
        config.pluginmanager.register(EspGuestPlugin(lab_unavailable_reason), PLUGIN_NAME)

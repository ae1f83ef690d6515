# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stdout callback for the benchmarks: each task's duration and the result fields they count.

Writes one JSON document to the file named by BENCH_PLAYBOOK_RESULT, with `tasks` and `stats`.
Each entry of `tasks` has the task's `name`, `action`, `seconds` and `hosts` (host name to a
reduced result). `seconds` runs from the task's start to its final result, on the controller's
monotonic clock. `stats` is the recap by host.
A reduced result keeps only the fields in KEPT_FIELDS, with a loop item reduced to its name, and
for a loop `results`, the same fields per item. Whole results of 500-item loops would take
megabytes.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: bench_timing
    type: stdout
    short_description: task durations and reduced results as JSON, for the benchmarks
    description:
      - Records each task's duration and a reduced result per host.
      - Writes them as one JSON document to the file named by BENCH_PLAYBOOK_RESULT.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

KEPT_FIELDS = ("changed", "failed", "msg", "rc", "libreswan_commands", "summary", "failed_connections", "item")


def _field(result, name):
    """Return result.<name>, or result._<name> on ansible-core before 2.19."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, "_" + name)


def reduce_result(data: dict) -> dict:
    """Return the fields of a module result that the benchmark reads, with loop items reduced too."""
    reduced = {key: data[key] for key in KEPT_FIELDS if key in data}
    if isinstance(reduced.get("item"), dict):
        reduced["item"] = reduced["item"].get("name")
    if isinstance(data.get("results"), list):
        reduced["results"] = [reduce_result(dict(item)) for item in data["results"]]
    return reduced


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "bench_timing"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []
        self.started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        entry = {"name": task.get_name(), "action": task.action, "seconds": None, "hosts": {}}
        self.tasks.append(entry)
        self.started[str(task._uuid)] = (time.monotonic(), entry)

    def _record(self, result, status):
        task = _field(result, "task")
        started, entry = self.started[str(task._uuid)]
        entry["seconds"] = time.monotonic() - started
        data = reduce_result(dict(_field(result, "result")))
        data["status"] = status
        entry["hosts"][_field(result, "host").get_name()] = data

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        document = json.dumps({"tasks": self.tasks, "stats": summary}, indent=1, default=str)
        path = os.environ.get("BENCH_PLAYBOOK_RESULT")
        if path:
            with open(path, "w") as stream:
                stream.write(document)
        else:
            self._display.display(document)

# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stdout callback for the integration tests: the whole run as one JSON document.

ansible-core ships no JSON callback (ansible.posix has one), so the tests use this one. The
document has `plays` (each with its `tasks`, each with per-host results) and `stats` (the
recap per host). It goes to stdout and, when LAB_PLAYBOOK_RESULT names a file, to that file.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: lab_json
    type: stdout
    short_description: the playbook run as one JSON document, for the lab tests
    description:
      - Collects every task result and the recap, and prints them as JSON at the end.
      - Also writes the document to the file named by the LAB_PLAYBOOK_RESULT environment variable.
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _field(result, name):
    """Return result.<name>, or result._<name> on ansible-core before 2.19."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, "_" + name)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "lab_json"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plays = []
        self.tasks_by_id = {}

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name(), "id": str(play._uuid)}, "tasks": []})

    def _start_task(self, task, handler):
        entry = {
            "task": {"name": task.get_name(), "id": str(task._uuid), "action": task.action, "handler": handler},
            "hosts": {},
        }
        if not self.plays:
            self.plays.append({"play": {"name": "", "id": ""}, "tasks": []})
        self.plays[-1]["tasks"].append(entry)
        self.tasks_by_id[str(task._uuid)] = entry

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task, handler=False)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task, handler=True)

    def _record(self, result, status):
        self._handle_warnings_and_exception(result)
        task = _field(result, "task")
        entry = self.tasks_by_id.get(str(task._uuid))
        if entry is None:
            self._start_task(task, handler=False)
            entry = self.tasks_by_id[str(task._uuid)]
        data = dict(_field(result, "result"))
        data["_lab_status"] = status
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
        document = json.dumps({"plays": self.plays, "stats": summary}, indent=2, sort_keys=True, default=str)
        self._display.display(document)
        path = os.environ.get("LAB_PLAYBOOK_RESULT")
        if path:
            with open(path, "w") as stream:
                stream.write(document)

"""The EXAMPLES of ipsec_connection and ipsec_connections run as written against the lab.

This kernel has no ESP, so an example with `state: up` may end with the Child SA rejected; every
other outcome must be success.
"""

from __future__ import annotations

import importlib

import pytest
import yaml

pytestmark = pytest.mark.lab

WEST_EAST = """\
conn west-east
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tauto=ignore
"""
SECRETS = '@west @east : PSK "examples-test-0123456789"\n@hq @branch : PSK "examples-test-0123456789"\n'


def example_tasks(module_name):
    module = importlib.import_module("ansible_collections.ipsec.libreswan.plugins.modules.%s" % module_name)
    tasks = yaml.safe_load(module.EXAMPLES)
    for index, task in enumerate(tasks):
        task["ignore_errors"] = True
        task["register"] = "example_%d" % index
    return tasks


@pytest.mark.parametrize("module_name", ["ipsec_connection", "ipsec_connections"])
def test_module_examples_run(clean_lab, run_playbook, module_name):
    for host in clean_lab:
        host.write_file("ipsec.d/west-east.conf", WEST_EAST)
        host.write_secrets(SECRETS)
        host.whack("--rereadsecrets")
    clean_lab["east"].run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", "west-east"])
    tasks = example_tasks(module_name)
    playbook = yaml.safe_dump([{"hosts": "west", "gather_facts": False, "tasks": tasks}], sort_keys=False)
    run = run_playbook(playbook)
    for task in tasks:
        result = run.result(task["name"], "west")
        if result.get("_lab_status") == "ignored":
            assert "Child SA" in result.get("msg", ""), (task["name"], result)
        else:
            assert result.get("_lab_status") == "ok", (task["name"], result)

"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse, and ansible-doc renders the module."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TOP = Path(__file__).resolve().parents[4]
MODULES = sorted(path.stem for path in (TOP / "plugins" / "modules").glob("*.py") if not path.stem.startswith("_"))


@pytest.mark.parametrize("module_name", MODULES)
def test_module_documentation_is_valid_yaml(module_name):
    module = importlib.import_module("ansible_collections.ipsec.libreswan.plugins.modules.%s" % module_name)
    documentation = yaml.safe_load(module.DOCUMENTATION)
    assert documentation["module"] == module_name
    assert documentation["short_description"]
    assert isinstance(yaml.safe_load(module.EXAMPLES), list)
    assert isinstance(yaml.safe_load(module.RETURN), dict)


@pytest.mark.parametrize("module_name", MODULES)
def test_ansible_doc_renders_module(module_name):
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    if not ansible_doc.exists():
        pytest.skip("ansible-doc is not installed beside %s" % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(TOP / ".build" / "collections"))
    completed = subprocess.run([str(ansible_doc), "ipsec.libreswan.%s" % module_name],
                               capture_output=True, text=True, env=env, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "ERROR" not in completed.stderr
    assert "ipsec.libreswan.%s" % module_name in completed.stdout

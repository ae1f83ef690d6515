"""Module tests run as on a managed host, whatever other tests imported before them."""

import pytest


@pytest.fixture(autouse=True)
def managed_host_mode(monkeypatch):
    """Clear ansible-core's module-side controller flag for each test.

    Importing controller code (a filter plugin, ansible.errors) sets it for the whole process,
    and while it is set AnsibleModule.warn() stops recording warnings.
    """
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False, raising=False)

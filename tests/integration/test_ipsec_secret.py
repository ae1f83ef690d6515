"""ipsec_secret on the lab: PSKs set through ansible-playbook must authenticate real IKEv2 SAs.

The lab kernel has no ESP, so only the IKE SA establishes; the Child SA is expected to fail.
Each test uses fresh random keys, so a key can only be found in output if the module leaked it.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from tests.lab import ansible_environment

pytestmark = pytest.mark.lab

CONN = "psk-secret"
SECRETS_PATH = "ipsec.d/%s.secrets" % CONN

PLAYBOOK = textwrap.dedent("""\
    - name: Manage the PSK of the lab connection
      hosts: lab
      gather_facts: false
      tasks:
        - name: Set the PSK
          ipsec.libreswan.ipsec_secret:
            name: %s
            selectors: ["@west", "@east"]
            secret: "{{ psk }}"
    """) % CONN


def conn_definition() -> str:
    return textwrap.dedent("""\
        conn {name}
        \tleft=198.51.100.1
        \tleftid=@west
        \tright=198.51.100.2
        \trightid=@east
        \tauthby=secret
        \tikev2=insist
        \tkeyingtries=1
        \tauto=add
        """).format(name=CONN)


def new_key(label: str) -> str:
    # 32 bytes or more, so pluto does not warn that the PSK is weak for HMAC-SHA2-512.
    return "%s-%s" % (label, secrets.token_hex(20))


def load_conn(lab) -> None:
    for host in lab:
        host.write_file("ipsec.d/%s.conf" % CONN, conn_definition())
        host.run(["ipsec", "auto", "--add", CONN])


def terminate(lab) -> None:
    for host in lab:
        host.whack("--name", CONN, "--terminate", check=False)


def initiate(lab) -> bool:
    """Start a new IKE SA from west and return whether it reached the established state."""
    west = lab["west"]
    west.whack("--name", CONN, "--initiate", check=False, timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if west.ike_sa_established(CONN):
            return True
        time.sleep(0.1)
    return west.ike_sa_established(CONN)


def reread_count(host) -> int:
    """Count how often pluto has dropped its secrets to load them again (one per rereadsecrets)."""
    return host.read_log().count("forgetting secrets")


def assert_ok(run) -> None:
    assert run.rc == 0, str(run)
    assert run.failed() == 0, str(run)


def results(run, name="Set the PSK") -> dict:
    return run.task(name)


def test_psk_from_playbook_establishes_ike_sa(clean_lab, run_playbook):
    key = new_key("first")
    run = run_playbook(PLAYBOOK, extra_vars={"psk": key})
    assert_ok(run)
    for host in clean_lab:
        result = results(run)[host.name]
        assert result["changed"] is True
        assert result["action"] == "added"
        assert result["reread"] is True
        assert host.read_file(SECRETS_PATH) == '@west @east : PSK "%s"\n' % key
        assert host.path(SECRETS_PATH).stat().st_mode & 0o777 == 0o600
    load_conn(clean_lab)
    assert initiate(clean_lab), clean_lab["west"].read_log()[-3000:]
    assert clean_lab["east"].ike_sa_established(CONN)


def test_rotated_psk_reauthenticates(clean_lab, run_playbook):
    west, east = clean_lab["west"], clean_lab["east"]
    old_key, new = new_key("old"), new_key("new")
    assert_ok(run_playbook(PLAYBOOK, extra_vars={"psk": old_key}))
    load_conn(clean_lab)
    assert initiate(clean_lab)
    terminate(clean_lab)

    east_only = run_playbook(PLAYBOOK, extra_vars={"psk": new}, limit="east")
    assert_ok(east_only)
    assert results(east_only)["east"]["action"] == "updated"
    assert not initiate(clean_lab), "west still has the old key, so east must reject it"
    assert "AUTHENTICATION_FAILED" in west.read_log()
    terminate(clean_lab)

    both = run_playbook(PLAYBOOK, extra_vars={"psk": new})
    assert_ok(both)
    assert results(both)["west"]["changed"] is True
    assert results(both)["east"]["changed"] is False
    assert initiate(clean_lab), west.read_log()[-3000:]
    assert east.ike_sa_established(CONN)


def test_second_run_changes_nothing_and_skips_reread(clean_lab, run_playbook):
    key = new_key("stable")
    assert_ok(run_playbook(PLAYBOOK, extra_vars={"psk": key}))
    counts = {host.name: reread_count(host) for host in clean_lab}
    contents = {host.name: host.read_file(SECRETS_PATH) for host in clean_lab}

    second = run_playbook(PLAYBOOK, extra_vars={"psk": key})
    assert_ok(second)
    assert second.changed() == 0
    for host in clean_lab:
        result = results(second)[host.name]
        assert result["changed"] is False
        assert result["reread"] is False
        assert result["commands"] == []
        assert reread_count(host) == counts[host.name]
        assert host.read_file(SECRETS_PATH) == contents[host.name]


def test_awkward_psk_round_trips_and_authenticates(clean_lab, run_playbook):
    marker = secrets.token_hex(8)
    key = 'q"uote\\back\\n\nline-\u00e9\u00df\u2603-' + marker + "-0123456789abcdef"
    run = run_playbook(PLAYBOOK, extra_vars={"psk": key})
    assert_ok(run)
    encoded = base64.b64encode(key.encode("utf-8")).decode()
    for host in clean_lab:
        assert host.read_file(SECRETS_PATH) == "@west @east : PSK 0s%s\n" % encoded
    load_conn(clean_lab)
    assert initiate(clean_lab), clean_lab["west"].read_log()[-3000:]
    second = run_playbook(PLAYBOOK, extra_vars={"psk": key})
    assert second.changed() == 0


def test_backslash_in_quoted_psk_is_literal(clean_lab, run_playbook):
    """west gets the quoted form from the module, east the 0s form of the same bytes: they must agree."""
    west, east = clean_lab["west"], clean_lab["east"]
    key = "back\\slash\\n\\t\\\\-%s" % secrets.token_hex(16)
    assert_ok(run_playbook(PLAYBOOK, extra_vars={"psk": key}, limit="west"))
    assert west.read_file(SECRETS_PATH) == '@west @east : PSK "%s"\n' % key
    east.write_file(SECRETS_PATH, "@west @east : PSK 0s%s\n" % base64.b64encode(key.encode()).decode(), 0o600)
    east.whack("--rereadsecrets")
    load_conn(clean_lab)
    assert initiate(clean_lab), west.read_log()[-3000:]


def test_verbose_diff_run_never_shows_the_secret(clean_lab, run_playbook, lab):
    marker = secrets.token_hex(12)
    key = 'leak"check\\%s\n\u00fcnicode-0123456789abcdef' % marker
    forms = [
        key,
        marker,
        base64.b64encode(key.encode("utf-8")).decode(),
        key.encode("utf-8").hex(),
        json.dumps(key)[1:-1],
        json.dumps(key, ensure_ascii=False)[1:-1],
    ]
    for host in clean_lab:
        host.write_file(SECRETS_PATH, '# before\n@west @east : PSK "old-%s"\n' % marker, 0o600)

    run = run_playbook(PLAYBOOK, extra_vars={"psk": key}, diff=True, verbosity=3)
    assert_ok(run)
    output = run.stdout + run.stderr
    for form in forms:
        assert form not in output
    diff = results(run)["west"]["diff"]
    assert diff["before"].startswith("# <comment hidden>\n@west @east : PSK <secret hmac:")
    assert "<secret hmac:" in diff["after"]

    plain_key = new_key("plain-" + marker)
    plain = default_callback_run(lab, plain_key)
    assert marker not in plain
    assert base64.b64encode(plain_key.encode()).decode() not in plain
    assert "<secret hmac:" in plain


def default_callback_run(lab, key: str) -> str:
    """Run the playbook with Ansible's default output, -vvv and --diff; return stdout and stderr."""
    work = Path(lab.root) / "ansible" / "runs"
    work.mkdir(parents=True, exist_ok=True)
    path = work / "secret-default-callback.yml"
    path.write_text(PLAYBOOK)
    variables = work / "secret-default-callback-vars.json"
    variables.write_text(json.dumps({"psk": key}))
    env = ansible_environment(lab, {"ANSIBLE_STDOUT_CALLBACK": "default"})
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory_path), str(path),
               "--extra-vars", "@%s" % variables, "--diff", "-vvv"]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(work), timeout=600,
                               check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert "changed=1" in completed.stdout
    return completed.stdout + completed.stderr


def test_documented_examples_run(clean_lab, run_playbook):
    from ansible_collections.ipsec.libreswan.plugins.modules import ipsec_secret

    tasks = yaml.safe_load(ipsec_secret.EXAMPLES)
    play = [{"name": "Documented examples", "hosts": "lab", "gather_facts": False, "tasks": tasks}]
    variables = {
        "vault_west_east_psk": new_key("example"),
        "vault_roadwarrior_psk_base64": base64.b64encode(secrets.token_bytes(32)).decode(),
        "vault_alice_password": new_key("alice"),
        "vault_ppk_hex": secrets.token_hex(32),
    }
    run = run_playbook(yaml.safe_dump(play), extra_vars=variables)
    assert_ok(run)
    west = clean_lab["west"]
    assert not west.path("ipsec.d/west-east.secrets").exists()
    assert west.read_file("ipsec.d/roadwarriors.secrets").startswith(": PSK ")
    assert west.read_file("ipsec.d/xauth-alice.secrets").startswith("@alice : XAUTH ")
    assert west.read_file("ipsec.d/west-east-ppk.secrets").startswith('@west @east : PPKS "PPK_ID_1" ')

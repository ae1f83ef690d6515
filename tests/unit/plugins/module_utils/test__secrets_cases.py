"""Secrets files that broke real set-ups: appended duplicate PSKs and PSKs with awkward characters.

Each behaviour is checked on the reported input when the shared case files are present
(SHARED_CASES, read-only) and always on this project's own input of the same kind.
"""

import os
from pathlib import Path

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._secrets import (
    encode_secret,
    find_conflicts,
    parse_secrets,
    set_entry,
)

SHARED_CASES = Path(os.environ.get("SHARED_CASES", "/work/shared/cases/inputs"))

# A generator that appended a new catch-all PSK after the old one instead of replacing it.
OWN_APPENDED = (
    b"# written by a VPN panel\n"
    b": PSK \"panel-key-one-0123456789abcdef\"\n"
    b"# re-enabled\n"
    b": PSK \"panel-key-one-0123456789abcdef\"\n"
    b": PSK \"panel-key-two-fedcba9876543210\"\n"
)

# The same awkward PSK written illegally and in two legal encodings, a PSK full of shell
# characters, and one wrapped in typographic quotes.
OWN_AWKWARD = (
    "# raw: pa\"ss\\w#rd\n"
    "203.0.113.5 203.0.113.6 : PSK \"pa\"ss\\w#rd\"\n"
    "203.0.113.5 203.0.113.6 : PSK 0s" + "cGEic3NcdyNyZA==" + "\n"
    "203.0.113.5 203.0.113.6 : PSK 0x" + b'pa"ss\\w#rd'.hex() + "\n"
    "203.0.113.5 203.0.113.7 : PSK \"it's$(id)`uname`\\t\"\n"
    "203.0.113.5 203.0.113.8 : PSK \u201cword-processor-quotes\u201d\n"
).encode("utf-8")


def shared_input(name):
    path = SHARED_CASES / name
    if not path.is_file():
        pytest.skip("shared case input %s is not present" % path)
    return path.read_bytes()


def appended_inputs():
    return [
        pytest.param(lambda: OWN_APPENDED, id="own"),
        pytest.param(lambda: shared_input("BR-25.secrets"), id="reported"),
    ]


def awkward_inputs():
    """Return loaders with the line of the illegal entry and of the comment that shows the raw PSK."""
    return [
        pytest.param(lambda: OWN_AWKWARD, {"broken": 2, "raw_comment": 1}, id="own"),
        pytest.param(lambda: shared_input("BR-27.secrets"), {"broken": 3, "raw_comment": 2}, id="reported"),
    ]


def secret_lines(data):
    """Return the 1-based numbers of the lines that hold records, in order."""
    return [entry.line for entry in parse_secrets(data, "f").entries]


# Appended duplicates


@pytest.mark.parametrize("load", appended_inputs())
def test_duplicate_catch_all_with_different_secrets_is_a_conflict(load):
    parsed = parse_secrets(load(), "f")
    conflicts = find_conflicts(parsed.entries)
    assert len(conflicts) == 1
    assert all(entry.selector_texts == [] for entry in conflicts[0])
    assert len(set(entry.secret for entry in conflicts[0])) == 2


@pytest.mark.parametrize("load", appended_inputs())
def test_setting_catch_all_leaves_exactly_one_entry(load):
    data = load()
    new_key = b"replacement-key-ZZZZZZZZZZZZZZZZZZZZ"
    new, summary = set_entry(parse_secrets(data, "f"), [], "PSK", new_key)
    assert summary["action"] == "updated"
    assert summary["removed"] >= 1
    after = parse_secrets(new, "f")
    catch_all = [entry for entry in after.entries if entry.selector_texts == []]
    assert len(catch_all) == 1
    assert catch_all[0].secret == new_key
    assert find_conflicts(after.entries) == []


@pytest.mark.parametrize("load", appended_inputs())
def test_setting_catch_all_keeps_it_in_first_place(load):
    data = load()
    first_line = secret_lines(data)[0]
    new, _summary = set_entry(parse_secrets(data, "f"), [], "PSK", b"replacement-key")
    assert secret_lines(new) == [first_line]


@pytest.mark.parametrize("load", appended_inputs())
def test_setting_catch_all_keeps_comments(load):
    data = load()
    new, _summary = set_entry(parse_secrets(data, "f"), [], "PSK", b"replacement-key")
    comments = [line for line in data.splitlines() if line.startswith(b"#")]
    assert [line for line in new.splitlines() if line.startswith(b"#")] == comments


@pytest.mark.parametrize("load", appended_inputs())
def test_second_set_of_same_key_is_unchanged(load):
    new, _summary = set_entry(parse_secrets(load(), "f"), [], "PSK", b"replacement-key")
    again, summary = set_entry(parse_secrets(new, "f"), [], "PSK", b"replacement-key")
    assert summary == {"action": "unchanged", "removed": 0}
    assert again == new


# Awkward characters


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_quote_inside_quoted_psk_drops_entry(load, lines):
    parsed = parse_secrets(load(), "f")
    broken = parsed.entries[0]
    assert not broken.valid
    assert "expected record boundary in key" in broken.problem
    assert broken.line == lines["broken"]


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_base64_and_hex_forms_decode_to_same_bytes(load, lines):
    parsed = parse_secrets(load(), "f")
    base64_entry, hex_entry = parsed.entries[1], parsed.entries[2]
    assert base64_entry.secret_token.text.startswith(b"0s")
    assert hex_entry.secret_token.text.startswith(b"0x")
    assert base64_entry.secret == hex_entry.secret
    assert b'"' in base64_entry.secret
    assert b"\\" in base64_entry.secret


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_raw_psk_in_comment_matches_decoded_forms(load, lines):
    data = load()
    parsed = parse_secrets(data, "f")
    comment = data.splitlines()[lines["raw_comment"] - 1]
    raw = comment.split(b": ", 1)[1].split(b"   ")[0]
    assert parsed.entries[1].secret == raw


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_shell_characters_are_taken_byte_for_byte(load, lines):
    entry = parse_secrets(load(), "f").entries[3]
    assert entry.valid
    token = entry.secret_token
    assert entry.secret == token.text
    assert b"\\" in entry.secret
    assert b"\n" not in entry.secret and b"\t" not in entry.secret
    assert b"`" in entry.secret and b"$" in entry.secret


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_typographic_quotes_are_flagged(load, lines):
    entry = parse_secrets(load(), "f").entries[4]
    assert not entry.valid
    assert "U+201C" in entry.problem


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_equal_secrets_in_two_encodings_are_no_conflict(load, lines):
    parsed = parse_secrets(load(), "f")
    assert find_conflicts(parsed.entries) == []


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_setting_same_bytes_keeps_encoded_entry(load, lines):
    data = load()
    parsed = parse_secrets(data, "f")
    first_valid = parsed.entries[1]
    selectors = first_valid.selector_texts
    new, summary = set_entry(parsed, selectors, "PSK", first_valid.secret)
    assert summary["action"] == "repaired"
    reparsed = parse_secrets(new, "f")
    same = [entry for entry in reparsed.entries if entry.selector_texts == selectors]
    assert len(same) == 1
    assert same[0].secret == first_valid.secret


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_awkward_psk_is_written_as_base64(load, lines):
    raw = parse_secrets(load(), "f").entries[1].secret
    assert encode_secret(raw).startswith(b"0s")
    shell = parse_secrets(load(), "f").entries[3].secret
    assert encode_secret(shell) == b'"' + shell + b'"'


@pytest.mark.parametrize("load, lines", awkward_inputs())
def test_other_lines_survive_an_edit(load, lines):
    data = load()
    parsed = parse_secrets(data, "f")
    target = parsed.entries[3]
    new, summary = set_entry(parsed, target.selector_texts, "PSK", b"rotated-key")
    assert summary["action"] == "updated"
    changed = [pair for pair in zip(data.splitlines(), new.splitlines()) if pair[0] != pair[1]]
    assert len(changed) == 1
    assert len(data.splitlines()) == len(new.splitlines())

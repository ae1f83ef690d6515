"""ipsec.secrets lexer, decoder, renderer and edits, checked against Libreswan's reading rules.

The expected readings follow lib/libswan/lex.c, secrets.c and ttodata.c of Libreswan 4.10 and
5.2; the integration tests confirm the encodings with a running pluto.
"""

import base64

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError, ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._secrets import (
    MAX_LINE_LENGTH,
    Token,
    decode_secret_token,
    decode_ttodata,
    encode_secret,
    entry_identity,
    find_conflicts,
    normalize_selector,
    parse_secrets,
    redact,
    remove_entries,
    render_entry,
    render_selector,
    selector_key,
    set_entry,
)


def entries(text):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_secrets(data, "test.secrets").entries


def only(text):
    found = entries(text)
    assert len(found) == 1, found
    return found[0]


def fake_fingerprint(value):
    return "<fp:%d>" % len(value)


# Lexing and record structure


def test_quoted_psk_is_taken_literally():
    entry = only('@west @east : PSK "a\\b\\n#c \'d`"\n')
    assert entry.valid
    assert entry.kind == "PSK"
    assert entry.selector_texts == ["@west", "@east"]
    assert entry.secret == b"a\\b\\n#c 'd`"


def test_single_quoted_psk_is_literal():
    assert only("@a : PSK 'x\"y'\n").secret == b'x"y'


def test_entry_without_indexes_is_catch_all():
    entry = only(': PSK "catch-all-key"\n')
    assert entry.selector_texts == []
    assert entry.identity() == ("PSK", frozenset(), None)


def test_keyword_matches_without_case():
    assert only('@a : psk "abcdefgh"\n').kind == "PSK"
    assert only('@a : Xauth "password"\n').kind == "XAUTH"


def test_continuation_lines_join_one_record():
    text = '@west\n# a comment in column 0 does not end the record\n\n    @east : PSK "joined-key"\n'
    entry = only(text)
    assert entry.selector_texts == ["@west", "@east"]
    assert entry.secret == b"joined-key"
    assert entry.line == 1


def test_colon_glued_to_last_index_splits():
    entry = only('@west @east: PSK "glued"\n')
    assert entry.selector_texts == ["@west", "@east"]
    assert entry.valid


def test_comment_after_secret_is_ignored():
    assert only('@a : PSK "abc" # note\n').secret == b"abc"


def test_hash_inside_unquoted_token_is_data():
    assert only("@a : PSK 0tabc#def ghi\n").secret == b"abc#def ghi"


def test_comment_right_after_closing_quote():
    assert only('@a : PSK "abc"#note\n').secret == b"abc"


def test_zero_t_token_runs_to_end_of_line():
    entry = only("@a : PSK 0tsecret with blanks   \n")
    assert entry.secret == b"secret with blanks"


def test_uppercase_zero_t_stops_at_blank():
    entry = only("@a : PSK 0Tsecret with blanks\n")
    assert not entry.valid
    assert "text after the secret" in entry.problem


def test_quoted_index_with_blanks_is_one_selector():
    entry = only('"C=US, O=Example, CN=east" : PSK "dn-key"\n')
    assert entry.selector_texts == ["C=US, O=Example, CN=east"]


def test_include_line_is_a_directive():
    parsed = parse_secrets(b'include /etc/ipsec.d/*.secrets\n@a : PSK "k"\n', "main")
    assert [include.pattern for include in parsed.includes] == [b"/etc/ipsec.d/*.secrets"]
    assert len(parsed.entries) == 1


def test_include_with_two_names_is_ignored():
    parsed = parse_secrets(b"include a b\n", "main")
    assert parsed.includes[0].pattern is None
    assert "more than one file name" in parsed.problems[0].message


def test_indented_start_of_file_is_discarded():
    parsed = parse_secrets(b'  @a : PSK "lost"\n@b : PSK "kept"\n', "f")
    assert [entry.selector_texts for entry in parsed.entries] == [["@b"]]
    assert "starts with an indented line" in parsed.problems[0].message
    assert "lost" in parsed.secret_texts()


def test_crlf_line_endings_are_stripped():
    assert only(b'@a : PSK "crlf-key"\r\n').secret == b"crlf-key"


def test_missing_final_newline_is_fine():
    assert only(b'@a : PSK "last"').secret == b"last"


def test_nul_byte_cuts_the_line():
    entry = only(b'@a : PSK 0tbefore\0after\n')
    assert entry.secret == b"before"


def test_line_numbers_count_physical_lines():
    found = entries('# c\n\n@a : PSK "1"\n@b\n  : PSK "2"\n')
    assert [entry.line for entry in found] == [3, 4]


def test_overlong_line_splits_like_fgets():
    text = b'@a : PSK "' + b"x" * (MAX_LINE_LENGTH + 10) + b'"\n'
    first, remainder = entries(text)
    assert not first.valid
    assert "malformed" in first.problem
    assert remainder.kind is None


def test_line_of_max_length_is_read_whole():
    text = b'@a : PSK "' + b"x" * (MAX_LINE_LENGTH - 11) + b'"\n'
    assert len(text) == MAX_LINE_LENGTH + 1
    assert only(text).valid


# Broken records


def test_text_after_secret_drops_entry():
    entry = only('@a : PSK "one" two\n')
    assert not entry.valid
    assert "expected record boundary in key" in entry.problem


def test_unterminated_quote_is_malformed():
    entry = only('@a : PSK "no end\n')
    assert not entry.valid
    assert "malformed" in entry.problem


def test_unknown_type_is_reported():
    entry = only('@a : EAP "secret"\n')
    assert not entry.valid
    assert entry.kind == "EAP"
    assert "not a secret type" in entry.problem


def test_rsa_entry_mentions_nss():
    parsed = parse_secrets(b": RSA {\n    Modulus: 0x1234\n    }\n", "f")
    assert "NSS" in parsed.problems[0].message
    assert parsed.problems[0].severity == "warning"


def test_record_ending_after_colon_is_fatal():
    parsed = parse_secrets(b"@x :\n", "f")
    assert parsed.problems[0].severity == "fatal"


def test_record_without_colon_is_reported():
    parsed = parse_secrets(b"@x @y\n", "f")
    assert "ends before the ':'" in parsed.problems[0].message


def test_psk_without_secret_is_reported():
    assert "has no secret" in only("@a : PSK\n").problem


def test_problem_messages_hold_no_secret():
    parsed = parse_secrets(b'@a : PSK "topsecret" extra\n@b : PSK 0sTOPSECRET!\n', "f")
    for problem in parsed.problems:
        assert "TOPSECRET" not in str(problem).upper()


# PPKS


def test_ppks_entry_has_id_and_key():
    entry = only('@west @east : PPKS "PPK_ID_1" 0x0102030405060708\n')
    assert entry.valid
    assert entry.ppk_id == "PPK_ID_1"
    assert entry.secret == bytes(range(1, 9))
    assert entry.identity() == ("PPKS", frozenset(["@west", "@east"]), "PPK_ID_1")


def test_ppks_unquoted_id_is_rejected():
    assert "must be quoted" in only("@a : PPKS PPK_ID 0x0102\n").problem


# ttodata decoding


@pytest.mark.parametrize(
    "text, expected",
    [
        (b"0xab", b"\xab"),
        (b"0XaBc0_eEd8", b"\xab\xc0\xee\xd8"),
        (b"0x0123456789", b"\x01\x23\x45\x67\x89"),
        (b"0sDCBA", b"\x0c\x20\x40"),
        (b"0SDCBA", b"\x0c\x20\x40"),
        (b"0sDA==", b"\x0c"),
        (b"0sDCA=", b"\x0c\x20"),
        (b"0sAbraCadabra+", b"\x01\xba\xda\x09\xa7\x5a\x6e\xb6\xbe"),
        (b"0tabc_xyz", b"abc_xyz"),
    ],
)
def test_ttodata_decodes_like_libreswan(text, expected):
    assert decode_ttodata(text) == (expected, None)


@pytest.mark.parametrize(
    "text",
    [b"", b"0", b"0x", b"0xa", b"0xabc", b"0x01x", b"0XaBc0_", b"0X_aBc0", b"0Xa_Bc0", b"0s", b"0sA", b"0sBA",
     b"0sCBA", b"0sDC==", b"0sDCB=", b"0t", b"abc", b"0qabc"],
)
def test_ttodata_rejects_like_libreswan(text):
    value, reason = decode_ttodata(text)
    assert value is None
    assert reason


def test_backtick_token_decodes_with_trailing_nul():
    value, reason = decode_secret_token(Token(b"0tabc", b"`", 0, 7))
    assert value == b"abc\0"


def test_hex_and_base64_forms_are_equal():
    found = entries("@a : PSK 0x6b6579\n@b : PSK 0sa2V5\n@c : PSK \"key\"\n")
    assert {entry.secret for entry in found} == {b"key"}


# Encoding


@pytest.mark.parametrize(
    "value",
    [
        b"plain-ascii-key",
        b"back\\slash\\n",
        b"quote\"inside",
        b"new\nline",
        "non-ascii-\u00e9\u2603".encode("utf-8"),
        b"\x00\x01\xff binary",
        b" leading and trailing ",
        b"#hash-first",
        b"'single'",
        b"`tick`",
        b"0sLooksLikeBase64",
    ],
)
def test_encoded_secret_reads_back_exactly(value):
    line = render_entry(["@west", "@east"], "PSK", value)
    entry = only(line + b"\n")
    assert entry.valid
    assert entry.secret == value


def test_printable_secret_is_quoted():
    assert encode_secret(b"a\\b c") == b'"a\\b c"'


def test_quote_newline_and_non_ascii_use_base64():
    for value in (b'a"b', b"a\nb", "\u00fc".encode("utf-8"), b"a\tb"):
        token = encode_secret(value)
        assert token.startswith(b"0s")
        assert base64.b64decode(token[2:]) == value


def test_empty_secret_is_rejected():
    with pytest.raises(ValidationError):
        encode_secret(b"")


def test_overlong_entry_is_rejected():
    with pytest.raises(ValidationError) as error:
        render_entry(["@a"], "PSK", b"x" * MAX_LINE_LENGTH)
    assert "longer than" in error.value.message


# Selectors


@pytest.mark.parametrize(
    "text, token",
    [
        ("198.51.100.1", b"198.51.100.1"),
        ("2001:db8::1", b"2001:db8::1"),
        ("2001:db8::", b'"2001:db8::"'),
        ("%any", b"%any"),
        ("@east.example", b"@east.example"),
        ("C=US, O=Example", b'"C=US, O=Example"'),
        ('O="quoted" Org', b"'O=\"quoted\" Org'"),
        ("#not-a-comment", b'"#not-a-comment"'),
        ("0tname", b'"0tname"'),
    ],
)
def test_selector_renders_as_one_token(text, token):
    assert render_selector(text) == token
    entry = only(render_entry([text], "PSK", b"selector-test") + b"\n")
    assert entry.selector_texts == [text]


@pytest.mark.parametrize("text", ["", "a\nb", "tab\there", ":", "include", "both\"and'quotes here"])
def test_unwritable_selector_is_rejected(text):
    with pytest.raises(ValidationError):
        render_selector(text)


def test_selector_set_ignores_order_and_notation():
    assert selector_key(["@East.Example.", "2001:DB8:0::1"]) == selector_key(["2001:db8::1", "@east.example"])


def test_distinguished_names_compare_as_written():
    assert normalize_selector("CN=East") == "CN=East"


def test_any_and_zero_address_stay_distinct():
    assert normalize_selector("%any") != normalize_selector("0.0.0.0")


# Edits


FILE = (
    "# header comment\n"
    "@west @east : PSK \"old-key\"   # trailing note\n"
    "\n"
    "@other\n"
    "    : XAUTH 0x70617373\n"
    "include /etc/ipsec.d/*.secrets\n"
)


def test_set_entry_replaces_only_the_secret_token():
    parsed = parse_secrets(FILE.encode(), "f")
    new, summary = set_entry(parsed, ["@east", "@west"], "PSK", b"new-key")
    assert summary == {"action": "updated", "removed": 0}
    assert new == FILE.replace('"old-key"', '"new-key"').encode()


def test_set_entry_keeps_equal_secret_in_other_encoding():
    parsed = parse_secrets(FILE.encode(), "f")
    new, summary = set_entry(parsed, ["@other"], "XAUTH", b"pass")
    assert summary["action"] == "unchanged"
    assert new == FILE.encode()


def test_set_entry_appends_when_missing():
    parsed = parse_secrets(b"# no newline at end", "f")
    new, summary = set_entry(parsed, [], "PSK", b"catch-all")
    assert summary["action"] == "added"
    assert new == b'# no newline at end\n: PSK "catch-all"\n'


def test_set_entry_creates_content_for_empty_file():
    new, summary = set_entry(parse_secrets(b"", "f"), ["@a"], "PSK", b"k")
    assert new == b'@a : PSK "k"\n'


def test_kind_is_part_of_identity():
    parsed = parse_secrets(FILE.encode(), "f")
    new, summary = set_entry(parsed, ["@other"], "PSK", b"psk-for-other")
    assert summary["action"] == "added"
    assert b": XAUTH 0x70617373" in new


def test_set_entry_repairs_broken_entry_in_place():
    text = b'# c\n@a : PSK "bro"ken"   # note\n@b : PSK "b"\n'
    new, summary = set_entry(parse_secrets(text, "f"), ["@a"], "PSK", b'bro"ken')
    assert summary["action"] == "repaired"
    assert new.splitlines()[0] == b"# c"
    assert new.splitlines()[2] == b'@b : PSK "b"'
    assert only(new.splitlines()[1] + b"\n").secret == b'bro"ken'


def test_set_entry_separates_new_token_from_glued_comment():
    text = b'@a : PSK "old"#note\n'
    new, _summary = set_entry(parse_secrets(text, "f"), ["@a"], "PSK", b'new"one')
    assert only(new).secret == b'new"one'


def test_set_entry_replaces_zero_t_token_to_end_of_line():
    text = b"@a : PSK 0tspaced secret\n"
    new, _summary = set_entry(parse_secrets(text, "f"), ["@a"], "PSK", b"x")
    assert new == b'@a : PSK "x"\n'


def test_set_entry_rewrites_multiline_entry_secret_only():
    text = b'@a\n    @b\n    : PSK "old"\n# after\n'
    new, _summary = set_entry(parse_secrets(text, "f"), ["@b", "@a"], "PSK", b"new")
    assert new == b'@a\n    @b\n    : PSK "new"\n# after\n'


def test_ppks_identity_includes_ppk_id():
    text = b'@a : PPKS "ID1" "key-one"\n'
    new, summary = set_entry(parse_secrets(text, "f"), ["@a"], "PPKS", b"key-two", ppk_id="ID2")
    assert summary["action"] == "added"
    assert b'@a : PPKS "ID2" "key-two"' in new
    assert b'@a : PPKS "ID1" "key-one"' in new


def test_remove_entries_drops_record_lines_only():
    parsed = parse_secrets(FILE.encode(), "f")
    new, count = remove_entries(parsed, ["@other"], "XAUTH")
    assert count == 1
    assert new == FILE.replace("@other\n    : XAUTH 0x70617373\n", "").encode()


def test_remove_entries_without_match_changes_nothing():
    parsed = parse_secrets(FILE.encode(), "f")
    assert remove_entries(parsed, ["@nobody"], "PSK") == (FILE.encode(), 0)


def test_conflicts_need_different_secrets():
    found = entries(': PSK "a"\n: PSK 0x61\n@x : PSK "1"\n@x : PSK "2"\n')
    conflicts = find_conflicts(found)
    assert len(conflicts) == 1
    assert [entry.line for entry in conflicts[0]] == [3, 4]


def test_identity_helper_ignores_ppk_id_for_psk():
    assert entry_identity("PSK", ["@a"], "ignored") == ("PSK", frozenset(["@a"]), None)


def test_verification_rejects_unreadable_result(monkeypatch):
    from ansible_collections.ipsec.libreswan.plugins.module_utils import _secrets

    monkeypatch.setattr(_secrets, "encode_secret", lambda value: b'"' + value + b'"')
    parsed = parse_secrets(b'@a : PSK "old"\n', "f")
    with pytest.raises(LibreswanError) as error:
        set_entry(parsed, ["@a"], "PSK", b'has"quote')
    assert "nothing was written" in error.value.message


# Redaction


def test_redact_replaces_every_secret():
    text = FILE + '@a : PSK "bro"ken\n  : RSA { Modulus: 0x99 }\n'
    parsed = parse_secrets(text.encode(), "f")
    shown = redact(parsed, fake_fingerprint)
    assert "old-key" not in shown
    assert "0x70617373" not in shown
    assert "bro" not in shown
    assert "0x99" not in shown
    assert "# <comment hidden>" in shown
    assert "header comment" not in shown
    assert "<fp:7>" in shown
    assert "<hidden>" in shown


def test_secret_texts_cover_every_form():
    parsed = parse_secrets(b'@a : PSK 0x6b6579\n@b : PSK "tok" tail\n', "f")
    texts = parsed.secret_texts()
    for expected in ("0x6b6579", "key", "tok", "tail"):
        assert expected in texts


def test_redacted_text_hides_commented_out_keys():
    data = b'# previous: @m @n : PSK "OldCommentedKey-0123"\n@m @n : PSK "CurrentKey-0123"\n'
    text = redact(parse_secrets(data, "/etc/ipsec.d/x.secrets"), lambda secret: "<fingerprint>")
    assert "OldCommentedKey" not in text
    assert "CurrentKey" not in text
    assert text.splitlines()[0] == "# <comment hidden>"
    assert "<fingerprint>" in text

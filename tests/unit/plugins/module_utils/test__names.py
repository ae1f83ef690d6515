"""Connection name validation: what reaches argv and files, and what is rejected first."""

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name


@pytest.mark.parametrize("name", ["west-east", "h2h", "site_a.example", "peer@example", "a+b~c", "x1", "s2s/1x0"])
def test_valid_names_pass(name):
    assert validate_connection_name(name) == []


@pytest.mark.parametrize(
    "name, words",
    [
        ("branch office", "a blank"),
        ("tab\tname", "a tab"),
        ("new\nline", "a newline"),
        ('quo"te', "double quote"),
        ("it's", "single quote"),
        ("hash#tag", "'#'"),
        ("key=value", "'='"),
        ("{brace}", "'{'"),
        ("rw[1]", "'['"),
        ("-leading", "starts with '-'"),
        ("semi;colon", "only letters"),
        ("dollar$HOME", "only letters"),
        ("back`tick`", "only letters"),
        ("pipe|cat", "only letters"),
        ("", "empty"),
    ],
)
def test_invalid_names_rejected_with_reason(name, words):
    with pytest.raises(ValidationError) as error:
        validate_connection_name(name)
    assert words in error.value.message
    assert repr(name) in error.value.message or name == ""


def test_child_suffix_rejected_when_not_allowed():
    with pytest.raises(ValidationError):
        validate_connection_name("s2s/1x0", allow_child=False)


def test_colon_name_loads_with_warning():
    warnings = validate_connection_name("2001-db8--1:2001-db8--2")
    assert len(warnings) == 1
    assert "':'" in warnings[0]


def test_overlong_name_rejected():
    with pytest.raises(ValidationError) as error:
        validate_connection_name("a" * 201)
    assert "longer than 200" in error.value.message

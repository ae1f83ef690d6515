"""parse_listing() on listings captured from pluto 4.10 and 5.2 (fixtures/listings/) and on hand-written lines."""

import json
import os
import time

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._listings import (
    EXPIRY_STATES,
    format_timestamp,
    parse_listing,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "listings")
VERSIONS = ["4.10", "5.2"]


def read_fixture(version, name):
    with open(os.path.join(FIXTURES, "%s-%s.txt" % (version, name))) as handle:
        return handle.read()


@pytest.fixture
def time_zone(monkeypatch):
    """Return a function that sets this process's time zone (a POSIX TZ string) for one test."""

    def set_zone(zone):
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


# --- captured listings ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", [
    "empty-listcerts", "empty-listpubkeys", "empty-listcrls", "empty-checkpubkeys",
    "listcerts", "listcacerts", "listpubkeys", "listpubkeys-utc", "listcrls", "checkpubkeys", "checkpubkeys-utc",
])
def test_captured_listing_parses_cleanly(version, name):
    result = parse_listing(read_fixture(version, name))
    assert result["warnings"] == []
    json.dumps(result)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["empty-listcerts", "empty-listpubkeys", "empty-listcrls", "empty-checkpubkeys"])
def test_empty_listing_has_no_entries(version, name):
    result = parse_listing(read_fixture(version, name))
    for key in ("certs", "cacerts", "pubkeys", "crls", "crl_fetch_requests"):
        assert result[key] == []


@pytest.mark.parametrize("version", VERSIONS)
def test_end_certificates_listed(version):
    certs = {cert["nickname"]: cert for cert in parse_listing(read_fixture(version, "listcerts"))["certs"]}
    assert sorted(certs) == ["east", "road", "short", "west"]

    west = certs["west"]
    assert west["kind"] == "End"
    assert west["root"] is False
    assert west["serial"] == "0x03e9"
    assert west["serial_number"] == 1001
    assert west["subject"] == "C=XX, O=ipsec.libreswan tests, CN=west.example.net"
    assert west["issuer"] == "C=XX, O=ipsec.libreswan tests, CN=Lab CA"
    assert west["key_bits"] == 2048
    assert west["key_type"] == "RSA"
    assert west["has_private_key"] is True
    assert certs["east"]["has_private_key"] is False
    assert certs["road"]["key_type"] == "other"
    assert certs["road"]["key_bits"] == 256


@pytest.mark.parametrize("version", VERSIONS)
def test_certificate_dates_are_iso_utc(version):
    text = read_fixture(version, "listcerts")
    certs = {cert["nickname"]: cert for cert in parse_listing(text)["certs"]}
    short = certs["short"]
    assert short["not_before"].endswith("Z")
    before = time.strptime(short["not_before"], "%Y-%m-%dT%H:%M:%SZ")
    after = time.strptime(short["not_after"], "%Y-%m-%dT%H:%M:%SZ")
    assert round((time.mktime(after) - time.mktime(before)) / 86400) == 5
    # The printed date and the ISO date name the same day and time.
    printed = [line for line in text.splitlines() if "not after" in line][2]
    assert short["not_after"][11:19] in printed


@pytest.mark.parametrize("version", VERSIONS)
def test_ca_certificate_listed(version):
    result = parse_listing(read_fixture(version, "listcacerts"))
    assert result["certs"] == []
    [ca] = result["cacerts"]
    assert ca["nickname"] == "Lab CA"
    assert ca["kind"] == "CA"
    assert ca["root"] is True
    assert ca["serial_number"] == 1
    assert ca["subject"] == ca["issuer"]
    assert ca["has_private_key"] is False


@pytest.mark.parametrize("version", VERSIONS)
def test_crl_and_fetch_request_listed(version):
    result = parse_listing(read_fixture(version, "listcrls"))
    assert result["crls"] == [{
        "issuer": "C=XX, O=ipsec.libreswan tests, CN=Lab CA",
        "revoked": 1,
        "this_update": "2026-12-01T00:00:00Z",
        "next_update": "2037-01-01T00:00:00Z",
    }]
    [request] = result["crl_fetch_requests"]
    assert request["trials"] == 1
    assert request["issuer"] == "C=XX, O=ipsec.libreswan tests, CN=Lab CA"
    assert request["distribution_points"] == ["http://198.51.100.2:8080/lab.crl"]
    assert request["requested"].startswith("2026-12-04T")


@pytest.mark.parametrize("version", VERSIONS)
def test_public_keys_listed(version):
    keys = parse_listing(read_fixture(version, "listpubkeys-utc"))["pubkeys"]
    assert len(keys) == 10
    by_id = {key["id"]: key for key in keys}

    raw = by_id["@west-raw"]
    assert raw["id_type"] == "ID_FQDN"
    assert raw["key_type"] == "RSA"
    assert raw["until"] is None
    assert raw["expiry"] == "never"
    assert raw["expiry_message"] == "ok (expires never)"
    assert raw["issuer"] is None
    assert raw["has_private_key"] is True

    west = by_id["C=XX, O=ipsec.libreswan tests, CN=west.example.net"]
    assert west["id_type"] == "ID_DER_ASN1_DN"
    assert west["private_key"] == "has"
    assert west["expiry"] == "ok"
    assert west["issuer"] == "C=XX, O=ipsec.libreswan tests, CN=Lab CA"
    assert west["until"].endswith("Z")
    assert west["installed"].startswith("2026-12-04T")

    short = by_id["198.51.100.3"]
    assert short["id_type"] == "ID_IPV4_ADDR"
    assert short["private_key"] == "no"
    assert short["has_private_key"] is False
    assert short["expiry"] == "warning"
    assert short["expiry_message"] == "warning (expires in 4 days)"


@pytest.mark.parametrize("version", VERSIONS)
def test_check_public_keys_lists_expiring_and_never(version):
    keys = parse_listing(read_fixture(version, "checkpubkeys-utc"))["pubkeys"]
    assert sorted(key["expiry"] for key in keys) == ["never", "never", "warning", "warning"]


@pytest.mark.parametrize("version", VERSIONS)
def test_local_and_utc_listings_agree_in_utc_zone(version, time_zone):
    time_zone("UTC0")
    for name in ("listpubkeys", "checkpubkeys"):
        local = parse_listing(read_fixture(version, name))
        utc = parse_listing(read_fixture(version, name + "-utc"))
        assert local == utc


def test_local_times_read_in_local_zone(time_zone):
    time_zone("XST-1")
    keys = parse_listing(read_fixture("4.10", "listpubkeys"))["pubkeys"]
    keys_utc = parse_listing(read_fixture("4.10", "listpubkeys-utc"))["pubkeys"]
    # The capture ran in UTC, so read as UTC+1 every local time is one hour earlier in UTC.
    local = time.strptime(keys[0]["installed"], "%Y-%m-%dT%H:%M:%SZ")
    utc = time.strptime(keys_utc[0]["installed"], "%Y-%m-%dT%H:%M:%SZ")
    assert time.mktime(utc) - time.mktime(local) == 3600


def test_dates_returned_in_local_zone(time_zone):
    time_zone("XST-1")
    crl = parse_listing(read_fixture("4.10", "listcrls"), utc=False)["crls"][0]
    assert crl["this_update"] == "2026-12-01T01:00:00+01:00"
    assert crl["next_update"] == "2037-01-01T01:00:00+01:00"


# --- shapes of other versions --------------------------------------------------------

# "\x20" is a trailing space of the output; the escape keeps editors from stripping it.
LISTING_3X = """\
000 \x20
000 List of RSA Public Keys:
000 \x20
000 Dec 04 21:16:38 2018, 2192 RSA Key AwEAAbQQp (has private key), until Dec 09 21:16:38 2018 warning (expired)
000        ID_FQDN '@west'
000 \x20
000 List of X.509 End Certificates:
000 \x20
000 End certificate "west" - SN: 0x03e9
000   subject: C=XX, CN=west
000   issuer: C=XX, CN=Lab CA
000   not before: Fri Dec 04 21:16:25 2018
000   not after: Mon Dec 04 21:16:25 2028
000   2048 bit RSA: has private key
"""


def test_3x_listing_shapes(time_zone):
    time_zone("UTC0")
    result = parse_listing(LISTING_3X)
    assert result["warnings"] == []
    [key] = result["pubkeys"]
    assert key["expiry"] == "expired"
    assert key["until"] == "2018-12-09T21:16:38Z"
    assert key["id"] == "@west"
    assert result["certs"][0]["not_before"] == "2018-12-04T21:16:25Z"


def test_54_id_type_without_prefix():
    text = "Dec 04 21:16:38 UTC 2026, 2192 RSA Key AQO9bJbr3 (no private key), until Dec 04 21:16:38 UTC 2027 ok\n" \
           "       IPV4_ADDR '192.0.2.23'\n"
    [key] = parse_listing(text)["pubkeys"]
    assert key["id_type"] == "ID_IPV4_ADDR"
    assert key["id"] == "192.0.2.23"


def test_expired_key_from_check():
    text = "Dec 04 21:16:38 UTC 2026, 3072 ECDSA Key AQO9bJbr3 (loaded private key), until Dec 05 21:16:38 UTC 2026 " \
           "fatal (expired)\n       ID_FQDN '@road'\n"
    [key] = parse_listing(text)["pubkeys"]
    assert key["expiry"] == "expired"
    assert key["key_type"] == "ECDSA"
    assert key["private_key"] == "loaded"
    assert key["has_private_key"] is True


def test_sanitised_dates_warn_and_give_none():
    text = "List of X.509 CA Certificates:\n \nRoot CA certificate \"eastCA\" - SN: 0xXX\n" \
           "  not before: TIMESTAMP\n  not after: TIMESTAMP\n  2048 bit RSA\n"
    result = parse_listing(text)
    [ca] = result["cacerts"]
    assert ca["serial_number"] is None
    assert ca["not_before"] is None
    assert ca["not_after"] is None
    assert len(result["warnings"]) == 2
    assert "TIMESTAMP" in result["warnings"][0]


def test_unknown_section_warns_once():
    text = "000 List of Pre-shared secrets (from /etc/ipsec.secrets)\n000     0: PSK @west @east\n"
    result = parse_listing(text)
    assert result["warnings"] == [
        "unrecognised listing section: '000 List of Pre-shared secrets (from /etc/ipsec.secrets)'"]


def test_unknown_line_is_quoted():
    text = "List of CRLs:\n \nsomething new: 42\n"
    assert parse_listing(text)["warnings"] == ["unrecognised listing line: 'something new: 42'"]


def test_expiry_states_cover_values():
    assert EXPIRY_STATES == ("ok", "never", "warning", "expired", "other")


def test_format_timestamp(time_zone):
    time_zone("XST-2")
    assert format_timestamp(None) is None
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"
    assert format_timestamp(0, utc=False) == "1970-01-01T02:00:00+02:00"


def test_pluto_log_message_kept_apart():
    result = parse_listing(read_fixture("5.2", "listcacerts"))
    assert result["messages"] == ["adding the CA+root cert CN=Lab CA,O=ipsec.libreswan tests,C=XX"]
    assert result["warnings"] == []
    assert len(result["cacerts"]) == 1


def test_coded_log_lines_are_messages():
    text = "002 loading secrets from \"/etc/ipsec.secrets\"\n000  \n000 List of CRLs:\n000  \n"
    result = parse_listing(text)
    assert result["messages"] == ['loading secrets from "/etc/ipsec.secrets"']
    assert result["warnings"] == []

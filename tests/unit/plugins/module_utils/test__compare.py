"""Definition comparison: only fields known exactly on both sides may cause a replace.

The status texts are the lab's 4.10 captures; where a case needs another value, the line is
changed to the form pluto 4.10 printed for it in the lab.
"""

from pathlib import Path

from ansible_collections.ipsec.libreswan.plugins.module_utils._compare import compare_definition
from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config_text
from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import connection_entries
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status

STATUS = (Path(__file__).parent / "fixtures" / "status" / "4.10-routed.status.txt").read_text()
H2H = """\
conn h2h
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tkeyingtries=1
"""


def differences(config_text, status_text=STATUS):
    config = parse_config_text(config_text, filename="/etc/ipsec.conf", version="4.10", reader=MemoryReader({}))
    status = parse_status(status_text)
    return compare_definition("h2h", config.conns["h2h"], connection_entries(status, "h2h"))


def fields(found):
    return sorted(difference["field"] for difference in found)


def test_matching_definition_has_no_difference():
    assert differences(H2H) == []


def test_changed_peer_address_is_a_difference():
    assert fields(differences(H2H.replace("right=198.51.100.2", "right=198.51.100.3"))) == ["remote.host"]


def test_unorientable_ends_are_not_compared():
    text = H2H.replace("left=198.51.100.1", "left=%defaultroute").replace("right=198.51.100.2", "right=%any")
    assert differences(text) == []


def test_rsasig_matches_status_with_signature_details():
    status = STATUS.replace("our auth:secret, their auth:secret", "our auth:rsasig(RSASIG+RSASIG_v1_5), their auth:RSASIG+RSASIG_v1_5")
    assert differences(H2H.replace("authby=secret", "authby=rsasig"), status) == []
    assert fields(differences(H2H, status)) == ["local.auth", "remote.auth"]


def test_lifetime_pluto_caps_is_not_compared():
    capped = STATUS.replace("ike_life: 28800s", "ike_life: 86400s")
    assert differences(H2H + "\tikelifetime=48h\n", capped) == []


def test_lifetime_within_range_is_compared():
    assert fields(differences(H2H + "\tikelifetime=2h\n")) == ["ike_life"]


def test_rekey_margin_pluto_shrinks_is_not_compared():
    assert differences(H2H + "\trekeymargin=10h\n") == []

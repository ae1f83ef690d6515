"""Capture `whack --status` and `--trafficstatus` from a lab, for unit-test fixtures.

Run as root from the repository's top directory:
    .venv/bin/python scripts/capture_fixtures.py [--out DIR]
It builds a two-host lab, walks conns h2h (host to host) and s2s (split by leftsubnets=)
through idle, added, routed, IKE established and down, and writes one file per scenario:
<version>-<scenario>.status.txt and <version>-<scenario>.trafficstatus.txt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP))

from tests.lab import Lab  # noqa: E402

CONNS = """\
conn h2h
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tkeyingtries=1
\tauto=ignore

conn s2s
\tleft=198.51.100.1
\tleftsubnets={203.0.113.0/28 203.0.113.16/28}
\tright=198.51.100.2
\trightsubnet=203.0.113.128/28
\tauthby=secret
\tkeyingtries=1
\tike=aes256-sha2_256;dh19
\tauto=ignore
"""
SECRETS = '@west @east : PSK "fixture-capture-0123456789"\n198.51.100.1 198.51.100.2 : PSK "fixture-capture-0123456789"\n'


def capture(lab, out: Path, scenario: str) -> None:
    west = lab["west"]
    version = west.installation.version
    (out / ("%s-%s.status.txt" % (version, scenario))).write_text(west.whack("--status").stdout)
    (out / ("%s-%s.trafficstatus.txt" % (version, scenario))).write_text(west.whack("--trafficstatus", check=False).stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(TOP / "tests/unit/plugins/module_utils/fixtures/status"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with Lab(hosts=("west", "east")) as lab:
        for host in lab:
            host.write_file("ipsec.d/fixtures.conf", CONNS)
            host.write_secrets(SECRETS)
            host.whack("--rereadsecrets")
        west, east = lab["west"], lab["east"]
        capture(lab, out, "idle")
        for host in (west, east):
            for name in ("h2h", "s2s"):
                host.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", name])
        capture(lab, out, "added")
        for name in ("h2h", "s2s"):
            west.whack("--name", name, "--route")
        capture(lab, out, "routed")
        west.whack("--name", "h2h", "--initiate", check=False)
        capture(lab, out, "ike-established")
        west.whack("--name", "h2h", "--terminate")
        capture(lab, out, "down")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the demo: build a two-host lab, run demo/playbook.yml twice, ping through the tunnel.

Run as root from the repository's top directory with the project's virtual environment
(`make demo` does that). With `--ike-only`, the kernel is known to lack ESP: the demo then stops
at the established IKE SA and prints why.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP))

from tests.lab import Lab  # noqa: E402
from tests.lab.inventory import ansible_environment  # noqa: E402

PLAYBOOK = TOP / "demo" / "playbook.yml"


def banner(text: str) -> None:
    print("\n=== %s ===" % text, flush=True)


def run_playbook(lab, inventory: Path, expect_child_sa: bool) -> subprocess.CompletedProcess:
    argv = [
        str(TOP / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
        "-e", json.dumps({"demo_expect_child_sa": expect_child_sa}),
    ]
    env = ansible_environment(lab)
    completed = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    print(completed.stdout, end="", flush=True)
    if completed.returncode != 0:
        print(completed.stderr, end="", file=sys.stderr)
    return completed


def recap_changed(output: str) -> dict:
    counts = {}
    for line in output.splitlines():
        if ": ok=" in line and "changed=" in line:
            host = line.split(":", 1)[0].strip()
            counts[host] = int(line.split("changed=", 1)[1].split()[0])
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ike-only", action="store_true", help="the kernel has no ESP: stop at the IKE SA")
    args = parser.parse_args()
    started = time.monotonic()

    with Lab(hosts=("west", "east"), ipv6=False) as lab:
        inventory = lab.write_inventory()
        banner("Lab: west %s and east %s, each with its own pluto %s"
               % (lab["west"].address, lab["east"].address, lab["west"].installation.version))

        banner("First run: define the connection and bring it up")
        first = run_playbook(lab, inventory, expect_child_sa=not args.ike_only)
        if first.returncode != 0:
            return first.returncode

        banner("Second run: nothing to do")
        ike_before = lab["west"].status()
        second = run_playbook(lab, inventory, expect_child_sa=not args.ike_only)
        if second.returncode != 0:
            return second.returncode
        changed = recap_changed(second.stdout)
        print("changed on second run: %s" % changed)

        banner("pluto's view on west (ipsec whack --trafficstatus and the states)")
        status = lab["west"].status()
        for line in status.splitlines():
            if line.lstrip("0 ").startswith("#"):
                print("  " + line)
        print(lab["west"].whack("--trafficstatus", check=False).stdout, end="")

        if args.ike_only:
            banner("This kernel has no ESP")
            print("The IKE SA is established, and the kernel rejected the Child SA because it cannot")
            print("install ESP SAs. On a kernel with ESP (any distribution kernel), the tunnel carries")
            print("traffic; `make demo` runs the demo inside a User-Mode Linux guest for that when the")
            print("user-mode-linux package is available.")
        else:
            banner("Ping from west to east through the tunnel")
            ping = lab["west"].run(["ping", "-c", "3", "-W", "2", lab["east"].address], check=False)
            print(ping.stdout, end="")
            print(lab["west"].whack("--trafficstatus", check=False).stdout, end="")
            if ping.returncode != 0:
                print("ping failed", file=sys.stderr)
                return 1
        ike_after = ike_serials(status)
        banner("Result")
        print("IKE SA serials before and after the second run: %s -> %s" % (ike_serials(ike_before), ike_after))
        if args.ike_only:
            # Without ESP the Child SA can never be installed, so `state: up` tries again on every run.
            ok = ike_serials(ike_before) == ike_after and changed.get("east") == 0
            print("second run kept the IKE SA (no renegotiation): %s" % ("yes" if ok else "NO"))
        else:
            ok = all(count == 0 for count in changed.values()) and ike_serials(ike_before) == ike_after
            print("second run changed nothing: %s" % ("yes" if ok else "NO"))
        print("demo took %.1f s" % (time.monotonic() - started))
        return 0 if ok else 1


def ike_serials(status: str) -> list:
    """Return the serials of established IKE SAs in `whack --status` output."""
    return re.findall(r"#(\d+): \S+ \S*ESTABLISHED_IKE_SA", status)


if __name__ == "__main__":
    sys.exit(main())

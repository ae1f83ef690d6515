"""Command line for the test lab: python -m tests.lab {up,down,exec,list,cleanup,esp-probe}.

Run as root from the repository's top directory, with the project's virtual environment:

    .venv/bin/python -m tests.lab up
    .venv/bin/python -m tests.lab exec west ipsec whack --status
    .venv/bin/python -m tests.lab down
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys

from . import registry
from .commands import LabError
from .esp import esp_probe
from .inventory import COLLECTIONS_PATH
from .lab import PROTECTED_SUBNETS, Lab


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if os.geteuid() != 0:
        parser.error("the lab needs root: network namespaces, bind mounts and pluto")
    try:
        return args.handler(args)
    except LabError as error:
        print("error: %s" % error, file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description="Libreswan hosts in network namespaces.")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="build a lab and leave it running")
    up.add_argument("--hosts", default="west,east", help="comma-separated host names (default: west,east)")
    up.add_argument("--dir", help="directory for the lab's files; must be new or empty (default: a new temporary one)")
    up.add_argument("--no-ipv6", action="store_true", help="give the hosts no IPv6 addresses")
    up.add_argument("--no-subnets", action="store_true", help="leave out the protected subnets behind west and east")
    up.add_argument("--keep", action="store_true", help="keep the lab directory when the lab is taken down")
    up.set_defaults(handler=command_up)

    down = commands.add_parser("down", help="stop a lab's plutos and remove the lab")
    add_lab_selection(down)
    down.set_defaults(handler=command_down)

    execute = commands.add_parser("exec", help="run a command on a lab host")
    add_lab_selection(execute)
    execute.add_argument("host", help="host name, such as west")
    execute.add_argument("argv", nargs=argparse.REMAINDER, help="the command and its arguments")
    execute.set_defaults(handler=command_exec)

    listing = commands.add_parser("list", help="list the labs on this machine")
    listing.set_defaults(handler=command_list)

    cleanup = commands.add_parser(
        "cleanup", help="remove labs that this code created, including those of killed processes"
    )
    cleanup.add_argument(
        "--stale",
        action="store_true",
        help="remove only labs whose creating process has exited, except those started with `up`",
    )
    cleanup.set_defaults(handler=command_cleanup)

    probe = commands.add_parser("esp-probe", help="tell whether the kernel can install ESP SAs (exit 0: yes, 1: no)")
    probe.set_defaults(handler=command_esp_probe)
    return parser


def add_lab_selection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--id", help="lab id (see `list`); needed when several labs exist")
    group.add_argument("--dir", help="the lab's directory, as an alternative to --id")


def select_record(args) -> dict:
    records = registry.load_records()
    labs = [record for record in records if record.get("root")]
    if args.id:
        labs = [record for record in labs if record["id"] == args.id]
    elif args.dir:
        wanted = os.path.realpath(args.dir)
        labs = [record for record in labs if os.path.realpath(record["root"]) == wanted]
    if len(labs) == 1:
        return labs[0]
    if not labs:
        raise LabError("no matching lab found; `python -m tests.lab list` shows the labs")
    raise LabError("%d labs exist (%s); choose one with --id" % (len(labs), ", ".join(record["id"] for record in labs)))


def command_up(args) -> int:
    hosts = [name.strip() for name in args.hosts.split(",") if name.strip()]
    subnets = {} if args.no_subnets else {name: value for name, value in PROTECTED_SUBNETS.items() if name in hosts}
    lab = Lab(hosts=hosts, ipv6=not args.no_ipv6, subnets=subnets, root=args.dir, keep=args.keep, persistent=True)
    # The lab outlives this process: no teardown at exit.
    registry.untrack(lab)
    python = shlex.quote(sys.executable)
    inventory = lab.root / "inventory.yml"
    print("lab %s is up; its files are in %s" % (lab.id, lab.root))
    for host in lab:
        print(
            "  %-8s %-15s %-20s namespace %s, pid of pluto %s"
            % (host.name, host.address, host.address6 or "-", host.namespace, host.pluto_pid)
        )
    first = next(iter(lab.hosts))
    print()
    print("run a command on a host:  %s -m tests.lab exec %s ipsec whack --status" % (python, first))
    print("or directly:              %s ipsec whack --status" % shlex.quote(str(lab[first].wrapper)))
    print("Ansible inventory:        %s" % inventory)
    print("  ANSIBLE_COLLECTIONS_PATH=%s ANSIBLE_UNSAFE_WRITES=1 \\" % shlex.quote(str(COLLECTIONS_PATH)))
    print("    %s/ansible-playbook -i %s PLAYBOOK" % (shlex.quote(os.path.dirname(sys.executable)), inventory))
    print("take it down:             %s -m tests.lab down --id %s" % (python, lab.id))
    return 0


def command_down(args) -> int:
    record = select_record(args)
    registry.destroy_record(record)
    print("lab %s removed" % record["id"])
    return 0


def command_exec(args) -> int:
    record = select_record(args)
    host = record.get("hosts", {}).get(args.host)
    if host is None:
        raise LabError(
            "lab %s has no host %r; its hosts are %s" % (record["id"], args.host, ", ".join(record.get("hosts", {})))
        )
    if not args.argv:
        raise LabError("no command given: python -m tests.lab exec %s COMMAND [ARGUMENT...]" % args.host)
    os.execv(host["wrapper"], [host["wrapper"], *args.argv])
    return 1  # not reached: execve replaces this process


def command_list(args) -> int:
    records = registry.load_records()
    if not records:
        print("no labs")
    for record in records:
        if registry.owner_alive(record):
            state = "running"
        elif record.get("persistent"):
            state = "left up"
        else:
            state = "owner gone"
        print(
            "%s  %-10s %s  hosts: %s"
            % (record["id"], state, record.get("root") or "-", ", ".join(record.get("hosts", {})))
        )
    return 0


def command_cleanup(args) -> int:
    report = registry.cleanup(stale_only=args.stale)
    for line in report:
        print(line)
    if not report:
        print("nothing to clean up")
    return 1 if any(line.startswith("teardown of lab") for line in report) else 0


def command_esp_probe(args) -> int:
    results = esp_probe()
    for transform, error in results.items():
        print("%-18s %s" % (transform, "accepted" if error is None else "rejected: %s" % error))
    supported = all(error is None for error in results.values())
    print("ESP supported: %s" % ("yes" if supported else "no"))
    return 0 if supported else 1


if __name__ == "__main__":
    sys.exit(main())

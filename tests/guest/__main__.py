"""Command line: run one command in the guest, print its output live, exit with its status.

Usage: python -m tests.guest [--timeout S] [--results DIR] [--memory SIZE] [--cwd DIR]
[--writable DIR]... [--times] -- CMD [ARG...]
The project's top directory must be on sys.path; scripts/guest-run sets that up.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from .kernel import parse_memory
from .result import GuestError, GuestTimeoutError, GuestUnavailableError
from .runner import run_in_guest

__all__ = ["main", "build_parser", "split_command", "EXIT_TIMEOUT", "EXIT_GUEST_FAILED"]

# The same codes as timeout(1) and env(1) use for a timeout and for a failure to run the command.
EXIT_TIMEOUT = 124
EXIT_GUEST_FAILED = 125


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("invalid number of seconds: %r" % text) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("timeout must be positive, got %r" % text)
    return value


def _memory_size(text: str) -> str:
    try:
        parse_memory(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guest-run",
        description="Run a command in a User-Mode Linux guest whose kernel has ESP, print its "
        "output as it comes and exit with its exit status (124 on timeout, 125 when the guest "
        "fails).",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=900.0,
        help="seconds before the guest is killed (default: 900)",
    )
    parser.add_argument(
        "--results",
        metavar="DIR",
        help="host directory the command can write to, at the same path (GUEST_RESULTS); "
        "default: a temporary directory removed afterwards",
    )
    parser.add_argument(
        "--memory",
        type=_memory_size,
        default="1G",
        help="guest RAM, for example 512M or 2G (default: 1G)",
    )
    parser.add_argument(
        "--cwd",
        metavar="DIR",
        help="working directory of the command (default: the current directory)",
    )
    parser.add_argument(
        "--writable",
        metavar="DIR",
        action="append",
        default=[],
        help="also overlay DIR so that the command can write to it; repeat for more",
    )
    parser.add_argument(
        "--times", action="store_true", help="print boot and total wall time to stderr"
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="the command and its arguments, after --"
    )
    return parser


def split_command(arguments: list) -> tuple:
    """Split arguments at the first "--" into (options, command); without "--" the command is empty."""
    if "--" in arguments:
        index = arguments.index("--")
        return arguments[:index], arguments[index + 1 :]
    return arguments, []


def _write_output(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def main(arguments=None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if arguments is None else arguments)
    options_part, command = split_command(arguments)
    options = parser.parse_args(options_part)
    if command and options.command:
        parser.error("unexpected arguments before --: %s" % " ".join(options.command))
    command = command or options.command
    if not command:
        parser.error("no command given; put it after --")

    result_dir = options.results
    remove_results = result_dir is None
    try:
        result = run_in_guest(
            command,
            cwd=options.cwd,
            timeout=options.timeout,
            result_dir=result_dir,
            memory=options.memory,
            writable=options.writable,
            on_output=_write_output,
        )
    except GuestTimeoutError as error:
        print("guest-run: %s" % error, file=sys.stderr)
        if remove_results and error.result is not None:
            shutil.rmtree(error.result.result_dir, ignore_errors=True)
        return EXIT_TIMEOUT
    except GuestUnavailableError as error:
        print("guest-run: %s" % error, file=sys.stderr)
        return EXIT_GUEST_FAILED
    except GuestError as error:
        # The results directory contains console.log and init.log, so it is kept for inspection.
        print("guest-run: %s" % error, file=sys.stderr)
        return EXIT_GUEST_FAILED
    except ValueError as error:
        parser.error(str(error))

    if options.times:
        print(
            "guest-run: boot %.2f s, total %.2f s"
            % (result.boot_seconds or 0.0, result.wall_seconds),
            file=sys.stderr,
        )
    if remove_results:
        shutil.rmtree(result.result_dir, ignore_errors=True)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())

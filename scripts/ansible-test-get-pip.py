# Copyright: Contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bootstrap pip into an empty virtual environment for ansible-test.

ansible-test creates each sanity test venv with ``--without-pip`` and installs pip by running
a ``get-pip.py`` that it downloads from ci-files.testing.ansible.com into
``~/.ansible/test/cache/get_pip_<version>.py``. That host is not reachable from every build
machine, so scripts/sanity.sh saves this script at that path instead.

It accepts the arguments that ansible-test 2.19 passes to get-pip.py (its
``_util/target/setup/requirements.py``, function ``bootstrap``): pip options, requirement
specifiers such as ``pip==24.2``, and ``--no-setuptools`` and ``--no-wheel``. It installs the
pip that ``ensurepip`` bundles with the interpreter, then runs that pip to install the requested
packages from the configured index (PyPI by default). Nothing else is downloaded.

Uses only Python 3.6 syntax and the standard library, because ansible-test may also run it in
venvs of older target Pythons.
"""

import subprocess
import sys

# Marks this file as the project's own, so scripts/sanity.sh may replace an older copy.
BOOTSTRAP_MARKER = "ipsec.libreswan ansible-test get-pip bootstrap"


def split_arguments(arguments):
    """Return (pip install arguments, whether to keep setuptools, whether to keep wheel)."""
    keep_setuptools = "--no-setuptools" not in arguments
    keep_wheel = "--no-wheel" not in arguments
    pip_arguments = [argument for argument in arguments if argument not in ("--no-setuptools", "--no-wheel")]
    return pip_arguments, keep_setuptools, keep_wheel


def importable_modules():
    """Return the names of the top-level modules this interpreter can import."""
    command = [sys.executable, "-c", "import pkgutil; print('\\n'.join(m.name for m in pkgutil.iter_modules()))"]
    output = subprocess.check_output(command, universal_newlines=True)
    return set(line.strip() for line in output.splitlines() if line.strip())


def run(command):
    """Run an argv list and exit with its status when it fails."""
    status = subprocess.call(command)
    if status != 0:
        sys.stderr.write("ansible-test-get-pip: command failed with status %d: %s\n" % (status, " ".join(command)))
        sys.exit(status)


def main():
    """Install pip, then the requested packages, into the running interpreter's environment."""
    pip_arguments, keep_setuptools, keep_wheel = split_arguments(sys.argv[1:])
    modules_before = importable_modules()

    if "pip" not in modules_before:
        if "ensurepip" not in modules_before:
            sys.stderr.write(
                "ansible-test-get-pip: %s has no ensurepip module, so pip cannot be bootstrapped "
                "without a download; install the interpreter's venv/ensurepip package "
                "(python3-venv on Debian) and run again\n" % sys.executable
            )
            sys.exit(1)
        run([sys.executable, "-m", "ensurepip", "--default-pip"])

    requested = list(pip_arguments)
    if keep_setuptools:
        requested.append("setuptools")
    if keep_wheel:
        requested.append("wheel")
    run([sys.executable, "-m", "pip", "install", "--upgrade"] + requested)

    # ensurepip before Python 3.12 also installs setuptools, which get-pip.py leaves out when
    # given --no-setuptools.
    unwanted = []
    if not keep_setuptools and "setuptools" not in modules_before:
        unwanted.append("setuptools")
    if not keep_wheel and "wheel" not in modules_before:
        unwanted.append("wheel")
    present = importable_modules()
    unwanted = [name for name in unwanted if name in present]
    if unwanted:
        run([sys.executable, "-m", "pip", "uninstall", "--yes", "--disable-pip-version-check"] + unwanted)


if __name__ == "__main__":
    main()

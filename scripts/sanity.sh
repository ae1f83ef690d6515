#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the tracked and new files, laid out as
# ansible_collections/ipsec/libreswan as ansible-test requires. Arguments go to ansible-test,
# for example `--test pep8`. `make lint` runs ansible-lint.
#
# ansible-test bootstraps pip in each sanity venv with a get-pip.py that it downloads from
# ci-files.testing.ansible.com unless ~/.ansible/test/cache/get_pip_<version>.py exists. That
# host is not reachable from every build machine, so this script saves the project's own
# bootstrap (scripts/ansible-test-get-pip.py, which uses ensurepip and the pip index) there first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
python="$top/.venv/bin/python"
dest="$top/.build/sanity/ansible_collections/ipsec/libreswan"
python_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ansible-test has no public interface for the pip version it bootstraps.
pip_version=$(cd / && "$python" -c '
import sys
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])' "$python_version")
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
bootstrap="$top/scripts/ansible-test-get-pip.py"
# A get-pip.py from another source is kept, but an older copy of the project's bootstrap is replaced.
if [ ! -e "$get_pip" ] || { grep -q 'ipsec.libreswan ansible-test get-pip bootstrap' "$get_pip" && ! cmp -s "$bootstrap" "$get_pip"; }; then
    mkdir -p "$(dirname "$get_pip")"
    cp "$bootstrap" "$get_pip.tmp"
    mv "$get_pip.tmp" "$get_pip"
    echo "sanity: saved $bootstrap as $get_pip"
fi

rm -rf "$top/.build/sanity"
mkdir -p "$dest"
cd "$top"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -- {} "$dest/" 2>/dev/null || true
cd "$dest"
git init -q . && git add -A >/dev/null
"$top/.venv/bin/ansible-test" sanity --color no --python "$python_version" --local --requirements "$@"

#!/usr/bin/env bash
# Run `ansible-test sanity` and `ansible-lint` on a copy of the tracked and new files, laid out
# as ansible_collections/ipsec/libreswan as both tools require.
#
#   scripts/sanity.sh [--lint-only | --no-lint] [ansible-test sanity options, e.g. --test pep8]
#
# ansible-lint checks demo/, roles/, molecule/ and every plugin's EXAMPLES, which are written out
# as playbooks under lint-examples/ in the copy. Settings are in .ansible-lint.
#
# ansible-test bootstraps pip in each sanity venv with a get-pip.py that it downloads from
# ci-files.testing.ansible.com unless ~/.ansible/test/cache/get_pip_<version>.py exists. That
# host is not reachable from every build machine, so this script saves the project's own
# bootstrap (scripts/ansible-test-get-pip.py, which uses ensurepip and the pip index) there first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
python="$top/.venv/bin/python"
collections="$top/.build/sanity"
dest="$collections/ansible_collections/ipsec/libreswan"

run_sanity=true
run_lint=true
case "${1:-}" in
    --lint-only) run_sanity=false; shift ;;
    --no-lint) run_lint=false; shift ;;
esac

# Each run deletes and rebuilds the copy, so a second run waits for the first to finish.
mkdir -p "$top/.build"
exec 9>"$top/.build/sanity.lock"
flock 9
rm -rf "$collections"
mkdir -p "$dest"
cd "$top"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -- {} "$dest/" 2>/dev/null || true
cd "$dest"
git init -q . && git add -A >/dev/null

status=0
if $run_sanity; then
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
    "$top/.venv/bin/ansible-test" sanity --color no --python "$python_version" --local --requirements "$@" || status=$?
fi

if $run_lint; then
    # Written after ansible-test ran, so that its checks do not see these generated files.
    "$python" - "$dest" <<'EOF'
import ast
import pathlib
import sys

top = pathlib.Path(sys.argv[1])
output = top / "lint-examples"
output.mkdir()
for path in sorted(top.glob("plugins/*/*.py")):
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == ["EXAMPLES"]:
            lines = [
                "---",
                "# The EXAMPLES of %s, indented by four spaces." % path.relative_to(top),
                "- name: Run the EXAMPLES of %s" % path.relative_to(top),
                "  hosts: all",
                "  gather_facts: false",
                "  tasks:",
            ]
            lines += ["    " + line if line.strip() else "" for line in node.value.value.strip("\n").split("\n")]
            name = "%s_%s.yml" % (path.parent.name, path.stem)
            (output / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
EOF
    lint_paths=(demo roles lint-examples)
    [ -d molecule ] && lint_paths+=(molecule)
    echo "sanity: ansible-lint ${lint_paths[*]}"
    ANSIBLE_COLLECTIONS_PATH="$collections" "$top/.venv/bin/ansible-lint" --offline --nocolor "${lint_paths[@]}" || status=$?
fi
exit "$status"

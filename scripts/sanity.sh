#!/usr/bin/env bash
# Run `ansible-test sanity` and `ansible-lint` on a copy of the tracked and new files, laid out
# as ansible_collections/ipsec/libreswan as ansible-test requires.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dest="$top/.build/sanity/ansible_collections/ipsec/libreswan"
rm -rf "$top/.build/sanity"
mkdir -p "$dest"
cd "$top"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -- {} "$dest/" 2>/dev/null || true
cd "$dest"
git init -q . && git add -A >/dev/null
python_version=$("$top/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$top/.venv/bin/ansible-test" sanity --color no --python "$python_version" --local --requirements \
    --skip-test shebang "$@"

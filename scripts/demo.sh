#!/usr/bin/env bash
# `make demo`: run demo/run_demo.py on the host when its kernel can install ESP SAs, otherwise
# inside a User-Mode Linux guest kernel that can, otherwise on the host up to the IKE SA.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "demo: run as root (the lab uses network namespaces and starts pluto daemons)" >&2
    exit 1
fi
python=.venv/bin/python
if "$python" -m tests.lab esp-probe >/dev/null 2>&1; then
    echo "demo: this kernel can install ESP SAs; running on the host"
    exec "$python" demo/run_demo.py
fi
echo "demo: this kernel cannot install ESP SAs (no ESP support); IPsec tunnels need it."
if [ -x scripts/guest-run ] && [ -e /usr/bin/linux.uml ]; then
    echo "demo: running the demo inside a User-Mode Linux guest kernel that has ESP"
    exec scripts/guest-run --timeout 600 -- "$PWD/$python" "$PWD/demo/run_demo.py"
fi
echo "demo: no guest kernel available; showing everything up to the established IKE SA"
exec "$python" demo/run_demo.py --ike-only

"""Make the collection importable as ansible_collections.ipsec.libreswan for every test."""

import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(TOP, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "ipsec", "libreswan")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(TOP, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# The shared reference material (Libreswan's recorded outputs, reported cases) sits beside the
# repository; tests read it through these variables and skip when it is absent.
_SHARED = os.environ.get("IPSEC_SHARED_DIR") or next(
    (path for path in (os.path.join(os.path.dirname(TOP), "shared"), "/work/shared") if os.path.isdir(path)),
    os.path.join(os.path.dirname(TOP), "shared"),
)
os.environ.setdefault("IPSEC_SHARED_DIR", _SHARED)
os.environ.setdefault("LIBRESWAN_CORPUS", os.path.join(_SHARED, "corpus"))
os.environ.setdefault("SHARED_CASES", os.path.join(_SHARED, "cases", "inputs"))

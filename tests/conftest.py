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

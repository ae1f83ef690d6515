"""Atomic file replacement: content, attributes, and what is left when it fails.

Tests that need a read-only file system or a bind mount run a short Python program in a private
mount namespace (`unshare --mount`, root only), so no mount is visible outside it.
"""

import errno
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils import _atomic
from ansible_collections.ipsec.libreswan.plugins.module_utils._atomic import AtomicWriteError, file_mode, write_file_atomic

COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 4, ".build", "collections")
LABEL = b"system_u:object_r:ipsec_key_file_t:s0\0"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1) for a private mount namespace"
)


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def run_in_mount_namespace(script, tmp_path):
    """Run `script` (Python) in a new mount namespace and return its CompletedProcess."""
    program = textwrap.dedent(
        """\
        import sys
        sys.path.insert(0, %r)
        from ansible_collections.ipsec.libreswan.plugins.module_utils._atomic import AtomicWriteError, write_file_atomic
        """
    ) % os.path.abspath(COLLECTIONS) + textwrap.dedent(script)
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", program],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_new_file_gets_content_and_default_mode(tmp_path):
    target = tmp_path / "new.secrets"
    write_file_atomic(str(target), b"data\n")
    assert target.read_bytes() == b"data\n"
    assert file_mode(str(target)) == 0o600
    assert leftovers(tmp_path) == []


def test_existing_mode_is_kept(tmp_path):
    target = tmp_path / "kept.secrets"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    write_file_atomic(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert file_mode(str(target)) == 0o640


def test_explicit_mode_wins(tmp_path):
    target = tmp_path / "forced.secrets"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    write_file_atomic(str(target), b"new", mode=0o600)
    assert file_mode(str(target)) == 0o600


def test_file_is_replaced_not_rewritten(tmp_path):
    target = tmp_path / "inode.secrets"
    target.write_bytes(b"old")
    reader = open(target, "rb")
    try:
        write_file_atomic(str(target), b"new")
        assert reader.read() == b"old"
    finally:
        reader.close()
    assert target.read_bytes() == b"new"


@needs_root
def test_owner_and_group_are_kept(tmp_path):
    target = tmp_path / "owned.secrets"
    target.write_bytes(b"old")
    os.chown(target, 4321, 8765)
    write_file_atomic(str(target), b"new")
    status = os.stat(target)
    assert (status.st_uid, status.st_gid) == (4321, 8765)


def test_selinux_label_is_copied(tmp_path):
    target = tmp_path / "labelled.secrets"
    target.write_bytes(b"old")
    try:
        os.setxattr(str(target), "security.selinux", LABEL)
    except OSError as error:
        pytest.skip("this file system does not store security.selinux here: %s" % error)
    write_file_atomic(str(target), b"new")
    assert os.getxattr(str(target), "security.selinux") == LABEL


def test_symlink_target_is_replaced(tmp_path):
    real = tmp_path / "real.secrets"
    real.write_bytes(b"old")
    link = tmp_path / "link.secrets"
    link.symlink_to(real)
    write_file_atomic(str(link), b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_missing_directory_is_reported(tmp_path):
    target = tmp_path / "absent" / "x.secrets"
    with pytest.raises(AtomicWriteError) as error:
        write_file_atomic(str(target), b"data")
    assert "does not exist" in error.value.message
    assert str(tmp_path / "absent") in error.value.message


def test_directory_target_is_rejected(tmp_path):
    with pytest.raises(AtomicWriteError) as error:
        write_file_atomic(str(tmp_path), b"data")
    assert "not a regular file" in error.value.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_is_reported(tmp_path):
    directory = tmp_path / "locked"
    directory.mkdir()
    os.chmod(directory, 0o500)
    try:
        with pytest.raises(AtomicWriteError) as error:
            write_file_atomic(str(directory / "x.secrets"), b"data")
        assert "permission denied" in error.value.message
    finally:
        os.chmod(directory, 0o700)


def test_failed_rename_leaves_original_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "keep.secrets"
    target.write_bytes(b"original")

    def failing_rename(source, destination):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(_atomic.os, "rename", failing_rename)
    with pytest.raises(AtomicWriteError) as error:
        write_file_atomic(str(target), b"replacement")
    assert "another file system" in error.value.message
    assert target.read_bytes() == b"original"
    assert leftovers(tmp_path) == []


def test_failed_write_leaves_original_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "full.secrets"
    target.write_bytes(b"original")

    def failing_write(handle, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "write", failing_write)
    with pytest.raises(AtomicWriteError) as error:
        write_file_atomic(str(target), b"replacement")
    assert "no space left" in error.value.message
    assert target.read_bytes() == b"original"
    assert leftovers(tmp_path) == []


def test_temporary_file_is_private_while_written(tmp_path, monkeypatch):
    target = tmp_path / "private.secrets"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    modes = []
    real_write = os.write

    def spying_write(handle, data):
        modes.append(stat.S_IMODE(os.fstat(handle).st_mode))
        return real_write(handle, data)

    monkeypatch.setattr(_atomic.os, "write", spying_write)
    write_file_atomic(str(target), b"secret")
    assert modes == [0o600]
    assert file_mode(str(target)) == 0o644


def test_file_mode_of_missing_file_is_none(tmp_path):
    assert file_mode(str(tmp_path / "nothing")) is None


@needs_unshare
def test_read_only_file_system_is_reported(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    (directory / "x.secrets").write_bytes(b"original")
    completed = run_in_mount_namespace(
        """\
        import subprocess
        subprocess.run(["mount", "--bind", "ro", "ro"], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", "ro"], check=True)
        try:
            write_file_atomic("ro/x.secrets", b"replacement")
        except AtomicWriteError as error:
            print(error.message)
            print(error.hint)
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "read-only" in completed.stdout
    assert "Remount" in completed.stdout
    assert (directory / "x.secrets").read_bytes() == b"original"
    assert leftovers(directory) == []


@needs_unshare
def test_bind_mounted_file_is_reported(tmp_path):
    (tmp_path / "source.secrets").write_bytes(b"source")
    (tmp_path / "mounted.secrets").write_bytes(b"original")
    completed = run_in_mount_namespace(
        """\
        import os, subprocess
        subprocess.run(["mount", "--bind", "source.secrets", "mounted.secrets"], check=True)
        try:
            write_file_atomic("mounted.secrets", b"replacement")
        except AtomicWriteError as error:
            print(error.message)
        print(open("mounted.secrets", "rb").read().decode())
        print(sorted(name for name in os.listdir(".") if name.endswith(".tmp")))
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "mount point" in lines[0]
    assert lines[1] == "source"
    assert lines[2] == "[]"

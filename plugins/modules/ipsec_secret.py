#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ipsec_secret
short_description: Manage one entry of a Libreswan secrets file without leaking the secret
version_added: 0.1.0
description:
  - Manages one pre-shared key (C(PSK)), XAUTH password (C(XAUTH)) or static post-quantum
    pre-shared key (C(PPKS)) in a Libreswan secrets file, by default C(/etc/ipsec.d/NAME.secrets),
    which the C(/etc/ipsec.secrets) installed by Libreswan includes.
  - The file is read with Libreswan's own rules (quoted, C(0x) hex, C(0s) base64 and C(0t) text
    secrets, C(include) lines, entries without indexes, comments, continuation lines that start with
    white space). The entry is found by its kind and its set of indexes (I(selectors)), in any order;
    its secret is replaced in place. Every other line, comment and entry stays byte for byte.
    A second entry with the same indexes is removed instead of being left to shadow the first.
  - Secrets are compared as bytes, so an entry that already contains the same key in another encoding
    (for example C(0x) hex) is left alone.
  - A secret of printable ASCII without C(") is written in double quotes, where pluto reads every
    byte literally, backslashes included. Any other secret (with C("), a newline, control bytes or
    non-ASCII characters) is written as C(0s) base64, which pluto decodes to exactly the same bytes.
    The edited file is parsed again before it is written, and the task fails without writing
    when pluto would read anything but the requested secret.
  - The file is replaced atomically with mode C(0600), keeping its owner, group and SELinux label.
    When its content changed and pluto is running, C(ipsec whack --rereadsecrets) makes pluto load
    it. When pluto is not running, the file is written and the task warns about it.
  - The module also reads the main secrets file I(secrets_file) and every file it includes, as pluto
    does, to warn when pluto never reads I(path), when two entries have the same indexes but
    different secrets (pluto then uses only one of them), and about entries pluto ignores.
    A record that ends right after its C(:) makes pluto 4.10 and 5.2 exit while reading the file,
    so such a record in any of these files fails the task before anything is written.
  - Every secret found in any file it reads is registered as a no-log value, so Ansible masks it
    in every result, warning and error. Results never contain a secret; diff mode replaces each
    secret with a keyed fingerprint.
author:
  - ipsec.libreswan developers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ipsec.libreswan.libreswan.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the files, writes nothing, runs no command and reports whether the file would change.
  diff_mode:
    support: full
    details:
      - Shows the file before and after with every secret replaced by C(<secret hmac:...>), a
        fingerprint keyed with a random key of this run. Equal secrets in one run have equal
        fingerprints, so the diff shows which entries changed; a fingerprint cannot be used to
        test guesses of a secret after the run. Entries that pluto cannot decode show C(<hidden>).
  idempotent:
    support: full
    details:
      - A second run with the same parameters reports no change and does not ask pluto to re-read
        its secrets.
  platform:
    support: full
    platforms: posix
options:
  name:
    description:
      - Name of the secrets file to manage, usually the name of the connection that uses the
        secret. Sets the default of I(path).
      - "The same characters as a connection name are allowed: letters, digits and
        C(. _ - @ + : ~ %)."
    type: str
    required: true
  path:
    description:
      - The secrets file that contains the entry. When not set, C(/etc/ipsec.d/NAME.secrets) with
        NAME from I(name).
      - Pluto reads it only when I(secrets_file) includes it; the module warns otherwise.
    type: path
  selectors:
    description:
      - The indexes of the entry, the IDs or addresses it applies to, for example
        C(198.51.100.1), C(2001:db8::1), C(@east.example.com), C(user@example.com), C(%any),
        C(%any6) or a distinguished name such as C(C=US, O=Example, CN=east).
      - An empty list is the catch-all entry, which matches any local and remote ID.
      - The order does not matter. Addresses match in any notation, FQDNs without regard to case.
      - An index with blanks or C(#) is written quoted. Control characters and newlines are rejected.
    type: list
    elements: str
    required: true
  type:
    description:
      - The kind of secret. C(PSK) is a pre-shared key for C(authby=secret), C(XAUTH) an IKEv1
        XAUTH password (the index is C(@username)), C(PPKS) a static post-quantum pre-shared key
        identified by I(ppk_id).
      - "RSA and ECDSA private keys are not kept in secrets files. Libreswan stores them in the NSS
        database since 4.0 and ignores C(: RSA) entries since 4.5, and ipsec.conf refers to the key
        with C(leftcert=) or C(leftckaid=). EAP and NULL authentication need no entry here."
    type: str
    choices: [PSK, XAUTH, PPKS]
    default: PSK
  secret:
    description:
      - The secret. Required with I(state=present). It is never logged or returned.
      - I(secret_format) sets how it is read.
    type: str
  secret_format:
    description:
      - How I(secret) is given. C(text) takes its UTF-8 bytes, C(hex) hex digits (an optional
        C(0x) prefix is allowed), C(base64) standard base64 (an optional C(0s) prefix is allowed).
      - Use C(hex) or C(base64) for random binary keys.
    type: str
    choices: [text, hex, base64]
    default: text
  ppk_id:
    description:
      - The PPK ID of a C(PPKS) entry, as the peers send it. Required with I(type=PPKS) and
        I(state=present).
      - With I(state=absent) and no I(ppk_id), every C(PPKS) entry with these indexes is removed.
    type: str
  state:
    description:
      - C(present) makes exactly one entry with these indexes hold the secret.
      - C(absent) removes every entry of this type with these indexes from I(path). A file left
        without any content is deleted.
    type: str
    choices: [present, absent]
    default: present
  secrets_file:
    description:
      - The main secrets file that pluto reads (pluto's C(--secretsfile), C(secretsfile=) in
        C(config setup)). The module reads it and the files it includes only to warn about
        problems; it never changes it.
    type: path
    default: /etc/ipsec.secrets
  ctlsocket:
    description:
      - Path of pluto's control socket, as for C(ipsec whack --ctlsocket).
    type: path
    default: /run/pluto/pluto.ctl
  reread:
    description:
      - Run C(ipsec whack --rereadsecrets) after the file changed, so pluto uses the new secret for
        the next negotiation. Established SAs keep running.
    type: bool
    default: true
notes:
  - A file that is itself a mount point (such as a file bind-mounted into a container) cannot be
    replaced atomically; the task then fails without writing.
  - "Both ends of a connection need the same secret. ipsec.secrets(5) recommends PSKs of at least
    64 random characters."
requirements:
  - Libreswan on the managed host for I(reread=true); only Python's standard library.
seealso:
  - name: ipsec.secrets(5)
    description: The file format this module reads and writes.
    link: https://libreswan.org/man/ipsec.secrets.5.html
  - module: ipsec.libreswan.ipsec_connection
"""

EXAMPLES = r"""
- name: Pre-shared key between two gateways (the same task runs on both ends)
  ipsec.libreswan.ipsec_secret:
    name: west-east
    selectors:
      - 198.51.100.1
      - 198.51.100.2
    secret: "{{ vault_west_east_psk }}"

- name: Catch-all PSK for road warriors, given as random bytes in base64
  ipsec.libreswan.ipsec_secret:
    name: roadwarriors
    selectors: []
    secret: "{{ vault_roadwarrior_psk_base64 }}"
    secret_format: base64

- name: XAUTH password of one user
  ipsec.libreswan.ipsec_secret:
    name: xauth-alice
    selectors: ["@alice"]
    type: XAUTH
    secret: "{{ vault_alice_password }}"

- name: Static post-quantum pre-shared key
  ipsec.libreswan.ipsec_secret:
    name: west-east-ppk
    selectors: ["@west", "@east"]
    type: PPKS
    ppk_id: PPK_ID_1
    secret: "{{ vault_ppk_hex }}"
    secret_format: hex

- name: Remove the entry, and the file once it is empty
  ipsec.libreswan.ipsec_secret:
    name: west-east
    selectors: [198.51.100.2, 198.51.100.1]
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the file changed (or would change, in check mode).
  returned: always
  type: bool
path:
  description: The secrets file that contains the entry.
  returned: always
  type: str
  sample: /etc/ipsec.d/west-east.secrets
action:
  description:
    - What happened to the entry. C(unchanged), C(updated) (secret replaced in place), C(repaired)
      (an entry pluto could not read was rewritten), C(added), C(removed) or C(absent) (there was
      nothing to remove).
  returned: always
  type: str
  sample: updated
entry:
  description:
    - The entry without its secret. C(selectors) as given, C(type), C(ppk_id) for C(PPKS), and
      C(line), its line number in the file after the task (absent when the entry is absent).
  returned: always
  type: dict
  sample: {"selectors": ["198.51.100.1", "198.51.100.2"], "type": "PSK", "line": 1}
duplicates_removed:
  description: Other entries with the same type and indexes that were removed from I(path).
  returned: always
  type: int
  sample: 0
mode_changed:
  description: Whether the file's permissions were set to C(0600).
  returned: always
  type: bool
reread:
  description: Whether C(ipsec whack --rereadsecrets) ran (in check mode, whether it would run).
  returned: always
  type: bool
commands:
  description: The commands that ran (in check mode, that would run), as argv lists.
  returned: always
  type: list
  elements: list
  sample: [["/usr/sbin/ipsec", "whack", "--ctlsocket", "/run/pluto/pluto.ctl", "--rereadsecrets"]]
problems:
  description:
    - Entries that pluto ignores or rejects in the files read, each with C(file), C(line),
      C(message) and C(severity). They never contain secret text.
  returned: always
  type: list
  elements: dict
"""

import base64
import binascii
import errno
import fnmatch
import glob
import hashlib
import hmac
import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ipsec.libreswan.plugins.module_utils._atomic import file_mode, write_file_atomic
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import (
    CommandError,
    LibreswanError,
    ValidationError,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient, ModuleRunner, output_lines
from ansible_collections.ipsec.libreswan.plugins.module_utils._secrets import (
    encode_secret,
    entry_identity,
    find_conflicts,
    find_matches,
    parse_secrets,
    redact,
    remove_entries,
    set_entry,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._lock import PlutoLock

FILE_MODE = 0o600
# pluto stops following include lines below this depth (lib/libswan/secrets.c).
MAX_INCLUDE_DEPTH = 10
# pluto warns about quoted PSKs shorter than this (Libreswan 4.10 and 5.2).
WEAK_PSK_LENGTH = 8
_NOT_RUNNING_RE = re.compile(r"Pluto is not running|connect\(\) for .* failed", re.IGNORECASE)
_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        path=dict(type="path"),
        selectors=dict(type="list", elements="str", required=True),
        type=dict(type="str", default="PSK", choices=["PSK", "XAUTH", "PPKS"]),
        secret=dict(type="str", no_log=True),
        secret_format=dict(type="str", default="text", choices=["text", "hex", "base64"]),
        ppk_id=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        secrets_file=dict(type="path", default="/etc/ipsec.secrets"),
        ctlsocket=dict(type="path", default="/run/pluto/pluto.ctl"),
        reread=dict(type="bool", default=True),
    )


# Parameters


def secret_bytes(secret, secret_format):
    """Return the secret as bytes; error messages never contain the value."""
    if secret_format == "text":
        value = secret.encode("utf-8")
    elif secret_format == "hex":
        digits = secret[2:] if secret[:2].lower() == "0x" else secret
        if not _HEX_RE.match(digits):
            raise ValidationError("Invalid secret: secret_format=hex needs an even number of hex digits (0-9, a-f)")
        value = binascii.unhexlify(digits)
    else:
        text = secret[2:] if secret[:2].lower() == "0s" else secret
        try:
            value = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise ValidationError("Invalid secret: secret_format=base64 needs standard base64 (A-Z a-z 0-9 + / =)")
    if not value:
        raise ValidationError("Invalid secret: the secret is empty", hint="Give a secret of at least one byte")
    return value


def hide_secret_forms(module, value):
    """Register every text form of ``value`` that could reach output as a no-log value."""
    forms = [
        value.decode("utf-8", "surrogateescape"),
        base64.b64encode(value).decode("ascii"),
        binascii.hexlify(value).decode("ascii"),
        encode_secret(value).decode("utf-8", "surrogateescape"),
    ]
    for form in forms:
        if form:
            module.no_log_values.add(form)


def dns_selector_warnings(selectors):
    """Warn about indexes that pluto resolves through DNS when it loads the secrets."""
    warnings = []
    for text in selectors:
        if text.startswith("%") or "@" in text or "=" in text or _is_address(text):
            continue
        warnings.append(
            "Selector %r is neither an address nor an ID with '@', so pluto looks it up in DNS each time it "
            "loads the secrets. Write '@%s' for an FQDN ID." % (text, text)
        )
    return warnings


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def describe_selectors(selectors):
    if not selectors:
        return "the catch-all selectors (none)"
    return "selectors %s" % " ".join(selectors)


# Files


def read_bytes(path):
    """Return the bytes of ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except (IOError, OSError) as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise LibreswanError("Cannot read %s: %s" % (path, error.strerror),
                             hint="Run the task with become: true")


class SecretsTree(object):
    """The files pluto reads starting from the main secrets file, following include lines.

    ``overrides`` maps a real path to the bytes to use in place of the file's
    content, so the tree can show the state after an edit. ``pending`` lists
    files about to be created, which include patterns match as if they
    existed. Relative include patterns are resolved against the including
    file's directory, as pluto does. ``hide`` is called with every parsed file.
    Each file is parsed and expanded once, and a file that includes itself
    is not followed again, so the walk stays linear where pluto would re-read
    a file up to 10 levels deep.
    """

    def __init__(self, main_path, overrides=None, hide=None, pending=()):
        self.overrides = overrides or {}
        self.hide = hide
        self.pending = [path for path in pending if not os.path.exists(path)]
        self.files = []
        self.real_paths = set()
        self.warnings = []
        self._stack = []
        self._visit(main_path, 1)

    def _parse(self, path, real):
        data = self.overrides[real] if real in self.overrides else read_bytes(path)
        if data is None:
            return None
        parsed = parse_secrets(data, path)
        if self.hide is not None:
            self.hide(parsed)
        return parsed

    def _visit(self, path, depth):
        real = os.path.realpath(path)
        if real in self._stack:
            self.warnings.append("%s includes itself; pluto reads it again and again up to %d levels deep"
                                 % (path, MAX_INCLUDE_DEPTH))
            return
        if real in self.real_paths:
            return
        if depth > MAX_INCLUDE_DEPTH + 1:
            self.warnings.append("%s is included more than %d levels deep; pluto does not read it"
                                 % (path, MAX_INCLUDE_DEPTH))
            return
        try:
            parsed = self._parse(path, real)
        except LibreswanError as error:
            self.warnings.append("%s; the checks across secrets files are incomplete" % error.message)
            return
        if parsed is None:
            return
        self.real_paths.add(real)
        self.files.append(parsed)
        self._stack.append(real)
        for include in parsed.includes:
            if include.pattern is None:
                continue
            pattern = include.pattern.decode("utf-8", "surrogateescape")
            if not pattern.startswith("/") and "/" in path:
                pattern = os.path.join(os.path.dirname(path), pattern)
            for match in self._glob(pattern):
                self._visit(match, depth + 1)
        self._stack.pop()

    def _glob(self, pattern):
        """Return glob(3)'s matches, plus the files about to be created that the pattern will match."""
        matches = glob.glob(pattern)
        for path in self.pending:
            if path not in matches and _pattern_matches(pattern, path):
                matches.append(path)
        return sorted(matches)

    @property
    def entries(self):
        return [entry for parsed in self.files for entry in parsed.entries]


def _pattern_matches(pattern, path):
    """Tell whether glob ``pattern`` will match ``path`` once it exists (its directory must exist)."""
    name = os.path.basename(path)
    name_pattern = os.path.basename(pattern)
    if name.startswith(".") and not name_pattern.startswith("."):
        return False
    if not fnmatch.fnmatchcase(name, name_pattern):
        return False
    directory = os.path.realpath(os.path.dirname(path))
    return any(os.path.realpath(match) == directory for match in glob.glob(os.path.dirname(pattern) or "."))


class Fingerprinter(object):
    """Keyed fingerprints of secrets for diff output; the key is random per run and never shown."""

    def __init__(self):
        self._key = os.urandom(32)

    def __call__(self, value):
        return "<secret hmac:%s>" % hmac.new(self._key, value, hashlib.sha256).hexdigest()[:12]


# The task


class SecretTask(object):
    """One run of the module: read, plan, write, re-read."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.warnings = []
        self.problems = []
        self.commands = []

    def hide(self, parsed):
        for text in parsed.secret_texts():
            if text:
                self.module.no_log_values.add(text)

    def validate(self):
        params = self.params
        self.warnings.extend(validate_connection_name(params["name"], allow_child=False))
        self.path = params["path"] or "/etc/ipsec.d/%s.secrets" % params["name"]
        self.selectors = []
        for selector in params["selectors"]:
            if selector not in self.selectors:
                self.selectors.append(selector)
        self.kind = params["type"]
        self.ppk_id = params["ppk_id"]
        self.secret = None
        if params["state"] == "present":
            if params["secret"] is None:
                raise ValidationError("secret is required with state=present")
            if self.kind == "PPKS" and not self.ppk_id:
                raise ValidationError("ppk_id is required with type=PPKS and state=present")
            self.secret = secret_bytes(params["secret"], params["secret_format"])
            hide_secret_forms(self.module, self.secret)
            if self.kind == "PSK" and len(self.secret) < WEAK_PSK_LENGTH:
                self.warnings.append("The PSK is shorter than %d bytes, which pluto calls weak. "
                                     "Use a long random secret." % WEAK_PSK_LENGTH)
        elif self.ppk_id is not None and self.kind != "PPKS":
            raise ValidationError("ppk_id applies only to type=PPKS")
        self.warnings.extend(dns_selector_warnings(self.selectors))

    def plan(self):
        """Compute the file's new content (``after``, None for no file) and what changes."""
        self.before = read_bytes(self.path)
        parsed = parse_secrets(self.before if self.before is not None else b"", self.path)
        self.hide(parsed)
        self.parsed_before = parsed
        self.removed = 0
        if self.params["state"] == "present":
            self.after, summary = set_entry(parsed, self.selectors, self.kind, self.secret, self.ppk_id)
            self.action = summary["action"]
            self.removed = summary["removed"]
        elif self.before is None:
            self.after, self.action = None, "absent"
        else:
            self.after, count = remove_entries(parsed, self.selectors, self.kind, self.ppk_id)
            self.action = "removed" if count else "absent"
            if not self.after.strip():
                self.after = None
        self.parsed_after = parse_secrets(self.after if self.after is not None else b"", self.path)
        self.hide(self.parsed_after)
        self.content_changed = self.after != self.before
        mode = file_mode(self.path) if self.before is not None else None
        self.mode_changed = self.before is not None and self.after is not None and mode != FILE_MODE
        if self.removed:
            self.warnings.append("Removed %d other entr%s with the same type and selectors from %s"
                                 % (self.removed, "y" if self.removed == 1 else "ies", self.path))

    def check_tree(self):
        """Check every file pluto reads, as it will be after the change.

        Raises LibreswanError when a record would make pluto exit; adds warnings
        for ignored entries, conflicting entries, a managed file that pluto does
        not read, and copies of a removed entry in other files.
        """
        main = self.params["secrets_file"]
        real = os.path.realpath(self.path)
        overrides = {real: self.after if self.after is not None else b""}
        tree = SecretsTree(main, overrides=overrides, hide=self.hide, pending=[self.path])
        self.warnings.extend(tree.warnings)

        if real not in tree.real_paths:
            self._add_problems(self.parsed_after)
        for parsed in tree.files:
            self._add_problems(parsed)
        self._raise_fatal()

        if self.after is not None and real not in tree.real_paths:
            self._warn_not_read(main, bool(tree.files))
        self._warn_conflicts(tree)
        if self.params["state"] == "absent":
            self._warn_copies_elsewhere(tree, real)

    def _warn_not_read(self, main, main_exists):
        if main_exists:
            self.warnings.append("pluto does not read %s because no include line in %s matches it. "
                                 "Add 'include %s' to %s." % (self.path, main, self.path, main))
        elif not os.path.exists(main):
            self.warnings.append("%s does not exist, so pluto reads no secrets at all. Create it with the line "
                                 "'include %s'." % (main, self.path))

    def _warn_conflicts(self, tree):
        for group in find_conflicts(tree.entries):
            places = ", ".join("%s:%d" % (entry.file, entry.line) for entry in group)
            self.warnings.append(
                "%s entries with %s contain different secrets at %s. pluto uses only one of them "
                "(4.10 uses the first it reads)." % (group[0].kind, describe_selectors(group[0].selector_texts), places))

    def _warn_copies_elsewhere(self, tree, real):
        identity = entry_identity(self.kind, self.selectors, self.ppk_id)
        for parsed in tree.files:
            if os.path.realpath(parsed.path) == real:
                continue
            for entry in find_matches(parsed, identity):
                self.warnings.append("An entry with the same type and selectors remains in %s:%d, which "
                                     "this task does not manage" % (entry.file, entry.line))

    def _raise_fatal(self):
        fatal = [problem for problem in self.problems if problem["severity"] == "fatal"]
        if fatal:
            raise LibreswanError(
                "pluto would exit while reading its secrets: %s" % "; ".join(
                    "%s:%s: %s" % (problem["file"], problem["line"], problem["message"]) for problem in fatal),
                hint="Fix those lines first. Nothing was written and pluto was not asked to re-read",
                problems=fatal,
            )

    def _add_problems(self, parsed):
        for problem in parsed.problems:
            record = problem.to_dict()
            if record not in self.problems:
                self.problems.append(record)
                self.warnings.append("%s" % problem)

    def apply(self):
        directory = os.path.dirname(os.path.realpath(self.path))
        if self.content_changed and self.after is not None and not os.path.isdir(directory):
            raise LibreswanError("Cannot write %s: the directory %s does not exist" % (self.path, directory),
                                 hint="Create the directory first (Libreswan's packages create /etc/ipsec.d)")
        if self.module.check_mode:
            return
        if self.content_changed:
            if self.after is None:
                try:
                    os.unlink(self.path)
                except OSError as error:
                    raise LibreswanError("Cannot remove %s: %s" % (self.path, error.strerror))
            else:
                write_file_atomic(self.path, self.after, mode=FILE_MODE)
        elif self.mode_changed:
            try:
                os.chmod(self.path, FILE_MODE)
            except OSError as error:
                raise LibreswanError("Cannot set mode 0600 on %s: %s" % (self.path, error.strerror))

    def reread(self):
        """Ask pluto to load the changed file; returns whether whack ran (or would run)."""
        if not (self.content_changed and self.params["reread"]):
            return False
        ctlsocket = self.params["ctlsocket"]
        if not os.path.exists(ctlsocket):
            self.warnings.append(
                "pluto is not running (no control socket %s); it reads the new secrets when it starts" % ctlsocket)
            return False
        runner = ModuleRunner(self.module)
        client = LibreswanClient(runner, ipsec=runner.find("ipsec"), ctlsocket=ctlsocket)
        argv = client.whack_argv("--rereadsecrets")
        self.commands.append(argv)
        if self.module.check_mode:
            return True
        rc, out, err = client.run(argv)
        if rc != 0:
            if _NOT_RUNNING_RE.search("%s %s" % (out, err)):
                self.warnings.append("pluto is not running on %s; it reads the new secrets when it starts: %s"
                                     % (ctlsocket, " ".join(output_lines(out, err))))
                return False
            raise CommandError("The file was written, but asking pluto to re-read its secrets failed",
                               argv, rc, out, err, hint="Run 'ipsec whack --rereadsecrets' once pluto works")
        return True

    def result(self):
        entry = {"selectors": self.selectors, "type": self.kind}
        if self.kind == "PPKS":
            entry["ppk_id"] = self.ppk_id
        if self.params["state"] == "present":
            identity = entry_identity(self.kind, self.selectors, self.ppk_id)
            matches = find_matches(self.parsed_after, identity)
            if matches:
                entry["line"] = matches[0].line
        return {
            "changed": self.content_changed or self.mode_changed,
            "path": self.path,
            "action": self.action,
            "entry": entry,
            "duplicates_removed": self.removed,
            "mode_changed": self.mode_changed,
            "commands": self.commands,
            "problems": self.problems,
        }

    def diff(self):
        fingerprint = Fingerprinter()
        before = redact(self.parsed_before, fingerprint) if self.before is not None else ""
        after = redact(self.parsed_after, fingerprint) if self.after is not None else ""
        return {"before": before, "after": after, "before_header": self.path, "after_header": self.path}


def run(module):
    """Run the task; return (result, None) on success or (None, failure) with fail_json's keys."""
    task = SecretTask(module)
    applied = False
    try:
        task.validate()
        task.plan()
        task.check_tree()
        task.apply()
        applied = True
        reread = task.reread()
    except LibreswanError as error:
        for warning in task.warnings:
            module.warn(warning)
        failure = error.to_result()
        failure["changed"] = applied and not module.check_mode and (task.content_changed or task.mode_changed)
        return None, failure
    result = task.result()
    result["reread"] = reread
    if module._diff:
        result["diff"] = task.diff()
    for warning in task.warnings:
        module.warn(warning)
    return result, None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        # Serialises the read, edit and write of secrets files with other tasks on this host.
        with PlutoLock(module.params["ctlsocket"]):
            result, failure = run(module)
    except LibreswanError as error:
        module.fail_json(**error.to_result())
    if failure is not None:
        module.fail_json(**failure)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

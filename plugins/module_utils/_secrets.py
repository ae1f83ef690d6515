# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Parse, edit and render ipsec.secrets files exactly as Libreswan reads them.

The lexer follows lib/libswan/lex.c and the record grammar follows
lib/libswan/secrets.c, which are the same in Libreswan 4.10 and 5.2:

- pluto reads a file in chunks of at most 2047 bytes (fgets into a 2048-byte
  buffer). Each chunk is cut at the first NUL byte and trailing white space
  (space, tab, CR, LF, VT, FF) is removed.
- A token that starts in column 0 starts a new record. Tokens on indented
  lines continue the current record, even after blank lines and comment lines.
- At a token boundary, ``#`` starts a comment. Inside a token it is data.
- ``"``, ``'`` and a backtick quote a token up to the next same character on
  that line, with no escape processing, so a backslash is data. Without a closing
  quote the token runs to the end of the line and keeps its opening quote.
- An unquoted token ends at a blank. A trailing ``:`` is split off as a token of
  its own. A token that starts with ``0t`` runs to the end of the line.
- A record is ``include PATTERN`` or ``INDEX... : KIND SECRET``. No index at
  all makes a catch-all entry. Only the kinds PSK, XAUTH and PPKS (with a quoted
  PPK ID before the key) are loaded, matched case-insensitively.
- A secret in ``"`` or ``'`` quotes is taken byte for byte. Any other form must
  be ``0x`` hex (``_`` allowed between byte pairs), ``0s`` base64 or ``0t``
  text. A token left over after the secret makes pluto drop the whole entry.

Everything works on bytes, so a file is rewritten byte for byte except for
the spans an edit replaces.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import bisect
import ipaddress
import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError, ValidationError

__all__ = [
    "SECRET_KINDS",
    "MAX_LINE_LENGTH",
    "Token",
    "SecretEntry",
    "IncludeDirective",
    "SecretsProblem",
    "ParsedSecrets",
    "parse_secrets",
    "decode_secret_token",
    "decode_ttodata",
    "encode_secret",
    "normalize_selector",
    "selector_key",
    "render_selector",
    "render_entry",
    "entry_identity",
    "find_matches",
    "find_conflicts",
    "set_entry",
    "remove_entries",
    "redact",
]

# The kinds pluto loads from ipsec.secrets (Libreswan 4.5 to 5.x). RSA private
# keys live in the NSS database since 4.0, and 4.5 stopped reading ": RSA" entries.
SECRET_KINDS = ("PSK", "XAUTH", "PPKS")

# pluto reads lines with fgets(buffer, 2048) into a 2049-byte buffer: a longer
# line is split and its remainder is read as a new line.
MAX_LINE_LENGTH = 2047

_CHUNK_SIZE = 2047
_QUOTES = b"\"'`"
_BLANKS = b" \t"
_SPACES = b" \t\n\r\v\f"
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_HEX_DIGITS = b"0123456789abcdefABCDEF"

_RECORD = "record"
_FILE = "file"


class Token(object):
    """One token of a secrets file.

    ``text`` is the token without its quotes (bytes), ``quote`` the quoting
    character as a one-byte bytes value or None, ``start`` and ``end`` the
    offsets of the raw token, quotes included, in the file's bytes.
    """

    __slots__ = ("text", "quote", "start", "end")

    def __init__(self, text, quote, start, end):
        self.text = text
        self.quote = quote
        self.start = start
        self.end = end

    def __repr__(self):
        return "Token(%r, %r, %d, %d)" % (self.text, self.quote, self.start, self.end)


class SecretsProblem(object):
    """A record or line that pluto rejects or ignores. Messages never contain secret text.

    ``severity`` is ``warning`` (pluto ignores the entry), ``error`` (pluto
    reports an error and drops it) or ``fatal`` (pluto exits while reading it).
    """

    __slots__ = ("file", "line", "message", "severity")

    def __init__(self, file, line, message, severity="error"):
        self.file = file
        self.line = line
        self.message = message
        self.severity = severity

    def __str__(self):
        return "%s:%s: %s" % (self.file, self.line, self.message)

    def to_dict(self):
        return {"file": self.file, "line": self.line, "message": self.message, "severity": self.severity}


class SecretEntry(object):
    """One ``INDEX... : KIND SECRET`` record.

    ``selectors`` are the index tokens and ``kind`` the upper-cased keyword
    (None when the record has no keyword). ``secret`` is the decoded secret as
    bytes, or None when pluto drops the record, and then ``problem`` gives the
    reason. ``secret_token`` is the token that contains the secret (the key of a
    PPKS entry). ``sensitive`` lists the (start, end) spans that may contain
    secret material, for redaction. ``start`` is the offset of the first token,
    ``end`` the end of the record's last token and ``line`` the 1-based line of
    the first token.
    """

    def __init__(self, file, line, start):
        self.file = file
        self.line = line
        self.start = start
        self.end = start
        self.selectors = []
        self.kind = None
        self.ppk_id = None
        self.secret = None
        self.secret_token = None
        self.problem = None
        self.sensitive = []
        self.secret_texts = []

    @property
    def valid(self):
        return self.problem is None and self.secret is not None

    @property
    def selector_texts(self):
        return [_text(token.text) for token in self.selectors]

    def identity(self):
        return entry_identity(self.kind, self.selector_texts, self.ppk_id)

    def __repr__(self):
        return "<SecretEntry %s:%d %s %s%s>" % (
            self.file, self.line, self.kind, self.selector_texts, "" if self.valid else " invalid: %s" % self.problem)


class IncludeDirective(object):
    """An ``include PATTERN`` record; ``pattern`` is None when the record is malformed."""

    def __init__(self, file, line, start):
        self.file = file
        self.line = line
        self.start = start
        self.end = start
        self.pattern = None


class ParsedSecrets(object):
    """The records of one secrets file in file order, with the problems pluto would report."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.records = []
        self.problems = []

    @property
    def entries(self):
        return [record for record in self.records if isinstance(record, SecretEntry)]

    @property
    def includes(self):
        return [record for record in self.records if isinstance(record, IncludeDirective)]

    def secret_texts(self):
        """Return every text form of every secret in the file, for Ansible's no_log values."""
        texts = []
        for record in self.records:
            texts.extend(getattr(record, "secret_texts", []))
        return texts


def _text(value):
    return value.decode("utf-8", "surrogateescape")


def _line_starts(data):
    starts = [0]
    index = data.find(b"\n")
    while index != -1:
        starts.append(index + 1)
        index = data.find(b"\n", index + 1)
    return starts


class _Lexer(object):
    """A port of lex.c's shift() and flushline() that records byte offsets."""

    def __init__(self, data):
        self.data = data
        self.chunks = self._split(data)
        self.chunk_index = -1
        self.line = b""
        self.line_offset = 0
        self.position = 0
        self.boundary = None
        self.token = None
        self.last_end = 0
        self.shift()

    @staticmethod
    def _split(data):
        chunks = []
        offset = 0
        while offset < len(data):
            newline = data.find(b"\n", offset, offset + _CHUNK_SIZE)
            end = newline + 1 if newline != -1 else min(offset + _CHUNK_SIZE, len(data))
            text = data[offset:end]
            nul = text.find(b"\0")
            if nul != -1:
                text = text[:nul]
            chunks.append((offset, text.rstrip(_SPACES)))
            offset = end
        return chunks

    def shift(self):
        """Advance to the next token; return False at a record boundary or the end of the file."""
        start_of_record = None
        self.token = None
        while True:
            line = self.line
            position = self.position
            if position >= len(line) or line[position:position + 1] == b"#":
                self.chunk_index += 1
                if self.chunk_index >= len(self.chunks):
                    self.boundary = _FILE
                    self.line = b""
                    self.position = 0
                    return False
                self.line_offset, self.line = self.chunks[self.chunk_index]
                self.position = 0
                start_of_record = 0
                continue
            character = line[position:position + 1]
            if character in _BLANKS:
                self.position += 1
                continue
            if position == start_of_record:
                self.boundary = _RECORD
                return False
            if character in _QUOTES:
                close = line.find(character, position + 1)
                if close == -1:
                    self.token = Token(line[position:], None, self.line_offset + position, self.line_offset + len(line))
                    self.position = len(line)
                else:
                    self.token = Token(line[position + 1:close], character, self.line_offset + position,
                                       self.line_offset + close + 1)
                    self.position = close + 1
            else:
                end = position + 1
                if line[position:position + 2] == b"0t":
                    end = len(line)
                else:
                    while end < len(line) and line[end:end + 1] not in _BLANKS:
                        end += 1
                    if end - 1 > position and line[end - 1:end] == b":":
                        end -= 1
                self.token = Token(line[position:end], None, self.line_offset + position, self.line_offset + end)
                self.position = end
            self.last_end = self.token.end
            return True

    def flushline(self):
        """Discard tokens up to the next boundary; return the discarded tokens."""
        discarded = []
        if self.boundary is not None:
            return discarded
        while self.token is not None:
            discarded.append(self.token)
            if not self.shift():
                break
        return discarded

    def token_is(self, text):
        return self.token is not None and self.token.text == text

    def token_is_word(self, word):
        return self.token is not None and self.token.text.lower() == word


def decode_secret_token(token):
    """Decode a secret token as pluto does; return (bytes, None) or (None, reason)."""
    if token.quote in (b'"', b"'"):
        return token.text, None
    text = token.text
    if token.quote == b"`":
        # pluto passes the token with the NUL that replaced the closing backtick.
        text = text + b"\0"
    return decode_ttodata(text)


def decode_ttodata(text):
    """Decode ``0x``/``0s``/``0t`` text like Libreswan's ttodata() with base 0."""
    if len(text) < 2:
        return None, "input too short to be valid"
    if text[:1] != b"0":
        return None, "input does not begin with format prefix"
    prefix = text[1:2].lower()
    body = text[2:]
    if prefix == b"x":
        return _decode_hex(body)
    if prefix == b"s":
        return _decode_base64(body)
    if prefix == b"t":
        if not body:
            return None, "no data bytes specified by input"
        return body, None
    return None, "unknown format prefix"


def _decode_hex(body):
    output = bytearray()
    index = 0
    while index < len(body):
        pair = body[index:index + 2]
        if len(pair) < 2:
            return None, "input ends in mid-byte, perhaps truncated"
        if pair[0:1] not in _HEX_DIGITS or pair[1:2] not in _HEX_DIGITS:
            return None, "non-hex character in input"
        output.append(int(pair, 16))
        index += 2
        if len(body) - index > 1 and body[index:index + 1] == b"_":
            index += 1
    if not output:
        return None, "no data bytes specified by input"
    return bytes(output), None


def _decode_base64(body):
    output = bytearray()
    index = 0
    while index < len(body):
        group = body[index:index + 4]
        if len(group) < 4:
            return None, "input ends in mid-byte, perhaps truncated"
        decoded, reason = _decode_base64_group(group)
        if reason:
            return None, reason
        output.extend(decoded)
        index += 4
    if not output:
        return None, "no data bytes specified by input"
    return bytes(output), None


def _decode_base64_group(group):
    values = [_BASE64_ALPHABET.find(group[i:i + 1]) for i in range(4)]
    if values[0] < 0 or values[1] < 0:
        return None, "non-base64 character in input"
    first = (values[0] << 2) | (values[1] >> 4)
    if values[2] < 0:
        if group[2:4] == b"==":
            if values[1] & 0xF:
                return None, "bad (non-zero) padding at end of base64 input"
            return bytes(bytearray([first])), None
        return None, "non-base64 character in input"
    second = ((values[1] & 0xF) << 4) | (values[2] >> 2)
    if values[3] < 0:
        if group[3:4] == b"=":
            if values[2] & 0x3:
                return None, "bad (non-zero) padding at end of base64 input"
            return bytes(bytearray([first, second])), None
        return None, "non-base64 character in input"
    third = ((values[2] & 0x3) << 6) | values[3]
    return bytes(bytearray([first, second, third])), None


def _quoted_literal_ok(value):
    return all(0x20 <= byte <= 0x7E for byte in bytearray(value)) and b'"' not in value


def encode_secret(value):
    """Return the token for secret bytes ``value``: ``"TEXT"`` when that is exact, else ``0s`` base64.

    Printable ASCII without ``"`` reads back unchanged from double quotes because
    pluto does no escape processing there. Everything else (quotes, newlines,
    control bytes, non-ASCII) is written as base64, which pluto decodes exactly.
    """
    if not value:
        raise ValidationError("Invalid secret: the secret is empty", hint="Give a secret of at least one byte")
    if _quoted_literal_ok(value):
        return b'"' + value + b'"'
    return b"0s" + base64.b64encode(value)


# Selectors


def normalize_selector(text):
    """Return the form of one index under which pluto considers two indexes the same ID.

    IP addresses compare as addresses, FQDN and user@FQDN IDs compare without
    case and without trailing dots (Libreswan's id_eq()); others compare as written.
    """
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if text in ("%any", "%any6") or "=" in text or text.startswith("@#") or text.startswith("@["):
        return text
    return text.lower().rstrip(".")


def selector_key(selectors):
    return frozenset(normalize_selector(text) for text in selectors)


def entry_identity(kind, selectors, ppk_id=None):
    """Return the key that identifies an entry: its kind, its index set and, for PPKS, its PPK ID."""
    return (kind, selector_key(selectors), ppk_id if kind == "PPKS" else None)


_UNSAFE_SELECTOR_RE = re.compile(r"[\x00-\x1f\x7f]")


def render_selector(text):
    """Return the bytes that write index ``text`` as one token that pluto reads back unchanged."""
    if not text:
        raise ValidationError("Invalid selector %r: it is empty" % (text,),
                              hint="Give an IP address, @FQDN, user@FQDN, %any, %any6 or a DN")
    if _UNSAFE_SELECTOR_RE.search(text):
        raise ValidationError("Invalid selector %r: it contains a control character or a newline" % (text,))
    if text == ":" or text.lower() == "include":
        raise ValidationError("Invalid selector %r: pluto reads it as a keyword of the secrets file" % (text,))
    value = text.encode("utf-8")
    needs_quotes = (
        any(character in value for character in (b" ", b"\t", b'"', b"'", b"`"))
        or value.startswith(b"#")
        or value.startswith(b"0t")
        or value.endswith(b":")
    )
    if not needs_quotes:
        return value
    if b'"' not in value:
        return b'"' + value + b'"'
    if b"'" not in value:
        return b"'" + value + b"'"
    raise ValidationError("Invalid selector %r: it contains both kinds of quotes, which pluto cannot read" % (text,))


def _render_ppk_id(ppk_id):
    value = ppk_id.encode("utf-8")
    if not value or _UNSAFE_SELECTOR_RE.search(ppk_id):
        raise ValidationError("Invalid ppk_id %r: give a non-empty ID without control characters" % (ppk_id,))
    if b'"' not in value:
        return b'"' + value + b'"'
    if b"'" not in value:
        return b"'" + value + b"'"
    raise ValidationError("Invalid ppk_id %r: it contains both kinds of quotes, which pluto cannot read" % (ppk_id,))


def render_entry(selectors, kind, secret, ppk_id=None):
    """Return one entry as a line of bytes without the newline.

    Raises ValidationError for values pluto could not read back, including a
    line longer than MAX_LINE_LENGTH bytes.
    """
    if kind not in SECRET_KINDS:
        raise ValidationError("Invalid secret type %r: Libreswan reads only %s entries" % (kind, ", ".join(SECRET_KINDS)))
    parts = [render_selector(text) for text in selectors]
    parts.append(b":")
    parts.append(kind.encode("ascii"))
    if kind == "PPKS":
        if ppk_id is None:
            raise ValidationError("A PPKS entry needs a PPK ID", hint="Set ppk_id")
        parts.append(_render_ppk_id(ppk_id))
    parts.append(encode_secret(secret))
    line = b" ".join(parts)
    if len(line) > MAX_LINE_LENGTH:
        raise ValidationError(
            "The entry would be a line of %d bytes, longer than the %d bytes pluto reads in one line"
            % (len(line), MAX_LINE_LENGTH),
            hint="Use a shorter secret or fewer selectors",
        )
    return line


# Parsing


def parse_secrets(data, path="<secrets>"):
    """Parse the bytes of one secrets file into a ParsedSecrets (includes are not followed)."""
    parsed = ParsedSecrets(path, data)
    line_starts = _line_starts(data)
    lexer = _Lexer(data)

    def line_of(offset):
        return bisect.bisect_right(line_starts, offset)

    def problem(offset, message, severity="error"):
        parsed.problems.append(SecretsProblem(path, line_of(offset), message, severity))

    discarded = lexer.flushline()
    if discarded:
        problem(discarded[0].start, "the file starts with an indented line, which pluto discards")
        parsed.records.append(_Orphan(data, discarded))

    current = None
    while True:
        leftovers = lexer.flushline()
        if current is not None:
            current.end = lexer.last_end
            if leftovers and isinstance(current, SecretEntry):
                _hide_leftovers(data, current, leftovers)
        if lexer.boundary == _FILE:
            break
        lexer.boundary = None
        lexer.shift()
        first = lexer.token
        if lexer.token_is_word(b"include"):
            current = IncludeDirective(path, line_of(first.start), first.start)
            parsed.records.append(current)
            if not lexer.shift():
                problem(first.start, "include directive without a file name")
                continue
            pattern = lexer.token
            lexer.shift()
            if lexer.boundary is None:
                problem(first.start, "malformed include directive: more than one file name (pluto ignores it)")
                continue
            current.pattern = pattern.text
            continue
        current = SecretEntry(path, line_of(first.start), first.start)
        parsed.records.append(current)
        _parse_entry(lexer, current, problem)
    return parsed


def _hide_leftovers(data, entry, leftovers):
    """Mark tokens that pluto discards after an entry's secret type as possibly secret."""
    if entry.kind is None:
        return
    start = entry.secret_token.start if entry.secret_token is not None else leftovers[0].start
    entry.sensitive.append((leftovers[0].start, leftovers[-1].end))
    for text in [_text(token.text) for token in leftovers] + [_text(data[start:leftovers[-1].end])]:
        if text not in entry.secret_texts:
            entry.secret_texts.append(text)


class _Orphan(object):
    """Tokens pluto discards at the start of a file; they may hold secret material."""

    def __init__(self, data, tokens):
        self.start = tokens[0].start
        self.end = tokens[-1].end
        self.sensitive = [(self.start, self.end)]
        self.secret_texts = [_text(token.text) for token in tokens] + [_text(data[self.start:self.end])]


def _parse_entry(lexer, entry, problem):
    while True:
        if lexer.token_is(b":"):
            lexer.shift()
            _parse_secret(lexer, entry, problem)
            return
        entry.selectors.append(lexer.token)
        if not lexer.shift():
            entry.problem = "the record ends before the ':' that separates indexes and secret"
            problem(entry.start, entry.problem)
            return


def _parse_secret(lexer, entry, problem):
    """Parse ``KIND [PPK_ID] SECRET`` after the colon, as secrets.c's process_secret() does."""

    def reject(message, severity="error"):
        entry.problem = message
        problem(entry.start, message, severity)

    token = lexer.token
    if token is None:
        # pluto reads a NULL token here: 4.10 and 5.2 exit while loading such a file.
        reject("the record ends after ':' without a secret type, which makes pluto exit", "fatal")
        return
    entry.kind = _text(token.text.upper())
    if entry.kind not in SECRET_KINDS:
        reject("pluto ignores this entry: %s is not a secret type it reads (only %s)"
               % (_describe_keyword(entry.kind), ", ".join(SECRET_KINDS)), "warning")
        return
    if not lexer.shift():
        reject("the %s entry has no secret" % entry.kind)
        return

    if entry.kind == "PPKS":
        if lexer.token.quote not in (b'"', b"'"):
            reject("the PPK ID of a PPKS entry must be quoted")
            return
        entry.ppk_id = _text(lexer.token.text)
        if not lexer.shift():
            reject("the PPKS entry has no key after its PPK ID")
            return

    secret_token = lexer.token
    entry.secret_token = secret_token
    entry.sensitive.append((secret_token.start, secret_token.end))
    entry.secret_texts.append(_text(secret_token.text))
    value, reason = decode_secret_token(secret_token)
    if reason is not None:
        quote = _typographic_quote(secret_token.text)
        if quote:
            reason = "it starts with the typographic quote %s, which pluto does not treat as a quote" % quote
        reject("pluto ignores this entry: the %s secret is malformed (%s)" % (entry.kind, reason))
        return

    lexer.shift()
    if lexer.boundary is None:
        reject("pluto ignores this entry: there is text after the secret (expected record boundary in key)")
        return
    entry.secret = value
    for form in (_text(value), _text(secret_token.text)):
        if form not in entry.secret_texts:
            entry.secret_texts.append(form)


# Quotation marks that word processors substitute for " and '.
_TYPOGRAPHIC_QUOTES = (u"\u201c", u"\u201d", u"\u201e", u"\u2018", u"\u2019", u"\u201a", u"\u00ab", u"\u00bb")


def _typographic_quote(text):
    first = _text(text)[:1]
    if first in _TYPOGRAPHIC_QUOTES:
        return "U+%04X" % ord(first)
    return None


def _describe_keyword(kind):
    if kind in ("RSA", "ECDSA"):
        return "%s (private keys are kept in the NSS database since Libreswan 4.0)" % kind
    if kind == "PIN":
        return "PIN (smartcards are configured through NSS)"
    return repr(kind)


# Queries and edits


def find_matches(parsed, identity):
    """Return the entries of ``parsed`` that have ``identity``.

    Entries that pluto drops count too, when their kind and indexes match, so
    that a broken entry is repaired in place instead of being left next to a new one.
    """
    kind, key, ppk_id = identity
    matches = []
    for entry in parsed.entries:
        if entry.kind != kind or selector_key(entry.selector_texts) != key:
            continue
        if kind == "PPKS" and ppk_id is not None and entry.ppk_id not in (None, ppk_id):
            continue
        matches.append(entry)
    return matches


def find_conflicts(entries):
    """Return groups of valid entries that share an identity but hold different secrets."""
    groups = {}
    order = []
    for entry in entries:
        if not entry.valid:
            continue
        identity = entry.identity()
        if identity not in groups:
            groups[identity] = []
            order.append(identity)
        groups[identity].append(entry)
    conflicts = []
    for identity in order:
        group = groups[identity]
        if len(set(entry.secret for entry in group)) > 1:
            conflicts.append(group)
    return conflicts


def _line_span(data, start, end):
    """Return the span of the whole lines holding [start, end), newline included."""
    line_start = data.rfind(b"\n", 0, start) + 1
    newline = data.find(b"\n", end)
    line_end = len(data) if newline == -1 else newline + 1
    return line_start, line_end


def _apply(data, edits):
    """Apply non-overlapping (start, end, replacement) edits to ``data``."""
    output = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0]):
        output.append(data[position:start])
        output.append(replacement)
        position = end
    output.append(data[position:])
    return b"".join(output)


def set_entry(parsed, selectors, kind, secret, ppk_id=None):
    """Return (new_data, summary) with exactly one entry of this identity holding ``secret``.

    The first matching entry keeps its place: a valid one gets only its secret
    token replaced, a broken one is rewritten as a whole. Further matches are
    removed with their lines. Without a match the entry is appended. ``summary``
    has ``action`` (``unchanged``, ``updated``, ``repaired`` or ``added``) and
    ``removed`` (the number of duplicate entries removed). The new bytes are
    parsed again, and LibreswanError is raised unless pluto would read exactly
    ``secret`` for this identity.
    """
    identity = entry_identity(kind, selectors, ppk_id)
    line = render_entry(selectors, kind, secret, ppk_id)
    data = parsed.data
    matches = find_matches(parsed, identity)
    if not matches:
        prefix = b"\n" if data and not data.endswith(b"\n") else b""
        new_data = data + prefix + line + b"\n"
        _verify(new_data, parsed.path, identity, secret)
        return new_data, {"action": "added", "removed": 0}

    edits = []
    first = matches[0]
    if first.valid and first.secret == secret:
        action = "unchanged"
    elif first.valid:
        action = "updated"
        token = first.secret_token
        replacement = encode_secret(secret)
        if _touches_next_token(data, token.end):
            replacement += b" "
        edits.append((token.start, token.end, replacement))
    else:
        action = "repaired"
        edits.append((first.start, first.end, line))
    for duplicate in matches[1:]:
        start, end = _line_span(data, duplicate.start, duplicate.end)
        edits.append((start, end, b""))
    new_data = _apply(data, edits)
    _check_line_lengths(new_data)
    _verify(new_data, parsed.path, identity, secret)
    return new_data, {"action": action, "removed": len(matches) - 1}


def _touches_next_token(data, offset):
    """Tell whether a non-blank character follows ``offset`` directly on the same line."""
    newline = data.find(b"\n", offset)
    rest = data[offset:] if newline == -1 else data[offset:newline]
    rest = rest.rstrip(_SPACES)
    return bool(rest) and rest[:1] not in (b" ", b"\t")


def _verify(new_data, path, identity, secret):
    reparsed = parse_secrets(new_data, path)
    matches = [entry for entry in find_matches(reparsed, identity) if entry.valid]
    if len(matches) != 1 or matches[0].secret != secret:
        raise LibreswanError(
            "Internal error: the edited secrets file %s would not give pluto the requested secret; nothing was written"
            % path,
            hint="Report this together with the file's layout (without its secrets)",
        )


def remove_entries(parsed, selectors, kind, ppk_id=None):
    """Return (new_data, count) without the entries of this identity, each removed with its lines."""
    identity = entry_identity(kind, selectors, ppk_id)
    matches = find_matches(parsed, identity)
    edits = []
    for entry in matches:
        start, end = _line_span(parsed.data, entry.start, entry.end)
        edits.append((start, end, b""))
    return _apply(parsed.data, edits), len(matches)


def _check_line_lengths(data):
    for number, line in enumerate(data.split(b"\n"), start=1):
        if len(line) > MAX_LINE_LENGTH:
            raise ValidationError(
                "Line %d would be %d bytes long, longer than the %d bytes pluto reads in one line"
                % (number, len(line), MAX_LINE_LENGTH),
                hint="Use a shorter secret",
            )


def redact(parsed, fingerprint):
    """Return the file as text with every secret replaced by ``fingerprint(secret_bytes)``.

    Spans that may hold secret material but do not decode (broken entries,
    ignored RSA blocks, indented lines at the start of the file) become
    ``<hidden>``, and the text of comment lines becomes ``<comment hidden>``.
    """
    edits = []
    for record in parsed.records:
        for start, end in getattr(record, "sensitive", []):
            if isinstance(record, SecretEntry) and record.valid and (start, end) == (
                    record.secret_token.start, record.secret_token.end):
                replacement = fingerprint(record.secret)
            else:
                replacement = "<hidden>"
            edits.append((start, end, replacement.encode("utf-8")))
    text = _apply(parsed.data, _merge(edits)).decode("utf-8", "replace")
    # A comment can hold an old key ("# previous: @a @b : PSK ..."), so comment text is not shown.
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("#") and stripped != "#":
            line = line[:len(line) - len(stripped)] + "# <comment hidden>"
        lines.append(line)
    return "\n".join(lines)


def _merge(edits):
    merged = []
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0]):
        if merged:
            previous = merged[-1]
            overlaps = start < previous[1]
            adjacent_hidden = start == previous[1] and replacement == previous[2] == b"<hidden>"
            if overlaps or adjacent_hidden:
                merged[-1] = (previous[0], max(previous[1], end), b"<hidden>")
                continue
        merged.append((start, end, replacement))
    return merged

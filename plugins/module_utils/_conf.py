# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Parse ipsec.conf into data the way Libreswan's ``addconn`` reads it.

Text in, data out: no commands run and nothing is written. Files are read
through a reader object (``FileReader`` for the disk, ``MemoryReader`` for
tests), so the same code checks a file before it is written.

The rules follow the scanner and loader of Libreswan 4.10 and 5.2, and were
checked against both programs. 3.x is read with the 4.x rules and its own
keyword table. Every problem is collected, not only the first one:
``Config.errors`` are problems Libreswan rejects (the whole file set, or one
conn), and ``Config.fatal_errors`` the subset that makes ``addconn`` load
nothing at all.

NOTE: for 5.3 and later only the keyword table and the rejected bare left/right
keyword (such as subnet=) differ from 5.2; other changes of those releases are
not modelled. Values are checked by type (yes/no, durations, numbers, the word
lists in _keywords.py), not by meaning, so an address or a proposal string that
Libreswan rejects later passes here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import errno
import os
import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ConfigError, ConfigProblem
from ansible_collections.ipsec.libreswan.plugins.module_utils._keywords import (
    BOOLEAN_WORDS_4,
    Keywords,
    parse_bool,
    parse_duration,
)

__all__ = [
    "Config",
    "Conn",
    "FileReader",
    "MemoryReader",
    "Setting",
    "parse_config",
    "parse_config_text",
]

# Libreswan's include stack has room for 10 files: the main file and 9 nested levels.
DEFAULT_MAX_INCLUDE_DEPTH = 10

# 4.x stops expanding also= after this many references (ALSO_LIMIT in 4.10).
_ALSO_LIMIT = 32

_SECTION_WORDS = ("config", "setup", "conn", "include", "version")
_GLOB_MAGIC = re.compile(r"[*?[]")
_DIGITS = re.compile(r"^[0-9]+$")
_PERCENT = re.compile(r"^[0-9]+%$")
_BLANKS = " \t"


class Setting(object):
    """One effective keyword value and where it came from.

    ``origin`` is "conn" (the conn's own section), "also:NAME" (a section pulled
    in with also=), "%default" or, for ``config setup``, "setup".
    """

    __slots__ = ("value", "file", "line", "origin")

    def __init__(self, value, file, line, origin):
        self.value = value
        self.file = file
        self.line = line
        self.origin = origin

    def __repr__(self):
        return "Setting(%r, %s:%s, %s)" % (self.value, self.file, self.line, self.origin)


class Conn(object):
    """A conn section with its effective settings after %default and also= are applied.

    ``also`` lists the sections merged through also=, in the order Libreswan
    merges them (including sections reached through other sections).
    ``children`` lists the names pluto gives the conn when leftsubnets= or
    rightsubnets= split it ("name/1x0"), and is empty otherwise. ``problems``
    lists the problems found while loading this conn.
    """

    def __init__(self, name, file, line, keywords):
        self.name = name
        self.file = file
        self.line = line
        self.settings = {}
        self.also = []
        self.children = []
        self.problems = []
        self._keywords = keywords
        self._by_setting = {}

    def get(self, key, default=None):
        """Return the value of ``key``, or ``default`` when it is not set.

        An alias finds the same setting: ``get("salifetime")`` also returns a value written as keylife=.
        """
        key = key.lower()
        setting = self.settings.get(key)
        if setting is None:
            match = self._keywords.find(key)
            if match is not None:
                setting = self._by_setting.get((match.keyword.setting, match.side))
        return default if setting is None else setting.value

    @property
    def errors(self):
        """Errors that keep Libreswan from loading this conn."""
        return [problem for problem in self.problems if problem.severity == "error"]

    def __repr__(self):
        return "Conn(%r, %s:%s)" % (self.name, self.file, self.line)


class Config(object):
    """The parsed configuration: ``config setup``, the conns and every problem found.

    ``fatal_errors`` lists the errors that make addconn load nothing from the file set
    (a syntax error, an unknown keyword). ``rules`` names the release whose rules were
    applied ("4.10", or "5.x" when only the series is known).
    """

    def __init__(self, version, keywords):
        self.version = version
        self.rules = keywords.release()
        self.setup = {}
        self.conns = {}
        self.problems = []
        self.fatal_errors = []
        self.files = []
        self._children = {}

    @property
    def errors(self):
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self):
        return [problem for problem in self.problems if problem.severity == "warning"]

    def raise_for_errors_affecting(self, names):
        """Raise ConfigError for errors that keep any of ``names`` from loading; return the others.

        Libreswan still loads the other conns when one conn has an error of its own (a bad
        value, an also= conflict), so those come back as problems to warn about.
        """
        names = set(names)
        elsewhere = set()
        for conn_name, conn in self.conns.items():
            if conn_name not in names:
                elsewhere.update(id(problem) for problem in conn.problems)
        fatal = set(id(problem) for problem in self.fatal_errors)
        blocking = [problem for problem in self.errors if id(problem) in fatal or id(problem) not in elsewhere]
        if blocking:
            raise ConfigError(blocking)
        return [problem for problem in self.errors if id(problem) in elsewhere]

    def raise_for_errors(self):
        """Raise ConfigError listing every error, if there is any."""
        errors = self.errors
        if errors:
            raise ConfigError(errors)

    def conn(self, name):
        """Return the Conn called ``name`` or the conn that a child name such as "name/1x0"
        belongs to. Return None when there is neither."""
        conn = self.conns.get(name)
        if conn is not None:
            return conn
        base = self._children.get(name)
        return self.conns.get(base) if base is not None else None

    def close_names(self, name, n=3):
        """Return up to ``n`` conn or child names that look like ``name``, best first."""
        names = list(self.conns) + list(self._children)
        return difflib.get_close_matches(name, names, n=n, cutoff=0.6)


class FileReader(object):
    """Read configuration files from the local file system."""

    def read_text(self, path):
        with open(path, "rb") as handle:
            data = handle.read()
        return data.decode("utf-8", "surrogateescape")

    def exists(self, path):
        return os.path.exists(path)

    def is_dir(self, path):
        return os.path.isdir(path)

    def list_dir(self, path):
        return os.listdir(path)


class MemoryReader(object):
    """Serve configuration files from a dict of absolute path -> text.

    Parent directories of every file exist implicitly, and ``directories``
    adds empty ones.
    """

    def __init__(self, files, directories=()):
        self.files = dict((os.path.normpath(path), text) for path, text in files.items())
        self.directories = set()
        for path in list(self.files) + [os.path.normpath(path) for path in directories]:
            parent = path if path not in self.files else os.path.dirname(path)
            while True:
                self.directories.add(parent)
                if parent == os.path.dirname(parent):
                    break
                parent = os.path.dirname(parent)

    def read_text(self, path):
        path = os.path.normpath(path)
        if path in self.files:
            return self.files[path]
        if path in self.directories:
            raise IOError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        raise IOError(errno.ENOENT, os.strerror(errno.ENOENT), path)

    def exists(self, path):
        path = os.path.normpath(path)
        return path in self.files or path in self.directories

    def is_dir(self, path):
        return os.path.normpath(path) in self.directories

    def list_dir(self, path):
        path = os.path.normpath(path)
        if path not in self.directories:
            code = errno.ENOTDIR if path in self.files else errno.ENOENT
            raise OSError(code, os.strerror(code), path)
        names = set()
        for candidate in list(self.files) + list(self.directories):
            if candidate != path and os.path.dirname(candidate) == path:
                names.add(os.path.basename(candidate))
        return sorted(names)


def parse_config(path, version="4", cwd=None, max_include_depth=DEFAULT_MAX_INCLUDE_DEPTH, reader=None):
    """Parse the ipsec.conf at ``path`` and the files it includes.

    ``version`` ("3", "4", "5", or a release such as "4.10") selects the rules.
    Relative paths, for the file itself and for include lines, are resolved
    against ``cwd`` (default: the current directory), because addconn resolves
    them against its working directory (checked with 4.10 and 5.2). The
    ipsec.conf(5) page of both releases describes them as relative to the
    including file, which the programs do not do.
    """
    reader = reader or FileReader()
    cwd = cwd or os.getcwd()
    parser = _Parser(version, reader, cwd, max_include_depth)
    full = path if os.path.isabs(path) else os.path.join(cwd, path)
    try:
        text = reader.read_text(full)
    except (IOError, OSError) as exc:
        parser.problem(full, 0, "", "cannot read the configuration file: %s" % _reason(exc), fatal=True)
        return parser.config
    return parser.run(full, text)


def parse_config_text(text, filename="<text>", version="4", cwd=None,
                      max_include_depth=DEFAULT_MAX_INCLUDE_DEPTH, reader=None):
    """Parse ipsec.conf text and read its include lines through ``reader`` (default: the disk).

    See parse_config for ``version`` and ``cwd``.
    """
    parser = _Parser(version, reader or FileReader(), cwd or os.getcwd(), max_include_depth)
    return parser.run(filename, text)


def _reason(exc):
    return exc.strerror or str(exc)


# Lexing helpers. Each follows one rule of Libreswan's flex scanner. Flex takes
# the longest match and, on a tie, the rule listed first.


def _skip_blanks(line, pos):
    while pos < len(line) and line[pos] in _BLANKS:
        pos += 1
    return pos


def _word_end(line, pos):
    """End of the scanner's keyword token: everything up to a blank, '=' or '"'."""
    while pos < len(line) and line[pos] not in '"= \t':
        pos += 1
    return pos


def _comment_wins(line, pos):
    """Tell whether a '#' at ``pos`` starts a comment.

    The comment rule and the keyword rule both match "#word", and the comment
    wins only when it is longer: when a blank, '=' or '"' follows the '#'
    somewhere on the line. "#note" after a value is therefore an unknown keyword.
    """
    return len(line) - pos > _word_end(line, pos) - pos


def _lex_value(line, pos, series):
    """Read a value the way the scanner's VALUE state does.

    Returns (value, end, form) with form "empty", "quoted", "braced", "raw" or,
    in 4.x, "integer". Quotes and braces are removed, and there are no escapes.
    """
    pos = _skip_blanks(line, pos)
    if pos >= len(line):
        return "", pos, "empty"
    candidates = []
    if series < 5:
        end = pos
        while end < len(line) and line[end] in "0123456789":
            end += 1
        if end > pos:
            candidates.append((end - pos, 0, line[pos:end], "integer"))
    if line[pos] == '"':
        close = line.find('"', pos + 1)
        if close != -1:
            candidates.append((close + 1 - pos, 1, line[pos + 1:close], "quoted"))
    if line[pos] == "{":
        quote = line.find('"', pos + 1)
        close = line.rfind("}", pos + 1, quote if quote != -1 else len(line))
        if close != -1:
            candidates.append((close + 1 - pos, 2, line[pos + 1:close], "braced"))
    for priority, stop in ((3, '" \t'), (4, "{} \t")):
        end = pos
        while end < len(line) and line[end] not in stop:
            end += 1
        if end > pos:
            candidates.append((end - pos, priority, line[pos:end], "raw"))
    length, _priority, value, form = sorted(candidates, key=lambda item: (-item[0], item[1]))[0]
    return value, pos + length, form


def _lex_bool_4(line, pos):
    """Read a 4.x boolean value: the scanner drops every character until a boolean word matches.

    Returns (word or None, end, dropped characters).
    """
    words = sorted(BOOLEAN_WORDS_4, key=len, reverse=True)
    dropped = []
    while pos < len(line):
        if line[pos] in _BLANKS:
            pos += 1
            continue
        for word in words:
            if line.startswith(word, pos):
                return word, pos + len(word), dropped
        dropped.append(line[pos])
        pos += 1
    return None, pos, dropped


def _trailing_text(line, pos):
    """Return (position, token) of text after a complete statement, or None when the rest is
    blanks, a comment or stray double quotes (which the scanner skips)."""
    while pos < len(line):
        char = line[pos]
        if char in _BLANKS or char == '"':
            pos += 1
            continue
        if char == "#" and _comment_wins(line, pos):
            return None
        end = _word_end(line, pos)
        return pos, line[pos:max(end, pos + 1)]
    return None


def _trailing_message(token, after):
    """Describe text found after a complete statement."""
    if token.startswith("#"):
        return ("'%s' after %s is not a comment, because Libreswan reads '#' as a comment only when a blank "
                "follows somewhere on the line. Write '# %s'" % (token, after, token[1:]))
    return "unexpected '%s' after %s: a value that contains blanks must be in double quotes" % (token, after)


# Include patterns: glob(3) with GLOB_ERR, plus GLOB_BRACE before 5.0.


def _expand_braces(pattern):
    """Expand {a,b} alternatives in order, as glob(3) with GLOB_BRACE does."""
    start = pattern.find("{")
    while start > 0 and pattern[start - 1] == "\\":
        start = pattern.find("{", start + 1)
    if start == -1:
        return [pattern]
    depth = 0
    parts = []
    begin = start + 1
    for index in range(start, len(pattern)):
        char = pattern[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[begin:index])
                prefix, suffix = pattern[:start], pattern[index + 1:]
                expanded = []
                for part in parts:
                    expanded.extend(_expand_braces(prefix + part + suffix))
                return expanded
        elif char == "," and depth == 1:
            parts.append(pattern[begin:index])
            begin = index + 1
    return [pattern]


def _component_regex(component):
    """Translate one path component of a glob(3) pattern into a regular expression."""
    out = []
    index = 0
    while index < len(component):
        char = component[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = index + 1
            if end < len(component) and component[end] in "!^":
                end += 1
            if end < len(component) and component[end] == "]":
                end += 1
            while end < len(component) and component[end] != "]":
                end += 1
            if end >= len(component):
                out.append(re.escape(char))
            else:
                body = component[index + 1:end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                index = end
        elif char == "\\" and index + 1 < len(component):
            index += 1
            out.append(re.escape(component[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z")


def _glob(reader, pattern):
    """Expand one pattern like glob(3) with GLOB_ERR.

    Returns (sorted paths, None), or ([], (directory, reason)) when a directory
    on the way cannot be read, because glob(3) then aborts the whole pattern.
    """
    if not _GLOB_MAGIC.search(pattern):
        return ([pattern] if reader.exists(pattern) else []), None
    dirname, basename = os.path.split(pattern)
    if _GLOB_MAGIC.search(dirname):
        directories, failure = _glob(reader, dirname)
        if failure:
            return [], failure
        directories = [directory for directory in directories if reader.is_dir(directory)]
    else:
        directories = [dirname or os.sep]
    matches = []
    for directory in directories:
        if not _GLOB_MAGIC.search(basename):
            candidate = os.path.join(directory, basename)
            if reader.exists(candidate):
                matches.append(candidate)
            continue
        try:
            names = reader.list_dir(directory)
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOTDIR:
                continue
            return [], (directory, _reason(exc))
        regex = _component_regex(basename)
        for name in names:
            if name.startswith(".") and not basename.startswith("."):
                continue
            if regex.match(name):
                matches.append(os.path.join(directory, name))
    return sorted(matches), None


class _Entry(object):
    """One keyword=value statement as read from a section."""

    __slots__ = ("match", "word", "value", "form", "file", "line", "text")

    def __init__(self, match, word, value, form, file, line, text):
        self.match = match
        self.word = word
        self.value = value
        self.form = form
        self.file = file
        self.line = line
        self.text = text


class _Section(object):
    """A 'config setup' or 'conn NAME' section with its statements in file order."""

    def __init__(self, kind, name, file, line, text, read):
        self.kind = kind
        self.name = name
        self.file = file
        self.line = line
        self.text = text
        # Number of the file read that produced the section: a file included twice gets two numbers.
        self.read = read
        self.entries = []
        self.comments = []
        self.ignored = False
        # (entry, reason, fix) for values that make Libreswan reject this conn when it loads it.
        self.load_errors = []

    @property
    def label(self):
        return "config setup" if self.kind == "setup" else "conn %s" % self.name


class _Value(object):
    """A setting while a conn is loaded. ``assigned`` is "default" or "set", as in Libreswan."""

    __slots__ = ("entry", "setting", "assigned")

    def __init__(self, entry, setting, assigned):
        self.entry = entry
        self.setting = setting
        self.assigned = assigned


class _Line(object):
    """The line being read, to report problems at its place."""

    def __init__(self, parser, path, number, raw, section):
        self.parser = parser
        self.path = path
        self.number = number
        self.raw = raw
        self.label = section.label if section is not None else None

    def error(self, message, fatal=False):
        self.parser.problem(self.path, self.number, self.raw, message, section=self.label, fatal=fatal)

    def warning(self, message):
        self.parser.problem(self.path, self.number, self.raw, message, section=self.label, severity="warning")


class _Parser(object):
    """Read the main file and its includes into sections, then load the conns."""

    def __init__(self, version, reader, cwd, max_include_depth):
        self.keywords = Keywords(version)
        self.series = self.keywords.series
        self.release = self.keywords.release()
        self.reader = reader
        self.cwd = cwd
        self.max_include_depth = max_include_depth
        self.config = Config(str(version), self.keywords)
        self.sections = []
        self.reads = 0
        self.setup_sections = 0
        self.seen_statement = False
        if self.keywords.major > 5:
            self.problem("", 0, "", "Libreswan %d is newer than the rules of this collection, so the 5.x rules "
                         "are used" % self.keywords.major, severity="warning")

    def problem(self, file, line, text, message, section=None, severity="error", fatal=False, conn=None):
        problem = ConfigProblem(file, line, text, message, section=section, severity=severity)
        self.config.problems.append(problem)
        if fatal:
            self.config.fatal_errors.append(problem)
        if conn is not None:
            conn.problems.append(problem)
        return problem

    def run(self, path, text):
        self.parse_file(path, text, 0)
        _Loader(self).load()
        return self.config

    # Files and top-level lines

    def parse_file(self, path, text, depth):
        if path not in self.config.files:
            self.config.files.append(path)
        self.reads += 1
        lines = text.split("\n")
        ends_with_newline = text.endswith("\n")
        if ends_with_newline:
            lines.pop()
        if "\r" in text:
            number = next(index for index, line in enumerate(lines, 1) if "\r" in line)
            self.problem(path, number, lines[number - 1], "the file has Windows (CRLF) line endings: Libreswan "
                         "keeps the carriage return in names and values, so convert the file to Unix (LF) "
                         "line endings")

        section = None
        swallow = None
        for number, raw in enumerate(lines, 1):
            if swallow is not None:
                swallow.value = raw
                swallow = None
                continue
            stripped = raw.lstrip(_BLANKS)
            if not stripped:
                continue
            # A comment line needs its newline. Without it, _comment_wins decides.
            last_without_newline = number == len(lines) and not ends_with_newline
            if stripped[0] == "#" and not last_without_newline:
                continue
            line = _Line(self, path, number, raw, section)
            if raw[0] in _BLANKS:
                swallow = self.body_line(line, section)
            else:
                section = self.top_line(line, section, depth)

    def top_line(self, line, section, depth):
        """Handle a line that starts in column 0 and return the section that is open afterwards."""
        raw = line.raw
        if raw[0] == "#" and _comment_wins(raw, 0):
            return section
        if raw[0] in '="':
            line.error("unexpected '%s' at the start of a line" % raw[0], fatal=True)
            return section

        end = _word_end(raw, 0)
        word = raw[:end]
        first_statement = not self.seen_statement
        self.seen_statement = True
        if word == "config":
            return self.config_line(line, end)
        if word == "conn":
            return self.conn_line(line, end)
        if word == "include":
            self.include_line(line, end, depth)
            return None
        if word == "version":
            self.version_line(line, end, first_statement and depth == 0)
            return section
        self.column_zero_line(line, word, end, section)
        return section

    def config_line(self, line, end):
        raw = line.raw
        start = _skip_blanks(raw, end)
        second = raw[start:_word_end(raw, start)]
        line.label = "config setup"
        if second != "setup":
            line.error("expected 'config setup', found 'config %s'" % second, fatal=True)
        else:
            trailing = _trailing_text(raw, _word_end(raw, start))
            if trailing:
                line.error(_trailing_message(trailing[1], "'config setup'"), fatal=True)

        section = _Section("setup", None, line.path, line.number, raw, self.reads)
        self.setup_sections += 1
        if self.setup_sections > 1 and self.series < 5:
            # 4.10 links the first keyword of a second 'config setup' to nothing, which loses all of them.
            section.ignored = True
            line.warning("second 'config setup' section: Libreswan %s ignores every keyword in it, so merge it "
                         "into the first one" % self.release)
        self.sections.append(section)
        return section

    def conn_line(self, line, end):
        name, stop, form = _lex_value(line.raw, end, self.series)
        if form == "empty":
            line.error("missing conn name after 'conn'", fatal=True)
            return None
        line.label = "conn %s" % name
        if form == "integer":
            line.error("conn name '%s' is only digits, which Libreswan %s rejects as a syntax error. Add a letter "
                       "or put the name in double quotes" % (name, self.release), fatal=True)
        trailing = _trailing_text(line.raw, stop)
        if trailing and trailing[1].startswith("#"):
            line.error(_trailing_message(trailing[1], "conn name '%s'" % name), fatal=True)
        elif trailing:
            line.error("unexpected '%s' after conn name '%s': a conn name cannot contain blanks"
                       % (trailing[1], name), fatal=True)

        section = _Section("conn", name, line.path, line.number, line.raw, self.reads)
        self.sections.append(section)
        return section

    def version_line(self, line, end, allowed):
        value, stop, form = _lex_value(line.raw, end, self.series)
        if not allowed:
            line.error("'version' is only allowed as the first statement of the main file", fatal=True)
        elif form == "empty":
            line.error("missing value after 'version', such as 'version 2'", fatal=True)
        trailing = _trailing_text(line.raw, stop)
        if trailing:
            line.error(_trailing_message(trailing[1], "version %s" % value), fatal=True)

    def column_zero_line(self, line, word, end, section):
        raw = line.raw
        known = self.keywords.find(word) is not None or self.keywords.is_comment(word)
        equals = _skip_blanks(raw, end)
        assignment = equals < len(raw) and raw[equals] == "="
        if section is not None and (known or assignment):
            message = ("'%s' starts in column 0, so it is not part of %s and Libreswan rejects the file. Indent "
                       "the line with a blank or a tab" % (raw.strip(), section.label))
        elif word.startswith("#"):
            message = ("'%s' on the last line is read as a keyword because the file does not end with a newline. "
                       "Add the newline" % word)
        else:
            message = ("unexpected '%s' at the start of a line: a line in column 0 must start a section "
                       "('conn NAME', 'config setup') or be 'include FILE'" % word)
        if not known and assignment:
            hint = self.keywords.unknown_hint(word)
            message += ", and '%s' is not a keyword either%s" % (word, " (%s)" % hint if hint else "")
        line.error(message, fatal=True)

    # include

    def include_line(self, line, end, depth):
        raw = line.raw
        pattern, stop, form = _lex_value(raw, end, self.series)
        if form == "empty":
            line.error("missing file name after 'include'", fatal=True)
            return
        if self.series < 5 and (form == "integer" or "=" in pattern):
            line.error("Libreswan %s cannot read the include file name '%s'" % (self.release, pattern), fatal=True)
            return

        trailing = _trailing_text(raw, stop)
        if trailing and self.series < 5 and "=" not in raw[stop:]:
            # Checked with 4.10: words after the file name are ignored, an '=' is a syntax error.
            line.warning("Libreswan %s ignores '%s' after the file name because include takes exactly one file "
                         "name" % (self.release, raw[trailing[0]:].strip(_BLANKS)))
        elif trailing:
            line.error("unexpected '%s' after include %s: include takes exactly one file name, and a name with "
                       "blanks must be in double quotes" % (trailing[1], pattern), fatal=True)
            return
        self.include(line, pattern, depth)

    def include(self, line, pattern, depth):
        full = pattern if os.path.isabs(pattern) else os.path.join(self.cwd, pattern)
        alternatives = _expand_braces(full) if self.series < 5 else [full]
        matches = []
        for alternative in alternatives:
            found, failure = _glob(self.reader, alternative)
            if failure:
                line.warning("include %s: cannot read directory %s (%s), so Libreswan skips the whole include"
                             % (pattern, failure[0], failure[1]))
                return
            matches.extend(found)

        if not matches:
            # Like glob(3) users in Libreswan, only a pattern with '*' may match nothing quietly.
            if "*" not in pattern:
                note = ""
                if self.series >= 5 and len(_expand_braces(full)) > 1:
                    note = " (Libreswan 5 does not expand {a,b} in include lines)"
                line.warning("include %s: file not found%s, so Libreswan skips the line" % (pattern, note))
            return
        if depth + 1 >= self.max_include_depth:
            line.warning("include %s: files are nested more than %d deep, so Libreswan skips this include"
                         % (pattern, self.max_include_depth))
            return

        for index, match in enumerate(matches):
            if self.reader.is_dir(match):
                line.error("include %s matches the directory %s, which makes Libreswan stop with 'input in flex "
                           "scanner failed'" % (pattern, match), fatal=True)
                return
            try:
                text = self.reader.read_text(match)
            except (IOError, OSError) as exc:
                rest = len(matches) - index - 1
                line.warning("include %s: cannot read %s (%s), so Libreswan skips it%s"
                             % (pattern, match, _reason(exc), " and the %d files after it" % rest if rest else ""))
                return
            self.parse_file(match, text, depth + 1)

    # Statements inside a section

    def body_line(self, line, section):
        """Handle an indented line. Return the entry that takes the next line as its value (4.x only) or None."""
        raw = line.raw
        if section is None:
            line.error("indented line outside any section: a section starts with 'conn NAME' or 'config setup' "
                       "in column 0, and an include line ends the section before it", fatal=True)
            return None

        pos = _skip_blanks(raw, 0)
        quotes = 0
        while pos < len(raw) and raw[pos] == '"':
            quotes += 1
            pos = _skip_blanks(raw, pos + 1)
        if pos >= len(raw) or (raw[pos] == "#" and _comment_wins(raw, pos)):
            return None
        if raw[pos] == "=":
            line.error("'=' without a keyword before it", fatal=True)
            return None

        end = _word_end(raw, pos)
        word = raw[pos:end]
        if quotes:
            line.warning("stray '\"' before keyword '%s' is ignored" % word)
        if word in _SECTION_WORDS:
            line.error("'%s' is indented, but it must start in column 0" % word, fatal=True)
            return None
        if self.keywords.is_comment(word):
            return self.comment_statement(line, section, word, end)
        if word.startswith("#"):
            line.error("'%s' is not a comment because the last line has no newline, so Libreswan reads it as a "
                       "keyword. Add the newline" % word, fatal=True)
            return None

        entry = self.keyword_statement(line, word, end)
        if entry is not None and self.check_entry(section, entry, line):
            self.add_entry(section, entry, line)
        return None

    def keyword_statement(self, line, word, end):
        """Read 'keyword = value' into an _Entry, or return None after reporting why the line is invalid."""
        raw = line.raw
        match = self.keywords.find(word)
        if match is None or self.keywords.status(match.keyword) == "missing":
            hint = self.keywords.unknown_hint(word)
            line.error("unknown keyword '%s'%s" % (word, ": " + hint if hint else ""), fatal=True)
            return None
        start = self.skip_to_equals(line, word, end)
        if start is None:
            line.error("missing '=' after keyword '%s'" % word, fatal=True)
            return None

        if self.series < 5 and match.keyword.kind == "bool":
            value, stop = self.boolean_value_4(line, word, start)
            form = "raw"
            if value is None:
                return None
        else:
            value, stop, form = _lex_value(raw, start, self.series)

        trailing = _trailing_text(raw, stop)
        if trailing and trailing[0] == stop and not trailing[1].startswith("#"):
            line.error("the value of '%s' ends after '%s' and Libreswan reads the '%s' that follows as another "
                       "keyword. A value without quotes cannot contain both '\"' and '{' or '}', and a quoted "
                       "value cannot contain '\"'" % (word, raw[start:stop].strip(_BLANKS), trailing[1]), fatal=True)
            return None
        if trailing:
            line.error(_trailing_message(trailing[1], "the value of '%s'" % word), fatal=True)
            return None
        return _Entry(match, word, value, form, line.path, line.number, raw)

    def boolean_value_4(self, line, word, start):
        value, stop, dropped = _lex_bool_4(line.raw, start)
        if value is None:
            line.error("invalid value for boolean keyword '%s': Libreswan %s accepts only %s (lower case, nothing "
                       "else)" % (word, self.release, ", ".join(BOOLEAN_WORDS_4)), fatal=True)
        elif [char for char in dropped if char != '"']:
            line.warning("Libreswan %s skips '%s' in the value of '%s' and reads '%s'"
                         % (self.release, "".join(dropped), word, value))
        return value, stop

    def skip_to_equals(self, line, word, end):
        """Return the position after '=', or None when the line has none."""
        raw = line.raw
        pos = end
        ignored = []
        while pos < len(raw) and raw[pos] != "=":
            if raw[pos] not in _BLANKS:
                ignored.append(raw[pos])
            pos += 1
        if pos >= len(raw):
            return None
        if ignored:
            line.warning("Libreswan ignores '%s' between '%s' and '='" % ("".join(ignored), word))
        return pos + 1

    def comment_statement(self, line, section, word, end):
        """Store an x-/x_ comment key, whose value is the rest of the line with its blanks."""
        start = self.skip_to_equals(line, word, end)
        if start is None:
            if self.series < 5:
                line.error("missing '=' after comment key '%s'" % word, fatal=True)
            else:
                section.comments.append(_Entry(None, word, "", "raw", line.path, line.number, line.raw))
            return None

        entry = _Entry(None, word, line.raw[start:], "raw", line.path, line.number, line.raw)
        section.comments.append(entry)
        if entry.value == "" and self.series < 5:
            # 4.x's scanner has no rule for an empty comment value and reads the next line as the value.
            line.warning("empty comment key '%s=': Libreswan %s takes the next line as its value, so that line "
                         "is lost. Write a value or delete the line" % (word, self.release))
            return entry
        return None

    # Checks on one statement

    def check_entry(self, section, entry, line):
        """Apply the checks Libreswan makes while reading a statement. Return False to drop it."""
        keyword = entry.match.keyword
        if not self.check_section(section, entry, line):
            return False
        if self.keywords.status(keyword) == "obsolete":
            hint = self.keywords.obsolete_hint(keyword.name)
            line.warning("obsolete keyword '%s' is ignored by Libreswan %s%s"
                         % (entry.word, self.release, ": " + hint if hint else ""))
            return False

        if entry.match.bare:
            if self.series >= 5 and self.keywords.minor is not None and self.keywords.minor >= 4:
                line.error("'%s' needs a left or right prefix (left%s or right%s)"
                           % (entry.word, keyword.name, keyword.name), fatal=True)
                return False
            line.warning("'%s' without a left or right prefix sets %s, so write %s%s"
                         % (entry.word, entry.match.key, entry.match.key,
                            " (Libreswan 5.4 rejects the bare form)" if self.series >= 5 else ""))
        self.note_release(entry, line)
        if self.series < 5:
            return self.check_value_4(section, entry, line)
        return self.check_value_5(entry, line)

    def check_section(self, section, entry, line):
        keyword = entry.match.keyword
        if section.kind == "setup" and "setup" not in keyword.sections:
            if self.series < 5:
                line.error("'%s' is a conn keyword and not valid in config setup, so Libreswan %s rejects the file"
                           % (entry.word, self.release), fatal=True)
            else:
                line.warning("'%s' is a conn keyword and not valid in config setup, so Libreswan %s ignores it"
                             % (entry.word, self.release))
            return False

        if section.kind == "conn" and "conn" not in keyword.sections:
            # 4.10 reports this as an error but still loads the conn. It is an error here too because
            # the setting has no effect.
            if self.series < 5:
                line.error("'%s' is a config setup keyword and not valid in a conn: Libreswan %s ignores it and "
                           "reports an error" % (entry.word, self.release))
            else:
                line.warning("'%s' is a config setup keyword and not valid in a conn, so Libreswan %s ignores it"
                             % (entry.word, self.release))
            return False

        if section.kind == "conn" and section.name == "%default" and keyword.kind == "also":
            if self.series < 5:
                line.error("also= is not valid in conn %%default: Libreswan %s reports an error, still passes it "
                           "on to every conn and stops reading later %%default sections" % self.release)
                return True
            line.warning("also= is not valid in conn %%default, so Libreswan %s ignores it" % self.release)
            return False
        return True

    def note_release(self, entry, line):
        keyword = entry.match.keyword
        feature = self.keywords.build_option(keyword.name)
        if feature:
            line.warning("'%s' exists only when Libreswan is built with %s; without it Libreswan rejects the "
                         "file" % (entry.word, feature))
        if self.keywords.minor is None and (keyword.until is not None or keyword.obsolete_since):
            note = self.keywords.release_note(keyword)
            if note:
                line.warning("'%s': %s" % (entry.word, note))
                return
        current = self.keywords.old_spelling(keyword)
        if current:
            line.warning("'%s' is the old spelling of '%s'" % (entry.word, current))

    def check_value_4(self, section, entry, line):
        kind = entry.match.keyword.kind
        if entry.form == "empty":
            if kind in ("time", "time_ms", "percent", "binary", "byte"):
                line.error("'%s=' needs a value because Libreswan %s rejects an empty value for it"
                           % (entry.word, self.release), fatal=True)
            # Libreswan 4 ignores KEYWORD= with nothing after it.
            return False
        if entry.form == "integer" and kind == "percent":
            line.error("'%s=%s' needs a '%%' sign because Libreswan %s rejects a bare number"
                       % (entry.word, entry.value, self.release), fatal=True)
            return False

        if entry.form == "integer" and kind == "string":
            if section.kind == "conn":
                section.load_errors.append((entry, "'%s' has a value made only of digits" % entry.word,
                                            "Put the value in double quotes"))
            else:
                line.warning("Libreswan %s drops a value made only of digits for '%s'. Put the value in double "
                             "quotes" % (self.release, entry.word))
            return False

        unit = "ms" if kind == "time_ms" else "s"
        if kind in ("time", "time_ms") and entry.form != "integer" and parse_duration(entry.value, 4, unit) is None:
            line.warning("invalid duration '%s' for '%s': Libreswan %s ignores the setting. Use a number with an "
                         "optional unit s, m, h or d" % (entry.value, entry.word, self.release))
            return False
        if kind == "percent" and not _PERCENT.match(entry.value):
            line.warning("invalid percentage '%s' for '%s', so Libreswan %s ignores the setting"
                         % (entry.value, entry.word, self.release))
            return False
        if kind == "number" and entry.form != "integer":
            line.warning("'%s' for '%s' is not a number, so Libreswan %s uses 0"
                         % (entry.value, entry.word, self.release))
        if kind == "enum" and entry.form != "integer":
            return self.check_enum_4(entry, line)
        return True

    def check_enum_4(self, entry, line):
        """Check a word value as 4.x does: it splits the value at ':', ',' and blanks, stops with
        an error when the first word is unknown and when more than one word is known."""
        allowed = self.keywords.enum_values(entry.match.keyword)
        if allowed is None:
            return True
        known = 0
        for word in re.split(r"[:, \t]+", entry.value):
            if not word:
                continue
            if word.lower() in allowed:
                known += 1
            elif known == 0:
                line.error("invalid value '%s' for '%s', which makes Libreswan %s stop with an error. Use one of: "
                           "%s" % (word, entry.word, self.release, ", ".join(allowed)), fatal=True)
                return False
        if known > 1:
            line.error("'%s' takes one value, not '%s', and Libreswan %s stops with an error"
                       % (entry.word, entry.value, self.release), fatal=True)
            return False
        return True

    def check_value_5(self, entry, line):
        kind = entry.match.keyword.kind
        value = entry.value
        unit = "ms" if kind == "time_ms" else "s"
        invalid = None
        if kind == "bool" and parse_bool(value, 5) is None:
            invalid = "it is not a yes/no value"
        elif kind in ("time", "time_ms") and parse_duration(value, 5, unit) is None:
            invalid = "it is not a duration such as 30s, 5m, 1h or 1d"
        elif kind == "number" and not _DIGITS.match(value):
            invalid = "it is not a number"
        elif kind == "percent" and not _PERCENT.match(value):
            invalid = "it is not a percentage such as 50%"
        elif kind in ("enum", "binary", "byte") and value == "":
            invalid = "it is empty"
        elif kind == "enum" and self.keywords.enum_values(entry.match.keyword) is not None \
                and value.lower() not in self.keywords.enum_values(entry.match.keyword):
            invalid = "use one of: %s" % ", ".join(self.keywords.enum_values(entry.match.keyword))
        if invalid:
            line.warning("invalid value '%s' for '%s' (%s), so Libreswan %s ignores the setting"
                         % (value, entry.word, invalid, self.release))
            return False
        return True

    def add_entry(self, section, entry, line):
        """Append a statement to its section. In a conn, 5.x keeps the first of two equal keywords."""
        if self.series >= 5 and section.kind == "conn" and entry.match.keyword.kind != "also":
            for earlier in section.entries:
                if earlier.match.keyword is entry.match.keyword and earlier.match.side == entry.match.side:
                    line.warning("'%s' is already set at %s:%d, so Libreswan %s ignores this line"
                                 % (entry.word, earlier.file, earlier.line, self.release))
                    return
        section.entries.append(entry)


class _Loader(object):
    """Turn the sections into Config.setup and Config.conns as addconn loads them."""

    def __init__(self, parser):
        self.parser = parser
        self.config = parser.config
        self.keywords = parser.keywords
        self.series = parser.series
        self.release = parser.release
        self.first_section = {}
        for section in parser.sections:
            if section.kind == "conn":
                self.first_section.setdefault(section.name, section)

    def problem(self, where, message, section, severity="error", conn=None):
        self.parser.problem(where.file, where.line, where.text, message, section=section, severity=severity,
                            conn=conn)

    def load(self):
        self.load_setup()
        defaults = self.load_defaults()
        for section in self.parser.sections:
            if section.kind != "conn" or section.name == "%default":
                continue
            first = self.first_section[section.name]
            if first is section:
                self.config.conns[section.name] = self.load_conn(section, defaults)
                continue
            twice = first.file == section.file and first.read != section.read
            self.problem(section, "conn '%s' is defined twice: 'ipsec auto --add %s' uses the first definition, "
                         "at %s:%d%s" % (section.name, section.name, first.file, first.line,
                                         " (the file is included twice)" if twice else ""),
                         section.label, severity="warning")

    def load_setup(self):
        by_setting = {}
        for section in self.parser.sections:
            if section.kind != "setup" or section.ignored:
                continue
            for entry in section.entries:
                key = (entry.match.keyword.setting, entry.match.side)
                earlier = by_setting.get(key)
                if earlier is not None:
                    self.problem(entry, "'%s' is set again, replacing the value from %s:%d"
                                 % (entry.word, earlier.file, earlier.line), "config setup", severity="warning")
                    self.config.setup.pop(earlier.match.key, None)
                by_setting[key] = entry
                self.config.setup[entry.match.key] = Setting(entry.value, entry.file, entry.line, "setup")
            for entry in section.comments:
                self.config.setup[entry.word.lower()] = Setting(entry.value, entry.file, entry.line, "setup")

    def load_defaults(self):
        """Merge every conn %default section. For each setting the last value wins."""
        values = {}
        for section in self.parser.sections:
            if section.kind != "conn" or section.name != "%default":
                continue
            for entry, reason, fix in section.load_errors:
                self.problem(entry, "%s, so Libreswan %s stops reading conn %%default sections. %s"
                             % (reason, self.release, fix), section.label)
            for entry in section.entries:
                self.assign(values, entry, "%default", "default", None)
            # 4.x stops at the first %default that fails to load or sets also= (both reported already).
            if self.series < 5 and (section.load_errors or ("also", None) in values):
                break
        return values

    def load_conn(self, section, defaults):
        conn = Conn(section.name, section.file, section.line, self.keywords)
        for entry, reason, fix in section.load_errors:
            self.problem(entry, "%s, so Libreswan %s does not load conn %s. %s"
                         % (reason, self.release, conn.name, fix), section.label, conn=conn)

        values = dict((key, _Value(value.entry, value.setting, "default")) for key, value in defaults.items())
        if self.series < 5:
            self.load_conn_4(conn, section, values)
        else:
            self.load_conn_5(conn, section, values)

        for key, value in values.items():
            if value.entry.match.keyword.kind == "also":
                continue
            conn.settings[value.entry.match.key] = value.setting
            conn._by_setting[key] = value.setting
        for entry in section.comments:
            conn.settings[entry.word.lower()] = Setting(entry.value, entry.file, entry.line, "conn")
        conn.children = self.children(conn, values)
        for child in conn.children:
            self.config._children.setdefault(child, conn.name)
        return conn

    def load_conn_4(self, conn, section, values):
        """Load a conn as 4.x does: its own lines first, then each also= section breadth-first.
        A value already set by the conn or an earlier section is kept."""
        for entry in section.entries:
            self.assign(values, entry, "conn", "set", conn)
        alsos = self.also_names(values)
        visited = set([id(section)])
        index = 0
        while index < len(alsos):
            if len(alsos) >= _ALSO_LIMIT:
                self.problem(section, "more than %d also= references, so Libreswan %s does not load conn %s"
                             % (_ALSO_LIMIT, self.release, conn.name), section.label, conn=conn)
                break
            name = alsos[index]
            index += 1
            target = self.first_section.get(name)
            if target is None:
                self.missing_also(conn, section, name, section)
                continue
            if id(target) in visited:
                continue
            visited.add(id(target))
            conn.also.append(name)
            # Only the also= values of the section just merged extend the list.
            values.pop(("also", None), None)
            for entry in target.entries:
                self.assign(values, entry, "also:%s" % name, "set", conn)
            alsos.extend(self.also_names(values))

    def load_conn_5(self, conn, section, values):
        """Load a conn as 5.x does: also= pastes the named section in place and the first value set wins."""
        visited = set()

        def expand(current, origin):
            if id(current) in visited:
                return
            visited.add(id(current))
            for entry in current.entries:
                if entry.match.keyword.kind != "also":
                    self.assign(values, entry, origin, "set", conn)
                    continue
                target = self.first_section.get(entry.value)
                if target is None:
                    self.missing_also(conn, section, entry.value, entry)
                    continue
                if id(target) not in visited:
                    conn.also.append(entry.value)
                expand(target, "also:%s" % entry.value)

        expand(section, "conn")

    def also_names(self, values):
        value = values.get(("also", None))
        return value.setting.value.split() if value is not None else []

    def missing_also(self, conn, section, name, where):
        note = ""
        if self.series >= 5 and len(name.split()) > 1:
            note = ". Libreswan 5 takes one conn name per also= line"
        self.problem(where, "also=%s: conn '%s' not found, so Libreswan %s does not load conn %s%s"
                     % (name, name, self.release, conn.name, note), section.label, conn=conn)

    def assign(self, values, entry, origin, assigned, conn):
        """Set one value as Libreswan's loader does. ``assigned`` is "default" or "set"."""
        keyword = entry.match.keyword
        key = (keyword.setting, entry.match.side)
        current = values.get(key)
        if keyword.kind in ("list", "also") and current is not None:
            joined = current.setting.value + " " + entry.value
            setting = Setting(joined, current.setting.file, current.setting.line, current.setting.origin)
            values[key] = _Value(current.entry, setting, assigned)
            return
        if current is not None and current.assigned == "set" and assigned == "set":
            self.duplicate(conn, current.entry, entry, origin)
            return
        values[key] = _Value(entry, Setting(entry.value, entry.file, entry.line, origin), assigned)

    def duplicate(self, conn, first, entry, origin):
        source = "" if origin == "conn" else " (from %s)" % origin.replace(":", "=", 1)
        if not self.conflicts(entry.match.keyword, first.value, entry.value):
            self.problem(entry, "'%s' is set again%s with the same value as at %s:%d"
                         % (entry.word, source, first.file, first.line), "conn %s" % conn.name,
                         severity="warning", conn=conn)
            return
        self.problem(entry, "'%s' is set again%s but is already '%s' at %s:%d: Libreswan %s does not load conn %s "
                     "when a keyword is set twice%s"
                     % (entry.word, source, first.value, first.file, first.line, self.release, conn.name,
                        " (for this keyword even with the same value)" if first.value == entry.value else ""),
                     "conn %s" % conn.name, conn=conn)

    def conflicts(self, keyword, first, second):
        """Tell whether Libreswan rejects the conn when ``keyword`` gets a second value.

        Checked with 4.10 and 5.2: a text keyword set twice always breaks the conn, a
        number, boolean or word only when the values differ.
        """
        kind = keyword.kind
        if kind == "string":
            return True
        if kind == "loose":
            return self.series >= 5 or first != second or first.startswith("%") or first == ""
        if kind == "bool":
            return parse_bool(first, self.series) != parse_bool(second, self.series)
        if kind in ("time", "time_ms"):
            unit = "ms" if kind == "time_ms" else "s"
            return parse_duration(first, self.series, unit) != parse_duration(second, self.series, unit)
        if kind == "number" and _DIGITS.match(first) and _DIGITS.match(second):
            return int(first) != int(second)
        if kind == "enum":
            return first.lower() != second.lower()
        return first != second

    def children(self, conn, values):
        """Return the names pluto gives a conn that leftsubnets=/rightsubnets= split.

        The names are NAME/LxR: L and R count the subnets= entries from 1, and 0 is
        subnet= or no subnet on that side.
        """
        if ("subnets", "left") not in values and ("subnets", "right") not in values:
            return []
        sides = []
        for side in ("left", "right"):
            indexes = []
            if ("subnet", side) in values:
                indexes.append((0, values[("subnet", side)].setting.value))
            subnets = values.get(("subnets", side))
            items = re.split(r"[\s,]+", subnets.setting.value.strip()) if subnets else []
            indexes.extend((number, item) for number, item in enumerate([item for item in items if item], 1))
            sides.append(indexes or [(0, None)])

        names = []
        for left_index, left_subnet in sides[0]:
            for right_index, right_subnet in sides[1]:
                families = set(_family(subnet) for subnet in (left_subnet, right_subnet) if subnet)
                if self.series >= 5 and len(families) > 1:
                    # 5.x skips pairs that mix IPv4 and IPv6.
                    continue
                names.append("%s/%dx%d" % (conn.name, left_index, right_index))
        return names


def _family(subnet):
    return 6 if ":" in subnet else 4

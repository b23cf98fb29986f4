"""Read contributor files safely and keep the line of every YAML value.

Contributors are not developers: a file may be empty, binary, in the wrong
encoding, huge, or have no header at all. Every such case becomes one
:class:`~infolettre.errors.Problem` naming the file and line, never a traceback.
Values are parsed with PyYAML's composer so that each key keeps its line number
for later messages.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from yaml.constructor import SafeConstructor

from ..errors import Problem, ProblemsFound
from ..words import shown

__all__ = ["MAX_FILE_BYTES", "Doc", "decode_utf8", "read_front_matter", "read_text",
           "read_yaml"]

MAX_FILE_BYTES = 1024 * 1024
_MAX_NODES = 50_000  # bounds alias expansion ("billion laughs") and deep nesting
#: No file of an issue nests deeper than a few levels; PyYAML's composer recurses
#: once per level, so depth is bounded before composing (a RecursionError otherwise).
MAX_DEPTH = 50

KeyPath = tuple[str | int, ...]


@dataclass
class Doc:
    """A parsed source file: its data, where each value sits, and its Markdown body."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1

    def line(self, *keys: str | int) -> int:
        """Line of the value at ``keys``, or of its closest enclosing value."""
        path: KeyPath = tuple(keys)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, message: str, *keys: str | int) -> Problem:
        """A problem located at the value at ``keys``."""
        return Problem(self.path, self.line(*keys), message)


def _fail(path: Path, line: int, message: str) -> ProblemsFound:
    return ProblemsFound([Problem(path, line, message)])


#: What to do about a file that is not UTF-8, unless the caller knows better.
SAVE_AS_UTF8 = "save the file with the UTF-8 encoding"


def decode_utf8(raw: bytes, path: Path, line: int = 1, *, advice: str = SAVE_AS_UTF8) -> str:
    """``raw`` decoded as UTF-8, or ProblemsFound naming the line of the first bad byte.

    ``raw`` is the part of ``path`` that starts on ``line``: a whole file, or one
    line of a file read line by line (the subscribers' CSV import). A byte-order
    mark is dropped at the start of the file (``line`` 1) only. ``advice`` says how
    to save the file right, in the words of the program that wrote it.
    """
    try:
        return raw.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        at = line + raw.count(b"\n", 0, exc.start)
        raise _fail(path, at, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); {advice}"
                    ) from None


def read_text(path: Path) -> str:
    """Return the file's text as UTF-8 with ``\\n`` line ends, or raise ProblemsFound."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise _fail(path, 1, "this is not a regular file: put the text in a plain file")
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise _fail(
                path, 1, f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit; "
                "is it the right file?")
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(path, 1, f"cannot read the file: {exc.strerror or exc}") from None
    if b"\0" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\0")) + 1
        raise _fail(path, line, "this is not a text file (it holds NUL bytes); "
                    "save it as plain UTF-8 text")
    return decode_utf8(raw, path).replace("\r\n", "\n").replace("\r", "\n")


class _Builder:
    """Turn a composed YAML node tree into Python values plus a line map."""

    def __init__(self, path: Path, first_line: int) -> None:
        self.path = path
        self.offset = first_line
        self.lines: dict[KeyPath, int] = {}
        self.nodes = 0
        self.constructor = SafeConstructor()
        self.duplicates: list[Problem] = []

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES or len(path) > MAX_DEPTH:
            raise ValueError("too deeply nested or too many repeated aliases")
        self.lines.setdefault(path, node.start_mark.line + self.offset)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                key = str(key) if key is not None else key_node.start_mark.line
                line = key_node.start_mark.line + self.offset
                if str(key) in result:
                    first = self.lines[(*path, str(key))]
                    self.duplicates.append(Problem(self.path, line, (
                        f"'{shown(str(key))}' is given twice (first on line {first}): "
                        "keep one of them and delete or rename the other")))
                    continue
                self.lines[(*path, str(key))] = line
                result[str(key)] = self.build(value_node, (*path, str(key)))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            # An impossible date such as 2018-13-01 stays a string; the field's
            # validator then says what is wrong with it, on its line.
            return node.value


def _too_deep(text: str) -> int | None:
    """The 0-based line where the YAML in ``text`` nests over MAX_DEPTH levels, if it does.

    Reads the event stream, which PyYAML produces without recursion.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line if event.start_mark else 0
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


#: Keys whose value is plain text on one line, in any file of an issue: French puts a
#: space before a colon (``title: Bilan : une réussite``), which YAML refuses unless
#: the value is quoted. For these keys, and only these, the loader quotes it itself.
TEXT_KEYS = frozenset({
    "title", "subject", "preheader", "place", "role", "name", "alt", "left", "arrived",
    "note", "text", "city", "country",
})
#: A ``key: value`` line (possibly a list item) whose plain value holds a colon that
#: YAML would take for another key; the value must not open a quoted, flow, block,
#: anchor, alias or tag form, whose meaning the author chose.
_TEXT_LINE_RE = re.compile(
    r"^(?P<lead>[ ]*(?:-[ ]+)*)(?P<key>[A-Za-z_]+)(?P<sep>[ ]*:[ ]+)"
    r"(?P<value>[^\s\"'\[\]{}|>&*!%@`#,?-][^\n]*?|-[^\s][^\n]*?)"
    r"(?P<comment>[ \t]+#.*)?[ \t]*$")
#: How many lines of one file are quoted, at most, before the error is reported as is.
_MAX_QUOTED = 200


def _quoted_text_line(line: str) -> str | None:
    """``line`` with its value in double quotes, if it is a known text key's value
    that holds a colon YAML refuses; None otherwise."""
    m = _TEXT_LINE_RE.match(line)
    if not m or m["key"] not in TEXT_KEYS or not re.search(r":(\s|$)", m["value"]):
        return None
    value = m["value"].replace("\\", "\\\\").replace('"', '\\"')
    return f'{m["lead"]}{m["key"]}{m["sep"]}"{value}"{m["comment"] or ""}'


def _compose(path: Path, text: str, first_line: int) -> yaml.Node | None:
    """The YAML node tree of ``text``, reading a known text field's value with a colon
    (``title: Bilan : une réussite``) as the plain text the author meant.

    On "mapping values are not allowed", the line YAML stopped on is quoted if it is
    such a value, and the text composed again; lines are rewritten one for one, so
    every line number stays right. Any other line keeps YAML's error.
    """
    quoted = 0
    while True:
        try:
            deep = _too_deep(text)
            if deep is not None:
                raise _fail(path, deep + first_line, (
                    f"the values are nested more than {MAX_DEPTH} levels deep here: no "
                    "field needs that many; check the indentation and the brackets"))
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            if (quoted >= _MAX_QUOTED or mark is None or not exc.problem
                    or "mapping values are not allowed" not in exc.problem):
                raise
            lines = text.split("\n")
            fixed = _quoted_text_line(lines[mark.line]) if mark.line < len(lines) else None
            if fixed is None:
                raise
            lines[mark.line] = fixed
            text = "\n".join(lines)
            quoted += 1


def _parse_yaml(path: Path, text: str, first_line: int) -> tuple[Any, dict[KeyPath, int]]:
    try:
        node = _compose(path, text, first_line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line if mark else 0) + first_line
        what = exc.problem or exc.context or "invalid YAML"
        hint = ""
        if "mapping values are not allowed" in what:
            hint = " (a value holding ': ' must be put in quotes)"
        elif "found character '\\t'" in what:
            hint = " (indent with spaces, not tabs)"
        raise _fail(path, line, f"malformed YAML: {what}{hint}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, unescaped
        line = text.count("\n", 0, exc.position) + first_line
        raise _fail(path, line, f"malformed YAML: character U+{exc.character:04X} is not "
                    "allowed in a YAML file: delete it") from None
    except yaml.YAMLError as exc:
        raise _fail(path, first_line, f"malformed YAML: {exc}") from None
    if node is None:
        return None, {}
    builder = _Builder(path, first_line)
    try:
        data = builder.build(node, ())
    except (ValueError, RecursionError) as exc:
        raise _fail(path, first_line, f"malformed YAML: {exc}") from None
    if builder.duplicates:
        raise ProblemsFound(builder.duplicates)
    return data, builder.lines


def read_yaml(path: Path) -> Doc:
    """Read a whole-YAML file (centres, agenda, movements)."""
    text = read_text(path)
    data, lines = _parse_yaml(path, text, 1)
    return Doc(path, data, lines)


_HANDLER = frontmatter.YAMLHandler()


def read_front_matter(path: Path) -> Doc:
    """Read a Markdown file whose YAML header sits between two ``---`` lines."""
    text = read_text(path)
    if not text.strip():
        raise _fail(path, 1, "the file is empty: start it with a '---' header "
                    "(`infolettre new-item` writes a template)")
    if not _HANDLER.detect(text):
        raise _fail(path, 1, "no front matter: the file must start with a '---' line, "
                    "then the header (title, contacts…), then another '---' line")
    try:
        header, body = _HANDLER.split(text)
    except ValueError:
        raise _fail(path, 1, "the header opened by '---' on line 1 is never closed: "
                    "add a '---' line after it") from None
    header_first_line = 1  # the header text starts with the newline ending line 1
    data, lines = _parse_yaml(path, header, header_first_line)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail(path, 2, "the header must be a list of 'key: value' lines")
    # ``body`` is the tail of ``text``: count the lines before its first character.
    stripped = body.lstrip("\n")
    body_line = text.count("\n", 0, len(text) - len(stripped)) + 1
    body = stripped.rstrip() + "\n" if stripped.strip() else ""
    return Doc(path, data, lines, body, body_line)

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
from ..messages import Number, say
from ..words import shown

__all__ = ["MAX_FILE_BYTES", "Doc", "decode_utf8", "header_lang", "header_of",
           "read_front_matter",
           "read_text", "read_yaml"]

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
    #: The column (1-based) where each value of ``lines`` starts, and where its key does.
    columns: dict[KeyPath, int] = field(default_factory=dict)
    key_columns: dict[KeyPath, int] = field(default_factory=dict)

    def _found(self, keys: tuple[str | int, ...]) -> KeyPath:
        path: KeyPath = tuple(keys)
        while path and path not in self.lines:
            path = path[:-1]
        return path

    def line(self, *keys: str | int) -> int:
        """Line of the value at ``keys``, or of its closest enclosing value."""
        return self.lines.get(self._found(keys), 1)

    def problem(self, message: str, *keys: str | int, at_key: bool = False) -> Problem:
        """A problem located at the value at ``keys`` (its line and column), or at its
        key when ``at_key`` (an unknown key)."""
        path = self._found(keys)
        columns = self.key_columns if at_key and path == tuple(keys) else self.columns
        return Problem(self.path, self.lines.get(path, 1), message, columns.get(path))


def _fail(path: Path, line: int, message: str, column: int | None = None) -> ProblemsFound:
    return ProblemsFound([Problem(path, line, message, column)])


#: What to do about a file that is not UTF-8, unless the caller knows better.
SAVE_AS_UTF8 = say("part.save-utf8")


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
        raise _fail(path, at, say("not-utf8", byte=f"{raw[exc.start]:02x}", advice=advice)
                    ) from None


def read_text(path: Path) -> str:
    """Return the file's text as UTF-8 with ``\\n`` line ends, or raise ProblemsFound."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise _fail(path, 1, say("not-regular-file"))
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise _fail(path, 1, say("file-too-big", size=Number(size),
                                     limit=Number(MAX_FILE_BYTES)))
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(path, 1, say("cannot-read", why=exc.strerror or exc)) from None
    if b"\0" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\0")) + 1
        raise _fail(path, line, say("not-text-file"))
    return decode_utf8(raw, path).replace("\r\n", "\n").replace("\r", "\n")


class _Builder:
    """Turn a composed YAML node tree into Python values plus a line map."""

    def __init__(self, path: Path, first_line: int) -> None:
        self.path = path
        self.offset = first_line
        self.lines: dict[KeyPath, int] = {}
        self.columns: dict[KeyPath, int] = {}
        self.key_columns: dict[KeyPath, int] = {}
        self.nodes = 0
        self.constructor = SafeConstructor()
        self.duplicates: list[Problem] = []

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES or len(path) > MAX_DEPTH:
            raise ValueError("too deeply nested or too many repeated aliases")
        self.lines.setdefault(path, node.start_mark.line + self.offset)
        self.columns[path] = node.start_mark.column + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                key = str(key) if key is not None else key_node.start_mark.line
                line = key_node.start_mark.line + self.offset
                if str(key) in result:
                    first = self.lines[(*path, str(key))]
                    self.duplicates.append(Problem(self.path, line, say(
                        "key-twice", key=shown(str(key)), first=first),
                        key_node.start_mark.column + 1))
                    continue
                self.lines[(*path, str(key))] = line
                self.key_columns[(*path, str(key))] = key_node.start_mark.column + 1
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
                raise _fail(path, deep + first_line, say("too-deep", limit=MAX_DEPTH))
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


#: What PyYAML says most often, by the start of its English words, said in the reader's
#: language (anything else is quoted as PyYAML wrote it).
_YAML_PROBLEMS = (
    ("mapping values are not allowed", "part.yaml-colon"),
    ("found character '\\t'", "part.yaml-tab"),
    ("expected ',' or ']'", "part.yaml-bracket"),
    ("expected ',' or '}'", "part.yaml-brace"),
    ("found unexpected end of stream", "part.yaml-quote-open"),
    ("expected <block end>", "part.yaml-indent"),
    ("found undefined alias", "part.yaml-alias"),
)


def _yaml_problem(what: str) -> str:
    """PyYAML's problem in the reader's words, when it is a common one."""
    return next((say(key) for start, key in _YAML_PROBLEMS if what.startswith(start)), what)


def _parse_yaml(path: Path, text: str, first_line: int
                ) -> tuple[Any, dict[KeyPath, int], tuple[dict[KeyPath, int], ...]]:
    try:
        node = _compose(path, text, first_line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line if mark else 0) + first_line
        what = exc.problem or exc.context or "invalid YAML"
        hint = ""
        if "mapping values are not allowed" in what:
            hint = say("part.yaml-quote")
        elif "found character '\\t'" in what:
            hint = say("part.yaml-tabs")
        raise _fail(path, line, say("malformed-yaml", what=_yaml_problem(what), hint=hint),
                    mark.column + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, unescaped
        line = text.count("\n", 0, exc.position) + first_line
        raise _fail(path, line, say("yaml-bad-character", char=f"{exc.character:04X}")
                    ) from None
    except yaml.YAMLError as exc:
        raise _fail(path, first_line, say("malformed-yaml", what=exc, hint="")) from None
    if node is None:
        return None, {}, ({}, {})
    builder = _Builder(path, first_line)
    try:
        data = builder.build(node, ())
    except (ValueError, RecursionError) as exc:
        raise _fail(path, first_line, say("malformed-yaml", what=exc, hint="")) from None
    if builder.duplicates:
        raise ProblemsFound(builder.duplicates)
    return data, builder.lines, (builder.columns, builder.key_columns)


def read_yaml(path: Path) -> Doc:
    """Read a whole-YAML file (centres, agenda, movements)."""
    text = read_text(path)
    data, lines, columns = _parse_yaml(path, text, 1)
    return Doc(path, data, lines, columns=columns[0], key_columns=columns[1])


def header_of(path: Path) -> dict[str, Any] | None:
    """The header of the Markdown file ``path``, or None when it cannot be read
    (``check`` reports why, on its own)."""
    try:
        return read_front_matter(path).data if path.is_file() else None
    except (ProblemsFound, OSError):
        return None


def header_lang(path: Path) -> str | None:
    """The ``lang:`` the header of the Markdown file ``path`` declares, if any."""
    lang = (header_of(path) or {}).get("lang")
    return lang if isinstance(lang, str) else None


_HANDLER = frontmatter.YAMLHandler()


def read_front_matter(path: Path) -> Doc:
    """Read a Markdown file whose YAML header sits between two ``---`` lines."""
    text = read_text(path)
    if not text.strip():
        raise _fail(path, 1, say("empty-file"))
    if not _HANDLER.detect(text):
        raise _fail(path, 1, say("no-front-matter"))
    try:
        header, body = _HANDLER.split(text)
    except ValueError:
        raise _fail(path, 1, say("unclosed-header")) from None
    header_first_line = 1  # the header text starts with the newline ending line 1
    data, lines, columns = _parse_yaml(path, header, header_first_line)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail(path, 2, say("header-not-mapping"))
    # ``body`` is the tail of ``text``: count the lines before its first character.
    stripped = body.lstrip("\n")
    body_line = text.count("\n", 0, len(text) - len(stripped)) + 1
    body = stripped.rstrip() + "\n" if stripped.strip() else ""
    return Doc(path, data, lines, body, body_line, *columns)

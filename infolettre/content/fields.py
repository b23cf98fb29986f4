"""Typed access to the values of a parsed file, collecting one problem per bad value.

Each accessor returns the value, or ``None`` after recording a :class:`Problem`
that says, on the value's own line, what is wrong and what to write instead.
A file is read to the end so that its author sees every problem in one run.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from ..errors import Problem
from ..messages import MonthName, Number, Or, say
from ..words import CONTROL_RE, closest, is_email, shown
from .model import Contact, DateSpan, Person
from .source import Doc, KeyPath

__all__ = ["LANG_RE", "Fields", "quoted"]

#: A language code as headers write it: ``fr``, ``en``, ``pt-BR``.
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?\Z")
#: A date written the right way, whether or not the day exists.
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")
_URL_RE = re.compile(r"^(https?://[^\s/$.?#][^\s]*|mailto:[^\s]+)\Z", re.IGNORECASE)
#: Those that a multi-line (Markdown) field may hold: line breaks and tabs.
_TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: The longest a one-line value may be (a subject, a name, a title): far more than any
#: needs, and some (the contact text) are rendered as Markdown.
MAX_LINE_CHARS = 1000
_CONTROL_NAMES = {"\n": "part.line-break", "\r": "part.carriage-return", "\t": "part.tab",
                  "\0": "part.nul"}


def _control(char: str) -> str:
    """How a message names a control character: what it is, and its code point."""
    known = _CONTROL_NAMES.get(char)
    what = say(known) if known else unicodedata.name(char, "") or say("part.control")
    return say("part.character", what=what, code=f"{ord(char):04X}")


def quoted(names: list[str]) -> Or:
    """Names a message offers as alternatives, each quoted as it is to be typed."""
    return Or(f"'{n}'" for n in names)


def _name(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class Fields:
    """The mapping at ``base`` inside ``doc``, read field by field."""

    def __init__(self, doc: Doc, problems: list[Problem], base: KeyPath = (),
                 data: Any = None) -> None:
        self.doc = doc
        self.problems = problems
        self.base = base
        self.data: dict[str, Any] = data if isinstance(data, dict) else (
            doc.data if not base and isinstance(doc.data, dict) else {})

    # -- reporting ---------------------------------------------------------------
    def report(self, message: str, *keys: str | int, at_key: bool = False) -> None:
        """Record a problem on the line of ``keys`` (relative to this mapping), at the
        value's column or, ``at_key``, the key's."""
        self.problems.append(self.doc.problem(message, *self.base, *keys, at_key=at_key))

    def name(self, key: str | int) -> str:
        """The dotted name of a key, as the author would find it in the file."""
        return _name((*self.base, key))

    def known(self, keys: set[str] | dict[str, Any]) -> None:
        """Report every key not in ``keys``, with the closest known one."""
        for key in self.data:
            if key in keys:
                continue
            near = closest(key, set(keys), n=1)
            hint = say("part.did-you-mean", options=quoted(near)) if near else \
                say("part.known-keys", keys=", ".join(sorted(keys)))
            self.report(say("unknown-key", key=shown(self.name(key)), hint=hint), key,
                        at_key=True)

    # -- scalars -------------------------------------------------------------------
    def raw(self, key: str) -> Any:
        """The value as parsed, or None when absent or empty."""
        value = self.data.get(key)
        return None if value == "" else value

    def missing(self, key: str, example: str) -> None:
        """Report a required key that is absent or empty, on its own line when present."""
        if key in self.data:
            self.report(say("empty-value", name=self.name(key), key=key, example=example),
                        key)
            return
        where = say("part.under", base=_name(self.base)) if self.base else ""
        self.report(say("missing-key", name=self.name(key), key=key, example=example,
                        where=where))

    def text(self, key: str, *, required: bool = False, example: str = "…",
             multiline: bool = False) -> str | None:
        """A string on one line, or on several when ``multiline`` (numbers are taken as text).

        A one-line value holds no control character at all (every one-line value may
        end up in a mail header or a line of its own); a multi-line one (Markdown)
        may hold line breaks and tabs, nothing else.
        """
        value = self.raw(key)
        if value is None:
            if required:
                self.missing(key, example)
            return None
        if isinstance(value, (dict, list)):
            kind = say("part.a-list" if isinstance(value, list) else "part.a-mapping")
            self.report(say("not-text", name=self.name(key), kind=kind), key)
            return None
        text = str(value).strip()
        if not text and required:
            self.missing(key, example)
            return None
        bad = (_TEXT_CONTROL_RE if multiline else CONTROL_RE).search(text)
        if bad:
            where = "" if multiline else say("part.on-one-line")
            self.report(say("control-character", name=self.name(key),
                            char=_control(bad.group(0)), at=bad.start() + 1, where=where), key)
            return None
        if not multiline and len(text) > MAX_LINE_CHARS:
            self.report(say("line-too-long", name=self.name(key), length=Number(len(text)),
                            limit=Number(MAX_LINE_CHARS)), key)
            return None
        return text

    def localized(self, key: str, source: str, *, required: bool = False,
                  example: str = "…") -> tuple[str | None, dict[str, str]]:
        """A one-line text, or a mapping of language to text (``title: {fr: …, en: …}``):
        the text in ``source`` (the issue's language), and those in other languages."""
        value = self.raw(key)
        if not isinstance(value, dict):
            return self.text(key, required=required, example=example), {}
        sub = self.mapping(key)
        assert sub is not None
        texts = {}
        for lang in value:
            if not LANG_RE.fullmatch(str(lang)):
                sub.report(say("bad-lang", lang=shown(str(lang))), lang, at_key=True)
            elif (text := sub.text(lang)) is not None:
                texts[str(lang)] = text
        if source not in texts:
            if len(texts) == len(value):  # else what is wrong was said
                self.report(say("no-source-text", name=self.name(key), lang=source,
                                example=example), key)
            return None, texts
        return texts.pop(source), texts

    def email(self, key: str, *, required: bool = False) -> str | None:
        """An email address, checked for shape."""
        value = self.text(key, required=required, example="prenom.nom@example.org")
        if value is None:
            return None
        if not is_email(value):
            self.report(say("bad-email", value=value, name=self.name(key)), key)
            return None
        return value

    def url(self, key: str, *, required: bool = False) -> str | None:
        """An absolute http(s) or mailto URL."""
        value = self.text(key, required=required, example="https://…")
        if value is None:
            return None
        if not _URL_RE.match(value):
            self.report(say("bad-url", value=value, name=self.name(key)), key)
            return None
        return value

    def integer(self, key: str) -> int | None:
        """A whole number."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(say("not-integer", name=self.name(key), value=value), key)
            return None
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None
               ) -> str | None:
        """One of ``options``."""
        value = self.text(key)
        if value is None:
            return default
        if value not in options:
            near = closest(value, set(options), n=1)
            hint = say("part.did-you-mean", options=quoted(near)) if near else \
                say("part.use-one-of", options=Or(options))
            self.report(say("bad-choice", value=value, name=self.name(key), hint=hint), key)
            return default
        return value

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        """A calendar date written YYYY-MM-DD."""
        value = self.raw(key)
        if value is None:
            if required:
                self.missing(key, "2018-06-25")
            return None
        return self._as_date(value, key)

    def _as_date(self, value: Any, *keys: str | int) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        shape = _ISO_DATE_RE.match(text)
        if shape and 1 <= int(shape.group(2)) <= 12:
            # Well written, but the day is not in the month: saying so is more use than
            # asking for the format the author already followed.
            year, month, day = (int(g) for g in shape.groups())
            self.report(say("no-such-day", value=value, name=self.name(keys[0]), day=day,
                            month=MonthName(month), year=year), *keys)
        else:
            self.report(say("bad-date", value=value, name=self.name(keys[0])), *keys)
        return None

    def span(self, key: str) -> DateSpan | None:
        """A date, or ``{start: DATE, end: DATE}`` for several days."""
        value = self.raw(key)
        if value is None:
            self.missing(key, "2018-06-25  (or {start: 2018-06-25, end: 2018-06-27})")
            return None
        if not isinstance(value, dict):
            day = self._as_date(value, key)
            return DateSpan(day) if day else None
        sub = self.mapping(key)
        assert sub is not None
        sub.known({"start", "end"})
        start, end = sub.date("start", required=True), sub.date("end", required=True)
        if start is None or end is None:
            return None
        if end < start:
            sub.report(say("ends-before-start", name=self.name(key), end=end, start=start),
                       "end")
            return None
        return DateSpan(start, end if end != start else None)

    # -- containers ----------------------------------------------------------------
    def mapping(self, key: str, *, shorthand: str | None = None) -> Fields | None:
        """The nested mapping at ``key`` (None, after a problem, if it is not one).

        With ``shorthand``, a lone text value stands for ``{shorthand: value}``: authors
        write ``image: photo.png`` for ``image: {src: photo.png}``, and the mapping's
        other keys are then asked for as if it had been written in full.
        """
        value = self.raw(key)
        if value is None:
            return None
        if shorthand is not None and isinstance(value, str):
            value = {shorthand: value}
        if not isinstance(value, dict):
            self.report(say("not-mapping", name=self.name(key)), key)
            return None
        return Fields(self.doc, self.problems, (*self.base, key), value)

    def entries(self, key: str | None = None) -> list[Fields]:
        """The mappings of the list at ``key`` (or of this document when None)."""
        value = self.doc.data if key is None else self.raw(key)
        base = self.base if key is None else (*self.base, key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(self.doc.problem(
                say("not-list", name=_name(base) or say("part.the-file")), *base))
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append(Fields(self.doc, self.problems, (*base, i), item))
            else:
                self.problems.append(self.doc.problem(
                    say("entry-not-mapping", name=_name((*base, i))), *base, i))
        return out

    # -- shapes shared by several files ---------------------------------------------
    def contacts(self, key: str = "contacts", *, required: bool = True) -> list[Contact]:
        """A list of ``{name, email}``; at least one when required."""
        if self.raw(key) is None:
            if required:
                self.report(say("missing-contacts", name=self.name(key), key=key), key)
            return []
        out = []
        for entry in self.entries(key):
            entry.known({"name", "email"})
            name, email = entry.text("name", required=True, example="Prénom NOM"), \
                entry.email("email", required=True)
            if name and email:
                out.append(Contact(name, email))
        return out

    def person(self) -> Person | None:
        """This mapping read as ``{name, role}``."""
        self.known({"name", "role"})
        name = self.text("name", required=True, example="Prénom NOM")
        return Person(name, self.text("role") or "") if name else None

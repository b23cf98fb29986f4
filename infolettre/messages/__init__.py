"""What the program tells its users, in their language, under a code that never changes.

A :class:`Message` is a ``str``: its value is the English text, so that every place
that prints, compares or logs a message keeps working as it did, and a test may match
the words. It also remembers how it was made (a catalogue key and the values filled
in), so that it can be said again in another language with :meth:`Message.said_in`.

The texts live in one TOML file per language beside this module (``en.toml``,
``fr.toml``…), the codes in ``codes.toml``: ``E012`` always means an unknown centre,
whatever the wording becomes, so that editors, CI and the contributors' guide can
rely on it. The top-level keys of a catalogue are the messages a user meets; the
``[part]`` table holds the pieces several messages share ("did you mean …?").

A language may lack a message: it is then said in the first language of
:data:`FALLBACK` that has it (French, the network's working language, then English,
which has every message).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import get_month_names
from babel.lists import format_list
from babel.numbers import format_decimal

__all__ = ["FALLBACK", "Count", "LanguageName", "Message", "MonthName", "Number", "Or", "code_of",
           "codes", "keys",
           "languages", "locale_language", "said_in", "say", "text"]

_DIR = Path(__file__).parent
#: Every message exists in English; French is the network's working language.
SOURCE = "en"
FALLBACK = ("fr", "en")


@cache
def languages() -> tuple[str, ...]:
    """The languages that have a catalogue of messages."""
    return tuple(sorted(p.stem for p in _DIR.glob("*.toml") if p.stem != "codes"))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


@cache
def _catalogue(lang: str) -> dict[str, str]:
    path = _DIR / f"{lang}.toml"
    if lang not in languages():
        return {}
    return _flatten(tomllib.loads(path.read_text(encoding="utf-8")))


@cache
def codes() -> dict[str, str]:
    """Each message's key and its code (``unknown-centre`` → ``E012``)."""
    return dict(tomllib.loads((_DIR / "codes.toml").read_text(encoding="utf-8")))


def keys(lang: str = SOURCE) -> frozenset[str]:
    """The keys a language's catalogue has."""
    return frozenset(_catalogue(lang))


def code_of(key: str) -> str:
    """The stable code of a message (``""`` for a part of messages)."""
    return codes().get(key, "")


def _found_in(key: str, lang: str) -> str | None:
    """The first language of ``lang`` and its fallbacks that has ``key``, if any."""
    return next((c for c in (lang, *FALLBACK) if key in _catalogue(c)), None)


def text(key: str, lang: str) -> str:
    """The text of ``key`` in ``lang``, else in the first fallback language that has it."""
    found = _found_in(key, lang)
    if found is None:
        raise KeyError(key)
    return _catalogue(found)[key]


#: Whose plural rules a language follows when CLDR's default is another country's:
#: CLDR's ``pt`` is Brazil's ("0 problema"); the network's Portuguese is Portugal's.
_PLURAL_LOCALE = {"pt": "pt_PT"}


class Or(tuple):
    """Alternatives, joined as the language joins them ("a, b or c", "a, b ou c")."""

    def __new__(cls, items: Iterable[str]) -> Or:
        return super().__new__(cls, tuple(items))


class MonthName(int):
    """A month's number, said as the month's name in the language ("February", "février")."""


class LanguageName(str):
    """A language's code, said as its name in the reader's language ("French", "français")."""


class Number(int):
    """A quantity, written with the language's digit grouping ("7,500", "7 500"); any
    other ``int`` (a line, a year) is written with no grouping at all."""


class Count(int):
    """A number of things, said with the plural form the language gives that number:
    the text of ``key.one`` or ``key.other`` (CLDR's categories; French says "1 problème",
    "0 problème", English "0 problems"), with ``{n}`` filled in."""

    key: str

    def __new__(cls, n: int, key: str) -> Count:
        self = super().__new__(cls, n)
        self.key = key
        return self


def _value(value: Any, lang: str) -> str:
    if isinstance(value, Message):
        return value.said_in(lang)
    if isinstance(value, Or):
        return format_list([_value(v, lang) for v in value], style="or", locale=lang)
    if isinstance(value, Count):
        form = Locale.parse(_PLURAL_LOCALE.get(lang, lang)).plural_form(int(value))
        key = f"{value.key}.{form}"
        template = text(key if _found_in(key, lang) else f"{value.key}.other", lang)
        return template.format(n=format_decimal(int(value), locale=lang))
    if isinstance(value, LanguageName):
        return str(Locale.parse(lang).languages.get(str(value), str(value)))
    if isinstance(value, MonthName):
        return str(get_month_names("wide", "format", locale=lang)[int(value)])
    if isinstance(value, Number):
        return format_decimal(int(value), locale=lang)
    if isinstance(value, float):
        return format_decimal(value, format="0.0", locale=lang)
    return str(value)


class Message(str):
    """A message in English (its ``str`` value) that can be said in other languages."""

    key: str
    code: str
    values: dict[str, Any]

    def __new__(cls, key: str, values: Mapping[str, Any]) -> Message:
        english = cls._render(key, values, SOURCE)
        self = super().__new__(cls, english)
        self.key, self.code, self.values = key, code_of(key), dict(values)
        return self

    @staticmethod
    def _render(key: str, values: Mapping[str, Any], lang: str) -> str:
        # A value said in a language that lacks the message is said in the language
        # the template was found in, so that one sentence never mixes two languages.
        found = _found_in(key, lang)
        if found is None:
            raise KeyError(key)
        template = _catalogue(found)[key]
        return template.format_map({k: _value(v, found) for k, v in values.items()})

    def said_in(self, lang: str) -> str:
        """The same message in ``lang`` (or its fallback)."""
        return self._render(self.key, self.values, lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.key, self.values))


def say(key: str, /, **values: Any) -> Message:
    """The message ``key`` of the catalogues, with its ``{fields}`` filled from ``values``."""
    return Message(key, values)


def said_in(message: str, lang: str) -> str:
    """``message`` in ``lang`` when it is a :class:`Message`, as it is otherwise."""
    return message.said_in(lang) if isinstance(message, Message) else message


def locale_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The language of the user's locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), if it
    has a catalogue: ``fr_BE.UTF-8`` is ``fr``; ``C`` and ``POSIX`` are none."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            lang = value.split(".")[0].split("@")[0].split("_")[0].split("-")[0].lower()
            return lang if lang in languages() else None
    return None

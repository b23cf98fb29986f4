"""Per-language catalogues of the templates' fixed strings, and localised dates.

A catalogue is a flat TOML file ``catalogues/LANG.toml``; the issue's language picks
one. Keys are the same in every catalogue, so a template never shows a raw key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale

from . import dates
from .model import DateSpan, Movement

__all__ = ["Catalogue", "catalogue", "languages"]

_DIR = Path(__file__).parent / "catalogues"


@cache
def languages() -> tuple[str, ...]:
    """The languages that have a catalogue."""
    return tuple(sorted(p.stem for p in _DIR.glob("*.toml")))


@dataclass(frozen=True)
class Catalogue:
    """The strings of one language, plus date formatting in that language."""

    lang: str
    strings: dict[str, str]

    def __call__(self, key: str, **values: str) -> str:
        """The string for ``key``, with ``{name}`` fields filled from ``values``."""
        text = self.strings[key]
        return text.format(**values) if values else text

    def day(self, day: dt.date) -> str:
        """``31 mai 2018``."""
        return dates.format_day(day, self.lang)

    def span(self, span: DateSpan) -> str:
        """``25-27 juin 2018``."""
        return dates.format_span(span, self.lang)

    def language_name(self, code: str) -> str:
        """The name of language ``code`` in this catalogue's language, as CLDR writes it
        (``français`` in French, ``French`` in English): the note on an item left in
        its source language names that language for the edition's reader. A code
        Babel does not know is given back as it is, so the note never breaks a build.
        """
        return _locale(self.lang).languages.get(code) or code

    def movement(self, m: Movement) -> str:
        """The sentence announcing who left a centre and who took over."""
        parts = []
        if m.left:
            parts.append(self("left_role", name=m.left, role=m.role) if m.role
                         else self("left", name=m.left))
        if m.arrived:
            if m.left:
                parts.append(self("arrived_after", name=m.arrived))
            else:  # the role is then the newcomer's: say it, or the news loses it
                parts.append(self("arrived_role", name=m.arrived, role=m.role) if m.role
                             else self("arrived", name=m.arrived))
        if m.note:
            parts.append(m.note)
        return " ".join(parts)

    def issue_title(self, day: dt.date) -> str:
        """The default title of an issue published on ``day``."""
        return self("issue_title", month=dates.format_month(day, self.lang))


@cache
def _locale(lang: str) -> Locale:
    """Babel's locale of ``lang``, parsed once."""
    return Locale.parse(lang)


@cache
def catalogue(lang: str) -> Catalogue:
    """The catalogue of ``lang`` (KeyError when there is none)."""
    path = _DIR / f"{lang}.toml"
    if lang not in languages():
        raise KeyError(lang)
    return Catalogue(lang, tomllib.loads(path.read_text(encoding="utf-8")))

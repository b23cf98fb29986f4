"""Dates as readers of each language write them, through Babel (CLDR data).

``31 mai 2018``, ``25-27 juin 2018``, ``30 mai - 1 juin 2018``; ``June 25-27, 2018``.
"""

from __future__ import annotations

import datetime as dt
import re

from babel.dates import format_date, format_skeleton, get_date_format

from .model import DateSpan

__all__ = ["format_day", "format_month", "format_span"]


def format_day(day: dt.date, lang: str) -> str:
    """A single day, long form: ``31 mai 2018``, ``May 31, 2018``."""
    return format_date(day, "long", locale=lang)


def format_month(day: dt.date, lang: str) -> str:
    """A month and year, standalone form: ``juin 2018``, ``June 2018``."""
    return format_date(day, "LLLL y", locale=lang)


def format_span(span: DateSpan, lang: str) -> str:
    """A day or a range of days, sharing the month and year when they are the same.

    Babel's ``format_interval`` falls back to abbreviated months ("juil.") for
    long ranges, and newsletters of the network write ranges with a plain hyphen
    ("5-6 juillet 2018"), so the range is built from the locale's own long date
    pattern and month-day skeleton instead.
    """
    start, end = span.start, span.last
    if end == start:
        return format_day(start, lang)
    if (start.year, start.month) == (end.year, end.month):
        pattern = get_date_format("long", locale=lang).pattern
        day = re.search(r"(?<![a-zA-Z'])d+(?![a-zA-Z])", pattern)
        if day:
            ranged = pattern[:day.start()] + f"'{start.day}-'" + pattern[day.start():]
            return format_date(end, ranged, locale=lang)
    first = format_skeleton("MMMMd", start, locale=lang) if start.year == end.year \
        else format_day(start, lang)
    return f"{first} - {format_day(end, lang)}"

"""dates: CLDR dates as the network writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from infolettre.content.dates import format_day, format_month, format_span
from infolettre.content.model import DateSpan

D = dt.date


@pytest.mark.parametrize(("span", "lang", "expected"), [
    (DateSpan(D(2018, 5, 31)), "fr", "31 mai 2018"),
    (DateSpan(D(2018, 6, 25), D(2018, 6, 27)), "fr", "25-27 juin 2018"),
    (DateSpan(D(2018, 7, 5), D(2018, 7, 6)), "fr", "5-6 juillet 2018"),
    (DateSpan(D(2018, 5, 30), D(2018, 6, 1)), "fr", "30 mai - 1 juin 2018"),
    (DateSpan(D(2018, 12, 30), D(2019, 1, 2)), "fr", "30 décembre 2018 - 2 janvier 2019"),
    (DateSpan(D(2018, 6, 25), D(2018, 6, 27)), "en", "June 25-27, 2018"),
    (DateSpan(D(2018, 5, 30), D(2018, 6, 1)), "en", "May 30 - June 1, 2018"),
])
def test_spans(span: DateSpan, lang: str, expected: str) -> None:
    assert format_span(span, lang) == expected


def test_day_and_month() -> None:
    assert format_day(D(2018, 6, 1), "fr") == "1 juin 2018"
    assert format_month(D(2018, 6, 1), "fr") == "juin 2018"
    assert format_month(D(2018, 6, 1), "en") == "June 2018"



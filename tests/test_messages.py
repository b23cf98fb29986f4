"""messages: every message in English and French under a stable code, said in the
reader's language with that language's numbers, lists and plurals."""

from __future__ import annotations

import pickle
import re
import string
from pathlib import Path

import pytest

from infolettre import messages
from infolettre.messages import Count, MonthName, Number, Or, code_of, codes, keys, say

PACKAGE = Path(__file__).resolve().parent.parent / "infolettre"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _top(lang: str) -> set[str]:
    return {k for k in keys(lang) if "." not in k}


def test_french_has_every_message_of_english_and_no_other() -> None:
    assert keys("fr") == keys("en")


@pytest.mark.parametrize("lang", messages.languages())
def test_each_translation_fills_the_same_fields(lang: str) -> None:
    """A translation that drops or misspells a {field} would raise, or say less."""
    assert keys(lang) <= keys("en"), keys(lang) - keys("en")
    for key in keys(lang):
        assert _fields(messages.text(key, lang)) == _fields(messages.text(key, "en")), key


def test_every_message_has_one_code_and_every_code_a_message() -> None:
    assert set(codes()) == _top("en")
    assert len(set(codes().values())) == len(codes())
    assert all(re.fullmatch(r"[EW]\d{3}", code) for code in codes().values())
    assert code_of("unknown-centre") == "E012"  # quoted in the issue and the guide
    assert code_of("part.did-you-mean") == ""


def test_every_message_the_code_says_exists() -> None:
    """``say("a-key")`` with a key no catalogue has fails at once, not in front of a user."""
    said = set()
    for path in PACKAGE.rglob("*.py"):
        said |= set(re.findall(r"""\bsay\(\s*["']([a-z][a-z0-9.-]*)["']""",
                               path.read_text(encoding="utf-8")))
    assert said and said <= keys("en"), said - keys("en")


def test_a_message_is_its_english_text_and_can_be_said_in_french() -> None:
    message = say("unknown-centre", slug="charleroy",
                  hint=say("part.did-you-mean", options=Or(["'charleroi'", "'chartres'"])))
    assert message == "unknown centre 'charleroy': did you mean 'charleroi' or 'chartres'?"
    assert message.code == "E012" and message.key == "unknown-centre"
    assert message.said_in("fr") == \
        "Cité inconnue « charleroy » : vouliez-vous dire 'charleroi' ou 'chartres' ?"
    assert pickle.loads(pickle.dumps(message)).said_in("fr") == message.said_in("fr")


def test_numbers_months_and_plurals_as_each_language_writes_them() -> None:
    length = say("text-too-long", length=Number(7500), limit=Number(6000))
    assert "7,500" in length and "7\u202f500" in length.said_in("fr")
    day = say("no-such-day", value="2019-02-30", name="date", day=30,
              month=MonthName(2), year=2019)
    assert day.endswith("there is no 30 February 2019")
    assert day.said_in("fr").endswith("il n'y a pas de 30 février 2019")

    def count(problems: int, files: int, lang: str) -> str:
        return say("report.count", problems=Count(problems, "report.problems"),
                   files=Count(files, "report.files")).said_in(lang)

    assert count(1, 1, "en") == "1 problem in 1 file"
    assert count(0, 2, "en") == "0 problems in 2 files"
    assert count(0, 1, "fr") == "0 problème dans 1 fichier"  # French: 0 is singular
    assert count(1500, 3, "fr") == "1\u202f500 problèmes dans 3 fichiers"


def test_a_language_without_the_message_says_all_of_it_in_the_fallback() -> None:
    """One sentence never mixes two languages: its parts (the month here) follow it."""
    message = say("no-such-day", value="2019-02-30", name="date", day=30,
                  month=MonthName(2), year=2019)
    assert "de" not in messages.languages()
    assert message.said_in("de") == message.said_in("fr")  # French, then English
    assert messages.text("unknown-centre", "de") == messages.text("unknown-centre", "fr")


@pytest.mark.parametrize(("environ", "lang"), [
    ({"LANG": "fr_BE.UTF-8"}, "fr"),
    ({"LANG": "en_GB.UTF-8", "LC_ALL": "fr_CH.UTF-8"}, "fr"),
    ({"LC_MESSAGES": "en_US", "LANG": "fr_FR"}, "en"),
    ({"LANG": "C.UTF-8"}, None),
    ({"LANG": "POSIX"}, None),
    ({"LANG": "de_DE.UTF-8"}, None),
    ({}, None),
])
def test_the_locale_names_a_language_with_a_catalogue(environ: dict[str, str],
                                                      lang: str | None) -> None:
    assert messages.locale_language(environ) == lang

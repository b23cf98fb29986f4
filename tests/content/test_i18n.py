"""i18n: every catalogue has every key, and templates use only existing keys."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from infolettre.content.i18n import catalogue, languages
from infolettre.content.model import DateSpan
from infolettre.theme import default_dir


def test_the_network_languages_are_provided() -> None:
    assert {"fr", "en", "es", "pt", "it"} <= set(languages())


def test_catalogues_have_the_same_keys() -> None:
    keys = {lang: set(catalogue(lang).strings) for lang in languages()}
    reference = keys["fr"]
    for lang, own in keys.items():
        assert own == reference, (lang, own ^ reference)


def test_templates_use_only_catalogue_keys() -> None:
    used = set()
    for path in default_dir().glob("*.j2"):
        used |= set(re.findall(r"\bt\(\s*\"([a-z_]+)\"\s*[,)]", path.read_text(encoding="utf-8")))
        for a, b in re.findall(r"\bt\(\s*\"([a-z_]+)\" if [^)]* else \"([a-z_]+)\"",
                               path.read_text(encoding="utf-8")):
            used |= {a, b}
    assert used, "no key found: the pattern is wrong"
    assert used <= set(catalogue("fr").strings), used - set(catalogue("fr").strings)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_catalogues_have_the_placeholders_of_fr() -> None:
    reference = catalogue("fr").strings
    for lang in languages():
        strings = catalogue(lang).strings
        wrong = {key: _fields(strings[key]) for key in reference
                 if key in strings and _fields(strings[key]) != _fields(reference[key])}
        assert not wrong, (lang, wrong)


def test_every_language_offered_has_a_name_in_every_catalogue() -> None:
    """The subscription and preferences pages list every language as t("lang_name_" ~ code)."""
    for lang in languages():
        strings = catalogue(lang).strings
        missing = {code for code in languages() if f"lang_name_{code}" not in strings}
        assert not missing, (lang, missing)


@pytest.mark.parametrize(("lang", "day", "span", "month"), [
    ("fr", "25 juin 2018", "25-27 juin 2018", "InfoLettre — juin 2018"),
    ("en", "June 25, 2018", "June 25-27, 2018", "InfoLettre — June 2018"),
    ("es", "25 de junio de 2018", "25-27 de junio de 2018", "InfoLettre — junio 2018"),
    ("pt", "25 de junho de 2018", "25-27 de junho de 2018", "InfoLettre — junho 2018"),
    ("it", "25 giugno 2018", "25-27 giugno 2018", "InfoLettre — giugno 2018"),
])
def test_dates_are_written_in_each_language(lang: str, day: str, span: str, month: str) -> None:
    t = catalogue(lang)
    assert t.day(dt.date(2018, 6, 25)) == day
    assert t.span(DateSpan(dt.date(2018, 6, 25), dt.date(2018, 6, 27))) == span
    assert t.issue_title(dt.date(2018, 6, 25)) == month


@pytest.mark.parametrize(("lang", "note"), [
    ("fr", "Cette nouvelle est en anglais."),
    ("en", "This item is in French."),
    ("es", "Esta noticia está en francés."),
    ("pt", "Esta notícia está em francês."),
    ("it", "Questa notizia è in francese."),
])
def test_the_note_names_the_item_language_in_the_edition_language(lang: str, note: str) -> None:
    t = catalogue(lang)
    source = "en" if lang == "fr" else "fr"
    assert t("item_in_language", language=t.language_name(source)) == note


def test_an_unknown_language_code_is_named_by_its_code() -> None:
    assert catalogue("en").language_name("qqq") == "qqq"
